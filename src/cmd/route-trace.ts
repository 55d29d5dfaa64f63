/**
 * A development trace of the route path in one process (`CNR_TRACE_ROUTES=MS cnr start`): every
 * MS milliseconds one log line with the routes waiting for the FIB export, the routes the agent
 * acknowledged, the routes its programmer holds, and the longest event-loop stall since the
 * last line, twice: by the wall clock (perf_hooks.monitorEventLoopDelay) and as the main
 * thread's CPU time between two turns (/proc/thread-self/schedstat, read every 10 ms) — on a
 * loaded machine the wall clock also counts the time the process waited for a core, the CPU
 * time only what the thread itself did in one go. Beside them the longest garbage-collection
 * pause of the main thread in the interval (perf_hooks 'gc' entries, with its kind): whether a
 * stall was V8 collecting a large heap or our own code. At stop, the longest of the whole run.
 * The benchmarks read it to place each stage in time and to see how long the loop stood still
 * (BFD's 300 ms detection times are the budget), without a profiler in the measured process.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/** A GC entry's kind as the trace names it. */
function gcKind(e: PerformanceEntry): string {
  const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0;
  if (kind & constants.NODE_PERFORMANCE_GC_MAJOR) return 'major';
  if (kind & constants.NODE_PERFORMANCE_GC_MINOR) return 'minor';
  if (kind & constants.NODE_PERFORMANCE_GC_INCREMENTAL) return 'incremental';
  return 'weak-callbacks';
}

/** The main thread's time on a CPU so far, ns (Linux schedstat), or undefined. */
function threadCpu(fd: number | undefined, buf: Buffer): number | undefined {
  if (fd === undefined) return undefined;
  const n = readSync(fd, buf, 0, buf.length, 0);
  return Number(buf.toString('latin1', 0, n).split(' ')[0]);
}

export interface RouteTraceSources {
  /** route changes and objects waiting in the FIB export, and its acknowledged routes */
  fib: () => { pending: number; routesAcked: number; messagesAcked?: number };
  /** routes the in-process programmer holds (absent without a vRouter in this process) */
  programmed?: () => number;
  log: (line: string) => void;
}

/** Starts the trace when CNR_TRACE_ROUTES names an interval; returns its stop (which logs the run's longest stall). */
export function startRouteTrace(src: RouteTraceSources, env = process.env['CNR_TRACE_ROUTES']): () => void {
  const every = Number(env);
  if (!env || !Number.isFinite(every) || every <= 0) return () => {};
  const window = monitorEventLoopDelay({ resolution: 5 });
  const whole = monitorEventLoopDelay({ resolution: 5 });
  window.enable();
  whole.enable();
  let fd: number | undefined;
  try {
    fd = openSync('/proc/thread-self/schedstat', 'r');
  } catch {
    // not Linux: the wall clock only
  }
  const buf = Buffer.alloc(96);
  let cpuAt = threadCpu(fd, buf);
  let cpuWindow = 0;
  let cpuWhole = 0;
  const cpuTimer = setInterval(() => {
    const now = threadCpu(fd, buf);
    if (now === undefined || cpuAt === undefined) return;
    const gap = (now - cpuAt) / 1e6;
    cpuAt = now;
    cpuWindow = Math.max(cpuWindow, gap);
    cpuWhole = Math.max(cpuWhole, gap);
  }, 10);
  cpuTimer.unref();
  // the main thread's GC pauses: the longest in the window and in the run, and their total
  let gcWindow = { ms: 0, kind: '' };
  let gcWhole = { ms: 0, kind: '' };
  let gcTotal = 0;
  let gcCount = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcTotal += e.duration;
      gcCount++;
      if (e.duration > gcWindow.ms) gcWindow = { ms: e.duration, kind: gcKind(e) };
      if (e.duration > gcWhole.ms) gcWhole = { ms: e.duration, kind: gcKind(e) };
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  const t0 = performance.now();
  let last = '';
  const sample = () => {
    const f = src.fib();
    const line = `pending ${f.pending} acked ${f.routesAcked}${src.programmed ? ` programmed ${src.programmed()}` : ''}`;
    const stall = window.max / 1e6;
    const cpu = cpuWindow;
    const g = gcWindow;
    window.reset();
    cpuWindow = 0;
    gcWindow = { ms: 0, kind: '' };
    // idle lines are left out: the trace is for the busy part
    if (line === last && stall < 50) return;
    last = line;
    src.log(`route-trace: +${((performance.now() - t0) / 1000).toFixed(3)} s ${line} longest-stall ${stall.toFixed(0)} ms cpu ${cpu.toFixed(0)} ms gc ${g.ms.toFixed(0)} ms${g.kind ? ` ${g.kind}` : ''}`);
  };
  const timer = setInterval(sample, every);
  timer.unref();
  return () => {
    clearInterval(timer);
    clearInterval(cpuTimer);
    sample();
    gc.disconnect();
    // how the routes were cut into messages: each costs a clone or an HTTP/2 frame, an ACK and a turn of the agent's loop
    const f = src.fib();
    if (f.messagesAcked !== undefined) src.log(`route-trace: ${f.routesAcked} routes acknowledged in ${f.messagesAcked} messages (${f.messagesAcked ? (f.routesAcked / f.messagesAcked).toFixed(0) : 0} per message)`);
    src.log(`route-trace: longest event-loop stall of the run ${(whole.max / 1e6).toFixed(0)} ms (p99 ${(whole.percentile(99) / 1e6).toFixed(1)} ms), on the thread's CPU ${cpuWhole.toFixed(0)} ms; longest GC pause ${gcWhole.ms.toFixed(0)} ms${gcWhole.kind ? ` (${gcWhole.kind})` : ''}, ${gcCount} pauses, ${gcTotal.toFixed(0)} ms in all`);
    window.disable();
    whole.disable();
    if (fd !== undefined) closeSync(fd);
  };
}
