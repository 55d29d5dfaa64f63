/**
 * A node for the CNI system tests: `cnr start` (controller and vRouter in one process) in a
 * namespace that plays the node's host namespace, its CLI, and cnr-cni run there as a
 * container runtime runs it. Every wait is bounded; stop() kills only the process it started.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..', '..', '..');
export const cnrBin = join(repo, 'bin', 'cnr');
export const cniBin = join(repo, 'bin', 'cnr-cni');
export const startJs = join(repo, 'dist', 'src', 'cmd', 'start.js');

export async function eventually(what: string, ms: number, f: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (f()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}`);
}

/** One ping from inside namespace `ns`; true when an answer came. */
export function pingFrom(ns: string, to: string, count = 1): boolean {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', String(count), '-W', '1', '-i', '0.2', to], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0;
}

export interface CniRun {
  status: number | null;
  out: any;
}

export class CnrNode {
  private child: ChildProcess | undefined;
  readonly logFile: string;

  /** `hostNetns` must exist; `configFile` holds the set commands cnr starts with. */
  constructor(
    readonly hostNetns: string,
    readonly stateDir: string,
    readonly configFile: string,
    logDir: string,
  ) {
    this.logFile = join(logDir, 'cnr.log');
  }

  async start(): Promise<void> {
    const log = openSync(this.logFile, 'a');
    const c = spawn('ip', ['netns', 'exec', this.hostNetns, process.execPath, cnrBin, 'start', '--config', this.configFile, '--state-dir', this.stateDir], { stdio: ['ignore', log, log] });
    this.child = c;
    await eventually('cnr start to answer', 30_000, () => {
      if (c.exitCode !== null) assert.fail(`cnr start exited: ${this.logTail()}`);
      return spawnSync(process.execPath, [cnrBin, 'cli', '--state-dir', this.stateDir, '-c', 'show system commit'], { timeout: 5000 }).status === 0;
    });
  }

  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null) return;
    const done = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(t);
  }

  logTail(chars = 2000): string {
    try {
      return readFileSync(this.logFile, 'utf8').slice(-chars);
    } catch {
      return '';
    }
  }

  cli(command: string): string {
    return execFileSync(process.execPath, [cnrBin, 'cli', '--state-dir', this.stateDir, '-c', command], { encoding: 'utf8', timeout: 15_000 });
  }

  private cniEnv(command: string, env: Record<string, string>): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH, CNI_COMMAND: command, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni', ...env };
  }

  /** Runs cnr-cni in the host namespace with CNI_PATH=/usr/lib/cni and CNI_IFNAME=eth0 unless `env` says otherwise. */
  cni(command: string, env: Record<string, string>, conf: Record<string, unknown>): CniRun {
    const r = spawnSync('ip', ['netns', 'exec', this.hostNetns, cniBin], { env: this.cniEnv(command, env), input: JSON.stringify(conf), encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, out: r.stdout.trim() ? JSON.parse(r.stdout) : undefined };
  }

  /** cni() without blocking, for runs at the same time. */
  cniAsync(command: string, env: Record<string, string>, conf: Record<string, unknown>): Promise<CniRun> {
    return new Promise((done) => {
      const c = execFile('ip', ['netns', 'exec', this.hostNetns, cniBin], { env: this.cniEnv(command, env), encoding: 'utf8', timeout: 60_000 }, (err, stdout) => {
        const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        let out: any;
        try {
          out = stdout.trim() ? JSON.parse(stdout) : undefined;
        } catch {
          out = { raw: stdout };
        }
        done({ status, out });
      });
      c.stdin?.end(JSON.stringify(conf));
    });
  }
}
