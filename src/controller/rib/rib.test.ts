import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEPENDENTS_LISTED, Rib, tableVrf, tableName, type RibChange } from './rib.js';
import type { RibRoute } from './types.js';
import { isIpv6PrefixKey, prefixKeyOfText, prefixKeyText } from '../../lib/addr.js';

function direct(prefix: string, ifname: string): RibRoute {
  return { prefix, protocol: 'direct', preference: 0, nexthops: [{ interface: ifname }] };
}
function stat(prefix: string, gateways: string[], extra: Partial<RibRoute> = {}): RibRoute {
  return { prefix, protocol: 'static', preference: 5, nexthops: gateways.map((gateway) => ({ gateway })), ...extra };
}

test('static next-hop resolves to the interface of the connected subnet, and waits for it', () => {
  const rib = new Rib();
  const changes: RibChange[] = [];
  rib.subscribe((c) => changes.push(c));
  rib.announce('inet.0', 'static', stat('192.0.2.0/24', ['10.0.0.2']));
  assert.equal(rib.get('inet.0', '192.0.2.0/24'), undefined, 'unreachable next hop: not active');
  assert.equal(changes.length, 0);
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  assert.equal(rib.get('inet.0', '192.0.2.0/24')?.protocol, 'static');
  assert.deepEqual(rib.getFib('inet.0', '192.0.2.0/24'), { action: 'forward', nexthops: [{ gateway: '10.0.0.2', interface: 'eth1' }] });
  assert.deepEqual(changes.map((c) => c.prefix), ['10.0.0.0/24', '192.0.2.0/24']);
  rib.withdraw('inet.0', 'direct:eth1', '10.0.0.0/24');
  assert.equal(rib.get('inet.0', '192.0.2.0/24'), undefined);
  assert.equal(changes.at(-1)?.prefix, '192.0.2.0/24');
  assert.equal(changes.at(-1)?.fib, undefined);
});

test('preference picks the active route, the loser shows the deciding step, and a floating route takes over', () => {
  const rib = new Rib();
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  rib.announce('inet.0', 'direct:eth2', direct('10.0.1.0/24', 'eth2'));
  rib.announce('inet.0', 'static', stat('0.0.0.0/0', ['10.0.0.2']));
  rib.announce('inet.0', 'static/7', stat('0.0.0.0/0', ['10.0.1.2'], { preference: 7 }));
  assert.equal(rib.getFib('inet.0', '0.0.0.0/0')?.nexthops[0]?.interface, 'eth1');
  const [shown] = rib.show('inet.0', { prefix: '0.0.0.0/0', exact: true });
  assert.equal(shown?.candidates[0]?.active, true);
  assert.equal(shown?.candidates[1]?.reason, 'Route preference');
  rib.withdraw('inet.0', 'static', '0.0.0.0/0');
  assert.equal(rib.getFib('inet.0', '0.0.0.0/0')?.nexthops[0]?.interface, 'eth2');
});

test('metric breaks a preference tie; an unusable candidate loses whatever its preference', () => {
  const rib = new Rib();
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  rib.announce('inet.0', 'a', stat('198.51.100.0/24', ['10.0.0.3'], { metric: 20 }));
  rib.announce('inet.0', 'b', stat('198.51.100.0/24', ['10.0.0.4'], { metric: 10 }));
  rib.announce('inet.0', 'c', stat('198.51.100.0/24', ['172.16.0.1'], { preference: 1 }));
  assert.equal(rib.getFib('inet.0', '198.51.100.0/24')?.nexthops[0]?.gateway, '10.0.0.4');
  const [shown] = rib.show('inet.0', { prefix: '198.51.100.0/24', exact: true });
  const byName = Object.fromEntries(shown!.candidates.map((c) => [c.source, c.reason]));
  assert.deepEqual(byName, { b: 'Active', a: 'Metric', c: 'Unusable' });
});

test('ECMP: every usable next hop is in the FIB entry, unusable ones are left out', () => {
  const rib = new Rib();
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  rib.announce('inet.0', 'direct:eth2', direct('10.0.1.0/24', 'eth2'));
  rib.announce('inet.0', 'static', stat('203.0.113.0/24', ['10.0.0.2', '10.0.1.2', '172.31.0.1']));
  assert.deepEqual(rib.getFib('inet.0', '203.0.113.0/24')?.nexthops, [
    { gateway: '10.0.0.2', interface: 'eth1' },
    { gateway: '10.0.1.2', interface: 'eth2' },
  ]);
});

test('recursive resolution follows the table, stacks labels, and follows changes of the resolving route', () => {
  const rib = new Rib();
  const changes: RibChange[] = [];
  rib.subscribe((c) => changes.push(c));
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  rib.announce('inet.0', 'direct:eth2', direct('10.0.1.0/24', 'eth2'));
  rib.announce('inet.0', 'isis', { prefix: '192.0.2.1/32', protocol: 'isis', preference: 15, nexthops: [{ gateway: '10.0.0.2', interface: 'eth1', labels: [16001] }] });
  rib.announce('inet.0', 'bgp', { prefix: '100.64.0.0/10', protocol: 'bgp', preference: 170, nexthops: [{ gateway: '192.0.2.1', recursive: true, labels: [30] }] });
  assert.deepEqual(rib.getFib('inet.0', '100.64.0.0/10')?.nexthops, [{ gateway: '10.0.0.2', interface: 'eth1', labels: [16001, 30] }]);
  changes.length = 0;
  rib.announce('inet.0', 'isis', { prefix: '192.0.2.1/32', protocol: 'isis', preference: 15, nexthops: [{ gateway: '10.0.1.2', interface: 'eth2', labels: [16001] }] });
  assert.deepEqual(changes.map((c) => c.prefix), ['192.0.2.1/32', '100.64.0.0/10']);
  assert.deepEqual(rib.getFib('inet.0', '100.64.0.0/10')?.nexthops, [{ gateway: '10.0.1.2', interface: 'eth2', labels: [16001, 30] }]);
  // the covering route goes: the recursive route falls back to a less specific one, then to none
  rib.announce('inet.0', 'static', stat('192.0.2.0/24', ['10.0.0.9']));
  rib.withdraw('inet.0', 'isis', '192.0.2.1/32');
  assert.deepEqual(rib.getFib('inet.0', '100.64.0.0/10')?.nexthops, [{ gateway: '10.0.0.9', interface: 'eth1', labels: [30] }]);
  rib.withdraw('inet.0', 'static', '192.0.2.0/24');
  assert.equal(rib.get('inet.0', '100.64.0.0/10'), undefined);
});

test('a recursive route never resolves through itself', () => {
  const rib = new Rib();
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  rib.announce('inet.0', 'static', stat('172.16.0.0/12', ['172.16.0.1'], { nexthops: [{ gateway: '172.16.0.1', recursive: true }] }));
  assert.equal(rib.get('inet.0', '172.16.0.0/12'), undefined);
  rib.announce('inet.0', 'static', stat('172.16.0.0/16', ['10.0.0.5']));
  assert.deepEqual(rib.getFib('inet.0', '172.16.0.0/12')?.nexthops, [{ gateway: '10.0.0.5', interface: 'eth1' }]);
});

test('discard, reject and receive routes need no next hop', () => {
  const rib = new Rib();
  for (const action of ['discard', 'reject', 'receive'] as const) {
    rib.announce('inet.0', 'static', { prefix: `10.9.${action.length}.0/24`, protocol: 'static', preference: 5, action, nexthops: [] });
    assert.deepEqual(rib.getFib('inet.0', `10.9.${action.length}.0/24`), { action, nexthops: [] });
  }
});

test('qualified next hops with an interface need no resolution (same gateway on many pod interfaces)', () => {
  const rib = new Rib();
  const t = tableName('blue', 4);
  for (let i = 0; i < 3; i++) rib.announce(t, `direct:veth${i}`, direct('169.254.1.1/32', `veth${i}`));
  rib.announce(t, 'static', { prefix: '10.244.0.7/32', protocol: 'static', preference: 5, nexthops: [{ gateway: '10.244.0.7', interface: 'veth2' }] });
  assert.deepEqual(rib.getFib(t, '10.244.0.7/32')?.nexthops, [{ gateway: '10.244.0.7', interface: 'veth2' }]);
  assert.equal(rib.getFib(t, '169.254.1.1/32')?.nexthops[0]?.interface, 'veth0', 'same prefix from many interfaces: one wins by source order');
  rib.flush(t, 'direct:veth0');
  assert.equal(rib.getFib(t, '169.254.1.1/32')?.nexthops[0]?.interface, 'veth1');
  assert.equal(tableVrf(t), 'blue');
});

test('watch reports the covering route whenever it changes', () => {
  const rib = new Rib();
  const seen: (string | undefined)[] = [];
  const stop = rib.watch('inet.0', '192.0.2.77', (r) => seen.push(r?.prefix));
  rib.announce('inet.0', 'direct:eth1', direct('192.0.2.0/24', 'eth1'));
  rib.announce('inet.0', 'x', { prefix: '192.0.2.64/26', protocol: 'static', preference: 5, action: 'discard', nexthops: [] });
  rib.announce('inet.0', 'x', { prefix: '198.18.0.0/15', protocol: 'static', preference: 5, action: 'discard', nexthops: [] });
  rib.withdraw('inet.0', 'x', '192.0.2.64/26');
  stop();
  rib.withdraw('inet.0', 'direct:eth1', '192.0.2.0/24');
  assert.deepEqual(seen, [undefined, '192.0.2.0/24', '192.0.2.64/26', '192.0.2.0/24']);
});

test('IPv6 tables: exact, longest match, canonical prefixes', () => {
  const rib = new Rib();
  rib.announce('inet6.0', 'direct:eth1', direct('2001:db8:0:1::/64', 'eth1'));
  rib.announce('inet6.0', 'static', stat('2001:DB8:FF::1/48', ['2001:db8:0:1::2']));
  assert.equal(rib.get('inet6.0', '2001:db8:ff::/48')?.prefix, '2001:db8:ff::/48');
  assert.equal(rib.lookup('inet6.0', '2001:db8:ff:1::9')?.prefix, '2001:db8:ff::/48');
  assert.deepEqual(rib.getFib('inet6.0', '2001:db8:ff::/48')?.nexthops, [{ gateway: '2001:db8:0:1::2', interface: 'eth1' }]);
  assert.equal(rib.lookup('inet6.0', '2001:db9::1'), undefined);
});

test('longest match agrees with a linear scan on random routes', () => {
  const rib = new Rib();
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8);
  const routes: { v: number; len: number; prefix: string }[] = [];
  for (let i = 0; i < 2000; i++) {
    const len = 8 + (rnd() % 25);
    const v = len === 0 ? 0 : ((rnd() << 8) & (0xffffffff << (32 - len))) >>> 0;
    const prefix = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/${len}`;
    routes.push({ v, len, prefix });
    rib.announce('inet.0', 's', { prefix, protocol: 'static', preference: 5, action: 'discard', nexthops: [] });
  }
  for (let i = 0; i < 3000; i++) {
    const base = routes[rnd() % routes.length]!;
    const a = (base.v | (rnd() & ((1 << (32 - base.len)) - 1 || 0))) >>> 0;
    let best: { len: number; prefix: string } | undefined;
    for (const r of routes) {
      const m = r.len === 0 ? 0 : (a & (0xffffffff << (32 - r.len))) >>> 0;
      if (m === r.v && (!best || r.len > best.len)) best = r;
    }
    const addr = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
    assert.equal(rib.lookup('inet.0', addr)?.prefix, best?.prefix, addr);
  }
});

test('summary and FIB replay see every active route', () => {
  const rib = new Rib();
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  rib.announce('inet.0', 'static', stat('192.0.2.0/24', ['10.0.0.2']));
  rib.announce('inet.0', 'static', stat('198.51.100.0/24', ['10.1.1.1']));
  rib.announce('red.inet6.0', 'direct:eth2', direct('2001:db8::/64', 'eth2'));
  rib.announce('bgp.l3vpn.0', 'bgp', { prefix: '10.0.0.0/8', protocol: 'bgp', preference: 170, action: 'discard', nexthops: [] });
  const sum = Object.fromEntries(rib.summary().map((s) => [s.name, s]));
  assert.equal(sum['inet.0']?.destinations, 3);
  assert.equal(sum['inet.0']?.active, 2);
  assert.equal(sum['inet.0']?.hidden, 1);
  const replay = [...rib.fibRoutes()].map((r) => `${r.vrf} ${r.prefix}`).sort();
  assert.deepEqual(replay, ['default 10.0.0.0/24', 'default 192.0.2.0/24', 'red 2001:db8::/64']);
});

test('routes that move between gateways follow only the gateway they use now', () => {
  const rib = new Rib();
  const changes: string[] = [];
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  rib.announce('inet.0', 'direct:eth2', direct('10.0.1.0/24', 'eth2'));
  const n = 3000;
  const pfx = (i: number) => `172.16.${i >> 8}.${i & 255}/32`;
  for (let i = 0; i < n; i++) rib.announce('inet.0', 'bgp', { prefix: pfx(i), protocol: 'bgp', preference: 170, nexthops: [{ gateway: '10.0.0.2' }] });
  for (let i = 0; i < n; i++) rib.announce('inet.0', 'bgp', { prefix: pfx(i), protocol: 'bgp', preference: 170, nexthops: [{ gateway: '10.0.1.2' }] });
  for (let i = 0; i < n; i += 2) rib.announce('inet.0', 'bgp', { prefix: pfx(i), protocol: 'bgp', preference: 170, nexthops: [{ gateway: '10.0.0.2' }] });
  rib.subscribe((c) => changes.push(c.prefix));
  // eth2's subnet goes: only the odd routes (still via 10.0.1.2) lose their next hop
  rib.withdraw('inet.0', 'direct:eth2', '10.0.1.0/24');
  assert.equal(changes.length, 1 + n / 2);
  assert.equal(rib.get('inet.0', pfx(1)), undefined);
  assert.equal(rib.getFib('inet.0', pfx(2))?.nexthops[0]?.interface, 'eth1');
  changes.length = 0;
  rib.withdraw('inet.0', 'direct:eth1', '10.0.0.0/24');
  assert.equal(changes.length, 1 + n / 2);
  assert.equal(rib.get('inet.0', pfx(2)), undefined);
});

test('a replay read while the RIB changes yields every route that was there before, once', () => {
  const rib = new Rib();
  for (let len = 8; len <= 24; len += 4) rib.announce('inet.0', 's', { prefix: `10.0.0.0/${len}`, protocol: 'static', preference: 5, action: 'discard', nexthops: [] });
  const seen: string[] = [];
  let first = true;
  for (const r of rib.fibRoutes()) {
    seen.push(r.prefix);
    if (first) {
      // new prefix lengths appear mid-replay (the length index is re-sorted)
      for (const len of [9, 13, 30, 31, 32]) rib.announce('inet.0', 's', { prefix: `10.0.0.0/${len}`, protocol: 'static', preference: 5, action: 'discard', nexthops: [] });
      first = false;
    }
  }
  for (const len of [8, 12, 16, 20, 24]) assert.ok(seen.includes(`10.0.0.0/${len}`), `10.0.0.0/${len} in ${seen.join(' ')}`);
  assert.equal(new Set(seen).size, seen.length, `no route twice: ${seen.join(' ')}`);
});

test('announceShared: one route object for many prefixes; everything read back carries its own prefix', () => {
  const rib = new Rib();
  const changes: RibChange[] = [];
  rib.subscribe((c) => changes.push(c));
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  const shared: RibRoute = { prefix: '192.0.2.0/28', protocol: 'bgp', preference: 170, nexthops: [{ gateway: '10.0.0.2', recursive: true }] };
  const seen: (string | undefined)[] = [];
  rib.watch('inet.0', '192.0.2.20', (r) => seen.push(r?.prefix));
  for (const p of ['192.0.2.0/28', '192.0.2.16/28', '192.0.2.32/28']) rib.announceShared('inet.0', 'bgp', p, shared);
  assert.equal(rib.get('inet.0', '192.0.2.16/28')?.prefix, '192.0.2.16/28');
  assert.equal(rib.lookup('inet.0', '192.0.2.40')?.prefix, '192.0.2.32/28');
  assert.deepEqual(rib.getFib('inet.0', '192.0.2.32/28'), { action: 'forward', nexthops: [{ gateway: '10.0.0.2', interface: 'eth1' }] });
  assert.deepEqual(changes.slice(1).map((c) => [c.prefix, c.route?.prefix]), [['192.0.2.0/28', '192.0.2.0/28'], ['192.0.2.16/28', '192.0.2.16/28'], ['192.0.2.32/28', '192.0.2.32/28']]);
  assert.deepEqual(rib.show('inet.0').map((e) => e.candidates[0]!.route.prefix).sort(), ['10.0.0.0/24', '192.0.2.0/28', '192.0.2.16/28', '192.0.2.32/28']);
  assert.deepEqual(seen, [undefined, '192.0.2.16/28'], 'the watcher hears the covering route with its own prefix');
  rib.withdraw('inet.0', 'bgp', '192.0.2.16/28');
  assert.equal(rib.get('inet.0', '192.0.2.16/28'), undefined);
  assert.equal(rib.get('inet.0', '192.0.2.0/28')?.prefix, '192.0.2.0/28');
  assert.deepEqual(seen, [undefined, '192.0.2.16/28', undefined]);
  assert.equal(shared.prefix, '192.0.2.0/28', 'the shared object is not changed');
});

test('one candidate held by the entry itself: replacing it, adding a second, and going back to one all tell the FIB', () => {
  const rib = new Rib();
  const changes: RibChange[] = [];
  rib.subscribe((c) => changes.push(c));
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  rib.announce('inet.0', 'direct:eth2', direct('10.0.1.0/24', 'eth2'));
  const fibs = () => changes.filter((c) => c.prefix === '192.0.2.0/24').map((c) => c.fib?.nexthops.map((n) => n.interface).join(',') ?? '-');
  rib.announce('inet.0', 'static', stat('192.0.2.0/24', ['10.9.9.9']));
  assert.deepEqual(fibs(), [], 'unusable alone');
  rib.announce('inet.0', 'static', stat('192.0.2.0/24', ['10.0.0.2']));
  assert.deepEqual(fibs(), ['eth1'], 'replaced in place, now usable');
  rib.announce('inet.0', 'static', stat('192.0.2.0/24', ['10.0.1.2']));
  assert.deepEqual(fibs(), ['eth1', 'eth2'], 'replaced in place, other next hop');
  rib.announce('inet.0', 'static', stat('192.0.2.0/24', ['10.0.1.2'], { metric: 3 }));
  assert.equal(changes.at(-1)?.route?.metric, 3, 'same forwarding, new route: told');
  rib.announce('inet.0', 'bgp', { prefix: '192.0.2.0/24', protocol: 'bgp', preference: 170, nexthops: [{ gateway: '10.0.0.2', recursive: true }] });
  assert.equal(fibs().length, 3, 'a worse second candidate changes nothing');
  rib.announce('inet.0', 'isis', { prefix: '192.0.2.0/24', protocol: 'isis', preference: 1, nexthops: [{ gateway: '10.0.0.3' }] });
  assert.deepEqual(fibs().slice(3), ['eth1']);
  assert.equal(rib.get('inet.0', '192.0.2.0/24')?.protocol, 'isis');
  rib.withdraw('inet.0', 'isis', '192.0.2.0/24');
  rib.withdraw('inet.0', 'static', '192.0.2.0/24');
  assert.equal(rib.get('inet.0', '192.0.2.0/24')?.protocol, 'bgp', 'back to one candidate');
  assert.deepEqual(fibs().slice(4), ['eth2', 'eth1']);
  assert.equal(rib.show('inet.0', { prefix: '192.0.2.0/24', exact: true })[0]!.candidates.length, 1);
  rib.announce('inet.0', 'bgp', { prefix: '192.0.2.0/24', protocol: 'bgp', preference: 170, nexthops: [{ gateway: '10.0.1.2', recursive: true }] });
  assert.deepEqual(fibs().slice(6), ['eth2'], 'the lone candidate replaced in place again');
  rib.flush('inet.0', 'bgp');
  assert.equal(changes.at(-1)?.prefix, '192.0.2.0/24');
  assert.equal(changes.at(-1)?.route, undefined);
  assert.equal(rib.summary()[0]!.destinations, 2);
});

test('prefixes as values: announceSharedKey, withdrawKey, getKey and the text entry points name the same entries; the FIB queue hands out values', () => {
  const rib = new Rib();
  const changes: RibChange[] = [];
  rib.subscribe((c) => changes.push(c));
  const queued: unknown[] = [];
  const q = rib.fibQueue(() => {});
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  rib.announce('inet6.0', 'direct:eth1', direct('2001:db8:ffff::/64', 'eth1'));
  const v4: RibRoute = { prefix: '192.0.2.0/28', protocol: 'bgp', preference: 170, nexthops: [{ gateway: '10.0.0.2', recursive: true }] };
  const v6: RibRoute = { prefix: '2001:db8:1::/48', protocol: 'bgp', preference: 170, nexthops: [{ gateway: '2001:db8:ffff::2', recursive: true }] };
  for (const p of ['192.0.2.0/28', '192.0.2.16/28', '0.0.0.0/0', '198.51.100.1/32']) rib.announceSharedKey('inet.0', 'bgp', prefixKeyOfText(p), v4);
  for (const p of ['2001:db8:1::/48', '2001:db8:2::/48', '::/0']) rib.announceSharedKey('inet6.0', 'bgp', prefixKeyOfText(p), v6);
  assert.equal(rib.get('inet.0', '192.0.2.16/28')?.prefix, '192.0.2.16/28', 'text finds what a value put in');
  assert.equal(rib.getKey('inet.0', prefixKeyOfText('198.51.100.1/32'))?.prefix, '198.51.100.1/32');
  assert.equal(rib.get('inet6.0', '2001:db8:2::/48')?.prefix, '2001:db8:2::/48');
  assert.equal(rib.lookup('inet6.0', '2001:db8:2::99')?.prefix, '2001:db8:2::/48');
  assert.equal(rib.lookup('inet6.0', '2001:db9::1')?.prefix, '::/0');
  assert.equal(rib.activeProtocol('inet.0', prefixKeyOfText('10.0.0.0/24')), 'direct');
  assert.equal(rib.activeProtocol('inet.0', prefixKeyOfText('10.0.0.0/25')), undefined);
  assert.deepEqual(rib.show('inet6.0', { prefix: '2001:db8:1::/48', exact: true }).map((e) => e.prefix), ['2001:db8:1::/48']);
  const last = changes.at(-1)!;
  assert.equal(last.key, prefixKeyOfText('::/0'));
  assert.equal(last.prefix, '::/0');
  assert.equal(last.protocol, 'bgp');
  // text announced, value withdrawn, and the other way round
  rib.announce('inet.0', 'static', { prefix: '203.0.113.0/24', protocol: 'static', preference: 5, nexthops: [{ gateway: '10.0.0.9' }] });
  rib.withdrawKey('inet.0', 'static', prefixKeyOfText('203.0.113.0/24'));
  assert.equal(rib.get('inet.0', '203.0.113.0/24'), undefined);
  rib.withdraw('inet.0', 'bgp', '192.0.2.0/28');
  rib.withdrawKey('inet6.0', 'bgp', prefixKeyOfText('2001:db8:2::/48'));
  assert.equal(rib.getKey('inet.0', prefixKeyOfText('192.0.2.0/28')), undefined);
  assert.equal(rib.get('inet6.0', '2001:db8:2::/48'), undefined);
  assert.equal(changes.at(-1)!.protocol, undefined, 'a prefix left without a route');
  // a value that does not belong in the table is refused like bad text, not stored
  rib.withdrawKey('inet.0', 'bgp', prefixKeyOfText('2001:db8:1::/48'));
  assert.throws(() => rib.announceSharedKey('inet6.0', 'bgp', prefixKeyOfText('10.0.0.0/8'), v6));
  while (q.drain(100, (k, action) => queued.push([k, action])) !== undefined);
  const texts = queued.map((x) => { const [k, a] = x as [number | string, string | undefined]; return `${prefixKeyText(k)} ${a ?? 'remove'}`; }).sort();
  assert.deepEqual(texts, ['0.0.0.0/0 forward', '10.0.0.0/24 forward', '192.0.2.0/28 remove', '192.0.2.16/28 forward', '198.51.100.1/32 forward', '2001:db8:1::/48 forward', '2001:db8:2::/48 remove', '2001:db8:ffff::/64 forward', '203.0.113.0/24 remove', '::/0 forward']);
  assert.ok(queued.every((x) => { const [k] = x as [number | string]; return typeof k === 'number' || isIpv6PrefixKey(k); }), 'values, not text');
  assert.deepEqual([...rib.fibRoutes()].map((r) => r.prefix).sort(), ['0.0.0.0/0', '10.0.0.0/24', '192.0.2.16/28', '198.51.100.1/32', '2001:db8:1::/48', '2001:db8:ffff::/64', '::/0']);
});

test('attached records (BGP\'s Loc-RIB on the RIB\'s entries): found by prefix, kept without routes, handles announce and withdraw without a lookup, detach lets the entry go', () => {
  const rib = new Rib();
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  const bgp: RibRoute = { prefix: '', protocol: 'bgp', preference: 170, nexthops: [{ gateway: '10.0.0.2', recursive: true }] };
  const k28 = prefixKeyOfText('192.0.2.0/28');
  const k6 = prefixKeyOfText('2001:db8:1::/48');
  const rec4 = { name: 'v4' };
  const rec6 = { name: 'v6' };
  const h4 = rib.attach('inet.0', k28, rec4);
  const h6 = rib.attach('inet6.0', k6, rec6);
  assert.equal(rib.attachedValue('inet.0', k28), rec4);
  assert.equal(rib.attachedValue('inet6.0', k6), rec6);
  assert.equal(rib.attachedValue('inet.0', prefixKeyOfText('192.0.2.16/28')), undefined);
  assert.equal(rib.get('inet.0', '192.0.2.0/28'), undefined, 'a record is no route');
  assert.deepEqual(rib.show('inet.0').map((e) => e.prefix), ['10.0.0.0/24'], 'nor shown as one');
  assert.equal(rib.summary().find((t) => t.name === 'inet.0')?.destinations, 1);
  // through the handle: active, then beaten by a static route, then active again
  assert.equal(rib.announceAt(h4, 'bgp', bgp), true);
  assert.equal(rib.get('inet.0', '192.0.2.0/28')?.prefix, '192.0.2.0/28', 'a shared route carries the entry\'s prefix');
  assert.equal(rib.activeProtocolAt(h4), 'bgp');
  rib.announce('inet.0', 'static', stat('192.0.2.0/28', ['10.0.0.9']));
  assert.equal(rib.activeProtocolAt(h4), 'static');
  assert.equal(rib.announceAt(h4, 'bgp', { ...bgp }), false, 'announced but not active');
  rib.withdraw('inet.0', 'static', '192.0.2.0/28');
  assert.equal(rib.activeProtocolAt(h4), 'bgp');
  // withdrawn: the entry stays for its record; detached: it goes
  rib.withdrawAt(h4, 'bgp');
  assert.equal(rib.get('inet.0', '192.0.2.0/28'), undefined);
  assert.equal(rib.attachedValue('inet.0', k28), rec4);
  assert.deepEqual([...rib.attachedValues('inet.0')], [rec4]);
  rib.detach(h4);
  assert.equal(rib.attachedValue('inet.0', k28), undefined);
  assert.deepEqual([...rib.attachedValues('inet.0')], []);
  // detached while holding a route: the route stays, and the entry goes with the route
  assert.equal(rib.announceAt(h6, 'bgp', { ...bgp, nexthops: [{ interface: 'eth1' }] }), true);
  rib.detach(h6);
  assert.equal(rib.get('inet6.0', '2001:db8:1::/48')?.protocol, 'bgp');
  rib.withdrawKey('inet6.0', 'bgp', k6);
  assert.equal(rib.show('inet6.0').length, 0);
  assert.throws(() => rib.attach('inet6.0', k28, rec4), 'a key that does not belong in the table is refused');
  // find-or-add in one lookup: entryRef makes the entry, attachAt puts the record on it
  const ref = rib.entryRef('inet.0', k28);
  assert.equal(rib.attachedAt(ref), undefined);
  rib.attachAt(ref, rec4);
  assert.equal(rib.attachedValue('inet.0', k28), rec4);
  assert.equal(rib.entryRef('inet.0', k28), ref, 'the same entry');
  assert.equal(rib.attachedAt(rib.entryRef('inet.0', k28)), rec4);
  rib.detach(ref);
  assert.deepEqual([...rib.attachedValues('inet.0')], []);
});

test('the active route across one, two and back to one candidate: each change told once, none when the loser goes', () => {
  const rib = new Rib();
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  rib.announce('inet.0', 'direct:eth2', direct('10.0.1.0/24', 'eth2'));
  const changes: RibChange[] = [];
  rib.subscribe((c) => changes.push(c));
  const gw = () => rib.getFib('inet.0', '192.0.2.0/24')?.nexthops[0]?.gateway;
  const bgp = (g: string): RibRoute => ({ prefix: '192.0.2.0/24', protocol: 'bgp', preference: 170, nexthops: [{ gateway: g }] });
  rib.announce('inet.0', 'bgp', bgp('10.0.1.2'));
  assert.equal(gw(), '10.0.1.2');
  // a better candidate arrives (two candidates now), then the loser goes: one change only
  rib.announce('inet.0', 'static', stat('192.0.2.0/24', ['10.0.0.2']));
  assert.equal(gw(), '10.0.0.2');
  rib.withdraw('inet.0', 'bgp', '192.0.2.0/24');
  assert.equal(gw(), '10.0.0.2');
  assert.equal(changes.length, 2, 'the loser leaving changes nothing');
  // two again, and the winner goes: the lone one left becomes active
  rib.announce('inet.0', 'bgp', bgp('10.0.1.2'));
  assert.equal(changes.length, 2);
  rib.withdraw('inet.0', 'static', '192.0.2.0/24');
  assert.equal(gw(), '10.0.1.2');
  assert.equal(changes.length, 3);
  assert.equal(rib.get('inet.0', '192.0.2.0/24')?.protocol, 'bgp');
  // an unusable lone candidate left behind an active one that goes: no active route
  rib.announce('inet.0', 'static', stat('192.0.2.0/24', ['198.51.100.1']));
  assert.equal(gw(), '10.0.1.2');
  rib.withdraw('inet.0', 'bgp', '192.0.2.0/24');
  assert.equal(rib.get('inet.0', '192.0.2.0/24'), undefined);
  assert.equal(changes.at(-1)?.fib, undefined);
  assert.equal(rib.show('inet.0', { prefix: '192.0.2.0/24', exact: true })[0]?.candidates[0]?.active, false);
  rib.withdraw('inet.0', 'static', '192.0.2.0/24');
  assert.equal(rib.show('inet.0', { prefix: '192.0.2.0/24', exact: true }).length, 0);
});

test('a next hop with more dependents than it lists: a change of its route still reaches every one, in inet.0 and through inet.3', () => {
  const rib = new Rib();
  const n = DEPENDENTS_LISTED + 100;
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  rib.announce('inet.0', 'direct:eth2', direct('10.0.1.0/24', 'eth2'));
  const shared: RibRoute = { prefix: '', protocol: 'bgp', preference: 170, nexthops: [{ gateway: '10.0.0.2', recursive: true }] };
  // labeled: resolves in inet.3 first (a tunnel resolver whose dependents are in inet.0)
  const labeled: RibRoute = { prefix: '', protocol: 'bgp', preference: 170, nexthops: [{ gateway: '10.9.9.9', recursive: true, labels: [100] }] };
  for (let i = 0; i < n; i++) rib.announceSharedKey('inet.0', 'bgp', prefixKeyOfText(`20.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}/32`), shared);
  for (let i = 0; i < n; i++) rib.announceSharedKey('inet.0', 'bgp', prefixKeyOfText(`30.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}/32`), labeled);
  const fibOf = (p: string) => rib.getFib('inet.0', p)?.nexthops[0];
  assert.equal(fibOf('20.0.0.0/32')?.interface, 'eth1');
  assert.equal(fibOf('30.0.0.0/32'), undefined, 'no route toward 10.9.9.9 yet');
  let changes = 0;
  rib.subscribe(() => changes++);
  // the gateway's subnet moves to another interface: every dependent follows, each told once
  rib.announce('inet.0', 'static', stat('10.0.0.2/32', ['10.0.1.7']));
  assert.equal(changes, n + 1);
  assert.equal(fibOf('20.0.0.0/32')?.interface, 'eth2');
  assert.equal(fibOf(`20.${(n - 1) >>> 16}.${((n - 1) >>> 8) & 255}.${(n - 1) & 255}/32`)?.interface, 'eth2');
  // a tunnel toward the labeled routes' next hop comes (inet.3): all of them resolve over it
  changes = 0;
  rib.announce('inet.3', 'isis', { prefix: '10.9.9.9/32', protocol: 'isis', preference: 15, nexthops: [{ gateway: '10.0.1.9', interface: 'eth2', labels: [16009] }] });
  assert.equal(changes, n + 1, 'the tunnel and every labeled route');
  assert.deepEqual(fibOf('30.0.0.5/32'), { gateway: '10.0.1.9', interface: 'eth2', labels: [16009, 100] });
  // every dependent gone, then one again: listed from scratch, and still followed
  for (let i = 0; i < n; i++) rib.withdrawKey('inet.0', 'bgp', prefixKeyOfText(`20.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}/32`));
  rib.announce('inet.0', 'bgp', { ...shared, prefix: '20.0.0.0/32' });
  rib.withdraw('inet.0', 'static', '10.0.0.2/32');
  assert.equal(fibOf('20.0.0.0/32')?.interface, 'eth1');
});

test('subscribe with a filter: a listener is told only the tables and protocols it takes, asked again on refilter; order and unsubscribe kept', () => {
  const rib = new Rib();
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  const all: string[] = [];
  const some: string[] = [];
  const asked: string[] = [];
  let takeBgp = false;
  const order: string[] = [];
  rib.subscribe((c) => {
    all.push(`${c.table} ${c.prefix} ${c.protocol ?? '-'}`);
    order.push('all');
  });
  const sub = rib.subscribe(
    (c) => {
      some.push(`${c.table} ${c.prefix} ${c.protocol ?? '-'}`);
      order.push('some');
    },
    (table, protocol) => {
      asked.push(`${table} ${protocol ?? '-'}`);
      return table === 'inet.0' && (protocol !== 'bgp' || takeBgp);
    },
  );
  const bgp = (prefix: string): RibRoute => ({ prefix, protocol: 'bgp', preference: 170, nexthops: [{ gateway: '10.0.0.2', recursive: true }] });
  for (let i = 0; i < 100; i++) rib.announce('inet.0', 'bgp', bgp(`198.51.${i}.0/24`));
  rib.announce('blue.inet.0', 'static', stat('192.0.2.0/24', [], { action: 'discard' }));
  rib.announce('inet.0', 'static', stat('192.0.2.0/24', ['10.0.0.3']));
  assert.equal(all.length, 102);
  assert.deepEqual(some, ['inet.0 192.0.2.0/24 static']);
  // asked once per table and protocol, not per change
  assert.deepEqual(asked, ['inet.0 bgp', 'blue.inet.0 static', 'inet.0 static']);
  assert.deepEqual(order.slice(-2), ['all', 'some'], 'in the order they subscribed');
  takeBgp = true;
  rib.announce('inet.0', 'bgp', bgp('198.51.200.0/24'));
  assert.equal(some.length, 1, 'the answer is remembered until refilter');
  sub.refilter();
  rib.announce('inet.0', 'bgp', bgp('198.51.201.0/24'));
  rib.withdraw('inet.0', 'bgp', '198.51.0.0/24');
  assert.deepEqual(some.slice(1), ['inet.0 198.51.201.0/24 bgp', 'inet.0 198.51.0.0/24 -']);
  sub();
  sub();
  rib.announce('inet.0', 'static', stat('192.0.2.128/25', ['10.0.0.3']));
  assert.equal(some.length, 3, 'unsubscribed');
  assert.equal(all.at(-1), 'inet.0 192.0.2.128/25 static');
});

test('a listener that unsubscribes another while a change is told: the change still reaches those it was told to, the next one does not', () => {
  const rib = new Rib();
  const heard: string[] = [];
  let stopSecond: () => void = () => {};
  rib.subscribe((c) => {
    heard.push(`first ${c.prefix}`);
    stopSecond();
  });
  stopSecond = rib.subscribe((c) => heard.push(`second ${c.prefix}`));
  rib.announce('inet.0', 'static', stat('192.0.2.0/24', [], { action: 'discard' }));
  rib.announce('inet.0', 'static', stat('192.0.2.128/25', [], { action: 'discard' }));
  assert.deepEqual(heard, ['first 192.0.2.0/24', 'second 192.0.2.0/24', 'first 192.0.2.128/25']);
});
