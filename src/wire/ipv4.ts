/**
 * IPv4 headers (RFC 791). Decoding checks version, IHL, total length and the header checksum;
 * the payload is cut at the total length, so Ethernet padding after a short packet is not
 * mistaken for data. Encoding computes total length and checksum.
 */
import { internetChecksum } from './checksum.js';
import { WireError, needRoom, truncated, malformed } from './errors.js';

export const IPV4_MIN_HEADER = 20;
export const IPV4_MAX_HEADER = 60;

export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_GRE = 47;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;
export const IPPROTO_MPLS = 137;

export interface Ipv4Packet {
  /** DSCP (6 bits) and ECN (2 bits) as one byte */
  tos: number;
  id: number;
  /** don't fragment */
  df: boolean;
  /** more fragments */
  mf: boolean;
  /** fragment offset in 8-byte units */
  fragOffset: number;
  ttl: number;
  protocol: number;
  src: number;
  dst: number;
  /** raw options, a multiple of 4 bytes long (view) */
  options: Uint8Array;
  /** the bytes after the header up to total length (view) */
  payload: Uint8Array;
}

export interface Ipv4DecodeOptions {
  /** default true: a wrong header checksum is an error */
  verifyChecksum?: boolean;
}

export function decodeIpv4(bytes: Uint8Array, opts: Ipv4DecodeOptions = {}): Ipv4Packet | WireError {
  if (bytes.length < IPV4_MIN_HEADER) return truncated('ipv4', IPV4_MIN_HEADER, bytes.length);
  const version = bytes[0]! >>> 4;
  if (version !== 4) return malformed('ipv4', `version ${version}`);
  const hl = (bytes[0]! & 0x0f) * 4;
  if (hl < IPV4_MIN_HEADER) return malformed('ipv4', `IHL ${hl / 4} below 5`);
  if (bytes.length < hl) return truncated('ipv4', hl, bytes.length);
  const total = (bytes[2]! << 8) | bytes[3]!;
  if (total < hl) return malformed('ipv4', `total length ${total} shorter than header ${hl}`, 2);
  if (total > bytes.length) return truncated('ipv4', total, bytes.length, 2);
  if (opts.verifyChecksum !== false && internetChecksum(bytes, 0, hl) !== 0) return new WireError('ipv4', 'bad_checksum', 'header checksum mismatch', 10);
  const frag = (bytes[6]! << 8) | bytes[7]!;
  if (frag & 0x8000) return malformed('ipv4', 'reserved flag set', 6);
  return {
    tos: bytes[1]!,
    id: (bytes[4]! << 8) | bytes[5]!,
    df: (frag & 0x4000) !== 0,
    mf: (frag & 0x2000) !== 0,
    fragOffset: frag & 0x1fff,
    ttl: bytes[8]!,
    protocol: bytes[9]!,
    src: ((bytes[12]! << 24) | (bytes[13]! << 16) | (bytes[14]! << 8) | bytes[15]!) >>> 0,
    dst: ((bytes[16]! << 24) | (bytes[17]! << 16) | (bytes[18]! << 8) | bytes[19]!) >>> 0,
    options: bytes.subarray(IPV4_MIN_HEADER, hl),
    payload: bytes.subarray(hl, total),
  };
}

/** Write header and payload at buf[off] with computed IHL, total length and checksum; returns the end offset. */
export function encodeIpv4(p: Ipv4Packet, buf: Uint8Array, off = 0): number {
  if (p.options.length % 4 !== 0 || p.options.length > IPV4_MAX_HEADER - IPV4_MIN_HEADER) {
    throw new RangeError(`ipv4: options length ${p.options.length} is not a multiple of 4 up to 40`);
  }
  const hl = IPV4_MIN_HEADER + p.options.length;
  const total = hl + p.payload.length;
  if (total > 0xffff) throw new RangeError(`ipv4: total length ${total} above 65535`);
  needRoom('ipv4', buf, off, total);
  const v = new DataView(buf.buffer, buf.byteOffset + off, hl);
  v.setUint8(0, 0x40 | (hl / 4));
  v.setUint8(1, p.tos);
  v.setUint16(2, total);
  v.setUint16(4, p.id);
  v.setUint16(6, (p.df ? 0x4000 : 0) | (p.mf ? 0x2000 : 0) | (p.fragOffset & 0x1fff));
  v.setUint8(8, p.ttl);
  v.setUint8(9, p.protocol);
  v.setUint16(10, 0);
  v.setUint32(12, p.src >>> 0);
  v.setUint32(16, p.dst >>> 0);
  buf.set(p.options, off + IPV4_MIN_HEADER);
  v.setUint16(10, internetChecksum(buf, off, hl));
  buf.set(p.payload, off + hl);
  return off + total;
}
