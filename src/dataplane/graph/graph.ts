/**
 * The forwarding graph: VPP-style burst nodes over packet indices. input() hands a received
 * burst to ethernet-input; run() then executes nodes in their declared order, again and again
 * until every queue is empty (icmp-error and MPLS disposition loop back to earlier nodes).
 * Each node drains its own queue in one tight loop and appends each packet to the queue of
 * the next node it chooses (N_* ids); all queues live in one Uint32Array. A packet ends in
 * exactly one of: tx (sent), tx on vhost0 (punted), drop (with a reason) or consumed (an ARP
 * reply / NA that taught us a MAC); frames the router creates count as generated, so
 * rx + generated == tx + punt + consumed + drops, which the fuzz test checks.
 *
 * Hot-path rules: no allocation, no closures, no strings; tables are the shared typed arrays
 * of ../tables, read without locks (see their publication rules).
 */
import { HEADROOM, SLOT_SIZE, type PacketPool } from '../pool.js';
import type { IoDriver } from '../io/driver.js';
import type { HandoffRing } from '../worker/handoff.js';
import type { Tables } from '../tables/tables.js';
import { leaf4, walk4Burst, walk4BurstRoots, walk6Burst } from '../tables/lpm.js';
import { RouteCache6 } from '../tables/route-cache.js';
import { ILM_PHP, ILM_POP_LOOKUP, ILM_SWAP } from '../tables/label-table.js';
import { MAX_ECMP, MAX_LABELS, NH_COMPOSITE, NH_DISCARD, NH_ENCAP, NH_GLEAN, NH_MPLS_UDP, NH_NEIGHBOR, NH_RECEIVE, NH_REJECT, NH_VRF } from '../tables/nexthop-table.js';
import { MAX_ADDR, VIF_UP } from '../tables/vif-table.js';
import { NBR_REACHABLE } from '../tables/neighbor-table.js';
import { DECIDE_PERMIT } from '../tables/acl-table.js';
import * as K from './graph-constants.js';
import { MPLS_UDP_PORT } from '../../wire/mpls-udp.js';

const CAP = 1024;
/** IPv6 route cache sets per graph, log2 (2^16 sets of two 32-byte entries: 4 MiB) */
const CACHE6_BITS = 16;
const SHIFT = 11; // log2(SLOT_SIZE)
/** fastTx's per-call next-hop cache: entries (a power of two) and words per entry */
const NHC_SIZE = 64;
const NHC_MASK = NHC_SIZE - 1;
const NHC_STRIDE = 8;
/** a composite next hop's MTU word in fastTx's cache (below any MTU, and below -1: not fast) */
const NHC_ECMP = -2;
/** fastTx's kinds of packets */
const FT_IP4 = 0;
const FT_IP6 = 1;
const FT_MPLS = 2;
/** words per fast-path packet record (fast4, fast6) */
const FR_WORDS = 4;
if (1 << SHIFT !== SLOT_SIZE) throw new Error('graph assumes 2048-byte slots');
const MAX_VRF_HOPS = 4;
const HANDLED = -1;
const RELOOKUP = -2;
/** room that must stay in front of an L3 header for labels, outer IP/UDP and Ethernet */
const MIN_FRONT = 80;
/** labels an ICMP error quotes from an expired MPLS packet (RFC 4950) */
const MAX_QUOTED_LABELS = 8;
export const EVENT_WORDS = 8;
const MAX_EVENTS = 256;
const ICMP_RATE = 1000; // per second per worker
const ICMP_BURST = 200;
const REQ_SLOTS = 4096;
const REQ_INTERVAL_MS = 1000;

export interface GraphOptions {
  /** per-worker counters (see statsLayout) */
  stats: Float64Array;
}

export class Graph {
  readonly pool: PacketPool;
  private readonly d: Uint8Array;
  private readonly qbuf = new Uint32Array(K.N_NODES * CAP);
  private readonly qlen = new Int32Array(K.N_NODES);
  readonly stats: Float64Array;
  private readonly vifBase: number;
  private readonly vrfBase: number;
  private readonly aclBase: number;
  /** per-vif staging for tx */
  private readonly txq: Uint32Array;
  private readonly txn: Int32Array;
  /** bytes queued in txq per vif, summed as packets are queued (flushTx counts them) */
  private readonly txb: Int32Array;
  private readonly txDirty: Int32Array;
  private txDirtyN = 0;
  readonly drivers: (IoDriver | null)[];
  /** toward each other worker (null: none or self), for vifs this engine does not own */
  handoff: (HandoffRing | null)[] = [];
  /** learned neighbors for the main thread: [vif, family, w0..w3, mac hi16, mac lo32] */
  readonly events = new Uint32Array(MAX_EVENTS * EVENT_WORDS);
  eventCount = 0;
  /** where lookups send forwarded packets: the acl node while any vif has a filter, else straight to rewrite (set per run) */
  aclNext = K.N_REWRITE;
  /** the fused IPv4/IPv6 fast path (fastPath); off only to compare it with the general nodes */
  fastOn = process.env.CNR_DP_NO_FAST_PATH === undefined;
  /** the fast path's IPv6 route cache (off: every lookup walks the trie) */
  cache6On = process.env.CNR_DP_NO_ROUTE_CACHE === undefined;
  /** allocated on the first IPv6 packet of the fast path */
  cache6: RouteCache6 | undefined;
  /** the cache's lookup bound to the fast path's arrays (RouteCache6.bind) */
  private cache6Lookup: ((n: number) => void) | undefined;
  /** ms clock, set by the engine once per run */
  now = 0;
  private icmpTokens = ICMP_BURST;
  private icmpLast = 0;
  private readonly lastReq = new Float64Array(REQ_SLOTS);
  private readonly tmp = new Uint8Array(16);
  private readonly tw = new Uint32Array(4);

  constructor(readonly t: Tables, pool: PacketPool, opts: GraphOptions) {
    this.pool = pool;
    this.d = pool.data;
    this.stats = opts.stats;
    const lay = K.statsLayout(t.sizes.maxVifs, t.sizes.maxVrfs);
    this.vifBase = lay.vifBase;
    this.vrfBase = lay.vrfBase;
    this.aclBase = lay.aclBase;
    const nv = t.sizes.maxVifs;
    this.txq = new Uint32Array(nv * CAP);
    this.txn = new Int32Array(nv);
    this.txb = new Int32Array(nv);
    this.txDirty = new Int32Array(nv);
    this.drivers = new Array<IoDriver | null>(nv).fill(null);
    this.rxQueue = this.qbuf.subarray(K.N_ETH_IN * CAP, (K.N_ETH_IN + 1) * CAP);
    this.fastPath = Graph.makeFastPath(this);
  }

  /** see makeFastPath */
  private readonly fastPath: () => void;

  /**
   * ethernet-input's queue, where a driver may receive a burst straight into when the queue
   * is empty (rxQueueFree), to be handed over with inputInPlace: no copy of the indices, and
   * rxVif is written only for the packets that leave the fast path.
   */
  readonly rxQueue: Uint32Array;
  /** the vif of the burst inputInPlace queued whose rxVif (and rx bytes) are not written yet, or -1 */
  private rxPending = -1;

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
  }

  private runNodes(): void {
    const ql = this.qlen;
    // filters on any vif route the general nodes' lookups through the acl node (the fast path applies them itself)
    this.aclNext = this.t.acl.active[0] !== 0 ? K.N_ACL : K.N_REWRITE;
    if (ql[K.N_ETH_IN] && this.fastOn) this.fastPath();
    else if (this.rxPending >= 0) this.claimRx();
    for (let pass = 0; pass < 64; pass++) {
      let any = false;
      if (ql[K.N_ETH_IN]) { any = true; this.ethernetInput(); }
      if (ql[K.N_ARP]) { any = true; this.arp(); }
      if (ql[K.N_MPLS_IN]) { any = true; this.mplsInput(); }
      if (ql[K.N_IP4_IN]) { any = true; this.ip4Input(); }
      if (ql[K.N_IP6_IN]) { any = true; this.ip6Input(); }
      if (ql[K.N_IP4_LOOKUP]) { any = true; this.ip4Lookup(); }
      if (ql[K.N_IP6_LOOKUP]) { any = true; this.ip6Lookup(); }
      if (ql[K.N_IP4_LOCAL]) { any = true; this.ip4Local(); }
      if (ql[K.N_IP6_LOCAL]) { any = true; this.ip6Local(); }
      if (ql[K.N_ACL]) { any = true; this.acl(); }
      if (ql[K.N_REWRITE]) { any = true; this.rewrite(); }
      if (ql[K.N_PUNT]) { any = true; this.punt(); }
      if (ql[K.N_ICMP_ERROR]) { any = true; this.icmpError(); }
      if (ql[K.N_DROP]) { any = true; this.dropNode(); }
      if (ql[K.N_TX]) { any = true; this.txNode(); }
      if (!any) break;
    }
    this.flushTx();
  }

  // ---- queue helpers ----

  private enq(node: number, i: number): void {
    const n = this.qlen[node]!;
    if (n < CAP) {
      this.qbuf[node * CAP + n] = i;
      this.qlen[node] = n + 1;
    } else {
      this.dropNow(i, K.D_POOL_EMPTY);
    }
  }

  private drop(i: number, reason: number): void {
    this.pool.reason[i] = reason;
    this.enq(K.N_DROP, i);
  }

  private dropNow(i: number, reason: number): void {
    this.stats[K.STATS_DROP_BASE + reason]++;
    this.stats[this.vifBase + this.pool.rxVif[i]! * K.VIF_STRIDE + 4]++;
    this.pool.free(i);
  }

  /** Take a node's queue; returns its length (the packets are at qbuf[node*CAP ..]). */
  private take(node: number, into: Uint32Array): number {
    const n = this.qlen[node]!;
    into.set(this.qbuf.subarray(node * CAP, node * CAP + n));
    this.qlen[node] = 0;
    return n;
  }
  private readonly work = new Uint32Array(CAP);
  private readonly ents = new Int32Array(CAP);
  /** IPv4 destinations and the trie root of each packet's VRF (-1: none), for walk4Burst */
  private readonly adr4 = new Int32Array(CAP);
  private readonly root4 = new Int32Array(CAP);
  /** the IPv6 fast packets (FR_WORDS words each, as fast4), destinations as four words, roots, leaves */
  private readonly fast6 = new Int32Array(CAP * FR_WORDS);
  private readonly adr60 = new Int32Array(CAP);
  private readonly adr61 = new Int32Array(CAP);
  private readonly adr62 = new Int32Array(CAP);
  private readonly adr63 = new Int32Array(CAP);
  private readonly root6 = new Int32Array(CAP);
  private readonly vrf6 = new Int32Array(CAP);
  /** 0, 1, 2, ...: "every packet" for walk6Burst; and where each walk ended */
  private readonly iota = Int32Array.from({ length: CAP }, (_, k) => k);
  private readonly ends6 = new Int32Array(CAP);
  private readonly ents6 = new Int32Array(CAP);
  /** the IPv6 walk's packets still walking */
  private readonly walking = new Int32Array(CAP);

  /**
   * the IPv4 fast packets, FR_WORDS words each (one array: V8 checks and reloads every typed
   * array a loop touches on each iteration): [frame offset (slot << SHIFT | start), L3 length,
   * the rewritten [TTL protocol checksum] word at L3 + 8, computed in pass 1, the vif's filter
   * rule that permitted the packet (-1: no filter)]
   */
  private readonly fast4 = new Int32Array(CAP * FR_WORDS);
  /** the MPLS fast packets (records as fast4: offset, L2 payload length, the swapped label word) and their next hops */
  private readonly fastM = new Int32Array(CAP * FR_WORDS);
  private readonly entsM = new Int32Array(CAP);
  /** the fast path's burst vif when its packets' rxVif is not written (inputInPlace), else -1 */
  private fastRx = -1;
  /**
   * fastTx's next hops of this call, direct-mapped by nh & NHC_MASK: nhcTag the next hop (-1:
   * empty), nhc NHC_STRIDE words each: [out vif, MTU for the L3 packet (-1: not a fast next hop),
   * the 12 bytes of MACs as three int32 words, label count]. Rebuilt for every call, so a table
   * update between bursts is always seen.
   */
  private readonly nhcTag = new Int32Array(NHC_SIZE);
  private readonly nhc = new Int32Array(NHC_SIZE * NHC_STRIDE);

  // ---- nodes ----

  /**
   * The fast path as closures over one graph (g): V8 specialises a closure's optimised code to
   * its context when the function has a single closure in the isolate (one graph per worker
   * thread, as in production), which turns g's arrays into constants: no map check and no
   * reload of length and data pointer per typed-array access on every loop iteration. With
   * the replay driver and allocBurst done the same way: 969 -> 660 instructions per forwarded
   * packet (valgrind), and 2.5-3x the packets per second in an A/B on a 1M-route FIB. With
   * several graphs in one isolate (tests) the code is the same, only not specialised.
   */
  private static makeFastPath(g: Graph): () => void {
    // everything the two functions use that never changes, as consts of this scope
    const p = g.pool;
    const d = g.d;
    const dv = p.view;
    const qbuf = g.qbuf;
    const qBase = K.N_ETH_IN * CAP;
    const t = g.t;
    const roots4 = t.lpm4.iroots;
    const roots6 = t.lpm6.iroots;
    const slots4 = t.lpm4.islots;
    const lpm6 = t.lpm6;
    const pstart = p.start;
    const plen = p.len;
    const prx = p.rxVif;
    const pflags = p.flags;
    const fast4 = g.fast4;
    const dsts = g.adr4;
    const proots4 = g.root4;
    const ents4 = g.ents;
    const fast6 = g.fast6;
    const a0 = g.adr60;
    const a1 = g.adr61;
    const a2 = g.adr62;
    const a3 = g.adr63;
    const proots6 = g.root6;
    const vrfs6 = g.vrf6;
    const ents6 = g.ents6;
    const ends6 = g.ends6;
    const iota = g.iota;
    const walking = g.walking;
    const vt = t.vif;
    const vflags = vt.flags;
    const vvlan = vt.vlan;
    const vmtu = vt.mtu;
    const vmacHi = vt.macHi;
    const vmacLo = vt.macLo;
    const vvrf = vt.vrf;
    const vglobal = vt.global;
    const nt = t.nh;
    const nhType = nt.type;
    const nhVif = nt.vif;
    const nhLabels = nt.nlabels;
    const nlabels = nt.labels;
    const dmacHi = nt.dmacHi;
    const dmacLo = nt.dmacLo;
    const drivers = g.drivers;
    const txq = g.txq;
    const txn = g.txn;
    const txb = g.txb;
    const txDirty = g.txDirty;
    const st = g.stats;
    const vrfBase = g.vrfBase;
    const vifBase = g.vifBase;
    const tag = g.nhcTag;
    const nhc = g.nhc;
    const qlen = g.qlen;
    const aclDesc = t.acl.desc;
    const aclDecide = t.acl.decide;
    const aclBase = g.aclBase;
    // imported constants as consts of this scope (an import is a module cell V8 loads and checks on every use)
    const nEthIn = K.N_ETH_IN;
    const vifStride = K.VIF_STRIDE;
    const aclStride = K.ACL_STRIDE;
    const permitted = DECIDE_PERMIT;
    const vifUp = VIF_UP;
    const nhEncap = NH_ENCAP;
    const nhComposite = NH_COMPOSITE;
    const maxEcmp = MAX_ECMP;
    const members = nt.members;
    const nmembers = nt.nmembers;
    const lt = t.label;
    const lIndex = lt.index;
    const lAction = lt.action;
    const lNout = lt.nout;
    const lNh = lt.nh;
    const lOut = lt.out;
    const ilmSwap = ILM_SWAP;
    const fastM = g.fastM;
    const entsM = g.entsM;
    const maxLabels = MAX_LABELS;
    const pfMpls = K.PF_MPLS;
    const dTxFull = K.D_TX_FULL;
    const slotMask = SLOT_SIZE - 1;

    /**
     * A fast packet on a vif with a filter (descriptor dsc; addresses as int32: a uint32 above
     * 2^31 passed to a call becomes a heap number): the index of the rule that
     * permits it (its hit counted here), or -2 when it is denied (left to the acl node, which
     * counts and drops it). l4: where its ports are, end: the frame's end.
     */
    function aclPermit(vif: number, dsc: number, fam: number, proto: number, s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number, l4: number, end: number): number {
      let sp = -1;
      let dp = -1;
      if ((proto === 6 || proto === 17 || proto === 132) && l4 + 4 <= end) {
        const pw = dv.getUint32(l4);
        sp = pw >>> 16;
        dp = pw & 0xffff;
      }
      const dec = aclDecide(vif, dsc, fam, proto, s0, s1, s2, s3, d0, d1, d2, d3, sp, dp);
      if ((dec & permitted) === 0) return -2;
      st[aclBase + vif * aclStride + (dec & 0xffff)]++;
      return dec & 0xffff;
    }
    /**
     * The fast path: ethernet-input, ip4-input/ip6-input, the lookups and rewrite fused into a
     * few passes over the burst for the common packet: untagged IPv4 without options (good
     * checksum, TTL > 1) or IPv6 without extension headers (unicast, not link-local, hop limit
     * > 1) for our MAC, with a route to an encap next hop (labels pushed or not; directly or as
     * the member of a composite next hop that the flow hash picks, as classify does) on an untagged
     * vif of this worker that fits the MTU, and that the receiving vif's filter permits (the
     * rule scan is the acl node's, AclTable's decide); and an MPLS packet whose top label an
     * LSR swaps for one label toward such a next hop (TTL - 1, TC and S kept; its stack must
     * end inside the frame). The first pass only reads; a packet that
     * fails any check is left unmodified in ethernet-input's queue for the general nodes, so
     * every exception (drops, ICMP, ARP, NDP, punt, labels, VLANs, handoff, filter denies)
     * keeps its one implementation there. The Ethernet header stays where it is: only the MACs
     * are rewritten.
     */
    function fastPath(): void {
      const n = qlen[nEthIn]!;
      let nSlow = 0;
      let n4 = 0;
      let n6 = 0;
      let nM = 0;
      // the receiving vif's fields, reloaded only when it changes (a burst comes from one vif)
      let lastVif = -1;
      let vOk = false;
      let vMacHi = 0;
      let vMacLo = 0;
      let vMtu = 0;
      let vRoot4 = -1;
      let vRoot6 = -1;
      let vVrf = 0;
      /** the vif's filter descriptor (0: none) */
      let vAcl = 0;
      // inputInPlace's burst: every packet from that vif, rxVif written only for those left to the general nodes
      const pending = g.rxPending;
      g.rxPending = -1;
      g.fastRx = pending;
      let rxBytes = 0;
      /** the IPv4 root of the first vif seen; per-packet roots are stored only once a second one shows up */
      let root0 = -2;
      let mixed = false;
      // the per-VRF counters of the packets taken here, summed while the VRF stays the same
      // (fastTx takes back the few it hands to the general nodes, which count them themselves)
      let statVrf = -1;
      let statPkts = 0;
      let statBytes = 0;
      // pass 1: checks that only read, and the destination
      for (let k = 0; k < n; k++) {
        const i = qbuf[qBase + k]!;
        const vif = pending >= 0 ? pending : prx[i]!;
        if (vif !== lastVif) {
          lastVif = vif;
          const vrf = vvrf[vif]!;
          vVrf = vrf;
          vOk = vif !== vglobal[0] && vvlan[vif] === 0 && (vflags[vif]! & vifUp) !== 0;
          vRoot4 = roots4[vrf]!;
          vRoot6 = roots6[vrf]!;
          vMacHi = vmacHi[vif]!;
          vMacLo = vmacLo[vif]!;
          vMtu = vmtu[vif]! + 14;
          vAcl = aclDesc[vif]!;
          if (root0 === -2) root0 = vRoot4;
          else if (vRoot4 !== root0 && !mixed) {
            proots4.fill(root0, 0, n4);
            mixed = true;
          }
          if (vrf !== statVrf) {
            if (statPkts > 0) { st[vrfBase + statVrf * 2] += statPkts; st[vrfBase + statVrf * 2 + 1] += statBytes; }
            statVrf = vrf;
            statPkts = 0;
            statBytes = 0;
          }
        }
        const len = plen[i]!;
        rxBytes += len;
        const o = (i << SHIFT) + pstart[i]!;
        if (vOk && len >= 34 && len <= vMtu && dv.getUint32(o) === vMacHi && dv.getUint16(o + 4) === vMacLo) {
          const et = dv.getUint32(o + 12);
          if ((et & 0xffffff00) === 0x08004500 && vRoot4 >= 0) {
            // the 20-byte header in 32-bit loads: [tot id] [frag ttl proto] [csum src.hi] [src.lo dst.hi] and dst
            // ([version/IHL TOS] is the low half of et)
            const w1 = dv.getUint32(o + 16), w2 = dv.getUint32(o + 20), w3 = dv.getUint32(o + 24), w4 = dv.getUint32(o + 28);
            const dst = dv.getUint32(o + 30);
            const tot = w1 >>> 16;
            let sum = (et & 0xffff) + tot + (w1 & 0xffff) + (w2 >>> 16) + (w2 & 0xffff) + (w3 >>> 16) + (w3 & 0xffff) + (w4 >>> 16) + (w4 & 0xffff) + (dst & 0xffff);
            sum = (sum & 0xffff) + (sum >>> 16);
            sum = (sum & 0xffff) + (sum >>> 16);
            // checksum good, total length sane, TTL > 1, destination not multicast/reserved
            const ok = sum === 0xffff && tot >= 20 && tot <= len - 14 && (w2 & 0xff00) > 0x100 && dst >>> 28 < 14;
            // a filter on the vif, after every other check (ports only in a first fragment)
            const hit = !ok || vAcl === 0 ? -1 : aclPermit(vif, vAcl, 4, w2 & 255, ((w3 & 0xffff) << 16) | (w4 >>> 16), 0, 0, 0, dst | 0, 0, 0, 0, (w2 & 0x1fff0000) === 0 ? o + 34 : o + len, o + len);
            if (ok && hit !== -2) {
              // TTL - 1 and the incremental checksum update (RFC 1624), written by fastTx as one word
              let c = (w3 >>> 16) + 0x0100;
              c = (c + (c >>> 16)) & 0xffff;
              const r = n4 * FR_WORDS;
              fast4[r] = o;
              fast4[r + 1] = tot;
              fast4[r + 2] = (((w2 & 0xffff) - 0x100) << 16) | c;
              fast4[r + 3] = hit;
              dsts[n4] = dst;
              if (mixed) proots4[n4] = vRoot4;
              n4++;
              statPkts++;
              statBytes += tot;
              continue;
            }
          } else if (et >>> 16 === 0x86dd && len >= 54 && vRoot6 >= 0) {
            // [version class flow] [payload length, next header, hop limit], the destination at +38
            const w0 = dv.getUint32(o + 14);
            const w1 = dv.getUint32(o + 18);
            const tot = (w1 >>> 16) + 40;
            const nx = (w1 >>> 8) & 255;
            const d0 = dv.getUint32(o + 38);
            // extension headers (hop-by-hop, routing, fragment, destination options, AH), multicast
            // (ff00::/8) and link-local (fe80::/10) destinations take the general nodes
            const ok = w0 >>> 28 === 6 && tot <= len - 14 && (w1 & 255) > 1 && nx !== 0 && nx !== 43 && nx !== 44 && nx !== 60 && nx !== 51 && d0 >>> 24 !== 0xff && d0 >>> 22 !== 0x3fa;
            const d1 = dv.getUint32(o + 42);
            const d2 = dv.getUint32(o + 46);
            const d3 = dv.getUint32(o + 50);
            const hit = !ok || vAcl === 0 ? -1 : aclPermit(vif, vAcl, 6, nx, dv.getInt32(o + 22), dv.getInt32(o + 26), dv.getInt32(o + 30), dv.getInt32(o + 34), d0 | 0, d1 | 0, d2 | 0, d3 | 0, o + 54, o + len);
            if (ok && hit !== -2) {
              a0[n6] = d0;
              a1[n6] = d1;
              a2[n6] = d2;
              a3[n6] = d3;
              proots6[n6] = vRoot6;
              vrfs6[n6] = vVrf;
              fast6[n6 * FR_WORDS] = o;
              fast6[n6 * FR_WORDS + 1] = tot;
              fast6[n6 * FR_WORDS + 3] = hit;
              n6++;
              statPkts++;
              statBytes += tot;
              continue;
            }
          } else if (et >>> 16 === 0x8847 && len >= 18) {
            // MPLS: a swap to one label (an LSR's usual work) whose stack ends inside the frame
            const word = dv.getUint32(o + 14);
            const label = word >>> 12;
            const ttl = word & 255;
            let bos = o + 14;
            const end = o + len;
            while (bos + 4 <= end && (dv.getUint8(bos + 2) & 1) === 0) bos += 4;
            const e = ttl > 1 && label >= 16 && bos + 4 <= end ? lIndex[label]! : 0;
            if (e !== 0 && lAction[e] === ilmSwap && lNout[e] === 1 && o + 14 - (i << SHIFT) >= MIN_FRONT) {
              const r = nM * FR_WORDS;
              fastM[r] = o;
              fastM[r + 1] = len - 14;
              // the label replaced, TC and S kept, TTL - 1
              fastM[r + 2] = (lOut[e * maxLabels]! << 12) | (word & 0xf00) | (ttl - 1);
              fastM[r + 3] = -1;
              entsM[nM++] = lNh[e]!;
              continue;
            }
          }
        }
        if (pending >= 0) prx[i] = pending;
        qbuf[qBase + nSlow++] = i;
      }
      if (pending >= 0) st[vifBase + pending * vifStride + 1] += rxBytes;
      if (statPkts > 0) { st[vrfBase + statVrf * 2] += statPkts; st[vrfBase + statVrf * 2 + 1] += statBytes; }
      if (n4 > 0) {
        // a burst comes from one vif, so usually from one VRF: the walk with one root is the faster
        if (!mixed) walk4Burst(slots4, root0, dsts, ents4, n4);
        else walk4BurstRoots(slots4, proots4, dsts, ents4, n4);
        nSlow = fastTx(nSlow, fast4, ents4, n4, FT_IP4);
      }
      if (n6 > 0) {
        if (g.cache6On) {
          if (!g.cache6Lookup) {
            g.cache6 = new RouteCache6(CACHE6_BITS, CAP);
            g.cache6Lookup = g.cache6.bind(lpm6, vrfs6, proots6, a0, a1, a2, a3, ents6);
          }
          g.cache6Lookup(n6);
        } else walk6Burst(lpm6, proots6, a0, a1, a2, a3, ents6, ends6, iota, n6, walking);
        nSlow = fastTx(nSlow, fast6, ents6, n6, FT_IP6);
      }
      if (nM > 0) nSlow = fastTx(nSlow, fastM, entsM, nM, FT_MPLS);
      qlen[nEthIn] = nSlow;
    }

    /**
     * The fast paths' last pass (after the trie walk left each packet's leaf in ents): next-hop
     * checks, TTL or hop limit, labels, MACs, and straight into the tx queue of the vif. A packet
     * that does not qualify goes back to ethernet-input's queue unmodified (after the nSlow
     * packets already there; returns the new count). fast holds nFast packets' records (see
     * fast4), ents their leaves.
     */
    /**
     * fastTx's cache entry for next hop nh (its first packet to nh in this call, or a
     * collision): the fields the rewrite needs, as int32. [e + 1] is the MTU for the L3
     * packet, -1 when nh is not a fast next hop, NHC_ECMP for a composite one.
     */
    function fill(nh: number): void {
      const slot = nh & NHC_MASK;
      const e = slot * NHC_STRIDE;
      tag[slot] = nh;
      const ty = nhType[nh]!;
      if (nh !== 0 && ty === nhComposite) {
        nhc[e + 1] = nmembers[nh]! > 0 ? NHC_ECMP : -1;
        return;
      }
      const ov = nhVif[nh]!;
      const nl = nhLabels[nh]!;
      const ok = nh !== 0 && ty === nhEncap && vvlan[ov] === 0 && (vflags[ov]! & vifUp) !== 0 && drivers[ov] !== null;
      const mh = vmacHi[ov]!;
      nhc[e] = ov;
      nhc[e + 1] = ok ? vmtu[ov]! - 4 * nl : -1;
      nhc[e + 2] = dmacHi[nh]! | 0;
      nhc[e + 3] = (dmacLo[nh]! << 16) | (mh >>> 16);
      nhc[e + 4] = ((mh & 0xffff) << 16) | vmacLo[ov]!;
      nhc[e + 5] = nl;
    }

    function fastTx(nSlow: number, fast: Int32Array, ents: Int32Array, nFast: number, kind: number): number {
      tag.fill(-1);
      const fastRx = g.fastRx;
      // the tx queue being filled, in locals while the out vif stays the same (written back on a change and at the end)
      let curOv = -1;
      let curBase = 0;
      let curN = 0;
      let curBytes = 0;
      for (let k = 0; k < nFast; k++) {
        const r = k * FR_WORDS;
        let o = fast[r]!;
        const i = o >>> SHIFT;
        const s = o & slotMask;
        let nh = ents[k]!;
        let e = (nh & NHC_MASK) * NHC_STRIDE;
        if (tag[nh & NHC_MASK] !== nh) fill(nh);
        if (nhc[e + 1] === NHC_ECMP && kind !== FT_MPLS) {
          // a composite next hop: the member for the flow's hash, the one the general nodes pick
          // (a swapped MPLS packet hashes its label stack: the general nodes do that)
          const l3 = o + 14;
          const h = kind === FT_IP6 ? g.hash6at(l3, d[l3 + 6]!, l3 + 40) : g.hash4(l3);
          nh = members[nh * maxEcmp + (h % nmembers[nh]!)]!;
          e = (nh & NHC_MASK) * NHC_STRIDE;
          if (tag[nh & NHC_MASK] !== nh) fill(nh);
        }
        const tot = fast[r + 1]!;
        const nl = nhc[e + 5]!;
        // (a swapped MPLS packet gets no labels pushed on top here: the general nodes do that)
        if (tot > nhc[e + 1]! || s < 4 * nl || (kind === FT_MPLS && nl > 0)) {
          // to the general nodes, which count an IP packet in its VRF themselves
          if (fastRx >= 0) prx[i] = fastRx;
          if (kind !== FT_MPLS) {
            const rv = prx[i]!;
            const vrf = vvrf[rv]!;
            // and in its filter's hit counters, when the fast path counted it there
            const hit = fast[r + 3]!;
            if (hit >= 0) st[aclBase + rv * aclStride + hit]--;
            st[vrfBase + vrf * 2]--;
            st[vrfBase + vrf * 2 + 1] -= tot;
          }
          qbuf[qBase + nSlow++] = i;
          continue;
        }
        const ov = nhc[e]!;
        let ttl = 0;
        if (kind === FT_MPLS) {
          // the swapped label from pass 1
          dv.setInt32(o + 14, fast[r + 2]!);
        } else if (kind === FT_IP6) {
          // hop limit - 1 (no checksum in the IPv6 header)
          ttl = d[o + 21]! - 1;
          d[o + 21] = ttl;
        } else {
          // [TTL - 1, protocol, checksum updated] from pass 1
          const w = fast[r + 2]!;
          ttl = (w >>> 24) & 255;
          dv.setInt32(o + 22, w);
        }
        if (nl > 0) {
          // labels between the Ethernet header and IP: TTL copied from IP (uniform model), S on the last
          o -= 4 * nl;
          const lb = nh * maxLabels;
          for (let q = 0; q < nl; q++) dv.setInt32(o + 14 + q * 4, (nlabels[lb + q]! << 12) | (q === nl - 1 ? 0x100 : 0) | ttl);
          dv.setUint16(o + 12, 0x8847);
          pstart[i] = s - 4 * nl;
          pflags[i] = pfMpls;
        }
        dv.setInt32(o, nhc[e + 2]!);
        dv.setInt32(o + 4, nhc[e + 3]!);
        dv.setInt32(o + 8, nhc[e + 4]!);
        const flen = tot + 14 + 4 * nl; // Ethernet padding dropped
        plen[i] = flen;
        if (ov !== curOv) {
          if (curOv >= 0) { txn[curOv] = curN; txb[curOv] = curBytes; }
          curOv = ov;
          curBase = ov * CAP;
          curN = txn[ov]!;
          curBytes = txb[ov]!;
          if (curN === 0) txDirty[g.txDirtyN++] = ov;
        }
        if (curN >= CAP) {
          if (fastRx >= 0) prx[i] = fastRx;
          g.dropNow(i, dTxFull);
          continue;
        }
        txq[curBase + curN++] = i;
        curBytes += flen;
      }
      if (curOv >= 0) { txn[curOv] = curN; txb[curOv] = curBytes; }
      return nSlow;
    }
    return fastPath;
  }

  private ethernetInput(): void {
    const p = this.pool;
    const d = this.d;
    const w = this.work;
    const n = this.take(K.N_ETH_IN, w);
    // the usual next node's queue is filled through a local cursor (nothing else in this loop enqueues there)
    const nIp4Base = (K.N_IP4_IN) * CAP;
    let nIp4 = this.qlen[K.N_IP4_IN]!;
    const qbuf = this.qbuf;
    const vt = this.t.vif;
    const vflags = vt.flags;
    const vlan = vt.vlan;
    const vhost = vt.global[0]!;
    const dv = p.view;
    for (let k = 0; k < n; k++) {
      const i = w[k]!;
      const vif = p.rxVif[i]!;
      const s = p.start[i]!;
      const len = p.len[i]!;
      const o = (i << SHIFT) + s;
      if (len < 14) { this.drop(i, K.D_TRUNCATED); continue; }
      if ((vflags[vif]! & VIF_UP) === 0) { this.drop(i, K.D_NO_VIF); continue; }
      // unicast must be for our MAC on this vif
      if ((d[o]! & 1) === 0 && (dv.getUint32(o) !== vt.macHi[vif] || dv.getUint16(o + 4) !== vt.macLo[vif])) {
        this.drop(i, K.D_NOT_FOR_US);
        continue;
      }
      let et = dv.getUint16(o + 12);
      let hl = 14;
      if (et === 0x8100) {
        if (len < 18) { this.drop(i, K.D_TRUNCATED); continue; }
        if ((((d[o + 14]! << 8) | d[o + 15]!) & 0xfff) !== vlan[vif]) { this.drop(i, K.D_VLAN_MISMATCH); continue; }
        et = (d[o + 16]! << 8) | d[o + 17]!;
        hl = 18;
      } else if (vlan[vif] !== 0) {
        this.drop(i, K.D_VLAN_MISMATCH);
        continue;
      }
      if (len - hl > vt.mtu[vif]!) { this.drop(i, K.D_OVERSIZE); continue; }
      p.l3[i] = s + hl;
      p.vrf[i] = vt.vrf[vif]!;
      let f = 0;
      if (vif === vhost) f = K.PF_FROM_HOST | K.PF_NO_TTL;
      if (et === 0x0800) { p.flags[i] = f; if (nIp4 < CAP) qbuf[nIp4Base + nIp4++] = i; else this.dropNow(i, K.D_POOL_EMPTY); }
      else if (et === 0x86dd) { p.flags[i] = f | K.PF_IP6; this.enq(K.N_IP6_IN, i); }
      else if (et === 0x0806) { p.flags[i] = f; this.enq(K.N_ARP, i); }
      else if (et === 0x8847 && vif !== vhost) { p.flags[i] = K.PF_MPLS; this.enq(K.N_MPLS_IN, i); }
      else this.drop(i, K.D_UNKNOWN_ETHERTYPE);
    }
    this.qlen[K.N_IP4_IN] = nIp4;
  }

  private arp(): void {
    const p = this.pool;
    const d = this.d;
    const w = this.work;
    const n = this.take(K.N_ARP, w);
    const vt = this.t.vif;
    const vhost = vt.global[0]!;
    const tmp = this.tmp;
    for (let k = 0; k < n; k++) {
      const i = w[k]!;
      const vif = p.rxVif[i]!;
      const base = i << SHIFT;
      const l3 = p.l3[i]!;
      const o = base + l3;
      if (base + p.start[i]! + p.len[i]! - o < 28) { this.drop(i, K.D_TRUNCATED); continue; }
      if (d[o] !== 0 || d[o + 1] !== 1 || d[o + 2] !== 8 || d[o + 3] !== 0 || d[o + 4] !== 6 || d[o + 5] !== 4 || d[o + 6] !== 0) { this.drop(i, K.D_MALFORMED); continue; }
      const op = d[o + 7]!;
      if (op !== 1 && op !== 2) { this.drop(i, K.D_MALFORMED); continue; }
      const spa = rd32(d, o + 14);
      const tpa = rd32(d, o + 24);
      if (vif === vhost) {
        // the host asks for anything: we are its only neighbor on vhost0
        if (op !== 1 || spa === tpa || spa === 0) { this.drop(i, K.D_NOT_FOR_US); continue; }
      } else {
        if (!vt.hasAddr4(vif, tpa)) { this.drop(i, K.D_NOT_FOR_US); continue; }
        if (spa !== 0 && (d[o + 8]! & 1) === 0) this.learn(vif, 4, spa, 0, 0, 0, d, o + 8);
        if (op === 2) { this.consume(i); continue; }
      }
      // reply in place
      for (let b = 0; b < 6; b++) tmp[b] = d[o + 8 + b]!;
      d[o + 7] = 2;
      for (let b = 0; b < 6; b++) { d[o + 18 + b] = tmp[b]!; d[o + 8 + b] = vt.mac[vif * 6 + b]!; }
      wr32(d, o + 14, tpa);
      wr32(d, o + 24, spa);
      p.start[i] = l3;
      p.len[i] = 28;
      this.eth(i, vif, tmp, 0, 0x0806);
      p.txVif[i] = vif;
      this.enq(K.N_TX, i);
    }
  }

  private ip4Input(): void {
    const p = this.pool;
    const d = this.d;
    const dv = p.view;
    const w = this.work;
    const n = this.take(K.N_IP4_IN, w);
    // the usual next node's queue is filled through a local cursor (nothing else in this loop enqueues there)
    const nLookupBase = (K.N_IP4_LOOKUP) * CAP;
    let nLookup = this.qlen[K.N_IP4_LOOKUP]!;
    const qbuf = this.qbuf;
    for (let k = 0; k < n; k++) {
      const i = w[k]!;
      const base = i << SHIFT;
      const l3 = p.l3[i]!;
      const o = base + l3;
      const avail = p.start[i]! + p.len[i]! - l3;
      if (avail < 20) { this.drop(i, K.D_TRUNCATED); continue; }
      const vi = d[o]!;
      if (vi >> 4 !== 4) { this.drop(i, K.D_BAD_VERSION); continue; }
      const ihl = (vi & 15) << 2;
      if (ihl < 20 || ihl > avail) { this.drop(i, K.D_BAD_IHL); continue; }
      const tot = (d[o + 2]! << 8) | d[o + 3]!;
      if (tot < ihl || tot > avail) { this.drop(i, K.D_BAD_LENGTH); continue; }
      // five 32-bit loads instead of twenty byte loads; halves summed apart stay small integers
      const w0 = dv.getUint32(o), w1 = dv.getUint32(o + 4), w2 = dv.getUint32(o + 8), w3 = dv.getUint32(o + 12), w4 = dv.getUint32(o + 16);
      let sum = (w0 >>> 16) + (w0 & 0xffff) + (w1 >>> 16) + (w1 & 0xffff) + (w2 >>> 16) + (w2 & 0xffff) + (w3 >>> 16) + (w3 & 0xffff) + (w4 >>> 16) + (w4 & 0xffff);
      for (let b = 20; b < ihl; b += 2) sum += (d[o + b]! << 8) | d[o + b + 1]!;
      sum = (sum & 0xffff) + (sum >>> 16);
      sum = (sum & 0xffff) + (sum >>> 16);
      if (sum !== 0xffff) { this.drop(i, K.D_BAD_CHECKSUM); continue; }
      p.len[i] = l3 - p.start[i]! + tot; // drop Ethernet padding
      if (d[o + 16]! >= 224) { this.drop(i, K.D_MULTICAST); continue; }
      if (nLookup < CAP) qbuf[nLookupBase + nLookup++] = i; else this.dropNow(i, K.D_POOL_EMPTY);
    }
    this.qlen[K.N_IP4_LOOKUP] = nLookup;
  }

  private ip4Lookup(): void {
    const p = this.pool;
    const d = this.d;
    const w = this.work;
    const n = this.take(K.N_IP4_LOOKUP, w);
    // the usual next node's queue is filled through a local cursor (nothing else in this loop enqueues there)
    const next = this.aclNext;
    const nextBase = next * CAP;
    let nNext = this.qlen[next]!;
    const qbuf = this.qbuf;
    const t = this.t;
    const roots = t.lpm4.iroots;
    const st = this.stats;
    const vrfBase = this.vrfBase;
    // the trie walk in its own tight loop across the burst (walk4Burst), so the CPU overlaps
    // the cache misses of different packets (what VPP gets from prefetching)
    const dsts = this.adr4;
    const proots = this.root4;
    const ents = this.ents;
    const dv = p.view;
    const pl3 = p.l3;
    const pvrf = p.vrf;
    for (let k = 0; k < n; k++) {
      const i = w[k]!;
      const o = (i << SHIFT) + pl3[i]!;
      const a = dv.getUint32(o + 16);
      dsts[k] = a;
      proots[k] = roots[pvrf[i]!]!;
    }
    walk4BurstRoots(t.lpm4.islots, proots, dsts, ents, n);
    let statVrf = -1;
    let statPkts = 0;
    let statBytes = 0;
    const nhType = t.nh.type;
    for (let k = 0; k < n; k++) {
      const i = w[k]!;
      const o = (i << SHIFT) + pl3[i]!;
      const a = dsts[k]! >>> 0;
      let vrf = pvrf[i]!;
      if (vrf !== statVrf) {
        if (statPkts > 0) { st[vrfBase + statVrf * 2] += statPkts; st[vrfBase + statVrf * 2 + 1] += statBytes; }
        statVrf = vrf;
        statPkts = 0;
        statBytes = 0;
      }
      statPkts++;
      statBytes += p.start[i]! + p.len[i]! - pl3[i]!;
      let hops = 0;
      let out = -1;
      let nh = ents[k]!;
      for (;;) {
        if (hops > 0) nh = this.lookup4(vrf, a); // after a VRF translate: walk again in the new VRF
        const ty = nhType[nh]!;
        if (nh !== 0 && (ty === NH_ENCAP || ty === NH_NEIGHBOR)) { out = nh; break; } // the common case
        out = this.classify(i, nh, o, false, ++hops);
        if (out === RELOOKUP) { vrf = p.vrf[i]!; continue; }
        break;
      }
      if (out < 0) continue;
      if ((p.flags[i]! & K.PF_NO_TTL) === 0) {
        const ttl = d[o + 8]!;
        if (ttl <= 1) { this.icmp(i, K.D_TTL_EXCEEDED, 11, 0, 0); continue; }
        d[o + 8] = ttl - 1;
        let c = ((d[o + 10]! << 8) | d[o + 11]!) + 0x0100;
        c = (c + (c >>> 16)) & 0xffff;
        d[o + 10] = c >>> 8;
        d[o + 11] = c & 255;
      }
      p.nh[i] = out;
      if (nNext < CAP) qbuf[nextBase + nNext++] = i; else this.dropNow(i, K.D_POOL_EMPTY);
    }
    if (statPkts > 0) { st[vrfBase + statVrf * 2] += statPkts; st[vrfBase + statVrf * 2 + 1] += statBytes; }
    this.qlen[next] = nNext;
  }

  /**
   * What a lookup result means for packet i: the forwarding next hop (>0), or RELOOKUP (VRF
   * translate: p.vrf changed), or HANDLED (sent to local, drop or icmp-error).
   */
  private classify(i: number, nh: number, o: number, v6: boolean, hops: number): number {
    const p = this.pool;
    const nt = this.t.nh;
    if (nh === 0) { this.icmp(i, K.D_NO_ROUTE, v6 ? 1 : 3, 0, 0); return HANDLED; }
    let ty = nt.type[nh]!;
    if (ty === NH_COMPOSITE) {
      nh = nt.members[nh * MAX_ECMP + ((v6 ? this.hash6(i, o) : this.hash4(o)) % nt.nmembers[nh]!)]!;
      ty = nt.type[nh]!;
    }
    if (ty === NH_VRF) {
      if (hops > MAX_VRF_HOPS) { this.drop(i, K.D_VRF_LOOP); return HANDLED; }
      p.vrf[i] = nt.vrf[nh]!;
      return RELOOKUP;
    }
    if (ty === NH_RECEIVE) {
      if ((p.flags[i]! & K.PF_FROM_HOST) !== 0) this.drop(i, K.D_LOCAL_LOOP);
      else this.enq(v6 ? K.N_IP6_LOCAL : K.N_IP4_LOCAL, i);
      return HANDLED;
    }
    if (ty === NH_DISCARD) { this.drop(i, K.D_DISCARD); return HANDLED; }
    if (ty === NH_REJECT) { this.icmp(i, K.D_REJECT, v6 ? 1 : 3, v6 ? 1 : 13, 0); return HANDLED; }
    return nh;
  }

  /**
   * Packets for one of the router's addresses in their VRF. MPLS over UDP (RFC 7510, port
   * 6635) continues at mpls-input with the inner label stack. In the default VRF the rest
   * goes to vhost0. In any other VRF (the host stack has no VRFs), or without vhost0, the
   * router answers ICMP echo requests itself (rate-limited like the ICMP errors) and drops
   * everything else.
   */
  private ip4Local(): void {
    const p = this.pool;
    const d = this.d;
    const w = this.work;
    const n = this.take(K.N_IP4_LOCAL, w);
    const vhost = this.t.vif.global[0]!;
    this.refillIcmp();
    for (let k = 0; k < n; k++) {
      const i = w[k]!;
      const o = (i << SHIFT) + p.l3[i]!;
      const ihl = (d[o]! & 15) << 2;
      const tot = (d[o + 2]! << 8) | d[o + 3]!;
      const frag = ((d[o + 6]! & 0x3f) << 8) | d[o + 7]!;
      const proto = d[o + 9]!;
      if (proto === 17 && frag === 0 && tot >= ihl + 8 && ((d[o + ihl + 2]! << 8) | d[o + ihl + 3]!) === MPLS_UDP_PORT) {
        this.mplsUdp(i, o, o + ihl, tot - ihl, false);
        continue;
      }
      const vrf = p.vrf[i]!;
      if (vhost >= 0 && vrf === 0) { this.enq(K.N_PUNT, i); continue; }
      if (proto !== 1 || frag !== 0 || tot < ihl + 8 || d[o + ihl] !== 8) { this.drop(i, vrf !== 0 ? K.D_NO_LISTENER : K.D_LOCAL_NO_PUNT); continue; }
      if (this.icmpTokens < 1) { this.drop(i, K.D_RATE_LIMITED); continue; }
      this.icmpTokens--;
      // ICMP echo request to the router: answer in place, routed back in the same VRF
      const src = rd32(d, o + 12);
      wr32(d, o + 12, rd32(d, o + 16));
      wr32(d, o + 16, src);
      d[o + 8] = 64;
      ipv4Checksum(d, o, ihl);
      const ic = o + ihl;
      d[ic] = 0;
      let c = ((d[ic + 2]! << 8) | d[ic + 3]!) + 0x0800; // type 8 -> 0
      c = (c + (c >>> 16)) & 0xffff;
      d[ic + 2] = c >>> 8;
      d[ic + 3] = c & 255;
      p.flags[i] = K.PF_NO_TTL;
      this.enq(K.N_IP4_LOOKUP, i);
    }
  }

  /**
   * MPLS over UDP (RFC 7510) to the router: o is the IP header, u the UDP header, avail the
   * bytes of the IP payload. Accepted only from the tunnel endpoint of some mpls-udp next hop
   * (RFC 7510 section 6: a decapsulator that took it from anyone would let any host put
   * packets into a VPN by guessing a label), so never over IPv6, for which there are no
   * tunnels. The UDP length must cover the header and at least one label and fit the IP
   * payload; a checksum other than zero must be right. The source port (flow entropy) is not
   * looked at. The outer headers are stripped and the label stack goes to mpls-input in the
   * VRF the packet arrived in (explicit null looks up there).
   */
  private mplsUdp(i: number, o: number, u: number, avail: number, v6: boolean): void {
    const p = this.pool;
    const d = this.d;
    if (v6 || !this.t.nh.hasPeer(rd32(d, o + 12))) { this.drop(i, K.D_TUNNEL_SOURCE); return; }
    const ulen = (d[u + 4]! << 8) | d[u + 5]!;
    if (ulen < 12 || ulen > avail) { this.drop(i, K.D_MALFORMED); return; }
    if (((d[u + 6]! << 8) | d[u + 7]!) !== 0) {
      // pseudo-header: source, destination, protocol 17, UDP length
      const ph = (d[o + 12]! << 8 | d[o + 13]!) + (d[o + 14]! << 8 | d[o + 15]!) + (d[o + 16]! << 8 | d[o + 17]!) + (d[o + 18]! << 8 | d[o + 19]!) + 17 + ulen;
      if (foldSum(sum16(d, u, ulen, ph)) !== 0) { this.drop(i, K.D_BAD_CHECKSUM); return; }
    }
    const base = i << SHIFT;
    p.l3[i] = u + 8 - base;
    p.len[i] = u + ulen - base - p.start[i]!;
    p.flags[i] = K.PF_MPLS;
    this.enq(K.N_MPLS_IN, i);
  }

  /** Refill the ICMP token bucket (errors and echo replies share it) from the clock. */
  private refillIcmp(): void {
    const now = this.now;
    this.icmpTokens = Math.min(ICMP_BURST, this.icmpTokens + ((now - this.icmpLast) * ICMP_RATE) / 1000);
    this.icmpLast = now;
  }

  private ip6Input(): void {
    const p = this.pool;
    const d = this.d;
    const w = this.work;
    const n = this.take(K.N_IP6_IN, w);
    const vt = this.t.vif;
    for (let k = 0; k < n; k++) {
      const i = w[k]!;
      const base = i << SHIFT;
      const l3 = p.l3[i]!;
      const o = base + l3;
      const avail = p.start[i]! + p.len[i]! - l3;
      if (avail < 40) { this.drop(i, K.D_TRUNCATED); continue; }
      if (d[o]! >> 4 !== 6) { this.drop(i, K.D_BAD_VERSION); continue; }
      const plen = (d[o + 4]! << 8) | d[o + 5]!;
      const total = 40 + plen;
      if (total > avail) { this.drop(i, K.D_BAD_LENGTH); continue; }
      p.len[i] = l3 - p.start[i]! + total;
      // walk the extension headers to the upper layer (for ECMP, NDP, ICMP errors)
      let nx = d[o + 6]!;
      let off = 40;
      let bad = false;
      for (let h = 0; h < 8; h++) {
        if (nx === 0 || nx === 43 || nx === 60 || nx === 44 || nx === 51) {
          if (off + 8 > total) { bad = true; break; }
          const hl = nx === 44 ? 8 : nx === 51 ? (d[o + off + 1]! + 2) << 2 : (d[o + off + 1]! + 1) << 3;
          nx = d[o + off]!;
          off += hl;
          if (off > total) { bad = true; break; }
        } else break;
        if (h === 7) bad = true;
      }
      if (bad) { this.drop(i, K.D_BAD_EXT_HEADER); continue; }
      p.aux[i] = (nx << 16) | off;
      const vif = p.rxVif[i]!;
      const b0 = d[o + 24]!;
      if (b0 === 0xff) {
        // link-scope groups the router listens to: all-nodes, all-routers, solicited-node
        const m2 = rd32(d, o + 32);
        const m3 = rd32(d, o + 36);
        const linkScope = d[o + 25] === 2 && d[o + 26] === 0 && d[o + 27] === 0 && rd32(d, o + 28) === 0;
        if (linkScope && ((m2 === 0 && (m3 === 1 || m3 === 2)) || (m2 === 1 && m3 >>> 24 === 0xff))) this.enq(K.N_IP6_LOCAL, i);
        else this.drop(i, K.D_MULTICAST);
        continue;
      }
      if (b0 === 0xfe && (d[o + 25]! & 0xc0) === 0x80) {
        // link-local destination: never routed
        if ((p.flags[i]! & K.PF_FROM_HOST) !== 0 || vt.hasAddr6(vif, rd32(d, o + 24), rd32(d, o + 28), rd32(d, o + 32), rd32(d, o + 36))) this.enq(K.N_IP6_LOCAL, i);
        else this.drop(i, K.D_NOT_FOR_US);
        continue;
      }
      this.enq(K.N_IP6_LOOKUP, i);
    }
  }

  private ip6Lookup(): void {
    const p = this.pool;
    const d = this.d;
    const w = this.work;
    const n = this.take(K.N_IP6_LOOKUP, w);
    const t = this.t;
    const roots = t.lpm6.iroots;
    const st = this.stats;
    const vrfBase = this.vrfBase;
    // the walk level by level across the burst (walk6Burst), so the cache misses of different packets overlap
    const ents = this.ents;
    const a0 = this.adr4;
    const a1 = this.adr61;
    const a2 = this.adr62;
    const a3 = this.adr63;
    const proots = this.root4;
    const dv = p.view;
    const nhType = t.nh.type;
    for (let k = 0; k < n; k++) {
      const i = w[k]!;
      const o = (i << SHIFT) + p.l3[i]!;
      a0[k] = dv.getUint32(o + 24); a1[k] = dv.getUint32(o + 28); a2[k] = dv.getUint32(o + 32); a3[k] = dv.getUint32(o + 36);
      proots[k] = roots[p.vrf[i]!]!;
    }
    walk6Burst(t.lpm6, proots, a0, a1, a2, a3, ents, this.ends6, this.iota, n, this.walking);
    for (let k = 0; k < n; k++) {
      const i = w[k]!;
      const o = (i << SHIFT) + p.l3[i]!;
      const w0 = a0[k]! >>> 0;
      const w1 = a1[k]! >>> 0;
      const w2 = a2[k]! >>> 0;
      const w3 = a3[k]! >>> 0;
      let vrf = p.vrf[i]!;
      st[vrfBase + vrf * 2]++;
      st[vrfBase + vrf * 2 + 1] += p.start[i]! + p.len[i]! - p.l3[i]!;
      let hops = 0;
      let out = -1;
      let nh = ents[k]!;
      for (;;) {
        const ty = nhType[nh]!;
        if (hops === 0 && nh !== 0 && (ty === NH_ENCAP || ty === NH_NEIGHBOR)) { out = nh; break; } // the common case
        if (hops > 0) {
          // after a VRF translate: walk again in the new VRF
          const tw = this.tw;
          tw[0] = w0; tw[1] = w1; tw[2] = w2; tw[3] = w3;
          nh = t.lpm6.lookup(vrf, tw);
        }
        out = this.classify(i, nh, o, true, ++hops);
        if (out === RELOOKUP) { vrf = p.vrf[i]!; continue; }
        break;
      }
      if (out < 0) continue;
      if ((p.flags[i]! & K.PF_NO_TTL) === 0) {
        const hl = d[o + 7]!;
        if (hl <= 1) { this.icmp(i, K.D_TTL_EXCEEDED, 3, 0, 0); continue; }
        d[o + 7] = hl - 1;
      }
      p.nh[i] = out;
      this.enq(this.aclNext, i);
    }
  }

  private ip6Local(): void {
    const p = this.pool;
    const d = this.d;
    const w = this.work;
    const n = this.take(K.N_IP6_LOCAL, w);
    const vt = this.t.vif;
    const vhost = vt.global[0]!;
    this.refillIcmp();
    for (let k = 0; k < n; k++) {
      const i = w[k]!;
      const base = i << SHIFT;
      const l3 = p.l3[i]!;
      const o = base + l3;
      const end = base + p.start[i]! + p.len[i]!;
      const nx = p.aux[i]! >>> 16;
      const l4 = o + (p.aux[i]! & 0xffff);
      const fromHost = (p.flags[i]! & K.PF_FROM_HOST) !== 0;
      const mcast = d[o + 24] === 0xff;
      const vrf = p.vrf[i]!;
      if (nx === 17 && !mcast && !fromHost && l4 + 8 <= end && ((d[l4 + 2]! << 8) | d[l4 + 3]!) === MPLS_UDP_PORT) {
        this.mplsUdp(i, o, l4, end - l4, true);
        continue;
      }
      if (nx === 58 && l4 + 4 <= end) {
        const type = d[l4]!;
        if (type === 135) { this.neighborSolicit(i, o, l4, end, fromHost); continue; }
        if (type === 136) { this.neighborAdvert(i, o, l4, end, fromHost); continue; }
        if (type === 128 && (vhost < 0 || vrf !== 0) && !mcast) {
          if (this.icmpTokens < 1) { this.drop(i, K.D_RATE_LIMITED); continue; }
          this.icmpTokens--;
          // echo request to the router: answer in place, routed back in the same VRF
          for (let b = 0; b < 16; b++) { const x = d[o + 8 + b]!; d[o + 8 + b] = d[o + 24 + b]!; d[o + 24 + b] = x; }
          d[o + 7] = 64;
          d[l4] = 129;
          let c = ((d[l4 + 2]! << 8) | d[l4 + 3]!) + 0xfeff; // type 128 -> 129: -0x0100 in ones' complement
          c = (c + (c >>> 16)) & 0xffff;
          d[l4 + 2] = c >>> 8;
          d[l4 + 3] = c & 255;
          p.flags[i] = K.PF_NO_TTL | K.PF_IP6;
          if (d[o + 24] === 0xfe && (d[o + 25]! & 0xc0) === 0x80) {
            // to a link-local address: back out of the interface it came in on
            p.nh[i] = vt.glean[p.rxVif[i]!]!;
            this.enq(K.N_REWRITE, i);
          } else this.enq(K.N_IP6_LOOKUP, i);
          continue;
        }
      }
      if (vhost >= 0 && !fromHost && !mcast && vrf === 0) this.enq(K.N_PUNT, i);
      else this.drop(i, mcast ? K.D_MULTICAST : vrf !== 0 ? K.D_NO_LISTENER : K.D_LOCAL_NO_PUNT);
    }
  }

  private neighborSolicit(i: number, o: number, l4: number, end: number, fromHost: boolean): void {
    const p = this.pool;
    const d = this.d;
    const vt = this.t.vif;
    const vif = p.rxVif[i]!;
    if (l4 + 24 > end || d[o + 7] !== 255 || d[l4 + 1] !== 0) { this.drop(i, K.D_MALFORMED); return; }
    const tw = this.tw;
    for (let q = 0; q < 4; q++) tw[q] = rd32(d, l4 + 8 + q * 4);
    if (!fromHost && !vt.hasAddr6(vif, tw[0]!, tw[1]!, tw[2]!, tw[3]!)) { this.drop(i, K.D_NOT_FOR_US); return; }
    // the solicitor's link-layer address: option 1, else the frame's source MAC
    const tmp = this.tmp;
    const ethSrc = (i << SHIFT) + p.start[i]! + 6;
    for (let b = 0; b < 6; b++) tmp[b] = d[ethSrc + b]!;
    for (let op = l4 + 24; op + 8 <= end; ) {
      const ol = d[op + 1]! << 3;
      if (ol === 0) { this.drop(i, K.D_MALFORMED); return; }
      if (d[op] === 1) for (let b = 0; b < 6; b++) tmp[b] = d[op + 2 + b]!;
      op += ol;
    }
    const unspec = rd32(d, o + 8) === 0 && rd32(d, o + 12) === 0 && rd32(d, o + 16) === 0 && rd32(d, o + 20) === 0;
    // the host's duplicate address detection on vhost0 must not see an answer
    if (unspec && fromHost) { this.drop(i, K.D_NOT_FOR_US); return; }
    if (!unspec && !fromHost) this.learn(vif, 6, rd32(d, o + 8), rd32(d, o + 12), rd32(d, o + 16), rd32(d, o + 20), tmp, 0);
    // build the NA in place: reply to the source (all-nodes for DAD probes)
    if (unspec) {
      wr32(d, o + 24, 0xff020000); wr32(d, o + 28, 0); wr32(d, o + 32, 0); wr32(d, o + 36, 1);
    } else {
      for (let b = 0; b < 16; b++) d[o + 24 + b] = d[o + 8 + b]!;
    }
    for (let q = 0; q < 4; q++) wr32(d, o + 8 + q * 4, tw[q]!);
    wr32(d, o, 0x60000000);
    d[o + 4] = 0; d[o + 5] = 32; d[o + 6] = 58; d[o + 7] = 255;
    const ic = o + 40;
    d[ic] = 136; d[ic + 1] = 0; d[ic + 2] = 0; d[ic + 3] = 0;
    d[ic + 4] = unspec ? 0xa0 : 0xe0; d[ic + 5] = 0; d[ic + 6] = 0; d[ic + 7] = 0;
    for (let q = 0; q < 4; q++) wr32(d, ic + 8 + q * 4, tw[q]!);
    d[ic + 24] = 2; d[ic + 25] = 1;
    for (let b = 0; b < 6; b++) d[ic + 26 + b] = vt.mac[vif * 6 + b]!;
    icmp6Checksum(d, o, 32);
    p.start[i] = p.l3[i]!;
    p.len[i] = 72;
    this.eth(i, vif, tmp, 0, 0x86dd);
    p.txVif[i] = vif;
    this.enq(K.N_TX, i);
  }

  private neighborAdvert(i: number, o: number, l4: number, end: number, fromHost: boolean): void {
    const p = this.pool;
    const d = this.d;
    if (l4 + 24 > end || d[o + 7] !== 255 || fromHost) { this.drop(i, fromHost ? K.D_NOT_FOR_US : K.D_MALFORMED); return; }
    const tmp = this.tmp;
    const ethSrc = (i << SHIFT) + p.start[i]! + 6;
    for (let b = 0; b < 6; b++) tmp[b] = d[ethSrc + b]!;
    for (let op = l4 + 24; op + 8 <= end; ) {
      const ol = d[op + 1]! << 3;
      if (ol === 0) { this.drop(i, K.D_MALFORMED); return; }
      if (d[op] === 2) for (let b = 0; b < 6; b++) tmp[b] = d[op + 2 + b]!;
      op += ol;
    }
    this.learn(p.rxVif[i]!, 6, rd32(d, l4 + 8), rd32(d, l4 + 12), rd32(d, l4 + 16), rd32(d, l4 + 20), tmp, 0);
    this.consume(i);
  }

  private mplsInput(): void {
    const p = this.pool;
    const d = this.d;
    const w = this.work;
    const n = this.take(K.N_MPLS_IN, w);
    const lt = this.t.label;
    const index = lt.index;
    for (let k = 0; k < n; k++) {
      const i = w[k]!;
      const base = i << SHIFT;
      const end = base + p.start[i]! + p.len[i]!;
      let o = base + p.l3[i]!;
      // the stack must end (bottom-of-stack) inside the frame
      let bos = o;
      while (bos + 4 <= end && (d[bos + 2]! & 1) === 0) bos += 4;
      if (bos + 4 > end) { this.drop(i, o + 4 > end ? K.D_TRUNCATED : K.D_MPLS_NO_BOS); continue; }
      for (;;) {
        const word = rd32(d, o);
        const label = word >>> 12;
        const s = (word >>> 8) & 1;
        const ttl = word & 255;
        if (ttl <= 1) {
          // an IPv4 payload earns its source an ICMP time exceeded that quotes the label stack (RFC 3443, RFC 4950)
          const ip = bos + 4;
          if (ip + 20 <= end && d[ip]! >> 4 === 4 && bos + 4 - o <= 4 * MAX_QUOTED_LABELS) {
            p.l3[i] = ip - base;
            p.flags[i] = K.PF_LSE;
            this.icmp(i, K.D_TTL_EXCEEDED, 11, 0, o - base);
          } else this.drop(i, K.D_TTL_EXCEEDED);
          break;
        }
        let e = 0;
        let act = 0;
        if (label < 16) {
          if (label !== 0 && label !== 2) { this.drop(i, K.D_INVALID_LABEL); break; }
          act = ILM_POP_LOOKUP; // explicit null: pop and look up in the interface's VRF
        } else {
          e = index[label]!;
          if (e === 0) { this.drop(i, K.D_INVALID_LABEL); break; }
          act = lt.action[e]!;
        }
        if (act === ILM_SWAP) {
          const nout = lt.nout[e]!;
          const top = o + 4 - 4 * nout;
          if (top - base < MIN_FRONT) { this.drop(i, K.D_MALFORMED); break; }
          const tc = word & 0xe00;
          for (let q = 0; q < nout; q++) {
            wr32(d, top + q * 4, ((lt.out[e * MAX_LABELS + q]! << 12) | tc | (q === nout - 1 ? s << 8 : 0) | (ttl - 1)) >>> 0);
          }
          p.l3[i] = top - base;
          p.flags[i] = K.PF_MPLS;
          p.nh[i] = lt.nh[e]!;
          this.enq(K.N_REWRITE, i);
          break;
        }
        if (act === ILM_POP_LOOKUP || act === ILM_PHP) {
          o += 4;
          p.l3[i] = o - base;
          if (act === ILM_POP_LOOKUP && e !== 0) p.vrf[i] = lt.vrf[e]!;
          if (s === 0) {
            // uniform model (RFC 3443): the exposed label inherits the decremented TTL
            const nt = d[o + 3]!;
            if (ttl - 1 < nt) d[o + 3] = ttl - 1;
            if (act === ILM_PHP) {
              p.nh[i] = lt.nh[e]!;
              this.enq(K.N_REWRITE, i);
              break;
            }
            continue;
          }
          if (o + 1 > end) { this.drop(i, K.D_TRUNCATED); break; }
          const ver = d[o]! >> 4;
          if (ver === 4) {
            if (o + 20 > end) { this.drop(i, K.D_TRUNCATED); break; }
            if (d[o + 8]! > ttl - 1) setTtl4(d, o, ttl - 1);
            p.flags[i] = K.PF_NO_TTL;
          } else if (ver === 6) {
            if (o + 40 > end) { this.drop(i, K.D_TRUNCATED); break; }
            if (d[o + 7]! > ttl - 1) d[o + 7] = ttl - 1;
            p.flags[i] = K.PF_NO_TTL | K.PF_IP6;
          } else { this.drop(i, K.D_MALFORMED); break; }
          if (act === ILM_PHP) {
            p.nh[i] = lt.nh[e]!;
            this.enq(K.N_REWRITE, i);
          } else {
            this.enq(ver === 4 ? K.N_IP4_IN : K.N_IP6_IN, i);
          }
          break;
        }
        this.drop(i, K.D_INVALID_LABEL);
        break;
      }
    }
  }

  /** Hook point for firewall filters (none installed yet: every packet passes). */
  /** Ingress filters of the receiving vif (tables/acl-table.ts): first match decides, none matching denies. */
  private acl(): void {
    const p = this.pool;
    const d = this.d;
    const w = this.work;
    const n = this.take(K.N_ACL, w);
    const at = this.t.acl;
    const desc = at.desc;
    for (let k = 0; k < n; k++) {
      const i = w[k]!;
      const dsc = desc[p.rxVif[i]!]!;
      const fl = p.flags[i]!;
      if (dsc === 0 || (fl & K.PF_MPLS) !== 0) { this.enq(K.N_REWRITE, i); continue; }
      const o = (i << SHIFT) + p.l3[i]!;
      const end = (i << SHIFT) + p.start[i]! + p.len[i]!;
      let fam: number, proto: number, l4: number;
      let s0: number, s1 = 0, s2 = 0, s3 = 0, d0: number, d1 = 0, d2 = 0, d3 = 0;
      if ((fl & K.PF_IP6) !== 0) {
        fam = 6;
        proto = p.aux[i]! >>> 16;
        l4 = o + (p.aux[i]! & 0xffff);
        // addresses as int32 (a uint32 above 2^31 would be a heap number in a call)
        s0 = rd32(d, o + 8) | 0; s1 = rd32(d, o + 12) | 0; s2 = rd32(d, o + 16) | 0; s3 = rd32(d, o + 20) | 0;
        d0 = rd32(d, o + 24) | 0; d1 = rd32(d, o + 28) | 0; d2 = rd32(d, o + 32) | 0; d3 = rd32(d, o + 36) | 0;
      } else {
        fam = 4;
        proto = d[o + 9]!;
        // ports only in the first fragment
        l4 = (((d[o + 6]! & 0x1f) << 8) | d[o + 7]!) === 0 ? o + ((d[o]! & 15) << 2) : end;
        s0 = rd32(d, o + 12) | 0;
        d0 = rd32(d, o + 16) | 0;
      }
      const ports = (proto === 6 || proto === 17 || proto === 132) && l4 + 4 <= end;
      const sp = ports ? (d[l4]! << 8) | d[l4 + 1]! : -1;
      const dp = ports ? (d[l4 + 2]! << 8) | d[l4 + 3]! : -1;
      const vif = p.rxVif[i]!;
      const dec = at.decide(vif, dsc, fam, proto, s0, s1, s2, s3, d0, d1, d2, d3, sp, dp);
      // the rule that decided (MAX_ACL_RULES: none did)
      const hit = dec & 0xffff;
      const permit = (dec & DECIDE_PERMIT) !== 0;
      this.stats[this.aclBase + vif * K.ACL_STRIDE + hit]++;
      if (permit) this.enq(K.N_REWRITE, i);
      else this.drop(i, K.D_ACL_DENY);
    }
  }

  private rewrite(): void {
    const p = this.pool;
    const d = this.d;
    const w = this.work;
    const n = this.take(K.N_REWRITE, w);
    const t = this.t;
    const nt = t.nh;
    const vt = t.vif;
    const nbr = t.nbr;
    const vflags = vt.flags;
    const vmtu = vt.mtu;
    const vvlan = vt.vlan;
    const vmacHi = vt.macHi;
    const vmacLo = vt.macLo;
    const dmacHi = nt.dmacHi;
    const dmacLo = nt.dmacLo;
    const nlabels = nt.labels;
    const dv = p.view;
    const pstart = p.start;
    const plen = p.len;
    const pl3 = p.l3;
    for (let k = 0; k < n; k++) {
      const i = w[k]!;
      const base = i << SHIFT;
      let nh = p.nh[i]!;
      let ty = nt.type[nh]!;
      // fast path: fixed MAC, IP payload (0-5 labels pushed), untagged, fits the MTU
      const fl0 = p.flags[i]!;
      if (ty === NH_ENCAP && (fl0 & K.PF_MPLS) === 0) {
        const vif = nt.vif[nh]!;
        const l3 = pl3[i]!;
        const nl0 = nt.nlabels[nh]!;
        const l3len = pstart[i]! + plen[i]! - l3 + 4 * nl0;
        if ((vflags[vif]! & VIF_UP) !== 0 && vvlan[vif] === 0 && l3len <= vmtu[vif]!) {
          const s = l3 - 14 - 4 * nl0;
          const o = base + s;
          dv.setUint32(o, dmacHi[nh]!);
          dv.setUint16(o + 4, dmacLo[nh]!);
          const mh = vmacHi[vif]!;
          dv.setUint16(o + 6, mh >>> 16);
          dv.setUint32(o + 8, (((mh & 0xffff) << 16) | vmacLo[vif]!) >>> 0);
          if (nl0 > 0) {
            // labels: TTL copied from the IP header (uniform model), bottom-of-stack on the last
            const ttl = (fl0 & K.PF_IP6) !== 0 ? d[base + l3 + 7]! : d[base + l3 + 8]!;
            const lb = nh * MAX_LABELS;
            for (let q = 0; q < nl0; q++) dv.setUint32(o + 14 + q * 4, ((nlabels[lb + q]! << 12) | (q === nl0 - 1 ? 0x100 : 0) | ttl) >>> 0);
            d[o + 12] = 0x88; d[o + 13] = 0x47;
            p.flags[i] = fl0 | K.PF_MPLS;
          } else if ((fl0 & K.PF_IP6) !== 0) { d[o + 12] = 0x86; d[o + 13] = 0xdd; } else { d[o + 12] = 0x08; d[o + 13] = 0; }
          pstart[i] = s;
          plen[i] = l3len + 14;
          pl3[i] = s + 14;
          p.txVif[i] = vif;
          this.enq(K.N_TX, i);
          continue;
        }
      }
      if (ty === NH_COMPOSITE) {
        nh = nt.members[nh * MAX_ECMP + (mix(rd32(d, base + p.l3[i]!)) % nt.nmembers[nh]!)]!;
        ty = nt.type[nh]!;
      }
      let nl = nt.nlabels[nh]!;
      let fl = p.flags[i]!;
      if (ty === NH_MPLS_UDP) {
        const l3 = p.l3[i]!;
        const o = base + l3;
        const h = (fl & K.PF_MPLS) !== 0 ? mix(rd32(d, o)) : (fl & K.PF_IP6) !== 0 ? this.hash6(i, o) : this.hash4(o);
        let top = this.pushLabels(i, nh, nl);
        if (top < 0) continue;
        top -= 28;
        if (top - base < 40) { this.drop(i, K.D_MALFORMED); continue; }
        const end = base + p.start[i]! + p.len[i]!;
        const ulen = end - top - 20;
        wr32(d, top, 0x45000000 | (ulen + 20));
        wr32(d, top + 4, 0);
        d[top + 8] = 64; d[top + 9] = 17;
        wr32(d, top + 12, nt.tunSrc[nh]!);
        wr32(d, top + 16, nt.tunDst[nh]!);
        ipv4Checksum(d, top, 20);
        const u = top + 20;
        const sport = 49152 | (h & 0x3fff);
        d[u] = sport >>> 8; d[u + 1] = sport & 255; d[u + 2] = 0x19; d[u + 3] = 0xeb; // 6635
        d[u + 4] = ulen >>> 8; d[u + 5] = ulen & 255; d[u + 6] = 0; d[u + 7] = 0;
        p.l3[i] = top - base;
        p.start[i] = top - base;
        p.len[i] = end - top;
        fl = K.PF_NO_TTL;
        p.flags[i] = fl;
        // the outer packet follows the default VRF's FIB
        nh = this.lookup4(0, nt.tunDst[nh]!);
        ty = nt.type[nh]!;
        if (ty === NH_COMPOSITE) { nh = nt.members[nh * MAX_ECMP + (h % nt.nmembers[nh]!)]!; ty = nt.type[nh]!; }
        if (nh === 0 || (ty !== NH_NEIGHBOR && ty !== NH_ENCAP && ty !== NH_GLEAN) || nt.nlabels[nh] !== 0) { this.drop(i, K.D_NO_ROUTE); continue; }
        nl = 0;
      }
      const vif = nt.vif[nh]!;
      if ((vt.flags[vif]! & VIF_UP) === 0 && ty !== NH_NEIGHBOR && ty !== NH_ENCAP && ty !== NH_GLEAN) { this.drop(i, K.D_BAD_NEXTHOP); continue; }
      if ((vt.flags[vif]! & VIF_UP) === 0) { this.drop(i, K.D_NO_VIF); continue; }
      let macArr: Uint8Array;
      let macOff: number;
      const o = base + p.l3[i]!;
      if (ty === NH_ENCAP) {
        macArr = nt.dmac;
        macOff = nh * 6;
      } else if (ty === NH_NEIGHBOR) {
        const e = nt.nbr[nh]!;
        if (nbr.state[e] !== NBR_REACHABLE) {
          this.unresolved(i, vif, nbr.family[e]!, nbr.ip[e * 4]!, nbr.ip[e * 4 + 1]!, nbr.ip[e * 4 + 2]!, nbr.ip[e * 4 + 3]!);
          continue;
        }
        macArr = nbr.mac;
        macOff = e * 6;
      } else if (ty === NH_GLEAN) {
        if ((fl & K.PF_MPLS) !== 0) { this.drop(i, K.D_BAD_NEXTHOP); continue; }
        let e: number;
        if ((fl & K.PF_IP6) !== 0) {
          const a0 = rd32(d, o + 24), a1 = rd32(d, o + 28), a2 = rd32(d, o + 32), a3 = rd32(d, o + 36);
          e = nbr.find(vif, a0, a1, a2, a3);
          if (e < 0 || nbr.state[e] !== NBR_REACHABLE) { this.unresolved(i, vif, 6, a0, a1, a2, a3); continue; }
        } else {
          const a = rd32(d, o + 16);
          e = nbr.find(vif, a, 0, 0, 0);
          if (e < 0 || nbr.state[e] !== NBR_REACHABLE) { this.unresolved(i, vif, 4, a, 0, 0, 0); continue; }
        }
        macArr = nbr.mac;
        macOff = e * 6;
      } else {
        this.drop(i, K.D_BAD_NEXTHOP);
        continue;
      }
      // MTU: the L3 packet plus the labels we push must fit
      const l3len = p.start[i]! + p.len[i]! - p.l3[i]! + 4 * nl;
      const mtu = vt.mtu[vif]!;
      if (l3len > mtu) {
        if ((fl & K.PF_MPLS) !== 0) this.drop(i, K.D_MTU_EXCEEDED);
        else if ((fl & K.PF_IP6) !== 0) this.icmp(i, K.D_MTU_EXCEEDED, 2, 0, mtu - 4 * nl);
        else if ((d[o + 6]! & 0x40) !== 0) this.icmp(i, K.D_MTU_EXCEEDED, 3, 4, mtu - 4 * nl);
        else this.drop(i, K.D_MTU_EXCEEDED);
        continue;
      }
      let et = (fl & K.PF_IP6) !== 0 ? 0x86dd : 0x0800;
      if (nl > 0) {
        if (this.pushLabels(i, nh, nl) < 0) continue;
        et = 0x8847;
      } else {
        p.start[i] = p.l3[i]!;
        p.len[i] = l3len;
        if ((fl & K.PF_MPLS) !== 0) et = 0x8847;
      }
      this.eth(i, vif, macArr, macOff, et);
      p.txVif[i] = vif;
      this.enq(K.N_TX, i);
    }
  }

  /** Push nh's labels in front of l3; frame then starts at the top label. Returns its absolute offset or -1 (dropped). */
  private pushLabels(i: number, nh: number, nl: number): number {
    const p = this.pool;
    const d = this.d;
    const base = i << SHIFT;
    const l3 = p.l3[i]!;
    const o = base + l3;
    const end = base + p.start[i]! + p.len[i]!;
    const top = o - 4 * nl;
    if (top - base < MIN_FRONT - 20) { this.drop(i, K.D_MALFORMED); return -1; }
    const fl = p.flags[i]!;
    const mpls = (fl & K.PF_MPLS) !== 0;
    // label TTL: copied from the packet (uniform model)
    const ttl = mpls ? d[o + 3]! : (fl & K.PF_IP6) !== 0 ? d[o + 7]! : d[o + 8]!;
    const labels = this.t.nh.labels;
    const dv = p.view;
    const lb = nh * MAX_LABELS;
    for (let q = 0; q < nl; q++) {
      const bos = !mpls && q === nl - 1 ? 0x100 : 0;
      dv.setUint32(top + q * 4, ((labels[lb + q]! << 12) | bos | ttl) >>> 0);
    }
    p.start[i] = top - base;
    p.len[i] = end - top;
    p.l3[i] = top - base;
    p.flags[i] = fl | K.PF_MPLS;
    return top;
  }

  private punt(): void {
    const p = this.pool;
    const w = this.work;
    const n = this.take(K.N_PUNT, w);
    const vt = this.t.vif;
    const vhost = vt.global[0]!;
    for (let k = 0; k < n; k++) {
      const i = w[k]!;
      if (vhost < 0 || (vt.flags[vhost]! & VIF_UP) === 0) { this.drop(i, K.D_LOCAL_NO_PUNT); continue; }
      const end = p.start[i]! + p.len[i]!;
      p.start[i] = p.l3[i]!;
      p.len[i] = end - p.l3[i]!;
      this.eth(i, vhost, vt.hwaddr, vhost * 6, (p.flags[i]! & K.PF_IP6) !== 0 ? 0x86dd : 0x0800);
      p.txVif[i] = vhost;
      this.enq(K.N_TX, i);
    }
  }

  /** Count the original packet's drop reason, then turn it into an ICMP error (icmpError node) or free it. */
  private icmp(i: number, reason: number, type: number, code: number, mtu: number): void {
    this.stats[K.STATS_DROP_BASE + reason]++;
    this.stats[this.vifBase + this.pool.rxVif[i]! * K.VIF_STRIDE + 4]++;
    this.pool.aux[i] = ((type << 24) | (code << 16) | (mtu & 0xffff)) >>> 0;
    this.enq(K.N_ICMP_ERROR, i);
  }

  private icmpError(): void {
    const p = this.pool;
    const d = this.d;
    const w = this.work;
    const n = this.take(K.N_ICMP_ERROR, w);
    const vt = this.t.vif;
    const st = this.stats;
    // token bucket, refilled from the clock once per burst
    this.refillIcmp();
    for (let k = 0; k < n; k++) {
      const i = w[k]!;
      const base = i << SHIFT;
      const l3 = p.l3[i]!;
      const o = base + l3;
      const aux = p.aux[i]!;
      const type = aux >>> 24;
      const code = (aux >>> 16) & 255;
      const mtu = aux & 0xffff;
      const fl = p.flags[i]!;
      const vif = p.rxVif[i]!;
      const end = base + p.start[i]! + p.len[i]!;
      let ok = (fl & (K.PF_ICMP_GEN | K.PF_MPLS)) === 0 && this.icmpTokens >= 1 && l3 >= 48 + MIN_FRONT;
      if (ok && (fl & K.PF_LSE) !== 0) {
        // room for the quoted datagram (128 bytes, RFC 4884) and the extension after it
        ok = l3 + 128 + 8 + 4 * MAX_QUOTED_LABELS <= SLOT_SIZE;
      }
      if (ok && (fl & K.PF_IP6) === 0) {
        const src = rd32(d, o + 12);
        const ihl = (d[o]! & 15) << 2;
        const frag = ((d[o + 6]! & 0x1f) << 8) | d[o + 7]!;
        if (src === 0 || src >>> 28 >= 14 || d[o + 16]! >= 224 || frag !== 0) ok = false;
        else if (d[o + 9] === 1 && o + ihl < end) {
          const it = d[o + ihl]!;
          if (it === 3 || it === 4 || it === 5 || it === 11 || it === 12) ok = false;
        }
        const from = ok ? vt.sourceFor4(vif, src) : 0;
        if (!ok || from === 0) { st[K.C_ICMP_SUPPRESSED]++; p.free(i); continue; }
        if ((fl & K.PF_LSE) !== 0) { this.icmpLabels(i, o, end, from, src); continue; }
        this.sendIcmp4(i, o, from, src, ((type << 24) | (code << 16)) >>> 0, mtu, 8 + Math.min(end - o, 576 - 28));
      } else if (ok) {
        const srcUnspec = rd32(d, o + 8) === 0 && rd32(d, o + 12) === 0 && rd32(d, o + 16) === 0 && rd32(d, o + 20) === 0;
        if (d[o + 8] === 0xff || srcUnspec || (d[o + 24] === 0xff && type !== 2)) ok = false;
        else if (this.upperOf6(i) === 58) {
          const l4 = o + (this.icmpL4 & 0xffff);
          if (l4 < end && d[l4]! < 128) ok = false;
        }
        // source: a global address of the vif (slot 0 is the link-local), else the link-local
        const n6 = vt.n6[vif]!;
        const slot = n6 > 1 ? 1 : 0;
        if (!ok || n6 === 0) { st[K.C_ICMP_SUPPRESSED]++; p.free(i); continue; }
        const take = Math.min(end - o, 1280 - 48);
        const no = o - 48;
        for (let b = 0; b < 16; b++) d[no + 24 + b] = d[o + 8 + b]!;
        const a6 = (vif * MAX_ADDR + slot) * 4;
        for (let q = 0; q < 4; q++) wr32(d, no + 8 + q * 4, vt.addr6[a6 + q]!);
        wr32(d, no, 0x60000000);
        d[no + 4] = (8 + take) >>> 8; d[no + 5] = (8 + take) & 255; d[no + 6] = 58; d[no + 7] = 64;
        const ic = no + 40;
        d[ic] = type; d[ic + 1] = code; d[ic + 2] = 0; d[ic + 3] = 0;
        d[ic + 4] = 0; d[ic + 5] = 0; d[ic + 6] = mtu >>> 8; d[ic + 7] = mtu & 255;
        icmp6Checksum(d, no, 8 + take);
        p.l3[i] = no - base;
        p.start[i] = no - base;
        p.len[i] = 48 + take;
        p.flags[i] = K.PF_NO_TTL | K.PF_ICMP_GEN | K.PF_IP6;
        p.vrf[i] = vt.vrf[vif]!;
        this.icmpTokens--;
        st[K.C_ICMP_SENT]++;
        st[K.C_GENERATED]++;
        if (d[no + 24] === 0xfe && (d[no + 25]! & 0xc0) === 0x80) {
          p.nh[i] = vt.glean[vif]!; // a link-local source is on the link the packet came from
          this.enq(K.N_REWRITE, i);
        } else this.enq(K.N_IP6_LOOKUP, i);
      } else {
        st[K.C_ICMP_SUPPRESSED]++;
        p.free(i);
      }
    }
  }

  private readonly lse = new Uint32Array(MAX_QUOTED_LABELS);

  /**
   * ICMP time exceeded for an expired MPLS TTL (RFC 3443 section 2.3, RFC 4950): the IPv4
   * datagram under the stack quoted in the RFC 4884 128-byte field, then an extension object
   * (class 1, c-type 1) carrying the label stack as received. Routed to the source in the
   * receiving vif's VRF.
   */
  private icmpLabels(i: number, o: number, end: number, from: number, src: number): void {
    const p = this.pool;
    const d = this.d;
    const base = i << SHIFT;
    const top = base + (p.aux[i]! & 0xffff);
    const nl = (o - top) >> 2;
    for (let q = 0; q < nl; q++) this.lse[q] = rd32(d, top + q * 4);
    const orig = Math.min(end - o, 128);
    for (let b = o + orig; b < o + 128; b++) d[b] = 0; // zero padding to 128 bytes
    const x = o + 128; // extension structure
    wr32(d, x, 0x20000000); // version 2, checksum 0 for now
    wr32(d, x + 4, (((8 + 4 * nl) << 16) | 0x0101) >>> 0); // object length, class 1 (MPLS stack), c-type 1
    for (let q = 0; q < nl; q++) wr32(d, x + 8 + q * 4, this.lse[q]!);
    const xc = foldSum(sum16(d, x, 8 + 4 * nl, 0));
    d[x + 2] = xc >>> 8; d[x + 3] = xc & 255;
    // time exceeded, code 0; the original datagram field's length: 32 words
    this.sendIcmp4(i, o, from, src, 0x0b000000, 32 << 16, 8 + 128 + 8 + 4 * nl);
  }

  /**
   * Finish an ICMPv4 error whose quoted data already starts at o: the IPv4 and ICMP headers
   * (words w0, w1; checksum filled in) in front of it, then into ip4-lookup in the receiving
   * vif's VRF.
   */
  private sendIcmp4(i: number, o: number, from: number, src: number, w0: number, w1: number, icmpLen: number): void {
    const p = this.pool;
    const d = this.d;
    const st = this.stats;
    const base = i << SHIFT;
    const no = o - 28;
    wr32(d, no, 0x45c00000 | (20 + icmpLen));
    wr32(d, no + 4, 0);
    d[no + 8] = 64; d[no + 9] = 1;
    wr32(d, no + 12, from);
    wr32(d, no + 16, src);
    ipv4Checksum(d, no, 20);
    const ic = no + 20;
    wr32(d, ic, w0 & 0xffff0000);
    wr32(d, ic + 4, w1);
    const c = foldSum(sum16(d, ic, icmpLen, 0));
    d[ic + 2] = c >>> 8; d[ic + 3] = c & 255;
    p.l3[i] = no - base;
    p.start[i] = no - base;
    p.len[i] = 20 + icmpLen;
    p.flags[i] = K.PF_NO_TTL | K.PF_ICMP_GEN;
    p.vrf[i] = this.t.vif.vrf[p.rxVif[i]!]!;
    this.icmpTokens--;
    st[K.C_ICMP_SENT]++;
    st[K.C_GENERATED]++;
    this.enq(K.N_IP4_LOOKUP, i);
  }

  private icmpL4 = 0;
  /** Upper-layer protocol of an IPv6 packet (aux now holds the ICMP type, so walk again); its offset goes to icmpL4. */
  private upperOf6(i: number): number {
    const d = this.d;
    const p = this.pool;
    const o = (i << SHIFT) + p.l3[i]!;
    const end = (i << SHIFT) + p.start[i]! + p.len[i]!;
    let nx = d[o + 6]!;
    let off = 40;
    for (let h = 0; h < 8; h++) {
      if ((nx === 0 || nx === 43 || nx === 60 || nx === 44) && o + off + 8 <= end) {
        const hl = nx === 44 ? 8 : (d[o + off + 1]! + 1) << 3;
        nx = d[o + off]!;
        off += hl;
      } else break;
    }
    this.icmpL4 = off;
    return nx;
  }

  private dropNode(): void {
    const p = this.pool;
    const w = this.work;
    const n = this.take(K.N_DROP, w);
    const st = this.stats;
    for (let k = 0; k < n; k++) {
      const i = w[k]!;
      st[K.STATS_DROP_BASE + p.reason[i]!]++;
      st[this.vifBase + p.rxVif[i]! * K.VIF_STRIDE + 4]++;
      p.free(i);
    }
  }

  private consume(i: number): void {
    this.stats[K.C_CONSUMED]++;
    this.pool.free(i);
  }

  private txNode(): void {
    const p = this.pool;
    const w = this.work;
    const n = this.take(K.N_TX, w);
    const txq = this.txq;
    const txn = this.txn;
    const drivers = this.drivers;
    for (let k = 0; k < n; k++) {
      const i = w[k]!;
      const v = p.txVif[i]!;
      if (drivers[v] === null) {
        // another worker owns the vif: hand the frame over
        const ring = this.handoff[this.t.vif.owner[v]!] ?? null;
        if (ring === null) this.dropNow(i, K.D_NO_VIF);
        else if (ring.push(p, i, v)) { this.stats[K.C_HANDOFF_OUT]++; p.free(i); }
        else this.dropNow(i, K.D_TX_FULL);
        continue;
      }
      const c = txn[v]!;
      if (c === 0) this.txDirty[this.txDirtyN++] = v;
      if (c >= CAP) { this.dropNow(i, K.D_TX_FULL); continue; }
      txq[v * CAP + c] = i;
      txn[v] = c + 1;
      this.txb[v] += p.len[i]!;
    }
  }

  private flushTx(): void {
    const p = this.pool;
    const st = this.stats;
    const vhost = this.t.vif.global[0]!;
    for (let k = 0; k < this.txDirtyN; k++) {
      const v = this.txDirty[k]!;
      const c = this.txn[v]!;
      this.txn[v] = 0;
      const bytes = this.txb[v]!;
      this.txb[v] = 0;
      const sent = this.drivers[v]!.txBurst(p, this.txq, v * CAP, c);
      const vb = this.vifBase + v * K.VIF_STRIDE;
      st[vb + 2] += sent;
      st[vb + 3] += bytes;
      st[v === vhost ? K.C_PUNT : K.C_TX] += sent;
      st[K.STATS_DROP_BASE + K.D_TX_FULL] += c - sent;
    }
    this.txDirtyN = 0;
  }

  // ---- helpers ----

  /** Prepend an Ethernet header (with the vif's 802.1Q tag) in front of the frame's current start. */
  private eth(i: number, vif: number, mac: Uint8Array, moff: number, et: number): void {
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

  private lookup4(vrf: number, a: number): number {
    const root = this.t.lpm4.iroots[vrf]!;
    return root < 0 ? 0 : leaf4(this.t.lpm4.islots, root, a);
  }

  private hash4(o: number): number {
    const d = this.d;
    let h = rd32(d, o + 12) ^ Math.imul(rd32(d, o + 16), 0x9e3779b1) ^ d[o + 9]!;
    const ihl = (d[o]! & 15) << 2;
    const pr = d[o + 9];
    if ((pr === 6 || pr === 17) && (((d[o + 6]! & 0x1f) << 8) | d[o + 7]!) === 0) h ^= Math.imul(rd32(d, o + ihl), 0x85ebca6b);
    return mix(h);
  }

  private hash6(i: number, o: number): number {
    const aux = this.pool.aux[i]!;
    return this.hash6at(o, aux >>> 16, o + (aux & 0xffff));
  }

  /** The flow hash of the IPv6 packet at o whose upper layer nx starts at l4. */
  private hash6at(o: number, nx: number, l4: number): number {
    const d = this.d;
    let h = 0;
    for (let q = 8; q < 40; q += 4) h = Math.imul(h ^ rd32(d, o + q), 0x9e3779b1);
    if (nx === 6 || nx === 17) h ^= Math.imul(rd32(d, l4), 0x85ebca6b);
    return mix(h ^ nx);
  }

  private learn(vif: number, family: number, w0: number, w1: number, w2: number, w3: number, mac: Uint8Array, mo: number): void {
    if (this.eventCount >= MAX_EVENTS) return;
    const e = this.events;
    const b = this.eventCount++ * EVENT_WORDS;
    e[b] = vif; e[b + 1] = family; e[b + 2] = w0; e[b + 3] = w1; e[b + 4] = w2; e[b + 5] = w3;
    e[b + 6] = (mac[mo]! << 8) | mac[mo + 1]!;
    e[b + 7] = ((mac[mo + 2]! << 24) | (mac[mo + 3]! << 16) | (mac[mo + 4]! << 8) | mac[mo + 5]!) >>> 0;
  }

  /** Drop a packet whose next hop has no MAC yet and send a (rate-limited) ARP request / NS. */
  private unresolved(i: number, vif: number, family: number, w0: number, w1: number, w2: number, w3: number): void {
    this.drop(i, K.D_ARP_UNRESOLVED);
    const slot = (vif * 31 + w0 * 7 + w3) & (REQ_SLOTS - 1);
    if (this.now - this.lastReq[slot]! < REQ_INTERVAL_MS && this.lastReq[slot] !== 0) return;
    this.lastReq[slot] = this.now || 1;
    this.request(vif, family, w0, w1, w2, w3);
  }

  /** Build and queue an ARP request (family 4) or neighbor solicitation (6) out of vif. */
  request(vif: number, family: number, w0: number, w1: number, w2: number, w3: number): boolean {
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
    if (this.qlen[K.N_TX]) this.txNode();
    this.flushTx();
  }
}

function rd32(d: Uint8Array, o: number): number {
  return ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!) >>> 0;
}

function wr32(d: Uint8Array, o: number, v: number): void {
  d[o] = v >>> 24;
  d[o + 1] = (v >>> 16) & 255;
  d[o + 2] = (v >>> 8) & 255;
  d[o + 3] = v & 255;
}

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

function sum16(d: Uint8Array, o: number, len: number, initial: number): number {
  let s = initial;
  let b = 0;
  for (; b + 1 < len; b += 2) s += (d[o + b]! << 8) | d[o + b + 1]!;
  if (b < len) s += d[o + b]! << 8;
  return s;
}

function foldSum(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return ~s & 0xffff;
}

function ipv4Checksum(d: Uint8Array, o: number, ihl: number): void {
  d[o + 10] = 0;
  d[o + 11] = 0;
  const c = foldSum(sum16(d, o, ihl, 0));
  d[o + 10] = c >>> 8;
  d[o + 11] = c & 255;
}

/** Fill the checksum of the ICMPv6 message right after a 40-byte IPv6 header at o. */
function icmp6Checksum(d: Uint8Array, o: number, len: number): void {
  const ic = o + 40;
  d[ic + 2] = 0;
  d[ic + 3] = 0;
  let s = sum16(d, o + 8, 32, 0) + len + 58;
  s = sum16(d, ic, len, s);
  const c = foldSum(s);
  d[ic + 2] = c >>> 8;
  d[ic + 3] = c & 255;
}

/** Set an IPv4 TTL and patch the header checksum (RFC 1624). */
function setTtl4(d: Uint8Array, o: number, ttl: number): void {
  const oldW = (d[o + 8]! << 8) | d[o + 9]!;
  d[o + 8] = ttl;
  const newW = (ttl << 8) | d[o + 9]!;
  const old = (d[o + 10]! << 8) | d[o + 11]!;
  let s = (~old & 0xffff) + (~oldW & 0xffff) + newW;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  const c = ~s & 0xffff;
  d[o + 10] = c >>> 8;
  d[o + 11] = c & 255;
}
