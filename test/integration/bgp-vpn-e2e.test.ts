/**
 * L3VPN with real packets: two cnr routers (`cnr start`, vRouter on AF_PACKET, BGP over
 * vhost0) as PEs with an iBGP inet-vpn session across a core veth, each with a host in VRF
 * blue, and PE1 with a host in VRF red:
 *
 *   h1 (10.1.0.2) ─ b1 ┐                            ┌ b2 ─ h2 (10.2.0.2)
 *                      PE1 ── c1 ═══ core ═══ c2 ── PE2
 *   hr (10.3.0.2) ─ r1 ┘  10.0.12.1/30   10.0.12.2/30
 *
 * h1 and h2 ping each other across the core; the frames on the core carry an MPLS label,
 * the receiving PE's blue label from its mpls.0; hr (red) reaches neither blue host; the
 * PEs answer pings to their blue addresses; then both PEs switch to MPLS over UDP and blue
 * still crosses the core (UDP 6635, decapsulated by the receiving PE's data plane).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsLab, needsRoot } from '../lib/netns.js';
import { CnrNode, eventually, pingFrom } from '../lib/cnr-node.js';

const skip = needsRoot();
if (skip) console.log(`# bgp-vpn-e2e skipped: ${skip}`);

function peConfig(n: 1 | 2, extra: string[]): string {
  const me = `10.0.12.${n}`;
  const peer = `10.0.12.${3 - n}`;
  return [
    `set system host-name pe${n}`,
    `set interfaces c${n} unit 0 family inet address ${me}/30`,
    `set interfaces b${n} unit 0 family inet address 10.${n}.0.1/24`,
    `set interfaces b${n} unit 0 family inet6 address fd00:${n}::1/64`,
    `set routing-options router-id 10.255.0.${n}`,
    'set routing-options autonomous-system 65000',
    'set protocols bgp group core type internal',
    `set protocols bgp group core local-address ${me}`,
    'set protocols bgp group core family inet-vpn unicast',
    'set protocols bgp group core family inet6-vpn unicast',
    `set protocols bgp group core neighbor ${peer}`,
    'set routing-instances blue instance-type vrf',
    `set routing-instances blue interface b${n}`,
    `set routing-instances blue route-distinguisher 10.255.0.${n}:1`,
    'set routing-instances blue vrf-target target:65000:1',
    ...extra,
  ].join('\n') + '\n';
}

const RED = [
  'set interfaces r1 unit 0 family inet address 10.3.0.1/24',
  'set routing-instances red instance-type vrf',
  'set routing-instances red interface r1',
  'set routing-instances red route-distinguisher 10.255.0.1:2',
  'set routing-instances red vrf-target target:65000:2',
];

/** MPLS labels seen on an interface while `during` runs (tshark, bounded); `udp`: MPLS over UDP 6635. */
async function labelsOn(ns: string, ifname: string, during: () => void, udp = false): Promise<string[]> {
  const filter = udp ? ['-f', 'udp dst port 6635', '-d', 'udp.port==6635,mpls'] : ['-f', 'mpls'];
  const t = spawn('ip', ['netns', 'exec', ns, 'timeout', '12', 'tshark', '-l', '-n', '-i', ifname, '-c', '3', ...filter, '-T', 'fields', '-e', 'mpls.label', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'udp.dstport'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  t.stdout.on('data', (d: Buffer) => (out += d.toString()));
  t.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // wait until tshark captures (or gives up), then send
  await eventually('tshark to start capturing', 10_000, () => /Capturing on|Capture started/.test(err) || t.exitCode !== null);
  await new Promise((r) => setTimeout(r, 500));
  during();
  await new Promise<void>((r) => (t.exitCode !== null ? r() : t.once('exit', () => r())));
  return out.split('\n').filter(Boolean);
}

describe('L3VPN end to end: two cnr PEs, MPLS over Ethernet, then over UDP, across the core', { skip: skip || undefined, timeout: 150_000 }, () => {
  const lab = new NetnsLab('vpe');
  const dir = mkdtempSync(join(tmpdir(), `cnr-vpe-${process.pid}-`));
  const nodes: CnrNode[] = [];
  let pe1 = '';
  let pe2 = '';
  let h1 = '';
  let h2 = '';
  let hr = '';

  before(async () => {
    pe1 = lab.netns('pe1');
    pe2 = lab.netns('pe2');
    h1 = lab.host(pe1, { name: 'h1', routerIf: 'b1', addrs: ['10.1.0.2/24', 'fd00:1::2/64'], gw: ['10.1.0.1', 'fd00:1::1'] });
    h2 = lab.host(pe2, { name: 'h2', routerIf: 'b2', addrs: ['10.2.0.2/24', 'fd00:2::2/64'], gw: ['10.2.0.1', 'fd00:2::1'] });
    hr = lab.host(pe1, { name: 'hr', routerIf: 'r1', addrs: ['10.3.0.2/24'], gw: ['10.3.0.1'] });
    lab.veth(pe1, 'c1', pe2, 'c2');
    // the hosts keep the kernel's default offloads (the vRouter segments their super-frames and
    // completes their checksums); the vRouter's own ports get no kernel IPv6
    for (const [ns, dev] of [[pe1, 'c1'], [pe2, 'c2'], [pe1, 'b1'], [pe2, 'b2'], [pe1, 'r1']] as const) lab.run(ns, ['sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`], { allowFail: true });
    for (const ns of [h1, h2]) lab.run(ns, ['sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=0']);
    for (const [n, ns, extra] of [[1, pe1, RED], [2, pe2, []]] as const) {
      const d = join(dir, `pe${n}`);
      const cfg = join(dir, `pe${n}.set`);
      writeFileSync(cfg, peConfig(n, [...extra]));
      mkdirSync(d, { recursive: true });
      const node = new CnrNode(ns, join(d, 'state'), cfg, d);
      nodes.push(node);
      await node.start();
      // the PE's own traffic (BGP) goes through the vRouter via vhost0: the core /30 is a
      // connected subnet, which the vRouter routes into vhost0 (dataplane/vhost-sync.ts)
      await eventually(`vhost0 in pe${n}`, 15_000, () => lab.run(ns, ['ip', 'link', 'show', 'vhost0'], { allowFail: true }).includes('vhost0'));
    }
  }, { timeout: 90_000 });

  after(async () => {
    if (process.env['CNR_E2E_DEBUG']) for (const n of nodes) console.log(n.logTail(6000));
    for (const n of nodes) await n.stop();
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the PEs exchange VPN routes over vhost0 and import them into blue', async () => {
    const [n1, n2] = nodes as [CnrNode, CnrNode];
    await eventually('PE1 learns 10.2.0.0/24 into blue', 45_000, () => /10\.2\.0\.0\/24/.test(n1.cli('show route table blue.inet.0')));
    await eventually('PE2 learns 10.1.0.0/24 into blue', 20_000, () => /10\.1\.0\.0\/24/.test(n2.cli('show route table blue.inet.0')));
    assert.doesNotMatch(n2.cli('show route table blue.inet.0'), /10\.3\.0\.0\/24/, "red's subnet is not in PE2's blue");
    assert.match(n1.cli('show route table mpls.0'), /Pop/);
  });

  test('blue hosts ping each other across the core; the core carries the receiving PE\'s VPN label', async () => {
    const [n1, n2] = nodes as [CnrNode, CnrNode];
    await eventually('h1 pings h2', 30_000, () => pingFrom(h1, '10.2.0.2'));
    assert.ok(pingFrom(h2, '10.1.0.2', 2), 'h2 pings h1');
    const mpls2 = JSON.parse(n2.cli('show route table mpls.0 | display json')) as { routes: { label: number; table: string }[] };
    const mpls1 = JSON.parse(n1.cli('show route table mpls.0 | display json')) as { routes: { label: number; table: string }[] };
    const blue2 = mpls2.routes.find((r) => r.table === 'blue.inet.0')!.label;
    const blue1 = mpls1.routes.find((r) => r.table === 'blue.inet.0')!.label;
    const seen = await labelsOn(pe1, 'c1', () => void pingFrom(h1, '10.2.0.2', 3));
    assert.ok(seen.length > 0, 'labeled frames on the core');
    assert.ok(seen.some((l) => l.startsWith(`${blue2}\t`) && l.includes('10.1.0.2') && l.includes('10.2.0.2')), `h1 -> h2 carries PE2's blue label ${blue2}: ${seen.join(' | ')}`);
    assert.ok(seen.some((l) => l.startsWith(`${blue1}\t`) && l.includes('10.2.0.2')), `h2 -> h1 replies carry PE1's blue label ${blue1}: ${seen.join(' | ')}`);
  });

  test('IPv6 too: inet6-vpn routes with IPv4-mapped next hops carry pings across the same core', async () => {
    const [n1] = nodes as [CnrNode, CnrNode];
    await eventually('PE1 learns fd00:2::/64 into blue.inet6.0', 30_000, () => /fd00:2::\/64/.test(n1.cli('show route table blue.inet6.0')));
    await eventually('h1 pings h2 over IPv6', 30_000, () => pingFrom(h1, 'fd00:2::2'));
    assert.ok(pingFrom(h2, 'fd00:1::2', 2), 'h2 pings h1 over IPv6');
  });

  test('red reaches no blue host', async () => {
    assert.ok(!pingFrom(hr, '10.2.0.2', 2), 'red -> remote blue host');
    assert.ok(!pingFrom(hr, '10.1.0.2', 2), 'red -> local blue host');
    assert.ok(!pingFrom(h1, '10.3.0.2', 2), 'blue -> red host');
    // the same PE still forwards blue: the failures above are the VRFs' separation
    assert.ok(pingFrom(h1, '10.2.0.2', 2), 'blue still works');
  });

  test('a PE answers pings to its own blue addresses (the data plane itself: the host stack has no VRFs)', async () => {
    assert.ok(pingFrom(h1, '10.1.0.1', 2), 'h1 -> its gateway on PE1');
    assert.ok(pingFrom(h1, 'fd00:1::1', 2), 'h1 -> its IPv6 gateway on PE1');
    // across the core: PE2's blue subnet is a VPN route at PE1, PE2 pops the label into blue and answers there
    await eventually('h1 pings PE2\'s blue gateway', 15_000, () => pingFrom(h1, '10.2.0.1'));
    assert.ok(!pingFrom(hr, '10.1.0.1', 1), 'red does not reach blue\'s gateway address');
  });

  test('vpn-encapsulation mpls-over-udp on both PEs: blue crosses the core in UDP 6635, decapsulated by the receiving PE', async () => {
    const [n1, n2] = nodes as [CnrNode, CnrNode];
    const mpls2 = JSON.parse(n2.cli('show route table mpls.0 | display json')) as { routes: { label: number; table: string }[] };
    const blue2 = mpls2.routes.find((r) => r.table === 'blue.inet.0')!.label;
    n1.cli('configure private; set protocols bgp group core vpn-encapsulation mpls-over-udp; commit'); // throws if the commit fails
    n2.cli('configure private; set protocols bgp group core vpn-encapsulation mpls-over-udp; commit');
    await eventually('PE1 reaches 10.2.0.0/24 over MPLSoUDP', 45_000, () => /MPLSoUDP from 10\.0\.12\.1, Push \d+/.test(n1.cli('show route table blue.inet.0 10.2.0.0/24')));
    await eventually('PE2 reaches 10.1.0.0/24 over MPLSoUDP', 45_000, () => /MPLSoUDP from 10\.0\.12\.2, Push \d+/.test(n2.cli('show route table blue.inet.0 10.1.0.0/24')));
    await eventually('h1 pings h2 over MPLSoUDP', 30_000, () => pingFrom(h1, '10.2.0.2'));
    assert.ok(pingFrom(h2, '10.1.0.2', 2), 'h2 pings h1 over MPLSoUDP');
    await eventually('h1 pings h2 over IPv6 and MPLSoUDP', 30_000, () => pingFrom(h1, 'fd00:2::2'));
    assert.ok(pingFrom(h1, '10.2.0.1', 2), 'h1 pings PE2\'s blue gateway over MPLSoUDP');
    // seen where it arrives: frames the vRouter sends with PACKET_QDISC_BYPASS can miss a capture on the sending side
    const seen = await labelsOn(pe2, 'c2', () => void pingFrom(h1, '10.2.0.2', 2), true);
    assert.ok(seen.some((l) => l.startsWith(`${blue2}\t`) && l.includes('10.0.12.1') && l.includes('10.0.12.2') && l.includes('10.1.0.2') && l.includes('6635')), `outer 10.0.12.1 -> 10.0.12.2 UDP 6635, label ${blue2}, inner from h1: ${seen.join(' | ')}`);
    assert.ok(!pingFrom(hr, '10.2.0.2', 2), 'red -> remote blue host');
    assert.ok(!pingFrom(hr, '10.1.0.2', 1), 'red -> local blue host');
  });
});
