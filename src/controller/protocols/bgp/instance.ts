/**
 * A BGP instance (the master instance, or one per routing instance): an event processor
 * that owns the neighbors, the per-neighbor Adj-RIB-In and Adj-RIB-Out, the Loc-RIB, and
 * the next-hop tracking. Events reach it from its neighbors (session up/down, UPDATE,
 * ROUTE-REFRESH), from the RIB (next-hop resolution changed, non-BGP routes changed) and
 * from configuration. Route changes are batched: an UPDATE marks prefixes dirty; one
 * flush per turn of the event loop runs best-path on them, announces winners to the RIB
 * (RibApi.announce into inet.0 / inet6.0 / NAME.inet.0) and sends the resulting
 * differences of every peer's Adj-RIB-Out as packed UPDATEs.
 *
 * Memory: one PathAttributes object is shared by every prefix of an UPDATE; a path is a
 * small object (peer, id, attributes, next-hop record); exported attribute sets are cached
 * per source object so that export groups prefixes by identity without hashing.
 */
import { formatIpv4, tryParseIpv4, tryParseIpv6 } from '../../../lib/addr.js';
import {
  Afi,
  RefreshSubtype,
  SegmentType,
  formatAsPath,
  formatCommunity,
  formatExtCommunity,
  formatLargeCommunity,
  formatOrigin,
  WELL_KNOWN_COMMUNITIES,
  encodeAttributeBlock,
  encodeEndOfRib,
  encodeRouteRefresh,
  packLabeledUpdates,
  packLabeledWithdrawals,
  packUpdates,
  packWithdrawals,
  Safi,
  type LabeledPrefix,
  type AsPathSegment,
  type DecodedUpdate,
  type PathAttributes,
  type RouteRefresh,
} from '../../../wire/bgp/index.js';
import { CeaseSubcode } from '../../../wire/bgp/errors.js';
import type { PolicyEngine, PolicyResult, PolicySubject } from '../../policy/index.js';
import type { RibApi, RibRoute } from '../../rib/types.js';
import { DEFAULT_PREFERENCE } from '../../rib/types.js';
import { DEFAULT_LOCAL_PREF, neighborAs, selectBest, type DecidingStep, type PathFacts } from './best-path.js';
import { isVpnTable, mappedIpv4, splitVpnKey, tableName, VPN_TABLE4, VPN_TABLE6, type InstanceConfig, type PeerConfig } from './config.js';
import { matchesTargets, VpnState } from './vpn.js';
import { Neighbor, type NeighborOwner, type TransportOptions } from './neighbor.js';

/** Where a next hop stands in the RIB, shared by every path using it. */
class NextHop {
  resolvable = false;
  igpCost = 0;
  refs = 0;
  unwatch: (() => void) | undefined;
  /** the RIB next-hop list of single-path routes through it, shared by all of them */
  ribNexthops: RibRoute['nexthops'] | undefined;
  /** the route that resolves it (kept for VPN next hops: a VRF route is built from it) */
  route: RibRoute | undefined;
  constructor(
    /** the Loc-RIB table of the paths using it */
    readonly table: string,
    readonly address: string,
  ) {}
}

/** The labels to push for a received stack (implicit null pushes nothing). */
function pushLabels(stack: readonly number[]): number[] | undefined {
  const out = stack.filter((l) => l !== IMPLICIT_NULL);
  return out.length ? out : undefined;
}

/** Where a next hop of a Loc-RIB table resolves: VPN next hops (IPv4, or IPv4-mapped IPv6) in inet.0. */
function resolutionOf(table: string, address: string): { table: string; address: string } {
  if (!isVpnTable(table)) return { table, address };
  const mapped = mappedIpv4(address);
  if (mapped) return { table: 'inet.0', address: mapped };
  return { table: address.includes(':') ? 'inet6.0' : 'inet.0', address };
}

/** Implicit null (RFC 3032): nothing to push. */
const IMPLICIT_NULL = 3;
/** IPv4 explicit null: the last hop pops it and looks the packet up in inet.0. */
const EXPLICIT_NULL: readonly number[] = [0];

export class Path implements PathFacts {
  /** bit 0: accepted by import; bit 1: stale (graceful restart, enhanced route refresh) */
  private bits: number;
  /** rare facts kept out of line: why the path is hidden, a route preference set by import policy, labels (SAFI 4/128) */
  private extra: { readonly hidden?: string; readonly preference?: number; readonly labels?: readonly number[] } | undefined;
  constructor(
    readonly peer: Neighbor,
    readonly pathId: number,
    /** attributes as received (kept for soft-inbound reconfiguration) */
    readonly inAttrs: PathAttributes,
    /** attributes after import policy */
    readonly attrs: PathAttributes,
    accepted: boolean,
    readonly nh: NextHop | undefined,
    hidden?: string,
    preference?: number,
    labels?: readonly number[],
  ) {
    this.bits = accepted ? 1 : 0;
    this.extra = hidden !== undefined || preference !== undefined || labels !== undefined ? { hidden, preference, labels } : undefined;
  }
  /** the label stack received with the prefix (labeled unicast, VPN) */
  get labels(): readonly number[] | undefined {
    return this.extra?.labels;
  }
  get accepted(): boolean {
    return (this.bits & 1) !== 0;
  }
  get stale(): boolean {
    return (this.bits & 2) !== 0;
  }
  set stale(v: boolean) {
    this.bits = v ? this.bits | 2 : this.bits & ~2;
  }
  /** why it was not accepted */
  get hidden(): string | undefined {
    return this.extra?.hidden;
  }
  get preference(): number | undefined {
    return this.extra?.preference;
  }
  get ebgp(): boolean {
    return this.peer.ebgp;
  }
  get peerRouterId(): number {
    return this.peer.peerRouterId;
  }
  get peerKey(): string {
    return this.peer.key;
  }
  get resolvable(): boolean {
    return this.nh?.resolvable ?? false;
  }
  get igpCost(): number {
    return this.nh?.igpCost ?? 0;
  }
}

class LocEntry {
  /**
   * Every received path of the prefix, hidden ones too (the Adj-RIB-Ins): the path itself
   * while there is only one (most prefixes), an array once there are more.
   */
  private slot: Path | Path[];
  best: Path | undefined = undefined;
  /** the path (or multipath set) installed in the RIB, to notice changes */
  installed: Path | Path[] | undefined = undefined;
  /** the deciding step shown with the installed route: a runner-up arriving or leaving changes it */
  step: DecidingStep = 'Only path';
  /** queued for the next flush */
  dirty = false;
  constructor(
    readonly prefix: string,
    first: Path,
  ) {
    this.slot = first;
  }

  get size(): number {
    return Array.isArray(this.slot) ? this.slot.length : 1;
  }

  /** The paths as a list (allocates for a lone path: not for hot loops). */
  get paths(): readonly Path[] {
    return Array.isArray(this.slot) ? this.slot : [this.slot];
  }

  /** The only path, when there is exactly one. */
  get lone(): Path | undefined {
    return Array.isArray(this.slot) ? (this.slot.length === 1 ? this.slot[0] : undefined) : this.slot;
  }

  /** Put a peer's path in (replacing the one with the same peer and path ID); returns the replaced one. */
  put(p: Path): Path | undefined {
    const slot = this.slot;
    if (!Array.isArray(slot)) {
      if (slot.peer === p.peer && slot.pathId === p.pathId) {
        this.slot = p;
        return slot;
      }
      this.slot = [slot, p];
      return undefined;
    }
    for (let i = 0; i < slot.length; i++) {
      const q = slot[i]!;
      if (q.peer === p.peer && q.pathId === p.pathId) {
        slot[i] = p;
        return q;
      }
    }
    slot.push(p);
    return undefined;
  }

  /** Take out a peer's path; returns it. */
  take(peer: Neighbor, pathId: number): Path | undefined {
    const slot = this.slot;
    if (!Array.isArray(slot)) {
      if (slot.peer !== peer || slot.pathId !== pathId) return undefined;
      this.slot = [];
      return slot;
    }
    for (let i = 0; i < slot.length; i++) {
      const q = slot[i]!;
      if (q.peer === peer && q.pathId === pathId) {
        slot.splice(i, 1);
        if (slot.length === 1) this.slot = slot[0]!;
        return q;
      }
    }
    return undefined;
  }
}

/**
 * What the instance keeps per neighbor: Adj-RIB-Out and counters per table. The neighbor's
 * Adj-RIB-In lives inside the Loc-RIB entries (every received path, hidden ones included,
 * hangs off its prefix's entry): one map lookup per received prefix instead of two, and one
 * map entry per prefix instead of one per prefix and peer.
 */
export class NeighborRib {
  /** paths received (Adj-RIB-In size), per table */
  readonly received = new Map<string, number>();
  readonly out = new Map<string, Map<string, PathAttributes>>();
  readonly accepted = new Map<string, number>();
  /** paths of this peer that are the best of their prefix, per table */
  readonly active = new Map<string, number>();
  /** exported attributes per source attributes object (no policy change) */
  exportCache = new WeakMap<PathAttributes, PathAttributes>();
  /** exported attributes changed by policy, interned by content */
  intern = new Map<string, PathAttributes>();
  /**
   * Attribute sets already seen from this peer, by their wire bytes, with the outcome of
   * the session checks: UPDATEs that repeat a set share one object (memory, export grouping).
   */
  readonly attrCache = new Map<string, CheckedAttributes>();
  /** families whose End-of-RIB arrived in this session ("afi/safi") */
  eor: Set<string> | undefined;
  /** the full table was sent since the session came up */
  synced = false;
  staleTimer: NodeJS.Timeout | undefined;
  limitWarned = new Set<string>();
  /** the last path learned from this peer, shared by the next prefixes with the same facts */
  lastPath: Path | undefined = undefined;
  lastPathTable = '';
  tableOut(table: string): Map<string, PathAttributes> {
    let m = this.out.get(table);
    if (!m) this.out.set(table, (m = new Map()));
    return m;
  }
}

/** Attributes of routes we originate from other protocols, one per family (export caches key on them). */
/** An attribute set after the session checks; `mp` is it with MP_REACH's next hop, once built. */
interface CheckedAttributes {
  attrs: PathAttributes;
  withdraw?: string;
  hidden?: string;
  mp?: PathAttributes;
}

/** Distinct attribute sets remembered per peer before the cache starts over. */
const ATTR_CACHE_MAX = 65536;

const LOCAL_BASE4: PathAttributes = Object.freeze({ origin: 0, asPath: [] }) as PathAttributes;
const LOCAL_BASE6: PathAttributes = Object.freeze({ origin: 0, asPath: [] }) as PathAttributes;

function isPrivateAs(a: number): boolean {
  return (a >= 64512 && a <= 65534) || (a >= 4200000000 && a <= 4294967294);
}

function attrsKey(a: PathAttributes): string {
  return JSON.stringify(a, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
}

function hasModifications(r: PolicyResult | undefined): boolean {
  return !!r && (r.localPref !== undefined || r.metric !== undefined || r.origin !== undefined || r.nextHop !== undefined || r.asPathPrepend !== undefined || r.communities !== undefined || r.preference !== undefined);
}

function prepend(path: readonly AsPathSegment[] | undefined, asns: number[]): AsPathSegment[] {
  const segs = path ? [...path] : [];
  if (asns.length === 0) return segs;
  const first = segs[0];
  if (first && first.type === SegmentType.AsSequence && first.asns.length + asns.length <= 255) segs[0] = { type: SegmentType.AsSequence, asns: [...asns, ...first.asns] };
  else segs.unshift({ type: SegmentType.AsSequence, asns });
  return segs;
}

export class BgpInstance implements NeighborOwner {
  readonly neighbors = new Map<string, Neighbor>();
  readonly ribs = new Map<Neighbor, NeighborRib>();
  private readonly loc = new Map<string, Map<string, LocEntry>>();
  private readonly nexthops = new Map<string, NextHop>();
  private dirty = new Map<string, LocEntry[]>();
  /** non-BGP RIB routes whose export may have changed */
  private ribDirty = new Map<string, Set<string>>();
  private scheduled = false;
  private stopped = false;
  /** RFC 4724 restarting speaker: routing deferred until End-of-RIB from every peer */
  private deferring = false;
  private deferTimer: NodeJS.Timeout | undefined;
  /** the data plane kept forwarding through our restart */
  private keptForwarding = true;
  private readonly eorFrom = new Set<Neighbor>();
  private readonly pathCounts = new Map<string, number>();
  /** the last shown-attributes record, for the run of prefixes of one UPDATE */
  private lastShown: { a: PathAttributes; peer: Neighbor; step: DecidingStep; r: Record<string, unknown> } | undefined;
  private readonly activeCounts = new Map<string, number>();
  /**
   * Prefixes whose BGP best path is not the RIB's active route (a static or direct route
   * with a better preference won), per table: BGP advertises active routes only, so these
   * are exported as the winning protocol's route (if an export policy accepts it) and must
   * be looked at again when the RIB makes the BGP route active.
   */
  private readonly shadowed = new Map<string, Set<string>>();
  /** the last import verdict, for the next prefixes of the same UPDATE (when the chain ignores prefixes) */
  private lastImport: { chain: readonly string[]; nb: Neighbor; inAttrs: PathAttributes; policy: PolicyEngine; accepted: boolean; attrs: PathAttributes; preference: number | undefined } | undefined;
  /** the last route handed to the RIB, shared by the next prefixes with the same facts */
  private lastRibRoute: RibRoute | undefined;
  private readonly shownCache = new WeakMap<PathAttributes, Map<string, Record<string, unknown>>>();
  readonly tables = new Set<string>();
  /** L3VPN state: VRF imports and exports, labels (master instance only) */
  private readonly vpn: VpnState;

  constructor(
    public cfg: InstanceConfig,
    public policy: PolicyEngine,
    private readonly rib: RibApi,
    private readonly logFn: (msg: string) => void,
    private readonly transport: TransportOptions,
    /** optional RIB extra: every active route of a table (to export non-BGP routes) */
    private readonly ribRoutes?: (table: string) => Iterable<RibRoute>,
  ) {
    this.tables.add(tableName(cfg.name, Afi.Ipv4));
    this.tables.add(tableName(cfg.name, Afi.Ipv6));
    if (cfg.name === 'master') {
      this.tables.add(VPN_TABLE4);
      this.tables.add(VPN_TABLE6);
    }
    this.vpn = new VpnState(rib, (v, prefix, p) =>
      v.importPolicies.length ? this.policy.evaluate(v.importPolicies, { ...this.subjectOf(prefix, p.peer, p.attrs), instance: v.name }, false).accept : matchesTargets(p.attrs.extCommunities, v.importTargets));
    if (cfg.vrfs.length) this.reconfigureVrfs();
  }

  get routerId(): string {
    return this.cfg.routerId;
  }

  get restarting(): boolean {
    return this.deferring;
  }

  get forwardingPreserved(): boolean {
    return this.keptForwarding;
  }

  /**
   * After a restart with forwarding preserved (RFC 4724 section 4.1): receive from peers,
   * but run no best-path, touch no RIB route and advertise nothing until every configured
   * peer has sent End-of-RIB for its families, or the deferral time ran out.
   */
  deferRouting(seconds: number, forwardingPreserved = true): void {
    this.deferring = true;
    this.keptForwarding = forwardingPreserved;
    this.log(`bgp: restarting speaker: deferring routing for up to ${seconds} s`);
    this.deferTimer = setTimeout(() => this.endDeferral('deferral time over'), seconds * 1000);
    this.deferTimer.unref?.();
  }

  private checkDeferral(): void {
    if (!this.deferring) return;
    const waiting = [...this.neighbors.values()].filter((n) => !n.cfg.shutdown && !(n.established && this.eorFrom.has(n)));
    if (waiting.length === 0) this.endDeferral('End-of-RIB from every peer');
  }

  private endDeferral(why: string): void {
    if (!this.deferring) return;
    this.deferring = false;
    if (this.deferTimer) clearTimeout(this.deferTimer);
    this.log(`bgp: restarting speaker: routing resumes (${why})`);
    this.flush();
    for (const nb of this.neighbors.values()) {
      const st = this.ribs.get(nb);
      if (!st || !nb.established) continue;
      this.sendFullTable(nb, st);
    }
  }

  /** The whole table to a peer whose session came up, then End-of-RIB per family. */
  private sendFullTable(nb: Neighbor, st: NeighborRib): void {
    st.synced = true;
    try {
      for (const f of nb.families) {
        this.exportTable(nb, st, f.table, false);
        nb.send(encodeEndOfRib(f.afi, f.safi));
      }
    } catch (err) {
      nb.internalError(undefined, err);
    }
  }

  log(msg: string): void {
    this.logFn(this.cfg.name === 'master' ? msg : `[${this.cfg.name}] ${msg}`);
  }

  // ------------------------------------------------------------------ configuration

  addNeighbor(p: PeerConfig): Neighbor {
    const nb = new Neighbor(p, this, this.transport);
    this.neighbors.set(p.address, nb);
    this.ribs.set(nb, new NeighborRib());
    nb.start();
    return nb;
  }

  removeNeighbor(address: string, subcode: number = CeaseSubcode.PeerDeconfigured): void {
    const nb = this.neighbors.get(address);
    if (!nb) return;
    nb.stop(subcode);
    this.dropAllPaths(nb);
    const st = this.ribs.get(nb);
    if (st?.staleTimer) clearTimeout(st.staleTimer);
    this.ribs.delete(nb);
    this.neighbors.delete(address);
    this.eorFrom.delete(nb);
    this.checkDeferral();
    this.schedule();
  }

  /** New policies: re-run import over every Adj-RIB-In and export toward every peer. */
  softReconfigure(): void {
    for (const nb of this.neighbors.values()) this.softInbound(nb);
    for (const nb of this.neighbors.values()) this.softOutbound(nb);
  }

  softInbound(nb: Neighbor): void {
    const st = this.ribs.get(nb);
    if (!st) return;
    for (const table of this.tables) {
      for (const { prefix, path } of this.adjRibIn(nb, table)) {
        this.learn(nb, st, table, prefix, path.pathId, path.inAttrs, path.hidden && path.hidden !== 'rejected by import policy' ? path.hidden : undefined, undefined, path.labels);
      }
    }
    this.schedule();
  }

  /** A neighbor's Adj-RIB-In for a table: its paths, found in the Loc-RIB entries. */
  adjRibIn(nb: Neighbor, table: string): { prefix: string; path: Path }[] {
    const out: { prefix: string; path: Path }[] = [];
    const lt = this.loc.get(table);
    if (!lt) return out;
    for (const e of lt.values()) for (const path of e.paths) if (path.peer === nb) out.push({ prefix: e.prefix, path });
    return out;
  }

  softOutbound(nb: Neighbor): void {
    const st = this.ribs.get(nb);
    if (!st || !nb.established) return;
    st.exportCache = new WeakMap();
    st.intern.clear();
    for (const table of this.tables) this.exportTable(nb, st, table, false);
  }

  stop(): void {
    this.stopped = true;
    if (this.deferTimer) clearTimeout(this.deferTimer);
    this.deferring = false;
    for (const a of [...this.neighbors.keys()]) this.removeNeighbor(a);
    for (const nh of this.nexthops.values()) nh.unwatch?.();
    this.nexthops.clear();
    for (const t of this.tables) if (!isVpnTable(t)) this.rib.flush(t, 'bgp');
    this.vpn.stop();
  }

  // ------------------------------------------------------------------ neighbor events

  sessionUp(nb: Neighbor): void {
    const st = this.ribs.get(nb)!;
    if (this.neighbors.get(nb.cfg.address) !== nb) return;
    st.out.clear();
    st.exportCache = new WeakMap();
    st.intern.clear();
    this.log(`bgp neighbor ${nb.cfg.address}: Established (families ${nb.families.map((f) => Neighbor.familyName(f.afi, f.safi)).join(' ')})`);
    // graceful restart: families the peer no longer preserves lose their stale routes now
    const gr = nb.peerOpen?.capabilities.gracefulRestart;
    for (const table of this.tables) {
      const kept = gr?.families.some((f) => f.forwardingPreserved && this.familyOfTable(nb, table, f));
      if (!kept) this.purgeStale(nb, st, table);
    }
    if (this.hasStale(nb)) this.armStaleTimer(nb, st, nb.cfg.gracefulRestart?.staleRoutesTime ?? 300);
    if (this.deferring) return; // the table goes out when the deferral ends
    this.sendFullTable(nb, st);
  }

  sessionDown(nb: Neighbor, notification: boolean): void {
    const st = this.ribs.get(nb);
    if (!st) return;
    st.synced = false;
    st.attrCache.clear();
    st.out.clear();
    st.eor = undefined;
    this.eorFrom.delete(nb);
    const gr = nb.peerOpen?.capabilities.gracefulRestart;
    if (!notification && gr && nb.cfg.gracefulRestart && gr.families.length > 0) {
      // helper mode (RFC 4724 section 4.2): keep the peer's routes, marked stale, for its restart time
      let n = 0;
      for (const table of this.tables) {
        if (!gr.families.some((f) => this.familyOfTable(nb, table, f))) {
          this.purgeTable(st, table, nb);
          continue;
        }
        for (const { path } of this.adjRibIn(nb, table)) {
          path.stale = true;
          n++;
        }
      }
      this.log(`bgp neighbor ${nb.cfg.address}: graceful restart: keeping ${n} routes as stale for ${gr.time} s`);
      this.armStaleTimer(nb, st, gr.time || 120);
    } else {
      this.dropAllPaths(nb);
    }
    this.schedule();
  }

  /** Whether a graceful-restart family (AFI/SAFI) is one of the peer's families for this table. */
  private familyOfTable(nb: Neighbor, table: string, f: { afi: number; safi: number }): boolean {
    return nb.cfg.families.some((c) => c.table === table && c.afi === f.afi && c.safi === f.safi);
  }

  private armStaleTimer(nb: Neighbor, st: NeighborRib, seconds: number): void {
    if (st.staleTimer) clearTimeout(st.staleTimer);
    st.staleTimer = setTimeout(() => {
      st.staleTimer = undefined;
      for (const table of this.tables) this.purgeStale(nb, st, table);
      this.schedule();
    }, seconds * 1000);
    st.staleTimer.unref?.();
  }

  private hasStale(nb: Neighbor): boolean {
    for (const table of this.tables) for (const { path } of this.adjRibIn(nb, table)) if (path.stale) return true;
    return false;
  }

  private purgeStale(nb: Neighbor, st: NeighborRib, table: string): void {
    let n = 0;
    for (const { prefix, path } of this.adjRibIn(nb, table)) {
      if (!path.stale) continue;
      this.unlearn(nb, st, table, prefix, path.pathId);
      n++;
    }
    if (n) this.log(`bgp neighbor ${nb.cfg.address}: removed ${n} stale routes from ${table}`);
    this.schedule();
  }

  private purgeTable(st: NeighborRib, table: string, nb: Neighbor): void {
    for (const { prefix, path } of this.adjRibIn(nb, table)) this.unlearn(nb, st, table, prefix, path.pathId);
  }

  private dropAllPaths(nb: Neighbor): void {
    const st = this.ribs.get(nb);
    if (!st) return;
    for (const table of this.tables) this.purgeTable(st, table, nb);
  }

  routeRefresh(nb: Neighbor, r: RouteRefresh): void {
    const st = this.ribs.get(nb)!;
    const f = nb.families.find((x) => x.afi === r.afi && x.safi === r.safi);
    if (!f) return;
    if (r.subtype === RefreshSubtype.Request) {
      const enhanced = nb.peerOpen?.capabilities.enhancedRouteRefresh === true;
      if (enhanced) nb.send(encodeRouteRefresh({ afi: r.afi, safi: r.safi, subtype: RefreshSubtype.BoRR }));
      this.exportTable(nb, st, f.table, true);
      if (enhanced) nb.send(encodeRouteRefresh({ afi: r.afi, safi: r.safi, subtype: RefreshSubtype.EoRR }));
      else nb.send(encodeEndOfRib(r.afi, r.safi));
    } else if (r.subtype === RefreshSubtype.BoRR) {
      // RFC 7313: what the peer does not re-send before EoRR is gone
      for (const { path } of this.adjRibIn(nb, f.table)) path.stale = true;
    } else if (r.subtype === RefreshSubtype.EoRR) {
      this.purgeStale(nb, st, f.table);
    }
  }

  /** Ask the peer to send its routes again (soft-inbound with route refresh). */
  requestRefresh(nb: Neighbor): boolean {
    if (!nb.established || !nb.peerOpen?.capabilities.routeRefresh) return false;
    for (const f of nb.families) nb.send(encodeRouteRefresh({ afi: f.afi, safi: f.safi, subtype: RefreshSubtype.Request }));
    return true;
  }

  // ------------------------------------------------------------------ UPDATE ingestion

  update(nb: Neighbor, d: DecodedUpdate): void {
    const st = this.ribs.get(nb);
    if (!st || this.stopped) return;
    const u = d.update;
    if (d.problems.length) this.log(`bgp neighbor ${nb.cfg.address}: UPDATE: ${d.problems.join('; ')}`);
    if (d.endOfRib) {
      const eor = d.endOfRib;
      const f = nb.families.find((x) => x.afi === eor.afi && x.safi === eor.safi);
      if (f) this.purgeStale(nb, st, f.table);
      // recorded even when not deferring: the FIB export's start-up gate reads it (initial-sync.ts)
      (st.eor ??= new Set()).add(`${eor.afi}/${eor.safi}`);
      if (this.deferring) {
        if (nb.families.every((x) => st.eor!.has(x.key))) this.eorFrom.add(nb);
        this.checkDeferral();
      }
      return;
    }
    const t4 = tableName(this.cfg.name, Afi.Ipv4);
    const has4 = nb.families.some((f) => f.afi === Afi.Ipv4 && f.safi !== Safi.MplsVpn);
    const ap4 = nb.options.addPathRx.has('1/1');
    if (has4) for (let i = 0; i < u.withdrawn.length; i++) this.unlearn(nb, st, t4, u.withdrawn[i]!, ap4 ? u.withdrawnIds![i]! : 0);
    const mu = u.mpUnreach;
    const fu = mu && nb.families.find((f) => f.afi === mu.afi && f.safi === mu.safi);
    if (mu && fu) {
      const t = fu.table;
      const rds = mu.rds;
      for (let i = 0; i < mu.prefixes.length; i++) this.unlearn(nb, st, t, rds ? `${rds[i]}:${mu.prefixes[i]}` : mu.prefixes[i]!, mu.pathIds?.[i] ?? 0);
    }
    let withdrawAll = d.outcome === 'treat-as-withdraw';
    let attrs = u.attrs;
    let hidden: string | undefined;
    let checked: CheckedAttributes | undefined;
    if (!withdrawAll && (u.nlri.length || u.mpReach)) {
      let c = d.attrKey !== undefined ? st.attrCache.get(d.attrKey) : undefined;
      if (!c) {
        c = this.checkSessionRules(nb, attrs);
        if (d.attrKey !== undefined) {
          if (st.attrCache.size >= ATTR_CACHE_MAX) st.attrCache.clear();
          st.attrCache.set(d.attrKey, c);
        }
      }
      if (c.withdraw) {
        this.log(`bgp neighbor ${nb.cfg.address}: UPDATE: ${c.withdraw} (treat-as-withdraw)`);
        withdrawAll = true;
      }
      attrs = c.attrs;
      hidden = c.hidden;
      checked = c;
    }
    if (u.nlri.length && has4) {
      const why = hidden ?? this.nextHopProblem(nb, attrs.nextHop);
      const nh = withdrawAll || why ? undefined : this.nexthopFor(t4, attrs.nextHop!);
      for (let i = 0; i < u.nlri.length; i++) {
        const id = ap4 ? u.nlriIds![i]! : 0;
        if (withdrawAll) this.unlearn(nb, st, t4, u.nlri[i]!, id);
        else this.learn(nb, st, t4, u.nlri[i]!, id, attrs, why, nh);
      }
      this.releaseUnused(nh);
    }
    const mr = u.mpReach;
    const fr = mr && nb.families.find((f) => f.afi === mr.afi && f.safi === mr.safi);
    if (mr && fr) {
      const t = fr.table;
      const rds = mr.rds;
      const labels = mr.labels;
      let a = attrs;
      if (!withdrawAll) {
        a = checked?.mp ?? { ...attrs, nextHop: mr.nextHop, nextHopLocal: mr.nextHopLocal };
        if (checked) checked.mp = a;
      }
      const why = hidden ?? this.nextHopProblem(nb, mr.nextHop);
      const nh = withdrawAll || why ? undefined : this.nexthopFor(t, mr.nextHop);
      for (let i = 0; i < mr.prefixes.length; i++) {
        const id = mr.pathIds?.[i] ?? 0;
        const key = rds ? `${rds[i]}:${mr.prefixes[i]}` : mr.prefixes[i]!;
        if (withdrawAll) this.unlearn(nb, st, t, key, id);
        else this.learn(nb, st, t, key, id, a, why, nh, labels?.[i]);
      }
      this.releaseUnused(nh);
    }
    this.checkPrefixLimits(nb, st);
    this.schedule();
  }

  /**
   * The checks that need the session's context (RFC 4271 6.3, RFC 7606 section 7): what
   * makes the whole UPDATE treat-as-withdraw, which attributes an eBGP peer may not send,
   * and loops that hide the routes.
   */
  checkSessionRules(nb: Neighbor, a: PathAttributes): { attrs: PathAttributes; withdraw?: string; hidden?: string } {
    let attrs = a;
    if (nb.ebgp) {
      const segs = a.asPath ?? [];
      if (segs.length === 0) return { attrs, withdraw: 'empty AS_PATH from an external peer' };
      if (segs.some((s) => s.type === SegmentType.ConfedSequence || s.type === SegmentType.ConfedSet)) return { attrs, withdraw: 'confederation segment from an external peer' };
      if (segs[0]!.type !== SegmentType.AsSequence || segs[0]!.asns[0] !== nb.cfg.peerAs) return { attrs, withdraw: `AS_PATH does not start with the peer AS ${nb.cfg.peerAs}` };
      if (a.localPref !== undefined || a.originatorId !== undefined || a.clusterList !== undefined) {
        // attribute discard: these are iBGP-only
        attrs = { ...a };
        delete attrs.localPref;
        delete attrs.originatorId;
        delete attrs.clusterList;
      }
    }
    const local = nb.cfg.localAs;
    if (a.asPath?.some((s) => s.asns.includes(local) || s.asns.includes(this.cfg.localAs))) return { attrs, hidden: 'AS path loop' };
    if (!nb.ebgp) {
      if (a.originatorId === this.cfg.routerId) return { attrs, hidden: 'ORIGINATOR_ID is our router ID' };
      const cluster = this.clusterId();
      if (cluster && a.clusterList?.includes(cluster)) return { attrs, hidden: 'cluster list loop' };
    }
    return { attrs };
  }

  private nextHopProblem(nb: Neighbor, nh: string | undefined): string | undefined {
    if (nh === undefined) return 'no next hop';
    if (nh === '0.0.0.0' || nh === '::') return 'next hop is unspecified';
    if (nh === nb.localAddress) return 'next hop is our own address';
    return undefined;
  }

  private clusterId(): string | undefined {
    for (const nb of this.neighbors.values()) if (nb.cfg.cluster) return nb.cfg.cluster;
    return undefined;
  }

  private checkPrefixLimits(nb: Neighbor, st: NeighborRib): void {
    for (const f of nb.families) {
      const lim = f.prefixLimit;
      if (!lim) continue;
      const n = st.accepted.get(f.table) ?? 0;
      if (n <= lim.maximum) continue;
      if (lim.teardown) {
        this.log(`bgp neighbor ${nb.cfg.address}: ${n} prefixes in ${f.table} exceed the limit ${lim.maximum}: closing`);
        const data = new Uint8Array(7);
        const dv = new DataView(data.buffer);
        dv.setUint16(0, f.afi);
        data[2] = f.safi;
        dv.setUint32(3, lim.maximum);
        nb.event({ name: 'AutomaticStop', subcode: CeaseSubcode.MaximumPrefixesReached, data });
        return;
      }
      if (!st.limitWarned.has(f.table)) {
        st.limitWarned.add(f.table);
        this.log(`bgp neighbor ${nb.cfg.address}: ${n} prefixes in ${f.table} exceed the limit ${lim.maximum}`);
      }
    }
  }

  private subjectOf(prefix: string, nb: Neighbor | undefined, a: PathAttributes): PolicySubject {
    return {
      prefix,
      protocol: 'bgp',
      neighbor: nb?.cfg.address,
      nextHops: a.nextHop ? [a.nextHop] : [],
      localPref: a.localPref,
      metric: a.med,
      routeType: nb?.ebgp ? 'external' : 'internal',
      instance: this.cfg.name,
      asPath: a.asPath,
      communities: a.communities,
      extCommunities: a.extCommunities,
      largeCommunities: a.largeCommunities,
    };
  }

  /** Put one received path into the neighbor's Adj-RIB-In and, when import accepts it, the Loc-RIB. */
  private learn(nb: Neighbor, st: NeighborRib, table: string, prefix: string, pathId: number, inAttrs: PathAttributes, hidden: string | undefined, nhIn?: NextHop, labels?: readonly number[]): void {
    let attrs = inAttrs;
    let accepted = hidden === undefined;
    let preference: number | undefined;
    let why = hidden;
    if (accepted && nb.cfg.import.length && !isVpnTable(table)) {
      const chain = nb.cfg.import;
      // the prefixes of an UPDATE share one verdict (and one changed attribute set) when the
      // import chain does not look at prefixes
      const li = this.lastImport;
      if (li && li.chain === chain && li.nb === nb && li.inAttrs === inAttrs && li.policy === this.policy) {
        accepted = li.accepted;
        attrs = li.attrs;
        preference = li.preference;
      } else {
        const r = this.policy.evaluate(chain, this.subjectOf(prefix, nb, inAttrs), true);
        accepted = r.accept;
        if (accepted && hasModifications(r)) {
          attrs = this.applyImport(nb, inAttrs, r);
          preference = r.preference;
        }
        this.lastImport = this.policy.dependsOnPrefix(chain) ? undefined : { chain, nb, inAttrs, policy: this.policy, accepted, attrs, preference };
      }
      if (!accepted) why = 'rejected by import policy';
    }
    let nh: NextHop | undefined;
    if (accepted) {
      nh = nhIn && attrs === inAttrs ? nhIn : this.nexthopFor(table, attrs.nextHop ?? '');
      nh.refs++;
    }
    // the prefixes of one UPDATE share one path object (nothing in it is per prefix; staleness
    // is set for all of a peer's paths at once, and a stale path is never handed out again)
    let p = st.lastPath;
    if (!p || p.peer !== nb || p.pathId !== pathId || p.inAttrs !== inAttrs || p.attrs !== attrs || p.accepted !== accepted || p.nh !== nh || p.hidden !== why || p.preference !== preference || p.stale || st.lastPathTable !== table || p.labels !== labels) {
      p = new Path(nb, pathId, inAttrs, attrs, accepted, nh, why, preference, labels);
      st.lastPath = p;
      st.lastPathTable = table;
    }
    let lt = this.loc.get(table);
    if (!lt) this.loc.set(table, (lt = new Map()));
    let e = lt.get(prefix);
    let old: Path | undefined;
    if (!e) lt.set(prefix, (e = new LocEntry(prefix, p)));
    else old = e.put(p);
    if (old) this.forget(st, table, old);
    else bump(st.received, table, 1);
    if (accepted) {
      bump(st.accepted, table, 1);
      bump(this.pathCounts, table, 1);
    }
    if (accepted || old?.accepted || e.size === 1) this.markDirty(table, e);
  }

  private applyImport(nb: Neighbor, a: PathAttributes, r: PolicyResult): PathAttributes {
    const out: PathAttributes = { ...a };
    if (r.localPref !== undefined) out.localPref = r.localPref;
    if (r.metric !== undefined) out.med = r.metric;
    if (r.origin !== undefined) out.origin = r.origin;
    if (r.asPathPrepend) out.asPath = prepend(a.asPath, r.asPathPrepend);
    if (r.nextHop === 'peer-address') out.nextHop = nb.cfg.address;
    else if (r.nextHop && (tryParseIpv4(r.nextHop) !== undefined || tryParseIpv6(r.nextHop) !== undefined)) out.nextHop = r.nextHop;
    if (r.communities) {
      out.communities = r.communities.communities;
      out.extCommunities = r.communities.extCommunities;
      out.largeCommunities = r.communities.largeCommunities;
    }
    return out;
  }

  /** Remove one path from the neighbor's Adj-RIB-In and the Loc-RIB. */
  private unlearn(nb: Neighbor, st: NeighborRib, table: string, prefix: string, pathId: number): void {
    const e = this.loc.get(table)?.get(prefix);
    const old = e?.take(nb, pathId);
    if (!e || !old) return;
    bump(st.received, table, -1);
    this.forget(st, table, old);
    this.markDirty(table, e);
  }

  /** Counters and next-hop reference of a path that left. */
  private forget(st: NeighborRib, table: string, old: Path): void {
    if (old.nh) this.releaseNexthop(old.nh);
    if (!old.accepted) return;
    bump(st.accepted, table, -1);
    bump(this.pathCounts, table, -1);
  }

  // ------------------------------------------------------------------ next hops

  /** The next-hop record for an address (watched in the RIB from its first use); the caller takes a reference. */
  private nexthopFor(table: string, address: string): NextHop {
    const k = `${table} ${address}`;
    let nh = this.nexthops.get(k);
    if (nh) return nh;
    const n = (nh = new NextHop(table, address));
    this.nexthops.set(k, n);
    let first = true;
    const vpn = isVpnTable(table);
    const where = resolutionOf(table, address);
    try {
      n.unwatch = this.rib.watch(where.table, where.address, (route) => {
        const resolvable = route !== undefined && (route.action ?? 'forward') === 'forward';
        const cost = route && route.protocol !== 'bgp' ? route.metric ?? 0 : 0;
        // a VPN route's VRF copy is built from the resolving route itself: any change counts
        const moved = vpn && n.route !== route;
        if (vpn) n.route = route;
        if (resolvable === n.resolvable && cost === n.igpCost && !moved) return;
        n.resolvable = resolvable;
        n.igpCost = cost;
        if (!first) this.nexthopChanged(n);
      });
    } catch {
      n.unwatch = undefined; // an address the RIB cannot parse stays unresolvable
    }
    first = false;
    return n;
  }

  /** Drop a record nobody referenced (all the UPDATE's routes were hidden). */
  private releaseUnused(nh: NextHop | undefined): void {
    if (nh && nh.refs === 0) {
      nh.unwatch?.();
      this.nexthops.delete(`${nh.table} ${nh.address}`);
    }
  }

  private releaseNexthop(nh: NextHop): void {
    if (--nh.refs > 0) return;
    nh.unwatch?.();
    this.nexthops.delete(`${nh.table} ${nh.address}`);
  }

  private nexthopChanged(nh: NextHop): void {
    const lt = this.loc.get(nh.table);
    if (!lt) return;
    for (const e of lt.values()) if (e.paths.some((p) => p.nh === nh)) this.markDirty(nh.table, e);
    this.schedule();
  }

  // ------------------------------------------------------------------ best path and RIB

  private markDirty(table: string, e: LocEntry): void {
    if (e.dirty) return;
    e.dirty = true;
    let l = this.dirty.get(table);
    if (!l) this.dirty.set(table, (l = []));
    l.push(e);
  }

  /** Whether every change of this table's routes matters (a VRF whose routes are exported as VPN routes). */
  watchesTable(table: string): boolean {
    return this.vpn.vrfOfTable(table) !== undefined;
  }

  /** The VRFs changed (route distinguisher, targets, VRFs added or removed): import and export again. */
  reconfigureVrfs(): void {
    const policyChanged = this.vpnPolicy !== undefined && this.vpnPolicy !== this.policy;
    this.vpnPolicy = this.policy;
    this.vpn.configure(this.cfg.vrfs, policyChanged, () => this.vpnEntries(), (t) => this.ribRoutes?.(t) ?? []);
    this.schedule();
  }

  /** the policies the VRF imports were last evaluated with */
  private vpnPolicy: PolicyEngine | undefined;

  private *vpnEntries(): Iterable<{ table: string; key: string; best: Path | undefined }> {
    for (const table of [VPN_TABLE4, VPN_TABLE6]) for (const e of this.loc.get(table)?.values() ?? []) yield { table, key: e.prefix, best: e.best };
  }

  /** mpls.0 as this instance allocated it. */
  get mpls() {
    return this.vpn.mpls;
  }

  /** Our VRF routes exported under a VPN table: key, VRF, label. */
  localVpnRoutes(table: string): { key: string; vrf: string; label: number | undefined }[] {
    return [...(this.vpn.local.get(table) ?? [])].map(([key, r]) => ({ key, vrf: r.vrf.name, label: this.vpn.labelOf(r.vrf.name) }));
  }

  /** The label of a VRF (vrf-table-label), when it has one. */
  vrfLabel(vrf: string): number | undefined {
    return this.vpn.labelOf(vrf);
  }

  /** Whether the RIB's active route for a prefix is another protocol's while BGP has a best path for it. */
  isShadowed(table: string, prefix: string): boolean {
    return this.shadowed.get(table)?.has(prefix) ?? false;
  }

  /** A non-BGP route changed in the RIB (or a shadowed BGP route became active): its export may change. */
  ribChanged(table: string, prefix: string): void {
    if (this.vpn.vrfOfTable(table)) {
      this.vpn.localChanged(table, prefix);
      this.schedule();
    }
    if (!this.tables.has(table)) return;
    let s = this.ribDirty.get(table);
    if (!s) this.ribDirty.set(table, (s = new Set()));
    s.add(prefix);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.stopped || this.deferring) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Run best-path on dirty prefixes, update the RIB, and send what changed to every peer. */
  flush(): void {
    if (this.deferring) return;
    const dirty = this.dirty;
    const ribDirty = this.ribDirty;
    this.dirty = new Map();
    this.ribDirty = new Map();
    const changed = new Map<string, (LocEntry | string)[]>();
    for (const [table, list] of dirty) {
      const lt = this.loc.get(table);
      const out: LocEntry[] = [];
      changed.set(table, out);
      const vpn = isVpnTable(table);
      for (const e of list) {
        e.dirty = false;
        if (this.decide(table, e)) out.push(e);
        if (vpn) this.vpn.importEntry(table, e.prefix, e.best);
        if (e.size === 0 && lt?.get(e.prefix) === e) lt.delete(e.prefix);
      }
    }
    this.vpn.flushImports();
    for (const [table, keys] of this.vpn.takeExportDirty()) {
      let out = changed.get(table);
      if (!out) changed.set(table, (out = []));
      for (const k of keys) out.push(this.loc.get(table)?.get(k) ?? k);
    }
    for (const nb of this.neighbors.values()) {
      const st = this.ribs.get(nb);
      if (!st?.synced || !nb.established) continue;
      try {
        for (const [table, entries] of changed) if (entries.length) this.exportPrefixes(nb, st, table, entries);
        for (const [table, set] of ribDirty) this.exportPrefixes(nb, st, table, [...set]);
      } catch (err) {
        nb.internalError(undefined, err);
      }
    }
  }

  /** Pick the best path of one prefix; returns whether what we advertise may have changed. */
  private decide(table: string, e: LocEntry): boolean {
    const prefix = e.prefix;
    let best: Path | undefined;
    let step: DecidingStep = 'Only path';
    /** what goes to the RIB: the best path, or the multipath set */
    let chosen: Path | Path[] | undefined;
    const lone = e.lone;
    if (lone) {
      best = lone.accepted && lone.resolvable ? lone : undefined;
      chosen = best;
    } else {
      let paths = e.paths;
      if (paths.some((p) => !p.accepted)) paths = paths.filter((p) => p.accepted);
      if (paths.length === 1) {
        best = paths[0]!.resolvable ? paths[0] : undefined;
        chosen = best;
      } else if (paths.length > 1) {
        const mpc = paths[0]!.peer.cfg.multipath ?? this.cfg.multipath;
        const sel = selectBest(paths, { multipath: mpc !== undefined, multipleAs: mpc?.multipleAs });
        best = sel.best;
        step = sel.step;
        if (best) chosen = sel.multipath.length === 1 ? best : sel.multipath;
      }
    }
    const prevBest = e.best;
    const prevInstalled = e.installed;
    if (prevBest !== best) {
      if (prevBest) {
        bump(this.activeCounts, table, -1);
        const r = this.ribs.get(prevBest.peer);
        if (r) bump(r.active, table, -1);
      }
      if (best) {
        bump(this.activeCounts, table, 1);
        bump(this.ribs.get(best.peer)!.active, table, 1);
      }
    }
    e.best = best;
    if (isVpnTable(table)) {
      // VPN routes stay in BGP (bgp.l3vpn.0); their VRF copies are made in flush
      e.installed = best;
      return prevBest !== best || prevInstalled !== best;
    }
    const same =
      Array.isArray(prevInstalled) && Array.isArray(chosen)
        ? prevInstalled.length === chosen.length && prevInstalled.every((p, i) => p === chosen[i])
        : prevInstalled === chosen;
    if (best && chosen) {
      if (!same || e.step !== step) {
        e.installed = chosen;
        e.step = step;
        const r = this.ribRoute(prefix, best, step, chosen);
        if (this.rib.announceShared) this.rib.announceShared(table, 'bgp', prefix, r);
        else this.rib.announce(table, 'bgp', r.prefix === prefix ? r : { ...r, prefix });
      }
    } else if (prevInstalled) {
      e.installed = undefined;
      this.rib.withdraw(table, 'bgp', prefix);
    }
    return prevBest !== best || !same;
  }

  private ribRoute(prefix: string, best: Path, step: DecidingStep, chosen: Path | Path[]): RibRoute {
    let nexthops: RibRoute['nexthops'];
    if (best.labels && !Array.isArray(chosen) && best.nh) {
      // labeled unicast: push the peer's label on top of whatever reaches its next hop
      const push = pushLabels(best.labels);
      nexthops = [push ? { gateway: best.nh.address, recursive: true, labels: push } : { gateway: best.nh.address, recursive: true }];
    } else if (!Array.isArray(chosen) && best.nh) {
      nexthops = best.nh.ribNexthops ??= [{ gateway: best.nh.address, recursive: true }];
    } else {
      const mp = Array.isArray(chosen) ? chosen : [chosen];
      const gateways: string[] = [];
      nexthops = [];
      for (const p of mp) {
        const g = p.attrs.nextHop;
        if (!g || gateways.includes(g)) continue;
        gateways.push(g);
        const push = p.labels && pushLabels(p.labels);
        nexthops.push(push ? { gateway: g, recursive: true, labels: push } : { gateway: g, recursive: true });
      }
    }
    const a = best.attrs;
    const attributes = this.shownAttributes(best, step);
    const preference = best.preference ?? DEFAULT_PREFERENCE.bgp;
    // one route object for the run of prefixes alike (an UPDATE's), announced with
    // announceShared: its `prefix` is the first one's
    const last = this.lastRibRoute;
    if (last && last.attributes === attributes && last.nexthops === nexthops && last.preference === preference && last.metric === a.med) return last;
    // the RIB keeps this object for as long as the route lives: nothing optional unless set
    // (the RIB stamps the age itself)
    const r: RibRoute = { prefix, protocol: 'bgp', preference, nexthops, attributes };
    if (a.med !== undefined) r.metric = a.med;
    this.lastRibRoute = r;
    return r;
  }

  /**
   * What `show route extensive` prints for a BGP route. Shared by every prefix with the
   * same attributes, peer and deciding step (an UPDATE's prefixes), so 1M routes cost a few
   * thousand of these; the raw attributes ride along, not enumerable, for code that wants them.
   */
  private shownAttributes(best: Path, step: DecidingStep): Record<string, unknown> {
    const a = best.attrs;
    const last = this.lastShown;
    if (last && last.a === a && last.peer === best.peer && last.step === step) return last.r;
    let m = this.shownCache.get(a);
    if (!m) this.shownCache.set(a, (m = new Map()));
    const key = `${best.peer.cfg.address} ${step}`;
    let r = m.get(key);
    if (r) {
      this.lastShown = { a, peer: best.peer, step, r };
      return r;
    }
    r = {
      Peer: `${best.peer.cfg.address} (AS ${best.peer.cfg.peerAs})`,
      'AS path': `${formatAsPath(a.asPath)}${a.asPath?.length ? ' ' : ''}${formatOrigin(a.origin)}`,
      Localpref: a.localPref ?? DEFAULT_LOCAL_PREF,
      'Selected by': step,
    };
    if (a.med !== undefined) r.MED = a.med;
    const comms = [
      ...(a.communities ?? []).map(formatCommunity),
      ...Array.from({ length: (a.extCommunities?.length ?? 0) / 8 }, (_, i) => formatExtCommunity(a.extCommunities!, i * 8)),
      ...Array.from({ length: (a.largeCommunities?.length ?? 0) / 3 }, (_, i) => `large:${formatLargeCommunity(a.largeCommunities!, i * 3)}`),
    ];
    if (comms.length) r.Communities = comms.join(' ');
    if (a.originatorId) r['Originator ID'] = a.originatorId;
    if (a.clusterList?.length) r['Cluster list'] = a.clusterList.join(' ');
    Object.defineProperty(r, 'bgp', { value: a, enumerable: false });
    m.set(key, r);
    this.lastShown = { a, peer: best.peer, step, r };
    return r;
  }

  // ------------------------------------------------------------------ export

  /** Send a whole table to a peer (session up, refresh, soft outbound). `resend` repeats unchanged routes. */
  private exportTable(nb: Neighbor, st: NeighborRib, table: string, resend: boolean): void {
    if (!nb.families.some((f) => f.table === table)) return;
    const prefixes = new Set<string>(this.loc.get(table)?.keys() ?? []);
    for (const p of st.tableOut(table).keys()) prefixes.add(p);
    if (isVpnTable(table)) for (const k of this.vpn.local.get(table)?.keys() ?? []) prefixes.add(k);
    else if (this.ribRoutes) for (const r of this.ribRoutes(table)) if (r.protocol !== 'bgp') prefixes.add(r.prefix);
    if (resend) st.tableOut(table).clear();
    this.exportPrefixes(nb, st, table, [...prefixes]);
  }

  /** Bring a peer's Adj-RIB-Out up to date for these prefixes (or Loc-RIB entries) and send the difference. */
  private exportPrefixes(nb: Neighbor, st: NeighborRib, table: string, items: readonly (string | LocEntry)[]): void {
    const f = nb.families.find((x) => x.table === table);
    if (!f) return;
    const out = st.tableOut(table);
    const groups = new Map<PathAttributes, string[]>();
    const withdrawn: string[] = [];
    for (const item of items) {
      const prefix = typeof item === 'string' ? item : item.prefix;
      const a = this.exportFor(nb, st, table, prefix, typeof item === 'string' ? undefined : item);
      const old = out.get(prefix);
      if (a === old) continue;
      if (a) {
        out.set(prefix, a);
        let g = groups.get(a);
        if (!g) groups.set(a, (g = []));
        g.push(prefix);
      } else if (old) {
        out.delete(prefix);
        withdrawn.push(prefix);
      }
    }
    const msgs: Uint8Array[] = [];
    if (f.safi !== Safi.Unicast) {
      this.packLabeled(nb, table, f.afi, f.safi, withdrawn, groups, msgs);
      nb.sendUpdates(msgs);
      return;
    }
    if (withdrawn.length) msgs.push(...packWithdrawals(f.afi, withdrawn, undefined, nb.options));
    for (const [a, ps] of groups) {
      const block = encodeAttributeBlock(a, f.afi, nb.options);
      msgs.push(...packUpdates(block, f.afi, ps, undefined, nb.options, f.afi === Afi.Ipv4 ? undefined : { nextHop: a.nextHop ?? '::', nextHopLocal: a.nextHopLocal }));
    }
    nb.sendUpdates(msgs);
  }

  /** UPDATEs of a labeled family (SAFI 4 or 128): the labels and RDs ride beside each prefix. */
  private packLabeled(nb: Neighbor, table: string, afi: number, safi: number, withdrawn: string[], groups: Map<PathAttributes, string[]>, msgs: Uint8Array[]): void {
    const vpn = safi === Safi.MplsVpn;
    const lp = (key: string, labels?: readonly number[]): LabeledPrefix => (vpn ? { ...splitVpnKey(key), labels } : { prefix: key, labels });
    if (withdrawn.length) msgs.push(...packLabeledWithdrawals(afi, safi, withdrawn.map((k) => lp(k)), nb.options));
    for (const [a, keys] of groups) {
      const block = encodeAttributeBlock(a, afi, nb.options, false);
      const routes = keys.map((k) => lp(k, this.outLabels(nb, table, k, a)));
      msgs.push(...packLabeledUpdates(block, afi, safi, routes, nb.options, { nextHop: a.nextHop ?? (afi === Afi.Ipv4 ? this.cfg.routerId : '::'), nextHopLocal: a.nextHopLocal }));
    }
  }

  /**
   * The label stack a labeled prefix goes out with: our VRF's table label for our own VPN
   * routes; the received labels when the next hop is passed on unchanged; otherwise implicit
   * null (labeled unicast with next hop self: the packet reaches us unlabeled and is routed
   * by IP lookup in inet.0).
   */
  private outLabels(nb: Neighbor, table: string, key: string, a: PathAttributes): readonly number[] {
    if (isVpnTable(table)) {
      const l = this.vpn.localLabel(table, key);
      if (l !== undefined) return [l];
    }
    const best = this.loc.get(table)?.get(key)?.best;
    if (best?.labels && a.nextHop === best.attrs.nextHop) return best.labels;
    return nb.families.some((f) => f.table === table && f.explicitNull) ? EXPLICIT_NULL : [IMPLICIT_NULL];
  }

  /** What we advertise for a VPN key: our VRF's route, or (reflection, iBGP) the best received path. */
  private exportVpn(nb: Neighbor, st: NeighborRib, table: string, key: string, entry?: LocEntry): PathAttributes | undefined {
    const local = this.vpn.local.get(table)?.get(key);
    if (local) {
      const base = table === VPN_TABLE6 ? local.vrf.base6 : local.vrf.base4;
      const chain = local.vrf.exportPolicies;
      if (chain.length === 0) return this.transform(base, undefined, nb, st, undefined, table);
      // vrf-export: accept or reject, and the communities (route targets) it adds or sets
      const subject: PolicySubject = { prefix: local.prefix, protocol: local.protocol, nextHops: [], instance: local.vrf.name, extCommunities: base.extCommunities };
      const r = this.policy.evaluate(chain, subject, false);
      return r.accept ? this.transform(base, undefined, nb, st, r, table) : undefined;
    }
    const best = (entry ?? this.loc.get(table)?.get(key))?.best;
    // no inter-AS option B: a VPN route is not passed to an external peer
    if (!best || nb.ebgp || !this.mayAdvertise(best, nb)) return undefined;
    return this.transform(best.attrs, best, nb, st, undefined, table);
  }

  /** What we advertise to `nb` for a prefix (undefined: nothing). */
  exportFor(nb: Neighbor, st: NeighborRib, table: string, prefix: string, entry?: LocEntry): PathAttributes | undefined {
    if (isVpnTable(table)) return this.exportVpn(nb, st, table, prefix, entry);
    let best = (entry ?? this.loc.get(table)?.get(prefix))?.best;
    const chain = nb.cfg.export;
    // BGP advertises the active route only (Junos without advertise-inactive): when another
    // protocol won the prefix in the RIB, what goes out is that route, through the export
    // policy, or nothing. Looked up only when something could be sent.
    if (best && (chain.length > 0 || this.mayAdvertise(best, nb))) {
      const active = this.rib.get(table, prefix);
      let set = this.shadowed.get(table);
      if (active && active.protocol !== 'bgp') {
        if (!set) this.shadowed.set(table, (set = new Set()));
        set.add(prefix);
        best = undefined;
      } else if (set?.size) set.delete(prefix);
    }
    if (best) {
      if (!this.mayAdvertise(best, nb)) return undefined;
      if (chain.length === 0) return this.transform(best.attrs, best, nb, st, undefined, table);
      const r = this.policy.evaluate(chain, this.subjectOf(prefix, best.peer, best.attrs), true);
      return r.accept ? this.transform(best.attrs, best, nb, st, r, table) : undefined;
    }
    if (chain.length === 0) return undefined; // default BGP export: BGP routes only
    const route = this.rib.get(table, prefix);
    if (!route || route.protocol === 'bgp') return undefined;
    const subject: PolicySubject = {
      prefix,
      protocol: route.protocol,
      nextHops: route.nexthops.map((n) => n.gateway).filter((g): g is string => g !== undefined),
      interfaces: route.nexthops.map((n) => n.interface).filter((g): g is string => g !== undefined),
      metric: route.metric,
      instance: this.cfg.name,
    };
    const r = this.policy.evaluate(chain, subject, false);
    return r.accept ? this.transform(table.endsWith('inet6.0') ? LOCAL_BASE6 : LOCAL_BASE4, undefined, nb, st, r, table) : undefined;
  }

  /** BGP's own advertisement rules: split horizon, iBGP full mesh / route reflection, well-known communities. */
  private mayAdvertise(best: Path, nb: Neighbor): boolean {
    if (best.peer === nb) return false;
    const c = best.attrs.communities;
    if (c) {
      if (c.includes(WELL_KNOWN_COMMUNITIES['no-advertise']!)) return false;
      if (nb.ebgp && (c.includes(WELL_KNOWN_COMMUNITIES['no-export']!) || c.includes(WELL_KNOWN_COMMUNITIES['no-export-subconfed']!))) return false;
    }
    if (!best.ebgp && !nb.ebgp) {
      // RFC 4456: a reflector reflects client routes to everyone and others' routes to clients
      const fromClient = best.peer.cfg.cluster !== undefined;
      const toClient = nb.cfg.cluster !== undefined;
      if (!fromClient && !toClient) return false;
      if (best.attrs.originatorId !== undefined && tryParseIpv4(best.attrs.originatorId) === nb.peerRouterId) return false;
    }
    if (nb.ebgp && neighborAs(best.attrs) === nb.cfg.peerAs) return false; // Junos: not back to the AS it came from
    return true;
  }

  private selfNextHop(nb: Neighbor, table: string): string {
    const la = nb.localAddress;
    if (!table.endsWith('inet6.0')) return la && tryParseIpv4(la) !== undefined ? la : this.cfg.routerId;
    if (la?.includes(':')) return la;
    // inet6-vpn over IPv4 (RFC 4659 section 3.2.1.2): the IPv4-mapped address, the router ID without a session address
    return la ? `::ffff:${la}` : table === VPN_TABLE6 ? `::ffff:${this.cfg.routerId}` : '::';
  }

  /** The attributes a peer gets: eBGP/iBGP rules, reflection, then policy changes. */
  private transform(src: PathAttributes, best: Path | undefined, nb: Neighbor, st: NeighborRib, r: PolicyResult | undefined, table: string): PathAttributes {
    const modified = hasModifications(r);
    if (!modified) {
      const c = st.exportCache.get(src);
      if (c) return c;
    }
    const a: PathAttributes = {};
    a.origin = r?.origin ?? src.origin ?? 0;
    let path = src.asPath ?? [];
    const policyNh = r?.nextHop;
    const nhAddress = policyNh && (tryParseIpv4(policyNh) !== undefined || tryParseIpv6(policyNh) !== undefined) ? policyNh : undefined;
    if (nb.ebgp) {
      if (nb.cfg.removePrivate) path = path.map((s) => ({ type: s.type, asns: s.asns.filter((x) => !isPrivateAs(x)) })).filter((s) => s.asns.length > 0);
      if (nb.cfg.asOverride) path = path.map((s) => ({ type: s.type, asns: s.asns.map((x) => (x === nb.cfg.peerAs ? nb.cfg.localAs : x)) }));
      a.asPath = prepend(path, [nb.cfg.localAs, ...(r?.asPathPrepend ?? [])]);
      a.nextHop = nhAddress ?? this.selfNextHop(nb, table);
      if (r?.metric !== undefined) a.med = r.metric;
    } else {
      a.asPath = r?.asPathPrepend ? prepend(path, r.asPathPrepend) : [...path];
      a.nextHop = nhAddress ?? (policyNh === 'self' || !best || !src.nextHop ? this.selfNextHop(nb, table) : src.nextHop);
      if (best && a.nextHop === src.nextHop && src.nextHopLocal) a.nextHopLocal = undefined;
      a.localPref = r?.localPref ?? src.localPref ?? nb.cfg.localPreference ?? DEFAULT_LOCAL_PREF;
      const med = r?.metric ?? src.med;
      if (med !== undefined) a.med = med;
      if (best && !best.ebgp) {
        a.originatorId = src.originatorId ?? formatIpv4(best.peerRouterId);
        a.clusterList = [nb.cfg.cluster ?? best.peer.cfg.cluster ?? this.cfg.routerId, ...(src.clusterList ?? [])];
      }
    }
    if (src.atomicAggregate) a.atomicAggregate = true;
    if (src.aggregator) a.aggregator = src.aggregator;
    const comms = r?.communities;
    const communities = comms ? comms.communities : src.communities;
    const ext = comms ? comms.extCommunities : src.extCommunities;
    const large = comms ? comms.largeCommunities : src.largeCommunities;
    if (communities?.length) a.communities = communities;
    if (ext?.length) a.extCommunities = ext;
    if (large?.length) a.largeCommunities = large;
    if (src.unknown) a.unknown = src.unknown;
    if (!modified) {
      st.exportCache.set(src, a);
      return a;
    }
    const k = attrsKey(a);
    const seen = st.intern.get(k);
    if (seen) return seen;
    st.intern.set(k, a);
    return a;
  }

  // ------------------------------------------------------------------ state for show commands

  locTable(table: string): Map<string, LocEntry> | undefined {
    return this.loc.get(table);
  }

  /** Counts per table for `show bgp summary` (kept as routes change: benchmarks poll this). */
  tableCounts(): { table: string; paths: number; active: number }[] {
    const out: { table: string; paths: number; active: number }[] = [];
    for (const t of this.tables) {
      if (!this.loc.has(t) && ![...this.neighbors.values()].some((n) => n.cfg.families.some((f) => f.table === t))) continue;
      out.push({ table: t, paths: this.pathCounts.get(t) ?? 0, active: this.activeCounts.get(t) ?? 0 });
    }
    return out;
  }

  /** Per neighbor and table: active, received, accepted, advertised. */
  peerCounts(nb: Neighbor): { table: string; active: number; received: number; accepted: number; advertised: number }[] {
    const st = this.ribs.get(nb);
    if (!st) return [];
    return nb.cfg.families.map((f) => ({
      table: f.table,
      active: st.active.get(f.table) ?? 0,
      received: st.received.get(f.table) ?? 0,
      accepted: st.accepted.get(f.table) ?? 0,
      advertised: st.out.get(f.table)?.size ?? 0,
    }));
  }
}

function bump(m: Map<string, number>, key: string, by: number): void {
  m.set(key, (m.get(key) ?? 0) + by);
}
