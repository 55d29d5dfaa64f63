/**
 * `cnr start` with its vRouter in a worker thread (the default, src/cmd/vrouter-thread.ts):
 * the FIB export's in-process link carried over the thread's port reaches a real data plane
 * (one forwarding worker, a memory interface, no vhost0, nothing on the network but the
 * agent's gRPC on loopback): routes ACKed and programmed, the unary reads over gRPC, the
 * route count shared with the main thread, a controller restart's replay sweeping only what
 * was withdrawn, and a stop that leaves no thread behind. And the real `bin/cnr start`: the
 * thread by default (named cnr-vrouter), none with `--vrouter-thread off`, a clean stop either way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cnrBin } from '../lib/cnr-node.js';
import { Rib } from '../../src/controller/rib/rib.js';
import { FibExport } from '../../src/controller/rib/fib-export.js';
import type { RibRoute } from '../../src/controller/rib/types.js';
import { startVrouterThread } from '../../src/cmd/vrouter-thread.js';
import { waitFor } from '../interop/harness/proc.js';
import { buildRegistry } from '../../src/telemetry/metrics.js';

function direct(prefix: string, ifname: string): RibRoute {
  return { prefix, protocol: 'direct', preference: 0, nexthops: [{ interface: ifname }] };
}
function stat(prefix: string, gws: string[]): RibRoute {
  return { prefix, protocol: 'static', preference: 5, nexthops: gws.map((gateway) => ({ gateway })) };
}

/** An export's state: eth1, its subnet, the statics from the `first`-th of 3000 on, an IPv6 discard route. */
function load(rib: Rib, exp: FibExport, first: number): void {
  exp.setInterface('eth1', { name: 'eth1', driver: 'memory', addresses: ['10.0.0.1/24'] });
  exp.start();
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  for (let i = first; i < 3000; i++) rib.announce('inet.0', 'static', stat(`10.${1 + (i >> 8)}.${i & 255}.0/24`, [i & 1 ? '10.0.0.2' : '10.0.0.3']));
  rib.announce('inet6.0', 'static', { prefix: '2001:db8:1::/48', protocol: 'static', preference: 5, action: 'discard', nexthops: [] });
}

test('vRouter thread: routes programmed through the thread link, ACKed; replay after a controller restart sweeps only the withdrawn', async () => {
  const lines: string[] = [];
  const thread = await startVrouterThread({ agentAddress: '127.0.0.1:0', vhost: false, introspect: false, health: false, bfd: false }, (l) => lines.push(l));
  const exps: FibExport[] = [];
  try {
    const address = `127.0.0.1:${thread.agentPort}`;
    const rib = new Rib();
    const exp = new FibExport(rib, { address, local: thread, backoffMinMs: 20, backoffMaxMs: 100 });
    exps.push(exp);
    load(rib, exp, 0);
    await exp.whenIdle(10_000);
    assert.equal(exp.status().nacks, 0);
    assert.equal(exp.status().routesAcked, 3002, 'every route acknowledged (the connected one too)');
    // the agent's programmer holds them (the connected subnet as its own entry), counted by the thread
    await waitFor('the shared route count', () => thread.programmedRoutes() === 3002, 2000, 10);
    // the unary reads go to the thread's agent over gRPC
    assert.equal((await exp.listRoutes('default', 4)).length >= 3000, true);
    // the data plane's counters reach the Prometheus exposition from the thread
    const text = await buildRegistry({ dataplane: () => thread.counters() }).metrics();
    assert.match(text, /cnr_vif_rx_packets_total\{vif="eth1"\} 0/);

    // a controller restart: a new export replays all but one route, holding the end until ready()
    await exp.stop();
    const rib2 = new Rib();
    const exp2 = new FibExport(rib2, { address, local: thread, holdResyncEnd: true, backoffMinMs: 20, backoffMaxMs: 100 });
    exps.push(exp2);
    load(rib2, exp2, 1);
    await waitFor('the replay acknowledged', () => exp2.status().connected && exp2.status().pending === 0 && exp2.status().inflight === 0, 10_000, 10);
    // (the count is refreshed every 50 ms: wait past one refresh)
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(thread.programmedRoutes(), 3002, 'nothing swept while the end is held');
    exp2.ready('test: state complete');
    await waitFor('the replay synced', () => exp2.status().synced, 10_000, 10);
    await waitFor('the withdrawn route swept', () => thread.programmedRoutes() === 3001, 2000, 10);
    assert.equal((await exp2.listRoutes('default', 4)).some((r) => r.prefix === '10.1.0.0/24'), false);
    assert.ok(lines.some((l) => /resync done, 1 stale objects removed/.test(l)), `the agent's log reached the main thread: ${lines.join(' | ')}`);
  } finally {
    for (const e of exps) await e.stop();
    await thread.stop();
  }
  assert.throws(() => thread.openProgram(() => {}, () => {}), /exited/);
});

/** The names of a process's threads (/proc/PID/task/TID/comm); a thread gone meanwhile is left out. */
function threadNames(pid: number): string[] {
  const names: string[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      names.push(readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim());
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return names;
}

/**
 * bin/cnr start on loopback only (no vhost0, ports chosen by the kernel) until it runs and the
 * threads named `expect` are there (a thread names itself once it has started: the data plane's
 * worker may do so a moment after the start line; 5 s at most); its threads then, its exit after SIGTERM.
 */
function runStart(extra: string[], expect: string[]): Promise<{ running: string; threads: string[]; code: number | null; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), `cnr-vrouter-thread-${process.pid}-`));
  const args = ['start', '--state-dir', join(dir, 'state'), '--metrics', 'none', '--agent-address', '127.0.0.1:0', '--introspect', 'none', '--health', 'none', '--no-vhost', ...extra];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cnrBin, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CNR_VROUTER_THREAD: '' } });
    let stderr = '';
    let running = '';
    let threads: string[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cnr ${args.join(' ')} not running and stopped within 20 s; stderr:\n${stderr}`));
    }, 20_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /cnr start: running .*/.exec(stderr);
      if (m && !running) {
        running = m[0];
        const until = Date.now() + 5_000;
        const look = (): void => {
          threads = threadNames(child.pid!);
          if (Date.now() < until && !expect.every((n) => threads.includes(n))) setTimeout(look, 50);
          else child.kill('SIGTERM');
        };
        look();
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      resolve({ running, threads, code, stderr });
    });
  });
}

const root = process.getuid?.() === 0;
test('cnr start: the vRouter thread by default, the main thread with --vrouter-thread off; both stop cleanly', { skip: root ? false : 'needs root: cnr start runs a data plane', timeout: 60_000 }, async () => {
  const byDefault = await runStart([], ['cnr-vrouter', 'cnr-fwd-0']);
  assert.match(byDefault.running, /\(vRouter thread\)/, byDefault.stderr);
  assert.ok(byDefault.threads.includes('cnr-vrouter'), `a thread named cnr-vrouter: ${byDefault.threads.join(', ')}`);
  assert.equal(byDefault.code, 0, byDefault.stderr);
  const off = await runStart(['--vrouter-thread', 'off'], ['cnr-fwd-0']);
  assert.match(off.running, /\(vRouter on the main thread\)/, off.stderr);
  assert.ok(!off.threads.includes('cnr-vrouter'), `no cnr-vrouter thread: ${off.threads.join(', ')}`);
  assert.ok(off.threads.includes('cnr-fwd-0'), `the data plane's worker runs all the same: ${off.threads.join(', ')}`);
  assert.equal(off.code, 0, off.stderr);
});
