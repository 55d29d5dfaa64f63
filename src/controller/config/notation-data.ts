/**
 * JSON and YAML (the Helm-values form): the tree itself. Loading walks the parsed document
 * into `set` words (each with its source line) and applies them through the same checker
 * as the text notations, so a wrong key or value is refused with its line number.
 * JSON is read with the YAML parser too (JSON is YAML), after a strict JSON.parse.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, stringify, type Node } from 'yaml';
import type { ConfigTree } from '../types.js';
import { applySet, cloneTree } from './edit.js';
import { ConfigError, type Word } from './tokens.js';

function scalarText(v: unknown, line: number, where: string[]): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new ConfigError(`${where.join(' ')}: expected a string or number, not ${JSON.stringify(v)}`, line);
}

function walk(node: Node | null, words: Word[], lc: LineCounter, out: Array<{ words: Word[]; line: number }>): void {
  const line = node?.range ? lc.linePos(node.range[0]).line : 0;
  if (node === null || (isScalar(node) && node.value === null)) {
    // `key:` with nothing: an empty container or list entry
    out.push({ words, line });
    return;
  }
  if (isMap(node)) {
    if (node.items.length === 0) out.push({ words, line });
    for (const pair of node.items) {
      const k = pair.key as Node | null;
      const kline = k?.range ? lc.linePos(k.range[0]).line : line;
      const key = isScalar(k) ? scalarText(k.value, kline, words.map(String)) : undefined;
      if (key === undefined) throw new ConfigError('keys must be plain strings', kline);
      const v = pair.value as Node | null;
      if (isScalar(v) && v.value === true) out.push({ words: [...words, key], line: kline });
      else if (isScalar(v) && v.value !== null) {
        if (v.value === false) throw new ConfigError(`${[...words, key].join(' ')}: false is not a value; leave the statement out instead`, kline);
        out.push({ words: [...words, key, scalarText(v.value, kline, [...words.map(String), key])], line: kline });
      } else if (isSeq(v)) {
        const items = v.items.map((it) => {
          const n = it as Node;
          const l = n.range ? lc.linePos(n.range[0]).line : kline;
          if (!isScalar(n)) throw new ConfigError(`${[...words, key].join(' ')}: list items must be strings`, l);
          return scalarText(n.value, l, [...words.map(String), key]);
        });
        out.push({ words: [...words, key, items], line: kline });
      } else {
        walk(v, [...words, key], lc, out);
      }
    }
    return;
  }
  throw new ConfigError(`${words.join(' ') || 'configuration'}: expected a mapping`, line);
}

/** Statements of a YAML or JSON document, each with its line. */
export function dataStatements(text: string, format: 'json' | 'yaml'): Array<{ words: Word[]; line: number }> {
  if (format === 'json') {
    try {
      JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`invalid JSON: ${(e as Error).message}`, 1);
    }
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new ConfigError(e.message.split('\n')[0]!, e.linePos?.[0]?.line ?? 1);
  }
  const out: Array<{ words: Word[]; line: number }> = [];
  const root = doc.contents as Node | null;
  if (root === null || (isScalar(root) && root.value === null)) return out;
  walk(root, [], lc, out);
  return out.filter((s) => s.words.length > 0);
}

export function loadData(text: string, format: 'json' | 'yaml', base: ConfigTree = {}): ConfigTree {
  const tree = cloneTree(base);
  for (const { words, line } of dataStatements(text, format)) {
    try {
      applySet(tree, words);
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError(e.reason, line);
      throw e;
    }
  }
  return tree;
}

export function printJson(tree: ConfigTree): string {
  return `${JSON.stringify(tree, null, 2)}\n`;
}

export function printYaml(tree: ConfigTree): string {
  return Object.keys(tree).length ? stringify(tree) : '';
}
