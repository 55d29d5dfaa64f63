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

/**
 * `dst` with `src` merged underneath, sharing every subtree neither side changes: only the
 * paths a group touches are copied, so applying a pod's small group to a large
 * configuration costs little. The trees handed to consumers are read-only.
 */
function mergedUnder(dst: ConfigTree, src: ConfigTree): ConfigTree {
  const out: ConfigTree = { ...dst };
  for (const [k, v] of Object.entries(src)) {
    const cur = out[k];
    if (cur === undefined) out[k] = v;
    else if (isTree(cur) && isTree(v)) out[k] = mergedUnder(cur, v);
    else if (Array.isArray(cur) && Array.isArray(v)) out[k] = [...cur, ...v.filter((x) => !cur.includes(x))];
  }
  return out;
}

/** Names in apply-groups that no group defines. */
export function missingGroups(tree: ConfigTree): string[] {
  const groups = isTree(tree.groups) ? tree.groups : {};
  const applied = Array.isArray(tree['apply-groups']) ? tree['apply-groups'] : [];
  return applied.filter((g) => !isTree(groups[g]));
}

/** The effective configuration: groups applied, `groups` and `apply-groups` removed. Shares subtrees with `tree`. */
export function expandGroups(tree: ConfigTree): ConfigTree {
  const { groups, 'apply-groups': applied, ...rest } = tree;
  let out: ConfigTree = rest;
  if (Array.isArray(applied) && isTree(groups)) {
    for (const g of applied) {
      const body = groups[g];
      if (isTree(body)) out = mergedUnder(out, body);
    }
  }
  return out;
}
