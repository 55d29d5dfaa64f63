/**
 * The packet buffer pool: one ArrayBuffer cut into fixed slots, packets named by slot index.
 * A frame's bytes are data[slot*slotSize + start[slot] .. + len[slot]); HEADROOM bytes in
 * front of a received frame leave room to push MPLS labels or an outer header without a copy.
 * No objects are created per packet: all per-packet metadata lives in typed arrays here.
 * The slot size is chosen once per data plane (slotSizeFor: the largest MTU its vifs may
 * have), a power of two so that the graph finds a slot with a shift.
 */
import { SuperStore } from './io/super-frame.js';

/** the default slot: frames of a 1500-byte MTU and more (up to MAX_FRAME) */
export const SLOT_SIZE = 2048;
export const HEADROOM = 192;
/** the longest frame a default slot holds */
export const MAX_FRAME = SLOT_SIZE - HEADROOM;
/** the largest slot (16 bits of start and len per packet): frames up to 64 KiB - HEADROOM */
export const MAX_SLOT_SIZE = 1 << 16;

/**
 * The slot size for vifs of IP MTU up to maxMtu: its Ethernet frame with a VLAN tag
 * (MTU + 18) after HEADROOM, rounded up to a power of two, never below SLOT_SIZE.
 * 1500 (and anything up to 1838) keeps 2048; 9000 gives 16384.
 */
export function slotSizeFor(maxMtu: number): number {
  if (!Number.isInteger(maxMtu) || maxMtu < 68) throw new Error(`max MTU ${maxMtu}: not an MTU (68 or more)`);
  const need = HEADROOM + maxMtu + 18;
  if (need > MAX_SLOT_SIZE) throw new Error(`max MTU ${maxMtu}: above the largest packet slot (${MAX_SLOT_SIZE - HEADROOM - 18})`);
  let size = SLOT_SIZE;
  while (size < need) size *= 2;
  return size;
}

export class PacketPool {
  readonly data: Uint8Array;
  readonly view: DataView;
  /** the same bytes as 8-byte words, for copies: a float64 load and store move the bits unchanged */
  readonly data64: Float64Array;
  /** offset of the frame's first byte inside its slot */
  readonly start: Uint16Array;
  /** frame length in bytes */
  readonly len: Uint16Array;
  /** vif the frame arrived on */
  readonly rxVif: Uint16Array;
  /** vif the frame leaves on (set by rewrite) */
  readonly txVif: Uint16Array;
  /** VRF the frame is being looked up in */
  readonly vrf: Uint16Array;
  /** next hop chosen by lookup */
  readonly nh: Uint32Array;
  /** offset of the L3 header (or ARP, or label stack) from the slot's first byte */
  readonly l3: Uint16Array;
  /** per-packet flags for the graph (PF_* in graph/graph-constants.ts) */
  readonly flags: Uint8Array;
  /** drop reason, when a packet goes to the drop node */
  readonly reason: Uint8Array;
  /** per-node scratch: ICMP error type/code/MTU, IPv6 upper-layer offset, ... */
  readonly aux: Uint32Array;
  /** a TCP super-frame carried whole (io/super-frame.ts): its side buffer's id + 1, else 0 */
  readonly sup: Uint16Array;
  /** the side buffers of the super-frames carried whole */
  readonly supers = new SuperStore();
  /** log2(slotSize): slot i's bytes start at i << shift */
  readonly shift: number;
  /** the longest frame a slot holds: slotSize - HEADROOM */
  readonly maxFrame: number;
  private readonly freeList: Uint32Array;
  private freeCount: number;

  constructor(readonly size: number, readonly slotSize: number = SLOT_SIZE) {
    const shift = Math.log2(slotSize);
    if (!Number.isInteger(shift) || slotSize < SLOT_SIZE || slotSize > MAX_SLOT_SIZE) throw new Error(`packet slot of ${slotSize} bytes: not a power of two from ${SLOT_SIZE} to ${MAX_SLOT_SIZE}`);
    this.shift = shift;
    this.maxFrame = slotSize - HEADROOM;
    this.data = new Uint8Array(size * slotSize);
    this.view = new DataView(this.data.buffer);
    this.data64 = new Float64Array(this.data.buffer);
    this.start = new Uint16Array(size);
    this.len = new Uint16Array(size);
    this.rxVif = new Uint16Array(size);
    this.txVif = new Uint16Array(size);
    this.vrf = new Uint16Array(size);
    this.nh = new Uint32Array(size);
    this.l3 = new Uint16Array(size);
    this.flags = new Uint8Array(size);
    this.reason = new Uint8Array(size);
    this.aux = new Uint32Array(size);
    this.sup = new Uint16Array(size);
    this.freeList = new Uint32Array(size);
    for (let i = 0; i < size; i++) this.freeList[i] = size - 1 - i;
    this.freeCount = size;
    this.allocBurst = PacketPool.makeAllocBurst(this);
  }

  get available(): number {
    return this.freeCount;
  }

  /** Take a slot, or -1 when the pool is empty. The frame starts at HEADROOM with length 0. */
  alloc(): number {
    if (this.freeCount === 0) return -1;
    const i = this.freeList[--this.freeCount]!;
    this.start[i] = HEADROOM;
    this.len[i] = 0;
    this.flags[i] = 0;
    return i;
  }

  /**
   * Take up to max slots at once into out[0..n) (n < max only when the pool runs dry), each
   * as alloc() leaves it; returns n. For drivers filling a receive burst. A closure over this
   * pool's arrays (see makeAllocBurst).
   */
  readonly allocBurst: (out: Uint32Array, max: number) => number;

  /**
   * allocBurst as a closure whose arrays are consts of its scope: with one pool per isolate
   * (one per worker thread) V8 specialises the code to them, which spares a map check and a
   * reload of length and data pointer per array on every iteration.
   */
  private static makeAllocBurst(pool: PacketPool): (out: Uint32Array, max: number) => number {
    const fl = pool.freeList;
    const start = pool.start;
    const len = pool.len;
    const flags = pool.flags;
    const h = HEADROOM | 0;
    return (out, max) => {
      let c = pool.freeCount;
      const n = Math.min(max, c);
      for (let k = 0; k < n; k++) {
        const i = fl[--c]!;
        start[i] = h;
        len[i] = 0;
        flags[i] = 0;
        out[k] = i;
      }
      pool.freeCount = c;
      return n;
    };
  }

  /** Every slot free again (after a failed burst: nothing is held between bursts). */
  reset(): void {
    for (let i = 0; i < this.size; i++) if (this.sup[i] !== 0) this.dropSuper(i);
    for (let i = 0; i < this.size; i++) this.freeList[i] = this.size - 1 - i;
    this.freeCount = this.size;
  }

  free(i: number): void {
    if (this.sup[i] !== 0) this.dropSuper(i);
    this.freeList[this.freeCount++] = i;
  }

  /**
   * The slot stops standing for a super-frame (freed, or reused for something else: an ICMP
   * error, a segment): its side buffer goes back. Drivers' freeBurst never sees such a slot
   * (a super-frame leaves by txSuper or is cut before a driver's txBurst).
   */
  dropSuper(i: number): void {
    this.supers.release(this.sup[i]! - 1);
    this.sup[i] = 0;
  }

  /** free(idx[k]) for k in [start, start + count): for drivers giving back a transmitted burst. */
  freeBurst(idx: Uint32Array, start: number, count: number): void {
    const fl = this.freeList;
    let c = this.freeCount;
    for (let k = start; k < start + count; k++) fl[c++] = idx[k]!;
    this.freeCount = c;
  }

  /** Absolute offset in `data` of the frame's first byte. */
  offset(i: number): number {
    return (i << this.shift) + this.start[i]!;
  }

  /** A view (no copy) of the frame, for tests and slow paths. */
  frame(i: number): Uint8Array {
    const o = this.offset(i);
    return this.data.subarray(o, o + this.len[i]!);
  }

  /** Copy bytes into a fresh slot; returns the index or -1. For drivers and tests. */
  put(bytes: Uint8Array, rxVif = 0): number {
    const i = this.alloc();
    if (i < 0) return -1;
    const n = Math.min(bytes.length, this.maxFrame);
    this.data.set(bytes.subarray(0, n), (i << this.shift) + HEADROOM);
    this.len[i] = n;
    this.rxVif[i] = rxVif;
    return i;
  }
}
