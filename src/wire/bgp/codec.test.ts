// Golden tests: for every message type, the bytes beside the value, checked both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefixKeyOfText } from '../../lib/addr.js';
import {
  DEFAULT_OPTIONS,
  decodeMessage,
  decodeOpen,
  decodeUpdate,
  encodeEndOfRib,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  encodeUpdate,
  emptyCapabilities,
  frameLength,
  frameMessage,
  isNotifyError,
  packUpdates,
  packWithdrawals,
  encodeAttributeBlock,
  asPathLength,
  formatExtCommunity,
  parseExtCommunity,
  formatCommunity,
  parseCommunity,
  describeNotification,
  type DecodedUpdate,
  type SessionOptions,
  type Update,
  type Open,
} from './index.js';

const MARKER = 'ff'.repeat(16);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const body = (m: Uint8Array) => m.subarray(19);

function decodeOk(b: Uint8Array, o: SessionOptions = DEFAULT_OPTIONS): DecodedUpdate {
  const r = decodeUpdate(body(b), o);
  if (r.kind === 'error') assert.fail(`unexpected error ${r.reason}`);
  return r;
}

test('KEEPALIVE golden', () => {
  assert.equal(hex(encodeKeepalive()), `${MARKER}001304`);
  const f = frameMessage(bytes(`${MARKER}001304`), 4096);
  assert.equal(f.kind, 'message');
});

test('frameLength: the length of a whole message, 0 for more bytes, -1 for a bad header, as frameMessage says', () => {
  const k = bytes(`${MARKER}001304`);
  const two = new Uint8Array([...k, ...k]);
  assert.equal(frameLength(two, 4096, 0), 19);
  assert.equal(frameLength(two, 4096, 19), 19);
  assert.equal(frameLength(two.subarray(0, 30), 4096, 19), 0);
  // a seeded walk over mutated headers: frameLength and frameMessage agree on every one
  let st = 12345;
  const rnd = () => (st = (Math.imul(st, 1103515245) + 12345) >>> 0) >>> 8;
  for (let n = 0; n < 20000; n++) {
    const b = new Uint8Array(19 + (rnd() % 80)).fill(0xff);
    const len = rnd() % 3 === 0 ? rnd() & 0xffff : 19 + (rnd() % 90);
    b[16] = len >>> 8;
    b[17] = len & 0xff;
    b[18] = rnd() % 7;
    if (rnd() % 10 === 0) b[rnd() % 16] = rnd() & 0xff;
    const max = rnd() % 2 ? 4096 : 65535;
    const f = frameMessage(b, max);
    const want = f.kind === 'message' ? f.length : f.kind === 'need' ? 0 : -1;
    assert.equal(frameLength(b, max, 0), want, Buffer.from(b.subarray(0, 19)).toString('hex'));
  }
});

test('NOTIFICATION golden (Cease / administrative shutdown with RFC 9003 text)', () => {
  const m = encodeNotification({ code: 6, subcode: 2, data: bytes('026869') });
  assert.equal(hex(m), `${MARKER}001803060202 6869`.replace(/ /g, ''));
  const d = decodeMessage(3, body(m), DEFAULT_OPTIONS);
  assert.ok(!isNotifyError(d) && d.type === 'notification');
  assert.equal(d.notification.code, 6);
  assert.match(describeNotification(d.notification), /Cease.*"hi"/);
});

test('ROUTE-REFRESH golden, normal and BoRR/EoRR', () => {
  assert.equal(hex(encodeRouteRefresh({ afi: 1, safi: 1, subtype: 0 })), `${MARKER}00170500010001`);
  assert.equal(hex(encodeRouteRefresh({ afi: 2, safi: 1, subtype: 1 })), `${MARKER}00170500020101`);
  const d = decodeMessage(5, bytes('00020201'), DEFAULT_OPTIONS);
  assert.deepEqual(d, { type: 'route-refresh', refresh: { afi: 2, subtype: 2, safi: 1 } });
  const bad = decodeMessage(5, bytes('0002020100'), DEFAULT_OPTIONS);
  assert.ok(isNotifyError(bad) && bad.code === 7 && bad.subcode === 1);
});

const OPEN_HEX = `${MARKER}002d 01 04 fde9 005a 0a000001 10 02 0e 01040001 0001 0200 4104 0000fde9`.replace(/ /g, '');
const OPEN_VALUE: Open = {
  version: 4,
  myAs: 65001,
  holdTime: 90,
  bgpId: 0x0a000001,
  capabilities: { ...emptyCapabilities(), multiprotocol: [{ afi: 1, safi: 1 }], routeRefresh: true, as4: 65001 },
};

test('OPEN golden', () => {
  assert.equal(hex(encodeOpen(OPEN_VALUE)), OPEN_HEX);
  const d = decodeOpen(body(bytes(OPEN_HEX)));
  assert.ok(!isNotifyError(d));
  assert.deepEqual(d.capabilities.multiprotocol, [{ afi: 1, safi: 1 }]);
  assert.equal(d.capabilities.as4, 65001);
  assert.equal(d.capabilities.routeRefresh, true);
  assert.equal(d.bgpId, 0x0a000001);
});

test('OPEN with every capability round-trips', () => {
  const o: Open = {
    version: 4,
    myAs: 23456,
    holdTime: 180,
    bgpId: 0xc0000201,
    capabilities: {
      multiprotocol: [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }],
      routeRefresh: true,
      enhancedRouteRefresh: true,
      as4: 4200000001,
      gracefulRestart: { restarting: true, notification: false, time: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] },
      addPath: [{ afi: 1, safi: 1, mode: 1 }],
      extendedMessage: true,
      fqdn: { hostname: 'node1', domain: 'example.net' },
      unknown: [{ code: 200, value: bytes('0102') }],
    },
  };
  const d = decodeOpen(body(encodeOpen(o)));
  assert.deepEqual(d, o);
});

test('OPEN errors carry RFC 4271 subcodes', () => {
  const v3 = bytes(OPEN_HEX);
  v3[19] = 3;
  const e1 = decodeOpen(body(v3));
  assert.ok(isNotifyError(e1) && e1.code === 2 && e1.subcode === 1 && hex(e1.data) === '0004');
  const hold = bytes(OPEN_HEX);
  hold[22] = 0;
  hold[23] = 2;
  const e2 = decodeOpen(body(hold));
  assert.ok(isNotifyError(e2) && e2.subcode === 6);
  const id = bytes(OPEN_HEX);
  id.fill(0, 24, 28);
  const e3 = decodeOpen(body(id));
  assert.ok(isNotifyError(e3) && e3.subcode === 3);
  const param = bytes(OPEN_HEX);
  param[29] = 9;
  const e4 = decodeOpen(body(param));
  assert.ok(isNotifyError(e4) && e4.subcode === 4);
});

test('header errors: marker, length, type', () => {
  const bad = bytes(`${MARKER}001304`);
  bad[3] = 0;
  const e1 = frameMessage(bad, 4096);
  assert.ok(isNotifyError(e1) && e1.code === 1 && e1.subcode === 1);
  const e2 = frameMessage(bytes(`${MARKER}001204`), 4096);
  assert.ok(isNotifyError(e2) && e2.subcode === 2 && hex(e2.data) === '0012');
  const e3 = frameMessage(bytes(`${MARKER}001309`), 4096);
  assert.ok(isNotifyError(e3) && e3.subcode === 3 && hex(e3.data) === '09');
  const big = frameMessage(bytes(`${MARKER}200002`), 4096);
  assert.ok(isNotifyError(big) && big.subcode === 2);
  assert.equal(frameMessage(bytes(`${MARKER}200002`), 65535).kind, 'need');
  assert.deepEqual(frameMessage(bytes('ffff'), 4096), { kind: 'need', bytes: 17 });
});

test('framing by offset: messages one after the other in one chunk, a partial one at its end, a bad header past the first', () => {
  const chunk = bytes(`${MARKER}001304${MARKER}001304${MARKER}0013`);
  const a = frameMessage(chunk, 4096, 0);
  assert.ok(a.kind === 'message' && a.type === 4 && a.length === 19 && a.body.length === 0);
  const b = frameMessage(chunk, 4096, 19);
  assert.ok(b.kind === 'message' && b.type === 4 && b.body.byteOffset === chunk.byteOffset + 38);
  assert.deepEqual(frameMessage(chunk, 4096, 38), { kind: 'need', bytes: 1 });
  const bad = bytes(`${MARKER}001304${MARKER}001204`);
  const e = frameMessage(bad, 4096, 19);
  assert.ok(isNotifyError(e) && e.subcode === 2 && hex(e.data) === '0012');
  bad[20] = 0;
  const m = frameMessage(bad, 4096, 19);
  assert.ok(isNotifyError(m) && m.subcode === 1, 'the marker is read at the offset');
  assert.equal(frameMessage(bad, 4096, 0).kind, 'message');
});

const UPDATE_HEX =
  `${MARKER}0043 02 0004 18c63364 0022 400101 00 400206 0201 0000fde9 400304 0a000001 800404 00000064 c00804 fde90064 18c00002 080a`.replace(/ /g, '');
const UPDATE_VALUE: Update = {
  withdrawn: ['198.51.100.0/24'],
  attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '10.0.0.1', med: 100, communities: [((65001 << 16) | 100) >>> 0] },
  nlri: ['192.0.2.0/24', '10.0.0.0/8'],
};

test('UPDATE golden (IPv4: withdrawn, attributes, NLRI)', () => {
  assert.equal(hex(encodeUpdate(UPDATE_VALUE, DEFAULT_OPTIONS)), UPDATE_HEX);
  const d = decodeOk(bytes(UPDATE_HEX));
  assert.equal(d.outcome, 'ok');
  assert.deepEqual(d.update.withdrawn, UPDATE_VALUE.withdrawn);
  assert.deepEqual(d.update.nlri, UPDATE_VALUE.nlri);
  assert.deepEqual(d.update.attrs, UPDATE_VALUE.attrs);
});

const UPDATE6_HEX =
  `${MARKER}0055 02 0000 003e 900e002c 0002 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001 00 30 20010db80001 400101 00 400200 400504 00000064`.replace(/ /g, '');

test('UPDATE golden (IPv6 MP_REACH with global and link-local next hop)', () => {
  const u: Update = {
    withdrawn: [],
    attrs: { origin: 0, asPath: [], localPref: 100 },
    nlri: [],
    mpReach: { afi: 2, safi: 1, nextHop: '2001:db8::1', nextHopLocal: 'fe80::1', prefixes: ['2001:db8:1::/48'] },
  };
  assert.equal(hex(encodeUpdate(u, DEFAULT_OPTIONS)), UPDATE6_HEX);
  const d = decodeOk(bytes(UPDATE6_HEX));
  assert.deepEqual(d.update.mpReach, { ...u.mpReach, pathIds: undefined });
  assert.deepEqual(d.update.attrs, u.attrs);
});

test('End-of-RIB markers are recognised', () => {
  assert.equal(hex(encodeEndOfRib(1, 1)), `${MARKER}00170200000000`);
  assert.deepEqual(decodeOk(encodeEndOfRib(1, 1)).endOfRib, { afi: 1, safi: 1 });
  assert.equal(hex(encodeEndOfRib(2, 1)), `${MARKER}001d0200000006800f03000201`);
  assert.deepEqual(decodeOk(encodeEndOfRib(2, 1)).endOfRib, { afi: 2, safi: 1 });
});

test('2-octet AS session: AS4_PATH and AS4_AGGREGATOR are merged (RFC 6793)', () => {
  const two: SessionOptions = { ...DEFAULT_OPTIONS, as4: false };
  const u: Update = {
    withdrawn: [],
    attrs: { origin: 0, asPath: [{ type: 2, asns: [65001, 4200000001, 65003] }], nextHop: '10.0.0.1', aggregator: { asn: 4200000002, address: '1.1.1.1' } },
    nlri: ['10.1.0.0/16'],
  };
  const m = encodeUpdate(u, two);
  // AS_PATH on the wire uses AS_TRANS
  assert.ok(hex(m).includes('40020802 03 fde9 5ba0 fdeb'.replace(/ /g, '')));
  const d = decodeOk(m, two);
  assert.deepEqual(d.update.attrs.asPath, u.attrs.asPath);
  assert.deepEqual(d.update.attrs.aggregator, u.attrs.aggregator);
});

test('add-path NLRI carry path identifiers', () => {
  const ap: SessionOptions = { ...DEFAULT_OPTIONS, addPathRx: new Set(['1/1']), addPathTx: new Set(['1/1']) };
  const u: Update = { withdrawn: [], attrs: { origin: 0, asPath: [], nextHop: '10.0.0.1' }, nlri: ['10.0.0.0/8', '10.0.0.0/8'], nlriIds: [1, 2] };
  const d = decodeOk(encodeUpdate(u, ap), ap);
  assert.deepEqual(d.update.nlri, u.nlri);
  assert.deepEqual(d.update.nlriIds, [1, 2]);
});

test('packUpdates splits into messages under the size limit and decodes back', () => {
  const prefixes: string[] = [];
  for (let i = 0; i < 2000; i++) prefixes.push(`10.${i >> 8}.${i & 255}.0/24`);
  const attrs = { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: '10.0.0.1' };
  const msgs = packUpdates(encodeAttributeBlock(attrs, 1, DEFAULT_OPTIONS), 1, prefixes, undefined, DEFAULT_OPTIONS);
  assert.ok(msgs.length > 1);
  const got: string[] = [];
  for (const m of msgs) {
    assert.ok(m.length <= 4096);
    got.push(...decodeOk(m).update.nlri);
  }
  assert.deepEqual(got, prefixes);
  const six = ['2001:db8::/32', '2001:db8:ff00::/40'];
  const m6 = packUpdates(encodeAttributeBlock({ origin: 2, asPath: [] }, 2, DEFAULT_OPTIONS), 2, six, undefined, DEFAULT_OPTIONS, { nextHop: '2001:db8::1' });
  assert.deepEqual(decodeOk(m6[0]!).update.mpReach?.prefixes, six);
  const w6 = packWithdrawals(2, six, undefined, DEFAULT_OPTIONS);
  assert.deepEqual(decodeOk(w6[0]!).update.mpUnreach?.prefixes, six);
  const w4 = packWithdrawals(1, prefixes, undefined, DEFAULT_OPTIONS);
  assert.deepEqual(w4.flatMap((m) => decodeOk(m).update.withdrawn), prefixes);
});

test('community text forms', () => {
  assert.equal(formatCommunity(parseCommunity('65001:100')!), '65001:100');
  assert.equal(formatCommunity(parseCommunity('no-export')!), 'no-export');
  for (const t of ['target:65000:1', 'origin:10.0.0.1:5', 'target:4200000000L:7', '0x030c000000000001']) {
    assert.equal(formatExtCommunity(parseExtCommunity(t)!, 0), t);
  }
  assert.equal(asPathLength([{ type: 2, asns: [1, 2, 3] }, { type: 1, asns: [4, 5] }, { type: 3, asns: [6] }]), 4);
});

test('labeled unicast (RFC 8277) and VPN (RFC 4364) NLRI, golden', () => {
  const lu: Update = {
    withdrawn: [],
    attrs: { origin: 0, asPath: [] },
    nlri: [],
    mpReach: { afi: 1, safi: 4, nextHop: '10.0.0.1', prefixes: ['192.0.2.0/24'], labels: [[16]] },
  };
  const luHex = hex(encodeUpdate(lu, DEFAULT_OPTIONS));
  // NLRI: 48 bits = one label (16, bottom of stack: 0x000101) + 24 prefix bits
  assert.ok(luHex.includes('900e0010 0001 04 04 0a000001 00 30 000101 c00002'.replace(/ /g, '')), luHex);
  const d = decodeOk(bytes(luHex));
  assert.deepEqual(d.update.mpReach?.labels, [[16]]);
  assert.deepEqual(d.update.mpReach?.prefixes, ['192.0.2.0/24']);
  const vpn: Update = {
    withdrawn: [],
    attrs: { origin: 0, asPath: [], extCommunities: parseExtCommunity('target:65000:1')! },
    nlri: [],
    mpReach: { afi: 1, safi: 128, nextHop: '10.0.0.1', prefixes: ['10.1.0.0/16'], labels: [[300000]], rds: ['65000:1'] },
    mpUnreach: { afi: 1, safi: 128, prefixes: ['10.2.0.0/16'], rds: ['10.0.0.1:7'] },
  };
  const vHex = hex(encodeUpdate(vpn, DEFAULT_OPTIONS));
  // next hop: 12 octets (zero RD + address); NLRI: 24 + 64 + 16 = 104 bits
  assert.ok(vHex.includes('0001 80 0c 0000000000000000 0a000001 00 68 493e01 0000fde800000001 0a01'.replace(/ /g, '')), vHex);
  const v = decodeOk(bytes(vHex));
  assert.equal(v.update.mpReach?.nextHop, '10.0.0.1');
  assert.deepEqual(v.update.mpReach?.labels, [[300000]]);
  assert.deepEqual(v.update.mpReach?.rds, ['65000:1']);
  assert.deepEqual(v.update.mpUnreach?.rds, ['10.0.0.1:7']);
  assert.deepEqual(v.update.mpUnreach?.prefixes, ['10.2.0.0/16']);
  const v6: Update = {
    withdrawn: [],
    attrs: { origin: 0, asPath: [] },
    nlri: [],
    mpReach: { afi: 2, safi: 128, nextHop: '::ffff:10.0.0.1', prefixes: ['2001:db8::/32'], labels: [[17, 18]], rds: ['4200000000L:3'] },
  };
  const r6 = decodeOk(encodeUpdate(v6, DEFAULT_OPTIONS));
  assert.deepEqual(r6.update.mpReach?.labels, [[17, 18]]);
  assert.deepEqual(r6.update.mpReach?.rds, ['4200000000L:3']);
  assert.equal(r6.update.mpReach?.nextHop, '::ffff:a00:1');
});

test('a receiving session decodes unicast prefixes as values: IPv4 codes, IPv6 keys; text for everyone else', () => {
  const o: SessionOptions = { ...DEFAULT_OPTIONS, prefixCodes: true };
  const d = decodeOk(bytes(UPDATE_HEX), o);
  assert.deepEqual(d.update.nlri, [], 'IPv4 prefixes are in d.v4 instead');
  assert.deepEqual(d.v4?.withdrawn, UPDATE_VALUE.withdrawn.map(prefixKeyOfText));
  assert.deepEqual(d.v4?.nlri, UPDATE_VALUE.nlri.map(prefixKeyOfText));
  assert.deepEqual(d.update.attrs, UPDATE_VALUE.attrs);
  assert.equal(decodeOk(bytes(UPDATE_HEX)).v4, undefined, 'without the option: text, as before');
  const d6 = decodeOk(bytes(UPDATE6_HEX), o);
  assert.deepEqual(d6.update.mpReach?.prefixes, [prefixKeyOfText('2001:db8:1::/48')]);
  // host bits a sender leaves set are dropped; path identifiers stay beside the codes
  const ap: SessionOptions = { ...o, addPathRx: new Set(['1/1']) };
  const raw = bytes('0000 0000 00000001 17 0a0103 00000002 00'.replace(/ /g, ''));
  const r = decodeUpdate(raw, ap);
  assert.ok(r.kind === 'update');
  assert.deepEqual(r.v4?.nlri, [prefixKeyOfText('10.1.2.0/23'), prefixKeyOfText('0.0.0.0/0')], '10.1.3.0/23 on the wire');
  assert.deepEqual(r.update.nlriIds, [1, 2]);
  // malformed NLRI: the same errors as the text decoder
  const addPathText: SessionOptions = { ...DEFAULT_OPTIONS, addPathRx: new Set(['1/1']) };
  for (const [bad, values, text] of [
    ['0000 0000 21 0a000000', o, DEFAULT_OPTIONS], // length 33
    ['0000 0000 18 0a00', o, DEFAULT_OPTIONS], // overruns
    ['0000 0000 00000001', ap, addPathText], // a path identifier, then nothing
    ['0002 18 0a 0000', o, DEFAULT_OPTIONS], // withdrawn route overruns its field
  ] as const) {
    const b = bytes(bad.replace(/ /g, ''));
    const x = decodeUpdate(b, values);
    assert.equal(x.kind, 'error', bad);
    assert.deepEqual(x, decodeUpdate(b, text), bad);
  }
});
