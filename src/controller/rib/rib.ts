/**
 * The routing information base. Each table (inet.0, inet6.0, <instance>.inet.0, ...) holds,
 * per prefix, one candidate route per source (a protocol instance: `static`, `direct:eth1`,
 * `bgp`, ...). A candidate is usable when its next hops resolve: a gateway without an
 * interface must sit on a connected subnet, and a `recursive` gateway is resolved through
 * the table's longest match (taking the resolving route's forwarding next hops and
 * transport labels). The active route is the usable candidate that wins the chain in
 * `compareCandidates`; its resolved next hops are the FIB entry, and every change of FIB
 * entry is told to the listeners (the FIB export) with the table and prefix.
 *
 * Resolution is shared: a `Resolver` per (table, gateway address) holds the routes that
 * depend on it and the watchers of RibApi.watch; when an active route changes under a
 * prefix covering a resolver's address, its dependents are re-evaluated.
 *
 * MPLS tunnels (inet.3, inet6.3: the SR paths IS-IS computes) resolve labeled next hops, as
 * in Junos: a recursive next hop that pushes labels (BGP labeled unicast) in inet.0/inet6.0
 * resolves in inet.3/inet6.3 first, taking the tunnel's transport labels under its own; and a
 * watch or lookup in inet.3 (BGP's VPN next hops) answers with the tunnel, or, where there is
 * none, with inet.0's route, so that a directly connected PE keeps working without an IGP
 * (Junos would hide such routes unless told `resolve-vpn`). inet.3 itself is never forwarded.
 *
 * Prefixes are indexed per length (IPv4 keys are numbers), which gives exact match and
 * longest match without a per-route trie node, and keeps 1M routes affordable.
 */
import { MPLS_TABLE, MplsTable } from './mpls.js';
import { formatIpv4, formatIpv6, formatPrefix, ipv6PrefixKey, isIpv6PrefixKey, parseIp, parsePrefix, prefixCodeLength, prefixContains, prefixKeyText, prefixOfIpv6Key, ipv6PrefixKeyLength, scanIpv4Prefix, tryParseIpv4, type Prefix, type PrefixKey } from '../../lib/addr.js';
import { Uint32Map } from '../../lib/uint32-map.js';
import type { ResolutionWatcher, RibApi, RibEntryRef, RibNexthop, RibRoute } from './types.js';

export type FibAction = 'forward' | 'discard' | 'reject' | 'receive';

/** A next hop as the FIB needs it: resolved to an interface. */
export interface FibNexthop {
  gateway?: string;
  interface?: string;
  labels?: number[];
  /** MPLS over UDP from this address to `gateway` (see RibNexthop.udpSource) */
  udpSource?: string;
}

export interface FibRoute {
  action: FibAction;
  nexthops: FibNexthop[];
}

export interface RibChange {
  table: string;
  /** the prefix's text (made when read) */
  prefix: string;
  /** the prefix as a value (lib/addr PrefixKey: an IPv4 prefix is its ipv4PrefixCode) */
  readonly key: PrefixKey;
  /** the protocol of the new active route, without building the route */
  readonly protocol: RibRoute['protocol'] | undefined;
  /** the protocol of the active route before the change (undefined: the prefix had none) */
  readonly previous?: RibRoute['protocol'] | undefined;
  /** the new active route; undefined when the prefix has none */
  route: RibRoute | undefined;
  /** what the FIB should hold; undefined: remove */
  fib: FibRoute | undefined;
}

export type RibListener = (change: RibChange) => void;

/**
 * Which changes a listener takes (Rib.subscribe): by table, the protocol of the new active
 * route and that of the one before it (undefined: the prefix has none, after or before).
 * Asked once per table and pair of protocols and remembered until the subscription's
 * `refilter` (its answer must not depend on anything else, or the subscriber calls refilter
 * when that changes): a full table's ingest into inet.0 (BGP to BGP, or none to BGP) then
 * calls no listener that follows only IS-IS or static routes there, even while the table
 * holds some, and builds no change.
 */
export type RibChangeFilter = (table: string, protocol: RibRoute['protocol'] | undefined, previous: RibRoute['protocol'] | undefined) => boolean;

/** Rib.subscribe's answer: call it to stop; `refilter` after what the filter reads changed. */
export interface RibSubscription {
  (): void;
  refilter(): void;
}

/** A listener and its filter (Rib.subscribe). */
class Subscription {
  constructor(
    readonly listener: RibListener,
    readonly wants: RibChangeFilter | undefined,
  ) {}
}

/** no listener for a change (a table and protocol no subscriber takes) */
const NO_LISTENERS: readonly RibListener[] = Object.freeze([]);

/** An entry handle given by Rib.attach (opaque to its holder but for its prefix). */
export type { RibEntryRef } from './types.js';

/**
 * A change as listeners get it: the route and FIB forms are built when read (most
 * listeners look at one or two fields of a million changes), from the state at the change.
 */
class Change implements RibChange {
  readonly table: string;
  readonly key: PrefixKey;
  private readonly fwd: FibNexthop[] | null | undefined;
  constructor(
    private readonly e: Entry,
    private readonly best: Cand | undefined,
    readonly previous: RibRoute['protocol'] | undefined,
  ) {
    this.table = e.table.name;
    this.key = e.pkey;
    this.fwd = best?.fwd;
  }
  get prefix(): string {
    return prefixKeyText(this.key);
  }
  get protocol(): RibRoute['protocol'] | undefined {
    return this.best?.route.protocol;
  }
  get route(): RibRoute | undefined {
    return this.best ? routeOf(this.e, this.best) : undefined;
  }
  get fib(): FibRoute | undefined {
    if (!this.best) return undefined;
    const action = this.best.route.action ?? 'forward';
    return { action, nexthops: action === 'forward' ? (this.fwd ?? []) : [] };
  }
}

/**
 * Times are kept as tenths of a second after this, truncated to 32 bits: small integers
 * that V8 stores in the object (a millisecond count from Date.now() became a heap number
 * per route); an entry keeps one in 30 bits (with its FIB-queue bit), so they wrap after
 * about 6.8 years of uptime.
 */
const EPOCH = Date.now();
const TICK_MS = 200;

function tickOf(ms: number): number {
  return ((ms - EPOCH) / TICK_MS) | 0;
}

/** One source's route for a prefix: a Candidate, or the entry itself for its lone candidate. */
interface Cand {
  readonly source: string;
  readonly route: RibRoute;
  /** resolved next hops; null when unusable; undefined for non-forwarding actions */
  fwd: FibNexthop[] | null | undefined;
  /** when it came, in ticks after EPOCH (tickOf) */
  readonly at: number;
  /** ms since the Unix epoch of the last change */
  readonly since: number;
}

/** A candidate of an entry that has several. */
class Candidate implements Cand {
  constructor(
    readonly source: string,
    readonly route: RibRoute,
    public fwd: FibNexthop[] | null | undefined,
    readonly at: number,
  ) {}
  get since(): number {
    return EPOCH + this.at * TICK_MS;
  }
}

/** The candidates of an entry that has two or more, and which of them is active. */
class CandList extends Array<Candidate> {
  active: Candidate | undefined = undefined;
  /** the entry's resolvers and interfaces (Entry.links) while it holds this list */
  links: Links = undefined;
  /** the table of the entry that holds it (Entry.table), set when made */
  table: Table | undefined = undefined;
  /** what is attached to the entry that holds it (Entry.attached) */
  attached: object | undefined = undefined;
}

/**
 * The empty list of a table (Table.none), shared by its entries without candidates;
 * frozen, so that a stray push fails loudly.
 */
function noCandidates(table: Table): CandList {
  const none = new CandList();
  none.table = table;
  return Object.freeze(none) as CandList;
}

/** An entry's candidates as a list (allocates for a lone candidate: not for hot paths). */
function candList(e: Entry): readonly Cand[] {
  const c = e.cands;
  return c === e ? [e] : (c as Candidate[]);
}

/** What an entry's candidates depend on besides its resolvers (see Entry.links). */
interface EntryExt {
  deps: Resolver[] | undefined;
  ifDeps?: string[];
}

/**
 * The resolvers an entry's candidates depend on (most entries: a list, often a resolver's
 * shared `alone`), or, for the few that also name interfaces, an object with both.
 */
type Links = Resolver[] | EntryExt | undefined;

/**
 * An entry's lone candidate: its source, route and resolved next hops, and the entry's
 * links. Never changed once made, so that entries alike share one (the prefixes of a BGP
 * UPDATE have the same source, route object, resolution and resolver): an entry keeps
 * one field for what took four (24 bytes per route, and as many fewer for the young
 * generation's collections to copy).
 */
class Lone {
  constructor(
    /** the entry's table (Entry.table: entries keep no field for it) */
    readonly table: Table,
    readonly source: string,
    readonly route: RibRoute,
    readonly fwd: FibNexthop[] | null | undefined,
    readonly links: Links,
    /**
     * when the route came, in ticks after EPOCH (tickOf): kept here, not in the entry (8
     * bytes per route); the prefixes of an UPDATE come within a tick, so they still share one
     */
    readonly at: number,
    /**
     * what is attached to the entry (Entry.attached): kept here, not in the entry (8 bytes
     * per route); BGP attaches one record to the prefixes of an UPDATE (their shared path), so
     * they still share one
     */
    readonly attached: object | undefined,
  ) {}
  get since(): number {
    return EPOCH + this.at * TICK_MS;
  }
}

/** The two Lones made last (see lone): an announce makes an unresolved one, then its evaluation a resolved one. */
let loneA: Lone | undefined;
let loneB: Lone | undefined;

/** A Lone with these fields: one of the two last made when it matches (entries alike come in runs), else a new one. */
function lone(table: Table, source: string, route: RibRoute, fwd: FibNexthop[] | null | undefined, links: Links, at: number, attached: object | undefined): Lone {
  let l = loneA;
  if (l !== undefined && l.route === route && l.fwd === fwd && l.links === links && l.attached === attached && l.at === at && l.source === source && l.table === table) return l;
  l = loneB;
  if (l !== undefined && l.route === route && l.fwd === fwd && l.links === links && l.attached === attached && l.at === at && l.source === source && l.table === table) return l;
  l = new Lone(table, source, route, fwd, links, at, attached);
  loneB = loneA;
  loneA = l;
  return l;
}

/** the route of an entry without a lone candidate */
const NO_ROUTE: RibRoute = Object.freeze({ prefix: '', protocol: 'direct', preference: 0, nexthops: [] });

class Entry implements Cand {
  /**
   * The lone candidate (a Lone: the entry stands for its one candidate itself, see
   * `cands`), or the list of two or more, or its table's empty list (or, for the moment
   * between an entry losing its last candidate and its evaluation, an empty list of its own
   * that keeps its links): one field for all of them, which tell the table as well.
   */
  private held: Lone | CandList;
  /**
   * The prefix as a value (see pkey), and whether the entry is queued for the FIB exporter
   * (see fibDirty): an IPv4 code negated while queued (codes are at least 1, and a negated
   * small integer stays one), an IPv6 key as it is (queued: in its queue's set). One field for
   * both: 8 bytes per route.
   */
  private code: PrefixKey;
  constructor(
    table: Table,
    len: number,
    /** per-length map key: the network bits as a number (IPv4, see keyV4) or the prefix's ipv6PrefixKey (IPv6) */
    key: number | string,
  ) {
    this.held = table.none;
    this.code = typeof key === 'number' ? (len <= 30 ? 1 << len : 2 ** len) + key : key;
  }
  /**
   * The prefix as a value (lib/addr PrefixKey): an IPv4 prefix's ipv4PrefixCode (its length
   * and network bits in one number: a field less than both, 8 bytes per route), an IPv6
   * prefix's ipv6PrefixKey (which tells its length and address as well).
   */
  get pkey(): PrefixKey {
    const k = this.code;
    return typeof k === 'number' && k < 0 ? -k : k;
  }
  /**
   * A protocol's own record for the prefix (BGP's Loc-RIB entry, see Rib.attach): one map
   * entry per prefix serves both, and the entry stays while it is attached, routes or not.
   * Kept by what the entry holds (the lone candidate, shared by entries alike, or the list;
   * an entry without candidates holds an empty list of its own for it): a field less.
   */
  get attached(): object | undefined {
    return this.held.attached;
  }
  set attached(v: object | undefined) {
    const h = this.held;
    if (h.attached === v) return;
    if (h instanceof Lone) this.held = lone(h.table, h.source, h.route, h.fwd, h.links, h.at, v);
    else if (h === h.table!.none) {
      const list = new CandList();
      list.table = h.table;
      list.attached = v;
      this.held = list;
    } else {
      h.attached = v;
      if (v === undefined && h.length === 0 && h.links === undefined) this.held = h.table!.none;
    }
  }
  /** the entry's table, told by what it holds (a field less: 8 bytes per route) */
  get table(): Table {
    return this.held.table!;
  }
  /** what the candidates depend on, kept by the lone candidate or the list */
  private get links(): Links {
    return this.held.links;
  }
  private set links(l: Links) {
    const h = this.held;
    if (h instanceof Lone) {
      if (h.links !== l) this.held = lone(h.table, h.source, h.route, h.fwd, l, h.at, h.attached);
    } else if (h === h.table!.none) {
      if (l !== undefined) {
        const list = new CandList();
        list.table = h.table;
        list.links = l;
        this.held = list;
      }
    } else if (l === undefined && h.length === 0 && h.attached === undefined) this.held = h.table!.none;
    else h.links = l;
  }
  /** resolvers this entry's candidates depend on */
  get deps(): Resolver[] | undefined {
    const l = this.links;
    return l === undefined || Array.isArray(l) ? l : l.deps;
  }
  get len(): number {
    const k = this.pkey;
    return typeof k === 'number' ? prefixCodeLength(k) : ipv6PrefixKeyLength(k);
  }
  /** the per-length map key: an IPv4 prefix's network bits (see keyV4), an IPv6 prefix's ipv6PrefixKey */
  get key(): number | string {
    const k = this.pkey;
    if (typeof k !== 'number') return k;
    const len = prefixCodeLength(k);
    return k - (len <= 30 ? 1 << len : 2 ** len);
  }
  /** the prefix's text, made when asked (show, logs, text-taking callers): entries keep no string */
  get prefix(): string {
    return prefixKeyText(this.pkey);
  }
  /** when the lone candidate came, in ticks after EPOCH (tickOf; 0 without one) */
  get at(): number {
    const h = this.held;
    return h instanceof Lone ? h.at : 0;
  }
  get since(): number {
    return EPOCH + this.at * TICK_MS;
  }
  /**
   * The entry itself when it has one candidate (most prefixes: it stands for it, which
   * saves an object per route), or the list of two or more, or an empty list.
   */
  get cands(): Entry | CandList {
    const h = this.held;
    return h instanceof Lone ? this : h;
  }
  /** set to a new list or the table's empty one (`hold` makes the entry its own candidate); the links and the attached record go along */
  set cands(list: CandList) {
    const l = this.links, t = this.table, a = this.attached;
    if (list !== t.none) {
      list.table = t;
      list.links = l;
      list.attached = a;
      this.held = list;
    } else {
      this.held = list;
      this.links = l;
      this.attached = a;
    }
  }
  /** no candidate (an entry kept for what is attached, or about to go) */
  get empty(): boolean {
    const h = this.held;
    return !(h instanceof Lone) && h.length === 0;
  }
  /** the lone candidate's source ('' without one) */
  get source(): string {
    const h = this.held;
    return h instanceof Lone ? h.source : '';
  }
  /** the lone candidate's route (NO_ROUTE without one) */
  get route(): RibRoute {
    const h = this.held;
    return h instanceof Lone ? h.route : NO_ROUTE;
  }
  /** the lone candidate's resolved next hops (null: unusable, or no lone candidate) */
  get fwd(): FibNexthop[] | null | undefined {
    const h = this.held;
    return h instanceof Lone ? h.fwd : null;
  }
  set fwd(fwd: FibNexthop[] | null | undefined) {
    const h = this.held;
    if (!(h instanceof Lone)) throw new Error('only a lone candidate is held by its entry');
    if (h.fwd !== fwd) this.held = lone(h.table, h.source, h.route, fwd, h.links, h.at, h.attached);
  }
  /**
   * Hold one candidate itself (the links stay). `fwd`: its resolved next hops, null
   * (unusable, and so not active) until evaluate resolves it.
   */
  hold(source: string, route: RibRoute, fwd: FibNexthop[] | null | undefined, at: number): void {
    this.held = lone(this.table, source, route, fwd, this.links, at, this.attached);
  }
  /** Hold a lone candidate already resolved (a run's, see Rib.installRun), its links, time and attached record with it. */
  take(l: Lone): void {
    this.held = l;
  }
  /** the lone candidate as held (undefined without one) */
  get lone(): Lone | undefined {
    const h = this.held;
    return h instanceof Lone ? h : undefined;
  }
  /** After an evaluation: the lone candidate's next hops (ignored without one), resolvers and interfaces, in one step. */
  settle(fwd: FibNexthop[] | null | undefined, deps: Resolver[] | undefined, ifDeps: string[] | undefined): void {
    const old = this.links;
    let links: Links = deps;
    if (ifDeps !== undefined) links = old !== undefined && !Array.isArray(old) && old.deps === deps && old.ifDeps === ifDeps ? old : { deps, ifDeps };
    const h = this.held;
    if (h instanceof Lone) {
      if (h.fwd !== fwd || h.links !== links) this.held = lone(h.table, h.source, h.route, fwd, links, h.at, h.attached);
    } else this.links = links;
  }
  /**
   * The active candidate: the lone candidate when usable (an entry is its own candidate;
   * evaluate makes a usable lone candidate active), for two or more the list's; kept out of
   * a field of its own (8 bytes per route).
   */
  get active(): Cand | undefined {
    const h = this.held;
    if (h instanceof Lone) return h.fwd !== null ? this : undefined;
    return h.active;
  }
  set active(v: Cand | undefined) {
    const h = this.held;
    if (h instanceof Lone) {
      if (v !== undefined && (v !== this || h.fwd === null)) throw new Error('the active route of a lone candidate is itself when usable, or none');
    } else if (h === h.table!.none) {
      if (v !== undefined) throw new Error('an entry without candidates has no active route');
    } else h.active = v as Candidate | undefined;
  }
  /** queued for the FIB exporter (see code), whose IPv6 entries queued are `v6` */
  fibQueued(v6: ReadonlySet<Entry>): boolean {
    const k = this.code;
    return typeof k === 'number' ? k < 0 : v6.has(this);
  }
  setFibQueued(v: boolean, v6: Set<Entry>): void {
    const k = this.code;
    if (typeof k === 'number') this.code = v ? -Math.abs(k) : Math.abs(k);
    else if (v) v6.add(this);
    else v6.delete(this);
  }
  /** an IPv6 entry's masked address (made when asked: show) */
  get v6(): Uint8Array | undefined {
    const k = this.pkey;
    return typeof k === 'string' ? prefixOfIpv6Key(k).addr : undefined;
  }
  /** interfaces this entry's candidates name explicitly (when the RIB tracks interface state) */
  get ifDeps(): string[] | undefined {
    const l = this.links;
    return l === undefined || Array.isArray(l) ? undefined : l.ifDeps;
  }
}

/**
 * Dependents a resolver lists; beyond this many it lists none and a change under its address
 * walks the tables of its dependents instead (Resolver.dependents).
 */
export const DEPENDENTS_LISTED = 65536;

class Resolver {
  /**
   * Entries that resolve through this address. Appended to, never searched: an entry that
   * stops depending stays until the list is compacted, so `live` counts the real ones and
   * readers check `entry.deps` (a Set here costs more than the rest of an announce).
   * Undefined once more than DEPENDENTS_LISTED depend on it (a full table through one next
   * hop): the list cost 8 bytes per route and, as it grew, copies of itself as garbage
   * (16 MB at a million), while a change under the address re-evaluates every dependent
   * anyway, which costs far more than walking `depTables` to find them.
   */
  dependents: Entry[] | undefined = [];
  /** the tables its dependents are in (its own; inet.0's entries for an inet.3 resolver) */
  readonly depTables: Table[] = [];
  live = 0;
  /** `[this]`, shared as the `deps` of every entry that depends on this resolver alone (never mutated) */
  readonly alone: Resolver[] = [this];
  watchers = new Set<ResolutionWatcher>();
  /** the route last told to watchers, as the RIB holds it, and its entry (shared routes need both) */
  lastReported: RibRoute | undefined = undefined;
  lastEntry: Entry | undefined = undefined;
  /** the last resolution of a lone gateway through this resolver, shared by every route using it */
  cacheVia: Cand | undefined = undefined;
  cacheViaRoute: RibRoute | undefined = undefined;
  cacheViaFwd: FibNexthop[] | null | undefined = undefined;
  cacheRecursive = false;
  cacheOut: FibNexthop[] | null = null;
  constructor(
    readonly table: Table,
    readonly address: string,
    /** IPv4 address as a number (0 for IPv6) */
    readonly v4: number,
    /** IPv6 address bytes */
    readonly v6: Uint8Array | undefined,
    readonly mapKey: string,
  ) {}
}

/**
 * The resolvers one evaluation used, in a list reused from one to the next: its count is
 * reset instead of its length (setting an array's length to 0 was a runtime call and gave
 * its storage back, to be allocated again by the next route's push: 3% of an ingest).
 */
class ResolverScratch {
  readonly items: Resolver[] = [];
  n = 0;
  push(r: Resolver): void {
    this.items[this.n++] = r;
  }
}

/** Register `e` as one more dependent of `r` (its table is among r.depTables already). */
function addDependent(r: Resolver, e: Entry): void {
  r.live++;
  const list = r.dependents;
  if (list === undefined) return;
  if (r.live > DEPENDENTS_LISTED) r.dependents = undefined;
  else {
    list.push(e);
    // (e's own list is stored after: it stays)
    if (list.length > 2 * r.live + 1024) r.dependents = [...new Set(list.filter((x) => x === e || x.deps?.includes(r)))];
  }
}

/**
 * A run of installs alike (Rib.installRun): the next hops (the array itself) and action of a
 * route whose install came to `lone` (its table, resolved next hops and resolvers), and the
 * epoch that was valid at. A route's resolution reads nothing else of it: BGP's routes
 * through one next hop share one next-hops array whatever their attributes. Entries with
 * the route and source of `lone` share it; another route gets a Lone with the same
 * resolution, and becomes `lone` for the entries after it.
 */
interface Run {
  readonly nexthops: RibRoute['nexthops'];
  readonly action: RibRoute['action'];
  lone: Lone;
  readonly epoch: number;
}

export interface TableInfo {
  name: string;
  family: 4 | 6;
  /** prefixes with at least one candidate */
  destinations: number;
  /** candidates in all */
  routes: number;
  active: number;
  hidden: number;
  byProtocol: Record<string, { routes: number; active: number }>;
}

/**
 * One prefix length's entries: IPv4 keys (numbers below 2^32) in a Uint32Map (12 bytes a
 * slot, lookups without a hash chain: a million entries are a full table), IPv6 keys (text)
 * in a Map. Both answer this much of Map's interface.
 */
interface LengthIndex {
  readonly size: number;
  get(key: number | string): Entry | undefined;
  set(key: number | string, e: Entry): unknown;
  delete(key: number | string): boolean;
  values(): Iterable<Entry>;
}

class Table {
  readonly byLen: LengthIndex[];
  /** lengths that hold entries, longest first */
  lengths: number[] = [];
  readonly resolvers = new Map<string, Resolver>();
  /** the resolvers as a list (made again after a change of `resolvers`): a run's per-prefix check walks it */
  resolverList: Resolver[] | undefined = undefined;
  size = 0;
  /** the data-plane VRF, or undefined for tables that are not forwarded */
  readonly vrf: string | undefined;
  /** the empty candidate list of this table's entries without candidates (it tells them their table) */
  readonly none: CandList = noCandidates(this);
  /**
   * The listeners whose filters take this table's changes, per pair of protocols (new and
   * previous, `new|previous`, '' for none), as of Rib.listenVersion (listenVersion here: the
   * version they were asked at), and the last pair asked with its answer: a run of changes
   * of one pair finds them with three comparisons (see Rib.listenersOf).
   */
  readonly listenersByProtocol = new Map<string, readonly RibListener[]>();
  listenVersion = -1;
  lastProtocol: string | undefined = undefined;
  lastPrevious: string | undefined = undefined;
  lastListeners: readonly RibListener[] = NO_LISTENERS;
  constructor(
    readonly name: string,
    readonly family: 4 | 6,
  ) {
    this.byLen = Array.from({ length: family === 4 ? 33 : 129 }, (): LengthIndex => (family === 4 ? (new Uint32Map<Entry>() as LengthIndex) : new Map<number | string, Entry>()));
    this.vrf = tableVrf(name);
  }

  noteLength(len: number): void {
    if (this.byLen[len]!.size === 1 && !this.lengths.includes(len)) {
      this.lengths.push(len);
      this.lengths.sort((a, b) => b - a);
    } else if (this.byLen[len]!.size === 0) {
      this.lengths = this.lengths.filter((l) => l !== len);
    }
  }
}

/** Family of a table by its name: *.inet6.0 and inet6.* are IPv6, the rest IPv4-keyed. */
export function tableFamily(table: string): 4 | 6 {
  return /(^|\.)inet6\./.test(table) ? 6 : 4;
}

/** The data-plane VRF a table is forwarded in, or undefined for tables that are not (bgp.l3vpn.0, mpls.0). */
export function tableVrf(table: string): string | undefined {
  if (table === 'inet.0' || table === 'inet6.0') return 'default';
  const m = /^(.+)\.inet6?\.0$/.exec(table);
  return m ? m[1] : undefined;
}

/** The table a resolution in `table` falls back to: inet.0 for inet.3, inet6.0 for inet6.3. */
export function resolutionFallback(table: string): string | undefined {
  return table === 'inet.3' ? 'inet.0' : table === 'inet6.3' ? 'inet6.0' : undefined;
}

/** Where a table's labeled next hops resolve first: inet.3 for inet.0, inet6.3 for inet6.0. */
function tunnelTableOf(table: string): string | undefined {
  return table === 'inet.0' ? 'inet.3' : table === 'inet6.0' ? 'inet6.3' : undefined;
}

/** The unicast table of an instance and family. */
export function tableName(instance: string, family: 4 | 6): string {
  const base = family === 4 ? 'inet.0' : 'inet6.0';
  return instance === 'default' || instance === 'master' ? base : `${instance}.${base}`;
}

/**
 * The per-length map key of an IPv4 prefix: its network bits as a number (below 2^len, so
 * a small integer that V8 stores without allocating for lengths up to 30).
 */
function keyV4(v: number, len: number): number {
  return len === 0 ? 0 : v >>> (32 - len);
}

function addrOfKeyV4(key: number, len: number): number {
  return len === 0 ? 0 : (key << (32 - len)) >>> 0;
}

function maskV4(v: number, len: number): number {
  return len === 0 ? 0 : (v & (0xffffffff << (32 - len))) >>> 0;
}

/** Fast path for the common IPv4 prefix text; falls back to lib/addr. */
interface ParsedKey {
  text: string;
  len: number;
  key: number | string;
  v6: Uint8Array | undefined;
}

/** parseKey's answer, reused: a million announces should not allocate a million of these */
const parsedKey: ParsedKey = { text: '', len: 0, key: 0, v6: undefined };

/** The canonical text, length and map key of a prefix (valid until the next call). */
function parseKey(table: Table, prefix: string): ParsedKey {
  const out = parsedKey;
  if (table.family === 4) {
    const q = scanIpv4Prefix(prefix);
    if (q) {
      const v = maskV4(q[0], q[1]);
      out.text = v === q[0] ? prefix : `${formatIpv4(v)}/${q[1]}`;
      out.len = q[1];
      out.key = keyV4(v, q[1]);
      out.v6 = undefined;
      return out;
    }
  }
  const parsed = parsePrefix(prefix);
  if (parsed.family !== table.family) throw new Error(`prefix ${prefix} does not belong in table ${table.name}`);
  out.text = formatPrefix(parsed);
  out.len = parsed.len;
  out.key = parsed.family === 4 ? keyV4(v4Of(parsed.addr), parsed.len) : ipv6PrefixKey(parsed.addr, parsed.len);
  out.v6 = parsed.family === 6 ? parsed.addr : undefined;
  return out;
}

/**
 * The length and map key of a prefix given as a value (valid until the next call): an IPv4
 * code without parsing anything, a text key through parseKey.
 */
function parseValue(table: Table, key: PrefixKey): ParsedKey {
  if (typeof key === 'string') {
    if (table.family !== 6 || !isIpv6PrefixKey(key)) return parseKey(table, key);
    const out = parsedKey;
    const p = prefixOfIpv6Key(key);
    out.text = '';
    out.len = p.len;
    out.key = key;
    out.v6 = p.addr;
    return out;
  }
  if (table.family !== 4 || !Number.isInteger(key) || key < 1 || key >= 2 ** 33) throw new Error(`prefix code ${key} does not belong in table ${table.name}`);
  const out = parsedKey;
  const len = prefixCodeLength(key);
  out.text = '';
  out.len = len;
  out.key = key - (len <= 30 ? 1 << len : 2 ** len);
  out.v6 = undefined;
  return out;
}

/** A new entry for a key its table's length index `m` does not hold (after a lookup that missed: see Uint32Map.get). */
function addEntry(t: Table, m: LengthIndex, len: number, key: number | string): Entry {
  const e = new Entry(t, len, key);
  m.set(key, e);
  t.size++;
  t.noteLength(len);
  return e;
}

/** Does entry `e`'s prefix hold the address (v4 number, or v6 bytes)? */
function holds(e: Entry, v4: number, v6: Uint8Array | undefined): boolean {
  const k = e.pkey;
  if (typeof k === 'string') return v6 !== undefined && v6KeyHolds(k, v6);
  if (v6) return false;
  const len = prefixCodeLength(k);
  return len === 0 || v4 >>> (32 - len) === k - (len <= 30 ? 1 << len : 2 ** len);
}

/** Does the prefix of an ipv6PrefixKey hold the address? (its bytes read from the key: nothing made) */
function v6KeyHolds(k: string, addr: Uint8Array): boolean {
  const len = ipv6PrefixKeyLength(k);
  for (let i = 0; i * 8 < len; i++) {
    const bits = len - i * 8;
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i]! & mask) !== k.charCodeAt(2 + i)) return false;
  }
  return true;
}

function v4Of(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

function sameLabels(a: number[] | undefined, b: number[] | undefined): boolean {
  const la = a?.length ?? 0;
  if (la !== (b?.length ?? 0)) return false;
  for (let i = 0; i < la; i++) if (a![i] !== b![i]) return false;
  return true;
}

export function sameFib(a: FibRoute | undefined, b: FibRoute | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.action !== b.action || a.nexthops.length !== b.nexthops.length) return false;
  for (let i = 0; i < a.nexthops.length; i++) {
    const x = a.nexthops[i]!, y = b.nexthops[i]!;
    if (x.gateway !== y.gateway || x.interface !== y.interface || x.udpSource !== y.udpSource || !sameLabels(x.labels, y.labels)) return false;
  }
  return true;
}

export type DecidingStep = 'Unusable' | 'Route preference' | 'Metric' | 'Source order' | 'Active';

/**
 * The best-path chain: usable beats unusable, then lower preference, then lower metric,
 * then the source name as a deterministic last resort. Returns < 0 when `a` wins, and the
 * step that decided.
 */
export function compareCandidates(
  a: { source: string; route: RibRoute; fwd: unknown },
  b: { source: string; route: RibRoute; fwd: unknown },
): { order: number; step: DecidingStep } {
  const ua = a.fwd !== null, ub = b.fwd !== null;
  if (ua !== ub) return { order: ua ? -1 : 1, step: 'Unusable' };
  if (a.route.preference !== b.route.preference) return { order: a.route.preference - b.route.preference, step: 'Route preference' };
  const ma = a.route.metric ?? 0, mb = b.route.metric ?? 0;
  if (ma !== mb) return { order: ma - mb, step: 'Metric' };
  return { order: a.source < b.source ? -1 : a.source > b.source ? 1 : 0, step: 'Source order' };
}

export interface ShownCandidate {
  source: string;
  route: RibRoute;
  active: boolean;
  /** resolved next hops, null when unusable */
  forwarding: FibNexthop[] | null | undefined;
  /** the step of the best-path chain that decided against this route (or for it, when active and contested) */
  reason: DecidingStep;
  /** ms since epoch of the last change */
  since: number;
}

export interface ShownEntry {
  table: string;
  prefix: string;
  candidates: ShownCandidate[];
}

export class Rib implements RibApi {
  private readonly tables = new Map<string, Table>();
  /** mpls.0: allocated labels and their actions (see mpls.ts) */
  readonly mpls = new MplsTable();
  private subscriptions: Subscription[] = [];
  /** moves when a subscription comes, goes or is refiltered: the tables' listener lists are asked again */
  private listenVersion = 0;
  /** guards cascading re-evaluation through resolution cycles */
  private depth = 0;
  /** interfaces that are up; undefined until setInterfaces is called (all are assumed up) */
  private up: Set<string> | undefined;
  private readonly ifDependents = new Map<string, Set<Entry>>();
  private ifScratch: string[] = [];
  private readonly ifScratchTop: string[] = [];
  private readonly depsScratch = new ResolverScratch();
  /** Date.now() as read by the current task (see now) */
  private nowMs = 0;
  private nowRead = false;
  private readonly nowExpired = (): void => {
    this.nowRead = false;
  };

  /**
   * The time for a route's age: Date.now() read once per task (a microtask forgets it when
   * the task ends). Reading it per route was ~4% of a table's ingest (50 ns a call here);
   * an age is then off by at most the task that installed it, and kept in ticks of 200 ms.
   */
  private now(): number {
    if (!this.nowRead) {
      this.nowMs = Date.now();
      this.nowRead = true;
      queueMicrotask(this.nowExpired);
    }
    return this.nowMs;
  }

  /** the table `table()` answered last */
  private lastTable: Table | undefined = undefined;
  /**
   * Counts changes that may alter a resolution: an active route changing at a prefix that
   * holds a resolver's address (any table), a resolver dropped, interfaces going up or down.
   * A run's install (see Run) is valid while it has not moved.
   */
  private epoch = 0;
  /** the last install that started a run (see installRun), or undefined */
  private run: Run | undefined = undefined;
  /** whether runs are recognised (tests compare with the per-prefix path: `new Rib({ runs: false })`) */
  private readonly runs: boolean;
  /** entries installed by a run (installRun), for tests and profiles */
  runInstalls = 0;

  constructor(opts: { runs?: boolean } = {}) {
    this.runs = opts.runs ?? true;
  }

  /**
   * The interfaces that exist and are up. Next hops that name another interface are
   * unusable (a pod's route goes when its interface goes); before the first call every
   * interface counts as up.
   */
  setInterfaces(up: Iterable<string>): void {
    const next = new Set(up);
    const old = this.up;
    this.up = next;
    // (a run holds no interface's state; the connected routes re-evaluated below bump it too)
    this.epoch++;
    const changed = new Set<string>();
    for (const n of next) if (!old?.has(n)) changed.add(n);
    for (const n of old ?? []) if (!next.has(n)) changed.add(n);
    if (!old) for (const n of this.ifDependents.keys()) if (!next.has(n)) changed.add(n);
    const hit = new Set<Entry>();
    for (const n of changed) for (const e of this.ifDependents.get(n) ?? []) hit.add(e);
    for (const e of hit) this.evaluate(e);
  }

  private fib: FibQueue | undefined;

  /**
   * The FIB exporter's view of changes: a queue of prefixes whose FIB entry changed, read
   * when the exporter is ready. Each prefix is queued once however often it changes before
   * it is read, and read with its state at that time, so bursts coalesce without a map.
   */
  fibQueue(wake: () => void): FibQueue {
    if (this.fib) throw new Error('the RIB already has a FIB exporter');
    this.fib = new FibQueue(wake, () => {
      this.fib = undefined;
    });
    return this.fib;
  }

  /**
   * Listen to FIB-relevant changes (active route or its resolved next hops), all of them or
   * those `wants` takes (see RibChangeFilter). Listeners are called in the order they
   * subscribed. The answer stops listening, and its `refilter` asks the filter again.
   */
  subscribe(listener: RibListener, wants?: RibChangeFilter): RibSubscription {
    const sub = new Subscription(listener, wants);
    // a new list, not one changed in place: a change being told walks the lists it found
    this.subscriptions = [...this.subscriptions, sub];
    this.listenVersion++;
    const stop = (): void => {
      if (!this.subscriptions.includes(sub)) return;
      this.subscriptions = this.subscriptions.filter((s) => s !== sub);
      this.listenVersion++;
    };
    return Object.assign(stop, {
      refilter: (): void => {
        this.listenVersion++;
      },
    });
  }

  /** The listeners that take a change of table `t` to `protocol` (see Table.listenersByProtocol). */
  private listenersOf(t: Table, protocol: string | undefined, previous: string | undefined): readonly RibListener[] {
    if (t.listenVersion !== this.listenVersion) {
      t.listenersByProtocol.clear();
      t.listenVersion = this.listenVersion;
    }
    const k = `${protocol ?? ''}|${previous ?? ''}`;
    let ls = t.listenersByProtocol.get(k);
    if (ls === undefined) {
      const taken: RibListener[] = [];
      for (const s of this.subscriptions) if (s.wants === undefined || s.wants(t.name, protocol as RibRoute['protocol'] | undefined, previous as RibRoute['protocol'] | undefined)) taken.push(s.listener);
      ls = taken.length ? taken : NO_LISTENERS;
      t.listenersByProtocol.set(k, ls);
    }
    t.lastProtocol = protocol;
    t.lastPrevious = previous;
    t.lastListeners = ls;
    return ls;
  }

  /** Create a table (empty tables still show and export their VRF). */
  ensureTable(name: string): void {
    this.table(name);
  }

  /** Drop a table that has no routes left. */
  dropTable(name: string): void {
    const t = this.tables.get(name);
    if (t && t.size === 0 && t.resolvers.size === 0) {
      this.tables.delete(name);
      if (this.lastTable === t) this.lastTable = undefined;
    }
  }

  tableNames(): string[] {
    // an empty inet.3 exists only because something resolves there: not a table to show
    return [...this.tables.values()].filter((t) => t.size > 0 || resolutionFallback(t.name) === undefined).map((t) => t.name).sort(tableOrder);
  }

  announce(table: string, source: string, route: RibRoute): void {
    // label routes (IS-IS SR) live in the MplsTable, keyed by label, not by prefix
    if (table === MPLS_TABLE) {
      this.mpls.announceRoute(source, route);
      return;
    }
    const t = this.table(table);
    this.put(t, source, parseKey(t, route.prefix), route, false);
  }

  announceShared(table: string, source: string, prefix: string, route: RibRoute): void {
    if (table === MPLS_TABLE) {
      this.mpls.announceRoute(source, { ...route, prefix });
      return;
    }
    const t = this.table(table);
    this.put(t, source, parseKey(t, prefix), route, true);
  }

  /**
   * announceShared with the prefix as a value (lib/addr PrefixKey): an IPv4 prefix as its
   * ipv4PrefixCode is neither parsed nor formatted (BGP's hot path), other keys are text.
   */
  announceSharedKey(table: string, source: string, key: PrefixKey, route: RibRoute): void {
    const t = this.table(table);
    this.put(t, source, parseValue(t, key), route, true);
  }

  /**
   * Attach a protocol's record to a prefix's entry (made if need be), for the protocol to
   * keep instead of a map of its own: `attachedValue` finds it, and the returned entry
   * handle lets announceAt/withdrawAt/activeProtocolAt skip the lookup. The entry stays
   * while attached (with or without routes) until `detach`. One record per entry: BGP's.
   */
  attach(table: string, key: PrefixKey, value: object): RibEntryRef {
    const t = this.table(table);
    const e = this.entryOf(t, parseValue(t, key));
    e.attached = value;
    return e;
  }

  /**
   * The entry of a prefix, made if need be (for `attachedAt`/`attachAt`: one lookup where a
   * protocol finds or adds its record). The caller attaches to an entry it made: one left
   * with no route and nothing attached would stay until a route comes and goes.
   */
  entryRef(table: string, key: PrefixKey): RibEntryRef {
    const t = this.table(table);
    return this.entryOf(t, parseValue(t, key));
  }

  /** The record attached to an entry (see attach). */
  attachedAt(ref: RibEntryRef): object | undefined {
    return (ref as Entry).attached;
  }

  /** Attach a record to an entry given by entryRef (see attach). */
  attachAt(ref: RibEntryRef, value: object): void {
    (ref as Entry).attached = value;
  }

  /** The record attached to a prefix's entry, if any (see attach). */
  attachedValue(table: string, key: PrefixKey): object | undefined {
    return this.entry(table, key)?.attached;
  }

  /** The entry of a prefix that has something attached (see attach), without making one. */
  attachedRef(table: string, key: PrefixKey): RibEntryRef | undefined {
    const e = this.entry(table, key);
    return e?.attached !== undefined ? e : undefined;
  }

  /** Let go of an entry's record; the entry goes too when it holds no route. */
  detach(ref: RibEntryRef): void {
    const e = ref as Entry;
    e.attached = undefined;
    if (e.empty) this.drop(e);
  }

  /** The records attached in a table (see attach). */
  *attachedValues(table: string): Generator<object> {
    const t = this.tables.get(table);
    if (!t) return;
    for (const len of [...t.lengths]) {
      for (const e of t.byLen[len]!.values()) if (e.attached !== undefined) yield e.attached;
    }
  }

  /** The entries of a table that have something attached, with it (see attach). */
  *attachedEntries(table: string): Generator<[RibEntryRef, object]> {
    const t = this.tables.get(table);
    if (!t) return;
    for (const len of [...t.lengths]) {
      for (const e of t.byLen[len]!.values()) if (e.attached !== undefined) yield [e, e.attached];
    }
  }

  /** announceShared for an attached entry (no lookup); returns whether `source`'s route is now the active one. */
  announceAt(ref: RibEntryRef, source: string, route: RibRoute): boolean {
    const e = ref as Entry;
    this.putIn(e, source, route, true, '');
    return e.active !== undefined && (e.active === e ? e.source : (e.active as Candidate).source) === source;
  }

  /**
   * New prefixes of one shared route, installed as a run (see RibApi.announceFreshRun and
   * installRun): one call per UPDATE where a call per prefix went through entryRef,
   * attachAt and announceAt. A key stops the run, untouched but for an empty entry made
   * for it (which the caller's entryRef finds), when its entry exists, when it is not the
   * table's value form (an IPv4 code, an ipv6PrefixKey), or when the run's install does
   * not apply to it (no run yet, the epoch moved, a resolver's address under it).
   */
  announceFreshRun(table: string, keys: readonly PrefixKey[], from: number, source: string, route: RibRoute, value: object): number {
    const n = keys.length;
    if (!this.runs || from >= n) return from;
    const t = this.table(table);
    const v4 = t.family === 4;
    const at = tickOf(route.age ?? this.now());
    for (let i = from; i < n; i++) {
      const key = keys[i]!;
      if (v4 ? typeof key !== 'number' : typeof key !== 'string' || !isIpv6PrefixKey(key)) return i;
      const k = parseValue(t, key);
      const m = t.byLen[k.len]!;
      if (m.get(k.key) !== undefined) return i;
      const e = addEntry(t, m, k.len, k.key);
      // attached as it is installed (a listener told of it finds it whole); left empty for
      // the caller (which attaches and announces the usual way) when the run does not apply
      if (!this.installRun(e, source, route, at, value)) return i;
    }
    return n;
  }

  /** withdraw for an attached entry (no lookup). */
  withdrawAt(ref: RibEntryRef, source: string): void {
    this.remove(ref as Entry, source);
  }

  /** activeProtocol for an attached entry (no lookup). */
  activeProtocolAt(ref: RibEntryRef): RibRoute['protocol'] | undefined {
    return (ref as Entry).active?.route.protocol;
  }

  /** The entry of a parsed prefix, made if need be. */
  private entryOf(t: Table, k: ParsedKey): Entry {
    const { len, key } = k;
    const m = t.byLen[len]!;
    return m.get(key) ?? addEntry(t, m, len, key);
  }

  /** Take an entry out of its table (it has no route and nothing attached). */
  private drop(e: Entry): void {
    const t = e.table;
    const m = t.byLen[e.len]!;
    if (m.get(e.key) === e) {
      m.delete(e.key);
      t.size--;
      t.noteLength(e.len);
    }
  }

  private put(t: Table, source: string, k: ParsedKey, route: RibRoute, shared: boolean): void {
    const text = k.text;
    this.putIn(this.entryOf(t, k), source, route, shared, text);
  }

  private putIn(e: Entry, source: string, route: RibRoute, shared: boolean, text: string): void {
    const at = tickOf(route.age ?? this.now());
    // a shared route stays shared (routeOf gives it its prefix when it leaves the RIB)
    const r = shared || route.prefix === text ? route : { ...route, prefix: text };
    const cands = e.cands;
    if (!Array.isArray(cands)) {
      if (e.source === source) {
        if (this.runs && this.replaceRun(e, source, r, at)) return;
        // replaced in place: evaluate compares with the state before
        const was = e.active === e;
        const oldRoute = e.route, oldFwd = e.fwd;
        const epoch = this.epoch;
        e.hold(source, r, null, at);
        this.evaluate(e, was ? oldRoute : null, oldFwd);
        if (this.runs) this.noteRun(e, source, r, epoch);
        return;
      }
      const first = new Candidate(e.source, e.route, e.fwd, e.at);
      const list = new CandList();
      list.push(first, new Candidate(source, r, undefined, at));
      list.active = e.active === e ? first : undefined;
      e.cands = list;
    } else if (cands.length === 0) {
      if (cands.links === undefined && this.runs) {
        // a fresh entry (no candidate, no links; perhaps a record attached, which its empty
        // list keeps): installed as the run's last one was, or it starts a run
        if (this.installRun(e, source, r, at, e.attached)) return;
        const epoch = this.epoch;
        e.hold(source, r, null, at);
        this.evaluate(e);
        this.noteRun(e, source, r, epoch);
        return;
      }
      e.hold(source, r, null, at);
    } else {
      const cand = new Candidate(source, r, undefined, at);
      let i = cands.length - 1;
      while (i >= 0 && cands[i]!.source !== source) i--;
      if (i >= 0) cands[i] = cand;
      else cands.push(cand);
    }
    this.evaluate(e);
  }

  withdraw(table: string, source: string, prefix: string): void {
    if (table === MPLS_TABLE) {
      this.mpls.withdrawRoute(source, prefix);
      return;
    }
    this.withdrawKey(table, source, prefix);
  }

  /** withdraw with the prefix as a value (see announceSharedKey). */
  withdrawKey(table: string, source: string, prefix: PrefixKey): void {
    const t = this.tables.get(table);
    if (!t) return;
    let k: ParsedKey;
    try {
      k = parseValue(t, prefix);
    } catch {
      return;
    }
    const e = t.byLen[k.len]!.get(k.key);
    if (!e) return;
    this.remove(e, source);
  }

  flush(table: string, source: string): void {
    if (table === MPLS_TABLE) {
      this.mpls.flushSource(source);
      return;
    }
    const t = this.tables.get(table);
    if (!t) return;
    const hit: Entry[] = [];
    for (const len of t.lengths) {
      for (const e of t.byLen[len]!.values()) if (candList(e).some((c) => c.source === source)) hit.push(e);
    }
    for (const e of hit) this.remove(e, source);
  }

  get(table: string, prefix: string): RibRoute | undefined {
    return this.getKey(table, prefix);
  }

  /** get with the prefix as a value (see announceSharedKey). */
  getKey(table: string, prefix: PrefixKey): RibRoute | undefined {
    const e = this.entry(table, prefix);
    return e?.active ? routeOf(e, e.active) : undefined;
  }

  /** The protocol of the active route for an exact prefix, without building the route. */
  activeProtocol(table: string, prefix: PrefixKey): RibRoute['protocol'] | undefined {
    return this.entry(table, prefix)?.active?.route.protocol;
  }

  /** The FIB form of the active route for an exact prefix. */
  getFib(table: string, prefix: string): FibRoute | undefined {
    const e = this.entry(table, prefix);
    return e?.active ? fibOf(e.active) : undefined;
  }

  lookup(table: string, address: string): RibRoute | undefined {
    const base = resolutionFallback(table);
    if (base !== undefined) return this.lookupIn(table, address) ?? this.lookupIn(base, address);
    return this.lookupIn(table, address);
  }

  private lookupIn(table: string, address: string): RibRoute | undefined {
    const t = this.tables.get(table);
    if (!t) return undefined;
    const { family, bytes } = parseIp(address);
    if (family !== t.family) return undefined;
    const e = family === 4 ? this.longest(t, v4Of(bytes), undefined, undefined) : this.longest(t, 0, bytes, undefined);
    return e?.active ? routeOf(e, e.active) : undefined;
  }

  watch(table: string, address: string, cb: ResolutionWatcher): () => void {
    const base = resolutionFallback(table);
    if (base === undefined) return this.watchIn(table, address, cb);
    // the tunnel when there is one, else the plain route: told when the answer changes
    let tunnel: RibRoute | undefined;
    let plain: RibRoute | undefined;
    let told: RibRoute | undefined | null = null;
    let ready = false;
    const tell = () => {
      const now = tunnel ?? plain;
      if (!ready || now === told) return;
      told = now;
      cb(now);
    };
    const stopTunnel = this.watchIn(table, address, (r) => {
      tunnel = r;
      tell();
    });
    let stopPlain: () => void;
    try {
      stopPlain = this.watchIn(base, address, (r) => {
        plain = r;
        tell();
      });
    } catch (err) {
      stopTunnel();
      throw err;
    }
    ready = true;
    tell();
    return () => {
      stopTunnel();
      stopPlain();
    };
  }

  private watchIn(table: string, address: string, cb: ResolutionWatcher): () => void {
    const r = this.resolver(this.table(table), address);
    r.watchers.add(cb);
    const e = this.longest(r.table, r.v4, r.v6, undefined);
    r.lastEntry = e;
    r.lastReported = e?.active?.route;
    cb(e?.active ? routeOf(e, e.active) : undefined);
    return () => {
      r.watchers.delete(cb);
      this.maybeDropResolver(r);
    };
  }

  /** Every active route of every forwarded table, for a FIB replay. */
  *fibRoutes(): Generator<FibRouteRow> {
    for (const t of this.tables.values()) {
      const vrf = tableVrf(t.name);
      if (vrf === undefined) continue;
      // a copy: the RIB keeps changing while a replay is read, and `lengths` is re-sorted in
      // place when a new length appears, which would revisit lengths (the new length's
      // routes travel in the FIB queue anyway)
      for (const len of [...t.lengths]) {
        for (const e of t.byLen[len]!.values()) {
          if (e.active) yield new FibRouteRow(t.name, vrf, e.pkey, fibOf(e.active));
        }
      }
    }
  }

  /** Entries of a table for `show route`, unsorted; optional filter by prefix (longest match or exact). */
  show(table: string, filter?: { prefix: string; exact: boolean }): ShownEntry[] {
    const t = this.tables.get(table);
    if (!t) return [];
    let entries: Entry[];
    if (filter) {
      let p: Prefix;
      try {
        p = filter.prefix.includes('/') ? parsePrefix(filter.prefix) : (() => {
          const ip = parseIp(filter.prefix);
          return { family: ip.family, addr: ip.bytes, len: ip.family === 4 ? 32 : 128 };
        })();
      } catch {
        return [];
      }
      if (p.family !== t.family) return [];
      if (filter.exact) {
        const e = t.byLen[p.len]!.get(p.family === 4 ? keyV4(v4Of(p.addr), p.len) : ipv6PrefixKey(p.addr, p.len));
        entries = e ? [e] : [];
      } else if (!filter.prefix.includes('/')) {
        const e = p.family === 4 ? this.longest(t, v4Of(p.addr), undefined, undefined) : this.longest(t, 0, p.addr, undefined);
        entries = e ? [e] : [];
      } else {
        // the prefix and everything more specific, as Junos shows
        entries = [];
        for (const len of t.lengths) {
          if (len < p.len) continue;
          for (const e of t.byLen[len]!.values()) {
            const v = addrOfKeyV4(e.key as number, e.len);
            const a = e.v6 ?? new Uint8Array([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]);
            if (prefixContains(p, a)) entries.push(e);
          }
        }
      }
    } else {
      entries = [];
      for (const len of t.lengths) for (const e of t.byLen[len]!.values()) entries.push(e);
    }
    return entries.filter((e) => !e.empty).map((e) => shownEntry(e));
  }

  summary(): TableInfo[] {
    const out: TableInfo[] = [];
    for (const name of this.tableNames()) {
      const t = this.tables.get(name)!;
      const info: TableInfo = { name, family: t.family, destinations: 0, routes: 0, active: 0, hidden: 0, byProtocol: {} };
      for (const len of t.lengths) {
        for (const e of t.byLen[len]!.values()) {
          if (e.empty) continue;
          info.destinations++;
          for (const c of candList(e)) {
            info.routes++;
            const p = (info.byProtocol[c.route.protocol] ??= { routes: 0, active: 0 });
            p.routes++;
            if (c === e.active) {
              info.active++;
              p.active++;
            } else if (c.fwd === null) info.hidden++;
          }
        }
      }
      out.push(info);
    }
    return out;
  }

  // ---- internals

  /** Take a source's candidate out of an entry and re-evaluate it. */
  private remove(e: Entry, source: string): void {
    const cands = e.cands;
    if (!Array.isArray(cands)) {
      if (e.source !== source) return;
      const was = e.active === e;
      const oldRoute = e.route, oldFwd = e.fwd;
      e.cands = e.table.none;
      this.evaluate(e, was ? oldRoute : null, oldFwd);
      return;
    }
    const i = cands.findIndex((c) => c.source === source);
    if (i < 0) return;
    cands.splice(i, 1);
    if (cands.length === 1) {
      // back to holding the lone candidate itself; the active route before (the one left,
      // the one removed, or none) is told to evaluate, as the entry no longer holds it
      const c = cands[0]!;
      const prev = cands.active;
      e.hold(c.source, c.route, c.fwd, c.at);
      e.active = prev === c ? e : undefined;
      this.evaluate(e, prev ? prev.route : null, prev?.fwd);
      return;
    }
    this.evaluate(e);
  }

  private table(name: string): Table {
    // the table of the last call first: a protocol's runs of calls name one table
    const last = this.lastTable;
    if (last !== undefined && last.name === name) return last;
    let t = this.tables.get(name);
    if (!t) {
      t = new Table(name, tableFamily(name));
      this.tables.set(name, t);
    }
    this.lastTable = t;
    return t;
  }

  private entry(table: string, prefix: PrefixKey): Entry | undefined {
    const t = this.tables.get(table);
    if (!t) return undefined;
    try {
      const k = parseValue(t, prefix);
      return t.byLen[k.len]!.get(k.key);
    } catch {
      return undefined;
    }
  }

  /** Longest-match entry with an active route, skipping `exclude`. */
  private longest(t: Table, v: number, addr: Uint8Array | undefined, exclude: Entry | undefined): Entry | undefined {
    if (!addr) {
      for (const len of t.lengths) {
        const e = t.byLen[len]!.get(keyV4(v, len));
        if (e?.active && e !== exclude) return e;
      }
      return undefined;
    }
    for (const len of t.lengths) {
      const e = t.byLen[len]!.get(ipv6PrefixKey(addr, len));
      if (e?.active && e !== exclude) return e;
    }
    return undefined;
  }

  /** The resolver of an address, keyed by its text as given (protocols repeat the same text). */
  private resolver(t: Table, address: string): Resolver {
    let r = t.resolvers.get(address);
    if (r) return r;
    const { family, bytes } = parseIp(address);
    if (family !== t.family) throw new Error(`address ${address} cannot resolve in table ${t.name}`);
    const text = family === 4 ? formatIpv4(v4Of(bytes)) : formatIpv6Bytes(bytes);
    r = new Resolver(t, text, family === 4 ? v4Of(bytes) : 0, family === 6 ? bytes : undefined, address);
    t.resolvers.set(address, r);
    t.resolverList = undefined;
    return r;
  }

  private maybeDropResolver(r: Resolver): void {
    if (r.live === 0 && r.watchers.size === 0) {
      r.table.resolvers.delete(r.mapKey);
      r.table.resolverList = undefined;
      // a run's install names it among its resolvers: made again, it would be another object
      this.epoch++;
    }
  }

  /** Resolve one candidate's next hops; records the resolvers it used in `deps`. */
  private resolve(e: Entry, c: Cand, deps: ResolverScratch): FibNexthop[] | null | undefined {
    const action = c.route.action ?? 'forward';
    if (action !== 'forward') return undefined;
    const nhs = c.route.nexthops;
    if (nhs.length === 1) {
      // the common case (BGP, static): one gateway to resolve; resolvers share the result
      const nh = nhs[0]!;
      if (nh.gateway !== undefined && nh.interface === undefined && !nh.labels?.length) {
        let r: Resolver;
        try {
          r = this.resolver(e.table, nh.gateway);
        } catch {
          return null;
        }
        deps.push(r);
        const via = this.longest(e.table, r.v4, r.v6, e)?.active;
        const recursive = nh.recursive === true;
        if (via && r.cacheVia === via && r.cacheViaRoute === via.route && r.cacheViaFwd === via.fwd && r.cacheRecursive === recursive) return r.cacheOut;
        const out: FibNexthop[] = [];
        this.resolveVia(nh, via, out);
        r.cacheVia = via;
        r.cacheViaRoute = via?.route;
        r.cacheViaFwd = via?.fwd;
        r.cacheRecursive = recursive;
        r.cacheOut = out.length ? out : null;
        return r.cacheOut;
      }
    }
    const out: FibNexthop[] = [];
    for (const nh of nhs) this.resolveNexthop(e, nh, deps, out);
    return out.length > 0 ? out : null;
  }

  private resolveNexthop(e: Entry, nh: RibNexthop, deps: ResolverScratch, out: FibNexthop[]): void {
    if (nh.udpSource !== undefined && nh.gateway !== undefined) {
      out.push({ gateway: nh.gateway, labels: nh.labels ?? [], udpSource: nh.udpSource });
      return;
    }
    if (nh.interface !== undefined && !nh.recursive) {
      this.ifScratch.push(nh.interface);
      if (this.up && !this.up.has(nh.interface)) return;
    }
    if (nh.gateway === undefined) {
      if (nh.interface !== undefined) out.push(nh.labels?.length ? { interface: nh.interface, labels: nh.labels } : { interface: nh.interface });
      return;
    }
    if (nh.interface !== undefined && !nh.recursive) {
      out.push(nh.labels?.length ? { gateway: nh.gateway, interface: nh.interface, labels: nh.labels } : { gateway: nh.gateway, interface: nh.interface });
      return;
    }
    if (nh.recursive && nh.labels?.length && this.resolveThroughTunnel(e, nh, deps, out)) return;
    let r: Resolver;
    try {
      r = this.resolver(e.table, nh.gateway);
    } catch {
      return;
    }
    deps.push(r);
    this.resolveVia(nh, this.longest(e.table, r.v4, r.v6, e)?.active, out);
  }

  /**
   * A labeled recursive next hop through the tunnel table (inet.3) of its table, when that
   * has a route toward the gateway: the tunnel's next hops (all of them: ECMP over equal SR
   * paths) with their transport labels, the next hop's own labels under them. False when
   * there is none (the caller resolves in the table itself); the tunnel table's resolver is
   * a dependency either way, so a tunnel coming or going re-resolves the route.
   */
  private resolveThroughTunnel(e: Entry, nh: RibNexthop, deps: ResolverScratch, out: FibNexthop[]): boolean {
    const tunnels = tunnelTableOf(e.table.name);
    if (tunnels === undefined || nh.gateway === undefined) return false;
    let r: Resolver;
    try {
      r = this.resolver(this.table(tunnels), nh.gateway);
    } catch {
      return false;
    }
    deps.push(r);
    const via = this.longest(r.table, r.v4, r.v6, undefined)?.active;
    if (!via) return false;
    const n = out.length;
    this.resolveVia(nh, via, out);
    return out.length > n;
  }

  /** Next hops of `nh` (a gateway) through the route `via` that covers it. */
  private resolveVia(nh: RibNexthop, via: Cand | undefined, out: FibNexthop[]): void {
    if (!via || nh.gateway === undefined) return;
    const vr = via.route;
    if ((vr.action ?? 'forward') !== 'forward') return;
    if (vr.protocol === 'direct') {
      const ifname = vr.nexthops[0]?.interface;
      if (ifname !== undefined) out.push(nh.labels?.length ? { gateway: nh.gateway, interface: ifname, labels: nh.labels } : { gateway: nh.gateway, interface: ifname });
      return;
    }
    if (!nh.recursive || !via.fwd) return;
    for (const f of via.fwd) {
      const labels = [...(f.labels ?? []), ...(nh.labels ?? [])];
      const x: FibNexthop = { gateway: f.gateway ?? nh.gateway };
      if (f.interface !== undefined) x.interface = f.interface;
      if (labels.length) x.labels = labels;
      if (!out.some((o) => o.gateway === x.gateway && o.interface === x.interface && sameLabels(o.labels, x.labels))) out.push(x);
    }
  }

  /** Recompute an entry's candidates, pick the active one, tell listeners and dependents. */
  private evaluate(e: Entry, prevRoute?: RibRoute | null, prevFwd?: FibNexthop[] | null): void {
    // the active route before (given by callers that changed the lone candidate in place;
    // null: there was none), read before resolving again: it may be re-resolved in place
    const oldRoute = prevRoute === undefined ? e.active?.route : (prevRoute ?? undefined);
    const oldAction = oldRoute ? (oldRoute.action ?? 'forward') : undefined;
    const oldFwd = prevRoute === undefined ? e.active?.fwd : prevFwd;
    const deps = this.depsScratch;
    deps.n = 0;
    const outerScratch = this.ifScratch;
    this.ifScratch = this.depth === 0 ? this.ifScratchTop : [];
    if (this.ifScratch.length) this.ifScratch.length = 0;
    let best: Cand | undefined;
    const cands = e.cands;
    let fwd: FibNexthop[] | null | undefined = null;
    if (!Array.isArray(cands)) {
      fwd = this.resolve(e, cands, deps);
      if (fwd !== null) best = cands;
    } else {
      for (const c of cands) {
        c.fwd = this.resolve(e, c, deps);
        if (c.fwd === null) continue;
        if (!best || compareCandidates(c, best).order < 0) best = c;
      }
    }
    const newDeps = this.setDeps(e, deps);
    const ifDeps = this.setIfDeps(e, this.ifScratch);
    this.ifScratch = outerScratch;
    // the lone candidate's next hops and the links in one step (a Lone is made at most once)
    e.settle(fwd, newDeps, ifDeps);
    e.active = best;
    if (e.empty && e.attached === undefined) this.drop(e);
    const routeChanged = oldRoute !== best?.route;
    if (!routeChanged && sameForwarding(oldAction, oldFwd, best)) return;
    this.tell(e, best, oldRoute?.protocol);
    this.propagate(e);
  }

  /**
   * An entry's active route or its forwarding changed: tell the listeners, and queue it for
   * the FIB (forwarded tables). `previous`: the protocol of the active route before (none
   * for a new prefix).
   */
  private tell(e: Entry, best: Cand | undefined, previous: RibRoute['protocol'] | undefined): void {
    const t = e.table;
    if (this.subscriptions.length) {
      const protocol = best?.route.protocol;
      // (a run of one pair of protocols' changes in one table: the last answer)
      const ls = t.lastProtocol === protocol && t.lastPrevious === previous && t.listenVersion === this.listenVersion ? t.lastListeners : this.listenersOf(t, protocol, previous);
      if (ls.length) {
        const change = new Change(e, best, previous);
        for (let i = 0; i < ls.length; i++) ls[i]!(change);
      }
    }
    const q = this.fib;
    if (q?.on && t.vrf !== undefined && !e.fibQueued(q.queuedV6)) q.push(e);
  }

  /** Register an entry with the resolvers it uses now and not before, and the reverse; returns its new list (the caller stores it). */
  private setDeps(e: Entry, scratch: ResolverScratch): Resolver[] | undefined {
    const old = e.deps;
    const n = scratch.n, found = scratch.items;
    if (!old && n === 0) return undefined;
    if (old && old.length === n) {
      let same = true;
      for (let i = 0; i < n; i++) if (old[i] !== found[i]) same = false;
      if (same) return old;
    }
    const deps = n === 1 ? found[0]!.alone : n > 1 ? [...new Set(found.slice(0, n))] : [];
    this.relink(e, old, deps);
    return deps.length ? deps : undefined;
  }

  /** Register an entry with the resolvers of `deps` that are not in `old`, and let go of those of `old` not in `deps`. */
  private relink(e: Entry, old: Resolver[] | undefined, deps: Resolver[]): void {
    if (old) {
      for (const r of old) {
        if (deps.includes(r)) continue;
        // none left: listed again from the next one (a walk found nothing to drop from a list)
        if (--r.live === 0) r.dependents = [];
        this.maybeDropResolver(r);
      }
    }
    for (const r of deps) {
      if (old?.includes(r)) continue;
      if (!r.depTables.includes(e.table)) r.depTables.push(e.table);
      addDependent(r, e);
    }
  }

  /**
   * Install a route at a fresh entry (no candidate, no links) as the run's last install went,
   * when it can go so: the same table, next-hops array and action (the prefixes of a BGP
   * UPDATE share one route; BGP's routes through one next hop share its next-hops array),
   * nothing since that may change a resolution (the epoch), and no resolver's address under
   * the prefix (the entry's own resolution would exclude itself, and its change would have
   * dependents to re-evaluate). Then the entry's evaluation is the run's: the same resolved
   * next hops and resolvers (a Lone shared with the run's entries of the same route), so it takes them
   * without resolving, registers with the resolvers, tells listeners and the FIB queue as
   * evaluate would, and has nothing to propagate. False: the caller goes the usual way.
   */
  private installRun(e: Entry, source: string, route: RibRoute, at: number, attached: object | undefined): boolean {
    const l = this.runLone(e, source, route, at, attached);
    if (l === undefined) return false;
    e.take(l);
    this.runInstalls++;
    const deps = l.links as Resolver[] | undefined;
    if (deps !== undefined) for (let i = 0; i < deps.length; i++) addDependent(deps[i]!, e);
    if (l.fwd !== null) this.tell(e, e, undefined);
    return true;
  }

  /**
   * A lone candidate's route replaced at its entry (the same source) as a run resolves it,
   * when no resolver's address lies under the prefix (nothing to propagate) and the entry's
   * links are resolvers only: the entry moves to the run's resolvers (when they are not its
   * own already) and takes the new Lone, and listeners and the FIB queue are told as
   * evaluate would (nothing when the route and its forwarding are the same). False: the
   * caller goes the usual way.
   */
  private replaceRun(e: Entry, source: string, route: RibRoute, at: number): boolean {
    const old = e.lone;
    if (old === undefined || (old.links !== undefined && !Array.isArray(old.links))) return false;
    const l = this.runLone(e, source, route, at, e.attached);
    if (l === undefined) return false;
    const oldRoute = old.fwd !== null ? old.route : undefined;
    const oldFwd = old.fwd;
    if (old.links !== l.links) this.relink(e, old.links, (l.links as Resolver[] | undefined) ?? []);
    e.take(l);
    this.runInstalls++;
    const best = l.fwd !== null ? e : undefined;
    if (oldRoute !== best?.route || !sameForwarding(oldRoute ? (oldRoute.action ?? 'forward') : undefined, oldFwd, best)) this.tell(e, best, oldRoute?.protocol);
    return true;
  }

  /** The Lone the run gives `route` at `e` (see installRun), or undefined when it gives none. */
  private runLone(e: Entry, source: string, route: RibRoute, at: number, attached: object | undefined): Lone | undefined {
    const run = this.run;
    if (run === undefined || run.nexthops !== route.nexthops || run.epoch !== this.epoch || run.action !== route.action) return undefined;
    const t = e.table;
    let l = run.lone;
    if (l.table !== t || this.holdsResolver(t, e)) return undefined;
    if (l.route !== route || l.source !== source || l.at !== at || l.attached !== attached) run.lone = l = lone(t, source, route, l.fwd, l.links, at, attached);
    return l;
  }

  /**
   * After a lone candidate's usual install (at a fresh entry, or replacing the entry's own
   * route): keep what it came to as the start of a run, when the next entry with the same
   * next hops would come to the same (see installRun): a lone
   * candidate with resolvers only (no interfaces: those are registered per entry), at a
   * prefix that holds no resolver's address, with nothing changed since `epoch` was read.
   */
  private noteRun(e: Entry, source: string, route: RibRoute, epoch: number): void {
    const h = e.lone;
    if (h === undefined || h.route !== route || h.source !== source || epoch !== this.epoch) return;
    if (h.links !== undefined && !Array.isArray(h.links)) return;
    if (this.holdsResolver(e.table, e)) return;
    this.run = { nexthops: route.nexthops, action: route.action, lone: h, epoch };
  }

  /** Does the prefix of `e` hold the address of one of its table's resolvers? */
  private holdsResolver(t: Table, e: Entry): boolean {
    if (t.resolvers.size === 0) return false;
    const list = (t.resolverList ??= [...t.resolvers.values()]);
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      if (holds(e, r.v4, r.v6)) return true;
    }
    return false;
  }

  /** setDeps for the interfaces an entry's next hops name; returns its new list (the caller stores it). */
  private setIfDeps(e: Entry, names: string[]): string[] | undefined {
    const old = e.ifDeps;
    if (!old && names.length === 0) return undefined;
    if (old && old.length === names.length && old.every((n, i) => n === names[i])) return old;
    for (const n of old ?? []) {
      if (names.includes(n)) continue;
      const set = this.ifDependents.get(n);
      set?.delete(e);
      if (set && set.size === 0) this.ifDependents.delete(n);
    }
    for (const n of names) {
      let set = this.ifDependents.get(n);
      if (!set) this.ifDependents.set(n, (set = new Set()));
      set.add(e);
    }
    return names.length ? [...new Set(names)] : undefined;
  }

  /**
   * The entries that may depend on a resolver (readers check `deps`), as a copy: its list, or
   * for a resolver with too many to list, the entries of its dependents' tables that do.
   */
  private dependentsOf(r: Resolver): Entry[] {
    if (r.dependents) return r.dependents.slice();
    const out: Entry[] = [];
    for (const t of r.depTables) {
      for (const len of t.lengths) for (const d of t.byLen[len]!.values()) if (d.deps?.includes(r)) out.push(d);
    }
    return out;
  }

  /** An active route changed at `e`: re-evaluate what resolves through addresses under it. */
  private propagate(e: Entry): void {
    const t = e.table;
    if (t.resolvers.size === 0) return;
    if (this.depth > 16) {
      this.epoch++;
      return;
    }
    this.depth++;
    try {
      // (a resolver dropped meanwhile is skipped by the Map iterator; one added is visited)
      for (const r of t.resolvers.values()) {
        if (!holds(e, r.v4, r.v6)) continue;
        // a resolution may change: a run's install made before is no longer valid
        this.epoch++;
        if (r.live > 0) {
          const seen = new Set<Entry>();
          for (const d of this.dependentsOf(r)) {
            if (d === e || seen.has(d) || !d.deps?.includes(r)) continue;
            seen.add(d);
            this.evaluate(d);
          }
        }
        if (r.watchers.size) {
          const le = this.longest(t, r.v4, r.v6, undefined);
          const now = le?.active?.route;
          if (now !== r.lastReported || (now && le !== r.lastEntry)) {
            r.lastReported = now;
            r.lastEntry = le;
            const out = le?.active ? routeOf(le, le.active) : undefined;
            for (const w of [...r.watchers]) w(out);
          }
        }
      }
    } finally {
      this.depth--;
    }
  }
}

const NO_NEXTHOPS: readonly FibNexthop[] = Object.freeze([]);

/** Entries per chunk of the FIB queue: 128 KB, a large object that young-generation collections do not copy (see Uint32Map's CHUNK_BITS). */
const FIB_CHUNK = 16384;

/**
 * Prefixes whose FIB entry changed, oldest first (see Rib.fibQueue). Kept in chunks of
 * FIB_CHUNK: one array grew by copies of itself, 16 MB of old-generation garbage on the way
 * to a million queued prefixes, which raised the controller's peak RSS; a chunk is let go
 * once read.
 */
export class FibQueue {
  private chunks: (Entry | undefined)[][] = [];
  /** the next to read in chunks[0] */
  private head = 0;
  /** the next free place in the last chunk */
  private tail = FIB_CHUNK;
  private count = 0;
  /** @internal the IPv6 entries queued (an IPv4 entry tells it itself: see Entry.code) */
  readonly queuedV6 = new Set<Entry>();
  /**
   * Whether changes are queued. Off while the exporter has no stream reading routes (no
   * agent, or a replay that has not started reading the RIB): the replay that follows reads
   * the RIB as it is then, so queueing changes meanwhile cost a push per change and kept a
   * reference per changed prefix (a full table's ingest with no agent: 1M, all for nothing).
   */
  on = true;
  constructor(
    private readonly wake: () => void,
    private readonly onClose: () => void,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Stop queueing (see `on`) and forget what is queued: the next replay covers it. */
  pause(): void {
    this.on = false;
    this.clear();
  }

  /** Queue changes again (see `on`): from before the replay starts reading the RIB. */
  resume(): void {
    this.on = true;
  }

  /** @internal */
  push(e: Entry): void {
    e.setFibQueued(true, this.queuedV6);
    if (this.tail === FIB_CHUNK) {
      this.chunks.push(new Array<Entry | undefined>(FIB_CHUNK));
      this.tail = 0;
    }
    this.chunks[this.chunks.length - 1]![this.tail++] = e;
    if (++this.count === 1) this.wake();
  }

  /** Take the oldest (the queue is not empty). */
  private take(): Entry {
    const chunk = this.chunks[0]!;
    const e = chunk[this.head]!;
    chunk[this.head++] = undefined;
    if (--this.count === 0) this.reset();
    else if (this.head === FIB_CHUNK) {
      this.chunks.shift();
      this.head = 0;
    }
    return e;
  }

  private reset(): void {
    this.chunks = [];
    this.head = 0;
    this.tail = FIB_CHUNK;
    this.count = 0;
  }

  /**
   * Read up to `max` queued prefixes of one VRF (the VRF of the oldest), each with its
   * current FIB action and next hops (action undefined: remove). Returns that VRF, or
   * undefined when empty.
   */
  drain(max: number, fn: (prefix: PrefixKey, action: FibAction | undefined, nexthops: readonly FibNexthop[]) => void): string | undefined {
    if (this.count === 0) return undefined;
    const vrf = this.chunks[0]![this.head]!.table.vrf!;
    let n = 0;
    while (this.count > 0 && n < max) {
      if (this.chunks[0]![this.head]!.table.vrf !== vrf) break;
      const e = this.take();
      n++;
      e.setFibQueued(false, this.queuedV6);
      const a = e.active;
      if (!a) fn(e.pkey, undefined, NO_NEXTHOPS);
      else {
        const action = a.route.action ?? 'forward';
        // the resolved array itself (often shared by many routes), not a copy
        fn(e.pkey, action, action === 'forward' ? (a.fwd ?? NO_NEXTHOPS) : NO_NEXTHOPS);
      }
    }
    return vrf;
  }

  /** Forget what is queued (a full replay covers it). */
  clear(): void {
    while (this.count > 0) this.take().setFibQueued(false, this.queuedV6);
  }

  close(): void {
    this.clear();
    this.onClose();
  }
}

/** Would the FIB entry of `now` equal the one described by the old action and next hops? */
function sameForwarding(oldAction: FibAction | undefined, oldFwd: FibNexthop[] | null | undefined, now: Cand | undefined): boolean {
  const action = now ? (now.route.action ?? 'forward') : undefined;
  if (action !== oldAction) return false;
  if (action !== 'forward') return true;
  const a = oldFwd ?? [], b = now!.fwd ?? [];
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (x.gateway !== y.gateway || x.interface !== y.interface || x.udpSource !== y.udpSource || !sameLabels(x.labels, y.labels)) return false;
  }
  return true;
}

/** A candidate's route as it leaves the RIB: a shared route (announceShared) gets the entry's prefix. */
function routeOf(e: Entry, c: Cand): RibRoute {
  const prefix = e.prefix;
  return c.route.prefix === prefix ? c.route : { ...c.route, prefix };
}

/** One route of a FIB replay (Rib.fibRoutes): the prefix as a value, its text made only when read. */
export class FibRouteRow {
  constructor(
    readonly table: string,
    readonly vrf: string,
    readonly key: PrefixKey,
    readonly fib: FibRoute,
  ) {}
  get prefix(): string {
    return prefixKeyText(this.key);
  }
}

function fibOf(c: Cand): FibRoute {
  const action = c.route.action ?? 'forward';
  return { action, nexthops: action === 'forward' ? (c.fwd ?? []) : [] };
}

function shownEntry(e: Entry): ShownEntry {
  const sorted = [...candList(e)].sort((a, b) => (a === e.active ? -1 : b === e.active ? 1 : compareCandidates(a, b).order));
  const prefix = e.prefix;
  const candidates = sorted.map((c, i): ShownCandidate => {
    let reason: DecidingStep = 'Active';
    if (c !== e.active) reason = e.active ? compareCandidates(e.active, c).step : 'Unusable';
    else if (sorted.length > 1) reason = 'Active';
    void i;
    return { source: c.source, route: routeOf(e, c), active: c === e.active, forwarding: c.fwd, reason, since: c.since };
  });
  return { table: e.table.name, prefix, candidates };
}

function formatIpv6Bytes(b: Uint8Array): string {
  return formatIpv6(b);
}

/** inet.0, inet6.0 first, then instances by name, IPv4 before IPv6. */
export function tableOrder(a: string, b: string): number {
  const rank = (n: string) => (n === 'inet.0' ? 0 : n === 'inet6.0' ? 1 : 2);
  const ra = rank(a), rb = rank(b);
  if (ra !== rb) return ra - rb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A prefix as a sortable key (address bytes then length). */
export function prefixSortKey(prefix: string): string {
  const slash = prefix.indexOf('/');
  const v4 = tryParseIpv4(prefix.slice(0, slash));
  if (v4 !== undefined) return v4.toString(16).padStart(8, '0') + '/' + prefix.slice(slash + 1).padStart(3, '0');
  const { bytes } = parseIp(prefix.slice(0, slash));
  return Buffer.from(bytes).toString('hex') + '/' + prefix.slice(slash + 1).padStart(3, '0');
}
