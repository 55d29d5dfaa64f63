// L3VPN and labeled unicast in the instance, fed decoded UPDATEs: what lands in bgp.l3vpn.0,
// which VRF imports it (route targets), what a VRF exports (RD, RT, label), and mpls.0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rib } from '../../rib/rib.js';
import { PolicyEngine } from '../../policy/index.js';
import { DEFAULT_OPTIONS, Safi, decodeUpdate, encodeUpdate, emptyCapabilities, parseExtCommunity, type PathAttributes, type Update } from '../../../wire/bgp/index.js';
import { resolveAll, splitVpnKey, VPN_TABLE4, VPN_TABLE6, type PeerConfig } from './config.js';
import { BgpInstance } from './instance.js';
import { forwardRibChange, forwardRibWants } from './speaker.js';
import type { Neighbor } from './neighbor.js';
import type { ConfigTree } from '../../types.js';

const PE2 = '10.0.0.2';

function tree(vrfs: ConfigTree, family: ConfigTree = { 'inet-vpn': { unicast: {} }, 'inet6-vpn': { unicast: {} } }, group: ConfigTree = {}): ConfigTree {
  return {
    'routing-options': { 'router-id': '10.255.0.1', 'autonomous-system': 65000 },
    protocols: { bgp: { group: { core: { type: 'internal', family, neighbor: { [PE2]: {} }, ...group } } } },
    'routing-instances': vrfs,
  };
}

const BLUE = { 'instance-type': 'vrf', 'route-distinguisher': '10.255.0.1:1', 'vrf-target': { community: 'target:65000:1' } };
const RED = { 'instance-type': 'vrf', 'route-distinguisher': '10.255.0.1:2', 'vrf-target': { community: 'target:65000:2' } };

interface Setup {
  rib: Rib;
  inst: BgpInstance;
  nb: Neighbor;
  sent: Uint8Array[];
}

function setup(t: ConfigTree, policy: ConfigTree = {}, peer = PE2): Setup {
  const rib = new Rib();
  rib.announce('inet.0', 'direct', { prefix: '10.0.0.0/24', protocol: 'direct', preference: 0, nexthops: [{ interface: 'core0' }] });
  const cfg = resolveAll(t).find((c) => c.name === 'master')!;
  const ribRoutes = (table: string) => (table === 'blue.inet.0' ? [rib.get(table, '10.1.0.0/24')].filter((r) => r !== undefined) : []);
  const inst = new BgpInstance(cfg, new PolicyEngine(policy), rib, () => {}, { peerPort: () => 1, connectRetryTime: 3600, idleHoldTime: 0 }, ribRoutes);
  // as the speaker wires it (a VRF's table: BGP's own changes too)
  const sub = rib.subscribe((c) => forwardRibChange([inst], c), (table, protocol) => forwardRibWants([inst], table, protocol));
  inst.cx.shadowed.onNewTable = () => sub.refilter();
  for (const q of cfg.peers.values()) if (q.address !== peer) up(inst, q, []);
  const p = cfg.peers.get(peer)!;
  const sent: Uint8Array[] = [];
  const nb = up(inst, p, sent);
  return { rib, inst, nb, sent };
}

/** A neighbor in Established by hand, what it is sent collected in `sent`. */
function up(inst: BgpInstance, p: PeerConfig, sent: Uint8Array[]): Neighbor {
  const nb = inst.addNeighbor({ ...p, passive: true });
  nb.families = p.families;
  nb.peerRouterId = Number(p.address.split('.')[3]);
  nb.peerOpen = { version: 4, myAs: 65000, holdTime: 90, bgpId: nb.peerRouterId, capabilities: { ...emptyCapabilities(), routeRefresh: true } };
  nb.fsm = { ...nb.fsm, state: 'Established', holdTime: 90 };
  nb.sendUpdates = (msgs: Uint8Array[]) => void sent.push(...msgs);
  nb.send = (m: Uint8Array) => void sent.push(m);
  inst.sessionUp(nb);
  return nb;
}

function feed(s: Setup, u: Partial<Update>): void {
  const full: Update = { withdrawn: [], attrs: {}, nlri: [], ...u };
  const d = decodeUpdate(encodeUpdate(full, DEFAULT_OPTIONS).subarray(19), DEFAULT_OPTIONS);
  assert.ok(d.kind === 'update');
  s.inst.update(s.nb, d);
  s.inst.flush();
}

const rt = (...targets: string[]): Uint8Array => {
  const out = new Uint8Array(targets.length * 8);
  for (const [i, x] of targets.entries()) out.set(parseExtCommunity(x)!, i * 8);
  return out;
};

const vpnAttrs = (targets: string[]): PathAttributes => ({ origin: 0, asPath: [], localPref: 100, extCommunities: rt(...targets) });

function announceVpn(s: Setup, rd: string, prefix: string, label: number, targets: string[], afi = 1, nextHop = PE2): void {
  feed(s, { attrs: vpnAttrs(targets), mpReach: { afi, safi: Safi.MplsVpn, nextHop, prefixes: [prefix], labels: [[label]], rds: [rd] } });
}

/** The UPDATEs sent, decoded (MP_REACH/MP_UNREACH of VPN families). */
function decodedSent(s: Setup) {
  return s.sent.map((m) => decodeUpdate(m.subarray(19), DEFAULT_OPTIONS)).filter((d) => d.kind === 'update');
}

test('VPN routes land in bgp.l3vpn.0 by RD:prefix and only in VRFs importing one of their targets', () => {
  const s = setup(tree({ blue: BLUE, red: RED }));
  announceVpn(s, '65000:100', '192.0.2.0/24', 3001, ['target:65000:1']);
  announceVpn(s, '65000:100', '2001:db8:1::/48', 3002, ['target:65000:1'], 2, '::ffff:10.0.0.2');
  const e = s.inst.locTable(VPN_TABLE4)!.get('65000:100:192.0.2.0/24')!;
  assert.deepEqual(e.best!.labels, [3001]);
  assert.ok(s.inst.locTable(VPN_TABLE6)!.get('65000:100:2001:db8:1::/48')!.best, 'inet6-vpn route with an IPv4-mapped next hop resolves in inet.0');
  const r = s.rib.get('blue.inet.0', '192.0.2.0/24')!;
  assert.equal(r.protocol, 'bgp');
  assert.deepEqual(r.nexthops, [{ gateway: PE2, interface: 'core0', labels: [3001] }]);
  assert.equal(r.attributes!['Route distinguisher'], '65000:100');
  assert.deepEqual(s.rib.get('blue.inet6.0', '2001:db8:1::/48')!.nexthops, [{ gateway: PE2, interface: 'core0', labels: [3002] }]);
  assert.equal(s.rib.get('red.inet.0', '192.0.2.0/24'), undefined, 'red imports target:65000:2 only');
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24'), undefined, 'nothing leaks into inet.0');
  // the imported route is not exported back as one of blue's own
  assert.equal(s.inst.adjRibOut(s.nb, VPN_TABLE4).get('10.255.0.1:1:192.0.2.0/24'), undefined);
  const counts = s.inst.tableCounts().find((t) => t.table === VPN_TABLE4)!;
  assert.deepEqual([counts.paths, counts.active], [1, 1]);
});

test('withdrawal, a second RD for the same prefix, and an unreachable PE', () => {
  const s = setup(tree({ blue: BLUE }));
  announceVpn(s, '65000:100', '192.0.2.0/24', 3001, ['target:65000:1']);
  announceVpn(s, '65000:200', '192.0.2.0/24', 3005, ['target:65000:1']);
  assert.ok(s.rib.get('blue.inet.0', '192.0.2.0/24'));
  feed(s, { mpUnreach: { afi: 1, safi: Safi.MplsVpn, prefixes: ['192.0.2.0/24'], rds: ['65000:100'] } });
  assert.equal(s.inst.locTable(VPN_TABLE4)!.get('65000:100:192.0.2.0/24'), undefined);
  assert.deepEqual(s.rib.get('blue.inet.0', '192.0.2.0/24')!.nexthops[0]!.labels, [3005], 'the other RD still reaches it');
  feed(s, { mpUnreach: { afi: 1, safi: Safi.MplsVpn, prefixes: ['192.0.2.0/24'], rds: ['65000:200'] } });
  assert.equal(s.rib.get('blue.inet.0', '192.0.2.0/24'), undefined);
  // a PE the core cannot reach: nothing in the VRF until it can
  announceVpn(s, '65000:100', '198.51.100.0/24', 3010, ['target:65000:1'], 1, '172.16.9.9');
  assert.equal(s.rib.get('blue.inet.0', '198.51.100.0/24'), undefined);
  s.rib.announce('inet.0', 'static', { prefix: '172.16.9.9/32', protocol: 'static', preference: 5, nexthops: [{ gateway: '10.0.0.7' }] });
  s.inst.flush();
  assert.deepEqual(s.rib.get('blue.inet.0', '198.51.100.0/24')!.nexthops, [{ gateway: '10.0.0.7', interface: 'core0', labels: [3010] }]);
});

test('a route-target change or VRF removal withdraws what was imported; labels are released', () => {
  const s = setup(tree({ blue: BLUE }));
  announceVpn(s, '65000:100', '192.0.2.0/24', 3001, ['target:65000:1']);
  assert.ok(s.rib.get('blue.inet.0', '192.0.2.0/24'));
  const label = s.inst.vrfLabel('blue')!;
  assert.ok(label >= 16, `a dynamic label (${label})`);
  s.inst.cfg = resolveAll(tree({ blue: { ...BLUE, 'vrf-target': { community: 'target:65000:9' } } })).find((c) => c.name === 'master')!;
  s.inst.reconfigureVrfs();
  s.inst.flush();
  assert.equal(s.rib.get('blue.inet.0', '192.0.2.0/24'), undefined, 'no longer imported');
  assert.equal(s.inst.vrfLabel('blue'), label, 'same VRF, same label');
  s.inst.cfg = resolveAll(tree({ blue: BLUE })).find((c) => c.name === 'master')!;
  s.inst.reconfigureVrfs();
  s.inst.flush();
  assert.ok(s.rib.get('blue.inet.0', '192.0.2.0/24'), 'imported again');
  s.inst.cfg = resolveAll(tree({})).find((c) => c.name === 'master')!;
  s.inst.reconfigureVrfs();
  s.inst.flush();
  assert.equal(s.rib.get('blue.inet.0', '192.0.2.0/24'), undefined, 'VRF gone');
  assert.equal(s.inst.vrfLabel('blue'), undefined);
  assert.equal(s.inst.mpls.size, 0);
});

test('VRF export: RD, export target, next hop self and the VRF label; mpls.0 pops into the VRF', () => {
  const s = setup(tree({ blue: BLUE, red: RED }));
  s.rib.announce('blue.inet.0', 'direct', { prefix: '10.1.0.0/24', protocol: 'direct', preference: 0, nexthops: [{ interface: 'pod1' }] });
  s.inst.flush();
  const label = s.inst.vrfLabel('blue')!;
  assert.notEqual(label, s.inst.vrfLabel('red'), 'one label per VRF');
  assert.deepEqual(s.inst.mpls.entries().find((e) => e.label === label)?.action, { action: 'pop-lookup', vrf: 'blue' });
  const out = s.inst.adjRibOut(s.nb, VPN_TABLE4).get('10.255.0.1:1:10.1.0.0/24')!;
  assert.ok(out, 'advertised');
  const ups = decodedSent(s).filter((d) => d.update.mpReach?.safi === Safi.MplsVpn);
  const last = ups.at(-1)!.update;
  assert.deepEqual(last.mpReach!.prefixes, ['10.1.0.0/24']);
  assert.deepEqual(last.mpReach!.rds, ['10.255.0.1:1']);
  assert.deepEqual(last.mpReach!.labels, [[label]]);
  assert.equal(last.mpReach!.nextHop, '10.255.0.1');
  assert.deepEqual([...last.attrs.extCommunities!], [...rt('target:65000:1')]);
  assert.equal(last.attrs.localPref, 100);
  // the route goes: withdrawn with its RD
  s.sent.length = 0;
  s.rib.withdraw('blue.inet.0', 'direct', '10.1.0.0/24');
  s.inst.flush();
  const wd = decodedSent(s).find((d) => d.update.mpUnreach?.safi === Safi.MplsVpn)!.update.mpUnreach!;
  assert.deepEqual([wd.prefixes, wd.rds], [['10.1.0.0/24'], ['10.255.0.1:1']]);
});

test("a CE's BGP route in a VRF (the VRF's own BGP puts it there) is exported as a VPN route and withdrawn with it", () => {
  const s = setup(tree({ blue: BLUE }));
  s.rib.announce('blue.inet.0', 'bgp-ce', { prefix: '10.9.0.0/24', protocol: 'bgp', preference: 170, nexthops: [{ interface: 'pod1' }] });
  s.inst.flush();
  assert.ok(s.inst.adjRibOut(s.nb, VPN_TABLE4).get('10.255.0.1:1:10.9.0.0/24'), 'advertised with the VRF\'s RD');
  s.sent.length = 0;
  s.rib.withdraw('blue.inet.0', 'bgp-ce', '10.9.0.0/24');
  s.inst.flush();
  assert.equal(s.inst.adjRibOut(s.nb, VPN_TABLE4).get('10.255.0.1:1:10.9.0.0/24'), undefined);
  const wd = decodedSent(s).find((d) => d.update.mpUnreach?.safi === Safi.MplsVpn)?.update.mpUnreach;
  assert.deepEqual([wd?.prefixes, wd?.rds], [['10.9.0.0/24'], ['10.255.0.1:1']]);
});

test('a VRF exporting IPv4 and IPv6 routes: each VPN family gets its own next hop form', () => {
  const s = setup(tree({ blue: BLUE }));
  s.rib.announce('blue.inet.0', 'direct', { prefix: '10.1.0.0/24', protocol: 'direct', preference: 0, nexthops: [{ interface: 'pod1' }] });
  s.rib.announce('blue.inet6.0', 'direct', { prefix: 'fd00:1::/64', protocol: 'direct', preference: 0, nexthops: [{ interface: 'pod1' }] });
  s.inst.flush();
  const reach = decodedSent(s).map((d) => d.update.mpReach).filter((m) => m?.safi === Safi.MplsVpn);
  assert.deepEqual(reach.map((m) => [m!.afi, m!.prefixes[0], m!.nextHop]).sort(), [[1, '10.1.0.0/24', '10.255.0.1'], [2, 'fd00:1::/64', '::ffff:aff:1']]);
});

test('a session coming up gets the VRF routes, then End-of-RIB per VPN family; route refresh resends them', () => {
  const s = setup(tree({ blue: BLUE }));
  s.rib.announce('blue.inet.0', 'direct', { prefix: '10.1.0.0/24', protocol: 'direct', preference: 0, nexthops: [{ interface: 'pod1' }] });
  s.inst.flush();
  s.sent.length = 0;
  s.inst.sessionDown(s.nb, true);
  s.inst.sessionUp(s.nb);
  const ds = decodedSent(s);
  assert.ok(ds.some((d) => d.update.mpReach?.rds?.[0] === '10.255.0.1:1'));
  assert.deepEqual(ds.filter((d) => d.endOfRib).map((d) => `${d.endOfRib!.afi}/${d.endOfRib!.safi}`).sort(), ['1/128', '2/128']);
  s.sent.length = 0;
  s.inst.routeRefresh(s.nb, { afi: 1, safi: Safi.MplsVpn, subtype: 0 });
  assert.ok(decodedSent(s).some((d) => d.update.mpReach?.prefixes[0] === '10.1.0.0/24'));
});

test('labeled unicast: the received label is pushed; own routes go out with implicit null', () => {
  const s = setup(tree({}, { inet: { 'labeled-unicast': {} } }));
  assert.deepEqual(s.nb.families.map((f) => f.key), ['1/4']);
  feed(s, { attrs: { origin: 0, asPath: [], localPref: 100 }, mpReach: { afi: 1, safi: Safi.LabeledUnicast, nextHop: PE2, prefixes: ['192.0.2.0/24'], labels: [[777]] } });
  const r = s.rib.get('inet.0', '192.0.2.0/24')!;
  assert.deepEqual(r.nexthops, [{ gateway: PE2, recursive: true, labels: [777] }]);
  feed(s, { attrs: { origin: 0, asPath: [], localPref: 100 }, mpReach: { afi: 1, safi: Safi.LabeledUnicast, nextHop: PE2, prefixes: ['198.51.100.0/24'], labels: [[3]] } });
  assert.deepEqual(s.rib.get('inet.0', '198.51.100.0/24')!.nexthops, [{ gateway: PE2, recursive: true }], 'implicit null pushes nothing');
  feed(s, { mpUnreach: { afi: 1, safi: Safi.LabeledUnicast, prefixes: ['192.0.2.0/24'] } });
  assert.equal(s.rib.get('inet.0', '192.0.2.0/24'), undefined);
});

test('RD:prefix keys split at the RD, also around IPv6 prefixes', () => {
  assert.deepEqual(splitVpnKey('65000:1:10.0.0.0/8'), { rd: '65000:1', prefix: '10.0.0.0/8' });
  assert.deepEqual(splitVpnKey('10.255.0.1:7:2001:db8::/32'), { rd: '10.255.0.1:7', prefix: '2001:db8::/32' });
  assert.deepEqual(splitVpnKey('4200000000L:1:::/0'), { rd: '4200000000L:1', prefix: '::/0' });
});

test('removing a VRF withdraws its VPN routes from peers', () => {
  const s = setup(tree({ blue: BLUE, red: RED }));
  s.rib.announce('red.inet.0', 'static', { prefix: '10.2.0.0/24', protocol: 'static', preference: 5, nexthops: [], action: 'discard' });
  s.inst.flush();
  assert.ok(s.inst.adjRibOut(s.nb, VPN_TABLE4).get('10.255.0.1:2:10.2.0.0/24'));
  s.sent.length = 0;
  s.inst.cfg = resolveAll(tree({ blue: BLUE })).find((c) => c.name === 'master')!;
  s.inst.reconfigureVrfs();
  s.inst.flush();
  assert.equal(s.inst.adjRibOut(s.nb, VPN_TABLE4).get('10.255.0.1:2:10.2.0.0/24'), undefined);
  const wd = decodedSent(s).find((d) => d.update.mpUnreach?.safi === Safi.MplsVpn)?.update.mpUnreach;
  assert.deepEqual(wd?.rds, ['10.255.0.1:2']);
});

test('labeled unicast export: own routes with implicit null, or explicit null when configured', () => {
  const policy = { 'policy-statement': { statics: { term: { t: { from: { protocol: 'static' }, then: { accept: true } } } } } };
  for (const [lu, want] of [[{}, 3], [{ 'explicit-null': true }, 0]] as const) {
    const s = setup(tree({}, { inet: { 'labeled-unicast': lu } }, { export: ['statics'] }), policy);
    s.rib.announce('inet.0', 'static', { prefix: '203.0.113.0/24', protocol: 'static', preference: 5, nexthops: [], action: 'discard' });
    s.inst.ribChanged('inet.0', '203.0.113.0/24');
    s.inst.flush();
    const u = decodedSent(s).find((d) => d.update.mpReach?.safi === Safi.LabeledUnicast)?.update.mpReach;
    assert.deepEqual([u?.prefixes, u?.labels, u?.nextHop], [['203.0.113.0/24'], [[want]], '10.255.0.1'], JSON.stringify(lu));
  }
});

test('vrf-import and vrf-export policies decide instead of vrf-target', () => {
  const policy: ConfigTree = {
    community: { rt7: { members: ['target:65000:7'] }, rt5: { members: ['target:65000:5'] } },
    'policy-statement': {
      imp: { term: { t: { from: { community: ['rt7'] }, then: { accept: true } } } },
      exp: { term: { t: { from: { protocol: ['direct'] }, then: { community: { add: ['rt5'] }, accept: true } } } },
    },
  };
  const s = setup(tree({ blue: { ...BLUE, 'vrf-import': ['imp'], 'vrf-export': ['exp'] } }), policy);
  announceVpn(s, '65000:100', '192.0.2.0/24', 3001, ['target:65000:7']);
  announceVpn(s, '65000:100', '198.51.100.0/24', 3002, ['target:65000:1']);
  assert.ok(s.rib.get('blue.inet.0', '192.0.2.0/24'), 'imported by policy');
  assert.equal(s.rib.get('blue.inet.0', '198.51.100.0/24'), undefined, 'vrf-target import no longer applies; the policy rejects by default');
  s.rib.announce('blue.inet.0', 'direct', { prefix: '10.1.0.0/24', protocol: 'direct', preference: 0, nexthops: [{ interface: 'pod1' }] });
  s.rib.announce('blue.inet.0', 'static', { prefix: '10.9.0.0/24', protocol: 'static', preference: 5, nexthops: [], action: 'discard' });
  s.inst.flush();
  const out = s.inst.adjRibOut(s.nb, VPN_TABLE4);
  assert.equal(out.get('10.255.0.1:1:10.9.0.0/24'), undefined, 'the export policy rejects the static route');
  assert.deepEqual([...out.get('10.255.0.1:1:10.1.0.0/24')!.extCommunities!], [...rt('target:65000:1', 'target:65000:5')], 'vrf-target export plus the policy\'s target');
});

test('vpn-encapsulation mpls-over-udp: the VRF route is an MPLS-over-UDP next hop from the session address to the PE', () => {
  const s = setup(tree({ blue: BLUE }, undefined, { 'vpn-encapsulation': 'mpls-over-udp', 'local-address': '10.0.0.1' }));
  announceVpn(s, '65000:100', '192.0.2.0/24', 3001, ['target:65000:1']);
  assert.deepEqual(s.rib.get('blue.inet.0', '192.0.2.0/24')!.nexthops, [{ gateway: PE2, udpSource: '10.0.0.1', labels: [3001] }]);
  const [e] = s.rib.show('blue.inet.0', { prefix: '192.0.2.0/24', exact: true });
  assert.deepEqual(e!.candidates[0]!.forwarding, [{ gateway: PE2, udpSource: '10.0.0.1', labels: [3001] }], 'the FIB next hop needs no resolution in the VRF');
});

test('graceful restart helper: VPN routes are kept (and stay in the VRF) only when the peer preserves the VPN family', () => {
  for (const [fams, kept] of [[[{ afi: 1, safi: Safi.MplsVpn, forwardingPreserved: true }], true], [[{ afi: 1, safi: 1, forwardingPreserved: true }], false]] as const) {
    const s = setup(tree({ blue: BLUE }));
    announceVpn(s, '65000:100', '192.0.2.0/24', 3001, ['target:65000:1']);
    s.nb.peerOpen = { ...s.nb.peerOpen!, capabilities: { ...s.nb.peerOpen!.capabilities, gracefulRestart: { restarting: false, notification: false, time: 60, families: [...fams] } } };
    s.inst.sessionDown(s.nb, false);
    s.inst.flush();
    assert.equal(s.rib.get('blue.inet.0', '192.0.2.0/24') !== undefined, kept, JSON.stringify(fams));
    s.inst.stop();
  }
});

test("route reflection: a client's VPN route goes to another client with its RD, label and next hop unchanged", () => {
  const t = tree({}, undefined, { cluster: '10.255.0.1', neighbor: { [PE2]: {}, '10.0.0.3': {} } });
  const s = setup(t, {}, PE2);
  const other = [...s.inst.neighbors.values()].find((n) => n.cfg.address === '10.0.0.3')!;
  const sent: Uint8Array[] = [];
  other.sendUpdates = (msgs: Uint8Array[]) => void sent.push(...msgs);
  announceVpn(s, '65000:100', '192.0.2.0/24', 3001, ['target:65000:1']);
  const m = sent.map((x) => decodeUpdate(x.subarray(19), DEFAULT_OPTIONS)).filter((d) => d.kind === 'update').map((d) => d.update).find((u) => u.mpReach?.safi === Safi.MplsVpn)!;
  assert.deepEqual([m.mpReach!.rds, m.mpReach!.prefixes, m.mpReach!.labels, m.mpReach!.nextHop], [['65000:100'], ['192.0.2.0/24'], [[3001]], PE2]);
  assert.equal(m.attrs.originatorId, '0.0.0.2');
  assert.deepEqual(m.attrs.clusterList, ['10.255.0.1']);
  assert.equal(s.inst.adjRibOut(s.nb, VPN_TABLE4).get('65000:100:192.0.2.0/24'), undefined, 'not back to where it came from');
});

test('a VPN next hop resolves over the SR tunnels in inet.3: transport label over the VPN label, ECMP, back to inet.0 when they go', () => {
  const s = setup(tree({ blue: BLUE }));
  s.rib.announce('inet.0', 'direct', { prefix: '10.0.1.0/24', protocol: 'direct', preference: 0, nexthops: [{ interface: 'core1' }] });
  s.rib.announce('inet.0', 'static', { prefix: '172.16.9.9/32', protocol: 'static', preference: 5, nexthops: [{ gateway: '10.0.0.7' }] });
  announceVpn(s, '65000:100', '198.51.100.0/24', 3010, ['target:65000:1'], 1, '172.16.9.9');
  assert.deepEqual(s.rib.get('blue.inet.0', '198.51.100.0/24')!.nexthops, [{ gateway: '10.0.0.7', interface: 'core0', labels: [3010] }]);
  // IS-IS SR: two equal paths to the PE's loopback, each neighbour's SRGB giving its out-label
  const tunnel = (paths: [string, string, number][]) => s.rib.announce('inet.3', 'isis', { prefix: '172.16.9.9/32', protocol: 'isis', preference: 18, nexthops: paths.map(([gateway, ifname, label]) => ({ gateway, interface: ifname, labels: [label] })) });
  tunnel([['10.0.0.7', 'core0', 400009], ['10.0.1.7', 'core1', 500009]]);
  s.inst.flush();
  assert.deepEqual(s.rib.get('blue.inet.0', '198.51.100.0/24')!.nexthops, [
    { gateway: '10.0.0.7', interface: 'core0', labels: [400009, 3010] },
    { gateway: '10.0.1.7', interface: 'core1', labels: [500009, 3010] },
  ]);
  s.rib.withdraw('inet.3', 'isis', '172.16.9.9/32');
  s.inst.flush();
  assert.deepEqual(s.rib.get('blue.inet.0', '198.51.100.0/24')!.nexthops, [{ gateway: '10.0.0.7', interface: 'core0', labels: [3010] }]);
});
