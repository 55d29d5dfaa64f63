/**
 * UDP (RFC 768). The length is derived from the payload on encode and checked on decode; the
 * checksum needs the IP pseudo-header, so it travels in the value and `udpChecksum4/6`
 * compute it for a finished datagram.
 */
import { finishChecksum, onesSum, pseudoHeaderSum4, pseudoHeaderSum6 } from './checksum.js';
import { IPPROTO_UDP } from './ipv4.js';
import { type WireError, needRoom, truncated, malformed } from './errors.js';

export const UDP_HEADER_LEN = 8;

export interface UdpDatagram {
  srcPort: number;
  dstPort: number;
  /** as on the wire; 0 means "none" over IPv4 */
  checksum: number;
  /** up to the UDP length (view) */
  payload: Uint8Array;
}

export function decodeUdp(bytes: Uint8Array): UdpDatagram | WireError {
  if (bytes.length < UDP_HEADER_LEN) return truncated('udp', UDP_HEADER_LEN, bytes.length);
  const len = (bytes[4]! << 8) | bytes[5]!;
  if (len < UDP_HEADER_LEN) return malformed('udp', `length ${len} below 8`, 4);
  if (len > bytes.length) return truncated('udp', len, bytes.length, 4);
  return {
    srcPort: (bytes[0]! << 8) | bytes[1]!,
    dstPort: (bytes[2]! << 8) | bytes[3]!,
    checksum: (bytes[6]! << 8) | bytes[7]!,
    payload: bytes.subarray(UDP_HEADER_LEN, len),
  };
}

export function encodeUdp(d: UdpDatagram, buf: Uint8Array, off = 0): number {
  const len = UDP_HEADER_LEN + d.payload.length;
  if (len > 0xffff) throw new RangeError(`udp: length ${len} above 65535`);
  needRoom('udp', buf, off, len);
  buf[off] = d.srcPort >>> 8;
  buf[off + 1] = d.srcPort & 0xff;
  buf[off + 2] = d.dstPort >>> 8;
  buf[off + 3] = d.dstPort & 0xff;
  buf[off + 4] = len >>> 8;
  buf[off + 5] = len & 0xff;
  buf[off + 6] = d.checksum >>> 8;
  buf[off + 7] = d.checksum & 0xff;
  buf.set(d.payload, off + UDP_HEADER_LEN);
  return off + len;
}

/**
 * The checksum of the encoded datagram buf[off..off+len) (its checksum field taken as 0) over
 * IPv4; 0 is sent as 0xffff (RFC 768). Write it at off+6.
 */
export function udpChecksum4(buf: Uint8Array, off: number, len: number, src: number, dst: number): number {
  const sum = pseudoHeaderSum4(src, dst, IPPROTO_UDP, len) + onesSum(buf, off, len) - ((buf[off + 6]! << 8) | buf[off + 7]!);
  return finishChecksum(sum) || 0xffff;
}

export function udpChecksum6(buf: Uint8Array, off: number, len: number, src: Uint8Array, dst: Uint8Array): number {
  const sum = pseudoHeaderSum6(src, dst, IPPROTO_UDP, len) + onesSum(buf, off, len) - ((buf[off + 6]! << 8) | buf[off + 7]!);
  return finishChecksum(sum) || 0xffff;
}

/** Compute and store the checksum of an encoded datagram. */
export function fillUdpChecksum(buf: Uint8Array, off: number, len: number, src: number | Uint8Array, dst: number | Uint8Array): void {
  const c = typeof src === 'number' ? udpChecksum4(buf, off, len, src, dst as number) : udpChecksum6(buf, off, len, src, dst as Uint8Array);
  buf[off + 6] = c >>> 8;
  buf[off + 7] = c & 0xff;
}
