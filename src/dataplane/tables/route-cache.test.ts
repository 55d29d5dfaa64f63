import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LpmTable, LPM6_STRIDES, maskWords } from './lpm.js';
import { RouteCache6 } from './route-cache.js';
import { rng } from '../../../test/support/random.js';

/**
 * The cache in front of the trie answers what the trie answers, through route changes in
 * between (inserts of longer and shorter prefixes, deletes, a VRF cleared), for addresses
 * that repeat (hits), that share a /64 with routes longer than /64, and in two VRFs.
 */
test('IPv6 route cache: the same answers as the trie, through route changes, in two VRFs', () => {
  const r = rng(2024);
  const t = LpmTable.create(LPM6_STRIDES, 1 << 22, 4);
  const B = 256;
  const cache = new RouteCache6(10, B); // small, so that entries also get evicted
  const a = [0, 1, 2, 3].map(() => new Int32Array(B));
  const vrfs = new Int32Array(B);
  const roots = new Int32Array(B);
  const out = new Int32Array(B);
  const w = new Uint32Array(4);
  const prefixes: [Uint32Array, number, number][] = [];
  const addRandom = (n: number) => {
    for (let k = 0; k < n; k++) {
      const len = [16, 32, 48, 56, 64, 64, 72, 96, 127, 128][r() % 10]!;
      // a few hundred /32s, so prefixes nest and share /64s
      const p = maskWords(Uint32Array.of((0x20010000 | (r() % 300)) >>> 0, r() % 4, r() % 8, r()), len, new Uint32Array(4));
      const vrf = 1 + (r() % 2);
      t.insert(vrf, p, len, 1 + (r() % 5000));
      prefixes.push([p, len, vrf]);
    }
  };
  // addresses: inside known prefixes, then the same ones again (hits), plus neighbours in their /64
  const pool: { w: Uint32Array; vrf: number }[] = [];
  const check = (rounds: number) => {
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < B; k++) {
        let x: { w: Uint32Array; vrf: number };
        if ((pool.length >= 600 && r() % 8 !== 0) || (pool.length > 0 && r() % 2 === 0)) {
          x = pool[r() % pool.length]!;
          if (r() % 4 === 0) x = { w: Uint32Array.of(x.w[0]!, x.w[1]!, r(), r()), vrf: x.vrf }; // same /64
        } else {
          const [p, len, vrf] = prefixes[r() % prefixes.length]!;
          const keep = (q: number) => { const bits = len - q * 32; return bits >= 32 ? 0xffffffff : bits <= 0 ? 0 : (~0 << (32 - bits)) >>> 0; };
          x = { w: Uint32Array.from(p, (v, q) => ((v & keep(q)) | (r() & ~keep(q))) >>> 0), vrf: r() % 8 === 0 ? 3 - vrf : vrf };
          if (pool.length < 600) pool.push(x);
        }
        for (let q = 0; q < 4; q++) a[q]![k] = x.w[q]!;
        vrfs[k] = x.vrf;
        roots[k] = t.iroots[x.vrf]!;
      }
      cache.lookup(t, vrfs, roots, a[0]!, a[1]!, a[2]!, a[3]!, out, B);
      for (let k = 0; k < B; k++) {
        for (let q = 0; q < 4; q++) w[q] = a[q]![k]!;
        const want = t.lookup(vrfs[k]!, w);
        if (out[k] !== want) assert.fail(`vrf ${vrfs[k]} ${Array.from(w, (v) => v.toString(16)).join(':')}: cache says ${out[k]}, trie ${want}`);
      }
    }
  };
  addRandom(5000);
  check(200);
  assert.ok(cache.hits > 20_000, `hits ${cache.hits}`);
  // changes after the cache filled: more prefixes (longer and shorter), deletes, then a VRF cleared
  for (let step = 0; step < 20; step++) {
    addRandom(100);
    for (let k = 0; k < 100; k++) {
      const [p, len, vrf] = prefixes[r() % prefixes.length]!;
      t.remove(vrf, p, len);
    }
    check(20);
  }
  t.clearVrf(2);
  check(20);
  assert.ok(cache.misses > 10_000 && cache.hits > 50_000, `hits ${cache.hits}, misses ${cache.misses}`);
});

test('IPv6 route cache: an entry answers only for its own VRF and address (one set of two ways)', () => {
  const t = LpmTable.create(LPM6_STRIDES, 1 << 18, 4);
  const cache = new RouteCache6(0, 1);
  const p = Uint32Array.of(0x20010db8, 0, 0, 0);
  t.insert(1, p, 32, 11);
  t.insert(2, p, 32, 22);
  t.insert(2, Uint32Array.of(0x20010db8, 0, 0, 5), 128, 33);
  const one = (vrf: number, w3: number): number => {
    const out = new Int32Array(1);
    cache.lookup(t, Int32Array.of(vrf), Int32Array.of(t.iroots[vrf]!), Int32Array.of(0x20010db8), Int32Array.of(0), Int32Array.of(0), Int32Array.of(w3), out, 1);
    return out[0]!;
  };
  // VRF 1 answers per /64, VRF 2 (a /128 under that /64) per address; the second way keeps the entry a miss displaced
  assert.deepEqual([one(1, 5), one(1, 5), one(2, 5), one(2, 5), one(1, 5), one(2, 6), one(1, 6), one(2, 6), one(3, 6)], [11, 11, 33, 33, 11, 22, 11, 22, 0]);
  assert.equal(cache.hits, 4);
});
