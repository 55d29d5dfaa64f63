/**
 * Running the helpers cnr-cni delegates to (IPAM plugins, and `ip` off the ADD path). Every
 * child gets a bounded time; output is collected whole because it is always small. Where
 * libc allows, children start through posix_spawn (spawn.ts), which does not copy the
 * controller process as Node's fork does.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { fastSpawnAvailable, spawnFast } from './spawn.js';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Where PATH is looked up for a bare command name (posix_spawn does not search). */
function resolveCommand(cmd: string, env: NodeJS.ProcessEnv): string | undefined {
  if (cmd.includes('/')) return cmd;
  for (const dir of (env.PATH ?? process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue;
    const p = `${dir}/${cmd}`;
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

export function execFile(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const env = opts.env ?? process.env;
  const path = fastSpawnAvailable() ? resolveCommand(cmd, env) : undefined;
  if (path) return spawnFast(path, args, env, opts.input ?? '', opts.timeoutMs ?? 30_000);
  return nodeExecFile(cmd, args, opts);
}

function nodeExecFile(cmd: string, args: readonly string[], opts: ExecOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 30_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString();
      if (timedOut) {
        reject(new Error(`${cmd} timed out`));
        return;
      }
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr });
    });
    // A child that exits without reading stdin must not crash us with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs and fails with the tool's own message when it exits non-zero. */
export async function execChecked(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await execFile(cmd, args, opts);
  if (r.code !== 0) {
    const msg = (r.stderr || r.stdout).trim().split('\n').slice(-3).join('; ');
    throw new Error(`${cmd} ${args.slice(0, 4).join(' ')}: ${msg || `exit ${r.code}`}`);
  }
  return r.stdout;
}
