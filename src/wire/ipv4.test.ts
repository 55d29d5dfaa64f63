import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeIpv4, encodeIpv4, IPPROTO_UDP, IPPROTO_TCP, type Ipv4Packet } from './ipv4.js';
import { WireError } from './errors.js';
import { fuzzRoundTrip, hex, rng, randomBytes, toHex } from '../../test/support/wire.js';

const UDP = hex('45b8001f000100001111bcd9c0000201c633640704d20035000b4a32616263');
const TCP = hex('450000300002000040068e8ac0000201c63364079c4000b3000003e8000000007002faf0fb160000020405b401010402');
const WITH_OPTS = hex('46000020000000004001d0d60a0000010a000102' + '94040000' + '0800f7ff00000000'); // router alert option, from scapy

test('golden: IPv4/UDP from scapy decodes to its fields and re-encodes', () => {
  const p = decodeIpv4(UDP);
  assert.ok(!(p instanceof WireError));
  const want: Ipv4Packet = { tos: 0xb8, id: 1, df: false, mf: false, fragOffset: 0, ttl: 17, protocol: IPPROTO_UDP, src: 0xc0000201, dst: 0xc6336407, options: new Uint8Array(0), payload: hex('04d20035000b4a32616263') };
  assert.deepEqual(p, want);
  const out = new Uint8Array(UDP.length);
  assert.equal(encodeIpv4(want, out), UDP.length);
  assert.equal(toHex(out), toHex(UDP));
});

test('golden: IPv4/TCP, and a header with options', () => {
  const p = decodeIpv4(TCP);
  assert.ok(!(p instanceof WireError));
  assert.equal(p.protocol, IPPROTO_TCP);
  assert.equal(p.payload.length, 28);
  // build the options packet with encode and check decode sees the options
  const v: Ipv4Packet = { tos: 0, id: 0, df: false, mf: false, fragOffset: 0, ttl: 64, protocol: 1, src: 0x0a000001, dst: 0x0a000102, options: hex('94040000'), payload: hex('0800f7ff00000000') };
  const out = new Uint8Array(32);
  encodeIpv4(v, out);
  assert.equal(toHex(out), toHex(WITH_OPTS));
  assert.deepEqual(decodeIpv4(WITH_OPTS), v);
});

test('padding after total length is not payload', () => {
  const padded = new Uint8Array(UDP.length + 20);
  padded.set(UDP);
  const p = decodeIpv4(padded);
  assert.ok(!(p instanceof WireError));
  assert.equal(p.payload.length, 11);
});

test('bad headers: version, IHL, lengths, checksum each give their reason', () => {
  const cases: [string, (b: Uint8Array) => void, string][] = [
    ['version 5', (b) => (b[0] = 0x55), 'malformed'],
    ['IHL 4', (b) => (b[0] = 0x44), 'malformed'],
    ['IHL 15 beyond the bytes', (b) => (b[0] = 0x4f), 'truncated'],
    ['total length below header', (b) => (b[3] = 10), 'malformed'],
    ['total length beyond the bytes', (b) => (b[3] = 0xff), 'truncated'],
    ['checksum', (b) => (b[11] ^= 1), 'bad_checksum'],
  ];
  for (const [name, change, reason] of cases) {
    const b = UDP.slice();
    change(b);
    const r = decodeIpv4(b, { verifyChecksum: name === 'checksum' });
    assert.ok(r instanceof WireError, name);
    assert.equal(r.reason, reason, name);
  }
  assert.ok(decodeIpv4(UDP.subarray(0, 19)) instanceof WireError);
});

test('fuzz: random valid packets survive encode/decode; mutated bytes never throw', () => {
  const next = rng(99);
  const buf = new Uint8Array(2000);
  for (let i = 0; i < 5000; i++) {
    const v: Ipv4Packet = {
      tos: next() & 0xff, id: next() & 0xffff, df: (next() & 1) === 1, mf: (next() & 1) === 1, fragOffset: next() & 0x1fff,
      ttl: next() & 0xff, protocol: next() & 0xff, src: next(), dst: next(),
      options: randomBytes(next, 4 * (next() % 11)), payload: randomBytes(next, next() % 1500),
    };
    const end = encodeIpv4(v, buf);
    assert.deepEqual(decodeIpv4(buf.subarray(0, end)), v);
  }
  const s = fuzzRoundTrip((b) => decodeIpv4(b, { verifyChecksum: false }), encodeIpv4, [UDP, TCP, WITH_OPTS]);
  assert.ok(s.decoded > 1000 && s.errors > 100, JSON.stringify(s));
});
