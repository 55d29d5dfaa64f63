/**
 * Junos group inheritance, resolved at commit: the configuration the consumers see is the
 * tree without `groups` and `apply-groups`, with every applied group merged underneath
 * it. Statements written in the tree itself win over inherited ones, earlier groups win over
 * later ones, and leaf-lists are united (so each pod's group can add its interface to
 * the same routing instance).
 */
import type { ConfigTree, ConfigValue } from '../types.js';

function isTree(v: ConfigValue | undefined): v is ConfigTree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function mergeUnder(dst: ConfigTree, src: ConfigTree): void {
  for (const [k, v] of Object.entries(src)) {
    const cur = dst[k];
    if (cur === undefined) dst[k] = structuredClone(v);
    else if (isTree(cur) && isTree(v)) mergeUnder(cur, v);
    else if (Array.isArray(cur) && Array.isArray(v)) {
      for (const x of v) if (!cur.includes(x)) cur.push(x);
    }
  }
}

/** Names in apply-groups that no group defines. */
export function missingGroups(tree: ConfigTree): string[] {
  const groups = isTree(tree.groups) ? tree.groups : {};
  const applied = Array.isArray(tree['apply-groups']) ? tree['apply-groups'] : [];
  return applied.filter((g) => !isTree(groups[g]));
}

/** The effective configuration: groups applied, `groups` and `apply-groups` removed. */
export function expandGroups(tree: ConfigTree): ConfigTree {
  const { groups, 'apply-groups': applied, ...rest } = tree;
  const out = structuredClone(rest);
  if (Array.isArray(applied) && isTree(groups)) {
    for (const g of applied) {
      const body = groups[g];
      if (isTree(body)) mergeUnder(out, body);
    }
  }
  return out;
}
