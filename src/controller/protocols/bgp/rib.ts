/**
 * BGP's routing information bases and next-hop tracking (the data, and the functions that
 * change it, each taking the instance's state as `cx`):
 *  - Path: one received path (peer, path ID, attributes before and after import policy,
 *    next-hop record); LocEntry: one prefix of the Loc-RIB with every path received for it,
 *    hidden ones too, so the Adj-RIBs-In live inside the Loc-RIB entries (one map lookup
 *    per received prefix instead of two, one map entry per prefix instead of one per prefix
 *    and peer); NeighborRib: what the instance keeps per neighbor (Adj-RIB-Out, counters,
 *    per-session caches); NextHop: where a next hop stands in the RIB, shared by its paths.
 *  - learn/unlearn: one path into or out of an Adj-RIB-In (import policy through
 *    policy.ts), marking the entry dirty for the decision process (decision.ts).
 *  - nexthopFor/releaseNexthop: next-hop records watched in the RIB; a change reaches
 *    events.nexthopChanged.
 *
 * Prefixes are values (lib/addr PrefixKey): an IPv4 prefix is its ipv4PrefixCode, as the
 * decoder made it, the key of its table's map and what goes to the RIB; IPv6 prefixes and
 * VPN keys (RD:prefix) are text. A LocEntry's text is made only when read (show, logs).
 *
 * Memory: one PathAttributes object is shared by every prefix of an UPDATE; the prefixes of
 * one UPDATE share one Path object too (nothing in it is per prefix).
 */
import { isIpv6PrefixKey, prefixKeyOfText, prefixKeyText, type PrefixKey } from '../../../lib/addr.js';
import { Uint32Map } from '../../../lib/uint32-map.js';
import type { PathAttributes } from '../../../wire/bgp/index.js';
import type { RibApi, RibEntryRef, RibRoute } from '../../rib/types.js';
import { tableFamily } from '../../rib/rib.js';
import { compareCode, STEPS, type DecidingStep, type PathFacts } from './best-path.js';
import { isVpnTable, mappedIpv4, VPN_TABLE4, VPN_TABLE6 } from './config.js';
import type { Neighbor } from './neighbor.js';
import type { BgpContext } from './instance.js';
import { importVerdict } from './policy.js';
import { announceFresh, decideFresh, freshDecided, freshList, ribRoute, schedule } from './decision.js';
import { nexthopChanged } from './events.js';

/** Where a next hop stands in the RIB, shared by every path using it. */
export class NextHop {
  resolvable = false;
  igpCost = 0;
  refs = 0;
  /** still the record of its address (false once let go: NeighborRib.lastNexthop must not hand it out) */
  live = true;
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

/** Where a next hop of a Loc-RIB table resolves: VPN next hops (IPv4, or IPv4-mapped IPv6) in inet.3 (falling back to inet.0). */
function resolutionOf(table: string, address: string): { table: string; address: string } {
  if (!isVpnTable(table)) return { table, address };
  // VPN next hops resolve over MPLS tunnels (inet.3: IS-IS SR), the RIB falling back to inet.0
  const mapped = mappedIpv4(address);
  if (mapped) return { table: 'inet.3', address: mapped };
  return { table: address.includes(':') ? 'inet6.3' : 'inet.3', address };
}

/**
 * The Loc-RIB key of a prefix given as text (the RIB's listeners, other protocols' routes,
 * tests): a VPN table's RD:prefix as it is, any other prefix as its value.
 */
export function locKey(table: string, text: string): PrefixKey {
  if (isVpnTable(table)) return text;
  try {
    return prefixKeyOfText(text);
  } catch {
    return text; // not a prefix: it matches nothing
  }
}

/** Implicit null (RFC 3032): nothing to push. */
export const IMPLICIT_NULL = 3;
/** IPv4 explicit null: the last hop pops it and looks the packet up in inet.0. */
export const EXPLICIT_NULL: readonly number[] = [0];

/**
 * Values by deciding step, as [step, value, step, value, ...] sized to what it holds: a path
 * is mostly decided by one or two steps, and an array indexed by step (with the room V8
 * adds as it grows) cost ~180 bytes per path where this costs 64 to 80 (100k attribute sets
 * from two peers: 200k paths, each keeping what `show route` prints for it).
 */
type StepList<T> = readonly (number | T)[];

function stepAt<T>(l: StepList<T> | undefined, step: number): T | undefined {
  if (l === undefined) return undefined;
  for (let i = 0; i < l.length; i += 2) if (l[i] === step) return l[i + 1] as T;
  return undefined;
}

/** The list with `step` set to `v` (a new list, exactly sized). */
function withStep<T>(l: StepList<T> | undefined, step: number, v: T): StepList<T> {
  if (l === undefined) return [step, v];
  for (let i = 0; i < l.length; i += 2) if (l[i] === step) {
    const out = l.slice();
    out[i + 1] = v;
    return out;
  }
  // not push: a pushed array takes room for 16 more
  const out = new Array<number | T>(l.length + 2);
  for (let i = 0; i < l.length; i++) out[i] = l[i]!;
  out[l.length] = step;
  out[l.length + 1] = v;
  return out;
}

export class Path implements PathFacts {
  /** bit 0: accepted by import; bit 1: stale (graceful restart, enhanced route refresh) */
  private bits: number;
  /** rare facts kept out of line: why the path is hidden, a route preference set by import policy, labels (SAFI 4/128) */
  private extra: { readonly hidden?: string; readonly preference?: number; readonly labels?: readonly number[] } | undefined;
  /**
   * The RIB routes of prefixes this path is the best of, by the deciding step's index
   * (decision.ts ribRoute): made once per path and step, kept until the end of the next
   * flush (BgpContext.routesKept), so that a path does not hold routes the RIB let go of.
   */
  private routes: StepList<RibRoute> | undefined = undefined;
  /** what `show route` prints for a route of this path, by the deciding step's index (decision.ts shownAttributes) */
  private shown: StepList<Record<string, unknown>> | undefined = undefined;
  /** the last compact two-path form made with this path first (PathPair.of): the prefixes of a run share it */
  pair: PathPair | undefined = undefined;
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
  /** The route made for prefixes this path wins by the step STEPS[stepIdx], if one was made. */
  routeAt(stepIdx: number): RibRoute | undefined {
    return stepAt(this.routes, stepIdx);
  }
  /** Keep a route made for this path; true when it is the first it keeps (the caller lists the path to forget them, see dropRoutes). */
  keepRoute(stepIdx: number, r: RibRoute): boolean {
    const first = this.routes === undefined;
    this.routes = withStep(this.routes, stepIdx, r);
    return first;
  }
  dropRoutes(): void {
    this.routes = undefined;
  }
  shownAt(stepIdx: number): Record<string, unknown> | undefined {
    return stepAt(this.shown, stepIdx);
  }
  keepShown(stepIdx: number, r: Record<string, unknown>): void {
    this.shown = withStep(this.shown, stepIdx, r);
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

/**
 * The compact two-path form of a prefix (see RibLocTable): exactly two paths, `best` one of
 * them and installed alone, decided by STEPS[stepIdx], not queued. A prefix heard from two
 * peers (the realistic feed: most of a full table from two upstreams) keeps this instead of
 * a LocEntry, and the prefixes whose two paths are the same pair (those of one UPDATE of
 * each peer) share one: ~64 bytes per prefix saved, and a million LocEntries that the
 * collector no longer carries into the old generation.
 */
export class PathPair {
  private constructor(
    readonly first: Path,
    readonly second: Path,
    readonly best: Path,
    readonly stepIdx: number,
  ) {}
  /** The pair of these facts: the one kept on `first` when it matches, else a new one kept there. */
  static of(first: Path, second: Path, best: Path, stepIdx: number): PathPair {
    const k = first.pair;
    if (k !== undefined && k.second === second && k.best === best && k.stepIdx === stepIdx) return k;
    return (first.pair = new PathPair(first, second, best, stepIdx));
  }
}

// a LocEntry keeps its deciding step as its index in best-path's STEPS, beside the dirty bit
const STEP_INDEX = new Map(STEPS.map((s, i) => [s, i]));
const PATH_ID_STEP = STEPS.indexOf('Path ID');

/** A LocEntry's best path and installed set when they differ (multipath, or for the moment of a change). */
class Choice {
  constructor(
    readonly best: Path | undefined,
    readonly installed: Path | Path[] | undefined,
  ) {}
}

/**
 * One prefix of the Loc-RIB. Five fields, as it is kept per received prefix (a million of
 * them in a full table): one or two paths without an array; the best path and the
 * installed set share one field while they are the same path (most prefixes); the dirty
 * bit and the deciding step share one number; the RIB's entry, which tells the prefix,
 * stands for the key (entries of map tables keep the key itself).
 */
export class LocEntry {
  /**
   * Every received path of the prefix, hidden ones too (the Adj-RIB-Ins): the path itself
   * while there are one or two (most prefixes: one peer, or two), an array once there are
   * more (or none).
   */
  private slot: Path | Path[];
  /**
   * The second path while there are exactly two (`slot` the first): a prefix heard from two
   * peers keeps no array (an array of two cost 64 bytes, this field 8).
   */
  private slot2: Path | undefined = undefined;
  /** best and installed: the path (or undefined) when both are it, else a Choice */
  private sel: Path | Choice | undefined = undefined;
  /** bit 0: queued for the next flush; bit 1: a view (see RibLocTable); the rest: the deciding step's index in STEPS */
  private bits = 0;
  /** the RIB's entry for the prefix (RibLocTable), or the prefix as a value (MapLocTable) */
  private where: RibEntryRef | PrefixKey;
  constructor(
    /** the prefix as a value: the key of its table's map */
    key: PrefixKey,
    first: Path,
  ) {
    this.where = key;
    this.slot = first;
  }

  /** the prefix as a value */
  get key(): PrefixKey {
    const w = this.where;
    return typeof w === 'object' ? w.pkey : w;
  }

  /** the RIB's entry for the prefix, which holds this one (RibLocTable), for lookups skipped */
  get ribRef(): RibEntryRef | undefined {
    const w = this.where;
    return typeof w === 'object' ? w : undefined;
  }
  set ribRef(ref: RibEntryRef | undefined) {
    this.where = ref ?? this.key;
  }

  get best(): Path | undefined {
    const s = this.sel;
    return s instanceof Choice ? s.best : s;
  }
  /** the path (or multipath set) installed in the RIB, to notice changes */
  get installed(): Path | Path[] | undefined {
    const s = this.sel;
    return s instanceof Choice ? s.installed : s;
  }
  /** Set the best path and the installed set together (a Choice only when they differ). */
  choose(best: Path | undefined, installed: Path | Path[] | undefined): void {
    this.sel = best === installed ? best : new Choice(best, installed);
  }

  /** the deciding step shown with the installed route: a runner-up arriving or leaving changes it */
  get step(): DecidingStep {
    return STEPS[this.bits >>> 2]!;
  }
  set step(s: DecidingStep) {
    this.stepIndex = STEP_INDEX.get(s)!;
  }
  /** the deciding step as its index in STEPS (the decision process's hot loop: no map lookup) */
  get stepIndex(): number {
    return this.bits >>> 2;
  }
  set stepIndex(i: number) {
    this.bits = (this.bits & 3) | (i << 2);
  }

  /**
   * A view: made for a prefix the RIB entry holds in the compact form (its lone path), and
   * not attached; it must be adopted (RibLocTable.adopt) before it changes.
   */
  get view(): boolean {
    return (this.bits & 2) !== 0;
  }
  set view(v: boolean) {
    this.bits = v ? this.bits | 2 : this.bits & ~2;
  }

  /**
   * What the RIB entry may hold instead of this entry (see RibLocTable), when it says
   * nothing more: the lone path (best, installed, only path, not queued), or the two paths
   * as a shared PathPair (one of them best and installed alone, not queued).
   */
  get compactPath(): Path | PathPair | undefined {
    const s = this.sel;
    const slot = this.slot;
    if (s === undefined || s instanceof Choice || Array.isArray(slot)) return undefined;
    const second = this.slot2;
    if (second === undefined) return s === slot && this.bits === 0 ? s : undefined;
    if ((this.bits & 3) !== 0 || (s !== slot && s !== second)) return undefined;
    return PathPair.of(slot, second, s, this.bits >>> 2);
  }

  /** A view of a compact entry: its lone path, or its pair of paths, best and installed (see RibLocTable). */
  static viewOf(ref: RibEntryRef, p: Path | PathPair): LocEntry {
    if (p instanceof PathPair) {
      const e = new LocEntry(ref.pkey, p.first);
      e.where = ref;
      e.slot2 = p.second;
      e.sel = p.best;
      e.bits = 2 | (p.stepIdx << 2);
      return e;
    }
    const e = new LocEntry(ref.pkey, p);
    e.where = ref;
    e.sel = p;
    e.bits = 2;
    return e;
  }

  /** queued for the next flush */
  get dirty(): boolean {
    return (this.bits & 1) !== 0;
  }
  set dirty(v: boolean) {
    this.bits = v ? this.bits | 1 : this.bits & ~1;
  }

  /** the prefix's text, made when read */
  get prefix(): string {
    return prefixKeyText(this.key);
  }

  get size(): number {
    return Array.isArray(this.slot) ? this.slot.length : this.slot2 ? 2 : 1;
  }

  /** The paths as a list, in the order they came (allocates for one or two: not for hot loops). */
  get paths(): readonly Path[] {
    const slot = this.slot;
    return Array.isArray(slot) ? slot : this.slot2 ? [slot, this.slot2] : [slot];
  }

  /** The two paths, when there are exactly two (no array): `first` is the one that came first. */
  get first(): Path | undefined {
    const slot = this.slot;
    return Array.isArray(slot) ? undefined : slot;
  }
  get second(): Path | undefined {
    return this.slot2;
  }

  /** The only path, when there is exactly one. */
  get lone(): Path | undefined {
    const slot = this.slot;
    return Array.isArray(slot) ? (slot.length === 1 ? slot[0] : undefined) : this.slot2 ? undefined : slot;
  }

  /** Put a peer's path in (replacing the one with the same peer and path ID); returns the replaced one. */
  put(p: Path): Path | undefined {
    const slot = this.slot;
    if (!Array.isArray(slot)) {
      if (slot.peer === p.peer && slot.pathId === p.pathId) {
        this.slot = p;
        return slot;
      }
      const second = this.slot2;
      if (second === undefined) {
        this.slot2 = p;
        return undefined;
      }
      if (second.peer === p.peer && second.pathId === p.pathId) {
        this.slot2 = p;
        return second;
      }
      this.slot = [slot, second, p];
      this.slot2 = undefined;
      return undefined;
    }
    if (slot.length === 0) {
      this.slot = p;
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
      const second = this.slot2;
      if (slot.peer === peer && slot.pathId === pathId) {
        this.slot = second ?? [];
        this.slot2 = undefined;
        return slot;
      }
      if (second !== undefined && second.peer === peer && second.pathId === pathId) {
        this.slot2 = undefined;
        return second;
      }
      return undefined;
    }
    for (let i = 0; i < slot.length; i++) {
      const q = slot[i]!;
      if (q.peer === peer && q.pathId === pathId) {
        slot.splice(i, 1);
        if (slot.length === 2) {
          this.slot = slot[0]!;
          this.slot2 = slot[1]!;
        } else if (slot.length === 1) this.slot = slot[0]!;
        return q;
      }
    }
    return undefined;
  }
}

/**
 * One table of the Loc-RIB: prefix (or VPN key) -> entry. Unicast tables ride on the RIB's
 * own entries (RibLocTable: one map entry per prefix for BGP and the RIB, and the RIB
 * entry's handle kept in the LocEntry); VPN tables, and RIBs without `attach`, use a map.
 */
export interface LocTable {
  readonly size: number;
  get(key: PrefixKey): LocEntry | undefined;
  /** add an entry (there is none for its key) */
  add(e: LocEntry): void;
  /** the entry of a key, or a new one holding `first` (then `added` is true until the next call) */
  findOrAdd(key: PrefixKey, first: Path): LocEntry;
  readonly added: boolean;
  /**
   * A received path for a key: undefined when the key was new and now holds `first` alone
   * in the compact form (`addedRef` its RIB entry; the caller decides it at once, see
   * decision.ts decideFresh), else the entry as findOrAdd gives it. Tables without a
   * compact form always give the entry.
   */
  learnAt(key: PrefixKey, first: Path): LocEntry | undefined;
  /**
   * learnAt, but a prefix held in the compact form with a lone path answers with that Path,
   * no LocEntry made (`addedRef` its RIB entry, for holdAt and viewAt): a second peer's path
   * for it is decided without one (learnAll, pairDecide). Tables without a compact form
   * answer as learnAt.
   */
  learnLoneAt(key: PrefixKey, first: Path): LocEntry | Path | undefined;
  /** A lone path learnLoneAt answered with, as an attached entry (as learnAt would have answered). */
  viewAt(ref: RibEntryRef, lone: Path): LocEntry;
  /** Hold a PathPair at a RIB entry (the compact form of a prefix with two paths, see PathPair). */
  holdAt(ref: RibEntryRef, pair: PathPair): void;
  readonly addedRef: RibEntryRef | undefined;
  /**
   * New keys from `keys[from]` on, held in the compact form with `first` and announced to
   * the RIB with `route` in one call (RibApi.announceFreshRun); returns the index of the
   * first key not taken (the caller takes it with learnAt). Tables without it take none.
   */
  learnRun(keys: readonly PrefixKey[], from: number, first: Path, route: RibRoute): number;
  /** take an entry out (it is the one held for its key) */
  remove(e: LocEntry): void;
  /** hold a view (LocEntry.view) as the entry of its key, before it changes */
  adopt(e: LocEntry): void;
  /** after the decision process: keep the entry in its compact form if it allows */
  settle(e: LocEntry): void;
  keys(): Iterable<PrefixKey>;
  values(): Iterable<LocEntry>;
  /** let go of every entry (the instance stops) */
  clear(): void;
}

class MapLocTable implements LocTable {
  private readonly m = new Map<PrefixKey, LocEntry>();
  added = false;
  readonly addedRef = undefined;
  learnAt(key: PrefixKey, first: Path): LocEntry {
    return this.findOrAdd(key, first);
  }
  learnLoneAt(key: PrefixKey, first: Path): LocEntry {
    return this.findOrAdd(key, first);
  }
  viewAt(): LocEntry {
    throw new Error('a map table answers with entries only');
  }
  holdAt(): void {
    throw new Error('a map table holds no compact form');
  }
  learnRun(_keys: readonly PrefixKey[], from: number): number {
    return from;
  }
  findOrAdd(key: PrefixKey, first: Path): LocEntry {
    let e = this.m.get(key);
    this.added = e === undefined;
    if (!e) this.m.set(key, (e = new LocEntry(key, first)));
    return e;
  }
  get size(): number {
    return this.m.size;
  }
  get(key: PrefixKey): LocEntry | undefined {
    return this.m.get(key);
  }
  add(e: LocEntry): void {
    this.m.set(e.key, e);
  }
  remove(e: LocEntry): void {
    if (this.m.get(e.key) === e) this.m.delete(e.key);
  }
  adopt(): void {}
  settle(): void {}
  keys(): Iterable<PrefixKey> {
    return this.m.keys();
  }
  values(): Iterable<LocEntry> {
    return this.m.values();
  }
  clear(): void {
    this.m.clear();
  }
}

type AttachingRib = Required<Pick<RibApi, 'attach' | 'detach' | 'attachedEntries' | 'attachedRef' | 'entryRef' | 'attachedAt' | 'attachAt'>> & Pick<RibApi, 'announceFreshRun'>;

/**
 * A Loc-RIB table kept on the RIB's entries (RibApi.attach): a received prefix costs one
 * lookup in one map, and the decision process announces, withdraws and asks the RIB
 * through the entry's handle. Keys the RIB cannot take (none in practice: the decoder
 * makes prefixes) stay in a map of their own.
 *
 * Compact form: a prefix whose only path is its best and installed one, decided by
 * 'Only path' and not queued (most prefixes of a full table) keeps no LocEntry: the RIB
 * entry holds the Path itself (shared by the prefixes of an UPDATE), which saves the
 * LocEntry's 64 bytes per prefix; a prefix with two paths, one best and installed, holds a
 * PathPair shared by the prefixes of the same two paths. `settle` folds an entry after the decision process;
 * `get` and `values` answer for a compact prefix with a view, a LocEntry made for the
 * reader and not attached, and whoever changes an entry holds an attached one: `findOrAdd`
 * (learn) attaches, and markDirty adopts a view (unlearn and next-hop changes go through it).
 */
class RibLocTable implements LocTable {
  private readonly odd = new Map<PrefixKey, LocEntry>();
  size = 0;
  constructor(
    private readonly rib: AttachingRib,
    private readonly table: string,
    private readonly family: 4 | 6,
  ) {}
  private takes(key: PrefixKey): boolean {
    return this.family === 4 ? typeof key === 'number' : typeof key === 'string' && isIpv6PrefixKey(key);
  }
  /** What a RIB entry holds, as a LocEntry: itself, or a view of the compact form. */
  private entryAt(ref: RibEntryRef, v: object | undefined): LocEntry | undefined {
    if (v === undefined || v instanceof LocEntry) return v;
    return LocEntry.viewOf(ref, v as Path);
  }
  get(key: PrefixKey): LocEntry | undefined {
    if (!this.takes(key)) return this.odd.get(key);
    const ref = this.rib.attachedRef(this.table, key);
    return ref && this.entryAt(ref, this.rib.attachedAt(ref));
  }
  add(e: LocEntry): void {
    if (this.takes(e.key)) e.ribRef = this.rib.attach(this.table, e.key, e);
    else this.odd.set(e.key, e);
    this.size++;
  }
  added = false;
  addedRef: RibEntryRef | undefined = undefined;
  learnAt(key: PrefixKey, first: Path): LocEntry | undefined {
    const v = this.learnLoneAt(key, first);
    return v instanceof Path ? this.attached(this.addedRef!, v) : v;
  }
  learnLoneAt(key: PrefixKey, first: Path): LocEntry | Path | undefined {
    if (!this.takes(key)) return this.findOrAdd(key, first);
    const ref = this.rib.entryRef(this.table, key);
    const v = this.rib.attachedAt(ref);
    this.added = v === undefined;
    this.addedRef = ref;
    if (v === undefined) {
      // new: the path itself on the RIB entry, no LocEntry made and folded again
      this.rib.attachAt(ref, first);
      this.size++;
      return undefined;
    }
    return v instanceof Path ? v : this.attached(ref, v);
  }
  viewAt(ref: RibEntryRef, lone: Path): LocEntry {
    return this.attached(ref, lone);
  }
  holdAt(ref: RibEntryRef, pair: PathPair): void {
    this.rib.attachAt(ref, pair);
  }
  learnRun(keys: readonly PrefixKey[], from: number, first: Path, route: RibRoute): number {
    const run = this.rib.announceFreshRun;
    if (run === undefined) return from;
    const to = run.call(this.rib, this.table, keys, from, 'bgp', route, first);
    this.size += to - from;
    return to;
  }
  /** The entry of a prefix that holds something, attached (a compact prefix's view adopted). */
  private attached(ref: RibEntryRef, v: object): LocEntry {
    if (v instanceof LocEntry) return v;
    const e = LocEntry.viewOf(ref, v as Path);
    this.adopt(e);
    return e;
  }
  /** One RIB lookup for a received prefix, whether its entry is new or not; the entry is attached. */
  findOrAdd(key: PrefixKey, first: Path): LocEntry {
    if (!this.takes(key)) {
      const e = this.odd.get(key);
      this.added = e === undefined;
      if (e) return e;
      const n = new LocEntry(key, first);
      this.add(n);
      return n;
    }
    const ref = this.rib.entryRef(this.table, key);
    const v = this.rib.attachedAt(ref);
    this.added = v === undefined;
    if (v !== undefined) return this.attached(ref, v);
    const n = new LocEntry(key, first);
    n.ribRef = ref;
    this.rib.attachAt(ref, n);
    this.size++;
    return n;
  }
  adopt(e: LocEntry): void {
    if (!e.view) return;
    e.view = false;
    const ref = e.ribRef;
    if (ref) this.rib.attachAt(ref, e);
  }
  settle(e: LocEntry): void {
    const p = e.compactPath;
    const ref = e.ribRef;
    if (p && ref) this.rib.attachAt(ref, p);
  }
  remove(e: LocEntry): void {
    if (e.ribRef) {
      this.rib.detach(e.ribRef);
      e.ribRef = undefined;
    } else if (this.odd.get(e.key) === e) this.odd.delete(e.key);
    else return;
    this.size--;
  }
  *keys(): Iterable<PrefixKey> {
    for (const e of this.values()) yield e.key;
  }
  *values(): Iterable<LocEntry> {
    for (const [ref, v] of this.rib.attachedEntries(this.table)) yield this.entryAt(ref, v)!;
    yield* this.odd.values();
  }
  clear(): void {
    for (const e of [...this.values()]) this.remove(e);
  }
}

/** A new Loc-RIB table (see LocTable). */
export function newLocTable(cx: BgpContext, table: string): LocTable {
  const r = cx.rib;
  if (isVpnTable(table) || !r.attach || !r.detach || !r.attachedEntries || !r.attachedRef || !r.entryRef || !r.attachedAt || !r.attachAt) return new MapLocTable();
  return new RibLocTable(r as AttachingRib, table, tableFamily(table));
}

/** The Loc-RIB table, made when first needed. */
export function locTableOf(cx: BgpContext, table: string): LocTable {
  let lt = cx.loc.get(table);
  if (!lt) cx.loc.set(table, (lt = newLocTable(cx, table)));
  return lt;
}

/**
 * What the instance keeps per neighbor: Adj-RIB-Out and counters per table. The neighbor's
 * Adj-RIB-In lives inside the Loc-RIB entries (every received path, hidden ones included,
 * hangs off its prefix's entry): one map lookup per received prefix instead of two, and one
 * map entry per prefix instead of one per prefix and peer.
 */
export class NeighborRib {
  /** paths received (Adj-RIB-In size), per table */
  readonly received = new TableCounts();
  readonly accepted = new TableCounts();
  /** paths of this peer that are the best of their prefix, per table */
  readonly active = new TableCounts();
  /** some of this peer's paths were marked stale (graceful restart, BoRR): End-of-RIB has a walk to do */
  staleMarked = false;
  /**
   * Attribute sets already seen from this peer, by the hash of their wire bytes (the bytes
   * kept beside them tell a collision), with the outcome of the session checks: UPDATEs
   * that repeat a set share one object (memory, export grouping).
   */
  readonly attrCache = new AttrCache();
  /** families whose End-of-RIB arrived in this session ("afi/safi") */
  eor: Set<string> | undefined;
  staleTimer: NodeJS.Timeout | undefined;
  limitWarned = new Set<string>();
  /** the last path learned from this peer, shared by the next prefixes with the same facts */
  lastPath: Path | undefined = undefined;
  lastPathTable = '';
  /** the next-hop record of this peer's last UPDATE (the next UPDATEs mostly carry the same next hop) */
  lastNexthop: NextHop | undefined = undefined;
  /** whether the import chain `importChain` of `importEngine` looks at prefixes (learnAll asks per UPDATE: a WeakMap lookup saved) */
  importChain: readonly string[] | undefined = undefined;
  importEngine: object | undefined = undefined;
  importByPrefix = false;
}

/** Whether the peer's import chain may depend on the prefix (PolicyEngine.dependsOnPrefix, kept per chain and engine). */
function importByPrefix(cx: BgpContext, st: NeighborRib, chain: readonly string[]): boolean {
  if (st.importChain !== chain || st.importEngine !== cx.policy) {
    st.importByPrefix = cx.policy.dependsOnPrefix(chain);
    st.importChain = chain;
    st.importEngine = cx.policy;
  }
  return st.importByPrefix;
}

/** An attribute set after the session checks; `mp` is it with MP_REACH's next hop, once built. */
export interface CheckedAttributes {
  /** where the set's wire bytes are in its AttrCache's pool, when cached */
  at?: number;
  len?: number;
  attrs: PathAttributes;
  withdraw?: string;
  hidden?: string;
  mp?: PathAttributes;
}

/** Distinct attribute sets remembered per peer before the cache starts over. */
export const ATTR_CACHE_MAX = 65536;

/** Bytes per chunk of an AttrCache's pool: an attribute field (at most 65535 bytes) fits one. */
const ATTR_POOL_CHUNK = 65536;

/**
 * A peer's attribute sets by the hash of their wire bytes (DecodedUpdate.attrHash). The
 * bytes are kept one after the other in chunks of a pool (a typed array per set cost ~90
 * bytes more than its bytes; a string per set cost a string made and hashed per UPDATE): a
 * set is found only when its bytes are equal, so a hash collision is a miss, and the set
 * that came last keeps the hash.
 */
export class AttrCache {
  /** by hash (a Uint32Map: a JS Map cost ~2x per lookup and insert at 65536 number keys, heap numbers above 2^31) */
  private readonly m = new Uint32Map<CheckedAttributes>();
  private readonly chunks: Uint8Array[] = [];
  /** the chunk being filled, and how much of it is used */
  private chunk = -1;
  private used = ATTR_POOL_CHUNK;
  get size(): number {
    return this.m.size;
  }
  get(hash: number, bytes: Uint8Array): CheckedAttributes | undefined {
    const c = this.m.get(hash);
    if (c === undefined || c.len !== bytes.length) return undefined;
    const at = c.at!;
    const pool = this.chunks[(at / ATTR_POOL_CHUNK) | 0]!;
    const off = at % ATTR_POOL_CHUNK;
    for (let i = 0; i < bytes.length; i++) if (pool[off + i] !== bytes[i]) return undefined;
    return c;
  }
  /** Remember a set (its bytes copied); past ATTR_CACHE_MAX sets the cache starts over. */
  set(hash: number, bytes: Uint8Array, c: CheckedAttributes): void {
    if (this.m.size >= ATTR_CACHE_MAX) this.clear();
    const n = bytes.length;
    if (this.used + n > ATTR_POOL_CHUNK) {
      this.chunks.push(new Uint8Array(ATTR_POOL_CHUNK));
      this.chunk++;
      this.used = 0;
    }
    this.chunks[this.chunk]!.set(bytes, this.used);
    c.at = this.chunk * ATTR_POOL_CHUNK + this.used;
    c.len = n;
    this.used += n;
    this.m.set(hash, c);
  }
  /** Forget every set (the session went down, or the cache starts over): the pool goes too. */
  clear(): void {
    this.m.clear();
    this.chunks.length = 0;
    this.chunk = -1;
    this.used = ATTR_POOL_CHUNK;
  }
}

/** A neighbor's Adj-RIB-In for a table: its paths, found in the Loc-RIB entries (`entry.prefix` is the text). */
export function adjRibIn(cx: BgpContext, nb: Neighbor, table: string): { entry: LocEntry; path: Path }[] {
  const out: { entry: LocEntry; path: Path }[] = [];
  const lt = cx.loc.get(table);
  if (!lt) return out;
  for (const e of lt.values()) for (const path of e.paths) if (path.peer === nb) out.push({ entry: e, path });
  return out;
}

/** The neighbor's stale paths in a table (a walk over the Loc-RIB that builds nothing for the others). */
function stalePaths(cx: BgpContext, nb: Neighbor, table: string): { entry: LocEntry; path: Path }[] {
  const out: { entry: LocEntry; path: Path }[] = [];
  const lt = cx.loc.get(table);
  if (!lt) return out;
  for (const e of lt.values()) {
    const lone = e.lone;
    if (lone) {
      if (lone.peer === nb && lone.stale) out.push({ entry: e, path: lone });
    } else for (const path of e.paths) if (path.peer === nb && path.stale) out.push({ entry: e, path });
  }
  return out;
}

export function hasStale(cx: BgpContext, nb: Neighbor): boolean {
  if (cx.ribs.get(nb)?.staleMarked === false) return false;
  for (const table of cx.tables) if (stalePaths(cx, nb, table).length) return true;
  return false;
}

export function purgeStale(cx: BgpContext, nb: Neighbor, st: NeighborRib, table: string): void {
  // nothing was marked stale since the peer's routes came: no walk over the table
  if (!st.staleMarked) return;
  let n = 0;
  // End-of-RIB after a full table: walk it without an object per path
  for (const { entry, path } of stalePaths(cx, nb, table)) {
    unlearn(cx, nb, st, table, entry.key, path.pathId);
    n++;
  }
  if (n) cx.log(`bgp neighbor ${nb.cfg.address}: removed ${n} stale routes from ${table}`);
  schedule(cx);
}

export function purgeTable(cx: BgpContext, st: NeighborRib, table: string, nb: Neighbor): void {
  for (const { entry, path } of adjRibIn(cx, nb, table)) unlearn(cx, nb, st, table, entry.key, path.pathId);
}

export function dropAllPaths(cx: BgpContext, nb: Neighbor): void {
  const st = cx.ribs.get(nb);
  if (!st) return;
  for (const table of cx.tables) purgeTable(cx, st, table, nb);
}

/**
 * The path object for a received path's facts: import policy's verdict (when the path is
 * not hidden already), its next-hop record (no reference taken: the caller takes one per
 * prefix) and the path itself, shared with the previous prefixes when their facts are the
 * same (the prefixes of one UPDATE: nothing in a path is per prefix; staleness is set for
 * all of a peer's paths at once, and a stale path is never handed out again).
 */
function pathOf(cx: BgpContext, nb: Neighbor, st: NeighborRib, table: string, prefix: PrefixKey, pathId: number, inAttrs: PathAttributes, hidden: string | undefined, nhIn: NextHop | undefined, labels: readonly number[] | undefined): Path {
  let attrs = inAttrs;
  let accepted = hidden === undefined;
  let preference: number | undefined;
  let why = hidden;
  if (accepted && nb.cfg.import.length && !isVpnTable(table)) {
    const v = importVerdict(cx, nb, prefix, inAttrs);
    accepted = v.accepted;
    attrs = v.attrs;
    preference = v.preference;
    if (!accepted) why = 'rejected by import policy';
  }
  let nh: NextHop | undefined;
  if (accepted) nh = nhIn && attrs === inAttrs ? nhIn : nexthopFor(cx, table, attrs.nextHop ?? '');
  let p = st.lastPath;
  if (!p || p.peer !== nb || p.pathId !== pathId || p.inAttrs !== inAttrs || p.attrs !== attrs || p.accepted !== accepted || p.nh !== nh || p.hidden !== why || p.preference !== preference || p.stale || st.lastPathTable !== table || p.labels !== labels) {
    p = new Path(nb, pathId, inAttrs, attrs, accepted, nh, why, preference, labels);
    st.lastPath = p;
    st.lastPathTable = table;
  }
  return p;
}

/** Put one received path into the neighbor's Adj-RIB-In and, when import accepts it, the Loc-RIB. */
export function learn(cx: BgpContext, nb: Neighbor, st: NeighborRib, table: string, prefix: PrefixKey, pathId: number, inAttrs: PathAttributes, hidden: string | undefined, nhIn?: NextHop, labels?: readonly number[]): void {
  const p = pathOf(cx, nb, st, table, prefix, pathId, inAttrs, hidden, nhIn, labels);
  const nh = p.nh;
  if (p.accepted) nh!.refs++;
  const lt = locTableOf(cx, table);
  // a new prefix whose only path is accepted and resolvable is decided at once in its
  // compact form (decideFresh): no LocEntry made, queued and folded again per prefix
  if (p.accepted && nh!.resolvable && !cx.deferring && cx.rib.announceAt) {
    const ce = lt.learnAt(prefix, p);
    if (ce === undefined) {
      bump(st.received, table, 1);
      bump(st.accepted, table, 1);
      bump(cx.pathCounts, table, 1);
      decideFresh(cx, table, prefix, lt.addedRef!, p);
      return;
    }
    learnInto(cx, st, table, lt, ce, p);
    return;
  }
  learnInto(cx, st, table, lt, lt.findOrAdd(prefix, p), p);
}

/**
 * The reachable prefixes of one UPDATE for a table, without path IDs (no add-path) or
 * labels: what is not per prefix is found once — the import verdict when the chain does
 * not look at prefixes (else each prefix goes through learn), the path, the Loc-RIB table,
 * the next hop's references, the counters — and a new prefix whose path is accepted and
 * resolvable is decided as it comes (decideFresh's work, its counters added once).
 */
export function learnAll(cx: BgpContext, nb: Neighbor, st: NeighborRib, table: string, keys: readonly PrefixKey[], inAttrs: PathAttributes, hidden: string | undefined, nhIn: NextHop | undefined): void {
  const n = keys.length;
  if (n === 0) return;
  const chain = nb.cfg.import;
  if (hidden === undefined && chain.length && !isVpnTable(table) && importByPrefix(cx, st, chain)) {
    for (let i = 0; i < n; i++) learn(cx, nb, st, table, keys[i]!, 0, inAttrs, hidden, nhIn);
    return;
  }
  const p = pathOf(cx, nb, st, table, keys[0]!, 0, inAttrs, hidden, nhIn, undefined);
  const accepted = p.accepted;
  const nh = p.nh;
  if (accepted) nh!.refs += n;
  const lt = locTableOf(cx, table);
  const compact = accepted && !cx.deferring && cx.rib.announceAt !== undefined;
  const pairs = compact && (nb.cfg.multipath ?? cx.cfg.multipath) === undefined;
  // pairDecide's remembered choice holds within this UPDATE only: a commit between two
  // UPDATEs (always-compare-med, a tie-break knob) may change the answer for the same paths
  lastPair.q = undefined;
  let fresh: PrefixKey[] | undefined;
  let decided = 0;
  let paired = 0;
  // whether to try a run of new prefixes in one RIB call (learnRun): after a new prefix went
  // one by one (the RIB's run starts there, and the path's route for 'Only path' is made);
  // not at first (a second peer's UPDATE, all held prefixes, would make that route for
  // nothing, per attribute set) nor after a run stopped at a prefix held already
  let tryRun = false;
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    // resolvable read per prefix: announcing a prefix may change how the next hop resolves
    if (compact && nh!.resolvable) {
      if (tryRun) {
        const to = lt.learnRun(keys, i, p, ribRoute(cx, key, p, 0, p));
        if (to > i) {
          fresh ??= freshList(cx, table);
          for (let j = i; j < to; j++) fresh.push(keys[j]!);
          decided += to - i;
          // keys[to] is one the run did not take: it goes the usual way
          i = to - 1;
          tryRun = false;
          continue;
        }
        tryRun = false;
      }
      const ce = pairs ? lt.learnLoneAt(key, p) : lt.learnAt(key, p);
      if (ce === undefined) {
        announceFresh(cx, lt.addedRef!, key, p, (fresh ??= freshList(cx, table)));
        decided++;
        tryRun = true;
      } else if (ce instanceof Path) {
        // held compact with one other path (a second peer's UPDATE): no LocEntry unless it must
        const ref = lt.addedRef!;
        if (pairDecide(cx, table, lt, ref, ce, key, p)) paired++;
        else learnInto(cx, st, table, lt, lt.viewAt(ref, ce), p);
      } else if (pairs && pairable(ce) && pairDecide(cx, table, lt, ce.ribRef!, ce.lone!, key, p)) paired++;
      else learnInto(cx, st, table, lt, ce, p);
    } else learnInto(cx, st, table, lt, lt.findOrAdd(key, p), p);
  }
  if (decided + paired) {
    bump(st.received, table, decided + paired);
    bump(st.accepted, table, decided + paired);
    bump(cx.pathCounts, table, decided + paired);
  }
  if (decided) freshDecided(cx, st, table, decided);
}

/** pairDecide's last choice, for the next prefix of the UPDATE with the same two paths and costs (reset per UPDATE by learnAll). */
const lastPair = { q: undefined as Path | undefined, p: undefined as Path | undefined, qCost: 0, pCost: 0, best: undefined as Path | undefined, stepIdx: 0 };

/**
 * An entry a second path may be decided into by pairDecide: one path `q`, its best and
 * installed one by 'Only path', not queued, and held on a RIB entry (what a compact prefix's
 * view says).
 */
function pairable(e: LocEntry): boolean {
  const q = e.lone;
  return q !== undefined && e.ribRef !== undefined && !e.dirty && e.stepIndex === 0 && e.best === q && e.installed === q;
}

/**
 * A second path `p` (accepted, resolvable, no multipath) for a prefix held with one other
 * peer's path `q` as its best and installed one (the compact form, or an entry `pairable`
 * says is alike) at the RIB entry `ref`, decided as it comes, as the flush would decide the
 * two (decision.ts decide, two paths): no LocEntry kept (the entry holds a PathPair), not
 * queued, and the comparison made once for the prefixes of a run with the same two paths.
 * False, with nothing changed, when `q` is of the same peer, or not a good path alone.
 */
function pairDecide(cx: BgpContext, table: string, lt: LocTable, ref: RibEntryRef, q: Path, key: PrefixKey, p: Path): boolean {
  if (q.peer === p.peer || !q.accepted || !q.resolvable || (q.peer.cfg.multipath ?? cx.cfg.multipath) !== undefined) return false;
  const l = lastPair;
  const qCost = q.igpCost;
  const pCost = p.igpCost;
  if (l.q !== q || l.p !== p || l.qCost !== qCost || l.pCost !== pCost) {
    // decide's order: q came first, p second
    const best = compareCode(p, q) < 0 ? p : q;
    l.q = q;
    l.p = p;
    l.qCost = qCost;
    l.pCost = pCost;
    l.best = best;
    l.stepIdx = Math.abs(compareCode(best, best === q ? p : q)) || PATH_ID_STEP;
  }
  const best = l.best!;
  const stepIdx = l.stepIdx;
  if (best !== q) {
    const r = cx.ribs.get(q.peer);
    if (r) bump(r.active, table, -1);
    bump(cx.ribs.get(p.peer)!.active, table, 1);
    // the best path changed: exported by key at the flush, as decideFresh's prefixes
    freshList(cx, table).push(key);
    cx.dirtyCount++;
  }
  lt.holdAt(ref, PathPair.of(q, p, best, stepIdx));
  cx.rib.announceAt!(ref, 'bgp', ribRoute(cx, key, best, stepIdx, best));
  return true;
}

/** The path into an existing entry (or one findOrAdd just made): counters, and the entry queued for the decision process. */
function learnInto(cx: BgpContext, st: NeighborRib, table: string, lt: LocTable, e: LocEntry, p: Path): void {
  const accepted = p.accepted;
  const old = lt.added ? undefined : e.put(p);
  if (old) forget(cx, st, table, old);
  else bump(st.received, table, 1);
  if (accepted) {
    bump(st.accepted, table, 1);
    bump(cx.pathCounts, table, 1);
  }
  if (accepted || old?.accepted || e.size === 1) markDirty(cx, table, e);
}

/** Remove one path from the neighbor's Adj-RIB-In and the Loc-RIB. */
export function unlearn(cx: BgpContext, nb: Neighbor, st: NeighborRib, table: string, prefix: PrefixKey, pathId: number): void {
  const e = cx.loc.get(table)?.get(prefix);
  const old = e?.take(nb, pathId);
  if (!e || !old) return;
  bump(st.received, table, -1);
  forget(cx, st, table, old);
  markDirty(cx, table, e);
}

/** Counters and next-hop reference of a path that left. */
function forget(cx: BgpContext, st: NeighborRib, table: string, old: Path): void {
  if (old.nh) releaseNexthop(cx, old.nh);
  if (!old.accepted) return;
  bump(st.accepted, table, -1);
  bump(cx.pathCounts, table, -1);
}

/** The next-hop record for an address (watched in the RIB from its first use); the caller takes a reference. */
export function nexthopFor(cx: BgpContext, table: string, address: string): NextHop {
  const k = `${table} ${address}`;
  let nh = cx.nexthops.get(k);
  if (nh) return nh;
  const n = (nh = new NextHop(table, address));
  cx.nexthops.set(k, n);
  let first = true;
  const vpn = isVpnTable(table);
  const where = resolutionOf(table, address);
  try {
    n.unwatch = cx.rib.watch(where.table, where.address, (route) => {
      const resolvable = route !== undefined && (route.action ?? 'forward') === 'forward';
      const cost = route && route.protocol !== 'bgp' ? route.metric ?? 0 : 0;
      // a VPN route's VRF copy is built from the resolving route itself: any change counts
      const moved = vpn && n.route !== route;
      if (vpn) n.route = route;
      if (resolvable === n.resolvable && cost === n.igpCost && !moved) return;
      n.resolvable = resolvable;
      n.igpCost = cost;
      if (!first) nexthopChanged(cx, n);
    });
  } catch {
    n.unwatch = undefined; // an address the RIB cannot parse stays unresolvable
  }
  first = false;
  return n;
}

/** nexthopFor through the peer's last record (no key made and looked up per UPDATE). */
export function peerNexthop(cx: BgpContext, st: NeighborRib, table: string, address: string): NextHop {
  const l = st.lastNexthop;
  if (l?.live && l.address === address && l.table === table) return l;
  return (st.lastNexthop = nexthopFor(cx, table, address));
}

/** Drop a record nobody referenced (all the UPDATE's routes were hidden). */
export function releaseUnused(cx: BgpContext, nh: NextHop | undefined): void {
  if (nh && nh.refs === 0) {
    nh.unwatch?.();
    nh.live = false;
    cx.nexthops.delete(`${nh.table} ${nh.address}`);
  }
}

/** A path let go of its next hop: the record goes with its last user. */
function releaseNexthop(cx: BgpContext, nh: NextHop): void {
  if (--nh.refs > 0) return;
  nh.unwatch?.();
  nh.live = false;
  cx.nexthops.delete(`${nh.table} ${nh.address}`);
}

/** Queue an entry for the next decision process (once per flush). */
export function markDirty(cx: BgpContext, table: string, e: LocEntry): void {
  if (e.dirty) return;
  // a view of a compact prefix becomes its entry before the decision process changes it
  if (e.view) locTableOf(cx, table).adopt(e);
  e.dirty = true;
  cx.dirtyCount++;
  let l = cx.dirty.get(table);
  if (!l) cx.dirty.set(table, (l = []));
  l.push(e);
}

/** Every VPN entry with its best path (the VRF imports go over them when VRFs change). */
export function* vpnEntries(cx: BgpContext): Iterable<{ table: string; key: string; best: Path | undefined }> {
  // VPN tables are keyed by text (RD:prefix)
  for (const table of [VPN_TABLE4, VPN_TABLE6]) for (const e of cx.loc.get(table)?.values() ?? []) yield { table, key: e.prefix, best: e.best };
}

/** Add to a per-table counter. */
export function bump(m: TableCounts, key: string, by: number): void {
  m.add(key, by);
}

/**
 * Counters per table, bumped once or twice per received prefix: a cell per table, the
 * last one used kept at hand (a Map<string, number> paid a lookup and a store per bump).
 */
export class TableCounts {
  private readonly cells = new Map<string, { n: number }>();
  private lastTable = '';
  private last: { n: number } | undefined = undefined;
  get(table: string): number | undefined {
    return this.cells.get(table)?.n;
  }
  add(table: string, by: number): void {
    let c = this.last;
    if (c === undefined || table !== this.lastTable) {
      c = this.cells.get(table);
      if (!c) this.cells.set(table, (c = { n: 0 }));
      this.last = c;
      this.lastTable = table;
    }
    c.n += by;
  }
}
