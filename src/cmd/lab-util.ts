/**
 * What both topologies of `cnr lab` share: running commands (in a namespace), the lab's run
 * directory, processes found by the PIDs the lab recorded, bounded waits and a ping.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { launchFlagsOf } from '../lib/launch-flags.js';

export const RUN_DIR = '/run/cnr-lab';
export const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/cnr');
/** The lab's nodes start as `node FLAGS bin/cnr start`: FLAGS from bin/cnr's first line, as when it is executed. */
export const CLI_FLAGS = launchFlagsOf(CLI);

export function sh(args: string[], allowFail = false): string {
  try {
    return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000 });
  } catch (e) {
    if (allowFail) return '';
    const err = e as { stderr?: string; message: string };
    throw new Error(`${args.join(' ')}: ${err.stderr?.trim() || err.message}`);
  }
}

export function nsExists(name: string): boolean {
  return sh(['ip', 'netns', 'list'], true)
    .split('\n')
    .some((l) => l.split(' ')[0] === name);
}

export function inNs(ns: string, args: string[], allowFail = false): string {
  return sh(['ip', 'netns', 'exec', ns, ...args], allowFail);
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function waitFor(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return;
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

export function ping(ns: string, target: string): boolean {
  const cmd = target.includes(':') ? ['ping', '-6', '-c', '2', '-i', '0.2', '-W', '1', target] : ['ping', '-c', '2', '-i', '0.2', '-W', '1', target];
  return /\b[12] received/.test(inNs(ns, cmd, true));
}

/** Each check's ping, printed as `ok` or `FAIL` with its label; true when all passed. */
export function pingChecks(checks: readonly [label: string, ns: string, target: string][]): boolean {
  let ok = true;
  console.log('');
  for (const [label, ns, target] of checks) {
    const pass = ping(ns, target);
    if (!pass) ok = false;
    console.log(`  ${pass ? 'ok  ' : 'FAIL'}  ping ${label}`);
  }
  return ok;
}
