/**
 * GRE (RFC 2784 with the key and sequence number extensions of RFC 2890): a 4-byte header,
 * then optional checksum (+reserved), key and sequence number words, then the payload whose
 * EtherType the header names (0x0800 IPv4, 0x86dd IPv6, 0x8847 MPLS). Only version 0.
 */
import { internetChecksum } from './checksum.js';
import { WireError, needRoom, truncated, malformed } from './errors.js';

export const GRE_MIN_HEADER = 4;

export interface GrePacket {
  /** EtherType of the payload */
  protocol: number;
  /** present when the C bit is set; encode computes the value */
  checksum: boolean;
  key?: number;
  seq?: number;
  payload: Uint8Array;
}

export function greHeaderLength(p: Pick<GrePacket, 'checksum' | 'key' | 'seq'>): number {
  return GRE_MIN_HEADER + (p.checksum ? 4 : 0) + (p.key !== undefined ? 4 : 0) + (p.seq !== undefined ? 4 : 0);
}

export function decodeGre(bytes: Uint8Array, opts: { verifyChecksum?: boolean } = {}): GrePacket | WireError {
  if (bytes.length < GRE_MIN_HEADER) return truncated('gre', GRE_MIN_HEADER, bytes.length);
  const flags = (bytes[0]! << 8) | bytes[1]!;
  const c = (flags & 0x8000) !== 0;
  const k = (flags & 0x2000) !== 0;
  const s = (flags & 0x1000) !== 0;
  if ((flags & 0x4fff) !== 0) return malformed('gre', `reserved bits or version set (0x${flags.toString(16)})`);
  const hl = GRE_MIN_HEADER + (c ? 4 : 0) + (k ? 4 : 0) + (s ? 4 : 0);
  if (bytes.length < hl) return truncated('gre', hl, bytes.length);
  if (c && opts.verifyChecksum !== false && internetChecksum(bytes) !== 0) return new WireError('gre', 'bad_checksum', 'checksum mismatch', 4);
  const u32 = (o: number): number => ((bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!) >>> 0;
  let off = GRE_MIN_HEADER + (c ? 4 : 0);
  const p: GrePacket = { protocol: (bytes[2]! << 8) | bytes[3]!, checksum: c, payload: bytes.subarray(hl) };
  if (k) {
    p.key = u32(off);
    off += 4;
  }
  if (s) p.seq = u32(off);
  return p;
}

export function encodeGre(p: GrePacket, buf: Uint8Array, off = 0): number {
  const hl = greHeaderLength(p);
  const n = hl + p.payload.length;
  needRoom('gre', buf, off, n);
  const v = new DataView(buf.buffer, buf.byteOffset + off, hl);
  v.setUint16(0, (p.checksum ? 0x8000 : 0) | (p.key !== undefined ? 0x2000 : 0) | (p.seq !== undefined ? 0x1000 : 0));
  v.setUint16(2, p.protocol);
  let o = GRE_MIN_HEADER;
  if (p.checksum) {
    v.setUint32(o, 0);
    o += 4;
  }
  if (p.key !== undefined) {
    v.setUint32(o, p.key >>> 0);
    o += 4;
  }
  if (p.seq !== undefined) v.setUint32(o, p.seq >>> 0);
  buf.set(p.payload, off + hl);
  if (p.checksum) {
    const c = internetChecksum(buf, off, n);
    v.setUint16(4, c);
  }
  return off + n;
}
