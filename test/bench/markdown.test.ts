/** bench/lib/markdown.ts: a results file becomes docs tables with medians, spreads and same-run ratios, notes below. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { num, resultsMarkdown } from '../../bench/lib/markdown.js';

const sp = (rounds: number[]) => {
  const s = [...rounds].sort((a, b) => a - b);
  return { n: s.length, min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s[s.length - 1]!, rounds };
};

test('figures: thousands separated, three significant digits below 1,000', () => {
  assert.equal(num(1234567.8), '1,234,568');
  assert.equal(num(5.0907), '5.09');
  assert.equal(num(0.18), '0.18');
  assert.equal(num(Number.NaN), 'NaN');
});

test('one table per module: median [min..max] each side, the ratio of the rounds, notes under it, pipes escaped', () => {
  const md = resultsMarkdown([{
    date: '2026-12-07T02:00:00Z',
    machineLine: 'AMD EPYC, 2 cores',
    modules: [{ module: 'fib', load: { start: [0.5, 0.4, 0.3], end: [1.2, 0.8, 0.5] }, seconds: 151.4 }, { module: 'cni', load: { start: [1, 1, 1], end: [1, 1, 1] }, seconds: 3, error: 'no bridge plugin' }],
    results: [
      { module: 'fib', name: '1M routes | FIB', value: 5.09, unit: 's', spread: sp([5.63, 5.09, 4.78]), reference: { name: 'BIRD into the kernel', value: 16.06, spread: sp([16.45, 16.03, 16.06]) }, ratio: 3.148, ratioSpread: sp([2.92, 3.15, 3.36]), notes: 'both polled\nevery 500 ms' },
      { module: 'fib', name: 'bytes per route', value: 65.8, unit: 'B', spread: sp([66.2, 65.8, 63.5]) },
    ],
  }]);
  assert.match(md, /^Run 2026-12-07T02:00:00Z on AMD EPYC, 2 cores\./);
  assert.match(md, /- fib: 151 s, load average 0.5 0.4 0.3 at start, 1.2 0.8 0.5 at end\n/);
  assert.match(md, /- cni: 3 s, .* — \*\*failed\*\*: no bridge plugin\n/);
  assert.match(md, /\n### fib\n/);
  assert.ok(md.includes('| 1M routes \\| FIB | 5.09 s [4.78..5.63] | BIRD into the kernel: 16.1 [16..16.4] | **3.15x** [2.92..3.36] |'), md);
  assert.ok(md.includes('| bytes per route | 65.8 B [63.5..66.2] | - | - |'), md);
  assert.ok(md.includes('- *1M routes \\| FIB*: both polled every 500 ms'), md);
  assert.doesNotMatch(md, /### cni/, 'a module without figures gets no table');
});
