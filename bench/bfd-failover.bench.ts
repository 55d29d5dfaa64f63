/**
 * Failover with BFD (issue 17): traffic at 1,000 pps toward a prefix two BGP peers announce;
 * the preferred peer's link is cut (its port taken down); the figure is the packets lost until
 * traffic flows through the other peer. cnr (`cnr start`, vRouter with vhost0) with BFD at
 * 100 ms x 3, cnr without BFD (the BGP hold time, 9 s here, decides), and, as the same-run
 * reference, BIRD 2 with BFD at 100 ms x 3 routing in a kernel namespace (BGP into the kernel
 * FIB). >= 3 rounds each; min/median/max printed.
 *
 *   src1 ── [cnr vRouter] ──┬── p1 (BIRD, AS 65001: the prefix, preferred) ──┬── [BIRD kernel router] ── src2
 *                           └── p2 (BIRD, AS 65002: the prefix, AS path +1) ─┘
 *
 * The prefix's address (198.51.86.1) is on both peers' loopbacks, so pings are answered
 * whichever way they go. Knob: CNR_BENCH_BFD_ROUNDS (default 3).
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
  peers: { bird: Bird; ns: string; toCnr: string; toRef: string }[];
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
    const c = lab.link(nsCnr, ns, { b4: `10.88.${n}.2/24` });
    const r = lab.link(nsRef, ns, { a4: `10.89.${n}.1/24`, b4: `10.89.${n}.2/24` });
    fabric.push(c.ifA);
    lab.exec(ns, 'ip', ['addr', 'add', `${DEST}/32`, 'dev', 'lo']);
    lab.exec(ns, 'ip', ['route', 'add', '10.86.0.0/24', 'via', `10.88.${n}.1`]);
    lab.exec(ns, 'ip', ['route', 'add', '10.87.0.0/24', 'via', `10.89.${n}.1`]);
    peers.push({ bird: await Bird.start(lab, ns, `p${n}`, peerConfig(n, true)), ns, toCnr: c.ifB, toRef: r.ifB });
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

async function lossOnce(net: Net, which: 'cnr' | 'ref', seconds: number): Promise<number> {
  const p1 = net.peers[0]!;
  const port = which === 'cnr' ? p1.toCnr : p1.toRef;
  const pinger = new Pinger(which === 'cnr' ? net.nsSrc1 : net.nsSrc2, DEST, seconds * 1000, 0.001);
  await new Promise((r) => setTimeout(r, 1000));
  must('ip', ['-n', p1.ns, 'link', 'set', port, 'down']);
  const tally = await pinger.finish(seconds * 1000 + 10_000);
  must('ip', ['-n', p1.ns, 'link', 'set', port, 'up']);
  return tally.transmitted - tally.received;
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
  try {
    for (let round = 0; round < ROUNDS; round++) {
      await setCnrBfd(net, true);
      await settled(net, 'cnr', true);
      withBfd.push(await lossOnce(net, 'cnr', 4));
      await settled(net, 'ref', true);
      ref.push(await lossOnce(net, 'ref', 4));
      await setCnrBfd(net, false);
      await settled(net, 'cnr', false);
      without.push(await lossOnce(net, 'cnr', HOLD + 4));
      console.log(`  round ${round}: lost at 1,000 pps — cnr with BFD ${withBfd.at(-1)}, BIRD + kernel with BFD ${ref.at(-1)}, cnr without BFD (hold time ${HOLD} s) ${without.at(-1)}`);
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
      name: 'packets lost at 1,000 pps on a link cut, BFD 100 ms x 3 (lower is better)',
      value: w.median,
      unit: 'packets',
      reference: { name: 'BIRD 2 + BFD into the kernel FIB', value: r.median },
      ratio: r.median > 0 ? w.median / r.median : undefined,
      notes: `cnr ${fmt(w)}; reference ${fmt(r)}; ${ROUNDS} rounds`,
    },
    {
      name: `packets lost at 1,000 pps on a link cut, no BFD (hold time ${HOLD} s)`,
      value: n.median,
      unit: 'packets',
      reference: { name: 'cnr with BFD 100 ms x 3, same run', value: w.median },
      ratio: w.median > 0 ? n.median / w.median : undefined,
      notes: `${fmt(n)}; ${ROUNDS} rounds`,
    },
  ];
}
