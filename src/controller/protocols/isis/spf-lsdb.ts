/**
 * The bridge from decoded LSPs (wire/isis) to SPF's graph (spf.ts): each system or pseudonode
 * becomes one SpfVertex built from all its live fragments of one level — neighbours from
 * extended IS reachability (TLV 22), prefixes from extended IPv4 (135) and IPv6 (236)
 * reachability, keyed by their text form, and the overload bit of fragment zero. A vertex whose
 * fragment zero is missing or purged (Remaining Lifetime 0) is left out altogether, as ISO
 * 10589 requires: fragment zero carries the overload bit and IS type the rest depend on.
 * Vertex IDs are node IDs in text ("0102.5500.0002.00", pseudonodes "0102.5500.0002.dc").
 *
 * SpfGraphCache keeps that graph for an LSDB (rib.ts) between runs: the LSDB names each system
 * whose fragments changed, and only those vertices are rebuilt before the next run (a 10k-system
 * flood rebuilt the whole graph, and every TLV of every LSP, at each of its ~15 runs). It also
 * says whether the topology changed (an edge, a metric, an overload bit, a vertex added or gone)
 * so that decision.ts can run the partial route calculation when only prefixes did.
 */
import { formatNodeId, type Lsp } from '../../../wire/isis/index.js';
import { formatPrefix } from '../../../lib/addr.js';
import type { SpfEdge, SpfPrefix, SpfVertex } from './spf.js';
import { remainingLifetime, type LspHeader, type LspRecord } from './rib.js';

export function vertexId(lsp: Lsp | LspHeader): string {
  return formatNodeId(lsp.lspId);
}

/** An algorithm-0 Prefix-SID in index form (RFC 8667 section 2.1), as SR reads it. */
export interface PrefixSidView {
  readonly prefix: string;
  readonly index: number;
  readonly node: boolean;
  readonly php: boolean;
  readonly explicitNull: boolean;
}

/** What SPF and SR read of one LSP's TLVs, kept in its LSDB record instead of the decoded TLVs. */
export interface LspView {
  /** extended IS reachability (TLV 22) */
  readonly neighbors: readonly SpfEdge[];
  /** extended IPv4 (135) and IPv6 (236) reachability, keyed by their text form */
  readonly prefixes: readonly SpfPrefix[];
  /** the first SRGB range of Router Capability's SR-Capabilities (TLV 242) */
  readonly srgb?: { readonly start: number; readonly size: number };
  readonly sids?: readonly PrefixSidView[];
  /** dynamic hostname (TLV 137) */
  readonly hostname?: string;
}

const NOTHING: readonly never[] = [];

/**
 * `s` as one flat string, for text the LSDB keeps as long as the LSP lives (LSP IDs, node IDs,
 * prefix keys). V8 keeps a concatenation of 13 characters or more (a template literal such as
 * formatPrefix's) as a rope — a cell pointing at its parts — for as long as the string lives:
 * ~80 bytes for `10.39.15.0/24` against ~40 flat, ~35k of them at 10k LSPs. A JSON round trip
 * is the one plain way to get a flat copy.
 */
export function flatText(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/**
 * `intern` maps a node ID's text to one shared copy: a system appears in the edges of each of
 * its neighbours' LSPs, and a 10k-system database held ~50k copies of 17-character IDs.
 */
export function viewOf(lsp: Lsp, intern: (id: string) => string = (id) => id): LspView {
  const neighbors: SpfEdge[] = [];
  const prefixes: SpfPrefix[] = [];
  let srgb: LspView['srgb'];
  let sids: PrefixSidView[] | undefined;
  let hostname: string | undefined;
  for (const t of lsp.tlvs) {
    if (t.type === 'extended-is-reachability') for (const n of t.neighbors) neighbors.push({ id: intern(formatNodeId(n.neighbor)), metric: n.metric });
    else if (t.type === 'extended-ipv4-reachability' || t.type === 'ipv6-reachability') {
      for (const p of t.prefixes) {
        const key = flatText(formatPrefix(p.prefix));
        // the flags only where set: most prefixes have neither, and their objects stay small
        const entry: { key: string; metric: number; down?: true; external?: true } = { key, metric: p.metric };
        if (p.down) entry.down = true;
        if ('external' in p && p.external) entry.external = true;
        prefixes.push(entry);
        for (const s of p.subTlvs) {
          if (s.type !== 'prefix-sid' || s.algorithm !== 0 || !('index' in s.sid)) continue;
          (sids ??= []).push({ prefix: key, index: s.sid.index, node: s.flags.n, php: !s.flags.p, explicitNull: s.flags.e });
        }
      }
    } else if (t.type === 'router-capability') {
      for (const s of t.subTlvs) {
        if (s.type === 'sr-capabilities' && s.ranges[0] && 'label' in s.ranges[0].first && !srgb) srgb = { start: s.ranges[0].first.label, size: s.ranges[0].range };
      }
    } else if (t.type === 'hostname' && hostname === undefined) hostname = t.hostname;
  }
  return {
    neighbors: neighbors.length ? neighbors : NOTHING,
    prefixes: prefixes.length ? prefixes : NOTHING,
    ...(srgb ? { srgb } : {}),
    ...(sids ? { sids } : {}),
    ...(hostname !== undefined ? { hostname } : {}),
  };
}

/** One vertex from the live fragments of one node, in fragment order (a lone fragment's lists are shared, not copied). */
function vertexOf(live: readonly { readonly lsp: LspHeader; readonly view: LspView }[], intern: (id: string) => string = (id) => id): SpfVertex | undefined {
  const zero = live.find((l) => l.lsp.lspId.fragment === 0);
  if (!zero) return undefined;
  let neighbors = zero.view.neighbors;
  let prefixes = zero.view.prefixes;
  if (live.length > 1) {
    neighbors = live.flatMap((l) => l.view.neighbors);
    prefixes = live.flatMap((l) => l.view.prefixes);
  }
  return { id: intern(vertexId(zero.lsp)), pseudonode: zero.lsp.lspId.pseudonode !== 0, overload: zero.lsp.overload, ...((zero.lsp.attached & 1) !== 0 ? { attached: true } : {}), neighbors, prefixes };
}

/** One vertex from the fragments of one node (all with the same system ID and pseudonode number). */
export function vertexFromLsps(fragments: readonly Lsp[]): SpfVertex | undefined {
  return vertexOf(fragments.filter((l) => l.remainingLifetime > 0).map((lsp) => ({ lsp, view: viewOf(lsp) })));
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

function sameTopology(a: SpfVertex | undefined, b: SpfVertex | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.overload !== b.overload || a.neighbors.length !== b.neighbors.length) return false;
  for (let i = 0; i < a.neighbors.length; i++) {
    if (a.neighbors[i]!.id !== b.neighbors[i]!.id || a.neighbors[i]!.metric !== b.neighbors[i]!.metric) return false;
  }
  return true;
}

/** Topology generations are unique across caches, so a level's LSDB built anew never matches an old one. */
let generations = 0;

export class SpfGraphCache {
  private readonly vertices = new Map<string, SpfVertex>();
  /** node ID -> the keys of its fragments in the LSDB: one key as itself (nearly every system has one fragment), several in a list */
  private readonly fragments = new Map<string, string | string[]>();
  /** node IDs whose fragments changed since the last graph() */
  private readonly dirty = new Set<string>();
  /** one copy of each node ID's text, for the edges (viewOf) */
  private readonly ids = new Map<string, string>();
  /** changes whenever the edges or overload bits of the graph change */
  private generation = ++generations;

  /** The shared copy of a node ID's text. */
  readonly intern = (id: string): string => {
    const have = this.ids.get(id);
    if (have !== undefined) return have;
    const flat = flatText(id);
    this.ids.set(flat, flat);
    return flat;
  };

  /** The LSDB stored or removed the LSP `key` (formatLspId text). */
  touch(key: string): void {
    const node = key.slice(0, 17);
    const keys = this.fragments.get(node);
    if (keys === undefined) this.fragments.set(node, key);
    else if (typeof keys === 'string') {
      if (keys !== key) this.fragments.set(node, [keys, key]);
    } else if (!keys.includes(key)) keys.push(key);
    this.dirty.add(node);
  }

  /**
   * The graph over `records` (the LSDB's), current for every system touched since the last
   * call. An LSP whose lifetime runs out is purged by the instance's age scan within a second
   * (a put, so a touch); until then it still counts.
   */
  graph(records: ReadonlyMap<string, LspRecord>, now: number): ReadonlyMap<string, SpfVertex> {
    for (const node of this.dirty) {
      const keys = this.fragments.get(node);
      const held = (keys === undefined ? [] : typeof keys === 'string' ? [keys] : keys).filter((k) => records.has(k));
      if (held.length === 0) {
        this.fragments.delete(node);
        this.ids.delete(node);
      } else this.fragments.set(node, held.length === 1 ? held[0]! : held);
      const live = held.map((k) => records.get(k)!).filter((r) => remainingLifetime(r, now) > 0);
      live.sort((a, b) => a.lsp.lspId.fragment - b.lsp.lspId.fragment);
      const v = live.length ? vertexOf(live, this.intern) : undefined;
      if (!sameTopology(this.vertices.get(node), v)) this.generation = ++generations;
      if (v) this.vertices.set(node, v);
      else this.vertices.delete(node);
    }
    this.dirty.clear();
    return this.vertices;
  }

  /** The topology's generation as of the last graph(): equal values, same edges and overload bits. */
  get topology(): number {
    return this.generation;
  }
}
