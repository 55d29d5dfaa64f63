// The instance as an event processor: neighbors are put in Established by hand (no socket)
// and fed decoded UPDATEs; the RIB and the Adj-RIB-Out show what it decided.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefixKeyOfText } from '../../../lib/addr.js';
import { Rib } from '../../rib/rib.js';
import { PolicyEngine } from '../../policy/index.js';
import { DEFAULT_OPTIONS, decodeUpdate, encodeEndOfRib, encodeUpdate, emptyCapabilities, type PathAttributes, type SessionOptions, type Update } from '../../../wire/bgp/index.js';
import { resolveInstance } from './config.js';
import { BgpInstance } from './instance.js';
import * as events from './events.js';
import { FLUSH_BATCH } from './decision.js';
import { ATTR_CACHE_MAX, AttrCache, LocEntry, PathPair } from './rib.js';
import { selectBest } from './best-path.js';
import { forwardRibChange, forwardRibWants } from './speaker.js';
import type { Neighbor } from './neighbor.js';
import type { ConfigTree } from '../../types.js';

interface Setup {
  rib: Rib;
  inst: BgpInstance;
  logs: string[];
  nb(addr: string): Neighbor;
}

function setup(groups: ConfigTree, policy: ConfigTree = {}, bgpExtra: ConfigTree = {}): Setup {
  const rib = new Rib();
  rib.announce('inet.0', 'direct', { prefix: '10.0.0.0/24', protocol: 'direct', preference: 0, nexthops: [{ interface: 'eth1' }] });
  const cfg = resolveInstance('master', { group: groups, ...bgpExtra }, { 'router-id': '10.255.0.1', 'autonomous-system': 65001 })!;
  const logs: string[] = [];
  const inst = new BgpInstance(cfg, new PolicyEngine(policy), rib, (m) => logs.push(m), { peerPort: () => 1, connectRetryTime: 3600, idleHoldTime: 0 });
  for (const p of cfg.peers.values()) {
    const nb = inst.addNeighbor({ ...p, passive: true });
    // as if OPENs were exchanged
    nb.families = p.families;
    nb.peerRouterId = Number(p.address.split('.')[3]);
    nb.peerOpen = { version: 4, myAs: p.peerAs, holdTime: 90, bgpId: nb.peerRouterId, capabilities: { ...emptyCapabilities(), routeRefresh: true, gracefulRestart: { restarting: false, notification: false, time: 60, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] } } };
    nb.fsm = { ...nb.fsm, state: 'Established', holdTime: 90 };
    inst.sessionUp(nb);
  }
  return { rib, inst, logs, nb: (a) => inst.neighbors.get(a)! };
}

/** An UPDATE received (the decision process waits for the flush). */
function receive(s: Setup, addr: string, u: Partial<Update>): void {
  const full: Update = { withdrawn: [], attrs: {}, nlri: [], ...u };
  const d = decodeUpdate(encodeUpdate(full, DEFAULT_OPTIONS).subarray(19), DEFAULT_OPTIONS);
  assert.ok(d.kind === 'update');
  s.inst.update(s.nb(addr), d);
}

function feed(s: Setup, addr: string, u: Partial<Update>): void {
  receive(s, addr, u);
  s.inst.flush();
}

const ebgp = (peerAs: number, addrs: string[], extra: ConfigTree = {}): ConfigTree => ({
  type: 'external',
  'peer-as': peerAs,
  neighbor: Object.fromEntries(addrs.map((a) => [a, {}])),
  ...extra,
});
const ibgp = (addrs: string[], extra: ConfigTree = {}): ConfigTree => ({ type: 'internal', neighbor: Object.fromEntries(addrs.map((a) => [a, {}])), ...extra });
const path = (...asns: number[]) => [{ type: 2, asns }];
// the Adj-RIB-Out is keyed by prefix value (lib/addr PrefixKey)
const out = (s: Setup, addr: string, prefix: string): PathAttributes | undefined => s.inst.adjRibOut(s.nb(addr), 'inet.0').get(prefixKeyOfText(prefix));

test('best path across two eBGP peers: shorter AS path wins; withdrawal fails over', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2']), b: ebgp(65003, ['10.0.0.3']) });
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002, 65010), nextHop: '10.0.0.2' }, nlri: ['192.0.2.0/24'] });
  feed(s, '10.0.0.3', { attrs: { origin: 0, asPath: path(65003), nextHop: '10.0.0.3' }, nlri: ['192.0.2.0/24'] });
  let r = s.rib.get('inet.0', '192.0.2.0/24')!;
  assert.equal(r.nexthops[0]!.gateway, '10.0.0.3');
  assert.equal(r.attributes!['Selected by'], 'AS path length');
  feed(s, '10.0.0.3', { withdrawn: ['192.0.2.0/24'] });
  r = s.rib.get('inet.0', '192.0.2.0/24')!;
  assert.equal(r.nexthops[0]!.gateway, '10.0.0.2');
  feed(s, '10.0.0.2', { withdrawn: ['192.0.2.0/24'] });
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24'), undefined);
});

test('multipath installs every equal path', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2', '10.0.0.4'], { multipath: {} }) });
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2' }, nlri: ['192.0.2.0/24'] });
  feed(s, '10.0.0.4', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.4' }, nlri: ['192.0.2.0/24'] });
  const r = s.rib.get('inet.0', '192.0.2.0/24')!;
  assert.deepEqual(r.nexthops.map((n) => n.gateway).sort(), ['10.0.0.2', '10.0.0.4']);
});

test('RFC 7606 in context: empty AS_PATH and a wrong first AS from eBGP are treat-as-withdraw', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2']) });
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2' }, nlri: ['192.0.2.0/24', '198.51.100.0/24'] });
  assert.ok(s.rib.get('inet.0', '192.0.2.0/24'));
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: [], nextHop: '10.0.0.2' }, nlri: ['192.0.2.0/24'] });
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24'), undefined, 'withdrawn');
  assert.ok(s.rib.get('inet.0', '198.51.100.0/24'), 'unrelated route kept');
  assert.ok(s.logs.some((l) => /empty AS_PATH/.test(l)));
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65099), nextHop: '10.0.0.2' }, nlri: ['198.51.100.0/24'] });
  assert.equal(s.rib.get('inet.0', '198.51.100.0/24'), undefined);
  assert.equal(s.nb('10.0.0.2').state, 'Established', 'no session reset');
});

test('AS path loop hides the route; LOCAL_PREF from eBGP is discarded', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2']) });
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002, 65001), nextHop: '10.0.0.2' }, nlri: ['192.0.2.0/24'] });
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24'), undefined);
  assert.equal(s.inst.adjRibIn(s.nb('10.0.0.2'), 'inet.0').find((x) => x.prefix === '192.0.2.0/24')!.path.hidden, 'AS path loop');
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2', localPref: 500 }, nlri: ['203.0.113.0/24'] });
  assert.equal(s.rib.get('inet.0', '203.0.113.0/24')!.attributes!.Localpref, 100);
});

test('unresolvable next hop: route not installed until the RIB can reach it; IGP cost decides', () => {
  const s = setup({ i: ibgp(['10.0.0.5', '10.0.0.6']) });
  feed(s, '10.0.0.5', { attrs: { origin: 0, asPath: [], nextHop: '172.16.0.5', localPref: 100 }, nlri: ['192.0.2.0/24'] });
  feed(s, '10.0.0.6', { attrs: { origin: 0, asPath: [], nextHop: '172.16.0.6', localPref: 100 }, nlri: ['192.0.2.0/24'] });
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24'), undefined);
  s.rib.announce('inet.0', 'isis', { prefix: '172.16.0.5/32', protocol: 'isis', preference: 15, metric: 30, nexthops: [{ gateway: '10.0.0.5' }] });
  s.rib.announce('inet.0', 'isis', { prefix: '172.16.0.6/32', protocol: 'isis', preference: 15, metric: 10, nexthops: [{ gateway: '10.0.0.6' }] });
  s.inst.flush();
  const r = s.rib.get('inet.0', '192.0.2.0/24')!;
  assert.equal(r.nexthops[0]!.gateway, '172.16.0.6');
  assert.equal(r.attributes!['Selected by'], 'IGP cost');
});

test('eBGP export: own AS prepended, next hop self, LOCAL_PREF and MED not sent', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2']), b: ebgp(65003, ['10.0.0.3']) });
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2', med: 50, communities: [1] }, nlri: ['192.0.2.0/24'] });
  const a = out(s, '10.0.0.3', '192.0.2.0/24')!;
  assert.deepEqual(a.asPath, path(65001, 65002));
  assert.equal(a.nextHop, '10.255.0.1');
  assert.equal(a.localPref, undefined);
  assert.equal(a.med, undefined);
  assert.deepEqual(a.communities, [1]);
  assert.equal(out(s, '10.0.0.2', '192.0.2.0/24'), undefined, 'not back to the peer it came from');
});

test('no-export stays inside the AS; iBGP routes are not sent to iBGP peers without reflection', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2']), b: ebgp(65003, ['10.0.0.3']), i: ibgp(['10.0.0.7', '10.0.0.8']) });
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2', communities: [0xffffff01] }, nlri: ['192.0.2.0/24'] });
  assert.equal(out(s, '10.0.0.3', '192.0.2.0/24'), undefined);
  const toI = out(s, '10.0.0.7', '192.0.2.0/24')!;
  assert.equal(toI.localPref, 100);
  assert.equal(toI.nextHop, '10.0.0.2', 'iBGP keeps the eBGP next hop');
  assert.deepEqual(toI.asPath, path(65002));
  feed(s, '10.0.0.7', { attrs: { origin: 0, asPath: [], nextHop: '10.0.0.99', localPref: 100 }, nlri: ['198.51.100.0/24'] });
  assert.equal(out(s, '10.0.0.8', '198.51.100.0/24'), undefined);
  assert.ok(out(s, '10.0.0.3', '198.51.100.0/24'));
});

test('route reflection: client routes reflected with ORIGINATOR_ID and CLUSTER_LIST', () => {
  const s = setup({ clients: ibgp(['10.0.0.7', '10.0.0.8'], { cluster: '1.1.1.1' }), core: ibgp(['10.0.0.9']) });
  feed(s, '10.0.0.7', { attrs: { origin: 0, asPath: [], nextHop: '10.0.0.7', localPref: 100 }, nlri: ['198.51.100.0/24'] });
  const r = out(s, '10.0.0.8', '198.51.100.0/24')!;
  assert.equal(r.originatorId, '0.0.0.7');
  assert.deepEqual(r.clusterList, ['1.1.1.1']);
  assert.ok(out(s, '10.0.0.9', '198.51.100.0/24'), 'client routes go to non-clients too');
  feed(s, '10.0.0.9', { attrs: { origin: 0, asPath: [], nextHop: '10.0.0.9', localPref: 100 }, nlri: ['203.0.113.0/24'] });
  assert.ok(out(s, '10.0.0.7', '203.0.113.0/24'), 'non-client routes go to clients');
  feed(s, '10.0.0.9', { attrs: { origin: 0, asPath: [], nextHop: '10.0.0.9', localPref: 100, clusterList: ['1.1.1.1'] }, nlri: ['192.0.2.0/24'] });
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24'), undefined, 'our cluster ID in the list: a loop');
});

test('export policy: next-hop self, as-path-prepend, community set toward one peer', () => {
  const policy: ConfigTree = {
    community: { c: { members: ['65001:9'] } },
    'policy-statement': { out: { then: { 'as-path-prepend': '65001 65001', community: { set: ['c'] }, metric: 7, accept: true } } },
  };
  const s = setup({ a: ebgp(65002, ['10.0.0.2']), b: ebgp(65003, ['10.0.0.3'], { export: ['out'] }) }, policy);
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2', communities: [1] }, nlri: ['192.0.2.0/24', '192.0.2.128/25'] });
  const a = out(s, '10.0.0.3', '192.0.2.0/24')!;
  assert.deepEqual(a.asPath, path(65001, 65001, 65001, 65002));
  assert.deepEqual(a.communities, [((65001 << 16) | 9) >>> 0]);
  assert.equal(a.med, 7);
  assert.equal(out(s, '10.0.0.3', '192.0.2.128/25'), a, 'equal exports share one object (one UPDATE)');
});

test('only the active route is advertised: a static route that wins the prefix hides the BGP route until it goes', () => {
  const policy: ConfigTree = { 'policy-statement': { statics: { term: { s: { from: { protocol: 'static' }, then: { accept: true } } } } } };
  const s = setup({ a: ebgp(65002, ['10.0.0.2']), b: ebgp(65003, ['10.0.0.3']), c: ebgp(65004, ['10.0.0.4'], { export: ['statics'] }) }, policy);
  // as the speaker wires it: BGP's own changes only where a prefix was shadowed (the filter asked again then)
  const sub = s.rib.subscribe((c) => forwardRibChange([s.inst], c), (table, protocol) => forwardRibWants([s.inst], table, protocol));
  s.inst.cx.shadowed.onNewTable = () => sub.refilter();
  const prefix = '192.0.2.0/24';
  s.rib.announce('inet.0', 'static', { prefix, protocol: 'static', preference: 5, nexthops: [{ gateway: '10.0.0.9' }] });
  s.inst.flush();
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2' }, nlri: [prefix, '198.51.100.0/24'] });
  assert.equal(s.rib.get('inet.0', prefix)!.protocol, 'static');
  assert.equal(out(s, '10.0.0.3', prefix), undefined, 'inactive BGP route not advertised to b');
  assert.ok(out(s, '10.0.0.3', '198.51.100.0/24'), 'active BGP route advertised to b');
  const toC = out(s, '10.0.0.4', prefix)!;
  assert.ok(toC, 'c exports statics: the static route goes out');
  assert.deepEqual(toC.asPath, path(65001), 'as our own route, not the one learned from AS 65002');
  s.rib.withdraw('inet.0', 'static', prefix);
  s.inst.flush();
  assert.equal(s.rib.get('inet.0', prefix)!.protocol, 'bgp');
  assert.deepEqual(out(s, '10.0.0.3', prefix)?.asPath, path(65001, 65002), 'BGP route advertised once active');
  assert.deepEqual(out(s, '10.0.0.4', prefix)?.asPath, path(65001, 65002));
  s.rib.announce('inet.0', 'static', { prefix, protocol: 'static', preference: 5, nexthops: [{ gateway: '10.0.0.9' }] });
  s.inst.flush();
  assert.equal(out(s, '10.0.0.3', prefix), undefined, 'withdrawn from b when the static route wins again');
  // a route exported by policy, then gone with nothing in its place: withdrawn from c
  s.rib.announce('inet.0', 'static', { prefix: '203.0.113.0/24', protocol: 'static', preference: 5, nexthops: [{ gateway: '10.0.0.9' }] });
  s.inst.flush();
  assert.ok(out(s, '10.0.0.4', '203.0.113.0/24'), 'c exports the static route');
  assert.equal(out(s, '10.0.0.3', '203.0.113.0/24'), undefined, 'b exports BGP routes only');
  s.rib.withdraw('inet.0', 'static', '203.0.113.0/24');
  s.inst.flush();
  assert.equal(out(s, '10.0.0.4', '203.0.113.0/24'), undefined, 'withdrawn from c once the static route is gone');
  // a BGP route withdrawn by its peer leaves every Adj-RIB-Out
  feed(s, '10.0.0.2', { withdrawn: ['198.51.100.0/24'] });
  assert.equal(out(s, '10.0.0.3', '198.51.100.0/24'), undefined, 'withdrawn from b with its BGP route');
});

test('graceful restart helper: routes kept stale across a session loss, swept after End-of-RIB', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2']) });
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2' }, nlri: ['192.0.2.0/24', '198.51.100.0/24'] });
  const nb = s.nb('10.0.0.2');
  s.inst.sessionDown(nb, false);
  s.inst.flush();
  assert.ok(s.rib.get('inet.0', '192.0.2.0/24'), 'kept while the peer restarts');
  inst_up(s, nb);
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2' }, nlri: ['192.0.2.0/24'] });
  const eor = decodeUpdate(encodeEndOfRib(1, 1).subarray(19), DEFAULT_OPTIONS);
  assert.ok(eor.kind === 'update');
  s.inst.update(nb, eor);
  s.inst.flush();
  assert.ok(s.rib.get('inet.0', '192.0.2.0/24'), 're-sent route stays');
  assert.equal(s.rib.get('inet.0', '198.51.100.0/24'), undefined, 'stale route swept at End-of-RIB');
  s.inst.sessionDown(nb, true);
  s.inst.flush();
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24'), undefined, 'after a NOTIFICATION nothing is kept');
  s.inst.stop();
});

test('handlers take the instance state explicitly: a stale timer expiry is one call, no clock needed', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2']) });
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2' }, nlri: ['192.0.2.0/24'] });
  const nb = s.nb('10.0.0.2');
  s.inst.sessionDown(nb, false);
  s.inst.flush();
  assert.ok(s.rib.get('inet.0', '192.0.2.0/24'), 'kept as stale while the peer restarts');
  const st = s.inst.ribs.get(nb)!;
  assert.ok(st.staleTimer, 'the restart time is running');
  clearTimeout(st.staleTimer);
  events.staleTimerExpired(s.inst.cx, nb, st);
  s.inst.flush();
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24'), undefined, 'stale route gone when the restart time ran out');
  assert.equal(st.staleTimer, undefined);
  assert.ok(s.logs.some((l) => l.includes('removed 1 stale routes from inet.0')), s.logs.join('\n'));
  s.inst.stop();
});

function inst_up(s: Setup, nb: Neighbor): void {
  nb.fsm = { ...nb.fsm, state: 'Established' };
  s.inst.sessionUp(nb);
}

test('max-prefix with teardown closes the session and drops its routes', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2'], { family: { inet: { unicast: { 'prefix-limit': { maximum: 2, teardown: true } } } } }) });
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2' }, nlri: ['192.0.2.0/24', '192.0.2.128/25', '198.51.100.0/24'] });
  assert.equal(s.nb('10.0.0.2').state, 'Idle');
  assert.match(s.nb('10.0.0.2').stats.lastError, /Cease \(subcode 1\)/);
  s.inst.flush();
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24'), undefined);
  s.inst.stop();
});

test('add-path receive: several paths of one prefix from one peer, told apart by path ID', () => {
  const s = setup({ i: ibgp(['10.0.0.5'], { family: { inet: { unicast: { 'add-path': { receive: true } } } } }) });
  const nb = s.nb('10.0.0.5');
  nb.options = { ...nb.options, addPathRx: new Set(['1/1']) };
  const o = nb.options;
  const send = (u: Update) => {
    const d = decodeUpdate(encodeUpdate(u, o).subarray(19), o);
    assert.ok(d.kind === 'update');
    s.inst.update(nb, d);
    s.inst.flush();
  };
  send({ withdrawn: [], attrs: { origin: 0, asPath: [], nextHop: '10.0.0.20', localPref: 100 }, nlri: ['192.0.2.0/24'], nlriIds: [1] });
  send({ withdrawn: [], attrs: { origin: 0, asPath: [], nextHop: '10.0.0.21', localPref: 200 }, nlri: ['192.0.2.0/24'], nlriIds: [2] });
  assert.equal(s.inst.adjRibIn(nb, 'inet.0').length, 2);
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24')!.nexthops[0]!.gateway, '10.0.0.21');
  send({ withdrawn: ['192.0.2.0/24'], withdrawnIds: [2], attrs: {}, nlri: [] });
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24')!.nexthops[0]!.gateway, '10.0.0.20');
  const sum = s.inst.peerCounts(nb)[0]!;
  assert.deepEqual([sum.received, sum.accepted, sum.active], [1, 1, 1]);
  s.inst.stop();
});

test('UPDATEs repeating an attribute set share one attributes object, IPv4 and IPv6', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2'], { family: { inet: { unicast: {} }, inet6: { unicast: {} } } }) });
  s.rib.announce('inet6.0', 'direct', { prefix: '2001:db8:ff::/64', protocol: 'direct', preference: 0, nexthops: [{ interface: 'eth1' }] });
  const attrs = { origin: 0, asPath: path(65002), nextHop: '10.0.0.2', communities: [7] };
  feed(s, '10.0.0.2', { attrs, nlri: ['192.0.2.0/25'] });
  feed(s, '10.0.0.2', { attrs, nlri: ['192.0.2.128/25'] });
  const six = (p: string) => feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002) }, mpReach: { afi: 2, safi: 1, nextHop: '2001:db8:ff::2', prefixes: [p] } });
  six('2001:db8:1::/48');
  six('2001:db8:2::/48');
  const nb = s.nb('10.0.0.2');
  const by = (t: string, p: string) => s.inst.adjRibIn(nb, t).find((x) => x.prefix === p)!.path.attrs;
  assert.equal(by('inet.0', '192.0.2.0/25'), by('inet.0', '192.0.2.128/25'));
  assert.equal(by('inet6.0', '2001:db8:1::/48'), by('inet6.0', '2001:db8:2::/48'));
  assert.equal(by('inet6.0', '2001:db8:1::/48').nextHop, '2001:db8:ff::2');
  assert.equal(s.rib.get('inet6.0', '2001:db8:2::/48')!.nexthops[0]!.gateway, '2001:db8:ff::2');
  s.inst.stop();
});

test('the attribute cache: a set found by its hash is used only when its bytes are equal (a collision is a miss); IPv6 sets differing only in the next hop stay apart', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2'], { family: { inet: { unicast: {} }, inet6: { unicast: {} } } }) });
  s.rib.announce('inet6.0', 'direct', { prefix: '2001:db8:ff::/64', protocol: 'direct', preference: 0, nexthops: [{ interface: 'eth1' }] });
  const nb = s.nb('10.0.0.2');
  const st = s.inst.ribs.get(nb)!;
  const decoded = (u: Partial<Update>) => {
    const d = decodeUpdate(encodeUpdate({ withdrawn: [], attrs: {}, nlri: [], ...u }, DEFAULT_OPTIONS).subarray(19), DEFAULT_OPTIONS);
    assert.ok(d.kind === 'update' && d.attrBytes && d.attrHash !== undefined);
    return d;
  };
  const d = decoded({ attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2', med: 5 }, nlri: ['192.0.2.0/25'] });
  // another set's outcome under this UPDATE's hash, as a collision would leave it
  const other = { origin: 0, asPath: path(65002), nextHop: '10.0.0.2', med: 99 };
  st.attrCache.set(d.attrHash!, new Uint8Array(d.attrBytes!.length), { attrs: other });
  s.inst.update(nb, d);
  s.inst.flush();
  const by = (t: string, p: string) => s.inst.adjRibIn(nb, t).find((x) => x.prefix === p)!.path.attrs;
  assert.equal(by('inet.0', '192.0.2.0/25').med, 5, 'the colliding set was not used');
  assert.notEqual(st.attrCache.get(d.attrHash!, d.attrBytes!)?.attrs, other, 'the set that came last keeps the hash');
  assert.equal(st.attrCache.get(d.attrHash!, d.attrBytes!)?.attrs.med, 5);
  const six = (p: string, nh: string) => feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002) }, mpReach: { afi: 2, safi: 1, nextHop: nh, prefixes: [p] } });
  six('2001:db8:1::/48', '2001:db8:ff::2');
  six('2001:db8:2::/48', '2001:db8:ff::3');
  assert.equal(by('inet6.0', '2001:db8:1::/48').nextHop, '2001:db8:ff::2');
  assert.equal(by('inet6.0', '2001:db8:2::/48').nextHop, '2001:db8:ff::3');
  const a = decoded({ attrs: { origin: 0, asPath: path(65002) }, mpReach: { afi: 2, safi: 1, nextHop: '2001:db8:ff::2', prefixes: ['2001:db8:1::/48'] } });
  const b = decoded({ attrs: { origin: 0, asPath: path(65002) }, mpReach: { afi: 2, safi: 1, nextHop: '2001:db8:ff::2', prefixes: ['2001:db8:7::/48', '2001:db8:8::/48'] } });
  assert.deepEqual([...a.attrBytes!], [...b.attrBytes!], 'the NLRI of MP_REACH is not part of the set');
  s.inst.stop();
});

test('AttrCache: sets of any length found by hash and bytes across the pool\'s growth; it starts over past ATTR_CACHE_MAX', () => {
  const c = new AttrCache();
  const sets = Array.from({ length: 3000 }, (_, i) => new Uint8Array(1 + (i % 97)).map((_, j) => (i * 31 + j) & 255));
  for (const [i, b] of sets.entries()) c.set(i, b, { attrs: { med: i } });
  for (const [i, b] of sets.entries()) assert.equal(c.get(i, b)?.attrs.med, i);
  assert.equal(c.get(1, sets[2]!), undefined, 'other bytes under a hash: a miss');
  for (let i = 3000; i < ATTR_CACHE_MAX; i++) c.set(i, sets[0]!, { attrs: {} });
  assert.equal(c.size, ATTR_CACHE_MAX);
  c.set(0xffffffff, sets[5]!, { attrs: { med: -1 } });
  assert.equal(c.size, 1, 'started over');
  assert.equal(c.get(5, sets[5]!), undefined);
  assert.equal(c.get(0xffffffff, sets[5]!)?.attrs.med, -1);
});

test('restarting speaker (RFC 4724): R and F bits, routing deferred until End-of-RIB from every peer', () => {
  const rib = new Rib();
  rib.announce('inet.0', 'direct', { prefix: '10.0.0.0/24', protocol: 'direct', preference: 0, nexthops: [{ interface: 'eth1' }] });
  const cfg = resolveInstance('master', { group: { a: ebgp(65002, ['10.0.0.2']), b: ebgp(65003, ['10.0.0.3']) } }, { 'router-id': '10.255.0.1', 'autonomous-system': 65001 })!;
  const inst = new BgpInstance(cfg, new PolicyEngine({}), rib, () => {}, { peerPort: () => 1, connectRetryTime: 3600, idleHoldTime: 0 });
  inst.deferRouting(60);
  const nbs = [...cfg.peers.values()].map((p) => {
    const nb = inst.addNeighbor({ ...p, passive: true });
    nb.families = p.families;
    nb.peerRouterId = Number(p.address.split('.')[3]);
    nb.fsm = { ...nb.fsm, state: 'Established' };
    return nb;
  });
  const gr = nbs[0]!.ourCapabilities().gracefulRestart!;
  assert.equal(gr.restarting, true);
  assert.ok(gr.families.every((f) => f.forwardingPreserved));
  const s: Setup = { rib, inst, logs: [], nb: (a) => inst.neighbors.get(a)! };
  for (const nb of nbs) inst.sessionUp(nb);
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2' }, nlri: ['192.0.2.0/24'] });
  const eor = decodeUpdate(encodeEndOfRib(1, 1).subarray(19), DEFAULT_OPTIONS);
  assert.ok(eor.kind === 'update');
  inst.update(s.nb('10.0.0.2'), eor);
  assert.equal(rib.get('inet.0', '192.0.2.0/24'), undefined, 'still deferred: 10.0.0.3 has not finished');
  assert.equal(out(s, '10.0.0.3', '192.0.2.0/24'), undefined);
  inst.update(s.nb('10.0.0.3'), eor);
  assert.ok(rib.get('inet.0', '192.0.2.0/24'), 'routing resumed');
  assert.ok(out(s, '10.0.0.3', '192.0.2.0/24'), 'and the table went out');
  assert.equal(nbs[0]!.ourCapabilities().gracefulRestart!.restarting, false, 'the R bit is for the restart only');
  inst.stop();
});

test('import policy per prefix inside one UPDATE: a route filter splits it; a prefix-blind policy changes all alike', () => {
  const s = setup(
    { a: ebgp(65002, ['10.0.0.2'], { import: ['f'] }) },
    {
      'policy-statement': {
        f: {
          term: {
            lp: { from: { 'route-filter': { '192.0.2.0/24': { orlonger: true } } }, then: { 'local-preference': 300, accept: true } },
            no: { from: { 'route-filter': { '198.51.100.0/24': { exact: true } } }, then: { reject: true } },
          },
        },
      },
    },
  );
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2' }, nlri: ['192.0.2.0/25', '198.51.100.0/24', '203.0.113.0/24', '192.0.2.128/25'] });
  assert.equal(s.rib.get('inet.0', '192.0.2.0/25')?.attributes?.Localpref, 300);
  assert.equal(s.rib.get('inet.0', '192.0.2.128/25')?.attributes?.Localpref, 300);
  assert.equal(s.rib.get('inet.0', '198.51.100.0/24'), undefined, 'rejected');
  assert.equal(s.rib.get('inet.0', '203.0.113.0/24')?.attributes?.Localpref, 100);
  const t = setup({ a: ebgp(65002, ['10.0.0.2'], { import: ['m'] }) }, { 'policy-statement': { m: { then: { metric: 9, accept: true } } } });
  feed(t, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2' }, nlri: ['192.0.2.0/25', '192.0.2.128/25'] });
  const a = t.rib.get('inet.0', '192.0.2.0/25')!, b = t.rib.get('inet.0', '192.0.2.128/25')!;
  assert.equal(a.metric, 9);
  assert.equal(b.metric, 9);
  assert.equal(a.attributes, b.attributes, 'one changed attribute set for the UPDATE');
});

test('a session decoding prefixes as values (IPv4 codes, IPv6 keys) fills the same tables as one decoding text', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2'], { family: { inet: { unicast: {} }, inet6: { unicast: {} } } }) });
  s.rib.announce('inet6.0', 'direct', { prefix: '2001:db8:ff::/64', protocol: 'direct', preference: 0, nexthops: [{ interface: 'eth1' }] });
  const values: SessionOptions = { ...DEFAULT_OPTIONS, prefixCodes: true };
  const send = (u: Partial<Update>, o = values) => {
    const d = decodeUpdate(encodeUpdate({ withdrawn: [], attrs: {}, nlri: [], ...u }, DEFAULT_OPTIONS).subarray(19), o);
    assert.ok(d.kind === 'update');
    s.inst.update(s.nb('10.0.0.2'), d);
    s.inst.flush();
  };
  send({ attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2' }, nlri: ['192.0.2.0/25', '192.0.2.128/25', '0.0.0.0/0'] });
  send({ attrs: { origin: 0, asPath: path(65002) }, mpReach: { afi: 2, safi: 1, nextHop: '2001:db8:ff::2', prefixes: ['2001:db8:1::/48', '::/0'] } });
  assert.equal(s.rib.get('inet.0', '192.0.2.128/25')?.nexthops[0]?.gateway, '10.0.0.2');
  assert.equal(s.rib.get('inet.0', '0.0.0.0/0')?.protocol, 'bgp');
  assert.equal(s.rib.get('inet6.0', '2001:db8:1::/48')?.prefix, '2001:db8:1::/48');
  assert.equal(s.rib.lookup('inet6.0', '2001:db9::1')?.prefix, '::/0');
  const nb = s.nb('10.0.0.2');
  assert.deepEqual(s.inst.adjRibIn(nb, 'inet.0').map((x) => x.prefix).sort(), ['0.0.0.0/0', '192.0.2.0/25', '192.0.2.128/25']);
  assert.deepEqual(s.inst.adjRibIn(nb, 'inet6.0').map((x) => x.prefix).sort(), ['2001:db8:1::/48', '::/0']);
  // withdrawn through a session decoding text: the same entries
  send({ withdrawn: ['192.0.2.0/25'], mpUnreach: { afi: 2, safi: 1, prefixes: ['::/0'] } }, DEFAULT_OPTIONS);
  assert.equal(s.rib.get('inet.0', '192.0.2.0/25'), undefined);
  assert.equal(s.rib.get('inet6.0', '::/0'), undefined);
  // and through values again
  send({ withdrawn: ['0.0.0.0/0'], mpUnreach: { afi: 2, safi: 1, prefixes: ['2001:db8:1::/48'] } });
  assert.equal(s.rib.get('inet.0', '0.0.0.0/0'), undefined);
  assert.equal(s.rib.get('inet6.0', '2001:db8:1::/48'), undefined);
  assert.deepEqual(s.inst.adjRibIn(nb, 'inet.0').map((x) => x.prefix), ['192.0.2.128/25']);
  assert.equal(s.inst.locTable('inet6.0')?.size ?? 0, 0, 'the Loc-RIB let the withdrawn entries go');
  s.inst.stop();
});

test('export policy per prefix inside one UPDATE: a route filter splits it; a prefix-blind policy changes all alike; a new chain is evaluated afresh', () => {
  const policy: ConfigTree = {
    'policy-statement': {
      f: {
        term: {
          med: { from: { 'route-filter': { '192.0.2.0/24': { orlonger: true } } }, then: { metric: 30, accept: true } },
          no: { from: { 'route-filter': { '198.51.100.0/24': { exact: true } } }, then: { reject: true } },
        },
      },
      m: { then: { metric: 9, accept: true } },
      none: { then: { reject: true } },
    },
  };
  const s = setup({ a: ebgp(65002, ['10.0.0.2']), b: ebgp(65003, ['10.0.0.3'], { export: ['f'] }), c: ebgp(65004, ['10.0.0.4'], { export: ['m'] }), d: ebgp(65005, ['10.0.0.5'], { export: ['none'] }) }, policy);
  const nlri = ['192.0.2.0/25', '198.51.100.0/24', '203.0.113.0/24', '192.0.2.128/25'];
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2' }, nlri });
  assert.equal(out(s, '10.0.0.3', '192.0.2.0/25')?.med, 30);
  assert.equal(out(s, '10.0.0.3', '192.0.2.128/25')?.med, 30);
  assert.equal(out(s, '10.0.0.3', '198.51.100.0/24'), undefined, 'rejected by the route filter');
  assert.equal(out(s, '10.0.0.3', '203.0.113.0/24')?.med, undefined, 'accepted by default, unchanged');
  for (const p of nlri) assert.equal(out(s, '10.0.0.4', p)?.med, 9, `c: ${p}`);
  assert.equal(out(s, '10.0.0.4', '192.0.2.0/25'), out(s, '10.0.0.4', '203.0.113.0/24'), 'one exported attribute set for the UPDATE');
  for (const p of nlri) assert.equal(out(s, '10.0.0.5', p), undefined, `d: ${p}`);
});

test('the attributes `show route extensive` prints read as a plain object (keys, JSON, equality, the raw attributes beside) and are one object for the prefixes alike', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2']) });
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002, 65010), nextHop: '10.0.0.2', med: 7, communities: [(65002 << 16) | 100] }, nlri: ['192.0.2.0/24', '198.51.100.0/24'] });
  const r = s.rib.get('inet.0', '192.0.2.0/24')!;
  const want = { Peer: '10.0.0.2 (AS 65002)', 'AS path': '65002 65010 I', Localpref: 100, 'Selected by': 'Only path', MED: 7, Communities: '65002:100' };
  assert.deepEqual(r.attributes, want);
  assert.deepEqual(Object.keys(r.attributes!), Object.keys(want));
  assert.deepEqual(JSON.parse(JSON.stringify(r.attributes)), want);
  assert.equal('MED' in r.attributes!, true);
  assert.equal((r.attributes as { bgp?: PathAttributes }).bgp?.med, 7, 'the raw attributes, not enumerable');
  assert.equal(s.rib.get('inet.0', '198.51.100.0/24')!.attributes, r.attributes, 'shared by the UPDATE\'s prefixes');
  assert.throws(() => {
    // modules are strict: a refused store throws
    (r.attributes as Record<string, unknown>).MED = 8;
  }, TypeError, 'read-only');
});

test('update groups by output: peers with the same export get the same UPDATE objects, encoded once; others their own', () => {
  const policy: ConfigTree = { 'policy-statement': { longer: { then: { 'as-path-prepend': '65001', accept: true } } } };
  const s = setup({ a: ebgp(65002, ['10.0.0.2']), b: ebgp(65003, ['10.0.0.3']), c: ebgp(65004, ['10.0.0.4']), d: ebgp(65005, ['10.0.0.5'], { export: ['longer'] }) }, policy);
  const sent = new Map<string, Uint8Array[]>();
  for (const addr of ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5']) {
    sent.set(addr, []);
    s.nb(addr).sendUpdates = (msgs) => void sent.get(addr)!.push(...msgs);
  }
  const nlri = (addr: string) => sent.get(addr)!.flatMap((m) => {
    const d = decodeUpdate(m.subarray(19), DEFAULT_OPTIONS);
    return d.kind === 'update' ? d.update.nlri : [];
  });
  const prefixes = Array.from({ length: 1200 }, (_, i) => `10.${(i >> 8) + 1}.${i & 255}.0/24`);
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2' }, nlri: prefixes });
  assert.deepEqual(sent.get('10.0.0.2'), [], 'not back to the peer it came from');
  const b = sent.get('10.0.0.3')!;
  assert.ok(b.length > 1, 'several full UPDATEs');
  assert.deepEqual(nlri('10.0.0.3').sort(), [...prefixes].sort());
  assert.equal(sent.get('10.0.0.4')!.length, b.length);
  assert.ok(sent.get('10.0.0.4')!.every((m, i) => m === b[i]), 'the same export: the same messages, encoded once');
  const d = sent.get('10.0.0.5')!;
  assert.deepEqual(nlri('10.0.0.5').sort(), [...prefixes].sort());
  assert.ok(d.every((m) => !b.includes(m)), 'another export: its own messages');
  assert.notDeepEqual(Buffer.from(d[0]!), Buffer.from(b[0]!));
  // a prefix from b: every peer but b gets it; a and c share the UPDATE
  for (const v of sent.values()) v.length = 0;
  feed(s, '10.0.0.3', { attrs: { origin: 0, asPath: path(65003), nextHop: '10.0.0.3' }, nlri: ['192.0.2.0/24'] });
  assert.deepEqual(sent.get('10.0.0.3'), []);
  assert.deepEqual(nlri('10.0.0.2'), ['192.0.2.0/24']);
  assert.equal(sent.get('10.0.0.2')![0], sent.get('10.0.0.4')![0]);
  assert.deepEqual(nlri('10.0.0.5'), ['192.0.2.0/24']);
  // withdrawals are shared the same way
  for (const v of sent.values()) v.length = 0;
  feed(s, '10.0.0.2', { withdrawn: prefixes.slice(0, 10) });
  assert.equal(sent.get('10.0.0.3')![0], sent.get('10.0.0.4')![0]);
  const w = decodeUpdate(sent.get('10.0.0.5')![0]!.subarray(19), DEFAULT_OPTIONS);
  assert.ok(w.kind === 'update');
  assert.deepEqual(w.update.withdrawn, prefixes.slice(0, 10));
});

test('a prefix with one path is held in the compact form, and leaves it when it has more to say', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2']), b: ebgp(65003, ['10.0.0.3']) });
  const key = prefixKeyOfText('192.0.2.0/24');
  const held = () => s.rib.attachedValue('inet.0', key);
  const lt = () => s.inst.locTable('inet.0')!;
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002, 65010), nextHop: '10.0.0.2' }, nlri: ['192.0.2.0/24'] });
  const p2 = lt().get(key)!.lone!;
  // the RIB entry holds the path itself (no Loc-RIB entry), and readers see its entry
  assert.equal(held(), p2);
  assert.equal(lt().get(key)!.best, p2);
  assert.equal(lt().get(key)!.installed, p2);
  assert.deepEqual([...lt().keys()], [key]);
  assert.equal(s.inst.adjRibIn(s.nb('10.0.0.2'), 'inet.0').length, 1);
  // a second path: the two paths and the choice held as a pair (no Loc-RIB entry either)
  feed(s, '10.0.0.3', { attrs: { origin: 0, asPath: path(65003), nextHop: '10.0.0.3' }, nlri: ['192.0.2.0/24'] });
  const e = lt().get(key)!;
  const pair = held();
  assert.ok(pair instanceof PathPair, 'two paths, one best and installed: a PathPair');
  assert.equal(pair.first, p2);
  assert.equal(pair.best, e.best);
  assert.equal(e.size, 2);
  assert.deepEqual(e.paths, [p2, pair.second]);
  assert.equal(e.best!.peer, s.nb('10.0.0.3'));
  assert.equal(e.step, 'AS path length');
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24')!.attributes!['Selected by'], 'AS path length');
  // back to one path: compact again, and the RIB route names the remaining path as the only one
  feed(s, '10.0.0.3', { withdrawn: ['192.0.2.0/24'] });
  assert.equal(held(), p2);
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24')!.nexthops[0]!.gateway, '10.0.0.2');
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24')!.attributes!['Selected by'], 'Only path');
  // the next hop goes: the compact prefix is decided again (found by the walk over the table)
  s.rib.withdraw('inet.0', 'direct', '10.0.0.0/24');
  s.inst.flush();
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24'), undefined);
  assert.ok(lt().get(key)!.lone, 'the path is kept, hidden');
  assert.equal(lt().get(key)!.best, undefined);
  s.rib.announce('inet.0', 'direct', { prefix: '10.0.0.0/24', protocol: 'direct', preference: 0, nexthops: [{ interface: 'eth1' }] });
  s.inst.flush();
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24')!.nexthops[0]!.gateway, '10.0.0.2');
  assert.equal(held(), p2);
  // withdrawn: nothing left, neither in BGP nor in the RIB
  feed(s, '10.0.0.2', { withdrawn: ['192.0.2.0/24'] });
  assert.equal(held(), undefined);
  assert.equal(lt().get(key), undefined);
  assert.equal(lt().size, 0);
});

test('prefixes heard from two peers in one UPDATE each share one PathPair; a changed path takes its prefix out of the pair', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2']), b: ebgp(65003, ['10.0.0.3']) });
  const prefixes = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'];
  const held = (p: string) => s.rib.attachedValue('inet.0', prefixKeyOfText(p));
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002, 65010), nextHop: '10.0.0.2' }, nlri: prefixes });
  // the second peer's paths are decided against the lone paths held compact as they come: no
  // LocEntry made for them (the export at the flush reads the table through views)
  const viewOf = LocEntry.viewOf;
  let views = 0;
  LocEntry.viewOf = (ref, v) => {
    views++;
    return viewOf(ref, v);
  };
  try {
    receive(s, '10.0.0.3', { attrs: { origin: 0, asPath: path(65003), nextHop: '10.0.0.3' }, nlri: prefixes });
  } finally {
    LocEntry.viewOf = viewOf;
  }
  assert.equal(views, 0, 'no Loc-RIB view made for a second path');
  s.inst.flush();
  const pair = held(prefixes[0]!);
  assert.ok(pair instanceof PathPair);
  assert.ok(prefixes.every((p) => held(p) === pair), 'one pair for the three prefixes');
  assert.equal(pair.best.peer, s.nb('10.0.0.3'));
  assert.equal(s.inst.adjRibIn(s.nb('10.0.0.2'), 'inet.0').length, 3);
  assert.equal(s.inst.adjRibIn(s.nb('10.0.0.3'), 'inet.0').length, 3);
  assert.deepEqual(prefixes.map((p) => s.rib.get('inet.0', p)!.nexthops[0]!.gateway), ['10.0.0.3', '10.0.0.3', '10.0.0.3']);
  // one prefix's second path gets longer: it alone changes its best path and its pair
  feed(s, '10.0.0.3', { attrs: { origin: 0, asPath: path(65003, 65011, 65012), nextHop: '10.0.0.3' }, nlri: [prefixes[1]!] });
  const moved = held(prefixes[1]!);
  assert.ok(moved instanceof PathPair && moved !== pair);
  assert.equal(moved.best.peer, s.nb('10.0.0.2'));
  assert.equal(s.rib.get('inet.0', prefixes[1]!)!.nexthops[0]!.gateway, '10.0.0.2');
  assert.equal(held(prefixes[0]!), pair);
  assert.equal(held(prefixes[2]!), pair);
  // the first peer's paths go: the others are lone paths again
  feed(s, '10.0.0.2', { withdrawn: prefixes });
  assert.ok(prefixes.every((p) => s.rib.get('inet.0', p)!.nexthops[0]!.gateway === '10.0.0.3'));
  assert.ok(prefixes.every((p) => { const v = held(p); return v !== undefined && !(v instanceof PathPair) && s.inst.locTable('inet.0')!.get(prefixKeyOfText(p))!.lone === v; }));
});

test('a second peer\'s paths decided as they come (two paths, varied attributes): the best and step selectBest picks, active counts, the third peer told of changed best paths only', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2']), b: ebgp(65003, ['10.0.0.3']), c: ebgp(65004, ['10.0.0.4']) });
  const sent: Uint8Array[] = [];
  s.nb('10.0.0.4').sendUpdates = (msgs) => void sent.push(...msgs);
  const told = () => sent.flatMap((m) => { const d = decodeUpdate(m.subarray(19), DEFAULT_OPTIONS); return d.kind === 'update' ? d.update.nlri : []; });
  // 8 sets of 4 prefixes each from both peers; AS path lengths, MEDs and origins vary per set and peer
  const sets = Array.from({ length: 8 }, (_, i) => Array.from({ length: 4 }, (_, k) => `203.0.${i * 4 + k}.0/24`));
  const attrsOf = (as: number, i: number, nh: string): PathAttributes => ({ origin: (i * as) % 3 === 0 ? 2 : 0, asPath: path(as, ...Array.from({ length: (i * 7 + as) % 3 }, () => 65100 + i)), nextHop: nh, ...(i % 2 ? { med: (as * i) % 50 } : {}) });
  for (const [i, nlri] of sets.entries()) feed(s, '10.0.0.2', { attrs: attrsOf(65002, i, '10.0.0.2'), nlri });
  sent.length = 0;
  for (const [i, nlri] of sets.entries()) feed(s, '10.0.0.3', { attrs: attrsOf(65003, i, '10.0.0.3'), nlri });
  const lt = s.inst.locTable('inet.0')!;
  let fromB = 0;
  for (const p of sets.flat()) {
    const e = lt.get(prefixKeyOfText(p))!;
    assert.equal(e.size, 2);
    const sel = selectBest(e.paths);
    assert.equal(e.best, sel.best, p);
    assert.equal(e.step, sel.step, p);
    assert.equal(s.rib.get('inet.0', p)!.nexthops[0]!.gateway, sel.best!.peer.cfg.address);
    assert.equal(s.rib.get('inet.0', p)!.attributes!['Selected by'], sel.step);
    if (sel.best!.peer === s.nb('10.0.0.3')) fromB++;
  }
  assert.ok(fromB > 0 && fromB < 32, 'both peers win some prefixes');
  assert.deepEqual(s.inst.peerCounts(s.nb('10.0.0.3'))[0], { table: 'inet.0', active: fromB, received: 32, accepted: 32, advertised: 32 - fromB });
  assert.equal(s.inst.peerCounts(s.nb('10.0.0.2'))[0]!.active, 32 - fromB);
  assert.equal(told().length, fromB, 'the third peer hears of the prefixes whose best path changed, only');
});

test('UPDATEs that leave FLUSH_BATCH prefixes waiting run the decision process at once, not at the end of the turn; a new prefix with one good path is decided as it comes', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2']) });
  const send = (from: number, n: number, asPath = path(65002)): void => {
    const nlri = Array.from({ length: n }, (_, i) => `198.${18 + ((from + i) >> 8)}.${(from + i) & 255}.0/24`);
    const d = decodeUpdate(encodeUpdate({ withdrawn: [], attrs: { origin: 0, asPath, nextHop: '10.0.0.2' }, nlri }, DEFAULT_OPTIONS).subarray(19), DEFAULT_OPTIONS);
    assert.ok(d.kind === 'update');
    s.inst.update(s.nb('10.0.0.2'), d);
  };
  const per = 700;
  assert.ok(per * 2 < FLUSH_BATCH && per * 3 >= FLUSH_BATCH);
  const last = `198.${18 + ((3 * per - 1) >> 8)}.${(3 * per - 1) & 255}.0/24`;
  const shownPath = (p: string) => s.rib.get('inet.0', p)?.attributes?.['AS path'];
  // new prefixes with one resolvable path: in the RIB before the turn ends
  send(0, 3 * per);
  assert.equal(shownPath('198.18.0.0/24'), '65002 I');
  assert.equal(shownPath(last), '65002 I');
  // changes to known prefixes wait for the flush
  send(0, per, path(65002, 65010));
  send(per, per, path(65002, 65010));
  // below the batch: decided at the next turn of the event loop
  assert.equal(shownPath('198.18.0.0/24'), '65002 I');
  send(2 * per, per, path(65002, 65010));
  assert.equal(shownPath('198.18.0.0/24'), '65002 65010 I');
  assert.equal(shownPath(last), '65002 65010 I');
});

test("an UPDATE's new prefixes go to the RIB in runs (one call for many) and leave the RIB, Loc-RIB, counters and exports as one call per prefix does", () => {
  const nlri = (from: number, n: number) => Array.from({ length: n }, (_, i) => `198.${18 + ((from + i) >> 8)}.${(from + i) & 255}.0/24`);
  const run = (runs: boolean) => {
    const s = setup({ a: ebgp(65002, ['10.0.0.2']), b: ebgp(65003, ['10.0.0.3']), c: ebgp(65004, ['10.0.0.4']) });
    let calls = 0;
    let taken = 0;
    if (!runs) Object.defineProperty(s.rib, 'announceFreshRun', { value: undefined });
    else {
      const f = s.rib.announceFreshRun.bind(s.rib);
      s.rib.announceFreshRun = (...args: Parameters<Rib['announceFreshRun']>) => {
        calls++;
        const to = f(...args);
        taken += to - args[2];
        return to;
      };
    }
    // b holds 20 prefixes in the middle of a's first UPDATE; a's second UPDATE is half known, half new
    feed(s, '10.0.0.3', { attrs: { origin: 0, asPath: path(65003, 65010), nextHop: '10.0.0.3' }, nlri: nlri(100, 20) });
    feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2' }, nlri: nlri(0, 300) });
    feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002, 65011), nextHop: '10.0.0.2' }, nlri: nlri(290, 20) });
    // an UPDATE whose next hop does not resolve: nothing installed, nothing taken as a run
    feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '192.0.2.1' }, nlri: nlri(400, 10) });
    const shown = s.rib.show('inet.0').map((e) => ({ prefix: e.prefix, candidates: e.candidates.map((c) => [c.source, c.active, c.route.attributes?.['AS path'], c.route.attributes?.['Selected by'], JSON.stringify(c.forwarding)]) })).sort((x, y) => (x.prefix < y.prefix ? -1 : 1));
    const lt = s.inst.locTable('inet.0')!;
    const loc = [...lt.values()].map((e) => [e.prefix, e.paths.map((q) => q.peer.cfg.address), e.best?.peer.cfg.address, e.step]).sort();
    const counts = ['10.0.0.2', '10.0.0.3', '10.0.0.4'].map((a) => s.inst.peerCounts(s.nb(a)));
    const outC = [...s.inst.adjRibOut(s.nb('10.0.0.4'), 'inet.0')].map(([k, a]) => [k, JSON.stringify(a.asPath)]).sort();
    return { calls, taken, state: { shown, loc, size: lt.size, counts, outC } };
  };
  const runs = run(true), plain = run(false);
  assert.deepEqual(runs.state, plain.state);
  assert.equal(runs.state.outC.length, 310, 'c is sent every resolvable prefix');
  assert.equal(runs.state.size, 320);
  // the first prefix of each run goes one by one (the RIB's run starts there), the rest in
  // the run: b's 19 of 20; a's first UPDATE 99 of 0-99 and 179 of 120-299 (b's 20 between
  // go one by one); its second 9 of the 10 new ones after the 10 it holds; none unresolvable
  assert.equal(runs.taken, 19 + 99 + 179 + 9, 'prefixes taken in runs');
  assert.ok(runs.calls <= 40, `RIB calls for runs: ${runs.calls}`);
  assert.equal(plain.taken, 0);
});

test('update groups: eBGP peers with the same export share one Adj-RIB-Out whatever their AS; an iBGP peer has its own; a route is held back only from its own peer and AS', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2']), b: ebgp(65003, ['10.0.0.3', '10.0.0.4']), i: ibgp(['10.0.0.9']) });
  const sent = new Map<string, Uint8Array[]>();
  for (const addr of ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.9']) {
    sent.set(addr, []);
    s.nb(addr).sendUpdates = (msgs) => void sent.get(addr)!.push(...msgs);
  }
  const groups = [...s.inst.cx.updateGroups.groups.values()].filter((g) => g.table === 'inet.0');
  assert.deepEqual(groups.map((g) => [...g.members].map((m) => m.nb.cfg.address).sort()).sort(), [['10.0.0.2', '10.0.0.3', '10.0.0.4'], ['10.0.0.9']]);
  // from 10.0.0.3 (AS 65003): not to it, nor to 10.0.0.4 in the same AS; 10.0.0.2 and the iBGP peer get it
  feed(s, '10.0.0.3', { attrs: { origin: 0, asPath: path(65003), nextHop: '10.0.0.3' }, nlri: ['192.0.2.0/24'] });
  const has = (addr: string) => s.inst.adjRibOut(s.nb(addr), 'inet.0').has(prefixKeyOfText('192.0.2.0/24'));
  assert.deepEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.9'].map(has), [true, false, false, true]);
  assert.deepEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4'].map((a) => s.inst.peerCounts(s.nb(a))[0]!.advertised), [1, 0, 0]);
  assert.equal(sent.get('10.0.0.3')!.length + sent.get('10.0.0.4')!.length, 0);
  assert.equal(sent.get('10.0.0.2')!.length, 1);
  // withdrawn: the peers that never got it get no withdrawal
  for (const v of sent.values()) v.length = 0;
  feed(s, '10.0.0.3', { withdrawn: ['192.0.2.0/24'] });
  assert.equal(sent.get('10.0.0.3')!.length + sent.get('10.0.0.4')!.length, 0);
  assert.equal(sent.get('10.0.0.2')!.length, 1);
  assert.equal(sent.get('10.0.0.9')!.length, 1);
  assert.equal(has('10.0.0.2'), false);
});

test('a prefix heard from one, two, three peers and back: paths kept in the order they came, best path and Adj-RIB-In at every step', () => {
  const peers = ['10.0.0.2', '10.0.0.3', '10.0.0.4'];
  const s = setup({ a: ebgp(65002, peers) });
  const key = prefixKeyOfText('192.0.2.0/24');
  const lt = () => s.inst.locTable('inet.0')!;
  const peerOf = (addr: string) => s.nb(addr);
  const order = () => lt().get(key)?.paths.map((p) => p.peer.cfg.address) ?? [];
  const announce = (addr: string, hops: number) => feed(s, addr, { attrs: { origin: 0, asPath: path(...Array.from({ length: hops }, () => 65002)), nextHop: addr }, nlri: ['192.0.2.0/24'] });
  announce('10.0.0.2', 3);
  announce('10.0.0.3', 2);
  assert.deepEqual(order(), ['10.0.0.2', '10.0.0.3']);
  assert.equal(lt().get(key)!.size, 2);
  assert.equal(lt().get(key)!.lone, undefined);
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24')!.nexthops[0]!.gateway, '10.0.0.3');
  // the second path replaced in place (same peer), then a third, then the first goes
  announce('10.0.0.3', 4);
  assert.deepEqual(order(), ['10.0.0.2', '10.0.0.3']);
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24')!.nexthops[0]!.gateway, '10.0.0.2');
  announce('10.0.0.4', 1);
  assert.deepEqual(order(), ['10.0.0.2', '10.0.0.3', '10.0.0.4']);
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24')!.nexthops[0]!.gateway, '10.0.0.4');
  feed(s, '10.0.0.2', { withdrawn: ['192.0.2.0/24'] });
  assert.deepEqual(order(), ['10.0.0.3', '10.0.0.4']);
  assert.equal(s.inst.adjRibIn(peerOf('10.0.0.2'), 'inet.0').length, 0);
  assert.equal(s.inst.adjRibIn(peerOf('10.0.0.4'), 'inet.0').length, 1);
  // down to two, then one: the first of the two goes, the second is the lone path (held compact)
  feed(s, '10.0.0.3', { withdrawn: ['192.0.2.0/24'] });
  assert.deepEqual(order(), ['10.0.0.4']);
  assert.equal(lt().get(key)!.lone!.peer, peerOf('10.0.0.4'));
  assert.equal(s.rib.attachedValue('inet.0', key), lt().get(key)!.lone, 'compact again');
  // two again, then the second of the two goes
  announce('10.0.0.2', 5);
  assert.deepEqual(order(), ['10.0.0.4', '10.0.0.2']);
  const pair = s.rib.attachedValue('inet.0', key);
  assert.ok(pair instanceof PathPair, 'two paths: held as a pair');
  assert.equal(pair.first.peer, peerOf('10.0.0.4'));
  assert.equal(pair.second.peer, peerOf('10.0.0.2'));
  assert.equal(lt().get(key)!.best, pair.first);
  feed(s, '10.0.0.2', { withdrawn: ['192.0.2.0/24'] });
  assert.deepEqual(order(), ['10.0.0.4']);
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24')!.nexthops[0]!.gateway, '10.0.0.4');
  feed(s, '10.0.0.4', { withdrawn: ['192.0.2.0/24'] });
  assert.equal(lt().get(key), undefined);
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24'), undefined);
});

test('a peer whose export rejects everything costs no export work per received prefix, and gets the table once its policy lets it', () => {
  const policy: ConfigTree = { 'policy-statement': { NOTHING: { then: { reject: true } }, ALL: { then: { accept: true } } } };
  const s = setup({ a: ebgp(65002, ['10.0.0.2'], { export: ['NOTHING'] }), b: ebgp(65003, ['10.0.0.3'], { export: ['NOTHING'] }) }, policy);
  const engine = s.inst.cx.policy;
  const evaluated: string[][] = [];
  const evaluate = engine.evaluate.bind(engine);
  engine.evaluate = (chain, subject, dflt) => {
    evaluated.push([...chain]);
    return evaluate(chain, subject, dflt);
  };
  const sent: Uint8Array[] = [];
  s.nb('10.0.0.3').sendUpdates = (msgs) => void sent.push(...msgs);
  const nlri = Array.from({ length: 300 }, (_, i) => `10.${(i >> 8) + 1}.${i & 255}.0/24`);
  feed(s, '10.0.0.2', { attrs: { origin: 0, asPath: path(65002), nextHop: '10.0.0.2' }, nlri });
  assert.equal(s.rib.get('inet.0', '10.1.44.0/24')?.protocol, 'bgp', 'received and installed');
  assert.deepEqual(evaluated.filter((c) => c.includes('NOTHING')), [], 'the reject-all export chain is not evaluated per prefix');
  assert.deepEqual(sent, []);
  assert.equal(s.inst.adjRibOut(s.nb('10.0.0.3'), 'inet.0').size, 0);
  // new policies: the same chain now accepts, and the peer gets the whole table
  s.inst.policy = new PolicyEngine({ 'policy-statement': { NOTHING: { then: { accept: true } } } });
  s.inst.softReconfigure();
  s.inst.flush();
  assert.equal(s.inst.adjRibOut(s.nb('10.0.0.3'), 'inet.0').size, nlri.length);
});

test('a prefix from two peers is decided as selectBest decides it (the two-path shortcut), step and next hop, as paths come and go', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2', '10.0.0.4']) });
  // a small generator with a fixed seed: AS path length, origin and MED vary so each step decides some prefixes
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const prefixes = Array.from({ length: 120 }, (_, i) => `192.${168 + (i >> 8)}.${i & 255}.0/24`);
  const attrsOf = (nh: string) => ({ origin: rnd(3), asPath: path(65002, ...Array.from({ length: rnd(3) }, () => 65100 + rnd(50))), nextHop: nh, med: rnd(3) });
  for (const p of prefixes) for (const nh of ['10.0.0.2', '10.0.0.4']) feed(s, nh, { attrs: attrsOf(nh), nlri: [p] });
  const steps = new Set<unknown>();
  const check = () => {
    for (const p of prefixes) {
      const e = s.inst.cx.loc.get('inet.0')!.get(prefixKeyOfText(p))!;
      const want = selectBest(e.paths.filter((x) => x.accepted));
      const r = s.rib.get('inet.0', p);
      assert.equal(r?.nexthops[0]?.gateway, want.best?.attrs.nextHop, p);
      if (r && e.paths.length > 1) assert.equal(r.attributes!['Selected by'], want.step, p);
      steps.add(r?.attributes?.['Selected by']);
    }
  };
  check();
  assert.ok(['AS path length', 'Origin', 'MED', 'Router ID'].every((x) => steps.has(x)), `steps seen: ${[...steps].join(', ')}`);
  // one peer's paths change, then some go: the other is decided alone
  for (const p of prefixes.slice(0, 60)) feed(s, '10.0.0.4', { attrs: attrsOf('10.0.0.4'), nlri: [p] });
  check();
  feed(s, '10.0.0.2', { withdrawn: prefixes.slice(30, 90) });
  check();
});

test('a new prefix decided as it comes, then changed in the same turn: withdrawn, joined by a better path, replaced; counters and exports follow', () => {
  const s = setup({ a: ebgp(65002, ['10.0.0.2']), b: ebgp(65003, ['10.0.0.3']), c: ebgp(65004, ['10.0.0.4']) });
  const sent: Uint8Array[] = [];
  s.nb('10.0.0.4').sendUpdates = (msgs) => void sent.push(...msgs);
  const upd = (addr: string, u: Partial<Update>): void => {
    const d = decodeUpdate(encodeUpdate({ withdrawn: [], attrs: {}, nlri: [], ...u }, DEFAULT_OPTIONS).subarray(19), DEFAULT_OPTIONS);
    assert.ok(d.kind === 'update');
    s.inst.update(s.nb(addr), d);
  };
  const from = (addr: string, asPath: { type: number; asns: number[] }[], nlri: string[]) => upd(addr, { attrs: { origin: 0, asPath, nextHop: addr }, nlri });
  // no flush between the UPDATEs: all of it in one turn of the event loop
  from('10.0.0.2', path(65002, 65010), ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24']);
  upd('10.0.0.2', { withdrawn: ['192.0.2.0/24'] });
  from('10.0.0.3', path(65003), ['198.51.100.0/24']);
  from('10.0.0.2', path(65002), ['203.0.113.0/24']);
  s.inst.flush();
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24'), undefined, 'withdrawn');
  assert.equal(s.rib.get('inet.0', '198.51.100.0/24')?.nexthops[0]?.gateway, '10.0.0.3', 'the shorter path won');
  assert.equal(s.rib.get('inet.0', '198.51.100.0/24')?.attributes?.['Selected by'], 'AS path length');
  assert.equal(s.rib.get('inet.0', '203.0.113.0/24')?.attributes?.['AS path'], '65002 I', 'replaced');
  const summary = s.inst.tableCounts().find((t) => t.table === 'inet.0')!;
  assert.deepEqual({ paths: summary.paths, active: summary.active }, { paths: 3, active: 2 });
  const a = s.inst.peerCounts(s.nb('10.0.0.2')).find((t) => t.table === 'inet.0')!;
  assert.deepEqual({ received: a.received, accepted: a.accepted, active: a.active }, { received: 2, accepted: 2, active: 1 });
  const out4 = s.inst.adjRibOut(s.nb('10.0.0.4'), 'inet.0');
  assert.equal(out4.size, 2);
  assert.equal(out4.get(prefixKeyOfText('198.51.100.0/24'))?.asPath?.[0]?.asns.join(' '), '65001 65003');
  assert.equal(out4.get(prefixKeyOfText('203.0.113.0/24'))?.asPath?.[0]?.asns.join(' '), '65001 65002');
  // what c was sent: never the withdrawn prefix
  const nlri = sent.flatMap((m) => {
    const d = decodeUpdate(m.subarray(19), DEFAULT_OPTIONS);
    return d.kind === 'update' ? d.update.nlri : [];
  });
  assert.deepEqual(nlri.sort(), ['198.51.100.0/24', '203.0.113.0/24']);
});
