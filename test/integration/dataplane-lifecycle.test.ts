/**
 * Data-plane lifecycle in a bare script (test/lib/dp-lifecycle-child.ts) on a real veth in a
 * namespace: af-packet vifs open with `workers: 0` and `workers: 1`, a started data plane holds
 * its process alive until stop() and then lets it exit, and an idle worker sleeps on its
 * sockets instead of waking every millisecond.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { NetnsLab, needsRoot, waitForLine, stopChild } from '../lib/netns.js';
import type { ChildProcess } from 'node:child_process';

const skip = needsRoot();
const child = fileURLToPath(new URL('../lib/dp-lifecycle-child.js', import.meta.url));
const lab = new NetnsLab('dplc');
let r = '';

before(() => {
  if (skip) return;
  r = lab.netns('r');
  const h = lab.netns('h');
  lab.veth(r, 'p0', h, 'eth0');
  lab.veth(r, 'p1', h, 'eth1');
});

after(() => lab.cleanup());

function exited(c: ChildProcess, ms: number): Promise<number | null | 'running'> {
  if (c.exitCode !== null) return Promise.resolve(c.exitCode);
  return new Promise((res) => {
    const t = setTimeout(() => { c.off('exit', on); res('running'); }, ms);
    const on = (code: number | null) => { clearTimeout(t); res(code); };
    c.once('exit', on);
  });
}

for (const workers of [0, 1]) {
  test(`workers: ${workers}: an af-packet vif opens, a started data plane keeps the process alive until stop()`, { skip, timeout: 30000 }, async () => {
    const c = lab.spawn(r, [process.execPath, child, String(workers), 'p0', 'start']);
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitForLine(c, /^started|^error/);
      assert.doesNotMatch(out, /^error/m, out);
      const t0 = Date.now();
      assert.equal(await exited(c, 1500), 'running', `the process exited on its own while the data plane ran: ${out}`);
      const idleMs = Date.now() - t0;
      process.kill(c.pid!, 'SIGTERM');
      const code = await exited(c, 8000);
      assert.equal(code, 0, `after stop() the process should exit by itself with 0, got ${code}: ${out}`);
      const m = /stats (.*)/.exec(out);
      assert.ok(m, out);
      const counters = JSON.parse(m[1]!) as Record<string, number>;
      if (workers === 1) {
        // asleep on the socket and the wake fd (20 ms at a time), not 1 ms naps
        assert.ok(counters.idle_sleeps! > 0 && counters.idle_sleeps! < idleMs / 5, `idle sleeps in ${idleMs} ms: ${counters.idle_sleeps}`);
      }
    } finally {
      await stopChild(c, 3000);
    }
  });
}
