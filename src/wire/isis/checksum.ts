/**
 * The ISO 8473 (Fletcher) checksum that ISO 10589 puts in every LSP. It covers the LSP from the
 * LSP ID to the end of the PDU — so the Remaining Lifetime, which changes as the LSP ages, is
 * outside it — and is chosen so that both running sums over the covered bytes, checksum
 * included, come out zero modulo 255.
 */

/** The two running sums over buf[off..off+len), modulo 255. */
function fletcherSums(buf: Uint8Array, off: number, len: number): [number, number] {
  let c0 = 0;
  let c1 = 0;
  // reducing every 4096 bytes keeps both sums far below 2^53 without a modulo per byte
  let i = off;
  const end = off + len;
  while (i < end) {
    const stop = Math.min(end, i + 4096);
    for (; i < stop; i++) {
      c0 += buf[i]!;
      c1 += c0;
    }
    c0 %= 255;
    c1 %= 255;
  }
  return [c0, c1];
}

/**
 * Compute the checksum of buf[off..off+len) whose 2-byte checksum field sits at `at` (an
 * absolute offset inside the range), write it there and return it.
 */
export function fletcherChecksumInto(buf: Uint8Array, off: number, len: number, at: number): number {
  buf[at] = 0;
  buf[at + 1] = 0;
  const [c0, c1] = fletcherSums(buf, off, len);
  // ISO 8473 annex C: the checksum bytes X, Y at position n (1-based) of an L-byte range
  const n = at - off + 1;
  let x = ((len - n) * c0 - c1) % 255;
  if (x < 0) x += 255;
  let y = (c1 - (len - n + 1) * c0) % 255;
  if (y < 0) y += 255;
  if (x === 0) x = 255;
  if (y === 0) y = 255;
  buf[at] = x;
  buf[at + 1] = y;
  return (x << 8) | y;
}

/** True when buf[off..off+len), checksum field included, has a valid ISO 8473 checksum. */
export function fletcherValid(buf: Uint8Array, off: number, len: number): boolean {
  const [c0, c1] = fletcherSums(buf, off, len);
  return c0 === 0 && c1 === 0;
}
