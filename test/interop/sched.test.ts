// The run-queue delay sampler of the timing tests (harness/sched.ts): mostWaited's lower
// bounds on made-up series, and a live check that two busy processes sharing one CPU each
// show about half their time waiting, while a sleeping one shows none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mostWaited, RunDelaySampler, threadsOf } from './harness/sched.js';
import { sleep } from './harness/proc.js';

const ms = (x: number) => x * 1e6;

test('mostWaited: exact within a window, a share of a longer gap, and when', () => {
  // samples every 10 ms; 120 ms of waiting between 1050 and 1200, nothing else
  const t = Array.from({ length: 51 }, (_, i) => 1000 + i * 10);
  const d = t.map((x) => ms(Math.min(120, Math.max(0, x - 1050) * 0.8)));
  const w = mostWaited(t, d, 300);
  assert.equal(Math.round(w.waitedMs), 120);
  assert.ok(w.at <= 1050, String(w.at));
  // the sampler held off for 900 ms, 270 ms waited within: some 300 ms window holds 90 at least
  assert.deepEqual(mostWaited([0, 900], [0, ms(270)], 300), { waitedMs: 90, at: 0 });
  // a short window of a longer series: only what falls inside
  assert.equal(mostWaited([0, 100, 200, 300, 400], [0, ms(50), ms(50), ms(150), ms(150)], 100).waitedMs, 100);
  assert.deepEqual(mostWaited([], [], 300), { waitedMs: 0, at: 0 });
  assert.deepEqual(mostWaited([5], [ms(7)], 300), { waitedMs: 0, at: 5 });
});

test('two busy processes on one CPU wait about half the time; a sleeping one does not', { skip: process.platform !== 'linux' && 'needs Linux /proc' }, async () => {
  const busy = () => spawn('taskset', ['-c', '0', process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' });
  // a process that only sleeps (not node: its start-up would run, and wait, in the sampled time)
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  const spinners = [busy(), busy()];
  try {
    await sleep(200);
    const threads = [...spinners, sleeper].map((c) => threadsOf(c.pid!, () => true).find((th) => th.tid === c.pid)!);
    assert.equal(threads.filter(Boolean).length, 3);
    const sampler = new RunDelaySampler(threads, 10);
    await sleep(1000);
    sampler.stop();
    const [a, b, s] = sampler.worst(300);
    for (const x of [a!, b!]) assert.ok(x.waitedMs > 100 && x.totalMs > 300, `a spinner sharing a CPU waited ${x.waitedMs.toFixed(0)} ms in 300 (${x.totalMs.toFixed(0)} in all)`);
    assert.ok(s!.waitedMs < 50, `the sleeper waited ${s!.waitedMs.toFixed(0)} ms in 300`);
  } finally {
    for (const c of [...spinners, sleeper]) c.kill('SIGKILL');
  }
});
