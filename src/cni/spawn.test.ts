import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastSpawnAvailable, spawnFast } from './spawn.js';

const skip = fastSpawnAvailable() ? false : 'posix_spawn through koffi is not available here';

test('spawnFast runs a child with exactly the given environment and stdin, and returns code and output', { skip }, async () => {
  const r = await spawnFast('/bin/sh', ['-c', 'cat; printf "%s" "$ONLY" >&2; exit 3'], { ONLY: 'a b;c' }, 'in\nput', 5000);
  assert.deepEqual(r, { code: 3, stdout: 'in\nput', stderr: 'a b;c' });
  const env = await spawnFast('/usr/bin/env', [], { A: '1' }, '', 5000);
  assert.equal(env.stdout, 'A=1\n');
});

test('spawnFast: default signal dispositions in the child (Node ignores SIGPIPE), killed children, timeouts, missing programs', { skip }, async () => {
  const sig = await spawnFast('/bin/sh', ['-c', 'grep SigIgn /proc/self/status'], {}, '', 5000);
  const ignored = BigInt(`0x${/SigIgn:\s+([0-9a-f]+)/.exec(sig.stdout)![1]}`);
  assert.equal(ignored & (1n << 12n), 0n, 'SIGPIPE (13) is not ignored in the child');
  assert.equal(ignored & ((1n << 31n) - 1n), 0n, 'no standard signal is ignored');
  assert.equal((await spawnFast('/bin/sh', ['-c', 'kill -TERM $$'], {}, '', 5000)).code, 128 + 15);
  const t0 = Date.now();
  await assert.rejects(spawnFast('/bin/sleep', ['5'], {}, '', 200), /timed out/);
  assert.ok(Date.now() - t0 < 3000);
  await assert.rejects(spawnFast('/nonexistent/prog', [], {}, '', 1000), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
});

test('spawnFast: a large stdin and concurrent children', { skip }, async () => {
  const big = 'x'.repeat(200_000);
  const r = await spawnFast('/bin/sh', ['-c', 'wc -c'], {}, big, 5000);
  assert.equal(r.stdout.trim(), '200000');
  const many = await Promise.all(Array.from({ length: 20 }, (_, i) => spawnFast('/bin/sh', ['-c', `echo ${i}`], {}, '', 5000)));
  assert.deepEqual(many.map((m) => m.stdout), many.map((_, i) => `${i}\n`));
});
