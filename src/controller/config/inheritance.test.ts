import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandGroups } from './inheritance.js';
import type { ConfigTree, ConfigValue } from '../types.js';

/** The naive reference: copy the whole path for every group (what expandGroups did before). */
function reference(tree: ConfigTree): ConfigTree {
  const isTree = (v: ConfigValue | undefined): v is ConfigTree => typeof v === 'object' && v !== null && !Array.isArray(v);
  const under = (dst: ConfigTree, src: ConfigTree): ConfigTree => {
    const out: ConfigTree = { ...dst };
    for (const [k, v] of Object.entries(src)) {
      const cur = out[k];
      if (cur === undefined) out[k] = v;
      else if (isTree(cur) && isTree(v)) out[k] = under(cur, v);
      else if (Array.isArray(cur) && Array.isArray(v)) out[k] = [...cur, ...v.filter((x) => !cur.includes(x))];
    }
    return out;
  };
  const { groups, 'apply-groups': applied, ...rest } = tree;
  let out: ConfigTree = rest;
  if (Array.isArray(applied) && isTree(groups)) for (const g of applied) if (isTree(groups[g])) out = under(out, groups[g]);
  return out;
}

function rng(seed: number): () => number {
  return () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

/** A random tree over a small alphabet of keys, so that groups overlap with each other and the tree. */
function randomTree(r: () => number, depth: number): ConfigTree {
  const t: ConfigTree = {};
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const k = `k${Math.floor(r() * 5)}`;
    const x = r();
    if (depth > 0 && x < 0.45) t[k] = randomTree(r, depth - 1);
    else if (x < 0.7) t[k] = [...new Set(Array.from({ length: 1 + Math.floor(r() * 3) }, () => `m${Math.floor(r() * 6)}`))];
    else if (x < 0.85) t[k] = Math.floor(r() * 10);
    else t[k] = `s${Math.floor(r() * 3)}`;
  }
  return t;
}

test('expandGroups equals the naive path-copying merge on random trees and groups, and changes neither', () => {
  const r = rng(7);
  for (let round = 0; round < 500; round++) {
    const groups: ConfigTree = {};
    const ng = Math.floor(r() * 6);
    for (let g = 0; g < ng; g++) groups[`g${g}`] = randomTree(r, 3);
    const tree: ConfigTree = { ...randomTree(r, 3), groups, 'apply-groups': Object.keys(groups).filter(() => r() < 0.8) };
    if (r() < 0.2) (tree['apply-groups'] as string[]).push('missing');
    const before = JSON.stringify(tree);
    assert.deepEqual(expandGroups(tree), reference(tree), `round ${round}`);
    assert.equal(JSON.stringify(tree), before, 'the written tree and its groups are not changed');
  }
});

test('expandGroups of many pod groups on one instance is linear: 2000 groups well under a second', () => {
  const groups: ConfigTree = {};
  const applied: string[] = [];
  for (let i = 0; i < 2000; i++) {
    groups[`cni-${i}`] = {
      interfaces: { [`cnr${i}`]: { mtu: 1500 } },
      'routing-instances': { blue: { 'instance-type': 'vrf', interface: [`cnr${i}`], 'routing-options': { static: { route: { [`10.0.${i >> 8}.${i & 255}/32`]: {} } } } } },
    };
    applied.push(`cni-${i}`);
  }
  const t0 = performance.now();
  const eff = expandGroups({ groups, 'apply-groups': applied });
  const ms = performance.now() - t0;
  const blue = (eff['routing-instances'] as ConfigTree).blue as ConfigTree;
  assert.equal((blue.interface as string[]).length, 2000);
  assert.equal(Object.keys(eff.interfaces as ConfigTree).length, 2000);
  assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
});
