// Level 1 / level 2 attachment (ISO 10589 7.2.9.2) over a live instance and a real RIB: a level
// 1/2 system sets the ATT bit in its level 1 LSP once it has a level 2 adjacency (and clears it
// when that goes); a level 1 only system installs a default route (IPv4 and IPv6) toward the
// nearest system whose level 1 LSP has the ATT bit, and withdraws it when the bit is cleared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_ISS, encodeIsisFrameHeader, encodePduBytes, ISIS_FRAME_HEADER_LEN, parseAreaAddress, parseSystemId, type Lsp } from '../../../wire/isis/index.js';
import { parsePrefix } from '../../../lib/addr.js';
import type { Rib } from '../../rib/rib.js';
import { PEER_MAC, withPeer } from './test-instance.js';

const AREA = parseAreaAddress('49.0001');
const PEER = parseSystemId('0000.0000.0002');

const setUp = (levels: string[], circuitType: number) => withPeer(['set protocols isis interface eth1 point-to-point', ...levels], circuitType);

function peerL1Lsp(attached: number, sequence: number): Lsp {
  return {
    kind: 'lsp', level: 1, maxAreaAddresses: 0, remainingLifetime: 1200, lspId: { systemId: PEER, pseudonode: 0, fragment: 0 }, sequence, checksum: 0,
    partitionRepair: false, attached, overload: false, isType: 3,
    tlvs: [
      { type: 'area-addresses', areas: [AREA] },
      { type: 'extended-is-reachability', neighbors: [{ neighbor: { systemId: parseSystemId('0000.0000.0001'), pseudonode: 0 }, metric: 10, subTlvs: [] }] },
      { type: 'extended-ipv4-reachability', prefixes: [{ prefix: parsePrefix('10.255.0.2/32'), metric: 0, down: false, subTlvs: [] }] },
    ],
  };
}

const defaultOf = (rib: Rib, table: string, prefix: string) => rib.show(table).find((e) => e.prefix === prefix)?.candidates.find((c) => c.route.protocol === 'isis')?.route;

test('a level 1/2 system sets the ATT bit in its level 1 LSP while it has a level 2 adjacency', () => {
  const { inst, now } = setUp([], 3);
  const own = inst.cx.lsdb.get(1)!.get('0000.0000.0001.00-00')!;
  assert.equal(own.lsp.attached & 1, 1, 'level 1 LSP: attached');
  assert.equal(inst.cx.lsdb.get(2)!.get('0000.0000.0001.00-00')!.lsp.attached, 0, 'never in the level 2 LSP');
  const seq = own.lsp.sequence;
  inst.linkChanged('eth1', false, now + 10);
  inst.tick(now + 500);
  const after = inst.cx.lsdb.get(1)!.get('0000.0000.0001.00-00')!;
  assert.equal(after.lsp.attached, 0, 'no level 2 adjacency: not attached');
  assert.ok(after.lsp.sequence > seq, 'a new LSP, not the old bytes');
});

test('a level 1 only system is not attached and installs a default route toward the nearest ATT system, gone when the bit goes', () => {
  const { inst, rib, now: t0 } = setUp(['set protocols isis level 2 disable'], 1);
  let now = t0;
  assert.equal(inst.cx.lsdb.get(1)!.get('0000.0000.0001.00-00')!.lsp.attached, 0);
  const lsp = (attached: number, seq: number) => encodePduBytes(peerL1Lsp(attached, seq));
  const send = (bytes: Uint8Array) => {
    const f = new Uint8Array(ISIS_FRAME_HEADER_LEN + bytes.length);
    encodeIsisFrameHeader(ALL_ISS, PEER_MAC, bytes.length, f, 0);
    f.set(bytes, ISIS_FRAME_HEADER_LEN);
    inst.frameReceived('eth1', f, (now += 10));
    inst.tick((now += 100));
  };
  send(lsp(0, 1));
  assert.ok(defaultOf(rib, 'inet.0', '10.255.0.2/32'), 'the peer\'s loopback');
  assert.equal(defaultOf(rib, 'inet.0', '0.0.0.0/0'), undefined, 'no ATT bit, no default');
  send(lsp(1, 2));
  const d4 = defaultOf(rib, 'inet.0', '0.0.0.0/0');
  assert.ok(d4, 'ATT bit: a default route');
  assert.equal(d4.metric, 10);
  assert.equal(d4.preference, 15, 'level 1 internal');
  assert.deepEqual(d4.nexthops, [{ gateway: '10.0.0.2', interface: 'eth1' }]);
  assert.deepEqual(defaultOf(rib, 'inet6.0', '::/0')?.nexthops, [{ gateway: 'fe80::2', interface: 'eth1' }]);
  send(lsp(0, 3));
  assert.equal(defaultOf(rib, 'inet.0', '0.0.0.0/0'), undefined, 'the bit cleared: the default withdrawn');
  assert.equal(defaultOf(rib, 'inet6.0', '::/0'), undefined);
});
