/**
 * The kernel fast path: IPv4 and IPv6 forwarding between af-packet vifs done in the kernel by a TC
 * program at each vif's ingress (program.ts), for destinations the vRouter has already
 * forwarded: its graph stays the slow path and the one place where decisions are made.
 *
 * - The cache (an LRU hash map, key (in vif, destination), value the rewrite: out ifindex, MACs,
 *   MTU) is filled by the workers' fast path (install.ts): a packet it forwarded the plain way
 *   (no filter on either vif, one next hop with a MAC, no labels, both vifs attached here) puts
 *   its destination in the cache, and the next packets to it never reach user space.
 * - Every entry carries the epoch of its destination's /8 when it was made, and the TC program
 *   takes only entries of the current one (an array map of 256 epochs, and one for IPv6). An
 *   IPv4 route change ends the epochs of the /8s its prefix covers (bumpRange), an IPv6 one
 *   IPv6's (bumpSix); every other change to the data plane's
 *   tables ends them all (the dataplane wraps its mutators: bumpAfter). So no entry outlives a
 *   change that could alter it: the next packet takes the graph again, which decides anew and
 *   refills. The workers copy the epochs before their lookups (shared int32s, bumped before the
 *   map's), so an entry made from tables older than a change is of an older epoch.
 * - The socket filter on the vif's packet socket refuses exactly what the TC program
 *   forwards (same checks, same maps), because a packet socket bound to all protocols sees a
 *   frame before TC ingress does.
 * - Per-CPU counters per vif and VRF, added to the vRouter's own by the dataplane's stats().
 *
 * On unless turned off (dataplane option kernelFastPath, `--kernel-fast-path off`,
 * CNR_KERNEL_FAST_PATH=0): af-packet vifs only; needs Linux 6.6+ (TCX) and CAP_BPF/CAP_NET_ADMIN.
 * A vif whose attach fails goes on without it, and the log says why.
 */
import {
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_PROG_TYPE_SCHED_CLS,
  BPF_PROG_TYPE_SOCKET_FILTER,
  SO_ATTACH_BPF,
  createMap,
  linkCreateTcxIngress,
  loadProgram,
  mapLookupBytes,
  mapUpdateBytes,
} from '../io/bpf.js';
import { closeFd, setIntOption } from '../../sys/libc.js';
import { CACHE6_KEY, CACHE_KEY, CACHE_VALUE, COUNTER_VALUE, EPOCH6, EPOCHS, EPOCHS_BYTES, EPOCH_SLOTS, type FastMaps, socketFilter, tcProgram } from './program.js';
import { KF_CACHE6_FD, KF_CACHE_FD, KF_IFINDEX } from './install.js';
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';

const SOL_SOCKET = 1;
/** setsockopt(SOL_SOCKET) option that removes a socket's filter (classic or eBPF) */
const SO_DETACH_FILTER = 27;
/** destinations each cache (IPv4, IPv6) holds (LRU: the least recently used goes first) */
export const DEFAULT_CACHE_ENTRIES = 131_072;

/** CNR_KERNEL_FAST_PATH_ENTRIES: the caches' size (1,024 to 4M); a bad value refuses the start */
export function cacheEntriesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.CNR_KERNEL_FAST_PATH_ENTRIES;
  if (v === undefined || v === '') return DEFAULT_CACHE_ENTRIES;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1024 || n > 4 << 20) throw new Error(`CNR_KERNEL_FAST_PATH_ENTRIES=${v}: expected a whole number of destinations from 1024 to ${4 << 20}`);
  return n;
}

/**
 * What a worker needs of the fast path, one shared Int32Array: [0, EPOCHS) the epoch of each
 * IPv4 /8, [EPOCH6] IPv6's, [KF_CACHE_FD] and [KF_CACHE6_FD] the caches' fds (fds are the
 * process's; 0 until the first attach makes the maps), [KF_IFINDEX + vif] the vif's ifindex
 * while its fast path is attached (0: not).
 */
export interface KernelFastShared {
  buf: SharedArrayBuffer;
}

interface Attached {
  filter: number;
  tc: number;
  link: number;
}

/** possible CPUs, as the kernel sizes per-CPU map values */
export function possibleCpus(): number {
  try {
    const text = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
    let n = 0;
    for (const part of text.split(',')) {
      const [a, b] = part.split('-').map(Number);
      n = Math.max(n, (b ?? a!) + 1);
    }
    return n;
  } catch {
    return availableParallelism();
  }
}

export class KernelFastPath {
  readonly shared: KernelFastShared;
  private readonly view: Int32Array;
  /** made at the first attach: a data plane without af-packet vifs holds none */
  private maps: FastMaps | undefined;
  private readonly vifs = new Map<number, Attached>();
  private readonly cpus = possibleCpus();
  private pending = false;
  private closed = false;
  private readonly epochKey = new Uint8Array(4);
  private readonly epochValue = new Uint8Array(EPOCHS_BYTES);

  constructor(private readonly maxVifs: number, private readonly maxVrfs: number, private readonly entries = cacheEntriesFromEnv()) {
    const buf = new SharedArrayBuffer(4 * (KF_IFINDEX + maxVifs));
    this.view = new Int32Array(buf);
    this.view.fill(1, 0, EPOCH_SLOTS); // a zeroed entry (epoch 0) is never current
    this.shared = { buf };
  }

  /** The maps, made at the first attach (each cache preallocates its entries in the kernel: ~12 MB at the default size). */
  private ensureMaps(): FastMaps {
    if (this.maps) return this.maps;
    const made: number[] = [];
    try {
      const cache = createMap(BPF_MAP_TYPE_LRU_HASH, CACHE_KEY, CACHE_VALUE, this.entries, 'cnr_fast4');
      made.push(cache);
      const cache6 = createMap(BPF_MAP_TYPE_LRU_HASH, CACHE6_KEY, CACHE_VALUE, this.entries, 'cnr_fast6');
      made.push(cache6);
      const epoch = createMap(BPF_MAP_TYPE_ARRAY, 4, EPOCHS_BYTES, 1, 'cnr_fast_epoch');
      made.push(epoch);
      const counters = createMap(BPF_MAP_TYPE_PERCPU_ARRAY, 4, COUNTER_VALUE, this.maxVifs + this.maxVrfs, 'cnr_fast_ctr');
      this.maps = { cache, cache6, epoch, counters };
    } catch (e) {
      for (const fd of made) closeFd(fd);
      throw e;
    }
    this.publish();
    Atomics.store(this.view, KF_CACHE_FD, this.maps.cache);
    Atomics.store(this.view, KF_CACHE6_FD, this.maps.cache6);
    return this.maps;
  }

  /**
   * Attach to a vif: the socket filter on its packet socket first, then the TC program on its
   * netdev, and only then is it published to the workers (who fill the cache for it).
   */
  attach(vif: number, ifindex: number, packetFd: number, mac: Uint8Array, mtu: number): void {
    if (this.closed) return;
    this.detach(vif);
    const maps = this.ensureMaps();
    const facts = { vif, mac, mtu, maxVifs: this.maxVifs };
    // a vif that had this id before counted here
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, vif, true);
    mapUpdateBytes(maps.counters, key, new Uint8Array(COUNTER_VALUE * this.cpus));
    const filter = loadProgram(BPF_PROG_TYPE_SOCKET_FILTER, socketFilter(maps, facts), 'cnr_fast_sk');
    let tc = -1;
    let filtered = false;
    try {
      setIntOption(packetFd, SOL_SOCKET, SO_ATTACH_BPF, filter, 'SO_ATTACH_BPF');
      filtered = true;
      tc = loadProgram(BPF_PROG_TYPE_SCHED_CLS, tcProgram(maps, facts), 'cnr_fast_tc');
      const link = linkCreateTcxIngress(tc, ifindex);
      this.vifs.set(vif, { filter, tc, link });
    } catch (e) {
      // the socket goes on without the filter (it would only cost: no entry names this vif)
      if (filtered) {
        try {
          setIntOption(packetFd, SOL_SOCKET, SO_DETACH_FILTER, 0, 'SO_DETACH_FILTER');
        } catch { /* the socket is going anyway */ }
      }
      closeFd(filter);
      if (tc >= 0) closeFd(tc);
      throw e;
    }
    Atomics.store(this.view, KF_IFINDEX + vif, ifindex);
    this.bump();
  }

  /** Unpublish a vif (its entries die with the epoch) and detach its TC program. The socket filter goes with the socket. */
  detach(vif: number): void {
    const a = this.vifs.get(vif);
    if (!a) return;
    Atomics.store(this.view, KF_IFINDEX + vif, 0);
    this.bump();
    this.vifs.delete(vif);
    closeFd(a.link);
    closeFd(a.tc);
    closeFd(a.filter);
  }

  /**
   * The tables changed: every /8's epoch ends, in the shared view now and in the map before the
   * current task ends (one bpf(2) call for a burst of changes, such as a table's routes in one
   * message). Until then the kernel forwards as just before the change, as if it had come a
   * moment later.
   */
  bump(): void {
    for (let k = 0; k < EPOCH_SLOTS; k++) Atomics.add(this.view, k, 1);
    this.schedule();
  }

  /** An IPv6 route changed: the IPv6 epoch ends. */
  bumpSix(): void {
    Atomics.add(this.view, EPOCH6, 1);
    this.schedule();
  }

  /** An IPv4 route for addr/len changed (addr: its 32-bit value): the epochs of the /8s it covers end. */
  bumpRange(addr: number, len: number): void {
    const first = addr >>> 24;
    const n = len >= 8 ? 1 : 1 << (8 - len);
    for (let k = first; k < first + n && k < EPOCHS; k++) Atomics.add(this.view, k, 1);
    this.schedule();
  }

  private schedule(): void {
    if (this.pending || this.closed) return;
    this.pending = true;
    queueMicrotask(() => {
      this.pending = false;
      this.publish();
    });
  }

  private publish(): void {
    if (this.closed || !this.maps) return;
    const dv = new DataView(this.epochValue.buffer);
    for (let k = 0; k < EPOCH_SLOTS; k++) dv.setUint32(k * 4, Atomics.load(this.view, k), true);
    mapUpdateBytes(this.maps.epoch, this.epochKey, this.epochValue);
  }

  /** The counters of index `k` (a vif, or maxVifs + VRF) summed over the CPUs: four numbers (a VRF's: packets, bytes, 0, 0). */
  counters(k: number): number[] {
    const out = [0, 0, 0, 0];
    if (this.closed || !this.maps) return out;
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, k, true);
    const v = new Uint8Array(COUNTER_VALUE * this.cpus);
    if (!mapLookupBytes(this.maps.counters, key, v)) return out;
    const dv = new DataView(v.buffer);
    for (let c = 0; c < this.cpus; c++) for (let j = 0; j < 4; j++) out[j]! += Number(dv.getBigUint64(c * COUNTER_VALUE + j * 8, true));
    return out;
  }

  /** a vif's counters, undefined while the fast path is not attached to it */
  vifCounters(vif: number): number[] | undefined {
    return this.vifs.has(vif) ? this.counters(vif) : undefined;
  }

  vrfCounters(vrf: number): number[] {
    return vrf < this.maxVrfs ? this.counters(this.maxVifs + vrf) : [0, 0, 0, 0];
  }

  close(): void {
    for (const vif of [...this.vifs.keys()]) this.detach(vif);
    this.closed = true;
    if (this.maps) for (const fd of Object.values(this.maps)) closeFd(fd);
    this.maps = undefined;
  }
}

/**
 * Wrap the named methods of `obj` so that each call bumps the epoch once it returns (an async
 * one also once it settles): every change to the tables, whichever way it comes.
 */
export function bumpAfter(obj: object, names: readonly string[], bump: () => void): void {
  const o = obj as Record<string, unknown>;
  for (const name of names) {
    const f = o[name];
    if (typeof f !== 'function') throw new Error(`kernel fast path: no method ${name} to watch`);
    o[name] = function (this: unknown, ...args: unknown[]): unknown {
      let r: unknown;
      try {
        r = (f as (...a: unknown[]) => unknown).apply(this, args);
      } finally {
        bump();
      }
      if (r instanceof Promise) return r.finally(bump);
      return r;
    };
  }
}

/** CNR_KERNEL_FAST_PATH: 0 turns the kernel fast path off, 1 (or unset) leaves it on; anything else refuses the start */
export function kernelFastPathFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.CNR_KERNEL_FAST_PATH;
  if (v === undefined || v === '' || v === '1') return true;
  if (v === '0') return false;
  throw new Error(`CNR_KERNEL_FAST_PATH=${v}: expected 0 (off) or 1 (on)`);
}
