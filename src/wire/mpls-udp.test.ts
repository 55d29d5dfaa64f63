import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMplsUdp, encodeMplsUdp, mplsUdpSourcePort, MPLS_UDP_PORT } from './mpls-udp.js';
import { decodeIpv4, IPPROTO_UDP } from './ipv4.js';
import { WireError } from './errors.js';
import { fuzzRoundTrip, hex, toHex } from '../../test/support/wire.js';

const PKT = hex('4500003c000100004011f6acc0000201c0000202c00119eb00280000493001ff4500001c00010000400165de0a0000010a0001020800f7ff00000000');

test('golden: RFC 7510 packet from scapy', () => {
  const ip = decodeIpv4(PKT);
  assert.ok(!(ip instanceof WireError));
  assert.equal(ip.protocol, IPPROTO_UDP);
  const m = decodeMplsUdp(ip.payload);
  assert.ok(!(m instanceof WireError));
  assert.equal(m.srcPort, 49153);
  assert.equal(m.checksum, 0);
  assert.deepEqual(m.stack.entries, [{ label: 299776, tc: 0, bos: true, ttl: 255 }]);
  const out = new Uint8Array(ip.payload.length);
  encodeMplsUdp(m, out);
  assert.equal(toHex(out), toHex(ip.payload));
});

test('other ports are refused; source ports stay in the dynamic range', () => {
  const ip = decodeIpv4(PKT);
  assert.ok(!(ip instanceof WireError));
  const b = ip.payload.slice();
  b[3] = 0x35;
  assert.ok(decodeMplsUdp(b) instanceof WireError);
  for (const h of [0, 1, 0x3fff, 0x4000, 0xffffffff]) {
    const p = mplsUdpSourcePort(h);
    assert.ok(p >= 49152 && p <= 65535, String(p));
  }
  assert.equal(MPLS_UDP_PORT, 6635);
});

test('fuzz: MPLS-over-UDP round trip', () => {
  const ip = decodeIpv4(PKT);
  assert.ok(!(ip instanceof WireError));
  const s = fuzzRoundTrip(decodeMplsUdp, encodeMplsUdp, [ip.payload]);
  assert.ok(s.decoded > 500 && s.errors > 100, JSON.stringify(s));
});
