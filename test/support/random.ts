/**
 * Seeded random sources for tests, fuzzers and benchmarks: a deterministic PRNG (xorshift32),
 * so a failure can be replayed from its seed, and BGP-shaped IPv4 prefixes for the tables.
 */

/** xorshift32: reproducible runs (print the seed when a case fails). */
export function rng(seed = 0x9e3779b9): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

export function randomBytes(next: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = next() & 0xff;
  return b;
}

/** IPv4 prefix lengths shaped like a full BGP table: mostly /24, some shorter, a few longer. */
export function bgpLikeLen4(r: () => number): number {
  const u = r() % 10000;
  if (u < 5500) return 24;
  if (u < 6500) return 23;
  if (u < 7500) return 22;
  if (u < 8000) return 21;
  if (u < 8500) return 20;
  if (u < 8800) return 19;
  if (u < 9000) return 18;
  if (u < 9200) return 17;
  if (u < 9400) return 16;
  if (u < 9960) return 25 + (r() % 8);
  if (u < 9999) return 8 + (r() % 8);
  return r() % 8;
}

export const mask4 = (l: number): number => (l === 0 ? 0 : (~0 << (32 - l)) >>> 0);

/** n random IPv4 prefixes (address, length), BGP-like lengths, duplicates possible. */
export function randomPrefixes4(n: number, seed: number): { addr: Uint32Array; len: Uint8Array } {
  const r = rng(seed);
  const addr = new Uint32Array(n);
  const len = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const l = bgpLikeLen4(r);
    len[k] = l;
    addr[k] = (r() & mask4(l)) >>> 0;
  }
  return { addr, len };
}
