/**
 * Log lines of the long-running processes (`cnr start`, `cnr controller`, `cnr vrouter`),
 * controller and vRouter alike: one line each on stderr, `<ISO 8601 UTC time> <source>: <message>`,
 * so that the lines of both sides read the same and merge by time. A message of several
 * lines (a refused configuration lists every reason) gets the time on each line. Listeners
 * (syslog.ts) get each line too.
 */
import { format } from 'node:util';

type LineListener = (line: string, time: Date) => void;
const listeners = new Set<LineListener>();

/** Every line logged from now on also goes to `fn` (without its time); returns the undo. */
export function onLogLine(fn: LineListener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * Write one timestamped line (or one per line of `text`) to stderr, or to `to` (`cnr vrouter`
 * prints its ready line, which scripts wait for, on stdout).
 */
export function logLine(text: string, to: { write(s: string): unknown } = process.stderr): void {
  const now = new Date();
  const time = now.toISOString();
  const lines = text.split('\n');
  to.write(`${lines.map((l) => `${time} ${l}`).join('\n')}\n`);
  for (const fn of listeners) for (const l of lines) fn(l, now);
}

/** A log function whose lines read `<time> <source>: <message>`. */
export function logger(source: string): (msg: string) => void {
  return (msg) => logLine(`${source}: ${msg}`);
}

/**
 * The same lines for a library's console-style logger (grpc-js's setLogger): its messages
 * would otherwise reach stderr without a time.
 */
export function consoleLogger(source: string): Pick<Console, 'error' | 'info' | 'debug'> {
  const log = logger(source);
  const line = (message?: unknown, ...params: unknown[]) => log(format(message, ...params));
  return { error: line, info: line, debug: line };
}
