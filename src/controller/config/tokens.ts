/**
 * The lexer shared by every text notation: words, "quoted strings" (with \" and \\),
 * `[ a b ]` lists, `{ } ;` for curly text, `#` and `/* *\/` comments. Each token keeps
 * its line so that a bad statement is refused with its line number.
 */

export type TokenKind = 'word' | '{' | '}' | ';' | '[' | ']';
export interface Token {
  kind: TokenKind;
  text: string;
  line: number;
  quoted: boolean;
}

/** A refused statement: the reason, and the line when it came from a text. */
export class ConfigError extends Error {
  constructor(message: string, readonly line?: number) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.reason = message;
  }
  readonly reason: string;
}

const SPECIAL = new Set(['{', '}', ';', '[', ']']);

export function lex(text: string, firstLine = 1): Token[] {
  const out: Token[] = [];
  let line = firstLine;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new ConfigError('unterminated comment', line);
      for (let j = i; j < end; j++) if (text[j] === '\n') line++;
      i = end + 2;
    } else if (c === '"') {
      const start = line;
      let s = '';
      i++;
      for (;;) {
        if (i >= n) throw new ConfigError('unterminated quoted string', start);
        const d = text[i]!;
        if (d === '"') break;
        if (d === '\\' && i + 1 < n) {
          s += text[i + 1];
          i += 2;
          continue;
        }
        if (d === '\n') line++;
        s += d;
        i++;
      }
      i++;
      out.push({ kind: 'word', text: s, line: start, quoted: true });
    } else if (SPECIAL.has(c)) {
      out.push({ kind: c as TokenKind, text: c, line, quoted: false });
      i++;
    } else {
      let j = i;
      while (j < n && !/[\s{};[\]"]/.test(text[j]!)) j++;
      out.push({ kind: 'word', text: text.slice(i, j), line, quoted: false });
      i = j;
    }
  }
  return out;
}

/** A word, or a `[ a b ]` list of words. */
export type Word = string | string[];

/** Groups `[ ... ]` into lists; other special tokens are the caller's business. */
export function groupLists(tokens: Token[]): { words: Word[]; line: number } {
  const words: Word[] = [];
  let i = 0;
  while (i < tokens.length) {
    const t = tokens[i]!;
    if (t.kind === '[') {
      const items: string[] = [];
      i++;
      while (i < tokens.length && tokens[i]!.kind === 'word') items.push(tokens[i++]!.text);
      if (i >= tokens.length || tokens[i]!.kind !== ']') throw new ConfigError("missing ']'", t.line);
      words.push(items);
      i++;
    } else if (t.kind === 'word') {
      words.push(t.text);
      i++;
    } else {
      throw new ConfigError(`unexpected '${t.text}'`, t.line);
    }
  }
  return { words, line: tokens[0]?.line ?? 0 };
}

/** Split one command line into words (quotes and lists honoured). */
export function splitWords(line: string): Word[] {
  return groupLists(lex(line)).words;
}

const NEEDS_QUOTES = /[\s{};[\]"#|\\']/;

export function quote(word: string): string {
  if (word.length > 0 && !NEEDS_QUOTES.test(word)) return word;
  return `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Split at unquoted `sep` (`|` between a command and its filters, `;` between script commands). */
export function splitUnquoted(line: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let inQuote = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && inQuote && i + 1 < line.length) {
      cur += c + line[i + 1];
      i++;
      continue;
    }
    if (c === '"') inQuote = !inQuote;
    if (c === sep && !inQuote) {
      parts.push(cur.trim());
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur.trim());
  return parts;
}

/** Split a command at unquoted `|` into the command and its output filters. */
export function splitPipes(line: string): string[] {
  return splitUnquoted(line, '|');
}
