/** bench/lib/sample-udp.ts: what the convergence benchmark counts as still forwarded after the withdrawal began. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forwardedSince } from '../../bench/lib/sample-udp.js';

test('datagrams sent at or after the moment count, in any arrival order; the last one is how long after', () => {
  assert.deepEqual(forwardedSince([990, 1000, 1250.5, 1010, 999.9], 1000), { count: 3, lastMs: 250.5 });
  const none = forwardedSince([1, 2, 3], 1000);
  assert.equal(none.count, 0);
  assert.ok(Number.isNaN(none.lastMs));
});
