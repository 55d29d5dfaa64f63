/**
 * BGP convergence (issue 16): with 1M IPv4 /28s from one eBGP injector installed in the
 * forwarding table and UDP flowing through the router to a sample of them, the injector
 * withdraws every prefix (case "withdraw") or drops the session (case "drop": Cease, then
 * close). Figures: the time from that moment until the forwarding table holds none of the
 * prefixes, and the datagrams sent to withdrawn prefixes after that moment that were still
 * forwarded (they arrived at the sink). Routers under test, in turn within a round: `cnr start`
 * (controller and vRouter in one process, BGP on a kernel veth, traffic through the vRouter's
 * ports) and BIRD 2 into the namespace's kernel FIB with the kernel forwarding (the reference).
 *
 *   inj ── (BGP, kernel link) ── router ──┬── src  (UDP to 100 of the prefixes, 2,000/s)
 *                                         └── sink (the next hop of every prefix; takes 10/8 as local)
 *
 * The forwarding table's count: cnr's vRouter route counters through its introspect API
 * (/rt/count, the same counters as the agent's RouteCount), the kernel's from
 * /proc/net/fib_triestat; both polled every 100 ms (the resolution of the time, plus one
 * poll's latency, stated). A datagram carries its send time, so "still forwarded" means sent at
 * or after the withdrawal began and received by the sink.
 *
 * Knobs: CNR_BENCH_CONV_COUNT (1000000), CNR_BENCH_CONV_CASES ("withdraw,drop"),
 * CNR_BENCH_CONV_ROUTERS ("bird,cnr"; "cnr-thread": this build with CNR_VROUTER_THREAD=1, the default; "cnr-main": with 0; "cnr-base":
 * the bin/cnr CNR_BENCH_CONV_BASE names), BENCH_ROUNDS, CNR_BENCH_CONV_TRACE (MS: cnr's route trace).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './types.js';
import { figure, ROUNDS } from './lib/stats.js';
import { loadNow, writeResultsFile } from './lib/machine.js';
import { startEventDaemon } from './lib/json-events.js';
import { Lab, canBuildLabs } from '../test/interop/harness/lab.js';
import { Bird, birdConfig } from '../test/interop/harness/bird.js';
import { Cnr, cnrAvailable } from '../test/interop/harness/cnr.js';
import { cpuSeconds, memBytes, must, runAsync, sleep, type Daemon } from '../test/interop/harness/proc.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const injectorJs = join(here, 'lib', 'bgp-injector.js');
const sampleUdp = join(here, 'lib', 'sample-udp.js');

const INJ = { addr: '100.64.0.1', asn: 65001 };
const DUT = { addr: '100.64.0.2', asn: 65002 };
const SINK = '10.99.0.2';
const PORT = 9097;
const RATE = 2000;
const SAMPLE = 100;
const POLL_MS = 100;
const INTROSPECT = '127.0.0.1:18487';

type Case = 'withdraw' | 'drop';

interface Router {
  name: string;
  /** kernel addresses on the router's traffic ports (the vRouter owns cnr's: none there) */
  kernelPorts: boolean;
  start(lab: Lab, ns: string, ports: { src: string; sink: string }): Promise<{ pid: number; fibCount(): Promise<number>; stop(): Promise<void> }>;
}

function kernelFibPrefixes(lab: Lab, ns: string): number {
  const out = lab.exec(ns, 'cat', ['/proc/net/fib_triestat']).stdout;
  const m = /Main:[\s\S]*?Prefixes:\s+(\d+)/.exec(out);
  return m ? Number(m[1]) : 0;
}

async function vrouterFibRoutes(ns: string): Promise<number> {
  const r = await runAsync('ip', ['netns', 'exec', ns, 'curl', '-s', `http://${INTROSPECT}/rt/count?vrf=default`], 15_000);
  const counts = JSON.parse(r.stdout) as { vrf: string; inet: number }[];
  return counts[0]?.inet ?? 0;
}

const routers: Router[] = [
  {
    name: 'bird',
    kernelPorts: true,
    async start(lab, ns) {
      const b = await Bird.start(lab, ns, 'conv', birdConfig({
        asn: DUT.asn,
        routerId: DUT.addr,
        kernel: true,
        neighbors: [{ name: 'inj', address: INJ.addr, asn: INJ.asn, channels: 'ipv4 { import all; export none; };' }],
      }));
      return { pid: b.daemon.pid, fibCount: async () => kernelFibPrefixes(lab, ns), stop: () => b.daemon.stop(10_000) };
    },
  },
  cnrRouter('cnr', {}),
  // this build with its vRouter in a worker thread (CNR_VROUTER_THREAD=1, src/cmd/vrouter-thread.ts; the default since session 10)
  cnrRouter('cnr-thread', { CNR_VROUTER_THREAD: '1' }),
  // this build with its vRouter on the main thread (CNR_VROUTER_THREAD=0, the default before session 10)
  cnrRouter('cnr-main', { CNR_VROUTER_THREAD: '0' }),
  // CNR_BENCH_CONV_BASE=PATH: another build's bin/cnr (e.g. the branch's base) as router 'cnr-base'
  cnrRouter('cnr-base', {}, process.env['CNR_BENCH_CONV_BASE']),
];

/** `cnr start` as the router under test, with extra environment (a variant of the same build). */
function cnrRouter(name: string, env: NodeJS.ProcessEnv, bin?: string): Router {
  return {
    name,
    kernelPorts: false,
    async start(lab, ns, ports) {
      // CNR_BENCH_CONV_TRACE=MS: cnr's route trace (src/cmd/route-trace.ts) in its output (CNR_DUMP_OUTPUT keeps it)
      const trace = process.env['CNR_BENCH_CONV_TRACE'];
      const c = await Cnr.start(lab, ns, 'conv', {
        asn: DUT.asn,
        routerId: DUT.addr,
        interfaces: [
          { name: ports.src, addresses: ['10.98.0.1/24'] },
          { name: ports.sink, addresses: ['10.99.0.1/24'] },
        ],
        neighbors: [{ address: INJ.addr, asn: INJ.asn, families: ['inet'], import: ['ALL'], exportNothing: true }],
        extra: ['set policy-options policy-statement ALL then accept'],
      }, 90_000, { vrouter: true, introspect: INTROSPECT, ...(bin ? { bin } : {}), env: { ...env, ...(trace ? { CNR_TRACE_ROUTES: trace } : {}) } });
      return { pid: c.daemon.pid, fibCount: () => vrouterFibRoutes(ns), stop: () => c.stop() };
    },
  };
}

export interface ConvFigure {
  router: string;
  case: Case;
  round: number;
  prefixes: number;
  /** seconds from the first announcement until the FIB held every prefix (context) */
  installSeconds: number;
  /** seconds from the withdrawal (or drop) until the FIB held none of the prefixes */
  cleanSeconds: number;
  /** datagrams sent at or after the withdrawal began that reached the sink */
  forwardedAfter: number;
  /** how long after the withdrawal began the last of them was sent, ms */
  lastForwardedMs: number;
  /** datagrams the sink got before the withdrawal, over the last second (traffic flowed) */
  flowingBefore: number;
  sent: number;
  cpuSeconds: number;
  rssBytes: number;
  load: [number, number, number];
  complete: boolean;
  error?: string;
}

/** Close a sample-udp process's stdin and read its last JSON line. */
async function report<T>(d: Daemon): Promise<T> {
  d.child.stdin!.end();
  const code = await Promise.race([d.exited, sleep(15_000).then(() => 'timeout')]);
  if (code !== 0) throw new Error(`${d.name} ended with ${code}: ${d.output().slice(-300)}`);
  const line = d.output().trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
  if (!line) throw new Error(`${d.name} reported nothing`);
  return JSON.parse(line) as T;
}

/** The received count the sink printed last (every 500 ms). */
function lastReceived(d: Daemon): number {
  const line = d.output().trim().split('\n').filter((l) => l.startsWith('{"received"')).at(-1);
  return line ? Number((JSON.parse(line) as { received: number }).received) : 0;
}

/** A sample of the announced prefixes, spread over the whole range: one host address in each. */
function sampleDestinations(count: number): string[] {
  return Array.from({ length: SAMPLE }, (_, k) => {
    const idx = Math.floor(((k + 0.5) * count) / SAMPLE);
    const a = (0x0a000000 + idx * 16 + 1) >>> 0;
    return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  });
}

async function waitCount(what: string, fib: () => Promise<number>, done: (n: number) => boolean, timeoutMs: number, pollMs: number): Promise<{ t: number; n: number }> {
  const deadline = Date.now() + timeoutMs;
  let n = -1;
  for (;;) {
    n = await fib().catch(() => n);
    const t = Date.now();
    if (done(n)) return { t, n };
    if (t > deadline) throw new Error(`${what}: FIB count ${n} after ${timeoutMs / 1000} s`);
    await sleep(pollMs);
  }
}

async function measure(r: Router, c: Case, count: number, round: number): Promise<ConvFigure> {
  const fig: ConvFigure = {
    router: r.name, case: c, round, prefixes: count, installSeconds: NaN, cleanSeconds: NaN, forwardedAfter: NaN, lastForwardedMs: NaN,
    flowingBefore: NaN, sent: NaN, cpuSeconds: NaN, rssBytes: NaN, load: loadNow(), complete: false,
  };
  const lab = new Lab('bc');
  try {
    const nsI = lab.ns('inj');
    const nsD = lab.ns('dut');
    const nsS = lab.ns('src');
    const nsK = lab.ns('sink');
    lab.link(nsI, nsD, { a4: `${INJ.addr}/30`, b4: `${DUT.addr}/30` });
    const src = lab.link(nsD, nsS, { ...(r.kernelPorts ? { a4: '10.98.0.1/24' } : {}), b4: '10.98.0.2/24' });
    const sink = lab.link(nsD, nsK, { ...(r.kernelPorts ? { a4: '10.99.0.1/24' } : {}), b4: `${SINK}/24` });
    must('ip', ['-n', nsS, 'route', 'add', 'default', 'via', '10.98.0.1']);
    // the sink takes every address of the announced range as its own
    must('ip', ['-n', nsK, 'route', 'add', 'local', '10.0.0.0/8', 'dev', 'lo']);
    must('ip', ['-n', nsK, 'route', 'add', '10.98.0.0/24', 'via', '10.99.0.1']);
    const dut = await r.start(lab, nsD, { src: src.ifA, sink: sink.ifA });
    lab.defer(`stop ${r.name}`, () => dut.stop());
    const before = await waitCount('before the feed', dut.fibCount, (n) => n >= 0, 30_000, 200).then((x) => x.n);
    const inj = startEventDaemon(lab, nsI, 'injector', injectorJs, [
      '--peer', DUT.addr, '--local-as', String(INJ.asn), '--next-hop', SINK, '--count', String(count), '--per-update', '100', '--prefix-len', '28', '--withdraw-signals', '1',
    ]);
    const t0 = (await inj.next('sending', 120_000)).t;
    const installed = await waitCount('install', dut.fibCount, (n) => n >= before + count, 240_000, 250);
    fig.installSeconds = (installed.t - t0) / 1000;
    const recv = lab.daemon('sink', nsK, process.execPath, [sampleUdp, 'recv', String(PORT)], undefined, 'pipe');
    await sleep(300);
    const send = lab.daemon('src', nsS, process.execPath, [sampleUdp, 'send', String(PORT), String(RATE), sampleDestinations(count).join(',')], undefined, 'pipe');
    await sleep(2000);
    const r0 = lastReceived(recv);
    await sleep(1000);
    fig.flowingBefore = lastReceived(recv) - r0;
    if (fig.flowingBefore < RATE / 4) throw new Error(`traffic does not flow through ${r.name}: ${fig.flowingBefore} datagrams in the last second`);
    // the router's own routes (connected, local) are the count beyond the feed once all is in
    // (read now: just after the start some of them may not be programmed yet)
    const base = (await dut.fibCount()) - count;
    const cpu0 = cpuSeconds(dut.pid);
    process.kill(inj.d.pid, c === 'withdraw' ? 'SIGUSR2' : 'SIGUSR1');
    const tw = (await inj.next(c === 'withdraw' ? 'withdrawing' : 'dropping', 10_000)).t;
    const clean = await waitCount('clean', dut.fibCount, (n) => n <= base, 240_000, POLL_MS);
    fig.cleanSeconds = (clean.t - tw) / 1000;
    fig.cpuSeconds = cpuSeconds(dut.pid) - cpu0;
    fig.rssBytes = memBytes(dut.pid, 'VmHWM');
    await sleep(1000);
    fig.sent = (await report<{ sent: number }>(send)).sent;
    recv.child.stdin!.write(`${tw}\n`);
    const got = await report<{ received: number; forwardedAfter: number; lastMs: number | null }>(recv);
    fig.forwardedAfter = got.forwardedAfter;
    fig.lastForwardedMs = got.lastMs ?? Number.NaN;
    fig.complete = true;
  } catch (err) {
    fig.error = err instanceof Error ? err.message : String(err);
  } finally {
    await lab.close();
  }
  return fig;
}

export async function run(): Promise<BenchResult[]> {
  if (!canBuildLabs()) {
    console.log('bgp-convergence: skipped (needs root to build network namespaces)');
    return [];
  }
  if (!existsSync(sampleUdp)) throw new Error(`${sampleUdp} missing: build first`);
  const count = Number(process.env['CNR_BENCH_CONV_COUNT'] ?? 1_000_000);
  const cases = (process.env['CNR_BENCH_CONV_CASES'] ?? 'withdraw,drop').split(',').map((s) => s.trim()) as Case[];
  const wanted = (process.env['CNR_BENCH_CONV_ROUTERS'] ?? 'bird,cnr').split(',').map((s) => s.trim());
  const active = routers.filter((x) => wanted.includes(x.name) && (!x.name.startsWith('cnr') || cnrAvailable()));
  const figures: ConvFigure[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) {
      for (const r of active) {
        const f = await measure(r, c, count, round);
        figures.push(f);
        console.log(
          `  round ${round + 1} ${r.name.padEnd(4)} ${c.padEnd(8)} ${count} prefixes: clean in ${f.cleanSeconds.toFixed(2)} s, ${f.forwardedAfter} datagrams forwarded after (last sent ${f.lastForwardedMs.toFixed(0)} ms after), ` +
            `installed in ${f.installSeconds.toFixed(2)} s, cpu ${f.cpuSeconds.toFixed(2)} s, rss ${(f.rssBytes / 2 ** 20).toFixed(0)} MB, ${f.flowingBefore}/s flowing before, load ${f.load.join(' ')}${f.complete ? '' : ` (INCOMPLETE: ${f.error})`}`,
        );
      }
    }
  }
  const series = (name: string, c: Case, pick: (f: ConvFigure) => number): number[] =>
    Array.from({ length: ROUNDS }, (_, i) => {
      const f = figures.find((x) => x.router === name && x.case === c && x.round === i);
      return f?.complete ? pick(f) : Number.NaN;
    });
  const results: BenchResult[] = [];
  const what = { withdraw: 'the peer withdraws every prefix', drop: 'the session drops (Cease, then close)' };
  for (const c of cases) {
    for (const r of active) {
      const label = `BGP convergence, ${count / 1e6}M /28 in the FIB, ${what[c]}, ${r.name === 'cnr' ? 'cnr start (vRouter FIB)' : r.name === 'cnr-thread' ? 'cnr start, vRouter thread (vRouter FIB)' : r.name === 'cnr-base' ? 'cnr start, base build (vRouter FIB)' : 'BIRD into the kernel FIB'}`;
      const mine = figures.filter((f) => f.router === r.name && f.case === c);
      const incomplete = mine.filter((f) => !f.complete).map((f) => `round ${f.round + 1}: ${f.error}`);
      const notes = [
        `FIB count polled every ${POLL_MS} ms; traffic ${RATE} datagrams/s over ${SAMPLE} sampled prefixes`,
        `load average at each run's start: ${mine.map((f) => f.load[0]).join(', ')}`,
        incomplete.length ? `incomplete: ${incomplete.join('; ')}` : undefined,
      ].filter(Boolean).join('; ');
      if (!series(r.name, c, (f) => f.cleanSeconds).some(Number.isFinite)) {
        results.push({ name: `${label}: time until the FIB is clean`, value: Number.NaN, unit: 's', notes });
        continue;
      }
      const ref = (pick: (f: ConvFigure) => number) => (r.name === 'bird' ? {} : { reference: { name: 'BIRD into the kernel, same round', values: series('bird', c, pick) }, direction: 'ref/value' as const });
      results.push(figure({ name: `${label}: time until the FIB is clean`, unit: 's', values: series(r.name, c, (f) => f.cleanSeconds), ...ref((f) => f.cleanSeconds), notes }));
      results.push(figure({ name: `${label}: datagrams to withdrawn prefixes still forwarded`, unit: 'datagrams', values: series(r.name, c, (f) => f.forwardedAfter), ...(r.name === 'bird' ? {} : { reference: { name: 'BIRD into the kernel, same round', values: series('bird', c, (f) => f.forwardedAfter) }, direction: 'ref/value' as const }), notes: `sent at or after the withdrawal began and received by the sink, of ${RATE}/s over the sample; rounds where either side forwarded none have no ratio` }));
      results.push(figure({ name: `${label}: router CPU until clean`, unit: 's', values: series(r.name, c, (f) => f.cpuSeconds), ...ref((f) => f.cpuSeconds), notes: 'CPU seconds of the router process (cnr: controller + vRouter; BIRD: its own, the kernel FIB work in its system time)' }));
    }
  }
  const file = writeResultsFile(repo, 'bgp-convergence-', { figures, results });
  console.log(`  bgp-convergence figures written to ${file}`);
  return results;
}

// `node dist/bench/bgp-convergence.bench.js` runs this benchmark alone.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run().then((r) => {
    for (const x of r) console.log(`${x.name}: ${x.value.toFixed(3)} ${x.unit}${x.ratio !== undefined ? ` (${x.ratio.toFixed(2)}x bird)` : ''}`);
  }, (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
