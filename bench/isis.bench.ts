/**
 * IS-IS convergence (issue 13): an injector (bench/lib/isis-injector.ts, in its own namespace,
 * over cnr's kernel FramePort) forms a level-2 point-to-point adjacency with the receiver and
 * floods a generated topology (bench/lib/isis-topology.ts: a random connected graph of 1k and
 * 10k routers, average degree 4, 2 prefixes each, wide metrics, seed 13). Receivers, in turn
 * within a round: cnr's IS-IS with a real RIB in a process of its own over its kernel
 * FramePort (bench/lib/isis-cnr-receiver.ts: the controller's IS-IS without a vRouter),
 * `cnr start` as deployed (controller and vRouter in one process, the veth attached to the
 * vRouter, PDUs through its punt channel, routes counted in the vRouter's FIB), and FRR's
 * isisd + zebra (Debian FRR), which install into the namespace's kernel FIB.
 *
 * Per receiver: the time from the adjacency coming Up (the injector starts flooding) until the
 * receiver's own count of installed IS-IS routes reaches routers x 2 — cnr: active IS-IS routes
 * in its RIB's inet.0 (kept by the receiver from the RIB's change stream, a poll is one line on
 * stdin); cnr start: the vRouter FIB's IPv4 routes (show route summary) less those before; FRR: `ip route show proto isis` in its namespace (zebra's routes in the kernel) —
 * both polled every CNR_BENCH_ISIS_POLL_MS (default 100), with the cost of one poll stated;
 * the CPU (user + sys, /proc/PID/stat) of the receiver's processes from the injector's start to
 * that moment (cnr: its one process; FRR: isisd + zebra) and their peak RSS (VmHWM, summed).
 * Then the SPF time alone: each receiver's own timing of its last full SPF + route computation
 * (cnr's SPF log, FRR's `show isis summary` "last run duration"), and cnr's SPF
 * (src/controller/protocols/isis/spf.ts) over the generated graph in this process.
 *
 * Method (issue 16, bench/lib/stats.ts): >= 3 rounds, ratios formed within a round (FRR / cnr:
 * above 1 = cnr better), median with min / max. Knobs: CNR_BENCH_ISIS_ROUTERS ("1000,10000"),
 * CNR_BENCH_ISIS_CNR_RCVBUF (an experiment: SO_RCVBUFFORCE bytes on cnr's frame socket),
 * CNR_BENCH_ISIS_RECEIVERS ("cnr,cnr-start,frr"; also "cnr-small-young": cnr's receiver with
 * `--small-young-generation`, V8's young generation kept at its starting size), CNR_BENCH_ISIS_POLL_MS (100), CNR_BENCH_ISIS_BURST (10 LSPs
 * per millisecond at most from the injector), CNR_BENCH_ISIS_NODE_ARGS (node options for cnr's
 * receiver, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p" to profile it).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { BenchResult } from './types.js';
import { figure, median, ROUNDS } from './lib/stats.js';
import { writeResultsFile } from './lib/machine.js';
import { processSeconds } from './lib/cpu-stat.js';
import { generateTopology, spfGraphOf } from './lib/isis-topology.js';
import { computePrefixes, computeSpf } from '../src/controller/protocols/isis/spf.js';
import { Lab, canBuildLabs } from '../test/interop/harness/lab.js';
import { memBytes, readPidFile, runAsync, sleep, type Daemon } from '../test/interop/harness/proc.js';
import { isisSkip, startFrrIsisd } from '../test/interop/isis-lab.js';
import { Cnr, cnrAvailable } from '../test/interop/harness/cnr.js';
import { launchFlagsOf } from '../src/lib/launch-flags.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const injectorJs = join(here, 'lib', 'isis-injector.js');
const cnrReceiverJs = join(here, 'lib', 'isis-cnr-receiver.js');
const cnrBin = resolve(here, '..', '..', 'bin', 'cnr');

const INJ_ADDR = '100.64.0.1';
const RCV_ADDR = '100.64.0.2';
const RCV_SYSTEM_ID = '0000.0000.0002';

interface Started {
  pids(): number[];
  count(): Promise<number>;
  /** the receiver's own timing of its last full SPF + route computation, ms */
  lastSpfMs(): Promise<number>;
  /** what the receiver says of itself, kept in the results file (cnr: LSDB size, SPF runs, drops) */
  state(): Promise<unknown>;
}

interface Receiver {
  name: string;
  start(lab: Lab, ns: string, ifname: string): Promise<Started>;
}

/** JSON lines of a child's stdout, read one at a time. */
function lineReader(d: Daemon): () => Promise<Record<string, unknown>> {
  const queue: Record<string, unknown>[] = [];
  const waiters: ((v: Record<string, unknown>) => void)[] = [];
  createInterface({ input: d.child.stdout! }).on('line', (line) => {
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const w = waiters.shift();
    if (w) w(v);
    else queue.push(v);
  });
  return () => {
    const v = queue.shift();
    if (v) return Promise.resolve(v);
    return new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`${d.name}: no answer within 10 s: ${d.output().slice(-500)}`)), 10_000);
      waiters.push((x) => {
        clearTimeout(t);
        res(x);
      });
    });
  };
}

/**
 * cnr's IS-IS in a process of its own (isis-cnr-receiver.ts), with `extraArgs` for it: the
 * 'cnr' receiver with none, 'cnr-small-young' with `--small-young-generation` (the option of
 * `cnr start` / `cnr controller` that keeps V8's young generation at its starting size:
 * src/lib/young-generation.ts).
 */
function cnrReceiver(name: string, extraArgs: readonly string[]): Receiver {
  return {
    name,
    async start(lab, ns, ifname) {
      // CNR_BENCH_ISIS_NODE_ARGS: node options for the receiver (profiling: --cpu-prof --cpu-prof-dir=DIR)
      // bin/cnr's own flags (its young-generation floor), as `cnr controller` runs, except for the
      // receiver measuring the opt-out, which bin/cnr refuses under the floor (docs/cli.md)
      const launch = extraArgs.includes('--small-young-generation') ? [] : launchFlagsOf(cnrBin);
      const nodeArgs = [...launch, ...(process.env['CNR_BENCH_ISIS_NODE_ARGS'] ?? '').split(' ').filter(Boolean)];
      const d = lab.daemon('cnr-isis', ns, process.execPath, [...nodeArgs, cnrReceiverJs, '--ifname', ifname, '--addr', `${RCV_ADDR}/30`, '--system-id', RCV_SYSTEM_ID, ...extraArgs, ...(process.env['CNR_BENCH_ISIS_CNR_RCVBUF'] ? ['--rcvbuf', process.env['CNR_BENCH_ISIS_CNR_RCVBUF']] : [])], undefined, 'pipe');
      const next = lineReader(d);
      await next();
      let last: { count: number; spf: { durationMs: number; nodes: number; partial: boolean }[]; stats?: unknown; mem?: unknown } = { count: 0, spf: [] };
      const ask = async () => {
        d.child.stdin!.write('count\n');
        last = (await next()) as typeof last;
        return last;
      };
      return {
        pids: () => [d.pid],
        count: async () => (await ask()).count,
        lastSpfMs: async () => {
          const full = (await ask()).spf.filter((e) => !e.partial);
          return full.length ? full[full.length - 1]!.durationMs : Number.NaN;
        },
        state: async () => {
          const s = await ask();
          return { stats: s.stats, mem: s.mem, spfLog: s.spf.slice(-5) };
        },
      };
    },
  };
}

const receivers: Receiver[] = [
  cnrReceiver('cnr', []),
  // opt-in (CNR_BENCH_ISIS_RECEIVERS=cnr,cnr-small-young,frr): what the option saves and costs
  cnrReceiver('cnr-small-young', ['--small-young-generation']),
  {
    // `cnr start` as deployed: controller and vRouter in one process, the veth attached to the
    // vRouter (af_packet), IS-IS's PDUs through the vRouter's punt channel (the agent's Frames
    // stream, VrouterFramePort) and the routes counted where they end up: the vRouter's FIB
    name: 'cnr-start',
    async start(lab, ns, ifname) {
      const cnr = await Cnr.start(lab, ns, `isisb${process.pid}`, {
        asn: 65000,
        routerId: RCV_ADDR,
        neighbors: [],
        interfaces: [{ name: ifname, addresses: [`${RCV_ADDR}/30`] }],
        extra: [
          `set interfaces lo0 unit 0 family iso address 49.0001.${RCV_SYSTEM_ID}.00`,
          `set interfaces ${ifname} unit 0 family iso`,
          `set protocols isis interface ${ifname} point-to-point`,
          `set protocols isis interface ${ifname} hello-interval 1`,
          `set protocols isis interface ${ifname} level 2 metric 10`,
          'set protocols isis level 1 disable',
        ],
      }, 60_000, { vrouter: true, vhost: false, introspect: '127.0.0.1:18190' });
      // the vRouter's IPv4 routes of the default VRF (its own system routes included): counted
      // before the flood, so that the figure is the IS-IS routes installed
      const fibRoutes = async (): Promise<number> => {
        const d = await cnr.json<{ vrouterRoutes?: { vrf: string; inet: number }[] }>('show route summary');
        return (d.vrouterRoutes ?? []).reduce((n, c) => n + c.inet, 0);
      };
      const base = await fibRoutes();
      const spfLog = async () => (await cnr.json<{ log: { durationMs: number; nodes: number; partial: boolean }[] }>('show isis spf log')).log;
      return {
        pids: () => [cnr.daemon.pid],
        count: async () => (await fibRoutes()) - base,
        lastSpfMs: async () => {
          const full = (await spfLog()).filter((e) => !e.partial);
          return full.length ? full[full.length - 1]!.durationMs : Number.NaN;
        },
        state: async () => ({ spfLog: (await spfLog()).slice(-5), summary: await cnr.json('show route summary') }),
      };
    },
  },
  {
    name: 'frr',
    async start(lab, ns, ifname) {
      const host = 'frrbench';
      const frr = await startFrrIsisd(lab, ns, host, [
        `interface ${ifname}`, ' ip router isis 1', ' isis network point-to-point', ' isis hello-interval 1', '!',
        // lsp-gen-interval 1 as in the interop tests: FRR's own LSP (listing the injector, which
        // the two-way check needs) comes out within a second instead of the default's later
        'router isis 1', ` net 49.0001.${RCV_SYSTEM_ID}.00`, ' is-type level-2-only', ' metric-style wide', ' lsp-gen-interval 1', '!',
      ]);
      const runDir = join(lab.dir, `frr-run-${host}`);
      const pids = ['zebra', 'isisd'].map((d) => readPidFile(join(runDir, `${d}.pid`))).filter((p): p is number => p !== undefined);
      if (pids.length !== 2) throw new Error('FRR pid files missing');
      return {
        pids: () => pids,
        count: async () => {
          const r = await runAsync('ip', ['-n', ns, '-4', 'route', 'show', 'proto', 'isis'], 10_000);
          return r.stdout.split('\n').filter((l) => l.trim()).length;
        },
        lastSpfMs: async () => {
          const m = /IPv4 route computation:[\s\S]*?last run duration\s*:\s*(\d+)\s*usec/.exec(frr.vtysh('show isis summary'));
          return m ? Number(m[1]) / 1000 : Number.NaN;
        },
        state: async () => ({ summary: frr.vtysh('show isis summary') }),
      };
    },
  },
];

export interface IsisFigure {
  receiver: string;
  routers: number;
  round: number;
  expected: number;
  counted: number;
  complete: boolean;
  /** s from the adjacency Up (flooding starts) until the receiver counted every route */
  seconds: number;
  /** when the adjacency came Up (ms, Date.now()): the SPF logs' `at` in the state are on the same clock */
  upAt: number;
  /** s from the adjacency Up until the injector had sent every LSP once */
  floodSeconds: number;
  /** LSPs the receiver asked for again in PSNPs (lost on the way in), by the stop */
  requested: number;
  cpuSeconds: number;
  rssBytes: number;
  /** RSS of the receiver's processes when ready, before the flood: the runtime and code (cnr: node with the modules loaded) */
  readyRssBytes: number;
  spfMs: number;
  pollWallMs: number;
  pollCpuMs: number;
  /** the receiver's own account at the end (Started.state) */
  state?: unknown;
  error?: string;
}

async function measure(r: Receiver, routers: number, pollMs: number, round: number): Promise<IsisFigure> {
  const expected = routers * 2;
  const fig: IsisFigure = {
    receiver: r.name, routers, round, expected, counted: 0, complete: false, seconds: NaN, upAt: NaN, floodSeconds: NaN, requested: 0, cpuSeconds: NaN, rssBytes: NaN, readyRssBytes: NaN, spfMs: NaN, pollWallMs: NaN, pollCpuMs: NaN,
  };
  const lab = new Lab('isb');
  const timeoutMs = 60_000 + routers * 15;
  try {
    const nsI = lab.ns('inj');
    const nsR = lab.ns('rcv');
    const link = lab.link(nsI, nsR, { a4: `${INJ_ADDR}/30`, b4: `${RCV_ADDR}/30` });
    const rcv = await r.start(lab, nsR, link.ifB);
    const cpu0 = processSeconds(rcv.pids());
    fig.readyRssBytes = rcv.pids().reduce((s, p) => s + memBytes(p, 'VmRSS'), 0);
    const inj = lab.daemon('isis-injector', nsI, process.execPath, [injectorJs, '--ifname', link.ifA, '--addr', INJ_ADDR, '--receiver', RCV_SYSTEM_ID, '--routers', String(routers), '--burst', process.env['CNR_BENCH_ISIS_BURST'] ?? '10']);
    const next = lineReader(inj);
    const ev = async (name: string, ms: number) => {
      const deadline = Date.now() + ms;
      for (;;) {
        // the timer is cleared, so that a finished run leaves nothing to keep the process alive
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<undefined>((res) => {
          timer = setTimeout(() => res(undefined), Math.max(1, deadline - Date.now()));
        });
        const line = next();
        line.catch(() => {}); // a line that comes after the deadline is nobody's business
        const v = await Promise.race([line, timeout]);
        clearTimeout(timer);
        if (v?.['event'] === name) return v;
        if (v?.['event'] === 'error') throw new Error(`injector: ${String(v['message'])}`);
        if (Date.now() > deadline) throw new Error(`injector: no ${name} within ${ms} ms: ${inj.output().slice(-500)}`);
      }
    };
    await ev('encoded', 60_000);
    const up = await ev('adjacency-up', 60_000);
    const t0 = Number(up['t']);
    fig.upAt = t0;
    const flooded = ev('flooded', timeoutMs).then((v) => {
      fig.floodSeconds = (Number(v['t']) - t0) / 1000;
    }, () => {});
    const deadline = t0 + timeoutMs;
    let lastLog = Date.now();
    for (;;) {
      const n = await rcv.count().catch(() => fig.counted);
      const t = Date.now();
      fig.counted = n;
      if (n >= expected) {
        fig.seconds = (t - t0) / 1000;
        fig.complete = true;
        break;
      }
      if (t > deadline) {
        fig.seconds = (t - t0) / 1000;
        fig.error = `timed out holding ${n} of ${expected} routes`;
        break;
      }
      if (t - lastLog > 10_000) {
        lastLog = t;
        console.log(`  ${r.name}: ${n} of ${expected} routes after ${((t - t0) / 1000).toFixed(1)} s`);
      }
      await sleep(pollMs);
    }
    fig.cpuSeconds = processSeconds(rcv.pids()) - cpu0;
    // the injector's last word on LSPs asked for again (its 'requested' lines)
    for (const m of inj.output().matchAll(/"event":"requested","t":\d+,"total":(\d+)/g)) fig.requested = Number(m[1]);
    fig.rssBytes = rcv.pids().reduce((s, p) => s + memBytes(p, 'VmHWM'), 0);
    await flooded;
    // one poll with the full table: its wall time, and the receiver's CPU meanwhile (10 ms ticks)
    const pc0 = processSeconds(rcv.pids());
    const pw0 = performance.now();
    await rcv.count().catch(() => 0);
    fig.pollWallMs = performance.now() - pw0;
    fig.pollCpuMs = (processSeconds(rcv.pids()) - pc0) * 1000;
    // let the last SPF settle before reading its duration
    await sleep(1500);
    fig.spfMs = await rcv.lastSpfMs().catch(() => NaN);
    fig.state = await rcv.state().catch((e: Error) => e.message);
    if (!fig.complete) console.log(`  ${r.name} at the stop: ${JSON.stringify(fig.state).slice(0, 1500)}`);
  } catch (err) {
    fig.error = err instanceof Error ? err.message : String(err);
  } finally {
    await lab.close();
  }
  return fig;
}

/** cnr's SPF + prefix computation over the generated graph, in this process: median of 5 runs, ms. */
function spfAlone(routers: number): number {
  const graph = spfGraphOf(generateTopology(routers), `${RCV_SYSTEM_ID}.00`);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const s = computeSpf(graph, `${RCV_SYSTEM_ID}.00`);
    const p = computePrefixes(graph, `${RCV_SYSTEM_ID}.00`, s.vertices);
    times.push(performance.now() - t);
    if (p.size !== routers * 2) throw new Error(`SPF over ${routers} routers found ${p.size} prefixes`);
  }
  return median(times);
}

function envList(name: string, dflt: string): string[] {
  return (process.env[name] ?? dflt).split(',').map((s) => s.trim()).filter(Boolean);
}

export async function run(): Promise<BenchResult[]> {
  const sizes = envList('CNR_BENCH_ISIS_ROUTERS', '1000,10000').map(Number);
  const results: BenchResult[] = [];
  const spf: { routers: number; round: number; ms: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) for (const n of sizes) spf.push({ routers: n, round, ms: spfAlone(n) });
  for (const n of sizes) {
    results.push(figure({
      name: `IS-IS SPF + route computation alone, ${n} routers (deg 4, ${n * 2} prefixes), cnr in-process`,
      unit: 'ms',
      values: spf.filter((s) => s.routers === n).map((s) => s.ms),
      notes: 'computeSpf + computePrefixes over the generated graph, median of 5 runs per round; no reference (FRR\'s SPF cannot be run alone; its own timing is the figure below)',
    }));
  }
  const skip = !canBuildLabs() ? 'needs root to build network namespaces' : isisSkip;
  if (skip) {
    console.log(`isis: convergence skipped (${skip})`);
    return results;
  }
  for (const f of [injectorJs, cnrReceiverJs]) if (!existsSync(f)) throw new Error(`${f} missing: build first`);
  const wanted = envList('CNR_BENCH_ISIS_RECEIVERS', 'cnr,cnr-start,frr');
  const pollMs = Number(process.env['CNR_BENCH_ISIS_POLL_MS'] ?? 100);
  // cnr start needs the whole node built (the interop harness's check)
  const active = receivers.filter((r) => wanted.includes(r.name) && (r.name !== 'cnr-start' || cnrAvailable()));
  const figures: IsisFigure[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const n of sizes) {
      for (const r of active) {
        const f = await measure(r, n, pollMs, round);
        figures.push(f);
        console.log(
          `  round ${round + 1} ${r.name.padEnd(4)} ${n} routers: ${f.seconds.toFixed(2)} s (flooded in ${f.floodSeconds.toFixed(2)} s, ${f.requested} LSPs asked for again), cpu ${f.cpuSeconds.toFixed(2)} s, ` +
            `rss ${(f.rssBytes / 2 ** 20).toFixed(1)} MB (${(f.readyRssBytes / 2 ** 20).toFixed(1)} MB when ready), last SPF ${f.spfMs.toFixed(2)} ms; one poll ${f.pollWallMs.toFixed(0)} ms wall, receiver CPU ${f.pollCpuMs.toFixed(0)} ms${f.complete ? '' : ` (INCOMPLETE: ${f.error})`}`,
        );
      }
    }
  }
  const series = (name: string, n: number, pick: (f: IsisFigure) => number): number[] =>
    Array.from({ length: ROUNDS }, (_, i) => {
      const f = figures.find((x) => x.receiver === name && x.routers === n && x.round === i);
      return f?.complete ? pick(f) : Number.NaN;
    });
  // one set of rows per cnr receiver: its IS-IS over the kernel frame port ('cnr'), and `cnr
  // start` through the vRouter's punt channel ('cnr-start'), each against FRR of the same round
  const mineOf: Record<string, { label: string; how: string }> = {
    cnr: { label: 'cnr', how: "its RIB's active IS-IS routes" },
    'cnr-small-young': { label: 'cnr --small-young-generation', how: "its RIB's active IS-IS routes" },
    'cnr-start': { label: 'cnr start (through the vRouter)', how: "the vRouter FIB's IPv4 routes less those before the flood, by show route summary" },
  };
  for (const n of sizes) {
    const label = `IS-IS ${n} routers (deg 4, ${n * 2} prefixes) flooded over 1 p2p adjacency`;
    const theirs = figures.filter((x) => x.receiver === 'frr' && x.routers === n);
    const polls = (fs: IsisFigure[]) => fs.map((f) => `${f.pollWallMs.toFixed(0)} ms wall / ${f.pollCpuMs.toFixed(0)} ms receiver CPU`).join(', ');
    for (const who of active.map((r) => r.name).filter((x) => x in mineOf)) {
      const { label: me, how } = mineOf[who]!;
      const mine = figures.filter((x) => x.receiver === who && x.routers === n);
      const incomplete = [...mine, ...theirs].filter((f) => !f.complete).map((f) => `${f.receiver} round ${f.round + 1}: ${f.error}`);
      const notes = [
        `stop rule: each receiver's count of installed IS-IS routes polled every ${pollMs} ms (${me}: ${how}, one poll ${polls(mine)}; FRR: ip route show proto isis, one poll ${polls(theirs)})`,
        incomplete.length ? `incomplete: ${incomplete.join('; ')}` : undefined,
      ].filter(Boolean).join('; ');
      if (!series(who, n, (f) => f.seconds).some(Number.isFinite)) {
        results.push({ name: `${label}: time, ${me}`, value: Number.NaN, unit: 's', notes });
        continue;
      }
      const ref = (pick: (f: IsisFigure) => number) => (active.some((r) => r.name === 'frr') ? { reference: { name: 'FRR isisd + zebra, same round', values: series('frr', n, pick) }, direction: 'ref/value' as const } : {});
      results.push(figure({ name: `${label}: time from adjacency Up to all routes installed, ${me}`, unit: 's', values: series(who, n, (f) => f.seconds), ...ref((f) => f.seconds), notes }));
      results.push(figure({ name: `${label}: receiver CPU (user+sys), ${me}`, unit: 's', values: series(who, n, (f) => f.cpuSeconds), ...ref((f) => f.cpuSeconds), notes: 'cnr: its one process (cnr start: controller and vRouter); FRR: isisd + zebra (the kernel FIB inserts are in zebra\'s system time); from the injector\'s start to the stop' }));
      results.push(figure({ name: `${label}: receiver peak RSS, ${me}`, unit: 'MB', values: series(who, n, (f) => f.rssBytes / 2 ** 20), ...ref((f) => f.rssBytes / 2 ** 20), notes: 'VmHWM summed over the receiver\'s processes (FRR: isisd + zebra; the kernel FIB is in neither; cnr start: the vRouter\'s FIB and packet buffers are in it)' }));
      results.push(figure({ name: `${label}: receiver RSS when ready, before the flood, ${me}`, unit: 'MB', values: series(who, n, (f) => f.readyRssBytes / 2 ** 20), ...ref((f) => f.readyRssBytes / 2 ** 20), notes: 'VmRSS of the receiver\'s processes once started and configured: the runtime and its code (cnr: node with the modules loaded; FRR: isisd + zebra), the share of the peak that no route costs' }));
      results.push(figure({ name: `${label}: the receiver's own timing of its last full SPF + routes, ${me}`, unit: 'ms', values: series(who, n, (f) => f.spfMs), ...ref((f) => f.spfMs), notes: 'cnr: the last non-partial entry of its SPF log; FRR: show isis summary, IPv4 route computation, last run duration' }));
    }
  }
  const file = writeResultsFile(repo, 'isis-', { figures, spfAlone: spf, results });
  console.log(`  isis figures written to ${file}`);
  return results;
}

// `node dist/bench/isis.bench.js` runs this benchmark alone.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run().then((r) => {
    for (const x of r) console.log(`${x.name}: ${x.value.toFixed(3)} ${x.unit}${x.ratio !== undefined ? ` (ratio ${x.ratio.toFixed(2)})` : ''}`);
  }, (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
