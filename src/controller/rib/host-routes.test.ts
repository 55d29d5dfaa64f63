/**
 * HostRoutes' choices over a real Rib: which active routes go to the kernel (isis and static in
 * inet.0/inet6.0; not bgp, direct or a VRF's), one batch for a burst of changes, removal when
 * a route leaves or is overtaken by BGP, a refused line tried again. The `ip` child is replaced
 * by a recorder of the batches it would get (the kernel's side is tested for real in
 * test/integration/host-routes.test.ts); the device is `lo`, present in every namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostRoutes, failedLines } from './host-routes.js';
import { Rib } from './rib.js';
import type { RibRoute } from './types.js';

function recorder(fail: (line: string) => boolean = () => false) {
  const batches: string[][] = [];
  const run = async (args: readonly string[], input = ''): Promise<string> => {
    if (args.includes('flush')) return ''; // removeAll (at stop)
    const lines = input.split('\n').filter(Boolean);
    batches.push(lines);
    return lines.map((l, i) => (fail(l) ? `RTNETLINK answers: Network is down\nCommand failed -:${i + 1}\n` : '')).join('');
  };
  return { batches, run };
}

/** A Rib with a connected subnet for the next hops, and HostRoutes following it on `lo`. */
async function started(fail?: (line: string) => boolean, logs: string[] = []) {
  const rib = new Rib();
  rib.announce('inet.0', 'direct:eth1', { prefix: '10.0.0.0/24', protocol: 'direct', preference: 0, nexthops: [{ interface: 'eth1' }] });
  const rec = recorder(fail);
  const h = new HostRoutes({ device: 'lo', log: (l) => logs.push(l), retryMs: 50 }, rec.run);
  h.start((l, wants) => rib.subscribe(l, wants));
  return { rib, rec, h };
}

const route = (prefix: string, protocol: RibRoute['protocol'], preference: number): RibRoute => ({ prefix, protocol, preference, nexthops: [{ gateway: '10.0.0.2', interface: 'eth1' }] });

test('IS-IS and static routes of the default VRF go to the kernel in one batch; BGP, direct and VRF routes do not', async () => {
  const { rib, rec, h } = await started();
  for (let i = 0; i < 300; i++) rib.announce('inet.0', 'isis-l2', route(`10.255.${i >> 8}.${i & 255}/32`, 'isis', 18));
  rib.announce('inet6.0', 'static', { prefix: '2001:db8:50::/64', protocol: 'static', preference: 5, action: 'discard', nexthops: [] });
  rib.announce('inet.0', 'bgp', route('192.0.2.0/24', 'bgp', 170));
  rib.announce('blue.inet.0', 'static', route('10.9.0.0/24', 'static', 5));
  await h.settled();
  assert.equal(rec.batches.length, 1, 'one batch for one burst');
  const lines = rec.batches[0]!;
  assert.equal(lines.length, 301);
  assert.ok(lines.includes('route replace 10.255.0.7/32 dev lo proto 250'));
  assert.ok(lines.includes('route replace 2001:db8:50::/64 dev lo proto 250'));
  assert.ok(!lines.some((l) => /192\.0\.2\.0|10\.9\.0\.0|10\.0\.0\.0/.test(l)), lines.join('\n'));
  await h.stop();
});

test('a route leaving, or overtaken by BGP, is deleted; a new next hop changes nothing', async () => {
  const { rib, rec, h } = await started();
  rib.announce('inet.0', 'bgp', route('10.255.0.2/32', 'bgp', 170));
  rib.announce('inet.0', 'isis-l2', route('10.255.0.2/32', 'isis', 18));
  rib.announce('inet.0', 'isis-l2', route('10.255.0.3/32', 'isis', 18));
  await h.settled();
  assert.deepEqual(rec.batches, [['route replace 10.255.0.2/32 dev lo proto 250', 'route replace 10.255.0.3/32 dev lo proto 250']]);
  rib.announce('inet.0', 'isis-l2', { ...route('10.255.0.3/32', 'isis', 18), nexthops: [{ gateway: '10.0.0.9', interface: 'eth1' }] });
  rib.withdraw('inet.0', 'isis-l2', '10.255.0.2/32'); // BGP's route becomes active
  rib.withdraw('inet.0', 'isis-l2', '10.255.0.3/32');
  await h.settled();
  assert.deepEqual(rec.batches[1], ['route del 10.255.0.2/32 dev lo proto 250', 'route del 10.255.0.3/32 dev lo proto 250']);
  assert.equal(rec.batches.length, 2);
  await h.stop();
});

test('a refused install is logged and tried again', async () => {
  let refuse = true;
  const logs: string[] = [];
  const { rib, rec, h } = await started((l) => refuse && l.includes('10.255.0.2/32'), logs);
  rib.announce('inet.0', 'isis-l2', route('10.255.0.2/32', 'isis', 18));
  rib.announce('inet.0', 'isis-l2', route('10.255.0.3/32', 'isis', 18));
  await h.settled();
  assert.match(logs.join('\n'), /1 of 2 kernel route changes on lo failed \(tried again\): RTNETLINK answers: Network is down/);
  refuse = false;
  for (let i = 0; i < 50 && rec.batches.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(rec.batches[1], ['route replace 10.255.0.2/32 dev lo proto 250']);
  assert.deepEqual(h.counts, { applied: 2, failed: 1 });
  await h.stop();
});

test('failedLines reads ip -batch\'s report', () => {
  assert.deepEqual(failedLines('Cannot find device "x"\nCommand failed -:3\nRTNETLINK answers: No such process\nCommand failed -:14\n'), [3, 14]);
  assert.deepEqual(failedLines(''), []);
});

test('BGP\'s changes reach HostRoutes\' listener only to or from a route of ours, IS-IS routes in the table or not', async () => {
  const rib = new Rib();
  rib.announce('inet.0', 'direct:eth1', { prefix: '10.0.0.0/24', protocol: 'direct', preference: 0, nexthops: [{ interface: 'eth1' }] });
  const rec = recorder();
  const h = new HostRoutes({ device: 'lo', log: () => {} }, rec.run);
  const heard: string[] = [];
  h.start((l, wants) => rib.subscribe((c) => {
    heard.push(`${c.prefix} ${c.protocol ?? '-'} from ${c.previous ?? '-'}`);
    l(c);
  }, wants));
  for (let i = 0; i < 50; i++) rib.announce('inet.0', 'bgp', route(`198.51.100.${i}/32`, 'bgp', 170));
  assert.deepEqual(heard, [], 'no route of ours: BGP\'s go by');
  rib.announce('inet.0', 'isis-l2', route('198.51.100.0/32', 'isis', 18));
  rib.announce('inet.0', 'isis-l2', route('198.51.100.1/32', 'isis', 18));
  rib.announce('inet.0', 'bgp', route('198.51.100.60/32', 'bgp', 170));
  rib.withdraw('inet.0', 'isis-l2', '198.51.100.0/32');
  rib.announce('inet.0', 'bgp', route('198.51.100.61/32', 'bgp', 170));
  // a BGP route preferred over ours (preference 10): ours loses, and the listener hears it
  rib.announce('inet.0', 'bgp-pref', route('198.51.100.1/32', 'bgp', 10));
  assert.deepEqual(heard, ['198.51.100.0/32 isis from bgp', '198.51.100.1/32 isis from bgp', '198.51.100.0/32 bgp from isis', '198.51.100.1/32 bgp from isis']);
  await h.settled();
  // (.0 came and went in one burst: the batch removes it; .1 went once BGP's overtook it)
  assert.deepEqual(rec.batches.flat().sort(), ['route del 198.51.100.0/32 dev lo proto 250', 'route del 198.51.100.1/32 dev lo proto 250']);
  await h.stop();
});
