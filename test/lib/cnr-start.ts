/**
 * `cnr start` inside a lab namespace for a system test: the process started by NetnsLab
 * (killed by its cleanup), its log collected, the wait for "running" bounded, and `cnr cli`
 * against its state directory. (test/lib/cnr-node.ts is the CNI tests' node, which logs to a file.)
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NetnsLab } from './netns.js';

export const cnrBin = fileURLToPath(new URL('../../../bin/cnr', import.meta.url));

export interface StartedCnr {
  node: ChildProcess;
  /** everything it printed so far (the log goes to stderr) */
  log: () => string;
  /** one `cnr cli -c` command; its output, also when it fails */
  cli: (cmd: string) => string;
}

/**
 * Starts `cnr start` in namespace `ns` with `config` (set lines) in `dir`, no health port and
 * the introspect API only if `introspect` (HOST:PORT, inside the namespace) is given, and
 * waits (bounded) until it runs.
 */
export async function startCnr(lab: NetnsLab, ns: string, dir: string, config: string, introspect = 'none'): Promise<StartedCnr> {
  const file = join(dir, 'router.conf');
  writeFileSync(file, config);
  const state = join(dir, 'state');
  const node = lab.spawn(ns, [process.execPath, cnrBin, 'start', '--config', file, '--state-dir', state, '--introspect', introspect, '--health', 'none', '--agent-address', '127.0.0.1:0']);
  let out = '';
  node.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  node.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 200 && !/cnr start: running/.test(out) && node.exitCode === null; i++) await new Promise((res) => setTimeout(res, 100));
  assert.match(out, /cnr start: running/);
  return { node, log: () => out, cli: (cmd) => lab.run(ns, [process.execPath, cnrBin, 'cli', '--state-dir', state, '-c', cmd], { allowFail: true }) };
}
