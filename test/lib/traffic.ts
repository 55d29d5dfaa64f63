/**
 * Traffic for restart tests: a 100 pps ping from a namespace whose every reply is time-stamped
 * (`ping -D`), so that a test can say how many packets a restart lost and for how long
 * forwarding stopped (the longest gap between replies), and read the vRouter's own account
 * of it from its health endpoint. The pinger is a process we start and stop by its PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface PingTally {
  transmitted: number;
  received: number;
  /** reply arrival times, ms since the epoch, in order */
  replies: number[];
  /** the longest time without a reply between the first and the last reply, ms */
  maxGapMs: number;
  /** when that gap began (the reply before it), ms since the epoch */
  gapStart: number;
  output: string;
}

export class Pinger {
  private readonly child: ChildProcess;
  private out = '';
  private readonly done: Promise<void>;

  /** `count` echo requests to `addr` from namespace `ns`, `intervalS` apart (0.01: 100 pps). */
  constructor(ns: string, addr: string, count: number, intervalS = 0.01) {
    this.child = spawn('ip', ['netns', 'exec', ns, 'ping', '-D', '-n', '-i', String(intervalS), '-W', '1', '-c', String(count), addr], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.done = new Promise((resolve) => this.child.once('close', () => resolve()));
  }

  /** Replies so far (arrival times, ms). */
  replies(): number[] {
    return [...this.out.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((m) => Number(m[1]) * 1000);
  }

  /** Wait for the pinger to finish (at most `timeoutMs`, then it is stopped) and count. */
  async finish(timeoutMs: number): Promise<PingTally> {
    const t = setTimeout(() => this.stop(), timeoutMs);
    await this.done;
    clearTimeout(t);
    const m = /(\d+) packets transmitted, (\d+) received/.exec(this.out);
    const replies = this.replies();
    let maxGapMs = 0;
    let gapStart = 0;
    for (let i = 1; i < replies.length; i++) {
      const gap = replies[i]! - replies[i - 1]!;
      if (gap > maxGapMs) {
        maxGapMs = gap;
        gapStart = replies[i - 1]!;
      }
    }
    return { transmitted: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), replies, maxGapMs, gapStart, output: this.out.slice(-400) };
  }

  /** Stop early (SIGINT: ping prints its summary). */
  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGINT');
  }
}

/** The vRouter's health endpoint (`cnr vrouter --health ADDR`, or `cnr start`'s) read from inside `ns`. */
export function vrouterHealth(ns: string, address: string): VrouterHealth | undefined {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'curl', '-s', '--max-time', '2', `http://${address}/healthz`], { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0 || !r.stdout) return undefined;
  try {
    return JSON.parse(r.stdout) as VrouterHealth;
  } catch {
    return undefined;
  }
}

export interface VrouterHealth {
  status: string;
  agent: { port: number; connected: boolean; streams: number; lastStreamAt?: number; lastResyncAt?: number; lastSwept?: number };
  programmed: { vrfs: number; interfaces: number; routes: number; nexthops: number; labels: number };
  removed: { routes: number; nexthops: number; interfaces: number; vrfs: number; labels: number };
}

/** A GET on the vRouter's introspect API from inside `ns`, parsed. */
export function introspect<T>(ns: string, address: string, path: string): T {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'curl', '-s', '--max-time', '2', `http://${address}${path}`], { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) throw new Error(`introspect ${path}: curl exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Poll `f` every 50 ms until it returns a value other than undefined/false, or throw after `ms`. */
export async function until<T>(what: string, ms: number, f: () => T | undefined | false): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
