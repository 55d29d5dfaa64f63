/** ICMP for IPv4 (RFC 792, RFC 1191): a 4-byte type/code/checksum header, 4 bytes of "rest of header", then a body. */
import { internetChecksum } from './checksum.js';
import { WireError, needRoom, truncated } from './errors.js';

export const ICMP_HEADER_LEN = 8;

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;

export const ICMP_UNREACH_NET = 0;
export const ICMP_UNREACH_HOST = 1;
export const ICMP_UNREACH_PROTOCOL = 2;
export const ICMP_UNREACH_PORT = 3;
/** "fragmentation needed and DF set": rest-of-header carries the next-hop MTU in its low 16 bits */
export const ICMP_UNREACH_NEEDFRAG = 4;
export const ICMP_UNREACH_ADMIN = 13;
export const ICMP_EXC_TTL = 0;

/** RFC 1812 4.3.2.3: errors quote the IP header plus as much of the datagram as fits in 576 bytes. */
export const ICMP_ERROR_MAX_LEN = 576;

export interface IcmpMessage {
  type: number;
  code: number;
  /** the 32-bit rest-of-header: id<<16|seq for echo, next-hop MTU for needfrag, 0 for most errors */
  rest: number;
  /** data after the 8-byte header (view): echo data, or the quoted datagram of an error */
  body: Uint8Array;
}

export function decodeIcmp(bytes: Uint8Array, opts: { verifyChecksum?: boolean } = {}): IcmpMessage | WireError {
  if (bytes.length < ICMP_HEADER_LEN) return truncated('icmp', ICMP_HEADER_LEN, bytes.length);
  if (opts.verifyChecksum !== false && internetChecksum(bytes) !== 0) return new WireError('icmp', 'bad_checksum', 'checksum mismatch', 2);
  return {
    type: bytes[0]!,
    code: bytes[1]!,
    rest: ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0,
    body: bytes.subarray(ICMP_HEADER_LEN),
  };
}

/** Write the message with its checksum computed; returns the end offset. */
export function encodeIcmp(m: IcmpMessage, buf: Uint8Array, off = 0): number {
  const n = ICMP_HEADER_LEN + m.body.length;
  needRoom('icmp', buf, off, n);
  buf[off] = m.type;
  buf[off + 1] = m.code;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  buf[off + 4] = m.rest >>> 24;
  buf[off + 5] = (m.rest >>> 16) & 0xff;
  buf[off + 6] = (m.rest >>> 8) & 0xff;
  buf[off + 7] = m.rest & 0xff;
  buf.set(m.body, off + ICMP_HEADER_LEN);
  const c = internetChecksum(buf, off, n);
  buf[off + 2] = c >>> 8;
  buf[off + 3] = c & 0xff;
  return off + n;
}
