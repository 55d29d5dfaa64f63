/**
 * The match conditions of a policy term that need more than an equality test: route
 * filters (prefix with exact/orlonger/longer/upto/prefix-length-range), named communities
 * (values, well-known names, extended and large communities, or regular expressions), and
 * Junos AS-path regular expressions, whose atoms are whole AS numbers.
 */
import { bytesToIpv4, ipv4OfPrefixCode, parsePrefix, prefixCodeLength, prefixContains, type Prefix } from '../../lib/addr.js';
import {
  formatCommunity,
  formatExtCommunity,
  formatLargeCommunity,
  parseCommunity,
  parseExtCommunity,
  parseLargeCommunity,
} from '../../wire/bgp/attributes.js';

export type RouteFilterKind = 'exact' | 'orlonger' | 'longer' | 'upto' | 'prefix-length-range';

export interface RouteFilter {
  readonly prefix: Prefix;
  readonly min: number;
  readonly max: number;
}

/** Build a filter from a route-filter entry: `{ exact: true }`, `{ upto: '/24' }`, ... */
export function routeFilter(prefixText: string, entry: Record<string, unknown>): RouteFilter {
  const prefix = parsePrefix(prefixText);
  const full = prefix.family === 4 ? 32 : 128;
  if (entry.orlonger) return { prefix, min: prefix.len, max: full };
  if (entry.longer) return { prefix, min: prefix.len + 1, max: full };
  if (typeof entry.upto === 'string') return { prefix, min: prefix.len, max: Number(entry.upto.slice(1)) };
  if (typeof entry['prefix-length-range'] === 'string') {
    const m = /^\/(\d+)-\/(\d+)$/.exec(entry['prefix-length-range'])!;
    return { prefix, min: Number(m[1]), max: Number(m[2]) };
  }
  return { prefix, min: prefix.len, max: prefix.len }; // exact, the default
}

export function matchRouteFilter(f: RouteFilter, route: Prefix): boolean {
  return route.family === f.prefix.family && route.len >= f.min && route.len <= f.max && route.len >= f.prefix.len && prefixContains(f.prefix, route.addr);
}

/** matchRouteFilter for an IPv4 prefix given as its ipv4PrefixCode: compared as numbers, nothing parsed or allocated. */
export function matchRouteFilterCode(f: RouteFilter, code: number): boolean {
  if (f.prefix.family !== 4) return false;
  const len = prefixCodeLength(code);
  const flen = f.prefix.len;
  if (len < f.min || len > f.max || len < flen) return false;
  if (flen === 0) return true;
  return ipv4OfPrefixCode(code) >>> (32 - flen) === bytesToIpv4(f.prefix.addr) >>> (32 - flen);
}

/** One member of a named community: an exact value of one of the three kinds, or a regex over the text form. */
export type CommunityMember =
  | { readonly kind: 'standard'; readonly value: number }
  | { readonly kind: 'ext'; readonly value: Uint8Array }
  | { readonly kind: 'large'; readonly value: readonly [number, number, number] }
  | { readonly kind: 'regex'; readonly re: RegExp };

export function parseCommunityMember(text: string): CommunityMember | string {
  const std = parseCommunity(text);
  if (std !== undefined) return { kind: 'standard', value: std };
  if (/^(target|origin):/.test(text) || /^0x[0-9a-fA-F]{16}$/.test(text)) {
    const ext = parseExtCommunity(text);
    if (ext) return { kind: 'ext', value: ext };
  }
  if (text.startsWith('large:')) {
    const l = parseLargeCommunity(text);
    if (l) return { kind: 'large', value: l };
  }
  try {
    return { kind: 'regex', re: new RegExp(`^(?:${text})$`) };
  } catch {
    return `invalid community member '${text}'`;
  }
}

/** The communities a route carries, in the form members are checked against. */
export interface CommunitySet {
  communities: number[];
  extCommunities: Uint8Array;
  largeCommunities: number[];
}

function hasExt(b: Uint8Array, v: Uint8Array): boolean {
  outer: for (let i = 0; i + 8 <= b.length; i += 8) {
    for (let k = 0; k < 8; k++) if (b[i + k] !== v[k]) continue outer;
    return true;
  }
  return false;
}

function hasLarge(l: readonly number[], v: readonly [number, number, number]): boolean {
  for (let i = 0; i + 3 <= l.length; i += 3) if (l[i] === v[0] && l[i + 1] === v[1] && l[i + 2] === v[2]) return true;
  return false;
}

export function memberPresent(m: CommunityMember, c: CommunitySet): boolean {
  switch (m.kind) {
    case 'standard':
      return c.communities.includes(m.value);
    case 'ext':
      return hasExt(c.extCommunities, m.value);
    case 'large':
      return hasLarge(c.largeCommunities, m.value);
    case 'regex':
      return (
        c.communities.some((x) => m.re.test(formatCommunity(x)) || m.re.test(`${x >>> 16}:${x & 0xffff}`)) ||
        Array.from({ length: c.extCommunities.length / 8 }, (_, i) => formatExtCommunity(c.extCommunities, i * 8)).some((t) => m.re.test(t)) ||
        Array.from({ length: c.largeCommunities.length / 3 }, (_, i) => formatLargeCommunity(c.largeCommunities, i * 3)).some((t) => m.re.test(t) || m.re.test(`large:${t}`))
      );
  }
}

/** Remove every community a member names (or matches) from the set. */
export function deleteMember(m: CommunityMember, c: CommunitySet): void {
  switch (m.kind) {
    case 'standard':
      c.communities = c.communities.filter((x) => x !== m.value);
      break;
    case 'ext': {
      const keep: number[] = [];
      for (let i = 0; i < c.extCommunities.length; i += 8) if (!hasExt(c.extCommunities.subarray(i, i + 8), m.value)) keep.push(i);
      c.extCommunities = concatExt(keep.map((i) => c.extCommunities.subarray(i, i + 8)));
      break;
    }
    case 'large': {
      const out: number[] = [];
      for (let i = 0; i < c.largeCommunities.length; i += 3) {
        const t = c.largeCommunities.slice(i, i + 3);
        if (!(t[0] === m.value[0] && t[1] === m.value[1] && t[2] === m.value[2])) out.push(...t);
      }
      c.largeCommunities = out;
      break;
    }
    case 'regex': {
      c.communities = c.communities.filter((x) => !m.re.test(formatCommunity(x)) && !m.re.test(`${x >>> 16}:${x & 0xffff}`));
      const keep: Uint8Array[] = [];
      for (let i = 0; i < c.extCommunities.length; i += 8) if (!m.re.test(formatExtCommunity(c.extCommunities, i))) keep.push(c.extCommunities.subarray(i, i + 8));
      c.extCommunities = concatExt(keep);
      const out: number[] = [];
      for (let i = 0; i < c.largeCommunities.length; i += 3) if (!m.re.test(formatLargeCommunity(c.largeCommunities, i))) out.push(...c.largeCommunities.slice(i, i + 3));
      c.largeCommunities = out;
      break;
    }
  }
}

/** Add a member with an exact value (regex members cannot be added and are skipped). */
export function addMember(m: CommunityMember, c: CommunitySet): void {
  if (m.kind === 'standard' && !c.communities.includes(m.value)) c.communities = [...c.communities, m.value];
  else if (m.kind === 'ext' && !hasExt(c.extCommunities, m.value)) c.extCommunities = concatExt([c.extCommunities, m.value]);
  else if (m.kind === 'large' && !hasLarge(c.largeCommunities, m.value)) c.largeCommunities = [...c.largeCommunities, ...m.value];
}

function concatExt(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Compile a Junos AS-path regular expression. Its atoms are AS numbers (`65001`), `.` (any
 * one AS), and ranges like `65000-65100`; operators `* + ? {m,n} | ( ) ^ $` apply to atoms.
 * The expression must match the whole path. The JS regex runs over "AS AS AS " text.
 */
export function compileAsPathRegex(src: string): RegExp | string {
  let out = '';
  const re = /\s*(\d+-\d+|\d+|\.|\*|\+|\?|\{\d+(?:,\d*)?\}|\||\(|\)|\^|\$)\s*/y;
  let pos = 0;
  const s = src.trim();
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return `invalid AS-path regex '${src}' at '${s.slice(pos)}'`;
    pos = re.lastIndex;
    const t = m[1]!;
    if (/^\d+-\d+$/.test(t)) {
      const [lo, hi] = t.split('-').map(Number) as [number, number];
      out += `(?:(?:${rangeAlternatives(lo, hi)}) )`;
    } else if (/^\d+$/.test(t)) out += `(?:${t} )`;
    else if (t === '.') out += '(?:\\d+ )';
    else if (t === '^' || t === '$') continue; // always anchored
    else out += t;
  }
  try {
    return new RegExp(`^(?:${out})$`);
  } catch {
    return `invalid AS-path regex '${src}'`;
  }
}

/** A range of ASNs as alternatives (ranges are short in practice; large ones fall back to a check). */
function rangeAlternatives(lo: number, hi: number): string {
  if (hi - lo > 2000) return '\\d+';
  const alts: string[] = [];
  for (let a = lo; a <= hi; a++) alts.push(String(a));
  return alts.join('|');
}

/** The AS path as the text the compiled regex runs over ("65001 65002 "); a set counts as its members. */
export function asPathText(segs: ReadonlyArray<{ type: number; asns: readonly number[] }> | undefined): string {
  let s = '';
  for (const seg of segs ?? []) for (const a of seg.asns) s += `${a} `;
  return s;
}
