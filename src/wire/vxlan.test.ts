import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeVxlan, encodeVxlan } from './vxlan.js';
import { decodeEthernet } from './ethernet.js';
import { WireError } from './errors.js';
import { fuzzRoundTrip, hex, toHex } from '../../test/support/wire.js';

const PKT = hex('080000000013890002000000000202000000000108004500001c00010000400165de0a0000010a0001020800f7ff00000000'); // scapy, VNI 5001

test('golden: VXLAN VNI 5001 carrying an Ethernet frame', () => {
  const v = decodeVxlan(PKT);
  assert.ok(!(v instanceof WireError));
  assert.equal(v.vni, 5001);
  const inner = decodeEthernet(v.payload);
  assert.ok(!(inner instanceof WireError));
  assert.equal(toHex(inner.dst), '020000000002');
  const out = new Uint8Array(PKT.length);
  encodeVxlan(v, out);
  assert.equal(toHex(out), toHex(PKT));
});

test('VXLAN without the I flag is refused; VNI range is enforced on encode', () => {
  const b = PKT.slice();
  b[0] = 0;
  assert.ok(decodeVxlan(b) instanceof WireError);
  assert.throws(() => encodeVxlan({ vni: 1 << 24, payload: new Uint8Array(0) }, new Uint8Array(8)), /VNI/);
});

test('fuzz: VXLAN round trip', () => {
  const s = fuzzRoundTrip(decodeVxlan, encodeVxlan, [PKT]);
  assert.ok(s.decoded > 1000 && s.errors > 100, JSON.stringify(s));
});
