import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEthernet, encodeEthernet, ETHERTYPE_IPV4, ETHERTYPE_VLAN, ETHERTYPE_MPLS, type EthernetFrame } from './ethernet.js';
import { WireError } from './errors.js';
import { fuzzRoundTrip, hex, toHex } from '../../test/support/wire.js';

const TAGGED = hex('0200000000020200000000018100a06408004500002112344000400113a60a0000010a0001020800b3b30077000368656c6c6f');
const MPLS = hex('020000000002020000000001884703e8104000064b3f4500001c000100003f0166de0a0000010a0001020800f7ff00000000');

test('golden: 802.1Q tagged IPv4 frame decodes and re-encodes byte for byte', () => {
  const f = decodeEthernet(TAGGED);
  assert.ok(!(f instanceof WireError));
  assert.equal(toHex(f.dst), '020000000002');
  assert.equal(toHex(f.src), '020000000001');
  assert.deepEqual(f.vlans, [{ tpid: ETHERTYPE_VLAN, pcp: 5, dei: false, vid: 100 }]);
  assert.equal(f.etherType, ETHERTYPE_IPV4);
  assert.equal(f.payload.length, TAGGED.length - 18);
  const out = new Uint8Array(TAGGED.length);
  assert.equal(encodeEthernet(f, out), TAGGED.length);
  assert.equal(toHex(out), toHex(TAGGED));
});

test('golden: untagged MPLS frame; encode from a literal value', () => {
  const v: EthernetFrame = { dst: hex('020000000002'), src: hex('020000000001'), vlans: [], etherType: ETHERTYPE_MPLS, payload: MPLS.subarray(14) };
  const out = new Uint8Array(MPLS.length);
  encodeEthernet(v, out);
  assert.equal(toHex(out), toHex(MPLS));
  assert.deepEqual(decodeEthernet(MPLS), v);
});

test('bad frames are error values: short, 802.3 length, three tags', () => {
  const e1 = decodeEthernet(TAGGED.subarray(0, 13));
  assert.ok(e1 instanceof WireError && e1.reason === 'truncated');
  const llc = TAGGED.slice();
  llc[12] = 0x00;
  llc[13] = 0x40;
  const e2 = decodeEthernet(llc);
  assert.ok(e2 instanceof WireError && e2.reason === 'malformed');
  const three = hex('020000000002020000000001' + '8100000a'.repeat(3) + '0800');
  const e3 = decodeEthernet(three);
  assert.ok(e3 instanceof WireError && e3.reason === 'unsupported');
  const cut = decodeEthernet(TAGGED.subarray(0, 16));
  assert.ok(cut instanceof WireError && cut.reason === 'truncated');
});

test('fuzz: mutated and random frames never throw and round-trip', () => {
  const s = fuzzRoundTrip(decodeEthernet, encodeEthernet, [TAGGED, MPLS]);
  assert.ok(s.decoded > 1000 && s.errors > 100, JSON.stringify(s));
});
