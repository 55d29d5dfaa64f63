/**
 * BFD control packet codec: golden packets captured from FRR 8.4.4's bfdd (both ways,
 * byte-identical), every RFC 5880 section 6.8.6 check a packet can fail alone, keyed
 * MD5/SHA1 digests, and a fuzz run that must only ever produce values or decode errors.
 *
 * The golden packets: two bfdd (Debian frr 8.4.4) beside their zebra in two namespaces over a
 * veth pair, 10.9.0.1 (A) and 10.9.0.2 (B), captured with tcpdump on A's end (udp port 3784),
 * every packet with IP TTL 255 and UDP source port 49152. The configurations:
 *   A: bfd / peer 10.9.0.2 local-address 10.9.0.1 / receive-interval 300 / transmit-interval 200 / detect-multiplier 3
 *   B: bfd / peer 10.9.0.1 local-address 10.9.0.2 / receive-interval 250 / transmit-interval 400 / detect-multiplier 5
 * Then B's peer was shut down and brought back (`shutdown`, `no shutdown`), and A's
 * transmit-interval changed to 500 (a poll sequence). `show bfd peers json` gave
 * A id 520958590 (0x1f0d327e), B id 1263889535 (0x4b556c7f).
 */
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BFD_HEADER_LEN,
  BfdAuthType,
  type BfdControl,
  BfdDecodeError,
  bfdControlLength,
  bfdDiagName,
  decodeBfdControl,
  encodeBfdControl,
  signBfdControl,
  verifyBfdDigest,
} from './bfd.js';
import { WireError } from './errors.js';
import { fuzzRoundTrip, hex, rng, toHex } from '../../test/support/wire.js';

const A = 0x1f0d327e;
const B = 0x4b556c7f;
const base = { diag: 0, poll: false, final: false, controlPlaneIndependent: false, demand: false, requiredMinEchoRxUs: 50000 };

/** [what it shows, the UDP payload as captured, the value it decodes to] */
const GOLDEN: [string, string, BfdControl][] = [
  ['A starts: Down, Your Discriminator 0, slow 1 s timers (section 6.8.3)', '204003181f0d327e00000000000f4240000f42400000c350',
    { ...base, state: 'Down', detectMult: 3, myDiscriminator: A, yourDiscriminator: 0, desiredMinTxUs: 1000000, requiredMinRxUs: 1000000 }],
  ['B answers Init', '208005184b556c7f1f0d327e000f4240000f42400000c350',
    { ...base, state: 'Init', detectMult: 5, myDiscriminator: B, yourDiscriminator: A, desiredMinTxUs: 1000000, requiredMinRxUs: 1000000 }],
  ['A Up with Poll: its configured timers start a poll sequence (section 6.8.3)', '20e003181f0d327e4b556c7f00030d40000493e00000c350',
    { ...base, state: 'Up', poll: true, detectMult: 3, myDiscriminator: A, yourDiscriminator: B, desiredMinTxUs: 200000, requiredMinRxUs: 300000 }],
  ['B answers Final', '20d005184b556c7f1f0d327e00061a800003d0900000c350',
    { ...base, state: 'Up', final: true, detectMult: 5, myDiscriminator: B, yourDiscriminator: A, desiredMinTxUs: 400000, requiredMinRxUs: 250000 }],
  ['A Up, steady', '20c003181f0d327e4b556c7f00030d40000493e00000c350',
    { ...base, state: 'Up', detectMult: 3, myDiscriminator: A, yourDiscriminator: B, desiredMinTxUs: 200000, requiredMinRxUs: 300000 }],
  ['B shut down: AdminDown', '200005184b556c7f1f0d327e00061a800003d0900000c350',
    { ...base, state: 'AdminDown', detectMult: 5, myDiscriminator: B, yourDiscriminator: A, desiredMinTxUs: 400000, requiredMinRxUs: 250000 }],
  ['A Down, Diag 3 Neighbor Signaled Session Down, Your Discriminator cleared', '234003181f0d327e00000000000f4240000f42400000c350',
    { ...base, diag: 3, state: 'Down', detectMult: 3, myDiscriminator: A, yourDiscriminator: 0, desiredMinTxUs: 1000000, requiredMinRxUs: 1000000 }],
  ['A Init, Diag 3 kept (B back)', '238003181f0d327e4b556c7f000f4240000f42400000c350',
    { ...base, diag: 3, state: 'Init', detectMult: 3, myDiscriminator: A, yourDiscriminator: B, desiredMinTxUs: 1000000, requiredMinRxUs: 1000000 }],
  ['A polls for its new transmit interval of 500 ms', '20e003181f0d327e4b556c7f0007a120000493e00000c350',
    { ...base, state: 'Up', poll: true, detectMult: 3, myDiscriminator: A, yourDiscriminator: B, desiredMinTxUs: 500000, requiredMinRxUs: 300000 }],
];

for (const [what, bytes, value] of GOLDEN) {
  test(`golden from FRR bfdd: ${what}`, () => {
    const d = decodeBfdControl(hex(bytes));
    assert.ok(!(d instanceof WireError), String(d));
    assert.deepEqual(d, value);
    const out = new Uint8Array(64);
    const end = encodeBfdControl(value, out, 3);
    assert.equal(end - 3, BFD_HEADER_LEN);
    assert.equal(toHex(out.subarray(3, end)), bytes);
  });
}

const UP = hex(GOLDEN[4]![1]);

/** Set bytes of `b` by offset. */
function poke(b: Uint8Array, bytes: Record<number, number>): void {
  for (const [at, v] of Object.entries(bytes)) b[Number(at)] = v;
}

/** `UP` with `edit` applied to a copy, decoded: the check it fails. */
function check(edit: (b: Uint8Array) => void, len = UP.length): string {
  const b = new Uint8Array(Math.max(len, UP.length));
  b.set(UP);
  edit(b);
  const d = decodeBfdControl(b.subarray(0, len));
  assert.ok(d instanceof BfdDecodeError, 'expected a decode error');
  assert.equal(d.protocol, 'bfd');
  return d.check;
}

test('RFC 5880 6.8.6 reception checks: each failure is a value naming its check', () => {
  assert.equal(check((b) => (b[0] = (2 << 5) | (b[0]! & 0x1f))), 'bad_version');
  assert.equal(check((b) => (b[0] = b[0]! & 0x1f)), 'bad_version');
  assert.equal(check((b) => (b[3] = 23)), 'bad_length');
  assert.equal(check((b) => (b[3] = 25)), 'truncated');
  assert.equal(check(() => {}, 23), 'truncated');
  assert.equal(check(() => {}, 0), 'truncated');
  assert.equal(check((b) => (b[2] = 0)), 'detect_mult_zero');
  assert.equal(check((b) => (b[1] = b[1]! | 0x01)), 'multipoint');
  assert.equal(check((b) => b.fill(0, 4, 8)), 'my_discriminator_zero');
  assert.equal(check((b) => b.fill(0, 8, 12)), 'your_discriminator_zero');
  // Init with Your Discriminator 0 is refused too; Down and AdminDown with 0 are fine
  assert.equal(check((b) => poke(b, { 8: 0, 9: 0, 10: 0, 11: 0, 1: 0x80 })), 'your_discriminator_zero');
  for (const sta of [0x00, 0x40]) {
    const b = UP.slice();
    b.fill(0, 8, 12);
    b[1] = sta;
    assert.ok(!(decodeBfdControl(b) instanceof WireError));
  }
  // the A bit needs at least 26 bytes and a consistent section
  assert.equal(check((b) => (b[1] = b[1]! | 0x04)), 'bad_length');
  assert.equal(check((b) => poke(b, { 1: UP[1]! | 0x04, 3: 26, 24: 1, 25: 3 }), 26), 'bad_auth_section');
  assert.equal(check((b) => poke(b, { 1: UP[1]! | 0x04, 3: 28, 24: 9, 25: 4 }), 28), 'bad_auth_section');
  assert.equal(check((b) => poke(b, { 1: UP[1]! | 0x04, 3: 28, 24: 4, 25: 4 }), 28), 'bad_auth_section');
  assert.equal(bfdDiagName(1), 'Control Detection Time Expired');
  assert.equal(bfdDiagName(20), 'Reserved (20)');
});

test('bytes past Length are ignored; the value is that of the first Length bytes', () => {
  const b = new Uint8Array(40);
  b.set(UP);
  assert.deepEqual(decodeBfdControl(b), GOLDEN[4]![2]);
});

test('decoded header fields do not alias the receive buffer', () => {
  const b = UP.slice();
  const d = decodeBfdControl(b) as BfdControl;
  b.fill(0);
  assert.equal(d.myDiscriminator, A);
});

test('simple password (section 4.2) both ways', () => {
  const p: BfdControl = { ...GOLDEN[4]![2], auth: { type: BfdAuthType.SimplePassword, keyId: 7, password: new TextEncoder().encode('secret') } };
  const out = new Uint8Array(64);
  const end = encodeBfdControl(p, out);
  assert.equal(end, 24 + 3 + 6);
  assert.equal(end, bfdControlLength(p));
  assert.equal(out[1]! & 0x04, 0x04, 'A bit');
  assert.equal(toHex(out.subarray(24, end)), '010907' + toHex(new TextEncoder().encode('secret')));
  assert.deepEqual(decodeBfdControl(out.subarray(0, end)), p);
});

test('keyed SHA1 and MD5 (sections 6.7.3, 6.7.4): sign, verify, and a wrong key or a changed byte fails', () => {
  for (const [type, dlen] of [[BfdAuthType.KeyedSha1, 20], [BfdAuthType.MeticulousKeyedSha1, 20], [BfdAuthType.KeyedMd5, 16]] as const) {
    const p: BfdControl = { ...GOLDEN[4]![2], auth: { type, keyId: 2, sequence: 0x01020304, digest: new Uint8Array(dlen) } };
    const out = new Uint8Array(bfdControlLength(p));
    encodeBfdControl(p, out);
    assert.equal(out[3], type === BfdAuthType.KeyedMd5 ? 48 : 52);
    const key = new TextEncoder().encode('k3y');
    signBfdControl(out, key);
    assert.ok(verifyBfdDigest(out, key));
    assert.ok(!verifyBfdDigest(out, new TextEncoder().encode('k3z')));
    const d = decodeBfdControl(out);
    assert.ok(!(d instanceof WireError) && d.auth && d.auth.type !== 1);
    assert.equal(d.auth.sequence, 0x01020304);
    assert.notEqual(toHex(d.auth.digest), '00'.repeat(dlen));
    const again = new Uint8Array(out.length);
    encodeBfdControl(d, again);
    assert.equal(toHex(again), toHex(out));
    out[16] = out[16]! ^ 1;
    assert.ok(!verifyBfdDigest(out, key), 'a changed Required Min RX fails the digest');
  }
  // the digest of SHA1 is the SHA1 of the packet with the zero-padded key in the digest field
  const p: BfdControl = { ...GOLDEN[4]![2], auth: { type: 4, keyId: 1, sequence: 1, digest: new Uint8Array(20) } };
  const out = new Uint8Array(52);
  encodeBfdControl(p, out);
  const withKey = out.slice();
  withKey.set([0x61, 0x62], 32);
  signBfdControl(out, new Uint8Array([0x61, 0x62]));
  assert.equal(toHex(out.subarray(32)), createHash('sha1').update(withKey).digest('hex'));
});

/**
 * Meticulous keyed SHA1 from BIRD 2.0.12's BFD (two BIRDs in namespaces over a veth,
 * 10.9.1.1 and 10.9.1.2, captured on the first's end): both ran
 *   protocol bfd { interface "IF" { interval 200 ms; multiplier 3;
 *     authentication meticulous keyed sha1; password "cnr-bfd-key" { id 5; }; }; neighbor PEER; }
 */
const BIRD_SHA1: [string, string][] = [
  ['Down, Your Discriminator 0', '20440334e0439e5d00000000000f424000030d4000000000051c050053f2481fc46bb5ff78c73f6ee93dc98e2c7acf95cc3ba4c4'],
  ['Up with Poll', '20e40334fcdc6fffe0439e5d00030d4000030d4000000000051c050071a73b50df99b6bedc8da649bc46ba3547d9b8929cb63297'],
  ['Up with Final', '20d40334e0439e5dfcdc6fff00030d4000030d4000000000051c050053f248217e5388ae3bf8781c0691c4afcac42ce4ef82eaf5'],
];

test('golden from BIRD: meticulous keyed SHA1 decodes, verifies with BIRD\'s key, re-encodes and re-signs byte for byte', () => {
  const key = new TextEncoder().encode('cnr-bfd-key');
  for (const [what, h] of BIRD_SHA1) {
    const bytes = hex(h);
    const d = decodeBfdControl(bytes);
    assert.ok(!(d instanceof WireError), `${what}: ${String(d)}`);
    assert.ok(d.auth && d.auth.type === BfdAuthType.MeticulousKeyedSha1, what);
    assert.equal(d.auth.keyId, 5);
    assert.equal(d.detectMult, 3);
    assert.ok(verifyBfdDigest(bytes, key), `${what}: BIRD's digest is the one section 6.7.4 gives`);
    assert.ok(!verifyBfdDigest(bytes, new TextEncoder().encode('cnr-bfd-kez')), `${what}: another key fails`);
    // a Node Buffer (what a dgram socket hands over) is verified without being changed
    const received = Buffer.from(bytes);
    assert.ok(verifyBfdDigest(received, key), `${what}: from a Buffer`);
    assert.equal(received.toString('hex'), h, `${what}: the received bytes are left alone`);
    const out = new Uint8Array(bytes.length);
    encodeBfdControl(d, out);
    assert.equal(toHex(out), h, `${what}: re-encoded`);
    // signing our own encoding (digest zeroed) gives BIRD's digest
    encodeBfdControl({ ...d, auth: { ...d.auth, digest: new Uint8Array(20) } }, out);
    signBfdControl(out, key);
    assert.equal(toHex(out), h, `${what}: re-signed`);
  }
});

test('encode refuses what the wire cannot hold', () => {
  const out = new Uint8Array(64);
  assert.throws(() => encodeBfdControl({ ...GOLDEN[4]![2], detectMult: 0 }, out), /Detect Mult/);
  assert.throws(() => encodeBfdControl(GOLDEN[4]![2], new Uint8Array(10)), /too small/);
  assert.throws(() => encodeBfdControl({ ...GOLDEN[4]![2], auth: { type: 4, keyId: 1, sequence: 1, digest: new Uint8Array(16) } }, out), /digest/);
});

test('fuzz: mutated and random packets decode to a value or a decode error, never a throw; values round-trip', () => {
  const seeds = GOLDEN.map(([, b]) => hex(b));
  const withAuth = new Uint8Array(52);
  encodeBfdControl({ ...GOLDEN[4]![2], auth: { type: 5, keyId: 1, sequence: 9, digest: new Uint8Array(20).fill(0xab) } }, withAuth);
  const withPw = new Uint8Array(30);
  encodeBfdControl({ ...GOLDEN[4]![2], auth: { type: 1, keyId: 1, password: new Uint8Array([1, 2, 3]) } }, withPw);
  seeds.push(withAuth, withPw.subarray(0, 30));
  const stats = fuzzRoundTrip(decodeBfdControl, encodeBfdControl, seeds, 30000);
  assert.ok(stats.decoded > 1000 && stats.errors > 1000, JSON.stringify(stats));
  // every error is a BfdDecodeError with a check name
  const next = rng(7);
  for (let i = 0; i < 5000; i++) {
    const b = seeds[i % seeds.length]!.slice();
    b[next() % b.length] = next() & 0xff;
    const d = decodeBfdControl(b);
    if (d instanceof WireError) assert.ok(d instanceof BfdDecodeError && typeof d.check === 'string');
  }
});
