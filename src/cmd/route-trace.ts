/**
 * A development trace of the route path in one process (`CNR_TRACE_ROUTES=MS cnr start`): every
 * MS milliseconds one log line with the routes waiting for the FIB export, the routes the agent
 * acknowledged, the routes its programmer holds, and the longest event-loop stall since the
 * last line (perf_hooks.monitorEventLoopDelay); at stop, the longest stall of the whole run.
 * The benchmarks read it to place each stage in time and to see how long the loop stood still
 * (BFD's 300 ms detection times are the budget), without a profiler in the measured process.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface RouteTraceSources {
  /** route changes and objects waiting in the FIB export, and its acknowledged routes */
  fib: () => { pending: number; routesAcked: number };
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
  const t0 = performance.now();
  let last = '';
  const sample = () => {
    const f = src.fib();
    const line = `pending ${f.pending} acked ${f.routesAcked}${src.programmed ? ` programmed ${src.programmed()}` : ''}`;
    const stall = window.max / 1e6;
    window.reset();
    // idle lines are left out: the trace is for the busy part
    if (line === last && stall < 50) return;
    last = line;
    src.log(`route-trace: +${((performance.now() - t0) / 1000).toFixed(3)} s ${line} longest-stall ${stall.toFixed(0)} ms`);
  };
  const timer = setInterval(sample, every);
  timer.unref();
  return () => {
    clearInterval(timer);
    sample();
    src.log(`route-trace: longest event-loop stall of the run ${(whole.max / 1e6).toFixed(0)} ms (p99 ${(whole.percentile(99) / 1e6).toFixed(1)} ms)`);
    window.disable();
    whole.disable();
  };
}
