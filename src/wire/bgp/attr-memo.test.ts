// AttrMemo: a session's UPDATEs with the attribute field of the one before get its decode
// again, and an UPDATE whose field differs in any byte is decoded in full (never the stale
// decode): checked on golden bytes, and on mutations compared with a decode without memo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipv4PrefixCode } from '../../lib/addr.js';
import { AttrMemo, DEFAULT_OPTIONS, decodeIpv4PrefixCodes, decodeUpdate, encodeUpdate, ipv4PrefixCodeList, type DecodedUpdate, type SessionOptions, type Update } from './index.js';

const RX: SessionOptions = { ...DEFAULT_OPTIONS, prefixCodes: true };
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
/** An UPDATE body without withdrawn routes: the attribute field's length, the field, the NLRI. */
function upd(attrs: string, nlri: string): Uint8Array {
  const a = bytes(attrs);
  return bytes(`0000 ${a.length.toString(16).padStart(4, '0')} ${attrs} ${nlri}`);
}

/** An UPDATE body: ORIGIN IGP, AS_PATH 65001, NEXT_HOP 10.0.0.1, MED `med`, NLRI 10.1.`third`.0/24. */
function body(med: number, third: number): Uint8Array {
  const m = med.toString(16).padStart(8, '0');
  const t = third.toString(16).padStart(2, '0');
  return upd(`400101 00 400206 0201 0000fde9 400304 0a000001 800404 ${m}`, `18 0a01${t}`);
}

function ok(r: ReturnType<typeof decodeUpdate>): DecodedUpdate {
  if (r.kind === 'error') assert.fail(`unexpected error ${r.reason}`);
  return r;
}

test('the same attribute field again: the remembered attributes, this UPDATE\'s own prefixes', () => {
  const memo = new AttrMemo();
  const a = ok(decodeUpdate(body(100, 1), RX, memo));
  const b = ok(decodeUpdate(body(100, 2), RX, memo));
  assert.equal(b.update.attrs, a.update.attrs, 'one PathAttributes object for both');
  assert.equal(b.attrBytes, a.attrBytes, 'the memo\'s copy of the field, so equal sets are seen as equal');
  assert.equal(b.attrHash, a.attrHash);
  assert.deepEqual(a.v4?.nlri, [ipv4PrefixCode(0x0a010100, 24)]);
  assert.deepEqual(b.v4?.nlri, [ipv4PrefixCode(0x0a010200, 24)]);
  assert.equal(b.outcome, 'ok');
  assert.deepEqual(b.problems, []);
  // the memo's copy is not a view of the message: the receive buffer may be reused
  const m = body(100, 3);
  const c = ok(decodeUpdate(m, RX, memo));
  m.fill(0);
  assert.equal(c.attrBytes![0], 0x40);
});

test('a changed byte is decoded again: the MED of the new bytes, never the remembered one', () => {
  const memo = new AttrMemo();
  const a = ok(decodeUpdate(body(100, 1), RX, memo));
  const b = ok(decodeUpdate(body(200, 2), RX, memo));
  assert.notEqual(b.update.attrs, a.update.attrs);
  assert.equal(a.update.attrs.med, 100);
  assert.equal(b.update.attrs.med, 200);
  // and back: the memo holds the last set only
  const c = ok(decodeUpdate(body(100, 3), RX, memo));
  assert.equal(c.update.attrs.med, 100);
  assert.notEqual(c.update.attrs, a.update.attrs);
});

test('a changed byte that makes the field malformed is treat-as-withdraw, not the remembered clean decode', () => {
  const memo = new AttrMemo();
  ok(decodeUpdate(body(100, 1), RX, memo));
  // ORIGIN 7: no such origin (RFC 7606 section 7.1: treat-as-withdraw)
  const bad = body(100, 2);
  bad[7] = 7;
  const d = ok(decodeUpdate(bad, RX, memo));
  assert.equal(d.outcome, 'treat-as-withdraw');
  assert.equal(d.attrBytes, undefined);
});

test('another SessionOptions object (a new session, or 2-octet AS) does not reuse the decode', () => {
  const memo = new AttrMemo();
  const a = ok(decodeUpdate(body(100, 1), RX, memo));
  const two: SessionOptions = { ...RX, as4: false };
  // the same bytes read with 2-octet ASNs: a segment of one ASN (0) and two bytes left over, malformed
  const b = ok(decodeUpdate(body(100, 1), two, memo));
  assert.deepEqual(a.update.attrs.asPath, [{ type: 2, asns: [65001] }]);
  assert.equal(b.outcome, 'treat-as-withdraw');
  assert.equal(b.update.attrs.asPath, undefined);
});

test('a field without NEXT_HOP is not remembered: the next UPDATE with NLRI is still treat-as-withdraw', () => {
  const memo = new AttrMemo();
  // ORIGIN and AS_PATH only, no NLRI: fine on its own
  const first = ok(decodeUpdate(upd('400101 00 400206 0201 0000fde9', ''), RX, memo));
  assert.equal(first.outcome, 'ok');
  const withNlri = ok(decodeUpdate(upd('400101 00 400206 0201 0000fde9', '18 0a0101'), RX, memo));
  assert.equal(withNlri.outcome, 'treat-as-withdraw');
  assert.match(withNlri.problems.join(), /missing NEXT_HOP/);
});

test('text prefixes and add-path: a hit still carries this UPDATE\'s prefixes and path identifiers', () => {
  const memo = new AttrMemo();
  const attrs = { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '10.0.0.1' };
  const u = (nlri: string[], ids?: number[]): Update => ({ withdrawn: [], attrs, nlri, nlriIds: ids });
  const txt = DEFAULT_OPTIONS;
  const a = ok(decodeUpdate(encodeUpdate(u(['10.1.1.0/24']), txt).subarray(19), txt, memo));
  const b = ok(decodeUpdate(encodeUpdate(u(['10.1.2.0/24', '10.1.3.0/24']), txt).subarray(19), txt, memo));
  assert.equal(b.update.attrs, a.update.attrs);
  assert.deepEqual(b.update.nlri, ['10.1.2.0/24', '10.1.3.0/24']);
  const ap: SessionOptions = { ...RX, addPathRx: new Set(['1/1']), addPathTx: new Set(['1/1']) };
  const c = ok(decodeUpdate(encodeUpdate(u(['10.1.1.0/24'], [7]), ap).subarray(19), ap, memo));
  const d = ok(decodeUpdate(encodeUpdate(u(['10.1.2.0/24'], [9]), ap).subarray(19), ap, memo));
  assert.equal(d.update.attrs, c.update.attrs);
  assert.deepEqual(d.update.nlriIds, [9]);
  assert.deepEqual(d.v4?.nlri, [ipv4PrefixCode(0x0a010200, 24)]);
});

// a seeded LCG (Numerical Recipes constants): a failure replays
let state = 0x2545f491;
const rnd = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) >>> 8;

test('20,000 mutated UPDATEs after a clean one: with the memo, every decode equals the decode without it', () => {
  const seed = upd('400101 00 40020a 0202 0000fde9 0000fdea 400304 0a000001 800404 00000064 400504 00000064 c00808 fde90064 fde900c8', '18 0a0101 10 0a02');
  const alen = (seed[2]! << 8) | seed[3]!;
  let hits = 0;
  for (let n = 0; n < 20000; n++) {
    const memo = new AttrMemo();
    const first = ok(decodeUpdate(seed, RX, memo));
    const m = seed.slice();
    // one to three bytes changed anywhere, the attribute field most of the time
    const flips = 1 + (rnd() % 3);
    for (let k = 0; k < flips; k++) {
      const at = rnd() % 4 === 0 ? rnd() % m.length : 4 + (rnd() % alen);
      m[at] = rnd() & 0xff;
    }
    const want = decodeUpdate(m, RX);
    const got = decodeUpdate(m, RX, memo);
    if (got.kind === 'update' && got.update.attrs === first.update.attrs) hits++;
    // (attrBytes: the memo's copy or a view of the message, equal bytes either way)
    const norm = (d: typeof want) => (d.kind === 'update' ? { ...d, attrBytes: d.attrBytes && [...d.attrBytes] } : d);
    assert.deepEqual(norm(got), norm(want), `mutation ${n}: ${Buffer.from(m).toString('hex')}`);
  }
  // mutations of the NLRI field alone keep the attribute field: those are hits, and correct
  assert.ok(hits > 0, 'some mutations left the attribute field as it was');
});

test('ipv4PrefixCodeList: the values and the errors of decodeIpv4PrefixCodes, on golden and random fields', () => {
  assert.deepEqual(ipv4PrefixCodeList(bytes('18 0a0101 00 20 c0000201'), 0, 10), [ipv4PrefixCode(0x0a010100, 24), ipv4PrefixCode(0, 0), ipv4PrefixCode(0xc0000201, 32)]);
  assert.equal(ipv4PrefixCodeList(bytes('21 0a010101 00'), 0, 6), 'prefix length 33 exceeds 32');
  assert.equal(ipv4PrefixCodeList(bytes('18 0a01'), 0, 3), 'prefix overruns the field');
  for (let n = 0; n < 5000; n++) {
    const b = new Uint8Array(rnd() % 24);
    for (let k = 0; k < b.length; k++) b[k] = rnd() % 3 === 0 ? rnd() % 34 : rnd() & 0xff;
    const want: number[] = [];
    const bad = decodeIpv4PrefixCodes(b, 0, b.length, false, want, undefined);
    assert.deepEqual(ipv4PrefixCodeList(b, 0, b.length), bad ?? want, Buffer.from(b).toString('hex'));
  }
});
