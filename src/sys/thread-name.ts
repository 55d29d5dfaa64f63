/**
 * Names the calling thread (its `comm`, what `top -H`, `ps -L`, perf and /proc/PID/task/TID
 * show): Node leaves every thread of a process named "node", so the data plane's forwarding
 * workers and the BFD thread could only be told apart by guesswork. Writing
 * /proc/thread-self/comm names the thread that writes, so each worker names itself. The
 * kernel keeps 15 bytes; a /proc that refuses (not Linux, a read-only mount) leaves the name.
 */
import { writeFileSync } from 'node:fs';

/** Sets the calling thread's name (at most 15 bytes are kept); false when /proc refused. */
export function nameThisThread(name: string): boolean {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15));
    return true;
  } catch {
    return false;
  }
}
