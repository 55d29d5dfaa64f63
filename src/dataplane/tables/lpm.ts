/**
 * Longest-prefix match, per VRF, in one shared Uint32Array that worker threads read without
 * locks: a multibit trie with controlled prefix expansion (16-8-4-4 for IPv4; 16, 8, then
 * 4-bit strides for IPv6, so a sparse IPv6 table does not cost a kilobyte per level).
 *
 * Every slot is either a leaf (the next-hop id, 0 = no route) or PTR|index of a child group.
 * A VRF's root is a 65536-slot group; children are 2^stride slots. The writer (the main
 * thread) keeps, beside the shared slots, the length of the prefix that set each leaf, so
 * inserts only overwrite shorter prefixes and deletes restore the next covering prefix, and
 * an index of its routes (IPv4: an Ipv4PrefixMap in a typed array, 24-48 bytes a route; IPv6:
 * a Map per prefix length).
 *
 * Publication: a slot is one aligned 32-bit store, so a reader sees either the old or the
 * new route for any address. A new child group is completely filled before the one
 * Atomics.store that links it. Groups are never freed while their VRF lives (no reader can
 * be walking into a recycled group); a deleted VRF's groups go back to the free lists.
 */

import { Ipv4PrefixMap } from './ipv4-prefix-map.js';

export const LPM_PTR = 0x80000000;
export const LPM_INDEX = 0x7fffffff;
export const LPM_NO_ROOT = 0xffffffff;

export interface LpmShared {
  slots: SharedArrayBuffer;
  roots: SharedArrayBuffer;
  /** one int32: the generation, bumped after every change (readers' caches check it) */
  gen: SharedArrayBuffer;
  strides: number[];
}

export class LpmFullError extends Error {}

/**
 * The IPv4 (16-8-4-4) leaf for address a under the root group at `root` (>= 0; 0 = no
 * route). Slots are read through an Int32Array view, where a child pointer is simply
 * negative: V8 keeps every value a small integer (Uint32Array values above 2^31 cost it a
 * conversion each).
 */
export function leaf4(slots: Int32Array, root: number, a: number): number {
  let e = slots[root + (a >>> 16)]!;
  if (e < 0) {
    e = slots[(e & LPM_INDEX) + ((a >>> 8) & 255)]!;
    if (e < 0) {
      e = slots[(e & LPM_INDEX) + ((a >>> 4) & 15)]!;
      if (e < 0) e = slots[(e & LPM_INDEX) + (a & 15)]!;
    }
  }
  return e;
}

/**
 * The IPv4 walk for a burst in one VRF: out[k] = leaf4(addrs[k]). Each loop has no dependency
 * between iterations, so the CPU overlaps the cache misses of many packets (the out-of-order
 * window is JavaScript's prefetch). Level 1 (256 KiB per VRF, in cache) gets a loop of its
 * own, which leaves in out[k] either the leaf or, complemented (negative), the level-2 slot
 * to read; the level-2 loop, whose loads miss, then touches only out and slots (V8 checks and
 * reloads every typed array a loop uses on each iteration, so the fewer, the more iterations
 * and misses the out-of-order window holds) and never branches on a slot it loaded (a
 * mispredicted "walk on" would throw away the misses under way); the few longer prefixes are
 * finished last, their slots in cache by then. Both first loops are unrolled by four for the
 * same reason. Measured on 1M routes against the previous form (three loops, level 2 reading
 * addrs): 1.3-1.6x the lookup rate.
 */
export function walk4Burst(slots: Int32Array, root: number, addrs: Int32Array, out: Int32Array, n: number): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const a0 = addrs[k]!, a1 = addrs[k + 1]!, a2 = addrs[k + 2]!, a3 = addrs[k + 3]!;
    const e0 = slots[root + (a0 >>> 16)]!, e1 = slots[root + (a1 >>> 16)]!, e2 = slots[root + (a2 >>> 16)]!, e3 = slots[root + (a3 >>> 16)]!;
    out[k] = e0 < 0 ? ~((e0 & LPM_INDEX) + ((a0 >>> 8) & 255)) : e0;
    out[k + 1] = e1 < 0 ? ~((e1 & LPM_INDEX) + ((a1 >>> 8) & 255)) : e1;
    out[k + 2] = e2 < 0 ? ~((e2 & LPM_INDEX) + ((a2 >>> 8) & 255)) : e2;
    out[k + 3] = e3 < 0 ? ~((e3 & LPM_INDEX) + ((a3 >>> 8) & 255)) : e3;
  }
  for (; k < n; k++) {
    const a = addrs[k]!;
    const e = slots[root + (a >>> 16)]!;
    out[k] = e < 0 ? ~((e & LPM_INDEX) + ((a >>> 8) & 255)) : e;
  }
  walk4Below16(slots, addrs, out, n);
}

/** walk4Burst with a root per packet (roots[k] < 0: that VRF has no table, out 0). */
export function walk4BurstRoots(slots: Int32Array, roots: Int32Array, addrs: Int32Array, out: Int32Array, n: number): void {
  for (let k = 0; k < n; k++) {
    const b = roots[k]!;
    const a = addrs[k]!;
    const e = b < 0 ? 0 : slots[b + (a >>> 16)]!;
    out[k] = e < 0 ? ~((e & LPM_INDEX) + ((a >>> 8) & 255)) : e;
  }
  walk4Below16(slots, addrs, out, n);
}

/**
 * Levels 2-4 of walk4Burst: out[k] is a leaf, or ~(the level-2 slot) where level 1 held a
 * child pointer; leaves every out[k] a leaf.
 */
function walk4Below16(slots: Int32Array, addrs: Int32Array, out: Int32Array, n: number): void {
  let deeper = 0;
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const x0 = out[k]!, x1 = out[k + 1]!, x2 = out[k + 2]!, x3 = out[k + 3]!;
    if (x0 < 0) { const e = slots[~x0]!; out[k] = e; deeper |= e; }
    if (x1 < 0) { const e = slots[~x1]!; out[k + 1] = e; deeper |= e; }
    if (x2 < 0) { const e = slots[~x2]!; out[k + 2] = e; deeper |= e; }
    if (x3 < 0) { const e = slots[~x3]!; out[k + 3] = e; deeper |= e; }
  }
  for (; k < n; k++) {
    const x = out[k]!;
    if (x < 0) { const e = slots[~x]!; out[k] = e; deeper |= e; }
  }
  if (deeper >= 0) return;
  // out[k] < 0 now is a child pointer below a /24
  for (k = 0; k < n; k++) {
    let e = out[k]!;
    if (e < 0) {
      const a = addrs[k]!;
      e = slots[(e & LPM_INDEX) + ((a >>> 4) & 15)]!;
      if (e < 0) e = slots[(e & LPM_INDEX) + (a & 15)]!;
      out[k] = e;
    }
  }
}

/**
 * The IPv6 walk for a burst, level by level (strides never cross a 32-bit word): for each k
 * in todo[0..nTodo), out[k] = the leaf for the address (a0[k], a1[k], a2[k], a3[k]) under the
 * root group at roots[k] (< 0: no table, 0 out) and ends[k] = the bit position where that
 * leaf's level ends (the result holds for every address that shares those first bits). Each
 * level is one tight loop over the packets still walking (their indices in `act`, scratch),
 * so the cache misses of different packets overlap.
 */
export function walk6Burst(t: LpmTable, roots: Int32Array, a0: Int32Array, a1: Int32Array, a2: Int32Array, a3: Int32Array, out: Int32Array, ends: Int32Array, todo: Int32Array, nTodo: number, act: Int32Array): void {
  const slots = t.islots;
  const strides = t.strides;
  let pos = strides[0]!;
  const first = 32 - pos;
  let na = 0;
  for (let j = 0; j < nTodo; j++) {
    const k = todo[j]!;
    const b = roots[k]!;
    const e = b < 0 ? 0 : slots[b + (a0[k]! >>> first)]!;
    out[k] = e;
    ends[k] = pos;
    if (e < 0) act[na++] = k;
  }
  for (let level = 1; na > 0; level++) {
    const stride = strides[level]!;
    const words = pos < 32 ? a0 : pos < 64 ? a1 : pos < 96 ? a2 : a3;
    const shift = 32 - (pos & 31) - stride;
    const m = (1 << stride) - 1;
    pos += stride;
    let still = 0;
    for (let j = 0; j < na; j++) {
      const k = act[j]!;
      const e = slots[(out[k]! & LPM_INDEX) + ((words[k]! >>> shift) & m)]!;
      out[k] = e;
      if (e < 0) act[still++] = k;
      else ends[k] = pos;
    }
    na = still;
  }
}

export class LpmTable {
  readonly slots: Uint32Array;
  readonly roots: Uint32Array;
  /** the same slots and roots as int32 (child pointers and LPM_NO_ROOT negative), for fast readers */
  readonly islots: Int32Array;
  readonly iroots: Int32Array;
  /** bumped (after the slots changed) by every insert, remove and clearVrf */
  readonly gen: Int32Array;
  readonly strides: number[];
  readonly bits: number;
  readonly wordsPerKey: number;
  /** writer-only: prefix length + 1 that set each leaf (0: no route) */
  private depth: Uint8Array | undefined;
  private top = 0;
  private readonly freeGroups = new Map<number, number[]>();
  private readonly rootGroups = new Map<number, number[]>();
  /** IPv6, per VRF, per prefix length: key (the address as text) -> next hop */
  private readonly routes = new Map<number, { byLen: Map<number | string, number>[]; count: number }>();
  /** IPv4, per VRF: prefix -> next hop (typed arrays: no heap object per route) */
  private readonly routes4 = new Map<number, Ipv4PrefixMap>();
  /**
   * IPv4, per VRF: routes per prefix length. A delete looks for the next covering prefix
   * only at the lengths that have routes: a /28 in a table of /28s and a few /24s costs two
   * index probes instead of 28 (each a likely cache miss in a million-route index; deleting
   * 1M /28s took 2.2x their insertion).
   */
  private readonly lengths4 = new Map<number, Int32Array>();
  private readonly scratch: Uint32Array;

  static create(strides: number[], capacity: number, maxVrfs: number): LpmTable {
    const slots = new SharedArrayBuffer(capacity * 4);
    const roots = new SharedArrayBuffer(maxVrfs * 4);
    new Uint32Array(roots).fill(LPM_NO_ROOT);
    const gen = new SharedArrayBuffer(4);
    new Int32Array(gen)[0] = 1; // a zeroed cache entry (generation 0) never matches
    const t = new LpmTable({ slots, roots, gen, strides });
    t.depth = new Uint8Array(capacity);
    return t;
  }

  /** A reader's view in a worker thread. */
  static attach(shared: LpmShared): LpmTable {
    return new LpmTable(shared);
  }

  private constructor(readonly shared: LpmShared) {
    this.slots = new Uint32Array(shared.slots);
    this.roots = new Uint32Array(shared.roots);
    this.islots = new Int32Array(shared.slots);
    this.iroots = new Int32Array(shared.roots);
    this.gen = new Int32Array(shared.gen);
    this.strides = shared.strides;
    this.bits = shared.strides.reduce((a, b) => a + b, 0);
    this.wordsPerKey = this.bits / 32;
    this.scratch = new Uint32Array(this.wordsPerKey);
  }

  /** Slots in use (each 4 bytes), for memory reports. */
  get usedSlots(): number {
    let free = 0;
    for (const [size, list] of this.freeGroups) free += size * list.length;
    return this.top - free;
  }

  routeCount(vrf: number): number {
    if (this.wordsPerKey === 1) return this.routes4.get(vrf)?.size ?? 0;
    return this.routes.get(vrf)?.count ?? 0;
  }

  /** Bytes the writer's route index takes beside the slots (IPv4 only; memory reports). */
  routeIndexBytes(): number {
    let n = 0;
    for (const m of this.routes4.values()) n += m.bytes;
    return n;
  }

  *listRoutes(vrf: number): IterableIterator<{ words: number[]; len: number; nh: number }> {
    if (this.wordsPerKey === 1) {
      const out: { words: number[]; len: number; nh: number }[] = [];
      this.routes4.get(vrf)?.each((a, len, nh) => {
        out.push({ words: [a], len, nh });
      });
      yield* out;
      return;
    }
    const m = this.routes.get(vrf);
    if (!m) return;
    for (let len = 0; len < m.byLen.length; len++) {
      for (const [key, nh] of m.byLen[len]!) yield { words: wordsOf(key), len, nh };
    }
  }

  getRoute(vrf: number, words: ArrayLike<number>, len: number): number {
    if (this.wordsPerKey === 1) return this.routes4.get(vrf)?.get(words[0]!, len, 0) ?? 0;
    return this.routes.get(vrf)?.byLen[len]?.get(keyOf(words, this.wordsPerKey)) ?? 0;
  }

  /** Reader-side lookup (tests, slow paths); the graph inlines the same walk. */
  lookup(vrf: number, words: ArrayLike<number>): number {
    const root = this.roots[vrf]!;
    if (root === LPM_NO_ROOT) return 0;
    const slots = this.slots;
    const strides = this.strides;
    let base = root;
    let pos = 0;
    for (let level = 0; ; level++) {
      const stride = strides[level]!;
      const w = words[pos >>> 5]!;
      const e = slots[base + ((w >>> (32 - (pos & 31) - stride)) & ((1 << stride) - 1))]!;
      if ((e & LPM_PTR) === 0) return e;
      base = e & LPM_INDEX;
      pos += stride;
    }
  }

  /**
   * Batched IPv4 lookup (16-8-4-4 tables only): out[k] = lookup(vrf, addrs[k]) for k < n.
   * Addresses are 32-bit words stored in an Int32Array (the bits, not the sign, matter).
   */
  lookupBurst(vrf: number, addrs: Int32Array, out: Int32Array, n: number): void {
    if (this.strides.join() !== LPM4_STRIDES.join()) throw new Error('lookupBurst is for the IPv4 (16-8-4-4) table');
    const root = this.iroots[vrf]!;
    if (root < 0) out.fill(0, 0, n);
    else walk4Burst(this.islots, root, addrs, out, n);
  }

  /**
   * Add or replace prefix words/len -> nh (nh >= 1). Host bits must be clear. Returns the
   * next hop it replaced (0: none), so a caller needs no lookup first.
   */
  insert(vrf: number, words: ArrayLike<number>, len: number, nh: number): number {
    if (this.wordsPerKey === 1) {
      let m4 = this.routes4.get(vrf);
      if (!m4) {
        this.routes4.set(vrf, (m4 = new Ipv4PrefixMap()));
        this.lengths4.set(vrf, new Int32Array(33));
      }
      this.apply(vrf, this.ensureRoot(vrf), words, len, nh, len + 1, -1);
      const old = m4.set(words[0]!, len, nh, 0);
      if (old === 0) this.lengths4.get(vrf)![len]!++;
      Atomics.add(this.gen, 0, 1);
      return old;
    }
    let m = this.routes.get(vrf);
    if (!m) this.routes.set(vrf, (m = { byLen: Array.from({ length: this.bits + 1 }, () => new Map()), count: 0 }));
    const key = keyOf(words, this.wordsPerKey);
    const root = this.ensureRoot(vrf);
    this.apply(vrf, root, words, len, nh, len + 1, -1);
    const byLen = m.byLen[len]!;
    const old = byLen.get(key);
    if (old === undefined) m.count++;
    byLen.set(key, nh);
    Atomics.add(this.gen, 0, 1);
    return old ?? 0;
  }

  /** Remove a prefix; returns false when it was not there. */
  remove(vrf: number, words: ArrayLike<number>, len: number): boolean {
    const s = this.scratch;
    // the route at length l covering words (0: none), once this one is gone
    let routeAt: (l: number) => number;
    /** whether any route has length l (else no lookup there) */
    let hasLength: (l: number) => boolean;
    if (this.wordsPerKey === 1) {
      const m4 = this.routes4.get(vrf);
      if (!m4 || m4.delete(words[0]!, len, 0) === 0) return false;
      const lengths = this.lengths4.get(vrf)!;
      lengths[len]!--;
      routeAt = (l) => m4.get(s[0]!, l, 0);
      hasLength = (l) => lengths[l]! > 0;
    } else {
      const m = this.routes.get(vrf);
      const key = keyOf(words, this.wordsPerKey);
      if (!m || m.byLen[len]?.get(key) === undefined) return false;
      m.byLen[len]!.delete(key);
      m.count--;
      routeAt = (l) => m.byLen[l]!.get(keyOf(s, this.wordsPerKey)) ?? 0;
      hasLength = (l) => m.byLen[l]!.size > 0;
    }
    // the next covering prefix takes over the slots this one owned
    let coverNh = 0;
    let coverLen = -1;
    for (let l = len - 1; l >= 0; l--) {
      if (!hasLength(l)) continue;
      maskWords(words, l, s);
      const c = routeAt(l);
      if (c !== 0) {
        coverNh = c;
        coverLen = l;
        break;
      }
    }
    this.apply(vrf, this.roots[vrf]!, words, len, coverNh, coverLen + 1, len + 1);
    Atomics.add(this.gen, 0, 1);
    return true;
  }

  /** Drop a VRF's whole table and recycle its groups. */
  clearVrf(vrf: number): void {
    const root = this.roots[vrf]!;
    this.routes.delete(vrf);
    this.routes4.delete(vrf);
    this.lengths4.delete(vrf);
    if (root === LPM_NO_ROOT) return;
    Atomics.store(this.roots, vrf, LPM_NO_ROOT);
    Atomics.add(this.gen, 0, 1);
    const groups = this.rootGroups.get(vrf) ?? [];
    this.rootGroups.delete(vrf);
    for (const g of groups) this.releaseGroup(g);
  }

  private ensureRoot(vrf: number): number {
    const r = this.roots[vrf]!;
    if (r !== LPM_NO_ROOT) return r;
    const size = 1 << this.strides[0]!;
    const base = this.allocGroup(size);
    this.slots.fill(0, base, base + size);
    this.depth!.fill(0, base, base + size);
    this.rootGroups.set(vrf, [base * 64 + this.strides[0]!]);
    Atomics.store(this.roots, vrf, base);
    return base;
  }

  /**
   * Walk to the group where a prefix of `len` bits expands and set its slots. Insert:
   * match = -1, leaves with depth <= newDepth take (value, newDepth). Delete: match = the
   * deleted depth, only leaves with exactly that depth take (value, newDepth).
   */
  private apply(vrf: number, root: number, words: ArrayLike<number>, len: number, value: number, newDepth: number, match: number): void {
    const slots = this.slots;
    const strides = this.strides;
    let base = root;
    let pos = 0;
    for (let level = 0; ; level++) {
      const stride = strides[level]!;
      const end = pos + stride;
      const w = words[pos >>> 5]!;
      const idx = (w >>> (32 - (pos & 31) - stride)) & ((1 << stride) - 1);
      if (len <= end) {
        const span = 1 << (end - len);
        const first = idx & ~(span - 1);
        for (let s = first; s < first + span; s++) this.setSlot(base + s, level, value, newDepth, match);
        return;
      }
      const e = slots[base + idx]!;
      if ((e & LPM_PTR) === 0) {
        if (match >= 0) return; // deleting under a leaf: nothing deeper was ever expanded here
        const childSize = 1 << strides[level + 1]!;
        const child = this.allocGroup(childSize);
        slots.fill(e, child, child + childSize);
        this.depth!.fill(this.depth![base + idx]!, child, child + childSize);
        this.rootGroups.get(vrf)!.push(child * 64 + strides[level + 1]!);
        Atomics.store(slots, base + idx, (LPM_PTR | child) >>> 0);
        base = child;
      } else {
        base = e & LPM_INDEX;
      }
      pos = end;
    }
  }

  private setSlot(i: number, level: number, value: number, newDepth: number, match: number): void {
    const slots = this.slots;
    const d = this.depth!;
    const e = slots[i]!;
    if ((e & LPM_PTR) === 0) {
      if (match < 0 ? d[i]! <= newDepth : d[i] === match) {
        d[i] = newDepth;
        slots[i] = value;
      }
      return;
    }
    const child = e & LPM_INDEX;
    const end = child + (1 << this.strides[level + 1]!);
    for (let s = child; s < end; s++) {
      const c = slots[s]!;
      if ((c & LPM_PTR) !== 0) this.setSlot(s, level + 1, value, newDepth, match);
      else if (match < 0 ? d[s]! <= newDepth : d[s] === match) {
        d[s] = newDepth;
        slots[s] = value;
      }
    }
  }

  private allocGroup(size: number): number {
    const list = this.freeGroups.get(size);
    if (list?.length) return list.pop()!;
    if (this.top + size > this.slots.length) throw new LpmFullError(`LPM table full (${this.slots.length} slots)`);
    const base = this.top;
    this.top += size;
    return base;
  }

  private releaseGroup(tagged: number): void {
    const stride = tagged % 64;
    const base = (tagged - stride) / 64;
    const size = 1 << stride;
    let list = this.freeGroups.get(size);
    if (!list) this.freeGroups.set(size, (list = []));
    list.push(base);
  }
}

function keyOf(words: ArrayLike<number>, n: number): number | string {
  if (n === 1) return words[0]! | 0; // a small integer key: Map is much faster than with doubles
  return `${words[0]! >>> 0}:${words[1]! >>> 0}:${words[2]! >>> 0}:${words[3]! >>> 0}`;
}

function wordsOf(key: number | string): number[] {
  return typeof key === 'number' ? [key >>> 0] : key.split(':').map((x) => Number(x) >>> 0);
}

/** out = words with all bits past `len` cleared. */
export function maskWords(words: ArrayLike<number>, len: number, out: Uint32Array): Uint32Array {
  for (let i = 0; i < out.length; i++) {
    const bits = len - i * 32;
    const w = words[i]! >>> 0;
    out[i] = bits >= 32 ? w : bits <= 0 ? 0 : (w & (~0 << (32 - bits))) >>> 0;
  }
  return out;
}

/**
 * IPv4: a 16-bit root, an 8-bit level (to /24, where most routes end), then two 4-bit levels:
 * a route longer than /24 costs 16 or 32 slots below its /24 instead of 256, which took the
 * slots of a 1M-route table from 119 to 69 MiB at the same lookup rate (1 in 25 lookups
 * goes past /24).
 */
export const LPM4_STRIDES = [16, 8, 4, 4];
/** IPv6: 16, 8, then 4-bit strides to 128. */
export const LPM6_STRIDES = [16, 8, ...new Array<number>(26).fill(4)];

/** Bytes of an address (4 or 16) to big-endian 32-bit words. */
export function addrWords(bytes: Uint8Array, out: Uint32Array = new Uint32Array(bytes.length / 4)): Uint32Array {
  for (let i = 0; i < out.length; i++) {
    out[i] = ((bytes[i * 4]! << 24) | (bytes[i * 4 + 1]! << 16) | (bytes[i * 4 + 2]! << 8) | bytes[i * 4 + 3]!) >>> 0;
  }
  return out;
}
