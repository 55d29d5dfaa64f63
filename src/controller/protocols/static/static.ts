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
 */
import { canonicalPrefix } from '../../../lib/addr.js';
import type { ConfigTree } from '../../types.js';
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

  constructor(private readonly rib: RibApi) {}

  /** Make the RIB hold exactly the static routes of these tables. */
  apply(tables: StaticTableConfig[]): void {
    const seen = new Set<string>();
    for (const { table, config } of tables) {
      seen.add(table);
      const want = routesOf(config);
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
  }
}

function routesOf(cfg: ConfigTree): Map<string, { source: string; route: RibRoute }> {
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
    for (const gw of stringList(rt['next-hop'])) group(pref, metric).nexthops.push(recursive ? { gateway: gw, recursive: true } : { gateway: gw });
    for (const [gw, q] of Object.entries(subtree(rt['qualified-next-hop']))) {
      const qt = subtree(q);
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

