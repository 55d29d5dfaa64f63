import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeArp, encodeArp, ARP_REQUEST } from './arp.js';
import { WireError } from './errors.js';
import { fuzzRoundTrip, hex, toHex } from '../../test/support/wire.js';

const REQ = hex('00010800060400010200000000010a0000010000000000000a0000fe');

test('golden: ARP request both ways', () => {
  const a = decodeArp(REQ);
  assert.ok(!(a instanceof WireError));
  assert.equal(a.op, ARP_REQUEST);
  assert.equal(toHex(a.sha), '020000000001');
  assert.equal(a.spa, 0x0a000001);
  assert.equal(toHex(a.tha), '000000000000');
  assert.equal(a.tpa, 0x0a0000fe);
  const out = new Uint8Array(28);
  encodeArp(a, out);
  assert.equal(toHex(out), toHex(REQ));
});

test('ARP for other hardware or protocol types is unsupported, short is truncated', () => {
  const other = REQ.slice();
  other[3] = 0xdd; // ptype 0x08dd
  const e = decodeArp(other);
  assert.ok(e instanceof WireError && e.reason === 'unsupported');
  const s = decodeArp(REQ.subarray(0, 27));
  assert.ok(s instanceof WireError && s.reason === 'truncated');
});

test('fuzz: ARP round trip', () => {
  const s = fuzzRoundTrip(decodeArp, encodeArp, [REQ]);
  assert.ok(s.decoded > 1000 && s.errors > 100, JSON.stringify(s));
});
