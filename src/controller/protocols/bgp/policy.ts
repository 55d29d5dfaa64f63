/**
 * Routing policy applied to BGP (the engine itself is ../../policy): the subject a policy
 * sees for a path or a route, the import verdict of a received path (shared by the prefixes
 * of one UPDATE when the chain ignores prefixes), the attributes import rewrites, the
 * export verdicts (BGP best paths, other protocols' routes, VRF routes), and VRF imports.
 * What BGP itself does to exported attributes (eBGP/iBGP rules) is adj-rib-out.ts'.
 */
import { tryParseIpv4, tryParseIpv6, type PrefixKey } from '../../../lib/addr.js';
import { SegmentType, type AsPathSegment, type PathAttributes } from '../../../wire/bgp/index.js';
import type { PolicyEngine, PolicyResult, PolicySubject } from '../../policy/index.js';
import type { RibRoute } from '../../rib/types.js';
import type { VrfConfig } from './config.js';
import type { Neighbor } from './neighbor.js';
import type { BgpContext } from './instance.js';
import type { Path } from './rib.js';
import { matchesTargets, type LocalVpnRoute } from './vpn.js';

/** An import verdict, remembered for the next prefixes of the same UPDATE (BgpContext.lastImport). */
export interface ImportVerdict {
  readonly chain: readonly string[];
  readonly nb: Neighbor;
  readonly inAttrs: PathAttributes;
  readonly policy: PolicyEngine;
  accepted: boolean;
  /** the attributes after import (inAttrs itself when policy changed nothing) */
  attrs: PathAttributes;
  /** a route preference set by import policy */
  preference: number | undefined;
}

/** Whether a policy result changes anything in the route. */
export function hasModifications(r: PolicyResult | undefined): boolean {
  return !!r && (r.localPref !== undefined || r.metric !== undefined || r.origin !== undefined || r.nextHop !== undefined || r.asPathPrepend !== undefined || r.communities !== undefined || r.preference !== undefined);
}

/** An AS_PATH with ASNs put in front (into the first AS_SEQUENCE while it has room). */
export function prepend(path: readonly AsPathSegment[] | undefined, asns: number[]): AsPathSegment[] {
  const segs = path ? [...path] : [];
  if (asns.length === 0) return segs;
  const first = segs[0];
  if (first && first.type === SegmentType.AsSequence && first.asns.length + asns.length <= 255) segs[0] = { type: SegmentType.AsSequence, asns: [...asns, ...first.asns] };
  else segs.unshift({ type: SegmentType.AsSequence, asns });
  return segs;
}

function subjectOf(cx: BgpContext, prefix: PrefixKey, nb: Neighbor | undefined, a: PathAttributes): PolicySubject {
  return {
    prefix,
    protocol: 'bgp',
    neighbor: nb?.cfg.address,
    nextHops: a.nextHop ? [a.nextHop] : [],
    localPref: a.localPref,
    metric: a.med,
    routeType: nb?.ebgp ? 'external' : 'internal',
    instance: cx.cfg.name,
    asPath: a.asPath,
    communities: a.communities,
    extCommunities: a.extCommunities,
    largeCommunities: a.largeCommunities,
  };
}

function applyImport(nb: Neighbor, a: PathAttributes, r: PolicyResult): PathAttributes {
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

/**
 * The import verdict for a received path (the neighbor's import chain is not empty). The
 * prefixes of an UPDATE share one verdict (and one changed attribute set) when the import
 * chain does not look at prefixes.
 */
export function importVerdict(cx: BgpContext, nb: Neighbor, prefix: PrefixKey, inAttrs: PathAttributes): ImportVerdict {
  const chain = nb.cfg.import;
  const li = cx.lastImport;
  if (li && li.chain === chain && li.nb === nb && li.inAttrs === inAttrs && li.policy === cx.policy) return li;
  const r = cx.policy.evaluate(chain, subjectOf(cx, prefix, nb, inAttrs), true);
  const v: ImportVerdict = { chain, nb, inAttrs, policy: cx.policy, accepted: r.accept, attrs: inAttrs, preference: undefined };
  if (r.accept && hasModifications(r)) {
    v.attrs = applyImport(nb, inAttrs, r);
    v.preference = r.preference;
  }
  cx.lastImport = cx.policy.dependsOnPrefix(chain) ? undefined : v;
  return v;
}

/** Whether a VRF imports a VPN path: its vrf-import policies when it has any, else its route targets. */
export function vrfImports(cx: BgpContext, v: VrfConfig, prefix: string, p: Path): boolean {
  return v.importPolicies.length ? cx.policy.evaluate(v.importPolicies, { ...subjectOf(cx, prefix, p.peer, p.attrs), instance: v.name }, false).accept : matchesTargets(p.attrs.extCommunities, v.importTargets);
}

/** The export verdict for another protocol's active route (the export chain is not empty). */
export function exportRouteVerdict(cx: BgpContext, chain: readonly string[], prefix: PrefixKey, route: RibRoute): PolicyResult {
  const subject: PolicySubject = {
    prefix,
    protocol: route.protocol,
    nextHops: route.nexthops.map((n) => n.gateway).filter((g): g is string => g !== undefined),
    interfaces: route.nexthops.map((n) => n.interface).filter((g): g is string => g !== undefined),
    metric: route.metric,
    instance: cx.cfg.name,
  };
  return cx.policy.evaluate(chain, subject, false);
}

/** An export verdict, remembered for the next prefixes with the same path facts (BgpContext.lastExport). */
export interface ExportVerdict {
  readonly chain: readonly string[];
  readonly policy: PolicyEngine;
  readonly peer: Neighbor;
  readonly attrs: PathAttributes;
  readonly result: PolicyResult;
}

/**
 * The export verdict for a BGP best path (the export chain is not empty). The prefixes of a
 * run that share the source peer and attributes (an UPDATE's) share one verdict when the
 * chain does not look at prefixes: the result is only read (transform), never changed.
 */
export function exportPathVerdict(cx: BgpContext, chain: readonly string[], prefix: PrefixKey, best: Path): PolicyResult {
  const le = cx.lastExport;
  if (le && le.chain === chain && le.policy === cx.policy && le.peer === best.peer && le.attrs === best.attrs) return le.result;
  const result = cx.policy.evaluate(chain, subjectOf(cx, prefix, best.peer, best.attrs), true);
  cx.lastExport = cx.policy.dependsOnPrefix(chain) ? undefined : { chain, policy: cx.policy, peer: best.peer, attrs: best.attrs, result };
  return result;
}

/** vrf-export for a VRF route advertised as a VPN route: accept or reject, and the communities (route targets) it adds or sets. */
export function vrfExportVerdict(cx: BgpContext, local: LocalVpnRoute, base: PathAttributes): PolicyResult {
  const subject: PolicySubject = { prefix: local.prefix, protocol: local.protocol, nextHops: [], instance: local.vrf.name, extCommunities: base.extCommunities };
  return cx.policy.evaluate(local.vrf.exportPolicies, subject, false);
}
