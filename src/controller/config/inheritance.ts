/**
 * Junos group inheritance, resolved at commit: the configuration the consumers see is the
 * tree without `groups` and `apply-groups`, with every applied group merged underneath
 * it. Statements written in the tree itself win over inherited ones, earlier groups win over
 * later ones, and leaf-lists are united (so each pod's group can add its interface to
 * the same routing instance).
 */
import type { ConfigTree } from '../types.js';
import { isTree } from './tree.js';

/** Names in apply-groups that no group defines. */
export function missingGroups(tree: ConfigTree): string[] {
  const groups = isTree(tree.groups) ? tree.groups : {};
  const applied = Array.isArray(tree['apply-groups']) ? tree['apply-groups'] : [];
  return applied.filter((g) => !isTree(groups[g]));
}

/**
 * The effective configuration: groups applied, `groups` and `apply-groups` removed. Shares
 * every subtree no group changes with `tree` and the groups (the result is read-only).
 *
 * Each node on a path a group touches is copied once per expansion and then merged into in
 * place, and each leaf-list keeps a Set of its members while merging: linear in the size
 * of the groups, where copying the path per group was quadratic in the pod count (every
 * pod's group adds to the same `interfaces`, instance interface list and static routes).
 */
export function expandGroups(tree: ConfigTree): ConfigTree {
  const { groups, 'apply-groups': applied, ...rest } = tree;
  if (!Array.isArray(applied) || !isTree(groups)) return rest;
  /** copies made by this expansion: the only nodes it may change */
  const owned = new Set<object>([rest]);
  const members = new Map<string[], Set<string>>();
  const mergeUnder = (dst: ConfigTree, src: ConfigTree): void => {
    for (const [k, v] of Object.entries(src)) {
      const cur = dst[k];
      if (cur === undefined) {
        dst[k] = v;
      } else if (isTree(cur) && isTree(v)) {
        let d = cur;
        if (!owned.has(d)) owned.add((d = dst[k] = { ...cur }));
        mergeUnder(d, v);
      } else if (Array.isArray(cur) && Array.isArray(v)) {
        let a = cur;
        if (!owned.has(a)) owned.add((a = dst[k] = [...cur]));
        let seen = members.get(a);
        if (!seen) members.set(a, (seen = new Set(a)));
        for (const x of v) {
          if (!seen.has(x)) {
            seen.add(x);
            a.push(x);
          }
        }
      }
      // otherwise the tree's (or an earlier group's) value wins
    }
  };
  for (const g of applied) {
    const body = groups[g];
    if (isTree(body)) mergeUnder(rest, body);
  }
  return rest;
}
