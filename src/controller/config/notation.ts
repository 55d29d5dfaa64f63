/** The four notations behind one pair of functions, and format detection for files. */
import type { ConfigTree } from '../types.js';
import { loadCurly, printCurly } from './notation-curly.js';
import { loadData, printJson, printYaml } from './notation-data.js';
import { loadSet, printSet } from './notation-set.js';

export type Notation = 'set' | 'text' | 'json' | 'yaml';
export const NOTATIONS: readonly Notation[] = ['set', 'text', 'json', 'yaml'];

/**
 * Guess a text's notation: JSON starts with `{"` or `{` + newline + `"`, set with `set`/`delete`,
 * curly has braces. A `.json` or `.yaml` name decides; otherwise unambiguous content does (set
 * lines in `router.conf` are set notation, as an operator means them), and `.set` or
 * `.conf`/`.cfg`/`.txt` only break the tie.
 */
export function detectNotation(text: string, fileName = ''): Notation {
  if (/\.json$/i.test(fileName)) return 'json';
  if (/\.ya?ml$/i.test(fileName)) return 'yaml';
  const body = text.replace(/^\s*(#[^\n]*\n\s*)*/, '');
  if (/^(set|delete)\s/.test(body)) return 'set';
  if (/^\{\s*("|\})/.test(body)) return 'json';
  if (/^[\w-]+\s*(\{|[^:\n]*;)/.test(body)) return 'text';
  if (/\.set$/i.test(fileName)) return 'set';
  if (body === '' || /\.(conf|cfg|txt)$/i.test(fileName)) return 'text';
  return 'yaml';
}

/** Parse a whole configuration (or merge it onto `base`); throws ConfigError naming the line. */
export function parseConfig(text: string, notation: Notation, base: ConfigTree = {}): ConfigTree {
  switch (notation) {
    case 'set':
      return loadSet(text, base);
    case 'text':
      return loadCurly(text, base);
    case 'json':
    case 'yaml':
      return loadData(text, notation, base);
  }
}

export function printConfig(tree: ConfigTree, notation: Notation): string {
  switch (notation) {
    case 'set':
      return printSet(tree);
    case 'text':
      return printCurly(tree);
    case 'json':
      return printJson(tree);
    case 'yaml':
      return printYaml(tree);
  }
}
