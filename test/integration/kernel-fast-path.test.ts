/**
 * The kernel fast path (src/dataplane/kfast) with real frames: host1 — vRouter — host2 over
 * af-packet vifs, the hosts' veths at the kernel's defaults. After the first packets to a
 * destination the kernel forwards the rest (its own counters say how many), with the TTL
 * decremented and a checksum the receiving kernel accepts (a bad one would be dropped there);
 * a route removed, a filter set or the MTU exceeded takes effect at the next packet, because
 * every change ends the cache's epoch and the vRouter decides again.
 */
import { test, before, after } from 'node:test';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { NetnsLab, needsRoot, numberedHost, ping } from '../lib/netns.js';
import { startVrouter, type RunningVrouter } from '../lib/vrouter.js';

const skip = needsRoot();
const pktgen = fileURLToPath(new URL('../../bench/lib/pktgen.js', import.meta.url));
const lab = new NetnsLab('kfast');
const R1_MAC = '02:cc:00:0f:01:01';
const R2_MAC = '02:cc:00:0f:02:01';
const H2_MAC = '02:cc:00:0f:02:02';
let h1 = '';
let h2 = '';
let r = '';
let vr: RunningVrouter | undefined;

/** the kernel's forwarded counts per vif: [rx packets, rx bytes, tx packets, tx bytes] */
const fast = async (): Promise<Record<string, number[]>> => (await vr!.command({ op: 'kernelFast' })) as Record<string, number[]>;

before(async () => {
  if (skip) return;
  ({ router: r, hosts: [h1, h2] } = lab.topology({ router: 'r', hosts: [numberedHost(1), numberedHost(2, { mac: H2_MAC })] }));
  // destinations behind host2 that routes, not the connected subnet, reach: through a
  // neighbor next hop (resolved by ARP) and through an encap one (a fixed MAC)
  lab.run(h2, ['ip', 'addr', 'add', '10.9.0.2/32', 'dev', 'lo']);
  lab.run(h2, ['ip', 'addr', 'add', '10.8.0.2/32', 'dev', 'lo']);
  vr = await startVrouter(lab, r, {
    workers: 1,
    kernelFastPath: true,
    vifs: [
      { name: 'r1', driver: 'af-packet', mac: R1_MAC, addresses: ['10.1.0.1/24', '2001:db8:1::1/64'] },
      { name: 'r2', driver: 'af-packet', mac: R2_MAC, addresses: ['10.2.0.1/24', '2001:db8:2::1/64'] },
    ],
    nexthops: { h2: { type: 'neighbor', vif: 'r2', ip: '10.2.0.2' }, h2mac: { type: 'encap', vif: 'r2', dmac: H2_MAC } },
    routes: [{ prefix: '10.9.0.0/24', nh: 'h2' }, { prefix: '10.8.0.0/24', nh: 'h2mac' }],
  });
  ping(lab, h1, '10.2.0.2', { count: 2, deadlineS: 3 });
});

after(async () => {
  if (vr) await vr.stop();
  await lab.cleanup();
});

test('after the first packets the kernel forwards, both ways, TTL - 1 and a good checksum', { skip, timeout: 60000 }, async () => {
  const before = await fast();
  assert.ok(before.r1 && before.r2, `the fast path is attached to both vifs: ${JSON.stringify(before)}`);
  const p = ping(lab, h1, '10.2.0.2', { count: 60, interval: 0.02, deadlineS: 10 });
  assert.equal(p.received, 60, p.output);
  assert.match(p.output, /ttl=63/, 'the reply crossed one router');
  assert.doesNotMatch(p.output, /DUP!/, 'each packet forwarded once (the vRouter did not forward what the kernel did)');
  const after = await fast();
  const requests = after.r1![0]! - before.r1![0]!;
  const replies = after.r2![0]! - before.r2![0]!;
  // the first packet of each direction may take the vRouter (the cache is filled from it)
  assert.ok(requests >= 58, `echo requests the kernel forwarded from r1: ${requests}`);
  assert.ok(replies >= 58, `echo replies the kernel forwarded from r2: ${replies}`);
  assert.equal(after.r2![2]! - before.r2![2]!, requests, 'what came in on r1 went out on r2');
  // the vif counters include the kernel's
  const stats = (await vr!.command({ op: 'stats' })) as { vifs: Record<string, { rxPackets: number }> };
  assert.ok(stats.vifs.r1!.rxPackets >= after.r1![0]!, JSON.stringify(stats.vifs));
});

test('IPv6 too: after the first packets the kernel forwards both ways, hop limit - 1, nothing twice', { skip, timeout: 60000 }, async () => {
  ping(lab, h1, '2001:db8:2::2', { count: 2, deadlineS: 3 }); // neighbor discovery both ways
  const before = await fast();
  const p = ping(lab, h1, '2001:db8:2::2', { count: 40, interval: 0.02, deadlineS: 6 });
  assert.equal(p.received, 40, p.output);
  assert.match(p.output, /ttl=63/, 'the reply crossed one router (hop limit 63)');
  assert.doesNotMatch(p.output, /DUP!/);
  const after = await fast();
  assert.ok(after.r1![0]! - before.r1![0]! >= 38, `echo requests the kernel forwarded: ${after.r1![0]! - before.r1![0]!}`);
  assert.ok(after.r2![0]! - before.r2![0]! >= 38, `echo replies the kernel forwarded: ${after.r2![0]! - before.r2![0]!}`);
});

test('a route to an encap next hop (the vRouter\'s fused fast path fills the cache) is forwarded by the kernel', { skip, timeout: 60000 }, async () => {
  const before = await fast();
  const p = ping(lab, h1, '10.8.0.2', { count: 40, interval: 0.02, deadlineS: 6 });
  assert.equal(p.received, 40, p.output);
  assert.doesNotMatch(p.output, /DUP!/, 'each packet forwarded once');
  const after = await fast();
  assert.ok(after.r1![0]! - before.r1![0]! >= 38, `requests the kernel forwarded: ${after.r1![0]! - before.r1![0]!}`);
});

test('frames sent from a packet socket\'s ring (headers outside the linear part) are forwarded once, none lost', { skip, timeout: 60000 }, async () => {
  // bench/lib/pktgen: a TX ring, whose frames reach the vRouter's veth as pages; 1,000 pps to one destination
  const rx = (): number => Number(lab.run(h2, ['cat', '/sys/class/net/eth0/statistics/rx_packets']).trim());
  const before = await fast();
  const a = rx();
  const out = lab.run(h1, [process.execPath, pktgen, 'eth0', R1_MAC, '10.1.0.2', '10.8.0.2', '2', '60', '1000'], { timeout: 30000 });
  const sent = Number(/^sent (\d+)/.exec(out)?.[1]);
  await new Promise((res) => setTimeout(res, 300));
  const got = rx() - a;
  const after = await fast();
  assert.ok(sent >= 1900, out);
  // (the receiver's counter may also hold a stray ARP or two)
  assert.ok(got >= sent && got <= sent + 4, `sent ${sent}, host2 received ${got}`);
  assert.ok(after.r1![0]! - before.r1![0]! >= sent - 2, `the kernel forwarded ${after.r1![0]! - before.r1![0]!} of ${sent}`);
});

test('a route changed in another /8 leaves the cached destinations to the kernel; one in theirs sends the next packet to the vRouter', { skip, timeout: 60000 }, async () => {
  let p = ping(lab, h1, '10.9.0.2', { count: 5, interval: 0.02, deadlineS: 3 });
  assert.equal(p.received, 5, p.output);
  const warm = await fast();
  await vr!.command({ op: 'addRoute', prefix: '192.0.2.0/24', nh: 'h2' });
  p = ping(lab, h1, '10.9.0.2', { count: 10, interval: 0.05, deadlineS: 3 });
  assert.equal(p.received, 10, p.output);
  const still = await fast();
  assert.equal(still.r1![0]! - warm.r1![0]!, 10, 'every request of the ten was the kernel\'s: the cache stayed current');
  await vr!.command({ op: 'delRoute', prefix: '192.0.2.0/24' });
  // the same /8 as the destination: its epoch ends, the first request goes through the vRouter
  await vr!.command({ op: 'addRoute', prefix: '10.77.0.0/16', nh: 'h2' });
  p = ping(lab, h1, '10.9.0.2', { count: 10, interval: 0.05, deadlineS: 3 });
  assert.equal(p.received, 10, p.output);
  const after = await fast();
  const byKernel = after.r1![0]! - still.r1![0]!;
  assert.ok(byKernel >= 8 && byKernel <= 9, `the first request (or two) refilled the cache: the kernel forwarded ${byKernel} of 10`);
  await vr!.command({ op: 'delRoute', prefix: '10.77.0.0/16' });
});

test('a route removed stops the forwarding at once; put back, it forwards again', { skip, timeout: 60000 }, async () => {
  let p = ping(lab, h1, '10.9.0.2', { count: 20, interval: 0.02, deadlineS: 5 });
  assert.equal(p.received, 20, p.output);
  const mid = await fast();
  await vr!.command({ op: 'delRoute', prefix: '10.9.0.0/24' });
  p = ping(lab, h1, '10.9.0.2', { count: 10, interval: 0.02, deadlineS: 2 });
  assert.equal(p.received, 0, `no route: nothing may get through: ${p.output}`);
  const gone = await fast();
  assert.equal(gone.r1![0], mid.r1![0], 'the kernel forwarded nothing once the route was gone');
  await vr!.command({ op: 'addRoute', prefix: '10.9.0.0/24', nh: 'h2' });
  p = ping(lab, h1, '10.9.0.2', { count: 20, interval: 0.02, deadlineS: 5 });
  assert.equal(p.received, 20, p.output);
  const back = await fast();
  assert.ok(back.r1![0]! - gone.r1![0]! >= 18, `the kernel took the destination again: ${back.r1![0]! - gone.r1![0]!}`);
});

test('a filter set on the receiving vif applies to the next packet', { skip, timeout: 60000 }, async () => {
  let p = ping(lab, h1, '10.2.0.2', { count: 10, interval: 0.02, deadlineS: 3 });
  assert.equal(p.received, 10, p.output);
  await vr!.command({ op: 'setAcl', vif: 'r1', rules: [{ action: 'deny', protocol: 'icmp', dst: '10.2.0.2/32' }, { action: 'permit' }] });
  p = ping(lab, h1, '10.2.0.2', { count: 10, interval: 0.02, deadlineS: 2 });
  assert.equal(p.received, 0, `denied: ${p.output}`);
  await vr!.command({ op: 'setAcl', vif: 'r1', rules: [] });
  p = ping(lab, h1, '10.2.0.2', { count: 10, interval: 0.02, deadlineS: 3 });
  assert.equal(p.received, 10, p.output);
});

test('a packet above the out MTU is the vRouter\'s (fragmentation needed), not forwarded whole', { skip, timeout: 60000 }, async () => {
  lab.run(r, ['ip', 'link', 'set', 'r1', 'mtu', '9000']);
  lab.run(h1, ['ip', 'link', 'set', 'eth0', 'mtu', '9000']);
  try {
    const before = await fast();
    // DF set (ping's default -M do on Linux): the router must answer "fragmentation needed"
    const out = lab.run(h1, ['ping', '-4', '-n', '-c', '3', '-i', '0.2', '-w', '3', '-s', '3000', '-M', 'do', '10.2.0.2'], { allowFail: true, timeout: 10000 });
    assert.doesNotMatch(out, / 3 received/, out);
    const after = await fast();
    assert.equal(after.r2![2], before.r2![2], 'the kernel sent nothing out of r2');
  } finally {
    lab.run(h1, ['ip', 'link', 'set', 'eth0', 'mtu', '1500']);
    lab.run(r, ['ip', 'link', 'set', 'r1', 'mtu', '1500']);
  }
});
