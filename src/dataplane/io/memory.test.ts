import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryDriver } from './memory.js';
import { PacketPool } from '../pool.js';

/** 8-byte little-endian words that are NaNs (signaling, quiet, with payloads, negative) or infinities as float64. */
const SPECIAL = [
  0x7ff0000000000001n, 0x7ff4000000000000n, 0x7ff7ffffffffffffn, 0xfff0000000000001n, 0x7ff8000000000000n,
  0x7ff8deadbeef0001n, 0xfff8000000000000n, 0xffffffffffffffffn, 0x7ff0000000000000n, 0x0000000000000001n,
];

function frame(len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len);
  const v = new DataView(f.buffer);
  for (let k = 0; k < len; k++) f[k] = (seed * 31 + k * 7) & 255;
  // special words at every 8-byte position (the copy moves 8-byte words from an 8-aligned start)
  for (let o = 0; o + 8 <= len; o += 8) v.setBigUint64(o, SPECIAL[(seed + o / 8) % SPECIAL.length]!, true);
  return f;
}

test('the replay driver copies every bit pattern unchanged, NaN payloads included, also once V8 has optimised the copy', () => {
  const frames = [60, 64, 61, 63, 100, 1500, 17].flatMap((len, k) => [frame(len, k), frame(len, k + 7)]);
  const drv = MemoryDriver.create('m', { replay: frames });
  const pool = new PacketPool(512);
  const out = new Uint32Array(256);
  let next = 0;
  let checked = 0;
  for (let round = 0; round < 4000; round++) {
    const n = drv.rxBurst(pool, out, 256);
    assert.equal(n, 256);
    // every frame of the first and the last rounds (the latter run optimised code), one per round in between
    const all = round < 2 || round >= 3990;
    for (let k = 0; k < n; k++) {
      const want = frames[(next + k) % frames.length]!;
      if (all || k === round % n) {
        assert.deepEqual(pool.frame(out[k]!), want, `round ${round}, frame ${(next + k) % frames.length} (${want.length} bytes)`);
        checked++;
      }
    }
    next = (next + n) % frames.length;
    drv.txBurst(pool, out, 0, 0);
    pool.freeBurst(out, 0, n);
  }
  assert.equal(pool.available, 512);
  assert.equal(checked, 12 * 256 + 3988);
});
