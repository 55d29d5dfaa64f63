import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LpmTable, LPM4_STRIDES, walk4BurstRoots } from './lpm.js';
import { bgpLikeLen4 as len4, mask4, rng } from '../../../test/support/random.js';

/** The naive reference: one exact-match map per prefix length, probed longest first. */
class Ref4 {
  readonly byLen: Map<number, number>[] = Array.from({ length: 33 }, () => new Map());
  lookup(a: number): number {
    for (let l = 32; l >= 0; l--) {
      const v = this.byLen[l]!.get((a & mask4(l)) | 0);
      if (v !== undefined) return v;
    }
    return 0;
  }
}

test('LPM4: 1M random prefixes, then deletes, against a naive reference', () => {
  const r = rng(12345);
  const t = LpmTable.create(LPM4_STRIDES, 1 << 26, 4);
  const ref = new Ref4();
  const w = new Uint32Array(1);
  const insA = new Uint32Array(1_000_000);
  const insL = new Uint8Array(1_000_000);
  const t0 = performance.now();
  for (let k = 0; k < 1_000_000; k++) {
    const l = len4(r);
    const a = (r() & mask4(l)) >>> 0;
    const nh = 1 + (r() % 65000);
    w[0] = a;
    t.insert(1, w, l, nh);
    ref.byLen[l]!.set(a | 0, nh);
    insA[k] = a;
    insL[k] = l;
  }
  const t1 = performance.now();
  const check = (n: number) => {
    for (let k = 0; k < n; k++) {
      // half random addresses, half inside a known prefix
      let a = r();
      if (k & 1) {
        const j = r() % insA.length;
        a = (insA[j]! | (r() & ~mask4(insL[j]!))) >>> 0;
      }
      w[0] = a;
      const got = t.lookup(1, w);
      const want = ref.lookup(a);
      if (got !== want) assert.fail(`lookup ${a.toString(16)}: got ${got}, want ${want}`);
    }
  };
  check(100_000);
  // the batched walk (what the graph and the benchmark use) agrees with the scalar one
  const burstCheck = (vrf: number) => {
    const n = 1 << 20;
    const addrs = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const j = r() % insA.length;
      addrs[k] = k & 1 ? r() : insA[j]! | (r() & ~mask4(insL[j]!));
    }
    const out = new Int32Array(n);
    // in bursts of varying size, as the graph calls it, then the whole array at once
    for (let k = 0, b = 1; k < n; k += b, b = (b * 7 + 3) % 1024 + 1) t.lookupBurst(vrf, addrs.subarray(k), out.subarray(k), Math.min(b, n - k));
    const all = new Int32Array(n);
    t.lookupBurst(vrf, addrs, all, n);
    for (let k = 0; k < n; k++) {
      w[0] = addrs[k]!;
      const want = t.lookup(vrf, w);
      if (out[k] !== want || all[k] !== want) assert.fail(`lookupBurst ${(addrs[k]! >>> 0).toString(16)}: got ${out[k]}/${all[k]}, want ${want}`);
    }
    // with a root per packet (bursts mixing VRFs: this one, one without a table, and VRF 2)
    const roots = new Int32Array(n);
    const vrfs = [vrf, 3, 2];
    for (let k = 0; k < n; k++) roots[k] = t.iroots[vrfs[k % 3]!]!;
    walk4BurstRoots(t.islots, roots, addrs, all, n);
    for (let k = 0; k < n; k++) {
      w[0] = addrs[k]!;
      const want = t.lookup(vrfs[k % 3]!, w);
      if (all[k] !== want) assert.fail(`walk4BurstRoots ${(addrs[k]! >>> 0).toString(16)} in VRF ${vrfs[k % 3]}: got ${all[k]}, want ${want}`);
    }
  };
  // VRF 2: a second, small table (so that bursts mixing VRFs walk two tries)
  for (let k = 0; k < 20_000; k++) {
    const j = r() % insA.length;
    w[0] = insA[j]!;
    t.insert(2, w, insL[j]!, 65001 + (k % 100));
  }
  burstCheck(1);
  burstCheck(3); // a VRF without a table: every lookup 0
  // delete half of what was inserted (some twice: the second must report false)
  let removed = 0;
  for (let k = 0; k < insA.length; k += 2) {
    const a = insA[k]!;
    const l = insL[k]!;
    w[0] = a;
    const had = ref.byLen[l]!.delete(a | 0);
    assert.equal(t.remove(1, w, l), had);
    if (had) removed++;
  }
  check(100_000);
  burstCheck(1);
  assert.equal(t.routeCount(1), ref.byLen.reduce((s, m) => s + m.size, 0));
  assert.ok(removed > 100_000);
  // other VRFs are untouched
  w[0] = 0x0a000001;
  assert.equal(t.lookup(2, w), 0);
  console.log(`# lpm4: 1M inserts in ${(t1 - t0).toFixed(0)} ms, ${(t.usedSlots * 4 / 1048576).toFixed(1)} MiB of slots`);
});

test('LPM4: 20k prefixes of uniformly random length 0..32, with deletes', () => {
  const r = rng(99);
  const t = LpmTable.create(LPM4_STRIDES, 1 << 24, 2);
  const ref = new Ref4();
  const w = new Uint32Array(1);
  const ins: [number, number][] = [];
  for (let k = 0; k < 20_000; k++) {
    const l = r() % 33;
    const a = (r() & mask4(l)) >>> 0;
    const nh = 1 + (r() % 1000);
    w[0] = a;
    t.insert(0, w, l, nh);
    ref.byLen[l]!.set(a | 0, nh);
    ins.push([a, l]);
    if (k % 3 === 2) {
      const [da, dl] = ins[r() % ins.length]!;
      w[0] = da;
      assert.equal(t.remove(0, w, dl), ref.byLen[dl]!.delete(da | 0));
    }
  }
  for (let k = 0; k < 50_000; k++) {
    const [p, l] = ins[r() % ins.length]!;
    const a = k & 1 ? r() : (p | (r() & ~mask4(l))) >>> 0;
    w[0] = a;
    assert.equal(t.lookup(0, w), ref.lookup(a));
  }
});

test('LPM4: default route, host routes, replace and delete restore the covering prefix', () => {
  const t = LpmTable.create(LPM4_STRIDES, 1 << 20, 2);
  const w = new Uint32Array(1);
  const at = (a: number) => { w[0] = a; return t.lookup(0, w); };
  w[0] = 0; t.insert(0, w, 0, 1);
  w[0] = 0x0a000000; t.insert(0, w, 8, 2);
  w[0] = 0x0a010200; t.insert(0, w, 24, 3);
  w[0] = 0x0a010203; t.insert(0, w, 32, 4);
  assert.equal(at(0x0b000000), 1);
  assert.equal(at(0x0a050505), 2);
  assert.equal(at(0x0a010201), 3);
  assert.equal(at(0x0a010203), 4);
  w[0] = 0x0a000000; assert.equal(t.insert(0, w, 8, 5), 2, 'a replace returns the next hop it replaced');
  w[0] = 0x0a000000; assert.equal(t.insert(1, w, 8, 5), 0, 'a new route (in another VRF) replaced nothing');
  assert.equal(t.routeCount(0), 4);
  assert.equal(at(0x0a050505), 5);
  w[0] = 0x0a010200; assert.ok(t.remove(0, w, 24));
  assert.equal(at(0x0a010201), 5);
  assert.equal(at(0x0a010203), 4);
  w[0] = 0x0a000000; assert.ok(t.remove(0, w, 8));
  assert.equal(at(0x0a010201), 1);
  w[0] = 0; assert.ok(t.remove(0, w, 0));
  assert.equal(at(0x0a010201), 0);
  assert.equal(at(0x0a010203), 4);
});

test('LPM: a VRF cleared releases its groups for reuse', () => {
  const t = LpmTable.create(LPM4_STRIDES, 1 << 18, 4);
  const w = new Uint32Array(1);
  w[0] = 0x0a010203; t.insert(3, w, 32, 9);
  const used = t.usedSlots;
  t.clearVrf(3);
  assert.equal(t.lookup(3, w), 0);
  assert.equal(t.usedSlots, 0);
  t.insert(3, w, 32, 9);
  assert.equal(t.usedSlots, used);
  assert.equal(t.lookup(3, w), 9);
});
