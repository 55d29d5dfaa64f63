/**
 * IS-IS with segment routing across three cnr nodes (`cnr start` each: controller and vRouter,
 * AF_PACKET on veths), IS-IS's frames carried by the vRouter's punt channel:
 *
 *   h1 ─ b1 ┐                                               ┌ b2 ─ h2 (VRF blue)
 *   hb ─ v1 ┤ PE1 ── c1 ══ p1 ── P ── p2 ══ c2 ── PE2 ─────┤
 *           lo0 10.255.0.1     lo0 10.255.0.2     lo0 10.255.0.3
 *   SRGB 400000, index 1   SRGB 500000, index 2   SRGB 600000, index 3
 *
 * Adjacencies come up over the punt channel; each node's mpls.0 holds the label operations
 * IS-IS computed from its neighbours' SRGBs; inet.3 holds the tunnels. A labelled packet
 * from h1 with PE2's node SID in PE1's SRGB (400003) leaves PE1 swapped to P's label for it
 * (500003), and P, the penultimate hop, pops it toward PE2. Then the overlay: the PEs peer
 * in iBGP (inet-vpn) between their loopbacks, across P, and the VRF blue hosts (hb on PE1,
 * h2 on PE2) ping each other: their VPN routes resolve over the SR tunnels in inet.3, the
 * core link carries P's label for PE2 over PE2's VPN label, and P pops the transport label.
 *
 * Needs the IS-IS protocol (src/controller/protocols/isis, built on the isis branch): skips
 * with that reason where it is not in the tree. The node's own traffic reaches the remote
 * loopbacks through vhost0 by the kernel routes the controller installs for its IS-IS routes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsLab } from '../lib/netns.js';
import { eventually, pingFrom, type CnrNode } from '../lib/cnr-node.js';
import { seenOn, srSkip, srVpn, startSrNodes, stopSrNodes, type SrNodePlan } from '../lib/sr-lab.js';

const skip = srSkip('sr-e2e');

const PE1_RED = [
  'set interfaces r1 unit 0 family inet address 10.13.0.1/24',
  'set routing-instances red instance-type vrf',
  'set routing-instances red interface r1',
  'set routing-instances red route-distinguisher 10.255.0.1:2',
  'set routing-instances red vrf-target target:65000:2',
];

const PLANS: SrNodePlan[] = [
  { name: 'pe1', n: 1, srgb: 400000, ifs: [['c1', '10.0.1.1/30', 'p2p'], ['b1', '10.1.0.1/24', 'passive']], extra: [...srVpn(1, 3, 'v1', '10.11.0.1/24', 'fd00:11::1/64'), ...PE1_RED] },
  { name: 'p', n: 2, srgb: 500000, ifs: [['p1', '10.0.1.2/30', 'p2p'], ['p2', '10.0.2.1/30', 'p2p']] },
  { name: 'pe2', n: 3, srgb: 600000, ifs: [['c2', '10.0.2.2/30', 'p2p']], extra: srVpn(3, 1, 'b2', '10.12.0.1/24', 'fd00:12::1/64') },
];

/** From h1's eth0: broadcast MPLS frames (label, bottom of stack, TTL 64) around an ICMP echo request from 10.1.0.2 to `dst`. */
function sendLabelled(lab: NetnsLab, ns: string, label: number, dst: string, count: number): void {
  const py = `import socket,struct,sys,time
def csum(b):
  if len(b)%2: b+=b'\\0'
  s=sum(struct.unpack('!%dH'%(len(b)//2),b)); s=(s>>16)+(s&0xffff); s+=s>>16; return (~s)&0xffff
icmp=bytearray(struct.pack('!BBHHH',8,0,0,1,1)+b'sr-e2e'*8); struct.pack_into('!H',icmp,2,csum(bytes(icmp)))
ip=bytearray(struct.pack('!BBHHHBBH4s4s',0x45,0,20+len(icmp),1,0,64,1,0,socket.inet_aton('10.1.0.2'),socket.inet_aton(sys.argv[2])))
struct.pack_into('!H',ip,10,csum(bytes(ip)))
s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW); s.bind(('eth0',0))
mac=open('/sys/class/net/eth0/address').read().strip().replace(':','')
f=b'\\xff'*6+bytes.fromhex(mac)+b'\\x88\\x47'+struct.pack('!I',(int(sys.argv[1])<<12)|0x100|64)+bytes(ip)+bytes(icmp)
for i in range(int(sys.argv[3])):
  s.send(f); time.sleep(0.05)`;
  lab.run(ns, ['/usr/bin/python3', '-c', py, String(label), dst, String(count)]);
}

describe('IS-IS and SR across three cnr nodes, over the vRouter punt channel', { skip: skip || undefined, timeout: 120_000 }, () => {
  const lab = new NetnsLab('sre2e');
  const dir = mkdtempSync(join(tmpdir(), `cnr-sre2e-${process.pid}-`));
  const nodes = new Map<string, CnrNode>();
  const ns: Record<string, string> = {};
  let h1 = '';
  let hb = '';
  let h2 = '';
  let hr = '';

  before(async () => {
    for (const p of PLANS) ns[p.name] = lab.netns(p.name);
    lab.veth(ns['pe1']!, 'c1', ns['p']!, 'p1');
    lab.veth(ns['p']!, 'p2', ns['pe2']!, 'c2');
    h1 = lab.host(ns['pe1']!, { name: 'h1', routerIf: 'b1', addrs: ['10.1.0.2/24'], gw: ['10.1.0.1'] });
    hb = lab.host(ns['pe1']!, { name: 'hb', routerIf: 'v1', addrs: ['10.11.0.2/24', 'fd00:11::2/64'], gw: ['10.11.0.1', 'fd00:11::1'] });
    h2 = lab.host(ns['pe2']!, { name: 'h2', routerIf: 'b2', addrs: ['10.12.0.2/24', 'fd00:12::2/64'], gw: ['10.12.0.1', 'fd00:12::1'] });
    hr = lab.host(ns['pe1']!, { name: 'hr', routerIf: 'r1', addrs: ['10.13.0.2/24'], gw: ['10.13.0.1'] });
    for (const h of [hb, h2]) lab.run(h, ['sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=0']);
    for (const [node, dev] of [['pe1', 'v1'], ['pe2', 'b2'], ['pe1', 'r1']] as const) lab.run(ns[node]!, ['sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`], { allowFail: true });
    await startSrNodes(lab, dir, PLANS, ns, nodes);
  }, { timeout: 90_000 });

  after(() => stopSrNodes(nodes, lab, dir));

  test('adjacencies come up over the punt channel and SR labels reach every data plane', async () => {
    const p = nodes.get('p')!;
    const pe1 = nodes.get('pe1')!;
    await eventually('P has two adjacencies Up', 40_000, () => (p.cli('show isis adjacency').match(/\bUp\b/g) ?? []).length >= 2);
    await eventually('PE1 has a tunnel to PE2 in inet.3', 30_000, () => /10\.255\.0\.3\/32/.test(pe1.cli('show route table inet.3')));
    // PE1: PE2's SID (index 3) in its own SRGB, swapped for P's label (P's SRGB)
    await eventually('PE1 swaps 400003 for 500003', 20_000, () => /400003[\s\S]*?Swap 500003/.test(pe1.cli('show route table mpls.0')));
    // P: PE1's and PE2's SIDs popped (PHP: they are P's neighbours)
    const pm = p.cli('show route table mpls.0');
    assert.match(pm, /500001\s+\*\[L-ISIS\]\n\s+> to 10\.0\.1\.1 via p1, Pop/);
    assert.match(pm, /500003\s+\*\[L-ISIS\]\n\s+> to 10\.0\.2\.2 via p2, Pop/);
    assert.match(pe1.cli('show route table inet.3'), /10\.255\.0\.3\/32/);
  });

  test('a packet on PE2\'s node SID: PE1 swaps to P\'s label, P pops it (PHP) toward PE2', async () => {
    const onCore = await seenOn(ns['p']!, 'p1', 'mpls', () => sendLabelled(lab, h1, 400003, '10.0.2.2', 4));
    assert.ok(onCore.some((l) => l.startsWith('500003\t') && l.endsWith('10.0.2.2')), `PE1 -> P carries 500003: ${onCore.join(' | ')}`);
    // (captured where it arrives: a frame the vRouter sends bypasses the qdisc, and with it the sender's taps)
    const toPe2 = await seenOn(ns['pe2']!, 'c2', 'icmp', () => sendLabelled(lab, h1, 400003, '10.0.2.2', 4));
    assert.ok(toPe2.some((l) => l === '\t10.0.2.2'), `P -> PE2 is plain IPv4 (P popped the label): ${toPe2.join(' | ')}`);
  });

  test('the overlay: iBGP L3VPN between loopbacks over the SR tunnels, VRF blue hosts ping across P', async () => {
    const pe1 = nodes.get('pe1')!;
    const pe2 = nodes.get('pe2')!;
    await eventually('PE1 learns 10.12.0.0/24 into blue', 60_000, () => /10\.12\.0\.0\/24/.test(pe1.cli('show route table blue.inet.0')));
    await eventually('PE2 learns 10.11.0.0/24 into blue', 20_000, () => /10\.11\.0\.0\/24/.test(pe2.cli('show route table blue.inet.0')));
    const blue2 = (JSON.parse(pe2.cli('show route table mpls.0 | display json')) as { routes: { label: number; table?: string }[] }).routes.find((r) => r.table === 'blue.inet.0')!.label;
    await eventually('hb pings h2 across the SR core', 30_000, () => pingFrom(hb, '10.12.0.2'));
    assert.ok(pingFrom(h2, '10.11.0.2', 2), 'h2 pings hb');
    // PE1 -> P: P's label for PE2 (500003) over PE2's blue label; P -> PE2: the blue label alone (PHP)
    const core = await seenOn(ns['p']!, 'p1', 'mpls', () => void pingFrom(hb, '10.12.0.2', 3));
    assert.ok(core.some((l) => l.startsWith(`500003,${blue2}\t`) && l.endsWith('10.12.0.2')), `transport over service label on PE1 -> P: ${core.join(' | ')}`);
    const last = await seenOn(ns['pe2']!, 'c2', 'mpls', () => void pingFrom(hb, '10.12.0.2', 3));
    assert.ok(last.some((l) => l.startsWith(`${blue2}\t`) && l.endsWith('10.12.0.2')), `the service label alone on P -> PE2: ${last.join(' | ')}`);
    // IPv6 in blue: inet6-vpn routes with IPv4-mapped next hops over the same tunnels
    await eventually('PE1 learns fd00:12::/64 into blue.inet6.0', 20_000, () => /fd00:12::\/64/.test(pe1.cli('show route table blue.inet6.0')));
    await eventually('hb pings h2 over IPv6', 20_000, () => pingFrom(hb, 'fd00:12::2'));
    // red imports nothing of blue's
    assert.doesNotMatch(pe1.cli('show route table red.inet.0'), /10\.12\.0\.0/);
    assert.equal(pingFrom(hr, '10.12.0.2', 2), false, 'red reaches nothing of blue');
  });
});
