/** bench/lib/stats.ts: medians, spreads and per-round ratios as every benchmark reports them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { figure, median, roundRatios, spread } from '../../bench/lib/stats.js';

test('median of odd and even counts, unsorted input left as it was', () => {
  const xs = [5, 1, 3];
  assert.equal(median(xs), 3);
  assert.deepEqual(xs, [5, 1, 3]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.throws(() => median([]), /no values/);
});

test('spread keeps the rounds in the order they ran', () => {
  assert.deepEqual(spread([3, 9, 1]), { n: 3, min: 1, median: 3, max: 9, rounds: [3, 9, 1] });
});

test('ratios are formed within each round, in the direction asked, skipping empty rounds', () => {
  assert.deepEqual(roundRatios([10, 20, 30], [5, 10, 60], 'value/ref'), [2, 2, 0.5]);
  assert.deepEqual(roundRatios([10, 20, 30], [5, 10, 60], 'ref/value'), [0.5, 0.5, 2]);
  assert.deepEqual(roundRatios([10, Number.NaN, 30], [5, 10, 0], 'value/ref'), [2]);
  assert.throws(() => roundRatios([1], [1, 2], 'value/ref'), /1 rounds against 2/);
});

test('figure quotes medians and the median of per-round ratios, not a ratio of bests', () => {
  // best cnr (30) over best reference (60) would be 0.5; medians 20/10 would be 2; per-round: 2, 2, 0.5 -> 2
  const f = figure({ name: 'x, 1 route', unit: 'pps', values: [10, 20, 30], reference: { name: 'kernel', values: [5, 10, 60] } });
  assert.equal(f.value, 20);
  assert.equal(f.reference?.value, 10);
  assert.equal(f.ratio, 2);
  assert.deepEqual(f.ratioSpread?.rounds, [2, 2, 0.5]);
  assert.match(f.notes ?? '', /within each round/);
  // per-round ratios differ from the ratio of medians when the rounds move together
  const g = figure({ name: 'y', unit: 's', values: [2, 4, 8], reference: { name: 'bird', values: [1, 4, 2] }, direction: 'ref/value' });
  assert.deepEqual(g.ratioSpread?.rounds, [0.5, 1, 0.25]);
  assert.equal(g.ratio, 0.5);
});

test('figure says when fewer than three rounds produced a value', () => {
  const f = figure({ name: 'z', unit: 's', values: [1, Number.NaN] });
  assert.equal(f.value, 1);
  assert.match(f.notes ?? '', /only 1 round/);
  assert.throws(() => figure({ name: 'none', unit: 's', values: [Number.NaN] }), /no round/);
});
