/**
 * `show | compare`: the difference between two trees, Junos style — statements grouped
 * under `[edit PATH]` headers, `-` for removed and `+` for added, in curly form.
 */
import type { ConfigTree } from '../types.js';
import { schema } from './schema/index.js';
import { statements } from './notation-set.js';
import { quote } from './tokens.js';

interface Line {
  head: string;
  stmt: string;
  key: string;
}

function lines(tree: ConfigTree): Line[] {
  const out: Line[] = [];
  for (const s of statements(tree, schema)) {
    const head = s.words.slice(0, s.head).map(quote).join(' ');
    const stmt = s.words.slice(s.head).map(quote).join(' ');
    out.push({ head, stmt, key: `${head}\u0000${stmt}` });
  }
  return out;
}

/** Empty string when the trees are equal. */
export function compareTrees(from: ConfigTree, to: ConfigTree): string {
  const a = lines(from);
  const b = lines(to);
  const inA = new Set(a.map((l) => l.key));
  const inB = new Set(b.map((l) => l.key));
  const byHead = new Map<string, string[]>();
  const add = (head: string, text: string) => {
    const list = byHead.get(head) ?? [];
    list.push(text);
    byHead.set(head, list);
  };
  for (const l of a) if (!inB.has(l.key)) add(l.head, `-   ${l.stmt};`);
  for (const l of b) if (!inA.has(l.key)) add(l.head, `+   ${l.stmt};`);
  const out: string[] = [];
  for (const [head, list] of byHead) {
    out.push(head ? `[edit ${head}]` : '[edit]');
    out.push(...list);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
