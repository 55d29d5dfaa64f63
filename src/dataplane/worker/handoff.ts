/**
 * Frame handoff between workers. A vif's driver lives in exactly one worker (drivers hold
 * rings and descriptors that cannot be shared), so a worker that routes a packet to a vif
 * another worker owns copies the frame into a single-producer single-consumer ring toward
 * that worker, which transmits it on its next poll (VPP's handoff, in shared memory).
 */
import { SLOT_SIZE, type PacketPool } from '../pool.js';

export interface HandoffShared {
  slots: number;
  /** bytes per ring slot: the data plane's packet slot size */
  slotSize: number;
  ctrl: SharedArrayBuffer;
  data: SharedArrayBuffer;
  meta: SharedArrayBuffer;
}

export function createHandoff(slots = 1024, slotSize = SLOT_SIZE): HandoffShared {
  return { slots, slotSize, ctrl: new SharedArrayBuffer(8), data: new SharedArrayBuffer(slots * slotSize), meta: new SharedArrayBuffer(slots * 8) };
}

export class HandoffRing {
  private readonly ctrl: Int32Array;
  private readonly data: Uint8Array;
  private readonly meta: Uint32Array;
  private readonly slots: number;
  private readonly slotSize: number;

  constructor(s: HandoffShared) {
    this.slots = s.slots;
    this.slotSize = s.slotSize;
    this.ctrl = new Int32Array(s.ctrl);
    this.data = new Uint8Array(s.data);
    this.meta = new Uint32Array(s.meta);
  }

  /** Producer: copy frame i (to be sent on vif) into the ring; false when full. */
  push(pool: PacketPool, i: number, vif: number): boolean {
    const head = this.ctrl[0]!;
    if (head - Atomics.load(this.ctrl, 1) >= this.slots) return false;
    const s = head % this.slots;
    const len = pool.len[i]!;
    const o = pool.offset(i);
    this.data.set(pool.data.subarray(o, o + len), s * this.slotSize);
    this.meta[s * 2] = len;
    this.meta[s * 2 + 1] = vif;
    Atomics.store(this.ctrl, 0, head + 1);
    return true;
  }

  /** Consumer: move up to max frames into pool slots (txVif set); their indices go to out. */
  pop(pool: PacketPool, out: Uint32Array, max: number): number {
    const head = Atomics.load(this.ctrl, 0);
    let tail = this.ctrl[1]!;
    let n = 0;
    while (n < max && tail !== head) {
      const i = pool.alloc();
      if (i < 0) break;
      const s = tail % this.slots;
      const len = this.meta[s * 2]!;
      const from = s * this.slotSize;
      pool.data.set(this.data.subarray(from, from + len), pool.offset(i));
      pool.len[i] = len;
      pool.txVif[i] = this.meta[s * 2 + 1]!;
      out[n++] = i;
      tail++;
    }
    Atomics.store(this.ctrl, 1, tail);
    return n;
  }
}
