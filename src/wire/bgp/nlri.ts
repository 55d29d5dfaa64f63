/**
 * NLRI prefixes (RFC 4271 section 4.3, RFC 4760, RFC 7911 path identifiers). Prefixes travel
 * as canonical text (`10.0.0.0/8`, `2001:db8::/32`), the form the RIB keys on, so decoding
 * builds the key directly from the wire bytes without an intermediate object.
 */
import { formatIpv6 } from '../../lib/addr.js';

/** A decoded list of prefixes with optional path identifiers (add-path), side by side. */
export interface PrefixList {
  readonly prefixes: string[];
  /** present only when the NLRI carried path identifiers */
  readonly pathIds?: number[];
}

const V6_SCRATCH = new Uint8Array(16);

/**
 * Decode prefixes of one family from b[start..end). Returns undefined on success (filling
 * `out`) or the reason the field is malformed (RFC 7606 section 5.3).
 */
export function decodePrefixes(b: Uint8Array, start: number, end: number, afi: number, addPath: boolean, out: string[], ids: number[] | undefined): string | undefined {
  const max = afi === 1 ? 32 : 128;
  let i = start;
  while (i < end) {
    if (addPath) {
      if (i + 4 > end) return 'truncated path identifier';
      ids!.push(((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0);
      i += 4;
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
      out.push(`${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/${len}`);
    } else {
      V6_SCRATCH.fill(0);
      for (let k = 0; k < n; k++) V6_SCRATCH[k] = b[i + k]!;
      const rem = len & 7;
      if (rem) V6_SCRATCH[n - 1]! &= 0xff << (8 - rem);
      out.push(`${formatIpv6(V6_SCRATCH)}/${len}`);
    }
    i += n;
  }
  return undefined;
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
