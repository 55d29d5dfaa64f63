/**
 * The forwarding graph: VPP-style burst nodes over packet indices. input() hands a received
 * burst to ethernet-input; run() gives it to the fused fast path (fast-path.ts), then runs
 * the registered nodes (nodes.ts: one file per node or small family of nodes, each declaring
 * its next nodes, drop reasons and counters beside its burst function) in their declared
 * order, again and again until every queue is empty (icmp-error and MPLS disposition loop
 * back to earlier nodes). Each node drains its own queue in one tight loop and appends each
 * packet to the queue of the next node it chooses (N_* ids); all queues live in one
 * Uint32Array. A packet ends in exactly one of: tx (sent), tx on vhost0 (punted), drop (with
 * a reason) or consumed (an ARP reply / NA that taught us a MAC); frames the router creates
 * count as generated, so rx + generated == tx + punt + consumed + drops, which the fuzz test
 * checks.
 *
 * This class holds what the nodes share: the queues, the per-vif tx queues, the counters,
 * per-worker state (ICMP rate limit, neighbor requests and events) and the helpers every node
 * uses (enq, drop, icmp, eth, the flow hashes). Its fields are public for the node files of
 * this folder; outside it, the engine uses the inputs, run(), request() and flushGenerated(),
 * the drivers and hand-off rings, the clock and the neighbor events.
 *
 * Hot-path rules: no allocation, no closures, no strings; tables are the shared typed arrays
 * of ../tables, read without locks (see their publication rules).
 */
import { HEADROOM, type PacketPool } from '../pool.js';
import type { IoDriver } from '../io/driver.js';
import type { HandoffRing } from '../worker/handoff.js';
import type { Tables } from '../tables/tables.js';
import { leaf4 } from '../tables/lpm.js';
import type { RouteCache6 } from '../tables/route-cache.js';
import { MAX_ADDR } from '../tables/vif-table.js';
import { NBR_REACHABLE } from '../tables/neighbor-table.js';
import * as K from './graph-constants.js';
import * as L from './limits.js';
import { icmp6Checksum, mix, rd32, wr32 } from './bytes.js';
import { makeFastPath } from './fast-path.js';
import { FastFill } from '../kfast/install.js';
import type { KernelFastShared } from '../kfast/kfast.js';
import { makeL2FastPath } from './l2-fast-path.js';
import { GRAPH_NODES } from './nodes.js';
import { flushTx, txNode } from './tx.js';
import type { L2WorkerState } from './l2-state.js';

const CAP = L.CAP;
export const EVENT_WORDS = 8;
const MAX_EVENTS = 256;
const ICMP_RATE = 1000; // per second per worker
const ICMP_BURST = 200;
const REQ_SLOTS = 4096;
const REQ_INTERVAL_MS = 1000;
/**
 * Neighbors this worker heard (ARP, NDP) whose learn event the main thread has not applied yet:
 * a direct-mapped cache rewrite consults before it drops a packet as unresolved. Without it the
 * first packet toward a host that just ARPed for us (the echo reply to a new pod's first ping)
 * was dropped and the host's next try came a second later. Entries serve for RECENT_MS, far
 * longer than the one main-thread turn the learn takes.
 */
const RECENT_SLOTS = 256;
const RECENT_MS = 1000;
/**
 * Packets whose next hop's MAC is being resolved are held, as Linux holds them (the neighbour's
 * arp_queue, unres_qlen), and sent when the ARP reply or NA comes: the first packet toward a
 * neighbour not heard yet (BGP's SYN after a restart, a pod's first datagram) is not lost to the
 * resolution and retried by its sender a second later. Bounded: HOLD_PER_NEIGHBOR packets per
 * neighbour and HOLD_SLOTS per worker (what does not fit is dropped as arp_unresolved, as
 * before), each for HOLD_MS at most (the resolver's three tries a second apart), then dropped
 * as arp_hold_timeout. Held packets keep their buffers: HOLD_SLOTS of the pool at most.
 */
const HOLD_SLOTS = 64;
const HOLD_PER_NEIGHBOR = 4;
const HOLD_MS = 3000;
/**
 * OSI (IS-IS) frames punted to the main thread: per second per worker, the bucket's depth, and a
 * burst's buffer. The policer shields the main thread from a flood, not IS-IS from its neighbours:
 * at 2,000 a second a neighbour's 10k-LSP database (FRR paces its flooding far faster) was mostly
 * dropped and had to come again through CSNP/PSNP. 10,000 a second with a 2,000-frame bucket takes
 * such a database in about a second; Junos's default DDoS-protection policer for IS-IS is of the
 * same order (20,000 packets a second).
 */
const PUNT_RATE = 10_000;
const PUNT_BURST = 2_000;
export const PUNT_MAX_FRAMES = 256;
const PUNT_BUFFER_BYTES = 512 * 1024;

export interface GraphOptions {
  /** per-worker counters (see statsLayout) */
  stats: Float64Array;
  /** the kernel fast path's shared state (kfast/kfast.ts): the fast path fills its cache */
  kfast?: KernelFastShared;
}

export class Graph {
  readonly pool: PacketPool;
  readonly d: Uint8Array;
  readonly qbuf = new Uint32Array(K.N_NODES * CAP);
  readonly qlen = new Int32Array(K.N_NODES);
  readonly stats: Float64Array;
  readonly vifBase: number;
  readonly vrfBase: number;
  readonly aclBase: number;
  /** the output filters' hit counters (acl-out) */
  readonly aclOutBase: number;
  /** the bytes of those hits, input and output (IP filters only) */
  readonly aclBytesBase: number;
  readonly aclOutBytesBase: number;
  /** where the bridge ports' L2 counters start (graph-constants.ts L2_PORT_COUNTERS) */
  readonly l2Base: number;
  /** per-vif staging for tx */
  readonly txq: Uint32Array;
  readonly txn: Int32Array;
  /** bytes queued in txq per vif, summed as packets are queued (flushTx counts them) */
  readonly txb: Int32Array;
  readonly txDirty: Int32Array;
  txDirtyN = 0;
  readonly drivers: (IoDriver | null)[];
  /** toward each other worker (null: none or self), for vifs this engine does not own */
  handoff: (HandoffRing | null)[] = [];
  /** learned neighbors for the main thread: [vif, family, w0..w3, mac hi16, mac lo32] */
  readonly events = new Uint32Array(MAX_EVENTS * EVENT_WORDS);
  eventCount = 0;
  /** event batches handed to the main thread so far (Engine.takeEvents), and this graph's worker index: the main thread acknowledges each batch it applied (BridgeTable.global, LEARN_ACK_BASE) */
  eventBatches = 0;
  workerIndex = 0;
  /** punted link-layer control frames for the main thread (frame-punt.ts): their bytes, back to back */
  readonly puntData = new Uint8Array(PUNT_BUFFER_BYTES);
  /** per frame: [vif, offset in puntData, length] */
  readonly puntMeta = new Uint32Array(PUNT_MAX_FRAMES * 3);
  puntCount = 0;
  puntBytes = 0;
  puntTokens = PUNT_BURST;
  puntLast = 0;
  /** where lookups send forwarded packets: the acl node while any vif has a filter, else straight to rewrite (set per run) */
  aclNext = K.N_REWRITE;
  /** where rewrite sends packets: the acl-out node while any vif has an output filter, else straight to tx (set per run) */
  aclOutNext = K.N_TX;
  /** the burst being run holds a carried super-frame (io/super-frame.ts): the fast path is skipped (set by the engine per burst) */
  rxCarried = false;
  /** the fused IPv4/IPv6 fast path (fastPath); off only to compare it with the general nodes */
  fastOn = process.env.CNR_DP_NO_FAST_PATH === undefined;
  /** the fused L2 fast path (l2FastPath); off only to compare it with the l2 nodes */
  l2FastOn = process.env.CNR_DP_NO_L2_FAST_PATH === undefined;
  /** the fast path's IPv6 route cache (off: every lookup walks the trie) */
  cache6On = process.env.CNR_DP_NO_ROUTE_CACHE === undefined;
  /** allocated on the first IPv6 packet of the fast path */
  cache6: RouteCache6 | undefined;
  /** the cache's lookup bound to the fast path's arrays (RouteCache6.bind) */
  cache6Lookup: ((n: number) => void) | undefined;
  /** the fast path's burst vif when its packets' rxVif is not written (inputInPlace), else -1 */
  fastRx = -1;
  /** ms clock, set by the engine once per run */
  now = 0;
  icmpTokens = ICMP_BURST;
  icmpLast = 0;
  readonly lastReq = new Float64Array(REQ_SLOTS);
  /** the recently heard neighbors: per slot vif, family, 4 address words; their MACs; when (0: empty) */
  readonly recentKey = new Uint32Array(RECENT_SLOTS * 6);
  readonly recentMac = new Uint8Array(RECENT_SLOTS * 6);
  readonly recentAt = new Float64Array(RECENT_SLOTS);
  /** held packets (HOLD_SLOTS), oldest first: the packet, its neighbour (vif, family, 4 address words), when it was held */
  readonly holdPkt = new Uint32Array(HOLD_SLOTS);
  readonly holdKey = new Uint32Array(HOLD_SLOTS * 6);
  readonly holdAt = new Float64Array(HOLD_SLOTS);
  heldCount = 0;
  /** the L2 nodes' per-worker state (storm-control buckets, recent learn events), made by their first burst */
  l2: L2WorkerState | undefined;
  readonly tmp = new Uint8Array(16);
  readonly tw = new Uint32Array(4);

  constructor(readonly t: Tables, pool: PacketPool, opts: GraphOptions) {
    this.pool = pool;
    this.d = pool.data;
    this.stats = opts.stats;
    this.kfast = opts.kfast ? new FastFill(opts.kfast) : undefined;
    const lay = K.statsLayout(t.sizes.maxVifs, t.sizes.maxVrfs);
    this.vifBase = lay.vifBase;
    this.vrfBase = lay.vrfBase;
    this.aclBase = lay.aclBase;
    this.aclOutBase = lay.aclOutBase;
    this.aclBytesBase = lay.aclBytesBase;
    this.aclOutBytesBase = lay.aclOutBytesBase;
    this.l2Base = lay.l2Base;
    const nv = t.sizes.maxVifs;
    this.txq = new Uint32Array(nv * CAP);
    this.txn = new Int32Array(nv);
    this.txb = new Int32Array(nv);
    this.txDirty = new Int32Array(nv);
    this.drivers = new Array<IoDriver | null>(nv).fill(null);
    this.rxQueue = this.qbuf.subarray(K.N_ETH_IN * CAP, (K.N_ETH_IN + 1) * CAP);
    this.order = Int32Array.from(GRAPH_NODES, (n) => n.id);
    this.runs = GRAPH_NODES.map((n) => n.run);
    this.fastPath = makeFastPath(this);
    this.l2FastPath = makeL2FastPath(this);
  }

  /** the fused fast path (fast-path.ts), made once per graph: V8 specialises its code to this one closure */
  readonly fastPath: () => void;
  /** the kernel fast path's cache filler (kfast/install.ts), when the data plane has one */
  readonly kfast: FastFill | undefined;
  /** the fused L2 fast path (l2-fast-path.ts), for what fastPath left once this graph has switched a frame (l2 set) */
  readonly l2FastPath: () => void;
  /** the registered nodes' ids and burst functions, in run order (nodes.ts) */
  readonly order: Int32Array;
  readonly runs: ((g: Graph) => void)[];

  /**
   * ethernet-input's queue, where a driver may receive a burst straight into when the queue
   * is empty (rxQueueFree), to be handed over with inputInPlace: no copy of the indices, and
   * rxVif is written only for the packets that leave the fast path.
   */
  readonly rxQueue: Uint32Array;
  /** the vif of the burst inputInPlace queued whose rxVif (and rx bytes) are not written yet, or -1 */
  rxPending = -1;

  get rxQueueFree(): boolean {
    return this.qlen[K.N_ETH_IN] === 0;
  }

  /** The n packets a driver received into rxQueue (which was free) from vif go to ethernet-input. */
  inputInPlace(n: number, vif: number): void {
    const st = this.stats;
    const vb = this.vifBase + vif * K.VIF_STRIDE;
    this.qlen[K.N_ETH_IN] = n;
    this.rxPending = vif;
    st[K.C_RX] += n;
    st[K.C_BURSTS]++;
    st[vb] += n;
  }

  /** Receive counters for carried super-frames' segments beyond their one slot each (io/gso.ts's carriedRx). */
  countCarriedRx(vif: number, segments: number, bytes: number): void {
    const vb = this.vifBase + vif * K.VIF_STRIDE;
    this.stats[K.C_RX] += segments;
    this.stats[vb] += segments;
    this.stats[vb + 1] += bytes;
  }

  /** inputInPlace's burst, when the fast path does not take it: rxVif and the rx bytes for every packet. */
  private claimRx(): void {
    const vif = this.rxPending;
    this.rxPending = -1;
    const p = this.pool;
    const prx = p.rxVif;
    const plen = p.len;
    const q = this.qbuf;
    const base = K.N_ETH_IN * CAP;
    const n = this.qlen[K.N_ETH_IN]!;
    let bytes = 0;
    for (let k = 0; k < n; k++) {
      const i = q[base + k]!;
      prx[i] = vif;
      bytes += plen[i]!;
    }
    this.stats[this.vifBase + vif * K.VIF_STRIDE + 1] += bytes;
  }

  /** Hand a received burst to ethernet-input. */
  input(vec: Uint32Array, n: number, vif: number): void {
    // (a burst queued in place is always taken by the run that follows it; never mix two vifs' under one rxPending)
    if (this.rxPending >= 0) this.claimRx();
    const st = this.stats;
    const p = this.pool;
    const vb = this.vifBase + vif * K.VIF_STRIDE;
    let bytes = 0;
    const q = this.qbuf;
    let ql = this.qlen[K.N_ETH_IN]!;
    for (let k = 0; k < n; k++) {
      const i = vec[k]!;
      p.rxVif[i] = vif; // (flags are 0: every driver takes its slots through pool.alloc/allocBurst)
      bytes += p.len[i]!;
      if (ql < CAP) q[K.N_ETH_IN * CAP + ql++] = i;
      else this.dropNow(i, K.D_POOL_EMPTY);
    }
    this.qlen[K.N_ETH_IN] = ql;
    st[K.C_RX] += n;
    st[K.C_BURSTS]++;
    st[vb] += n;
    st[vb + 1] += bytes;
  }

  /** Frames another worker handed over (txVif set): straight to tx. */
  inputHandoff(vec: Uint32Array, n: number): void {
    for (let k = 0; k < n; k++) this.enq(K.N_TX, vec[k]!);
    this.stats[K.C_HANDOFF_IN] += n;
  }

  /**
   * Run every node until all queues are empty. A node that throws (a bug) must not take the
   * worker down: the burst's packets still queued are dropped as internal_error and
   * forwarding goes on with the next burst.
   */
  run(): void {
    try {
      this.runNodes();
    } catch (e) {
      this.stats[K.C_EXCEPTIONS]++;
      this.lastError = e;
      this.abandon();
    }
  }

  /** the last exception a node threw, for the engine to report */
  lastError: unknown;

  private abandon(): void {
    const p = this.pool;
    if (this.rxPending >= 0) this.claimRx();
    for (let node = 0; node < K.N_NODES; node++) {
      const n = this.qlen[node]!;
      for (let k = 0; k < n; k++) this.dropNow(this.qbuf[node * CAP + k]!, K.D_INTERNAL_ERROR);
      this.qlen[node] = 0;
    }
    for (let k = 0; k < this.txDirtyN; k++) {
      const v = this.txDirty[k]!;
      for (let q = 0; q < this.txn[v]!; q++) this.dropNow(this.txq[v * CAP + q]!, K.D_INTERNAL_ERROR);
      this.txn[v] = 0;
      this.txb[v] = 0;
    }
    this.txDirtyN = 0;
    // between bursts no slot is held (drivers copy in and out), so whatever is still taken
    // was in the failing node's hands: count it and give every slot back
    const lost = p.size - p.available;
    this.stats[K.STATS_DROP_BASE + K.D_INTERNAL_ERROR] += lost;
    p.reset();
    this.heldCount = 0; // (their buffers were among the lost)
  }

  private runNodes(): void {
    const ql = this.qlen;
    // the kernel fast path's epoch before this run's lookups, its cache filled after them
    const kf = this.kfast;
    if (kf !== undefined) kf.begin();
    // filters on any vif route the general nodes' lookups through the acl node (the fast path applies them itself)
    this.aclNext = this.t.acl.active[0] !== 0 ? K.N_ACL : K.N_REWRITE;
    // and output filters route rewrite's packets through acl-out (the fast path leaves packets toward such a vif to the general nodes)
    this.aclOutNext = this.t.aclOut.active[0] !== 0 ? K.N_ACL_OUT : K.N_TX;
    // a burst with a carried super-frame (io/super-frame.ts) goes to the general nodes whole:
    // the fast path queues straight for txBurst, which sends only a slot's bytes
    if (ql[K.N_ETH_IN] && this.fastOn && !this.rxCarried) {
      this.fastPath();
      if (ql[K.N_ETH_IN] !== 0 && this.l2 !== undefined && this.l2FastOn) this.l2FastPath();
    } else if (this.rxPending >= 0) this.claimRx();
    // Between runs every queue is empty (the passes run until they are, or leave leftover
    // set), and packets come in only through ethernet-input (input, inputInPlace) and tx
    // (inputHandoff, request): when the fast path took the whole burst, no node has work.
    // (The pass over the registered nodes costs a load and a check per node, per burst.)
    this.rxCarried = false;
    if (ql[K.N_ETH_IN] !== 0 || ql[K.N_TX] !== 0 || this.leftover) this.passes();
    flushTx(this);
    if (kf !== undefined && kf.n > 0) kf.flush();
  }

  /** set when the passes ran out with packets still queued: the next run passes over the nodes whatever comes in */
  private leftover = false;

  /** Run every registered node whose queue is not empty, in their order, until all queues are empty (at most 64 passes). */
  private passes(): void {
    const ql = this.qlen;
    const order = this.order;
    const runs = this.runs;
    const nNodes = order.length;
    let any = true;
    for (let pass = 0; pass < 64 && any; pass++) {
      any = false;
      for (let k = 0; k < nNodes; k++) {
        if (ql[order[k]!]) { any = true; runs[k]!(this); }
      }
    }
    this.leftover = any;
  }

  // ---- for the nodes: queues, drops, and what several nodes share ----

  enq(node: number, i: number): void {
    const n = this.qlen[node]!;
    if (n < CAP) {
      this.qbuf[node * CAP + n] = i;
      this.qlen[node] = n + 1;
    } else {
      this.dropNow(i, K.D_POOL_EMPTY);
    }
  }

  drop(i: number, reason: number): void {
    this.pool.reason[i] = reason;
    this.enq(K.N_DROP, i);
  }

  dropNow(i: number, reason: number): void {
    this.stats[K.STATS_DROP_BASE + reason]++;
    this.stats[this.vifBase + this.pool.rxVif[i]! * K.VIF_STRIDE + 4]++;
    this.pool.free(i);
  }

  /** Take a node's queue; returns its length (the packets are at qbuf[node*CAP ..]). */
  take(node: number, into: Uint32Array): number {
    const n = this.qlen[node]!;
    into.set(this.qbuf.subarray(node * CAP, node * CAP + n));
    this.qlen[node] = 0;
    return n;
  }

  readonly work = new Uint32Array(CAP);
  readonly ents = new Int32Array(CAP);
  /** the lookups' (and the fast path's) destinations, trie roots per packet (-1: none) and leaves, for the burst walks */
  readonly adr4 = new Int32Array(CAP);
  readonly root4 = new Int32Array(CAP);
  /** ip6-lookup's destinations as four words (adr4 the first), and its walk's state */
  readonly adr61 = new Int32Array(CAP);
  readonly adr62 = new Int32Array(CAP);
  readonly adr63 = new Int32Array(CAP);
  /** 0, 1, 2, ...: "every packet" for walk6Burst; and where each walk ended */
  readonly iota = Int32Array.from({ length: CAP }, (_, k) => k);
  readonly ends6 = new Int32Array(CAP);
  /** the IPv6 walk's packets still walking */
  readonly walking = new Int32Array(CAP);

  /** Refill the ICMP token bucket (errors and echo replies share it) from the clock. */
  refillIcmp(): void {
    const now = this.now;
    this.icmpTokens = Math.min(ICMP_BURST, this.icmpTokens + ((now - this.icmpLast) * ICMP_RATE) / 1000);
    this.icmpLast = now;
  }

  /** Refill the frame-punt token bucket from the clock. */
  refillPunt(): void {
    const now = this.now;
    this.puntTokens = Math.min(PUNT_BURST, this.puntTokens + ((now - this.puntLast) * PUNT_RATE) / 1000);
    this.puntLast = now;
  }

  /**
   * Send a whole Ethernet frame the controller built (IS-IS) out of vif, with the vif's
   * 802.1Q tag put in. False when it cannot go now (no buffer, tx queue full); the caller
   * checked the vif and the length.
   */
  inject(vif: number, frame: Uint8Array): boolean {
    const p = this.pool;
    if (this.qlen[K.N_TX]! >= CAP) return false;
    const i = p.alloc();
    if (i < 0) return false;
    const vlan = this.t.vif.vlan[vif]!;
    const o = (i << p.shift) + HEADROOM;
    if (vlan !== 0) {
      this.d.set(frame.subarray(0, 12), o);
      p.view.setUint32(o + 12, (0x81000000 | vlan) >>> 0);
      this.d.set(frame.subarray(12), o + 16);
    } else this.d.set(frame, o);
    p.start[i] = HEADROOM;
    p.l3[i] = HEADROOM + (vlan !== 0 ? 18 : 14);
    p.len[i] = frame.length + (vlan !== 0 ? 4 : 0);
    p.rxVif[i] = vif;
    p.txVif[i] = vif;
    this.stats[K.C_GENERATED]++;
    this.enq(K.N_TX, i);
    return true;
  }

  /**
   * Count the original packet's drop reason, then queue it for icmp-error (icmp-error.ts),
   * which turns it into the ICMP error its source is owed, or frees it.
   */
  icmp(i: number, reason: number, type: number, code: number, mtu: number): void {
    this.stats[K.STATS_DROP_BASE + reason]++;
    this.stats[this.vifBase + this.pool.rxVif[i]! * K.VIF_STRIDE + 4]++;
    this.pool.aux[i] = ((type << 24) | (code << 16) | (mtu & 0xffff)) >>> 0;
    this.enq(K.N_ICMP_ERROR, i);
  }

  consume(i: number): void {
    this.stats[K.C_CONSUMED]++;
    this.pool.free(i);
  }

  /** Prepend an Ethernet header (with the vif's 802.1Q tag) in front of the frame's current start. */
  eth(i: number, vif: number, mac: Uint8Array, moff: number, et: number): void {
    const SHIFT = this.pool.shift;
    const p = this.pool;
    const d = this.d;
    const vt = this.t.vif;
    const vlan = vt.vlan[vif]!;
    const hl = vlan !== 0 ? 18 : 14;
    const s = p.start[i]! - hl;
    p.start[i] = s;
    p.len[i] += hl;
    const o = (i << SHIFT) + s;
    const vm = vif * 6;
    const sm = vt.mac;
    d[o] = mac[moff]!; d[o + 1] = mac[moff + 1]!; d[o + 2] = mac[moff + 2]!; d[o + 3] = mac[moff + 3]!; d[o + 4] = mac[moff + 4]!; d[o + 5] = mac[moff + 5]!;
    d[o + 6] = sm[vm]!; d[o + 7] = sm[vm + 1]!; d[o + 8] = sm[vm + 2]!; d[o + 9] = sm[vm + 3]!; d[o + 10] = sm[vm + 4]!; d[o + 11] = sm[vm + 5]!;
    if (vlan !== 0) {
      p.view.setUint32(o + 12, (0x81000000 | vlan) >>> 0);
      p.view.setUint16(o + 16, et);
    } else {
      p.view.setUint16(o + 12, et);
    }
  }

  lookup4(vrf: number, a: number): number {
    const root = this.t.lpm4.iroots[vrf]!;
    return root < 0 ? 0 : leaf4(this.t.lpm4.islots, root, a);
  }

  hash4(o: number): number {
    const d = this.d;
    let h = rd32(d, o + 12) ^ Math.imul(rd32(d, o + 16), 0x9e3779b1) ^ d[o + 9]!;
    const ihl = (d[o]! & 15) << 2;
    const pr = d[o + 9];
    if ((pr === 6 || pr === 17) && (((d[o + 6]! & 0x1f) << 8) | d[o + 7]!) === 0) h ^= Math.imul(rd32(d, o + ihl), 0x85ebca6b);
    return mix(h);
  }

  hash6(i: number, o: number): number {
    const aux = this.pool.aux[i]!;
    return this.hash6at(o, aux >>> 16, o + (aux & 0xffff));
  }

  /** The flow hash of the IPv6 packet at o whose upper layer nx starts at l4. */
  hash6at(o: number, nx: number, l4: number): number {
    const d = this.d;
    let h = 0;
    for (let q = 8; q < 40; q += 4) h = Math.imul(h ^ rd32(d, o + q), 0x9e3779b1);
    if (nx === 6 || nx === 17) h ^= Math.imul(rd32(d, l4), 0x85ebca6b);
    return mix(h ^ nx);
  }

  learn(vif: number, family: number, w0: number, w1: number, w2: number, w3: number, mac: Uint8Array, mo: number): void {
    if (family === 4 || family === 6) {
      const r = recentSlot(vif, w0, w3);
      const k = this.recentKey;
      k[r * 6] = vif; k[r * 6 + 1] = family; k[r * 6 + 2] = w0; k[r * 6 + 3] = w1; k[r * 6 + 4] = w2; k[r * 6 + 5] = w3;
      this.recentMac.set(mac.subarray(mo, mo + 6), r * 6);
      this.recentAt[r] = this.now || 1;
    }
    if (this.eventCount >= MAX_EVENTS) return;
    const e = this.events;
    const b = this.eventCount++ * EVENT_WORDS;
    e[b] = vif; e[b + 1] = family; e[b + 2] = w0; e[b + 3] = w1; e[b + 4] = w2; e[b + 5] = w3;
    e[b + 6] = (mac[mo]! << 8) | mac[mo + 1]!;
    e[b + 7] = ((mac[mo + 2]! << 24) | (mac[mo + 3]! << 16) | (mac[mo + 4]! << 8) | mac[mo + 5]!) >>> 0;
  }

  /** The slot of recentMac holding the MAC this worker heard for (vif, address) in the last RECENT_MS, or -1. */
  recent(vif: number, family: number, w0: number, w1: number, w2: number, w3: number): number {
    const r = recentSlot(vif, w0, w3);
    const at = this.recentAt[r]!;
    if (at === 0 || this.now - at > RECENT_MS) return -1;
    const k = this.recentKey;
    const b = r * 6;
    return k[b] === vif && k[b + 1] === family && k[b + 2] === w0 && k[b + 3] === w1 && k[b + 4] === w2 && k[b + 5] === w3 ? r : -1;
  }

  /**
   * A packet whose next hop `nh` (the one chosen: an ECMP member, an MPLS-over-UDP tunnel's
   * outer next hop) has no MAC yet: hold it until the neighbour answers (releaseHeld), or drop
   * it when there is no room; and send a (rate-limited) ARP request / NS.
   */
  unresolved(i: number, nh: number, vif: number, family: number, w0: number, w1: number, w2: number, w3: number): void {
    if (!this.hold(i, nh, vif, family, w0, w1, w2, w3)) this.drop(i, K.D_ARP_UNRESOLVED);
    const slot = (vif * 31 + w0 * 7 + w3) & (REQ_SLOTS - 1);
    if (this.now - this.lastReq[slot]! < REQ_INTERVAL_MS && this.lastReq[slot] !== 0) return;
    this.lastReq[slot] = this.now || 1;
    this.request(vif, family, w0, w1, w2, w3);
  }

  /** Hold packet i for its neighbour; false when the neighbour's or the worker's hold is full. */
  private hold(i: number, nh: number, vif: number, family: number, w0: number, w1: number, w2: number, w3: number): boolean {
    const n = this.heldCount;
    if (n >= HOLD_SLOTS) return false;
    const k = this.holdKey;
    let same = 0;
    for (let h = 0; h < n; h++) {
      const b = h * 6;
      if (k[b] === vif && k[b + 2] === w0 && k[b + 5] === w3 && k[b + 3] === w1 && k[b + 4] === w2 && k[b + 1] === family && ++same >= HOLD_PER_NEIGHBOR) return false;
    }
    const b = n * 6;
    k[b] = vif; k[b + 1] = family; k[b + 2] = w0; k[b + 3] = w1; k[b + 4] = w2; k[b + 5] = w3;
    this.holdPkt[n] = i;
    this.holdAt[n] = this.now;
    // rewrite starts again from this next hop (an ECMP member or a tunnel's outer packet is not chosen twice)
    this.pool.nh[i] = nh;
    this.heldCount = n + 1;
    return true;
  }

  /**
   * Send the held packets whose neighbour is resolved now (in the neighbor table, or heard by
   * this worker a moment ago) through rewrite again, in the order they came; drop those held
   * longer than HOLD_MS. The engine calls this every turn while packets are held.
   */
  releaseHeld(): void {
    const nb = this.t.nbr;
    const k = this.holdKey;
    const pkt = this.holdPkt;
    const at = this.holdAt;
    const n = this.heldCount;
    let kept = 0;
    for (let h = 0; h < n; h++) {
      const b = h * 6;
      const vif = k[b]!, family = k[b + 1]!, w0 = k[b + 2]!, w1 = k[b + 3]!, w2 = k[b + 4]!, w3 = k[b + 5]!;
      const e = nb.find(vif, w0, w1, w2, w3);
      const i = pkt[h]!;
      if ((e >= 0 && nb.state[e] === NBR_REACHABLE) || this.recent(vif, family, w0, w1, w2, w3) >= 0) this.enq(K.N_REWRITE, i);
      else if (this.now - at[h]! > HOLD_MS) this.drop(i, K.D_ARP_HOLD_TIMEOUT);
      else {
        if (kept !== h) {
          pkt[kept] = i;
          at[kept] = at[h]!;
          k.copyWithin(kept * 6, b, b + 6);
        }
        kept++;
        continue;
      }
    }
    this.heldCount = kept;
    if (kept === n) return;
    this.leftover = true; // (the passes start from rewrite's queue, not from ethernet-input or tx)
    this.run();
  }

  /** Build and queue an ARP request (family 4) or neighbor solicitation (6) out of vif. */
  request(vif: number, family: number, w0: number, w1: number, w2: number, w3: number): boolean {
    const SHIFT = this.pool.shift;
    const p = this.pool;
    const d = this.d;
    const vt = this.t.vif;
    if (this.qlen[K.N_TX]! >= CAP) return false;
    const i = p.alloc();
    if (i < 0) return false;
    const base = i << SHIFT;
    const l3 = HEADROOM;
    const o = base + l3;
    const tmp = this.tmp;
    if (family === 4) {
      wr32(d, o, 0x00010800); wr32(d, o + 4, 0x06040001);
      for (let b = 0; b < 6; b++) { d[o + 8 + b] = vt.mac[vif * 6 + b]!; d[o + 18 + b] = 0; tmp[b] = 0xff; }
      wr32(d, o + 14, vt.sourceFor4(vif, w0));
      wr32(d, o + 24, w0);
      p.len[i] = 28;
    } else {
      if (vt.n6[vif] === 0) { p.free(i); return false; }
      wr32(d, o, 0x60000000);
      d[o + 4] = 0; d[o + 5] = 32; d[o + 6] = 58; d[o + 7] = 255;
      const a6 = vif * MAX_ADDR * 4; // link-local source
      for (let q = 0; q < 4; q++) wr32(d, o + 8 + q * 4, vt.addr6[a6 + q]!);
      wr32(d, o + 24, 0xff020000); wr32(d, o + 28, 0); wr32(d, o + 32, 1); wr32(d, o + 36, (0xff000000 | (w3 & 0xffffff)) >>> 0);
      const ic = o + 40;
      wr32(d, ic, 0x87000000); wr32(d, ic + 4, 0);
      wr32(d, ic + 8, w0); wr32(d, ic + 12, w1); wr32(d, ic + 16, w2); wr32(d, ic + 20, w3);
      d[ic + 24] = 1; d[ic + 25] = 1;
      for (let b = 0; b < 6; b++) d[ic + 26 + b] = vt.mac[vif * 6 + b]!;
      icmp6Checksum(d, o, 32);
      tmp[0] = 0x33; tmp[1] = 0x33; tmp[2] = 0xff; tmp[3] = (w3 >>> 16) & 255; tmp[4] = (w3 >>> 8) & 255; tmp[5] = w3 & 255;
      p.len[i] = 72;
    }
    p.start[i] = l3;
    p.l3[i] = l3;
    this.eth(i, vif, tmp, 0, family === 4 ? 0x0806 : 0x86dd);
    p.txVif[i] = vif;
    this.stats[K.C_GENERATED]++;
    this.stats[K.C_NEIGHBOR_REQUESTS]++;
    this.enq(K.N_TX, i);
    return true;
  }

  /** Flush queued transmissions of generated frames (request() outside a run). */
  flushGenerated(): void {
    if (this.qlen[K.N_TX]) txNode.run(this);
    flushTx(this);
  }
}

/** recent()'s slot of (vif, address) */
function recentSlot(vif: number, w0: number, w3: number): number {
  return Math.imul(Math.imul(vif, 31) ^ w0 ^ Math.imul(w3, 0x85ebca6b), 0x9e3779b1) >>> 24;
}
