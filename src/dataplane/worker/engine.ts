/**
 * One forwarding engine: a packet pool, a graph and the drivers of the vifs it polls. The
 * same class runs inside a worker thread (worker.ts) and, with `workers: 0`, in the calling
 * thread through Dataplane.poll(). runOnce() polls every driver once, pushes each received
 * burst through the graph and kicks the drivers' transmit side. A few times a second it also
 * copies the drivers' own I/O counters (kernel ring drops, oversize frames, GSO segmentation:
 * io/driver.ts IoCounters) into the shared counters, where the drop reasons and the vif list
 * show them.
 */
import type { KernelFastShared } from '../kfast/kfast.js';
import { readlinkSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { IoCounters, IoDriver } from '../io/driver.js';
import { MemoryDriver, type MemoryDriverShared } from '../io/memory.js';
import type { MemifOptions } from '../io/memif.js';
import { PacketPool, SLOT_SIZE } from '../pool.js';
import { Graph, EVENT_WORDS } from '../graph/graph.js';
import type { Tables } from '../tables/tables.js';
import type { HandoffRing } from './handoff.js';
import { DROP_NAMES, IO_COUNTERS, IO_STRIDE, STATS_DROP_BASE, VIF_STRIDE, statsLayout } from '../graph/graph-constants.js';
import { VIF_L2 } from '../tables/vif-table.js';

export const BURST = 256;

/**
 * How long an idle worker keeps polling its drivers before it sleeps, in ms. A sleep in poll()
 * and the wake-up a frame then causes cost microseconds of CPU on both sides (a syscall, a
 * context switch each way, the waker's work); spinning much longer than that before sleeping
 * cannot save more than it burns (the ski-rental bound), and a frame that arrives within the
 * spin is taken without a wake-up. At 64 kpps arriving in bursts 1 ms apart, a spin of 0, 10
 * and 50 us measured 3.5, 2.6-2.9 and 3.0-3.5 us of worker CPU per forwarded packet; the old
 * 0.2 ms, 5.6-6.0 (docs/benchmarks-history.md, forwarding, session 6). CNR_IDLE_SPIN_US overrides it
 * (0 to 1000 us): longer trades CPU for the latency of a wake-up on sparse traffic.
 */
export const DEFAULT_IDLE_SPIN_US = 10;
export function idleSpinMs(env: string | undefined = process.env['CNR_IDLE_SPIN_US']): number {
  return microsecondsSetting('CNR_IDLE_SPIN_US', env, DEFAULT_IDLE_SPIN_US);
}

/** A worker timing setting from the environment, 0 to 1000 us (default when unset), in ms; anything else refuses the start. */
function microsecondsSetting(name: string, env: string | undefined, dflt: number): number {
  if (env === undefined || env === '') return dflt / 1000;
  const us = Number(env);
  if (!Number.isFinite(us) || us < 0 || us > 1000) throw new Error(`${name}=${env}: not a number of microseconds from 0 to 1000`);
  return us / 1000;
}

/**
 * Wake-up coalescing, in ms: after a turn that received frames but less than a full burst,
 * the worker sleeps this long (a futex wait, ended early by a control message) before its
 * next turn, instead of spinning or sleeping in poll() on its sockets, so that the frames
 * arriving meanwhile are taken in one burst and no frame's arrival has to wake the worker
 * (the sender's softirq then skips the wake-up, a cross-CPU IPI, too). It adds up to that
 * delay to frames arriving in the window (the worker's timer slack is 1 us, WORKER_TIMER_SLACK_NS,
 * not the kernel's 50 us). Off by default (0): measured on veths beside 10 kpps it added 0.1-0.3
 * ms to a ping's round trip and showed no CPU gain (docs/benchmarks-history.md, forwarding,
 * session 8), and at 87 kpps neither 50, 100, 150 nor 200 us lowered the worker's CPU per packet:
 * a timed sleep and its wake-up cost ~15-25 us of CPU on this VM, about what the nap saves
 * (session 10); CNR_RX_COALESCE_US (0 to 1000 us) turns it on.
 */
export const DEFAULT_RX_COALESCE_US = 0;
export function rxCoalesceMs(env: string | undefined = process.env['CNR_RX_COALESCE_US']): number {
  return microsecondsSetting('CNR_RX_COALESCE_US', env, DEFAULT_RX_COALESCE_US);
}

/**
 * The worker's timer slack, in ns: how late the kernel may end its timed sleeps (the coalescing
 * nap, poll()'s timeout) to group timer interrupts, 50 us by default for a normal thread, which
 * would add to every nap of CNR_RX_COALESCE_US and make its stated bound untrue. 1 us keeps the
 * nap the length asked for.
 */
export const WORKER_TIMER_SLACK_NS = 1000;

/**
 * Sets the calling thread's timer slack through its own /proc entry (/proc/TID/timerslack_ns:
 * /proc/thread-self has none); false when refused (not Linux, /proc read-only): the default stays.
 */
export function setThreadTimerSlack(ns: number): boolean {
  try {
    const tid = readlinkSync('/proc/thread-self').split('/').pop();
    writeFileSync(`/proc/${tid}/timerslack_ns`, String(ns));
    return true;
  } catch {
    return false;
  }
}

/** how often the drivers' I/O counters are read (PACKET_STATISTICS is a syscall) */
const IO_SAMPLE_MS = 250;
const IO_KEYS = IO_COUNTERS.map((c) => c[0]);
const IO_DROP_REASON = IO_COUNTERS.map((c) => (c[1] === null ? -1 : DROP_NAMES.indexOf(c[1])));

export type DriverKind = 'af-packet' | 'af-xdp' | 'tap' | 'memory' | 'memif';

export interface DriverModules {
  openAfPacket?: (ifname: string, opts?: { frameSize?: number; prepared?: number }) => IoDriver;
  openAfXdp?: (ifname: string) => IoDriver;
  openTap?: (ifname: string) => IoDriver;
  openMemif?: (name: string, opts: MemifOptions) => IoDriver;
  /** why a driver module could not be loaded (the import's own error), by driver */
  errors?: Partial<Record<'af-packet' | 'af-xdp' | 'tap' | 'memif', string>>;
}

/** Import the real drivers; a module that fails to load keeps its error for openDriver to report. */
export async function loadDriverModules(): Promise<DriverModules> {
  const mods: DriverModules = { errors: {} };
  const cause = (e: unknown) => (e instanceof Error ? e.message : String(e));
  try {
    const m = (await import(new URL('../io/af-packet.js', import.meta.url).href)) as { openAfPacket?: DriverModules['openAfPacket'] };
    mods.openAfPacket = m.openAfPacket;
    if (!m.openAfPacket) mods.errors!['af-packet'] = 'io/af-packet.js exports no openAfPacket';
  } catch (e) {
    mods.errors!['af-packet'] = cause(e);
  }
  try {
    const m = (await import(new URL('../io/af-xdp.js', import.meta.url).href)) as { openAfXdp?: DriverModules['openAfXdp'] };
    mods.openAfXdp = m.openAfXdp;
    if (!m.openAfXdp) mods.errors!['af-xdp'] = 'io/af-xdp.js exports no openAfXdp';
  } catch (e) {
    mods.errors!['af-xdp'] = cause(e);
  }
  try {
    const m = (await import(new URL('../io/tap.js', import.meta.url).href)) as { openTap?: DriverModules['openTap'] };
    mods.openTap = m.openTap;
    if (!m.openTap) mods.errors!.tap = 'io/tap.js exports no openTap';
  } catch (e) {
    mods.errors!.tap = cause(e);
  }
  try {
    const m = (await import(new URL('../io/memif.js', import.meta.url).href)) as { openMemif?: DriverModules['openMemif'] };
    mods.openMemif = m.openMemif;
    if (!m.openMemif) mods.errors!.memif = 'io/memif.js exports no openMemif';
  } catch (e) {
    mods.errors!.memif = cause(e);
  }
  return mods;
}

/** The driver modules, loaded once per thread. */
let loaded: Promise<DriverModules> | undefined;
export function driverModules(): Promise<DriverModules> {
  loaded ??= loadDriverModules();
  return loaded;
}

/** slotSize: the engine's packet slot, which sizes the AF_PACKET ring frames (AF_XDP's UMEM chunks stay at a page's half: jumbo frames there would need multi-buffer XDP) */
/** `prepared`: an af-packet socket with its rings set up (io/af-packet-spares.ts), used (and owned) by the af-packet driver. */
export function openDriver(mods: DriverModules, kind: DriverKind, name: string, memory?: MemoryDriverShared | MemoryDriver, slotSize = SLOT_SIZE, memif?: MemifOptions, prepared?: number): IoDriver {
  if (kind === 'memif') {
    if (!mods.openMemif) throw new Error(`the memif driver is not available: ${mods.errors?.memif ?? 'driver modules not loaded'}`);
    if (!memif) throw new Error(`memif vif ${name}: no socket`);
    return mods.openMemif(name, memif);
  }
  if (kind === 'memory') {
    if (!memory) throw new Error(`memory vif ${name}: no ring`);
    return memory instanceof MemoryDriver ? memory : MemoryDriver.attach(memory);
  }
  const open = kind === 'af-packet' ? mods.openAfPacket : kind === 'af-xdp' ? mods.openAfXdp : mods.openTap;
  if (!open) {
    const why = mods.errors?.[kind] ?? 'driver modules not loaded';
    throw new Error(`the ${kind} driver is not available: ${why}`);
  }
  return kind === 'af-packet' ? mods.openAfPacket!(name, { frameSize: slotSize, ...(prepared !== undefined ? { prepared } : {}) }) : open(name);
}

export class Engine {
  readonly pool: PacketPool;
  readonly graph: Graph;
  private readonly vec = new Uint32Array(BURST);
  private active: number[] = [];
  /** rings from other workers toward this one */
  private incoming: HandoffRing[] = [];

  private readonly stats: Float64Array;
  private readonly ioBase: number;
  private readonly vifBase: number;
  /** the I/O counters last copied in, per vif (IO_STRIDE values each) */
  private readonly ioSeen: Float64Array;
  private lastIoSample = 0;

  /** @param clock the ms clock of the graph (`g.now`); tests may give two engines one */
  constructor(readonly tables: Tables, stats: Float64Array, poolSize: number, slotSize = SLOT_SIZE, private readonly clock: () => number = () => performance.now(), kfast?: KernelFastShared) {
    this.pool = new PacketPool(poolSize, slotSize);
    this.graph = new Graph(tables, this.pool, { stats, ...(kfast ? { kfast } : {}) });
    this.stats = stats;
    const lay = statsLayout(tables.sizes.maxVifs, tables.sizes.maxVrfs);
    this.ioBase = lay.ioBase;
    this.vifBase = lay.vifBase;
    this.ioSeen = new Float64Array(tables.sizes.maxVifs * IO_STRIDE);
  }

  /** Worker mode: rings toward each other worker (indexed by worker, null for self) and from them. */
  connect(outgoing: (HandoffRing | null)[], incoming: HandoffRing[]): void {
    this.graph.handoff = outgoing;
    this.incoming = incoming;
  }

  attach(vif: number, driver: IoDriver): void {
    this.ioSeen.fill(0, vif * IO_STRIDE, (vif + 1) * IO_STRIDE); // a new driver counts from zero
    this.graph.drivers[vif] = driver;
    if (!this.active.includes(vif)) this.active.push(vif);
    // TCP super-frames carried through the graph whole (driver.ts, setCarry), from every driver
    // that can (vhost0's and pods' TAPs, AF_PACKET): a burst with one skips the fast path
    // (graph.ts rxCarried). Not on a bridge port: the L2 nodes flood copies of a slot's bytes.
    // CNR_CARRY_SUPER=0 cuts them all on the way in, for comparisons.
    if (driver.setCarry && process.env['CNR_CARRY_SUPER'] !== '0') {
      const flags = this.tables.vif.flags;
      driver.setCarry(() => (flags[vif]! & VIF_L2) === 0);
    }
  }

  detach(vif: number): void {
    const d = this.graph.drivers[vif];
    if (d) this.sampleDriver(vif, d);
    this.graph.drivers[vif] = null;
    this.active = this.active.filter((v) => v !== vif);
    d?.close();
  }

  /** The drivers' file descriptors to poll() on when idle, or null if one has none (memory). */
  pollFds(): number[] | null {
    const fds: number[] = [];
    for (const v of this.active) {
      const fd = this.graph.drivers[v]!.fd;
      if (fd < 0) return null;
      fds.push(fd);
    }
    return fds;
  }

  /**
   * After a poll() on pollFds() (their pollfd entries first in `pollfds`, 8 bytes each, in
   * the same order): tell each driver whose fd was readable that it woke the worker.
   */
  woke(pollfds: Uint8Array): void {
    const active = this.active;
    for (let k = 0; k < active.length; k++) {
      if ((pollfds[k * 8 + 6]! | pollfds[k * 8 + 7]!) === 0) continue;
      this.graph.drivers[active[k]!]!.woke?.();
    }
  }

  /** Whether other workers can hand this one frames (they do not wake it: sleep briefly). */
  get hasIncoming(): boolean {
    return this.incoming.length > 0;
  }

  driver(vif: number): IoDriver | null {
    return this.graph.drivers[vif] ?? null;
  }

  /** Poll every driver once; returns the number of frames received. */
  runOnce(): number {
    const g = this.graph;
    g.now = this.clock();
    const vec = this.vec;
    let total = 0;
    const active = this.active;
    for (let k = 0; k < active.length; k++) {
      const v = active[k]!;
      const drv = g.drivers[v]!;
      // straight into ethernet-input's queue when it is empty (it is, after every run)
      const inPlace = g.rxQueueFree;
      const n = drv.rxBurst(this.pool, inPlace ? g.rxQueue : vec, BURST);
      const cx = drv.carriedRx;
      if (cx !== undefined && cx.segments !== 0) {
        // carried super-frames count as the segments they stand for
        g.countCarriedRx(v, cx.segments, cx.bytes);
        g.rxCarried = true;
        cx.segments = 0;
        cx.bytes = 0;
      }
      if (n > 0) {
        if (inPlace) g.inputInPlace(n, v);
        else g.input(vec, n, v);
        g.run();
        total += n;
      }
    }
    for (let k = 0; k < this.incoming.length; k++) {
      const n = this.incoming[k]!.pop(this.pool, vec, BURST);
      if (n > 0) {
        g.inputHandoff(vec, n);
        g.run();
        total += n;
      }
    }
    // packets held for a neighbour's MAC: sent once it is known (learned by any worker), or dropped after a while
    if (g.heldCount !== 0) g.releaseHeld();
    for (let k = 0; k < active.length; k++) g.drivers[active[k]!]!.flush();
    if (g.now - this.lastIoSample >= IO_SAMPLE_MS) this.sampleIo();
    return total;
  }

  /**
   * Kick every driver's transmit side again: a driver holding back a small burst for the next
   * turn (af-packet, af-xdp flush()) sends it on a second flush with nothing new queued. The
   * worker calls this before a coalescing nap, so that the nap does not delay those frames too.
   */
  flushAll(): void {
    const g = this.graph;
    const active = this.active;
    for (let k = 0; k < active.length; k++) g.drivers[active[k]!]!.flush();
  }

  /** Copy every driver's I/O counters into the shared counters now (also done every IO_SAMPLE_MS by runOnce). */
  sampleIo(): void {
    this.lastIoSample = this.graph.now;
    for (const v of this.active) this.sampleDriver(v, this.graph.drivers[v]!);
  }

  /** Add what the driver counted since the last look: to the vif's I/O counters and, for drops, to the reason and the vif's drops. */
  private sampleDriver(vif: number, d: IoDriver): void {
    if (!d.ioCounters) return;
    const c: IoCounters = d.ioCounters();
    const st = this.stats;
    const seen = this.ioSeen;
    const base = vif * IO_STRIDE;
    for (let k = 0; k < IO_STRIDE; k++) {
      const now = c[IO_KEYS[k]!] ?? 0;
      const delta = now - seen[base + k]!;
      if (delta <= 0) continue;
      seen[base + k] = now;
      st[this.ioBase + base + k] += delta;
      const r = IO_DROP_REASON[k]!;
      if (r >= 0) {
        st[STATS_DROP_BASE + r] += delta;
        st[this.vifBase + vif * VIF_STRIDE + 4] += delta;
      }
    }
  }

  /** Send an ARP request / NS now (the resolver's retries). */
  request(vif: number, family: number, w: ArrayLike<number>): void {
    const g = this.graph;
    g.now = this.clock();
    g.request(vif, family, w[0]!, w[1]!, w[2]!, w[3]!);
    g.flushGenerated();
    g.drivers[vif]?.flush();
  }

  /** Send a whole frame out of vif now (the controller's IS-IS frames); false when no buffer or queue room. */
  inject(vif: number, frame: Uint8Array): boolean {
    const g = this.graph;
    g.now = this.clock();
    const ok = g.inject(vif, frame);
    g.flushGenerated();
    g.drivers[vif]?.flush();
    return ok;
  }

  /** Frames punted since the last call (frame-punt.ts), copied: [vif, offset, length] per frame and their bytes; or undefined. */
  takeFrames(): { meta: Uint32Array; data: Uint8Array } | undefined {
    const g = this.graph;
    if (g.puntCount === 0) return undefined;
    const out = { meta: g.puntMeta.slice(0, g.puntCount * 3), data: g.puntData.slice(0, g.puntBytes) };
    g.puntCount = 0;
    g.puntBytes = 0;
    return out;
  }

  /** The exception a node last threw (reported once), or undefined. */
  takeError(): unknown {
    const e = this.graph.lastError;
    this.graph.lastError = undefined;
    return e;
  }

  /** Learned neighbors since the last call (copied), or undefined. */
  takeEvents(): Uint32Array | undefined {
    const g = this.graph;
    if (g.eventCount === 0) return undefined;
    const out = g.events.slice(0, g.eventCount * EVENT_WORDS);
    g.eventCount = 0;
    // the caller hands it to the main thread, which acknowledges it (l2-input's pending learns)
    g.eventBatches++;
    return out;
  }

  close(): void {
    for (const v of [...this.active]) this.detach(v);
  }
}
