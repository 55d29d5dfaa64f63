/**
 * Data-plane drops over a rate, said in the log (and so in syslog, as CNR_DATAPLANE_DROPS, where
 * the log goes there: telemetry/syslog.ts): every interval the drop counters are read, and when
 * they grew faster than the threshold one line gives the count, the rate and the largest reasons.
 * When a logged burst ends, that is said once too. Counters are never reset by reading them.
 */
import type { Dataplane } from '../dataplane/api.js';

export interface DropWatchOptions {
  /** how often the counters are read (default 10 s) */
  intervalMs?: number;
  /** drops per second above which a line is logged (default 100) */
  perSecond?: number;
}

/**
 * The line for one interval: the drops between `prev` and `cur` (counters by reason) over
 * `seconds`, or undefined when they stayed at or under `perSecond`. At most three reasons are
 * named, largest first.
 */
export function dropReport(prev: Record<string, number>, cur: Record<string, number>, seconds: number, perSecond: number): string | undefined {
  const grew: [string, number][] = [];
  let total = 0;
  for (const [reason, n] of Object.entries(cur)) {
    const d = n - (prev[reason] ?? 0);
    if (d > 0) {
      grew.push([reason, d]);
      total += d;
    }
  }
  if (total <= perSecond * seconds) return undefined;
  grew.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const top = grew.slice(0, 3).map(([r, d]) => `${r} ${d}`).join(', ');
  return `data plane drops: ${total} in ${seconds} s (${Math.round(total / seconds)}/s; ${top}${grew.length > 3 ? ', ...' : ''})`;
}

/** Read `dp`'s drop counters every interval and log bursts over the rate; returns the stop function. */
export function watchDrops(dp: Pick<Dataplane, 'dropStats'>, log: (line: string) => void, opts: DropWatchOptions = {}): () => void {
  const interval = opts.intervalMs ?? 10_000;
  const perSecond = opts.perSecond ?? 100;
  let prev = dp.dropStats();
  let inBurst = false;
  const timer = setInterval(() => {
    let cur: Record<string, number>;
    try {
      cur = dp.dropStats();
    } catch {
      return; // a data plane stopping under us: nothing to say
    }
    const line = dropReport(prev, cur, interval / 1000, perSecond);
    prev = cur;
    if (line) log(line);
    else if (inBurst) log(`data plane drops back under ${perSecond}/s`);
    inBurst = line !== undefined;
  }, interval);
  timer.unref();
  return () => clearInterval(timer);
}
