/** bench/lib/cpu-stat.ts: busy CPU seconds of all cores from two /proc/stat snapshots. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { busySeconds, parsePidStat, parseProcStat, processUserSystem } from '../../bench/lib/cpu-stat.js';

const before = `cpu  1203491 0 193277 590139 2087 0 10929 3582 0 0
cpu0 601209 0 97418 293635 530 0 7147 1771 0 0
cpu1 602282 0 95858 296503 1557 0 3782 1810 0 0
intr 123 4 5
ctxt 99
`;
// cpu0: +100 user, +20 system, +30 softirq, +50 idle, +7 steal; cpu1: +10 nice, +5 irq, +285 idle
const after = `cpu  1203591 10 193297 590474 2087 5 10959 3589 0 0
cpu0 601309 0 97438 293685 530 0 7177 1778 0 0
cpu1 602282 10 95858 296788 1557 5 3782 1810 0 0
intr 200 4 5
`;

test('parseProcStat reads the total and every per-CPU line, nothing else', () => {
  const m = parseProcStat(before);
  assert.deepEqual([...m.keys()], ['cpu', 'cpu0', 'cpu1']);
  assert.deepEqual(m.get('cpu1'), { user: 602282, nice: 0, system: 95858, idle: 296503, iowait: 1557, irq: 0, softirq: 3782, steal: 1810 });
});

test('busySeconds sums user, nice, system, irq and softirq over the per-CPU lines; idle and steal are not busy', () => {
  const r = busySeconds(parseProcStat(before), parseProcStat(after));
  assert.deepEqual(r.perCpu, { cpu0: 1.5, cpu1: 0.15 });
  assert.equal(Number(r.busy.toFixed(6)), 1.65);
  assert.equal(Number(r.steal.toFixed(6)), 0.07);
});

test('a CPU missing from the first snapshot is left out', () => {
  const r = busySeconds(parseProcStat(before), parseProcStat(after + 'cpu2 100 0 0 0 0 0 0 0 0 0\n'));
  assert.equal(Object.keys(r.perCpu).length, 2);
});

test('parsePidStat finds utime and stime after a command name with spaces and parentheses', () => {
  const text = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 5000 0 0 0 731 129 0 0 20 0 11 0 1234 0 0\n';
  assert.deepEqual(parsePidStat(text), { utime: 731, stime: 129 });
});

test('processUserSystem: the user time of this process grows while it computes; a process that is gone counts 0', () => {
  const before = processUserSystem(process.pid);
  const end = Date.now() + 300;
  let x = 0;
  while (Date.now() < end) x += Math.sqrt(x + 1);
  const after = processUserSystem(process.pid);
  assert.ok(x > 0);
  // at least a few 10 ms ticks of the 300 ms spent computing (the machine may be shared)
  assert.ok(after.user + after.system - (before.user + before.system) >= 0.03, JSON.stringify({ before, after }));
  assert.ok(after.user >= before.user && after.system >= before.system);
  assert.deepEqual(processUserSystem(2 ** 22 + 1), { user: 0, system: 0 });
});
