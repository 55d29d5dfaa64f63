/**
 * A BGP instance (the master instance, or one per routing instance), split the way every
 * cnr protocol is (docs/design.md, "The protocol pattern"):
 *  - BgpContext (here): the instance's state — configuration, policies, neighbors, the
 *    Loc-RIB tables, next-hop records, counters, the per-UPDATE caches. Plain data that
 *    every handler receives explicitly as `cx`; it decides nothing.
 *  - BgpInstance (here): the thin entry points other code calls (the speaker, commands,
 *    the neighbors as NeighborOwner, tests); each routes one input to its handler in
 *    events.ts, or reads state for show commands.
 *  - events.ts: one function per input (UPDATE, End-of-RIB, session up/down, ROUTE-REFRESH,
 *    timer expiry, next-hop or RIB change, configuration change).
 *  - rib.ts: Adj-RIB-In and Loc-RIB entries, next-hop tracking; decision.ts: the batched
 *    decision process (best path, RIB announce); adj-rib-out.ts: what each peer is sent
 *    (the Adj-RIB-Out kept per update group, update-group.ts);
 *    policy.ts: import/export policy application.
 * Route changes are batched: an UPDATE marks prefixes dirty; one flush per turn of the
 * event loop runs best-path on them, announces winners to the RIB (RibApi.announce into
 * inet.0 / inet6.0 / NAME.inet.0) and sends every peer the difference of its Adj-RIB-Out.
 */
import type { PrefixKey } from '../../../lib/addr.js';
import { Afi, type DecodedUpdate, type PathAttributes, type RouteRefresh } from '../../../wire/bgp/index.js';
import { CeaseSubcode } from '../../../wire/bgp/errors.js';
import type { PolicyEngine } from '../../policy/index.js';
import type { RibApi, RibRoute } from '../../rib/types.js';
import { tableName, VPN_TABLE4, VPN_TABLE6, type InstanceConfig, type PeerConfig } from './config.js';
import { VpnState } from './vpn.js';
import { Neighbor, type NeighborOwner, type TransportOptions } from './neighbor.js';
import { TableCounts, adjRibIn, locKey, type NeighborRib, type LocEntry, type LocTable, type NextHop, type Path } from './rib.js';
import { flush } from './decision.js';
import { vrfImports, type ExportVerdict, type ImportVerdict } from './policy.js';
import * as events from './events.js';
import { anyAdvertises, memberCount, memberRoutes, UpdateGroups } from './update-group.js';

/** The state of one BGP instance: what every handler (events, rib, decision, export, policy) works on. */
/**
 * BgpContext.shadowed: a Map that tells `onNewTable` when a table gets its set (the
 * speaker's RIB filter, speaker.ts forwardRibWants, then takes BGP's own changes there).
 */
export class ShadowedTables extends Map<string, Set<PrefixKey>> {
  onNewTable: (() => void) | undefined = undefined;
  override set(table: string, prefixes: Set<PrefixKey>): this {
    const fresh = !this.has(table);
    super.set(table, prefixes);
    if (fresh) this.onNewTable?.();
    return this;
  }
}

export class BgpContext {
  readonly neighbors = new Map<string, Neighbor>();
  /** per neighbor: Adj-RIB-Out, counters, per-session caches */
  readonly ribs = new Map<Neighbor, NeighborRib>();
  /** the Adj-RIB-Out: one per group of peers with the same export (update-group.ts) */
  readonly updateGroups = new UpdateGroups();
  /** the Loc-RIB: per table, prefix (or VPN key) -> entry holding every received path */
  readonly loc = new Map<string, LocTable>();
  /** next-hop records by "table address", watched in the RIB */
  readonly nexthops = new Map<string, NextHop>();
  /** entries waiting for the next flush, per table */
  dirty = new Map<string, LocEntry[]>();
  /** how many entries `dirty` holds (an UPDATE that takes it to FLUSH_BATCH flushes at once) */
  dirtyCount = 0;
  /** new prefixes decided as they came (decision.ts decideFresh), per table, for the flush's export */
  fresh = new Map<string, PrefixKey[]>();
  /** non-BGP RIB routes whose export may have changed */
  ribDirty = new Map<string, Set<PrefixKey>>();
  scheduled = false;
  stopped = false;
  /** RFC 4724 restarting speaker: routing deferred until End-of-RIB from every peer */
  deferring = false;
  deferTimer: NodeJS.Timeout | undefined;
  /** the data plane kept forwarding through our restart */
  keptForwarding = true;
  readonly eorFrom = new Set<Neighbor>();
  /** accepted paths per table */
  readonly pathCounts = new TableCounts();
  /** best paths per table */
  readonly activeCounts = new TableCounts();
  /**
   * Prefixes whose BGP best path is not the RIB's active route (a static or direct route
   * with a better preference won), per table: BGP advertises active routes only, so these
   * are exported as the winning protocol's route (if an export policy accepts it) and must
   * be looked at again when the RIB makes the BGP route active.
   */
  readonly shadowed = new ShadowedTables();
  /** the last import verdict, for the next prefixes of the same UPDATE (when the chain ignores prefixes) */
  lastImport: ImportVerdict | undefined = undefined;
  /** the last export verdict of a BGP path, for the next prefixes with the same facts (when the chain ignores prefixes) */
  lastExport: ExportVerdict | undefined = undefined;
  /** paths holding routes made for them since the last flush (decision.ts ribRoute) */
  routesKept: Path[] = [];
  /** the last route handed to the RIB, shared by the next prefixes with the same facts */
  lastRibRoute: RibRoute | undefined = undefined;
  readonly tables = new Set<string>();
  /** L3VPN state: VRF imports and exports, labels (master instance only) */
  readonly vpn: VpnState;
  /** the policies the VRF imports were last evaluated with */
  vpnPolicy: PolicyEngine | undefined = undefined;

  constructor(
    public cfg: InstanceConfig,
    public policy: PolicyEngine,
    readonly rib: RibApi,
    private readonly logFn: (msg: string) => void,
    /** optional RIB extra: every active route of a table (to export non-BGP routes) */
    readonly ribRoutes: ((table: string) => Iterable<RibRoute>) | undefined,
  ) {
    this.tables.add(tableName(cfg.name, Afi.Ipv4));
    this.tables.add(tableName(cfg.name, Afi.Ipv6));
    if (cfg.name === 'master') {
      this.tables.add(VPN_TABLE4);
      this.tables.add(VPN_TABLE6);
    }
    this.vpn = new VpnState(rib, (v, prefix, p) => vrfImports(this, v, prefix, p));
  }

  log(msg: string): void {
    this.logFn(this.cfg.name === 'master' ? msg : `[${this.cfg.name}] ${msg}`);
  }
}

export class BgpInstance implements NeighborOwner {
  /** the state every handler works on */
  readonly cx: BgpContext;

  constructor(
    cfg: InstanceConfig,
    policy: PolicyEngine,
    rib: RibApi,
    logFn: (msg: string) => void,
    private readonly transport: TransportOptions,
    /** optional RIB extra: every active route of a table (to export non-BGP routes) */
    ribRoutes?: (table: string) => Iterable<RibRoute>,
  ) {
    this.cx = new BgpContext(cfg, policy, rib, logFn, ribRoutes);
    if (cfg.vrfs.length) this.reconfigureVrfs();
  }

  // ------------------------------------------------------------------ state others read or set

  get cfg(): InstanceConfig {
    return this.cx.cfg;
  }
  set cfg(cfg: InstanceConfig) {
    this.cx.cfg = cfg;
  }
  get policy(): PolicyEngine {
    return this.cx.policy;
  }
  set policy(policy: PolicyEngine) {
    this.cx.policy = policy;
  }
  get neighbors(): Map<string, Neighbor> {
    return this.cx.neighbors;
  }
  get ribs(): Map<Neighbor, NeighborRib> {
    return this.cx.ribs;
  }
  get tables(): Set<string> {
    return this.cx.tables;
  }
  get routerId(): string {
    return this.cx.cfg.routerId;
  }
  get restarting(): boolean {
    return this.cx.deferring;
  }
  get forwardingPreserved(): boolean {
    return this.cx.keptForwarding;
  }
  log(msg: string): void {
    this.cx.log(msg);
  }

  // ------------------------------------------------------------------ inputs from the neighbors (NeighborOwner)

  sessionUp(nb: Neighbor): void {
    events.sessionUp(this.cx, nb);
  }
  sessionDown(nb: Neighbor, notification: boolean): void {
    events.sessionDown(this.cx, nb, notification);
  }
  update(nb: Neighbor, d: DecodedUpdate): void {
    events.updateReceived(this.cx, nb, d);
  }
  routeRefresh(nb: Neighbor, r: RouteRefresh): void {
    events.routeRefreshReceived(this.cx, nb, r);
  }

  // ------------------------------------------------------------------ inputs from the RIB

  /** A non-BGP route changed in the RIB (or a shadowed BGP route became active): its export may change. */
  ribChanged(table: string, prefix: PrefixKey): void {
    events.ribChanged(this.cx, table, typeof prefix === 'string' ? locKey(table, prefix) : prefix);
  }

  /** Run the pending decision process now (tests; the instance otherwise flushes once per turn of the event loop). */
  flush(): void {
    flush(this.cx);
  }

  // ------------------------------------------------------------------ inputs from configuration and operators

  addNeighbor(p: PeerConfig): Neighbor {
    const nb = new Neighbor(p, this, this.transport);
    events.neighborAdded(this.cx, nb);
    return nb;
  }
  removeNeighbor(address: string, subcode: number = CeaseSubcode.PeerDeconfigured): void {
    events.neighborRemoved(this.cx, address, subcode);
  }
  /** New policies: re-run import over every Adj-RIB-In and export toward every peer. */
  softReconfigure(): void {
    events.policiesChanged(this.cx);
  }
  softInbound(nb: Neighbor): void {
    events.softInbound(this.cx, nb);
  }
  softOutbound(nb: Neighbor): void {
    events.softOutbound(this.cx, nb);
  }
  /** Ask the peer to send its routes again (soft-inbound with route refresh). */
  requestRefresh(nb: Neighbor): boolean {
    return events.requestRefresh(nb);
  }
  /** The VRFs changed (route distinguisher, targets, VRFs added or removed): import and export again. */
  reconfigureVrfs(): void {
    events.vrfsChanged(this.cx);
  }
  /** Restarted with forwarding preserved: defer routing (RFC 4724 section 4.1, events.deferRouting). */
  deferRouting(seconds: number, forwardingPreserved = true): void {
    events.deferRouting(this.cx, seconds, forwardingPreserved);
  }
  stop(): void {
    events.stop(this.cx);
  }

  // ------------------------------------------------------------------ state for show commands

  /** a Loc-RIB table, keyed by prefix value (lib/addr PrefixKey; VPN tables by RD:prefix text) */
  locTable(table: string): LocTable | undefined {
    return this.cx.loc.get(table);
  }

  /** A neighbor's Adj-RIB-In for a table: its paths, found in the Loc-RIB entries. */
  adjRibIn(nb: Neighbor, table: string): { prefix: string; key: PrefixKey; path: Path }[] {
    return adjRibIn(this.cx, nb, table).map(({ entry, path }) => ({ prefix: entry.prefix, key: entry.key, path }));
  }

  /** Whether every change of this table's routes matters (a VRF whose routes are exported as VPN routes). */
  watchesTable(table: string): boolean {
    return this.cx.vpn.vrfOfTable(table) !== undefined;
  }

  /** Whether the RIB's active route for a prefix is another protocol's while BGP has a best path for it. */
  isShadowed(table: string, prefix: PrefixKey): boolean {
    const set = this.cx.shadowed.get(table);
    if (!set?.size) return false;
    return set.has(typeof prefix === 'string' ? locKey(table, prefix) : prefix);
  }

  /** What a peer was sent for a table (its group's Adj-RIB-Out less what is held back from it), as a map. */
  adjRibOut(nb: Neighbor, table: string): Map<PrefixKey, PathAttributes> {
    const st = this.cx.ribs.get(nb);
    return new Map(st ? memberRoutes(this.cx, st, table) : []);
  }

  /** Whether some peer was sent a route for this prefix (it is in an Adj-RIB-Out). */
  advertises(table: string, prefix: PrefixKey): boolean {
    const key = typeof prefix === 'string' ? locKey(table, prefix) : prefix;
    return anyAdvertises(this.cx, table, key);
  }

  /** mpls.0 as this instance allocated it. */
  get mpls() {
    return this.cx.vpn.mpls;
  }

  /** Our VRF routes exported under a VPN table: key, VRF, label. */
  localVpnRoutes(table: string): { key: string; vrf: string; label: number | undefined }[] {
    return [...(this.cx.vpn.local.get(table) ?? [])].map(([key, r]) => ({ key, vrf: r.vrf.name, label: this.cx.vpn.labelOf(r.vrf.name) }));
  }

  /** The label of a VRF (vrf-table-label), when it has one. */
  vrfLabel(vrf: string): number | undefined {
    return this.cx.vpn.labelOf(vrf);
  }

  /** Counts per table for `show bgp summary` (kept as routes change: benchmarks poll this). */
  tableCounts(): { table: string; paths: number; active: number }[] {
    const cx = this.cx;
    const out: { table: string; paths: number; active: number }[] = [];
    for (const t of cx.tables) {
      if (!cx.loc.has(t) && ![...cx.neighbors.values()].some((n) => n.cfg.families.some((f) => f.table === t))) continue;
      out.push({ table: t, paths: cx.pathCounts.get(t) ?? 0, active: cx.activeCounts.get(t) ?? 0 });
    }
    return out;
  }

  /** Per neighbor and table: active, received, accepted, advertised. */
  peerCounts(nb: Neighbor): { table: string; active: number; received: number; accepted: number; advertised: number }[] {
    const st = this.cx.ribs.get(nb);
    if (!st) return [];
    return nb.cfg.families.map((f) => ({
      table: f.table,
      active: st.active.get(f.table) ?? 0,
      received: st.received.get(f.table) ?? 0,
      accepted: st.accepted.get(f.table) ?? 0,
      advertised: memberCount(this.cx, st, f.table),
    }));
  }
}
