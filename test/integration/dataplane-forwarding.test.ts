/**
 * The real data plane forwarding between namespaces: host1 — vRouter — host2, the router's
 * veth ends in their own namespace with no kernel addresses, driven by AF_PACKET vifs.
 * IPv4 and IPv6 pings both ways and to the router itself, traceroute through it, MPLS label
 * push checked on the wire with tshark, and a labelled frame from scapy popped into a VRF.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, needsRoot, numberedHost, ping } from '../lib/netns.js';
import { Capture } from '../lib/capture.js';
import { startVrouter, type RunningVrouter } from '../lib/vrouter.js';

const skip = needsRoot();
const lab = new NetnsLab('dpfw');
const R1_MAC = '02:cc:00:00:01:01';
const R2_MAC = '02:cc:00:00:02:01';
const H1_MAC = '02:cc:00:00:01:02';
const H2_MAC = '02:cc:00:00:02:02';
let h1 = '';
let h2 = '';
let r = '';
let vr: RunningVrouter | undefined;

before(async () => {
  if (skip) return;
  ({ router: r, hosts: [h1, h2] } = lab.topology({ router: 'r', hosts: [numberedHost(1, { mac: H1_MAC }), numberedHost(2, { mac: H2_MAC })] }));
  vr = await startVrouter(lab, r, {
    workers: 1,
    vrfs: ['blue'],
    vifs: [
      { name: 'r1', driver: 'af-packet', mac: R1_MAC, addresses: ['10.1.0.1/24', '2001:db8:1::1/64'] },
      { name: 'r2', driver: 'af-packet', mac: R2_MAC, addresses: ['10.2.0.1/24', '2001:db8:2::1/64'] },
    ],
    nexthops: {
      // labelled next hops toward host2: a fixed rewrite and one resolved by ARP
      'mpls-encap': { type: 'encap', vif: 'r2', dmac: H2_MAC, labels: [16001, 100] },
      'mpls-nbr': { type: 'neighbor', vif: 'r2', ip: '10.2.0.2', labels: [300] },
      'udp-tunnel': { type: 'mpls-udp', src: '10.2.0.1', dst: '10.2.0.2', labels: [200] },
      'blue-h1': { type: 'neighbor', vif: 'r1', ip: '10.1.0.2' },
    },
    routes: [
      { prefix: '10.3.0.0/24', nh: 'mpls-encap' },
      { prefix: '10.4.0.0/24', nh: 'mpls-nbr' },
      { prefix: '10.5.0.0/24', nh: 'udp-tunnel' },
      { vrf: 'blue', prefix: '10.1.0.0/24', nh: 'blue-h1' },
    ],
    labels: [{ label: 100, action: { action: 'pop-lookup', vrf: 'blue' } }],
  });
  // neighbors learn each other through the first packets; give ARP/NDP a moment
  ping(lab, h1, '10.2.0.2', { count: 2, deadlineS: 3 });
  ping(lab, h1, '2001:db8:2::2', { count: 2, deadlineS: 3 });
});

after(async () => {
  if (vr) await vr.stop();
  await lab.cleanup();
});

test('IPv4 and IPv6 pings cross the vRouter both ways', { skip, timeout: 60000 }, () => {
  for (const [ns, dst] of [[h1, '10.2.0.2'], [h2, '10.1.0.2'], [h1, '2001:db8:2::2'], [h2, '2001:db8:1::2']] as const) {
    const p = ping(lab, ns, dst, { count: 5, deadlineS: 6 });
    assert.equal(p.received, 5, `${dst}: ${p.output}`);
  }
  const vifs = JSON.parse(vr!.cnr('vif', '--list', '--json')) as { name: string; rxPackets: number; txPackets: number }[];
  const r1 = vifs.find((v) => v.name === 'r1');
  assert.ok(r1 && r1.rxPackets >= 10 && r1.txPackets >= 10, JSON.stringify(vifs));
});

test('the router answers pings to its own IPv4 addresses, near and far side', { skip, timeout: 30000 }, () => {
  for (const [ns, dst] of [[h1, '10.1.0.1'], [h2, '10.2.0.1'], [h1, '10.2.0.1']] as const) {
    const p = ping(lab, ns, dst, { count: 3, deadlineS: 4 });
    assert.equal(p.received, 3, `${dst}: ${p.output}`);
  }
});

test('the router answers pings to its own IPv6 addresses', { skip, timeout: 30000 }, () => {
  for (const [ns, dst] of [[h1, '2001:db8:1::1'], [h2, '2001:db8:2::1']] as const) {
    const p = ping(lab, ns, dst, { count: 3, deadlineS: 4 });
    assert.equal(p.received, 3, `${dst}: ${p.output}`);
  }
});

test('traceroute from host1 shows the router as the first hop', { skip, timeout: 30000 }, () => {
  const out = lab.run(h1, ['traceroute', '-n', '-q', '1', '-w', '2', '-m', '4', '10.2.0.2'], { timeout: 20000 });
  const hops = out.split('\n').filter((l) => /^\s*\d+\s/.test(l));
  assert.match(hops[0] ?? '', /^\s*1\s+10\.1\.0\.1\s/, out);
  assert.match(hops[1] ?? '', /^\s*2\s+10\.2\.0\.2\s/, out);
  const t6 = lab.run(h1, ['traceroute', '-6', '-n', '-q', '1', '-w', '2', '-m', '4', '2001:db8:2::2'], { timeout: 20000 });
  assert.match(t6, /^\s*1\s+2001:db8:1::1\s/m, t6);
});

test('labelled next hops push the MPLS stack seen on the wire (labels, TTL, bottom of stack)', { skip, timeout: 60000 }, async () => {
  const cap = await Capture.start(lab, h2, 'eth0', 'ether proto 0x8847 or udp port 6635');
  try {
    ping(lab, h1, '10.3.0.7', { count: 2, deadlineS: 2 }); // no answer expected: we only look at the wire
    ping(lab, h1, '10.4.0.7', { count: 3, deadlineS: 3 });
    ping(lab, h1, '10.5.0.7', { count: 2, deadlineS: 2 });
    await new Promise((res) => setTimeout(res, 500));
  } finally {
    await cap.stop();
  }
  const fields = ['eth.src', 'eth.dst', 'mpls.label', 'mpls.bottom', 'mpls.ttl', 'ip.dst', 'ip.ttl'];
  const two = cap.fields('mpls && ip.dst == 10.3.0.7', fields);
  assert.ok(two.length >= 2, `MPLS frames for 10.3.0.7: ${JSON.stringify(two)}`);
  const [src, dst, labels, bottom, ttls, ipDst, ipTtl] = two[0]!;
  assert.equal(src, R2_MAC);
  assert.equal(dst, H2_MAC);
  assert.equal(labels, '16001,100');
  assert.equal(bottom, '0,1');
  assert.equal(ipDst, '10.3.0.7');
  assert.equal(ipTtl, '63', 'the router decremented the IP TTL');
  for (const t of ttls!.split(',')) assert.equal(t, '63', `label TTLs copy the decremented IP TTL (RFC 3443 uniform): ${ttls}`);
  const one = cap.fields('mpls && ip.dst == 10.4.0.7', ['mpls.label', 'mpls.bottom', 'eth.dst']);
  assert.ok(one.length >= 2, `ARP-resolved labelled next hop: ${JSON.stringify(one)}`);
  assert.deepEqual(one[0]!.slice(0, 3), ['300', '1', H2_MAC]);
  const udp = cap.fields('udp.dstport == 6635', ['ip.src', 'ip.dst', 'udp.srcport', 'mpls.label', 'mpls.bottom']);
  assert.ok(udp.length >= 1, 'MPLS over UDP frames');
  const [outerSrc, innerSrc] = udp[0]![0]!.split(',');
  const [outerDst, innerDst] = udp[0]![1]!.split(',');
  assert.deepEqual([outerSrc, outerDst], ['10.2.0.1', '10.2.0.2'], 'outer header from the tunnel source to its destination');
  assert.deepEqual([innerSrc, innerDst], ['10.1.0.2', '10.5.0.7'], 'the original packet inside');
  assert.ok(Number(udp[0]![2]) >= 49152, `RFC 7510 entropy source port: ${udp[0]![2]}`);
  assert.equal(udp[0]![3], '200');
  cap.remove();
});

test('an MPLS-labelled frame from scapy is popped into VRF blue and delivered to host1', { skip, timeout: 60000 }, async () => {
  const cap = await Capture.start(lab, h1, 'eth0', 'icmp');
  const script = [
    'from scapy.all import Ether, IP, ICMP, sendp',
    'from scapy.contrib.mpls import MPLS',
    `p = Ether(src='${H2_MAC}', dst='${R2_MAC}', type=0x8847)/MPLS(label=100, s=1, ttl=64)/IP(src='10.2.0.2', dst='10.1.0.2', ttl=20)/ICMP(id=0x4242, seq=7)/b'vpn'`,
    "sendp(p, iface='eth0', count=3, inter=0.1, verbose=False)",
  ].join('\n');
  try {
    lab.run(h2, ['/usr/bin/python3', '-c', script], { timeout: 30000 });
    await new Promise((res) => setTimeout(res, 700));
  } finally {
    await cap.stop();
  }
  const got = cap.fields('icmp.type == 8 && icmp.ident == 0x4242', ['eth.src', 'ip.src', 'ip.ttl', 'mpls.label']);
  assert.ok(got.length >= 3, `popped packets at host1: ${JSON.stringify(got)}`);
  assert.equal(got[0]![0], R1_MAC);
  assert.equal(got[0]![1], '10.2.0.2');
  assert.equal(got[0]![3], '', 'no label left on the delivered packet');
  const labels = JSON.parse(vr!.cnr('mpls', '--dump', '--json')) as { label: number; action: string; vrf?: string }[];
  assert.deepEqual(labels.map((l) => [l.label, l.action, l.vrf]), [[100, 'pop-lookup', 'blue']]);
  cap.remove();
});

test('inspection commands show the running router', { skip, timeout: 30000 }, () => {
  const vifs = vr!.cnr('vif', '--list');
  assert.match(vifs, /r1\s+af-packet\s+default\s+02:cc:00:00:01:01\s+1500\s+10\.1\.0\.1\/24,2001:db8:1::1\/64/);
  const rt = vr!.cnr('rt', '--dump', 'blue');
  assert.match(rt, /VRF blue, inet: 1 routes/);
  assert.match(rt, /10\.1\.0\.0\/24\s+\d+\s+neighbor\s+10\.1\.0\.2 02:cc:00:00:01:02 dev r1/);
  const drops = vr!.cnr('dropstats');
  assert.match(drops, /^REASON\s+PACKETS/);
});
