// Golden bytes from FRR isisd (testdata/frr-isisd.json says how they were captured): every PDU
// decodes to what FRR's `show isis database detail` and its config say, and encodes back to
// the same bytes — LSP checksums and HMAC-MD5 digests recomputed from the keys in the config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  ALL_ISS,
  ALL_L1_ISS,
  ALL_L2_ISS,
  AdjacencyState,
  IsisError,
  checkAuthentication,
  decodeIsisFrame,
  decodePdu,
  encodeIsisFrameHeader,
  encodePdu,
  encodePduBytes,
  fletcherValid,
  formatLspId,
  type Lsp,
  type Pdu,
  type Tlv,
} from './index.js';
import { ByteWriter } from '../../lib/bytes.js';
import { formatIpv4, formatPrefix, parseIpv4 } from '../../lib/addr.js';
import { hex, toHex } from '../../../test/support/wire.js';

interface Fixture {
  name: string;
  interface: string;
  note: string;
  frame: string;
}
const FIXTURES = JSON.parse(readFileSync(new URL('../../../../src/wire/isis/testdata/frr-isisd.json', import.meta.url), 'utf8')) as { pdus: Fixture[] };

function fixture(name: string): { frame: Uint8Array; pdu: Uint8Array; value: Pdu } {
  const f = FIXTURES.pdus.find((p) => p.name === name);
  assert.ok(f, `fixture ${name}`);
  const frame = hex(f.frame);
  const fr = decodeIsisFrame(frame);
  assert.ok(!(fr instanceof IsisError), String(fr));
  const value = decodePdu(fr.pdu);
  assert.ok(!(value instanceof IsisError), `${name}: ${String(value)}`);
  return { frame, pdu: fr.pdu, value };
}

function tlv<T extends Tlv['type']>(p: Pdu, type: T): Extract<Tlv, { type: T }>[] {
  return p.tlvs.filter((t): t is Extract<Tlv, { type: T }> => t.type === type);
}

/** The key each PDU was authenticated with (FRR config in the fixture file). */
function keyFor(p: Pdu): string | undefined {
  if (p.kind === 'lan-hello') return 'hellokey';
  if (p.kind === 'lsp' && p.level === 1) return 'areakey';
  return undefined;
}

test('every FRR PDU re-encodes to the captured bytes, frame header included', () => {
  assert.ok(FIXTURES.pdus.length >= 10);
  for (const f of FIXTURES.pdus) {
    const { frame, pdu, value } = fixture(f.name);
    const w = new ByteWriter(2000);
    const out = encodePdu(value, w, { hmacMd5Key: keyFor(value) });
    assert.equal(toHex(out), toHex(pdu), f.name);
    // the frame around it
    const buf = new Uint8Array(17 + out.length);
    const at = encodeIsisFrameHeader(frame.subarray(0, 6), frame.subarray(6, 12), out.length, buf);
    buf.set(out, at);
    assert.equal(toHex(buf), toHex(frame.subarray(0, buf.length)), `${f.name} frame`);
  }
});

test('decoded values own their bytes: the receive buffer can be reused at once', () => {
  for (const f of FIXTURES.pdus) {
    const { pdu, value } = fixture(f.name);
    const before = decodePdu(pdu.slice());
    pdu.fill(0xa5); // the driver reuses its ring slot
    assert.deepEqual(value, before, f.name);
  }
});

test('frames go to the multicast group their PDU kind needs', () => {
  for (const f of FIXTURES.pdus) {
    const { frame, value } = fixture(f.name);
    const dst = toHex(frame.subarray(0, 6));
    if (f.interface === 'p2p') assert.equal(dst, toHex(ALL_ISS), f.name);
    else assert.equal(dst, toHex('level' in value && value.level === 1 ? ALL_L1_ISS : ALL_L2_ISS), f.name);
  }
});

test('point-to-point hellos carry the RFC 5303 three-way state', () => {
  const up = fixture('p2p-hello-up').value;
  assert.equal(up.kind, 'p2p-hello');
  if (up.kind !== 'p2p-hello') return;
  assert.equal(up.sourceId, '0102.5500.0001');
  assert.equal(up.circuitType, 2); // isis circuit-type level-2-only
  assert.equal(up.holdingTime, 30);
  assert.deepEqual(tlv(up, 'p2p-adjacency')[0]!.adjacency, { state: AdjacencyState.Up, extLocalCircuitId: 2, neighborSystemId: '0102.5500.0002', neighborExtCircuitId: 2 });
  assert.deepEqual(tlv(up, 'area-addresses')[0]!.areas, ['49.0001']);
  assert.deepEqual(tlv(up, 'protocols-supported')[0]!.nlpids, [0xcc, 0x8e]);
  assert.deepEqual(tlv(up, 'ipv4-interface-addresses')[0]!.addresses.map(formatIpv4), ['10.0.12.1']);
  assert.equal(toHex(tlv(up, 'ipv6-interface-addresses')[0]!.addresses[0]!).slice(0, 4), 'fe80');
  // FRR pads hellos to the MTU with padding TLVs
  assert.equal(up.tlvs.filter((t) => t.type === 'padding').length, 6);
  const down = fixture('p2p-hello-down').value;
  assert.deepEqual(tlv(down, 'p2p-adjacency')[0]!.adjacency, { state: AdjacencyState.Down, extLocalCircuitId: 2 });
});

test('LAN hellos: level, priority, LAN ID, neighbours by MAC, HMAC-MD5 checked', () => {
  const l1 = fixture('l1-lan-hello');
  const l2 = fixture('l2-lan-hello');
  assert.equal(l1.value.kind, 'lan-hello');
  if (l1.value.kind !== 'lan-hello' || l2.value.kind !== 'lan-hello') return;
  assert.equal(l1.value.level, 1);
  assert.equal(l2.value.level, 2);
  assert.equal(l1.value.priority, 64);
  // rtb is DIS (higher system ID at equal priority); FRR numbers the pseudonode 0xdc
  assert.deepEqual(l1.value.lanId, { systemId: '0102.5500.0002', pseudonode: 0xdc });
  // each lists the other's MAC (the frame's source address) in TLV 6
  assert.equal(toHex(tlv(l1.value, 'is-neighbors')[0]!.neighbors[0]!), toHex(l2.frame.subarray(6, 12)));
  assert.equal(toHex(tlv(l2.value, 'is-neighbors')[0]!.neighbors[0]!), toHex(l1.frame.subarray(6, 12)));
  assert.equal(checkAuthentication(l1.pdu, { kind: 'hmac-md5', key: 'hellokey' }), true);
  const wrong = checkAuthentication(l1.pdu, { kind: 'hmac-md5', key: 'hellokey2' });
  assert.ok(wrong instanceof IsisError && wrong.reason === 'bad_authentication' && wrong.tlv === 10);
});

test('an L2 LSP with segment routing decodes to what FRR shows', () => {
  const { pdu, value } = fixture('l2-lsp');
  assert.equal(value.kind, 'lsp');
  const lsp = value as Lsp;
  assert.equal(formatLspId(lsp.lspId), '0102.5500.0001.00-00');
  assert.equal(lsp.sequence, 4);
  assert.equal(lsp.checksum, 0xfce9); // `show isis database`: rta.00-00 0x00000004 0xfce9
  assert.equal(lsp.isType, 3);
  assert.equal(lsp.overload, false);
  assert.equal(tlv(lsp, 'hostname')[0]!.hostname, 'rta');
  assert.equal(formatIpv4(tlv(lsp, 'te-router-id')[0]!.routerId), '10.255.0.1');
  const auth = tlv(lsp, 'authentication')[0]!.auth;
  assert.equal(auth.kind === 'cleartext' && new TextDecoder().decode(auth.password), 'domainpw');
  assert.equal(checkAuthentication(pdu, { kind: 'cleartext', password: 'domainpw' }), true);
  assert.ok(checkAuthentication(pdu, { kind: 'cleartext', password: 'domainpx' }) instanceof IsisError);

  // Router Capability: segment-routing global-block 16000 23999 local-block 15000 15999
  const cap = tlv(lsp, 'router-capability')[0]!;
  assert.equal(cap.routerId, parseIpv4('10.255.0.1'));
  assert.deepEqual(cap.subTlvs.slice(0, 3), [
    { type: 'sr-capabilities', flags: { i: true, v: true }, ranges: [{ range: 8000, first: { label: 16000 } }] },
    { type: 'sr-algorithms', algorithms: [0] },
    { type: 'srlb', flags: 0, ranges: [{ range: 1000, first: { label: 15000 } }] },
  ]);
  // node-msd 8 is a sub-TLV this codec does not model: kept as bytes (type 23, MSD type 1, value 8)
  assert.deepEqual(cap.subTlvs[3], { type: 'unknown', code: 23, value: new Uint8Array([1, 8]) });

  // extended IS reachability: the pseudonode (metric 20) with LAN Adj-SIDs, rtb (metric 10) with Adj-SIDs
  const isr = tlv(lsp, 'extended-is-reachability')[0]!.neighbors;
  assert.deepEqual(
    isr.map((n) => [n.neighbor.systemId, n.neighbor.pseudonode, n.metric]),
    [
      ['0102.5500.0002', 0xdc, 20],
      ['0102.5500.0002', 0, 10],
    ],
  );
  const lanAdj = isr[0]!.subTlvs;
  assert.ok(lanAdj.every((s) => s.type === 'lan-adj-sid' && s.neighborSystemId === '0102.5500.0002' && s.flags.v && s.flags.l));
  assert.deepEqual(
    lanAdj.map((s) => (s.type === 'lan-adj-sid' && 'label' in s.sid ? [s.sid.label, s.flags.f] : null)),
    [
      [15000, false],
      [15001, true],
      [15002, false],
      [15003, true],
    ],
  );
  assert.deepEqual(isr[1]!.subTlvs, [
    { type: 'adj-sid', flags: { f: false, b: false, v: true, l: true, s: false, p: false }, weight: 0, sid: { label: 15004 } },
    { type: 'adj-sid', flags: { f: true, b: false, v: true, l: true, s: false, p: false }, weight: 0, sid: { label: 15005 } },
  ]);

  // prefixes: segment-routing prefix 10.255.0.1/32 index 1 (node, PHP)
  const v4 = tlv(lsp, 'extended-ipv4-reachability').flatMap((t) => t.prefixes);
  assert.deepEqual(
    v4.map((p) => [formatPrefix(p.prefix), p.metric]),
    [
      ['10.0.99.0/24', 20],
      ['10.255.0.1/32', 10],
      ['10.0.12.0/30', 10],
    ],
  );
  assert.deepEqual(v4[1]!.subTlvs, [{ type: 'prefix-sid', flags: { r: false, n: true, p: false, e: false, v: false, l: false }, algorithm: 0, sid: { index: 1 } }]);
  // ... and 2001:db8:ff::1/128 index 1001 explicit-null (node, no-PHP, explicit-null)
  const v6 = tlv(lsp, 'ipv6-reachability').flatMap((t) => t.prefixes);
  assert.deepEqual(
    v6.map((p) => [formatPrefix(p.prefix), p.metric, p.external]),
    [
      ['2001:db8:99::/64', 20, false],
      ['2001:db8:ff::1/128', 10, false],
      ['2001:db8:12::/64', 10, false],
    ],
  );
  assert.deepEqual(v6[1]!.subTlvs, [{ type: 'prefix-sid', flags: { r: false, n: true, p: true, e: true, v: false, l: false }, algorithm: 0, sid: { index: 1001 } }]);
});

test('an L1 LSP with HMAC-MD5: the digest verifies, and encoding with the key reproduces it', () => {
  const { pdu, value } = fixture('l1-lsp');
  const lsp = value as Lsp;
  assert.equal(lsp.level, 1);
  assert.equal(lsp.attached, 1); // ATT (default metric): rtb is L1/L2 with an L2 neighbour
  assert.equal(checkAuthentication(pdu, { kind: 'hmac-md5', key: 'areakey' }), true);
  // the digest leaves out the Remaining Lifetime (RFC 5304 section 2): an aged copy still verifies
  const aged = pdu.slice();
  aged[11] = (aged[11]! - 7) & 0xff;
  assert.equal(checkAuthentication(aged, { kind: 'hmac-md5', key: 'areakey' }), true);
  assert.ok(!(decodePdu(aged) instanceof IsisError), 'lifetime is outside the checksum too');
  // but not any change to the contents
  const tampered = pdu.slice();
  tampered[pdu.length - 1]! ^= 1;
  assert.ok(checkAuthentication(tampered, { kind: 'hmac-md5', key: 'areakey' }) instanceof IsisError);
  // without the key, the encoder writes the digest it was given; with another key, another digest
  assert.equal(toHex(encodePduBytes(lsp)), toHex(pdu));
  assert.notEqual(toHex(encodePduBytes(lsp, { hmacMd5Key: 'other' })), toHex(pdu));
});

test('LSP checksum: a flipped bit is refused, a purge is not checked, overload and pseudonode LSPs decode', () => {
  const { pdu } = fixture('l2-lsp');
  assert.ok(fletcherValid(pdu, 12, pdu.length - 12));
  const bad = pdu.slice();
  bad[40]! ^= 0x10;
  const r = decodePdu(bad);
  assert.ok(r instanceof IsisError && r.reason === 'bad_checksum' && r.pdu === 'l2-lsp', String(r));
  assert.ok(!(decodePdu(bad, { verifyChecksum: false }) instanceof IsisError));

  const purge = fixture('l2-purge').value as Lsp;
  assert.equal(purge.remainingLifetime, 0);
  assert.equal(formatLspId(purge.lspId), '0102.5500.0002.dc-00');
  assert.deepEqual(
    purge.tlvs.map((t) => t.type),
    ['authentication'],
  );

  assert.equal((fixture('l2-lsp-overload').value as Lsp).overload, true);
  const pn = fixture('l2-pseudonode-lsp').value as Lsp;
  assert.deepEqual(
    tlv(pn, 'extended-is-reachability')[0]!.neighbors.map((n) => [n.neighbor.systemId, n.metric]),
    [
      ['0102.5500.0002', 0],
      ['0102.5500.0001', 0],
    ],
  );
});

test('CSNP and PSNP: LSP entries as the LSDB holds them', () => {
  const csnp = fixture('l2-csnp').value;
  assert.equal(csnp.kind, 'csnp');
  if (csnp.kind !== 'csnp') return;
  assert.equal(formatLspId(csnp.startLspId), '0000.0000.0000.00-00');
  assert.equal(formatLspId(csnp.endLspId), 'ffff.ffff.ffff.ff-ff');
  const entries = tlv(csnp, 'lsp-entries')[0]!.entries;
  assert.deepEqual(
    entries.map((e) => [formatLspId(e.lspId), e.sequence]),
    [
      ['0102.5500.0001.00-00', 4],
      ['0102.5500.0002.00-00', 4],
      ['0102.5500.0002.dc-00', 1],
    ],
  );
  // the same checksum as the LSP itself carries
  assert.equal(entries[0]!.checksum, (fixture('l2-lsp').value as Lsp).checksum);
  const psnp = fixture('l2-psnp').value;
  assert.equal(psnp.kind, 'psnp');
  if (psnp.kind !== 'psnp') return;
  assert.equal(psnp.sourceId.systemId, '0102.5500.0001');
  // the purge of rtb.dc-00 is acknowledged with lifetime 0
  assert.ok(tlv(psnp, 'lsp-entries')[0]!.entries.some((e) => e.remainingLifetime === 0 && e.lspId.pseudonode === 0xdc));
});

test('decode errors name the PDU, the TLV and the reason', () => {
  const { pdu } = fixture('l2-lsp');
  // the 802.3 length bounds the PDU; a frame cut short is refused
  const fr = decodeIsisFrame(hex(FIXTURES.pdus.find((p) => p.name === 'l2-lsp')!.frame).subarray(0, 100));
  assert.ok(fr instanceof IsisError && fr.reason === 'truncated' && fr.pdu === 'frame');
  // an EtherType frame is not ours
  const eth = new Uint8Array(60);
  eth[12] = 0x08;
  assert.ok(decodeIsisFrame(eth) instanceof IsisError);
  // a TLV length that runs past the PDU: find the hostname TLV (137) and lie about its length
  const lie = pdu.slice();
  let p = 27;
  while (lie[p] !== 137) p += 2 + lie[p + 1]!;
  lie[p + 1] = 250;
  const e = decodePdu(lie, { verifyChecksum: false });
  assert.ok(e instanceof IsisError && e.tlv === 137 && e.reason === 'truncated', String(e));
  assert.match(String(e), /l2-lsp TLV 137: truncated/);
  // a Prefix-SID sub-TLV of the wrong length names TLV 135 and sub-TLV 3
  const sub = pdu.slice();
  const at = toHex(sub).indexOf('030640000000'); // Prefix-SID: len 6, flags N, algorithm 0, index...
  assert.ok(at > 0 && at % 2 === 0);
  sub[at / 2 + 1] = 7;
  const e2 = decodePdu(sub, { verifyChecksum: false });
  assert.ok(e2 instanceof IsisError && e2.tlv === 135 && e2.subTlv === 3, String(e2));
  // a hello with the reserved circuit type 0
  const hello = fixture('p2p-hello-up').pdu.slice();
  hello[8] = 0;
  const e4 = decodePdu(hello);
  assert.ok(e4 instanceof IsisError && e4.pdu === 'p2p-hello' && e4.offset === 8, String(e4));
  // a header length that does not match the PDU type
  const h = pdu.slice();
  h[1] = 20;
  const e3 = decodePdu(h);
  assert.ok(e3 instanceof IsisError && e3.reason === 'malformed' && e3.offset === 1);
});
