/**
 * ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861). The checksum covers the IPv6
 * pseudo-header, so it travels in the message value and `icmpv6Checksum` computes it.
 * NDP messages decode into typed values with their options; unknown options are kept raw.
 */
import { finishChecksum, onesSum, pseudoHeaderSum6 } from './checksum.js';
import { IPPROTO_ICMPV6 } from './ipv4.js';
import { WireError, needRoom, truncated, malformed } from './errors.js';

export const ICMPV6_HEADER_LEN = 4;

export const ICMPV6_DEST_UNREACH = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAM_PROBLEM = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ND_ROUTER_SOLICIT = 133;
export const ND_ROUTER_ADVERT = 134;
export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;

export const ICMPV6_UNREACH_NO_ROUTE = 0;
export const ICMPV6_UNREACH_ADMIN = 1;
export const ICMPV6_UNREACH_ADDR = 3;
export const ICMPV6_UNREACH_PORT = 4;
export const ICMPV6_EXC_HOPLIMIT = 0;

/** RFC 4443 2.4(c): an error message must not exceed the minimum IPv6 MTU. */
export const ICMPV6_ERROR_MAX_LEN = 1280;

export const ND_OPT_SOURCE_LLADDR = 1;
export const ND_OPT_TARGET_LLADDR = 2;
export const ND_OPT_PREFIX_INFO = 3;
export const ND_OPT_MTU = 5;

export interface Icmpv6Message {
  type: number;
  code: number;
  checksum: number;
  /** everything after the 4-byte type/code/checksum header (view) */
  body: Uint8Array;
}

export function decodeIcmpv6(bytes: Uint8Array): Icmpv6Message | WireError {
  if (bytes.length < ICMPV6_HEADER_LEN) return truncated('icmpv6', ICMPV6_HEADER_LEN, bytes.length);
  return { type: bytes[0]!, code: bytes[1]!, checksum: (bytes[2]! << 8) | bytes[3]!, body: bytes.subarray(ICMPV6_HEADER_LEN) };
}

export function encodeIcmpv6(m: Icmpv6Message, buf: Uint8Array, off = 0): number {
  needRoom('icmpv6', buf, off, ICMPV6_HEADER_LEN + m.body.length);
  buf[off] = m.type;
  buf[off + 1] = m.code;
  buf[off + 2] = m.checksum >>> 8;
  buf[off + 3] = m.checksum & 0xff;
  buf.set(m.body, off + ICMPV6_HEADER_LEN);
  return off + ICMPV6_HEADER_LEN + m.body.length;
}

/** The checksum of the encoded message buf[off..off+len) (its checksum field taken as 0). */
export function icmpv6Checksum(buf: Uint8Array, off: number, len: number, src: Uint8Array, dst: Uint8Array): number {
  return finishChecksum(pseudoHeaderSum6(src, dst, IPPROTO_ICMPV6, len) + onesSum(buf, off, len) - ((buf[off + 2]! << 8) | buf[off + 3]!));
}

export function fillIcmpv6Checksum(buf: Uint8Array, off: number, len: number, src: Uint8Array, dst: Uint8Array): void {
  const c = icmpv6Checksum(buf, off, len, src, dst);
  buf[off + 2] = c >>> 8;
  buf[off + 3] = c & 0xff;
}

// ---- Neighbor Discovery options ----

export interface PrefixInfo {
  prefixLength: number;
  onLink: boolean;
  autonomous: boolean;
  validLifetime: number;
  preferredLifetime: number;
  /** 16 bytes (view) */
  prefix: Uint8Array;
}

export type NdOption =
  | { type: typeof ND_OPT_SOURCE_LLADDR | typeof ND_OPT_TARGET_LLADDR; lladdr: Uint8Array }
  | { type: typeof ND_OPT_PREFIX_INFO; prefix: PrefixInfo }
  | { type: typeof ND_OPT_MTU; mtu: number }
  /** any other option: its bytes after type and length (view) */
  | { type: number; raw: Uint8Array };

export function decodeNdOptions(bytes: Uint8Array, base = 0): NdOption[] | WireError {
  const opts: NdOption[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (bytes.length < off + 2) return truncated('ndp', off + 2, bytes.length, base + off);
    const type = bytes[off]!;
    const len = bytes[off + 1]! * 8;
    if (len === 0) return malformed('ndp', `option ${type} with length 0`, base + off); // RFC 4861 4.6: discard
    if (bytes.length < off + len) return truncated('ndp', off + len, bytes.length, base + off);
    const o = bytes.subarray(off, off + len);
    if ((type === ND_OPT_SOURCE_LLADDR || type === ND_OPT_TARGET_LLADDR) && len === 8) {
      opts.push({ type, lladdr: o.subarray(2, 8) });
    } else if (type === ND_OPT_PREFIX_INFO) {
      if (len !== 32) return malformed('ndp', `prefix information option length ${len}`, base + off);
      const v = new DataView(o.buffer, o.byteOffset, len);
      opts.push({
        type,
        prefix: {
          prefixLength: o[2]!,
          onLink: (o[3]! & 0x80) !== 0,
          autonomous: (o[3]! & 0x40) !== 0,
          validLifetime: v.getUint32(4),
          preferredLifetime: v.getUint32(8),
          prefix: o.subarray(16, 32),
        },
      });
    } else if (type === ND_OPT_MTU && len === 8) {
      opts.push({ type, mtu: new DataView(o.buffer, o.byteOffset, 8).getUint32(4) });
    } else {
      opts.push({ type, raw: o.subarray(2) });
    }
    off += len;
  }
  return opts;
}

function ndOptionLength(o: NdOption): number {
  if ('lladdr' in o) return 8;
  if ('prefix' in o) return 32;
  if ('mtu' in o) return 8;
  return (o.raw.length + 2 + 7) & ~7;
}

export function encodeNdOptions(opts: NdOption[], buf: Uint8Array, off: number): number {
  for (const o of opts) {
    const len = ndOptionLength(o);
    needRoom('ndp', buf, off, len);
    buf.fill(0, off, off + len);
    buf[off] = o.type;
    buf[off + 1] = len / 8;
    if ('lladdr' in o) buf.set(o.lladdr.subarray(0, 6), off + 2);
    else if ('prefix' in o) {
      const p = o.prefix;
      const v = new DataView(buf.buffer, buf.byteOffset + off, len);
      v.setUint8(2, p.prefixLength);
      v.setUint8(3, (p.onLink ? 0x80 : 0) | (p.autonomous ? 0x40 : 0));
      v.setUint32(4, p.validLifetime >>> 0);
      v.setUint32(8, p.preferredLifetime >>> 0);
      buf.set(p.prefix.subarray(0, 16), off + 16);
    } else if ('mtu' in o) new DataView(buf.buffer, buf.byteOffset + off, len).setUint32(4, o.mtu >>> 0);
    else buf.set(o.raw, off + 2);
    off += len;
  }
  return off;
}

// ---- Neighbor Discovery messages (the body after the 4-byte ICMPv6 header) ----

export interface NeighborSolicit {
  /** 16 bytes (view) */
  target: Uint8Array;
  options: NdOption[];
}

export interface NeighborAdvert {
  router: boolean;
  solicited: boolean;
  override: boolean;
  target: Uint8Array;
  options: NdOption[];
}

export interface RouterSolicit {
  options: NdOption[];
}

export interface RouterAdvert {
  curHopLimit: number;
  managed: boolean;
  other: boolean;
  /** the low six flag bits as sent: home agent (0x20), router preference (0x18, RFC 4191), proxy (0x04) */
  extraFlags: number;
  /** seconds */
  routerLifetime: number;
  /** milliseconds */
  reachableTime: number;
  retransTimer: number;
  options: NdOption[];
}

function withOptions<T extends object>(fixed: T, body: Uint8Array, at: number): (T & { options: NdOption[] }) | WireError {
  const options = decodeNdOptions(body.subarray(at), ICMPV6_HEADER_LEN + at);
  if (options instanceof WireError) return options;
  return { ...fixed, options };
}

/** RFC 4861 7.1.1: NS must have code 0, be at least 24 bytes, and not target a multicast address. */
export function decodeNeighborSolicit(m: Icmpv6Message): NeighborSolicit | WireError {
  if (m.type !== ND_NEIGHBOR_SOLICIT || m.code !== 0) return malformed('ndp', `type ${m.type} code ${m.code} is not a neighbor solicitation`);
  if (m.body.length < 20) return truncated('ndp', 24, m.body.length + 4);
  const target = m.body.subarray(4, 20);
  if (target[0] === 0xff) return malformed('ndp', 'multicast target', 8);
  return withOptions({ target }, m.body, 20);
}

export function decodeNeighborAdvert(m: Icmpv6Message): NeighborAdvert | WireError {
  if (m.type !== ND_NEIGHBOR_ADVERT || m.code !== 0) return malformed('ndp', `type ${m.type} code ${m.code} is not a neighbor advertisement`);
  if (m.body.length < 20) return truncated('ndp', 24, m.body.length + 4);
  const f = m.body[0]!;
  const target = m.body.subarray(4, 20);
  if (target[0] === 0xff) return malformed('ndp', 'multicast target', 8);
  return withOptions({ router: (f & 0x80) !== 0, solicited: (f & 0x40) !== 0, override: (f & 0x20) !== 0, target }, m.body, 20);
}

export function decodeRouterSolicit(m: Icmpv6Message): RouterSolicit | WireError {
  if (m.type !== ND_ROUTER_SOLICIT || m.code !== 0) return malformed('ndp', `type ${m.type} code ${m.code} is not a router solicitation`);
  if (m.body.length < 4) return truncated('ndp', 8, m.body.length + 4);
  return withOptions({}, m.body, 4);
}

export function decodeRouterAdvert(m: Icmpv6Message): RouterAdvert | WireError {
  if (m.type !== ND_ROUTER_ADVERT || m.code !== 0) return malformed('ndp', `type ${m.type} code ${m.code} is not a router advertisement`);
  if (m.body.length < 12) return truncated('ndp', 16, m.body.length + 4);
  const b = m.body;
  const v = new DataView(b.buffer, b.byteOffset, 12);
  return withOptions(
    {
      curHopLimit: b[0]!,
      managed: (b[1]! & 0x80) !== 0,
      other: (b[1]! & 0x40) !== 0,
      extraFlags: b[1]! & 0x3f,
      routerLifetime: v.getUint16(2),
      reachableTime: v.getUint32(4),
      retransTimer: v.getUint32(8),
    },
    b,
    12,
  );
}

/** Encode an NDP message body (after the ICMPv6 header) into a fresh array, for encodeIcmpv6. */
export function encodeNeighborSolicit(ns: NeighborSolicit): Uint8Array {
  return encodeNd(20, ns.options, (b) => b.set(ns.target.subarray(0, 16), 4));
}

export function encodeNeighborAdvert(na: NeighborAdvert): Uint8Array {
  return encodeNd(20, na.options, (b) => {
    b[0] = (na.router ? 0x80 : 0) | (na.solicited ? 0x40 : 0) | (na.override ? 0x20 : 0);
    b.set(na.target.subarray(0, 16), 4);
  });
}

export function encodeRouterSolicit(rs: RouterSolicit): Uint8Array {
  return encodeNd(4, rs.options, () => {});
}

export function encodeRouterAdvert(ra: RouterAdvert): Uint8Array {
  return encodeNd(12, ra.options, (b) => {
    const v = new DataView(b.buffer, b.byteOffset, 12);
    v.setUint8(0, ra.curHopLimit);
    v.setUint8(1, (ra.managed ? 0x80 : 0) | (ra.other ? 0x40 : 0) | (ra.extraFlags & 0x3f));
    v.setUint16(2, ra.routerLifetime);
    v.setUint32(4, ra.reachableTime >>> 0);
    v.setUint32(8, ra.retransTimer >>> 0);
  });
}

function encodeNd(fixed: number, options: NdOption[], fill: (b: Uint8Array) => void): Uint8Array {
  const b = new Uint8Array(fixed + options.reduce((n, o) => n + ndOptionLength(o), 0));
  fill(b);
  encodeNdOptions(options, b, fixed);
  return b;
}
