/**
 * XML, the NETCONF notation of the configuration tree, walked from the schema like the
 * others. YANG's encoding of the same structure: a container is an element, a list entry
 * is an element of the list's name holding its key as `<name>`, a leaf-list repeats its
 * element, a flag is an empty element:
 *
 *   <configuration xmlns="urn:cnr:config">
 *     <system><host-name>r1</host-name></system>
 *     <interfaces><name>eth1</name>
 *       <unit><name>0</name><family><inet><address><name>10.0.0.1/24</name></address></inet></family></unit>
 *     </interfaces>
 *     <protocols><bgp><group><name>g</name><export>a</export><export>b</export></group></bgp></protocols>
 *   </configuration>
 *
 * Reading turns the document into edits (`set`/`delete` word lists, each with the path of
 * the element it came from for error reports) carrying NETCONF's edit-config operations
 * (merge, replace, create, delete, remove), so the caller applies them with the same
 * checks as every other notation.
 */
import type { ConfigTree } from '../types.js';
import { escapeXml, parseXml, type XmlElement } from '../../lib/xml.js';
import { schema, type ContainerNode, type ListNode, type SchemaNode } from './schema/index.js';
import { orderedKeys } from './notation-set.js';
import { applyDelete, applySet, cloneTree } from './edit.js';
import { isTree } from './tree.js';

export const CONFIG_NS = 'urn:cnr:config';
/** the element holding a list entry's key */
export const KEY_ELEMENT = 'name';


function printChildren(tree: ConfigTree, node: ContainerNode | ListNode, indent: string, out: string[]): void {
  for (const name of orderedKeys(tree, node.children)) {
    const child = node.children[name]!;
    const v = tree[name];
    switch (child.kind) {
      case 'leaf':
        out.push(`${indent}<${name}>${escapeXml(String(v))}</${name}>`);
        break;
      case 'flag':
        out.push(`${indent}<${name}/>`);
        break;
      case 'leaf-list':
        for (const x of Array.isArray(v) ? v : [String(v)]) out.push(`${indent}<${name}>${escapeXml(String(x))}</${name}>`);
        break;
      case 'container':
        if (!isTree(v)) break;
        if (Object.keys(v).length === 0) out.push(`${indent}<${name}/>`);
        else {
          out.push(`${indent}<${name}>`);
          printChildren(v, child, `${indent}  `, out);
          out.push(`${indent}</${name}>`);
        }
        break;
      case 'list':
        if (!isTree(v)) break;
        for (const key of Object.keys(v)) {
          const entry = v[key];
          out.push(`${indent}<${name}>`);
          out.push(`${indent}  <${KEY_ELEMENT}>${escapeXml(key)}</${KEY_ELEMENT}>`);
          if (isTree(entry)) printChildren(entry, child, `${indent}  `, out);
          out.push(`${indent}</${name}>`);
        }
        break;
    }
  }
}

/** `<configuration>` holding the tree (or only the branch the caller cut out of it). */
export function printXml(tree: ConfigTree, indent = ''): string {
  const out = [`${indent}<configuration xmlns="${CONFIG_NS}">`];
  printChildren(tree, schema, `${indent}  `, out);
  out.push(`${indent}</configuration>`);
  return out.join('\n');
}

export type EditOperation = 'merge' | 'replace' | 'create' | 'delete' | 'remove';
const OPERATIONS: readonly string[] = ['merge', 'replace', 'create', 'delete', 'remove'];

export interface XmlEdit {
  /** set: add or change; delete: remove (must exist unless `missingOk`); exists: must not exist yet (create) */
  kind: 'set' | 'delete' | 'absent';
  words: string[];
  missingOk?: boolean;
  /** where in the document, for error-path: /configuration/interfaces[name='eth1']/mtu */
  path: string;
}

/** A document the schema does not know: element path and reason (NETCONF `unknown-element` and friends). */
export class XmlConfigError extends Error {
  constructor(
    readonly tag: 'unknown-element' | 'bad-element' | 'missing-element' | 'bad-attribute',
    readonly reason: string,
    readonly path: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

function opOf(el: XmlElement, inherited: EditOperation | 'none', path: string): EditOperation | 'none' {
  const op = el.attrs.operation;
  if (op === undefined) return inherited;
  if (!OPERATIONS.includes(op)) throw new XmlConfigError('bad-attribute', `operation "${op}" is not merge, replace, create, delete or remove`, path);
  return op as EditOperation;
}

/**
 * The edits an edit-config `<configuration>` element asks for. `defaultOperation` is
 * edit-config's: merge, replace (the caller empties the target first) or none (only
 * elements with an operation attribute, and what they hold, change anything).
 */
export function xmlEdits(configuration: XmlElement, defaultOperation: 'merge' | 'replace' | 'none' = 'merge'): XmlEdit[] {
  const out: XmlEdit[] = [];
  const inherited = defaultOperation === 'replace' ? 'merge' : defaultOperation;
  walk(configuration, schema, [], '/configuration', inherited, out);
  return out;
}

function walk(el: XmlElement, node: ContainerNode | ListNode, words: string[], path: string, op: EditOperation | 'none', out: XmlEdit[]): void {
  let any = false;
  for (const c of el.children) {
    if (node.kind === 'list' && c.name === KEY_ELEMENT) continue;
    any = true;
    const child: SchemaNode | undefined = node.children[c.name];
    const cpath = `${path}/${c.name}`;
    if (!child) throw new XmlConfigError('unknown-element', `unknown element <${c.name}>`, cpath);
    const kw = node.positional === c.name ? [] : [c.name];
    const cop = opOf(c, op, cpath);
    switch (child.kind) {
      case 'leaf':
      case 'leaf-list': {
        const value = c.text.trim();
        if (cop === 'delete' || cop === 'remove') {
          // a leaf-list value names the element to delete; a leaf's value is ignored
          const w = child.kind === 'leaf-list' && value !== '' ? [...words, ...kw, value] : [...words, c.name];
          out.push({ kind: 'delete', words: w, missingOk: cop === 'remove', path: cpath });
          break;
        }
        if (cop === 'none') break;
        if (value === '' && c.children.length === 0) throw new XmlConfigError('bad-element', `<${c.name}> needs a value`, cpath);
        if (c.children.length) throw new XmlConfigError('bad-element', `<${c.name}> holds a value, not elements`, cpath);
        if (cop === 'create') out.push({ kind: 'absent', words: child.kind === 'leaf' ? [...words, c.name] : [...words, ...kw, value], path: cpath });
        if (cop === 'replace' && child.kind === 'leaf-list') out.push({ kind: 'delete', words: [...words, c.name], missingOk: true, path: cpath });
        out.push({ kind: 'set', words: [...words, ...kw, value], path: cpath });
        break;
      }
      case 'flag':
        if (c.children.length || c.text.trim() !== '') throw new XmlConfigError('bad-element', `<${c.name}/> is a flag and holds nothing`, cpath);
        if (cop === 'delete' || cop === 'remove') out.push({ kind: 'delete', words: [...words, c.name], missingOk: cop === 'remove', path: cpath });
        else if (cop !== 'none') {
          if (cop === 'create') out.push({ kind: 'absent', words: [...words, c.name], path: cpath });
          out.push({ kind: 'set', words: [...words, c.name], path: cpath });
        }
        break;
      case 'container':
        nested(c, child, [...words, c.name], cpath, cop, out);
        break;
      case 'list': {
        const keyEl = c.children.find((k) => k.name === KEY_ELEMENT);
        const key = keyEl?.text.trim() ?? '';
        if (!key) throw new XmlConfigError('missing-element', `<${c.name}> needs its <${KEY_ELEMENT}> (${child.keyName})`, cpath);
        nested(c, child, [...words, c.name, key], `${path}/${c.name}[${KEY_ELEMENT}='${key}']`, cop, out);
        break;
      }
    }
  }
  if (!any && words.length && op !== 'none') out.push({ kind: 'set', words, path });
}

function nested(c: XmlElement, node: ContainerNode | ListNode, words: string[], path: string, op: EditOperation | 'none', out: XmlEdit[]): void {
  if (op === 'delete' || op === 'remove') {
    out.push({ kind: 'delete', words, missingOk: op === 'remove', path });
    return;
  }
  if (op === 'create') out.push({ kind: 'absent', words, path });
  if (op === 'replace') out.push({ kind: 'delete', words, missingOk: true, path });
  // inside a replaced or created node, everything merges into the fresh node
  walk(c, node, words, path, op === 'replace' || op === 'create' ? 'merge' : op, out);
}

/** A whole `<configuration>` document merged onto `base` (a copy), as the other notations load. */
export function loadXml(text: string, base: ConfigTree = {}): ConfigTree {
  const next = cloneTree(base);
  for (const e of xmlEdits(parseXml(text))) {
    if (e.kind === 'set') applySet(next, e.words);
    else if (e.kind === 'delete') applyDelete(next, e.words);
  }
  return next;
}
