import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRouteTrace } from './route-trace.js';

test('route trace: each busy line gives the stall and the longest GC pause with its kind; the last line the run\'s GC', async () => {
  const lines: string[] = [];
  let changes = 0;
  const stop = startRouteTrace({ fib: () => ({ pending: changes, routesAcked: changes, messagesAcked: 2 }), programmed: () => changes, log: (l) => lines.push(l) }, '20');
  // garbage enough for the young generation to be collected several times
  let keep: { i: number }[] = [];
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 200_000; i++) keep.push({ i });
    if (keep.length > 600_000) keep = [];
    changes++;
    await new Promise((r) => setTimeout(r, 25));
  }
  stop();
  assert.ok(lines.some((l) => /^route-trace: \+[\d.]+ s pending \d+ acked \d+ programmed \d+ longest-stall \d+ ms cpu \d+ ms gc \d+ ms (minor|major|incremental)$/.test(l)), lines.join('\n'));
  assert.match(lines.at(-2)!, /^route-trace: 10 routes acknowledged in 2 messages \(5 per message\)$/);
  assert.match(lines.at(-1)!, /longest GC pause \d+ ms \((minor|major|incremental|weak-callbacks)\), [1-9]\d* pauses, \d+ ms in all$/);
});

test('route trace: off without an interval', () => {
  const lines: string[] = [];
  startRouteTrace({ fib: () => ({ pending: 0, routesAcked: 0 }), log: (l) => lines.push(l) }, undefined)();
  assert.deepEqual(lines, []);
});
