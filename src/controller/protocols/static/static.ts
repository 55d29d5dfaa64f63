/**
 * Static routes, from `routing-options static route P ...` (inet.0), `routing-options rib
 * inet6.0 static ...` and the same inside routing instances. A route's plain next hops form
 * one ECMP candidate at the route's preference; qualified next hops join the candidate of
 * their own preference and metric, so a qualified next hop with a higher preference is a
 * floating backup. Each (preference, metric) group is announced under its own source
 * (`static`, `static/7/0`, ...) and the RIB's best-path chain picks among them, falling back
 * when a group's next hops stop resolving. `resolve` makes gateways recursive. The rules a
 * static route must follow are checked once, with the rest of the tree, in
 * config/validate.ts: what reaches `apply` has passed them.
 *
 * `bfd-liveness-detection` on a route (or a qualified next hop) makes each of its next hops
 * depend on a BFD session to the gateway, run by the vRouter: a next hop is used only while
 * its session is Up (as Junos installs it), so a session going Down takes it out of the
 * route, and out of the FIB, at once. BFD applies in inet.0 and inet6.0 (the vRouter's
 * sessions run in the default VRF).
 */
import { canonicalPrefix } from '../../../lib/addr.js';
import { jsonEqual } from '../../../lib/json-equal.js';
import { memoByString } from '../../../lib/memo.js';
import type { ConfigTree, ConfigValue } from '../../types.js';
import { bfdTimersOf, type BfdClients, type BfdRequest } from '../bfd/manager.js';
import { leafNumber, stringList, subtree } from '../../config/tree.js';
import type { RibApi, RibNexthop, RibRoute } from '../../rib/types.js';
import { DEFAULT_PREFERENCE } from '../../rib/types.js';

/** The `static` container of one table, as the config tree holds it. */
export interface StaticTableConfig {
  table: string;
  config: ConfigTree;
}

interface Group {
  preference: number;
  metric: number;
  nexthops: RibNexthop[];
}

export class StaticProtocol {
  /** table -> source|prefix -> announced route */
  private readonly announced = new Map<string, Map<string, { source: string; route: RibRoute }>>();

  private bfd: BfdClients | undefined;
  /** BFD watches by `table|prefix|gateway` */
  private readonly watches = new Map<string, { key: string; unwatch: () => void }>();
  private lastTables: StaticTableConfig[] = [];
  private reapply = false;
  /**
   * Per container (`table|n`), the routes each route's configuration gave last time: a
   * route whose configuration is as it was gives the same objects again, not rebuilt nor
   * compared field by field (a CNI pod's commit changes one route of hundreds).
   */
  private memo = new Map<string, Map<string, RouteMemo>>();

  constructor(private readonly rib: RibApi) {}

  /** Where next hops with bfd-liveness-detection get their sessions (without it they are used as if Up). */
  useBfd(bfd: BfdClients): void {
    this.bfd = bfd;
  }

  /** Make the RIB hold exactly the static routes of these tables. */
  apply(tables: StaticTableConfig[]): void {
    this.lastTables = tables;
    const seen = new Set<string>();
    const watched = new Set<string>();
    // One table may come from two containers (`routing-options static` and `rib inet.0 static`):
    // their routes are one set, else the second would withdraw the first's.
    const wanted = new Map<string, Map<string, { source: string; route: RibRoute }>>();
    const memo = new Map<string, Map<string, RouteMemo>>();
    for (const { table, config } of tables) {
      const bfdHere = this.bfd && (table === 'inet.0' || table === 'inet6.0');
      let container = `${table}|0`;
      for (let n = 1; memo.has(container); n++) container = `${table}|${n}`;
      const kept = new Map<string, RouteMemo>();
      memo.set(container, kept);
      const routes = routesOf(config, bfdHere ? (prefix, gw, v) => this.usable(table, prefix, gw, v, watched) : undefined, this.memo.get(container), kept);
      const into = wanted.get(table);
      if (into) for (const [k, w] of routes) into.set(k, w);
      else wanted.set(table, routes);
    }
    for (const [table, want] of wanted) {
      seen.add(table);
      const have = this.announced.get(table) ?? new Map();
      for (const [k, h] of have) if (!want.has(k)) this.rib.withdraw(table, h.source, h.route.prefix);
      for (const [k, w] of want) {
        const h = have.get(k);
        // (every static route on every commit: compared without serializing, lib/json-equal.ts)
        if (!h || !jsonEqual(h.route, w.route)) this.rib.announce(table, w.source, w.route);
      }
      this.announced.set(table, want);
    }
    this.memo = memo;
    for (const [table, have] of this.announced) {
      if (seen.has(table)) continue;
      for (const h of have.values()) this.rib.withdraw(table, h.source, h.route.prefix);
      this.announced.delete(table);
    }
    for (const [k, w] of this.watches) {
      if (watched.has(k)) continue;
      w.unwatch();
      this.watches.delete(k);
    }
  }

  /** A next hop with BFD: watch its session; usable only while it is Up. */
  private usable(table: string, prefix: string, gateway: string, bfdConfig: ConfigValue | undefined, watched: Set<string>): boolean {
    const t = bfdTimersOf(bfdConfig);
    if (!t || !this.bfd) return true;
    const req: BfdRequest = { peer: gateway, local: t.localAddress ?? '', interface: '', multihop: t.mode === 'multihop', minTxMs: t.minTxMs, minRxMs: t.minRxMs, multiplier: t.multiplier, ...(t.auth ? { auth: t.auth } : {}), ...(t.minTtl ? { minTtl: t.minTtl } : {}) };
    const k = `${table}|${prefix}|${gateway}`;
    const key = JSON.stringify(req);
    watched.add(k);
    const cur = this.watches.get(k);
    if (cur?.key !== key) {
      cur?.unwatch();
      // a state change re-evaluates every static route (once per turn, however many sessions changed)
      const unwatch = this.bfd.watch('static', req, () => {
        if (this.reapply) return;
        this.reapply = true;
        queueMicrotask(() => {
          this.reapply = false;
          this.apply(this.lastTables);
        });
      });
      this.watches.set(k, { key, unwatch });
    }
    return this.bfd.view(req).up;
  }
}

/** Whether a next hop may be used; `bfd` is the bfd-liveness-detection that applies to it. */
type NexthopFilter = (prefix: string, gateway: string, bfd: ConfigValue | undefined) => boolean;

/** (every route's prefix on every commit, nearly all the same as the commit before: lib/memo.ts) */
const canonicalPrefixOf = memoByString(canonicalPrefix);

/** What one route's configuration gave (apply's memo): valid while that configuration and the container's defaults stay as they were. */
interface RouteMemo {
  cfg: ConfigValue | undefined;
  defPref: number;
  defResolve: boolean;
  routes: [string, { source: string; route: RibRoute }][];
}

/** Whether a route's next hops depend on BFD sessions (then usable() decides anew every time: never memoized). */
function usesBfd(rt: ConfigTree): boolean {
  if (rt['bfd-liveness-detection'] !== undefined) return true;
  for (const q of Object.values(subtree(rt['qualified-next-hop']))) if (subtree(q)['bfd-liveness-detection'] !== undefined) return true;
  return false;
}

/**
 * The routes of one static container. `memo` is what the last call gave per route; a route
 * whose configuration is unchanged gives that again; `kept` receives this call's.
 */
function routesOf(cfg: ConfigTree, usable: NexthopFilter | undefined, memo: Map<string, RouteMemo> | undefined, kept: Map<string, RouteMemo>): Map<string, { source: string; route: RibRoute }> {
  const out = new Map<string, { source: string; route: RibRoute }>();
  const defaults = subtree(cfg['defaults']);
  const defPref = leafNumber(defaults['preference']) ?? DEFAULT_PREFERENCE.static;
  const defResolve = defaults['resolve'] === true;
  for (const [p, r] of Object.entries(subtree(cfg['route']))) {
    const was = memo?.get(p);
    if (was && was.defPref === defPref && was.defResolve === defResolve && jsonEqual(was.cfg, r)) {
      for (const [k, w] of was.routes) out.set(k, w);
      kept.set(p, was);
      continue;
    }
    const rt = subtree(r);
    const mine = new Map<string, { source: string; route: RibRoute }>();
    routeOf(p, rt, defPref, defResolve, usable, mine);
    for (const [k, w] of mine) out.set(k, w);
    if (!usable || !usesBfd(rt)) kept.set(p, { cfg: r, defPref, defResolve, routes: [...mine] });
  }
  return out;
}

/** The routes (one per preference and metric) of the route `p` configured as `rt`, into `out`. */
function routeOf(p: string, rt: ConfigTree, defPref: number, defResolve: boolean, usable: NexthopFilter | undefined, out: Map<string, { source: string; route: RibRoute }>): void {
  const prefix = canonicalPrefixOf(p);
  const pref = leafNumber(rt['preference']) ?? defPref;
  const metric = leafNumber(rt['metric']) ?? 0;
  const recursive = rt['resolve'] === true || defResolve;
  const attributes: Record<string, unknown> = {};
  if (rt['tag'] !== undefined) attributes['tag'] = rt['tag'];
  if (rt['no-readvertise'] === true) attributes['no-readvertise'] = true;
  const base = { prefix, protocol: 'static' as const, preference: pref, metric };
  const action = (['discard', 'reject', 'receive'] as const).find((a) => rt[a] === true);
  if (action) {
    out.set(`static|${prefix}`, { source: 'static', route: { ...base, action, nexthops: [], attributes } });
    return;
  }
  const groups = new Map<string, Group>();
  const group = (preference: number, m: number): Group => {
    const k = `${preference}/${m}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { preference, metric: m, nexthops: [] }));
    return g;
  };
  for (const gw of stringList(rt['next-hop'])) {
    if (usable && !usable(prefix, gw, rt['bfd-liveness-detection'])) continue;
    group(pref, metric).nexthops.push(recursive ? { gateway: gw, recursive: true } : { gateway: gw });
  }
  for (const [gw, q] of Object.entries(subtree(rt['qualified-next-hop']))) {
    const qt = subtree(q);
    if (usable && !usable(prefix, gw, qt['bfd-liveness-detection'] ?? rt['bfd-liveness-detection'])) continue;
    const nh: RibNexthop = { gateway: gw };
    if (typeof qt['interface'] === 'string') nh.interface = qt['interface'];
    else if (recursive) nh.recursive = true;
    group(leafNumber(qt['preference']) ?? pref, leafNumber(qt['metric']) ?? metric).nexthops.push(nh);
  }
  for (const g of groups.values()) {
    const source = g.preference === pref && g.metric === metric ? 'static' : `static/${g.preference}/${g.metric}`;
    out.set(`${source}|${prefix}`, { source, route: { ...base, preference: g.preference, metric: g.metric, nexthops: g.nexthops, attributes } });
  }
}

