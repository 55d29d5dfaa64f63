/**
 * BGP ingestion: one injector (bench/lib/bgp-injector.ts, in its own namespace) feeds 1M IPv4
 * /28s over one eBGP session to each receiver in turn — BIRD, FRR (bgpd -Z, no zebra), GoBGP
 * and cnr's controller when it is built — at 100 and at 5 prefixes per UPDATE. For each it
 * reports the time from the first UPDATE byte written until the receiver's own count shows
 * every route, the receiver's CPU seconds over that interval (/proc/PID/stat), and its peak
 * RSS (VmHWM), with ratios to BIRD measured in the same run. Receivers import everything and
 * export nothing, so only ingestion is measured.
 *
 * Then, at 100 per UPDATE, the time until every route is in a forwarding table: BIRD into the
 * namespace's kernel FIB (reference) and `cnr start` into its vRouter FIB.
 *
 * Method (issue 16): >= 3 rounds (BENCH_ROUNDS), receivers taking turns within a round;
 * medians with min / max; every ratio to BIRD is formed within a round and the median of those
 * is reported (bench/lib/stats.ts). The stop rule is the same kind for every receiver: its own
 * count of accepted routes (with one peer, every accepted route is the best path: BIRD's
 * protocol counter of imported routes, FRR's pfxRcd, GoBGP's accepted, cnr's active = best with a resolved next
 * hop), polled every CNR_BENCH_BGP_POLL_MS (default 250) for all of them; the cost of one
 * poll with the full table (its wall time, and the receiver's CPU during it) is measured
 * after each run and stated. The FIB figures poll both receivers every 500 ms.
 *
 * Then the realistic feed (measureRealistic): two peers announce the same 1M /24s over ~100k
 * attribute sets each, so best-path selection has real choices; BIRD, FRR and cnr.
 *
 * Knobs (environment): CNR_BENCH_BGP_REALISTIC ("bird,frr,cnr"; "" skips it), CNR_BENCH_BGP_COUNT (default 1000000), CNR_BENCH_BGP_GOBGP_COUNT
 * (default 200000: GoBGP is ~50x slower than BIRD; its time ratio is scaled to the full count
 * and says so), CNR_BENCH_BGP_PER_UPDATE ("100,5"), CNR_BENCH_BGP_RECEIVERS
 * ("bird,frr,gobgp,cnr"), CNR_BENCH_BGP_VARIANTS ("NAME=PATH,...": another build's bin/cnr as
 * receiver "cnr-NAME" in the same rounds, ingest and realistic feed), CNR_BENCH_BGP_FIB ("1";
 * "0" skips the FIB figures), CNR_BENCH_BGP_FIB_BIRD ("1"; "0" leaves BIRD out of them). The interop
 * harness's CNR_NODE_FLAGS (node/V8 flags for cnr's process, e.g. "--trace-gc" or
 * "--max-semi-space-size=8") and CNR_DUMP_OUTPUT (PATH: its output kept in PATH.PID) apply.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './types.js';
import { figure, ROUNDS } from './lib/stats.js';
import { writeResultsFile } from './lib/machine.js';
import { Lab, canBuildLabs } from '../test/interop/harness/lab.js';
import { Bird, birdConfig } from '../test/interop/harness/bird.js';
import { Frr, frrBgpConfig } from '../test/interop/harness/frr.js';
import { Gobgp, gobgpConfig } from '../test/interop/harness/gobgp.js';
import { Cnr, cnrAvailable } from '../test/interop/harness/cnr.js';
import { cpuSeconds, memBytes, runAsync, sleep, startDaemon, type Daemon } from '../test/interop/harness/proc.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const injectorJs = join(here, 'lib', 'bgp-injector.js');

const INJ = { addr: '100.64.0.1', asn: 65001 };
const RCV = { addr: '100.64.0.2', asn: 65002 };
/**
 * CNR_BENCH_BGP_VARIANTS ("NAME=PATH,..."): other builds' bin/cnr (e.g. the branch's base built
 * elsewhere), each run as receiver "cnr-NAME" in the same rounds as this build, in the ingest
 * and the realistic feed alike.
 */
const BUILD_VARIANTS = envList('CNR_BENCH_BGP_VARIANTS', '').map((v) => v.split('=') as [string, string | undefined]);

interface Receiver {
  name: string;
  /** ms to wait for all routes before giving up */
  timeoutMs: number;
  start(lab: Lab, ns: string, ifname: string): Promise<{ pid: number; count(): Promise<number>; stop(): Promise<void>; stall?(count: number): Stall | undefined }>;
}

const receivers: Receiver[] = [
  {
    name: 'bird',
    timeoutMs: 60_000,
    async start(lab, ns) {
      const conf = birdConfig({
        asn: RCV.asn,
        routerId: RCV.addr,
        neighbors: [{ name: 'inj', address: INJ.addr, asn: INJ.asn, channels: 'ipv4 { import all; export none; };' }],
      });
      const b = await Bird.start(lab, ns, 'bench', conf);
      return { pid: b.daemon.pid, count: () => birdImported(b.sock), stop: () => b.daemon.stop() };
    },
  },
  {
    name: 'frr',
    timeoutMs: 90_000,
    async start(lab, ns) {
      const conf = frrBgpConfig({
        asn: RCV.asn,
        routerId: RCV.addr,
        neighbors: [{ address: INJ.addr, asn: INJ.asn, afLines: ['route-map NONE out'] }],
        extra: 'route-map NONE deny 10\nexit',
      });
      const f = await Frr.start(lab, ns, 'bench', { bgpd: conf });
      return { pid: f.bgpd.pid, count: () => f.prefixCount(INJ.addr), stop: () => f.bgpd.stop(10_000) };
    },
  },
  {
    name: 'gobgp',
    timeoutMs: 150_000,
    async start(lab, ns) {
      const conf = gobgpConfig({
        asn: RCV.asn,
        routerId: RCV.addr,
        defaultExport: 'reject-route',
        neighbors: [{ address: INJ.addr, asn: INJ.asn }],
      });
      const g = await Gobgp.start(lab, ns, 'bench', conf);
      return { pid: g.daemon.pid, count: () => g.acceptedCount(INJ.addr), stop: () => g.daemon.stop(10_000) };
    },
  },
  cnrIngestReceiver('cnr'),
  ...BUILD_VARIANTS.map(([name, bin]) => cnrIngestReceiver(`cnr-${name}`, bin)),
];

/** `cnr controller` as an ingest receiver (this build, or the build whose bin/cnr is `bin`). */
function cnrIngestReceiver(name: string, bin?: string): Receiver {
  return {
    name,
    timeoutMs: 120_000,
    async start(lab, ns, ifname) {
      const c = await Cnr.start(lab, ns, 'bench', {
        asn: RCV.asn,
        routerId: RCV.addr,
        // the interface gives the direct route that resolves the injector's next hop
        interfaces: [{ name: ifname, addresses: [`${RCV.addr}/30`] }],
        neighbors: [{ address: INJ.addr, asn: INJ.asn, families: ['inet'], import: ['ALL'], exportNothing: true }],
        extra: ['set policy-options policy-statement ALL then accept'],
      }, 90_000, bin ? { bin } : {});
      // routes count once they are active in the RIB (best path chosen, next hop resolved)
      return { pid: c.daemon.pid, count: () => c.activeCount(INJ.addr), stop: () => c.stop() };
    },
  };
}

/**
 * Receivers that install into a forwarding table: BIRD into the namespace's kernel FIB
 * (the reference), and `cnr start` into its vRouter. The vRouter attaches to a second veth
 * that carries the injector's subnet for the RIB, while the BGP session itself stays on the
 * kernel's veth: with `--no-vhost` the node's own traffic must not cross a vRouter-owned
 * interface, and this keeps the session off it.
 */
const fibReceivers: Receiver[] = [
  {
    name: 'bird-kernel',
    timeoutMs: 120_000,
    async start(lab, ns) {
      const conf = birdConfig({
        asn: RCV.asn,
        routerId: RCV.addr,
        kernel: true,
        neighbors: [{ name: 'inj', address: INJ.addr, asn: INJ.asn, channels: 'ipv4 { import all; export none; };' }],
      });
      const b = await Bird.start(lab, ns, 'fib', conf);
      const base = kernelFibPrefixes(lab, ns);
      return { pid: b.daemon.pid, count: async () => kernelFibPrefixes(lab, ns) - base, stop: () => b.daemon.stop(10_000) };
    },
  },
  cnrFibReceiver('cnr-vrouter', {}),
  // CNR_BENCH_BGP_FIB_VARIANTS: more `cnr start`s in the same rounds, to compare with this
  // build: "grpc" (this build, its Program stream over gRPC in the process: CNR_FIB_PATH=grpc),
  // "thread" (this build, its vRouter in a worker thread: CNR_VROUTER_THREAD=1, the default since session 10),
  // "main" (this build, its vRouter on the main thread: CNR_VROUTER_THREAD=0),
  // "base=PATH" (another build's bin/cnr, e.g. the branch's base built elsewhere)
  ...envList('CNR_BENCH_BGP_FIB_VARIANTS', '').map((v) => {
    const [name, bin] = v.split('=');
    const env = name === 'grpc' ? { CNR_FIB_PATH: 'grpc' } : name === 'thread' ? { CNR_VROUTER_THREAD: '1' } : name === 'main' ? { CNR_VROUTER_THREAD: '0' } : undefined;
    return cnrFibReceiver(`cnr-vrouter-${name}`, env ? { env } : { bin: bin! });
  }),
];

/**
 * `cnr start` as a FIB receiver. Each count reads the data plane's route counters through the
 * introspect API (/rt/count: no walk; listing 1M routes to count them took 10.8-14 s and ~2 s
 * of the measured process's CPU); its poll cost is stated with the figure. cnr runs with its
 * route trace (CNR_TRACE_ROUTES, src/cmd/route-trace.ts), from which `stall` reads the longest
 * event-loop stall while the routes came in.
 */
function cnrFibReceiver(name: string, mode: { bin?: string; env?: NodeJS.ProcessEnv }): Receiver {
  return {
    name,
    timeoutMs: 150_000,
    async start(lab, ns) {
      const fab = lab.link(ns, ns, {});
      const c = await Cnr.start(lab, ns, 'fib', {
        asn: RCV.asn,
        routerId: RCV.addr,
        interfaces: [{ name: fab.ifA, addresses: [`${RCV.addr}/30`] }],
        neighbors: [{ address: INJ.addr, asn: INJ.asn, families: ['inet'], import: ['ALL'], exportNothing: true }],
        extra: ['set policy-options policy-statement ALL then accept'],
      }, 90_000, { vrouter: true, introspect: '127.0.0.1:8085', ...(mode.bin ? { bin: mode.bin } : {}), env: { CNR_TRACE_ROUTES: '100', ...mode.env } });
      // its own routes (local and connected) before the feed are not the feed's
      const base = await vrouterFibRoutes(ns);
      return { pid: c.daemon.pid, count: async () => (await vrouterFibRoutes(ns)) - base, stop: () => c.stop(), stall: (count) => longestStall(c.daemon.output(), count) };
    },
  };
}

/** The longest event-loop stall while the routes came in, and the longest GC pause meanwhile. */
interface Stall {
  wallMs: number;
  cpuMs: number;
  gcMs?: number;
  gcKind?: string;
}

/**
 * The longest event-loop stall in cnr's route trace from the first routes waiting for the FIB
 * until the programmer holds `count` (each trace line gives the longest since the line before).
 */
function longestStall(output: string, count: number): Stall | undefined {
  let max: Stall | undefined;
  // (the GC pause is in the traces of builds since session 9)
  for (const m of output.matchAll(/route-trace: \+[\d.]+ s pending (\d+) acked (\d+) programmed (\d+) longest-stall (\d+) ms cpu (\d+) ms(?: gc (\d+) ms ?(\w*))?/g)) {
    const [pending, programmed, wall, cpu] = [Number(m[1]), Number(m[3]), Number(m[4]), Number(m[5])];
    if (max === undefined && pending < 100 && programmed < 100) continue;
    max = { wallMs: Math.max(max?.wallMs ?? 0, wall), cpuMs: Math.max(max?.cpuMs ?? 0, cpu), ...(max?.gcMs !== undefined ? { gcMs: max.gcMs, gcKind: max.gcKind ?? '' } : {}) };
    if (m[6] !== undefined && Number(m[6]) >= (max.gcMs ?? -1)) {
      max.gcMs = Number(m[6]);
      max.gcKind = m[7] ?? '';
    }
    if (programmed >= count) break;
  }
  return max;
}

/**
 * Routes BIRD's protocol 'inj' has imported, from `show protocols all` (a counter: cheap at any
 * table size; `show route count` walks the table, about 1 s and a quarter of a second of BIRD's
 * CPU per poll at 1M routes, which polling every 250 ms turned into most of BIRD's figure).
 */
async function birdImported(sock: string, protocol = 'inj'): Promise<number> {
  const r = await runAsync('birdc', ['-s', sock, 'show', 'protocols', 'all', protocol], 15_000);
  if (r.code !== 0) throw new Error(`birdc: ${r.stderr}`);
  return Number(/Routes:\s+(\d+) imported/.exec(r.stdout)?.[1] ?? 0);
}

/** IPv4 prefixes in a namespace's kernel main table (cheap: /proc/net/fib_triestat). */
function kernelFibPrefixes(lab: Lab, ns: string): number {
  const out = lab.exec(ns, 'cat', ['/proc/net/fib_triestat']).stdout;
  const m = /Main:[\s\S]*?Prefixes:\s+(\d+)/.exec(out);
  return m ? Number(m[1]) : 0;
}

/** IPv4 routes of the vRouter's default VRF, from its introspect API's route counters (cheap at any table size). */
async function vrouterFibRoutes(ns: string): Promise<number> {
  const r = await runAsync('ip', ['netns', 'exec', ns, 'curl', '-s', 'http://127.0.0.1:8085/rt/count?vrf=default'], 15_000);
  const counts = JSON.parse(r.stdout) as { vrf: string; inet: number }[];
  return counts[0]?.inet ?? 0;
}

export interface IngestFigure {
  receiver: string;
  perUpdate: number;
  prefixes: number;
  /** seconds from the first UPDATE byte until the receiver counted every route */
  seconds: number;
  cpuSeconds: number;
  rssBytes: number;
  /** false when the receiver timed out before holding every route */
  complete: boolean;
  counted: number;
  encodeMs: number;
  sendSeconds: number;
  round: number;
  pollMs: number;
  /** one poll with the full table, after the run: its wall ms and the receiver's CPU ms meanwhile */
  pollWallMs: number;
  pollCpuMs: number;
  /** cnr start: the longest event-loop stall while the routes came in (its route trace), ms: by the wall clock, and on the main thread's CPU */
  stallMs?: number;
  stallCpuMs?: number;
  /** the longest garbage-collection pause of its main thread over the same interval, ms, and its kind */
  stallGcMs?: number;
  stallGcKind?: string;
  error?: string;
}

interface InjectorEvent {
  event: string;
  t: number;
  [k: string]: unknown;
}

function startInjector(lab: Lab, ns: string, count: number, perUpdate: number, feed?: { inj: { addr: string; asn: number }; peer: string; seed: number }): { d: Daemon; next(ev: string, timeoutMs: number): Promise<InjectorEvent> } {
  const args = feed
    ? ['--peer', feed.peer, '--local-as', String(feed.inj.asn), '--next-hop', feed.inj.addr, '--count', String(count), '--per-update', String(perUpdate), '--feed', 'realistic', '--seed', String(feed.seed)]
    : ['--peer', RCV.addr, '--local-as', String(INJ.asn), '--next-hop', INJ.addr, '--count', String(count), '--per-update', String(perUpdate), '--prefix-len', '28'];
  const d = startDaemon('injector', 'ip', ['netns', 'exec', ns, process.execPath, injectorJs, ...args]);
  lab.defer('injector', () => d.stop());
  const events: InjectorEvent[] = [];
  let buf = '';
  d.child.stdout!.on('data', (s: string) => {
    buf += s;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        events.push(JSON.parse(line) as InjectorEvent);
      } catch {
        // not an event line
      }
    }
  });
  const next = async (ev: string, timeoutMs: number): Promise<InjectorEvent> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = events.find((e) => e.event === ev);
      if (hit) return hit;
      const err = events.find((e) => e.event === 'error');
      if (err) throw new Error(`injector: ${String(err['message'])}`);
      if (d.child.exitCode !== null) throw new Error(`injector exited: ${d.output().slice(-500)}`);
      if (Date.now() > deadline) throw new Error(`injector: no '${ev}' within ${timeoutMs} ms`);
      await sleep(20);
    }
  };
  return { d, next };
}

type Running = { pid: number; count(): Promise<number>; stall?(count: number): Stall | undefined };

/** Run one measurement in a lab of its own, closed even on failure; an error is kept in the figure. */
async function inLab(name: string, fig: IngestFigure, body: (lab: Lab) => Promise<void>): Promise<IngestFigure> {
  const lab = new Lab(name);
  try {
    await body(lab);
  } catch (err) {
    fig.error = err instanceof Error ? err.message : String(err);
  } finally {
    await lab.close();
  }
  return fig;
}

function newFigure(receiver: string, perUpdate: number, prefixes: number, round: number, pollMs: number): IngestFigure {
  return {
    receiver, perUpdate, prefixes, seconds: NaN, cpuSeconds: NaN, rssBytes: NaN,
    complete: false, counted: 0, encodeMs: NaN, sendSeconds: NaN, round, pollMs, pollWallMs: NaN, pollCpuMs: NaN,
  };
}

/** Poll the receiver's own count until it reaches `count` or its time is up (the same interval for every receiver: the stop rule is the same kind for all). */
async function pollUntilAll(fig: IngestFigure, r: { name: string; timeoutMs: number }, rcv: Running, t0: number, count: number, pollMs: number): Promise<void> {
  const deadline = t0 + r.timeoutMs;
  let lastLog = 0;
  for (;;) {
    const n = await rcv.count().catch(() => fig.counted);
    const t = Date.now();
    fig.counted = n;
    if (n >= count) {
      fig.seconds = (t - t0) / 1000;
      fig.complete = true;
      return;
    }
    if (t > deadline) {
      fig.seconds = (t - t0) / 1000;
      fig.error = `timed out counting ${n} of ${count}`;
      return;
    }
    if (t - lastLog > 5000) {
      lastLog = t;
      if (t - t0 > 4000) console.log(`  ${r.name}: ${n} after ${((t - t0) / 1000).toFixed(1)} s`);
    }
    await sleep(pollMs);
  }
}

/** The receiver's CPU since `cpu0` and its peak RSS. */
function finishFigure(fig: IngestFigure, rcv: Running, cpu0: number): void {
  fig.cpuSeconds = cpuSeconds(rcv.pid) - cpu0;
  fig.rssBytes = memBytes(rcv.pid, 'VmHWM');
}

/** The cost of one poll with the full table (the receiver's CPU, its clock ticks 10 ms). */
async function measurePoll(fig: IngestFigure, rcv: Running): Promise<void> {
  const pc0 = cpuSeconds(rcv.pid);
  const pw0 = performance.now();
  await rcv.count().catch(() => 0);
  fig.pollWallMs = performance.now() - pw0;
  fig.pollCpuMs = (cpuSeconds(rcv.pid) - pc0) * 1000;
}

async function measure(r: Receiver, perUpdate: number, count: number, pollMs: number, round: number): Promise<IngestFigure> {
  const fig = newFigure(r.name, perUpdate, count, round, pollMs);
  return inLab('bb', fig, async (lab) => {
    const nsI = lab.ns('inj');
    const nsR = lab.ns('rcv');
    const link = lab.link(nsI, nsR, { a4: `${INJ.addr}/30`, b4: `${RCV.addr}/30` });
    const rcv = await r.start(lab, nsR, link.ifB);
    lab.defer(`stop ${r.name}`, () => rcv.stop());
    const cpu0 = cpuSeconds(rcv.pid);
    const inj = startInjector(lab, nsI, count, perUpdate);
    const enc = await inj.next('encoded', 30_000);
    fig.encodeMs = Number(enc['ms']);
    const sending = await inj.next('sending', 60_000);
    const t0 = sending.t;
    await pollUntilAll(fig, r, rcv, t0, count, pollMs);
    const sent = await inj.next('sent', 5_000).catch(() => undefined);
    if (sent) fig.sendSeconds = (sent.t - t0) / 1000;
    finishFigure(fig, rcv, cpu0);
    await measurePoll(fig, rcv);
    // (the programmer's count includes the node's own routes: the feed is in once it holds more)
    const stall = rcv.stall?.(count);
    if (stall) {
      fig.stallMs = stall.wallMs;
      fig.stallCpuMs = stall.cpuMs;
      if (stall.gcMs !== undefined) {
        fig.stallGcMs = stall.gcMs;
        fig.stallGcKind = stall.gcKind ?? '';
      }
    }
  });
}

/**
 * The realistic feed (issue 16): two eBGP peers, each its own injector in its own namespace,
 * announce the same 1M /24s over ~100k attribute sets each (bench/lib/bgp-injector.ts
 * encodeRealisticUpdates), with different seeds, so the two paths of a prefix differ and
 * best-path selection decides every prefix. Both injectors start together.
 */
const PEERS2 = [
  { inj: { addr: '100.64.0.1', asn: 65001 }, rcv: '100.64.0.2', seed: 1 },
  { inj: { addr: '100.64.0.5', asn: 65003 }, rcv: '100.64.0.6', seed: 2 },
];

interface Receiver2 {
  name: string;
  timeoutMs: number;
  /** count(): how many prefixes hold both peers' paths, by the receiver's own per-peer accepted counts (the smaller of the two) */
  start(lab: Lab, ns: string, ifnames: string[]): Promise<{ pid: number; count(): Promise<number>; stop(): Promise<void> }>;
}

const receivers2: Receiver2[] = [
  {
    name: 'bird',
    timeoutMs: 120_000,
    async start(lab, ns) {
      const conf = birdConfig({
        asn: RCV.asn,
        routerId: RCV.addr,
        neighbors: PEERS2.map((p, i) => ({ name: `inj${i}`, address: p.inj.addr, asn: p.inj.asn, channels: 'ipv4 { import all; export none; };' })),
      });
      const b = await Bird.start(lab, ns, 'bench2', conf);
      return { pid: b.daemon.pid, count: async () => Math.min(...(await Promise.all(PEERS2.map((_, i) => birdImported(b.sock, `inj${i}`))))), stop: () => b.daemon.stop() };
    },
  },
  {
    name: 'frr',
    timeoutMs: 180_000,
    async start(lab, ns) {
      const conf = frrBgpConfig({
        asn: RCV.asn,
        routerId: RCV.addr,
        neighbors: PEERS2.map((p) => ({ address: p.inj.addr, asn: p.inj.asn, afLines: ['route-map NONE out'] })),
        extra: 'route-map NONE deny 10\nexit',
      });
      const f = await Frr.start(lab, ns, 'bench2', { bgpd: conf });
      return { pid: f.bgpd.pid, count: async () => Math.min(...(await Promise.all(PEERS2.map((p) => f.prefixCount(p.inj.addr))))), stop: () => f.bgpd.stop(10_000) };
    },
  },
  cnrRealisticReceiver('cnr'),
  ...BUILD_VARIANTS.map(([name, bin]) => cnrRealisticReceiver(`cnr-${name}`, bin)),
];

/** `cnr controller` as the realistic feed's receiver (this build, or the build whose bin/cnr is `bin`). */
function cnrRealisticReceiver(name: string, bin?: string): Receiver2 {
  return {
    name,
    timeoutMs: 180_000,
    async start(lab, ns, ifnames) {
      const c = await Cnr.start(lab, ns, 'bench2', {
        asn: RCV.asn,
        routerId: RCV.addr,
        interfaces: PEERS2.map((p, i) => ({ name: ifnames[i]!, addresses: [`${p.rcv}/30`] })),
        neighbors: PEERS2.map((p) => ({ address: p.inj.addr, asn: p.inj.asn, families: ['inet' as const], import: ['ALL'], exportNothing: true })),
        extra: ['set policy-options policy-statement ALL then accept'],
      }, 90_000, bin ? { bin } : {});
      // accepted paths per peer, counted once the decision process has run over them: the
      // active routes of both peers add up to every prefix only when it has
      const count = async (): Promise<number> => {
        const [a, b] = await Promise.all(PEERS2.map((p) => c.receivedCount(p.inj.addr)));
        const [x, y] = await Promise.all(PEERS2.map((p) => c.activeCount(p.inj.addr)));
        return Math.min(a!, b!, x! + y!);
      };
      return { pid: c.daemon.pid, count, stop: () => c.stop() };
    },
  };
}

async function measureRealistic(r: Receiver2, count: number, pollMs: number, round: number): Promise<IngestFigure> {
  const fig = newFigure(r.name, 0, count, round, pollMs);
  return inLab('br', fig, async (lab) => {
    const nsR = lab.ns('rcv');
    const sides = PEERS2.map((p, i) => {
      const ns = lab.ns(`inj${i}`);
      const link = lab.link(ns, nsR, { a4: `${p.inj.addr}/30`, b4: `${p.rcv}/30` });
      return { ns, ifB: link.ifB };
    });
    const rcv = await r.start(lab, nsR, sides.map((x) => x.ifB));
    lab.defer(`stop ${r.name}`, () => rcv.stop());
    const cpu0 = cpuSeconds(rcv.pid);
    const injs = PEERS2.map((p, i) => startInjector(lab, sides[i]!.ns, count, 100, { inj: p.inj, peer: p.rcv, seed: p.seed }));
    const encoded = await Promise.all(injs.map((x) => x.next('encoded', 60_000)));
    fig.encodeMs = Math.max(...encoded.map((e) => Number(e['ms'])));
    const sending = await Promise.all(injs.map((x) => x.next('sending', 60_000)));
    const t0 = Math.min(...sending.map((e) => e.t));
    await pollUntilAll(fig, r, rcv, t0, count, pollMs);
    finishFigure(fig, rcv, cpu0);
    await measurePoll(fig, rcv);
  });
}

function envList(name: string, dflt: string): string[] {
  return (process.env[name] ?? dflt).split(',').map((s) => s.trim()).filter(Boolean);
}

export async function run(): Promise<BenchResult[]> {
  if (!canBuildLabs()) {
    console.log('bgp: skipped (needs root to build network namespaces)');
    return [];
  }
  if (!existsSync(injectorJs)) throw new Error(`${injectorJs} missing: build first`);
  const count = Number(process.env['CNR_BENCH_BGP_COUNT'] ?? 1_000_000);
  const gobgpCount = Number(process.env['CNR_BENCH_BGP_GOBGP_COUNT'] ?? Math.min(count, 200_000));
  const perUpdates = envList('CNR_BENCH_BGP_PER_UPDATE', '100,5').map(Number);
  const wanted = envList('CNR_BENCH_BGP_RECEIVERS', 'bird,frr,gobgp,cnr');
  const pollMs = Number(process.env['CNR_BENCH_BGP_POLL_MS'] ?? 250);
  const figures: IngestFigure[] = [];
  const results: BenchResult[] = [];
  const active = receivers.filter((x) => (wanted.includes(x.name) || (x.name.startsWith('cnr-') && wanted.includes('cnr'))) && (!x.name.startsWith('cnr') || cnrAvailable()));
  if (wanted.includes('cnr') && !cnrAvailable()) console.log('  cnr: skipped (cnr controller with BGP not built yet)');
  for (let round = 0; round < ROUNDS; round++) {
    for (const per of perUpdates) {
      for (const r of active) {
        const n = r.name === 'gobgp' ? gobgpCount : count;
        const f = await measure(r, per, n, pollMs, round);
        figures.push(f);
        console.log(
          `  round ${round + 1} ${r.name.padEnd(6)} ${per} per UPDATE, ${n} prefixes: ${f.seconds.toFixed(2)} s, cpu ${f.cpuSeconds.toFixed(2)} s, ` +
            `rss ${(f.rssBytes / 2 ** 20).toFixed(0)} MB; one poll ${f.pollWallMs.toFixed(0)} ms, receiver CPU ${f.pollCpuMs.toFixed(0)} ms${f.complete ? '' : ` (INCOMPLETE: ${f.error})`}`,
        );
      }
    }
  }
  const series = (name: string, per: number, pick: (f: IngestFigure) => number): number[] =>
    Array.from({ length: ROUNDS }, (_, i) => {
      const f = figures.find((x) => x.receiver === name && x.perUpdate === per && x.round === i);
      return f?.complete ? pick(f) : Number.NaN;
    });
  for (const per of perUpdates) {
    for (const r of active) {
      const n = r.name === 'gobgp' ? gobgpCount : count;
      const scale = count / n; // GoBGP's time and CPU extrapolated to the full count for the ratio
      const mine = figures.filter((x) => x.receiver === r.name && x.perUpdate === per);
      const polls = mine.map((f) => `${f.pollWallMs.toFixed(0)} ms wall / ${f.pollCpuMs.toFixed(0)} ms receiver CPU`).join(', ');
      const incomplete = mine.filter((f) => !f.complete).map((f) => `round ${f.round + 1}: ${f.error}`);
      const notes = [
        `stop rule: the receiver's accepted-route count polled every ${pollMs} ms; one poll at the full table: ${polls}`,
        incomplete.length ? `incomplete: ${incomplete.join('; ')}` : undefined,
        n !== count ? `${n} prefixes (fewer: slow receiver); the ratio scales its time and CPU linearly to ${count}` : undefined,
      ].filter(Boolean).join('; ');
      const label = `BGP ingest ${count / 1e6}M /28 from 1 peer, 1 attribute set, ${per} per UPDATE, ${r.name}${n !== count ? ` (measured on ${n / 1e6}M, time and CPU extrapolated linearly)` : ''}`;
      const ref = (pick: (f: IngestFigure) => number) => (r.name === 'bird' ? {} : { reference: { name: 'bird, same round', values: series('bird', per, pick) }, direction: 'ref/value' as const });
      const values = (pick: (f: IngestFigure) => number) => series(r.name, per, pick);
      if (!values((f) => f.seconds).some(Number.isFinite)) {
        results.push({ name: `${label}: time`, value: Number.NaN, unit: 's', notes });
        continue;
      }
      results.push(figure({ name: `${label}: time to all routes accepted`, unit: 's', values: values((f) => f.seconds * scale), ...ref((f) => f.seconds), notes: `${notes}${scale !== 1 ? ' (values scaled)' : ''}` }));
      results.push(figure({ name: `${label}: receiver CPU`, unit: 's', values: values((f) => f.cpuSeconds * scale), ...ref((f) => f.cpuSeconds), notes: 'CPU seconds of the receiver process over the same interval' }));
      results.push(figure({ name: `${label}: peak RSS per route`, unit: 'B/route', values: values((f) => f.rssBytes / f.prefixes), ...ref((f) => f.rssBytes / f.prefixes), notes: 'VmHWM / routes (peak RSS of the receiver process)' }));
    }
  }
  // the realistic feed: two peers, ~100k attribute sets each, best path decides every prefix
  const wanted2 = envList('CNR_BENCH_BGP_REALISTIC', 'bird,frr,cnr');
  const active2 = receivers2.filter((x) => (wanted2.includes(x.name) || (x.name.startsWith('cnr-') && wanted2.includes('cnr'))) && (!x.name.startsWith('cnr') || cnrAvailable()));
  if (active2.length) {
    const real: IngestFigure[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of active2) {
        const f = await measureRealistic(r, count, pollMs, round);
        real.push(f);
        figures.push({ ...f, receiver: `${f.receiver}-realistic` });
        console.log(`  round ${round + 1} ${r.name.padEnd(6)} realistic, 2 peers x ${count} prefixes: ${f.seconds.toFixed(2)} s, cpu ${f.cpuSeconds.toFixed(2)} s, rss ${(f.rssBytes / 2 ** 20).toFixed(0)} MB; one poll ${f.pollWallMs.toFixed(0)} ms, receiver CPU ${f.pollCpuMs.toFixed(0)} ms${f.complete ? '' : ` (INCOMPLETE: ${f.error})`}`);
      }
    }
    const rser = (name: string, pick: (f: IngestFigure) => number): number[] =>
      Array.from({ length: ROUNDS }, (_, i) => {
        const f = real.find((x) => x.receiver === name && x.round === i);
        return f?.complete ? pick(f) : Number.NaN;
      });
    for (const r of active2) {
      const label = `BGP ingest, realistic feed: ${count / 1e6}M /24 from 2 peers (${2 * count / 1e6}M paths), ~100k attribute sets per peer (AS paths of 3-8, MEDs, communities), ${r.name}`;
      const ref = (pick: (f: IngestFigure) => number) => (r.name === 'bird' ? {} : { reference: { name: 'bird, same round', values: rser('bird', pick) }, direction: 'ref/value' as const });
      const polls = real.filter((f) => f.receiver === r.name).map((f) => `${f.pollWallMs.toFixed(0)} ms wall / ${f.pollCpuMs.toFixed(0)} ms receiver CPU`).join(', ');
      const incomplete = real.filter((f) => f.receiver === r.name && !f.complete).map((f) => `round ${f.round + 1}: ${f.error}`);
      const notes = `stop rule: every prefix holds both peers' paths by the receiver's own per-peer accepted counts (BIRD imported, FRR pfxRcd, cnr accepted with active routes of both peers adding up to every prefix), polled every ${pollMs} ms; one poll: ${polls}${incomplete.length ? `; incomplete: ${incomplete.join('; ')}` : ''}`;
      if (!rser(r.name, (f) => f.seconds).some(Number.isFinite)) {
        results.push({ name: `${label}: time`, value: Number.NaN, unit: 's', notes });
        continue;
      }
      results.push(figure({ name: `${label}: time to both paths of every prefix`, unit: 's', values: rser(r.name, (f) => f.seconds), ...ref((f) => f.seconds), notes }));
      results.push(figure({ name: `${label}: receiver CPU`, unit: 's', values: rser(r.name, (f) => f.cpuSeconds), ...ref((f) => f.cpuSeconds), notes: 'CPU seconds of the receiver process over the same interval' }));
      results.push(figure({ name: `${label}: peak RSS per prefix`, unit: 'B/prefix', values: rser(r.name, (f) => f.rssBytes / f.prefixes), ...ref((f) => f.rssBytes / f.prefixes), notes: 'VmHWM / prefixes (each with 2 paths)' }));
    }
  }
  // time until every route is in a forwarding table: BIRD into the kernel, cnr into its vRouter
  if ((process.env['CNR_BENCH_BGP_FIB'] ?? '1') !== '0') {
    const fibPollMs = 500;
    const fib: IngestFigure[] = [];
    // CNR_BENCH_BGP_FIB_BIRD=0 leaves BIRD out (cnr's layouts against each other, without its 20-40 s per round)
    const fibActive = fibReceivers.filter((r) => (r.name.startsWith('cnr') ? cnrAvailable() : process.env['CNR_BENCH_BGP_FIB_BIRD'] !== '0'));
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of fibActive) {
        const f = await measure(r, 100, count, fibPollMs, round);
        fib.push(f);
        figures.push(f);
        console.log(`  round ${round + 1} ${r.name.padEnd(11)} FIB, ${count} prefixes: ${f.seconds.toFixed(2)} s, cpu ${f.cpuSeconds.toFixed(2)} s, rss ${(f.rssBytes / 2 ** 20).toFixed(0)} MB; one poll ${f.pollWallMs.toFixed(0)} ms, receiver CPU ${f.pollCpuMs.toFixed(0)} ms${f.stallMs !== undefined ? `; longest event-loop stall ${f.stallMs} ms (on its CPU ${f.stallCpuMs} ms${f.stallGcMs !== undefined ? `; longest GC pause ${f.stallGcMs} ms ${f.stallGcKind}` : ''})` : ''}${f.complete ? '' : ` (INCOMPLETE: ${f.error})`}`);
      }
    }
    const fser = (name: string, pick: (f: IngestFigure) => number): number[] =>
      Array.from({ length: ROUNDS }, (_, i) => {
        const f = fib.find((x) => x.receiver === name && x.round === i);
        return f?.complete ? pick(f) : Number.NaN;
      });
    if (fibActive.some((r) => r.name === 'cnr-vrouter') && fser('cnr-vrouter', (f) => f.seconds).some(Number.isFinite)) {
      const polls = fib.filter((f) => f.receiver === 'cnr-vrouter').map((f) => `${f.pollWallMs.toFixed(0)} ms wall / ${f.pollCpuMs.toFixed(0)} ms CPU`).join(', ');
      results.push(figure({
        name: `${count / 1e6}M BGP routes (/28, 100 per UPDATE) until all are in the FIB: cnr start into its vRouter`,
        unit: 's',
        values: fser('cnr-vrouter', (f) => f.seconds),
        reference: { name: 'BIRD into the namespace kernel FIB, same round', values: fser('bird-kernel', (f) => f.seconds) },
        direction: 'ref/value',
        notes: `both counted every ${fibPollMs} ms (cnr: the vRouter's route counters through introspect /rt/count, one poll at 1M routes ${polls}; BIRD: /proc/net/fib_triestat); target 3 s`,
      }));
      results.push(figure({
        name: `${count / 1e6}M BGP routes into the vRouter FIB: CPU of the cnr process (controller + vRouter)`,
        unit: 's',
        values: fser('cnr-vrouter', (f) => f.cpuSeconds),
        reference: { name: 'BIRD process CPU (the kernel work of its route inserts is in its system time)', values: fser('bird-kernel', (f) => f.cpuSeconds) },
        direction: 'ref/value',
      }));
      results.push(figure({
        name: `${count / 1e6}M BGP routes into the vRouter FIB: peak RSS of the cnr process (controller + vRouter)`,
        unit: 'MB',
        values: fser('cnr-vrouter', (f) => f.rssBytes / 2 ** 20),
        reference: { name: 'BIRD (the kernel FIB memory is not in it)', values: fser('bird-kernel', (f) => f.rssBytes / 2 ** 20) },
        direction: 'ref/value',
      }));
      for (const [how, pick, note] of [
        ['by the wall clock', (f: IngestFigure) => f.stallMs ?? Number.NaN, 'perf_hooks.monitorEventLoopDelay; on a loaded machine it also counts the time the process waited for a core'],
        ["on the main thread's CPU", (f: IngestFigure) => f.stallCpuMs ?? Number.NaN, 'the thread\'s CPU time between two turns of the loop (/proc/thread-self/schedstat every 10 ms): what the code itself held the loop for'],
      ] as const) {
        results.push(figure({
          name: `${count / 1e6}M BGP routes into the vRouter FIB: longest event-loop stall of the cnr process while the routes came in, ${how}`,
          unit: 'ms',
          values: fser('cnr-vrouter', pick),
          notes: `from its route trace (src/cmd/route-trace.ts: ${note}), from the first routes waiting for the FIB until the programmer held them all; BFD detection times of 300 ms are the budget`,
        }));
      }
      // the variants (CNR_BENCH_BGP_FIB_VARIANTS) against this build, same rounds
      for (const v of fibActive.filter((r) => r.name.startsWith('cnr-vrouter-'))) {
        const what = v.name.slice('cnr-vrouter-'.length);
        for (const [label, unit, pick] of [['time until all are in the FIB', 's', (f: IngestFigure) => f.seconds], ['CPU of the process', 's', (f: IngestFigure) => f.cpuSeconds], ['longest event-loop stall (wall clock)', 'ms', (f: IngestFigure) => f.stallMs ?? Number.NaN], ['longest event-loop stall (thread CPU)', 'ms', (f: IngestFigure) => f.stallCpuMs ?? Number.NaN]] as const) {
          results.push(figure({
            name: `${count / 1e6}M BGP routes into the vRouter FIB: ${label}, this build against ${what}`,
            unit,
            values: fser('cnr-vrouter', pick),
            reference: { name: `cnr start, ${what}, same round`, values: fser(v.name, pick) },
            direction: 'ref/value',
          }));
        }
      }
    }
  }
  const file = writeResultsFile(repo, 'bgp-', { figures, results });
  console.log(`  bgp figures written to ${file}`);
  return results;
}

// `node dist/bench/bgp.bench.js` runs this benchmark alone.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run().then((r) => {
    for (const x of r) console.log(`${x.name}: ${x.value.toFixed(3)} ${x.unit}${x.ratio !== undefined ? ` (${x.ratio.toFixed(2)}x bird)` : ''}`);
  }, (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
