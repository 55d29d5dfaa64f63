/**
 * What may come next after some words of a configuration statement: the CLI's tab
 * completion and `?` help read this, so both always agree with the schema.
 */
import type { ConfigTree, ConfigValue } from '../types.js';
import { schema, type ContainerNode, type SchemaNode } from './schema/index.js';
import { childOf, subtree } from './tree.js';

export interface Choice {
  /** a keyword, an enum value, or `<what>` for a free value */
  word: string;
  help: string;
  /** true for `<what>` placeholders, which cannot be completed */
  placeholder?: boolean;
}

function valueChoices(node: SchemaNode & { type: { name: string; values?: readonly string[] } }, help: string): Choice[] {
  if (node.type.values) return node.type.values.map((v) => ({ word: v, help }));
  return [{ word: `<${node.type.name}>`, help, placeholder: true }];
}

function childChoices(node: SchemaNode): Choice[] {
  if (node.kind !== 'container' && node.kind !== 'list') return [];
  const out: Choice[] = Object.entries(node.children).map(([word, n]) => ({ word, help: n.help }));
  if (node.positional) {
    const p = node.children[node.positional]!;
    if (p.kind === 'leaf' || p.kind === 'leaf-list') out.push(...valueChoices(p, p.help));
  }
  return out;
}

/**
 * The choices after `words` (complete words of a statement, without `set`), or [] if they
 * are invalid. With the configuration `tree`, the names of existing entries are offered
 * where a name is expected.
 */
export function configChoices(words: string[], root: ContainerNode = schema, tree?: ConfigTree): Choice[] {
  let node: SchemaNode = root;
  let cur: ConfigValue | undefined = tree;
  let i = 0;
  while (i < words.length) {
    if (node.kind !== 'container' && node.kind !== 'list') return [];
    const w = words[i]!;
    let child: SchemaNode | undefined = Object.hasOwn(node.children, w) ? node.children[w] : undefined;
    let name = w;
    if (child) i++;
    else if (node.positional) {
      name = node.positional;
      child = node.children[name];
    } else return [];
    if (!child) return [];
    cur = childOf(cur, name);
    switch (child.kind) {
      case 'container':
        node = child;
        break;
      case 'list':
        if (i >= words.length) {
          const existing = Object.keys(subtree(cur));
          return [{ word: `<${child.keyName}>`, help: child.help, placeholder: true }, ...existing.map((k) => ({ word: k, help: '' }))];
        }
        try {
          cur = childOf(cur, String(child.key.parse(words[i]!)));
        } catch {
          return [];
        }
        i++;
        node = child;
        break;
      case 'leaf':
        return i >= words.length ? valueChoices(child, child.help) : [];
      case 'leaf-list':
        return valueChoices(child, child.help);
      case 'flag':
        return [];
    }
  }
  return childChoices(node);
}

/** Junos-style `?` output. */
export function formatChoices(choices: Choice[]): string {
  if (choices.length === 0) return 'No completions\n';
  const lines = choices.map((c) => `  ${c.word.padEnd(24)} ${c.help}`);
  return `Possible completions:\n${lines.join('\n')}\n`;
}
