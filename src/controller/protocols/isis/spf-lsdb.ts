/**
 * The bridge from decoded LSPs (wire/isis) to SPF's graph (spf.ts): each system or pseudonode
 * becomes one SpfVertex built from all its live fragments of one level — neighbours from
 * extended IS reachability (TLV 22), prefixes from extended IPv4 (135) and IPv6 (236)
 * reachability, keyed by their text form, and the overload bit of fragment zero. A vertex whose
 * fragment zero is missing or purged (Remaining Lifetime 0) is left out altogether, as ISO
 * 10589 requires: fragment zero carries the overload bit and IS type the rest depend on.
 * Vertex IDs are node IDs in text ("0102.5500.0002.00", pseudonodes "0102.5500.0002.dc").
 */
import { formatNodeId, type Lsp } from '../../../wire/isis/index.js';
import { formatPrefix } from '../../../lib/addr.js';
import type { SpfEdge, SpfPrefix, SpfVertex } from './spf.js';

export function vertexId(lsp: Lsp): string {
  return formatNodeId(lsp.lspId);
}

/** One vertex from the fragments of one node (all with the same system ID and pseudonode number). */
export function vertexFromLsps(fragments: readonly Lsp[]): SpfVertex | undefined {
  const live = fragments.filter((l) => l.remainingLifetime > 0);
  const zero = live.find((l) => l.lspId.fragment === 0);
  if (!zero) return undefined;
  const neighbors: SpfEdge[] = [];
  const prefixes: SpfPrefix[] = [];
  for (const lsp of live) {
    for (const t of lsp.tlvs) {
      if (t.type === 'extended-is-reachability') for (const n of t.neighbors) neighbors.push({ id: formatNodeId(n.neighbor), metric: n.metric });
      else if (t.type === 'extended-ipv4-reachability' || t.type === 'ipv6-reachability') {
        for (const p of t.prefixes) prefixes.push({ key: formatPrefix(p.prefix), metric: p.metric });
      }
    }
  }
  return { id: vertexId(zero), pseudonode: zero.lspId.pseudonode !== 0, overload: zero.overload, neighbors, prefixes };
}

/** The SPF graph of one level's LSDB. */
export function graphFromLsps(lsps: Iterable<Lsp>): Map<string, SpfVertex> {
  const byNode = new Map<string, Lsp[]>();
  for (const l of lsps) {
    const id = vertexId(l);
    let list = byNode.get(id);
    if (!list) byNode.set(id, (list = []));
    list.push(l);
  }
  const graph = new Map<string, SpfVertex>();
  for (const [id, fragments] of byNode) {
    const v = vertexFromLsps(fragments);
    if (v) graph.set(id, v);
  }
  return graph;
}
