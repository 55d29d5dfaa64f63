/**
 * The topology the IS-IS benchmark floods (issue 13): a random connected graph of `routers`
 * level-2 routers with an average degree of `degree` (a random spanning tree first, so it is
 * connected, then random extra links until there are routers * degree / 2), each router with
 * `prefixesPer` IPv4 /24s and wide metrics, from a stable seed so that every round and every
 * receiver gets the same graph. Router 0 is the injector itself (bench/lib/isis-injector.ts):
 * its LSP also lists the receiver. Pure (no I/O); tested in test/bench/isis-topology.test.ts.
 * lspsOf turns it into LSPs with the project's codecs (src/wire/isis/).
 */
import { parseSystemId, type AreaAddress, type Lsp, type SystemId, type Tlv } from '../../src/wire/isis/index.js';
import { formatPrefix, type Prefix } from '../../src/lib/addr.js';
import type { SpfGraph, SpfVertex } from '../../src/controller/protocols/isis/spf.js';

export interface TopoRouter {
  systemId: SystemId;
  /** indices of neighbouring routers, with the metric of the link (the same both ways) */
  links: { to: number; metric: number }[];
  prefixes: Prefix[];
}

export interface Topology {
  routers: TopoRouter[];
  /** undirected links */
  edges: number;
}

/** mulberry32: a small seeded PRNG, enough for a reproducible graph. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** System ID of generated router i: 1000.00xx.xxxx (the receivers use 0000.0000.000N). */
export function routerSystemId(i: number): SystemId {
  const h = i.toString(16).padStart(6, '0');
  return parseSystemId(`1000.00${h.slice(0, 2)}.${h.slice(2)}`);
}

/** The k-th generated prefix: 10.(k >> 8).(k & 255).0/24 (up to 65,536 of them). */
export function prefixOf(k: number): Prefix {
  if (k >= 65536) throw new Error(`prefix ${k}: the generator has 65,536`);
  return { family: 4, addr: new Uint8Array([10, k >>> 8, k & 255, 0]) as Prefix['addr'], len: 24 };
}

export function generateTopology(routers: number, degree = 4, prefixesPer = 2, seed = 13): Topology {
  if (routers < 2) throw new Error('a topology needs at least 2 routers');
  const rand = seededRandom(seed);
  const pick = (n: number) => Math.floor(rand() * n);
  const rs: TopoRouter[] = [];
  for (let i = 0; i < routers; i++) {
    rs.push({ systemId: routerSystemId(i), links: [], prefixes: Array.from({ length: prefixesPer }, (_, j) => prefixOf(i * prefixesPer + j)) });
  }
  const seen = new Set<number>();
  const key = (a: number, b: number) => (a < b ? a * routers + b : b * routers + a);
  const add = (a: number, b: number): boolean => {
    if (a === b || seen.has(key(a, b))) return false;
    seen.add(key(a, b));
    const metric = 1 + pick(63);
    rs[a]!.links.push({ to: b, metric });
    rs[b]!.links.push({ to: a, metric });
    return true;
  };
  for (let i = 1; i < routers; i++) add(i, pick(i));
  const want = Math.min(Math.round((routers * degree) / 2), (routers * (routers - 1)) / 2);
  while (seen.size < want) add(pick(routers), pick(routers));
  return { routers: rs, edges: seen.size };
}

/**
 * The level-2 LSPs of every router (one fragment each: four-odd neighbours and two prefixes
 * fit easily), sequence `sequence`; router 0's also lists `receiver` at `receiverMetric`.
 */
export function lspsOf(topo: Topology, area: AreaAddress, receiver: SystemId, sequence = 1, receiverMetric = 10): Lsp[] {
  return topo.routers.map((r, i) => {
    const neighbors = r.links.map((l) => ({ neighbor: { systemId: topo.routers[l.to]!.systemId, pseudonode: 0 }, metric: l.metric, subTlvs: [] }));
    if (i === 0) neighbors.unshift({ neighbor: { systemId: receiver, pseudonode: 0 }, metric: receiverMetric, subTlvs: [] });
    const tlvs: Tlv[] = [
      { type: 'area-addresses', areas: [area] },
      { type: 'protocols-supported', nlpids: [0xcc] },
      { type: 'extended-is-reachability', neighbors },
      { type: 'extended-ipv4-reachability', prefixes: r.prefixes.map((prefix) => ({ prefix, metric: 10, down: false, subTlvs: [] })) },
    ];
    return {
      kind: 'lsp', level: 2, maxAreaAddresses: 0, remainingLifetime: 1200, lspId: { systemId: r.systemId, pseudonode: 0, fragment: 0 },
      sequence, checksum: 0, partitionRepair: false, attached: 0, overload: false, isType: 3, tlvs,
    } satisfies Lsp;
  });
}

/**
 * The same topology as cnr's SPF reads it (src/controller/protocols/isis/spf.ts), rooted at
 * `root` (a node ID, "0000.0000.0002.00") attached to router 0: what the SPF-alone figure times.
 */
export function spfGraphOf(topo: Topology, root: string, rootMetric = 10): SpfGraph {
  const m = new Map<string, SpfVertex>();
  topo.routers.forEach((r, i) => {
    const neighbors = r.links.map((l) => ({ id: `${topo.routers[l.to]!.systemId}.00`, metric: l.metric }));
    if (i === 0) neighbors.unshift({ id: root, metric: rootMetric });
    const id = `${r.systemId}.00`;
    m.set(id, { id, pseudonode: false, overload: false, neighbors, prefixes: r.prefixes.map((p) => ({ key: formatPrefix(p), metric: 10 })) });
  });
  m.set(root, { id: root, pseudonode: false, overload: false, neighbors: [{ id: `${topo.routers[0]!.systemId}.00`, metric: rootMetric }], prefixes: [] });
  return m;
}
