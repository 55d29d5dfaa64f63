/**
 * `set` notation: one statement per line (`set ...` or `delete ...`), as `show | display set`
 * prints and as scripts and the CNI plugin write. `statements()` is the walk that every
 * printer (set, curly, compare) shares.
 */
import type { ConfigTree } from '../types.js';
import { isTree } from './tree.js';
import { applyDelete, applySet, cloneTree } from './edit.js';
import { schema, type Children, type ContainerNode, type ListNode } from './schema/index.js';
import { ConfigError, groupLists, lex, quote, type Token } from './tokens.js';

export interface Statement {
  /** the words of `set` after `set` */
  words: string[];
  /** how many leading words name the enclosing container or entry */
  head: number;
}

/** Keys of `tree` in schema order (then any unknown keys, which validation refuses). */
export function orderedKeys(tree: ConfigTree, children: Children): string[] {
  const known = Object.keys(children).filter((k) => Object.hasOwn(tree, k));
  return known;
}

/** Every statement under `tree` (which sits at `node`), with `prefix` words before it. */
export function* statements(tree: ConfigTree, node: ContainerNode | ListNode, prefix: string[] = []): Generator<Statement> {
  const ch = node.children;
  for (const name of orderedKeys(tree, ch)) {
    const child = ch[name]!;
    const v = tree[name];
    const kw = node.positional === name ? [] : [name];
    switch (child.kind) {
      case 'leaf':
        yield { words: [...prefix, ...kw, String(v)], head: prefix.length };
        break;
      case 'flag':
        yield { words: [...prefix, name], head: prefix.length };
        break;
      case 'leaf-list':
        for (const x of Array.isArray(v) ? v : [String(v)]) yield { words: [...prefix, ...kw, x], head: prefix.length };
        break;
      case 'container': {
        if (!isTree(v)) break;
        let any = false;
        for (const s of statements(v, child, [...prefix, name])) {
          any = true;
          yield s;
        }
        if (!any) yield { words: [...prefix, name], head: prefix.length };
        break;
      }
      case 'list': {
        if (!isTree(v)) break;
        for (const key of Object.keys(v)) {
          const entry = v[key];
          let any = false;
          if (isTree(entry)) {
            for (const s of statements(entry, child, [...prefix, name, key])) {
              any = true;
              yield s;
            }
          }
          if (!any) yield { words: [...prefix, name, key], head: prefix.length };
        }
        break;
      }
    }
  }
}

export function printSet(tree: ConfigTree, root: ContainerNode | ListNode = schema, prefix: string[] = []): string {
  const lines: string[] = [];
  for (const s of statements(tree, root, prefix)) lines.push(`set ${s.words.map(quote).join(' ')}`);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Group tokens by the line they start on: one statement per line. */
function tokenLines(tokens: Token[]): Token[][] {
  const out: Token[][] = [];
  let line = -1;
  for (const t of tokens) {
    if (t.line !== line) {
      out.push([]);
      line = t.line;
    }
    out[out.length - 1]!.push(t);
  }
  return out;
}

/**
 * Apply `set`/`delete` lines to a copy of `base`; the first bad line throws ConfigError with
 * its line number and nothing is changed.
 */
export function loadSet(text: string, base: ConfigTree = {}): ConfigTree {
  const tree = cloneTree(base);
  for (const toks of tokenLines(lex(text))) {
    const { words, line } = groupLists(toks);
    const [verb, ...rest] = words;
    try {
      if (verb === 'set') applySet(tree, rest);
      else if (verb === 'delete') applyDelete(tree, rest);
      else throw new ConfigError(`expected 'set' or 'delete', not '${String(verb)}'`);
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError(e.reason, line);
      throw e;
    }
  }
  return tree;
}
