/**
 * The programmer's L2 side (docs/l2.md) against a real in-memory data plane: bridge ports and
 * IRBs from InterfaceUpdates, bridge domains, a replay that changes nothing calls nothing, a
 * resync sweeps the domains not replayed, a re-created IRB takes its domain again, QinQ's
 * settings (refused on the wrong mode), and a data
 * plane without L2 support refuses with a reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Programmer } from './programmer.js';
import { createDataplane } from '../dataplane/dataplane.js';
import { RecordingDataplane } from '../../test/support/recording-dataplane.js';
import type { PbBridgeDomainUpdate, PbInterfaceUpdate } from '../api/proto.js';

const trunk: PbInterfaceUpdate = { name: 'eth1', driver: 'MEMORY', bridge: { mode: 'TRUNK', vlanIds: [100, 200], nativeVlanId: 300, stormControlKbps: 1000 } };
const access: PbInterfaceUpdate = { name: 'eth2', driver: 'MEMORY', bridge: { mode: 'ACCESS', vlanId: 100, noLocalSwitching: true } };
const irb: PbInterfaceUpdate = { name: 'irb.100', irb: true, addresses: ['10.100.0.1/24'] };
const bd100: PbBridgeDomainUpdate = { name: 'bd100', vlanId: 100, irb: 'irb.100', interfaceMacLimit: 10 };
const bd200: PbBridgeDomainUpdate = { name: 'bd200', vlanId: 200 };

test('bridge ports, IRBs and domains; an unchanged replay calls nothing; a resync sweeps the domains not replayed', async () => {
  const dp = createDataplane({ workers: 0 });
  const p = new Programmer(dp);
  for (const m of [trunk, access, irb]) assert.deepEqual((await p.applyInterface(m)).failures, []);
  for (const m of [bd100, bd200]) assert.deepEqual(p.applyBridgeDomain(m).failures, []);
  assert.deepEqual(p.applyL2Settings({ macAgingSeconds: 60 }).failures, []);
  assert.deepEqual(dp.bridgePort('eth1'), { mode: 'trunk', vlans: [100, 200], nativeVlan: 300, stormControl: { bitsPerSecond: 1_000_000 } });
  assert.deepEqual(dp.bridgePort('eth2'), { mode: 'access', vlan: 100, noLocalSwitching: true });
  assert.deepEqual(dp.listBridgeDomains().map((d) => [d.name, d.irb, d.interfaces.map((i) => i.name)]), [['bd100', 'irb.100', ['eth1', 'eth2']], ['bd200', undefined, ['eth1']]]);
  const calls: string[] = [];
  for (const k of ['setBridgeDomain', 'setBridgePort', 'delBridgeDomain', 'addVif', 'delVif'] as const) {
    const f = (dp[k] as (...a: unknown[]) => unknown).bind(dp);
    (dp as unknown as Record<string, unknown>)[k] = (...a: unknown[]) => { calls.push(k); return f(...a); };
  }
  p.beginResync();
  for (const m of [trunk, access, irb]) await p.applyInterface(m);
  p.applyBridgeDomain(bd100);
  const end = await p.endResync();
  assert.deepEqual(end.failures, []);
  assert.deepEqual(calls, ['delBridgeDomain'], 'only the domain not replayed is touched');
  assert.equal(p.removed.bridgeDomains, 1);
  assert.deepEqual(dp.listBridgeDomains().map((d) => d.name), ['bd100']);
  // the IRB re-created (another VRF): its domain routes through it again
  dp.addVrf('blue');
  await p.applyInterface({ ...irb, vrf: 'blue' });
  assert.equal(dp.listBridgeDomains()[0]!.irb, 'irb.100');
  // a port back to L3
  await p.applyInterface({ name: 'eth2', driver: 'MEMORY' });
  assert.equal(dp.bridgePort('eth2'), undefined);
  assert.deepEqual(dp.listBridgeDomains()[0]!.interfaces.map((i) => i.name), ['eth1']);
  // QinQ: a trunk's TPID and a tunnel port reach the data plane; the wrong mode is refused with the data plane's reason
  assert.deepEqual((await p.applyInterface({ ...trunk, bridge: { ...trunk.bridge, tpid: 0x88a8 } })).failures, []);
  assert.equal(dp.bridgePort('eth1')!.tpid, 0x88a8);
  assert.deepEqual((await p.applyInterface({ name: 'eth2', driver: 'MEMORY', bridge: { mode: 'ACCESS', vlanId: 100, dot1qTunneling: true } })).failures, []);
  assert.equal(dp.bridgePort('eth2')!.dot1qTunneling, true);
  assert.match((await p.applyInterface({ name: 'eth2', driver: 'MEMORY', bridge: { mode: 'ACCESS', vlanId: 100, tpid: 0x88a8 } })).failures[0]?.reason ?? '', /only a trunk has a TPID/);
  // refused with reasons: a bad VLAN, an IRB that is not one
  assert.match(p.applyBridgeDomain({ name: 'bad', vlanId: 5000 }).failures[0]!.reason, /invalid VLAN .*5000/);
  assert.match(p.applyBridgeDomain({ name: 'bad2', vlanId: 7, irb: 'eth1' }).failures[0]!.reason, /eth1 is not an IRB interface/);
  await dp.stop();
});

test('a data plane without L2 support refuses bridge domains and ports with a reason', async () => {
  const p = new Programmer(new RecordingDataplane());
  assert.match(p.applyBridgeDomain(bd200).failures[0]!.reason, /does not switch/);
  assert.match((await p.applyInterface(access)).failures[0]!.reason, /does not switch/);
});

test('listFilters: a bridge port\'s filter by its name, the frames of a term\'s expanded rules summed under the term', async () => {
  const dp = createDataplane({ workers: 0 });
  const p = new Programmer(dp);
  const A = '02:00:00:00:00:0a';
  const B = '02:00:00:00:00:0b';
  // the controller expands `source-mac-address [ A B ]` into two terms named alike (controller/l2/bridge-filter.ts)
  const port = { mode: 'ACCESS' as const, vlanId: 100, inputFilterName: 'f1', inputFilter: [
    { name: 'macs', sourceMac: A, discard: true, count: 'bad' },
    { name: 'macs', sourceMac: B, discard: true, count: 'bad' },
    { name: 'rest' },
  ] };
  for (const m of [{ name: 'eth1', driver: 'MEMORY' as const, bridge: port }, access]) assert.deepEqual((await p.applyInterface(m)).failures, []);
  assert.deepEqual(p.applyBridgeDomain({ name: 'bd100', vlanId: 100 }).failures, []);
  const frame = (src: string) => {
    const f = new Uint8Array(60);
    f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    f.set(src.split(':').map((h) => parseInt(h, 16)), 6);
    f.set([0x08, 0x00], 12);
    return f;
  };
  for (const src of [A, B, B, '02:00:00:00:00:0c']) assert.ok(dp.memoryDriver('eth1').inject(frame(src)));
  dp.runUntilIdle();
  assert.equal(dp.memoryDriver('eth2').collect().length, 1, 'only the third MAC passes');
  const [f] = p.listFilters();
  assert.deepEqual(f, { interface: 'eth1', filter: 'f1', family: 0, output: false, bridge: true, terms: [{ name: 'macs', count: 'bad', packets: 3, bytes: 0 }, { name: 'rest', count: '', packets: 1, bytes: 0 }], unmatched: 0, unmatchedBytes: 0 });
  await dp.stop();
});
