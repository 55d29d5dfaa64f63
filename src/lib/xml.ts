/**
 * The XML NETCONF needs, no more: elements with attributes and text, namespaces reduced to
 * local names (the namespace URI kept per element), comments, CDATA, the five named
 * entities and character references. No DTDs (a DOCTYPE is refused: no entity expansion
 * to abuse). Malformed input throws XmlError with the offset, which the NETCONF server
 * turns into a `malformed-message` error.
 */

export interface XmlElement {
  /** local name (prefix removed) */
  name: string;
  /** namespace URI in scope for the element, '' when none */
  ns: string;
  /** attributes by local name (xmlns declarations left out) */
  attrs: Record<string, string>;
  children: XmlElement[];
  /** the concatenated character data directly inside the element */
  text: string;
}

export class XmlError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
  }
}

const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string, at: number): string {
  if (!s.includes('&')) return s;
  return s.replace(/&([^;&\s]{1,10});/g, (_m, ent: string) => {
    if (ent[0] === '#') {
      const code = ent[1] === 'x' || ent[1] === 'X' ? Number.parseInt(ent.slice(2), 16) : Number.parseInt(ent.slice(1), 10);
      if (!Number.isInteger(code) || code < 0 || code > 0x10ffff) throw new XmlError(`bad character reference &${ent};`, at);
      return String.fromCodePoint(code);
    }
    const v = NAMED[ent];
    if (v === undefined) throw new XmlError(`unknown entity &${ent};`, at);
    return v;
  });
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'));
}

const NAME_RE = /[A-Za-z_][\w.\-:]*/y;
const ATTR_RE = /\s+([A-Za-z_][\w.\-:]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/y;

function local(qname: string): [prefix: string, local: string] {
  const i = qname.indexOf(':');
  return i < 0 ? ['', qname] : [qname.slice(0, i), qname.slice(i + 1)];
}

/** Parses one document (one root element); throws XmlError. */
export function parseXml(text: string): XmlElement {
  let i = 0;
  const n = text.length;
  const stack: { el: XmlElement; qname: string; scope: Map<string, string> }[] = [];
  let root: XmlElement | undefined;

  /** At a comment or processing instruction: moves past it and returns true. */
  const skipMarkup = (): boolean => {
    const [close, what] = text.startsWith('<?', i) ? ['?>', 'processing instruction'] : text.startsWith('<!--', i) ? ['-->', 'comment'] : ['', ''];
    if (!close) return false;
    const e = text.indexOf(close, i + 2);
    if (e < 0) throw new XmlError(`unterminated ${what}`, i);
    i = e + close.length;
    return true;
  };
  const skipMisc = () => {
    for (;;) {
      while (i < n && /\s/.test(text[i]!)) i++;
      if (!skipMarkup()) return;
    }
  };

  skipMisc();
  if (text.startsWith('<!DOCTYPE', i)) throw new XmlError('DOCTYPE is not accepted', i);
  while (i < n) {
    if (stack.length === 0) {
      if (root) {
        skipMisc();
        if (i < n) throw new XmlError('content after the root element', i);
        break;
      }
      if (text[i] !== '<') throw new XmlError('expected an element', i);
    }
    const lt = text.indexOf('<', i);
    if (lt < 0 || lt > i) {
      const end = lt < 0 ? n : lt;
      const top = stack[stack.length - 1];
      if (!top) throw new XmlError('text outside the root element', i);
      top.el.text += decodeEntities(text.slice(i, end), i);
      if (lt < 0) throw new XmlError(`element <${top.qname}> not closed`, n);
      i = lt;
      continue;
    }
    if (skipMarkup()) {
      // comment or processing instruction
    } else if (text.startsWith('<![CDATA[', i)) {
      const e = text.indexOf(']]>', i + 9);
      const top = stack[stack.length - 1];
      if (e < 0 || !top) throw new XmlError('bad CDATA section', i);
      top.el.text += text.slice(i + 9, e);
      i = e + 3;
    } else if (text[i + 1] === '/') {
      NAME_RE.lastIndex = i + 2;
      const m = NAME_RE.exec(text);
      const top = stack.pop();
      if (!m || !top) throw new XmlError('unexpected closing tag', i);
      if (m[0] !== top.qname) throw new XmlError(`</${m[0]}> closes <${top.qname}>`, i);
      i = NAME_RE.lastIndex;
      while (i < n && /\s/.test(text[i]!)) i++;
      if (text[i] !== '>') throw new XmlError('expected >', i);
      i++;
    } else if (text[i + 1] === '!') {
      throw new XmlError('markup declarations are not accepted', i);
    } else {
      NAME_RE.lastIndex = i + 1;
      const m = NAME_RE.exec(text);
      if (!m) throw new XmlError('bad element name', i);
      const qname = m[0];
      i = NAME_RE.lastIndex;
      const parentScope = stack[stack.length - 1]?.scope;
      let scope = parentScope ?? new Map<string, string>();
      const raw: [string, string][] = [];
      for (;;) {
        ATTR_RE.lastIndex = i;
        const a = ATTR_RE.exec(text);
        if (!a) break;
        raw.push([a[1]!, decodeEntities(a[3] ?? a[4] ?? '', i)]);
        i = ATTR_RE.lastIndex;
      }
      while (i < n && /\s/.test(text[i]!)) i++;
      const selfClose = text.startsWith('/>', i);
      if (!selfClose && text[i] !== '>') throw new XmlError(`bad tag <${qname}>`, i);
      i += selfClose ? 2 : 1;
      const attrs: Record<string, string> = {};
      for (const [k, v] of raw) {
        if (k === 'xmlns' || k.startsWith('xmlns:')) {
          if (scope === parentScope) scope = new Map(parentScope);
          scope.set(k === 'xmlns' ? '' : k.slice(6), v);
        }
      }
      for (const [k, v] of raw) {
        if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
        const [, l] = local(k);
        if (Object.hasOwn(attrs, l)) throw new XmlError(`attribute ${k} repeated`, i);
        attrs[l] = v;
      }
      const [prefix, name] = local(qname);
      const ns = scope.get(prefix);
      if (prefix && ns === undefined) throw new XmlError(`namespace prefix ${prefix} not declared`, i);
      const el: XmlElement = { name, ns: ns ?? '', attrs, children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent) parent.el.children.push(el);
      else if (root) throw new XmlError('more than one root element', i);
      else root = el;
      if (!selfClose) stack.push({ el, qname, scope });
    }
  }
  if (stack.length) throw new XmlError(`element <${stack[stack.length - 1]!.qname}> not closed`, n);
  if (!root) throw new XmlError('no element', 0);
  return root;
}

/** The first child element of that local name. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}
