/**
 * FIB programming: 1M IPv4 routes (/24s, 4 next hops) from the controller's RIB through FIB
 * export, gRPC and the agent into the data plane of `cnr vrouter` in a process of its own,
 * each batch ACKed. The routes enter the RIB as BGP's decision process hands them over:
 * prefixes as values (ipv4PrefixCode), one shared route object per next hop
 * (announceSharedKey), announced in slices so that export and agent run while the RIB fills. Two figures, >= 3 rounds each (a fresh vRouter and a fresh namespace per
 * round), medians with min / max, ratios within each round (bench/lib/stats.ts):
 * - routes per CPU second of every process involved: the controller (this process, from the
 *   first announce to the last ACK) plus the vRouter process (/proc/PID/stat, all threads);
 *   on a shared machine the CPU time, unlike the wall clock, does not count the neighbours;
 * - routes per second, first announce to last ACK (wall clock; moves with the machine's load);
 * - the vRouter's resident memory per route (its RSS growth over the routes: LPM slots, the
 *   writer's route index, the agent's table), with its peak.
 * Routes go out as the agent asks (packed records to this release's agent); after the last ACK
 * the vRouter's own route counter (RouteCount) must show every route.
 * Reference in the same round: the kernel's own route insertion of the same 1M routes into a
 * table of a namespace made for the round, batched as cnr batches (bench/lib/route-loader.ts:
 * ~1000 RTM_NEWROUTE per sendmsg, ACKs drained asynchronously; not `ip -batch`, which waits
 * for each route's answer), its CPU the loader process's (the kernel inserts in its system
 * time). Ratio = cnr / kernel (higher is better). Root only for the kernel reference.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Dataplane } from '../src/dataplane/api.js';
import { AgentServer } from '../src/agent/server.js';
import { FibExport } from '../src/controller/rib/fib-export.js';
import { Rib } from '../src/controller/rib/rib.js';
import type { RibRoute } from '../src/controller/rib/types.js';
import { ipv4PrefixCode } from '../src/lib/addr.js';
import { figure, ROUNDS } from './lib/stats.js';
import type { BenchResult } from './types.js';

const GATEWAYS = ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'];
const cnrBin = fileURLToPath(new URL('../../bin/cnr', import.meta.url));
const routeLoader = fileURLToPath(new URL('./lib/route-loader.js', import.meta.url));

/** The k-th /24 as BGP's decoder hands it to the RIB: its ipv4PrefixCode (lib/addr). */
function prefixCodeOf(k: number): number {
  return ipv4PrefixCode((((16 + (k >>> 16)) << 24) | (((k >>> 8) & 255) << 16) | ((k & 255) << 8)) >>> 0, 24);
}

export interface CnrMeasure {
  seconds: number;
  acked: number;
  /** time the announce loop took (the RIB; export and agent run meanwhile) */
  ribSeconds: number;
  /** CPU seconds of the controller process (RIB + FIB export) */
  controllerCpu: number;
  /** CPU seconds of the vRouter process (agent + data plane), when it is a child */
  vrouterCpu?: number;
  rssMb: number;
  /** routes the data plane holds afterwards, from the vRouter's own counters (RouteCount) */
  programmed: number;
  /** the vRouter process (when a child): resident set growth over the routes, and its peak */
  vrouterRssDeltaMb?: number;
  vrouterPeakMb?: number;
}

/** The vRouter as `cnr vrouter` in its own process (the Kubernetes layout); resolves with its agent port. */
async function spawnVrouter(): Promise<{ proc: ChildProcess; port: number }> {
  // CNR_BENCH_NODE_FLAGS: extra node flags for the child (e.g. --cpu-prof when profiling)
  const flags = (process.env['CNR_BENCH_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...flags, cnrBin, 'vrouter', '--no-vhost', '--agent-address', '127.0.0.1:0', '--introspect', 'none', '--health', 'none'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`cnr vrouter did not start: ${buf}`)), 20_000);
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /agent on port (\d+)/.exec(buf);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    proc.once('exit', (code) => reject(new Error(`cnr vrouter exited (${code}): ${buf}`)));
  });
  return { proc, port };
}

/** A process's resident set now and at its peak, in MB (Linux /proc), or undefined. */
function rssOf(pid: number): { rss: number; peak: number } | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(st)?.[1] ?? Number.NaN);
    return { rss: kb('VmRSS') / 1000, peak: kb('VmHWM') / 1000 };
  } catch {
    return undefined;
  }
}

/** CPU seconds a process used so far (Linux /proc), or undefined. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return undefined;
  }
}

/**
 * 1M routes announced into the RIB as BGP would (4 next hops), exported, programmed, ACKed.
 * With `dataplane`, the agent runs in this process over it; otherwise `cnr vrouter` runs as a child.
 */
export async function measureCnr(n: number, dataplane?: Dataplane): Promise<CnrMeasure> {
  let child: ChildProcess | undefined;
  let agent: AgentServer | undefined;
  let port: number;
  if (dataplane) {
    agent = new AgentServer(dataplane, { address: '127.0.0.1:0' });
    port = await agent.start();
  } else {
    ({ proc: child, port } = await spawnVrouter());
  }
  const rib = new Rib();
  // CNR_FIB_WINDOW / CNR_FIB_BATCH: FIB export tuning (messages in flight, routes per message)
  const exp = new FibExport(rib, {
    address: `127.0.0.1:${port}`,
    window: Number(process.env['CNR_FIB_WINDOW'] ?? 16),
    batchSize: Number(process.env['CNR_FIB_BATCH'] ?? 2000),
  });
  try {
    exp.setInterface('fib0', { name: 'fib0', driver: 'memory', addresses: ['10.0.0.1/24'] });
    rib.announce('inet.0', 'direct:fib0', { prefix: '10.0.0.0/24', protocol: 'direct', preference: 0, nexthops: [{ interface: 'fib0' }] });
    exp.start();
    await exp.whenIdle(30_000);
    // the prefixes as values, as BGP's decoder hands them over, and one route object per next
    // hop shared by every prefix that has it, as BGP shares one per UPDATE's attribute set
    const prefixes = Array.from({ length: n }, (_, i) => prefixCodeOf(i));
    const shared = GATEWAYS.map((gateway): RibRoute => ({ prefix: '', protocol: 'bgp', preference: 170, nexthops: [{ gateway }] }));
    const before = exp.status().routesAcked;
    const childCpu0 = child ? cpuSeconds(child.pid!) : undefined;
    const childRss0 = child ? rssOf(child.pid!) : undefined;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    // announce in slices so that export and agent run while the RIB fills, as with BGP
    const slice = 20_000;
    for (let k = 0; k < n; k += slice) {
      const end = Math.min(n, k + slice);
      for (let i = k; i < end; i++) {
        rib.announceSharedKey('inet.0', 'bgp', prefixes[i]!, shared[i & 3]!);
      }
      await new Promise((r) => setImmediate(r));
    }
    const ribSeconds = (performance.now() - t0) / 1000;
    await exp.whenIdle(600_000);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const childCpu1 = child ? cpuSeconds(child.pid!) : undefined;
    const acked = exp.status().routesAcked - before;
    console.log(`fib: ${acked} routes ACKed in ${seconds.toFixed(2)} s (announce loop ${ribSeconds.toFixed(2)} s)`);
    const childRss1 = child ? rssOf(child.pid!) : undefined;
    // the vRouter's own count (its route counters, no walk): every route is in its FIB
    const programmed = (await exp.routeCounts('default', 60_000))[0]?.inet ?? 0;
    if (programmed < n) throw new Error(`data plane holds ${programmed} routes, expected at least ${n}`);
    const m: CnrMeasure = { seconds, acked, ribSeconds, controllerCpu: (cpu.user + cpu.system) / 1e6, rssMb: Math.round(process.memoryUsage().rss / 1e6), programmed };
    if (childCpu0 !== undefined && childCpu1 !== undefined) m.vrouterCpu = childCpu1 - childCpu0;
    if (childRss0 && childRss1) {
      m.vrouterRssDeltaMb = childRss1.rss - childRss0.rss;
      m.vrouterPeakMb = childRss1.peak;
    }
    return m;
  } finally {
    await exp.stop();
    await agent?.stop();
    if (child) await stopChild(child);
  }
}

function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => c.kill('SIGKILL'), 5000);
    c.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    c.kill('SIGTERM');
  });
}

/** The same routes into a fresh namespace's table 100 by the batched rtnetlink loader; its wall and CPU seconds. */
export function measureKernel(n: number): { seconds: number; cpuSeconds: number } | { skipped: string } {
  if (process.getuid?.() !== 0) return { skipped: 'not root: no namespace for the kernel reference' };
  const ns = `cnrfib-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', ns]);
    const ipn = (...a: string[]) => execFileSync('ip', ['-n', ns, ...a]);
    ipn('link', 'add', 'fib0', 'type', 'veth', 'peer', 'name', 'fib1');
    ipn('addr', 'add', '10.0.0.1/24', 'dev', 'fib0');
    ipn('link', 'set', 'fib0', 'up');
    ipn('link', 'set', 'fib1', 'up');
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, routeLoader, JSON.stringify({ routes: 'fib24', n, gateways: GATEWAYS, dev: 'fib0', table: 100 })], { encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) throw new Error(`route loader failed: ${(r.stderr ?? '').slice(0, 300)}`);
    const res = JSON.parse(r.stdout) as { loaded: number; errors: number; seconds: number; cpuSeconds: number };
    const count = execFileSync('ip', ['-n', ns, 'route', 'show', 'table', '100'], { maxBuffer: 1 << 30 }).toString().split('\n').filter(Boolean).length;
    if (count < n) throw new Error(`kernel table holds ${count} routes, expected ${n} (${res.errors} refused)`);
    return { seconds: res.seconds, cpuSeconds: res.cpuSeconds };
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

export async function run(): Promise<BenchResult[]> {
  const n = Number(process.env['CNR_FIB_ROUTES'] ?? 1_000_000);
  const cnrWall: number[] = [];
  const cnrCpu: number[] = [];
  const kWall: number[] = [];
  const kCpu: number[] = [];
  const cpuNotes: string[] = [];
  const dpBytes: number[] = [];
  const peaks: string[] = [];
  let skipped: string | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    const cnr = await measureCnr(n);
    const both = cnr.controllerCpu + (cnr.vrouterCpu ?? Number.NaN);
    cnrWall.push(cnr.acked / cnr.seconds);
    cnrCpu.push(cnr.acked / both);
    cpuNotes.push(`${cnr.controllerCpu.toFixed(2)}+${cnr.vrouterCpu?.toFixed(2) ?? '?'}`);
    dpBytes.push(((cnr.vrouterRssDeltaMb ?? Number.NaN) * 1e6) / n);
    peaks.push(`${cnr.vrouterPeakMb?.toFixed(0) ?? '?'} MB`);
    const kernel = measureKernel(n);
    if ('seconds' in kernel) {
      kWall.push(n / kernel.seconds);
      kCpu.push(n / kernel.cpuSeconds);
    } else {
      skipped = kernel.skipped;
      kWall.push(Number.NaN);
      kCpu.push(Number.NaN);
    }
    console.log(`fib round ${round + 1}: cnr ${cnr.seconds.toFixed(2)} s (announce loop ${cnr.ribSeconds.toFixed(2)} s), CPU controller ${cnr.controllerCpu.toFixed(2)} s + vRouter ${cnr.vrouterCpu?.toFixed(2) ?? '?'} s (controller RSS ${cnr.rssMb} MB, vRouter RSS +${cnr.vrouterRssDeltaMb?.toFixed(0) ?? '?'} MB, peak ${cnr.vrouterPeakMb?.toFixed(0) ?? '?'} MB); kernel ${'seconds' in kernel ? `${kernel.seconds.toFixed(2)} s, CPU ${kernel.cpuSeconds.toFixed(2)} s` : kernel.skipped}`);
  }
  const ref = (values: number[], what: string) => (skipped ? undefined : { name: `kernel, batched rtnetlink (~1000 RTM_NEWROUTE per sendmsg, asynchronous ACKs) into a netns table: ${what}`, values });
  const cpuFig = figure({
    name: `FIB programming, ${n / 1e6}M IPv4 routes (/24, 4 next hops) with ACKs: routes per CPU second of controller + vRouter`,
    unit: 'routes/CPU-s',
    values: cnrCpu,
    ...(skipped ? {} : { reference: ref(kCpu, 'routes per CPU second of the loader process')! }),
    notes: `CPU s per round, controller + vRouter: ${cpuNotes.join(', ')}; vRouter in its own process${skipped ? `; kernel reference skipped: ${skipped}` : ''}`,
  });
  const wallFig = figure({
    name: `FIB programming, ${n / 1e6}M IPv4 routes (/24, 4 next hops) with ACKs: routes per second, first announce to last ACK`,
    unit: 'routes/s',
    values: cnrWall,
    ...(skipped ? {} : { reference: ref(kWall, 'routes per second')! }),
    notes: 'wall clock: moves with the load of the shared machine; the CPU figure is the steadier one',
  });
  const memFig = figure({
    name: `FIB programming, ${n / 1e6}M IPv4 routes (/24, 4 next hops): vRouter resident memory per route (LPM slots, the writer's route index, the agent's table)`,
    unit: 'B/route',
    values: dpBytes,
    notes: `growth of the vRouter process's resident set from before the first route to the last ACK, over the routes; its peak RSS per round: ${peaks.join(', ')}; no kernel reference (the kernel FIB's memory is not a process's)`,
  });
  return [cpuFig, wallFig, memFig];
}
