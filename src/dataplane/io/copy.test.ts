import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyWords, fitsWords } from './copy.js';

test('copyWords moves every bit pattern unchanged at any alignment, also once V8 has optimised it', () => {
  const src = new Uint8Array(4096);
  const sv = new DataView(src.buffer);
  for (let k = 0; k < src.length; k++) src[k] = (k * 131 + 7) & 255;
  // NaNs (signaling, quiet, with payloads, negative) and infinities as 8-byte words at unaligned places
  const special = [0x7ff0000000000001n, 0x7ff4000000000000n, 0xfff0000000000001n, 0x7ff8deadbeef0001n, 0xffffffffffffffffn, 0x7ff0000000000000n];
  for (let k = 0; k < 400; k++) sv.setBigUint64(3 + 9 * k, special[k % special.length]!, k % 2 === 0);
  const dst = new Uint8Array(4096);
  const dv = new DataView(dst.buffer);
  for (let round = 0; round < 20_000; round++) {
    const from = (round * 7) % 1000;
    const to = (round * 13) % 1000;
    const len = 14 + (round % 200);
    dst.fill(0xee, to, to + ((len + 7) & ~7));
    copyWords(sv, from, dv, to, len);
    if (round % 97 === 0 || round > 19_900) assert.deepEqual(dst.subarray(to, to + len), src.subarray(from, from + len), `round ${round}: ${len} bytes from ${from} to ${to}`);
  }
});

test('fitsWords: the rounded copy must end inside the region', () => {
  assert.equal(fitsWords(192, 60, 2048), true);
  assert.equal(fitsWords(2048 - 64, 64, 2048), true);
  assert.equal(fitsWords(2048 - 61, 61, 2048), false, '61 bytes round to 64 and would cross the end');
  assert.equal(fitsWords(0, 2048, 2048), true);
});
