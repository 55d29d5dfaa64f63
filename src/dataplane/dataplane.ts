/**
 * The vRouter data plane behind the `Dataplane` programming API (api.ts). The main thread
 * owns every table (tables/) and is their only writer: it validates each call, writes the
 * shared typed arrays in publication order, and keeps the names, reference counts and specs
 * that the listing calls return. Forwarding runs in an Engine (worker/engine.ts): inside a
 * worker thread (`workers: 1`), or in the calling thread through poll() (`workers: 0`,
 * for tests and the in-memory benchmark; start() then polls on the event loop).
 *
 * Neighbor resolution (ARP/NDP: the workers' events, retries, aging) is neighbors.ts'; this
 * class tells it when neighbor next hops and vifs come and go.
 *
 * vhost0: with `vhost: true` a TAP named vhost0 is a vif whose frames are the host stack's;
 * vhost-sync.ts keeps the host's addresses and routes on it in step with the router's.
 */
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import { mark } from '../lib/timeline.js';
import { performance } from 'node:perf_hooks';
import {
  DataplaneError,
  type AclInfo,
  type FrameCounters,
  type FrameHandler,
  type VifChangeHandler,
  type AclRule,
  type BridgeFilterTerm,
  type BridgeDomainConfig,
  type BridgeDomainInfo,
  type BridgePortConfig,
  type MacEntryInfo,
  type Dataplane,
  type LabelAction,
  type LabelInfo,
  type NexthopInfo,
  type NexthopSpec,
  type RouteInfo,
  type RouteCountInfo,
  type VifConfig,
  type StaticNeighbor,
  type VifInfo,
} from './api.js';
import { bytesToIpv4, formatMac, formatPrefix, makePrefix, parseCidr, parseIp, parseLabel, parseMac, parsePrefix, scanIpv4Prefix, type Prefix, AddressError, formatIp } from '../lib/addr.js';
import { logLine } from '../telemetry/log.js';
import { CarrierWatch } from './link-watch.js';
import { Tables, DEFAULT_SIZES, type TableSizes } from './tables/tables.js';
import { LEARN_ACK_BASE } from './tables/bridge-table.js';
import { addrWords, LpmFullError, maskWords, type LpmTable } from './tables/lpm.js';
import { IdAllocator } from './tables/id-allocator.js';
import {
  MAX_ECMP,
  MAX_TUNNEL_PEERS,
  MAX_LABELS,
  NH_COMPOSITE,
  NH_DISCARD,
  NH_ENCAP,
  NH_GLEAN,
  NH_MPLS_UDP,
  NH_NEIGHBOR,
  NH_RECEIVE,
  NH_REJECT,
  NH_TYPE_NAMES,
  NH_VRF,
} from './tables/nexthop-table.js';
import { ILM_ACTION_NAMES, ILM_PHP, ILM_POP_LOOKUP, ILM_SWAP, LABEL_SPACE } from './tables/label-table.js';
import { G_PUNT_OSI, MAX_ADDR, VIF_IRB, VIF_UP, VIF_VHOST } from './tables/vif-table.js';
import { NBR_FAILED, NBR_REACHABLE } from './tables/neighbor-table.js';
import { ACL_STRIDE, DROP_NAMES, GLOBAL_COUNTERS, IO_COUNTERS, IO_STRIDE, L2_PORT_COUNTERS, L2_PORT_STRIDE, N_DROP_REASONS, STATS_DROP_BASE, VIF_STRIDE, statsLayout } from './graph/graph-constants.js';
import { Engine, driverModules, idleSpinMs, openDriver, rxCoalesceMs } from './worker/engine.js';
import { AfPacketSpares, afPacketSparesFromEnv, closeAfPacketFd } from './io/af-packet-spares.js';
import { CTL_STOP, CTL_WAKE, type FromWorker, type ToWorker, type WorkerInit } from './worker/worker.js';
import { MemoryDriver, type MemoryDriverOptions } from './io/memory.js';
import { memifStatusBuffer, readMemifStatus, type MemifOptions } from './io/memif.js';
import { createHandoff } from './worker/handoff.js';
import { HEADROOM, slotSizeFor } from './pool.js';
import { MAX_ACL_RULES, PROTO_ANY, type AclRuleWords } from './tables/acl-table.js';
import { adviseHugePages, createWakeFd, wake, closeFd, libc } from '../sys/libc.js';
import { KernelFastPath, bumpAfter, kernelFastPathFromEnv } from './kfast/kfast.js';
import { NeighborResolver, listNeighbors } from './neighbors.js';
import { VhostSync, configuresHost } from './vhost-sync.js';
import { padWords } from './prefix-words.js';
import { routerMacFor } from './router-mac.js';
import { BridgeManager } from './l2.js';
import { bridgeFilterRules } from './l2-filter.js';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';

export interface DataplaneOptions {
  /** 0: forward in the calling thread via poll(); N: N worker threads, each vif's I/O owned by one of them */
  workers?: number;
  /**
   * workers: 0 only: the ms clock of the graph's rate limiters and of neighbor resolution
   * (default performance.now). A test that compares two data planes gives both one clock, so
   * that what they send does not depend on when each ran.
   */
  clock?: () => number;
  /** create the vhost0 TAP punt interface (needs root) */
  vhost?: boolean;
  vhostName?: string;
  /** tests: back vhost0 with the memory driver instead of a TAP */
  vhostDriver?: 'tap' | 'memory';
  /** packet buffers per engine */
  poolSize?: number;
  /** the largest IP MTU a vif may carry (sizes packet slots and ring frames, pool.ts slotSizeFor); default 1500 (2048-byte slots) */
  maxMtu?: number;
  sizes?: Partial<TableSizes>;
  /** run `ip` for vhost0 addresses and routes (default: when vhost is on) */
  configureHost?: boolean;
  /**
   * forward IPv4 and IPv6 between af-packet vifs in the kernel, for destinations the graph has
   * forwarded (kfast/kfast.ts); default: on, unless CNR_KERNEL_FAST_PATH=0 in the environment
   */
  kernelFastPath?: boolean;
}

/** addVif with driver 'memory' may carry benchmark options for the in-memory driver. */
export type MemoryVifConfig = VifConfig & { memory?: MemoryDriverOptions };

interface VifState {
  id: number;
  name: string;
  driver: VifConfig['driver'];
  vrf: number;
  mac: Uint8Array;
  mtu: number;
  vlan: number;
  addresses: Prefix[];
  memory?: MemoryDriver;
  /** driver 'memif': what the driver is opened with (its status buffer shared with the owning worker) */
  memif?: MemifOptions & { status: SharedArrayBuffer };
  vhost: boolean;
  /** glean next hop for the vif's connected subnets */
  glean: number;
  /** af-packet / af-xdp: the netdev's link (administratively up and running), as CarrierWatch last saw it */
  carrier?: boolean;
  /** af-packet: the packet socket's fd (the kernel fast path's socket filter goes on it) */
  packetFd?: number;
}

interface NhState {
  spec: NexthopSpec | { type: 'glean'; vif: string };
  type: number;
  refs: number;
  nbr: number;
  internal: boolean;
}

interface IlmState {
  action: LabelAction;
  entry: number;
}

/**
 * The methods that change the tables the workers read, directly or through what they call
 * (the kernel fast path's epoch ends after each: kfast/kfast.ts). A new method that writes the
 * tables belongs here.
 */
export const KFAST_MUTATORS = [
  'addVrf', 'delVrf', 'addVif', 'delVif', 'carrierChanged', 'setVifAddresses', 'setVifNeighbors', 'setAcl',
  'addNexthop', 'delNexthop', 'addLabel', 'delLabel',
  'setBridgeDomain', 'delBridgeDomain', 'setBridgePort', 'setLoopback',
] as const;
/** the methods that run often and change only the neighbor table, if anything the fast path depends on (MACs learned are L2's) */
export const KFAST_NEIGHBOR_WRITERS = ['resolveTick', 'applyEvents'] as const;

export class VRouterDataplane implements Dataplane {
  readonly tables: Tables;
  private readonly sizes: TableSizes;
  private readonly nWorkers: number;
  private readonly poolSize: number;
  /** bytes per packet slot, from opts.maxMtu */
  readonly slotSize: number;
  /** the largest IP packet a slot holds */
  private readonly bufferMtu: number;
  private readonly statsBufs: SharedArrayBuffer[] = [];
  private readonly statsViews: Float64Array[] = [];
  private readonly vrfIds = new Map<string, number>();
  private readonly vrfNames: (string | undefined)[] = [];
  private readonly vrfAlloc: IdAllocator;
  private readonly vifs = new Map<string, VifState>();
  private readonly vifById: (VifState | undefined)[] = [];
  private readonly vifAlloc: IdAllocator;
  private readonly nhs = new Map<number, NhState>();
  private readonly nhAlloc: IdAllocator;
  private readonly ilm = new Map<number, IlmState>();
  private readonly ilmAlloc: IdAllocator;
  private readonly neighbors: NeighborResolver;
  /** L2 switching: bridge domains, ports, the MAC table's writer (l2.ts) */
  private readonly bridges: BridgeManager;
  private readonly hostSync = new VhostSync();
  /** the router's addresses that belong to no vif (lo0), by name: on vhost0 with the vifs' */
  private readonly loopbacks = new Map<string, Prefix[]>();
  /** routes the data plane adds for vif addresses (receive /32, connected subnet) per VRF; key prefix text */
  private readonly systemRoutes = new Map<number, Map<string, { p: Prefix; nh: number }>>();
  /** per VRF: system-route keys that a user route currently overrides (the user's is installed) */
  private readonly shadowed = new Map<number, Set<string>>();
  private readonly w4 = new Uint32Array(1);
  private readonly w6 = new Uint32Array(4);
  private readonly receiveNh: number;
  private engine: Engine | undefined;
  /** af-packet sockets with their rings set up ahead of the attaches that take them */
  private readonly afPacketSpares: AfPacketSpares;
  /** the kernel fast path (kfast/kfast.ts), when on and available */
  private kfast: KernelFastPath | undefined;
  private workers: { w: Worker; port: MessagePort; ready: Promise<void>; wakeFd: number }[] = [];
  private readonly control = new Int32Array(new SharedArrayBuffer(64));
  private pendingAttach = new Map<number, { resolve: (hw: Uint8Array) => void; reject: (e: Error) => void }>();
  private running = false;
  private loopTimer: NodeJS.Timeout | undefined;
  private resolveTimer: NodeJS.Timeout | undefined;
  private readonly opts: DataplaneOptions;
  private readonly clock: () => number;
  /** listeners of punted link-layer control frames (IS-IS), and of vifs coming and going */
  private readonly frameHandlers = new Set<FrameHandler>();
  private readonly vifHandlers = new Set<VifChangeHandler>();
  private readonly frameCount: FrameCounters = { delivered: 0, injected: 0, refused: 0 };
  /** the carrier of attached netdevs (link-watch.ts): a link that goes down is a vif change like a detach */
  private readonly carrier = new CarrierWatch((name, up) => this.carrierChanged(name, up), logLine);
  /** vifs with a filter: the rules as listAcls shows them, and the hit counters when they were set */
  private readonly acls = new Map<number, { rules: AclRule[]; base: number[]; bridge?: BridgeFilterTerm[] }>();
  /** vifs with an output filter, the same way (a bridge port's: `bridge`) */
  private readonly aclsOut = new Map<number, { rules: AclRule[]; base: number[]; bridge?: BridgeFilterTerm[] }>();

  constructor(opts: DataplaneOptions = {}) {
    this.opts = opts;
    this.sizes = { ...DEFAULT_SIZES, ...opts.sizes };
    this.tables = Tables.create(this.sizes);
    this.clock = opts.clock ?? (() => performance.now());
    this.neighbors = new NeighborResolver({
      table: this.tables.nbr,
      now: this.clock,
      vifAddresses: (vif) => this.vifById[vif]?.addresses,
      vifUp: (vif) => this.vifById[vif] !== undefined && (this.tables.vif.flags[vif]! & VIF_UP) !== 0,
      request: (vif, family, w) => {
        if (this.engine) this.engine.request(vif, family, w);
        else if (this.workers.length) this.post({ t: 'request', vif, family, w });
      },
    });
    this.bridges = new BridgeManager({
      bridge: this.tables.bridge,
      mac: this.tables.mac,
      vif: this.tables.vif,
      vifId: (name) => this.vifs.get(name)?.id,
      vifName: (id) => this.vifById[id]?.name ?? String(id),
    });
    // huge pages under the big lookup tables, before anything touches them (fewer TLB misses)
    if (process.env.CNR_DP_NO_HUGEPAGES === undefined) {
      try {
        for (const b of [this.tables.lpm4.shared.slots, this.tables.lpm6.shared.slots]) adviseHugePages(b);
      } catch { /* no libc binding: ordinary pages */ }
    }
    this.nWorkers = Math.min(16, Math.max(0, Math.floor(opts.workers ?? 0)));
    this.poolSize = opts.poolSize ?? 4096;
    this.slotSize = slotSizeFor(opts.maxMtu ?? 1500);
    this.bufferMtu = this.slotSize - HEADROOM - 18;
    this.afPacketSpares = new AfPacketSpares(this.slotSize, afPacketSparesFromEnv());
    this.vrfAlloc = new IdAllocator(0, this.sizes.maxVrfs);
    this.vifAlloc = new IdAllocator(0, this.sizes.maxVifs);
    this.nhAlloc = new IdAllocator(1, this.sizes.maxNexthops);
    this.ilmAlloc = new IdAllocator(1, this.sizes.maxLabels);
    const lay = statsLayout(this.sizes.maxVifs, this.sizes.maxVrfs);
    for (let k = 0; k < Math.max(1, this.nWorkers); k++) {
      const b = new SharedArrayBuffer(lay.size * 8);
      this.statsBufs.push(b);
      this.statsViews.push(new Float64Array(b));
    }
    this.addVrf('default');
    this.receiveNh = this.allocNh({ type: 'receive' }, NH_RECEIVE, true);
    if (opts.kernelFastPath ?? kernelFastPathFromEnv()) {
      this.kfast = new KernelFastPath(this.sizes.maxVifs, this.sizes.maxVrfs);
      // every change to the tables, whichever way it comes, ends the cache's epoch
      const k = this.kfast;
      if (k) {
        bumpAfter(this, KFAST_MUTATORS, () => k.bump());
        let seen = this.tables.nbr.changes;
        bumpAfter(this, KFAST_NEIGHBOR_WRITERS, () => {
          if (this.tables.nbr.changes === seen) return;
          seen = this.tables.nbr.changes;
          k.bump();
        });
      }
    }
    if (this.nWorkers === 0) this.engine = new Engine(this.tables, this.statsViews[0]!, this.poolSize, this.slotSize, this.clock, this.kfast?.shared);
    else this.spawnWorkers();
  }

  // ---- VRFs ----

  addVrf(name: string): number {
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(name)) throw new DataplaneError(`invalid VRF name '${name}'`);
    const have = this.vrfIds.get(name);
    if (have !== undefined) return have;
    const id = this.vrfAlloc.alloc();
    if (id < 0) throw new DataplaneError(`too many VRFs (max ${this.sizes.maxVrfs})`);
    this.vrfIds.set(name, id);
    this.vrfNames[id] = name;
    return id;
  }

  delVrf(name: string): void {
    const id = this.vrfId(name);
    if (id === 0) throw new DataplaneError('the default VRF cannot be deleted');
    for (const v of this.vifs.values()) if (v.vrf === id) throw new DataplaneError(`VRF ${name} still has interface ${v.name}`);
    for (const [nid, n] of this.nhs) if (n.spec.type === 'vrf' && n.spec.vrf === name) throw new DataplaneError(`VRF ${name} is used by next hop ${nid}`);
    for (const [label, l] of this.ilm) if (l.action.action === 'pop-lookup' && l.action.vrf === name) throw new DataplaneError(`VRF ${name} is used by label ${label}`);
    const sys = this.systemRoutes.get(id);
    const sh = this.shadowed.get(id);
    for (const t of [this.tables.lpm4, this.tables.lpm6]) {
      for (const r of t.listRoutes(id)) {
        const key = sys?.size ? formatPrefix(routePrefix(r.words, r.len)) : '';
        if (!sys?.has(key) || sh?.has(key)) this.deref(r.nh);
      }
    }
    this.shadowed.delete(id);
    this.systemRoutes.delete(id);
    this.tables.lpm4.clearVrf(id);
    this.tables.lpm6.clearVrf(id);
    this.vrfIds.delete(name);
    this.vrfNames[id] = undefined;
    this.vrfAlloc.release(id);
  }

  private vrfId(name: string | undefined): number {
    const id = this.vrfIds.get(name ?? 'default');
    if (id === undefined) throw new DataplaneError(`no VRF '${name}'`);
    return id;
  }

  // ---- interfaces ----

  async addVif(cfg: MemoryVifConfig): Promise<number> {
    if (!cfg || typeof cfg.name !== 'string' || !/^[A-Za-z0-9_.:@-]{1,15}$/.test(cfg.name)) throw new DataplaneError(`invalid interface name '${cfg?.name}' (1-15 characters)`);
    if (this.vifs.has(cfg.name)) throw new DataplaneError(`interface ${cfg.name} already exists`);
    if (cfg.driver !== 'af-packet' && cfg.driver !== 'af-xdp' && cfg.driver !== 'tap' && cfg.driver !== 'memory' && cfg.driver !== 'memif' && cfg.driver !== 'irb') throw new DataplaneError(`invalid driver '${String(cfg.driver)}' (af-packet, af-xdp, tap, memory, memif, irb)`);
    const memif = cfg.driver === 'memif' ? this.memifOptions(cfg) : undefined;
    const isIrb = cfg.driver === 'irb';
    if (isIrb && cfg.vlan) throw new DataplaneError(`IRB interface ${cfg.name} takes no VLAN tag (its bridge domain has the VLAN)`);
    const vrf = this.vrfId(cfg.vrf);
    const mtu = cfg.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 576 || mtu > 9000) throw new DataplaneError(`invalid MTU ${mtu} (576..9000)`);
    // buffers are sized once, at start (--max-mtu): say so where an interface wants more
    const bufMtu = this.bufferMtu;
    if (mtu > bufMtu) logLine(`vrouter: interface ${cfg.name} MTU ${mtu} is above what the packet buffers hold (${bufMtu} bytes of IP): longer frames are dropped and counted rx_too_big (TCP is cut to fit); start the vRouter with --max-mtu ${mtu}`);
    const vlan = cfg.vlan ?? 0;
    if (!Number.isInteger(vlan) || vlan < 0 || vlan > 4094) throw new DataplaneError(`invalid VLAN ${vlan} (1..4094)`);
    const mac = cfg.mac !== undefined ? this.parse(() => parseMac(cfg.mac!)) : undefined;
    if (mac && (mac[0]! & 1) !== 0) throw new DataplaneError(`MAC ${cfg.mac} is multicast`);
    const addresses = this.parseAddresses(cfg.addresses ?? []);
    const statics = this.parseStaticNeighbors(cfg.name, cfg.neighbors ?? []);
    const id = this.vifAlloc.alloc();
    if (id < 0) throw new DataplaneError(`too many interfaces (max ${this.sizes.maxVifs})`);
    const isVhost = cfg.name === (this.opts.vhostName ?? 'vhost0') && this.opts.vhost === true;
    const st: VifState = { id, name: cfg.name, driver: cfg.driver, vrf, mac: new Uint8Array(6), mtu, vlan, addresses: [], vhost: isVhost, glean: 0 };
    if (cfg.driver === 'memory') st.memory = MemoryDriver.create(cfg.name, cfg.memory);
    if (memif) st.memif = { ...memif, vif: id };
    this.vifs.set(cfg.name, st);
    this.vifById[id] = st;
    let hw: Uint8Array;
    try {
      // an IRB has no netdev: its MAC, unless given, is derived from the node's name and its own (stable across restarts)
      hw = isIrb ? createHash('sha256').update(`${hostname()}/${cfg.name}`).digest().subarray(0, 6) : await this.attachDriver(st);
    } catch (e) {
      Atomics.store(this.tables.vif.owner, id, -1);
      this.vifs.delete(cfg.name);
      this.vifById[id] = undefined;
      this.vifAlloc.release(id);
      throw new DataplaneError(`cannot open ${cfg.driver} interface ${cfg.name}: ${(e as Error).message}`);
    }
    // the router's MAC: given, or derived from the netdev's (always locally administered)
    st.mac = mac ?? routerMacFor(isIrb ? Uint8Array.from(hw, (b, k) => (k === 0 ? b & 0xfe : b)) : hw);
    const vt = this.tables.vif;
    vt.setMac(id, st.mac);
    vt.hwaddr.set(hw.subarray(0, 6), id * 6);
    vt.mtu[id] = mtu;
    vt.vrf[id] = vrf;
    vt.vlan[id] = vlan;
    st.glean = this.allocNh({ type: 'glean', vif: cfg.name }, NH_GLEAN, true, (n) => { this.tables.nh.vif[n] = id; });
    vt.glean[id] = st.glean;
    this.writeAddresses(st, addresses);
    // before the vif is up: the first frame to a static neighbor needs no resolution
    const noRoom = statics.length ? this.neighbors.setStatic(id, statics) : 0;
    if (noRoom) logLine(`vrouter: interface ${cfg.name}: neighbor table full: ${noRoom} static neighbors not installed`);
    if (isVhost) Atomics.store(vt.global, 0, id);
    Atomics.store(vt.flags, id, VIF_UP | (isVhost ? VIF_VHOST : 0) | (isIrb ? VIF_IRB : 0));
    if (this.opts.vhost && !isVhost && vrf === 0) this.syncHost();
    // a netdev of its own (not a TAP the vRouter made, nor vhost0) has a carrier to watch
    if (!isVhost && (cfg.driver === 'af-packet' || cfg.driver === 'af-xdp')) {
      st.carrier = this.carrier.add(cfg.name);
      if (!st.carrier) logLine(`vrouter: interface ${cfg.name}: attached with its link down`);
    }
    if (!isVhost && st.carrier !== false) this.vifChanged(cfg.name, true, formatMac(st.mac));
    this.kfastAttach(st);
    return id;
  }

  /** The kernel fast path on an untagged af-packet vif (not vhost0); a refusal is logged, and the vif goes on without it. */
  private kfastAttach(st: VifState): void {
    if (!this.kfast || st.driver !== 'af-packet' || st.vhost || st.vlan !== 0 || st.packetFd === undefined) return;
    try {
      const ifindex = libc().if_nametoindex(st.name);
      if (!ifindex) throw new Error(`no netdev ${st.name}`);
      // a frame the packet buffers cannot hold is the vRouter's to drop and count (rx_too_big), not the kernel's to forward
      this.kfast.attach(st.id, ifindex, st.packetFd, st.mac, Math.min(st.mtu, this.bufferMtu));
    } catch (e) {
      logLine(`vrouter: interface ${st.name}: kernel fast path not attached: ${(e as Error).message}`);
    }
  }

  async delVif(name: string): Promise<void> {
    const st = this.vifs.get(name);
    if (!st) throw new DataplaneError(`no interface '${name}'`);
    for (const [id, n] of this.nhs) {
      if (!n.internal && 'vif' in n.spec && n.spec.vif === name) throw new DataplaneError(`interface ${name} is used by next hop ${id}`);
    }
    const vt = this.tables.vif;
    this.bridges.forgetVif(st.id);
    Atomics.store(vt.flags, st.id, 0);
    if (st.vhost) Atomics.store(vt.global, 0, -1);
    this.tables.acl.set(st.id, []);
    this.acls.delete(st.id);
    this.tables.aclOut.set(st.id, []);
    this.aclsOut.delete(st.id);
    this.vifById[st.id] = undefined;
    this.writeAddresses(st, []);
    this.freeNh(st.glean);
    this.kfast?.detach(st.id);
    await this.detachDriver(st);
    Atomics.store(vt.owner, st.id, -1);
    this.neighbors.forgetVif(st.id);
    this.vifs.delete(name);
    this.vifById[st.id] = undefined;
    this.vifAlloc.release(st.id);
    if (st.carrier !== undefined) this.carrier.remove(name);
    if (!st.vhost && st.carrier !== false) this.vifChanged(name, false, formatMac(st.mac));
  }

  /** The link of an attached netdev went down or came back: listeners hear it as the vif going and coming. */
  private carrierChanged(name: string, up: boolean): void {
    const st = this.vifs.get(name);
    if (!st || st.carrier === undefined || st.carrier === up) return;
    st.carrier = up;
    logLine(`vrouter: interface ${name}: carrier ${up ? 'up' : 'lost'}`);
    this.vifChanged(name, up, formatMac(st.mac));
  }

  // ---- link-layer control frames (IS-IS): punted per vif, sent out of a vif ----

  onFrames(handler: FrameHandler): () => void {
    this.frameHandlers.add(handler);
    Atomics.store(this.tables.vif.global, G_PUNT_OSI, 1);
    return () => {
      this.frameHandlers.delete(handler);
      if (this.frameHandlers.size === 0) Atomics.store(this.tables.vif.global, G_PUNT_OSI, 0);
    };
  }

  onVifChange(handler: VifChangeHandler): () => void {
    this.vifHandlers.add(handler);
    return () => this.vifHandlers.delete(handler);
  }

  frameCounters(): FrameCounters {
    return { ...this.frameCount };
  }

  sendFrame(vif: string, frame: Uint8Array): void {
    const why = this.frameRefusal(vif, frame);
    if (why) {
      this.frameCount.refused++;
      throw new DataplaneError(`frame for ${vif}: ${why}`);
    }
    this.frameCount.injected++;
  }

  /** Send the frame, or say why not. */
  private frameRefusal(vif: string, frame: Uint8Array): string | undefined {
    const st = this.vifs.get(vif);
    if (!st || this.vifById[st.id] !== st) return 'no such interface';
    if (st.vhost) return 'not sent on vhost0';
    if ((this.tables.vif.flags[st.id]! & VIF_UP) === 0) return 'interface is down';
    if (!(frame instanceof Uint8Array) || frame.length < 14) return `${frame?.length ?? 0} bytes, shorter than an Ethernet header`;
    const most = Math.min(14 + st.mtu, this.slotSize - HEADROOM - (st.vlan ? 4 : 0));
    if (frame.length > most) return `${frame.length} bytes, longer than the interface takes (${most})`;
    if (this.engine) {
      if (!this.engine.inject(st.id, frame)) return 'no packet buffer or transmit room now';
    } else this.post({ t: 'inject', vif: st.id, frame: frame.slice() });
    return undefined;
  }

  /** Frames a worker (or the in-thread engine) punted: [vif, offset, length] per frame into data. */
  private deliverFrames(meta: Uint32Array, data: Uint8Array): void {
    for (let m = 0; m < meta.length; m += 3) {
      const st = this.vifById[meta[m]!];
      if (!st) continue;
      const frame = data.subarray(meta[m + 1]!, meta[m + 1]! + meta[m + 2]!);
      for (const h of this.frameHandlers) {
        try {
          h(st.name, frame);
        } catch (e) {
          logLine(`vrouter: frame listener failed: ${(e as Error).message}`);
        }
      }
      if (this.frameHandlers.size) this.frameCount.delivered++;
    }
  }

  private vifChanged(name: string, up: boolean, mac: string): void {
    for (const h of this.vifHandlers) {
      try {
        h(name, up, mac);
      } catch (e) {
        logLine(`vrouter: interface listener failed: ${(e as Error).message}`);
      }
    }
  }

  setVifAddresses(name: string, addresses: string[]): void {
    const st = this.vifs.get(name);
    if (!st) throw new DataplaneError(`no interface '${name}'`);
    this.writeAddresses(st, this.parseAddresses(addresses));
    if (this.opts.vhost && st.vrf === 0) this.syncHost();
  }

  setVifNeighbors(name: string, neighbors: StaticNeighbor[]): void {
    const st = this.vifs.get(name);
    if (!st) throw new DataplaneError(`no interface '${name}'`);
    const full = this.neighbors.setStatic(st.id, this.parseStaticNeighbors(name, neighbors));
    if (full) throw new DataplaneError(`neighbor table full: ${full} static neighbors of ${name} not installed`);
  }

  private parseStaticNeighbors(vif: string, neighbors: readonly StaticNeighbor[]): { family: number; w: number[]; mac: Uint8Array }[] {
    if (!Array.isArray(neighbors)) throw new DataplaneError(`interface ${vif}: static neighbors must be a list`);
    return neighbors.map((n) => {
      const ip = this.parse(() => parseIp(n.ip));
      const mac = this.parse(() => parseMac(n.mac));
      if ((mac[0]! & 1) !== 0) throw new DataplaneError(`interface ${vif}: static neighbor ${n.ip}: MAC ${n.mac} is multicast`);
      return { family: ip.family, w: Array.from(padWords(ip.bytes)), mac };
    });
  }

  setAcl(vif: string, rules: AclRule[], direction: 'input' | 'output' = 'input'): void {
    const st = this.vifs.get(vif);
    if (!st) throw new DataplaneError(`no interface '${vif}'`);
    if (direction !== 'input' && direction !== 'output') throw new DataplaneError(`invalid filter direction '${String(direction)}' (input, output)`);
    if (!Array.isArray(rules)) throw new DataplaneError('ACL rules must be a list');
    if (rules.length > MAX_ACL_RULES) throw new DataplaneError(`too many ACL rules (max ${MAX_ACL_RULES})`);
    const words = rules.map((r, k) => this.aclRule(r, k + 1, rules.length));
    const out = direction === 'output';
    const kept = out ? this.aclsOut : this.acls;
    try {
      (out ? this.tables.aclOut : this.tables.acl).set(st.id, words);
    } catch (e) {
      throw new DataplaneError((e as Error).message);
    }
    if (words.length === 0) {
      kept.delete(st.id);
      return;
    }
    // hits count from here: the workers' counters as they are now are the baseline
    const base = this.aclCounters(st.id, out);
    kept.set(st.id, { rules: rules.map((r, k) => canonicalAclRule(r, words[k]!)), base });
  }

  listAcls(): AclInfo[] {
    const out: AclInfo[] = [];
    for (const [kept, output] of [[this.acls, false], [this.aclsOut, true]] as const) {
      for (const [id, a] of [...kept].sort((x, y) => x[0] - y[0])) {
        const now = this.aclCounters(id, output);
        const hits = (k: number) => now[k]! - a.base[k]!;
        const bytes = (k: number) => now[ACL_STRIDE + k]! - a.base[ACL_STRIDE + k]!;
        const info: AclInfo = { vif: this.vifById[id]!.name, rules: a.rules.map((r, k) => ({ ...r, hits: hits(k), bytes: bytes(k) })), unmatched: hits(MAX_ACL_RULES) };
        if (output) info.direction = 'output';
        // bytes are counted for IP rules only
        if (a.bridge) info.bridge = a.bridge.map((t, k) => ({ ...t, hits: hits(k) }));
        else info.unmatchedBytes = bytes(MAX_ACL_RULES);
        out.push(info);
      }
    }
    return out;
  }

  /** one vif's ACL counters summed over workers: hits per rule, then unmatched, then the same in bytes; `out`: its output filter's */
  private aclCounters(vif: number, out = false): number[] {
    const lay = statsLayout(this.sizes.maxVifs, this.sizes.maxVrfs);
    const hits = (out ? lay.aclOutBase : lay.aclBase) + vif * ACL_STRIDE;
    const bytes = (out ? lay.aclOutBytesBase : lay.aclBytesBase) + vif * ACL_STRIDE;
    return Array.from({ length: 2 * ACL_STRIDE }, (_, k) => this.sum(k < ACL_STRIDE ? hits + k : bytes + k - ACL_STRIDE));
  }

  /** Rule n (1-based) of `count`, checked, in table form. */
  private aclRule(r: AclRule, n: number, count: number): AclRuleWords {
    const bad = (why: string) => new DataplaneError(`ACL rule ${n}: ${why}`);
    if (!r || !['permit', 'deny', 'reject', 'skip'].includes(r.action)) throw bad(`action must be permit, deny, reject or skip`);
    let skipTo: number | undefined;
    if (r.action === 'skip') {
      // skip: the scan goes on `skip` rules further on, at most just past the last
      const k = r.skip ?? 0;
      if (!Number.isInteger(k) || k < 0 || n + k > count) throw bad(`skip ${String(r.skip)} runs past the last rule`);
      skipTo = n + k;
    } else if (r.skip !== undefined) throw bad('skip needs action skip');
    if (r.family !== undefined && r.family !== 'inet' && r.family !== 'inet6') throw bad(`invalid family '${String(r.family)}' (inet, inet6)`);
    let family: 0 | 4 | 6 = r.family === undefined ? 0 : r.family === 'inet' ? 4 : 6;
    const prefix = (s: string | undefined, what: string): { w: Uint32Array; len: number } => {
      if (s === undefined) return { w: new Uint32Array(4), len: 0 };
      const p = this.parse(() => parsePrefix(String(s)));
      if (family !== 0 && p.family !== family) throw bad(`${what} ${s} is not ${family === 4 ? 'IPv4' : 'IPv6'}`);
      family = p.family;
      const w = new Uint32Array(4);
      addrWords(p.addr, w.subarray(0, p.addr.length / 4));
      return { w, len: p.len };
    };
    const src = prefix(r.src, 'source');
    const dst = prefix(r.dst, 'destination');
    let proto = PROTO_ANY;
    if (r.protocol !== undefined) {
      const named: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 };
      proto = typeof r.protocol === 'number' ? r.protocol : (named[r.protocol] ?? (/^\d+$/.test(r.protocol) ? Number(r.protocol) : -1));
      if (!Number.isInteger(proto) || proto < 0 || proto > 255) throw bad(`invalid protocol '${String(r.protocol)}'`);
    }
    const range = (v: number | [number, number] | undefined, what: string, max = 0xffff): [number, number] => {
      if (v === undefined) return [0, 0xffff];
      const [lo, hi] = Array.isArray(v) ? v : [v, v];
      if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi > max || lo > hi) throw bad(`invalid ${what} ${JSON.stringify(v)}`);
      return [lo, hi];
    };
    const ports = proto === 6 || proto === 17 || proto === 132;
    if (!ports && (r.srcPort !== undefined || r.dstPort !== undefined)) throw bad(`${r.srcPort !== undefined ? 'source' : 'destination'} port needs protocol tcp, udp or sctp`);
    let sport = range(r.srcPort, 'source port');
    if (r.icmpType !== undefined) {
      // the nodes pass an ICMP packet's type as its source port (tables/acl-table.ts)
      if (proto !== 1 && proto !== 58) throw bad('icmp type needs protocol icmp or icmpv6');
      sport = range(r.icmpType, 'icmp type', 255);
    }
    const w: AclRuleWords = { permit: r.action === 'permit', family, proto, src: src.w, srcLen: src.len, dst: dst.w, dstLen: dst.len, sport, dport: range(r.dstPort, 'destination port') };
    if (r.action === 'reject') w.reject = true;
    if (skipTo !== undefined) w.skipTo = skipTo;
    return w;
  }

  /** The in-memory driver of a 'memory' vif (tests inject and collect frames through it). */
  memoryDriver(name: string): MemoryDriver {
    const st = this.vifs.get(name);
    if (!st?.memory) throw new DataplaneError(`no memory interface '${name}'`);
    return st.memory;
  }

  vifIndex(name: string): number {
    const st = this.vifs.get(name);
    if (!st) throw new DataplaneError(`no interface '${name}'`);
    return st.id;
  }

  private parseAddresses(list: string[]): Prefix[] {
    if (!Array.isArray(list)) throw new DataplaneError('addresses must be a list of CIDR strings');
    const out = list.map((a) => this.parse(() => parseCidr(a)));
    if (out.filter((p) => p.family === 4).length > MAX_ADDR || out.filter((p) => p.family === 6).length > MAX_ADDR - 1) {
      throw new DataplaneError(`at most ${MAX_ADDR} IPv4 and ${MAX_ADDR - 1} IPv6 addresses per interface`);
    }
    for (const p of out) {
      const b = p.addr;
      if (p.family === 4 && (b[0]! >= 224 || b[0] === 0)) throw new DataplaneError(`${formatPrefix(p)} is not a unicast address`);
      if (p.family === 6 && b[0] === 0xff) throw new DataplaneError(`${formatPrefix(p)} is not a unicast address`);
    }
    return out;
  }

  /** Replace a vif's own addresses: the vif table copy, then the VRF's receive and connected routes. */
  private writeAddresses(st: VifState, addresses: Prefix[]): void {
    const vt = this.tables.vif;
    const id = st.id;
    st.addresses = addresses;
    const v4 = addresses.filter((p) => p.family === 4);
    const six = [{ family: 6 as const, addr: linkLocal(st.mac), len: 64 }, ...addresses.filter((p) => p.family === 6)];
    // readers scan n4/n6 entries: hide them while they change
    Atomics.store(vt.n4, id, 0);
    Atomics.store(vt.n6, id, 0);
    v4.forEach((p, k) => {
      vt.addr4[id * MAX_ADDR + k] = addrWords(p.addr)[0]!;
      vt.plen4[id * MAX_ADDR + k] = p.len;
    });
    six.forEach((p, k) => {
      vt.addr6.set(addrWords(p.addr), (id * MAX_ADDR + k) * 4);
      vt.plen6[id * MAX_ADDR + k] = p.len;
    });
    Atomics.store(vt.n4, id, v4.length);
    Atomics.store(vt.n6, id, this.vifById[id] ? six.length : 0);
    this.syncSystemRoutes(st.vrf);
  }

  /**
   * The routes a VRF gets from its vifs' addresses: each address as a receive host route
   * (also the link-local of each vif), each subnet as a connected (glean) route on the first
   * vif that has it. Applied as a difference against what is installed.
   */
  private syncSystemRoutes(vrf: number): void {
    const want = new Map<string, { p: Prefix; nh: number }>();
    for (const v of [...this.vifs.values()].sort((a, b) => a.id - b.id)) {
      if (v.vrf !== vrf || !this.vifById[v.id] || v.glean === 0) continue;
      const ll: Prefix = { family: 6, addr: linkLocal(v.mac), len: 128 };
      want.set(formatPrefix(ll), { p: ll, nh: this.receiveNh });
      for (const a of v.addresses) {
        const host: Prefix = { family: a.family, addr: a.addr, len: a.family === 4 ? 32 : 128 };
        want.set(formatPrefix(host), { p: host, nh: this.receiveNh });
        if (a.len < host.len) {
          const net = makePrefix(a.addr, a.len);
          const k = formatPrefix(net);
          if (!want.has(k)) want.set(k, { p: net, nh: v.glean });
        }
      }
    }
    const sys = this.sysMap(vrf);
    let sh = this.shadowed.get(vrf);
    if (!sh) this.shadowed.set(vrf, (sh = new Set()));
    for (const [k, old] of [...sys]) {
      if (want.has(k)) continue;
      sys.delete(k);
      // a user route for the same prefix stays; otherwise the system route goes
      if (!sh.delete(k)) this.uninstall(vrf, old.p);
    }
    for (const [k, r] of want) {
      const had = sys.get(k);
      if (had?.nh === r.nh) continue;
      sys.set(k, r);
      if (sh.has(k)) continue;
      if (!had && this.routeNh(vrf, r.p) !== 0) sh.add(k); // a user route was there first: it wins
      else this.install(vrf, r.p, r.nh);
    }
  }

  // ---- next hops ----

  addNexthop(spec: NexthopSpec): number {
    if (!spec || typeof spec !== 'object') throw new DataplaneError('next hop spec must be an object');
    const nt = this.tables.nh;
    switch (spec.type) {
      case 'receive':
        return this.allocNh(spec, NH_RECEIVE);
      case 'discard':
        return this.allocNh(spec, NH_DISCARD);
      case 'reject':
        return this.allocNh(spec, NH_REJECT);
      case 'neighbor': {
        const vif = this.needVif(spec.vif);
        const ip = this.parse(() => parseIp(spec.ip));
        const labels = this.checkLabels(spec.labels ?? [], 0);
        const w = Array.from(padWords(ip.bytes));
        const nbr = this.tables.nbr.ensure(vif.id, ip.family, w);
        if (nbr < 0) throw new DataplaneError('neighbor table full');
        const id = this.allocNh(spec, NH_NEIGHBOR, false, (n) => {
          nt.vif[n] = vif.id;
          nt.family[n] = ip.family;
          nt.nbr[n] = nbr;
          this.writeLabels(n, labels);
        });
        this.nhs.get(id)!.nbr = nbr;
        this.neighbors.start(nbr, vif.id, ip.family, w);
        return id;
      }
      case 'encap': {
        const vif = this.needVif(spec.vif);
        const dmac = this.parse(() => parseMac(spec.dmac));
        const labels = this.checkLabels(spec.labels ?? [], 0);
        return this.allocNh(spec, NH_ENCAP, false, (n) => {
          nt.vif[n] = vif.id;
          nt.setDmac(n, dmac);
          this.writeLabels(n, labels);
        });
      }
      case 'mpls-udp': {
        const src = this.parse(() => parseIp(spec.src));
        const dst = this.parse(() => parseIp(spec.dst));
        if (src.family !== 4 || dst.family !== 4) throw new DataplaneError('mpls-udp: only IPv4 tunnel endpoints are supported');
        const labels = this.checkLabels(spec.labels, 1);
        const peer = addrWords(dst.bytes)[0]!;
        // the far end becomes a source MPLS over UDP is accepted from (RFC 7510 section 6)
        if (!nt.addPeer(peer)) throw new DataplaneError(`mpls-udp: more than ${MAX_TUNNEL_PEERS} distinct tunnel endpoints`);
        try {
          return this.allocNh(spec, NH_MPLS_UDP, false, (n) => {
            nt.tunSrc[n] = addrWords(src.bytes)[0]!;
            nt.tunDst[n] = peer;
            this.writeLabels(n, labels);
          });
        } catch (e) {
          nt.removePeer(peer);
          throw e;
        }
      }
      case 'composite': {
        const members = spec.members;
        if (!Array.isArray(members) || members.length < 1 || members.length > MAX_ECMP) throw new DataplaneError(`composite: 1..${MAX_ECMP} members`);
        for (const m of members) {
          const n = this.nhs.get(m);
          if (!n || n.internal) throw new DataplaneError(`composite: no next hop ${m}`);
          if (n.type !== NH_NEIGHBOR && n.type !== NH_ENCAP && n.type !== NH_MPLS_UDP) throw new DataplaneError(`composite: member ${m} is ${NH_TYPE_NAMES[n.type]} (neighbor, encap or mpls-udp only)`);
        }
        const id = this.allocNh({ type: 'composite', members: [...members] }, NH_COMPOSITE, false, (n) => {
          members.forEach((m, k) => { nt.members[n * MAX_ECMP + k] = m; });
          nt.nmembers[n] = members.length;
        });
        for (const m of members) this.nhs.get(m)!.refs++;
        return id;
      }
      case 'vrf': {
        const vrf = this.vrfId(spec.vrf);
        return this.allocNh(spec, NH_VRF, false, (n) => { nt.vrf[n] = vrf; });
      }
      default:
        throw new DataplaneError(`invalid next hop type '${(spec as { type: unknown }).type}'`);
    }
  }

  delNexthop(id: number): void {
    const n = this.nhs.get(id);
    if (!n || n.internal) throw new DataplaneError(`no next hop ${id}`);
    if (n.refs > 0) throw new DataplaneError(`next hop ${id} is still used by ${n.refs} route(s), label(s) or composite(s)`);
    if (n.spec.type === 'composite') for (const m of n.spec.members) this.deref(m);
    this.freeNh(id);
  }

  private allocNh(spec: NhState['spec'], type: number, internal = false, fill?: (id: number) => void): number {
    const id = this.nhAlloc.alloc();
    if (id < 0) throw new DataplaneError(`next hop table full (${this.sizes.maxNexthops})`);
    const nt = this.tables.nh;
    nt.nlabels[id] = 0;
    nt.nmembers[id] = 0;
    nt.nbr[id] = -1;
    fill?.(id);
    nt.publish(id, type);
    this.nhs.set(id, { spec, type, refs: 0, nbr: -1, internal });
    return id;
  }

  private freeNh(id: number): void {
    const n = this.nhs.get(id);
    if (!n) return;
    if (n.type === NH_MPLS_UDP) this.tables.nh.removePeer(this.tables.nh.tunDst[id]!);
    this.tables.nh.unpublish(id);
    this.nhs.delete(id);
    this.nhAlloc.release(id);
    if (n.nbr >= 0) this.neighbors.stop(n.nbr);
  }

  private deref(id: number): void {
    const n = this.nhs.get(id);
    if (n && n.refs > 0) n.refs--;
  }

  private ref(id: number): NhState {
    const n = this.nhs.get(id);
    if (!n || n.internal || !Number.isInteger(id)) throw new DataplaneError(`no next hop ${id}`);
    return n;
  }

  private writeLabels(n: number, labels: number[]): void {
    const nt = this.tables.nh;
    labels.forEach((l, k) => { nt.labels[n * MAX_LABELS + k] = l; });
    nt.nlabels[n] = labels.length;
  }

  private checkLabels(labels: number[], min: number): number[] {
    if (!Array.isArray(labels) || labels.length < min || labels.length > MAX_LABELS) throw new DataplaneError(`label stack must have ${min}..${MAX_LABELS} labels`);
    return labels.map((l) => {
      const v = this.parse(() => parseLabel(l));
      if (v < 16 && v !== 0 && v !== 2) throw new DataplaneError(`label ${l} is reserved`);
      return v;
    });
  }

  private needVif(name: string): VifState {
    const v = this.vifs.get(name);
    if (!v) throw new DataplaneError(`no interface '${name}'`);
    return v;
  }

  // ---- routes ----

  addRoute(vrf: string, prefix: Prefix | string, nh: number): void {
    const v = this.vrfId(vrf);
    const { t, w, len } = this.routeKey(prefix);
    this.insertRoute(v, t, w, len, nh);
  }

  /** addRoute for an IPv4 prefix given as its address (a 32-bit number) and length: no Prefix object per route. */
  addRoute4(vrf: string, addr: number, len: number, nh: number): void {
    const v = this.vrfId(vrf);
    if (!(len >= 0 && len <= 32) || !Number.isInteger(len)) throw new DataplaneError(`invalid prefix length ${len} (0..32)`);
    this.w4[0] = len === 0 ? 0 : addr & (~0 << (32 - len));
    this.insertRoute(v, this.tables.lpm4, this.w4, len, nh);
  }

  private insertRoute(v: number, t: LpmTable, w: Uint32Array, len: number, nh: number): void {
    const n = this.ref(nh);
    let old: number;
    try {
      old = t.insert(v, w, len, nh); // the route it replaced comes back: one pass
    } catch (e) {
      if (e instanceof LpmFullError) throw new DataplaneError(e.message);
      throw e;
    }
    n.refs++;
    // routes end only the epochs of their own /8s in the kernel fast path (a full table's churn leaves the rest cached)
    if (t === this.tables.lpm4) this.kfast?.bumpRange(w[0]!, len);
    else this.kfast?.bumpSix();
    if (old === 0) return;
    // replacing: the old one was either a user route (drop its reference) or a system route (now shadowed)
    const sys = this.systemRoutes.get(v);
    const key = sys?.size ? formatPrefix(routePrefix(w, len)) : '';
    if (sys?.has(key) && !this.shadowed.get(v)?.has(key)) this.shadowed.get(v)!.add(key);
    else this.deref(old);
  }

  delRoute(vrf: string, prefix: Prefix | string): void {
    const v = this.vrfId(vrf);
    const { t, w, len } = this.routeKey(prefix);
    this.removeRoute(vrf, v, t, w, len);
  }

  /** delRoute for an IPv4 prefix given as its address and length. */
  delRoute4(vrf: string, addr: number, len: number): void {
    const v = this.vrfId(vrf);
    if (!(len >= 0 && len <= 32) || !Number.isInteger(len)) throw new DataplaneError(`invalid prefix length ${len} (0..32)`);
    this.w4[0] = len === 0 ? 0 : addr & (~0 << (32 - len));
    this.removeRoute(vrf, v, this.tables.lpm4, this.w4, len);
  }

  private removeRoute(vrf: string, v: number, t: LpmTable, w: Uint32Array, len: number): void {
    const old = t.getRoute(v, w, len);
    // the text key only when there are system routes to compare with (a format per delete otherwise)
    const sysRoutes = this.systemRoutes.get(v);
    const key = sysRoutes?.size ? formatPrefix(routePrefix(w, len)) : '';
    const sys = sysRoutes?.get(key);
    const sh = this.shadowed.get(v);
    if (old === 0 || (sys && !sh?.has(key))) throw new DataplaneError(`no route ${key || formatPrefix(routePrefix(w, len))} in VRF ${vrf}`);
    this.deref(old);
    if (sys) {
      sh!.delete(key);
      t.insert(v, w, len, sys.nh);
    } else {
      t.remove(v, w, len);
    }
    if (t === this.tables.lpm4) this.kfast?.bumpRange(w[0]!, len);
    else this.kfast?.bumpSix();
  }

  /**
   * A route prefix as the LPM's key, host bits cleared: a Prefix is checked, not parsed; text
   * (tests, tools) is parsed here (a fast path for plain IPv4).
   */
  private routeKey(prefix: Prefix | string): { t: LpmTable; w: Uint32Array; len: number } {
    if (typeof prefix !== 'string') {
      const { family, addr, len } = prefix;
      const max = family === 4 ? 32 : 128;
      if ((family !== 4 && family !== 6) || addr?.length !== max / 8) throw new DataplaneError(`invalid prefix: IPv${family} with a ${addr?.length}-byte address`);
      if (!Number.isInteger(len) || len < 0 || len > max) throw new DataplaneError(`invalid prefix length ${len} (0..${max})`);
      if (family === 4) {
        const a = bytesToIpv4(addr);
        this.w4[0] = len === 0 ? 0 : a & (~0 << (32 - len));
        return { t: this.tables.lpm4, w: this.w4, len };
      }
      maskWords(addrWords(addr, this.w6), len, this.w6);
      return { t: this.tables.lpm6, w: this.w6, len };
    }
    const fast = scanIpv4Prefix(prefix);
    if (fast) {
      const len = fast[1];
      this.w4[0] = len === 0 ? 0 : fast[0] & (~0 << (32 - len));
      return { t: this.tables.lpm4, w: this.w4, len };
    }
    const p = this.parse(() => parsePrefix(prefix));
    if (p.family === 4) {
      addrWords(p.addr, this.w4);
      return { t: this.tables.lpm4, w: this.w4, len: p.len };
    }
    addrWords(p.addr, this.w6);
    return { t: this.tables.lpm6, w: this.w6, len: p.len };
  }

  private routeNh(vrf: number, p: Prefix): number {
    const t = p.family === 4 ? this.tables.lpm4 : this.tables.lpm6;
    return t.getRoute(vrf, padWords(p.addr).subarray(0, p.family === 4 ? 1 : 4), p.len);
  }

  private install(vrf: number, p: Prefix, nh: number): void {
    const t = p.family === 4 ? this.tables.lpm4 : this.tables.lpm6;
    try {
      t.insert(vrf, padWords(p.addr).subarray(0, p.family === 4 ? 1 : 4), p.len, nh);
    } catch (e) {
      if (e instanceof LpmFullError) throw new DataplaneError(e.message);
      throw e;
    }
  }

  private uninstall(vrf: number, p: Prefix): void {
    const t = p.family === 4 ? this.tables.lpm4 : this.tables.lpm6;
    t.remove(vrf, padWords(p.addr).subarray(0, p.family === 4 ? 1 : 4), p.len);
  }

  private sysMap(vrf: number): Map<string, { p: Prefix; nh: number }> {
    let m = this.systemRoutes.get(vrf);
    if (!m) this.systemRoutes.set(vrf, (m = new Map()));
    return m;
  }

  // ---- labels ----

  addLabel(label: number, action: LabelAction): void {
    const l = this.parse(() => parseLabel(label));
    if (l < 16) throw new DataplaneError(`label ${label} is reserved (16..${LABEL_SPACE - 1})`);
    if (!action || typeof action !== 'object') throw new DataplaneError('label action must be an object');
    const lt = this.tables.label;
    let fill: (e: number) => void;
    let nh = 0;
    switch (action.action) {
      case 'pop-lookup': {
        const vrf = this.vrfId(action.vrf);
        fill = (e) => { lt.vrf[e] = vrf; lt.action[e] = ILM_POP_LOOKUP; };
        break;
      }
      case 'swap': {
        const out = this.checkLabels(action.outLabels, 1);
        nh = action.nh;
        this.checkL2Nh(nh);
        fill = (e) => {
          out.forEach((x, k) => { lt.out[e * MAX_LABELS + k] = x; });
          lt.nout[e] = out.length;
          lt.nh[e] = nh;
          lt.action[e] = ILM_SWAP;
        };
        break;
      }
      case 'php':
        nh = action.nh;
        this.checkL2Nh(nh);
        fill = (e) => { lt.nh[e] = nh; lt.action[e] = ILM_PHP; };
        break;
      default:
        throw new DataplaneError(`invalid label action '${(action as { action: unknown }).action}'`);
    }
    const e = this.ilmAlloc.alloc();
    if (e < 0) throw new DataplaneError('label table full');
    lt.nout[e] = 0;
    fill(e);
    Atomics.store(lt.index, l, e);
    const old = this.ilm.get(l);
    if (nh) this.nhs.get(nh)!.refs++;
    if (old) this.releaseIlm(old);
    this.ilm.set(l, { action: structuredClone(action), entry: e });
  }

  delLabel(label: number): void {
    const old = this.ilm.get(label);
    if (!old) throw new DataplaneError(`no label ${label}`);
    Atomics.store(this.tables.label.index, label, 0);
    this.ilm.delete(label);
    this.releaseIlm(old);
  }

  private releaseIlm(s: IlmState): void {
    if (s.action.action !== 'pop-lookup') this.deref(s.action.nh);
    this.ilmAlloc.release(s.entry);
  }

  private checkL2Nh(nh: number): void {
    const n = this.ref(nh);
    if (n.type !== NH_NEIGHBOR && n.type !== NH_ENCAP && n.type !== NH_COMPOSITE) throw new DataplaneError(`next hop ${nh} is ${NH_TYPE_NAMES[n.type]}: labels need a neighbor, encap or composite next hop`);
  }

  // ---- L2 switching (l2.ts, docs/l2.md) ----

  setBridgeDomain(cfg: BridgeDomainConfig): void {
    this.bridges.setDomain(cfg);
  }

  delBridgeDomain(name: string): void {
    this.bridges.delDomain(name);
  }

  setBridgePort(vif: string, cfg: BridgePortConfig | null): void {
    const st = this.vifs.get(vif);
    if (!st) throw new DataplaneError(`no interface '${vif}'`);
    if (st.vhost) throw new DataplaneError(`${vif} carries the host's traffic and cannot be a bridge port`);
    const filter = cfg?.inputFilter?.length ? bridgeFilterRules(cfg.inputFilter, (why) => new DataplaneError(`${vif}: ${why}`)) : undefined;
    const outFilter = cfg?.outputFilter?.length ? bridgeFilterRules(cfg.outputFilter, (why) => new DataplaneError(`${vif} output: ${why}`)) : undefined;
    this.bridges.setPort(st.id, cfg);
    for (const [f, table, kept, out] of [[filter, this.tables.acl, this.acls, false], [outFilter, this.tables.aclOut, this.aclsOut, true]] as const) {
      if (f) {
        table.setL2(st.id, f.words);
        // hits count from here, as setAcl's
        kept.set(st.id, { rules: [], bridge: f.canonical, base: this.aclCounters(st.id, out) });
      } else if (kept.get(st.id)?.bridge) {
        table.setL2(st.id, []);
        kept.delete(st.id);
      }
    }
  }

  setMacAging(seconds: number): void {
    this.bridges.setAging(seconds);
  }

  listMacs(bridgeDomain?: string): MacEntryInfo[] {
    return this.bridges.listMacs(bridgeDomain);
  }

  clearMacs(bridgeDomain?: string): number {
    return this.bridges.clear(bridgeDomain);
  }

  listBridgeDomains(): BridgeDomainInfo[] {
    return this.bridges.listDomains();
  }

  /** Age the MAC table now against `now` (Unix seconds): tests; poll() and the timer age it once a second. */
  ageMacs(now: number): number {
    return this.bridges.age(now, true);
  }

  /** the bridge port settings of a vif, or undefined (introspection) */
  bridgePort(vif: string): BridgePortConfig | undefined {
    const st = this.vifs.get(vif);
    return st ? this.bridges.port(st.id) : undefined;
  }

  // ---- listing ----

  listVifs(): VifInfo[] {
    const vt = this.tables.vif;
    const lay = statsLayout(this.sizes.maxVifs, this.sizes.maxVrfs);
    this.engine?.sampleIo();
    return [...this.vifs.values()].sort((a, b) => a.id - b.id).map((v) => {
      const c = (k: number) => this.sum(lay.vifBase + v.id * VIF_STRIDE + k);
      const io: Record<string, number> = {};
      IO_COUNTERS.forEach(([name], k) => { io[name] = this.sum(lay.ioBase + v.id * IO_STRIDE + k); });
      // what the kernel fast path forwarded counts as the vif's too, and is shown apart
      const kf = this.kfast?.vifCounters(v.id);
      return {
        id: v.id,
        name: v.name,
        driver: v.driver,
        vrf: this.vrfNames[v.vrf] ?? '?',
        mac: formatMac(vt.mac, v.id * 6),
        mtu: v.mtu,
        addresses: v.addresses.map(formatPrefix),
        rxPackets: c(0) + (kf?.[0] ?? 0),
        rxBytes: c(1) + (kf?.[1] ?? 0),
        txPackets: c(2) + (kf?.[2] ?? 0),
        txBytes: c(3) + (kf?.[3] ?? 0),
        drops: c(4),
        ...(kf ? { kernelFast: { rxPackets: kf[0]!, rxBytes: kf[1]!, txPackets: kf[2]!, txBytes: kf[3]! } } : {}),
        ...(v.carrier === false ? { linkDown: true } : {}),
        io,
        ...(this.bridgeInfo(v.id, lay.l2Base)),
        ...(v.memif ? { memif: { socket: v.memif.socket, id: v.memif.id ?? 0, ...readMemifStatus(v.memif.status) } } : {}),
      };
    });
  }

  /** listVifs' `bridge` for a bridge port: its settings, MACs learned and limit, its L2 counters summed over the workers */
  private bridgeInfo(vif: number, l2Base: number): Pick<VifInfo, 'bridge'> {
    const port = this.bridges.port(vif);
    if (!port) return {};
    const bt = this.tables.bridge;
    const counters: Record<string, number> = {};
    L2_PORT_COUNTERS.forEach((name, k) => { counters[name] = this.sum(l2Base + vif * L2_PORT_STRIDE + k); });
    const vlans = port.mode === 'access' ? [port.vlan ?? 0] : [...(port.vlans ?? [])];
    return { bridge: { mode: port.mode, vlans, ...(port.nativeVlan ? { nativeVlan: port.nativeVlan } : {}), ...(port.tpid ? { tpid: port.tpid } : {}), ...(port.dot1qTunneling ? { dot1qTunneling: true } : {}), macs: bt.portCount[vif]!, macLimit: bt.portLimit[vif]!, counters } };
  }

  listNexthops(): NexthopInfo[] {
    const out: NexthopInfo[] = [];
    for (const [id, n] of [...this.nhs].sort((a, b) => a[0] - b[0])) {
      // the data plane's own next hops (receive for the router's addresses, glean for connected
      // subnets) are listed too, so every id a route dump shows can be looked up
      const s = n.spec;
      const info: NexthopInfo = { id, type: s.type, refs: n.refs };
      if ('vif' in s) info.vif = s.vif;
      if (s.type === 'neighbor') {
        info.ip = s.ip;
        const st = this.tables.nbr.state[n.nbr]!;
        info.state = st === NBR_REACHABLE ? 'resolved' : st === NBR_FAILED ? 'failed' : 'pending';
        if (st === NBR_REACHABLE) info.dmac = formatMac(this.tables.nbr.mac, n.nbr * 6);
      }
      if (s.type === 'encap') info.dmac = formatMac(parseMac(s.dmac));
      if ('labels' in s && s.labels) info.labels = [...s.labels];
      if (s.type === 'mpls-udp') info.ip = s.dst;
      if (s.type === 'composite') info.members = [...s.members];
      if (s.type === 'vrf') info.vrf = s.vrf;
      out.push(info);
    }
    return out;
  }

  routeCounts(vrf?: string): RouteCountInfo[] {
    const ids = vrf === undefined ? [...this.vrfIds.values()].sort((a, b) => a - b) : [this.vrfId(vrf)];
    return ids.map((id) => ({ vrf: this.vrfNames[id]!, inet: this.tables.lpm4.routeCount(id), inet6: this.tables.lpm6.routeCount(id) }));
  }

  listRoutes(vrf: string, family: 4 | 6): RouteInfo[] {
    const v = this.vrfId(vrf);
    const t = family === 4 ? this.tables.lpm4 : this.tables.lpm6;
    const out: { prefix: string; nh: number; sort: number[]; len: number }[] = [];
    for (const r of t.listRoutes(v)) {
      const bytes = new Uint8Array(family === 4 ? 4 : 16);
      for (let k = 0; k < r.words.length; k++) {
        const w = r.words[k]!;
        bytes[k * 4] = w >>> 24; bytes[k * 4 + 1] = (w >>> 16) & 255; bytes[k * 4 + 2] = (w >>> 8) & 255; bytes[k * 4 + 3] = w & 255;
      }
      out.push({ prefix: `${formatIp(bytes)}/${r.len}`, nh: r.nh, sort: r.words, len: r.len });
    }
    out.sort((a, b) => {
      for (let k = 0; k < a.sort.length; k++) if (a.sort[k] !== b.sort[k]) return a.sort[k]! - b.sort[k]!;
      return a.len - b.len;
    });
    return out.map((r) => ({ prefix: r.prefix, nh: r.nh }));
  }

  listLabels(): LabelInfo[] {
    return [...this.ilm].sort((a, b) => a[0] - b[0]).map(([label, s]) => {
      const a = s.action;
      const info: LabelInfo = { label, action: ILM_ACTION_NAMES[a.action === 'pop-lookup' ? ILM_POP_LOOKUP : a.action === 'swap' ? ILM_SWAP : ILM_PHP]! };
      if (a.action === 'pop-lookup') info.vrf = a.vrf;
      else info.nh = a.nh;
      if (a.action === 'swap') info.outLabels = [...a.outLabels];
      return info;
    });
  }

  /** Neighbor cache entries (ARP/NDP), for introspection. */
  listNeighbors(): { vif: string; ip: string; mac?: string; state: string }[] {
    return listNeighbors(this.tables.nbr, (vif) => this.vifById[vif]?.name ?? String(vif), (i) => this.neighbors.isStatic(i));
  }

  dropStats(): Record<string, number> {
    this.engine?.sampleIo();
    const out: Record<string, number> = {};
    for (let r = 0; r < N_DROP_REASONS; r++) out[DROP_NAMES[r]!] = this.sum(STATS_DROP_BASE + r);
    return out;
  }

  /** Global counters: rx, tx, punt, generated, consumed, icmp_sent, ... summed over workers. */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    GLOBAL_COUNTERS.forEach((name, k) => { out[name] = this.sum(k); });
    return out;
  }

  stats(): { vifs: Record<string, { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number }>; vrfs: Record<string, { packets: number; bytes: number }> } {
    const lay = statsLayout(this.sizes.maxVifs, this.sizes.maxVrfs);
    const vifs: Record<string, { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number }> = {};
    // with the kernel fast path's counts of what it forwarded
    const kf = this.kfast;
    for (const v of this.vifs.values()) {
      const b = lay.vifBase + v.id * VIF_STRIDE;
      const k = kf?.vifCounters(v.id);
      vifs[v.name] = { rxPackets: this.sum(b) + (k?.[0] ?? 0), rxBytes: this.sum(b + 1) + (k?.[1] ?? 0), txPackets: this.sum(b + 2) + (k?.[2] ?? 0), txBytes: this.sum(b + 3) + (k?.[3] ?? 0) };
    }
    const vrfs: Record<string, { packets: number; bytes: number }> = {};
    for (const [name, id] of this.vrfIds) {
      const k = kf?.vrfCounters(id);
      vrfs[name] = { packets: this.sum(lay.vrfBase + id * 2) + (k?.[0] ?? 0), bytes: this.sum(lay.vrfBase + id * 2 + 1) + (k?.[1] ?? 0) };
    }
    return { vifs, vrfs };
  }

  /** What the kernel fast path forwarded, per vif: [rx packets, rx bytes, tx packets, tx bytes] (undefined: the fast path is off). Also in stats(). */
  kernelFastCounters(): Record<string, number[]> | undefined {
    const kf = this.kfast;
    if (!kf) return undefined;
    const out: Record<string, number[]> = {};
    for (const v of this.vifs.values()) {
      const k = kf.vifCounters(v.id);
      if (k) out[v.name] = k;
    }
    return out;
  }

  private sum(k: number): number {
    let s = 0;
    for (const v of this.statsViews) s += v[k]!;
    return s;
  }

  // ---- running ----

  /** workers: 0 only: poll every vif once, run the graph, apply learned neighbors. Returns frames received. */
  poll(): number {
    const e = this.engine;
    if (!e) throw new DataplaneError('poll() is for workers: 0');
    const n = e.runOnce();
    const err = e.takeError();
    if (err !== undefined) logLine(`vrouter graph: ${(err as Error).stack ?? String(err)}`);
    const ev = e.takeEvents();
    if (ev) this.applyEvents(ev, 0);
    const fr = e.takeFrames();
    if (fr) this.deliverFrames(fr.meta, fr.data);
    this.resolveTick(this.clock());
    return n;
  }

  /** Free packet buffers of the in-thread engine (workers: 0): equals poolSize when nothing leaked. */
  poolAvailable(): number {
    return this.engine?.pool.available ?? -1;
  }

  /** Poll until no vif has anything left (tests). */
  runUntilIdle(maxRounds = 1000): number {
    let total = 0;
    for (let r = 0; r < maxRounds; r++) {
      const n = this.poll();
      total += n;
      if (n === 0) break;
    }
    return total;
  }

  /** Create vhost0 (opts.vhost) if it is not there yet; start() does it too. */
  async ensureVhost(): Promise<void> {
    if (this.opts.vhost && !this.vifs.has(this.opts.vhostName ?? 'vhost0')) {
      await this.addVif({ name: this.opts.vhostName ?? 'vhost0', driver: this.opts.vhostDriver ?? 'tap' });
      this.syncHost();
    }
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.ensureVhost();
    if (this.engine) {
      const loop = () => {
        if (!this.running) return;
        const n = this.poll();
        this.loopTimer = n > 0 ? (setImmediate(loop) as unknown as NodeJS.Timeout) : setTimeout(loop, 1);
      };
      loop();
    } else {
      this.resolveTimer = setInterval(() => this.resolveTick(this.clock()), 200);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.loopTimer) { clearTimeout(this.loopTimer); clearImmediate(this.loopTimer as unknown as NodeJS.Immediate); }
    if (this.resolveTimer) clearInterval(this.resolveTimer);
    this.carrier.close();
    Atomics.store(this.control, CTL_STOP, 1);
    Atomics.add(this.control, CTL_WAKE, 1);
    Atomics.notify(this.control, CTL_WAKE);
    for (const { wakeFd } of this.workers) wake(wakeFd);
    await Promise.all(this.workers.map(({ w }) => new Promise<void>((res) => {
      const timer = setTimeout(() => { void w.terminate().then(() => res()); }, 2000);
      w.once('exit', () => { clearTimeout(timer); res(); });
    })));
    for (const { wakeFd } of this.workers) closeFd(wakeFd);
    this.workers = [];
    this.engine?.close();
    this.afPacketSpares.close();
    this.kfast?.close();
    this.kfast = undefined;
  }

  private spawnWorkers(): void {
    const url = new URL('./worker/worker.js', import.meta.url);
    const n = this.nWorkers;
    const spinMs = idleSpinMs(); // a bad CNR_IDLE_SPIN_US refuses the start here, not in a worker
    const coalesceMs = rxCoalesceMs(); // likewise CNR_RX_COALESCE_US
    const rings = Array.from({ length: n }, (_, from) => Array.from({ length: n }, (_, to) => (from === to ? null : createHandoff(1024, this.slotSize))));
    for (let k = 0; k < n; k++) {
      const ch = new MessageChannel();
      const wakeFd = createWakeFd();
      const init: WorkerInit = { tables: this.tables.shared, ...(this.kfast ? { kfast: this.kfast.shared } : {}), stats: this.statsBufs[k]!, control: this.control.buffer as SharedArrayBuffer, poolSize: this.poolSize, slotSize: this.slotSize, port: ch.port2, index: k, rings, wakeFd, idleSpinMs: spinMs, rxCoalesceMs: coalesceMs };
      const w = new Worker(url, { workerData: init, transferList: [ch.port2] });
      let ready!: () => void;
      const readyP = new Promise<void>((r) => { ready = r; });
      w.on('message', (m: FromWorker) => {
        if (m.t === 'ready') ready();
        else if (m.t === 'attached') this.pendingAttach.get(m.vif)?.resolve(m.hwaddr);
        else if (m.t === 'detached') this.pendingAttach.get(-1 - m.vif)?.resolve(new Uint8Array(6));
        else if (m.t === 'error') {
          const p = this.pendingAttach.get(m.vif);
          if (p) p.reject(new Error(m.message));
          else logLine(`vrouter worker: ${m.message}`);
        } else if (m.t === 'learn') this.applyEvents(m.events, k);
        else if (m.t === 'close') closeAfPacketFd(m.fd);
        else if (m.t === 'frames') this.deliverFrames(m.meta, m.data);
      });
      w.on('error', (e) => logLine(`vrouter worker failed: ${e.stack ?? e.message}`));
      this.workers.push({ w, port: ch.port1, ready: readyP, wakeFd });
    }
  }

  private post(m: ToWorker & { vif: number }): void {
    const owner = this.tables.vif.owner[m.vif]!;
    const wk = this.workers[Math.max(owner, 0)]!;
    wk.port.postMessage(m);
    Atomics.add(this.control, CTL_WAKE, 1);
    Atomics.notify(this.control, CTL_WAKE);
    wake(wk.wakeFd);
  }

  private async attachDriver(st: VifState): Promise<Uint8Array> {
    const kind = st.driver;
    if (kind === 'irb') throw new Error('an IRB has no driver');
    if (this.engine) {
      // real drivers are imported before the first af-packet/tap vif opens (memory needs none)
      const mods = st.driver === 'memory' ? {} : await driverModules();
      const prepared = kind === 'af-packet' ? await this.afPacketSpares.take() : undefined;
      st.packetFd = prepared;
      const drv = openDriver(mods, kind, st.name, st.memory, this.slotSize, st.memif, prepared);
      this.engine.attach(st.id, drv);
      return drv.hwaddr;
    }
    // the least loaded worker owns the vif's driver (RX and TX); the others hand frames to it
    const load = this.workers.map(() => 0);
    for (const v of this.vifs.values()) if (v !== st && this.vifById[v.id]) { const o = this.tables.vif.owner[v.id]!; if (o >= 0) load[o]!++; }
    // memif vifs naming one socket (several ids) share its listener: one worker owns them all
    const sibling = st.memif ? [...this.vifs.values()].find((v) => v !== st && v.memif?.socket === st.memif!.socket && this.vifById[v.id] && this.tables.vif.owner[v.id]! >= 0) : undefined;
    const owner = sibling ? this.tables.vif.owner[sibling.id]! : load.indexOf(Math.min(...load));
    Atomics.store(this.tables.vif.owner, st.id, owner);
    await this.workers[owner]!.ready;
    // the socket's rings set up ahead, off the worker (io/af-packet-spares.ts)
    mark(`dp: ${st.name} worker ready`);
    const prepared = kind === 'af-packet' ? await this.afPacketSpares.take() : undefined;
    st.packetFd = prepared;
    mark(`dp: ${st.name} spare taken`);
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pendingAttach.set(st.id, {
        resolve: (hw) => { mark(`dp: ${st.name} worker attached`); this.pendingAttach.delete(st.id); resolve(hw); },
        reject: (e) => { this.pendingAttach.delete(st.id); reject(e); },
      });
      this.post({ t: 'attach', vif: st.id, kind, name: st.name, ...(st.memory ? { memory: st.memory.shared } : {}), ...(st.memif ? { memif: st.memif } : {}), ...(prepared !== undefined ? { prepared } : {}) });
    });
  }

  private async detachDriver(st: VifState): Promise<void> {
    if (st.driver === 'irb') return;
    if (this.engine) {
      this.engine.detach(st.id);
      return;
    }
    if (Atomics.load(this.control, CTL_STOP)) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { this.pendingAttach.delete(-1 - st.id); resolve(); }, 2000);
      this.pendingAttach.set(-1 - st.id, { resolve: () => { clearTimeout(timer); this.pendingAttach.delete(-1 - st.id); resolve(); }, reject: () => resolve() });
      this.post({ t: 'detach', vif: st.id });
    });
  }

  // ---- neighbor resolution (neighbors.ts) ----

  /** Retry unanswered neighbor requests, age out learned neighbors (poll() and start() call it). */
  resolveTick(now: number): void {
    this.neighbors.tick(now);
    this.bridges.age();
  }

  /** Worker `worker`'s learn events (one batch): neighbors (ARP/NDP) and MACs (L2); then the batch is acknowledged (l2-input counts unacknowledged new sources against the MAC limits). */
  private applyEvents(ev: Uint32Array, worker: number): void {
    this.neighbors.applyEvents(ev);
    this.bridges.applyEvents(ev);
    Atomics.add(this.tables.bridge.global, LEARN_ACK_BASE + worker, 1);
  }

  // ---- vhost0 host configuration (vhost-sync.ts) ----

  /** Put the router's default-VRF addresses and connected subnets on vhost0 (idempotent). */
  private syncHost(): void {
    if (!configuresHost(this.opts)) return;
    const vh = this.vifs.get(this.opts.vhostName ?? 'vhost0');
    if (!vh?.vhost) return;
    const loopbacks = [...this.loopbacks.values()].map((addresses) => ({ vrf: 0, vhost: false, addresses }));
    this.hostSync.sync(vh.name, [...this.vifs.values(), ...loopbacks]);
  }

  setLoopback(name: string, addresses: string[]): void {
    const prefixes = addresses.map((a) => parseCidr(a));
    if (prefixes.length === 0) this.loopbacks.delete(name);
    else this.loopbacks.set(name, prefixes);
    this.syncHost();
  }

  /** Wait for pending vhost0 host configuration (tests). */
  hostSettled(): Promise<void> {
    return this.hostSync.settled();
  }

  /** A memif vif's socket, id and secret, checked (the socket's directory is the caller's: cnr-cni makes one per pod). */
  private memifOptions(cfg: VifConfig): MemifOptions & { status: SharedArrayBuffer } {
    const m = cfg.memif;
    if (!m || typeof m.socket !== 'string' || !m.socket.startsWith('/')) throw new DataplaneError(`memif interface ${cfg.name} needs an absolute socket path`);
    if (Buffer.byteLength(m.socket) > 107) throw new DataplaneError(`memif socket path ${m.socket} is longer than 107 bytes`);
    const id = m.id ?? 0;
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new DataplaneError(`invalid memif id ${m.id} (0..4294967295)`);
    if (m.secret !== undefined && (typeof m.secret !== 'string' || m.secret.length > 23)) throw new DataplaneError('memif secret longer than 23 characters');
    // one socket may serve several interfaces, each its own id
    for (const v of this.vifs.values()) if (v.memif?.socket === m.socket && (v.memif.id ?? 0) === id) throw new DataplaneError(`memif socket ${m.socket} id ${id} is already used by ${v.name}`);
    return { socket: m.socket, id, ...(m.secret ? { secret: m.secret } : {}), status: memifStatusBuffer() };
  }

  private parse<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof AddressError) throw new DataplaneError(e.message);
      throw e;
    }
  }
}

/** A Prefix from LPM key words (1 for IPv4, 4 for IPv6). */
function routePrefix(words: ArrayLike<number>, len: number): Prefix {
  const b = new Uint8Array(words.length * 4);
  for (let k = 0; k < b.length; k++) b[k] = (words[k >> 2]! >>> (24 - 8 * (k & 3))) & 255;
  return { family: words.length === 1 ? 4 : 6, addr: b, len };
}

/** fe80::/64 with the modified EUI-64 interface id of `mac`. */
function linkLocal(mac: Uint8Array): Uint8Array {
  const a = new Uint8Array(16);
  a[0] = 0xfe; a[1] = 0x80;
  a[8] = mac[0]! ^ 0x02; a[9] = mac[1]!; a[10] = mac[2]!; a[11] = 0xff; a[12] = 0xfe; a[13] = mac[3]!; a[14] = mac[4]!; a[15] = mac[5]!;
  return a;
}

export function createDataplane(opts?: DataplaneOptions): VRouterDataplane {
  return new VRouterDataplane(opts);
}

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp' };

/** A validated rule as listAcls shows it: canonical prefixes, protocol names, one-port ranges as numbers. */
function canonicalAclRule(r: AclRule, w: AclRuleWords): AclRule {
  const c: AclRule = { action: r.action };
  if (w.family !== 0) c.family = w.family === 4 ? 'inet' : 'inet6';
  const prefix = (words: Uint32Array, len: number): string => {
    const bytes = new Uint8Array(w.family === 6 ? 16 : 4);
    for (let b = 0; b < bytes.length; b++) bytes[b] = (words[b >> 2]! >>> (24 - 8 * (b & 3))) & 255;
    return formatPrefix({ family: w.family === 6 ? 6 : 4, addr: bytes, len });
  };
  if (r.src !== undefined) c.src = prefix(w.src, w.srcLen);
  if (r.dst !== undefined) c.dst = prefix(w.dst, w.dstLen);
  if (w.proto !== PROTO_ANY) c.protocol = PROTO_NAMES[w.proto] ?? w.proto;
  const port = ([lo, hi]: [number, number]): number | [number, number] => (lo === hi ? lo : [lo, hi]);
  if (r.srcPort !== undefined) c.srcPort = port(w.sport);
  if (r.dstPort !== undefined) c.dstPort = port(w.dport);
  if (r.icmpType !== undefined) c.icmpType = port(w.sport);
  if (r.action === 'skip') c.skip = r.skip ?? 0;
  return c;
}
