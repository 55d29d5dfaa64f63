/**
 * Curly-brace text, as Junos prints `show configuration`. Parsing turns each statement into
 * the `set` words of its enclosing blocks plus its own, so both notations share one checker.
 */
import type { ConfigTree, ConfigValue } from '../types.js';
import { isTree, subtree } from './tree.js';
import { applySet, cloneTree } from './edit.js';
import { schema, type ContainerNode, type ListNode, type SchemaNode } from './schema/index.js';
import { orderedKeys } from './notation-set.js';
import { ConfigError, groupLists, lex, quote, type Token, type Word } from './tokens.js';

const INDENT = '    ';

function valueText(node: SchemaNode, v: ConfigValue): string {
  if (node.kind === 'leaf-list' && Array.isArray(v)) return v.length === 1 ? quote(v[0]!) : `[ ${v.map(quote).join(' ')} ]`;
  return quote(String(v));
}

/** The body lines of `tree` at `node`, indented by `depth`. */
function body(tree: ConfigTree, node: ContainerNode | ListNode, depth: number): string[] {
  const pad = INDENT.repeat(depth);
  const lines: string[] = [];
  for (const name of orderedKeys(tree, node.children)) {
    const child = node.children[name]!;
    const v = tree[name]!;
    switch (child.kind) {
      case 'leaf':
      case 'leaf-list':
        // as Junos marks keys and password hashes, so they are not pasted into tickets unawares
        lines.push(`${pad}${name} ${valueText(child, v)};${child.kind === 'leaf' && child.secret ? ' ## SECRET-DATA' : ''}`);
        break;
      case 'flag':
        lines.push(`${pad}${name};`);
        break;
      case 'container':
        if (isTree(v)) lines.push(...block(name, v, child, depth));
        break;
      case 'list':
        if (!isTree(v)) break;
        if (child.flat) {
          lines.push(`${pad}${name} {`);
          for (const key of Object.keys(v)) lines.push(...block(quote(key), subtree(v[key]), child, depth + 1));
          lines.push(`${pad}}`);
        } else {
          for (const key of Object.keys(v)) lines.push(...block(`${name} ${quote(key)}`, subtree(v[key]), child, depth));
        }
        break;
    }
  }
  return lines;
}

/** `header { ... }`, `header;`, or one line when the block holds only its positional value or one short statement. */
export function block(header: string, tree: ConfigTree, node: ContainerNode | ListNode, depth: number): string[] {
  const pad = INDENT.repeat(depth);
  const keys = orderedKeys(tree, node.children);
  if (keys.length === 0) return [`${pad}${header};`];
  if (keys.length === 1 && node.positional === keys[0]) {
    return [`${pad}${header} ${valueText(node.children[keys[0]]!, tree[keys[0]!]!)};`];
  }
  if (node.kind === 'container' && node.inline && keys.length === 1) {
    const inner = body(tree, node, depth);
    return [`${pad}${header} ${inner[0]!.trimStart()}`, ...inner.slice(1)];
  }
  const inner = body(tree, node, depth + 1);
  if (node.kind === 'list' && !node.flat && inner.length === 1 && !inner[0]!.endsWith('{')) {
    return [`${pad}${header} ${inner[0]!.trimStart()}`];
  }
  return [`${pad}${header} {`, ...inner, `${pad}}`];
}

/** The lines of the statements in `tree` (used by compare for whole blocks). */
export function curlyLines(tree: ConfigTree, node: ContainerNode | ListNode): string[] {
  return body(tree, node, 0);
}

export function printCurly(tree: ConfigTree, root: ContainerNode | ListNode = schema): string {
  const lines = body(tree, root, 0);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Parse curly text into set-word statements with their line numbers. */
export function curlyStatements(text: string): Array<{ words: Word[]; line: number; opens: boolean }> {
  const tokens = lex(text);
  const out: Array<{ words: Word[]; line: number; opens: boolean }> = [];
  const stack: Word[][] = [];
  let cur: Token[] = [];
  const prefix = (): Word[] => stack.flat();
  for (const t of tokens) {
    if (t.kind === ';' || t.kind === '{') {
      if (cur.length === 0) {
        if (t.kind === ';') continue;
        throw new ConfigError("'{' without a statement", t.line);
      }
      const { words, line } = groupLists(cur);
      out.push({ words: [...prefix(), ...words], line, opens: t.kind === '{' });
      if (t.kind === '{') stack.push(words);
      cur = [];
    } else if (t.kind === '}') {
      if (cur.length) throw new ConfigError(`missing ';' after '${cur.map((x) => x.text).join(' ')}'`, cur[0]!.line);
      if (!stack.pop()) throw new ConfigError("unbalanced '}'", t.line);
    } else {
      cur.push(t);
    }
  }
  if (cur.length) throw new ConfigError(`missing ';' after '${cur.map((x) => x.text).join(' ')}'`, cur[0]!.line);
  if (stack.length) throw new ConfigError(`missing '}' (end of text inside '${stack[stack.length - 1]!.join(' ')}')`, tokens[tokens.length - 1]?.line ?? 1);
  return out;
}

/** Load curly text onto a copy of `base` (merge); throws ConfigError with the line of the bad statement. */
export function loadCurly(text: string, base: ConfigTree = {}): ConfigTree {
  const tree = cloneTree(base);
  for (const { words, line, opens } of curlyStatements(text)) {
    try {
      applySet(tree, words, opens);
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError(e.reason, line);
      throw e;
    }
  }
  return tree;
}
