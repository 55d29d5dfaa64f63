/**
 * BGP's decision process, batched: learn/unlearn (rib.ts) mark Loc-RIB entries dirty and
 * schedule one flush per turn of the event loop; the flush runs best path (best-path.ts) on
 * each dirty entry, announces the winner (or the multipath set) to the RIB or withdraws it,
 * feeds VPN entries to the VRF imports (vpn.ts), and hands every update group the entries
 * that changed (update-group.ts, which exports once per group and sends each member the
 * difference). Nothing runs while a restarting speaker defers routing (RFC 4724).
 *
 * Hot path (one call per received prefix): decide allocates nothing for a lone path whose
 * facts match the previous prefix's — the RIB route object and the attributes shown by
 * `show route` are shared by the run of prefixes of one UPDATE — nor for a prefix with two
 * paths (compareCode instead of selectBest); a new prefix with one good path does not wait
 * for the flush at all (decideFresh).
 */
import { formatAsPath, formatCommunity, formatExtCommunity, formatLargeCommunity, formatOrigin } from '../../../wire/bgp/index.js';
import { prefixKeyText, type PrefixKey } from '../../../lib/addr.js';
import type { RibEntryRef, RibRoute } from '../../rib/types.js';
import { DEFAULT_PREFERENCE } from '../../rib/types.js';
import { compareCode, DEFAULT_LOCAL_PREF, selectBest, STEPS, type DecidingStep } from './best-path.js';
import { isVpnTable } from './config.js';
import type { BgpContext } from './instance.js';
import { IMPLICIT_NULL, bump, type LocEntry, type NeighborRib, type Path } from './rib.js';
import { exportChanges } from './update-group.js';

const UNRESOLVABLE_STEP = STEPS.indexOf('Next hop unresolvable');
const PATH_ID_STEP = STEPS.indexOf('Path ID');

/** The labels to push for a received stack (implicit null pushes nothing). */
function pushLabels(stack: readonly number[]): number[] | undefined {
  const out = stack.filter((l) => l !== IMPLICIT_NULL);
  return out.length ? out : undefined;
}

/** Flush once at the next turn of the event loop (not while stopped or deferring). */
export function schedule(cx: BgpContext): void {
  if (cx.scheduled || cx.stopped || cx.deferring) return;
  cx.scheduled = true;
  setImmediate(() => {
    cx.scheduled = false;
    flush(cx);
  });
}

/**
 * Dirty entries after which an UPDATE runs the decision process at once instead of at the
 * end of the event loop's turn: a turn can take in megabytes of UPDATEs (every socket read
 * of the poll phase), and entries waiting that long outlive young-generation collections,
 * so the per-prefix objects made until the flush (new Loc-RIB entries, the dirty lists)
 * reached the old generation as garbage: the peak RSS of a 1M-route feed was half garbage.
 */
export const FLUSH_BATCH = 2048;

/** After an UPDATE: run the decision process now if enough is waiting (FLUSH_BATCH), else at the next turn. */
export function flushOrSchedule(cx: BgpContext): void {
  if (cx.dirtyCount >= FLUSH_BATCH && !cx.deferring && !cx.stopped) flush(cx);
  else schedule(cx);
}

/**
 * A new prefix whose only path is accepted and resolvable, held in the compact form at
 * `ref` (RibLocTable.learnAt): decided at once, as the flush would decide it ('Only path'),
 * so that no LocEntry is made, queued and folded again for it. Its key waits in
 * `cx.fresh` for the flush's export; a later change of the prefix in the same turn finds it
 * decided and goes the usual way.
 */
export function decideFresh(cx: BgpContext, table: string, key: PrefixKey, ref: RibEntryRef, p: Path): void {
  announceFresh(cx, ref, key, p, freshList(cx, table));
  freshDecided(cx, cx.ribs.get(p.peer)!, table, 1);
}

/** decideFresh's work per prefix: the route to the RIB, the key to `list` (freshList: the flush exports it). */
export function announceFresh(cx: BgpContext, ref: RibEntryRef, key: PrefixKey, p: Path, list: PrefixKey[]): void {
  cx.rib.announceAt!(ref, 'bgp', ribRoute(cx, key, p, 0, p));
  list.push(key);
}

/** The keys of a table's prefixes decided as they came, waiting for the flush's export. */
export function freshList(cx: BgpContext, table: string): PrefixKey[] {
  let l = cx.fresh.get(table);
  if (!l) cx.fresh.set(table, (l = []));
  return l;
}

/** decideFresh's counters, for `n` prefixes of the peer whose RIB state is `st`. */
export function freshDecided(cx: BgpContext, st: NeighborRib, table: string, n: number): void {
  bump(cx.activeCounts, table, n);
  bump(st.active, table, n);
  cx.dirtyCount += n;
}

/** Run best-path on dirty prefixes, update the RIB, and send what changed to every peer. */
export function flush(cx: BgpContext): void {
  if (cx.deferring) return;
  const dirty = cx.dirty;
  const ribDirty = cx.ribDirty;
  const fresh = cx.fresh;
  cx.dirty = new Map();
  cx.dirtyCount = 0;
  cx.ribDirty = new Map();
  cx.fresh = new Map();
  // the prefixes decided as they came (decideFresh) are exported by key
  const changed = new Map<string, (LocEntry | PrefixKey)[]>(fresh);
  for (const [table, list] of dirty) {
    const lt = cx.loc.get(table);
    let out = changed.get(table);
    if (!out) changed.set(table, (out = []));
    const vpn = isVpnTable(table);
    for (const e of list) {
      e.dirty = false;
      if (decide(cx, table, e)) out.push(e);
      if (vpn) cx.vpn.importEntry(table, e.prefix, e.best);
      if (e.size === 0) lt?.remove(e);
      else lt?.settle(e);
    }
  }
  cx.vpn.flushImports();
  for (const [table, keys] of cx.vpn.takeExportDirty()) {
    let out = changed.get(table);
    if (!out) changed.set(table, (out = []));
    for (const k of keys) out.push(cx.loc.get(table)?.get(k) ?? k);
  }
  // each update group's Adj-RIB-Out once; its members get the difference
  exportChanges(cx, [...changed, ...[...ribDirty].map(([table, set]) => [table, [...set]] as const)]);
  forgetRoutes(cx);
}

/** The paths let go of the routes made for them since the last flush (see ribRoute). */
function forgetRoutes(cx: BgpContext): void {
  const kept = cx.routesKept;
  if (kept.length === 0) return;
  for (const p of kept) p.dropRoutes();
  cx.routesKept = [];
}

/** Pick the best path of one prefix; returns whether what we advertise may have changed. */
export function decide(cx: BgpContext, table: string, e: LocEntry): boolean {
  const prefix = e.key;
  let best: Path | undefined;
  /** the deciding step, as its index in STEPS ('Only path' is 0) */
  let stepIdx = 0;
  /** what goes to the RIB: the best path, or the multipath set */
  let chosen: Path | Path[] | undefined;
  const lone = e.lone;
  const first = lone ? undefined : e.first;
  const second = lone ? undefined : e.second;
  if (lone) {
    best = lone.accepted && lone.resolvable ? lone : undefined;
    chosen = best;
  } else if (first && second && (first.peer.cfg.multipath ?? cx.cfg.multipath) === undefined && (second.peer.cfg.multipath ?? cx.cfg.multipath) === undefined) {
    // two paths and no multipath (a prefix from two peers): selectBest's choice without
    // its arrays and result objects
    if (first.accepted && second.accepted) {
      best = compareCode(second, first) < 0 ? second : first;
      if (best.resolvable) stepIdx = Math.abs(compareCode(best, best === first ? second : first)) || PATH_ID_STEP;
      else {
        best = undefined;
        stepIdx = UNRESOLVABLE_STEP;
      }
    } else {
      const only = first.accepted ? first : second.accepted ? second : undefined;
      best = only?.resolvable ? only : undefined;
    }
    chosen = best;
  } else {
    let paths = e.paths;
    if (paths.some((p) => !p.accepted)) paths = paths.filter((p) => p.accepted);
    if (paths.length === 1) {
      best = paths[0]!.resolvable ? paths[0] : undefined;
      chosen = best;
    } else if (paths.length > 1) {
      const mpc = paths[0]!.peer.cfg.multipath ?? cx.cfg.multipath;
      const sel = selectBest(paths, { multipath: mpc !== undefined, multipleAs: mpc?.multipleAs });
      best = sel.best;
      stepIdx = STEPS.indexOf(sel.step);
      if (best) chosen = sel.multipath.length === 1 ? best : sel.multipath;
    }
  }
  const prevBest = e.best;
  const prevInstalled = e.installed;
  if (prevBest !== best) {
    if (prevBest) {
      bump(cx.activeCounts, table, -1);
      const r = cx.ribs.get(prevBest.peer);
      if (r) bump(r.active, table, -1);
    }
    if (best) {
      bump(cx.activeCounts, table, 1);
      bump(cx.ribs.get(best.peer)!.active, table, 1);
    }
  }
  if (isVpnTable(table)) {
    // VPN routes stay in BGP (bgp.l3vpn.0); their VRF copies are made in flush
    e.choose(best, best);
    return prevBest !== best || prevInstalled !== best;
  }
  const same =
    Array.isArray(prevInstalled) && Array.isArray(chosen)
      ? prevInstalled.length === chosen.length && prevInstalled.every((p, i) => p === chosen[i])
      : prevInstalled === chosen;
  if (best && chosen) {
    if (!same || e.stepIndex !== stepIdx) {
      e.choose(best, chosen);
      e.stepIndex = stepIdx;
      const r = ribRoute(cx, prefix, best, stepIdx, chosen);
      // through the RIB entry that holds this one (no lookup), else the prefix as a value
      // where the RIB takes one (no text made or parsed per route)
      if (e.ribRef && cx.rib.announceAt) cx.rib.announceAt(e.ribRef, 'bgp', r);
      else if (cx.rib.announceSharedKey) cx.rib.announceSharedKey(table, 'bgp', prefix, r);
      else if (cx.rib.announceShared) cx.rib.announceShared(table, 'bgp', e.prefix, r);
      else {
        const text = e.prefix;
        cx.rib.announce(table, 'bgp', r.prefix === text ? r : { ...r, prefix: text });
      }
    } else e.choose(best, prevInstalled);
  } else if (prevInstalled) {
    e.choose(best, undefined);
    if (e.ribRef && cx.rib.withdrawAt) cx.rib.withdrawAt(e.ribRef, 'bgp');
    else if (cx.rib.withdrawKey) cx.rib.withdrawKey(table, 'bgp', prefix);
    else cx.rib.withdraw(table, 'bgp', e.prefix);
  } else e.choose(best, undefined);
  return prevBest !== best || !same;
}

/**
 * The RIB route for a prefix whose best path is `best`, decided by STEPS[stepIdx]. A single
 * path's route depends on nothing but the path and the step (attributes, peer, next hop,
 * preference, labels are the path's and never change), so it is made once per path and
 * step and kept on the path (`Path.routeAt`) until the end of the next flush: the prefixes
 * of an UPDATE, and those decided in any order in a flush (a second peer's paths alternate
 * with the first's as best, each with its own step), share it — no route object, prefix
 * text or shown record per prefix. Kept longer, every path would hold its routes after the
 * RIB let go of them (~45 B per prefix in the realistic feed, 2 paths per attribute set).
 */
export function ribRoute(cx: BgpContext, key: PrefixKey, best: Path, stepIdx: number, chosen: Path | Path[]): RibRoute {
  if (chosen === best) {
    const kept = best.routeAt(stepIdx);
    if (kept) return kept;
    const r = newRibRoute(cx, key, best, stepIdx, chosen);
    if (best.keepRoute(stepIdx, r)) cx.routesKept.push(best);
    return r;
  }
  return newRibRoute(cx, key, best, stepIdx, chosen);
}

function newRibRoute(cx: BgpContext, key: PrefixKey, best: Path, stepIdx: number, chosen: Path | Path[]): RibRoute {
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
  const attributes = shownAttributes(best, stepIdx);
  const preference = best.preference ?? DEFAULT_PREFERENCE.bgp;
  // one route object for the run of prefixes alike (an UPDATE's), announced with
  // announceShared: its `prefix` is the first one's
  const last = cx.lastRibRoute;
  if (last && last.attributes === attributes && last.nexthops === nexthops && last.preference === preference && last.metric === a.med) return last;
  // the RIB keeps this object for as long as the route lives: nothing optional unless set
  // (the RIB stamps the age itself)
  const r: RibRoute = { prefix: prefixKeyText(key), protocol: 'bgp', preference, nexthops, attributes };
  if (a.med !== undefined) r.metric = a.med;
  cx.lastRibRoute = r;
  return r;
}

/**
 * What `show route extensive` prints for a BGP route. Shared by every prefix with the
 * same path and deciding step (kept on the path: a WeakMap by attribute set cost a lookup
 * per route and an ephemeron per set for the collector, and a set is mostly one path's),
 * and formatted only when read (show, JSON, XML): a table of 100k attribute sets must not
 * format 100k AS paths and community lists that nobody looks at. The raw attributes ride
 * along as `bgp`, not enumerable, for code that wants them.
 */
function shownAttributes(best: Path, stepIdx: number): Record<string, unknown> {
  const kept = best.shownAt(stepIdx);
  if (kept) return kept;
  const r = new Proxy(new ShownBgp(best.attrs, best.peer, STEPS[stepIdx]!), shownHandler) as unknown as Record<string, unknown>;
  best.keepShown(stepIdx, r);
  return r;
}

/** The facts of a shown-attributes record, formatted on first read. */
class ShownBgp {
  private made: Record<string, unknown> | undefined = undefined;
  constructor(
    private readonly a: Path['attrs'],
    private readonly peer: Path['peer'],
    private readonly step: DecidingStep,
  ) {}
  get record(): Record<string, unknown> {
    if (this.made) return this.made;
    const a = this.a;
    const r: Record<string, unknown> = {
      Peer: `${this.peer.cfg.address} (AS ${this.peer.cfg.peerAs})`,
      'AS path': `${formatAsPath(a.asPath)}${a.asPath?.length ? ' ' : ''}${formatOrigin(a.origin)}`,
      Localpref: a.localPref ?? DEFAULT_LOCAL_PREF,
      'Selected by': this.step,
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
    return (this.made = r);
  }
}

/** Reads of a shown-attributes record go to its formatted form (a plain, read-only object to its readers). */
const shownHandler: ProxyHandler<ShownBgp> = {
  get: (t, k) => Reflect.get(t.record, k),
  has: (t, k) => k in t.record,
  ownKeys: (t) => Reflect.ownKeys(t.record),
  getOwnPropertyDescriptor: (t, k) => {
    const d = Reflect.getOwnPropertyDescriptor(t.record, k);
    // the target (a ShownBgp) holds none of these: they are reported as configurable
    if (d) d.configurable = true;
    return d;
  },
  getPrototypeOf: () => Object.prototype,
  set: () => false,
  defineProperty: () => false,
  deleteProperty: () => false,
};
