// SPF against hand-made topologies and against a naive reference on random ones: Floyd–Warshall
// with only transit-eligible vertices as intermediates, and next hops found by trying every first
// hop of the root — a different algorithm from the Dijkstra + predecessor sets under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeSpf, MAX_LINK_METRIC, type NextHop, type SpfVertex } from './spf.js';
import { rng } from '../../../../test/support/wire.js';

function graphOf(vs: SpfVertex[]): Map<string, SpfVertex> {
  return new Map(vs.map((v) => [v.id, v]));
}

function sys(id: string, neighbors: [string, number][], prefixes: [string, number][] = [], overload = false): SpfVertex {
  return { id, pseudonode: false, overload, neighbors: neighbors.map(([n, metric]) => ({ id: n, metric })), prefixes: prefixes.map(([key, metric]) => ({ key, metric })) };
}

function lan(id: string, members: string[]): SpfVertex {
  return { id, pseudonode: true, overload: false, neighbors: members.map((m) => ({ id: m, metric: 0 })), prefixes: [] };
}

const hop = (neighbor: string, via = neighbor): NextHop => ({ neighbor, via });

test('a square: equal-cost paths give both next hops', () => {
  const g = graphOf([
    sys('R', [['A', 10], ['B', 10]]),
    sys('A', [['R', 10], ['D', 10]]),
    sys('B', [['R', 10], ['D', 10]]),
    sys('D', [['A', 10], ['B', 10]], [['10.255.0.4/32', 0]]),
  ]);
  const r = computeSpf(g, 'R');
  assert.deepEqual(r.vertices.get('D'), { distance: 20, nextHops: [hop('A'), hop('B')] });
  assert.deepEqual(r.vertices.get('A'), { distance: 10, nextHops: [hop('A')] });
  assert.deepEqual(r.prefixes.get('10.255.0.4/32'), { distance: 20, nextHops: [hop('A'), hop('B')], origins: ['D'] });
  // a cheaper link breaks the tie
  const g2 = new Map(g);
  g2.set('B', sys('B', [['R', 10], ['D', 5]]));
  g2.set('D', sys('D', [['A', 10], ['B', 5]]));
  assert.deepEqual(computeSpf(g2, 'R').vertices.get('D')?.nextHops, [hop('B')]);
});

test('a LAN: the pseudonode is the circuit, its members are the next hops', () => {
  const g = graphOf([
    sys('R', [['R.01', 10]]),
    lan('R.01', ['R', 'A', 'B']),
    sys('A', [['R.01', 10], ['X', 5]]),
    sys('B', [['R.01', 10], ['X', 5]]),
    sys('X', [['A', 5], ['B', 5]], [['2001:db8::/64', 1]]),
  ]);
  const r = computeSpf(g, 'R');
  assert.deepEqual(r.vertices.get('A'), { distance: 10, nextHops: [hop('A', 'R.01')] });
  assert.deepEqual(r.vertices.get('X'), { distance: 15, nextHops: [hop('A', 'R.01'), hop('B', 'R.01')] });
  assert.deepEqual(r.prefixes.get('2001:db8::/64')?.distance, 16);
  // the directly attached LAN itself has no next hop of its own
  assert.deepEqual(r.vertices.get('R.01'), { distance: 10, nextHops: [] });
});

test('overload: the system and its prefixes are reached, nothing behind it', () => {
  const g = graphOf([
    sys('R', [['A', 1]]),
    sys('A', [['R', 1], ['B', 1]], [['a', 0]], true),
    sys('B', [['A', 1]], [['b', 0]]),
  ]);
  const r = computeSpf(g, 'R');
  assert.equal(r.vertices.get('A')?.distance, 1);
  assert.ok(r.prefixes.has('a'));
  assert.equal(r.vertices.has('B'), false);
  assert.equal(r.prefixes.has('b'), false);
  // an overloaded root still computes its routes
  const g2 = new Map(g);
  g2.set('R', sys('R', [['A', 1]], [], true));
  g2.set('A', sys('A', [['R', 1], ['B', 1]]));
  assert.equal(computeSpf(g2, 'R').vertices.get('B')?.distance, 2);
});

test('two-way check and maximum-metric links', () => {
  const g = graphOf([
    sys('R', [['A', 1], ['B', 1], ['C', MAX_LINK_METRIC]]),
    sys('A', [['R', 1]]),
    sys('B', []), // B has not (yet) listed R: one-way, not used
    sys('C', [['R', 1]]), // RFC 5305 3.7: advertised for TE only
  ]);
  const r = computeSpf(g, 'R');
  assert.ok(r.vertices.has('A'));
  assert.equal(r.vertices.has('B'), false);
  assert.equal(r.vertices.has('C'), false);
  assert.equal(computeSpf(g, 'nobody').vertices.size, 0);
});

test('prefixes: equal cost from two origins merge next hops; the root\'s own are left out', () => {
  const g = graphOf([
    sys('R', [['A', 10], ['B', 10]], [['anycast', 0], ['mine', 0]]),
    sys('A', [['R', 10]], [['anycast', 5], ['mine', 0]]),
    sys('B', [['R', 10]], [['anycast', 5]]),
  ]);
  const r = computeSpf(g, 'R');
  assert.equal(r.prefixes.has('mine'), false);
  assert.equal(r.prefixes.has('anycast'), false); // the root advertises it too
  const g2 = new Map(g);
  g2.set('R', sys('R', [['A', 10], ['B', 10]]));
  assert.deepEqual(computeSpf(g2, 'R').prefixes.get('anycast'), { distance: 15, nextHops: [hop('A'), hop('B')], origins: ['A', 'B'] });
});

// --- the naive reference ---

function reference(vs: SpfVertex[], root: string): { vertices: Map<string, { distance: number; nextHops: NextHop[] }>; prefixes: Map<string, { distance: number; nextHops: NextHop[]; origins: string[] }> } {
  const ids = vs.map((v) => v.id);
  const byId = new Map(vs.map((v) => [v.id, v]));
  const n = ids.length;
  const idx = new Map(ids.map((id, i) => [id, i]));
  const lists = (u: SpfVertex, v: string) => u.neighbors.filter((e) => e.id === v && e.metric < MAX_LINK_METRIC);
  const edge = (u: string, v: string): number => {
    if (u === v) return Infinity;
    const a = lists(byId.get(u)!, v);
    const b = lists(byId.get(v)!, u);
    if (a.length === 0 || b.length === 0) return Infinity;
    return Math.min(...a.map((e) => e.metric));
  };
  const transit = (id: string) => id !== root && !byId.get(id)!.overload;
  const d: number[][] = [];
  for (let i = 0; i < n; i++) {
    d.push([]);
    for (let j = 0; j < n; j++) d[i]!.push(i === j ? 0 : ids[i] === root || transit(ids[i]!) ? edge(ids[i]!, ids[j]!) : Infinity);
  }
  // a path may leave the root or an overloaded start; rows of non-transit starts are only used for the root
  for (let i = 0; i < n; i++) if (!transit(ids[i]!) && ids[i] !== root) for (let j = 0; j < n; j++) if (i !== j) d[i]![j] = edge(ids[i]!, ids[j]!);
  for (let k = 0; k < n; k++) {
    if (!transit(ids[k]!)) continue;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (d[i]![k]! + d[k]![j]! < d[i]![j]!) d[i]![j] = d[i]![k]! + d[k]![j]!;
  }
  const r = idx.get(root)!;
  const vertices = new Map<string, { distance: number; nextHops: NextHop[] }>();
  for (const v of ids) {
    const D = d[r]![idx.get(v)!]!;
    if (D === Infinity) continue;
    const hops = new Map<string, NextHop>();
    for (const x of ids) {
      const c = edge(root, x);
      if (c === Infinity) continue;
      if (!byId.get(x)!.pseudonode) {
        if ((x === v || transit(x)) && c + d[idx.get(x)!]![idx.get(v)!]! === D) hops.set(x + ' ' + x, { neighbor: x, via: x });
      } else {
        for (const m of ids) {
          const c2 = edge(x, m);
          if (c2 === Infinity || m === root) continue;
          if ((m === v || transit(m)) && c + c2 + d[idx.get(m)!]![idx.get(v)!]! === D) hops.set(x + ' ' + m, { neighbor: m, via: x });
        }
      }
    }
    vertices.set(v, { distance: D, nextHops: [...hops.values()].sort((a, b) => (a.via + ' ' + a.neighbor < b.via + ' ' + b.neighbor ? -1 : 1)) });
  }
  vertices.set(root, { distance: 0, nextHops: [] });
  const prefixes = new Map<string, { distance: number; nextHops: NextHop[]; origins: string[] }>();
  const own = new Set(byId.get(root)!.prefixes.map((p) => p.key));
  const keys = new Set(vs.flatMap((v) => v.prefixes.map((p) => p.key)));
  for (const key of keys) {
    if (own.has(key)) continue;
    let best = Infinity;
    for (const v of vs) for (const p of v.prefixes) if (p.key === key && v.id !== root && vertices.has(v.id)) best = Math.min(best, vertices.get(v.id)!.distance + p.metric);
    if (best === Infinity) continue;
    const origins = vs.filter((v) => v.id !== root && vertices.has(v.id) && v.prefixes.some((p) => p.key === key && vertices.get(v.id)!.distance + p.metric === best)).map((v) => v.id);
    const hops = new Map<string, NextHop>();
    for (const o of origins) for (const h of vertices.get(o)!.nextHops) hops.set(h.via + ' ' + h.neighbor, h);
    prefixes.set(key, { distance: best, nextHops: [...hops.values()].sort((a, b) => (a.via + ' ' + a.neighbor < b.via + ' ' + b.neighbor ? -1 : 1)), origins: origins.sort() });
  }
  return { vertices, prefixes };
}

function randomTopology(next: () => number): SpfVertex[] {
  const below = (k: number) => next() % k;
  const n = 2 + below(24);
  const names = Array.from({ length: n }, (_, i) => `s${String(i).padStart(2, '0')}`);
  const nb = new Map<string, SpfEdge[]>(names.map((s) => [s, []]));
  const vs: SpfVertex[] = [];
  type SpfEdge = { id: string; metric: number };
  const metric = () => (below(20) === 0 ? MAX_LINK_METRIC : 1 + below(4)); // small metrics: many ties
  const links = below(3 * n) + n - 1;
  for (let i = 0; i < links; i++) {
    const a = names[below(n)]!;
    const b = names[below(n)]!;
    if (a === b) continue;
    nb.get(a)!.push({ id: b, metric: metric() });
    if (below(12) !== 0) nb.get(b)!.push({ id: a, metric: metric() }); // sometimes one-way
  }
  const lans = below(4);
  for (let l = 0; l < lans; l++) {
    const id = `${names[below(n)]}.${l + 1}`;
    const members = [...new Set(Array.from({ length: 2 + below(3) }, () => names[below(n)]!))];
    vs.push({ id, pseudonode: true, overload: false, neighbors: members.map((m) => ({ id: m, metric: 0 })), prefixes: [] });
    for (const m of members) nb.get(m)!.push({ id, metric: 1 + below(4) });
  }
  for (const s of names) {
    const prefixes = Array.from({ length: below(3) }, () => ({ key: `p${below(8)}`, metric: below(3) }));
    vs.push({ id: s, pseudonode: false, overload: below(10) === 0, neighbors: nb.get(s)!, prefixes });
  }
  return vs;
}

test('random topologies: Dijkstra with ECMP agrees with Floyd–Warshall and first-hop enumeration', () => {
  const next = rng(0x5eed);
  let multi = 0;
  let lanHops = 0;
  for (let t = 0; t < 400; t++) {
    const vs = randomTopology(next);
    const root = vs.find((v) => !v.pseudonode)!.id;
    const got = computeSpf(graphOf(vs), root);
    const want = reference(vs, root);
    assert.deepEqual(new Map([...got.vertices].sort()), new Map([...want.vertices].sort()), `topology ${t}: ${JSON.stringify(vs)}`);
    assert.deepEqual(new Map([...got.prefixes].sort()), new Map([...want.prefixes].sort()), `topology ${t} prefixes`);
    for (const r of got.vertices.values()) {
      if (r.nextHops.length > 1) multi++;
      if (r.nextHops.some((h) => h.via !== h.neighbor)) lanHops++;
    }
  }
  // the random cases must actually contain ties and LANs
  assert.ok(multi > 200, `only ${multi} ECMP destinations`);
  assert.ok(lanHops > 50, `only ${lanHops} destinations through a LAN`);
});
