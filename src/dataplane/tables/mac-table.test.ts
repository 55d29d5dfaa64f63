/**
 * The MAC table against a Map on random inserts, moves and removes (STYLE.md rule 8), in a
 * small table that fills: every lookup agrees with the reference, a refused insert leaves
 * the table as it was, and removing everything leaves no tombstone behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAC_EMPTY, MAC_LIVE, MAX_PROBE, MacTable } from './mac-table.js';
import { rng } from '../../../test/support/random.js';

test('MAC table agrees with a Map on random inserts, moves and removes, full or not', () => {
  const t = MacTable.create(256);
  const ref = new Map<string, { e: number; vif: number }>();
  const r = rng(99);
  const keys = Array.from({ length: 400 }, () => [1 + (r() % 3), r() & 0xffff, r() >>> 0] as const);
  let refused = 0;
  for (let step = 0; step < 50_000; step++) {
    const [bd, hi, lo] = keys[r() % keys.length]!;
    const k = `${bd}/${hi}/${lo}`;
    const op = r() % 3;
    if (op < 2) {
      const vif = r() % 8;
      const e = t.insert(bd, hi, lo, vif, step);
      if (e < 0) {
        refused++;
        assert.ok(!ref.has(k), 'an existing key is always updated');
      } else {
        ref.set(k, { e, vif });
      }
    } else {
      const e = t.find(bd, hi, lo);
      assert.equal(e, ref.get(k)?.e ?? -1, `find ${k}`);
      if (e >= 0) { t.remove(e); ref.delete(k); }
    }
    if (step % 97 === 0) {
      for (const [bd2, hi2, lo2] of keys) {
        const e = t.find(bd2, hi2, lo2);
        const want = ref.get(`${bd2}/${hi2}/${lo2}`);
        assert.equal(e >= 0 ? t.vif[e] : -1, want ? want.vif : -1);
      }
      assert.equal(t.size, ref.size);
    }
  }
  assert.ok(refused > 0, 'the table filled up at times');
  assert.ok(ref.size > 200, 'and held most of its capacity');
  // compaction keeps every entry findable and frees the tombstones no chain needs
  const before = t.tombstones;
  t.compact();
  assert.ok(t.tombstones <= before);
  for (const [k, v] of ref) {
    const [bd, hi, lo] = k.split('/').map(Number) as [number, number, number];
    const e = t.find(bd, hi, lo);
    assert.equal(t.vif[e], v.vif);
    v.e = e;
  }
  for (const { e } of ref.values()) t.remove(e);
  assert.equal(t.size, 0);
  t.compact();
  assert.ok(t.state.every((s) => s === MAC_EMPTY), 'no tombstone left once the table is empty');
  // every live entry stays within MAX_PROBE of its home, so lookups are bounded
  t.insert(1, 2, 3, 4, 0);
  assert.equal(t.state.filter((s) => s === MAC_LIVE).length, 1);
  assert.ok(MAX_PROBE <= 256);
});

test('MACs counted up (one vendor, consecutive serials) spread: 100k fit a table of 2^18 within the probe bound', () => {
  const t = MacTable.create(1 << 18);
  for (let n = 0; n < 100_000; n++) assert.ok(t.insert(1 + (n & 1), 0x0210, n >>> 0, 1, 0) >= 0, `insert ${n}`);
  assert.equal(t.size, 100_000);
  for (let n = 0; n < 100_000; n += 997) assert.ok(t.find(1 + (n & 1), 0x0210, n) >= 0);
});
