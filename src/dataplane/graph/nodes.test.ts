/**
 * The node registrations (node.ts, nodes.ts) against the graph's declared shape and against
 * the node files' code: every node registered once under its id and name, its next nodes
 * reachable from ethernet-input, the drop reasons' table naming nodes that declare them, and
 * each node file's code using exactly the next nodes, drop reasons and counters its nodes
 * declare (read from the compiled file beside this test, comments and declarations removed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as K from './graph-constants.js';
import { GRAPH_DROPS, type GraphNode } from './node.js';
import { GRAPH_NODES } from './nodes.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const names = (ids: readonly number[], table: readonly string[]): string[] => ids.map((x) => table[x]!).sort();
const constNames = (prefix: string): string[] => {
  const out: string[] = [];
  for (const [k, v] of Object.entries(K)) if (k.startsWith(prefix) && typeof v === 'number') out[v] = k;
  return out;
};
const N = constNames('N_');
const D = constNames('D_');
const C = constNames('C_');

/**
 * What the Graph helpers a node calls do on its behalf: the next node or counter the call
 * implies (g.drop queues for the drop node, g.icmp for icmp-error, ...).
 */
const HELPERS: Record<string, string[]> = {
  'g.drop(': ['N_DROP'],
  'g.icmp(': ['N_ICMP_ERROR'],
  'g.consume(': ['C_CONSUMED'],
  // (the packet held: releaseHeld later hands it to rewrite again, or drops it as arp_hold_timeout)
  'g.unresolved(': ['N_DROP', 'D_ARP_UNRESOLVED', 'D_ARP_HOLD_TIMEOUT', 'N_TX', 'C_GENERATED', 'C_NEIGHBOR_REQUESTS'],
  'g.aclNext': ['N_ACL', 'N_REWRITE'],
  'g.aclOutNext': ['N_ACL_OUT', 'N_TX'],
};

/** Every node file of this folder: its exported registrations and its code. */
async function nodeFiles(): Promise<{ file: string; nodes: GraphNode[]; code: string }[]> {
  const out = [];
  for (const file of readdirSync(here).filter((f) => f.endsWith('.js') && !f.endsWith('.test.js')).sort()) {
    const mod = (await import(`./${file}`)) as Record<string, unknown>;
    const nodes = Object.values(mod).filter((v): v is GraphNode => typeof v === 'object' && v !== null && typeof (v as GraphNode).run === 'function' && typeof (v as GraphNode).id === 'number');
    if (nodes.length === 0) continue;
    const code = readFileSync(here + file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '')
      .replace(/export const \w+ = \{[\s\S]*?\n\};/g, '');
    out.push({ file, nodes, code });
  }
  return out;
}

test('every node id is registered once, under its name, in a file of its own family', async () => {
  assert.equal(GRAPH_NODES.length, K.N_NODES);
  assert.deepEqual(GRAPH_NODES.map((n) => n.id).sort((a, b) => a - b), Array.from({ length: K.N_NODES }, (_, k) => k));
  for (const n of GRAPH_NODES) assert.equal(n.name, K.NODE_NAMES[n.id], `node ${n.id}`);
  assert.equal(GRAPH_NODES[0]!.id, K.N_ETH_IN, 'ethernet-input runs first');
  // every registered node comes from a node file, and every node a file exports is registered
  const exported = (await nodeFiles()).flatMap((f) => f.nodes);
  assert.deepEqual(new Set(exported), new Set(GRAPH_NODES));
});

test('next nodes are registered nodes, and every node is reachable from ethernet-input', () => {
  const seen = new Set<number>([K.N_ETH_IN]);
  const todo = [K.N_ETH_IN];
  while (todo.length) {
    const id = todo.pop()!;
    const n = GRAPH_NODES.find((x) => x.id === id)!;
    for (const x of n.next) {
      assert.ok(x >= 0 && x < K.N_NODES && x !== n.id, `${n.name}: next ${x}`);
      if (!seen.has(x)) { seen.add(x); todo.push(x); }
    }
  }
  assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: K.N_NODES }, (_, k) => k));
});

test('the drop reasons table names, for each reason, a node that declares it', () => {
  for (const [reason, node] of K.DROP_REASONS) {
    const code = K.DROP_NAMES.indexOf(reason);
    if (GRAPH_DROPS.includes(code)) continue;
    // (a reason counted outside the graph, by a driver say, names no graph node)
    const n = GRAPH_NODES.find((x) => x.name === node);
    if (!n) continue;
    assert.ok(n.drops.includes(code), `${reason}: counted by ${node}, which does not declare it`);
  }
  const declared = new Set([...GRAPH_DROPS, ...GRAPH_NODES.flatMap((n) => n.drops)]);
  for (const [reason, node] of K.DROP_REASONS) {
    if (K.NODE_NAMES.includes(node) || node === 'graph') assert.ok(declared.has(K.DROP_NAMES.indexOf(reason)), `${reason} is declared by no node`);
  }
});

test('each node file uses exactly the next nodes, drop reasons and counters its nodes declare', async () => {
  for (const { file, nodes, code } of await nodeFiles()) {
    const used = new Set(code.match(/\bK\.[NDC]_[A-Z0-9_]+/g)?.map((t) => t.slice(2)) ?? []);
    for (const [call, implies] of Object.entries(HELPERS)) if (code.includes(call)) for (const x of implies) used.add(x);
    used.delete('N_NODES');
    const own = nodes.map((n) => N[n.id]!);
    const pick = (prefix: string) => [...used].filter((t) => t.startsWith(prefix)).sort();
    // a node takes its own queue (g.take), which is no next node of its; the graph's own drops (a full queue) may happen anywhere
    const next = new Set(nodes.flatMap((n) => names(n.next, N)));
    assert.deepEqual(pick('N_').filter((x) => !own.includes(x)), [...next].sort(), `${file}: next nodes`);
    const graphDrops = names(GRAPH_DROPS, D);
    assert.deepEqual(pick('D_').filter((x) => !graphDrops.includes(x)), [...new Set(nodes.flatMap((n) => names(n.drops, D)))].sort(), `${file}: drop reasons`);
    assert.deepEqual(pick('C_'), [...new Set(nodes.flatMap((n) => names(n.counters, C)))].sort(), `${file}: counters`);
  }
});
