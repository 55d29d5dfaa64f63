/**
 * Segment-routing label operations from mpls.0 to the wire: the RIB's mpls.0 entries as
 * IS-IS announces them (RibApi.announce('mpls.0', source, route keyed by label); our own node
 * SID's pop with MplsTable.set), a swap for a transit node SID with
 * the next hop's SRGB, ECMP over neighbours with different SRGBs, penultimate-hop popping, an
 * Adj-SID's pop-and-forward) travel through the FIB export and the agent into the real data
 * plane's label table, and MPLS frames come out swapped, popped or spread as they should.
 * In-memory interfaces (no root needed); the neighbours' ARP is answered by the test.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDataplane, type VRouterDataplane } from '../../src/dataplane/dataplane.js';
import { arp, eth, ipv4, mpls, udp } from '../support/frames.js';
import { startVrouter, type Vrouter } from '../../src/agent/vrouter.js';
import { loadSet } from '../../src/controller/config/notation-set.js';
import { Rib } from '../../src/controller/rib/rib.js';
import { FibExport } from '../../src/controller/rib/fib-export.js';
import { RibService } from '../../src/controller/rib/service.js';

const CONFIG = `
set interfaces lo0 unit 0 family inet address 10.255.0.1/32
set interfaces m1 unit 0 family inet address 10.1.0.1/24
set interfaces m2 unit 0 family inet address 10.2.0.1/24
set interfaces m3 unit 0 family inet address 10.3.0.1/24
`;
const H1 = '02:00:00:00:01:02';
const NEIGHBOURS: Record<string, [string, string, string]> = { m2: ['02:00:00:00:02:02', '10.2.0.2', '10.2.0.1'], m3: ['02:00:00:00:03:02', '10.3.0.2', '10.3.0.1'] };

let dp: VRouterDataplane;
let vr: Vrouter;
let rib: Rib;
let svc: RibService;
let fib: FibExport;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const macOf = (n: string) => dp.listVifs().find((v) => v.name === n)!.mac;

/** Labels of a frame's MPLS stack (outermost first), or [] for a frame that is not MPLS. */
function stackOf(f: Uint8Array): { labels: number[]; ttl: number[]; payloadType: number } {
  if (((f[12]! << 8) | f[13]!) !== 0x8847) return { labels: [], ttl: [], payloadType: (f[12]! << 8) | f[13]! };
  const labels: number[] = [];
  const ttl: number[] = [];
  for (let o = 14; ; o += 4) {
    const w = ((f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!) >>> 0;
    labels.push(w >>> 12);
    ttl.push(w & 255);
    if (w & 0x100) return { labels, ttl, payloadType: 0x8847 };
  }
}

/** Send MPLS frames in on m1 and collect what leaves m2 and m3 (answering the neighbours' ARP). */
async function through(frames: Uint8Array[]): Promise<Record<string, Uint8Array[]>> {
  const out: Record<string, Uint8Array[]> = { m2: [], m3: [] };
  const collect = () => {
    for (const v of ['m2', 'm3']) {
      for (const f of dp.memoryDriver(v).collect()) {
        const type = (f[12]! << 8) | f[13]!;
        const [mac, ip, ours] = NEIGHBOURS[v]!;
        if (type === 0x0806 && f[21] === 1) dp.memoryDriver(v).inject(eth(macOf(v), mac, 0x0806, arp(2, mac, ip, macOf(v), ours)));
        else out[v]!.push(f);
      }
    }
    dp.memoryDriver('m1').collect();
  };
  // ARP first: a frame toward an unresolved neighbour is dropped (and asks)
  for (let round = 0; round < 50 && !['10.2.0.2', '10.3.0.2'].every((ip) => dp.listNexthops().some((n) => n.ip === ip && n.state === 'resolved')); round++) {
    for (const f of frames) dp.memoryDriver('m1').inject(f);
    await sleep(10);
    collect();
  }
  out.m2 = [];
  out.m3 = [];
  for (const f of frames) assert.ok(dp.memoryDriver('m1').inject(f));
  for (let k = 0; k < 20 && out.m2.length + out.m3.length < frames.length; k++) {
    await sleep(10);
    collect();
  }
  return out;
}

const labelled = (labels: number[], sport: number, dst = '192.0.2.9') => eth(macOf('m1'), H1, 0x8847, mpls(labels, 64, ipv4({ src: '10.1.0.2', dst, ttl: 64, proto: 17, payload: udp(sport, 5000) })));

before(async () => {
  dp = createDataplane({ workers: 0, vhost: false });
  vr = await startVrouter({ dataplane: dp, agentAddress: '127.0.0.1:0', introspect: false, health: false, log: () => {} });
  await dp.start();
  rib = new Rib();
  fib = new FibExport(rib, { address: `127.0.0.1:${vr.agentPort}`, backoffMinMs: 20, backoffMaxMs: 200 });
  svc = new RibService(rib, { fib, driverFor: () => 'memory' });
  const cfg = loadSet(CONFIG);
  assert.deepEqual(svc.validate(cfg), []);
  await svc.apply(cfg);
  fib.start();
  await fib.whenIdle(10_000);
});

after(async () => {
  await fib?.stop();
  await vr?.stop();
  await dp?.stop();
});

test('SR label operations reach the label table and the wire: pop, swap, ECMP, PHP, Adj-SID', { timeout: 30_000 }, async () => {
  // our own node SID, put in directly; the rest as IS-IS announces its SR results (mpls.0 keyed by label)
  rib.mpls.set(400001, 'isis node-sid 10.255.0.1/32', { action: 'pop-lookup', vrf: 'default' });
  const sr = (label: number, nexthops: [string, string, number[]][]) =>
    rib.announce('mpls.0', 'isis-l2', { prefix: String(label), protocol: 'isis', preference: 14, nexthops: nexthops.map(([gateway, ifname, labels]) => ({ gateway, interface: ifname, labels })) });
  sr(400002, [['10.2.0.2', 'm2', [500002]]]);
  sr(400003, [['10.2.0.2', 'm2', [500003]], ['10.3.0.2', 'm3', [600003]]]);
  sr(400004, [['10.2.0.2', 'm2', []]]);
  sr(24001, [['10.3.0.2', 'm3', []]]);
  await fib.whenIdle(5000);
  assert.equal(fib.status().nacks, 0, JSON.stringify(fib.status().recentFailures));
  // lo0 is the router's loopback: no vif, its address a route the router receives
  assert.deepEqual(dp.listVifs().map((v) => v.name).sort(), ['m1', 'm2', 'm3']);
  const lo = dp.listRoutes('default', 4).find((r) => r.prefix === '10.255.0.1/32');
  assert.equal(dp.listNexthops().find((n) => n.id === lo?.nh)?.type, 'receive');
  const table = Object.fromEntries(dp.listLabels().map((l) => [l.label, l.action]));
  assert.deepEqual(table, { 400001: 'pop-lookup', 400002: 'swap', 400003: 'php', 400004: 'php', 24001: 'php' });
  const show = svc.showMpls();
  assert.match(show.text, /400002\s+\*\[L-ISIS\]\n\s+> to 10\.2\.0\.2 via m2, Swap 500002/);
  assert.match(show.text, /24001\s+\*\[L-ISIS\]\n\s+> to 10\.3\.0\.2 via m3, Pop/);

  // our own node SID: popped, the IPv4 packet routed (10.3.0.2 is on m3)
  let out = await through([labelled([400001], 1000, '10.3.0.2')]);
  assert.equal(out.m3!.length, 1);
  assert.equal(stackOf(out.m3![0]!).payloadType, 0x0800);
  // a transit node SID: swapped for the next hop's label, TTL one less
  out = await through([labelled([400002], 1001)]);
  assert.equal(out.m2!.length, 1);
  assert.deepEqual(stackOf(out.m2![0]!).labels, [500002]);
  assert.deepEqual(stackOf(out.m2![0]!).ttl, [63]);
  // a label under it stays (the VPN label under the transport label)
  out = await through([labelled([400002, 16001], 1002)]);
  assert.deepEqual(stackOf(out.m2![0]!).labels, [500002, 16001]);
  // penultimate hop: popped, the IPv4 packet goes to the neighbour that owns the SID
  out = await through([labelled([400004], 1003)]);
  assert.equal(out.m2!.length, 1);
  assert.equal(stackOf(out.m2![0]!).payloadType, 0x0800);
  assert.equal(out.m2![0]![14 + 8], 63, 'the IP TTL takes the label TTL minus one');
  out = await through([labelled([400004, 16002], 1004)]);
  assert.deepEqual(stackOf(out.m2![0]!).labels, [16002]);
  // Adj-SID: popped and sent to that adjacency whatever the rest says
  out = await through([labelled([24001, 400002], 1005)]);
  assert.equal(out.m3!.length, 1);
  assert.deepEqual(stackOf(out.m3![0]!).labels, [400002]);
  // ECMP over neighbours with different SRGBs: each flow one way, each way its own out-label
  out = await through(Array.from({ length: 64 }, (_, k) => labelled([400003], 2000 + k)));
  assert.equal(out.m2!.length + out.m3!.length, 64);
  assert.ok(out.m2!.length > 0 && out.m3!.length > 0, `both ways used (${out.m2!.length}/${out.m3!.length})`);
  for (const f of out.m2!) assert.deepEqual(stackOf(f).labels, [500003]);
  for (const f of out.m3!) assert.deepEqual(stackOf(f).labels, [600003]);
});

test('SR labels change, go, and survive a controller reconnection', { timeout: 30_000 }, async () => {
  const m = rib.mpls;
  const nhsBefore = dp.listNexthops().length;
  // the neighbour's SRGB moved: the transit SID swaps for the new label
  rib.announce('mpls.0', 'isis-l2', { prefix: '400002', protocol: 'isis', preference: 14, nexthops: [{ gateway: '10.2.0.2', interface: 'm2', labels: [700002] }] });
  await fib.whenIdle(5000);
  assert.deepEqual(dp.listLabels().find((l) => l.label === 400002)?.outLabels, [700002]);
  let out = await through([labelled([400002], 3000)]);
  assert.deepEqual(stackOf(out.m2![0]!).labels, [700002]);
  // another owner cannot take a held label
  assert.throws(() => m.set(400002, 'isis node-sid 10.255.0.9/32', { action: 'pop-lookup', vrf: 'default' }), /held by isis-l2 400002/);
  rib.announce('mpls.0', 'isis-l1', { prefix: '400002', protocol: 'isis', preference: 15, nexthops: [{ gateway: '10.3.0.2', interface: 'm3', labels: [9] }] });
  assert.equal(m.conflicts, 1, 'a second source for a held label is counted, not installed');
  // the SIDs go: the labels leave the data plane, and the next hops only they used with them
  rib.withdraw('mpls.0', 'isis-l2', '400003');
  rib.withdraw('mpls.0', 'isis-l2', '24001');
  await fib.whenIdle(5000);
  assert.deepEqual(dp.listLabels().map((l) => l.label).sort(), [400001, 400002, 400004]);
  assert.ok(dp.listNexthops().length < nhsBefore, 'the ECMP and Adj-SID next hops were released');
  out = await through([labelled([400003], 3001)]);
  assert.equal(out.m2!.length + out.m3!.length, 0);
  // a reconnection replays mpls.0; the sweep leaves the replayed labels alone
  const removedBefore = vr.agent.removed().labels;
  await vr.restartAgent();
  await fib.whenIdle(10_000);
  assert.equal(vr.agent.removed().labels, removedBefore, 'nothing removed by the resync');
  out = await through([labelled([400002], 3002)]);
  assert.deepEqual(stackOf(out.m2![0]!).labels, [700002]);
});
