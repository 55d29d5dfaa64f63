import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeIcmp, encodeIcmp, ICMP_ECHO_REQUEST, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL } from './icmp.js';
import { decodeIpv4 } from './ipv4.js';
import { WireError } from './errors.js';
import { fuzzRoundTrip, hex, toHex } from '../../test/support/wire.js';

const ECHO = hex('0800b3b30077000368656c6c6f');
const TIME_EXCEEDED = hex('0b000a1c000000004500001c000100000111a4ce0a0000010a000102829a829b0008e5a5');

test('golden: echo request with id/seq in rest-of-header', () => {
  const m = decodeIcmp(ECHO);
  assert.ok(!(m instanceof WireError));
  assert.deepEqual(m, { type: ICMP_ECHO_REQUEST, code: 0, rest: (0x77 << 16) | 3, body: hex('68656c6c6f') });
  const out = new Uint8Array(ECHO.length);
  encodeIcmp(m, out);
  assert.equal(toHex(out), toHex(ECHO));
});

test('golden: time exceeded quoting the expired datagram', () => {
  const m = decodeIcmp(TIME_EXCEEDED);
  assert.ok(!(m instanceof WireError));
  assert.equal(m.type, ICMP_TIME_EXCEEDED);
  assert.equal(m.code, ICMP_EXC_TTL);
  const quoted = decodeIpv4(m.body);
  assert.ok(!(quoted instanceof WireError));
  assert.equal(quoted.ttl, 1);
  const out = new Uint8Array(TIME_EXCEEDED.length);
  encodeIcmp(m, out);
  assert.equal(toHex(out), toHex(TIME_EXCEEDED));
});

test('bad checksum and short messages are errors', () => {
  const b = ECHO.slice();
  b[9] ^= 0xff;
  const e = decodeIcmp(b);
  assert.ok(e instanceof WireError && e.reason === 'bad_checksum');
  const s = decodeIcmp(ECHO.subarray(0, 7));
  assert.ok(s instanceof WireError && s.reason === 'truncated');
});

test('fuzz: ICMP round trip', () => {
  const s = fuzzRoundTrip((b) => decodeIcmp(b, { verifyChecksum: false }), encodeIcmp, [ECHO, TIME_EXCEEDED]);
  assert.ok(s.decoded > 1000, JSON.stringify(s));
});
