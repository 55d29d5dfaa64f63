/**
 * JSON and YAML (the Helm-values form): the tree itself. Loading walks the parsed document
 * into `set` words (each with its source line) and applies them through the same checker
 * as the text notations, so a wrong key or value is refused with its line number.
 * JSON is checked by JSON.parse, then read by a small reader that keeps lines.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { LineCounter, Node } from 'yaml';
import type { ConfigTree } from '../types.js';
import { applySet, cloneTree } from './edit.js';
import { ConfigError, type Word } from './tokens.js';

// yaml is loaded on first use, not at start: it costs ~8 MB of resident memory, and a node
// configured in set or curly notation (an IS-IS-only router, say) never needs it
let yamlModule: typeof Yaml | undefined;
const yaml = (): typeof Yaml => (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof Yaml);

function scalarText(v: unknown, line: number, where: string[]): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new ConfigError(`${where.join(' ')}: expected a string or number, not ${JSON.stringify(v)}`, line);
}

function walk(node: Node | null, words: Word[], lc: LineCounter, out: Array<{ words: Word[]; line: number }>): void {
  const { isMap, isScalar, isSeq } = yaml();
  const line = node?.range ? lc.linePos(node.range[0]).line : 0;
  if (node === null || (isScalar(node) && node.value === null)) {
    // `key:` with nothing: an empty container or list entry
    out.push({ words, line });
    return;
  }
  if (isMap(node)) {
    if (node.items.length === 0) out.push({ words, line });
    const seen = new Set<string>();
    for (const pair of node.items) {
      const k = pair.key as Node | null;
      const kline = k?.range ? lc.linePos(k.range[0]).line : line;
      const key = isScalar(k) ? scalarText(k.value, kline, words.map(String)) : undefined;
      if (key === undefined) throw new ConfigError('keys must be plain strings', kline);
      if (seen.has(key)) throw new ConfigError(`${[...words, key].join(' ')}: duplicate key`, kline);
      seen.add(key);
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

/**
 * Statements of a JSON text with the line of each key: a small recursive-descent reader
 * over a text JSON.parse already accepted (linear; the YAML composer is quadratic on the
 * large flow mappings a big JSON configuration has).
 */
function jsonStatements(text: string): Array<{ words: Word[]; line: number }> {
  const out: Array<{ words: Word[]; line: number }> = [];
  let i = 0;
  let line = 1;
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 10) line++;
      else if (c !== 32 && c !== 9 && c !== 13) return;
      i++;
    }
  };
  const str = (): string => {
    const start = i;
    i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const scalar = (): unknown => {
    const start = i;
    if (text[i] === '"') return str();
    while (i < text.length && !/[\s,\]}]/.test(text[i]!)) i++;
    return JSON.parse(text.slice(start, i)) as unknown;
  };
  const value = (words: Word[], kline: number): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        out.push({ words, line: kline });
        return;
      }
      const seen = new Set<string>();
      for (;;) {
        ws();
        const kl = line;
        const key = str();
        if (seen.has(key)) throw new ConfigError(`${[...words, key].join(' ')}: duplicate key`, kl);
        seen.add(key);
        ws();
        i++; // ':'
        ws();
        const v = text[i];
        if (v === '[') {
          i++;
          const items: string[] = [];
          ws();
          while (text[i] !== ']') {
            const il = line;
            const x = scalar();
            if (typeof x === 'object' && x !== null) throw new ConfigError(`${[...words, key].join(' ')}: list items must be strings`, il);
            items.push(scalarText(x, il, [...words.map(String), key]));
            ws();
            if (text[i] === ',') i++;
            ws();
          }
          i++;
          out.push({ words: [...words, key, items], line: kl });
        } else if (v === '{') {
          value([...words, key], kl);
        } else {
          const x = scalar();
          if (x === true) out.push({ words: [...words, key], line: kl });
          else if (x === false) throw new ConfigError(`${[...words, key].join(' ')}: false is not a value; leave the statement out instead`, kl);
          else if (x === null) out.push({ words: [...words, key], line: kl });
          else out.push({ words: [...words, key, scalarText(x, kl, [...words.map(String), key])], line: kl });
        }
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        i++; // '}'
        return;
      }
    }
    throw new ConfigError(`${words.join(' ') || 'configuration'}: expected an object`, line);
  };
  value([], 1);
  return out.filter((s) => s.words.length > 0);
}

/** Statements of a YAML or JSON document, each with its line. */
export function dataStatements(text: string, format: 'json' | 'yaml'): Array<{ words: Word[]; line: number }> {
  if (format === 'json') {
    try {
      JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`invalid JSON: ${(e as Error).message}`, 1);
    }
    return jsonStatements(text);
  }
  const lc = new (yaml().LineCounter)();
  // duplicate keys are found by walk(); the composer's own check is quadratic
  const doc = yaml().parseDocument(text, { lineCounter: lc, uniqueKeys: false });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new ConfigError(e.message.split('\n')[0]!, e.linePos?.[0]?.line ?? 1);
  }
  const out: Array<{ words: Word[]; line: number }> = [];
  const root = doc.contents as Node | null;
  if (root === null || (yaml().isScalar(root) && root.value === null)) return out;
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
  return Object.keys(tree).length ? yaml().stringify(tree) : '';
}
