/**
 * Helpers for the codec tests (src/wire/*.test.ts and the tests that build raw bytes): hex
 * conversion, the seeded random source of ./random.ts, and a fuzz loop that mutates golden
 * frames, checks that decoding never throws, and that whatever decodes survives an
 * encode/decode round trip unchanged.
 */
import assert from 'node:assert/strict';
import { WireError } from '../../src/wire/errors.js';
import { randomBytes, rng } from './random.js';

export { randomBytes, rng };

export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** A copy of `seed` with a few bytes changed, and sometimes cut short or extended. */
export function mutate(next: () => number, seed: Uint8Array): Uint8Array {
  let b: Uint8Array = seed.slice();
  const flips = 1 + (next() % 4);
  for (let i = 0; i < flips && b.length > 0; i++) b[next() % b.length] = next() & 0xff;
  const r = next() % 8;
  if (r === 0) b = b.subarray(0, next() % (b.length + 1));
  else if (r === 1) {
    const e = new Uint8Array(b.length + (next() % 16));
    e.set(b);
    b = e;
  }
  return b;
}

export interface FuzzStats {
  decoded: number;
  errors: number;
}

/**
 * Feed `iterations` mutated seeds and random buffers to `decode`. Decoding must not throw;
 * a decoded value, encoded and decoded again, must be deep-equal to itself.
 */
export function fuzzRoundTrip<T>(
  decode: (b: Uint8Array) => T | WireError,
  encode: (v: T, buf: Uint8Array, off: number) => number,
  seeds: Uint8Array[],
  iterations = 20000,
  seed = 12345,
): FuzzStats {
  const next = rng(seed);
  const stats: FuzzStats = { decoded: 0, errors: 0 };
  const buf = new Uint8Array(70000);
  for (let i = 0; i < iterations; i++) {
    const input = i % 5 === 4 ? randomBytes(next, next() % 96) : mutate(next, seeds[i % seeds.length]!);
    const v = decode(input);
    if (v instanceof WireError) {
      stats.errors++;
      continue;
    }
    stats.decoded++;
    const end = encode(v, buf, 0);
    const again = decode(buf.slice(0, end));
    assert.ok(!(again instanceof WireError), `re-decode failed (${String(again)}) for input ${toHex(input)}`);
    assert.deepEqual(again, v, `round trip changed the value for input ${toHex(input)}`);
  }
  return stats;
}
