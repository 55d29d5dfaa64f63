/**
 * A reader's IPv6 route cache in front of the IPv6 trie: a two-way set-associative table, private to
 * one graph (one worker), of recent lookup results. An IPv6 walk of a /64 route costs a
 * dozen dependent loads (the trie's 4-bit strides keep sparse tables small); a hit costs one.
 *
 * What an entry means: the trie walk for an address ended at a leaf whose level ends at bit
 * `end` (walk6Burst). When end <= 64, every address with the same first 64 bits gets the
 * same leaf, so the entry is keyed by (VRF, first 64 bits); otherwise (routes longer than
 * /64 below it) by (VRF, all 128 bits). Each entry carries the table's generation when it
 * was filled (LpmTable.gen, bumped after every insert, remove and VRF clear): an entry of an
 * older generation never matches, so a route change invalidates the whole cache at once
 * without touching it. A reader reads the generation once per burst, before its walks: a
 * result cached from a walk that raced a change carries the older generation.
 *
 * Entry (8 int32): w0 w1 w2 w3, VRF, generation, leaf, 1 if keyed by all 128 bits. Two
 * entries per set (a 64-byte line): a miss puts its result in the first and moves the one
 * there to the second.
 */
import { walk6Burst, type LpmTable } from './lpm.js';

const WORDS = 8;
/** two ways per set */
const SET = 2 * WORDS;

export class RouteCache6 {
  readonly entries: Int32Array;
  private readonly mask: number;
  /** per packet of the burst: its entry's offset; the packets that missed */
  private readonly at: Int32Array;
  private readonly miss: Int32Array;
  private readonly ends: Int32Array;
  private readonly act: Int32Array;
  hits = 0;
  misses = 0;

  /** 2^bits sets of two 32-byte entries (16: 4 MiB); burst: the most addresses per lookup() */
  constructor(bits: number, burst: number) {
    this.entries = new Int32Array(SET << bits);
    this.mask = (1 << bits) - 1;
    this.at = new Int32Array(burst);
    this.miss = new Int32Array(burst);
    this.ends = new Int32Array(burst);
    this.act = new Int32Array(burst);
  }

  get bytes(): number {
    return this.entries.byteLength;
  }

  /**
   * out[k] = the trie leaf for (vrfs[k], a0[k]..a3[k]) for k < n, from the cache where it can
   * and from walk6Burst (under roots[k]) for the rest, which then fill it.
   */
  lookup(t: LpmTable, vrfs: Int32Array, roots: Int32Array, a0: Int32Array, a1: Int32Array, a2: Int32Array, a3: Int32Array, out: Int32Array, n: number): void {
    this.bind(t, vrfs, roots, a0, a1, a2, a3, out)(n);
  }

  /**
   * lookup over fixed arrays, as a closure whose arrays are consts of its scope: the graph
   * binds it once, and V8 specialises a function with a single closure in the isolate to it
   * (see makeFastPath in graph/fast-path.ts).
   */
  bind(t: LpmTable, vrfs: Int32Array, roots: Int32Array, a0: Int32Array, a1: Int32Array, a2: Int32Array, a3: Int32Array, out: Int32Array): (n: number) => void {
    const e = this.entries;
    const mask = this.mask;
    const at = this.at;
    const miss = this.miss;
    const ends = this.ends;
    const act = this.act;
    const genArr = t.gen;
    const words = WORDS;
    const set = SET;
    return (n) => {
      const gen = Atomics.load(genArr, 0);
      let nMiss = 0;
      for (let k = 0; k < n; k++) {
        const x0 = a0[k]!;
        const x1 = a1[k]!;
        const v = vrfs[k]!;
        let h = Math.imul(x0 ^ Math.imul(x1, 0x9e3779b1) ^ Math.imul(v + 1, 0x85ebca6b), 0xc2b2ae35);
        h = ((h ^ (h >>> 15)) & mask) * set;
        at[k] = h;
        // both ways of the set (one 64-byte line)
        if (e[h + 5] === gen && e[h] === x0 && e[h + 1] === x1 && e[h + 4] === v && (e[h + 7] === 0 || (e[h + 2] === a2[k] && e[h + 3] === a3[k]))) out[k] = e[h + 6]!;
        else if (e[h + 13] === gen && e[h + 8] === x0 && e[h + 9] === x1 && e[h + 12] === v && (e[h + 15] === 0 || (e[h + 10] === a2[k] && e[h + 11] === a3[k]))) out[k] = e[h + 14]!;
        else miss[nMiss++] = k;
      }
      this.hits += n - nMiss;
      this.misses += nMiss;
      if (nMiss === 0) return;
      walk6Burst(t, roots, a0, a1, a2, a3, out, ends, miss, nMiss, act);
      for (let j = 0; j < nMiss; j++) {
        const k = miss[j]!;
        const h = at[k]!;
        // the newest entry of the set in the first way, the one it displaces in the second
        e.copyWithin(h + words, h, h + words);
        e[h] = a0[k]!;
        e[h + 1] = a1[k]!;
        e[h + 2] = a2[k]!;
        e[h + 3] = a3[k]!;
        e[h + 4] = vrfs[k]!;
        e[h + 5] = gen;
        e[h + 6] = out[k]!;
        e[h + 7] = ends[k]! > 64 ? 1 : 0;
      }
    };
  }
}
