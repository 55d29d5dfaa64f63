/**
 * Reading a configuration tree: the one definition of what a subtree, a leaf-list and a
 * leaf are (the shape is described in ../types.ts). Every part of the controller that reads
 * the tree — the notations, the store, the cross-statement checks, the RIB, the protocols,
 * the management adapters — reads it through these, so the shape has a single owner.
 *
 * A committed tree has been through the schema, so a reader never throws: an absent
 * statement, or one of another shape (a tree handed in from outside, a hand-written test
 * tree), reads as an empty subtree, an empty list or `undefined`. Saying what is wrong with
 * a tree is the job of the schema and of validate.ts, not of a reader.
 */
import type { ConfigTree, ConfigValue } from '../types.js';

/** A JSON object (not null, not an array): a subtree, or a record decoded from elsewhere. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A container or a list entry of the tree, as opposed to a leaf or a leaf-list. */
export function isTree(v: unknown): v is ConfigTree {
  return isRecord(v);
}

/** The subtree `v`, or an empty one when the statement is absent or not a subtree. */
export function subtree(v: unknown): ConfigTree {
  return isTree(v) ? v : {};
}

/** The subtree at `path` below `root`, or undefined when any step of it is absent. */
export function subtreeAt(root: unknown, ...path: string[]): ConfigTree | undefined {
  let cur: unknown = root;
  for (const k of path) cur = isTree(cur) ? cur[k] : undefined;
  return isTree(cur) ? cur : undefined;
}

/** The value of `key` in the subtree `v` (undefined when `v` is not a subtree). */
export function childOf(v: unknown, key: string): ConfigValue | undefined {
  return isTree(v) ? v[key] : undefined;
}

/** A leaf-list as strings; a single value written as a leaf counts as a list of one. */
export function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];
}

/** A string leaf, or undefined. */
export function leafString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A number leaf (the schema stores numbers; a tree from elsewhere may hold decimal digits). */
export function leafNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

/** The netdev an interface name of the tree stands for: `pod1.0` (unit 0, as Junos writes it) is `pod1`. */
export function netdevOf(name: string): string {
  return name.replace(/\.0$/, '');
}

/** A flag (`discard`, `passive`, ...): set when the tree holds `true`. */
export function isFlagSet(v: unknown): boolean {
  return v === true;
}
