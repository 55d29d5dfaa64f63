/** TCP headers (RFC 9293), header only: the data plane needs ports and flags for hashing and ACLs, never a TCP state machine. */
import { finishChecksum, onesSum, pseudoHeaderSum4, pseudoHeaderSum6 } from './checksum.js';
import { IPPROTO_TCP } from './ipv4.js';
import { type WireError, needRoom, truncated, malformed } from './errors.js';

export const TCP_MIN_HEADER = 20;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** the 8 flag bits (FIN..CWR) */
  flags: number;
  window: number;
  checksum: number;
  urgent: number;
  /** raw options (view), a multiple of 4 bytes */
  options: Uint8Array;
  payload: Uint8Array;
}

export function decodeTcp(bytes: Uint8Array): TcpSegment | WireError {
  if (bytes.length < TCP_MIN_HEADER) return truncated('tcp', TCP_MIN_HEADER, bytes.length);
  const hl = (bytes[12]! >>> 4) * 4;
  if (hl < TCP_MIN_HEADER) return malformed('tcp', `data offset ${hl / 4} below 5`, 12);
  if (hl > bytes.length) return truncated('tcp', hl, bytes.length, 12);
  const u32 = (o: number): number => ((bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!) >>> 0;
  return {
    srcPort: (bytes[0]! << 8) | bytes[1]!,
    dstPort: (bytes[2]! << 8) | bytes[3]!,
    seq: u32(4),
    ack: u32(8),
    flags: bytes[13]!,
    window: (bytes[14]! << 8) | bytes[15]!,
    checksum: (bytes[16]! << 8) | bytes[17]!,
    urgent: (bytes[18]! << 8) | bytes[19]!,
    options: bytes.subarray(TCP_MIN_HEADER, hl),
    payload: bytes.subarray(hl),
  };
}

export function encodeTcp(s: TcpSegment, buf: Uint8Array, off = 0): number {
  if (s.options.length % 4 !== 0 || s.options.length > 40) throw new RangeError(`tcp: options length ${s.options.length} is not a multiple of 4 up to 40`);
  const hl = TCP_MIN_HEADER + s.options.length;
  needRoom('tcp', buf, off, hl + s.payload.length);
  const v = new DataView(buf.buffer, buf.byteOffset + off, hl);
  v.setUint16(0, s.srcPort);
  v.setUint16(2, s.dstPort);
  v.setUint32(4, s.seq >>> 0);
  v.setUint32(8, s.ack >>> 0);
  v.setUint8(12, (hl / 4) << 4);
  v.setUint8(13, s.flags);
  v.setUint16(14, s.window);
  v.setUint16(16, s.checksum);
  v.setUint16(18, s.urgent);
  buf.set(s.options, off + TCP_MIN_HEADER);
  buf.set(s.payload, off + hl);
  return off + hl + s.payload.length;
}

/** The checksum of the encoded segment buf[off..off+len) (its checksum field taken as 0). */
export function tcpChecksum(buf: Uint8Array, off: number, len: number, src: number | Uint8Array, dst: number | Uint8Array): number {
  const ph = typeof src === 'number' ? pseudoHeaderSum4(src, dst as number, IPPROTO_TCP, len) : pseudoHeaderSum6(src, dst as Uint8Array, IPPROTO_TCP, len);
  return finishChecksum(ph + onesSum(buf, off, len) - ((buf[off + 16]! << 8) | buf[off + 17]!));
}
