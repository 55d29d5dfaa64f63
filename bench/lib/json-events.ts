/**
 * A bench helper program (the BGP injector, the counting receivers) run inside a lab namespace
 * that prints one JSON event per line ({"event": ..., "t": epoch ms, ...}): collect them and
 * wait for the ones a benchmark needs, bounded, failing early when the program reports an
 * error or exits.
 */
import type { Lab } from '../../test/interop/harness/lab.js';
import { sleep, startDaemon, type Daemon } from '../../test/interop/harness/proc.js';

export interface JsonEvent {
  event: string;
  t: number;
  [k: string]: unknown;
}

export interface EventDaemon {
  d: Daemon;
  events: JsonEvent[];
  /** the first event named `ev` (matching `pred`), waiting up to `timeoutMs` */
  next(ev: string, timeoutMs: number, pred?: (e: JsonEvent) => boolean): Promise<JsonEvent>;
  /** wait until `n` events named `ev` arrived; returns them */
  count(ev: string, n: number, timeoutMs: number): Promise<JsonEvent[]>;
}

export function startEventDaemon(lab: Lab, ns: string, name: string, script: string, args: string[]): EventDaemon {
  const d = startDaemon(name, 'ip', ['netns', 'exec', ns, process.execPath, script, ...args]);
  lab.defer(name, () => d.stop());
  const events: JsonEvent[] = [];
  let buf = '';
  d.child.stdout!.on('data', (s: string | Buffer) => {
    buf += String(s);
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        events.push(JSON.parse(line) as JsonEvent);
      } catch {
        // not an event line
      }
    }
  });
  const check = (what: string, deadline: number): void => {
    const err = events.find((e) => e.event === 'error');
    if (err) throw new Error(`${name}: ${String(err['message'])}`);
    if (d.child.exitCode !== null) throw new Error(`${name} exited: ${d.output().slice(-500)}`);
    if (Date.now() > deadline) throw new Error(`${name}: no ${what} within the time allowed`);
  };
  const count = async (ev: string, n: number, timeoutMs: number): Promise<JsonEvent[]> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hits = events.filter((e) => e.event === ev);
      if (hits.length >= n) return hits;
      check(`${n} '${ev}' (${hits.length} so far)`, deadline);
      await sleep(20);
    }
  };
  const next = async (ev: string, timeoutMs: number, pred?: (e: JsonEvent) => boolean): Promise<JsonEvent> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = events.find((e) => e.event === ev && (!pred || pred(e)));
      if (hit) return hit;
      check(`'${ev}'`, deadline);
      await sleep(20);
    }
  };
  return { d, events, next, count };
}
