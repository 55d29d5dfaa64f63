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
}

export interface SpfVertex {
  readonly id: string;
  readonly pseudonode: boolean;
  readonly overload: boolean;
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

/** The usable edges out of `u`: two-way checked, maximum-metric links left out, parallel edges at their lowest metric. */
function usableEdges(graph: SpfGraph, u: SpfVertex): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of u.neighbors) {
    if (e.metric >= MAX_LINK_METRIC || e.id === u.id) continue;
    const v = graph.get(e.id);
    if (!v?.neighbors.some((back) => back.id === u.id && back.metric < MAX_LINK_METRIC)) continue;
    const have = out.get(e.id);
    if (have === undefined || e.metric < have) out.set(e.id, e.metric);
  }
  return out;
}

/** A binary min-heap of (distance, id). */
class Heap {
  private readonly d: number[] = [];
  private readonly ids: string[] = [];
  get size(): number {
    return this.d.length;
  }
  push(dist: number, id: string): void {
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
  pop(): [number, string] {
    const top: [number, string] = [this.d[0]!, this.ids[0]!];
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

function hopKey(h: NextHop): string {
  return `${h.via}\u0000${h.neighbor}`;
}

function sortedHops(m: Map<string, NextHop>): NextHop[] {
  return [...m.values()].sort((a, b) => (a.via < b.via ? -1 : a.via > b.via ? 1 : a.neighbor < b.neighbor ? -1 : a.neighbor > b.neighbor ? 1 : 0));
}

export function computeSpf(graph: SpfGraph, rootId: string): SpfResult {
  const root = graph.get(rootId);
  const vertices = new Map<string, SpfRoute>();
  const prefixes = new Map<string, PrefixRoute>();
  if (!root) return { vertices, prefixes };

  // pass 1: Dijkstra distances, remembering each vertex's usable edges and the finishing order
  const dist = new Map<string, number>([[rootId, 0]]);
  const edges = new Map<string, Map<string, number>>();
  const order: string[] = [];
  const done = new Set<string>();
  const heap = new Heap();
  heap.push(0, rootId);
  while (heap.size > 0) {
    const [d, id] = heap.pop();
    if (done.has(id) || d !== dist.get(id)) continue;
    done.add(id);
    order.push(id);
    const u = graph.get(id)!;
    // an overloaded system ends paths, but the root is always the start of them
    if (id !== rootId && u.overload) continue;
    const out = usableEdges(graph, u);
    edges.set(id, out);
    for (const [vid, metric] of out) {
      const nd = d + metric;
      if (nd > MAX_PATH_METRIC || vid === rootId) continue;
      const have = dist.get(vid);
      if (have === undefined || nd < have) {
        dist.set(vid, nd);
        heap.push(nd, vid);
      }
    }
  }

  // pass 2: next hops, group by group of equal distance (order is ascending in distance)
  const hops = new Map<string, Map<string, NextHop>>();
  hops.set(rootId, new Map());
  const preds = new Map<string, string[]>();
  for (const [uid, out] of edges) {
    for (const [vid, metric] of out) {
      if (vid === rootId) continue;
      if (dist.get(uid)! + metric === dist.get(vid)) {
        let p = preds.get(vid);
        if (!p) preds.set(vid, (p = []));
        p.push(uid);
      }
    }
  }
  const collect = (vid: string): boolean => {
    let set = hops.get(vid);
    if (!set) hops.set(vid, (set = new Map()));
    const before = set.size;
    const v = graph.get(vid)!;
    for (const uid of preds.get(vid) ?? []) {
      if (uid === rootId) {
        // the first hop: a neighbour on a point-to-point link, or a LAN (whose members come next)
        const h: NextHop = v.pseudonode ? { neighbor: '', via: vid } : { neighbor: vid, via: vid };
        set.set(hopKey(h), h);
        continue;
      }
      for (const h of hops.get(uid)?.values() ?? []) {
        const hh: NextHop = h.neighbor === '' && !v.pseudonode ? { neighbor: vid, via: h.via } : h;
        set.set(hopKey(hh), hh);
      }
    }
    return set.size !== before;
  };
  for (let i = 1; i < order.length; ) {
    let j = i;
    const d = dist.get(order[i]!)!;
    while (j < order.length && dist.get(order[j]!) === d) j++;
    for (let changed = true; changed; ) {
      changed = false;
      for (let k = i; k < j; k++) if (collect(order[k]!)) changed = true;
    }
    i = j;
  }

  for (const id of order) {
    const set = hops.get(id)!;
    // a pseudonode's own first hop has no neighbour yet: only its members' hops are real
    const real = new Map([...set].filter(([, h]) => h.neighbor !== ''));
    vertices.set(id, { distance: dist.get(id)!, nextHops: sortedHops(real) });
  }

  // prefixes: the best distance over the advertising vertices, next hops of all at that distance
  const best = new Map<string, { distance: number; origins: string[]; hops: Map<string, NextHop> }>();
  for (const id of order) {
    if (id === rootId) continue;
    const v = graph.get(id)!;
    const route = vertices.get(id)!;
    for (const p of v.prefixes) {
      const d = route.distance + p.metric;
      if (d > MAX_PATH_METRIC) continue;
      const b = best.get(p.key);
      if (!b || d < b.distance) best.set(p.key, { distance: d, origins: [id], hops: new Map(route.nextHops.map((h) => [hopKey(h), h])) });
      else if (d === b.distance && !b.origins.includes(id)) {
        b.origins.push(id);
        for (const h of route.nextHops) b.hops.set(hopKey(h), h);
      }
    }
  }
  const own = new Set(root.prefixes.map((p) => p.key));
  for (const [key, b] of best) {
    if (own.has(key)) continue;
    prefixes.set(key, { distance: b.distance, nextHops: sortedHops(b.hops), origins: b.origins.sort() });
  }
  return { vertices, prefixes };
}
