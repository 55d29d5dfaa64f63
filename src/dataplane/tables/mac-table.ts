/**
 * The MAC table of L2 switching: (bridge domain, MAC) -> vif, an open-addressing hash in
 * shared memory (docs/l2.md). Like the neighbor table, the main thread is the only writer:
 * workers look entries up without locks and report unknown sources and moves as learn events
 * (Graph.learn, family L2_EVENT), which the main thread applies (l2.ts), so forwarding never
 * waits for a learn. The one word a worker writes is an entry's last-seen second, a plain
 * store that any thread may win (aging only needs a recent value).
 *
 * Keys are two words: [domain (16 bits) | MAC bytes 0-1] and MAC bytes 2-5. An entry's key
 * and vif are written before its state is published with Atomics.store; a move rewrites only
 * the vif (one 16-bit store). Probing is linear and bounded by MAX_PROBE, for lookups and
 * inserts alike, so a miss costs at most MAX_PROBE slots however full the table is; an insert
 * that finds no free slot within it is refused (the source is not learned: flooding goes on,
 * nothing is corrupted). A removed entry becomes EMPTY when the slot after it is empty (no
 * probe chain can run through it), else a tombstone that a later insert reuses. compact()
 * (run by aging when tombstones pile up) moves entries into tombstones nearer their home
 * (the copy is published before the original goes, so a reader finds one of them, or at
 * worst misses once and floods that frame) and frees every tombstone no chain crosses.
 */

export const MAC_EMPTY = 0;
export const MAC_LIVE = 1;
export const MAC_DELETED = 2;
/** entry flag: installed by the router (an IRB's MAC), never aged, never moved */
export const MAC_STATIC = 1;
/** slots a lookup or an insert probes at most */
export const MAX_PROBE = 32;

export interface MacShared {
  capacity: number;
  buf: SharedArrayBuffer;
}

/**
 * The home slot of (k0, k1) before masking: the two words combined, then murmur3's finaliser,
 * so that every input bit reaches the low bits the mask keeps (MACs of one vendor, or counted
 * up, differ in a few bits only; a weaker mix clustered them past the probe bound at 40% load).
 */
export function macHash(k0: number, k1: number): number {
  let h = Math.imul(k0, 0x9e3779b1) ^ k1;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** the key's first word: the domain and the MAC's first two bytes */
export function macKey0(bd: number, hi16: number): number {
  return ((bd << 16) | hi16) >>> 0;
}

/**
 * The live entry for (k0, k1), or -1: the probe the graph nodes run (a plain function over
 * the table's arrays, no allocation).
 */
export function macLookup(state: Int32Array, key0: Uint32Array, key1: Uint32Array, mask: number, k0: number, k1: number): number {
  let i = macHash(k0, k1) & mask;
  for (let p = 0; p < MAX_PROBE; p++) {
    const s = state[i]!;
    if (s === MAC_EMPTY) return -1;
    if (s === MAC_LIVE && key0[i] === k0 && key1[i] === k1) return i;
    i = (i + 1) & mask;
  }
  return -1;
}

export class MacTable {
  readonly capacity: number;
  readonly mask: number;
  readonly state: Int32Array;
  readonly key0: Uint32Array;
  readonly key1: Uint32Array;
  /** the second (Unix time) the source was last seen; workers write it */
  readonly seen: Uint32Array;
  readonly vif: Uint16Array;
  readonly eflags: Uint8Array;
  /** writer-only: live entries, and tombstones */
  private used = 0;
  private deleted = 0;

  static create(capacity: number): MacTable {
    if (capacity < MAX_PROBE || (capacity & (capacity - 1)) !== 0) throw new Error('MAC table capacity must be a power of two of at least 32');
    return new MacTable({ capacity, buf: new SharedArrayBuffer(capacity * (4 + 4 + 4 + 4 + 2 + 1) + 8) });
  }

  static attach(s: MacShared): MacTable {
    return new MacTable(s);
  }

  private constructor(readonly shared: MacShared) {
    const n = (this.capacity = shared.capacity);
    this.mask = n - 1;
    const b = shared.buf;
    let off = 0;
    this.state = new Int32Array(b, off, n); off += n * 4;
    this.key0 = new Uint32Array(b, off, n); off += n * 4;
    this.key1 = new Uint32Array(b, off, n); off += n * 4;
    this.seen = new Uint32Array(b, off, n); off += n * 4;
    this.vif = new Uint16Array(b, off, n); off += n * 2;
    this.eflags = new Uint8Array(b, off, n);
  }

  find(bd: number, hi16: number, lo32: number): number {
    return macLookup(this.state, this.key0, this.key1, this.mask, macKey0(bd, hi16), lo32 >>> 0);
  }

  /**
   * Writer: add (bd, MAC) -> vif, or change the vif of an existing entry. Returns the entry,
   * or -1 when no slot within MAX_PROBE is free (the table is full around its home).
   */
  insert(bd: number, hi16: number, lo32: number, vif: number, now: number, flags = 0): number {
    const k0 = macKey0(bd, hi16);
    const k1 = lo32 >>> 0;
    const have = macLookup(this.state, this.key0, this.key1, this.mask, k0, k1);
    if (have >= 0) {
      this.vif[have] = vif;
      this.seen[have] = now;
      this.eflags[have] = flags;
      return have;
    }
    let i = macHash(k0, k1) & this.mask;
    for (let p = 0; p < MAX_PROBE; p++) {
      const s = this.state[i]!;
      if (s !== MAC_LIVE) {
        if (s === MAC_DELETED) this.deleted--;
        this.key0[i] = k0;
        this.key1[i] = k1;
        this.vif[i] = vif;
        this.seen[i] = now;
        this.eflags[i] = flags;
        Atomics.store(this.state, i, MAC_LIVE);
        this.used++;
        return i;
      }
      i = (i + 1) & this.mask;
    }
    return -1;
  }

  /** Writer: remove entry i; tombstones that end a chain become empty again. */
  remove(i: number): void {
    if (this.state[i] !== MAC_LIVE) return;
    this.used--;
    const next = (i + 1) & this.mask;
    if (this.state[next] !== MAC_EMPTY) {
      Atomics.store(this.state, i, MAC_DELETED);
      this.deleted++;
      return;
    }
    // no chain runs through i: it and the tombstones right before it are free for good
    Atomics.store(this.state, i, MAC_EMPTY);
    let j = (i - 1) & this.mask;
    while (this.state[j] === MAC_DELETED) {
      Atomics.store(this.state, j, MAC_EMPTY);
      this.deleted--;
      j = (j - 1) & this.mask;
    }
  }

  get tombstones(): number {
    return this.deleted;
  }

  /**
   * Writer: move each entry into the first tombstone on its chain (copy published, then the
   * original removed), then free every tombstone that no entry's chain crosses.
   */
  compact(): void {
    const n = this.capacity;
    const mask = this.mask;
    const st = this.state;
    for (let i = 0; i < n; i++) {
      if (st[i] !== MAC_LIVE) continue;
      for (let q = macHash(this.key0[i]!, this.key1[i]!) & mask; q !== i; q = (q + 1) & mask) {
        if (st[q] === MAC_LIVE) continue;
        this.key0[q] = this.key0[i]!;
        this.key1[q] = this.key1[i]!;
        this.vif[q] = this.vif[i]!;
        this.seen[q] = this.seen[i]!;
        this.eflags[q] = this.eflags[i]!;
        Atomics.store(st, q, MAC_LIVE);
        Atomics.store(st, i, MAC_DELETED);
        break;
      }
    }
    const crossed = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (st[i] !== MAC_LIVE) continue;
      for (let q = macHash(this.key0[i]!, this.key1[i]!) & mask; q !== i; q = (q + 1) & mask) crossed[q] = 1;
    }
    let deleted = 0;
    for (let i = 0; i < n; i++) {
      if (st[i] !== MAC_DELETED) continue;
      if (crossed[i]) deleted++;
      else Atomics.store(st, i, MAC_EMPTY);
    }
    this.deleted = deleted;
  }

  get size(): number {
    return this.used;
  }

  /** Live entries, for listings and aging: the callback gets each index. */
  forEach(f: (i: number) => void): void {
    for (let i = 0; i < this.capacity; i++) if (this.state[i] === MAC_LIVE) f(i);
  }

  /** The domain of entry i. */
  domain(i: number): number {
    return this.key0[i]! >>> 16;
  }

  /** The MAC of entry i as six bytes. */
  mac(i: number): Uint8Array {
    const k0 = this.key0[i]!;
    const k1 = this.key1[i]!;
    return Uint8Array.of((k0 >>> 8) & 255, k0 & 255, k1 >>> 24, (k1 >>> 16) & 255, (k1 >>> 8) & 255, k1 & 255);
  }
}
