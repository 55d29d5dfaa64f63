/**
 * The packet pool's slot size: chosen from the largest MTU (slotSizeFor), a power of two the
 * pool refuses otherwise, and slots that hold a full frame of that MTU without overlapping.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HEADROOM, MAX_FRAME, PacketPool, SLOT_SIZE, slotSizeFor } from './pool.js';
import { parseMaxMtu, parseVrouterArgs } from '../cmd/vrouter.js';

test('slotSizeFor: 1500 keeps the default slot, 9000 takes 16 KiB, what no slot holds is refused', () => {
  assert.equal(slotSizeFor(1500), SLOT_SIZE);
  assert.equal(slotSizeFor(MAX_FRAME - 18), SLOT_SIZE);
  assert.equal(slotSizeFor(MAX_FRAME - 17), 2 * SLOT_SIZE);
  assert.equal(slotSizeFor(9000), 16384);
  assert.throws(() => slotSizeFor(65536 - HEADROOM - 17), /above the largest packet slot/);
  assert.throws(() => slotSizeFor(1.5), /not an MTU/);
  assert.throws(() => new PacketPool(4, 3000), /not a power of two/);
  assert.throws(() => new PacketPool(4, 1024), /not a power of two/);
});

test('a 16 KiB-slot pool holds whole 9000-MTU frames, each in its own slot', () => {
  const pool = new PacketPool(4, slotSizeFor(9000));
  assert.deepEqual([pool.shift, pool.maxFrame], [14, 16384 - HEADROOM]);
  const frames = [0, 1, 2].map((k) => Uint8Array.from({ length: 9018 }, (_, b) => (b * 7 + k) & 255));
  const slots = frames.map((f) => pool.put(f));
  for (const [k, s] of slots.entries()) {
    assert.equal(pool.offset(s), s * 16384 + HEADROOM);
    assert.deepEqual(pool.frame(s), frames[k]);
  }
});

test('--max-mtu: an MTU is taken, anything else refused with the reason', () => {
  assert.deepEqual(parseVrouterArgs(['--max-mtu', '9000']), { dataplaneOptions: { maxMtu: 9000 } });
  assert.equal(parseMaxMtu('1500'), 1500);
  for (const bad of ['9k', '-1', '100', '70000', '']) assert.throws(() => parseMaxMtu(bad), /--max-mtu/);
});
