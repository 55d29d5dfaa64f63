import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDataplane, type DataplaneOptions, type VRouterDataplane } from '../dataplane.js';
import * as F from '../../../test/support/frames.js';
import { GRAPH_NODES } from './nodes.js';

const H1 = '02:00:00:00:01:01';
const H2 = '02:00:00:00:02:02';
const H3 = '02:00:00:00:03:03';
const R1 = '02:aa:00:00:00:01';
const R2 = '02:aa:00:00:00:02';
const R3 = '02:aa:00:00:00:03';
const BCAST = 'ff:ff:ff:ff:ff:ff';

async function setup(opts: DataplaneOptions = {}, p2mtu = 1500): Promise<VRouterDataplane> {
  const dp = createDataplane({ workers: 0, ...opts });
  await dp.addVif({ name: 'p1', driver: 'memory', mac: R1, addresses: ['10.0.1.1/24', '2001:db8:1::1/64'] });
  await dp.addVif({ name: 'p2', driver: 'memory', mac: R2, mtu: p2mtu, addresses: ['10.0.2.1/24', '2001:db8:2::1/64'] });
  return dp;
}

/** Inject frames on a vif, run the graph until idle, return what each vif sent. */
function send(dp: VRouterDataplane, vif: string, ...frames: Uint8Array[]): Record<string, Uint8Array[]> {
  for (const f of frames) assert.ok(dp.memoryDriver(vif).inject(f));
  dp.runUntilIdle();
  const out: Record<string, Uint8Array[]> = {};
  for (const v of dp.listVifs()) if (v.driver === 'memory') out[v.name] = dp.memoryDriver(v.name).collect();
  return out;
}

const et = (f: Uint8Array) => (f[12]! << 8) | f[13]!;
const drops = (dp: VRouterDataplane) => Object.fromEntries(Object.entries(dp.dropStats()).filter(([, v]) => v > 0));

function ip4(src: string, dst: string, ttl = 64, extra: Partial<F.Ip4Opts> = {}): Uint8Array {
  return F.ipv4({ src, dst, ttl, payload: F.udp(1000, 2000), ...extra });
}

test('IPv4 forwarding: MAC rewrite, TTL decrement, checksum', async () => {
  const dp = await setup();
  const nh = dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 });
  dp.addRoute('default', '198.51.100.0/24', nh);
  const pkt = ip4('10.0.1.10', '198.51.100.7');
  const out = send(dp, 'p1', F.eth(R1, H1, 0x0800, pkt));
  assert.equal(out.p2!.length, 1);
  const f = out.p2![0]!;
  assert.equal(F.hex(f, 0, 6), '02:00:00:00:02:02');
  assert.equal(F.hex(f, 6, 6), '02:aa:00:00:00:02');
  assert.equal(et(f), 0x0800);
  assert.equal(f[14 + 8], 63);
  assert.equal(F.checksum(f, 14, 20), 0, 'header checksum still valid');
  assert.deepEqual(f.subarray(14 + 20), pkt.subarray(20));
  assert.equal(dp.counters().tx, 1);
  const st = dp.stats();
  assert.equal(st.vifs.p1!.rxPackets, 1);
  assert.equal(st.vifs.p1!.rxBytes, 14 + pkt.length);
  assert.equal(st.vifs.p2!.txPackets, 1);
  assert.equal(st.vifs.p2!.txBytes, f.length);
  assert.equal(st.vrfs.default!.packets, 1);
  assert.equal(st.vrfs.default!.bytes, pkt.length);
  // a frame to another MAC is not ours
  send(dp, 'p1', F.eth(H2, H1, 0x0800, pkt));
  assert.equal(dp.dropStats().not_for_us, 1);
});

test('IPv6 forwarding: hop limit decrement and MAC rewrite', async () => {
  const dp = await setup();
  const nh = dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 });
  dp.addRoute('default', '2001:db8:99::/48', nh);
  const pkt = F.ipv6({ src: '2001:db8:1::10', dst: '2001:db8:99::5', hlim: 10, payload: F.udp(1, 2) });
  const out = send(dp, 'p1', F.eth(R1, H1, 0x86dd, pkt));
  assert.equal(out.p2!.length, 1);
  const f = out.p2![0]!;
  assert.equal(F.hex(f, 0, 6), '02:00:00:00:02:02');
  assert.equal(et(f), 0x86dd);
  assert.equal(f[14 + 7], 9);
  // hop limit 1 is never forwarded: ICMPv6 time exceeded goes back (route to the source first)
  dp.addRoute('default', '2001:db8:1::10/128', dp.addNexthop({ type: 'encap', vif: 'p1', dmac: H1 }));
  const o2 = send(dp, 'p1', F.eth(R1, H1, 0x86dd, F.ipv6({ src: '2001:db8:1::10', dst: '2001:db8:99::5', hlim: 1, payload: F.udp(1, 2) })));
  assert.equal(o2.p2!.length, 0);
  assert.equal(o2.p1!.length, 1);
  const e = o2.p1![0]!.subarray(14);
  assert.equal(e[6], 58);
  assert.equal(e[40], 3, 'time exceeded');
  assert.ok(F.icmp6Valid(e));
  assert.equal(dp.dropStats().ttl_exceeded, 1);
});

test('ARP: the router answers for its own address, not for others', async () => {
  const dp = await setup();
  const req = F.eth(BCAST, H1, 0x0806, F.arp(1, H1, '10.0.1.10', '00:00:00:00:00:00', '10.0.1.1'));
  const out = send(dp, 'p1', req);
  assert.equal(out.p1!.length, 1);
  const r = out.p1![0]!;
  assert.equal(F.hex(r, 0, 6), '02:00:00:00:01:01');
  assert.equal(et(r), 0x0806);
  assert.equal(r[14 + 7], 2, 'reply');
  assert.equal(F.hex(r, 14 + 8, 6), '02:aa:00:00:00:01');
  assert.equal(F.ipAt(r, 14 + 14), '10.0.1.1');
  assert.equal(F.ipAt(r, 14 + 24), '10.0.1.10');
  // 10.0.2.1 belongs to p2: not answered on p1
  const o2 = send(dp, 'p1', F.eth(BCAST, H1, 0x0806, F.arp(1, H1, '10.0.1.10', '00:00:00:00:00:00', '10.0.2.1')));
  assert.equal(o2.p1!.length, 0);
  assert.equal(dp.dropStats().not_for_us, 1);
  // the requester was learned (it is on p1's subnet)
  assert.ok(dp.listNeighbors().some((n) => n.ip === '10.0.1.10' && n.mac === '02:00:00:00:01:01'));
});

test('ARP resolution of a neighbor next hop: request, packets held while unresolved, sent in order when the reply comes', async () => {
  const dp = await setup();
  const nh = dp.addNexthop({ type: 'neighbor', vif: 'p2', ip: '10.0.2.2' });
  dp.addRoute('default', '203.0.113.0/24', nh);
  const free = dp.poolAvailable();
  // the resolver sent a request right away
  const first = dp.memoryDriver('p2').collect();
  assert.equal(first.length, 1);
  const q = first[0]!;
  assert.equal(F.hex(q, 0, 6), 'ff:ff:ff:ff:ff:ff');
  assert.equal(et(q), 0x0806);
  assert.equal(q[14 + 7], 1);
  assert.equal(F.ipAt(q, 14 + 14), '10.0.2.1');
  assert.equal(F.ipAt(q, 14 + 24), '10.0.2.2');
  assert.equal(dp.listNexthops().find((n) => n.id === nh)!.state, 'pending');
  // traffic meanwhile is held (as Linux's unres_qlen), not sent and not dropped
  const pkt = (ttl: number) => F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '203.0.113.9', ttl));
  const o1 = send(dp, 'p1', pkt(64), pkt(63));
  assert.equal(o1.p2!.filter((f) => et(f) === 0x0800).length, 0);
  assert.deepEqual(drops(dp), {});
  // the reply teaches the MAC, and the held packets go out with it, in the order they came
  const o2 = send(dp, 'p2', F.eth(R2, H2, 0x0806, F.arp(2, H2, '10.0.2.2', R2, '10.0.2.1')));
  assert.equal(dp.listNexthops().find((n) => n.id === nh)!.state, 'resolved');
  const sent = o2.p2!.filter((f) => et(f) === 0x0800);
  assert.equal(sent.length, 2);
  assert.deepEqual(sent.map((f) => f[14 + 8]), [63, 62], 'routed once each: TTL decremented once');
  for (const f of sent) {
    assert.equal(F.hex(f, 0, 6), '02:00:00:00:02:02');
    assert.equal(F.checksum(f, 14, 20), 0);
  }
  const o3 = send(dp, 'p1', pkt(64));
  assert.equal(o3.p2!.length, 1);
  assert.equal(dp.counters().consumed, 1);
  assert.deepEqual(drops(dp), {});
  assert.equal(dp.poolAvailable(), free, 'no buffer kept');
});

test('held packets are bounded per neighbour and dropped (arp_hold_timeout) when no answer comes', async () => {
  let now = performance.now();
  const dp = await setup({ clock: () => now });
  dp.addRoute('default', '203.0.113.0/24', dp.addNexthop({ type: 'neighbor', vif: 'p2', ip: '10.0.2.2' }));
  const pkt = F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '203.0.113.9'));
  const free = dp.poolAvailable();
  // four held, the rest dropped at once as before
  send(dp, 'p1', pkt, pkt, pkt, pkt, pkt, pkt);
  assert.deepEqual(drops(dp), { arp_unresolved: 2 });
  now += 2000;
  send(dp, 'p1');
  assert.deepEqual(drops(dp), { arp_unresolved: 2 }, 'still held after 2 s');
  now += 1500;
  const o = send(dp, 'p1');
  assert.equal(o.p2!.filter((f) => et(f) === 0x0800).length, 0);
  assert.deepEqual(drops(dp), { arp_unresolved: 2, arp_hold_timeout: 4 });
  assert.equal(dp.poolAvailable(), free, 'every held buffer given back');
});

test('learned neighbors age out; the next packet resolves again', async () => {
  // one clock for the resolver and the graph (which remembers for a second what it heard)
  let now = performance.now();
  const dp = await setup({ clock: () => now });
  send(dp, 'p2', F.eth(R2, H3, 0x0806, F.arp(1, H3, '10.0.2.77', '00:00:00:00:00:00', '10.0.2.1')));
  assert.ok(dp.listNeighbors().some((n) => n.ip === '10.0.2.77' && n.state === 'resolved'));
  let o = send(dp, 'p1', F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '10.0.2.77')));
  assert.equal(o.p2!.filter((f) => et(f) === 0x0800).length, 1);
  now += 16 * 60 * 1000;
  dp.resolveTick(now);
  assert.ok(!dp.listNeighbors().some((n) => n.ip === '10.0.2.77'), 'forgotten after 15 minutes');
  o = send(dp, 'p1', F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '10.0.2.77')));
  assert.equal(o.p2!.filter((f) => et(f) === 0x0806).length, 1, 'asks again');
  // a deleted vif takes its neighbors with it
  await dp.delVif('p2');
  assert.ok(!dp.listNeighbors().some((n) => n.vif === 'p2'));
});

test('a host that asks for the router and pings it in one burst gets the reply (its learn not applied yet: the worker remembers what it heard)', async () => {
  const dp = await setup();
  const arp = F.eth(BCAST, H1, 0x0806, F.arp(1, H1, '10.0.1.10', '00:00:00:00:00:00', '10.0.1.1'));
  const echo = F.eth(R1, H1, 0x0800, F.ipv4({ src: '10.0.1.10', dst: '10.0.1.1', proto: 1, payload: F.icmpEcho(8, 7, 1) }));
  const o = send(dp, 'p1', arp, echo);
  const replies = o.p1!.filter((f) => et(f) === 0x0800);
  assert.equal(replies.length, 1, 'the echo reply went out');
  assert.equal(F.hex(replies[0]!, 0, 6), '02:00:00:00:01:01');
  assert.equal(dp.dropStats().arp_unresolved ?? 0, 0);
  // IPv6: a neighbor solicitation, then an echo request, in one burst
  const ns = F.eth('33:33:ff:00:00:01', H1, 0x86dd, F.ipv6Icmp('2001:db8:1::10', F.solicitedNode('2001:db8:1::1'), F.neighborSolicit('2001:db8:1::1', H1), 255));
  const echo6 = F.eth(R1, H1, 0x86dd, F.ipv6Icmp('2001:db8:1::10', '2001:db8:1::1', F.icmpEcho(128, 7, 1)));
  const o6 = send(dp, 'p1', ns, echo6);
  const replies6 = o6.p1!.filter((f) => et(f) === 0x86dd && f[14 + 40] === 129);
  assert.equal(replies6.length, 1, 'the IPv6 echo reply went out');
  assert.equal(F.hex(replies6[0]!, 0, 6), '02:00:00:00:01:01');
  assert.equal(dp.dropStats().arp_unresolved ?? 0, 0);
  // a host never heard is still resolved first (the packet held, a request sent)
  const o3 = send(dp, 'p1', F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '10.0.2.77')));
  assert.equal(o3.p2!.filter((f) => et(f) === 0x0806).length, 1);
  assert.equal(o3.p2!.filter((f) => et(f) === 0x0800).length, 0);
});

test('connected subnet: glean resolves the destination itself', async () => {
  const dp = await setup();
  const o1 = send(dp, 'p1', F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '10.0.2.77')));
  const reqs = o1.p2!.filter((f) => et(f) === 0x0806);
  assert.equal(reqs.length, 1);
  assert.equal(F.ipAt(reqs[0]!, 14 + 24), '10.0.2.77');
  // a second packet within the rate limit sends no second request
  const o2 = send(dp, 'p1', F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '10.0.2.77')));
  assert.equal(o2.p2!.length, 0);
  send(dp, 'p2', F.eth(R2, H3, 0x0806, F.arp(2, H3, '10.0.2.77', R2, '10.0.2.1')));
  const o3 = send(dp, 'p1', F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '10.0.2.77')));
  assert.equal(o3.p2!.length, 1);
  assert.equal(F.hex(o3.p2![0]!, 0, 6), '02:00:00:00:03:03');
});

test('NDP: NS for the router\'s address gets an NA; NS/NA resolve IPv6 neighbors', async () => {
  const dp = await setup();
  const ns = F.ipv6Icmp('2001:db8:1::10', F.solicitedNode('2001:db8:1::1'), F.neighborSolicit('2001:db8:1::1', H1), 255);
  const out = send(dp, 'p1', F.eth('33:33:ff:00:00:01', H1, 0x86dd, ns));
  assert.equal(out.p1!.length, 1);
  const na = out.p1![0]!;
  assert.equal(F.hex(na, 0, 6), '02:00:00:00:01:01');
  const p = na.subarray(14);
  assert.equal(p[40], 136);
  assert.ok(F.icmp6Valid(p));
  assert.equal(p[7], 255);
  assert.equal(p[44]! & 0xe0, 0xe0, 'router, solicited, override');
  assert.equal(F.hex(p, 40 + 26, 6), '02:aa:00:00:00:01');
  // resolution of a v6 neighbor next hop
  const nh = dp.addNexthop({ type: 'neighbor', vif: 'p2', ip: '2001:db8:2::2' });
  dp.addRoute('default', '2001:db8:77::/48', nh);
  const q = dp.memoryDriver('p2').collect();
  assert.equal(q.length, 1);
  assert.equal(F.hex(q[0]!, 0, 3), '33:33:ff');
  assert.equal(q[0]![14 + 40], 135);
  assert.ok(F.icmp6Valid(q[0]!.subarray(14)));
  const adv = F.ipv6Icmp('2001:db8:2::2', '2001:db8:2::1', F.neighborAdvert('2001:db8:2::2', H2), 255);
  send(dp, 'p2', F.eth(R2, H2, 0x86dd, adv));
  assert.equal(dp.listNexthops().find((n) => n.id === nh)!.state, 'resolved');
  const o = send(dp, 'p1', F.eth(R1, H1, 0x86dd, F.ipv6({ src: '2001:db8:1::10', dst: '2001:db8:77::1' })));
  assert.equal(o.p2!.length, 1);
  assert.equal(F.hex(o.p2![0]!, 0, 6), '02:00:00:00:02:02');
});

test('ICMP errors: time exceeded, no route, reject, fragmentation needed', async () => {
  const dp = await setup({}, 1280);
  dp.addRoute('default', '10.0.1.10/32', dp.addNexthop({ type: 'encap', vif: 'p1', dmac: H1 }));
  dp.addRoute('default', '198.51.100.0/24', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }));
  dp.addRoute('default', '192.0.2.0/24', dp.addNexthop({ type: 'reject' }));
  const check = (f: Uint8Array, type: number, code: number) => {
    const p = f.subarray(14);
    assert.equal(et(f), 0x0800);
    assert.equal(F.checksum(p, 0, 20), 0);
    assert.equal(p[9], 1);
    assert.equal(F.ipAt(p, 12), '10.0.1.1', 'from the address of the receiving vif');
    assert.equal(F.ipAt(p, 16), '10.0.1.10');
    assert.equal(p[20], type);
    assert.equal(p[21], code);
    assert.equal(F.checksum(p, 20), 0, 'ICMP checksum');
    assert.equal(F.ipAt(p, 28 + 16), p[28 + 9] === 17 ? F.ipAt(p, 28 + 16) : '', 'quotes the original header');
    return p;
  };
  let o = send(dp, 'p1', F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '198.51.100.1', 1)));
  assert.equal(o.p2!.length, 0);
  check(o.p1![0]!, 11, 0);
  o = send(dp, 'p1', F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '8.8.8.8')));
  check(o.p1![0]!, 3, 0);
  o = send(dp, 'p1', F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '192.0.2.5')));
  check(o.p1![0]!, 3, 13);
  const big = F.ipv4({ src: '10.0.1.10', dst: '198.51.100.1', df: true, payload: new Uint8Array(1400) });
  o = send(dp, 'p1', F.eth(R1, H1, 0x0800, big));
  const p = check(o.p1![0]!, 3, 4);
  assert.equal((p[26]! << 8) | p[27]!, 1280, 'next-hop MTU');
  // without DF it is dropped (no fragmentation), counted
  o = send(dp, 'p1', F.eth(R1, H1, 0x0800, F.ipv4({ src: '10.0.1.10', dst: '198.51.100.1', payload: new Uint8Array(1400) })));
  assert.equal(o.p1!.length + o.p2!.length, 0);
  assert.deepEqual(drops(dp), { ttl_exceeded: 1, no_route: 1, reject: 1, mtu_exceeded: 2 });
  // never an ICMP error about an ICMP error
  const err = F.ipv4({ src: '10.0.1.10', dst: '198.51.100.1', ttl: 1, proto: 1, payload: F.icmpEcho(3) });
  o = send(dp, 'p1', F.eth(R1, H1, 0x0800, err));
  assert.equal(o.p1!.length, 0);
  assert.equal(dp.counters().icmp_suppressed, 1);
});

test('IPv6 packet too big', async () => {
  const dp = await setup({}, 1280);
  dp.addRoute('default', '2001:db8:1::10/128', dp.addNexthop({ type: 'encap', vif: 'p1', dmac: H1 }));
  dp.addRoute('default', '2001:db8:99::/48', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }));
  const o = send(dp, 'p1', F.eth(R1, H1, 0x86dd, F.ipv6({ src: '2001:db8:1::10', dst: '2001:db8:99::1', payload: new Uint8Array(1300) })));
  assert.equal(o.p2!.length, 0);
  const p = o.p1![0]!.subarray(14);
  assert.equal(p[40], 2);
  assert.equal((p[46]! << 8) | p[47]!, 1280);
  assert.ok(F.icmp6Valid(p));
  assert.equal(F.hex(p, 8, 16), F.hex(F.ip('2001:db8:1::1'), 0, 16), 'from the vif\'s global address');
});

test('IPv6 packet too big about the host\'s own packet (from vhost0): from the out vif\'s address, back to the host through vhost0, also to its link-local source', async () => {
  const dp = await setup({ vhost: true, vhostDriver: 'memory' }, 1280);
  await dp.ensureVhost();
  const vh = dp.memoryDriver('vhost0');
  const hostMac = F.hex(vh.hwaddr, 0, 6);
  const routerVhMac = dp.listVifs().find((v) => v.name === 'vhost0')!.mac;
  dp.addRoute('default', '2001:db8:99::/48', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }));
  for (const src of ['2001:db8:2::1', 'fe80::1234']) {
    const o = send(dp, 'vhost0', F.eth(routerVhMac, hostMac, 0x86dd, F.ipv6({ src, dst: '2001:db8:99::1', payload: new Uint8Array(1300) })));
    // nothing toward p2's neighbour: neither the packet nor a solicitation for the host's address
    assert.equal(o.p2!.length, 0, `${src}: sent on p2`);
    assert.equal(o.vhost0!.length, 1, `${src}: the error back to the host`);
    const f = o.vhost0![0]!;
    assert.equal(F.hex(f, 0, 6), hostMac);
    const p = f.subarray(14);
    assert.equal(p[40], 2);
    assert.equal((p[46]! << 8) | p[47]!, 1280);
    assert.ok(F.icmp6Valid(p));
    assert.equal(F.hex(p, 8, 16), F.hex(F.ip('2001:db8:2::1'), 0, 16), 'from the out vif\'s global address');
    assert.equal(F.hex(p, 24, 16), F.hex(F.ip(src), 0, 16), 'to the host\'s source');
  }
  assert.equal(dp.counters().icmp_sent, 2);
});

test('ICMP echo to the router is answered without vhost0 (both families)', async () => {
  const dp = await setup();
  dp.addRoute('default', '10.0.1.10/32', dp.addNexthop({ type: 'encap', vif: 'p1', dmac: H1 }));
  dp.addRoute('default', '2001:db8:1::10/128', dp.addNexthop({ type: 'encap', vif: 'p1', dmac: H1 }));
  let o = send(dp, 'p1', F.eth(R1, H1, 0x0800, F.ipv4({ src: '10.0.1.10', dst: '10.0.2.1', proto: 1, payload: F.icmpEcho(8, 7, 9) })));
  let p = o.p1![0]!.subarray(14);
  assert.equal(F.ipAt(p, 12), '10.0.2.1');
  assert.equal(F.ipAt(p, 16), '10.0.1.10');
  assert.equal(p[20], 0);
  assert.equal(F.checksum(p, 0, 20), 0);
  assert.equal(F.checksum(p, 20), 0);
  const echo6 = new Uint8Array(16);
  echo6[0] = 128;
  o = send(dp, 'p1', F.eth(R1, H1, 0x86dd, F.ipv6Icmp('2001:db8:1::10', '2001:db8:1::1', echo6)));
  p = o.p1![0]!.subarray(14);
  assert.equal(p[40], 129);
  assert.ok(F.icmp6Valid(p));
  // to the router's link-local address from a link-local one: answered on the same link
  const ll = 'fe80::aa:ff:fe00:1'; // EUI-64 of 02:aa:00:00:00:01
  send(dp, 'p1', F.eth('33:33:ff:00:00:10', H1, 0x86dd, F.ipv6Icmp('fe80::10', F.solicitedNode(ll), F.neighborSolicit(ll, H1), 255)));
  o = send(dp, 'p1', F.eth(R1, H1, 0x86dd, F.ipv6Icmp('fe80::10', ll, echo6)));
  assert.equal(o.p1!.length, 1);
  p = o.p1![0]!.subarray(14);
  assert.equal(F.hex(o.p1![0]!, 0, 6), '02:00:00:00:01:01');
  assert.equal(p[40], 129);
  assert.ok(F.icmp6Valid(p));
});

test('MPLS push of 1 to 5 labels over Ethernet, TTL copied from IP', async () => {
  const dp = await setup();
  for (let n = 1; n <= 5; n++) {
    const labels = Array.from({ length: n }, (_, k) => 1000 + k);
    const nh = dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2, labels });
    dp.addRoute('default', `198.51.${n}.0/24`, nh);
    const o = send(dp, 'p1', F.eth(R1, H1, 0x0800, ip4('10.0.1.10', `198.51.${n}.1`, 40)));
    const f = o.p2![0]!;
    assert.equal(et(f), 0x8847);
    const st = F.readLabels(f, 14);
    assert.deepEqual(st.map((l) => l.label), labels);
    assert.deepEqual(st.map((l) => l.s), labels.map((_, k) => (k === n - 1 ? 1 : 0)));
    assert.ok(st.every((l) => l.ttl === 39));
    assert.equal(f[14 + 4 * n] >> 4, 4, 'IPv4 under the stack');
    assert.equal(f[14 + 4 * n + 8], 39);
  }
});

test('MPLS swap, PHP, pop into a VRF; invalid labels and TTL', async () => {
  const dp = await setup();
  dp.addVrf('blue');
  await dp.addVif({ name: 'p3', driver: 'memory', mac: R3, vrf: 'blue', addresses: ['10.9.0.1/24'] });
  const toP2 = dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 });
  dp.addLabel(100, { action: 'swap', outLabels: [200, 300], nh: toP2 });
  dp.addLabel(101, { action: 'php', nh: toP2 });
  dp.addLabel(102, { action: 'pop-lookup', vrf: 'blue' });
  dp.addRoute('blue', '172.16.0.0/16', dp.addNexthop({ type: 'encap', vif: 'p3', dmac: H3 }));
  const inner = ip4('10.0.1.10', '172.16.5.5', 64);
  // swap: one label in, two out, TTL decremented
  let o = send(dp, 'p1', F.eth(R1, H1, 0x8847, F.mpls([100], 20, inner)));
  const st = F.readLabels(o.p2![0]!, 14);
  assert.deepEqual(st, [{ label: 200, s: 0, ttl: 19 }, { label: 300, s: 1, ttl: 19 }]);
  // PHP: IP goes out with TTL = min(ip, label-1)
  o = send(dp, 'p1', F.eth(R1, H1, 0x8847, F.mpls([101], 20, inner)));
  let f = o.p2![0]!;
  assert.equal(et(f), 0x0800);
  assert.equal(f[14 + 8], 19);
  assert.equal(F.checksum(f, 14, 20), 0);
  // PHP with labels below: the next label is exposed
  o = send(dp, 'p1', F.eth(R1, H1, 0x8847, F.mpls([101, 555], 20, inner)));
  f = o.p2![0]!;
  assert.equal(et(f), 0x8847);
  assert.deepEqual(F.readLabels(f, 14), [{ label: 555, s: 1, ttl: 19 }]);
  // pop into VRF blue, then IP lookup there
  o = send(dp, 'p1', F.eth(R1, H1, 0x8847, F.mpls([102], 30, inner)));
  f = o.p3![0]!;
  assert.equal(et(f), 0x0800);
  assert.equal(F.hex(f, 0, 6), '02:00:00:00:03:03');
  assert.equal(f[14 + 8], 29);
  assert.equal(dp.stats().vrfs.blue!.packets, 1);
  // errors
  send(dp, 'p1', F.eth(R1, H1, 0x8847, F.mpls([999], 30, inner)));
  send(dp, 'p1', F.eth(R1, H1, 0x8847, F.mpls([100], 1, inner)));
  send(dp, 'p1', F.eth(R1, H1, 0x8847, F.mpls([100, 200], 30, new Uint8Array(0), false)));
  // the expired packet's ICMP error (RFC 4950) heads for 10.0.1.10, whose MAC is not known yet: held
  assert.deepEqual(drops(dp), { invalid_label: 1, ttl_exceeded: 1, mpls_no_bos: 1 });
  const o2 = send(dp, 'p1', F.eth(R1, H1, 0x0806, F.arp(2, H1, '10.0.1.10', R1, '10.0.1.1')));
  assert.equal(o2.p1!.filter((f) => et(f) === 0x0800 && f[14 + 9] === 1).length, 1, 'sent once 10.0.1.10 answered');
});

test('MPLS over UDP: labels, UDP 6635, outer IPv4 via the default VRF', async () => {
  const dp = await setup();
  dp.addRoute('default', '10.0.2.9/32', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }));
  const nh = dp.addNexthop({ type: 'mpls-udp', src: '10.0.2.1', dst: '10.0.2.9', labels: [3000] });
  dp.addRoute('default', '100.64.0.0/10', nh);
  const inner = ip4('10.0.1.10', '100.64.1.1', 50);
  const o = send(dp, 'p1', F.eth(R1, H1, 0x0800, inner));
  const f = o.p2![0]!;
  assert.equal(et(f), 0x0800);
  const p = f.subarray(14);
  assert.equal(F.checksum(p, 0, 20), 0);
  assert.equal(p[9], 17);
  assert.equal(F.ipAt(p, 12), '10.0.2.1');
  assert.equal(F.ipAt(p, 16), '10.0.2.9');
  assert.equal((p[22]! << 8) | p[23]!, 6635);
  assert.equal((p[24]! << 8) | p[25]!, 8 + 4 + inner.length);
  assert.deepEqual(F.readLabels(p, 28), [{ label: 3000, s: 1, ttl: 49 }]);
  assert.equal(p[32 + 8], 49);
});

test('MPLS over UDP toward a tunnel end not resolved yet: held after the encapsulation, sent once it answers, encapsulated once', async () => {
  const dp = await setup();
  // the tunnel's end is a host on p2's subnet: its MAC comes from ARP (glean)
  const nh = dp.addNexthop({ type: 'mpls-udp', src: '10.0.2.1', dst: '10.0.2.9', labels: [3000] });
  dp.addRoute('default', '100.64.0.0/10', nh);
  const inner = ip4('10.0.1.10', '100.64.1.1', 50);
  const o1 = send(dp, 'p1', F.eth(R1, H1, 0x0800, inner));
  assert.equal(o1.p2!.filter((f) => et(f) === 0x0800).length, 0, 'held');
  assert.equal(o1.p2!.filter((f) => et(f) === 0x0806).length, 1, 'asked for');
  const o2 = send(dp, 'p2', F.eth(R2, H2, 0x0806, F.arp(2, H2, '10.0.2.9', R2, '10.0.2.1')));
  const sent = o2.p2!.filter((f) => et(f) === 0x0800);
  assert.equal(sent.length, 1);
  const p = sent[0]!.subarray(14);
  assert.equal(F.hex(sent[0]!, 0, 6), '02:00:00:00:02:02');
  assert.equal(F.ipAt(p, 16), '10.0.2.9');
  assert.equal((p[24]! << 8) | p[25]!, 8 + 4 + inner.length, 'one UDP header and one label: not encapsulated twice');
  assert.deepEqual(F.readLabels(p, 28), [{ label: 3000, s: 1, ttl: 49 }]);
  assert.equal(p[32 + 8], 49);
  assert.deepEqual(drops(dp), {});
});

test('ECMP spreads flows over members and keeps each flow on one member', async () => {
  const dp = await setup();
  const macs = ['02:00:00:00:0a:01', '02:00:00:00:0a:02', '02:00:00:00:0a:03', '02:00:00:00:0a:04'];
  const members = macs.map((m) => dp.addNexthop({ type: 'encap', vif: 'p2', dmac: m }));
  dp.addRoute('default', '0.0.0.0/0', dp.addNexthop({ type: 'composite', members }));
  const count = new Map<string, number>();
  const flowTo = new Map<number, string>();
  for (let k = 0; k < 2000; k++) {
    const flow = k % 500;
    const pkt = F.ipv4({ src: '10.0.1.10', dst: `198.18.${flow >> 8}.${flow & 255}`, payload: F.udp(10000 + flow, 53) });
    const o = send(dp, 'p1', F.eth(R1, H1, 0x0800, pkt));
    const m = F.hex(o.p2![0]!, 0, 6);
    count.set(m, (count.get(m) ?? 0) + 1);
    if (flowTo.has(flow)) assert.equal(flowTo.get(flow), m, 'a flow stays on its member');
    flowTo.set(flow, m);
  }
  assert.equal(count.size, 4);
  for (const c of count.values()) assert.ok(c > 300 && c < 700, `balanced: ${[...count.values()]}`);
});

test('VRF isolation and VRF translate next hop', async () => {
  const dp = await setup();
  dp.addVrf('red');
  await dp.addVif({ name: 'p3', driver: 'memory', mac: R3, vrf: 'red', addresses: ['10.0.1.1/24'] });
  dp.addRoute('default', '198.51.100.0/24', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }));
  // the same address in another VRF: ARP on p3 answers with p3's MAC
  let o = send(dp, 'p3', F.eth(BCAST, H3, 0x0806, F.arp(1, H3, '10.0.1.20', '00:00:00:00:00:00', '10.0.1.1')));
  assert.equal(F.hex(o.p3![0]!, 14 + 8, 6), '02:aa:00:00:00:03');
  o = send(dp, 'p3', F.eth(R3, H3, 0x0800, ip4('10.0.1.20', '198.51.100.1')));
  assert.equal(o.p2!.length, 0);
  assert.equal(dp.dropStats().no_route, 1);
  // leak by VRF translate
  dp.addRoute('red', '198.51.100.0/24', dp.addNexthop({ type: 'vrf', vrf: 'default' }));
  o = send(dp, 'p3', F.eth(R3, H3, 0x0800, ip4('10.0.1.20', '198.51.100.1')));
  assert.equal(o.p2!.length, 1);
  assert.throws(() => dp.delVrf('red'), /interface p3/);
});

test('punt to vhost0 and forwarding of what the host sends', async () => {
  const dp = await setup({ vhost: true, vhostDriver: 'memory' });
  await dp.ensureVhost();
  const vh = dp.memoryDriver('vhost0');
  const hostMac = F.hex(vh.hwaddr, 0, 6);
  const routerVhMac = dp.listVifs().find((v) => v.name === 'vhost0')!.mac;
  dp.addRoute('default', '10.0.2.2/32', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }));
  // BGP to the router's address: punted with the kernel's MAC as destination
  const bgp = F.ipv4({ src: '10.0.2.2', dst: '10.0.2.1', proto: 6, payload: new Uint8Array(40) });
  let o = send(dp, 'p2', F.eth(R2, H2, 0x0800, bgp));
  assert.equal(o.vhost0!.length, 1);
  assert.equal(F.hex(o.vhost0![0]!, 0, 6), hostMac);
  assert.equal(F.hex(o.vhost0![0]!, 6, 6), routerVhMac);
  assert.deepEqual(o.vhost0![0]!.subarray(14), bgp);
  assert.equal(dp.counters().punt, 1);
  // the kernel ARPs for its peer on vhost0: we answer
  o = send(dp, 'vhost0', F.eth(BCAST, hostMac, 0x0806, F.arp(1, hostMac, '10.0.2.1', '00:00:00:00:00:00', '10.0.2.2')));
  assert.equal(o.vhost0!.length, 1);
  assert.equal(F.hex(o.vhost0![0]!, 14 + 8, 6), routerVhMac);
  // and its reply goes out through the FIB, TTL untouched
  const reply = F.ipv4({ src: '10.0.2.1', dst: '10.0.2.2', proto: 6, ttl: 1, payload: new Uint8Array(20) });
  o = send(dp, 'vhost0', F.eth(routerVhMac, hostMac, 0x0800, reply));
  assert.equal(o.p2!.length, 1);
  assert.equal(o.p2![0]![14 + 8], 1);
  // with vhost0, echo requests go to the host too
  o = send(dp, 'p2', F.eth(R2, H2, 0x0800, F.ipv4({ src: '10.0.2.2', dst: '10.0.2.1', proto: 1, payload: F.icmpEcho(8) })));
  assert.equal(o.vhost0!.length, 1);
});

test('bad input is dropped and counted with a reason', async () => {
  const dp = await setup();
  dp.addRoute('default', '0.0.0.0/0', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }));
  const good = ip4('10.0.1.10', '198.51.100.1');
  const badSum = new Uint8Array(good); badSum[10]! ^= 0xff;
  const badIhl = new Uint8Array(good); badIhl[0] = 0x44;
  const longLen = new Uint8Array(good); longLen[3] = 250;
  const v6ext = F.ipv6({ src: '2001:db8:1::10', dst: '2001:db8:9::1', next: 0, payload: Uint8Array.from([60, 9, 0, 0, 0, 0, 0, 0]) });
  send(dp, 'p1',
    new Uint8Array(10),
    F.eth(R1, H1, 0x0800, good.subarray(0, 15)),
    F.eth(R1, H1, 0x0800, badSum),
    F.eth(R1, H1, 0x0800, badIhl),
    F.eth(R1, H1, 0x0800, longLen),
    F.eth(R1, H1, 0x88b5, good),
    F.eth(R1, H1, 0x86dd, v6ext),
    F.eth(R1, H1, 0x0800, F.ipv4({ src: '10.0.1.10', dst: '198.51.100.1', payload: new Uint8Array(1600) })),
    F.eth(R1, H1, 0x0800, good, 7),
    F.eth(R1, H1, 0x0806, new Uint8Array(10)),
  );
  assert.deepEqual(drops(dp), { truncated: 3, bad_checksum: 1, bad_ihl: 1, bad_length: 1, unknown_ethertype: 1, bad_ext_header: 1, oversize: 1, vlan_mismatch: 1 });
  assert.equal(dp.listVifs().find((v) => v.name === 'p1')!.drops, 10);
});

test('a node that throws loses its burst (counted), not the forwarder', async () => {
  const dp = await setup({ poolSize: 512 });
  dp.addRoute('default', '198.51.100.0/24', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }));
  const g = (dp as unknown as { engine: { graph: { fastPath: () => void; runs: ((g: unknown) => void)[] } } }).engine.graph;
  const at = GRAPH_NODES.findIndex((n) => n.name === 'ip4-input');
  const real = g.runs[at]!;
  const realFast = g.fastPath;
  g.runs[at] = g.fastPath = () => { throw new Error('injected fault'); };
  const err = console.error;
  console.error = () => {};
  try {
    send(dp, 'p1', ...Array.from({ length: 10 }, () => F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '198.51.100.7'))));
  } finally {
    console.error = err;
  }
  assert.equal(dp.counters().exceptions, 1);
  assert.equal(dp.dropStats().internal_error, 10);
  assert.equal(dp.poolAvailable(), 512);
  g.runs[at] = real;
  g.fastPath = realFast;
  const o = send(dp, 'p1', F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '198.51.100.7')));
  assert.equal(o.p2!.length, 1, 'forwarding goes on');
});

test('packets still queued when a run runs out of passes are forwarded by the next run, even one the fast path takes whole', async () => {
  const dp = await setup();
  dp.addRoute('default', '198.51.100.0/24', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }));
  type G = { fastOn: boolean; qlen: Int32Array; runs: ((g: unknown) => void)[] };
  const g = (dp as unknown as { engine: { graph: G } }).engine.graph;
  // ip4-input made to keep its packets (a loop between nodes, as a bug would make one): the run gives up after its passes
  const at = GRAPH_NODES.findIndex((n) => n.name === 'ip4-input');
  const real = g.runs[at]!;
  g.runs[at] = () => {};
  g.fastOn = false;
  let out = send(dp, 'p1', F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '198.51.100.7')));
  assert.equal(out.p2!.length, 0);
  assert.equal(g.qlen[GRAPH_NODES[at]!.id], 1, 'left in ip4-input\'s queue');
  // the next burst goes through the fast path whole; the packet left behind goes with it
  g.runs[at] = real;
  g.fastOn = true;
  out = send(dp, 'p1', F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '198.51.100.8')));
  assert.equal(out.p2!.length, 2);
  assert.deepEqual(out.p2!.map((f) => f[14 + 19]).sort(), [7, 8]);
  assert.equal(dp.counters().tx, 2);
  assert.equal(g.qlen[GRAPH_NODES[at]!.id], 0);
});

test('VLAN subinterface: tagged in, tagged out', async () => {
  const dp = createDataplane({ workers: 0 });
  await dp.addVif({ name: 'v1', driver: 'memory', mac: R1, vlan: 100, addresses: ['10.0.1.1/24'] });
  await dp.addVif({ name: 'v2', driver: 'memory', mac: R2, vlan: 200, addresses: ['10.0.2.1/24'] });
  dp.addRoute('default', '10.0.2.5/32', dp.addNexthop({ type: 'encap', vif: 'v2', dmac: H2 }));
  const o = send(dp, 'v1', F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '10.0.2.5'), 100));
  const f = o.v2![0]!;
  assert.equal(et(f), 0x8100);
  assert.equal(((f[14]! << 8) | f[15]!) & 0xfff, 200);
  assert.equal((f[16]! << 8) | f[17]!, 0x0800);
  assert.equal(f[18 + 8], 63);
});

test('API validation refuses bad input with clear errors and leaves tables unchanged', async () => {
  const dp = await setup();
  assert.throws(() => dp.addRoute('default', '10.0.0.0/33', 1), /prefix length/);
  assert.throws(() => dp.addRoute('nope', '10.0.0.0/8', 1), /no VRF/);
  assert.throws(() => dp.addRoute('default', '10.0.0.0/8', 9999), /no next hop/);
  assert.throws(() => dp.addNexthop({ type: 'encap', vif: 'zz', dmac: H2 }), /no interface/);
  assert.throws(() => dp.addNexthop({ type: 'encap', vif: 'p2', dmac: 'xx' }), /invalid MAC/);
  assert.throws(() => dp.addNexthop({ type: 'neighbor', vif: 'p2', ip: '10.0.0.1', labels: [1, 2, 3, 4, 5, 6] }), /label stack/);
  assert.throws(() => dp.addNexthop({ type: 'composite', members: [] }), /members/);
  assert.throws(() => dp.addLabel(3, { action: 'pop-lookup', vrf: 'default' }), /reserved/);
  assert.throws(() => dp.addLabel(1 << 20, { action: 'pop-lookup', vrf: 'default' }), /invalid MPLS label/);
  await assert.rejects(dp.addVif({ name: 'p1', driver: 'memory' }), /already exists/);
  await assert.rejects(dp.addVif({ name: 'p9', driver: 'memory', addresses: ['1.2.3.4'] }), /missing \/length/);
  const nh = dp.addNexthop({ type: 'discard' });
  dp.addRoute('default', '10.99.0.0/16', nh);
  assert.throws(() => dp.delNexthop(nh), /still used/);
  assert.deepEqual(dp.listRoutes('default', 4).filter((r) => r.prefix === '10.99.0.0/16'), [{ prefix: '10.99.0.0/16', nh }]);
  dp.delRoute('default', '10.99.0.0/16');
  dp.delNexthop(nh);
  assert.throws(() => dp.delRoute('default', '10.99.0.0/16'), /no route/);
});

test('workers: 1 forwards in a worker thread and stops cleanly', async () => {
  const dp = createDataplane({ workers: 1 });
  await dp.addVif({ name: 'p1', driver: 'memory', mac: R1, addresses: ['10.0.1.1/24'] });
  await dp.addVif({ name: 'p2', driver: 'memory', mac: R2, addresses: ['10.0.2.1/24'] });
  dp.addRoute('default', '198.51.100.0/24', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }));
  await dp.start();
  for (let k = 0; k < 100; k++) dp.memoryDriver('p1').inject(F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '198.51.100.7')));
  const got: Uint8Array[] = [];
  const deadline = Date.now() + 10000;
  while (got.length < 100 && Date.now() < deadline) {
    got.push(...dp.memoryDriver('p2').collect());
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(got.length, 100);
  assert.equal(dp.counters().tx, 100);
  // a neighbor learned in the worker reaches the main thread's table
  dp.memoryDriver('p1').inject(F.eth(BCAST, H1, 0x0806, F.arp(1, H1, '10.0.1.10', '00:00:00:00:00:00', '10.0.1.1')));
  while (!dp.listNeighbors().some((n) => n.ip === '10.0.1.10') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.ok(dp.listNeighbors().some((n) => n.ip === '10.0.1.10' && n.state === 'resolved'));
  const t0 = Date.now();
  await dp.stop();
  assert.ok(Date.now() - t0 < 2000, 'stop is prompt');
});

test('a user route overrides a connected route; deleting it restores the connected one', async () => {
  const dp = await setup();
  const glean = dp.listRoutes('default', 4).find((r) => r.prefix === '10.0.2.0/24')!.nh;
  const nh = dp.addNexthop({ type: 'encap', vif: 'p1', dmac: H1 });
  dp.addRoute('default', '10.0.2.0/24', nh);
  assert.equal(dp.listRoutes('default', 4).find((r) => r.prefix === '10.0.2.0/24')!.nh, nh);
  assert.equal(dp.listNexthops().find((n) => n.id === nh)!.refs, 1);
  let o = send(dp, 'p1', F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '10.0.2.5')));
  assert.equal(o.p1!.length, 1);
  dp.delRoute('default', '10.0.2.0/24');
  assert.equal(dp.listRoutes('default', 4).find((r) => r.prefix === '10.0.2.0/24')!.nh, glean);
  assert.equal(dp.listNexthops().find((n) => n.id === nh)!.refs, 0);
  assert.throws(() => dp.delRoute('default', '10.0.2.0/24'), /no route/, 'the connected route is not the user\'s to delete');
  o = send(dp, 'p1', F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '10.0.2.5')));
  assert.equal(o.p2!.filter((f) => et(f) === 0x0806).length, 1, 'glean again: ARP for the host');
  // an address added under an existing user route leaves the user route in place
  dp.addRoute('default', '10.5.0.0/24', nh);
  dp.setVifAddresses('p2', ['10.0.2.1/24', '10.5.0.1/24']);
  assert.equal(dp.listRoutes('default', 4).find((r) => r.prefix === '10.5.0.0/24')!.nh, nh);
  assert.equal(dp.listRoutes('default', 4).find((r) => r.prefix === '10.5.0.1/32')!.nh, dp.listRoutes('default', 4).find((r) => r.prefix === '10.0.2.1/32')!.nh);
  dp.setVifAddresses('p2', ['10.0.2.1/24']);
  assert.equal(dp.listRoutes('default', 4).find((r) => r.prefix === '10.5.0.0/24')!.nh, nh, 'the user route survives the address removal');
  assert.equal(dp.listRoutes('default', 4).find((r) => r.prefix === '10.5.0.1/32'), undefined);
});

test('workers: 2 own one vif each and hand frames to each other', async () => {
  const dp = createDataplane({ workers: 2 });
  await dp.addVif({ name: 'p1', driver: 'memory', mac: R1, addresses: ['10.0.1.1/24'] });
  await dp.addVif({ name: 'p2', driver: 'memory', mac: R2, addresses: ['10.0.2.1/24'] });
  assert.notEqual(dp.tables.vif.owner[dp.vifIndex('p1')], dp.tables.vif.owner[dp.vifIndex('p2')]);
  dp.addRoute('default', '198.51.100.0/24', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }));
  dp.addRoute('default', '203.0.113.0/24', dp.addNexthop({ type: 'encap', vif: 'p1', dmac: H1 }));
  await dp.start();
  for (let k = 0; k < 200; k++) {
    dp.memoryDriver('p1').inject(F.eth(R1, H1, 0x0800, ip4('10.0.1.10', '198.51.100.7')));
    dp.memoryDriver('p2').inject(F.eth(R2, H2, 0x0800, ip4('10.0.2.10', '203.0.113.7')));
  }
  const got = { p1: 0, p2: 0 };
  const deadline = Date.now() + 10000;
  while ((got.p1 < 200 || got.p2 < 200) && Date.now() < deadline) {
    got.p1 += dp.memoryDriver('p1').collect().length;
    got.p2 += dp.memoryDriver('p2').collect().length;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.deepEqual(got, { p1: 200, p2: 200 });
  const c = dp.counters();
  assert.equal(c.tx, 400);
  assert.equal(c.handoff_out, 400);
  assert.equal(c.handoff_in, 400);
  assert.equal(dp.stats().vifs.p2!.txPackets, 200);
  await dp.stop();
});

/** Send the same frames through a (fast path on) and b (off): the same frames leave each vif. */
function sameOutput(a: VRouterDataplane, b: VRouterDataplane, frames: Uint8Array[], what: string): void {
  const oa = send(a, 'p1', ...frames);
  const ob = send(b, 'p1', ...frames);
  // the fast path may send its packets ahead of the exceptions'
  const hex = (fs: Uint8Array[]) => fs.map((f) => Buffer.from(f).toString('hex')).sort();
  for (const v of ['p1', 'p2', 'p3']) assert.deepEqual(hex(oa[v]!), hex(ob[v]!), `${what} vif ${v}`);
}

/** ... and the same drops, counters and per-vif/VRF statistics. */
function sameCounters(a: VRouterDataplane, b: VRouterDataplane): void {
  const diff = (x: Record<string, number>, y: Record<string, number>) => Object.fromEntries(Object.keys(x).filter((k) => x[k] !== y[k]).map((k) => [k, [x[k], y[k]]]));
  assert.deepEqual(diff(a.dropStats(), b.dropStats()), {});
  const { bursts: _x, ...ca } = a.counters();
  const { bursts: _y, ...cb } = b.counters();
  assert.deepEqual(diff(ca, cb), {});
  assert.deepEqual(a.stats(), b.stats());
  assert.ok(a.counters().tx! > 50, `forwarded ${a.counters().tx}`);
}

/**
 * The differential tests' clock, shared by both data planes and advanced by the tests between
 * rounds: their rate limiters (ICMP, neighbor requests) and neighbor retries then see the same
 * times, however long each took to run (on a loaded machine the two drifted apart and sent
 * different numbers of solicitations).
 */
let diffNow = 1000;
const diffClock = () => diffNow;

/** A data plane for the differential tests, its fast path on or off. */
async function fastOrNot(fast: boolean): Promise<VRouterDataplane> {
  const dp = await setup({ clock: diffClock }, 1400);
  await dp.addVif({ name: 'p3', driver: 'memory', mac: R3, vlan: 30, addresses: ['10.0.3.1/24', '2001:db8:3::1/64'] });
  const g = (dp as unknown as { engine: { graph: { fastOn: boolean } } }).engine.graph;
  g.fastOn = fast;
  return dp;
}

test('the IPv4 fast path and the general nodes forward, answer and drop alike (mutated frames)', async () => {
  const { rng } = await import('../../../test/support/random.js');
  const build = async (fast: boolean) => {
    const dp = await fastOrNot(fast);
    dp.addRoute('default', '198.51.100.0/24', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }));
    dp.addRoute('default', '198.51.101.0/24', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2, labels: [100] }));
    dp.addRoute('default', '198.51.102.0/24', dp.addNexthop({ type: 'encap', vif: 'p3', dmac: H3 }));
    dp.addRoute('default', '198.51.103.0/24', dp.addNexthop({ type: 'discard' }));
    // ECMP: members on two vifs, one with a label, one that is not a fast next hop (an unresolved neighbor)
    const members = ['02:00:00:00:0a:01', '02:00:00:00:0a:02', '02:00:00:00:0a:03'].map((m) => dp.addNexthop({ type: 'encap', vif: 'p2', dmac: m }));
    members.push(dp.addNexthop({ type: 'encap', vif: 'p3', dmac: H3 }), dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2, labels: [300] }), dp.addNexthop({ type: 'neighbor', vif: 'p2', ip: '10.0.2.77' }));
    dp.addRoute('default', '198.51.104.0/24', dp.addNexthop({ type: 'composite', members }));
    return dp;
  };
  const a = await build(true);
  const b = await build(false);
  const r = rng(42);
  const dsts = ['198.51.100.7', '198.51.100.8', '198.51.100.9', '198.51.101.7', '198.51.102.7', '198.51.103.7', '203.0.113.1', '10.0.2.1', '10.0.2.99', '224.0.0.5', '255.255.255.255',
    '198.51.104.1', '198.51.104.2', '198.51.104.3', '198.51.104.4', '198.51.104.5', '198.51.104.6'];
  // few enough ICMP errors that the rate limit (a clock-driven token bucket) never decides anything
  for (let round = 0; round < 20; round++) {
    diffNow += 50;
    const frames: Uint8Array[] = [];
    for (let k = 0; k < 30; k++) {
      const size = [18, 18, 100, 1379, 1381, 1500][r() % 6]!;
      const ip = F.ipv4({ src: '10.0.1.10', dst: dsts[r() % dsts.length]!, ttl: [64, 64, 64, 2, 1, 0][r() % 6], tos: r() % 5 === 0 ? 0xb8 : 0, df: r() % 2 === 0, options: r() % 10 === 0 ? new Uint8Array([1, 1, 1, 0]) : undefined, payload: F.udp(1000, 53, new Uint8Array(size)) });
      let f = F.eth(r() % 20 === 0 ? H3 : R1, H1, 0x0800, ip);
      const m = r() % 10;
      if (m === 0) f[14 + (r() % 20)] ^= 1 << (r() % 8); // corrupt a header bit
      else if (m === 1) f = f.subarray(0, 14 + (r() % 40)); // truncate
      else if (m === 2) { const o = new Uint8Array(f.length + 10); o.set(f); f = o; } // trailing padding
      frames.push(f);
    }
    sameOutput(a, b, frames, `round ${round}`);
  }
  sameCounters(a, b);
});

test('the IPv6 fast path and the general nodes forward, answer and drop alike (mutated frames)', async () => {
  const { rng } = await import('../../../test/support/random.js');
  const build = async (fast: boolean) => {
    const dp = await fastOrNot(fast);
    dp.addRoute('default', '2001:db8:100::/48', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }));
    dp.addRoute('default', '2001:db8:100:5::/64', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H3 }));
    dp.addRoute('default', '2001:db8:101::/48', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2, labels: [100, 200] }));
    dp.addRoute('default', '2001:db8:102::/48', dp.addNexthop({ type: 'encap', vif: 'p3', dmac: H3 }));
    dp.addRoute('default', '2001:db8:103::/48', dp.addNexthop({ type: 'discard' }));
    dp.addRoute('default', '2001:db8:104::7/128', dp.addNexthop({ type: 'encap', vif: 'p1', dmac: H1 }));
    const members = ['02:00:00:00:0a:01', '02:00:00:00:0a:02', '02:00:00:00:0a:03'].map((m) => dp.addNexthop({ type: 'encap', vif: 'p2', dmac: m }));
    members.push(dp.addNexthop({ type: 'encap', vif: 'p3', dmac: H3 }), dp.addNexthop({ type: 'neighbor', vif: 'p2', ip: '2001:db8:2::77' }));
    dp.addRoute('default', '2001:db8:105::/48', dp.addNexthop({ type: 'composite', members }));
    return dp;
  };
  const a = await build(true);
  const b = await build(false);
  const r = rng(4242);
  const dsts = ['2001:db8:100::7', '2001:db8:100:5::8', '2001:db8:100:6::9', '2001:db8:101::7', '2001:db8:102::7', '2001:db8:103::7', '2001:db8:104::7', '2001:db8:104::8',
    '2001:db8:2::1', '2001:db8:2::99', 'fe80::1', 'ff02::1', 'ff0e::5', '3fff::1', '2001:db8:105::1', '2001:db8:105::2', '2001:db8:105:1::3', '2001:db8:105::4', '2001:db8:105:77::5'];
  for (let round = 0; round < 20; round++) {
    diffNow += 50;
    const frames: Uint8Array[] = [];
    for (let k = 0; k < 30; k++) {
      const size = [18, 18, 100, 1339, 1341, 1400][r() % 6]!;
      const next = [17, 17, 17, 17, 0, 44, 60, 58][r() % 8]!;
      // an extension header's first two bytes: the upper layer (UDP) and its length (8 bytes)
      const payload = next === 17 ? F.udp(1000, 53, new Uint8Array(size)) : Uint8Array.of(17, 0, ...new Uint8Array(6), ...F.udp(1000, 53, new Uint8Array(size)));
      const ip = F.ipv6({ src: '2001:db8:1::10', dst: dsts[r() % dsts.length]!, hlim: [64, 64, 64, 2, 1, 0][r() % 6], next, payload });
      let f = F.eth(r() % 20 === 0 ? H3 : R1, H1, 0x86dd, ip);
      const m = r() % 10;
      if (m === 0) f[14 + (r() % 40)] ^= 1 << (r() % 8); // corrupt a header bit
      else if (m === 1) f = f.subarray(0, 14 + (r() % 60)); // truncate
      else if (m === 2) { const o = new Uint8Array(f.length + 10); o.set(f); f = o; } // trailing padding
      frames.push(f);
    }
    sameOutput(a, b, frames, `round ${round}`);
  }
  sameCounters(a, b);
  const dropped = a.dropStats();
  for (const why of ['no_route', 'ttl_exceeded', 'discard']) assert.ok(dropped[why]! > 0, `some ${why} drops: ${JSON.stringify(dropped)}`);
});

test('the MPLS fast path (swap) and mpls-input forward, answer and drop alike (mutated frames)', async () => {
  const { rng } = await import('../../../test/support/random.js');
  const build = async (fast: boolean) => {
    const dp = await fastOrNot(fast);
    const toP2 = dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 });
    const toP3 = dp.addNexthop({ type: 'encap', vif: 'p3', dmac: H3 });
    dp.addRoute('default', '10.0.1.10/32', dp.addNexthop({ type: 'encap', vif: 'p1', dmac: H1 }));
    dp.addLabel(100, { action: 'swap', outLabels: [200], nh: toP2 });
    dp.addLabel(101, { action: 'swap', outLabels: [201], nh: toP3 }); // a VLAN vif: not fast
    dp.addLabel(102, { action: 'swap', outLabels: [202, 302], nh: toP2 });
    dp.addLabel(103, { action: 'swap', outLabels: [203], nh: dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2, labels: [400] }) });
    dp.addLabel(104, { action: 'php', nh: toP2 });
    dp.addLabel(105, { action: 'swap', outLabels: [205], nh: dp.addNexthop({ type: 'composite', members: [toP2, dp.addNexthop({ type: 'encap', vif: 'p2', dmac: '02:00:00:00:0a:09' })] }) });
    dp.addLabel(106, { action: 'pop-lookup', vrf: 'default' });
    return dp;
  };
  const a = await build(true);
  const b = await build(false);
  const r = rng(4711);
  for (let round = 0; round < 20; round++) {
    diffNow += 50;
    const frames: Uint8Array[] = [];
    for (let k = 0; k < 30; k++) {
      const size = [18, 18, 100, 1370, 1374, 1378][r() % 6]!;
      const ip = F.ipv4({ src: '10.0.1.10', dst: '198.51.100.7', ttl: 64, payload: F.udp(1000 + k, 53, new Uint8Array(size)) });
      const top = [100, 100, 100, 101, 102, 103, 104, 105, 106, 107, 3][r() % 11]!;
      const stack = r() % 3 === 0 ? [top, 16001] : [top];
      const ttl = [64, 64, 64, 2, 1, 0][r() % 6]!;
      let f = F.eth(r() % 20 === 0 ? H3 : R1, H1, 0x8847, F.mpls(stack, ttl, ip, r() % 12 !== 0));
      const m = r() % 10;
      if (m === 0) f[14 + (r() % 8)] ^= 1 << (r() % 8); // corrupt a label bit
      else if (m === 1) f = f.subarray(0, 14 + (r() % 12)); // truncate
      else if (m === 2) { const o = new Uint8Array(f.length + 10); o.set(f); f = o; } // trailing padding
      frames.push(f);
    }
    sameOutput(a, b, frames, `round ${round}`);
  }
  sameCounters(a, b);
  const dropped = a.dropStats();
  for (const why of ['invalid_label', 'ttl_exceeded']) assert.ok(dropped[why]! > 0, `some ${why} drops: ${JSON.stringify(dropped)}`);
});

test('filters: the fast path and the acl node permit, deny and count alike (both families, ports, fragments, no route)', async () => {
  const { rng } = await import('../../../test/support/random.js');
  const build = async (fast: boolean) => {
    const dp = await fastOrNot(fast);
    const nh = dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 });
    dp.addRoute('default', '198.51.100.0/24', nh);
    dp.addRoute('default', '2001:db8:100::/48', nh);
    dp.addRoute('default', '198.51.101.0/24', dp.addNexthop({ type: 'discard' }));
    dp.setAcl('p1', [
      { action: 'deny', src: '10.0.1.66/32' },
      { action: 'permit', protocol: 'udp', dst: '198.51.100.0/25', dstPort: [2000, 2010] },
      { action: 'deny', protocol: 'tcp', dstPort: 22 },
      { action: 'permit', protocol: 'tcp', dst: '198.51.100.0/24' },
      { action: 'permit', family: 'inet', protocol: 'icmp' },
      { action: 'permit', dst: '198.51.101.0/24' },
      { action: 'permit', family: 'inet6', protocol: 17, srcPort: [1000, 1001] },
      { action: 'deny', family: 'inet6', src: '2001:db8:1::66/128' },
      { action: 'permit', family: 'inet6', protocol: 'tcp' },
    ]);
    return dp;
  };
  const a = await build(true);
  const b = await build(false);
  const r = rng(777);
  const tcp = (sport: number, dport: number) => Uint8Array.of(sport >> 8, sport & 255, dport >> 8, dport & 255, ...new Uint8Array(16));
  const icmp = Uint8Array.of(8, 0, 0, 0, 0, 1, 0, 1);
  const v4dst = ['198.51.100.7', '198.51.100.200', '198.51.101.9', '203.0.113.1'];
  const v6dst = ['2001:db8:100::7', '2001:db8:100:5::1', '2001:db8:200::1'];
  for (let round = 0; round < 20; round++) {
    diffNow += 50;
    const frames: Uint8Array[] = [];
    for (let k = 0; k < 30; k++) {
      const port = [22, 80, 2000, 2005, 2011, 53][r() % 6]!;
      const kind = r() % 3;
      if (r() % 3 === 0) {
        const payload = kind === 0 ? F.udp([1000, 1001, 1002][r() % 3]!, port) : kind === 1 ? tcp(40000, port) : F.udp(5, 6);
        const next = kind === 1 ? 6 : 17;
        frames.push(F.eth(R1, H1, 0x86dd, F.ipv6({ src: r() % 4 === 0 ? '2001:db8:1::66' : '2001:db8:1::10', dst: v6dst[r() % v6dst.length]!, next, payload })));
      } else {
        const proto = kind === 0 ? 17 : kind === 1 ? 6 : 1;
        const payload = proto === 17 ? F.udp(1000, port) : proto === 6 ? tcp(40000, port) : icmp;
        const ip = F.ipv4({ src: r() % 5 === 0 ? '10.0.1.66' : '10.0.1.10', dst: v4dst[r() % v4dst.length]!, proto, payload });
        // now and then a later fragment (no ports) or a truncated header under the ports
        if (r() % 8 === 0) { ip[6] = 0x00; ip[7] = 0x10; ip[10] = 0; ip[11] = 0; const c = F.checksum(ip, 0, 20); ip[10] = c >> 8; ip[11] = c & 255; }
        frames.push(F.eth(R1, H1, 0x0800, r() % 10 === 0 ? ip.subarray(0, 22) : ip));
      }
    }
    sameOutput(a, b, frames, `round ${round}`);
  }
  sameCounters(a, b);
  const [fa] = a.listAcls();
  const [fb] = b.listAcls();
  assert.deepEqual(fa, fb, 'the same hits per rule and unmatched');
  assert.ok(fa!.rules.filter((x) => x.hits > 0).length >= 7, `most rules decided something: ${JSON.stringify(fa!.rules.map((x) => x.hits))}`);
  assert.ok(a.dropStats().acl_deny! > 20);
  assert.ok(a.counters().tx! > 100);
});

test('ACL on a vif: first matching rule decides, unmatched packets are denied (acl_deny), an empty list removes it', async () => {
  const dp = await setup();
  const nh = dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 });
  dp.addRoute('default', '198.51.100.0/24', nh);
  dp.addRoute('default', '2001:db8:99::/48', nh);
  dp.setAcl('p1', [
    { action: 'deny', src: '10.0.1.66/32' },
    { action: 'permit', protocol: 'udp', dst: '198.51.100.0/25', dstPort: [2000, 2010] },
    { action: 'deny', protocol: 'tcp', dstPort: 22 },
    { action: 'permit', protocol: 'tcp', dst: '198.51.100.0/24' },
    { action: 'permit', family: 'inet6', protocol: 17, srcPort: 1000 },
  ]);
  const v4 = (src: string, dst: string, payload: Uint8Array, proto = 17) => F.eth(R1, H1, 0x0800, F.ipv4({ src, dst, proto, payload }));
  const tcp = (dport: number) => Uint8Array.of(0x30, 0x39, dport >> 8, dport & 255, ...new Uint8Array(16));
  const cases: [Uint8Array, boolean, string][] = [
    [v4('10.0.1.10', '198.51.100.7', F.udp(1000, 2000)), true, 'udp to a permitted port'],
    [v4('10.0.1.66', '198.51.100.7', F.udp(1000, 2000)), false, 'denied source first'],
    [v4('10.0.1.10', '198.51.100.200', F.udp(1000, 2000)), false, 'outside the /25: no rule, denied'],
    [v4('10.0.1.10', '198.51.100.7', F.udp(1000, 2011)), false, 'port outside the range'],
    [v4('10.0.1.10', '198.51.100.7', tcp(22), 6), false, 'tcp 22 denied'],
    [v4('10.0.1.10', '198.51.100.7', tcp(80), 6), true, 'other tcp permitted'],
    [F.eth(R1, H1, 0x86dd, F.ipv6({ src: '2001:db8:1::10', dst: '2001:db8:99::1', payload: F.udp(1000, 53) })), true, 'IPv6 udp from port 1000'],
    [F.eth(R1, H1, 0x86dd, F.ipv6({ src: '2001:db8:1::10', dst: '2001:db8:99::1', payload: F.udp(1001, 53) })), false, 'IPv6 udp from another port'],
  ];
  for (const [f, pass, what] of cases) {
    const before = dp.dropStats().acl_deny!;
    const o = send(dp, 'p1', f);
    assert.equal(o.p2!.length, pass ? 1 : 0, what);
    assert.equal(dp.dropStats().acl_deny! - before, pass ? 0 : 1, what);
  }
  // the filter is per vif: p2 has none
  dp.addRoute('default', '10.0.1.0/25', dp.addNexthop({ type: 'encap', vif: 'p1', dmac: H1 }));
  assert.equal(send(dp, 'p2', F.eth(R2, H2, 0x0800, ip4('10.0.2.9', '10.0.1.66'))).p1!.length, 1);
  dp.setAcl('p1', []);
  assert.equal(send(dp, 'p1', cases[1]![0]).p2!.length, 1, 'no filter after an empty list');
  assert.throws(() => dp.setAcl('p1', [{ action: 'deny', dstPort: 22 }]), /ACL rule 1: destination port needs protocol tcp, udp or sctp/);
  assert.throws(() => dp.setAcl('p1', [{ action: 'permit', src: '10.0.0.0/8', dst: '2001:db8::/32' }]), /ACL rule 1: destination 2001:db8::\/32 is not IPv4/);
  assert.throws(() => dp.setAcl('p1', [{ action: 'allow' as 'permit' }]), /action must be permit, deny, reject or skip/);
  assert.throws(() => dp.setAcl('nope', []), /no interface/);
});

test('MPLS TTL expiry: ICMP time exceeded to the IPv4 source, quoting 128 bytes and the label stack (RFC 4950)', async () => {
  const dp = await setup();
  dp.addRoute('default', '10.0.1.10/32', dp.addNexthop({ type: 'encap', vif: 'p1', dmac: H1 }));
  const toP2 = dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 });
  dp.addLabel(100, { action: 'swap', outLabels: [200], nh: toP2 });
  const inner = ip4('10.0.1.10', '172.16.5.5', 64);
  const o = send(dp, 'p1', F.eth(R1, H1, 0x8847, F.mpls([100, 16001], 1, inner)));
  assert.equal(o.p2!.length, 0, 'not forwarded');
  assert.equal(o.p1!.length, 1, 'an ICMP error back to the source');
  const f = o.p1![0]!;
  assert.equal(et(f), 0x0800);
  const p = f.subarray(14);
  assert.equal(F.checksum(p, 0, 20), 0);
  assert.equal(F.ipAt(p, 12), '10.0.1.1');
  assert.equal(F.ipAt(p, 16), '10.0.1.10');
  const ic = p.subarray(20);
  assert.equal(ic.length, 8 + 128 + 8 + 8);
  assert.equal(F.checksum(ic, 0, ic.length), 0, 'ICMP checksum');
  assert.deepEqual([ic[0], ic[1], ic[5]], [11, 0, 32], 'time exceeded, original datagram field of 32 words (RFC 4884)');
  assert.deepEqual(ic.subarray(8, 8 + inner.length), inner, 'the IPv4 datagram under the stack');
  assert.ok(ic.subarray(8 + inner.length, 136).every((b) => b === 0), 'zero padded to 128 bytes');
  const x = ic.subarray(136);
  assert.deepEqual([x[0], x[1]], [0x20, 0], 'extension version 2');
  assert.equal(F.checksum(x, 0, x.length), 0, 'extension checksum');
  assert.deepEqual([...x.subarray(4, 8)], [0, 16, 1, 1], 'object: 16 bytes, class 1 (MPLS label stack), c-type 1');
  assert.deepEqual(x.subarray(8), F.mpls([100, 16001], 1, new Uint8Array(0)), 'the stack as received');
  assert.deepEqual(drops(dp), { ttl_exceeded: 1 });
  // an expired packet that carries no IPv4 is only dropped
  send(dp, 'p1', F.eth(R1, H1, 0x8847, F.mpls([100], 1, new Uint8Array(40))));
  assert.deepEqual(drops(dp), { ttl_exceeded: 2 });
  assert.equal(dp.counters().icmp_sent, 1);
});

test('IPv6 fast path: route changes take effect on the next packet (route cache invalidated)', async () => {
  const dp = await setup();
  const toH2 = dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 });
  const toH3 = dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H3 });
  const pkt = (dst: string) => F.eth(R1, H1, 0x86dd, F.ipv6({ src: '2001:db8:1::10', dst, payload: F.udp(1000, 53) }));
  const dmac = (dst: string): string => {
    const o = send(dp, 'p1', pkt(dst)).p2!;
    return o.length === 1 ? Buffer.from(o[0]!.subarray(0, 6)).toString('hex') : `${o.length} frames`;
  };
  const h2 = H2.replaceAll(':', '');
  const h3 = H3.replaceAll(':', '');
  dp.addRoute('default', '2001:db8:50::/48', toH2);
  assert.deepEqual([dmac('2001:db8:50::1'), dmac('2001:db8:50::1'), dmac('2001:db8:50:1::1')], [h2, h2, h2]);
  dp.addRoute('default', '2001:db8:50::/64', toH3); // the cached /64 now has a longer route
  assert.deepEqual([dmac('2001:db8:50::1'), dmac('2001:db8:50:1::1')], [h3, h2]);
  dp.addRoute('default', '2001:db8:50::1/128', toH2);
  assert.deepEqual([dmac('2001:db8:50::1'), dmac('2001:db8:50::2'), dmac('2001:db8:50::1')], [h2, h3, h2]);
  dp.delRoute('default', '2001:db8:50::/64');
  dp.delRoute('default', '2001:db8:50::1/128');
  assert.deepEqual([dmac('2001:db8:50::1'), dmac('2001:db8:50::2')], [h2, h2]);
  dp.delRoute('default', '2001:db8:50::/48');
  assert.equal(dmac('2001:db8:50::1'), '0 frames');
  assert.equal(dp.dropStats().no_route, 1);
});

test('workers: 1: an IPv6 route change reaches the worker\'s route cache', async () => {
  const dp = createDataplane({ workers: 1 });
  await dp.addVif({ name: 'p1', driver: 'memory', mac: R1, addresses: ['2001:db8:1::1/64'] });
  await dp.addVif({ name: 'p2', driver: 'memory', mac: R2, addresses: ['2001:db8:2::1/64'] });
  dp.addRoute('default', '2001:db8:50::/48', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }));
  await dp.start();
  try {
    const via = async (n: number): Promise<string[]> => {
      for (let k = 0; k < n; k++) dp.memoryDriver('p1').inject(F.eth(R1, H1, 0x86dd, F.ipv6({ src: '2001:db8:1::10', dst: '2001:db8:50::1', payload: F.udp(1000, 53) })));
      const got: Uint8Array[] = [];
      const deadline = Date.now() + 10000;
      while (got.length < n && Date.now() < deadline) {
        got.push(...dp.memoryDriver('p2').collect());
        await new Promise((r) => setTimeout(r, 5));
      }
      return [...new Set(got.map((f) => Buffer.from(f.subarray(0, 6)).toString('hex')))];
    };
    assert.deepEqual(await via(50), [H2.replaceAll(':', '')]);
    dp.addRoute('default', '2001:db8:50::/64', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H3 }));
    assert.deepEqual(await via(50), [H3.replaceAll(':', '')]);
  } finally {
    await dp.stop();
  }
});

test('MPLS over UDP to the router (RFC 7510): from tunnel endpoints only, decapsulated at mpls-input, not punted; malformed ones dropped', async () => {
  const dp = await setup({ vhost: true, vhostDriver: 'memory' });
  await dp.ensureVhost();
  dp.addVrf('blue');
  await dp.addVif({ name: 'p3', driver: 'memory', mac: R3, vrf: 'blue', addresses: ['10.9.0.1/24'] });
  dp.addLabel(102, { action: 'pop-lookup', vrf: 'blue' });
  dp.addLabel(100, { action: 'swap', outLabels: [200], nh: dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }) });
  dp.addRoute('blue', '172.16.0.0/16', dp.addNexthop({ type: 'encap', vif: 'p3', dmac: H3 }));
  dp.addRoute('blue', '2001:db8:77::/48', dp.addNexthop({ type: 'encap', vif: 'p3', dmac: H3 }));
  dp.addRoute('default', '198.51.100.0/24', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }));
  const inner = ip4('10.0.1.10', '172.16.5.5', 64);
  const outer4 = (sport: number, stack: Uint8Array, dst = '10.0.1.1') => F.eth(R1, H1, 0x0800, F.ipv4({ src: '10.0.1.10', dst, ttl: 3, payload: F.udp(sport, 6635, stack) }));
  // only from the far end of an mpls-udp next hop (RFC 7510 section 6)
  let o = send(dp, 'p1', outer4(49152, F.mpls([102], 30, inner)));
  assert.equal(o.p3!.length + o.vhost0!.length, 0, 'no tunnel toward 10.0.1.10 yet');
  assert.deepEqual(drops(dp), { tunnel_source: 1 });
  const tunnel = dp.addNexthop({ type: 'mpls-udp', src: '10.0.1.1', dst: '10.0.1.10', labels: [500] });
  // pop into blue, any source port (flow entropy), TTL from the label (uniform model)
  for (const sport of [49152, 50000, 65535, 1234]) {
    o = send(dp, 'p1', outer4(sport, F.mpls([102], 30, inner)));
    assert.equal(o.p3!.length, 1, `source port ${sport}`);
    const f = o.p3![0]!;
    assert.equal(et(f), 0x0800);
    assert.equal(F.hex(f, 0, 6), '02:00:00:00:03:03');
    assert.deepEqual(f.subarray(14 + 20), inner.subarray(20), 'the inner packet, outer headers stripped');
    assert.equal(f[14 + 8], 29);
    assert.equal(F.checksum(f, 14, 20), 0);
    assert.equal(o.vhost0!.length, 0, 'not punted');
  }
  // to the router's other address, UDP padded in the IP payload beyond the UDP length is ignored
  o = send(dp, 'p1', outer4(40000, F.mpls([102], 30, inner), '10.0.2.1'));
  assert.equal(o.p3!.length, 1);
  // swap: out as MPLS over Ethernet
  o = send(dp, 'p1', outer4(40001, F.mpls([100], 30, inner)));
  assert.deepEqual(F.readLabels(o.p2![0]!.subarray(0, 18), 14), [{ label: 200, s: 1, ttl: 29 }]);
  // explicit null: the inner packet is looked up in the VRF the frame arrived in (default)
  o = send(dp, 'p1', outer4(40002, F.mpls([0], 30, ip4('10.0.1.10', '198.51.100.9', 64))));
  assert.equal(o.p2!.length, 1);
  assert.equal(et(o.p2![0]!), 0x0800);
  assert.equal(o.p2![0]![14 + 8], 29);
  // IPv6 inside
  const inner6 = F.ipv6({ src: '2001:db8:1::10', dst: '2001:db8:77::5', hlim: 64, payload: F.udp(1, 2) });
  o = send(dp, 'p1', outer4(50001, F.mpls([102], 30, inner6)));
  assert.equal(o.p3!.length, 1);
  assert.equal(et(o.p3![0]!), 0x86dd);
  assert.equal(o.p3![0]![14 + 7], 29);
  assert.equal(o.vhost0!.length, 0);
  assert.deepEqual(drops(dp), { tunnel_source: 1 });
  // a UDP checksum is optional, but one that is there must be right
  const summed = outer4(50002, F.mpls([102], 30, inner));
  const ulen = summed.length - 34;
  const ph = new Uint8Array(12 + ulen);
  ph.set(summed.subarray(26, 34), 0); // source and destination
  ph[9] = 17;
  ph[10] = ulen >> 8;
  ph[11] = ulen & 255;
  ph.set(summed.subarray(34), 12);
  const c = F.checksum(ph, 0, ph.length);
  summed[40] = c >> 8;
  summed[41] = c & 255;
  o = send(dp, 'p1', summed);
  assert.equal(o.p3!.length, 1, 'a right UDP checksum');
  summed[41] ^= 1;
  o = send(dp, 'p1', summed);
  assert.equal(o.p3!.length, 0, 'a wrong UDP checksum');
  assert.deepEqual(drops(dp), { tunnel_source: 1, bad_checksum: 1 });
  // over IPv6: there are no IPv6 tunnels, so from no one
  o = send(dp, 'p1', F.eth(R1, H1, 0x86dd, F.ipv6({ src: '2001:db8:1::10', dst: '2001:db8:1::1', payload: F.udp(50003, 6635, F.mpls([102], 30, inner6)) })));
  assert.equal(o.p3!.length + o.vhost0!.length, 0);
  assert.deepEqual(drops(dp), { tunnel_source: 2, bad_checksum: 1 });
  // other UDP to the router still goes to the host
  o = send(dp, 'p1', F.eth(R1, H1, 0x0800, F.ipv4({ src: '10.0.1.10', dst: '10.0.1.1', payload: F.udp(6635, 6636) })));
  assert.equal(o.vhost0!.length, 1);
  // malformed: UDP length below header + one label, beyond the IP payload; no bottom of stack; no label at all; bad outer checksum
  const short = outer4(40003, F.mpls([102], 30, inner));
  short[14 + 20 + 5] = 11;
  const long = outer4(40004, F.mpls([102], 30, inner));
  long[14 + 20 + 4] = 0x7f;
  const noBos = outer4(40005, F.mpls([102, 103], 30, new Uint8Array(0), false));
  const empty = outer4(40006, new Uint8Array(0));
  const badSum = outer4(40007, F.mpls([102], 30, inner));
  badSum[14 + 10]! ^= 0xff;
  o = send(dp, 'p1', short, long, noBos, empty, badSum);
  assert.equal(o.p3!.length + o.p2!.length + o.vhost0!.length, 0);
  assert.deepEqual(drops(dp), { tunnel_source: 2, malformed: 3, mpls_no_bos: 1, bad_checksum: 2 });
  // the tunnel gone, its far end is no longer a source
  dp.delNexthop(tunnel);
  o = send(dp, 'p1', outer4(40008, F.mpls([102], 30, inner)));
  assert.equal(o.p3!.length, 0);
  assert.equal(drops(dp).tunnel_source, 3);
});

test('the router answers echo to its addresses in a VRF itself (rate-limited), drops other traffic there; default VRF still punts', async () => {
  const dp = await setup({ vhost: true, vhostDriver: 'memory' });
  await dp.ensureVhost();
  dp.addVrf('blue');
  await dp.addVif({ name: 'p3', driver: 'memory', mac: R3, vrf: 'blue', addresses: ['10.9.0.1/24', '2001:db8:9::1/64'] });
  dp.addRoute('blue', '10.9.0.10/32', dp.addNexthop({ type: 'encap', vif: 'p3', dmac: H3 }));
  dp.addRoute('blue', '2001:db8:9::10/128', dp.addNexthop({ type: 'encap', vif: 'p3', dmac: H3 }));
  dp.addLabel(102, { action: 'pop-lookup', vrf: 'blue' });
  const echo = (seq: number) => F.eth(R3, H3, 0x0800, F.ipv4({ src: '10.9.0.10', dst: '10.9.0.1', proto: 1, payload: F.icmpEcho(8, 7, seq) }));
  let o = send(dp, 'p3', echo(1));
  assert.equal(o.p3!.length, 1);
  assert.equal(o.vhost0!.length, 0, 'the host has no VRFs: not punted');
  let p = o.p3![0]!.subarray(14);
  assert.equal(F.hex(o.p3![0]!, 0, 6), '02:00:00:00:03:03');
  assert.equal(F.ipAt(p, 12), '10.9.0.1');
  assert.equal(F.ipAt(p, 16), '10.9.0.10');
  assert.equal(p[20], 0, 'echo reply');
  assert.equal(F.checksum(p, 0, 20), 0);
  assert.equal(F.checksum(p, 20), 0);
  // IPv6
  const echo6 = new Uint8Array(16);
  echo6[0] = 128;
  o = send(dp, 'p3', F.eth(R3, H3, 0x86dd, F.ipv6Icmp('2001:db8:9::10', '2001:db8:9::1', echo6)));
  assert.equal(o.p3!.length, 1);
  assert.equal(o.vhost0!.length, 0);
  p = o.p3![0]!.subarray(14);
  assert.equal(p[40], 129);
  assert.ok(F.icmp6Valid(p));
  // an echo that arrives labelled (from another PE) is answered in the label's VRF
  o = send(dp, 'p1', F.eth(R1, H1, 0x8847, F.mpls([102], 30, F.ipv4({ src: '10.9.0.10', dst: '10.9.0.1', proto: 1, payload: F.icmpEcho(8, 7, 2) }))));
  assert.equal(o.p3!.length, 1);
  assert.equal(o.p3![0]![14 + 20], 0);
  // other traffic to a VRF address: no listener
  send(dp, 'p3', F.eth(R3, H3, 0x0800, F.ipv4({ src: '10.9.0.10', dst: '10.9.0.1', proto: 6, payload: new Uint8Array(20) })));
  send(dp, 'p3', F.eth(R3, H3, 0x86dd, F.ipv6({ src: '2001:db8:9::10', dst: '2001:db8:9::1', payload: F.udp(1, 2) })));
  assert.deepEqual(drops(dp), { no_listener: 2 });
  // rate limit: a burst far beyond the bucket, answered in part, the rest counted
  for (let k = 0; k < 500; k++) assert.ok(dp.memoryDriver('p3').inject(echo(100 + k)));
  dp.runUntilIdle();
  const answered = dp.memoryDriver('p3').collect().length;
  assert.ok(answered >= 100 && answered < 500, `answered ${answered} of 500`);
  assert.equal(dp.dropStats().rate_limited, 500 - answered);
  // the default VRF: echo to the router's address still goes to the host
  o = send(dp, 'p1', F.eth(R1, H1, 0x0800, F.ipv4({ src: '10.0.1.10', dst: '10.0.1.1', proto: 1, payload: F.icmpEcho(8) })));
  assert.equal(o.vhost0!.length, 1);
});

test('explicit null (labels 0 and 2): popped, the packet looked up in the VRF the frame arrived in', async () => {
  const dp = await setup();
  dp.addVrf('blue');
  await dp.addVif({ name: 'p3', driver: 'memory', mac: R3, vrf: 'blue', addresses: ['10.9.0.1/24'] });
  dp.addLabel(102, { action: 'pop-lookup', vrf: 'blue' });
  dp.addRoute('default', '172.16.0.0/16', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }));
  dp.addRoute('default', '2001:db8:77::/48', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 }));
  dp.addRoute('blue', '172.16.0.0/16', dp.addNexthop({ type: 'encap', vif: 'p3', dmac: H3 }));
  const inner = ip4('10.0.1.10', '172.16.5.5', 64);
  // IPv4 explicit null on a default-VRF vif: the default VRF's route
  let o = send(dp, 'p1', F.eth(R1, H1, 0x8847, F.mpls([0], 20, inner)));
  assert.equal(o.p2!.length, 1);
  assert.equal(et(o.p2![0]!), 0x0800);
  assert.equal(o.p2![0]![14 + 8], 19, 'TTL from the label, decremented');
  assert.equal(F.checksum(o.p2![0]!, 14, 20), 0);
  // IPv6 explicit null
  o = send(dp, 'p1', F.eth(R1, H1, 0x8847, F.mpls([2], 20, F.ipv6({ src: '2001:db8:1::10', dst: '2001:db8:77::5', hlim: 64, payload: F.udp(1, 2) }))));
  assert.equal(o.p2!.length, 1);
  assert.equal(et(o.p2![0]!), 0x86dd);
  assert.equal(o.p2![0]![14 + 7], 19);
  // the same packet arriving on blue's vif is looked up in blue
  o = send(dp, 'p3', F.eth(R3, H3, 0x8847, F.mpls([0], 20, inner)));
  assert.equal(o.p2!.length, 0);
  assert.equal(o.p3!.length, 1);
  assert.equal(dp.stats().vrfs.blue!.packets, 1);
  // explicit null above a VPN label: popped, then the VPN label pops into blue
  o = send(dp, 'p1', F.eth(R1, H1, 0x8847, F.mpls([0, 102], 20, inner)));
  assert.equal(o.p3!.length, 1);
  assert.equal(o.p3![0]![14 + 8], 18, 'one TTL decrement per label');
  // other reserved labels are not accepted
  send(dp, 'p1', F.eth(R1, H1, 0x8847, F.mpls([1], 20, inner)), F.eth(R1, H1, 0x8847, F.mpls([3], 20, inner)));
  assert.deepEqual(drops(dp), { invalid_label: 2 });
});

// static neighbors (VifConfig.neighbors, setVifNeighbors; neighbors.ts setStatic): what a CNI pod's vif carries
const POD = '02:00:00:00:09:09';
const OTHER = '02:00:00:00:07:07';
const udpTo4 = (dst: string) => F.eth(R1, H1, 0x0800, F.ipv4({ src: '10.0.1.10', dst, payload: F.udp(1000, 2000) }));
const udpTo6 = (dst: string) => F.eth(R1, H1, 0x86dd, F.ipv6({ src: '2001:db8:1::10', dst, next: 17, payload: F.udp(1000, 2000) }));

test('a static neighbor: the first packet goes out with its MAC, ARP does not change it, it never ages', async () => {
  let now = performance.now();
  const dp = createDataplane({ workers: 0, clock: () => now });
  await dp.addVif({ name: 'p1', driver: 'memory', mac: R1, addresses: ['10.0.1.1/24', '2001:db8:1::1/64'] });
  // a pod's vif: /32 and /128 gateway addresses, the pod a static neighbor
  await dp.addVif({ name: 'pod', driver: 'memory', mac: R2, addresses: ['10.81.0.1/32', 'fd00:81::1/128'], neighbors: [{ ip: '10.81.0.2', mac: POD }, { ip: 'fd00:81::2', mac: POD }] });
  dp.addRoute('default', '10.81.0.2/32', dp.addNexthop({ type: 'neighbor', vif: 'pod', ip: '10.81.0.2' }));
  dp.addRoute('default', 'fd00:81::2/128', dp.addNexthop({ type: 'neighbor', vif: 'pod', ip: 'fd00:81::2' }));

  let o = send(dp, 'p1', udpTo4('10.81.0.2'), udpTo6('fd00:81::2'));
  assert.equal(o.pod!.length, 2, 'both first packets forwarded, nothing asked');
  for (const f of o.pod!) assert.equal(F.hex(f, 0, 6), POD);
  assert.deepEqual(o.pod!.map(et).sort(), [0x0800, 0x86dd]);
  assert.equal(dp.dropStats().arp_unresolved ?? 0, 0);
  const listed = dp.listNeighbors().filter((n) => n.vif === 'pod');
  assert.deepEqual(listed.map((n) => [n.ip, n.state, n.mac]).sort(), [['10.81.0.2', 'permanent', POD], ['fd00:81::2', 'permanent', POD]]);

  // an ARP reply (or request) claiming another MAC for it changes nothing
  send(dp, 'pod', F.eth(R2, OTHER, 0x0806, F.arp(2, OTHER, '10.81.0.2', R2, '10.81.0.1')));
  o = send(dp, 'p1', udpTo4('10.81.0.2'));
  assert.equal(F.hex(o.pod![0]!, 0, 6), POD);

  // an hour later: still there, still never asked for
  now += 60 * 60 * 1000;
  dp.resolveTick(now);
  o = send(dp, 'p1', udpTo4('10.81.0.2'));
  assert.equal(o.pod!.filter((f) => et(f) === 0x0800).length, 1);
  assert.equal(o.pod!.filter((f) => et(f) === 0x0806).length, 0);
  assert.equal(F.hex(o.pod![0]!, 0, 6), POD);
});

test('setVifNeighbors replaces the list: a dropped entry a next hop uses is resolved again; a bad one is refused', async () => {
  const dp = createDataplane({ workers: 0 });
  await dp.addVif({ name: 'p1', driver: 'memory', mac: R1, addresses: ['10.0.1.1/24'] });
  await dp.addVif({ name: 'pod', driver: 'memory', mac: R2, addresses: ['10.81.0.1/32'], neighbors: [{ ip: '10.81.0.2', mac: POD }] });
  const nh = dp.addNexthop({ type: 'neighbor', vif: 'pod', ip: '10.81.0.2' });
  dp.addRoute('default', '10.81.0.2/32', nh);
  dp.setVifNeighbors('pod', [{ ip: '10.81.0.3', mac: OTHER }]);
  const o = send(dp, 'p1', udpTo4('10.81.0.2'));
  // (asked for at once when the list changed, and again by the held packet)
  assert.ok(o.pod!.filter((f) => et(f) === 0x0806).length >= 1, 'no longer static: asked for');
  assert.equal(o.pod!.filter((f) => et(f) === 0x0800).length, 0);
  assert.deepEqual(dp.listNeighbors().filter((n) => n.state === 'permanent').map((n) => n.ip), ['10.81.0.3']);
  assert.throws(() => dp.setVifNeighbors('pod', [{ ip: '10.81.0.4', mac: '01:00:5e:00:00:01' }]), /multicast/);
  assert.throws(() => dp.setVifNeighbors('pod', [{ ip: 'nope', mac: POD }]), /nope/);
  await assert.rejects(dp.addVif({ name: 'p3', driver: 'memory', neighbors: [{ ip: '10.0.3.2', mac: 'zz' }] }), /zz/);
  // the vif goes: its static neighbors with it
  dp.delRoute('default', '10.81.0.2/32');
  dp.delNexthop(nh);
  await dp.delVif('pod');
  assert.deepEqual(dp.listNeighbors().filter((n) => n.vif === 'pod'), []);
});
