/**
 * Start the real data plane (vrouter-child.js) inside a lab namespace and talk to it: wait
 * for "ready", run the cnr inspection commands against its introspect port (which listens
 * on the namespace's own loopback), and stop it, returning its final drop counters.
 */
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { stopChild, waitForLine, type NetnsLab } from './netns.js';
import type { VrouterCommand, VrouterConfig } from './vrouter-child.js';

const child = fileURLToPath(new URL('./vrouter-child.js', import.meta.url));
const cnrBin = fileURLToPath(new URL('../../../bin/cnr', import.meta.url));

export interface RunningVrouter {
  proc: ChildProcess;
  /** introspect port on the namespace's loopback */
  port: number;
  /** `cnr NAME ARGS --introspect 127.0.0.1:PORT` inside the namespace; returns stdout */
  cnr(...args: string[]): string;
  /** SIGTERM; resolves with the drop counters it printed on the way out */
  stop(): Promise<Record<string, number>>;
  /** a change or a question while running (vrouter-child.ts VrouterCommand): its result, or the refusal thrown */
  command(c: VrouterCommand): Promise<unknown>;
}

/** opts.env: variables added to the child's environment (e.g. CNR_AF_PACKET_TX_GSO=0) */
export async function startVrouter(lab: NetnsLab, ns: string, cfg: VrouterConfig, opts: { cpu?: number; env?: Record<string, string> } = {}): Promise<RunningVrouter> {
  const cmd = [process.execPath, child, JSON.stringify(cfg)];
  const proc = lab.spawn(ns, opts.cpu === undefined ? cmd : ['taskset', '-c', String(opts.cpu), ...cmd], { ...process.env, ...opts.env });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const line = await waitForLine(proc, /^ready \d+/, 20000);
  let sent = 0;
  const port = Number(line.split(' ')[1]);
  return {
    proc,
    port,
    cnr: (...args: string[]) => lab.run(ns, [process.execPath, cnrBin, ...args, '--introspect', `127.0.0.1:${port}`]),
    command: async (c: VrouterCommand) => {
      const n = ++sent;
      proc.stdin!.write(`${JSON.stringify(c)}\n`);
      const answer = await waitForLine(proc, new RegExp(`^(done|failed) ${n} `), 10000);
      const m = /^(done|failed) \d+ (.*)$/.exec(answer.trim())!;
      if (m[1] === 'failed') throw new Error(m[2]);
      return JSON.parse(m[2]!) as unknown;
    },
    stop: async () => {
      await stopChild(proc, 5000);
      const m = /dropstats (.*)/.exec(out);
      return m ? (JSON.parse(m[1]!) as Record<string, number>) : {};
    },
  };
}

/**
 * Each vif's driver counters (`cnr vif --list --json`), after the worker has copied them in:
 * it does so every 250 ms of its turns, so `wake` (a ping through it) is called twice, 400 ms apart.
 */
export async function vifIo(vr: RunningVrouter, wake: () => void): Promise<Record<string, Record<string, number>>> {
  for (let k = 0; k < 2; k++) {
    await new Promise((res) => setTimeout(res, 400));
    wake();
  }
  const vifs = JSON.parse(vr.cnr('vif', '--list', '--json')) as { name: string; io?: Record<string, number> }[];
  return Object.fromEntries(vifs.map((v) => [v.name, v.io ?? {}]));
}
