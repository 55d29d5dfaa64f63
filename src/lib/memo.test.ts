/**
 * memoByString (memo.ts): the function runs once per string, its results and its errors
 * given back as they were, and the table bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memoByString } from './memo.js';

test('each string is computed once; an error is remembered and thrown again', () => {
  const calls: string[] = [];
  const f = memoByString((s: string) => {
    calls.push(s);
    if (s === 'bad') throw new Error(`bad input: ${s}`);
    return s.length;
  });
  assert.equal(f('abc'), 3);
  assert.equal(f('abc'), 3);
  assert.equal(f('de'), 2);
  assert.throws(() => f('bad'), /bad input: bad/);
  assert.throws(() => f('bad'), /bad input: bad/);
  assert.deepEqual(calls, ['abc', 'de', 'bad']);
});

test('past `max` strings the table starts again (bounded memory), results still right', () => {
  let calls = 0;
  const f = memoByString((s: string) => {
    calls++;
    return `<${s}>`;
  }, 3);
  for (const s of ['a', 'b', 'c']) f(s);
  assert.equal(calls, 3);
  assert.equal(f('d'), '<d>', 'the fourth empties the table');
  assert.equal(calls, 4);
  assert.equal(f('a'), '<a>');
  assert.equal(calls, 5, 'a was forgotten with the rest');
  assert.equal(f('d'), '<d>');
  assert.equal(calls, 5, 'd was kept');
});
