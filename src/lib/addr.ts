/**
 * Addresses at the edges of cnr. Every value that enters from config, gRPC, CNI or the CLI
 * passes through one of these validating constructors, so the rest of the code can trust
 * the branded types. IPv4 addresses are unsigned 32-bit numbers (cheap to store in typed
 * arrays); IPv6 addresses are 16-byte arrays; MACs are 6-byte arrays.
 */

export type Ipv4 = number & { readonly __brand: 'Ipv4' };
export type Ipv6 = Uint8Array & { readonly __brand: 'Ipv6' };
export type Mac = Uint8Array & { readonly __brand: 'Mac' };
export type Label = number & { readonly __brand: 'Label' };
export type Family = 4 | 6;

/** A network prefix; `addr` has its host bits cleared (see parsePrefix) unless it came from parseCidr. */
export interface Prefix {
  readonly family: Family;
  /** 4 bytes for IPv4, 16 for IPv6 */
  readonly addr: Uint8Array;
  readonly len: number;
}

export class AddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

export function parseIpv4(s: string): Ipv4 {
  const v = tryParseIpv4(s);
  if (v === undefined) throw new AddressError(`invalid IPv4 address '${s}'`);
  return v;
}

export function tryParseIpv4(s: string): Ipv4 | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255 || (p.length > 1 && p[0] === '0')) return undefined;
    v = v * 256 + n;
  }
  return v as Ipv4;
}

export function formatIpv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export function ipv4ToBytes(v: number, out: Uint8Array = new Uint8Array(4), off = 0): Uint8Array {
  out[off] = (v >>> 24) & 255;
  out[off + 1] = (v >>> 16) & 255;
  out[off + 2] = (v >>> 8) & 255;
  out[off + 3] = v & 255;
  return out;
}

export function bytesToIpv4(b: Uint8Array, off = 0): Ipv4 {
  return (((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0) as Ipv4;
}

export function parseIpv6(s: string): Ipv6 {
  const v = tryParseIpv6(s);
  if (v === undefined) throw new AddressError(`invalid IPv6 address '${s}'`);
  return v;
}

export function tryParseIpv6(input: string): Ipv6 | undefined {
  let s = input;
  const pct = s.indexOf('%'); // zone index (fe80::1%eth0) is not part of the address
  if (pct >= 0) s = s.slice(0, pct);
  const out = new Uint8Array(16);
  // an embedded IPv4 tail (::ffff:1.2.3.4)
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.indexOf('.', lastColon) > 0) {
    const v4 = tryParseIpv4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [(v4 >>> 16) & 0xffff, v4 & 0xffff];
    s = s.slice(0, lastColon + 1) + '0';
    tail.length = 2;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const g = h.split(':');
    const r: number[] = [];
    for (const x of g) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(x)) return undefined;
      r.push(parseInt(x, 16));
    }
    return r;
  };
  const head = parseGroups(halves[0]!);
  const rest = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !rest) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const all = head.length + rest.length;
    if (tail.length) {
      // the '0' placeholder stands for the first IPv4 group; the second is appended
      if (rest.length) rest.pop();
      else head.pop();
    }
    const fill = 8 - (head.length + rest.length + tail.length);
    if (fill < 1 || all > 8) return undefined;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest, ...tail];
  } else {
    if (tail.length) head.pop();
    groups = [...head, ...tail];
    if (groups.length !== 8) return undefined;
  }
  if (groups.length !== 8) return undefined;
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i]! >> 8;
    out[i * 2 + 1] = groups[i]! & 255;
  }
  return out as Ipv6;
}

/** RFC 5952 canonical text form. */
export function formatIpv6(b: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + i * 2]! << 8) | b[off + i * 2 + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

export function parseIp(s: string): { family: Family; bytes: Uint8Array } {
  const v4 = tryParseIpv4(s);
  if (v4 !== undefined) return { family: 4, bytes: ipv4ToBytes(v4) };
  const v6 = tryParseIpv6(s);
  if (v6 !== undefined) return { family: 6, bytes: v6 };
  throw new AddressError(`invalid IP address '${s}'`);
}

export function formatIp(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatIpv4(bytesToIpv4(bytes)) : formatIpv6(bytes);
}

function splitCidr(s: string): { family: Family; bytes: Uint8Array; len: number } {
  const slash = s.indexOf('/');
  if (slash < 0) throw new AddressError(`invalid prefix '${s}': missing /length`);
  const lenText = s.slice(slash + 1);
  const { family, bytes } = parseIp(s.slice(0, slash));
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
    throw new AddressError(`invalid prefix length in '${s}' (0..${max})`);
  }
  return { family, bytes, len: Number(lenText) };
}

function maskBytes(bytes: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < out.length; i++) {
    const bits = len - i * 8;
    if (bits >= 8) continue;
    out[i] = bits <= 0 ? 0 : out[i]! & (0xff << (8 - bits));
  }
  return out;
}

/** A route prefix: host bits are cleared (10.1.2.3/8 becomes 10.0.0.0/8). */
export function parsePrefix(s: string): Prefix {
  const { family, bytes, len } = splitCidr(s.trim());
  return { family, addr: maskBytes(bytes, len), len };
}

/** An interface address: host bits are kept (10.0.0.1/24 stays as written). */
export function parseCidr(s: string): Prefix {
  const { family, bytes, len } = splitCidr(s.trim());
  return { family, addr: bytes, len };
}

export function formatPrefix(p: Prefix): string {
  return `${formatIp(p.addr)}/${p.len}`;
}

/**
 * `a.b.c.d/len` written plainly (decimal, no leading zeros) as [address, len], host bits as
 * written; undefined for anything else, which parsePrefix then handles (or refuses). A fast
 * path for code that handles routes by the million (RIB, agent).
 */
export function scanIpv4Prefix(s: string): [number, number] | undefined {
  return scanIpv4(s) ? [scannedAddr, scannedLen] : undefined;
}

/** As scanIpv4Prefix, the prefix as its ipv4PrefixCode (host bits dropped), or -1: nothing allocated per call. */
export function scanIpv4PrefixCode(s: string): number {
  return scanIpv4(s) ? ipv4PrefixCode(scannedAddr, scannedLen) : -1;
}

/** scanIpv4's answer, when it returns true (module scratch: no tuple per call) */
let scannedAddr = 0;
let scannedLen = 0;

/** Is `s` a plainly written `a.b.c.d/len`? If so, its address and length are in scannedAddr/scannedLen. */
function scanIpv4(s: string): boolean {
  let v = 0, part = 0, digits = 0, dots = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return false; // leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return false;
    } else if (c === 46 && dots < 3 && digits) {
      v = v * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c === 47 && dots === 3 && digits) {
      v = v * 256 + part;
      let len = 0, ld = 0;
      for (let j = i + 1; j < n; j++) {
        const d = s.charCodeAt(j);
        if (d < 48 || d > 57 || (ld > 0 && len === 0)) return false;
        len = len * 10 + (d - 48);
        if (++ld > 2) return false;
      }
      if (!ld || len > 32) return false;
      scannedAddr = v >>> 0;
      scannedLen = len;
      return true;
    } else return false;
  }
  return false;
}

/**
 * An IPv4 prefix as one number: 2^len plus the network's top `len` bits (host bits dropped).
 * Distinct for every (network, length), a small integer up to /30, so a million routes can be
 * keyed, queued and encoded without a string or a byte array each.
 */
export function ipv4PrefixCode(addr: number, len: number): number {
  // integer shifts where they fit (a route per call, a million calls): 2 ** len is a float power
  if (len === 0) return 1;
  return (len <= 30 ? 1 << len : 2 ** len) + (addr >>> (32 - len));
}

/** The network address (host bits zero) of an ipv4PrefixCode. */
export function ipv4OfPrefixCode(code: number): number {
  const len = prefixCodeLength(code);
  if (len === 0) return 0;
  const bits = code - (len <= 30 ? 1 << len : 2 ** len);
  return (bits << (32 - len)) >>> 0;
}

/** The prefix length of an ipv4PrefixCode. */
export function prefixCodeLength(code: number): number {
  return code >= 0x100000000 ? 32 : 31 - Math.clz32(code);
}

/** The Prefix of an ipv4PrefixCode. */
export function prefixOfIpv4Code(code: number): Prefix {
  return { family: 4, addr: ipv4ToBytes(ipv4OfPrefixCode(code)), len: prefixCodeLength(code) };
}

/**
 * A route prefix from its binary parts (as agent.proto's IpPrefix carries them): the family
 * follows from the address length (4 or 16 bytes); host bits are cleared, as parsePrefix does.
 * `addr` is kept when its host bits are already clear, copied otherwise.
 */
export function makePrefix(addr: Uint8Array, len: number): Prefix {
  const n = addr.length;
  if (n !== 4 && n !== 16) throw new AddressError(`invalid prefix: ${n}-byte address (4 for IPv4, 16 for IPv6)`);
  const max = n * 8;
  if (!Number.isInteger(len) || len < 0 || len > max) throw new AddressError(`invalid prefix length ${len} (0..${max})`);
  const family: Family = n === 4 ? 4 : 6;
  for (let i = len >> 3; i < n; i++) {
    const keep = i === len >> 3 ? 0xff & (0xff << (8 - (len & 7))) : 0;
    if ((addr[i]! & ~keep & 0xff) !== 0) return { family, addr: maskBytes(addr, len), len };
  }
  return { family, addr, len };
}

/** A route prefix from text: plainly written IPv4 without a regular expression, the rest through parsePrefix. */
export function prefixOfText(s: string): Prefix {
  const code = scanIpv4PrefixCode(s);
  return code >= 0 ? prefixOfIpv4Code(code) : parsePrefix(s);
}

/**
 * A route prefix as a value, as protocols, the RIB and the FIB export carry it: an IPv4
 * prefix is its ipv4PrefixCode (a number: no string, no byte array per route); an IPv6
 * prefix its ipv6PrefixKey (18 one-byte characters: a mark, the length and the 16 address
 * bytes, host bits zero; made from bytes without formatting, read back without parsing);
 * anything else (keys that are not plain prefixes, such as a VPN route's RD:prefix) its
 * canonical text. Equal prefixes have equal keys, so it is a map key as it stands.
 */
export type PrefixKey = number | string;

/** First character of an ipv6PrefixKey: a control character no prefix text starts with. */
const V6_KEY_MARK = 6;
const V6_KEY_SCRATCH = new Uint8Array(16);

/** The PrefixKey of an IPv6 prefix from its address bytes (at `off`) and length; host bits are dropped. */
export function ipv6PrefixKey(addr: Uint8Array, len: number, off = 0): string {
  const b = V6_KEY_SCRATCH;
  for (let i = 0; i < 16; i++) {
    const bits = len - i * 8;
    b[i] = bits >= 8 ? addr[off + i]! : bits <= 0 ? 0 : addr[off + i]! & (0xff << (8 - bits));
  }
  // one call: a flat string (concatenation would make a rope to flatten at every first hash)
  return String.fromCharCode(V6_KEY_MARK, len, b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!, b[13]!, b[14]!, b[15]!);
}

/** Is this PrefixKey an ipv6PrefixKey? */
export function isIpv6PrefixKey(k: PrefixKey): boolean {
  return typeof k === 'string' && k.length === 18 && k.charCodeAt(0) === V6_KEY_MARK;
}

/** The prefix length of an ipv6PrefixKey. */
export function ipv6PrefixKeyLength(k: string): number {
  return k.charCodeAt(1);
}

/** The Prefix of an ipv6PrefixKey (a new address array). */
export function prefixOfIpv6Key(k: string): Prefix {
  const addr = new Uint8Array(16);
  for (let i = 0; i < 16; i++) addr[i] = k.charCodeAt(2 + i);
  return { family: 6, addr, len: k.charCodeAt(1) };
}

/** The family of a PrefixKey (text keys by their form). */
export function prefixKeyFamily(k: PrefixKey): Family {
  if (typeof k === 'number') return 4;
  return isIpv6PrefixKey(k) || k.includes(':') ? 6 : 4;
}

/** The key of a route prefix given as text (IPv4 as its code, IPv6 as its ipv6PrefixKey). */
export function prefixKeyOfText(s: string): PrefixKey {
  const code = scanIpv4PrefixCode(s);
  return code >= 0 ? code : prefixKeyOf(parsePrefix(s));
}

/** The key of a route prefix given as a value. */
export function prefixKeyOf(p: Prefix): PrefixKey {
  return p.family === 4 ? ipv4PrefixCode(bytesToIpv4(p.addr), p.len) : ipv6PrefixKey(p.addr, p.len);
}

/** The text of a PrefixKey, for display (`show`, logs) and for what still speaks text. */
export function prefixKeyText(k: PrefixKey): string {
  if (typeof k === 'number') return formatIpv4PrefixCode(k);
  return isIpv6PrefixKey(k) ? formatPrefix(prefixOfIpv6Key(k)) : k;
}

/** `a.b.c.d/len` of an ipv4PrefixCode. */
export function formatIpv4PrefixCode(code: number): string {
  return `${formatIpv4(ipv4OfPrefixCode(code))}/${prefixCodeLength(code)}`;
}

/** The Prefix of a PrefixKey (text keys through parsePrefix). */
export function prefixOfKey(k: PrefixKey): Prefix {
  if (typeof k === 'number') return prefixOfIpv4Code(k);
  return isIpv6PrefixKey(k) ? prefixOfIpv6Key(k) : parsePrefix(k);
}

/** The canonical text of a route prefix, for use as a map key. */
export function canonicalPrefix(s: string): string {
  return formatPrefix(parsePrefix(s));
}

export function prefixContains(p: Prefix, addr: Uint8Array): boolean {
  if (addr.length !== p.addr.length) return false;
  const m = maskBytes(addr, p.len);
  for (let i = 0; i < m.length; i++) if (m[i] !== p.addr[i]) return false;
  return true;
}

export function parseMac(s: string): Mac {
  const m = /^([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})$/.exec(s);
  if (!m) throw new AddressError(`invalid MAC address '${s}'`);
  return Uint8Array.from(m.slice(1, 7).map((x) => parseInt(x, 16))) as Mac;
}

export function formatMac(b: Uint8Array, off = 0): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + b[off + i]!.toString(16).padStart(2, '0');
  return s;
}

export const MAX_LABEL = 0xfffff;

export function parseLabel(v: number | string): Label {
  const n = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > MAX_LABEL) throw new AddressError(`invalid MPLS label '${v}' (0..${MAX_LABEL})`);
  return n as Label;
}
