import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Programmer } from './programmer.js';
import { RecordingDataplane } from '../../test/support/recording-dataplane.js';
import { parsePrefix } from '../lib/addr.js';

async function setup() {
  const dp = new RecordingDataplane();
  const p = new Programmer(dp);
  assert.deepEqual(p.applyVrf({ name: 'blue' }).failures, []);
  assert.deepEqual((await p.applyInterface({ name: 'eth1', driver: 'MEMORY', addresses: ['10.0.0.1/24'] })).failures, []);
  assert.deepEqual((await p.applyInterface({ name: 'pod1', driver: 'MEMORY', vrf: 'blue', addresses: ['169.254.1.1/32'] })).failures, []);
  return { dp, p };
}

test('next hops are shared and released with their last route; replacing a route moves its reference', async () => {
  const { dp, p } = await setup();
  const via = (ip: string) => ({ action: 'FORWARD' as const, nexthops: [{ ip, interface: 'eth1' }] });
  p.applyRoutes({ nexthopSets: [via('10.0.0.2')], routes: [{ prefix: '192.0.2.0/24', nexthopSet: 1 }, { prefix: '198.51.100.0/24', nexthopSet: 1 }] });
  assert.equal(dp.nexthops.size, 1);
  p.applyRoutes({ nexthopSets: [via('10.0.0.3')], routes: [{ prefix: '192.0.2.0/24', nexthopSet: 1 }] });
  assert.equal(dp.nexthops.size, 2);
  p.applyRoutes({ routes: [{ prefix: '198.51.100.0/24', delete: true }] });
  assert.deepEqual([...dp.nexthops.values()].map((n) => n.spec), [{ type: 'neighbor', vif: 'eth1', ip: '10.0.0.3' }]);
  assert.equal(dp.calls['delNexthop'], 1);
});

test('a connected subnet costs no data-plane route; a non-canonical prefix is programmed canonically', async () => {
  const { dp, p } = await setup();
  const r = p.applyRoutes({ routes: [{ prefix: '10.0.0.0/24', nexthops: [{ interface: 'eth1' }] }, { prefix: '203.0.113.7/24', action: 'DISCARD' }] });
  assert.deepEqual(r.failures, []);
  assert.equal(dp.calls['addRoute'], 1);
  assert.deepEqual([...dp.routes.get('default')!.keys()], ['203.0.113.0/24']);
});

test('an address change updates the vif in place; a VRF change re-creates it', async () => {
  const { dp, p } = await setup();
  await p.applyInterface({ name: 'eth1', driver: 'MEMORY', addresses: ['10.0.0.1/24', '10.0.9.1/24'] });
  assert.equal(dp.calls['setVifAddresses'], 1);
  assert.equal(dp.calls['addVif'], 2);
  await p.applyInterface({ name: 'eth1', driver: 'MEMORY', vrf: 'blue', addresses: ['10.0.0.1/24'] });
  assert.equal(dp.calls['delVif'], 1);
  assert.equal(dp.vifs.get('eth1')?.vrf, 'blue');
});

test('deleting a VRF takes its remaining routes and their next hops with it', async () => {
  const { dp, p } = await setup();
  p.applyRoutes({ vrf: 'blue', routes: [{ prefix: '10.244.0.5/32', nexthops: [{ ip: '10.244.0.5', interface: 'pod1' }] }] });
  assert.equal(dp.routes.get('blue')?.size, 1);
  assert.deepEqual(p.applyVrf({ name: 'blue', delete: true }).failures, []);
  assert.equal(dp.vrfs.has('blue'), false);
  assert.equal(dp.nexthops.size, 0);
  assert.deepEqual(p.applyVrf({ name: 'default', delete: true }).failures.map((f) => f.reason), ['the default VRF cannot be deleted']);
});

test('resync: replayed objects stay untouched, the rest goes, a resync cut short removes nothing', async () => {
  const { dp, p } = await setup();
  p.applyRoutes({ routes: [{ prefix: '192.0.2.0/24', action: 'DISCARD' }, { prefix: '198.51.100.0/24', action: 'REJECT' }] });
  p.beginResync();
  p.applyRoutes({ routes: [{ prefix: '192.0.2.0/24', action: 'DISCARD' }] });
  // the stream breaks: a new resync starts over
  p.beginResync();
  p.applyVrf({ name: 'blue' });
  await p.applyInterface({ name: 'eth1', driver: 'MEMORY', addresses: ['10.0.0.1/24'] });
  p.applyRoutes({ routes: [{ prefix: '198.51.100.0/24', action: 'REJECT' }] });
  const adds = dp.calls['addRoute'];
  const r = await p.endResync();
  assert.deepEqual(r.failures, []);
  assert.equal(r.swept, 2, 'route 192.0.2.0/24 and interface pod1');
  assert.deepEqual([...dp.routes.get('default')!.keys()], ['198.51.100.0/24']);
  assert.deepEqual([...dp.vifs.keys()], ['eth1']);
  assert.equal(dp.calls['addRoute'], adds, 'nothing was re-added');
  assert.equal((await p.endResync()).failures[0]?.reason, 'ResyncEnd without ResyncBegin');
});

test('a loopback (lo0) keeps its addresses without a vif, is replaced in place, survives a replay and is swept when not replayed', async () => {
  const { dp, p } = await setup();
  const lo = (addresses: string[]) => p.applyInterface({ name: 'lo0', driver: 'LOOPBACK', addresses });
  assert.deepEqual((await lo(['10.255.0.1/32'])).failures, []);
  assert.deepEqual([...dp.loopbacks], [['lo0', ['10.255.0.1/32']]]);
  assert.equal(dp.vifs.has('lo0'), false, 'no vif');
  assert.deepEqual((await lo(['10.255.0.1/32', '2001:db8:ff::1/128'])).failures, []);
  assert.deepEqual(dp.loopbacks.get('lo0'), ['10.255.0.1/32', '2001:db8:ff::1/128']);
  assert.match((await lo(['10.255.0.300/32'])).failures[0]?.reason ?? '', /10\.255\.0\.300/);
  p.beginResync();
  await lo(['10.255.0.1/32']);
  await p.endResync();
  assert.deepEqual(dp.loopbacks.get('lo0'), ['10.255.0.1/32'], 'replayed: kept');
  p.beginResync();
  const r = await p.endResync();
  assert.equal(dp.loopbacks.has('lo0'), false, 'not replayed: removed');
  assert.ok((r.swept ?? 0) >= 1);
  await lo(['10.255.0.2/32']);
  assert.deepEqual((await p.applyInterface({ name: 'lo0', delete: true })).failures, []);
  assert.equal(dp.loopbacks.has('lo0'), false);
});

test('routes of every IPv4 length (and IPv6) survive a replay and are swept by their exact prefix', async () => {
  const { dp, p } = await setup();
  const prefixes = ['0.0.0.0/0', '128.0.0.0/1', '10.0.0.0/8', '192.168.1.0/24', '255.255.255.254/31', '255.255.255.255/32', '10.9.8.7/32', '2001:db8::/32'];
  p.applyRoutes({ routes: prefixes.map((prefix) => ({ prefix, action: 'DISCARD' as const })) });
  assert.deepEqual([...dp.routes.get('default')!.keys()].sort(), [...prefixes].sort());
  p.beginResync();
  p.applyRoutes({ routes: prefixes.filter((_, i) => i % 2 === 0).map((prefix) => ({ prefix, action: 'DISCARD' as const })) });
  const r = await p.endResync();
  assert.deepEqual(r.failures, []);
  assert.deepEqual([...dp.routes.get('default')!.keys()].sort(), prefixes.filter((_, i) => i % 2 === 0).sort());
  p.applyRoutes({ routes: prefixes.filter((_, i) => i % 2 === 0).map((prefix) => ({ prefix, delete: true })) });
  assert.equal(dp.routes.get('default')!.size, 0);
});

test('labels: pop-and-look-up into a VRF, replaced in place, swept at ResyncEnd, removed with their VRF', async () => {
  const { dp, p } = await setup();
  assert.deepEqual(p.applyLabel({ label: 16, vrf: 'blue' }).failures, []);
  assert.deepEqual(dp.labels.get(16), { action: 'pop-lookup', vrf: 'blue' });
  p.applyLabel({ label: 16, vrf: 'blue' });
  assert.equal(dp.calls['addLabel'], 1, 'resent unchanged: no data-plane call');
  assert.match(p.applyLabel({ label: 3, vrf: 'blue' }).failures[0]!.reason, /invalid label/);
  assert.match(p.applyLabel({ label: 17, vrf: 'nosuch' }).failures[0]!.reason, /unknown VRF/);
  p.applyLabel({ label: 17, vrf: 'blue' });
  p.beginResync();
  p.applyVrf({ name: 'blue' });
  await p.applyInterface({ name: 'eth1', driver: 'MEMORY', addresses: ['10.0.0.1/24'] });
  await p.applyInterface({ name: 'pod1', driver: 'MEMORY', vrf: 'blue', addresses: ['169.254.1.1/32'] });
  p.applyLabel({ label: 16, vrf: 'blue' });
  const r = await p.endResync();
  assert.deepEqual([r.failures, r.swept], [[], 1]);
  assert.deepEqual([...dp.labels.keys()], [16]);
  assert.deepEqual(p.applyVrf({ name: 'blue', delete: true }).failures, []);
  assert.equal(dp.labels.size, 0, 'the VRF took its label with it');
  assert.equal(p.counts().labels, 0);
});

test('an MPLS-over-UDP next hop: labels inside, shared by key, refused without labels or destination', async () => {
  const { dp, p } = await setup();
  const nh = { ip: '10.0.12.2', tunnelSource: '10.0.12.1', serviceLabel: 16 };
  const r = p.applyRoutes({ vrf: 'blue', routes: [{ prefix: '10.2.0.0/24', nexthops: [nh] }, { prefix: '10.4.0.0/24', nexthops: [nh] }] });
  assert.deepEqual(r.failures, []);
  assert.deepEqual([...dp.nexthops.values()].map((n) => [n.spec, n.refs]), [[{ type: 'mpls-udp', src: '10.0.12.1', dst: '10.0.12.2', labels: [16] }, 2]]);
  assert.match(p.applyRoutes({ vrf: 'blue', routes: [{ prefix: '10.5.0.0/24', nexthops: [{ ip: '10.0.12.2', tunnelSource: '10.0.12.1' }] }] }).failures[0]!.reason, /needs labels/);
});

test('a prefix as a value and as text (an older controller) are the same route; values reach the data plane as values', async () => {
  const { dp, p } = await setup();
  const seen: unknown[] = [];
  const add = dp.addRoute.bind(dp);
  dp.addRoute = (vrf, prefix, nh) => {
    seen.push(prefix);
    add(vrf, prefix, nh);
  };
  const via = { action: 'FORWARD' as const, nexthops: [{ ip: '10.0.0.2', interface: 'eth1' }] };
  const v6 = parsePrefix('2001:db8:7::/48');
  assert.deepEqual(p.applyRoutes({ nexthopSets: [via], routes: [{ destination: parsePrefix('192.0.2.0/24'), nexthopSet: 1 }, { destination: v6, nexthopSet: 1 }] }).failures, []);
  assert.deepEqual(seen.map((x) => typeof x), ['object', 'object'], 'no text on the way to the data plane');
  // the same routes again in the text form: unchanged, no data-plane call
  assert.deepEqual(p.applyRoutes({ nexthopSets: [via], routes: [{ prefix: '192.0.2.0/24', nexthopSet: 1 }, { prefix: '2001:db8:7::/48', nexthopSet: 1 }] }).failures, []);
  assert.equal(dp.calls['addRoute'], 2);
  // and removed in the value form, whichever form installed them
  assert.deepEqual(p.applyRoutes({ routes: [{ destination: parsePrefix('192.0.2.0/24'), delete: true }, { prefix: '2001:db8:7::/48', delete: true }] }).failures, []);
  assert.equal(dp.routes.get('default')!.size, 0);
  assert.equal(dp.nexthops.size, 0);
});

test('a prefix value with host bits set is programmed with them cleared; a malformed one fails alone with a reason', async () => {
  const { dp, p } = await setup();
  const r = p.applyRoutes({
    routes: [
      { destination: { family: 4, addr: Uint8Array.of(203, 0, 113, 7), len: 24 }, action: 'DISCARD' },
      { destination: { family: 4, addr: Uint8Array.of(10, 0, 0), len: 8 }, action: 'DISCARD' },
      { destination: { family: 4, addr: Uint8Array.of(10, 0, 0, 0), len: 33 }, action: 'DISCARD' },
      { destination: { family: 6, addr: parsePrefix('2001:db8::/32').addr, len: 129 }, action: 'DISCARD' },
      { prefix: 'not a prefix', action: 'DISCARD' },
    ],
  });
  assert.deepEqual([...dp.routes.get('default')!.keys()], ['203.0.113.0/24']);
  assert.deepEqual(
    r.failures.map((f) => f.object),
    ['route default <3-byte address>/8', 'route default 10.0.0.0/33', 'route default 2001:db8::/129', 'route default not a prefix'],
  );
  assert.match(r.failures[0]!.reason, /3-byte address/);
  assert.match(r.failures[1]!.reason, /prefix length 33/);
});

test('a MEMIF interface update becomes a memif vif with its socket, id and secret; a socket change re-creates it', async () => {
  const { dp, p } = await setup();
  const u = { name: 'memif-a', driver: 'MEMIF' as const, addresses: ['10.9.0.1/24'], memifSocket: '/run/cnr/memif/a/memif.sock', memifId: 2, memifSecret: 'pw' };
  assert.deepEqual((await p.applyInterface(u)).failures, []);
  assert.deepEqual(dp.vifs.get('memif-a')?.memif, { socket: '/run/cnr/memif/a/memif.sock', id: 2, secret: 'pw' });
  assert.equal(dp.vifs.get('memif-a')?.driver, 'memif');
  const adds = dp.calls['addVif'];
  await p.applyInterface({ ...u, memifSocket: '/run/cnr/memif/b/memif.sock' });
  assert.equal(dp.calls['addVif'], adds! + 1);
  assert.equal(dp.vifs.get('memif-a')?.memif?.socket, '/run/cnr/memif/b/memif.sock');
});

test('forwarded labels (segment routing): a swap for one labelled next hop, a pop toward labelled members otherwise, refused without addresses', async () => {
  const { dp, p } = await setup();
  assert.deepEqual(p.applyLabel({ label: 400002, nexthops: [{ ip: '10.0.0.2', interface: 'eth1', transportLabels: [500002] }] }).failures, []);
  const swap = dp.labels.get(400002) as { action: string; outLabels: number[]; nh: number };
  assert.deepEqual([swap.action, swap.outLabels], ['swap', [500002]]);
  assert.deepEqual(dp.nexthops.get(swap.nh)!.spec, { type: 'neighbor', vif: 'eth1', ip: '10.0.0.2' }, 'the swap pushes nothing more');
  assert.deepEqual(p.applyLabel({ label: 400003, nexthops: [{ ip: '10.0.0.2', interface: 'eth1', transportLabels: [500003] }, { ip: '10.0.0.3', interface: 'eth1', transportLabels: [600003] }] }).failures, []);
  const ecmp = dp.labels.get(400003) as { action: string; nh: number };
  assert.equal(ecmp.action, 'php');
  const members = (dp.nexthops.get(ecmp.nh)!.spec as { members: number[] }).members.map((m) => dp.nexthops.get(m)!.spec);
  assert.deepEqual(members, [{ type: 'neighbor', vif: 'eth1', ip: '10.0.0.2', labels: [500003] }, { type: 'neighbor', vif: 'eth1', ip: '10.0.0.3', labels: [600003] }]);
  // resent unchanged: nothing; an Adj-SID (pop and forward)
  const calls = dp.calls['addLabel'];
  p.applyLabel({ label: 400003, nexthops: [{ ip: '10.0.0.2', interface: 'eth1', transportLabels: [500003] }, { ip: '10.0.0.3', interface: 'eth1', transportLabels: [600003] }] });
  assert.equal(dp.calls['addLabel'], calls);
  p.applyLabel({ label: 24001, nexthops: [{ ip: '10.0.0.3', interface: 'eth1', transportLabels: [] }] });
  assert.equal((dp.labels.get(24001) as { action: string }).action, 'php');
  assert.match(p.applyLabel({ label: 24002, nexthops: [{ ip: '', interface: 'eth1', transportLabels: [] }] }).failures[0]!.reason, /next-hop addresses/);
  // deleting them releases the next hops only they held
  for (const label of [400002, 400003, 24001]) p.applyLabel({ label, delete: true });
  assert.equal(dp.labels.size, 0);
  assert.equal(dp.nexthops.size, 0, 'no next hop left behind');
});
