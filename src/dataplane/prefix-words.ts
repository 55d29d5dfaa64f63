/**
 * Prefixes as the tables hold them: addresses as big-endian 32-bit words, padded to four
 * (an IPv4 address is word 0). Shared by the data plane's main-thread writers (dataplane.ts,
 * neighbors.ts).
 */
import { addrWords } from './tables/lpm.js';

/** An address's words, padded to four. */
export function padWords(bytes: Uint8Array): Uint32Array {
  const out = new Uint32Array(4);
  addrWords(bytes, out.subarray(0, bytes.length / 4));
  return out;
}
