/**
 * NLRI prefixes (RFC 4271 section 4.3, RFC 4760, RFC 7911 path identifiers). A receiving
 * session decodes unicast prefixes as values, the keys BGP's Loc-RIB, the RIB and the FIB
 * export use (lib/addr PrefixKey): IPv4 as ipv4PrefixCodes (decodeIpv4PrefixCodes, numbers),
 * IPv6 as ipv6PrefixKeys. Labeled and VPN prefixes, and decoding for tools and tests, are
 * canonical text (`10.0.0.0/8`, `2001:db8::/32`), built directly from the wire bytes.
 */
import { formatIpv6, ipv4PrefixCode, ipv6PrefixKey } from '../../lib/addr.js';

/** A decoded list of prefixes with optional path identifiers (add-path), side by side. */
export interface PrefixList {
  readonly prefixes: string[];
  /** present only when the NLRI carried path identifiers */
  readonly pathIds?: number[];
}

const V6_SCRATCH = new Uint8Array(16);

/**
 * Prefix text is written as bytes and turned into one flat string: a template literal would
 * make a rope of ten pieces, which costs twice the memory as a map key and must be
 * flattened on every first hash.
 */
const TEXT = typeof Buffer !== 'undefined' ? Buffer.alloc(64) : new Uint8Array(64);
// Buffer's latin1Slice is the fastest way from bytes to a flat one-byte string
const latin1 = TEXT as unknown as { latin1Slice?: (start: number, end: number) => string };
const toText: (n: number) => string =
  typeof latin1.latin1Slice === 'function' ? (n) => latin1.latin1Slice!(0, n) : (n) => String.fromCharCode.apply(null, Array.from(TEXT.subarray(0, n)));

/** Bytes as a one-byte-per-char string (a map key). */
export function bytesKey(b: Uint8Array): string {
  if (typeof Buffer !== 'undefined') return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function putDecimal(at: number, v: number): number {
  if (v >= 100) TEXT[at++] = 48 + ((v / 100) | 0);
  if (v >= 10) TEXT[at++] = 48 + (((v / 10) | 0) % 10);
  TEXT[at++] = 48 + (v % 10);
  return at;
}

/** `a.b.c.d/len` as a flat string. */
export function ipv4PrefixText(v: number, len: number): string {
  let p = putDecimal(0, v >>> 24);
  TEXT[p++] = 46;
  p = putDecimal(p, (v >>> 16) & 255);
  TEXT[p++] = 46;
  p = putDecimal(p, (v >>> 8) & 255);
  TEXT[p++] = 46;
  p = putDecimal(p, v & 255);
  TEXT[p++] = 47;
  return toText(putDecimal(p, len));
}

function ipv6PrefixText(addr: Uint8Array, len: number): string {
  const a = formatIpv6(addr);
  let p = 0;
  for (; p < a.length; p++) TEXT[p] = a.charCodeAt(p);
  TEXT[p++] = 47;
  return toText(putDecimal(p, len));
}

/** An add-path identifier (RFC 7911) at b[i]; returns the next offset, or -1 when truncated. */
function readPathId(b: Uint8Array, i: number, end: number, ids: number[]): number {
  if (i + 4 > end) return -1;
  ids.push(((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0);
  return i + 4;
}

/**
 * Decode prefixes of one family from b[start..end). Returns undefined on success (filling
 * `out`) or the reason the field is malformed (RFC 7606 section 5.3). With `v6Keys`, IPv6
 * prefixes are values (lib/addr ipv6PrefixKey, made from the bytes), not text.
 */
export function decodePrefixes(b: Uint8Array, start: number, end: number, afi: number, addPath: boolean, out: string[], ids: number[] | undefined, v6Keys = false): string | undefined {
  const max = afi === 1 ? 32 : 128;
  let i = start;
  while (i < end) {
    if (addPath) {
      i = readPathId(b, i, end, ids!);
      if (i < 0) return 'truncated path identifier';
    }
    if (i >= end) return 'truncated prefix';
    const len = b[i++]!;
    if (len > max) return `prefix length ${len} exceeds ${max}`;
    const n = (len + 7) >> 3;
    if (i + n > end) return 'prefix overruns the field';
    if (afi === 1) {
      let v = 0;
      for (let k = 0; k < 4; k++) v = (v << 8) | (k < n ? b[i + k]! : 0);
      if (len < 32) v &= len === 0 ? 0 : ~0 << (32 - len);
      out.push(ipv4PrefixText(v >>> 0, len));
    } else if (v6Keys) {
      out.push(ipv6PrefixKey(b, len, i));
    } else {
      V6_SCRATCH.fill(0);
      for (let k = 0; k < n; k++) V6_SCRATCH[k] = b[i + k]!;
      const rem = len & 7;
      if (rem) V6_SCRATCH[n - 1]! &= 0xff << (8 - rem);
      out.push(ipv6PrefixText(V6_SCRATCH, len));
    }
    i += n;
  }
  return undefined;
}

/**
 * Decode IPv4 prefixes from b[start..end) as values: each an ipv4PrefixCode (lib/addr:
 * 2^len + the network bits), a number, so a received prefix costs no string and no object
 * on its way to the RIB and the FIB export. Returns undefined or the reason the field is
 * malformed, as decodePrefixes.
 */
export function decodeIpv4PrefixCodes(b: Uint8Array, start: number, end: number, addPath: boolean, out: number[], ids: number[] | undefined): string | undefined {
  let i = start;
  while (i < end) {
    if (addPath) {
      i = readPathId(b, i, end, ids!);
      if (i < 0) return 'truncated path identifier';
    }
    if (i >= end) return 'truncated prefix';
    const len = b[i++]!;
    if (len > 32) return `prefix length ${len} exceeds 32`;
    const n = (len + 7) >> 3;
    if (i + n > end) return 'prefix overruns the field';
    let v = 0;
    for (let k = 0; k < 4; k++) v = (v << 8) | (k < n ? b[i + k]! : 0);
    // (ipv4PrefixCode drops host bits a sender left set)
    out.push(ipv4PrefixCode(v >>> 0, len));
    i += n;
  }
  return undefined;
}

/**
 * decodeIpv4PrefixCodes without path identifiers, into a list of exactly the field's
 * prefixes (one list per field: pushed into, a list of five prefixes took a backing store
 * of seventeen); the reason the field is malformed instead, as decodeIpv4PrefixCodes says it.
 */
export function ipv4PrefixCodeList(b: Uint8Array, start: number, end: number): number[] | string {
  let n = 0;
  for (let i = start; i < end; n++) {
    const len = b[i++]!;
    if (len > 32) return `prefix length ${len} exceeds 32`;
    i += (len + 7) >> 3;
    if (i > end) return 'prefix overruns the field';
  }
  const out = new Array<number>(n);
  for (let i = start, k = 0; k < n; k++) {
    const len = b[i++]!;
    const m = (len + 7) >> 3;
    let v = 0;
    for (let j = 0; j < 4; j++) v = (v << 8) | (j < m ? b[i + j]! : 0);
    out[k] = ipv4PrefixCode(v >>> 0, len);
    i += m;
  }
  return out;
}

/** Parse canonical IPv4 prefix text quickly into (address, length); -1 length when invalid. */
export function parseV4PrefixFast(s: string): { addr: number; len: number } {
  let addr = 0;
  let octet = 0;
  let dots = 0;
  let i = 0;
  let digits = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return { addr: 0, len: -1 };
    } else if (c === 46 && digits) {
      addr = (addr << 8) | octet;
      octet = 0;
      digits = 0;
      if (++dots > 3) return { addr: 0, len: -1 };
    } else if (c === 47 && dots === 3 && digits) {
      addr = ((addr << 8) | octet) >>> 0;
      const len = Number(s.slice(i + 1));
      if (!Number.isInteger(len) || len < 0 || len > 32) return { addr: 0, len: -1 };
      return { addr, len };
    } else return { addr: 0, len: -1 };
  }
  return { addr: 0, len: -1 };
}

/** Bytes one prefix takes on the wire (without a path identifier). */
export function prefixWireLength(prefix: string): number {
  const slash = prefix.lastIndexOf('/');
  return 1 + ((Number(prefix.slice(slash + 1)) + 7) >> 3);
}

/** Route distinguisher text (RFC 4364 section 4.2): `65000:1`, `10.0.0.1:1`, `4200000000L:1`. */
export function formatRd(b: Uint8Array, i: number): string {
  const type = (b[i]! << 8) | b[i + 1]!;
  const u32 = (j: number) => ((b[j]! << 24) | (b[j + 1]! << 16) | (b[j + 2]! << 8) | b[j + 3]!) >>> 0;
  const u16 = (j: number) => (b[j]! << 8) | b[j + 1]!;
  if (type === 0) return `${u16(i + 2)}:${u32(i + 4)}`;
  if (type === 1) return `${b[i + 2]}.${b[i + 3]}.${b[i + 4]}.${b[i + 5]}:${u16(i + 6)}`;
  if (type === 2) return `${u32(i + 2)}L:${u16(i + 6)}`;
  let s = `type${type}:`;
  for (let k = 2; k < 8; k++) s += b[i + k]!.toString(16).padStart(2, '0');
  return s;
}

/** Parse route distinguisher text into 8 bytes at `out[off]`; false when it is not one. */
export function writeRd(text: string, out: Uint8Array, off: number): boolean {
  const m = /^(.+):(\d+)$/.exec(text);
  if (!m) return false;
  const dv = new DataView(out.buffer, out.byteOffset + off, 8);
  const admin = m[1]!;
  const num = Number(m[2]);
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(admin);
  if (v4) {
    if (num > 0xffff || v4.slice(1).some((x) => Number(x) > 255)) return false;
    dv.setUint16(0, 1);
    for (let k = 0; k < 4; k++) dv.setUint8(2 + k, Number(v4[k + 1]));
    dv.setUint16(6, num);
    return true;
  }
  const asn = /^(\d+)(L?)$/.exec(admin);
  if (!asn) return false;
  const a = Number(asn[1]);
  if (asn[2] || a > 0xffff) {
    if (a > 0xffffffff || num > 0xffff) return false;
    dv.setUint16(0, 2);
    dv.setUint32(2, a);
    dv.setUint16(6, num);
    return true;
  }
  if (num > 0xffffffff) return false;
  dv.setUint16(0, 0);
  dv.setUint16(2, a);
  dv.setUint32(4, num);
  return true;
}

/** Labels and route distinguishers that travel beside labeled (SAFI 4) and VPN (SAFI 128) prefixes. */
export interface LabeledExtras {
  /** label stack per prefix (20-bit values, outermost first) */
  readonly labels: number[][];
  /** route distinguisher per prefix (VPN only) */
  readonly rds?: string[];
}

/**
 * Decode labeled unicast (RFC 8277) or VPN (RFC 4364) NLRI: a length in bits covering
 * labels, RD and prefix; labels until the bottom-of-stack bit (one label in a withdrawal,
 * whose label field carries no meaning).
 */
export function decodeLabeledPrefixes(
  b: Uint8Array,
  start: number,
  end: number,
  afi: number,
  vpn: boolean,
  withdraw: boolean,
  addPath: boolean,
  out: string[],
  ids: number[] | undefined,
  extras: LabeledExtras,
): string | undefined {
  const max = afi === 1 ? 32 : 128;
  let i = start;
  while (i < end) {
    if (addPath) {
      i = readPathId(b, i, end, ids!);
      if (i < 0) return 'truncated path identifier';
    }
    if (i >= end) return 'truncated prefix';
    let bits = b[i++]!;
    const stack: number[] = [];
    for (;;) {
      if (bits < 24 || i + 3 > end) return 'truncated label';
      const l = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
      i += 3;
      bits -= 24;
      stack.push(l >>> 4);
      if (withdraw || l & 1 || l === 0x800000) break;
      if (stack.length > 8) return 'label stack without bottom of stack';
    }
    extras.labels.push(stack);
    if (vpn) {
      if (bits < 64 || i + 8 > end) return 'truncated route distinguisher';
      extras.rds!.push(formatRd(b, i));
      i += 8;
      bits -= 64;
    }
    if (bits > max) return `prefix length ${bits} exceeds ${max}`;
    const n = (bits + 7) >> 3;
    if (i + n > end) return 'prefix overruns the field';
    const one = [] as string[];
    const bad = decodePrefixes(Uint8Array.of(bits, ...b.subarray(i, i + n)), 0, n + 1, afi, false, one, undefined);
    if (bad) return bad;
    out.push(one[0]!);
    i += n;
  }
  return undefined;
}
