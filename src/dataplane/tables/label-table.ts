/**
 * The MPLS incoming-label map (ILM): a 2^20-slot index from label to an ILM entry, and the
 * entries as a struct of arrays. Replacing a label's action writes a fresh entry and swaps
 * the index slot with one Atomics.store, so a reader sees the old or the new action, never
 * a mix. Released entries are reused only after a grace period (see IdAllocator).
 */
import { MAX_LABELS } from './nexthop-table.js';

export const ILM_NONE = 0;
export const ILM_POP_LOOKUP = 1;
export const ILM_SWAP = 2;
export const ILM_PHP = 3;
export const ILM_ACTION_NAMES = ['none', 'pop-lookup', 'swap', 'php'];
export const LABEL_SPACE = 1 << 20;

export interface LabelShared {
  capacity: number;
  index: SharedArrayBuffer;
  entries: SharedArrayBuffer;
}

export class LabelTable {
  /** label -> entry id (0: no entry) */
  readonly index: Uint32Array;
  readonly action: Uint8Array;
  readonly nout: Uint8Array;
  readonly vrf: Uint16Array;
  readonly nh: Uint32Array;
  readonly out: Uint32Array;

  static create(capacity: number): LabelTable {
    return new LabelTable({
      capacity,
      index: new SharedArrayBuffer(LABEL_SPACE * 4),
      entries: new SharedArrayBuffer(capacity * (4 + 4 * MAX_LABELS + 2 + 2)),
    });
  }

  static attach(s: LabelShared): LabelTable {
    return new LabelTable(s);
  }

  private constructor(readonly shared: LabelShared) {
    const n = shared.capacity;
    const b = shared.entries;
    this.index = new Uint32Array(shared.index);
    let off = 0;
    this.nh = new Uint32Array(b, off, n); off += n * 4;
    this.out = new Uint32Array(b, off, n * MAX_LABELS); off += n * 4 * MAX_LABELS;
    this.vrf = new Uint16Array(b, off, n); off += n * 2;
    this.action = new Uint8Array(b, off, n); off += n;
    this.nout = new Uint8Array(b, off, n);
  }
}
