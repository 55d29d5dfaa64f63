/**
 * IPv6 (RFC 8200): the fixed header, and a walk over the extension header chain to the
 * upper-layer protocol. The walk is bounded (MAX_EXTENSION_HEADERS) so that a crafted chain
 * cannot make a forwarding node loop for long.
 */
import {
  IPPROTO_AH,
  IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_ROUTING,
} from './ipv4.js';
import { WireError, needRoom, truncated, malformed } from './errors.js';

export const IPV6_HEADER_LEN = 40;
export const MAX_EXTENSION_HEADERS = 8;

export interface Ipv6Packet {
  trafficClass: number;
  flowLabel: number;
  nextHeader: number;
  hopLimit: number;
  /** 16 bytes (view) */
  src: Uint8Array;
  dst: Uint8Array;
  /** the bytes after the fixed header up to payload length (view) */
  payload: Uint8Array;
}

export function decodeIpv6(bytes: Uint8Array): Ipv6Packet | WireError {
  if (bytes.length < IPV6_HEADER_LEN) return truncated('ipv6', IPV6_HEADER_LEN, bytes.length);
  const version = bytes[0]! >>> 4;
  if (version !== 6) return malformed('ipv6', `version ${version}`);
  const plen = (bytes[4]! << 8) | bytes[5]!;
  // A zero payload length with a Hop-by-Hop jumbo option (RFC 2675) is not supported.
  if (IPV6_HEADER_LEN + plen > bytes.length) return truncated('ipv6', IPV6_HEADER_LEN + plen, bytes.length, 4);
  return {
    trafficClass: ((bytes[0]! & 0x0f) << 4) | (bytes[1]! >>> 4),
    flowLabel: ((bytes[1]! & 0x0f) << 16) | (bytes[2]! << 8) | bytes[3]!,
    nextHeader: bytes[6]!,
    hopLimit: bytes[7]!,
    src: bytes.subarray(8, 24),
    dst: bytes.subarray(24, 40),
    payload: bytes.subarray(IPV6_HEADER_LEN, IPV6_HEADER_LEN + plen),
  };
}

export function encodeIpv6(p: Ipv6Packet, buf: Uint8Array, off = 0): number {
  if (p.payload.length > 0xffff) throw new RangeError(`ipv6: payload length ${p.payload.length} above 65535`);
  needRoom('ipv6', buf, off, IPV6_HEADER_LEN + p.payload.length);
  buf[off] = 0x60 | ((p.trafficClass >>> 4) & 0x0f);
  buf[off + 1] = ((p.trafficClass & 0x0f) << 4) | ((p.flowLabel >>> 16) & 0x0f);
  buf[off + 2] = (p.flowLabel >>> 8) & 0xff;
  buf[off + 3] = p.flowLabel & 0xff;
  buf[off + 4] = p.payload.length >>> 8;
  buf[off + 5] = p.payload.length & 0xff;
  buf[off + 6] = p.nextHeader;
  buf[off + 7] = p.hopLimit;
  buf.set(p.src.subarray(0, 16), off + 8);
  buf.set(p.dst.subarray(0, 16), off + 24);
  buf.set(p.payload, off + IPV6_HEADER_LEN);
  return off + IPV6_HEADER_LEN + p.payload.length;
}

export interface ExtensionHeader {
  /** the protocol number naming this header (0 hop-by-hop, 43 routing, 44 fragment, 51 AH, 60 destination options) */
  type: number;
  /** offset of the header inside the walked payload */
  offset: number;
  /** the whole header, including its next-header and length bytes (view) */
  bytes: Uint8Array;
}

export interface Ipv6Fragment {
  /** in 8-byte units */
  offset: number;
  more: boolean;
  id: number;
}

export interface ExtensionChain {
  headers: ExtensionHeader[];
  /** the upper-layer protocol (59 when there is none; 50 for ESP, whose contents are opaque); for a non-first fragment, the fragment's next header */
  protocol: number;
  /** offset of the upper-layer header inside the walked payload */
  upperOffset: number;
  fragment?: Ipv6Fragment;
}

export function isExtensionHeader(nh: number): boolean {
  return nh === IPPROTO_HOPOPTS || nh === IPPROTO_ROUTING || nh === IPPROTO_FRAGMENT || nh === IPPROTO_DSTOPTS || nh === IPPROTO_AH;
}

/**
 * Walk the extension headers starting with `nextHeader` at payload[0]. Hop-by-Hop anywhere but
 * first is malformed (RFC 8200 section 4.1).
 */
export function walkExtensionHeaders(nextHeader: number, payload: Uint8Array): ExtensionChain | WireError {
  const headers: ExtensionHeader[] = [];
  let nh = nextHeader;
  let off = 0;
  let fragment: Ipv6Fragment | undefined;
  while (isExtensionHeader(nh)) {
    if (headers.length === MAX_EXTENSION_HEADERS) return new WireError('ipv6', 'unsupported', `more than ${MAX_EXTENSION_HEADERS} extension headers`, off);
    if (nh === IPPROTO_HOPOPTS && headers.length > 0) return malformed('ipv6', 'hop-by-hop options header not first', off);
    if (payload.length < off + 8) return truncated('ipv6', off + 8, payload.length, off);
    let len: number;
    if (nh === IPPROTO_FRAGMENT) {
      len = 8;
      const fo = (payload[off + 2]! << 8) | payload[off + 3]!;
      fragment = {
        offset: fo >>> 3,
        more: (fo & 1) !== 0,
        id: ((payload[off + 4]! << 24) | (payload[off + 5]! << 16) | (payload[off + 6]! << 8) | payload[off + 7]!) >>> 0,
      };
    } else if (nh === IPPROTO_AH) {
      len = (payload[off + 1]! + 2) * 4; // RFC 4302: length in 4-byte units minus 2
    } else {
      len = (payload[off + 1]! + 1) * 8;
    }
    if (payload.length < off + len) return truncated('ipv6', off + len, payload.length, off);
    headers.push({ type: nh, offset: off, bytes: payload.subarray(off, off + len) });
    nh = payload[off]!;
    off += len;
    if (fragment && fragment.offset !== 0) break; // later fragments carry no upper-layer header
  }
  const chain: ExtensionChain = { headers, protocol: nh, upperOffset: off };
  if (fragment) chain.fragment = fragment;
  return chain;
}
