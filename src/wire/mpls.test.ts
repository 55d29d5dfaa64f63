import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMplsStack, encodeMplsStack, packMplsEntry, unpackMplsEntry } from './mpls.js';
import { WireError } from './errors.js';
import { fuzzRoundTrip, hex, rng, toHex } from '../../test/support/wire.js';

const TWO = hex('03e8104000064b3f4500001c000100003f0166de0a0000010a0001020800f7ff00000000'); // 16001 ttl 64, 100 tc 5 S ttl 63

test('golden: two-label stack from scapy', () => {
  const s = decodeMplsStack(TWO);
  assert.ok(!(s instanceof WireError));
  assert.deepEqual(s.entries, [
    { label: 16001, tc: 0, bos: false, ttl: 64 },
    { label: 100, tc: 5, bos: true, ttl: 63 },
  ]);
  assert.equal(s.payload[0], 0x45);
  const out = new Uint8Array(TWO.length);
  encodeMplsStack(s, out);
  assert.equal(toHex(out), toHex(TWO));
});

test('a stack without bottom-of-stack is an error, never a loop', () => {
  const e = decodeMplsStack(hex('03e8104003e81040'));
  assert.ok(e instanceof WireError && e.reason === 'truncated');
  const long = new Uint8Array(64); // 16 entries, none with S
  const e2 = decodeMplsStack(long);
  assert.ok(e2 instanceof WireError && e2.reason === 'unsupported');
});

test('pack/unpack agree for random entries', () => {
  const next = rng(5);
  for (let i = 0; i < 10000; i++) {
    const e = { label: next() & 0xfffff, tc: next() & 7, bos: (next() & 1) === 1, ttl: next() & 0xff };
    assert.deepEqual(unpackMplsEntry(packMplsEntry(e.label, e.tc, e.bos, e.ttl)), e);
  }
});

test('fuzz: MPLS round trip', () => {
  const s = fuzzRoundTrip(decodeMplsStack, encodeMplsStack, [TWO]);
  assert.ok(s.decoded > 1000 && s.errors > 100, JSON.stringify(s));
});
