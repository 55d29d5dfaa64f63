/**
 * Bridge port input filters (firewall family bridge, docs/l2.md) through the whole data plane,
 * in memory: terms on source and destination MAC (with prefix lengths), VLAN and EtherType,
 * first match decides, no match discards; a discarded frame is neither learned nor forwarded
 * and counts under l2_filter_discard; hits per term in listAcls; removing the filter; bad
 * terms refused; the L3 ACL machinery's `active` count untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDataplane, type VRouterDataplane } from './dataplane.js';
import type { BridgeFilterTerm, BridgePortConfig } from './api.js';
import * as F from '../../test/support/frames.js';

const BCAST = 'ff:ff:ff:ff:ff:ff';
const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const C = '02:aa:00:00:00:0c';
const udp = F.ipv4({ src: '10.9.0.1', dst: '10.9.0.2', payload: F.udp(1000, 2000) });

async function bridge(ports: Record<string, BridgePortConfig>): Promise<VRouterDataplane> {
  const dp = createDataplane({ workers: 0, poolSize: 1024 });
  for (const name of Object.keys(ports)) await dp.addVif({ name, driver: 'memory', memory: { slots: 256 } });
  dp.setBridgeDomain({ name: 'bd100', vlan: 100 });
  dp.setBridgeDomain({ name: 'bd200', vlan: 200 });
  for (const [name, cfg] of Object.entries(ports)) dp.setBridgePort(name, cfg);
  return dp;
}

/** Injects `frame` on `port`; the frames every port sent. */
function through(dp: VRouterDataplane, port: string, frame: Uint8Array): Record<string, number> {
  assert.ok(dp.memoryDriver(port).inject(frame));
  dp.runUntilIdle();
  return Object.fromEntries(['a1', 'a2', 't1'].map((p) => [p, dp.memoryDriver(p).collect().length]));
}

const FILTER: BridgeFilterTerm[] = [
  { name: 'no-a', srcMac: `${A}/48`, action: 'discard', count: 'a-frames' },
  { name: 'no-v6-in-200', vlan: 200, etherType: 0x86dd, action: 'discard' },
  { name: 'oui-aa', srcMac: '02:aa:00:00:00:00/16', action: 'accept' },
  { name: 'to-b', dstMac: B, action: 'accept' },
  { name: 'v200', vlan: 200, action: 'accept' },
];

test('a trunk input filter: first matching term decides, no match discards; discarded frames are not learned', async () => {
  const dp = await bridge({ a1: { mode: 'access', vlan: 100 }, a2: { mode: 'access', vlan: 200 }, t1: { mode: 'trunk', vlans: [100, 200], inputFilter: FILTER } });
  const drops = () => dp.dropStats().l2_filter_discard ?? 0;
  // from A (term no-a): discarded, counted, not learned, not flooded
  assert.deepEqual(through(dp, 't1', F.eth(BCAST, A, 0x0800, udp, 100)), { a1: 0, a2: 0, t1: 0 });
  assert.equal(drops(), 1);
  assert.ok(!dp.listMacs('bd100').some((m) => m.mac === A), 'A not learned');
  // IPv6 in VLAN 200 discarded; IPv4 in VLAN 200 accepted by v200
  assert.deepEqual(through(dp, 't1', F.eth(BCAST, B, 0x86dd, new Uint8Array(40), 200)), { a1: 0, a2: 0, t1: 0 });
  assert.deepEqual(through(dp, 't1', F.eth(BCAST, B, 0x0800, udp, 200)), { a1: 0, a2: 1, t1: 0 });
  // VLAN 100: only C's OUI-prefixed source, or frames to B, pass; anything else is discarded
  assert.deepEqual(through(dp, 't1', F.eth(BCAST, C, 0x0800, udp, 100)), { a1: 1, a2: 0, t1: 0 });
  assert.deepEqual(through(dp, 't1', F.eth(B, '02:00:00:00:00:99', 0x0800, udp, 100)), { a1: 1, a2: 0, t1: 0 });
  assert.deepEqual(through(dp, 't1', F.eth(BCAST, '02:00:00:00:00:99', 0x0800, udp, 100)), { a1: 0, a2: 0, t1: 0 });
  assert.equal(drops(), 3);
  // the other ports are not filtered: a1 reaches the trunk
  assert.deepEqual(through(dp, 'a1', F.eth(BCAST, A, 0x0800, udp)), { a1: 0, a2: 0, t1: 1 });
  const [info] = dp.listAcls();
  assert.equal(info?.vif, 't1');
  assert.deepEqual(info.rules, []);
  assert.deepEqual(info.bridge!.map((t) => [t.name, t.hits]), [['no-a', 1], ['no-v6-in-200', 1], ['oui-aa', 1], ['to-b', 1], ['v200', 1]]);
  assert.equal(info.bridge![0]!.count, 'a-frames');
  assert.equal(info.bridge![2]!.srcMac, '02:aa:00:00:00:00/16');
  assert.equal(info.unmatched, 1);
  // the L3 path never sees a bridge port's filter: the inet ACLs' active count stays 0
  assert.equal((dp as unknown as { tables: { acl: { active: Int32Array } } }).tables.acl.active[0], 0);
  await dp.stop();
});

test('the filter goes with the port settings; bad terms are refused and change nothing', async () => {
  const dp = await bridge({ a1: { mode: 'access', vlan: 100 }, a2: { mode: 'access', vlan: 100, inputFilter: [{ srcMac: A, action: 'discard' }, { action: 'accept' }] }, t1: { mode: 'trunk', vlans: [100] } });
  assert.equal(through(dp, 'a2', F.eth(BCAST, A, 0x0800, udp)).a1, 0);
  assert.equal(through(dp, 'a2', F.eth(BCAST, B, 0x0800, udp)).a1, 1);
  assert.throws(() => dp.setBridgePort('a2', { mode: 'access', vlan: 100, inputFilter: [{ srcMac: '02:00:00:00:00/48', action: 'discard' }] }), /a2: filter term 1: invalid MAC/);
  assert.throws(() => dp.setBridgePort('a2', { mode: 'access', vlan: 100, inputFilter: [{ etherType: 0x10, action: 'accept' }] }), /EtherType/);
  assert.throws(() => dp.setBridgePort('a2', { mode: 'access', vlan: 100, inputFilter: [{ srcMac: A, action: 'drop' as 'discard' }] }), /accept or discard/);
  assert.equal(through(dp, 'a2', F.eth(BCAST, A, 0x0800, udp)).a1, 0, 'the filter in place is unchanged');
  dp.setBridgePort('a2', { mode: 'access', vlan: 100 });
  assert.equal(through(dp, 'a2', F.eth(BCAST, A, 0x0800, udp)).a1, 1, 'no filter: A passes');
  assert.deepEqual(dp.listAcls(), []);
  await dp.stop();
});

test('IPv4 fields in bridge terms: prefixes, protocol and ports match IPv4 payloads only (tagged or not)', async () => {
  const dp = await bridge({
    a1: { mode: 'access', vlan: 100 },
    a2: { mode: 'access', vlan: 200 },
    t1: {
      mode: 'trunk', vlans: [100, 200], inputFilter: [
        { name: 'no-dns', ipProtocol: 'udp', dstPort: 53, action: 'discard' },
        { name: 'no-net9', srcIp: '10.9.0.0/16', dstIp: '10.9.0.2/32', ipProtocol: 'tcp', action: 'discard', count: 'net9' },
        { name: 'high', ipProtocol: 17, srcPort: [1000, 1999], dstPort: [2000, 2999], action: 'accept' },
        { name: 'not-ip', etherType: 0x86dd, action: 'accept' },
      ],
    },
  });
  const v4 = (proto: number, payload: Uint8Array, src = '10.9.0.1') => F.ipv4({ src, dst: '10.9.0.2', proto, payload });
  const tcp = (dport: number) => Uint8Array.of(0x30, 0x39, dport >> 8, dport & 255, ...new Uint8Array(16));
  const sent = (f: Uint8Array) => through(dp, 't1', f).a1! + dp.memoryDriver('a2').collect().length;
  assert.equal(sent(F.eth(BCAST, B, 0x0800, v4(17, F.udp(1000, 53)), 100)), 0, 'udp 53 discarded');
  assert.equal(sent(F.eth(BCAST, B, 0x0800, v4(17, F.udp(1000, 2000)), 100)), 1, 'udp 1000 -> 2000 accepted');
  assert.equal(sent(F.eth(BCAST, B, 0x0800, v4(17, F.udp(3000, 2000)), 100)), 0, 'source port out of range: no term, discarded');
  assert.equal(sent(F.eth(BCAST, B, 0x0800, v4(6, tcp(80)), 100)), 0, 'tcp from 10.9/16 to 10.9.0.2');
  assert.equal(sent(F.eth(BCAST, B, 0x0800, v4(6, tcp(80), '10.8.0.1'), 200)), 0, 'tcp from elsewhere: no term');
  // an IPv6 frame never matches IPv4 fields: it falls to not-ip; ARP (not IP, not IPv6) to the implicit discard
  assert.equal(sent(F.eth(BCAST, B, 0x86dd, new Uint8Array(40), 100)), 1);
  assert.equal(sent(F.eth(BCAST, B, 0x0806, new Uint8Array(28), 100)), 0);
  const [info] = dp.listAcls();
  assert.deepEqual(info!.bridge!.map((t) => [t.name, t.hits]), [['no-dns', 1], ['no-net9', 1], ['high', 1], ['not-ip', 1]]);
  assert.equal(info!.bridge![1]!.srcIp, '10.9.0.0/16');
  assert.equal(info!.bridge![1]!.ipProtocol, 6);
  assert.deepEqual(info!.bridge![2]!.srcPort, [1000, 1999]);
  assert.equal(info!.unmatched, 3);
  assert.throws(() => dp.setBridgePort('t1', { mode: 'trunk', vlans: [100], inputFilter: [{ srcIp: '2001:db8::/32', ipVersion: 4, action: 'accept' }] }), /is not IPv4/);
  await dp.stop();
});

test('IPv6 fields in bridge terms: prefixes, next header, upper-layer protocol past extension headers, ports and ICMPv6 types match IPv6 payloads only', async () => {
  const dp = await bridge({
    a1: { mode: 'access', vlan: 100 },
    a2: { mode: 'access', vlan: 200 },
    t1: {
      mode: 'trunk', vlans: [100, 200], inputFilter: [
        { name: 'no-web6', ipVersion: 6, ipProtocol: 'tcp', dstPort: 80, action: 'discard', count: 'web6' },
        { name: 'no-net', srcIp: '2001:db8:9::/48', dstIp: '2001:db8:1::2/128', action: 'discard' },
        { name: 'no-echo', ipVersion: 6, icmpType: 128, action: 'discard' },
        { name: 'no-hbh', nextHeader: 0, action: 'discard' },
        { name: 'v6', etherType: 0x86dd, action: 'accept' },
        { name: 'v4-web', ipProtocol: 'tcp', dstPort: 80, action: 'accept' },
      ],
    },
  });
  const tcp = (dport: number) => Uint8Array.of(0x30, 0x39, dport >> 8, dport & 255, ...new Uint8Array(16));
  const v6 = (next: number, payload: Uint8Array, src = '2001:db8:1::1', dst = '2001:db8:1::2') => F.ipv6({ src, dst, next, payload });
  // a destination-options header (8 bytes) then `next`
  const dstOpts = (next: number, rest: Uint8Array) => Uint8Array.of(next, 0, 1, 4, 0, 0, 0, 0, ...rest);
  // a fragment header: offset 0 (first) or not
  const frag = (next: number, offset: number, rest: Uint8Array) => Uint8Array.of(next, 0, offset >> 5, (offset << 3) & 0xf8, 0, 0, 0, 1, ...rest);
  const sent = (f: Uint8Array) => through(dp, 't1', f).a1! + dp.memoryDriver('a2').collect().length;
  assert.equal(sent(F.eth(BCAST, B, 0x86dd, v6(6, tcp(80)), 100)), 0, 'tcp 80 over IPv6 discarded');
  assert.equal(sent(F.eth(BCAST, B, 0x86dd, v6(60, dstOpts(6, tcp(80))), 200)), 0, 'past a destination-options header: still tcp 80');
  assert.equal(sent(F.eth(BCAST, B, 0x86dd, v6(44, frag(6, 0, tcp(80))), 100)), 0, 'a first fragment has its ports');
  assert.equal(sent(F.eth(BCAST, B, 0x86dd, v6(44, frag(6, 100, tcp(80))), 100)), 1, 'a later fragment has none: on to v6');
  assert.equal(sent(F.eth(BCAST, B, 0x86dd, v6(6, tcp(443)), 100)), 1, 'tcp 443: v6');
  assert.equal(sent(F.eth(BCAST, B, 0x86dd, v6(17, F.udp(1, 2), '2001:db8:9:5::1'), 100)), 0, 'from 2001:db8:9::/48 to ::2');
  assert.equal(sent(F.eth(BCAST, B, 0x86dd, v6(17, F.udp(1, 2), '2001:db8:9:5::1', '2001:db8:1::3'), 100)), 1, 'to another destination: v6');
  assert.equal(sent(F.eth(BCAST, B, 0x86dd, v6(58, F.icmpEcho(128)), 100)), 0, 'ICMPv6 echo request discarded');
  assert.equal(sent(F.eth(BCAST, B, 0x86dd, v6(58, F.icmpEcho(129)), 100)), 1, 'echo reply: v6');
  assert.equal(sent(F.eth(BCAST, B, 0x86dd, v6(0, Uint8Array.of(58, 0, 1, 4, 0, 0, 0, 0, ...F.icmpEcho(129))), 100)), 0, 'hop-by-hop first: no-hbh');
  // IPv4 never matches the IPv6 terms: tcp 80 over IPv4 to v4-web, ICMP echo (type 8) to the implicit discard
  assert.equal(sent(F.eth(BCAST, B, 0x0800, F.ipv4({ src: '10.9.0.1', dst: '10.9.0.2', proto: 6, payload: tcp(80) }), 100)), 1);
  assert.equal(sent(F.eth(BCAST, B, 0x0800, F.ipv4({ src: '10.9.0.1', dst: '10.9.0.2', proto: 1, payload: F.icmpEcho(8) }), 100)), 0);
  const [info] = dp.listAcls();
  assert.deepEqual(info!.bridge!.map((t) => [t.name, t.hits]), [['no-web6', 3], ['no-net', 1], ['no-echo', 1], ['no-hbh', 1], ['v6', 4], ['v4-web', 1]]);
  assert.equal(info!.unmatched, 1);
  assert.deepEqual([info!.bridge![1]!.ipVersion, info!.bridge![1]!.srcIp, info!.bridge![2]!.ipProtocol, info!.bridge![2]!.icmpType], [6, '2001:db8:9::/48', 58, 128]);
  const refuse = (t: BridgeFilterTerm, re: RegExp) => assert.throws(() => dp.setBridgePort('t1', { mode: 'trunk', vlans: [100], inputFilter: [t] }), re);
  refuse({ srcIp: '2001:db8::/32', dstIp: '10.0.0.0/8', action: 'accept' }, /10\.0\.0\.0\/8 is not IPv6/);
  refuse({ srcIp: '10.0.0.0/8', nextHeader: 6, action: 'accept' }, /is not IPv6/);
  refuse({ ipVersion: 4, nextHeader: 6, action: 'accept' }, /next header is an IPv6 field/);
  refuse({ ipVersion: 6, etherType: 0x0800, action: 'accept' }, /IPv6 fields match IPv6 frames only/);
  refuse({ ipVersion: 6, icmpType: 1, dstPort: 80, action: 'accept' }, /ICMP has no ports/);
  refuse({ ipVersion: 6, icmpType: 1, ipProtocol: 'icmp', action: 'accept' }, /needs protocol 58/);
  refuse({ ipProtocol: 'icmp', dstPort: 80, action: 'accept' }, /ports need protocol tcp, udp or sctp/);
  await dp.stop();
});

test('a port match with no protocol never takes an ICMP frame (whose type comes as its source port)', async () => {
  const dp = await bridge({ a1: { mode: 'access', vlan: 100 }, a2: { mode: 'access', vlan: 200 }, t1: { mode: 'trunk', vlans: [100], inputFilter: [{ srcPort: [0, 200], action: 'accept' }, { ipVersion: 6, srcPort: [0, 200], action: 'accept' }] } });
  assert.equal(through(dp, 't1', F.eth(BCAST, B, 0x0800, F.ipv4({ src: '10.9.0.1', dst: '10.9.0.2', proto: 17, payload: F.udp(100, 2) }), 100)).a1, 1);
  assert.equal(through(dp, 't1', F.eth(BCAST, B, 0x0800, F.ipv4({ src: '10.9.0.1', dst: '10.9.0.2', proto: 1, payload: F.icmpEcho(8) }), 100)).a1, 0);
  assert.equal(through(dp, 't1', F.eth(BCAST, B, 0x86dd, F.ipv6({ src: '2001:db8::1', dst: '2001:db8::2', next: 58, payload: F.icmpEcho(128) }), 100)).a1, 0);
  assert.equal(dp.listAcls()[0]!.unmatched, 2);
  await dp.stop();
});

test('an output filter: checked on each port a frame leaves by (flooded copies alike), counted apart, removed with the setting', async () => {
  const dp = await bridge({
    a1: { mode: 'access', vlan: 100, outputFilter: [{ name: 'no-a', srcMac: A, action: 'discard', count: 'from-a' }, { name: 'rest', action: 'accept' }] },
    a2: { mode: 'access', vlan: 100 },
    t1: { mode: 'trunk', vlans: [100], outputFilter: [{ name: 'tcp-only', ipProtocol: 'tcp', action: 'accept' }] },
  });
  const tcp = F.ipv4({ src: '10.9.0.1', dst: '10.9.0.2', proto: 6, payload: Uint8Array.of(0x30, 0x39, 0, 80, ...new Uint8Array(16)) });
  // a broadcast from A on a2: a1's filter discards its copy, t1's lets only TCP out
  const o = (f: Uint8Array) => through(dp, 'a2', f);
  assert.deepEqual(o(F.eth(BCAST, A, 0x0800, udp)), { a1: 0, a2: 0, t1: 0 });
  assert.deepEqual(o(F.eth(BCAST, A, 0x0800, tcp)), { a1: 0, a2: 0, t1: 1 });
  assert.deepEqual(o(F.eth(BCAST, B, 0x0800, tcp)), { a1: 1, a2: 0, t1: 1 });
  assert.equal(dp.dropStats().l2_filter_out_discard, 3);
  assert.equal(dp.dropStats().l2_filter_discard ?? 0, 0, 'no input filter');
  const infos = dp.listAcls();
  assert.deepEqual(infos.map((a) => [a.vif, a.direction, a.bridge!.map((t) => t.hits), a.unmatched]), [['a1', 'output', [2, 1], 0], ['t1', 'output', [2], 1]]);
  // the frames came in untagged on an access port: the trunk's filter saw them before tagging, and they leave tagged
  dp.setBridgePort('a1', { mode: 'access', vlan: 100 });
  dp.setBridgePort('t1', { mode: 'trunk', vlans: [100] });
  assert.deepEqual(o(F.eth(BCAST, A, 0x0800, udp)), { a1: 1, a2: 0, t1: 1 });
  assert.deepEqual(dp.listAcls(), []);
  await dp.stop();
});

test('an output filter holds for known unicast too (the fused L2 fast path leaves such frames to l2-output)', async () => {
  const dp = await bridge({
    a1: { mode: 'access', vlan: 100, outputFilter: [{ name: 'no-a', srcMac: A, action: 'discard' }, { name: 'rest', action: 'accept' }] },
    a2: { mode: 'access', vlan: 100 },
    t1: { mode: 'trunk', vlans: [100] },
  });
  // C learned on a1, A and B on a2: A -> C and B -> C are known unicast, switched to a1
  through(dp, 'a1', F.eth(BCAST, C, 0x0800, udp));
  through(dp, 'a2', F.eth(BCAST, A, 0x0800, udp));
  through(dp, 'a2', F.eth(BCAST, B, 0x0800, udp));
  const before = dp.dropStats().l2_filter_out_discard ?? 0;
  for (let k = 0; k < 3; k++) {
    assert.deepEqual(through(dp, 'a2', F.eth(C, A, 0x0800, udp)), { a1: 0, a2: 0, t1: 0 }, 'A to C: discarded by a1\'s output filter');
    assert.deepEqual(through(dp, 'a2', F.eth(C, B, 0x0800, udp)), { a1: 1, a2: 0, t1: 0 }, 'B to C: switched to a1 only');
  }
  assert.equal((dp.dropStats().l2_filter_out_discard ?? 0) - before, 3);
  await dp.stop();
});
