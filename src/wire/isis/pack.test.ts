// Splitting, padding and fragmenting: FRR's own hellos, stripped of their padding and padded
// again, come out byte for byte as FRR sent them; split TLVs and fragments keep every entry in
// order, each within its limit, and pack as full as the greedy rule allows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  DEFAULT_LSP_BUFFER_SIZE,
  IsisError,
  decodeIsisFrame,
  decodePdu,
  encodePduBytes,
  fragmentTlvs,
  padHello,
  paddingTlvs,
  parseSystemId,
  splitTlv,
  tlvSize,
  type ExtendedIpv4Reach,
  type Pdu,
  type Tlv,
} from './index.js';
import type { Label, Prefix } from '../../lib/addr.js';
import { hex, rng, toHex } from '../../../test/support/wire.js';

const FIXTURES = JSON.parse(readFileSync(new URL('../../../../src/wire/isis/testdata/frr-isisd.json', import.meta.url), 'utf8')) as { pdus: { name: string; frame: string }[] };

test("FRR's hellos, unpadded and padded again to 1497 bytes, are the bytes FRR sent", () => {
  for (const f of FIXTURES.pdus.filter((p) => p.name.includes('hello'))) {
    const fr = decodeIsisFrame(hex(f.frame));
    assert.ok(!(fr instanceof IsisError));
    const v = decodePdu(fr.pdu);
    assert.ok(!(v instanceof IsisError) && (v.kind === 'p2p-hello' || v.kind === 'lan-hello'));
    const bare = { ...v, tlvs: v.tlvs.filter((t) => t.type !== 'padding') };
    const again = encodePduBytes(padHello(bare, fr.pdu.length), { hmacMd5Key: 'hellokey' });
    assert.equal(toHex(again), toHex(fr.pdu), f.name);
  }
});

test('padding fills exactly, one byte excepted', () => {
  for (let n = 0; n < 3000; n++) {
    const pads = paddingTlvs(n);
    const total = pads.reduce((s, t) => s + tlvSize(t), 0);
    assert.equal(total, n === 1 ? 0 : n, `n=${n}`);
    assert.ok(pads.every((t) => t.type === 'padding' && t.length <= 255));
  }
});

function lspWith(tlvs: Tlv[], fragment: number): Pdu {
  return {
    kind: 'lsp',
    level: 2,
    maxAreaAddresses: 0,
    remainingLifetime: 1200,
    lspId: { systemId: parseSystemId('0102.5500.0001'), pseudonode: 0, fragment },
    sequence: 1,
    checksum: 0,
    partitionRepair: false,
    attached: 0,
    overload: false,
    isType: 3,
    tlvs,
  };
}

function randomPrefixes(next: () => number, count: number): ExtendedIpv4Reach[] {
  return Array.from({ length: count }, () => {
    const len = next() % 33;
    const addr = new Uint8Array(4);
    for (let i = 0; i < (len + 7) >>> 3; i++) addr[i] = next() & 0xff;
    if (len & 7) addr[(len - 1) >>> 3]! &= (0xff00 >>> (len & 7)) & 0xff;
    const prefix: Prefix = { family: 4, addr, len };
    const withSid = next() % 3 === 0;
    return {
      prefix,
      metric: next() % 100,
      down: false,
      subTlvs: withSid
        ? [{ type: 'prefix-sid', flags: { r: false, n: true, p: false, e: false, v: false, l: false }, algorithm: 0, sid: next() % 2 ? { index: next() % 1000 } : { label: (16 + (next() % 1000)) as Label } }]
        : [],
    };
  });
}

test('a long list splits into full TLVs in order, each within 255 bytes', () => {
  const next = rng(7);
  for (let round = 0; round < 200; round++) {
    const prefixes = randomPrefixes(next, next() % 300);
    const parts = splitTlv({ type: 'extended-ipv4-reachability', prefixes });
    const flat = parts.flatMap((t) => (t.type === 'extended-ipv4-reachability' ? t.prefixes : []));
    assert.deepEqual(flat, prefixes);
    for (let i = 0; i < parts.length; i++) {
      const size = tlvSize(parts[i]!) - 2;
      assert.ok(size <= 255, `part ${i} is ${size} bytes`);
      // greedy: the next entry would not have fitted
      if (i + 1 < parts.length) {
        const nextEntry = (parts[i + 1] as Extract<Tlv, { type: 'extended-ipv4-reachability' }>).prefixes[0]!;
        assert.ok(size + tlvSize({ type: 'extended-ipv4-reachability', prefixes: [nextEntry] }) - 2 > 255);
      }
    }
    // and they decode back inside an LSP
    const back = decodePdu(encodePduBytes(lspWith(parts, 0)));
    assert.ok(!(back instanceof IsisError) && back.tlvs.length === parts.length);
  }
});

test('TLVs deal into LSP fragments that each fit the buffer and start with the authentication TLV', () => {
  const next = rng(11);
  const auth: Tlv = { type: 'authentication', auth: { kind: 'hmac-md5', digest: new Uint8Array(16) } };
  const tlvs = splitTlv({ type: 'extended-ipv4-reachability', prefixes: randomPrefixes(next, 1500) });
  const fragments = fragmentTlvs(tlvs, DEFAULT_LSP_BUFFER_SIZE, [auth]);
  assert.ok(fragments.length > 5);
  assert.deepEqual(
    fragments.flatMap((f) => f.slice(1)),
    tlvs,
  );
  fragments.forEach((f, i) => {
    assert.deepEqual(f[0], auth);
    const bytes = encodePduBytes(lspWith(f, i));
    assert.ok(bytes.length <= DEFAULT_LSP_BUFFER_SIZE, `fragment ${i}: ${bytes.length} bytes`);
    if (i + 1 < fragments.length) assert.ok(bytes.length + tlvSize(fragments[i + 1]![1]!) > DEFAULT_LSP_BUFFER_SIZE, `fragment ${i} could have held more`);
  });
});
