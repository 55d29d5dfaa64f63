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
    for (const { table, config } of tables) {
      const bfdHere = this.bfd && (table === 'inet.0' || table === 'inet6.0');
      const routes = routesOf(config, bfdHere ? (prefix, gw, v) => this.usable(table, prefix, gw, v, watched) : undefined);
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
        if (!h || JSON.stringify(h.route) !== JSON.stringify(w.route)) this.rib.announce(table, w.source, w.route);
      }
      this.announced.set(table, want);
    }
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

function routesOf(cfg: ConfigTree, usable?: NexthopFilter): Map<string, { source: string; route: RibRoute }> {
  const out = new Map<string, { source: string; route: RibRoute }>();
  const defaults = subtree(cfg['defaults']);
  const defPref = leafNumber(defaults['preference']) ?? DEFAULT_PREFERENCE.static;
  const defResolve = defaults['resolve'] === true;
  for (const [p, r] of Object.entries(subtree(cfg['route']))) {
    const rt = subtree(r);
    const prefix = canonicalPrefix(p);
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
      continue;
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
  return out;
}

