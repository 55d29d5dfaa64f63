/**
 * Log lines of the long-running processes (`cnr start`, `cnr controller`, `cnr vrouter`),
 * controller and vRouter alike: one line each on stderr, `<ISO 8601 UTC time> <source>: <message>`,
 * so that the lines of both sides read the same and merge by time. A message of several
 * lines (a refused configuration lists every reason) gets the time on each line.
 */
import { format } from 'node:util';

/**
 * Write one timestamped line (or one per line of `text`) to stderr, or to `to` (`cnr vrouter`
 * prints its ready line, which scripts wait for, on stdout).
 */
export function logLine(text: string, to: { write(s: string): unknown } = process.stderr): void {
  const time = new Date().toISOString();
  to.write(`${text.split('\n').map((l) => `${time} ${l}`).join('\n')}\n`);
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
