/**
 * A worker's side of the kernel fast path (kfast.ts): the destinations its graph forwarded the
 * plain way, put into the kernel's cache at the end of the burst, tagged with the epoch read
 * before the burst's lookups.
 */
import { mapUpdateBytes } from '../io/bpf.js';
import { CACHE_KEY, CACHE_VALUE } from './program.js';
import type { KernelFastShared } from './kfast.js';

/** entries put per burst at most (each is one bpf(2) call) */
const PER_BURST = 64;
/** the recently put, direct-mapped: a destination is put again at most once per RETRY_MS in an epoch */
const RECENT_BITS = 12;
const RETRY_MS = 100;

export class FastFill {
  /** [0] epoch, [1 + vif] ifindex (0: no fast path on that vif) */
  readonly view: Int32Array;
  private readonly cacheFd: number;
  /** the epoch of this burst's lookups */
  epoch = 0;
  n = 0;
  private readonly cand = new Int32Array(PER_BURST * 8);
  private readonly key = new Uint8Array(CACHE_KEY);
  private readonly value = new Uint8Array(CACHE_VALUE);
  private readonly kdv = new DataView(this.key.buffer);
  private readonly vdv = new DataView(this.value.buffer);
  private readonly recentKey = new Int32Array(2 << RECENT_BITS);
  private readonly recentAt = new Float64Array(1 << RECENT_BITS);
  private readonly recentEpoch = new Int32Array(1 << RECENT_BITS);
  /** entries put, and refused (the map's error, e.g. out of memory) */
  put = 0;
  failed = 0;

  constructor(shared: KernelFastShared) {
    this.view = new Int32Array(shared.buf);
    this.cacheFd = shared.cacheFd;
    this.recentKey.fill(-1);
  }

  /** before a burst's lookups */
  begin(): void {
    this.epoch = Atomics.load(this.view, 0);
    this.n = 0;
  }

  /**
   * A packet from inVif to dst (as an int32 in network order) forwarded out of vif ov with
   * the rewrite's MAC words (as the frame has them, big-endian int32s) and the out MTU.
   */
  add(inVif: number, dst: number, ov: number, vrf: number, mtu: number, m0: number, m1: number, m2: number): void {
    const v = this.view;
    if (this.n >= PER_BURST || v[1 + inVif] === 0 || v[1 + ov] === 0) return;
    const h = (Math.imul(dst ^ (inVif << 20), 0x9e3779b1) >>> (32 - RECENT_BITS));
    if (this.recentKey[h * 2] === dst && this.recentKey[h * 2 + 1] === inVif && this.recentEpoch[h] === this.epoch) {
      const now = performance.now();
      if (now - this.recentAt[h]! < RETRY_MS) return;
    }
    const c = this.cand;
    const o = this.n++ * 8;
    c[o] = inVif;
    c[o + 1] = dst;
    c[o + 2] = ov;
    c[o + 3] = vrf;
    c[o + 4] = mtu;
    c[o + 5] = m0;
    c[o + 6] = m1;
    c[o + 7] = m2;
  }

  /** after the burst: put the candidates */
  flush(): void {
    const c = this.cand;
    const k = this.kdv;
    const val = this.vdv;
    const now = performance.now();
    for (let j = 0; j < this.n; j++) {
      const o = j * 8;
      const inVif = c[o]!;
      const dst = c[o + 1]!;
      const ov = c[o + 2]!;
      const ifindex = this.view[1 + ov]!;
      if (ifindex === 0) continue;
      k.setUint32(0, inVif, true);
      k.setInt32(4, dst); // as in the packet
      val.setUint32(0, this.epoch, true);
      val.setUint32(4, ifindex, true);
      val.setUint32(8, ov, true);
      val.setUint32(12, c[o + 3]!, true);
      val.setUint32(16, c[o + 4]!, true);
      val.setInt32(20, c[o + 5]!);
      val.setInt32(24, c[o + 6]!);
      val.setInt32(28, c[o + 7]!);
      try {
        mapUpdateBytes(this.cacheFd, this.key, this.value);
        this.put++;
      } catch {
        this.failed++;
      }
      const h = (Math.imul(dst ^ (inVif << 20), 0x9e3779b1) >>> (32 - RECENT_BITS));
      this.recentKey[h * 2] = dst;
      this.recentKey[h * 2 + 1] = inVif;
      this.recentEpoch[h] = this.epoch;
      this.recentAt[h] = now;
    }
    this.n = 0;
  }
}
