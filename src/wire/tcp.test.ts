import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTcp, encodeTcp, tcpChecksum, TCP_SYN } from './tcp.js';
import { WireError } from './errors.js';
import { fuzzRoundTrip, hex, toHex } from '../../test/support/wire.js';

const SYN = hex('9c4000b3000003e8000000007002faf0fb160000020405b401010402'); // 192.0.2.1 -> 198.51.100.7

test('golden: SYN with MSS and SACK-permitted options', () => {
  const s = decodeTcp(SYN);
  assert.ok(!(s instanceof WireError));
  assert.equal(s.srcPort, 40000);
  assert.equal(s.dstPort, 179);
  assert.equal(s.seq, 1000);
  assert.equal(s.flags, TCP_SYN);
  assert.equal(s.window, 64240);
  assert.equal(toHex(s.options), '020405b401010402');
  assert.equal(s.payload.length, 0);
  assert.equal(tcpChecksum(SYN, 0, SYN.length, 0xc0000201, 0xc6336407), s.checksum);
  const out = new Uint8Array(SYN.length);
  encodeTcp(s, out);
  assert.equal(toHex(out), toHex(SYN));
});

test('data offset below 5 or beyond the bytes is an error', () => {
  const b = SYN.slice();
  b[12] = 0x40;
  assert.ok(decodeTcp(b) instanceof WireError);
  b[12] = 0xf0;
  const t = decodeTcp(b);
  assert.ok(t instanceof WireError && t.reason === 'truncated');
});

test('fuzz: TCP round trip', () => {
  const s = fuzzRoundTrip(decodeTcp, encodeTcp, [SYN]);
  assert.ok(s.decoded > 1000 && s.errors > 100, JSON.stringify(s));
});
