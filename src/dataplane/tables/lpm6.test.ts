import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LpmTable, LPM6_STRIDES, maskWords } from './lpm.js';
import { rng } from '../../../test/support/random.js';

test('LPM6: 100k random prefixes, then deletes, against a naive reference', () => {
  const r = rng(777);
  const t = LpmTable.create(LPM6_STRIDES, 1 << 25, 2);
  const byLen = new Map<number, Map<string, number>>();
  const key = (w: Uint32Array) => `${w[0]},${w[1]},${w[2]},${w[3]}`;
  const m = new Uint32Array(4);
  const pick = () => {
    const u = r() % 100;
    if (u < 30) return 48;
    if (u < 40) return 32;
    if (u < 50) return 40;
    if (u < 60) return 56;
    if (u < 85) return 64;
    if (u < 90) return 128;
    return 16 + (r() % 113);
  };
  const inserted: [Uint32Array, number][] = [];
  for (let k = 0; k < 100_000; k++) {
    const l = pick();
    // 2000::/3 with a few hundred /32 allocations, like the real table
    const w = new Uint32Array([((0x20000000 | ((r() % 400) << 16) | (r() & 0xffff)) >>> 0) & 0x3fffffff, r(), r(), r()]);
    if (k % 3 === 0) w[0] = (w[0]! & 0xffff0000) | 0x0db8; // dense region
    maskWords(w, l, w);
    const nh = 1 + (r() % 60000);
    t.insert(0, w, l, nh);
    let mm = byLen.get(l);
    if (!mm) byLen.set(l, (mm = new Map()));
    mm.set(key(w), nh);
    inserted.push([w, l]);
  }
  const lens = () => [...byLen.keys()].sort((a, b) => b - a);
  const refLookup = (a: Uint32Array, ls: number[]) => {
    for (const l of ls) {
      const v = byLen.get(l)!.get(key(maskWords(a, l, m)));
      if (v !== undefined) return v;
    }
    return 0;
  };
  const check = (n: number) => {
    const ls = lens();
    const a = new Uint32Array(4);
    for (let k = 0; k < n; k++) {
      const [p, l] = inserted[r() % inserted.length]!;
      for (let q = 0; q < 4; q++) {
        const bits = l - q * 32;
        const keep = bits >= 32 ? 0xffffffff : bits <= 0 ? 0 : (~0 << (32 - bits)) >>> 0;
        a[q] = ((p[q]! & keep) | (r() & ~keep)) >>> 0;
      }
      if (k % 4 === 0) { a[0] = r(); }
      const got = t.lookup(0, a);
      const want = refLookup(a, ls);
      if (got !== want) assert.fail(`lookup ${Array.from(a, (x) => x.toString(16)).join(':')}: got ${got}, want ${want}`);
    }
  };
  check(20_000);
  for (let k = 0; k < inserted.length; k += 2) {
    const [w, l] = inserted[k]!;
    const had = byLen.get(l)!.delete(key(w));
    assert.equal(t.remove(0, w, l), had);
  }
  check(20_000);
  console.log(`# lpm6: ${(t.usedSlots * 4 / 1048576).toFixed(1)} MiB of slots`);
});

