/**
 * Processes for interop tests and benchmarks: run a command with a bounded wait, start a
 * long-running daemon whose PID we own, poll a condition until a deadline, and read a
 * process's CPU time and peak memory from /proc. Every daemon started here is recorded so
 * that a crashed test still kills it (by PID, never by name) when Node exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to completion, bounded by `timeoutMs`; never throws on a non-zero exit. */
export function run(cmd: string, args: string[], timeoutMs = 10_000, input?: string): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, input, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

/** Run a command and throw with its stderr when it fails. */
export function must(cmd: string, args: string[], timeoutMs = 10_000): string {
  const r = run(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** The same, asynchronously, so that a running test keeps its timers and sockets alive. */
export function runAsync(cmd: string, args: string[], timeoutMs = 10_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: stderr + String(err) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const owned = new Set<number>();
const exitSteps = new Set<() => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of owned) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const step of exitSteps) {
      try {
        step();
      } catch {
        // best effort: the process is leaving
      }
    }
  });
  // a killed run (timeout, ^C) must still remove its namespaces: turn the signal into an exit
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(sig) === 0) process.once(sig, () => process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1)));
  }
}

/**
 * Register a synchronous step run if the process exits before it is cancelled (namespaces and
 * temp dirs of a lab that never reached its close()). Returns the cancel function.
 */
export function onExitSync(step: () => void): () => void {
  installExitHook();
  exitSteps.add(step);
  return () => void exitSteps.delete(step);
}

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** resolves with the exit code (or signal name) once the process has ended */
  readonly exited: Promise<number | string>;
  /** captured output so far (stdout and stderr interleaved, capped) */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL (a crash, as far as peers can tell); resolves when the process is gone */
  kill(): Promise<void>;
}

/** Start a long-running process in the foreground (so that its PID is ours to kill). */
export function startDaemon(name: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv, stdin: 'ignore' | 'pipe' = 'ignore'): Daemon {
  installExitHook();
  const child = spawn(cmd, args, { stdio: [stdin, 'pipe', 'pipe'], env: env ?? process.env });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
  const pid = child.pid;
  owned.add(pid);
  let out = '';
  const keep = (d: string) => {
    out += d;
    if (out.length > 256_000) out = out.slice(-128_000);
  };
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      owned.delete(pid);
      resolve(code ?? signal ?? -1);
    });
    child.on('error', (err) => {
      owned.delete(pid);
      keep(String(err));
      resolve(-1);
    });
  });
  return {
    name,
    pid,
    child,
    exited,
    output: () => out,
    async stop(graceMs = 3000) {
      if (!owned.has(pid)) return;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        return;
      }
      const t = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }, graceMs);
      await exited;
      clearTimeout(t);
    },
    async kill() {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
      await exited;
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Thrown by a waitFor probe to stop waiting at once (the daemon it waits for has died). */
export class WaitAborted extends Error {}

/**
 * Poll `probe` every `intervalMs` until it returns something other than undefined/false,
 * or throw after `timeoutMs` with `what` and the last value seen.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      if (err instanceof WaitAborted) throw err;
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      const why = lastErr instanceof Error ? `: ${lastErr.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}

const CLK_TCK = 100;

/** User + system CPU seconds consumed so far by a process (and its reaped children not counted). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the parenthesised command name, which may itself contain spaces
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return (utime + stime) / CLK_TCK;
}

/** A memory figure of /proc/PID/status in bytes: VmHWM (peak RSS) by default, or VmRSS. */
export function memBytes(pid: number, field: 'VmHWM' | 'VmRSS' = 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!m) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** The PID written in a pid file, once it exists. */
export function readPidFile(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
