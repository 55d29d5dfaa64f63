/**
 * IS-IS shortest-path-first (ISO 10589 annex C.2, Dijkstra) over an LSDB abstraction, pure:
 * no LSPs, no timers, no RIB. The caller presents each system and pseudonode as an SpfVertex —
 * its neighbours with their wide metrics (TLV 22, all fragments merged), its prefixes (TLV
 * 135/236 as opaque keys) and its overload bit — and gets back, for every reachable vertex and
 * every prefix, the distance and the set of equal-cost next hops (ECMP).
 *
 * Rules applied, each from the RFCs:
 * - two-way check (ISO 10589 annex C.2): an edge u→v is used only if v also lists u;
 * - a link advertised with the maximum metric 2^24-1 is not used (RFC 5305 section 3);
 * - paths, and prefixes, beyond MAX_PATH_METRIC (0xFE000000, RFC 5305 sections 3 and 4)
 *   are dropped;
 * - an overloaded system (the LSP Database Overload bit of ISO 10589) is reached, and so are
 *   its own prefixes, but no path transits it; the root is never transit either;
 * - a next hop is an adjacency of the root: the first real system on the path and the circuit
 *   it is reached through — the pseudonode for a LAN, the neighbour itself for a point-to-point
 *   link (NextHop.via). Parallel point-to-point links to one neighbour appear as one next hop;
 *   the instance expands it to its adjacencies on those links.
 *
 * Two passes: Dijkstra computes distances; then next hops are collected in order of distance
 * as the union over every shortest-path predecessor (the root's edges seed them). Zero-cost
 * edges (a pseudonode to its members) can make a predecessor equal in distance, so each group
 * of equal distance is iterated until its sets stop growing (they only grow; it ends).
 * Prefixes the root advertises itself are left out: they are the caller's own (direct) routes.
 */

/** RFC 5305 section 3: a link with this metric is advertised for TE only, not for SPF. */
export const MAX_LINK_METRIC = 0xffffff;
/** RFC 5305 sections 3 and 4: the largest usable path metric. */
export const MAX_PATH_METRIC = 0xfe000000;

export interface SpfEdge {
  readonly id: string;
  readonly metric: number;
}

export interface SpfPrefix {
  readonly key: string;
  readonly metric: number;
  /** the up/down bit (RFC 5305 4.1): leaked down from level 2, never to be advertised back up */
  readonly down?: true;
  /** the external bit of IPv6 reachability (RFC 5308 2: redistributed from another protocol), kept when leaked between levels */
  readonly external?: true;
}

export interface SpfVertex {
  readonly id: string;
  readonly pseudonode: boolean;
  readonly overload: boolean;
  /** the ATT bit (default metric) of its level 1 LSP: a level 1/2 system attached to level 2 */
  readonly attached?: boolean;
  readonly neighbors: readonly SpfEdge[];
  readonly prefixes: readonly SpfPrefix[];
}

/** What SPF reads: a map from vertex ID (system ID, or system ID + pseudonode) to its vertex. */
export interface SpfGraph {
  get(id: string): SpfVertex | undefined;
}

export interface NextHop {
  /** the root's neighbour (a system ID) the traffic goes to */
  readonly neighbor: string;
  /** the circuit: the pseudonode for a LAN, the neighbour for a point-to-point link */
  readonly via: string;
}

export interface SpfRoute {
  readonly distance: number;
  /** sorted by via, then neighbor; empty for the root */
  readonly nextHops: readonly NextHop[];
}

export interface PrefixRoute extends SpfRoute {
  /** the vertices advertising the prefix at the best distance */
  readonly origins: readonly string[];
}

export interface SpfResult {
  readonly vertices: ReadonlyMap<string, SpfRoute>;
  readonly prefixes: ReadonlyMap<string, PrefixRoute>;
}

/**
 * Vertices get small integer indices as SPF discovers them, so the loops below work on arrays
 * instead of maps keyed by strings (an LSDB of 10k systems is searched in a few tens of ms).
 */
class VertexIndex {
  readonly vertices: SpfVertex[] = [];
  private readonly byId = new Map<string, number>();
  of(v: SpfVertex): number {
    let i = this.byId.get(v.id);
    if (i === undefined) {
      i = this.vertices.length;
      this.byId.set(v.id, i);
      this.vertices.push(v);
    }
    return i;
  }
}

interface Edges {
  readonly to: number[];
  readonly metric: number[];
}

/** Whether `v` lists `u` back with a usable metric (the two-way check), without a closure per call. */
function listsBack(v: SpfVertex, u: string): boolean {
  const ns = v.neighbors;
  for (let i = 0; i < ns.length; i++) if (ns[i]!.id === u && ns[i]!.metric < MAX_LINK_METRIC) return true;
  return false;
}

/** The usable edges out of `u`: two-way checked, maximum-metric links left out, parallel edges at their lowest metric. */
function usableEdges(graph: SpfGraph, index: VertexIndex, u: SpfVertex): Edges {
  const out: Edges = { to: [], metric: [] };
  for (const e of u.neighbors) {
    if (e.metric >= MAX_LINK_METRIC || e.id === u.id) continue;
    const v = graph.get(e.id);
    if (!v || !listsBack(v, u.id)) continue;
    const vi = index.of(v);
    const at = out.to.indexOf(vi);
    if (at < 0) {
      out.to.push(vi);
      out.metric.push(e.metric);
    } else if (e.metric < out.metric[at]!) out.metric[at] = e.metric;
  }
  return out;
}

/** A binary min-heap of (distance, vertex index). */
class Heap {
  private readonly d: number[] = [];
  private readonly ids: number[] = [];
  get size(): number {
    return this.d.length;
  }
  push(dist: number, id: number): void {
    let i = this.d.length;
    this.d.push(dist);
    this.ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.d[parent]! <= dist) break;
      this.d[i] = this.d[parent]!;
      this.ids[i] = this.ids[parent]!;
      i = parent;
    }
    this.d[i] = dist;
    this.ids[i] = id;
  }
  pop(): [number, number] {
    const top: [number, number] = [this.d[0]!, this.ids[0]!];
    const lastD = this.d.pop()!;
    const lastId = this.ids.pop()!;
    const n = this.d.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && this.d[c + 1]! < this.d[c]!) c++;
        if (this.d[c]! >= lastD) break;
        this.d[i] = this.d[c]!;
        this.ids[i] = this.ids[c]!;
        i = c;
      }
      this.d[i] = lastD;
      this.ids[i] = lastId;
    }
    return top;
  }
}

const NO_HOPS: readonly NextHop[] = [];

function compareHops(a: NextHop, b: NextHop): number {
  if (a.via !== b.via) return a.via < b.via ? -1 : 1;
  if (a.neighbor !== b.neighbor) return a.neighbor < b.neighbor ? -1 : 1;
  return 0;
}

/** Sorted and without duplicates. */
function normalized(list: NextHop[]): NextHop[] {
  list.sort(compareHops);
  return list.filter((h, i) => i === 0 || compareHops(list[i - 1]!, h) !== 0);
}

/**
 * The union of two sorted, duplicate-free lists. Lists are shared between vertices and never
 * changed, so a union that adds nothing returns `a` itself: most vertices have one shortest-path
 * predecessor, and then cost no allocation at all.
 */
function unionHops(a: readonly NextHop[], b: readonly NextHop[]): readonly NextHop[] {
  if (a === b || b.length === 0) return a;
  if (a.length === 0) return b;
  const out: NextHop[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const c = compareHops(a[i]!, b[j]!);
    if (c <= 0) {
      out.push(a[i++]!);
      if (c === 0) j++;
    } else out.push(b[j++]!);
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out.length === a.length ? a : out;
}

export function computeSpf(graph: SpfGraph, rootId: string): SpfResult {
  const root = graph.get(rootId);
  const vertices = new Map<string, SpfRoute>();
  if (!root) return { vertices, prefixes: new Map() };

  // pass 1: Dijkstra distances, remembering each vertex's usable edges and the finishing order
  const index = new VertexIndex();
  const ROOT = index.of(root);
  const dist: number[] = [0];
  const edges: (Edges | undefined)[] = [];
  const done: boolean[] = [];
  const order: number[] = [];
  const heap = new Heap();
  heap.push(0, ROOT);
  while (heap.size > 0) {
    const [d, u] = heap.pop();
    if (done[u] || d !== dist[u]) continue;
    done[u] = true;
    order.push(u);
    const uv = index.vertices[u]!;
    // an overloaded system ends paths, but the root is always the start of them
    if (u !== ROOT && uv.overload) continue;
    const out = usableEdges(graph, index, uv);
    edges[u] = out;
    for (let k = 0; k < out.to.length; k++) {
      const v = out.to[k]!;
      const nd = d + out.metric[k]!;
      if (nd > MAX_PATH_METRIC || v === ROOT) continue;
      const have = dist[v];
      if (have === undefined || nd < have) {
        dist[v] = nd;
        heap.push(nd, v);
      }
    }
  }

  // pass 2: next hops, group by group of equal distance (order is ascending in distance)
  const hops: (readonly NextHop[] | undefined)[] = [NO_HOPS];
  const preds: (number[] | undefined)[] = [];
  for (const u of order) {
    const out = edges[u];
    if (!out) continue;
    for (let k = 0; k < out.to.length; k++) {
      const v = out.to[k]!;
      if (v !== ROOT && dist[u]! + out.metric[k]! === dist[v]) (preds[v] ??= []).push(u);
    }
  }
  const collect = (v: number): boolean => {
    const before = hops[v] ?? NO_HOPS;
    let acc = before;
    const vv = index.vertices[v]!;
    for (const u of preds[v] ?? []) {
      let add: readonly NextHop[];
      if (u === ROOT) {
        // the first hop: a neighbour on a point-to-point link, or a LAN (whose members come next)
        add = [vv.pseudonode ? { neighbor: '', via: vv.id } : { neighbor: vv.id, via: vv.id }];
      } else {
        add = hops[u] ?? NO_HOPS;
        // behind a directly attached LAN, the member reached is the neighbour
        if (!vv.pseudonode && add.some((h) => h.neighbor === '')) add = normalized(add.map((h) => (h.neighbor === '' ? { neighbor: vv.id, via: h.via } : h)));
      }
      acc = unionHops(acc, add);
    }
    hops[v] = acc;
    return acc.length !== before.length;
  };
  for (let i = 1; i < order.length; ) {
    let j = i;
    const d = dist[order[i]!]!;
    while (j < order.length && dist[order[j]!] === d) j++;
    for (let changed = true; changed; ) {
      changed = false;
      for (let k = i; k < j; k++) if (collect(order[k]!)) changed = true;
    }
    i = j;
  }

  for (const v of order) {
    const list = hops[v]!;
    // a pseudonode's own first hop has no neighbour yet: only its members' hops are real
    const real = list.some((h) => h.neighbor === '') ? list.filter((h) => h.neighbor !== '') : list;
    vertices.set(index.vertices[v]!.id, { distance: dist[v]!, nextHops: real });
  }

  return { vertices, prefixes: computePrefixes(graph, rootId, vertices) };
}

/**
 * The prefix routes from the vertices' routes: for each prefix, the best distance over the
 * vertices advertising it and the union of their next hops at that distance. Alone, it is
 * the partial route calculation: when only prefixes changed, the vertices' routes of the
 * previous run still hold and Dijkstra need not run again.
 */
export function computePrefixes(graph: SpfGraph, rootId: string, vertices: ReadonlyMap<string, SpfRoute>): Map<string, PrefixRoute> {
  const prefixes = new Map<string, PrefixRoute>();
  const root = graph.get(rootId);
  if (!root) return prefixes;
  // one object per prefix, filled in place (a run over 20k prefixes made two maps and two objects each)
  const best = prefixes as Map<string, { distance: number; origins: readonly string[]; nextHops: readonly NextHop[] }>;
  for (const [id, route] of vertices) {
    if (id === rootId) continue;
    const v = graph.get(id);
    if (!v) continue;
    // a vertex's prefixes share one [id] (most prefixes have one origin: 20k arrays at 10k
    // systems otherwise); a second origin makes a new list, never changing the shared one
    let only: readonly string[] | undefined;
    for (const p of v.prefixes) {
      const d = route.distance + p.metric;
      if (d > MAX_PATH_METRIC) continue;
      const b = best.get(p.key);
      if (!b) best.set(p.key, { distance: d, origins: (only ??= [id]), nextHops: route.nextHops });
      else if (d < b.distance) {
        b.distance = d;
        b.origins = only ??= [id];
        b.nextHops = route.nextHops;
      } else if (d === b.distance && !b.origins.includes(id)) {
        b.origins = [...b.origins, id];
        b.nextHops = unionHops(b.nextHops, route.nextHops);
      }
    }
  }
  for (const p of root.prefixes) best.delete(p.key);
  // lists of several origins are each the prefix's own (made above): sorted in place
  for (const b of best.values()) if (b.origins.length > 1) (b.origins as string[]).sort();
  return prefixes;
}

/**
 * The nearest systems whose LSP has the ATT bit (ISO 10589 7.2.9.2), for a level 1 only system's
 * default route: the least distance among them and the union of their next hops; undefined
 * when SPF reached none.
 */
export function nearestAttached(graph: SpfGraph, rootId: string, vertices: ReadonlyMap<string, SpfRoute>): SpfRoute | undefined {
  let best: { distance: number; nextHops: readonly NextHop[] } | undefined;
  for (const [id, route] of vertices) {
    if (id === rootId || route.nextHops.length === 0) continue;
    const v = graph.get(id);
    if (!v?.attached || v.pseudonode) continue;
    if (!best || route.distance < best.distance) best = { distance: route.distance, nextHops: route.nextHops };
    else if (route.distance === best.distance) best.nextHops = unionHops(best.nextHops, route.nextHops);
  }
  return best;
}
