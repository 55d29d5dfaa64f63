/** Data-plane drops over a rate become one log line per interval, and the end of a burst one more. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dropReport, watchDrops } from './drop-watch.js';

test('dropReport: nothing at or under the rate; over it, the count, the rate and the three largest reasons', () => {
  assert.equal(dropReport({ no_route: 10 }, { no_route: 1010 }, 10, 100), undefined, '100/s is not over 100/s');
  assert.equal(
    dropReport({ no_route: 10, acl_deny: 0 }, { no_route: 1511, acl_deny: 300, ttl_exceeded: 5, rx_ring_drop: 7000 }, 10, 100),
    'data plane drops: 8806 in 10 s (881/s; rx_ring_drop 7000, no_route 1501, acl_deny 300, ...)',
  );
  assert.equal(dropReport({}, { storm_control: 2000 }, 10, 100), 'data plane drops: 2000 in 10 s (200/s; storm_control 2000)');
});

test('watchDrops logs a burst while it lasts and its end once', async () => {
  let n = 0;
  const counts = [0, 5000, 9000, 9010, 9020];
  const lines: string[] = [];
  const stop = watchDrops({ dropStats: () => ({ no_route: counts[Math.min(n++, counts.length - 1)]! }) }, (l) => lines.push(l), { intervalMs: 20, perSecond: 1000 });
  await new Promise((r) => setTimeout(r, 150));
  stop();
  assert.deepEqual(lines, ['data plane drops: 5000 in 0.02 s (250000/s; no_route 5000)', 'data plane drops: 4000 in 0.02 s (200000/s; no_route 4000)', 'data plane drops back under 1000/s']);
});
