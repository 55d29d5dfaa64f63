/**
 * Next hops as a struct of arrays in SharedArrayBuffers, indexed by next-hop id (0 is never
 * used: an LPM leaf of 0 means "no route"). The writer fills every field of an id and then
 * publishes it with one Atomics.store of its type, so a worker never reads a half-built
 * next hop. Composite (ECMP) members and label stacks sit in fixed-width rows.
 */

export const NH_FREE = 0;
export const NH_RECEIVE = 1;
export const NH_DISCARD = 2;
export const NH_REJECT = 3;
/** resolve an IP with ARP/NDP on a vif (the neighbor-table entry holds the MAC) */
export const NH_NEIGHBOR = 4;
/** fixed destination MAC */
export const NH_ENCAP = 5;
export const NH_MPLS_UDP = 6;
export const NH_COMPOSITE = 7;
export const NH_VRF = 8;
/** connected subnet: resolve the packet's own destination on a vif */
export const NH_GLEAN = 9;

export const NH_TYPE_NAMES = ['free', 'receive', 'discard', 'reject', 'neighbor', 'encap', 'mpls-udp', 'composite', 'vrf', 'glean'];

export const MAX_LABELS = 5;
export const MAX_ECMP = 64;

export interface NexthopShared {
  capacity: number;
  buf: SharedArrayBuffer;
}

export class NexthopTable {
  readonly capacity: number;
  readonly type: Uint8Array;
  readonly family: Uint8Array;
  readonly nlabels: Uint8Array;
  readonly nmembers: Uint8Array;
  readonly vif: Uint16Array;
  readonly vrf: Uint16Array;
  /** neighbor-table entry for NH_NEIGHBOR */
  readonly nbr: Int32Array;
  readonly tunSrc: Uint32Array;
  readonly tunDst: Uint32Array;
  readonly labels: Uint32Array;
  readonly members: Uint32Array;
  readonly dmac: Uint8Array;
  /** the destination MAC again as a 32-bit head and 16-bit tail, for word-sized writes */
  readonly dmacHi: Uint32Array;
  readonly dmacLo: Uint16Array;

  static create(capacity: number): NexthopTable {
    return new NexthopTable({ capacity, buf: new SharedArrayBuffer(NexthopTable.bytes(capacity)) });
  }

  static attach(s: NexthopShared): NexthopTable {
    return new NexthopTable(s);
  }

  private static bytes(n: number): number {
    return n * (4 * (5 + MAX_LABELS + MAX_ECMP) + 3 * 2 + 4 + 6 + 8);
  }

  private constructor(readonly shared: NexthopShared) {
    const n = (this.capacity = shared.capacity);
    const b = shared.buf;
    let off = 0;
    const u32 = (len: number) => { const a = new Uint32Array(b, off, len); off += len * 4; return a; };
    this.nbr = new Int32Array(b, off, n); off += n * 4;
    this.tunSrc = u32(n);
    this.tunDst = u32(n);
    this.labels = u32(n * MAX_LABELS);
    this.members = u32(n * MAX_ECMP);
    this.dmacHi = u32(n);
    this.vif = new Uint16Array(b, off, n); off += n * 2;
    this.vrf = new Uint16Array(b, off, n); off += n * 2;
    this.dmacLo = new Uint16Array(b, off, n); off += n * 2;
    this.type = new Uint8Array(b, off, n); off += n;
    this.family = new Uint8Array(b, off, n); off += n;
    this.nlabels = new Uint8Array(b, off, n); off += n;
    this.nmembers = new Uint8Array(b, off, n); off += n;
    this.dmac = new Uint8Array(b, off, n * 6); off += n * 6;
  }

  setDmac(id: number, mac: Uint8Array): void {
    this.dmac.set(mac.subarray(0, 6), id * 6);
    this.dmacHi[id] = ((mac[0]! << 24) | (mac[1]! << 16) | (mac[2]! << 8) | mac[3]!) >>> 0;
    this.dmacLo[id] = (mac[4]! << 8) | mac[5]!;
  }

  /** Make `id` visible to readers once its fields are written. */
  publish(id: number, type: number): void {
    Atomics.store(this.type, id, type);
  }

  unpublish(id: number): void {
    Atomics.store(this.type, id, NH_FREE);
  }
}
