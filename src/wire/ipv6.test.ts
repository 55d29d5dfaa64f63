import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeIpv6, encodeIpv6, walkExtensionHeaders, MAX_EXTENSION_HEADERS } from './ipv6.js';
import { IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_UDP, IPPROTO_ICMPV6, IPPROTO_DSTOPTS } from './ipv4.js';
import { WireError } from './errors.js';
import { fuzzRoundTrip, hex, toHex } from '../../test/support/wire.js';

// IPv6 / Hop-by-Hop (PadN) / Fragment / UDP, from scapy
const EXT = hex('620abcde001b000920010db800000000000000000000000120010db80000000000000000000000022c0001040000000011000001deadbeef13881770000b111178797a');
const ECHO = hex('60000000000a3a4020010db800000000000000000000000120010db80000000000000000000000028000bbd9000100026869');

test('golden: fixed header fields and re-encode', () => {
  const p = decodeIpv6(EXT);
  assert.ok(!(p instanceof WireError));
  assert.equal(p.trafficClass, 0x20);
  assert.equal(p.flowLabel, 0xabcde);
  assert.equal(p.nextHeader, IPPROTO_HOPOPTS);
  assert.equal(p.hopLimit, 9);
  assert.equal(toHex(p.src), '20010db8000000000000000000000001');
  assert.equal(p.payload.length, 27);
  const out = new Uint8Array(EXT.length);
  encodeIpv6(p, out);
  assert.equal(toHex(out), toHex(EXT));
});

test('extension header walk reaches UDP through hop-by-hop and fragment', () => {
  const p = decodeIpv6(EXT);
  assert.ok(!(p instanceof WireError));
  const c = walkExtensionHeaders(p.nextHeader, p.payload);
  assert.ok(!(c instanceof WireError));
  assert.deepEqual(c.headers.map((h) => [h.type, h.offset, h.bytes.length]), [[IPPROTO_HOPOPTS, 0, 8], [IPPROTO_FRAGMENT, 8, 8]]);
  assert.equal(c.protocol, IPPROTO_UDP);
  assert.equal(c.upperOffset, 16);
  assert.deepEqual(c.fragment, { offset: 0, more: true, id: 0xdeadbeef });
  const plain = decodeIpv6(ECHO);
  assert.ok(!(plain instanceof WireError));
  assert.deepEqual(walkExtensionHeaders(plain.nextHeader, plain.payload), { headers: [], protocol: IPPROTO_ICMPV6, upperOffset: 0 });
});

test('bad chains: hop-by-hop not first, too long, truncated', () => {
  const hbhSecond = hex('00000000000000000000000000000000'); // dstopts -> hbh
  hbhSecond[0] = IPPROTO_HOPOPTS;
  const e1 = walkExtensionHeaders(IPPROTO_DSTOPTS, hbhSecond);
  assert.ok(e1 instanceof WireError && e1.reason === 'malformed');
  const loop = new Uint8Array(8 * (MAX_EXTENSION_HEADERS + 2));
  for (let i = 0; i < loop.length; i += 8) loop[i] = IPPROTO_DSTOPTS;
  const e2 = walkExtensionHeaders(IPPROTO_DSTOPTS, loop);
  assert.ok(e2 instanceof WireError && e2.reason === 'unsupported');
  const e3 = walkExtensionHeaders(IPPROTO_DSTOPTS, hex('3a01000000000000')); // says 16 bytes, has 8
  assert.ok(e3 instanceof WireError && e3.reason === 'truncated');
  const e4 = decodeIpv6(EXT.subarray(0, EXT.length - 1));
  assert.ok(e4 instanceof WireError && e4.reason === 'truncated');
  const v4 = EXT.slice();
  v4[0] = 0x45;
  assert.ok(decodeIpv6(v4) instanceof WireError);
});

test('fuzz: IPv6 round trip and extension walk never throws', () => {
  const s = fuzzRoundTrip(decodeIpv6, encodeIpv6, [EXT, ECHO]);
  assert.ok(s.decoded > 1000 && s.errors > 100, JSON.stringify(s));
  const chain = EXT.subarray(40);
  let seed = 1;
  for (let i = 0; i < 20000; i++) {
    const b = chain.slice();
    seed = (seed * 1103515245 + 12345) >>> 0;
    b[seed % b.length] = seed >>> 24;
    walkExtensionHeaders([0, 43, 44, 51, 60][i % 5]!, b.subarray(0, seed % (b.length + 1)));
  }
});
