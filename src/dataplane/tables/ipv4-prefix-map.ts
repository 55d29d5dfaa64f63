/**
 * A hash map from an IPv4 prefix (address as a 32-bit number, length 0..32) to a 32-bit
 * integer, in three typed arrays with open addressing (linear probing, deletion by backward
 * shift: no tombstones). The FIB writer keeps one entry per route: a JavaScript Map of a
 * million routes cost ~30 bytes and a hash-table resize per entry in the garbage-collected heap
 * and most of an insert's time; here a slot is 12 bytes in one Int32Array (address, length,
 * value side by side: one cache miss per probe), at a load of at most one half, outside the
 * heap's object graph, and a lookup hashes two integers.
 */

/** `len` of a free slot */
const FREE = -1;
/** int32s per slot: address, length (FREE: no entry), value; one cache line for most probes */
const W = 3;

export class Ipv4PrefixMap {
  private s: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 16) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.s = newSlots(n);
    this.mask = n - 1;
  }

  /** Bytes the map's array takes (memory reports). */
  get bytes(): number {
    return this.s.length * 4;
  }

  /** The value of addr/len, or `missing`. `addr` must have its host bits clear. */
  get(addr: number, len: number, missing = -1): number {
    const a = addr | 0;
    const s = this.s;
    for (let i = slotOf(a, len) & this.mask; ; i = (i + 1) & this.mask) {
      const l = s[i * W + 1]!;
      if (l === FREE) return missing;
      if (l === len && s[i * W] === a) return s[i * W + 2]!;
    }
  }

  has(addr: number, len: number): boolean {
    const a = addr | 0;
    const s = this.s;
    for (let i = slotOf(a, len) & this.mask; ; i = (i + 1) & this.mask) {
      const l = s[i * W + 1]!;
      if (l === FREE) return false;
      if (l === len && s[i * W] === a) return true;
    }
  }

  /** Set addr/len to v; returns the value it replaced, or `missing` when it is new. */
  set(addr: number, len: number, v: number, missing = -1): number {
    const a = addr | 0;
    const s = this.s;
    let i = slotOf(a, len) & this.mask;
    for (; ; i = (i + 1) & this.mask) {
      const l = s[i * W + 1]!;
      if (l === FREE) break;
      if (l === len && s[i * W] === a) {
        const old = s[i * W + 2]!;
        s[i * W + 2] = v;
        return old;
      }
    }
    s[i * W] = a;
    s[i * W + 1] = len;
    s[i * W + 2] = v;
    if (++this.size * 2 > this.mask + 1) this.grow();
    return missing;
  }

  /** Remove addr/len; returns its value, or `missing` when it was not there. */
  delete(addr: number, len: number, missing = -1): number {
    const a = addr | 0;
    const s = this.s;
    const mask = this.mask;
    let i = slotOf(a, len) & mask;
    for (; ; i = (i + 1) & mask) {
      const l = s[i * W + 1]!;
      if (l === FREE) return missing;
      if (l === len && s[i * W] === a) break;
    }
    const old = s[i * W + 2]!;
    this.size--;
    // backward shift: pull later entries of the probe run into the hole unless their home slot lies after it
    for (let j = (i + 1) & mask; s[j * W + 1] !== FREE; j = (j + 1) & mask) {
      const home = slotOf(s[j * W]!, s[j * W + 1]!) & mask;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        s[i * W] = s[j * W]!;
        s[i * W + 1] = s[j * W + 1]!;
        s[i * W + 2] = s[j * W + 2]!;
        i = j;
      }
    }
    s[i * W + 1] = FREE;
    return old;
  }

  /** Every entry, in no particular order; the map must not change meanwhile. */
  each(fn: (addr: number, len: number, v: number) => void): void {
    const s = this.s;
    for (let i = 0; i < s.length; i += W) if (s[i + 1] !== FREE) fn(s[i]! >>> 0, s[i + 1]!, s[i + 2]!);
  }

  private grow(): void {
    const old = this.s;
    const n = (this.mask + 1) * 2;
    this.s = newSlots(n);
    this.mask = n - 1;
    this.size = 0;
    for (let i = 0; i < old.length; i += W) if (old[i + 1] !== FREE) this.set(old[i]!, old[i + 1]!, old[i + 2]!);
  }
}

function newSlots(n: number): Int32Array {
  const s = new Int32Array(n * W);
  for (let i = 1; i < s.length; i += W) s[i] = FREE;
  return s;
}

/** A well-mixed hash of (addr, len): routes differ mostly in their high bits, /24s all end in zeros. */
function slotOf(a: number, len: number): number {
  let h = Math.imul(a ^ Math.imul(len + 1, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 13);
}
