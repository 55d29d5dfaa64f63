/**
 * What a configuration file owns (`cnr start --config FILE`, the GitOps file of a ConfigMap),
 * and the running configuration after the file is loaded again. The file owns the
 * top-level statements it writes: a container (`system`, `routing-options`, `protocols`,
 * `policy-options`, `firewall`) whole; of a top-level list (`interfaces`, `groups`,
 * `routing-instances`) the entries it names; of `apply-groups` the groups it lists. A load
 * replaces what the file owns with the file's content, removes what it owned last time and
 * no longer writes, and keeps everything else (the CNI's pod groups and interfaces, an
 * operator's `interfaces eth9` from the CLI). docs/configuration.md tells the rules to users.
 */
import type { ConfigTree, ConfigValue } from '../types.js';
import { cloneTree } from './edit.js';
import { schema } from './schema/index.js';
import { isTree } from './tree.js';

/** One owned unit: `['system']`, `['interfaces', 'eth1']`, `['apply-groups', 'base']`. */
export type OwnedUnit = [string] | [string, string];

/** The units a file's tree owns, in the file's order. */
export function ownedUnits(file: ConfigTree): OwnedUnit[] {
  const out: OwnedUnit[] = [];
  for (const [k, v] of Object.entries(file)) {
    const node = schema.children[k];
    if (node?.kind === 'list' && isTree(v)) for (const name of Object.keys(v)) out.push([k, name]);
    else if (node?.kind === 'leaf-list') for (const x of Array.isArray(v) ? v : [v]) out.push([k, String(x)]);
    else out.push([k]);
  }
  return out;
}

const same = (a: OwnedUnit, b: OwnedUnit) => a[0] === b[0] && a[1] === b[1];

/**
 * The running configuration with the file loaded: `previous` are the units the file owned
 * when it was last loaded (what to remove when the file no longer writes them).
 */
export function mergeFileConfig(running: ConfigTree, file: ConfigTree, previous: readonly OwnedUnit[]): ConfigTree {
  const next = cloneTree(running);
  const now = ownedUnits(file);
  const dropped = previous.filter((u) => !now.some((n) => same(n, u)));
  for (const [k, name] of [...dropped, ...now]) {
    const node = schema.children[k];
    if (name === undefined) delete next[k];
    else if (node?.kind === 'leaf-list') {
      const cur = next[k];
      const left = (Array.isArray(cur) ? cur : cur === undefined ? [] : [String(cur)]).filter((x) => x !== name);
      if (left.length) next[k] = left;
      else delete next[k];
    } else if (isTree(next[k])) {
      delete (next[k] as ConfigTree)[name];
      if (Object.keys(next[k] as ConfigTree).length === 0) delete next[k];
    }
  }
  for (const [k, v] of Object.entries(file)) {
    const node = schema.children[k];
    if (node?.kind === 'list' && isTree(v)) {
      const entries = isTree(next[k]) ? (next[k] as ConfigTree) : {};
      // the file's entries first, in its order, then those it does not own
      next[k] = { ...cloneTree(v), ...Object.fromEntries(Object.entries(entries).filter(([n]) => !Object.hasOwn(v, n))) };
    } else if (node?.kind === 'leaf-list') {
      const mine = (Array.isArray(v) ? v : [String(v)]).map(String);
      const cur = next[k];
      const others = (Array.isArray(cur) ? cur : cur === undefined ? [] : [String(cur)]).filter((x) => !mine.includes(x));
      next[k] = [...mine, ...others];
    } else next[k] = cloneTree(v as ConfigValue);
  }
  return next;
}
