/**
 * The kernel fast path: IPv4 forwarding between af-packet vifs done in the kernel by a TC
 * program at each vif's ingress (program.ts), for destinations the vRouter has already
 * forwarded: its graph stays the slow path and the one place where decisions are made.
 *
 * - The cache (an LRU hash map, key (in vif, destination), value the rewrite: out ifindex, MACs,
 *   MTU) is filled by the workers' fast path (install.ts): a packet it forwarded the plain way
 *   (no filter on either vif, one next hop with a MAC, no labels, both vifs attached here) puts
 *   its destination in the cache, and the next packets to it never reach user space.
 * - Every entry carries the epoch it was made in, and the TC program takes only entries of the
 *   current epoch (one array map entry). Every change to the data plane's tables bumps the
 *   epoch (the dataplane wraps its mutators: bumpAfter), so no entry outlives a change that
 *   could alter it: the next packet takes the graph again, which decides anew and refills.
 *   The workers read the epoch before their lookups (a shared int32, bumped before the map's),
 *   so an entry made from tables older than a change is of an older epoch.
 * - The socket filter on the vif's packet socket refuses exactly what the TC program
 *   forwards (same checks, same maps), because a packet socket bound to all protocols sees a
 *   frame before TC ingress does.
 * - Per-CPU counters per vif and VRF, added to the vRouter's own by the dataplane's stats().
 *
 * Off unless asked for (dataplane option kernelFastPath, CNR_KERNEL_FAST_PATH=1): af-packet
 * vifs only; needs Linux 6.6+ (TCX) and CAP_BPF/CAP_NET_ADMIN. A vif whose attach fails goes on
 * without it, and the log says why.
 */
import { closeFd } from '../../sys/libc.js';
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
import { setIntOption } from '../../sys/libc.js';
import { CACHE_KEY, CACHE_VALUE, COUNTER_VALUE, socketFilter, tcProgram } from './program.js';
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';

const SOL_SOCKET = 1;
/** destinations the cache holds (LRU: the least recently used goes first) */
export const DEFAULT_CACHE_ENTRIES = 262_144;

/** What a worker needs of the fast path: the shared epoch and ifindexes, the cache's fd (fds are the process's). */
export interface KernelFastShared {
  /** Int32Array: [0] the epoch, [1 + vif] the vif's ifindex when its fast path is attached (0: not) */
  buf: SharedArrayBuffer;
  cacheFd: number;
}

interface Attached {
  filter: number;
  tc: number;
  link: number;
}

/** possible CPUs, as the kernel sizes per-CPU map values */
function possibleCpus(): number {
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
  private readonly maps: { cache: number; epoch: number; counters: number };
  private readonly vifs = new Map<number, Attached>();
  private readonly cpus = possibleCpus();
  private pending = false;
  private closed = false;
  private readonly epochKey = new Uint8Array(4);
  private readonly epochValue = new Uint8Array(4);

  private constructor(private readonly maxVifs: number, private readonly maxVrfs: number, entries: number) {
    const cache = createMap(BPF_MAP_TYPE_LRU_HASH, CACHE_KEY, CACHE_VALUE, entries, 'cnr_fast4');
    const epoch = createMap(BPF_MAP_TYPE_ARRAY, 4, 4, 1, 'cnr_fast_epoch');
    const counters = createMap(BPF_MAP_TYPE_PERCPU_ARRAY, 4, COUNTER_VALUE, maxVifs + maxVrfs, 'cnr_fast_ctr');
    this.maps = { cache, epoch, counters };
    const buf = new SharedArrayBuffer(4 * (1 + maxVifs));
    this.view = new Int32Array(buf);
    this.view[0] = 1; // a zeroed entry (epoch 0) is never current
    this.shared = { buf, cacheFd: cache };
    this.publish();
  }

  /** The fast path's maps, or undefined with the reason logged (no bpf(2) here, too old a kernel, no privilege). */
  static open(maxVifs: number, maxVrfs: number, log: (line: string) => void, entries = DEFAULT_CACHE_ENTRIES): KernelFastPath | undefined {
    try {
      return new KernelFastPath(maxVifs, maxVrfs, entries);
    } catch (e) {
      log(`vrouter: kernel fast path not available: ${(e as Error).message}`);
      return undefined;
    }
  }

  /**
   * Attach to a vif: the socket filter on its packet socket first, then the TC program on its
   * netdev, and only then is it published to the workers (who fill the cache for it).
   */
  attach(vif: number, ifindex: number, packetFd: number, mac: Uint8Array, mtu: number): void {
    if (this.closed) return;
    this.detach(vif);
    const facts = { vif, mac, mtu, maxVifs: this.maxVifs };
    // a vif that had this id before counted here
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, vif, true);
    mapUpdateBytes(this.maps.counters, key, new Uint8Array(COUNTER_VALUE * this.cpus));
    const filter = loadProgram(BPF_PROG_TYPE_SOCKET_FILTER, socketFilter(this.maps, facts), 'cnr_fast_sk');
    let tc = -1;
    try {
      setIntOption(packetFd, SOL_SOCKET, SO_ATTACH_BPF, filter, 'SO_ATTACH_BPF');
      tc = loadProgram(BPF_PROG_TYPE_SCHED_CLS, tcProgram(this.maps, facts), 'cnr_fast_tc');
      const link = linkCreateTcxIngress(tc, ifindex);
      this.vifs.set(vif, { filter, tc, link });
    } catch (e) {
      closeFd(filter);
      if (tc >= 0) closeFd(tc);
      throw e;
    }
    Atomics.store(this.view, 1 + vif, ifindex);
    this.bump();
  }

  /** Unpublish a vif (its entries die with the epoch) and detach its TC program. The socket filter goes with the socket. */
  detach(vif: number): void {
    const a = this.vifs.get(vif);
    if (!a) return;
    Atomics.store(this.view, 1 + vif, 0);
    this.bump();
    this.vifs.delete(vif);
    closeFd(a.link);
    closeFd(a.tc);
    closeFd(a.filter);
  }

  attached(vif: number): boolean {
    return this.vifs.has(vif);
  }

  /**
   * The tables changed: the shared epoch now, the map's before the current task ends (one
   * bpf(2) call for a burst of changes, such as a table's routes in one message). Until then
   * the kernel forwards as just before the change, as if it had come a moment later.
   */
  bump(): void {
    Atomics.add(this.view, 0, 1);
    if (this.pending || this.closed) return;
    this.pending = true;
    queueMicrotask(() => {
      this.pending = false;
      this.publish();
    });
  }

  private publish(): void {
    if (this.closed) return;
    new DataView(this.epochValue.buffer).setUint32(0, Atomics.load(this.view, 0), true);
    mapUpdateBytes(this.maps.epoch, this.epochKey, this.epochValue);
  }

  /** The counters of index `k` (a vif, or maxVifs + VRF) summed over the CPUs: four numbers (a VRF's: packets, bytes, 0, 0). */
  counters(k: number): number[] {
    const out = [0, 0, 0, 0];
    if (this.closed) return out;
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, k, true);
    const v = new Uint8Array(COUNTER_VALUE * this.cpus);
    if (!mapLookupBytes(this.maps.counters, key, v)) return out;
    const dv = new DataView(v.buffer);
    for (let c = 0; c < this.cpus; c++) for (let j = 0; j < 4; j++) out[j]! += Number(dv.getBigUint64(c * COUNTER_VALUE + j * 8, true));
    return out;
  }

  vifCounters(vif: number): number[] {
    return this.counters(vif);
  }

  vrfCounters(vrf: number): number[] {
    return vrf < this.maxVrfs ? this.counters(this.maxVifs + vrf) : [0, 0, 0, 0];
  }

  close(): void {
    for (const vif of [...this.vifs.keys()]) this.detach(vif);
    this.closed = true;
    for (const fd of Object.values(this.maps)) closeFd(fd);
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
