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
/** distinct tunnel endpoints of mpls-udp next hops (the peers MPLS over UDP is accepted from) */
export const MAX_TUNNEL_PEERS = 4096;
const PEER_BITS = 13;
/** twice MAX_TUNNEL_PEERS, so probes stay short */
const PEER_SLOTS = 1 << PEER_BITS;

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
    return n * (4 * (5 + MAX_LABELS + MAX_ECMP) + 3 * 2 + 4 + 6 + 8) + PEER_SLOTS * 8;
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
    off = (off + 3) & ~3;
    this.peers = new Int32Array(b, off, PEER_SLOTS * 2);
  }

  /**
   * The IPv4 tunnel endpoints (tunDst) of the mpls-udp next hops, with how many next hops
   * name each: open addressing over PEER_SLOTS [address, count] pairs, linear probing; a
   * count of 0 leaves the address as a tombstone that probes walk past. The writer stores the
   * address before the count, so a reader sees a peer only once it is complete.
   */
  readonly peers: Int32Array;
  /** writer-only: addresses with a count above 0 */
  private livePeers = 0;

  /** Whether a (IPv4, as int32 or uint32) is the tunnel endpoint of some mpls-udp next hop. */
  hasPeer(a: number): boolean {
    const p = this.peers;
    const want = a | 0;
    for (let k = 0, s = peerSlot(want); k < PEER_SLOTS; k++, s = (s + 1) & (PEER_SLOTS - 1)) {
      const x = p[s * 2]!;
      if (x === want) return p[s * 2 + 1]! > 0;
      if (x === 0 && p[s * 2 + 1] === 0) return false;
    }
    return false;
  }

  /** Writer: one more mpls-udp next hop toward a (false: the set is full). */
  addPeer(a: number): boolean {
    const p = this.peers;
    const want = a | 0;
    let free = -1;
    for (let k = 0, s = peerSlot(want); k < PEER_SLOTS; k++, s = (s + 1) & (PEER_SLOTS - 1)) {
      const x = p[s * 2]!;
      if (x === want) {
        if (p[s * 2 + 1] === 0) {
          if (this.livePeers >= MAX_TUNNEL_PEERS) return false;
          this.livePeers++;
        }
        Atomics.add(p, s * 2 + 1, 1);
        return true;
      }
      if (free < 0 && p[s * 2 + 1] === 0) free = s;
      if (x === 0 && p[s * 2 + 1] === 0) break;
    }
    if (free < 0 || this.livePeers >= MAX_TUNNEL_PEERS) return false;
    this.livePeers++;
    // the address first, then the count that makes it visible
    Atomics.store(p, free * 2, want);
    Atomics.store(p, free * 2 + 1, 1);
    return true;
  }

  /** Writer: one mpls-udp next hop toward a fewer. */
  removePeer(a: number): void {
    const p = this.peers;
    const want = a | 0;
    for (let k = 0, s = peerSlot(want); k < PEER_SLOTS; k++, s = (s + 1) & (PEER_SLOTS - 1)) {
      const x = p[s * 2]!;
      if (x === want && p[s * 2 + 1]! > 0) {
        if (Atomics.sub(p, s * 2 + 1, 1) === 1) {
          this.livePeers--;
          // gone: a tombstone before an empty slot ends no probe that needs it, so it and the
          // tombstones just before it become empty (probes for absent sources stay short)
          const mask = PEER_SLOTS - 1;
          let c = s;
          const next = (c + 1) & mask;
          if (p[next * 2] === 0 && p[next * 2 + 1] === 0) {
            for (let k = 0; k < PEER_SLOTS && p[c * 2 + 1] === 0 && p[c * 2] !== 0; k++, c = (c - 1) & mask) Atomics.store(p, c * 2, 0);
          }
        }
        return;
      }
      if (x === 0 && p[s * 2 + 1] === 0) return;
    }
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

function peerSlot(a: number): number {
  return Math.imul(a, 0x9e3779b1) >>> (32 - PEER_BITS);
}
