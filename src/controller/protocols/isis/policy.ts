/**
 * `protocols isis export`: other protocols' active routes of inet.0 and inet6.0 (static,
 * direct, local, aggregate, bgp) run through the export chain (default: reject, as Junos
 * exports nothing into IS-IS unless told) and the accepted ones go into this system's LSP as
 * external reachability: TLV 135 (wide metrics have no external bit in IPv4) and TLV 236 with
 * the X bit, at the policy's metric or the route's own. The RIB is read through what it
 * optionally offers (fibRoutes, get); the instance hears of changes from index.ts.
 *
 * Route leaking (Junos `from level 2` / `to level 1`): a level 1/2 system runs its level 2
 * SPF's prefixes through the same chain for its level 1 LSP (subject: protocol isis, level 2,
 * to level 1, metric = the level 2 distance) and advertises the accepted ones with the up/down
 * bit set (RFC 5305 4.1, RFC 5308 2), so that no level 1/2 system takes them back into level 2.
 * Every chain evaluation says which level it is for (`to level`), so a term may also export
 * statics into one level only.
 *
 * Level 1 into level 2 needs no policy (ISO 10589 / RFC 1195, and Junos's default): a level
 * 1/2 system advertises its level 1 SPF's prefixes in its level 2 LSP at their level 1
 * distance, except those that came with the down bit (leaked from level 2: RFC 5305 4.1);
 * a term `from level 1` / `to level 2` ... `then reject` keeps a prefix out.
 */
import { parsePrefix, type Prefix } from '../../../lib/addr.js';
import type { ExtendedIpv4Reach, Ipv6Reach, Level } from '../../../wire/isis/index.js';
import { PolicyEngine } from '../../policy/index.js';
import type { RibApi, RibRoute } from '../../rib/types.js';
import type { IsisContext } from './instance.js';
import { MAX_PATH_METRIC, type SpfGraph } from './spf.js';

/** What the RIB may offer beyond RibApi: its active forwarded routes. */
export interface ListingRib {
  fibRoutes?(): Iterable<{ table: string; prefix: string }>;
}

export function policyEngine(cx: IsisContext): PolicyEngine {
  if (!cx.policy || cx.policyFor !== cx.cfg.policyOptions) {
    cx.policy = new PolicyEngine(cx.cfg.policyOptions);
    cx.policyFor = cx.cfg.policyOptions;
  }
  return cx.policy;
}

function candidates(rib: RibApi): RibRoute[] {
  const list = (rib as RibApi & ListingRib).fibRoutes;
  if (typeof list !== 'function') return [];
  const out: RibRoute[] = [];
  for (const r of list.call(rib)) {
    if (r.table !== 'inet.0' && r.table !== 'inet6.0') continue;
    const route = rib.get(r.table, r.prefix);
    if (route && route.protocol !== 'isis') out.push(route);
  }
  return out;
}

/** Whether every system `prefix` was reached through advertises it with that bit (down: leaked from level 2; external: IPv6's X bit). */
function advertisedBy(graph: SpfGraph, origins: readonly string[], prefix: string, bit: 'down' | 'external'): boolean {
  return origins.every((o) => graph.get(o)?.prefixes.some((p) => p.key === prefix && p[bit] === true));
}

/** The exported prefixes of the LSP of `level`, leaked ones included (those already advertised as interface prefixes are left to the caller). */
export function exportedPrefixes(cx: IsisContext, level: Level): { v4: ExtendedIpv4Reach[]; v6: Ipv6Reach[] } {
  const v4: ExtendedIpv4Reach[] = [];
  const v6: Ipv6Reach[] = [];
  const chain = cx.cfg.exportPolicies;
  // down: leaked from level 2 into level 1; external: another protocol's route (IPv6's X bit)
  const add = (text: string, metric: number, down: boolean, external: boolean) => {
    let prefix: Prefix;
    try {
      prefix = parsePrefix(text);
    } catch {
      return;
    }
    metric = Math.min(metric, MAX_PATH_METRIC);
    if (prefix.family === 4) v4.push({ prefix, metric, down, subTlvs: [] });
    else v6.push({ prefix, metric, down, external, subTlvs: [] });
  };
  const l1 = level === 2 && cx.cfg.levels.includes(1) ? cx.spf.get(1) : undefined;
  if (l1) {
    const db = cx.lsdb.get(1)!;
    const graph = db.spfGraph.graph(db.records, cx.now);
    const engine = chain.length ? policyEngine(cx) : undefined;
    for (const [prefix, pr] of l1.prefixes) {
      // learned only with the down bit: it came from level 2 and does not go back
      if (advertisedBy(graph, pr.origins, prefix, 'down')) continue;
      // an external IPv6 prefix (X bit) stays external in level 2 (RFC 5308 2)
      const external = advertisedBy(graph, pr.origins, prefix, 'external');
      const r = engine?.evaluate(chain, { prefix, protocol: 'isis', level: 1, toLevel: 2, routeType: external ? 'external' : 'internal', nextHops: [], metric: pr.distance }, true);
      if (!r || r.accept) add(prefix, r?.metric ?? pr.distance, false, external);
    }
  }
  if (chain.length === 0) return { v4, v6 };
  const engine = policyEngine(cx);
  for (const route of candidates(cx.rib)) {
    const subject = { prefix: route.prefix, protocol: route.protocol, toLevel: level, nextHops: route.nexthops.map((h) => h.gateway ?? ''), ...(route.metric !== undefined ? { metric: route.metric } : {}) };
    const r = engine.evaluate(chain, subject, false);
    if (r.accept) add(route.prefix, r.metric ?? route.metric ?? 0, false, true);
  }
  const l2 = level === 1 && cx.cfg.levels.includes(2) ? cx.spf.get(2) : undefined;
  if (l2) {
    const db = cx.lsdb.get(2)!;
    const graph = db.spfGraph.graph(db.records, cx.now);
    for (const [prefix, pr] of l2.prefixes) {
      const external = advertisedBy(graph, pr.origins, prefix, 'external');
      const r = engine.evaluate(chain, { prefix, protocol: 'isis', level: 2, toLevel: 1, routeType: external ? 'external' : 'internal', nextHops: [], metric: pr.distance }, false);
      if (r.accept) add(prefix, r.metric ?? pr.distance, true, external);
    }
  }
  return { v4, v6 };
}

/**
 * Whether an SPF run at `level` may change the other level's LSP: level 1 prefixes go into
 * level 2 on every level 1/2 system; level 2 into level 1 only through an export chain.
 */
export function mayLeak(cx: IsisContext, level: Level): boolean {
  if (!cx.cfg.levels.includes(1) || !cx.cfg.levels.includes(2)) return false;
  return level === 1 || cx.cfg.exportPolicies.length > 0;
}
