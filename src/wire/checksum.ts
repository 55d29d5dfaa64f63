/**
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624). Sums are kept
 * unfolded in a JS number (safe for any frame size) and folded once at the end, so a
 * pseudo-header sum and a payload sum can simply be added.
 */

/** Ones'-complement sum of buf[off..off+len) as big-endian 16-bit words (odd tail padded with 0), unfolded. */
export function onesSum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial;
  const end = off + len;
  let i = off;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  return sum;
}

/** Fold an unfolded sum to 16 bits and complement it: the value to store in a checksum field. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** The Internet checksum of buf[off..off+len) (with the checksum field zero, to compute it; as stored, to verify: then 0 means valid). */
export function internetChecksum(buf: Uint8Array, off = 0, len = buf.length - off): number {
  return finishChecksum(onesSum(buf, off, len));
}

/** Unfolded sum of the IPv4 pseudo-header (RFC 768 / RFC 793). */
export function pseudoHeaderSum4(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/** Unfolded sum of the IPv6 pseudo-header (RFC 8200 section 8.1); src and dst are 16 bytes at srcOff/dstOff. */
export function pseudoHeaderSum6(src: Uint8Array, dst: Uint8Array, nextHeader: number, length: number, srcOff = 0, dstOff = 0): number {
  return onesSum(src, srcOff, 16) + onesSum(dst, dstOff, 16) + (length >>> 16) + (length & 0xffff) + nextHeader;
}

/**
 * RFC 1624 eqn. 3: the new checksum after one 16-bit word of the covered data changes from
 * `oldWord` to `newWord` (e.g. the TTL/protocol word after a TTL decrement).
 */
export function checksumAdjust(oldChecksum: number, oldWord: number, newWord: number): number {
  let sum = (~oldChecksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
