/**
 * Editing the tree by schema path: every notation ends up here. `resolve` walks words
 * (`interfaces eth1 unit 0 family inet address 10.0.0.1/24`) down the schema, checking
 * each keyword and typed value, and yields the tree path and the terminal's values;
 * `applySet` and `applyDelete` change a tree along that path.
 */
import type { ConfigTree, ConfigValue } from '../types.js';
import { isTree } from './tree.js';
import { childrenOf, schema as rootSchema, type ContainerNode, type SchemaNode } from './schema/index.js';
import { ConfigError, type Word } from './tokens.js';

export interface Resolved {
  /** keys from the root of the tree to the node reached */
  path: string[];
  /** the schema node reached; for a list named without a key, the list itself */
  node: SchemaNode;
  /** true when a list was named without its key (`delete interfaces`) */
  wholeList: boolean;
  /** the canonical values of a leaf or leaf-list statement */
  values?: Array<string | number>;
  /**
   * Junos writes sibling leaves of one container on one line (`srgb start-label 400000
   * index-range 4096`): the words after this leaf's value, to resolve under `prefix`.
   */
  more?: { prefix: Word[]; rest: Word[] };
}

function expecting(node: SchemaNode): string {
  const ch = childrenOf(node);
  if (!ch) return '';
  const names = Object.keys(ch);
  return names.length > 12 ? `${names.slice(0, 12).join(', ')}, ...` : names.join(', ');
}

function parseValue(node: SchemaNode & { type: { parse(w: string): string | number } }, w: string, where: string[]): string | number {
  try {
    return node.type.parse(w);
  } catch (e) {
    throw new ConfigError(`${where.join(' ')}: ${(e as Error).message}`);
  }
}

/**
 * Walk words down the schema. `partial` allows stopping on a leaf without its value
 * (for `delete` and `show`).
 */
export function resolve(words: Word[], partial = false, root: ContainerNode = rootSchema): Resolved {
  let node: SchemaNode = root;
  const path: string[] = [];
  let i = 0;
  while (i < words.length) {
    const ch = childrenOf(node);
    const w = words[i]!;
    if (!ch) throw new ConfigError(`syntax error at '${String(w)}': ${path.join(' ')} takes no more words`);
    let name: string;
    if (typeof w === 'string' && Object.hasOwn(ch, w)) {
      name = w;
      i++;
    } else if ((node.kind === 'container' || node.kind === 'list') && node.positional) {
      name = node.positional;
    } else {
      const at = path.length ? ` after '${path.join(' ')}'` : '';
      throw new ConfigError(`syntax error at '${Array.isArray(w) ? `[ ${w.join(' ')} ]` : w}'${at}, expecting one of: ${expecting(node)}`);
    }
    const child: SchemaNode = ch[name]!;
    path.push(name);
    switch (child.kind) {
      case 'container':
        node = child;
        break;
      case 'list': {
        if (i >= words.length) return { path, node: child, wholeList: true };
        const k = words[i]!;
        if (typeof k !== 'string') throw new ConfigError(`${path.join(' ')}: a list of names is not a ${child.keyName}`);
        let key: string;
        try {
          key = String(child.key.parse(k));
        } catch (e) {
          throw new ConfigError(`${path.join(' ')}: ${(e as Error).message}`);
        }
        path.push(key);
        node = child;
        i++;
        break;
      }
      case 'leaf': {
        if (i >= words.length) {
          if (partial) return { path, node: child, wholeList: false };
          throw new ConfigError(`${path.join(' ')}: missing value (${child.type.name})`);
        }
        const v = words[i]!;
        if (typeof v !== 'string') throw new ConfigError(`${path.join(' ')}: takes one value, not a list`);
        const value = parseValue(child, v, path);
        if (i + 1 < words.length) {
          const sibling = words[i + 1]!;
          const sib = typeof sibling === 'string' && sibling !== name && Object.hasOwn(ch, sibling) ? ch[sibling]! : undefined;
          if (sib && (sib.kind === 'leaf' || sib.kind === 'flag')) return { path, node: child, wholeList: false, values: [value], more: { prefix: words.slice(0, i - 1), rest: words.slice(i + 1) } };
          throw new ConfigError(`syntax error at '${String(words[i + 1])}': ${path.join(' ')} takes one value`);
        }
        return { path, node: child, wholeList: false, values: [value] };
      }
      case 'leaf-list': {
        const rest = words.slice(i).flat();
        if (rest.length === 0 && !partial) throw new ConfigError(`${path.join(' ')}: missing value (${child.type.name})`);
        return { path, node: child, wholeList: false, values: rest.map((v) => parseValue(child, v, path)) };
      }
      case 'flag':
        if (i < words.length) throw new ConfigError(`syntax error at '${String(words[i])}': ${path.join(' ')} takes no value`);
        return { path, node: child, wholeList: false };
    }
  }
  return { path, node, wholeList: false };
}

export function getAt(tree: ConfigTree, path: string[]): ConfigValue | undefined {
  let cur: ConfigValue | undefined = tree;
  for (const k of path) {
    if (!isTree(cur) || !Object.hasOwn(cur, k)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function ensure(tree: ConfigTree, path: string[]): ConfigTree {
  let cur = tree;
  for (const k of path) {
    const next = cur[k];
    if (isTree(next)) cur = next;
    else {
      const made: ConfigTree = {};
      cur[k] = made;
      cur = made;
    }
  }
  return cur;
}

/** `set WORDS`: returns the resolved statement. Throws ConfigError without changing the tree. */
export function applySet(tree: ConfigTree, words: Word[], opensBlock = false): Resolved {
  if (words.length === 0) throw new ConfigError('set: missing statement');
  const r = resolve(words);
  if (r.more) {
    // sibling leaves on one line: every one resolved before any is set, so a bad one changes nothing
    const parts: Resolved[] = [r];
    for (let p = r; p.more; ) parts.push((p = resolve([...p.more.prefix, ...p.more.rest])));
    for (const p of parts) ensure(tree, p.path.slice(0, -1))[p.path[p.path.length - 1]!] = p.node.kind === 'flag' ? true : p.values![0]!;
    return parts[parts.length - 1]!;
  }
  const { path, node } = r;
  if (r.wholeList && opensBlock) return r; // `interfaces {`: the entries follow
  if (r.wholeList) throw new ConfigError(`${path.join(' ')}: missing ${node.kind === 'list' ? node.keyName : 'name'}`);
  const last = path[path.length - 1]!;
  switch (node.kind) {
    case 'leaf':
      ensure(tree, path.slice(0, -1))[last] = r.values![0]!;
      break;
    case 'leaf-list': {
      const parent = ensure(tree, path.slice(0, -1));
      const cur = parent[last];
      const arr = Array.isArray(cur) ? cur : [];
      for (const v of r.values!) if (!arr.includes(String(v))) arr.push(String(v));
      parent[last] = arr;
      break;
    }
    case 'flag':
      ensure(tree, path.slice(0, -1))[last] = true;
      break;
    default:
      ensure(tree, path);
  }
  return r;
}

/** `delete WORDS`: returns false when there was nothing to delete. */
export function applyDelete(tree: ConfigTree, words: Word[]): boolean {
  const r = resolve(words, true);
  const { path, node } = r;
  if (path.length === 0) {
    const had = Object.keys(tree).length > 0;
    for (const k of Object.keys(tree)) delete tree[k];
    return had;
  }
  const parent = getAt(tree, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (!isTree(parent) || !Object.hasOwn(parent, last)) return false;
  if (node.kind === 'leaf-list' && r.values && r.values.length > 0) {
    const cur = parent[last];
    if (!Array.isArray(cur)) return false;
    const drop = new Set(r.values.map(String));
    const kept = cur.filter((v) => !drop.has(v));
    if (kept.length === cur.length) return false;
    if (kept.length === 0) delete parent[last];
    else parent[last] = kept;
    return true;
  }
  delete parent[last];
  // a list left without entries disappears, as it prints nothing (`delete interfaces eth1`)
  if (Object.keys(parent).length === 0 && path.length >= 2) {
    const up = resolve(path.slice(0, -1), true);
    if (up.wholeList) {
      const grand = getAt(tree, path.slice(0, -2));
      if (isTree(grand)) delete grand[path[path.length - 2]!];
    }
  }
  return true;
}

/** A deep copy of a configuration tree (plain objects, arrays of strings, scalars): much faster than structuredClone. */
export function cloneTree<T extends ConfigValue>(t: T): T {
  if (typeof t !== 'object' || t === null) return t;
  if (Array.isArray(t)) return t.slice() as T;
  const out: ConfigTree = {};
  for (const k in t) out[k] = cloneTree((t as ConfigTree)[k]!);
  return out as T;
}
