import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeIcmpv6, encodeIcmpv6, icmpv6Checksum, fillIcmpv6Checksum,
  decodeNeighborSolicit, decodeNeighborAdvert, decodeRouterAdvert, decodeRouterSolicit,
  encodeNeighborSolicit, encodeNeighborAdvert, encodeRouterAdvert, encodeRouterSolicit,
  decodeNdOptions, encodeNdOptions,
  ND_NEIGHBOR_SOLICIT, ND_NEIGHBOR_ADVERT, ND_ROUTER_ADVERT, ND_ROUTER_SOLICIT,
  ND_OPT_SOURCE_LLADDR, ND_OPT_TARGET_LLADDR, ND_OPT_PREFIX_INFO, ND_OPT_MTU,
  type Icmpv6Message,
} from './icmpv6.js';
import { decodeIpv6, type Ipv6Packet } from './ipv6.js';
import { WireError } from './errors.js';
import { fuzzRoundTrip, hex, toHex } from '../../test/support/wire.js';

const NS = hex('6000000000203afffe800000000000000000000000000001ff0200000000000000000001ff00000287004b5f0000000020010db80000000000000000000000020101020000000001');
const RA = hex('6000000000403afffe800000000000000000000000000001ff0200000000000000000000000000018600b2374088070800007530000003e8030440c000015180000038400000000020010db800010000000000000000000005010000000005dc0101020000000001');
const NA = hex('6000000000203aff20010db800000000000000000000000220010db800000000000000000000000188002a71c000000020010db80000000000000000000000020201020000000002');
const RS = hex('6000000000103afffe800000000000000000000000000002ff02000000000000000000000000000285007a2a000000000101020000000002');
const ECHO = hex('60000000000a3a4020010db800000000000000000000000120010db80000000000000000000000028000bbd9000100026869');

function open(pkt: Uint8Array): { ip: Ipv6Packet; m: Icmpv6Message } {
  const ip = decodeIpv6(pkt);
  assert.ok(!(ip instanceof WireError));
  const m = decodeIcmpv6(ip.payload);
  assert.ok(!(m instanceof WireError));
  assert.equal(icmpv6Checksum(ip.payload, 0, ip.payload.length, ip.src, ip.dst), m.checksum, 'checksum as scapy computed it');
  return { ip, m };
}

/** Encode body into an ICMPv6 message with a computed checksum and compare to the original bytes. */
function reencode(ip: Ipv6Packet, type: number, body: Uint8Array): void {
  const out = new Uint8Array(4 + body.length);
  encodeIcmpv6({ type, code: 0, checksum: 0, body }, out);
  fillIcmpv6Checksum(out, 0, out.length, ip.src, ip.dst);
  assert.equal(toHex(out), toHex(ip.payload));
}

test('golden: neighbor solicitation with source link-layer address', () => {
  const { ip, m } = open(NS);
  assert.equal(m.type, ND_NEIGHBOR_SOLICIT);
  const ns = decodeNeighborSolicit(m);
  assert.ok(!(ns instanceof WireError));
  assert.equal(toHex(ns.target), '20010db8000000000000000000000002');
  assert.deepEqual(ns.options, [{ type: ND_OPT_SOURCE_LLADDR, lladdr: hex('020000000001') }]);
  reencode(ip, ND_NEIGHBOR_SOLICIT, encodeNeighborSolicit(ns));
});

test('golden: neighbor advertisement with R and S flags', () => {
  const { ip, m } = open(NA);
  const na = decodeNeighborAdvert(m);
  assert.ok(!(na instanceof WireError));
  assert.deepEqual({ r: na.router, s: na.solicited, o: na.override }, { r: true, s: true, o: false });
  assert.deepEqual(na.options, [{ type: ND_OPT_TARGET_LLADDR, lladdr: hex('020000000002') }]);
  reencode(ip, ND_NEIGHBOR_ADVERT, encodeNeighborAdvert(na));
});

test('golden: router advertisement with prefix, MTU and source address options', () => {
  const { ip, m } = open(RA);
  const ra = decodeRouterAdvert(m);
  assert.ok(!(ra instanceof WireError));
  assert.equal(ra.curHopLimit, 64);
  assert.equal(ra.managed, true);
  assert.equal(ra.other, false);
  assert.equal(ra.extraFlags, 0x08, 'router preference high, as scapy sets by default');
  assert.equal(ra.routerLifetime, 1800);
  assert.equal(ra.reachableTime, 30000);
  assert.equal(ra.retransTimer, 1000);
  assert.deepEqual(ra.options, [
    { type: ND_OPT_PREFIX_INFO, prefix: { prefixLength: 64, onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400, prefix: hex('20010db8000100000000000000000000') } },
    { type: ND_OPT_MTU, mtu: 1500 },
    { type: ND_OPT_SOURCE_LLADDR, lladdr: hex('020000000001') },
  ]);
  reencode(ip, ND_ROUTER_ADVERT, encodeRouterAdvert(ra));
});

test('golden: router solicitation', () => {
  const { ip, m } = open(RS);
  const rs = decodeRouterSolicit(m);
  assert.ok(!(rs instanceof WireError));
  assert.equal(rs.options.length, 1);
  reencode(ip, ND_ROUTER_SOLICIT, encodeRouterSolicit(rs));
});

test('golden: echo request checksum', () => {
  const { ip, m } = open(ECHO);
  reencode(ip, 128, m.body);
});

test('bad NDP: zero-length option, multicast target, short body, wrong type', () => {
  const e1 = decodeNdOptions(hex('0100000000000000'));
  assert.ok(e1 instanceof WireError && e1.reason === 'malformed');
  const { m } = open(NS);
  const mc = { ...m, body: m.body.slice() };
  mc.body[4] = 0xff;
  assert.ok(decodeNeighborSolicit(mc) instanceof WireError);
  assert.ok(decodeNeighborSolicit({ ...m, body: m.body.subarray(0, 10) }) instanceof WireError);
  assert.ok(decodeNeighborAdvert(m) instanceof WireError);
  const unknown = decodeNdOptions(hex('0e01aabbccddeeff'));
  assert.deepEqual(unknown, [{ type: 14, raw: hex('aabbccddeeff') }]);
});

test('fuzz: ICMPv6 messages and NDP option lists round-trip', () => {
  const seeds = [NS, NA, RA, RS, ECHO].map((p) => p.subarray(40));
  const s = fuzzRoundTrip(decodeIcmpv6, encodeIcmpv6, seeds);
  assert.ok(s.decoded > 1000, JSON.stringify(s));
  const optSeeds = [NS.subarray(64), RA.subarray(56)];
  const o = fuzzRoundTrip((b) => decodeNdOptions(b), (v, buf, off) => encodeNdOptions(v, buf, off), optSeeds);
  assert.ok(o.decoded > 500 && o.errors > 500, JSON.stringify(o));
  // typed NDP decoders on mutated messages: never throw, and what decodes re-encodes to the same value
  const ndp = [
    { seed: NS, dec: decodeNeighborSolicit, enc: encodeNeighborSolicit },
    { seed: NA, dec: decodeNeighborAdvert, enc: encodeNeighborAdvert },
    { seed: RA, dec: decodeRouterAdvert, enc: encodeRouterAdvert },
    { seed: RS, dec: decodeRouterSolicit, enc: encodeRouterSolicit },
  ] as const;
  for (const { seed, dec, enc } of ndp) {
    const type = seed[40]!;
    const r = fuzzRoundTrip(
      (b) => {
        const m = decodeIcmpv6(b);
        return m instanceof WireError ? m : (dec as (m: Icmpv6Message) => object | WireError)(m);
      },
      (v, buf, off) => encodeIcmpv6({ type, code: 0, checksum: 0, body: (enc as (v: object) => Uint8Array)(v) }, buf, off),
      [seed.subarray(40)],
      5000,
    );
    assert.ok(r.decoded > 100 && r.errors > 100, `type ${type}: ${JSON.stringify(r)}`);
  }
});
