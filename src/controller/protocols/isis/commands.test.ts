// `show isis interface` over a live instance: a point-to-point circuit, a LAN circuit whose
// DIS is a neighbour (its hellos name its own LAN ID and list our MAC), lo0 passive, level 1
// disabled on one interface and per-level metrics; the Junos columns and the JSON data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_L2_ISS, encodeIsisFrameHeader, encodePduBytes, ISIS_FRAME_HEADER_LEN, parseAreaAddress, parseSystemId } from '../../../wire/isis/index.js';
import { interfaces } from './commands.js';
import { OUR_MAC, PEER_MAC, testInstance } from './test-instance.js';


test('show isis interface: levels, circuit IDs, the DR per level (DIS by name, point to point, passive, disabled) and the metrics', () => {
  const now = 1000;
  const { inst } = testInstance(
    [
      'set interfaces eth2 unit 0 family inet address 10.0.1.1/24',
      'set interfaces eth2 unit 0 family iso',
      'set protocols isis interface eth1 point-to-point',
      'set protocols isis interface eth1 level 1 disable',
      'set protocols isis interface eth1 level 2 metric 30',
      'set protocols isis interface eth2 level 1 metric 15',
    ],
    now,
  );
  for (const n of ['eth1', 'eth2', 'lo0']) inst.linkChanged(n, true, now);
  // a LAN neighbour at level 2 with a higher priority, listing our MAC: it is the level 2 DIS
  const peer = parseSystemId('0000.0000.0002');
  const pdu = encodePduBytes({
    kind: 'lan-hello', level: 2, maxAreaAddresses: 0, circuitType: 3, sourceId: peer, holdingTime: 30, priority: 100,
    lanId: { systemId: peer, pseudonode: 7 },
    tlvs: [{ type: 'area-addresses', areas: [parseAreaAddress('49.0001')] }, { type: 'is-neighbors', neighbors: [OUR_MAC] }],
  });
  const f = new Uint8Array(ISIS_FRAME_HEADER_LEN + pdu.length);
  encodeIsisFrameHeader(ALL_L2_ISS, PEER_MAC, pdu.length, f, 0);
  f.set(pdu, ISIS_FRAME_HEADER_LEN);
  inst.frameReceived('eth2', f, now + 10);
  inst.tick(now + 20);

  const r = interfaces(inst);
  const lines = r.text.split('\n');
  assert.equal(lines[0], 'IS-IS interface database:');
  assert.match(lines[1]!, /^Interface\s+L CirID Level 1 DR\s+Level 2 DR\s+L1\/L2 Metric$/);
  const row = (name: string) => lines.find((l) => l.startsWith(`${name} `)) ?? '';
  assert.match(row('eth1.0'), /^eth1\.0\s+2\s+0x\d+ Disabled\s+Point to Point\s+0\/30$/, 'a level not run shows metric 0');
  assert.match(row('eth2.0'), /^eth2\.0\s+3\s+0x\d+ \s+0000\.0000\.0002\.07\s+15\/10$/, 'level 1: no DIS (no level 1 adjacency); level 2: the neighbour\'s LAN ID');
  assert.match(row('lo0.0'), /^lo0\.0\s+3\s+0x\d+ Passive\s+Passive\s+0\/0$/);
  const data = (r.data as { interfaces: { interface: string; level: number; up: boolean; level2: { dr: string } }[] }).interfaces;
  assert.deepEqual(data.map((d) => d.interface), ['eth1.0', 'eth2.0', 'lo0.0']);
  assert.equal(data.find((d) => d.interface === 'eth2.0')?.level2.dr, '0000.0000.0002.07');
  assert.ok(data.every((d) => d.up));
  // the link gone: the circuit is down, and the DIS with it
  inst.linkChanged('eth2', false, now + 30);
  const after = (interfaces(inst).data as typeof r.data as { interfaces: { interface: string; up: boolean; level2: { dr: string } }[] }).interfaces.find((d) => d.interface === 'eth2.0')!;
  assert.equal(after.up, false);
});
