/**
 * Failover with BFD (issue 17): numbered UDP datagrams at 1,000 pps toward a prefix two BGP
 * peers announce; the port of the peer in use is taken down; the figure is the datagrams
 * nobody received (= ms of outage at 1,000 pps). Routers under test, in turn within a round,
 * on the same peers: cnr (`cnr start`: vRouter, vhost0, BFD in the vRouter) with BFD at
 * 100 ms x 3; BIRD 2 with BFD at 100 ms x 3 routing in a kernel namespace (BGP into the kernel
 * FIB: the same-run reference); cnr without BFD, where the BGP hold time decides (Junos's
 * default 90 s, as cnr's; CNR_BENCH_BFD_HOLD shortens it for a quick look, and the figure's
 * name then says so).
 *
 *   src1 ── [cnr vRouter] ──┬── br1 ── p1 (BIRD, AS 65001: the prefix)
 *   src2 ── [BIRD kernel] ──┤          (both routers' ports and the peer's port on each bridge)
 *                           └── br2 ── p2 (BIRD, AS 65002: the prefix, AS path one longer)
 *
 * What the figure is made to measure (the withdrawn draft of session 5 did not; docs/bfd.md):
 * - each peer hangs off a bridge, as behind a switch: the peer's port going down is no carrier
 *   loss on the routers' ports, so only BFD or the hold time can tell (on a direct veth the
 *   router drops the next hop at the carrier loss, BFD or not);
 * - the path in use is fixed (p2 prepends its AS, so p1 is best on both routers) and checked
 *   from the datagrams: each peer runs a receiver (the prefix's address is on both peers' lo),
 *   so every number is known to have gone via p1, via p2, or nowhere;
 * - a cut counts only when all the loss is one run starting at the cut, nothing was lost and
 *   nothing reached p2 before it, nothing reached p1 after the failover (bench/lib/seq-udp.ts
 *   analyseFailover); a cut that fails that is printed with the reason and run again (twice at
 *   most), so a loss from elsewhere (a bridge, a stray route) cannot pass as a failover;
 * - ARP is not part of it: just before each cut the source pings p2 through the router under
 *   test, so the router holds p2's MAC (it does anyway: BGP to p2 runs through it);
 * - numbers, not ping: the sender keeps 1,000 pps whatever the path does (ping slows down
 *   while its probes go unanswered).
 * Per cut also printed: where the outage began and the first datagram at p2, relative to the
 * cut, in ms. Knobs: BENCH_ROUNDS (>= 3), CNR_BENCH_BFD_HOLD (90), CNR_BENCH_BFD_CASES
 * ("cnr-bfd,bird-bfd,cnr-hold").
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './types.js';
import { figure, ROUNDS } from './lib/stats.js';
import { writeResultsFile } from './lib/machine.js';
import { analyseFailover, type FailoverResult, type Ranges } from './lib/seq-udp.js';
import { Lab, canBuildLabs } from '../test/interop/harness/lab.js';
import { Cnr, cnrAvailable } from '../test/interop/harness/cnr.js';
import { Bird, birdConfig } from '../test/interop/harness/bird.js';
import { must, run as runCmd, sleep, waitFor, type Daemon } from '../test/interop/harness/proc.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const seqUdp = join(here, 'lib', 'seq-udp.js');

const RATE = 1000;
const PORT = 9099;
const DEST = '198.51.86.1';
const PREFIX = '198.51.86.0/24';
const HOLD = Number(process.env['CNR_BENCH_BFD_HOLD'] ?? 90);
const CASES = (process.env['CNR_BENCH_BFD_CASES'] ?? 'cnr-bfd,bird-bfd,cnr-hold').split(',');
const BFD_LINE = 'bfd-liveness-detection minimum-interval 100 multiplier 3';
const BIRD_BFD = 'protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }';
/** quick reconnection after the port comes back (not the failure detection: that is BFD or the hold time) */
const BIRD_RETRY = ['connect retry time 1;', 'error wait time 1, 2;'];

type Case = 'cnr-bfd' | 'bird-bfd' | 'cnr-hold';

interface Net {
  lab: Lab;
  cnr: Cnr;
  ref: Bird;
  peers: { bird: Bird; ns: string; port: string }[];
  nsSrc: { cnr: string; ref: string };
  cnrBfd: boolean;
}

function peerConfig(n: 1 | 2): string {
  const exp = n === 1 ? 'export where source = RTS_STATIC;' : 'export filter { if source = RTS_STATIC then { bgp_path.prepend(65002); accept; } reject; };';
  return birdConfig({
    asn: 65000 + n,
    routerId: `10.88.${n}.2`,
    static4: [{ prefix: PREFIX }],
    neighbors: [
      { name: 'cnr', address: `10.88.${n}.1`, asn: 65000, lines: [...BIRD_RETRY, 'bfd on;'], channels: `ipv4 { import none; ${exp} };` },
      { name: 'ref', address: `10.89.${n}.1`, asn: 65100, lines: [...BIRD_RETRY, 'bfd on;'], channels: `ipv4 { import none; ${exp} };` },
    ],
    extra: BIRD_BFD,
  });
}

async function build(): Promise<Net> {
  const lab = new Lab('bfdf');
  const nsCnr = lab.ns('cnr');
  const nsRef = lab.ns('ref');
  const nsSw = lab.ns('sw');
  const src1 = lab.ns('src1');
  const src2 = lab.ns('src2');
  const toSrc1 = lab.link(nsCnr, src1, { b4: '10.86.0.2/24' });
  lab.link(nsRef, src2, { a4: '10.87.0.1/24', b4: '10.87.0.2/24' });
  lab.exec(src1, 'ip', ['route', 'add', 'default', 'via', '10.86.0.1']);
  lab.exec(src2, 'ip', ['route', 'add', 'default', 'via', '10.87.0.1']);
  const fabric: string[] = [];
  const peers: Net['peers'] = [];
  for (const n of [1, 2] as const) {
    const ns = lab.ns(`p${n}`);
    const br = `br${n}`;
    must('ip', ['-n', nsSw, 'link', 'add', br, 'type', 'bridge']);
    const c = lab.link(nsCnr, nsSw, {});
    const r = lab.link(nsRef, nsSw, { a4: `10.89.${n}.1/24` });
    const p = lab.link(ns, nsSw, { a4: `10.88.${n}.2/24` });
    for (const port of [c.ifB, r.ifB, p.ifB]) must('ip', ['-n', nsSw, 'link', 'set', port, 'master', br]);
    must('ip', ['-n', nsSw, 'link', 'set', br, 'up']);
    fabric.push(c.ifA);
    lab.exec(ns, 'ip', ['addr', 'add', `10.89.${n}.2/24`, 'dev', p.ifA]);
    lab.exec(ns, 'ip', ['addr', 'add', `${DEST}/32`, 'dev', 'lo']);
    // only the warm-up pings need a way back
    lab.exec(ns, 'ip', ['route', 'add', '10.86.0.0/24', 'via', `10.88.${n}.1`]);
    lab.exec(ns, 'ip', ['route', 'add', '10.87.0.0/24', 'via', `10.89.${n}.1`]);
    peers.push({ bird: await Bird.start(lab, ns, `p${n}`, peerConfig(n)), ns, port: p.ifA });
  }
  const ref = await Bird.start(lab, nsRef, 'ref', birdConfig({
    asn: 65100,
    routerId: '10.89.255.1',
    kernel: true,
    neighbors: [1, 2].map((n) => ({ name: `p${n}`, address: `10.89.${n}.2`, asn: 65000 + n, lines: [...BIRD_RETRY, 'bfd on;'], channels: 'ipv4 { import all; export none; };' })),
    extra: BIRD_BFD,
  }));
  const cnr = await Cnr.start(lab, nsCnr, 'r', {
    asn: 65000,
    routerId: '10.88.255.1',
    interfaces: [
      { name: toSrc1.ifA, addresses: ['10.86.0.1/24'] },
      { name: fabric[0]!, addresses: ['10.88.1.1/24'] },
      { name: fabric[1]!, addresses: ['10.88.2.1/24'] },
    ],
    neighbors: [1, 2].map((n) => ({
      address: `10.88.${n}.2`,
      asn: 65000 + n,
      families: ['inet' as const],
      import: ['ALL'],
      exportNothing: true,
      extra: HOLD === 90 ? [] : [`hold-time ${HOLD}`],
    })),
    extra: ['set policy-options policy-statement ALL then accept', ...[1, 2].map((n) => `set protocols bgp group as${65000 + n} ${BFD_LINE}`)],
  }, 60_000, { vrouter: true, vhost: true, introspect: '127.0.0.1:18486' });
  return { lab, cnr, ref, peers, nsSrc: { cnr: src1, ref: src2 }, cnrBfd: true };
}

async function setCnrBfd(net: Net, on: boolean): Promise<void> {
  if (net.cnrBfd === on) return;
  const groups = [65001, 65002].map((a) => `protocols bgp group as${a}`);
  await net.cnr.configure(on ? groups.map((g) => `set ${g} ${BFD_LINE}`) : groups.map((g) => `delete ${g} bfd-liveness-detection`));
  net.cnrBfd = on;
}

/** Both sessions of the router up (with BFD Up where asked) and its best path via p1. */
async function settledNow(net: Net, c: Case): Promise<boolean> {
  if (c === 'bird-bfd') {
    if (net.ref.protocolState('p1') !== 'Established' || net.ref.protocolState('p2') !== 'Established') return false;
    if ((net.ref.birdc('show', 'bfd', 'sessions').match(/\bUp\b/g) ?? []).length < 2) return false;
    return runCmd('ip', ['-n', net.ref.ns, 'route', 'get', DEST]).stdout.includes('via 10.89.1.2');
  }
  for (const n of [1, 2]) if ((await net.cnr.neighborState(`10.88.${n}.2`)) !== 'Established') return false;
  const up = (await net.cnr.json<{ sessions: { state: string }[] }>('show bfd session')).sessions.filter((s) => s.state === 'Up').length;
  if (c === 'cnr-bfd' ? up < 2 : up > 0) return false;
  const best = await net.cnr.bgpRoute(PREFIX);
  return best?.active === true && best.asPath === '65001';
}

/**
 * Settled, and still so 3 s later (the FIB programmed, and no session about to drop: BIRD
 * closes its BGP session when cnr's BFD session for it goes AdminDown, a moment after cnr's BFD
 * is configured away).
 */
async function settle(net: Net, c: Case): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    await waitFor(`${c}: both sessions, BFD as asked and the best path via p1`, () => settledNow(net, c), Math.max(1000, deadline - Date.now()), 250);
    await sleep(3000);
    if (await settledNow(net, c)) return;
  }
}

function spawnSeq(net: Net, name: string, ns: string, args: string[]): Daemon {
  return net.lab.daemon(name, ns, process.execPath, [seqUdp, ...args], undefined, 'pipe');
}

/** Close a seq-udp process's stdin and read its one JSON line. */
async function report<T>(d: Daemon): Promise<T> {
  d.child.stdin!.end();
  const code = await Promise.race([d.exited, sleep(10_000).then(() => 'timeout')]);
  if (code !== 0) {
    await d.kill();
    throw new Error(`${d.name} ended with ${code}: ${d.output().slice(-500)}`);
  }
  const line = d.output().trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
  if (!line) throw new Error(`${d.name} reported nothing: ${d.output().slice(-500)}`);
  return JSON.parse(line) as T;
}

/** Whether the router under test still holds its BGP session with p1. */
async function p1Established(net: Net, c: Case): Promise<boolean> {
  if (c === 'bird-bfd') return net.ref.protocolState('p1') === 'Established';
  return (await net.cnr.neighborState('10.88.1.2')) === 'Established';
}

/** One cut: p1's port down while 1,000 pps flow, until the router has dropped p1 and 1.5 s more. */
async function cutOnce(net: Net, c: Case, attempt: number): Promise<FailoverResult> {
  const router = c === 'bird-bfd' ? 'ref' : 'cnr';
  const src = net.nsSrc[router];
  const p1 = net.peers[0]!;
  const tag = `${c}-${attempt}`;
  const recv = net.peers.map((p, i) => spawnSeq(net, `recv-p${i + 1}-${tag}`, p.ns, ['recv', DEST, String(PORT)]));
  let sender: Daemon | undefined;
  let cut = false;
  try {
    await waitFor('receivers bound', () => recv.every((r) => r.output().includes('ready')), 10_000, 50);
    // the router holds p2's MAC before the cut (ARP is not what is measured)
    runCmd('ip', ['netns', 'exec', src, 'ping', '-c', '2', '-i', '0.2', '-W', '1', router === 'cnr' ? '10.88.2.2' : '10.89.2.2'], 5000);
    sender = spawnSeq(net, `send-${tag}`, src, ['send', DEST, String(PORT), String(RATE)]);
    await sleep(1500);
    const cutMs = performance.timeOrigin + performance.now();
    must('ip', ['-n', p1.ns, 'link', 'set', p1.port, 'down']);
    const cutDoneMs = performance.timeOrigin + performance.now();
    cut = true;
    const limitMs = c === 'cnr-hold' ? HOLD * 1000 + 20_000 : 20_000;
    await waitFor(`${c}: the router drops p1`, async () => !(await p1Established(net, c)), limitMs, 100);
    await sleep(1500);
    const s = await report<{ sent: number; startMs: number }>(sender);
    sender = undefined;
    await sleep(300);
    const [before, after] = await Promise.all(recv.map((r) => report<{ ranges: Ranges }>(r)));
    const seqAt = (ms: number) => Math.round(((ms - s.startMs) * RATE) / 1000);
    return analyseFailover({ sent: s.sent, cutSeq: seqAt(cutMs), cutDoneSeq: seqAt(cutDoneMs), before: before!.ranges, after: after!.ranges });
  } finally {
    if (sender) await sender.stop();
    for (const r of recv) await r.stop();
    if (cut) must('ip', ['-n', p1.ns, 'link', 'set', p1.port, 'up']);
  }
}

async function measure(net: Net, c: Case, round: number): Promise<number> {
  await setCnrBfd(net, c === 'cnr-bfd');
  for (let attempt = 1; attempt <= 3; attempt++) {
    await settle(net, c);
    const r = await cutOnce(net, c, attempt);
    const line = `lost ${r.lost} (outage ${r.longestOutage} ms from ${r.outageStartFromCut} ms after the cut; first datagram via p2 ${r.firstAfterFromCut} ms after it)`;
    if (!r.invalid) {
      console.log(`  round ${round} ${c}: ${line}`);
      return r.lost;
    }
    console.log(`  round ${round} ${c}, attempt ${attempt}: not a clean failover, run again — ${r.invalid}; ${line}`);
  }
  return Number.NaN;
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
  if (runCmd('which', ['bird']).code !== 0) {
    console.log('bfd-failover: skipped (BIRD is not installed: apt-get install bird2)');
    return [];
  }
  const net = await build();
  const lost: Record<Case, number[]> = { 'cnr-bfd': [], 'bird-bfd': [], 'cnr-hold': [] };
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const c of ['cnr-bfd', 'bird-bfd', 'cnr-hold'] as const) {
        if (CASES.includes(c)) lost[c].push(await measure(net, c, round));
      }
    }
  } finally {
    await net.lab.close();
  }
  const results: BenchResult[] = [];
  const unit = 'datagrams (= ms)';
  const holdNote = HOLD === 90 ? 'hold time 90 s (the Junos default, cnr\'s default)' : `hold time ${HOLD} s (CNR_BENCH_BFD_HOLD; the default is 90 s)`;
  if (lost['cnr-bfd'].length) {
    results.push(figure({
      name: 'lost at 1,000 pps when the peer in use loses its port (behind a bridge), cnr with BFD 100 ms x 3',
      unit,
      values: lost['cnr-bfd'],
      ...(lost['bird-bfd'].length ? { reference: { name: 'BIRD 2 + BFD 100 ms x 3 into the kernel FIB, same peers', values: lost['bird-bfd'] }, direction: 'ref/value' as const } : {}),
      notes: 'lower is better; only clean failovers counted (all loss one run from the cut)',
    }));
  }
  if (lost['cnr-hold'].length) {
    results.push(figure({
      name: `the same without BFD: cnr, ${holdNote}`,
      unit,
      values: lost['cnr-hold'],
      ...(lost['cnr-bfd'].length ? { reference: { name: 'cnr with BFD 100 ms x 3, same rounds', values: lost['cnr-bfd'] }, direction: 'value/ref' as const } : {}),
      notes: 'ratio = without BFD / with BFD: how many times more is lost without it',
    }));
  }
  const file = writeResultsFile(repo, 'bfd-failover-', { rate: RATE, holdSeconds: HOLD, lost, results });
  console.log(`bfd-failover: written to ${file}`);
  return results;
}
