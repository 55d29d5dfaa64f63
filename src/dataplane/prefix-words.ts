/**
 * Prefixes as the tables hold them: addresses as big-endian 32-bit words, padded to four
 * (an IPv4 address is word 0), and masked to a prefix length. Shared by the data plane's
 * main-thread writers (dataplane.ts, neighbors.ts, vhost-sync.ts).
 */
import type { Prefix } from '../lib/addr.js';
import { addrWords, maskWords } from './tables/lpm.js';

/** An address's words, padded to four. */
export function padWords(bytes: Uint8Array): Uint32Array {
  const out = new Uint32Array(4);
  addrWords(bytes, out.subarray(0, bytes.length / 4));
  return out;
}

/** The prefix with the host bits cleared (its network). */
export function maskPrefix(p: Prefix): Prefix {
  const w = maskWords(padWords(p.addr), p.len, new Uint32Array(4));
  const b = new Uint8Array(p.addr.length);
  for (let k = 0; k < b.length; k++) b[k] = (w[k >> 2]! >>> (24 - 8 * (k & 3))) & 255;
  return { family: p.family, addr: b, len: p.len };
}
