import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Programmer } from './programmer.js';
import { RecordingDataplane } from '../../test/support/recording-dataplane.js';
import { parsePrefix } from '../lib/addr.js';
import { createDataplane } from '../dataplane/dataplane.js';

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

test('resync: routes that arrive in a VRF empty at ResyncBegin stay, a VRF that held routes is swept of those not replayed, a VRF re-created meanwhile keeps its new routes', async () => {
  const { dp, p } = await setup();
  p.applyRoutes({ vrf: 'blue', routes: [{ prefix: '10.9.0.0/16', action: 'DISCARD' }, { prefix: '10.8.0.0/16', action: 'DISCARD' }] });
  p.beginResync();
  // the default VRF held nothing: its routes are new, whatever came in them
  p.applyRoutes({ routes: [{ prefix: '192.0.2.0/24', action: 'DISCARD' }, { prefix: '198.51.100.0/24', action: 'REJECT' }, { prefix: '198.51.100.0/24', delete: true }] });
  p.applyRoutes({ vrf: 'blue', routes: [{ prefix: '10.9.0.0/16', action: 'DISCARD' }, { prefix: '10.7.0.0/16', action: 'DISCARD' }] });
  // a VRF deleted and made again during the resync: what it holds now came since
  p.applyVrf({ name: 'red' });
  p.applyRoutes({ vrf: 'red', routes: [{ prefix: '10.6.0.0/16', action: 'DISCARD' }] });
  p.applyVrf({ name: 'red', delete: true });
  p.applyVrf({ name: 'red' });
  p.applyRoutes({ vrf: 'red', routes: [{ prefix: '10.5.0.0/16', action: 'DISCARD' }] });
  p.applyVrf({ name: 'blue' });
  await p.applyInterface({ name: 'eth1', driver: 'MEMORY', addresses: ['10.0.0.1/24'] });
  await p.applyInterface({ name: 'pod1', driver: 'MEMORY', vrf: 'blue', addresses: ['169.254.1.1/32'] });
  const r = await p.endResync();
  assert.deepEqual(r.failures, []);
  assert.equal(r.swept, 1, 'only 10.8.0.0/16 in blue');
  assert.deepEqual([...dp.routes.get('default')!.keys()], ['192.0.2.0/24']);
  assert.deepEqual([...dp.routes.get('blue')!.keys()].sort(), ['10.7.0.0/16', '10.9.0.0/16']);
  assert.deepEqual([...dp.routes.get('red')!.keys()], ['10.5.0.0/16']);
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

/** packed route records as RouteBatch.packed_ipv4/6 carry them: address, length, 3-byte set reference */
function packed(records: [string, number][]): { packedIpv4: Uint8Array; packedIpv6: Uint8Array } {
  const v4: number[] = [];
  const v6: number[] = [];
  for (const [text, ref] of records) {
    const [addr, len] = text.split('/') as [string, string];
    const p = parsePrefix(`${addr}/${addr.includes(':') ? 128 : 32}`);
    (p.family === 4 ? v4 : v6).push(...p.addr, Number(len), ref >>> 16, (ref >>> 8) & 255, ref & 255);
  }
  return { packedIpv4: Uint8Array.from(v4), packedIpv6: Uint8Array.from(v6) };
}

test('packed route records: installed, replaced, deleted and replayed like Route messages; each bad record fails alone', async () => {
  const { dp, p } = await setup();
  const via = (ip: string) => ({ action: 'FORWARD' as const, nexthops: [{ ip, interface: 'eth1' }] });
  const sets = [via('10.0.0.2'), via('10.0.0.3'), { action: 'DISCARD' as const, nexthops: [] }, { action: 'FORWARD' as const, nexthops: [{ interface: 'eth1' }] }];
  const r = p.applyRoutes({ nexthopSets: sets, routes: [], ...packed([['192.0.2.0/24', 1], ['198.51.100.77/24', 2], ['0.0.0.0/0', 3], ['2001:db8::/32', 1], ['10.0.0.0/24', 4]]) });
  assert.deepEqual(r.failures, []);
  // host bits cleared; a connected subnet costs no data-plane route, as in the message form
  assert.deepEqual([...dp.routes.get('default')!.keys()].sort(), ['0.0.0.0/0', '192.0.2.0/24', '198.51.100.0/24', '2001:db8::/32']);
  assert.equal(dp.nexthops.size, 3);
  // the same route as a message: unchanged, no data-plane call
  const adds = dp.calls['addRoute'];
  p.applyRoutes({ nexthopSets: [via('10.0.0.2')], routes: [{ prefix: '192.0.2.0/24', nexthopSet: 1 }] });
  assert.equal(dp.calls['addRoute'], adds);
  // bad records: a length past the family's, a set that is not in the batch, a truncated tail
  const bad = packed([['192.0.2.0/33', 1], ['203.0.113.0/24', 9], ['2001:db8::/129', 1], ['198.51.100.0/24', 0]]);
  const r2 = p.applyRoutes({ nexthopSets: sets, routes: [], packedIpv4: Uint8Array.from([...bad.packedIpv4, 1, 2, 3]), packedIpv6: bad.packedIpv6 });
  assert.deepEqual(
    r2.failures.map((f) => f.object),
    ['route batch default', 'route default 192.0.2.0/33', 'route default 203.0.113.0/24', 'route default 2001:db8::/129'],
  );
  assert.match(r2.failures[0]!.reason, /not a whole number of 8-byte records/);
  assert.match(r2.failures[2]!.reason, /nexthop_set 9 is not in the batch/);
  // the good record of that batch (a delete) was applied
  assert.deepEqual([...dp.routes.get('default')!.keys()].sort(), ['0.0.0.0/0', '192.0.2.0/24', '2001:db8::/32']);
  // a replay in packed form keeps what it carries and sweeps the rest
  p.beginResync();
  p.applyRoutes({ nexthopSets: sets, routes: [], ...packed([['192.0.2.0/24', 1], ['2001:db8::/32', 1]]) });
  const end = await p.endResync();
  assert.deepEqual(end.failures, []);
  assert.deepEqual([...dp.routes.get('default')!.keys()].sort(), ['192.0.2.0/24', '2001:db8::/32']);
  assert.equal(dp.nexthops.size, 1);
});

test('packed IPv4 records reach a data plane that takes numbers as numbers, and it forwards by them', async () => {
  const dp = createDataplane({ workers: 0 });
  const p = new Programmer(dp);
  assert.deepEqual((await p.applyInterface({ name: 'eth1', driver: 'MEMORY', addresses: ['10.0.0.1/24'] })).failures, []);
  let objects = 0;
  const add = dp.addRoute.bind(dp);
  dp.addRoute = (vrf, prefix, nh) => {
    objects++;
    add(vrf, prefix, nh);
  };
  const via = { action: 'FORWARD' as const, nexthops: [{ ip: '10.0.0.2', interface: 'eth1' }] };
  const before = dp.routeCounts('default')[0]!.inet;
  assert.deepEqual(p.applyRoutes({ nexthopSets: [via, { action: 'DISCARD' }], routes: [], ...packed([['192.0.2.9/24', 1], ['192.0.2.128/25', 2]]) }).failures, []);
  assert.equal(objects, 0, 'no Prefix object per IPv4 route');
  assert.equal(dp.routeCounts('default')[0]!.inet, before + 2);
  const nhOf = (prefix: string) => dp.listRoutes('default', 4).find((r) => r.prefix === prefix)?.nh;
  // the walk a packet takes: .5 by the /24, .200 by the /25
  const lookup = (a: number) => dp.tables.lpm4.lookup(0, [(192 << 24 | 2 << 8 | a) >>> 0]);
  assert.equal(lookup(5), nhOf('192.0.2.0/24'));
  assert.equal(lookup(200), nhOf('192.0.2.128/25'));
  assert.notEqual(lookup(5), lookup(200));
  // deleted by number too: the /25 goes, the /24 covers its addresses again
  assert.deepEqual(p.applyRoutes({ routes: [], ...packed([['192.0.2.128/25', 0]]) }).failures, []);
  assert.equal(nhOf('192.0.2.128/25'), undefined);
  assert.equal(lookup(200), nhOf('192.0.2.0/24'));
  assert.equal(objects, 0);
});
