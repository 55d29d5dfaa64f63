/**
 * A map from 32-bit unsigned integers to objects: an open-addressing index (an Int32Array of
 * positions) over dense columns in insertion order (the keys in Uint32Array chunks, the values
 * in array chunks, of a fixed size). It answers the part of Map's interface the RIB's per-length prefix index uses
 * (get/set/delete/size/values), for a million IPv4 prefixes: about 24 bytes a key against a
 * JS Map's ~29, and a lookup probes typed arrays instead of following a hash chain.
 *
 * The values stay dense and in insertion order on purpose: stored at hashed (random) slots
 * of a 2M-slot array, each new young value is an old-to-new pointer at a random address, and
 * the scavenger's walk over them was measured 3-5x slower than over a Map's (insertion-ordered)
 * table, which cost more than the lookups saved. The index keeps some order too: a run of 4
 * consecutive keys takes adjacent cells of it (see home).
 *
 * Deletion empties the value's position and leaves a tombstone in the index; compaction and
 * growth build new arrays. So an iteration (values()) that runs while the map changes sees
 * each value present at its start at most once: it walks the columns it started with (values
 * added meanwhile are seen until a compaction, a value deleted after a compaction may still
 * be seen, as with a snapshot). Callers that must not see removed values check them (the
 * RIB's entries tell whether they still hold anything).
 */

/** Fibonacci hashing's multiplier (2^32 / golden ratio): consecutive runs of keys (see home) spread evenly. */
const GOLDEN = 0x9e3779b1;

const MIN_BITS = 3;

/**
 * Index cells up to which a growing map grows its index eightfold (or fourfold, where eight
 * times would pass this) instead of twofold (2^21 cells: 8 MB). Filled with a million keys
 * (0 to 999,999), doubling rehashed 2.1M keys on the way; growing by 4 rehashed 1.05M (at
 * 3k, 12k, 49k, 197k and 786k keys: the growths were 5-8% of a full table's ingest in
 * session 12's profile); growing by 8 rehashes 0.45M (at 6k, 49k and 393k), each ending in
 * the same 2^21 cells. Index size against growing by 4: 2 MB instead of 1 MB at 49k-197k
 * keys, 2 MB instead of 4 MB at 197k-393k, 8 MB instead of 4 MB at 393k-786k (a real full
 * table's /24s: ~4 B more per route of the table). Beyond this size growth doubles, so that
 * the index is never more than 8 MB larger than doubling would make it.
 */
const GROW_FAST_CELLS = 1 << 21;

/** Consecutive keys that hash as one run (see home): 2^RUN_BITS. */
const RUN_BITS = 2;
const RUN_MASK = (1 << RUN_BITS) - 1;

/**
 * The index cell where a key's probe starts, in an index of 2^bits cells. A run of 4
 * consecutive keys (a run of prefixes, as tables are often sent) hashes as one and takes 4
 * adjacent cells, each key its own by its low bits: a feed in order touches a cache line of
 * the index per few keys where hashing each key alone touched one per key (a cache miss per
 * prefix at a million). Measured on 1M keys (add and get, one process): in order 2.4x faster
 * with runs of 16, 1.6x with runs of 4; dense keys in random order (a full table of /24s
 * sent shuffled) 1.2x slower with runs of 16 (whole runs collide, and probes walk over full
 * lines comparing keys), as fast with runs of 4.
 */
function home(key: number, bits: number): number {
  return ((Math.imul(key >>> RUN_BITS, GOLDEN) >>> (32 - bits)) ^ (key & RUN_MASK)) & ((1 << bits) - 1);
}
/** index cell: never used (ends a probe) */
const EMPTY = 0;
/** index cell: a deleted key (probes go on past it) */
const DELETED = -1;
/**
 * Values per chunk of the value column (a power of two): one array grew by copies of itself,
 * twice its final size of old-generation garbage on the way to a million values (16 MB),
 * which raised the peak RSS of a full table's ingest; chunks are never copied. 16384 values
 * (128 KB) make a chunk a large object for V8: not copied by the young generation's
 * collections either (8192 were copied twice, 8 bytes per value, on their way to the old
 * generation).
 */
const CHUNK_BITS = 14;
const CHUNK = 1 << CHUNK_BITS;

export class Uint32Map<V extends object> {
  private bits = MIN_BITS;
  /** per hashed slot: EMPTY, DELETED, or the key's position in the columns + 1 */
  private index = new Int32Array(1 << MIN_BITS);
  /** index cells not EMPTY (live and DELETED): what probes walk past */
  private usedCells = 0;
  /**
   * the columns, in insertion order, in chunks of CHUNK (the first grows as keys come: a
   * small map stays small); a deleted key's value is undefined. Key chunks are never copied
   * either: one array grew by copies of itself, 4 MB of garbage on the way to a million
   * keys, freed only by a full collection.
   */
  private keys: Uint32Array[] = [];
  private vals: (V | undefined)[][] = [];
  /** positions used in the columns (live and deleted) */
  private used = 0;
  /** live keys */
  private count = 0;
  /**
   * The last key `get` did not find, and where its probe ended in `index` (valid while
   * missIndex is the index and no key was added or deleted since): the cell a `set` of it
   * takes, the first DELETED on the way or the EMPTY that ended it (missEmpty).
   */
  private missKey = -1;
  private missCell = 0;
  private missEmpty = false;
  private missIndex: Int32Array | undefined = undefined;

  get size(): number {
    return this.count;
  }

  /** the position of a key in the columns, or -1 */
  private find(key: number): number {
    const index = this.index, mask = index.length - 1, keys = this.keys;
    for (let i = home(key, this.bits); ; i = (i + 1) & mask) {
      const c = index[i]!;
      if (c === EMPTY) return -1;
      if (c > 0 && keys[(c - 1) >>> CHUNK_BITS]![(c - 1) & (CHUNK - 1)] === key) return c - 1;
    }
  }

  get(key: number): V | undefined {
    const index = this.index, mask = index.length - 1, keys = this.keys;
    let free = -1;
    for (let i = home(key, this.bits); ; i = (i + 1) & mask) {
      const c = index[i]!;
      if (c === EMPTY) {
        // remembered for a set of this key that follows (find-or-add: one probe, not two)
        this.missKey = key;
        this.missCell = free < 0 ? i : free;
        this.missEmpty = free < 0;
        this.missIndex = index;
        return undefined;
      }
      if (c === DELETED) {
        if (free < 0) free = i;
      } else if (keys[(c - 1) >>> CHUNK_BITS]![(c - 1) & (CHUNK - 1)] === key) return this.vals[(c - 1) >>> CHUNK_BITS]![(c - 1) & (CHUNK - 1)];
    }
  }

  has(key: number): boolean {
    return this.find(key) >= 0;
  }

  set(key: number, value: V): this {
    if (!Number.isInteger(key) || key < 0 || key > 0xffffffff) throw new RangeError(`Uint32Map key ${key} is not a 32-bit unsigned integer`);
    const index = this.index, mask = index.length - 1, keys = this.keys;
    let free = -1;
    if (key === this.missKey && index === this.missIndex) {
      // the last get missed this key and nothing changed since: its probe found the cell
      free = this.missCell;
      if (this.missEmpty) this.usedCells++;
    } else {
      for (let i = home(key, this.bits); ; i = (i + 1) & mask) {
        const c = index[i]!;
        if (c === EMPTY) {
          if (free < 0) {
            free = i;
            this.usedCells++;
          }
          break;
        }
        if (c === DELETED) {
          if (free < 0) free = i;
        } else if (keys[(c - 1) >>> CHUNK_BITS]![(c - 1) & (CHUNK - 1)] === key) {
          this.vals[(c - 1) >>> CHUNK_BITS]![(c - 1) & (CHUNK - 1)] = value;
          return this;
        }
      }
    }
    this.missIndex = undefined;
    const pos = this.used++;
    this.put(pos, key, value);
    index[free] = pos + 1;
    this.count++;
    // the index at most 3/4 used (deleted cells count: they lengthen probes)
    if (this.usedCells * 4 > index.length * 3) this.rebuild();
    return this;
  }

  delete(key: number): boolean {
    const index = this.index, mask = index.length - 1, keys = this.keys;
    for (let i = home(key, this.bits); ; i = (i + 1) & mask) {
      const c = index[i]!;
      if (c === EMPTY) return false;
      if (c > 0 && keys[(c - 1) >>> CHUNK_BITS]![(c - 1) & (CHUNK - 1)] === key) {
        this.missIndex = undefined;
        index[i] = DELETED;
        this.vals[(c - 1) >>> CHUNK_BITS]![(c - 1) & (CHUNK - 1)] = undefined;
        this.count--;
        // mostly holes (a table emptying): compact the columns and the index
        if (this.count * 2 < this.used && this.used > 1 << MIN_BITS) this.rebuild();
        return true;
      }
    }
  }

  clear(): void {
    this.missIndex = undefined;
    this.bits = MIN_BITS;
    this.index = new Int32Array(1 << MIN_BITS);
    this.usedCells = 0;
    this.keys = [];
    this.vals = [];
    this.used = 0;
    this.count = 0;
  }

  /**
   * Store the key and value of a new position (the next one: chunks fill in order). The
   * first chunk grows as keys come (a small map stays small), the next ones are made at full size.
   */
  private put(pos: number, key: number, value: V): void {
    const c = pos >>> CHUNK_BITS, i = pos & (CHUNK - 1);
    if (c === this.vals.length) {
      this.vals.push(c === 0 ? [] : new Array<V | undefined>(CHUNK));
      this.keys.push(new Uint32Array(c === 0 ? 1 << MIN_BITS : CHUNK));
    }
    let kc = this.keys[c]!;
    if (i === kc.length) {
      // (the first chunk only)
      const grown = new Uint32Array(Math.min(CHUNK, i * 2));
      grown.set(kc);
      this.keys[c] = kc = grown;
    }
    kc[i] = key;
    this.vals[c]![i] = value;
  }

  /** The values, in insertion order (see the header on changes during iteration). */
  *values(): Generator<V> {
    const vals = this.vals, used = this.used;
    // values added meanwhile too, until the columns are made again
    for (let i = 0; i < (this.vals === vals ? this.used : used); i++) {
      const v = vals[i >>> CHUNK_BITS]![i & (CHUNK - 1)];
      if (v !== undefined) yield v;
    }
  }

  *entries(): Generator<[number, V]> {
    const keys = this.keys, vals = this.vals, used = this.used;
    for (let i = 0; i < (this.vals === vals ? this.used : used); i++) {
      const v = vals[i >>> CHUNK_BITS]![i & (CHUNK - 1)];
      if (v !== undefined) yield [(this.vals === vals ? this.keys : keys)[i >>> CHUNK_BITS]![i & (CHUNK - 1)]!, v];
    }
  }

  /**
   * An index sized for the live keys (at most half full after), and new columns without
   * holes when there are any (a growing map has none: its columns stay, only the index is
   * made again, which halved the cost of growing to a million keys).
   */
  private rebuild(): void {
    const oldKeys = this.keys, oldVals = this.vals, oldUsed = this.used;
    let bits = MIN_BITS;
    // growing: by 8, or 4, while that stays within GROW_FAST_CELLS (compacting and larger maps: by 2)
    const growing = this.count === oldUsed && this.count >= 1 << MIN_BITS;
    const factor = !growing ? 2 : this.count * 8 + 2 <= GROW_FAST_CELLS ? 8 : this.count * 4 + 2 <= GROW_FAST_CELLS ? 4 : 2;
    while (1 << bits < this.count * factor + 2) bits++;
    this.bits = bits;
    const index = (this.index = new Int32Array(1 << bits)), mask = index.length - 1;
    this.usedCells = this.count;
    if (oldUsed === this.count) {
      for (let pos = 0; pos < oldUsed; pos++) {
        let i = home(oldKeys[pos >>> CHUNK_BITS]![pos & (CHUNK - 1)]!, bits);
        while (index[i] !== EMPTY) i = (i + 1) & mask;
        index[i] = pos + 1;
      }
      return;
    }
    this.keys = [];
    this.vals = [];
    this.used = 0;
    for (let j = 0; j < oldUsed; j++) {
      const v = oldVals[j >>> CHUNK_BITS]![j & (CHUNK - 1)];
      if (v === undefined) continue;
      const key = oldKeys[j >>> CHUNK_BITS]![j & (CHUNK - 1)]!;
      const pos = this.used++;
      this.put(pos, key, v);
      let i = home(key, bits);
      while (index[i] !== EMPTY) i = (i + 1) & mask;
      index[i] = pos + 1;
    }
  }
}
