// RFC 7606 revised error handling: each malformation gets the outcome the RFC names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_OPTIONS, decodeUpdate, encodeUpdate, isNotifyError, type DecodedUpdate, type Update } from './index.js';

const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

/** Build an UPDATE body from raw attribute hex and IPv4 NLRI hex. */
function body(attrs: string, nlri = '18c00002', withdrawn = ''): Uint8Array {
  const a = bytes(attrs);
  const w = bytes(withdrawn);
  const n = bytes(nlri);
  const out = new Uint8Array(4 + w.length + a.length + n.length);
  out[0] = w.length >> 8;
  out[1] = w.length & 255;
  out.set(w, 2);
  out[2 + w.length] = a.length >> 8;
  out[3 + w.length] = a.length & 255;
  out.set(a, 4 + w.length);
  out.set(n, 4 + w.length + a.length);
  return out;
}

const ORIGIN = '40010100';
const ASPATH = '4002060201 0000fde9';
const NH = '4003040a000001';

function ok(b: Uint8Array): DecodedUpdate {
  const r = decodeUpdate(b, DEFAULT_OPTIONS);
  if (r.kind === 'error') assert.fail(r.reason);
  return r;
}

test('well-formed baseline is ok', () => {
  const r = ok(body(ORIGIN + ASPATH + NH));
  assert.equal(r.outcome, 'ok');
  assert.deepEqual(r.update.nlri, ['192.0.2.0/24']);
});

test('bad ORIGIN length or value: treat-as-withdraw', () => {
  assert.equal(ok(body('4001020000' + ASPATH + NH)).outcome, 'treat-as-withdraw');
  assert.equal(ok(body('40010107' + ASPATH + NH)).outcome, 'treat-as-withdraw');
});

test('bad MED / LOCAL_PREF / NEXT_HOP / COMMUNITIES / LARGE_COMMUNITY lengths: treat-as-withdraw', () => {
  for (const bad of ['800403000000', '40050300 0000', '400303 0a0000', 'c00803 000000', 'c0200800000000 00000000']) {
    const r = ok(body(ORIGIN + ASPATH + (bad.startsWith('4003') ? '' : NH) + bad));
    assert.equal(r.outcome, 'treat-as-withdraw', bad);
    assert.deepEqual(r.update.nlri, ['192.0.2.0/24'], 'NLRI still located, to be withdrawn');
  }
});

test('bad ATOMIC_AGGREGATE / AGGREGATOR lengths: attribute discarded, route kept', () => {
  const r = ok(body(ORIGIN + ASPATH + NH + '400601 00' + 'c00703 000000'));
  assert.equal(r.outcome, 'ok');
  assert.equal(r.problems.length, 2);
  assert.equal(r.update.attrs.atomicAggregate, undefined);
  assert.equal(r.update.attrs.aggregator, undefined);
});

test('duplicate attributes: the first is kept, others discarded', () => {
  const r = ok(body(ORIGIN + ASPATH + NH + '800404 00000001' + '800404 00000002'));
  assert.equal(r.outcome, 'ok');
  assert.equal(r.update.attrs.med, 1);
  assert.match(r.problems[0]!, /duplicate MULTI_EXIT_DISC/);
});

test('duplicate MP_REACH_NLRI: session reset', () => {
  const mp = '800e0b 0001 01 04 0a000001 00 08 0a';
  const r = decodeUpdate(body(ORIGIN + ASPATH + mp + mp, ''), DEFAULT_OPTIONS);
  assert.ok(isNotifyError(r) && r.code === 3 && r.subcode === 1);
});

test('malformed MP_REACH_NLRI: session reset (Optional Attribute Error)', () => {
  const r = decodeUpdate(body(ORIGIN + ASPATH + '800e07 0002 01 03 000000 00', ''), DEFAULT_OPTIONS);
  assert.ok(isNotifyError(r) && r.code === 3 && r.subcode === 9);
});

test('unknown optional transitive kept with the partial bit; non-transitive dropped', () => {
  const r = ok(body(ORIGIN + ASPATH + NH + 'c0c802 abcd' + '80c902 ef01'));
  assert.deepEqual(r.update.attrs.unknown, [{ flags: 0xc0, type: 200, value: bytes('abcd') }]);
  const again = encodeUpdate(r.update, DEFAULT_OPTIONS);
  assert.ok(Buffer.from(again).toString('hex').includes('e0c802abcd'), 're-advertised with the partial bit (0x20)');
});

test('unrecognized well-known attribute: session reset (subcode 2, attribute as data)', () => {
  const r = decodeUpdate(body(ORIGIN + ASPATH + NH + '40c801 00'), DEFAULT_OPTIONS);
  assert.ok(isNotifyError(r) && r.subcode === 2);
  assert.equal(Buffer.from(r.data).toString('hex'), '40c80100');
});

test('AS_SET is accepted; malformed AS_PATH segments treat-as-withdraw', () => {
  const set = ok(body(ORIGIN + '400210 0201 0000fde9 0102 00000001 00000002' + NH));
  assert.equal(set.outcome, 'ok');
  assert.deepEqual(set.update.attrs.asPath, [{ type: 2, asns: [65001] }, { type: 1, asns: [1, 2] }]);
  assert.equal(ok(body(ORIGIN + '400206 0901 0000fde9' + NH)).outcome, 'treat-as-withdraw', 'bad segment type');
  assert.equal(ok(body(ORIGIN + '400206 0202 0000fde9' + NH)).outcome, 'treat-as-withdraw', 'segment overrun');
  assert.equal(ok(body(ORIGIN + '400202 0200' + NH)).outcome, 'treat-as-withdraw', 'empty segment');
});

test('attribute flags error follows the attribute: ORIGIN flagged optional is treat-as-withdraw', () => {
  assert.equal(ok(body('c0010100' + ASPATH + NH)).outcome, 'treat-as-withdraw');
});

test('attribute length overrunning the attribute field: treat-as-withdraw, NLRI still found', () => {
  const r = ok(body(ORIGIN + ASPATH + NH + 'c00810 0000'));
  assert.equal(r.outcome, 'treat-as-withdraw');
  assert.deepEqual(r.update.nlri, ['192.0.2.0/24']);
});

test('missing well-known attributes with NLRI: treat-as-withdraw; without NLRI: ok', () => {
  assert.equal(ok(body(ORIGIN + ASPATH)).outcome, 'treat-as-withdraw');
  assert.equal(ok(body(ASPATH + NH)).outcome, 'treat-as-withdraw');
  assert.equal(ok(body('', '', '18c00002')).outcome, 'ok');
});

test('length fields inconsistent with the message: Malformed Attribute List', () => {
  const b = body(ORIGIN + ASPATH + NH);
  b[1] = 200;
  const r = decodeUpdate(b, DEFAULT_OPTIONS);
  assert.ok(isNotifyError(r) && r.code === 3 && r.subcode === 1);
});

test('malformed NLRI field: Invalid Network Field', () => {
  const r = decodeUpdate(body(ORIGIN + ASPATH + NH, '21c0000200'), DEFAULT_OPTIONS);
  assert.ok(isNotifyError(r) && r.subcode === 10);
  const t = decodeUpdate(body(ORIGIN + ASPATH + NH, '18c000'), DEFAULT_OPTIONS);
  assert.ok(isNotifyError(t) && t.subcode === 10);
});

test('host bits in NLRI are cleared', () => {
  assert.deepEqual(ok(body(ORIGIN + ASPATH + NH, '10 0aff')).update.nlri, ['10.255.0.0/16']);
  assert.deepEqual(ok(body(ORIGIN + ASPATH + NH, '09 0aff')).update.nlri, ['10.128.0.0/9']);
});

test('MP_REACH for a family we do not speak is ignored, not an error', () => {
  const u: Update = { withdrawn: [], attrs: { origin: 0, asPath: [] }, nlri: [] };
  const base = encodeUpdate(u, DEFAULT_OPTIONS);
  assert.equal(ok(base.subarray(19)).outcome, 'ok');
  const vpn = ok(body(ORIGIN + ASPATH + '800e09 0001 85 04 0a000001 00 00', ''));
  assert.equal(vpn.update.mpReach, undefined);
});
