/**
 * ECMP and failover over SR tunnels: four cnr nodes (`cnr start` each) in a square, IS-IS
 * with segment routing over the vRouter's punt channel, iBGP L3VPN between the PEs'
 * loopbacks, a VRF blue host behind each PE:
 *
 *              ┌ c1 ══ p1 ─ P1 ─ p2 ══ c2 ┐
 *   hb ─ v1 ─ PE1                        PE2 ─ b2 ─ h2
 *              └ d1 ══ q1 ─ P2 ─ q2 ══ d2 ┘
 *   SRGBs: PE1 400000, P1 500000, PE2 600000, P2 700000; node SID index n of 10.255.0.n
 *
 * PE1's tunnel to PE2 in inet.3 has both equal paths, each with its own P's label for PE2
 * (500003, 700003); the VPN route uses both, and flows spread over them. Then the link a
 * UDP flow of 1,000 datagrams a second takes is cut: IS-IS (1 s hellos, 3 s hold time, no
 * BFD) moves the traffic to the other path; the test prints how many datagrams were lost.
 * Needs the IS-IS protocol (src/controller/protocols/isis): skips where it is not in the tree.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsLab } from '../lib/netns.js';
import { eventually, pingFrom, type CnrNode } from '../lib/cnr-node.js';
import { seenOn, srSkip, startCapture, srVpn, startSrNodes, stopSrNodes, type SrNodePlan } from '../lib/sr-lab.js';

const skip = srSkip('sr-square-e2e');

const PLANS: SrNodePlan[] = [
  { name: 'pe1', n: 1, srgb: 400000, ifs: [['c1', '10.0.1.1/30', 'p2p'], ['d1', '10.0.3.1/30', 'p2p']], extra: srVpn(1, 3, 'v1', '10.11.0.1/24', 'fd00:11::1/64') },
  { name: 'p1', n: 2, srgb: 500000, ifs: [['p1', '10.0.1.2/30', 'p2p'], ['p2', '10.0.2.1/30', 'p2p']] },
  { name: 'p2', n: 4, srgb: 700000, ifs: [['q1', '10.0.3.2/30', 'p2p'], ['q2', '10.0.4.1/30', 'p2p']] },
  { name: 'pe2', n: 3, srgb: 600000, ifs: [['c2', '10.0.2.2/30', 'p2p'], ['d2', '10.0.4.2/30', 'p2p']], extra: srVpn(3, 1, 'b2', '10.12.0.1/24', 'fd00:12::1/64') },
];

/** UDP datagrams from hb to h2, one per source port (each its own flow). */
function udpFlows(lab: NetnsLab, ns: string, ports: number): void {
  const py = `import socket,sys\nfor p in range(20000,20000+int(sys.argv[1])):\n  s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('10.11.0.2',p)); s.sendto(b'sr-square',('10.12.0.2',9)); s.close()`;
  lab.run(ns, ['/usr/bin/python3', '-c', py, String(ports)]);
}

/** One flow hb:5000 -> h2:5001 at 1,000 datagrams a second for argv[1] seconds (absolute schedule); prints how many it sent. */
const PACED_SENDER = `import socket,sys,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('10.11.0.2',5000))
n=0; t0=time.time(); end=t0+float(sys.argv[1])
while True:
  now=time.time()
  if now>=end: break
  due=t0+n/1000.0
  if due>now: time.sleep(due-now)
  s.sendto(b'%d'%n,('10.12.0.2',5001)); n+=1
print(n)`;

/** Counts datagrams to 10.12.0.2:5001 for argv[1] seconds and prints the count. */
const RECEIVER = `import socket,sys,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('10.12.0.2',5001)); s.settimeout(0.2)
n=0; end=time.time()+float(sys.argv[1])
while time.time()<end:
  try: s.recv(64); n+=1
  except socket.timeout: pass
print(n)`;

describe('SR ECMP and failover in a square of cnr nodes', { skip: skip || undefined, timeout: 150_000 }, () => {
  const lab = new NetnsLab('srsq');
  const dir = mkdtempSync(join(tmpdir(), `cnr-srsq-${process.pid}-`));
  const nodes = new Map<string, CnrNode>();
  const ns: Record<string, string> = {};
  let hb = '';
  let h2 = '';

  before(async () => {
    for (const p of PLANS) ns[p.name] = lab.netns(p.name);
    lab.veth(ns['pe1']!, 'c1', ns['p1']!, 'p1');
    lab.veth(ns['p1']!, 'p2', ns['pe2']!, 'c2');
    lab.veth(ns['pe1']!, 'd1', ns['p2']!, 'q1');
    lab.veth(ns['p2']!, 'q2', ns['pe2']!, 'd2');
    hb = lab.host(ns['pe1']!, { name: 'hb', routerIf: 'v1', addrs: ['10.11.0.2/24'], gw: ['10.11.0.1'] });
    h2 = lab.host(ns['pe2']!, { name: 'h2', routerIf: 'b2', addrs: ['10.12.0.2/24'], gw: ['10.12.0.1'] });
    for (const [node, dev] of [['pe1', 'v1'], ['pe2', 'b2']] as const) lab.run(ns[node]!, ['sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`], { allowFail: true });
    await startSrNodes(lab, dir, PLANS, ns, nodes);
  }, { timeout: 90_000 });

  after(() => stopSrNodes(nodes, lab, dir));

  test('two equal SR paths: the tunnel, the VPN route and the traffic use both', async () => {
    const pe1 = nodes.get('pe1')!;
    await eventually('PE1 tunnel to PE2 over both Ps', 40_000, () => {
      const t = pe1.cli('show route table inet.3 10.255.0.3/32');
      return /500003/.test(t) && /700003/.test(t);
    });
    await eventually('PE1 learns 10.12.0.0/24 into blue', 60_000, () => /10\.12\.0\.0\/24/.test(pe1.cli('show route table blue.inet.0')));
    await eventually('hb reaches h2', 30_000, () => pingFrom(hb, '10.12.0.2'));
    const ft = pe1.cli('show route forwarding-table table blue.inet.0');
    assert.match(ft, /10\.12\.0\.0\/24\s+\d+\s+ecmp \[.*push 500003 \d+.*push 700003 \d+|10\.12\.0\.0\/24\s+\d+\s+ecmp \[.*push 700003 \d+.*push 500003 \d+/, ft);
    // 64 UDP flows: both Ps carry some
    // both captures running before the flows go (tshark can take seconds to start under load)
    const caps = [startCapture(ns['p1']!, 'p1', 'mpls', 1000), startCapture(ns['p2']!, 'q1', 'mpls', 1000)];
    await Promise.all(caps.map((c) => c.ready));
    await new Promise((r) => setTimeout(r, 500));
    udpFlows(lab, hb, 64);
    await new Promise((r) => setTimeout(r, 2000));
    for (const c of caps) c.stop();
    const [a, b] = await Promise.all(caps.map((c) => c.lines));
    assert.ok(a.length > 0 && b.length > 0, `flows over both paths (P1 ${a.length}, P2 ${b.length})`);
    assert.equal(a.length + b.length >= 64, true, `every flow crossed (P1 ${a.length}, P2 ${b.length})`);
  });

  test('cutting the link the traffic takes: IS-IS moves it to the other path', async () => {
    // one UDP flow (fixed ports), paced at 1,000 datagrams a second for 8 s; h2 counts what arrives
    const flow = (seconds: number) => lab.spawn(hb, ['/usr/bin/python3', '-c', PACED_SENDER, String(seconds)]);
    let probe: ReturnType<typeof flow> | undefined;
    const onP1 = await seenOn(ns['p1']!, 'p1', 'mpls', () => void (probe = flow(0.3)), 1, 4);
    const [cutNs, cutIf] = onP1.length > 0 ? [ns['p1']!, 'p1'] : [ns['p2']!, 'q1'];
    // the probe's datagrams must not reach the receiver's count
    if (probe && probe.exitCode === null) await new Promise<void>((r) => probe!.once('exit', () => r()));
    const receiver = lab.spawn(h2, ['/usr/bin/python3', '-c', RECEIVER, '11']);
    let got = '';
    receiver.stdout!.on('data', (d: Buffer) => (got += d.toString()));
    await new Promise((r) => setTimeout(r, 500));
    const sender = flow(8);
    let sent = '';
    sender.stdout!.on('data', (d: Buffer) => (sent += d.toString()));
    await new Promise((r) => setTimeout(r, 2000));
    lab.run(cutNs, ['ip', 'link', 'set', cutIf, 'down']);
    await Promise.all([sender, receiver].map((c) => new Promise<void>((r) => (c.exitCode !== null ? r() : c.once('exit', () => r())))));
    const [nSent, nGot] = [Number(sent.trim()), Number(got.trim())];
    assert.ok(nSent > 7000, `the sender kept its pace: ${sent}`);
    const lost = nSent - nGot;
    console.log(`# sr-square-e2e: cut ${cutIf}: ${lost} of ${nSent} datagrams lost at 1,000/s (${(lost / 1000).toFixed(1)} s without forwarding; carrier loss reported by the vRouter, IS-IS hold time 3 s, no BFD)`);
    assert.ok(nGot > nSent / 2, `traffic resumed over the other path (${nGot} of ${nSent} arrived)`);
    // the vRouters report the carrier loss at once, so the cut may cost nearly nothing: what shows
    // that the path was cut is the flow crossing the other P afterwards
    const [otherNs, otherIf] = cutIf === 'p1' ? [ns['p2']!, 'q1'] : [ns['p1']!, 'p1'];
    const after = await seenOn(otherNs, otherIf, 'mpls', () => void flow(0.3), 1, 4);
    assert.ok(after.length > 0, `after the cut of ${cutIf} the flow crosses the other P (${otherIf})`);
    assert.ok(pingFrom(hb, '10.12.0.2', 3), 'hb still reaches h2 after the cut');
  });
});
