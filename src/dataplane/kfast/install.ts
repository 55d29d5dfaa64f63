/**
 * A worker's side of the kernel fast path (kfast.ts): the destinations its graph forwarded the
 * plain way, put into the kernel's cache at the end of the burst, tagged with the epoch that
 * applies to them (an IPv4 destination's /8's, IPv6's) as read before the burst's lookups.
 */
import { mapUpdateBytes } from '../io/bpf.js';
import { CACHE6_KEY, CACHE_KEY, CACHE_VALUE, EPOCH6, EPOCH_SLOTS } from './program.js';
import type { KernelFastShared } from './kfast.js';

/** the shared view (kfast.ts KernelFastShared): the caches' fds after the epochs, then the vifs' ifindexes */
export const KF_CACHE_FD = EPOCH_SLOTS;
export const KF_CACHE6_FD = EPOCH_SLOTS + 1;
export const KF_IFINDEX = EPOCH_SLOTS + 2;
/** words per candidate: in vif, destination (4 words; IPv4: the first), out vif, VRF, MTU, 3 MAC words, epoch, family */
const CW = 13;

/** entries put per burst at most (each is one bpf(2) call) */
const PER_BURST = 64;
/** the recently put, direct-mapped: a destination is put again at most once per RETRY_MS in an epoch */
const RECENT_BITS = 12;
const RETRY_MS = 100;

export class FastFill {
  /** [0, EPOCH_SLOTS) the epochs (kfast.ts), [KF_IFINDEX + vif] ifindex (0: no fast path on that vif) */
  readonly view: Int32Array;
  /** the epochs before this burst's lookups */
  private readonly epochs = new Int32Array(EPOCH_SLOTS);
  n = 0;
  private readonly cand = new Int32Array(PER_BURST * CW);
  private readonly key = new Uint8Array(CACHE_KEY);
  private readonly key6 = new Uint8Array(CACHE6_KEY);
  private readonly k6dv = new DataView(this.key6.buffer);
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
    this.recentKey.fill(-1);
  }

  /** before a burst's lookups (nothing to copy until a vif is attached: the maps' fds come with the first) */
  begin(): void {
    this.n = 0;
    const v = this.view;
    if (Atomics.load(v, KF_CACHE_FD) === 0) return;
    const e = this.epochs;
    for (let k = 0; k < EPOCH_SLOTS; k++) e[k] = Atomics.load(v, k);
  }

  /**
   * A packet from inVif to dst (as an int32 in network order) forwarded out of vif ov with
   * the rewrite's MAC words (as the frame has them, big-endian int32s) and the out MTU.
   */
  add(inVif: number, dst: number, ov: number, vrf: number, mtu: number, m0: number, m1: number, m2: number): void {
    this.candidate(4, inVif, dst, 0, 0, 0, ov, vrf, mtu, m0, m1, m2);
  }

  /** add for an IPv6 destination, given as four int32 words in network order */
  add6(inVif: number, d0: number, d1: number, d2: number, d3: number, ov: number, vrf: number, mtu: number, m0: number, m1: number, m2: number): void {
    this.candidate(6, inVif, d0, d1, d2, d3, ov, vrf, mtu, m0, m1, m2);
  }

  private candidate(family: number, inVif: number, d0: number, d1: number, d2: number, d3: number, ov: number, vrf: number, mtu: number, m0: number, m1: number, m2: number): void {
    const v = this.view;
    if (this.n >= PER_BURST || v[KF_IFINDEX + inVif] === 0 || v[KF_IFINDEX + ov] === 0) return;
    const epoch = this.epochs[family === 4 ? d0 >>> 24 : EPOCH6]!;
    const x = family === 4 ? d0 : d0 ^ d1 ^ d2 ^ d3;
    const h = (Math.imul(x ^ (inVif << 20) ^ family, 0x9e3779b1) >>> (32 - RECENT_BITS));
    const now = performance.now();
    if (this.recentKey[h * 2] === x && this.recentKey[h * 2 + 1] === inVif && this.recentEpoch[h] === epoch && now - this.recentAt[h]! < RETRY_MS) return;
    // recent from now on: the burst's next packets to it are not candidates again (a flow's first burst)
    this.recentKey[h * 2] = x;
    this.recentKey[h * 2 + 1] = inVif;
    this.recentEpoch[h] = epoch;
    this.recentAt[h] = now;
    // (an array per candidate: at most PER_BURST of them, and only for destinations not yet cached)
    this.cand.set([inVif, d0, d1, d2, d3, ov, vrf, mtu, m0, m1, m2, epoch, family], this.n++ * CW);
  }

  /** after the burst: put the candidates */
  flush(): void {
    const c = this.cand;
    const val = this.vdv;
    for (let j = 0; j < this.n; j++) {
      const o = j * CW;
      const inVif = c[o]!;
      const ov = c[o + 5]!;
      const epoch = c[o + 11]!;
      const six = c[o + 12] === 6;
      const ifindex = this.view[KF_IFINDEX + ov]!;
      if (ifindex === 0) continue;
      let key: Uint8Array;
      if (six) {
        const k = this.k6dv;
        k.setUint32(0, inVif, true);
        for (let w = 0; w < 4; w++) k.setInt32(4 + w * 4, c[o + 1 + w]!); // as in the packet
        key = this.key6;
      } else {
        this.kdv.setUint32(0, inVif, true);
        this.kdv.setInt32(4, c[o + 1]!);
        key = this.key;
      }
      val.setUint32(0, epoch, true);
      val.setUint32(4, ifindex, true);
      val.setUint32(8, ov, true);
      val.setUint32(12, c[o + 6]!, true);
      val.setUint32(16, c[o + 7]!, true);
      val.setInt32(20, c[o + 8]!);
      val.setInt32(24, c[o + 9]!);
      val.setInt32(28, c[o + 10]!);
      try {
        mapUpdateBytes(this.view[six ? KF_CACHE6_FD : KF_CACHE_FD]!, key, this.value);
        this.put++;
      } catch {
        this.failed++;
      }
    }
    this.n = 0;
  }
}
