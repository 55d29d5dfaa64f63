/**
 * Wake-up coalescing (CNR_RX_COALESCE_US, worker/engine.ts rxCoalesceMs) on the real data
 * plane: host1 — vRouter (af-packet, one worker) — host2. With the longest nap (1000 us) every
 * ping still crosses both ways and none is lost, and the nap shows in the round trip: the echo
 * request arrives alone (a partial burst), so the worker naps before its next turn and the
 * reply, back within microseconds, waits for it. Without coalescing the round trip here is
 * 0.1-0.3 ms (docs/benchmarks-history.md), so a median of at least 0.9 ms says the setting was applied.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, needsRoot, numberedHost, ping } from '../lib/netns.js';
import { startVrouter, type RunningVrouter } from '../lib/vrouter.js';

const skip = needsRoot();
const lab = new NetnsLab('dpco');
const NAP_US = 1000;
let h1 = '';
let vr: RunningVrouter | undefined;

before(async () => {
  if (skip) return;
  const { router: r, hosts } = lab.topology({ router: 'r', hosts: [numberedHost(1, { mac: '02:cc:00:00:01:02' }), numberedHost(2, { mac: '02:cc:00:00:02:02' })] });
  h1 = hosts[0]!;
  const saved = process.env['CNR_RX_COALESCE_US'];
  process.env['CNR_RX_COALESCE_US'] = String(NAP_US);
  try {
    vr = await startVrouter(lab, r, {
      workers: 1,
      // the vRouter's own path is what is measured: the kernel would forward the pings itself
      kernelFastPath: false,
      vifs: [
        { name: 'r1', driver: 'af-packet', mac: '02:cc:00:00:01:01', addresses: ['10.1.0.1/24'] },
        { name: 'r2', driver: 'af-packet', mac: '02:cc:00:00:02:01', addresses: ['10.2.0.1/24'] },
      ],
    });
  } finally {
    if (saved === undefined) delete process.env['CNR_RX_COALESCE_US'];
    else process.env['CNR_RX_COALESCE_US'] = saved;
  }
  // ARP both ways through the first pings
  ping(lab, h1, '10.2.0.2', { count: 2, deadlineS: 3 });
});

after(async () => {
  if (vr) await vr.stop();
  await lab.cleanup();
});

test('with a 1 ms coalescing nap every ping crosses the vRouter, and the nap shows in the round trip', { skip, timeout: 60000 }, () => {
  const count = 100;
  const r = ping(lab, h1, '10.2.0.2', { count, interval: 0.02, deadlineS: 20 });
  assert.equal(r.received, count, `every ping answered:\n${r.output}`);
  const rtts = [...r.output.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  assert.equal(rtts.length, count);
  const median = rtts[Math.floor(count / 2)]!;
  assert.ok(median >= 0.9 * (NAP_US / 1000), `median round trip ${median} ms, expected at least the ${NAP_US} us nap`);
});
