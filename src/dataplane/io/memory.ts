/**
 * The in-memory driver, for tests and the pipeline benchmark. Frames travel through two
 * single-producer single-consumer rings in SharedArrayBuffers (host -> router and router ->
 * host), so the same driver works when the graph runs in a worker thread: the test holds one
 * end (inject/collect), the worker attaches to the other. Two benchmark modes skip the rings:
 * `replay` makes rxBurst copy frames from a fixed list forever (the cost a real driver pays
 * to copy a frame in), `sink` makes txBurst count and free.
 */
import type { IoDriver } from './driver.js';
import { HEADROOM, MAX_FRAME, SLOT_SIZE, type PacketPool } from '../pool.js';

export interface MemoryDriverShared {
  name: string;
  hwaddr: Uint8Array;
  slots: number;
  /** ring 0: toward the router; ring 1: from the router. ctrl: [head0, tail0, head1, tail1] */
  ctrl: SharedArrayBuffer;
  data: SharedArrayBuffer;
  lens: SharedArrayBuffer;
  sink: boolean;
}

export interface MemoryDriverOptions {
  slots?: number;
  hwaddr?: Uint8Array;
  /** benchmark: rxBurst yields these frames round-robin forever */
  replay?: Uint8Array[];
  /** benchmark: txBurst frees and counts instead of queueing */
  sink?: boolean;
}

export class MemoryDriver implements IoDriver {
  readonly name: string;
  readonly hwaddr: Uint8Array;
  readonly fd = -1;
  readonly shared: MemoryDriverShared;
  private readonly ctrl: Int32Array;
  private readonly data: Uint8Array;
  private readonly lens: Uint16Array;
  private readonly slots: number;
  /**
   * replay frames packed back to back (each padded to 8 bytes), like a receive ring, seen as
   * float64 words: a 64-byte frame is 8 moves (a float64 load and store copies the bits as
   * they are, NaN patterns included)
   */
  private replay: Float64Array | undefined;
  private replayOff: Uint32Array | undefined;
  private replayLen: Uint16Array | undefined;
  private replayNext = 0;
  /** frames transmitted in sink mode */
  sunk = 0;
  /** frames the router sent that found the host ring full */
  overflow = 0;

  static create(name: string, opts: MemoryDriverOptions = {}): MemoryDriver {
    const slots = opts.slots ?? 1024;
    const hw = opts.hwaddr ?? Uint8Array.from([0x02, 0x00, 0x5e, 0, 0, Math.floor(Math.random() * 255)]);
    const d = new MemoryDriver({
      name,
      hwaddr: hw,
      slots,
      ctrl: new SharedArrayBuffer(16),
      data: new SharedArrayBuffer(2 * slots * SLOT_SIZE),
      lens: new SharedArrayBuffer(2 * slots * 2),
      sink: opts.sink ?? false,
    });
    if (opts.replay && opts.replay.length > 0) {
      const frames = opts.replay.map((f) => f.subarray(0, Math.min(f.length, MAX_FRAME)));
      // 64 bytes of tail room: rxBurst copies a short frame as 8 whole words
      const bytes = new Uint8Array(frames.reduce((a, f) => a + ((f.length + 7) & ~7), 64));
      d.replayOff = new Uint32Array(frames.length);
      d.replayLen = new Uint16Array(frames.length);
      let o = 0;
      frames.forEach((f, k) => {
        bytes.set(f, o);
        d.replayOff![k] = o >> 3;
        d.replayLen![k] = f.length;
        o += (f.length + 7) & ~7;
      });
      d.replay = new Float64Array(bytes.buffer);
    }
    return d;
  }

  static attach(shared: MemoryDriverShared): MemoryDriver {
    return new MemoryDriver(shared);
  }

  private constructor(shared: MemoryDriverShared) {
    this.shared = shared;
    this.name = shared.name;
    this.hwaddr = shared.hwaddr;
    this.slots = shared.slots;
    this.ctrl = new Int32Array(shared.ctrl);
    this.data = new Uint8Array(shared.data);
    this.lens = new Uint16Array(shared.lens);
  }

  /** Host side: queue a frame toward the router. False when the ring is full. */
  inject(frame: Uint8Array): boolean {
    return this.push(0, frame);
  }

  /** Host side: take every frame the router has sent. */
  collect(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (;;) {
      const f = this.pop(1);
      if (!f) return out;
      out.push(f);
    }
  }

  /** Frames waiting toward the router. */
  get pending(): number {
    return Atomics.load(this.ctrl, 0) - Atomics.load(this.ctrl, 1);
  }

  rxBurst(pool: PacketPool, out: Uint32Array, max: number): number {
    if (this.replay) {
      if (pool !== this.replayPool) {
        this.replayPool = pool;
        this.replayRx = this.makeReplayRx(pool);
      }
      return this.replayRx!(out, max);
    }
    const ctrl = this.ctrl;
    let tail = Atomics.load(ctrl, 1);
    const head = Atomics.load(ctrl, 0);
    let n = 0;
    while (n < max && tail !== head) {
      const i = pool.alloc();
      if (i < 0) break;
      const s = tail % this.slots;
      const len = this.lens[s]!;
      pool.data.set(this.data.subarray(s * SLOT_SIZE, s * SLOT_SIZE + len), pool.offset(i));
      pool.len[i] = len;
      out[n++] = i;
      tail++;
    }
    Atomics.store(ctrl, 1, tail);
    return n;
  }

  /** the replay receive as a closure over one pool's and the replay's arrays (V8 specialises it to them) */
  private replayRx: ((out: Uint32Array, max: number) => number) | undefined;
  private replayPool: PacketPool | undefined;

  private makeReplayRx(pool: PacketPool): (out: Uint32Array, max: number) => number {
    const replay = this.replay!;
    // 8-byte word copies: slots and HEADROOM are 8-byte aligned (a driver copies a ring frame the same way)
    const d = pool.data64;
    const plen = pool.len;
    const offs = this.replayOff!;
    const lens = this.replayLen!;
    const nFrames = offs.length;
    const h = HEADROOM >> 3;
    const slotWords = pool.slotSize >> 3; // the pool's slot, bound once for this closure
    return (out, max) => {
      const n = pool.allocBurst(out, max);
      let next = this.replayNext;
      for (let k = 0; k < n; k++) {
        const i = out[k]!;
        const o = offs[next]!;
        const len = lens[next]!;
        if (++next === nFrames) next = 0;
        const dst = i * slotWords + h;
        if (len <= 64) {
          // a minimum-size frame in 8 straight-line moves (a loop costs V8 twice as much here)
          d[dst] = replay[o]!; d[dst + 1] = replay[o + 1]!; d[dst + 2] = replay[o + 2]!; d[dst + 3] = replay[o + 3]!;
          d[dst + 4] = replay[o + 4]!; d[dst + 5] = replay[o + 5]!; d[dst + 6] = replay[o + 6]!; d[dst + 7] = replay[o + 7]!;
        } else {
          const words = (len + 7) >> 3;
          for (let b = 0; b < words; b++) d[dst + b] = replay[o + b]!;
        }
        plen[i] = len;
      }
      this.replayNext = next;
      return n;
    };
  }

  txBurst(pool: PacketPool, idx: Uint32Array, start: number, count: number): number {
    if (this.shared.sink) {
      pool.freeBurst(idx, start, count);
      this.sunk += count;
      return count;
    }
    let sent = 0;
    for (let k = start; k < start + count; k++) {
      const i = idx[k]!;
      if (this.push(1, pool.frame(i))) sent++;
      else this.overflow++;
      pool.free(i);
    }
    return sent;
  }

  flush(): void {}

  close(): void {}

  private push(ring: number, frame: Uint8Array): boolean {
    const ctrl = this.ctrl;
    const head = Atomics.load(ctrl, ring * 2);
    const tail = Atomics.load(ctrl, ring * 2 + 1);
    if (head - tail >= this.slots) return false;
    const s = head % this.slots;
    const base = (ring * this.slots + s) * SLOT_SIZE;
    const n = Math.min(frame.length, MAX_FRAME);
    this.data.set(frame.subarray(0, n), base);
    this.lens[ring * this.slots + s] = n;
    Atomics.store(ctrl, ring * 2, head + 1);
    return true;
  }

  private pop(ring: number): Uint8Array | undefined {
    const ctrl = this.ctrl;
    const head = Atomics.load(ctrl, ring * 2);
    const tail = Atomics.load(ctrl, ring * 2 + 1);
    if (head === tail) return undefined;
    const s = tail % this.slots;
    const base = (ring * this.slots + s) * SLOT_SIZE;
    const f = this.data.slice(base, base + this.lens[ring * this.slots + s]!);
    Atomics.store(ctrl, ring * 2 + 1, tail + 1);
    return f;
  }
}
