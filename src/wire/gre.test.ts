import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGre, encodeGre } from './gre.js';
import { ETHERTYPE_IPV4, ETHERTYPE_MPLS } from './ethernet.js';
import { WireError } from './errors.js';
import { fuzzRoundTrip, hex, toHex } from '../../test/support/wire.js';

// from scapy: key+seq over IPv4; checksum over MPLS; plain
const KEYED = hex('3000080000001234000000074500001c00010000400165de0a0000010a0001020800f7ff00000000');
const CSUM = hex('80008847b6710000000641404500001c00010000400165de0a0000010a0001020800f7ff00000000');
const PLAIN = hex('000008004500001c00010000400165de0a0000010a0001020800f7ff00000000');

test('golden: GRE with key and sequence number, with checksum, and plain', () => {
  const k = decodeGre(KEYED);
  assert.ok(!(k instanceof WireError));
  assert.deepEqual({ ...k, payload: k.payload.length }, { protocol: ETHERTYPE_IPV4, checksum: false, key: 0x1234, seq: 7, payload: 28 });
  const c = decodeGre(CSUM);
  assert.ok(!(c instanceof WireError));
  assert.equal(c.protocol, ETHERTYPE_MPLS);
  assert.equal(c.checksum, true);
  for (const [bytes, v] of [[KEYED, k], [CSUM, c]] as const) {
    const out = new Uint8Array(bytes.length);
    encodeGre(v, out);
    assert.equal(toHex(out), toHex(bytes));
  }
  const p = decodeGre(PLAIN);
  assert.ok(!(p instanceof WireError));
  assert.deepEqual(Object.keys(p).sort(), ['checksum', 'payload', 'protocol']);
});

test('bad GRE: wrong checksum, version 1, short options', () => {
  const b = CSUM.slice();
  b[20] ^= 1;
  const e = decodeGre(b);
  assert.ok(e instanceof WireError && e.reason === 'bad_checksum');
  const v1 = PLAIN.slice();
  v1[1] = 1;
  assert.ok(decodeGre(v1) instanceof WireError);
  const t = decodeGre(KEYED.subarray(0, 10));
  assert.ok(t instanceof WireError && t.reason === 'truncated');
});

test('fuzz: GRE round trip', () => {
  const s = fuzzRoundTrip((b) => decodeGre(b, { verifyChecksum: false }), encodeGre, [KEYED, CSUM, PLAIN]);
  assert.ok(s.decoded > 1000 && s.errors > 100, JSON.stringify(s));
});
