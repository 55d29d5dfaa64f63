/**
 * Byte access and Internet checksums for the nodes' in-place packet edits: plain functions
 * over the pool's bytes, no allocation.
 */

export function rd32(d: Uint8Array, o: number): number {
  return ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!) >>> 0;
}

export function wr32(d: Uint8Array, o: number, v: number): void {
  d[o] = v >>> 24;
  d[o + 1] = (v >>> 16) & 255;
  d[o + 2] = (v >>> 8) & 255;
  d[o + 3] = v & 255;
}

/** the flow hash's final mix (ECMP member, MPLS over UDP source port) */
export function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

export function sum16(d: Uint8Array, o: number, len: number, initial: number): number {
  let s = initial;
  let b = 0;
  for (; b + 1 < len; b += 2) s += (d[o + b]! << 8) | d[o + b + 1]!;
  if (b < len) s += d[o + b]! << 8;
  return s;
}

export function foldSum(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return ~s & 0xffff;
}

export function ipv4Checksum(d: Uint8Array, o: number, ihl: number): void {
  d[o + 10] = 0;
  d[o + 11] = 0;
  const c = foldSum(sum16(d, o, ihl, 0));
  d[o + 10] = c >>> 8;
  d[o + 11] = c & 255;
}

/** Fill the checksum of the ICMPv6 message right after a 40-byte IPv6 header at o. */
export function icmp6Checksum(d: Uint8Array, o: number, len: number): void {
  const ic = o + 40;
  d[ic + 2] = 0;
  d[ic + 3] = 0;
  let s = sum16(d, o + 8, 32, 0) + len + 58;
  s = sum16(d, ic, len, s);
  const c = foldSum(s);
  d[ic + 2] = c >>> 8;
  d[ic + 3] = c & 255;
}

/** Set an IPv4 TTL and patch the header checksum (RFC 1624). */
export function setTtl4(d: Uint8Array, o: number, ttl: number): void {
  const oldW = (d[o + 8]! << 8) | d[o + 9]!;
  d[o + 8] = ttl;
  const newW = (ttl << 8) | d[o + 9]!;
  const old = (d[o + 10]! << 8) | d[o + 11]!;
  let s = (~old & 0xffff) + (~oldW & 0xffff) + newW;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  const c = ~s & 0xffff;
  d[o + 10] = c >>> 8;
  d[o + 11] = c & 255;
}
