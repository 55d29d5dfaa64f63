/**
 * jsonEqual (json-equal.ts): equal exactly when the JSON serializations carry the same content.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonEqual } from './json-equal.js';

test('equal content is equal, whatever the key order; undefined properties count as absent', () => {
  const route = { prefix: '10.0.0.2/32', preference: 5, nexthops: [{ gateway: '10.0.0.2', interface: 'cnr1' }], attributes: {} };
  assert.ok(jsonEqual(route, structuredClone(route)));
  assert.ok(jsonEqual({ a: 1, b: [1, 'x', null, true] }, { b: [1, 'x', null, true], a: 1 }));
  assert.ok(jsonEqual({ a: 1, gone: undefined }, { a: 1 }));
  assert.ok(jsonEqual({ a: 1 }, { a: 1, gone: undefined }));
  assert.ok(jsonEqual(null, null));
  assert.ok(jsonEqual('x', 'x'));
});

test('any difference in a value, a key, a length or a type is a difference', () => {
  const base = { prefix: '10.0.0.2/32', metric: 0, nexthops: [{ gateway: '10.0.0.2' }] };
  const cases: unknown[] = [
    { ...base, metric: 1 },
    { ...base, nexthops: [{ gateway: '10.0.0.3' }] },
    { ...base, nexthops: [{ gateway: '10.0.0.2' }, { gateway: '10.0.0.3' }] },
    { ...base, nexthops: [] },
    { ...base, extra: false },
    { prefix: base.prefix, metric: 0 },
    { ...base, metric: '0' },
    { ...base, nexthops: { 0: { gateway: '10.0.0.2' } } },
    [base],
    null,
    undefined,
  ];
  for (const c of cases) {
    assert.equal(jsonEqual(base, c), false, JSON.stringify(c));
    assert.equal(jsonEqual(c, base), false, `${JSON.stringify(c)} (reversed)`);
  }
  assert.equal(jsonEqual([1, 2], [2, 1]), false, 'array order matters');
  assert.equal(jsonEqual({}, []), false);
  assert.equal(jsonEqual(0, null), false);
});
