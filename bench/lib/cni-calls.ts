/**
 * A CNI plugin run as a runtime runs it (a fresh process, config on stdin, the CNI_*
 * environment) and a pod's first ping of its gateway: shared by bench/cni.bench.ts and
 * bench/cni-timeline.ts.
 */
import { spawn } from 'node:child_process';

export interface CallResult {
  ms: number;
  out: string;
}

/** One plugin run in the node's namespace as a runtime runs it; resolves with its wall time and stdout. */
export function call(hostNs: string, bin: string, command: string, id: string, netns: string, ifname: string, conf: string): Promise<CallResult> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const c = spawn('ip', ['netns', 'exec', hostNs, bin], {
      env: { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: ifname, CNI_PATH: '/usr/lib/cni' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => c.kill('SIGKILL'), 60_000);
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (err += b.toString()));
    c.on('error', rej);
    c.on('close', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      if (code !== 0) rej(new Error(`${bin} ${command} ${id}: exit ${code}: ${(out + err).slice(0, 300)}`));
      else res({ ms, out });
    });
    c.stdin.end(conf);
  });
}

/** Pings `gw` from `podNs` every 10 ms until the first reply (10 s at most); resolves when it ends, with the first reply's icmp_seq. */
export function firstReply(podNs: string, gw: string): Promise<{ seq: number } | { error: string }> {
  return new Promise((res) => {
    const c = spawn('ip', ['netns', 'exec', podNs, 'ping', '-n', '-i', '0.01', '-c', '1', '-w', '10', gw], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (out += b.toString()));
    c.on('close', (code) => {
      const m = /icmp_seq=(\d+)/.exec(out);
      res(code === 0 && m ? { seq: Number(m[1]) } : { error: out.trim().split('\n').slice(-2).join(' ') });
    });
  });
}
