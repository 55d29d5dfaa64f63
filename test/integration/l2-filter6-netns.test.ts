/**
 * Bridge filters with IPv6 fields on real tagged frames, under `cnr start` (root only;
 * docs/l2.md): h1 and h2 on trunks r1 and r2 (VLANs 100 and 200), h3 on access port r3 (VLAN
 * 100). This kernel has no 802.1Q, so scapy on h1 sends the 802.1Q-tagged IPv6 (and one IPv4)
 * frames and tshark on h2 and h3 reads back which arrived. r1's input filter, in Junos form
 * with lists (destination-port [ 80 443 ]), discards TCP 80/443 to a /64 (also past a
 * destination-options header, not in a later fragment), ICMPv6 echo requests, and a source
 * prefix in VLAN 200 only; r3's output filter discards frames whose first Next Header is
 * hop-by-hop. Every frame is accounted for: where it arrived, each term's hits (`cnr acl
 * --list`, one row per expanded rule) and the drop counters (`cnr dropstats`). The hosts' own
 * kernel frames never reach a filter: untagged on the trunks (no native VLAN) they are
 * dropped before it, and h3's enter on r3 (whose filter is an output one).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsLab, needsRoot } from '../lib/netns.js';
import { Capture } from '../lib/capture.js';
import { cnrBin, startCnr } from '../lib/cnr-start.js';
import type { AclInfo } from '../../src/dataplane/api.js';

const skip = needsRoot();
const lab = new NetnsLab('l2f6');
const dir = mkdtempSync(join(tmpdir(), `cnr-l2f6-${process.pid}-`));
const INTROSPECT = '127.0.0.1:18086';
const H1 = '02:4f:00:00:00:01';
const CONFIG = `
set bridge-domains bd100 vlan-id 100
set bridge-domains bd200 vlan-id 200
set interfaces r1 unit 0 family bridge interface-mode trunk
set interfaces r1 unit 0 family bridge vlan-id-list [ 100 200 ]
set interfaces r1 unit 0 family bridge filter input in6
set interfaces r2 unit 0 family bridge interface-mode trunk
set interfaces r2 unit 0 family bridge vlan-id-list [ 100 200 ]
set interfaces r3 unit 0 family bridge interface-mode access
set interfaces r3 unit 0 family bridge vlan-id 100
set interfaces r3 unit 0 family bridge filter output out6
set firewall family bridge filter in6 term web6 from ipv6-destination-address 2001:db8:100::/64
set firewall family bridge filter in6 term web6 from ipv6-payload-protocol tcp
set firewall family bridge filter in6 term web6 from destination-port [ 80 443 ]
set firewall family bridge filter in6 term web6 then discard
set firewall family bridge filter in6 term web6 then count web6
set firewall family bridge filter in6 term ping6 from ether-type ipv6
set firewall family bridge filter in6 term ping6 from icmp-type 128
set firewall family bridge filter in6 term ping6 then discard
set firewall family bridge filter in6 term bad-src from vlan-id 200
set firewall family bridge filter in6 term bad-src from ipv6-source-address 2001:db8:bad::/48
set firewall family bridge filter in6 term bad-src then discard
set firewall family bridge filter in6 term rest then accept
set firewall family bridge filter out6 term no-hbh from ipv6-next-header hop-by-hop
set firewall family bridge filter out6 term no-hbh then discard
set firewall family bridge filter out6 term rest then accept
`;
let r = '';
let h: string[] = [];

before(async () => {
  if (skip) return;
  const t = lab.topology({ router: 'r', hosts: [1, 2, 3].map((n) => ({ name: `h${n}`, routerIf: `r${n}`, ...(n === 1 ? { mac: H1 } : {}) })) });
  r = t.router;
  h = ['', ...t.hosts];
  await startCnr(lab, r, dir, CONFIG, INTROSPECT);
});

after(async () => {
  await lab.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const cnrJson = <T>(...args: string[]): T => JSON.parse(lab.run(r, [process.execPath, cnrBin, ...args, '--json', '--introspect', INTROSPECT])) as T;
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

// frame k (its hop limit, or IPv4 TTL, is k, so the captures tell them apart): VLAN, layers after the tag, and where it must arrive
const SRC = "src='2001:db8:100::1', dst='2001:db8:100::2'";
const FRAMES: { vlan: number; l3: string; to: ('h2' | 'h3')[]; why: string }[] = [
  { vlan: 100, l3: `IPv6(${SRC}, hlim=1)/TCP(dport=80)`, to: [], why: 'web6 (port 80)' },
  { vlan: 100, l3: `IPv6(${SRC}, hlim=2)/TCP(dport=443)`, to: [], why: 'web6 (port 443)' },
  { vlan: 100, l3: `IPv6(${SRC}, hlim=3)/TCP(dport=22)`, to: ['h2', 'h3'], why: 'tcp 22: rest' },
  { vlan: 200, l3: `IPv6(${SRC}, hlim=4)/IPv6ExtHdrDestOpt()/TCP(dport=80)`, to: [], why: 'web6 past a destination-options header' },
  { vlan: 100, l3: `IPv6(${SRC}, hlim=5)/ICMPv6EchoRequest()`, to: [], why: 'ping6' },
  { vlan: 100, l3: `IPv6(${SRC}, hlim=6)/ICMPv6EchoReply()`, to: ['h2', 'h3'], why: 'echo reply: rest' },
  { vlan: 200, l3: `IPv6(src='2001:db8:bad::1', dst='2001:db8:100::2', hlim=7)/UDP(dport=9)`, to: [], why: 'bad-src in VLAN 200' },
  { vlan: 100, l3: `IPv6(src='2001:db8:bad::1', dst='2001:db8:100::2', hlim=8)/UDP(dport=9)`, to: ['h2', 'h3'], why: 'bad-src in VLAN 100: rest' },
  { vlan: 100, l3: `IP(src='10.100.0.1', dst='10.100.0.2', ttl=9)/TCP(dport=80)`, to: ['h2', 'h3'], why: 'IPv4 tcp 80: no IPv6 term, rest' },
  { vlan: 200, l3: `IPv6(${SRC}, hlim=10)/IPv6ExtHdrFragment(offset=100, nh=6)/Raw(load=b'x'*16)`, to: ['h2'], why: 'a later fragment has no ports: rest' },
  { vlan: 100, l3: `IPv6(${SRC}, hlim=11)/IPv6ExtHdrHopByHop()/UDP(dport=9)`, to: ['h2'], why: 'hop-by-hop: rest on input, no-hbh on r3\'s output' },
];

test('IPv6 fields in bridge filters discard exactly the tagged frames they name, on input and output, each counted', { skip, timeout: 60_000 }, async () => {
  const drops0 = cnrJson<Record<string, number>>('dropstats');
  const caps = await Promise.all([2, 3].map((n) => Capture.start(lab, h[n]!, 'eth0')));
  try {
    const frames = FRAMES.map((f) => `Ether(src='${H1}', dst='ff:ff:ff:ff:ff:ff')/Dot1Q(vlan=${f.vlan})/${f.l3}`).join(',\n');
    lab.run(h[1]!, ['/usr/bin/python3', '-c', `from scapy.all import *\nsendp([${frames}], iface='eth0', verbose=False)`], { timeout: 30000 });
    await sleep(700);
  } finally {
    await Promise.all(caps.map((c) => c.stop()));
  }
  // which of h1's frames each host saw (by hop limit or TTL), with their VLAN tag
  const seen = caps.map((c) => c.fields(`eth.src == ${H1}`, ['ipv6.hlim', 'ip.ttl', 'vlan.id']).map(([hl, ttl, vlan]) => `${hl || ttl}${vlan ? `/${vlan}` : ''}`));
  for (const c of caps) c.remove();
  const want = (host: 'h2' | 'h3') => FRAMES.flatMap((f, k) => (f.to.includes(host) ? [`${k + 1}${host === 'h2' ? `/${f.vlan}` : ''}`] : []));
  assert.deepEqual(seen[0], want('h2'), `h2 (trunk): ${FRAMES.map((f, k) => `${k + 1} ${f.why}`).join('; ')}`);
  assert.deepEqual(seen[1], want('h3'), 'h3 (access, untagged)');

  const acls = cnrJson<AclInfo[]>('acl', '--list');
  const rows = (vif: string, dir: 'input' | 'output') => acls.find((a) => a.vif === vif && (a.direction ?? 'input') === dir);
  const in6 = rows('r1', 'input');
  const out6 = rows('r3', 'output');
  assert.ok(in6 && out6, JSON.stringify(acls));
  // one row per expanded rule: web6's ports 80 and 443
  assert.deepEqual(in6.bridge!.map((t) => [t.name, t.dstPort ?? null, t.hits]), [['web6', 80, 2], ['web6', 443, 1], ['ping6', null, 1], ['bad-src', null, 1], ['rest', null, 6]]);
  assert.equal(in6.unmatched, 0);
  assert.deepEqual([in6.bridge![0]!.ipVersion, in6.bridge![0]!.dstIp, in6.bridge![2]!.icmpType], [6, '2001:db8:100::/64', 128]);
  assert.deepEqual(out6.bridge!.map((t) => [t.name, t.hits]), [['no-hbh', 1], ['rest', 4]]);
  const drops = cnrJson<Record<string, number>>('dropstats');
  const delta = (k: string) => (drops[k] ?? 0) - (drops0[k] ?? 0);
  assert.deepEqual([delta('l2_filter_discard'), delta('l2_filter_out_discard')], [5, 1], JSON.stringify(drops));
});
