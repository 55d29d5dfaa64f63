/**
 * Child processes started with posix_spawn (through koffi), for the CNI service's IPAM and
 * `ip` children. Node's spawn forks the whole controller process: page tables are copied,
 * and here it costs about 2 ms of blocked event loop per child, growing with the
 * controller's heap. glibc's posix_spawn uses a vfork-style clone that shares memory until
 * exec: a fixed fraction of that. The child's stdout and stderr are read through pipes
 * wrapped in net.Socket (libuv reads them), its exit status taken with waitpid once both
 * pipes close; libuv reaps only its own children, so this pid is left to us.
 *
 * The child gets default signal dispositions and an empty signal mask (Node ignores
 * SIGPIPE, which a plugin must not inherit), and no descriptor but 0, 1, 2 (everything
 * this process opens is close-on-exec, as Node and libuv open them).
 */
import koffi from 'koffi';
import { closeSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { O_CLOEXEC, POSIX_SPAWN_SETSIGDEF, POSIX_SPAWN_SETSIGMASK, WNOHANG } from '../sys/constants.js';
import { type Libc, tryLibc } from '../sys/libc.js';

let lib: Libc | null | undefined;
/** spawn attributes made once: all signals default, empty mask */
let attr: unknown;

function libc(): Libc | null {
  if (lib !== undefined) return lib;
  try {
    const c = tryLibc();
    if (!c) return (lib = null);
    // glibc: posix_spawnattr_t is 336 bytes, sigset_t 128; allocated once, never freed
    const a = koffi.alloc('uint8_t', 512);
    const all = koffi.alloc('uint8_t', 128);
    const none = koffi.alloc('uint8_t', 128);
    if (
      c.posix_spawnattr_init(a) !== 0 ||
      c.sigfillset(all) !== 0 ||
      c.sigemptyset(none) !== 0 ||
      c.posix_spawnattr_setsigdefault(a, all) !== 0 ||
      c.posix_spawnattr_setsigmask(a, none) !== 0 ||
      c.posix_spawnattr_setflags(a, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) !== 0
    ) {
      return (lib = null);
    }
    attr = a;
    lib = c;
  } catch {
    lib = null;
  }
  return lib;
}

export function fastSpawnAvailable(): boolean {
  return libc() !== null;
}

export interface SpawnResult {
  code: number;
  stdout: string;
  stderr: string;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** Collects a pipe's bytes until the child closes it. */
function drain(fd: number): { done: Promise<string>; socket: Socket } {
  const socket = new Socket({ fd, readable: true, writable: false });
  const chunks: Buffer[] = [];
  const done = new Promise<string>((res) => {
    socket.on('data', (b: Buffer) => chunks.push(b));
    socket.on('error', () => res(Buffer.concat(chunks).toString()));
    socket.on('close', () => res(Buffer.concat(chunks).toString()));
  });
  return { done, socket };
}

/**
 * Runs `path` with `args` and exactly `env`, `input` on its stdin; resolves with its exit
 * code (128 + signal when killed) and output. Rejects when it cannot be started.
 */
export async function spawnFast(path: string, args: readonly string[], env: NodeJS.ProcessEnv, input: string, timeoutMs: number): Promise<SpawnResult> {
  const c = libc();
  if (!c) throw new Error('posix_spawn is not available');
  const inP = new Int32Array(2);
  const outP = new Int32Array(2);
  const errP = new Int32Array(2);
  const opened: number[] = [];
  for (const p of [inP, outP, errP]) {
    if (c.pipe2(p, O_CLOEXEC) !== 0) {
      opened.forEach(closeQuietly);
      throw new Error(`pipe2: ${c.strerror(koffi.errno())}`);
    }
    opened.push(p[0]!, p[1]!);
  }
  const fa = koffi.alloc('uint8_t', 128);
  const pid = [0];
  let rc: number;
  try {
    c.posix_spawn_file_actions_init(fa);
    c.posix_spawn_file_actions_adddup2(fa, inP[0]!, 0);
    c.posix_spawn_file_actions_adddup2(fa, outP[1]!, 1);
    c.posix_spawn_file_actions_adddup2(fa, errP[1]!, 2);
    const envp: (string | null)[] = [];
    for (const [k, v] of Object.entries(env)) if (v !== undefined) envp.push(`${k}=${v}`);
    envp.push(null);
    rc = c.posix_spawn(pid, path, fa, attr, [path, ...args, null], envp);
  } finally {
    c.posix_spawn_file_actions_destroy(fa);
    koffi.free(fa);
    // the child's ends
    closeQuietly(inP[0]!);
    closeQuietly(outP[1]!);
    closeQuietly(errP[1]!);
  }
  if (rc !== 0) {
    closeQuietly(inP[1]!);
    closeQuietly(outP[0]!);
    closeQuietly(errP[0]!);
    const e = new Error(`spawn ${path}: ${c.strerror(rc)}`) as NodeJS.ErrnoException;
    e.code = rc === 2 ? 'ENOENT' : rc === 13 ? 'EACCES' : `E${rc}`;
    throw e;
  }
  const child = pid[0]!;
  const out = drain(outP[0]!);
  const err = drain(errP[0]!);
  // stdin: CNI configs fit the pipe buffer, so a blocking write returns at once
  if (Buffer.byteLength(input) < 60_000) {
    try {
      writeSync(inP[1]!, input);
    } catch {
      // the child exited without reading (EPIPE is ignored by Node): its code tells
    }
    closeQuietly(inP[1]!);
  } else {
    const w = new Socket({ fd: inP[1]!, readable: false, writable: true });
    w.on('error', () => {});
    w.end(input);
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(child, 'SIGKILL');
    } catch {
      // gone
    }
    out.socket.destroy();
    err.socket.destroy();
  }, timeoutMs);
  const [stdout, stderr] = await Promise.all([out.done, err.done]);
  // both pipes closed: the child is exiting; reap it (a child that closed them and lives on
  // is waited for in short steps, still bounded by the timeout's SIGKILL)
  const status = new Int32Array(1);
  for (let delay = 0; ; delay = Math.min(delay * 2 || 1, 20)) {
    const r = c.waitpid(child, status, WNOHANG);
    if (r === child) break;
    if (r < 0) {
      status[0] = 0x7f; // not ours to reap any more: unknown
      break;
    }
    await new Promise((res) => setTimeout(res, delay));
  }
  clearTimeout(timer);
  if (timedOut) throw new Error(`${path} timed out`);
  const s = status[0]!;
  const code = (s & 0x7f) === 0 ? (s >> 8) & 0xff : 128 + (s & 0x7f);
  return { code, stdout, stderr };
}
