/**
 * rib.ts keptLspBytes: received LSPs' bytes kept side by side in shared chunks — each copy
 * independent of the frame it came from and of its neighbours in the chunk.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keptLspBytes } from './rib.js';

test('kept LSP bytes are copies that share a chunk without overlapping', () => {
  const frame = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  const a = keptLspBytes(frame.subarray(10, 130));
  const b = keptLspBytes(frame.subarray(0, 100));
  assert.deepEqual([...a], [...frame.subarray(10, 130)]);
  assert.deepEqual([...b], [...frame.subarray(0, 100)]);
  // the frame's buffer is reused by the next read: the kept bytes must not follow it
  frame.fill(0xee);
  assert.equal(a[0], 10);
  assert.equal(b[99], 99);
  // small LSPs share one chunk, one after the other
  assert.equal(a.buffer, b.buffer);
  assert.equal(b.byteOffset, a.byteOffset + a.length);
  // what flooding does to a copy (rewrites the Remaining Lifetime) stays in the copy
  const sent = b.slice();
  sent[10] = 0xff;
  assert.equal(b[10], 10);
});

test('a chunk that cannot hold the next LSP is left for a new one; a large LSP gets its own buffer', () => {
  const small = new Uint8Array(1000).fill(7);
  const first = keptLspBytes(small);
  let last = first;
  for (let i = 0; i < 20; i++) last = keptLspBytes(small);
  assert.notEqual(last.buffer, first.buffer);
  assert.ok(last.byteOffset + last.length <= last.buffer.byteLength);
  const big = keptLspBytes(new Uint8Array(8000).fill(9));
  assert.equal(big.byteOffset, 0);
  assert.equal(big.buffer.byteLength, 8000);
});
