/**
 * Failover with BFD (issue 17): pings every 1 ms toward a prefix two BGP peers announce; the
 * preferred peer's link is cut (its port taken down); the figure is the outage, the longest
 * time without a reply, in ms: the packets 1,000 pps would lose (ping reaches 400-600 pps on
 * the loaded 2-core machine, so the packets it lost are printed beside, at its own rate). cnr (`cnr start`, vRouter with vhost0) with BFD at
 * 100 ms x 3, cnr without BFD (the BGP hold time, 9 s here, decides), and, as the same-run
 * reference, BIRD 2 with BFD at 100 ms x 3 routing in a kernel namespace (BGP into the kernel
 * FIB). >= 3 rounds each; min/median/max printed.
 *
 *   src1 ── [cnr vRouter] ──┬── sw1 (bridge) ── p1 (BIRD, AS 65001: the prefix, preferred)
 *   src2 ── [BIRD kernel] ──┤                    (the routers' ports on each bridge)
 *                           └── sw2 (bridge) ── p2 (BIRD, AS 65002: the prefix, AS path +1)
 *
 * Each peer hangs off a bridge (a switch), as in a fabric: taking the peer's port down is not
 * seen as a link down by the routers (their own ports stay up), so only BFD or the hold time
 * can tell. (On a direct veth the router's own port loses its carrier and the kernel and the
 * vRouter drop the next hop at once, BFD or not.) The prefix's address (198.51.86.1) is on
 * both peers' loopbacks, so pings are answered whichever way they go.
 * Knob: CNR_BENCH_BFD_ROUNDS (default 3).
 */
import type { BenchResult } from './types.js';
import { Lab, canBuildLabs } from '../test/interop/harness/lab.js';
import { Cnr, cnrAvailable } from '../test/interop/harness/cnr.js';
import { Bird, birdConfig } from '../test/interop/harness/bird.js';
import { must, waitFor } from '../test/interop/harness/proc.js';
import { Pinger } from '../test/lib/traffic.js';

const ROUNDS = Math.max(3, Number(process.env['CNR_BENCH_BFD_ROUNDS'] ?? 3));
const DEST = '198.51.86.1';
const PREFIX = '198.51.86.0/24';
const HOLD = 9;

interface Net {
  lab: Lab;
  cnr: Cnr;
  ref: Bird;
  /** each peer's one port, on its bridge */
  peers: { bird: Bird; ns: string; port: string }[];
  nsSrc1: string;
  nsSrc2: string;
}

function peerConfig(n: 1 | 2, bfdToCnr: boolean): string {
  const exp = n === 1 ? 'export where source = RTS_STATIC;' : 'export filter { if source = RTS_STATIC then { bgp_path.prepend(65002); accept; } reject; };';
  const common = ['connect retry time 1;', 'error wait time 1, 2;', `hold time ${HOLD};`, 'keepalive time 3;'];
  return birdConfig({
    asn: 65000 + n,
    routerId: `10.88.${n}.2`,
    static4: [{ prefix: PREFIX }],
    neighbors: [
      { name: 'cnr', address: `10.88.${n}.1`, asn: 65000, lines: [...common, ...(bfdToCnr ? ['bfd on;'] : [])], channels: `ipv4 { import none; ${exp} };` },
      { name: 'ref', address: `10.89.${n}.1`, asn: 65100, lines: [...common, 'bfd on;'], channels: `ipv4 { import none; ${exp} };` },
    ],
    extra: 'protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }',
  });
}

async function build(): Promise<Net> {
  const lab = new Lab('bfdb');
  const nsCnr = lab.ns('cnr');
  const nsRef = lab.ns('ref');
  const nsSrc1 = lab.ns('src1');
  const nsSrc2 = lab.ns('src2');
  const src1 = lab.link(nsCnr, nsSrc1, { b4: '10.86.0.2/24' });
  lab.link(nsRef, nsSrc2, { a4: '10.87.0.1/24', b4: '10.87.0.2/24' });
  lab.exec(nsSrc1, 'ip', ['route', 'add', 'default', 'via', '10.86.0.1']);
  lab.exec(nsSrc2, 'ip', ['route', 'add', 'default', 'via', '10.87.0.1']);
  const fabric: string[] = [];
  const peers: Net['peers'] = [];
  for (const n of [1, 2] as const) {
    const ns = lab.ns(`p${n}`);
    const sw = lab.ns(`sw${n}`);
    const c = lab.link(nsCnr, sw, {});
    const r = lab.link(nsRef, sw, { a4: `10.89.${n}.1/24` });
    const p = lab.link(ns, sw, { a4: `10.88.${n}.2/24` });
    must('ip', ['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    for (const port of [c.ifB, r.ifB, p.ifB]) must('ip', ['-n', sw, 'link', 'set', port, 'master', 'br0']);
    must('ip', ['-n', sw, 'link', 'set', 'br0', 'up']);
    fabric.push(c.ifA);
    lab.exec(ns, 'ip', ['addr', 'add', `10.89.${n}.2/24`, 'dev', p.ifA]);
    lab.exec(ns, 'ip', ['addr', 'add', `${DEST}/32`, 'dev', 'lo']);
    lab.exec(ns, 'ip', ['route', 'add', '10.86.0.0/24', 'via', `10.88.${n}.1`]);
    lab.exec(ns, 'ip', ['route', 'add', '10.87.0.0/24', 'via', `10.89.${n}.1`]);
    peers.push({ bird: await Bird.start(lab, ns, `p${n}`, peerConfig(n, true)), ns, port: p.ifA });
  }
  const ref = await Bird.start(lab, nsRef, 'ref', birdConfig({
    asn: 65100,
    routerId: '10.89.255.1',
    kernel: true,
    neighbors: [1, 2].map((n) => ({ name: `p${n}`, address: `10.89.${n}.2`, asn: 65000 + n, lines: ['bfd on;', 'connect retry time 1;', 'error wait time 1, 2;', `hold time ${HOLD};`, 'keepalive time 3;'], channels: 'ipv4 { import all; export none; };' })),
    extra: 'protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }',
  }));
  const cnr = await Cnr.start(lab, nsCnr, 'r', {
    asn: 65000,
    routerId: '10.88.255.1',
    interfaces: [
      { name: src1.ifA, addresses: ['10.86.0.1/24'] },
      { name: fabric[0]!, addresses: ['10.88.1.1/24'] },
      { name: fabric[1]!, addresses: ['10.88.2.1/24'] },
    ],
    neighbors: [1, 2].map((n) => ({ address: `10.88.${n}.2`, asn: 65000 + n, families: ['inet' as const], import: ['ALL'], exportNothing: true, extra: [`hold-time ${HOLD}`] })),
    extra: ['set policy-options policy-statement ALL then accept'],
  }, 60_000, { vrouter: true, vhost: true, introspect: '127.0.0.1:18485' });
  return { lab, cnr, ref, peers, nsSrc1, nsSrc2 };
}

async function setCnrBfd(net: Net, on: boolean): Promise<void> {
  const lines = [1, 2].map((n) => `protocols bgp group as${65000 + n} bfd-liveness-detection minimum-interval 100 multiplier 3`);
  await net.cnr.configure(on ? lines.map((l) => `set ${l}`) : [1, 2].map((n) => `delete protocols bgp group as${65000 + n} bfd-liveness-detection`));
  for (const [i, p] of net.peers.entries()) p.bird.reconfigure(peerConfig((i + 1) as 1 | 2, on));
}

/** Both of a router's sessions up again and traffic through p1 (the pings answered). */
async function settled(net: Net, which: 'cnr' | 'ref', bfd: boolean): Promise<void> {
  await waitFor(`${which}: both BGP sessions back`, async () => {
    if (which === 'ref') return /Established[\s\S]*Established/.test(net.ref.birdc('show', 'protocols'));
    for (const n of [1, 2]) if ((await net.cnr.neighborState(`10.88.${n}.2`)) !== 'Established') return false;
    return !bfd || ((await net.cnr.json<{ sessions: { state: string }[] }>('show bfd session')).sessions.filter((s) => s.state === 'Up').length === 2);
  }, 60_000, 250);
  // the preferred path (p1, the shorter AS path) in use again, and given a moment to settle
  await new Promise((r) => setTimeout(r, 2000));
}

/** One cut: the outage (ms without a reply) and the packets ping lost at the rate it reached. */
async function lossOnce(net: Net, which: 'cnr' | 'ref', seconds: number): Promise<{ outageMs: number; lost: number; pps: number }> {
  const p1 = net.peers[0]!;
  const pinger = new Pinger(which === 'cnr' ? net.nsSrc1 : net.nsSrc2, DEST, 10_000_000, 0.001);
  await new Promise((r) => setTimeout(r, 1000));
  must('ip', ['-n', p1.ns, 'link', 'set', p1.port, 'down']);
  // stopped after `seconds` in all: ping's summary counts what it sent meanwhile
  const tally = await pinger.finish(seconds * 1000);
  must('ip', ['-n', p1.ns, 'link', 'set', p1.port, 'up']);
  return { outageMs: Math.round(tally.maxGapMs), lost: tally.transmitted - tally.received, pps: Math.round(tally.transmitted / seconds) };
}

function stats(xs: number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s[s.length - 1]! };
}

export async function run(): Promise<BenchResult[]> {
  if (!canBuildLabs()) {
    console.log('bfd-failover: skipped (needs root for network namespaces)');
    return [];
  }
  if (!cnrAvailable()) {
    console.log('bfd-failover: skipped (cnr is not built)');
    return [];
  }
  const net = await build();
  const withBfd: number[] = [];
  const without: number[] = [];
  const ref: number[] = [];
  const show = (x: { outageMs: number; lost: number; pps: number }) => `${x.outageMs} ms (${x.lost} lost at ${x.pps} pps)`;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      await setCnrBfd(net, true);
      await settled(net, 'cnr', true);
      const w = await lossOnce(net, 'cnr', 4);
      await settled(net, 'ref', true);
      const r = await lossOnce(net, 'ref', 4);
      await setCnrBfd(net, false);
      await settled(net, 'cnr', false);
      const n = await lossOnce(net, 'cnr', HOLD + 4);
      withBfd.push(w.outageMs);
      ref.push(r.outageMs);
      without.push(n.outageMs);
      console.log(`  round ${round}: outage — cnr with BFD ${show(w)}, BIRD + kernel with BFD ${show(r)}, cnr without BFD (hold time ${HOLD} s) ${show(n)}`);
    }
  } finally {
    await net.lab.close();
  }
  const w = stats(withBfd);
  const r = stats(ref);
  const n = stats(without);
  const fmt = (s: { min: number; median: number; max: number }) => `min ${s.min}, median ${s.median}, max ${s.max}`;
  return [
    {
      name: 'outage on a link cut (ms = packets lost at 1,000 pps), BFD 100 ms x 3 (lower is better)',
      value: w.median,
      unit: 'ms',
      reference: { name: 'BIRD 2 + BFD into the kernel FIB', value: r.median },
      ratio: r.median > 0 ? w.median / r.median : undefined,
      notes: `cnr ${fmt(w)}; reference ${fmt(r)}; ${ROUNDS} rounds`,
    },
    {
      name: `outage on a link cut (ms = packets lost at 1,000 pps), no BFD (hold time ${HOLD} s)`,
      value: n.median,
      unit: 'ms',
      reference: { name: 'cnr with BFD 100 ms x 3, same run', value: w.median },
      ratio: w.median > 0 ? n.median / w.median : undefined,
      notes: `${fmt(n)}; ${ROUNDS} rounds`,
    },
  ];
}
