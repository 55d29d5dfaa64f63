/**
 * The neighbor (ARP/NDP) cache: an open-addressing hash keyed by (vif, IP) in shared memory.
 * The main thread is the only writer: workers report what they learn as events, and the
 * main thread inserts or updates entries. An entry's key and MAC are written before its
 * state is published with Atomics.store, so a reader that sees REACHABLE sees the MAC.
 * Neighbor next hops keep the index of their entry; connected-subnet (glean) lookups hash.
 */

export const NBR_EMPTY = 0;
export const NBR_INCOMPLETE = 1;
export const NBR_REACHABLE = 2;
export const NBR_FAILED = 3;
export const NBR_DELETED = 4;
export const NBR_STATE_NAMES = ['empty', 'pending', 'resolved', 'failed', 'deleted'];

export interface NeighborShared {
  capacity: number;
  buf: SharedArrayBuffer;
}

export function nbrHash(vif: number, w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(vif ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ w0 ^ (h >>> 15), 0xc2b2ae35);
  h = Math.imul(h ^ w1 ^ (h >>> 13), 0x85ebca6b);
  h = Math.imul(h ^ w2 ^ (h >>> 16), 0xc2b2ae35);
  h = Math.imul(h ^ w3 ^ (h >>> 13), 0x85ebca6b);
  return (h ^ (h >>> 16)) >>> 0;
}

export class NeighborTable {
  readonly capacity: number;
  readonly mask: number;
  readonly state: Int32Array;
  readonly vif: Uint16Array;
  readonly family: Uint8Array;
  readonly ip: Uint32Array;
  readonly mac: Uint8Array;
  /** writer-only bookkeeping */
  private used = 0;
  /**
   * the writer's count of changes to reachable entries (a MAC changed, an entry removed or no
   * longer reachable): what the kernel fast path copied can go stale only through these, so its
   * epochs follow this count (a new entry, or one resolved for the first time, takes nothing away)
   */
  changes = 0;

  static create(capacity: number): NeighborTable {
    if ((capacity & (capacity - 1)) !== 0) throw new Error('neighbor table capacity must be a power of two');
    return new NeighborTable({ capacity, buf: new SharedArrayBuffer(capacity * (4 + 2 + 1 + 16 + 6 + 3)) });
  }

  static attach(s: NeighborShared): NeighborTable {
    return new NeighborTable(s);
  }

  private constructor(readonly shared: NeighborShared) {
    const n = (this.capacity = shared.capacity);
    this.mask = n - 1;
    const b = shared.buf;
    let off = 0;
    this.state = new Int32Array(b, off, n); off += n * 4;
    this.ip = new Uint32Array(b, off, n * 4); off += n * 16;
    this.vif = new Uint16Array(b, off, n); off += n * 2;
    this.family = new Uint8Array(b, off, n); off += n;
    this.mac = new Uint8Array(b, off, n * 6);
  }

  /** Index of the entry for (vif, ip), or -1. Any state but EMPTY/DELETED. */
  find(vif: number, w0: number, w1: number, w2: number, w3: number): number {
    const st = this.state;
    const ip = this.ip;
    let i = nbrHash(vif, w0, w1, w2, w3) & this.mask;
    for (let probes = 0; probes < this.capacity; probes++) {
      const s = st[i]!;
      if (s === NBR_EMPTY) return -1;
      if (s !== NBR_DELETED && this.vif[i] === vif && ip[i * 4] === w0 && ip[i * 4 + 1] === w1 && ip[i * 4 + 2] === w2 && ip[i * 4 + 3] === w3) return i;
      i = (i + 1) & this.mask;
    }
    return -1;
  }

  /** Writer: the entry for (vif, ip), created INCOMPLETE when absent; -1 when full. */
  ensure(vif: number, family: number, w: ArrayLike<number>): number {
    const f = this.find(vif, w[0]!, w[1]!, w[2]!, w[3]!);
    if (f >= 0) return f;
    if (this.used >= this.capacity * 0.75) return -1;
    // the first free slot on the probe path; a deleted one is reused (find() probes past
    // deleted slots, and a reader skips a slot whose state is not yet published)
    let i = nbrHash(vif, w[0]!, w[1]!, w[2]!, w[3]!) & this.mask;
    while (this.state[i] !== NBR_EMPTY && this.state[i] !== NBR_DELETED) i = (i + 1) & this.mask;
    this.vif[i] = vif;
    this.family[i] = family;
    for (let k = 0; k < 4; k++) this.ip[i * 4 + k] = w[k]!;
    this.used++;
    Atomics.store(this.state, i, NBR_INCOMPLETE);
    return i;
  }

  /** Writer: record a resolved MAC. */
  resolve(i: number, mac: ArrayLike<number>): void {
    if (this.state[i] === NBR_REACHABLE) {
      let same = true;
      for (let k = 0; k < 6; k++) if (this.mac[i * 6 + k] !== mac[k]) same = false;
      if (same) return;
      // a changed MAC: hide the entry while its bytes change
      Atomics.store(this.state, i, NBR_INCOMPLETE);
      this.changes++;
    }
    for (let k = 0; k < 6; k++) this.mac[i * 6 + k] = mac[k]!;
    Atomics.store(this.state, i, NBR_REACHABLE);
  }

  /** Writer: forget an entry (its slot is reused by a later insert). */
  remove(i: number): void {
    const s = this.state[i]!;
    if (s === NBR_EMPTY || s === NBR_DELETED) return;
    if (s === NBR_REACHABLE) this.changes++;
    Atomics.store(this.state, i, NBR_DELETED);
    this.used--;
  }

  get size(): number {
    return this.used;
  }

  setState(i: number, s: number): void {
    if (this.state[i] === NBR_REACHABLE && s !== NBR_REACHABLE) this.changes++;
    Atomics.store(this.state, i, s);
  }
}
