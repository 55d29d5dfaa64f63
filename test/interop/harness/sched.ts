/**
 * How long threads waited for a CPU: the kernel's run-queue delay per thread (the second
 * field of /proc/PID/task/TID/schedstat, nanoseconds spent runnable but not running),
 * sampled every few milliseconds. A timing test uses it to tell a stall of the program from
 * a machine too busy to run it: a thread that was runnable and waited 200 ms was held off by
 * the scheduler; a thread that did not run for 200 ms without waiting was busy elsewhere or
 * blocked in the program itself. The counters are cumulative, so a sampler that is itself
 * held off loses no delay, only resolution. The kernel credits a wait when the thread gets
 * the CPU, so a wait longer than a window shows whole in the window where it ended (300 ms
 * of waiting "within" a 300 ms window is a wait of 300 ms that ended there).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** A thread of a process: its id and name (comm). */
export interface ThreadId {
  pid: number;
  tid: number;
  comm: string;
}

/** The threads of `pid` whose name `match` accepts (none when the process is gone). */
export function threadsOf(pid: number, match: (comm: string) => boolean): ThreadId[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: ThreadId[] = [];
  for (const t of tids) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim();
      if (match(comm)) out.push({ pid, tid: Number(t), comm });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** The most run-queue delay a thread accrued within one window, and when that window began. */
export interface WorstWait {
  thread: ThreadId;
  /** lower bound, ms */
  waitedMs: number;
  /** epoch ms */
  at: number;
  /** the thread's whole run-queue delay over the sampling, ms */
  totalMs: number;
}

interface Series {
  thread: ThreadId;
  path: string;
  t: number[];
  delayNs: number[];
}

export class RunDelaySampler {
  private readonly series: Series[];
  private readonly timer: NodeJS.Timeout;

  constructor(threads: ThreadId[], everyMs = 10) {
    this.series = threads.map((thread) => ({ thread, path: `/proc/${thread.pid}/task/${thread.tid}/schedstat`, t: [], delayNs: [] }));
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  get threads(): ThreadId[] {
    return this.series.map((s) => s.thread);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  /** Per thread, the most run-queue delay accrued within any `windowMs` (mostWaited). */
  worst(windowMs: number): WorstWait[] {
    return this.series.map((s) => {
      const n = s.delayNs.length;
      return { thread: s.thread, ...mostWaited(s.t, s.delayNs, windowMs), totalMs: n ? (s.delayNs[n - 1]! - s.delayNs[0]!) / 1e6 : 0 };
    });
  }

  private sample(): void {
    const now = performance.timeOrigin + performance.now();
    for (const s of this.series) {
      let text: string;
      try {
        text = readFileSync(s.path, 'utf8');
      } catch {
        continue; // the thread ended: its series stops here
      }
      s.t.push(now);
      s.delayNs.push(Number(text.split(' ')[1]));
    }
  }
}

/**
 * The most of a cumulative delay (`delayNs` at times `t`, epoch ms) accrued within any
 * `windowMs`, and when that window began: exact between two samples at most `windowMs` apart;
 * a gap between samples longer than that (the sampler held off) counts only the share that
 * some window of the gap holds at least, delay / ceil(gap / windowMs). A lower bound.
 */
export function mostWaited(t: readonly number[], delayNs: readonly number[], windowMs: number): { waitedMs: number; at: number } {
  let waitedMs = 0;
  let at = t[0] ?? 0;
  let j = 0;
  for (let i = 0; i < t.length; i++) {
    if (j < i) j = i;
    while (j + 1 < t.length && t[j + 1]! - t[i]! <= windowMs) j++;
    let ms = (delayNs[j]! - delayNs[i]!) / 1e6;
    if (j === i && i + 1 < t.length) ms = (delayNs[i + 1]! - delayNs[i]!) / 1e6 / Math.ceil((t[i + 1]! - t[i]!) / windowMs);
    if (ms > waitedMs) {
      waitedMs = ms;
      at = t[i]!;
    }
  }
  return { waitedMs, at };
}
