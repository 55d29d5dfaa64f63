/** Uint32Map against a JS Map: the same answers through random sets, deletes and regrowths. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Uint32Map } from './uint32-map.js';

/** a small deterministic generator (xorshift32), so a failure repeats */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

test('Uint32Map answers as a Map through random sets and deletes', () => {
  const next = rng(12345);
  const m = new Uint32Map<{ v: number }>();
  const ref = new Map<number, { v: number }>();
  for (let step = 0; step < 200_000; step++) {
    const r = next();
    // keys from a small range (collisions, re-adds after delete) and a few from the whole range
    const key = step % 7 === 0 ? next() : r % 5000;
    if (r % 3 === 0) assert.equal(m.delete(key), ref.delete(key), `delete ${key}`);
    else {
      const v = { v: step };
      m.set(key, v);
      ref.set(key, v);
    }
    if (step % 997 === 0) {
      assert.equal(m.size, ref.size);
      for (const [k, v] of ref) assert.equal(m.get(k), v, `get ${k}`);
    }
  }
  assert.equal(m.size, ref.size);
  assert.deepEqual(new Set(m.values()), new Set(ref.values()));
  assert.deepEqual(new Map(m.entries()), ref);
  for (let i = 0; i < 1000; i++) {
    const k = next();
    assert.equal(m.get(k), ref.get(k));
    assert.equal(m.has(k), ref.has(k));
  }
});

test('Uint32Map takes the extreme keys and refuses what is not a uint32', () => {
  const m = new Uint32Map<object>();
  const a = {}, b = {};
  m.set(0, a).set(0xffffffff, b);
  assert.equal(m.get(0), a);
  assert.equal(m.get(0xffffffff), b);
  assert.equal(m.get(1), undefined);
  for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) assert.throws(() => m.set(bad, {}), RangeError, String(bad));
  assert.equal(m.size, 2);
});

test('Uint32Map shrinks back when emptied and keeps working', () => {
  const m = new Uint32Map<{ k: number }>();
  for (let k = 0; k < 10_000; k++) m.set(k * 16, { k });
  for (let k = 0; k < 10_000; k++) assert.ok(m.delete(k * 16));
  assert.equal(m.size, 0);
  assert.deepEqual([...m.values()], []);
  m.set(42, { k: 42 });
  assert.equal(m.get(42)?.k, 42);
  m.clear();
  assert.equal(m.size, 0);
  assert.equal(m.get(42), undefined);
});

test('Uint32Map values() during changes yields each value present at its start at most once', () => {
  const m = new Uint32Map<{ k: number }>();
  for (let k = 0; k < 1000; k++) m.set(k, { k });
  const seen = new Set<number>();
  let added = 1000;
  for (const v of m.values()) {
    assert.ok(!seen.has(v.k), `seen twice: ${v.k}`);
    seen.add(v.k);
    // deletes and adds (forcing regrowth) while iterating
    m.delete((v.k + 500) % 1000);
    m.set(added, { k: added });
    added++;
  }
  for (let k = 0; k < 1000; k++) if (m.has(k)) assert.ok(seen.has(k), `still present and never seen: ${k}`);
});

test('Uint32Map over several value chunks: insertion order, values added during an iteration seen, compaction across chunks', () => {
  const m = new Uint32Map<{ k: number }>();
  const n = 30_000; // a few chunks of the value column
  for (let k = 0; k < n; k++) m.set(k * 7, { k });
  assert.deepEqual([...m.values()].map((v) => v.k), Array.from({ length: n }, (_, k) => k));
  // values added while iterating (no compaction meanwhile) are seen, after the others
  let added = 0;
  const order: number[] = [];
  for (const v of m.values()) {
    order.push(v.k);
    if (added < 10_000) m.set((n + added) * 7, { k: n + added++ });
  }
  assert.deepEqual(order, Array.from({ length: n + 10_000 }, (_, k) => k));
  // most deleted: the columns are compacted, the rest keep their order and keys
  for (let k = 0; k < n + 10_000; k++) if (k % 5 !== 0) assert.ok(m.delete(k * 7));
  const left = Array.from({ length: (n + 10_000) / 5 }, (_, i) => i * 5);
  assert.deepEqual([...m.values()].map((v) => v.k), left);
  assert.deepEqual([...m.entries()].map(([key, v]) => [key, v.k]), left.map((k) => [k * 7, k]));
  for (const k of left) assert.equal(m.get(k * 7)?.k, k);
  assert.equal(m.get(7), undefined);
});

test('Uint32Map find-or-add (a get that misses, then a set) in runs of keys, with deletes between', () => {
  // the pattern of the RIB's entryOf: get, and set when it missed; runs of consecutive keys
  // share a line of the index, and a set after a miss reuses the probe's cell (a deleted one
  // on the way, or the empty one that ended it) unless the map changed in between
  const next = rng(777);
  const m = new Uint32Map<{ v: number }>();
  const ref = new Map<number, { v: number }>();
  for (let step = 0; step < 100_000; step++) {
    const r = next();
    // most keys in a small range (full runs, collisions), the rest in runs anywhere
    const key = step % 4 === 0 ? ((r >>> 12) & 0xffff0) + (r & 31) : r % 300;
    if (r % 5 === 0) {
      assert.equal(m.delete(key), ref.delete(key), `delete ${key}`);
      continue;
    }
    const had = m.get(key);
    assert.equal(had, ref.get(key), `get ${key}`);
    if (had === undefined) {
      // sometimes the map changes between the miss and the set: the remembered cell must not be used
      if (r % 7 === 0) {
        const other = key ^ 1;
        if (m.delete(other) !== ref.delete(other)) assert.fail(`delete ${other}`);
      } else if (r % 11 === 0) {
        const other = (key + 1 + (r >>> 24)) % 300, v = { v: -step };
        m.set(other, v);
        ref.set(other, v);
      }
      const v = { v: step };
      m.set(key, v);
      ref.set(key, v);
    }
  }
  assert.equal(m.size, ref.size);
  assert.deepEqual(new Map(m.entries()), ref);
  for (const [k, v] of ref) assert.equal(m.get(k), v);
});
