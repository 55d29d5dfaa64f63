/**
 * Segment routing over IS-IS (RFC 8402, RFC 8667), all in one place: what this system puts in
 * its LSPs (Router Capability with SR-Capabilities/SRGB, SR-Algorithm 0 and SRLB; the
 * Prefix-SIDs of the loopback addresses, node flag set, PHP unless explicit-null; an Adj-SID
 * from the SRLB for each adjacency that is up), and what SPF's result means in labels.
 *
 * `srLabels` is the one computation: for every prefix with a Prefix-SID (algorithm 0) reached
 * by SPF, the in-label (our SRGB start + index) and, per next hop, the out-label taken from
 * that next hop's own SRGB — or no label (implicit null: pop) where the next hop is the
 * originator and asked for PHP, or explicit null (0 / 2) where it asked for that. `srRoutes`
 * turns it into RIB entries (documented in docs/isis.md):
 *  - `inet.3` / `inet6.3`: the tunnel to each node SID's prefix (the remote loopback), with
 *    the label to push per next hop (none where PHP makes it empty), protocol isis,
 *    preference 14 (Junos's L-ISIS), `attributes.sr` describing the SID;
 *  - `mpls.0`: keyed by the in-label as text ("400002"): swap to the out-label (labels [out])
 *    or pop (labels []) toward each next hop; Adj-SIDs pop and forward to their adjacency.
 * A next hop without an SRGB cannot carry the SID: it is left out of that prefix's entries.
 */
import type { IsReachSubTlv, Level, PrefixSubTlv, SidRange, Tlv } from '../../../wire/isis/index.js';
import type { Ipv4, Label, Prefix } from '../../../lib/addr.js';
import type { RibRoute } from '../../rib/types.js';
import type { Adjacency, IsisContext } from './instance.js';
import type { SrConfig } from './config.js';
import type { SpfResult } from './spf.js';
import { adjacenciesFor } from './decision.js';

/** L-ISIS routes in inet.3 (Junos) */
export const LABELED_ISIS_PREFERENCE = 14;
export const IMPLICIT_NULL = 3;
export const EXPLICIT_NULL_V4 = 0;
export const EXPLICIT_NULL_V6 = 2;

export interface SrState {
  /** Adj-SID labels in use, by label */
  readonly adjLabels: Map<number, Adjacency>;
}

export interface SrNextHop {
  readonly gateway: string;
  readonly interface: string;
  readonly neighbor: string;
  /** the label to push toward this next hop; IMPLICIT_NULL (3) means none: pop */
  readonly outLabel: number;
}

export interface SrPrefixLabels {
  readonly prefix: string;
  readonly level: Level;
  readonly index: number;
  /** the system advertising the SID */
  readonly originator: string;
  readonly node: boolean;
  /** our SRGB start + index */
  readonly inLabel: number;
  readonly nexthops: readonly SrNextHop[];
}

export function srConfigured(cx: IsisContext): boolean {
  return cx.cfg.sr !== undefined;
}

function range(r: { start: number; size: number }): SidRange {
  return { range: r.size, first: { label: r.start as Label } };
}

export function routerCapability(sr: SrConfig, routerId: Ipv4): Tlv {
  return {
    type: 'router-capability',
    routerId,
    flags: { s: false, d: false },
    subTlvs: [
      { type: 'sr-capabilities', flags: { i: true, v: true }, ranges: [range(sr.srgb)] },
      { type: 'sr-algorithms', algorithms: [0] },
      ...(sr.srlb ? [{ type: 'srlb' as const, flags: 0, ranges: [range(sr.srlb)] }] : []),
    ],
  };
}

/** The Prefix-SID of a loopback address, if a node segment is configured for its family (host prefixes only). */
export function prefixSidSubTlvs(sr: SrConfig | undefined, family: 4 | 6, p: Prefix): PrefixSubTlv[] {
  if (!sr || p.len !== (family === 4 ? 32 : 128)) return [];
  const index = family === 4 ? sr.ipv4Index : sr.ipv6Index;
  if (index === undefined) return [];
  return [{ type: 'prefix-sid', flags: { r: false, n: true, p: sr.explicitNull, e: sr.explicitNull, v: false, l: false }, algorithm: 0, sid: { index } }];
}

/** The adjacency's Adj-SIDs (RFC 8667 2.2.1): IPv4, and IPv6 with the F flag; value (V) and local (L) labels. */
export function adjSidSubTlvs(adj: Adjacency): IsReachSubTlv[] {
  const out: IsReachSubTlv[] = [];
  for (const [label, f] of [[adj.adjSid, false], [adj.adjSid6, true]] as const) {
    if (label !== undefined) out.push({ type: 'adj-sid', flags: { f, b: false, v: true, l: true, s: false, p: false }, weight: 0, sid: { label: label as Label } });
  }
  return out;
}

/**
 * RFC 8667 2.2.2: on a LAN, the IS reachability toward the pseudonode carries one LAN-Adj-SID
 * per neighbour up at that level (its system ID and the label; F for the IPv6 one), the
 * same labels a point-to-point adjacency would get.
 */
export function lanAdjSidSubTlvs(adjs: Iterable<Adjacency>): IsReachSubTlv[] {
  const out: IsReachSubTlv[] = [];
  for (const adj of adjs) {
    for (const s of adjSidSubTlvs(adj)) if (s.type === 'adj-sid') out.push({ type: 'lan-adj-sid', flags: s.flags, weight: s.weight, neighborSystemId: adj.systemId, sid: s.sid });
  }
  return out;
}

function state(cx: IsisContext): SrState {
  cx.sr ??= { adjLabels: new Map() };
  return cx.sr;
}

/** The lowest free SRLB label, taken for `adj`; undefined when the block is full. */
function takeLabel(s: SrState, srlb: { start: number; size: number }, adj: Adjacency): number | undefined {
  for (let l = srlb.start; l < srlb.start + srlb.size; l++) {
    if (s.adjLabels.has(l)) continue;
    s.adjLabels.set(l, adj);
    return l;
  }
  return undefined;
}

/**
 * Adj-SIDs from the SRLB for an adjacency that is up (lowest free labels): IPv4, and IPv6 while
 * the neighbour gives an IPv6 address in its hellos — taken when one appears after the
 * adjacency came up, given back when it goes. Returns whether a label was taken or given back
 * (then our LSP and mpls.0 change).
 */
export function assignAdjSid(cx: IsisContext, adj: Adjacency): boolean {
  const srlb = cx.cfg.sr?.srlb;
  if (!srlb) return false;
  const s = state(cx);
  const before4 = adj.adjSid;
  const before6 = adj.adjSid6;
  if (adj.adjSid === undefined || s.adjLabels.get(adj.adjSid) !== adj) adj.adjSid = takeLabel(s, srlb, adj);
  if (adj.ipv6.length > 0) {
    if (adj.adjSid6 === undefined || s.adjLabels.get(adj.adjSid6) !== adj) adj.adjSid6 = takeLabel(s, srlb, adj);
  } else if (adj.adjSid6 !== undefined) {
    if (s.adjLabels.get(adj.adjSid6) === adj) s.adjLabels.delete(adj.adjSid6);
    adj.adjSid6 = undefined;
  }
  return before4 !== adj.adjSid || before6 !== adj.adjSid6;
}

export function releaseAdjSid(cx: IsisContext, adj: Adjacency): void {
  for (const label of [adj.adjSid, adj.adjSid6]) if (label !== undefined && cx.sr?.adjLabels.get(label) === adj) cx.sr.adjLabels.delete(label);
  adj.adjSid = undefined;
  adj.adjSid6 = undefined;
}

interface SidInfo {
  index: number;
  node: boolean;
  php: boolean;
  explicitNull: boolean;
}

/** SRGB (first range) per system, and Prefix-SIDs (algorithm 0, index form) per prefix and originator, from one level's LSDB. */
function collect(cx: IsisContext, level: Level, now: number): { srgb: Map<string, { start: number; size: number }>; sids: Map<string, Map<string, SidInfo>> } {
  const srgb = new Map<string, { start: number; size: number }>();
  const sids = new Map<string, Map<string, SidInfo>>();
  for (const r of cx.lsdb.get(level)!.live(now)) {
    if (r.lsp.lspId.pseudonode !== 0) continue;
    const sys = r.lsp.lspId.systemId;
    if (r.view.srgb && !srgb.has(sys)) srgb.set(sys, r.view.srgb);
    for (const s of r.view.sids ?? []) {
      let m = sids.get(s.prefix);
      if (!m) sids.set(s.prefix, (m = new Map()));
      m.set(sys, { index: s.index, node: s.node, php: s.php, explicitNull: s.explicitNull });
    }
  }
  return { srgb, sids };
}


/** The SR labels of one level from its SPF result (see the file comment). */
export function srLabels(cx: IsisContext, level: Level, spf: SpfResult, now: number): SrPrefixLabels[] {
  const sr = cx.cfg.sr;
  if (!sr) return [];
  const { srgb, sids } = collect(cx, level, now);
  const out: SrPrefixLabels[] = [];
  for (const [prefix, route] of spf.prefixes) {
    const bySys = sids.get(prefix);
    if (!bySys) continue;
    const originator = route.origins.find((o) => bySys.has(o.slice(0, 14)))?.slice(0, 14);
    if (!originator) continue;
    const sid = bySys.get(originator)!;
    if (sid.index >= sr.srgb.size) continue;
    const family = prefix.includes(':') ? 6 : 4;
    const nexthops: SrNextHop[] = [];
    for (const hop of route.nextHops) {
      const neighbor = hop.neighbor.slice(0, 14);
      let outLabel: number;
      if (neighbor === originator && sid.explicitNull) outLabel = family === 4 ? EXPLICIT_NULL_V4 : EXPLICIT_NULL_V6;
      else if (neighbor === originator && sid.php) outLabel = IMPLICIT_NULL;
      else {
        const g = srgb.get(neighbor);
        if (!g || sid.index >= g.size) continue;
        outLabel = g.start + sid.index;
      }
      for (const a of adjacenciesFor(cx, level, hop)) {
        const gw = family === 4 ? a.ipv4[0] : a.ipv6[0];
        if (gw !== undefined) nexthops.push({ gateway: gw, interface: a.circuit.name, neighbor, outLabel });
      }
    }
    if (nexthops.length === 0) continue;
    out.push({ prefix, level, index: sid.index, originator, node: sid.node, inLabel: sr.srgb.start + sid.index, nexthops });
  }
  return out;
}

/** RIB entries for the SR results: inet.3 / inet6.3 tunnels and mpls.0 label operations. */
export function srRoutes(cx: IsisContext, level: Level, spf: SpfResult, now: number): Map<string, Map<string, RibRoute>> {
  const out = new Map<string, Map<string, RibRoute>>();
  if (!cx.cfg.sr) return out;
  const inet3 = new Map<string, RibRoute>();
  const inet63 = new Map<string, RibRoute>();
  const mpls = new Map<string, RibRoute>();
  const labels = (l: number) => (l === IMPLICIT_NULL ? [] : [l]);
  for (const s of srLabels(cx, level, spf, now)) {
    const nexthops = s.nexthops.map((h) => ({ gateway: h.gateway, interface: h.interface, labels: labels(h.outLabel) }));
    const attributes = { level, sid: { index: s.index, originator: s.originator, node: s.node, inLabel: s.inLabel } };
    const metric = spf.prefixes.get(s.prefix)!.distance;
    if (s.node) (s.prefix.includes(':') ? inet63 : inet3).set(s.prefix, { prefix: s.prefix, protocol: 'isis', preference: LABELED_ISIS_PREFERENCE, metric, nexthops, attributes });
    const key = String(s.inLabel);
    mpls.set(key, { prefix: key, protocol: 'isis', preference: LABELED_ISIS_PREFERENCE, metric, nexthops, attributes: { ...attributes, operation: nexthops.every((h) => h.labels.length === 0) ? 'pop' : 'swap', fec: s.prefix } });
  }
  // our own node SIDs: popped here, the rest looked up (a neighbour that does not pop, or explicit null)
  const own = cx.cfg.sr;
  for (const index of [own.ipv4Index, own.ipv6Index]) {
    if (index === undefined) continue;
    const key = String(own.srgb.start + index);
    mpls.set(key, { prefix: key, protocol: 'isis', preference: LABELED_ISIS_PREFERENCE, nexthops: [], attributes: { level, operation: 'pop', sid: { index, originator: cx.cfg.systemId, node: true, inLabel: own.srgb.start + index } } });
  }
  for (const [label, adj] of cx.sr?.adjLabels ?? []) {
    if (adj.state !== 'up' || !adj.levels.includes(level)) continue;
    const gw = label === adj.adjSid6 ? adj.ipv6[0] : adj.ipv4[0];
    if (gw === undefined) continue;
    mpls.set(String(label), { prefix: String(label), protocol: 'isis', preference: LABELED_ISIS_PREFERENCE, nexthops: [{ gateway: gw, interface: adj.circuit.name, labels: [] }], attributes: { level, operation: 'pop', adjacency: adj.systemId } });
  }
  out.set('inet.3', inet3);
  out.set('inet6.3', inet63);
  out.set('mpls.0', mpls);
  return out;
}
