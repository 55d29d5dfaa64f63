/**
 * `protocols isis export`: other protocols' active routes of inet.0 and inet6.0 (static,
 * direct, local, aggregate, bgp) run through the export chain (default: reject, as Junos
 * exports nothing into IS-IS unless told) and the accepted ones go into this system's LSP as
 * external reachability: TLV 135 (wide metrics have no external bit in IPv4) and TLV 236 with
 * the X bit, at the policy's metric or the route's own. The RIB is read through what it
 * optionally offers (fibRoutes, get); the instance hears of changes from index.ts.
 */
import { parsePrefix, type Prefix } from '../../../lib/addr.js';
import type { ExtendedIpv4Reach, Ipv6Reach } from '../../../wire/isis/index.js';
import { PolicyEngine } from '../../policy/index.js';
import type { RibApi, RibRoute } from '../../rib/types.js';
import type { IsisContext } from './instance.js';

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

/** The exported prefixes, to add to the LSP (those already advertised as interface prefixes are left to the caller). */
export function exportedPrefixes(cx: IsisContext): { v4: ExtendedIpv4Reach[]; v6: Ipv6Reach[] } {
  const v4: ExtendedIpv4Reach[] = [];
  const v6: Ipv6Reach[] = [];
  const chain = cx.cfg.exportPolicies;
  if (chain.length === 0) return { v4, v6 };
  const engine = policyEngine(cx);
  for (const route of candidates(cx.rib)) {
    const subject = { prefix: route.prefix, protocol: route.protocol, nextHops: route.nexthops.map((h) => h.gateway ?? ''), ...(route.metric !== undefined ? { metric: route.metric } : {}) };
    const r = engine.evaluate(chain, subject, false);
    if (!r.accept) continue;
    const metric = Math.min(r.metric ?? route.metric ?? 0, 0xfe000000);
    let prefix: Prefix;
    try {
      prefix = parsePrefix(route.prefix);
    } catch {
      continue;
    }
    if (prefix.family === 4) v4.push({ prefix, metric, down: false, subTlvs: [] });
    else v6.push({ prefix, metric, down: false, external: true, subTlvs: [] });
  }
  return { v4, v6 };
}
