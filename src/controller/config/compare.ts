/**
 * `show | compare`: the difference between two trees, Junos style — changes grouped under
 * `[edit PATH]` headers at the deepest level both trees share, `-` for removed and `+` for
 * added; a block that exists on one side only is shown whole, in curly form.
 */
import type { ConfigTree, ConfigValue } from '../types.js';
import { isTree } from './tree.js';
import { block, curlyLines } from './notation-curly.js';
import { schema, type ContainerNode, type ListNode, type SchemaNode } from './schema/index.js';
import { quote } from './tokens.js';

class Diff {
  readonly byHead = new Map<string, string[]>();
  add(head: string[], sign: '+' | '-', lines: string[]): void {
    const key = head.length ? `[edit ${head.map(quote).join(' ')}]` : '[edit]';
    const list = this.byHead.get(key) ?? [];
    for (const l of lines) list.push(`${sign}   ${l}`);
    this.byHead.set(key, list);
  }
}

function terminalLines(name: string, node: SchemaNode, v: ConfigValue): string[] {
  if (node.kind === 'flag') return [`${name};`];
  if (node.kind === 'leaf-list' && Array.isArray(v)) return v.map((x) => `${name} ${quote(x)};`);
  return [`${name} ${quote(String(v))};`];
}

function walk(d: Diff, a: ConfigTree, b: ConfigTree, node: ContainerNode | ListNode, head: string[]): void {
  for (const name of Object.keys(node.children)) {
    const child = node.children[name]!;
    const va = a[name];
    const vb = b[name];
    if (va === undefined && vb === undefined) continue;
    if (child.kind === 'leaf' || child.kind === 'flag') {
      if (va !== undefined && vb !== undefined && String(va) === String(vb)) continue;
      if (va !== undefined) d.add(head, '-', terminalLines(name, child, va));
      if (vb !== undefined) d.add(head, '+', terminalLines(name, child, vb));
    } else if (child.kind === 'leaf-list') {
      const la = Array.isArray(va) ? va : [];
      const lb = Array.isArray(vb) ? vb : [];
      const gone = la.filter((x) => !lb.includes(x));
      const added = lb.filter((x) => !la.includes(x));
      if (gone.length) d.add(head, '-', terminalLines(name, child, gone));
      if (added.length) d.add(head, '+', terminalLines(name, child, added));
    } else if (!isTree(va) || !isTree(vb)) {
      // a whole container or list on one side only
      if (isTree(va)) d.add(head, '-', curlyLines({ [name]: va }, node));
      if (isTree(vb)) d.add(head, '+', curlyLines({ [name]: vb }, node));
    } else if (child.kind === 'container') {
      walk(d, va, vb, child, [...head, name]);
    } else {
      const ea = va;
      const eb = vb;
      const where = child.flat ? [...head, name] : head;
      for (const key of new Set([...Object.keys(ea), ...Object.keys(eb)])) {
        const x = ea[key];
        const y = eb[key];
        const header = child.flat ? quote(key) : `${name} ${quote(key)}`;
        if (isTree(x) && isTree(y)) walk(d, x, y, child, [...head, name, key]);
        else {
          if (isTree(x)) d.add(where, '-', block(header, x, child, 0));
          if (isTree(y)) d.add(where, '+', block(header, y, child, 0));
        }
      }
    }
  }
}

/** Empty string when the trees are equal. */
export function compareTrees(from: ConfigTree, to: ConfigTree): string {
  const d = new Diff();
  walk(d, from, to, schema, []);
  const out: string[] = [];
  for (const [head, lines] of d.byHead) out.push(head, ...lines);
  return out.length ? `${out.join('\n')}\n` : '';
}
