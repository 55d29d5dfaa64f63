// Adj-SIDs (RFC 8667 2.2.1) over a live instance: an adjacency whose neighbour gives IPv4 and
// IPv6 addresses gets two labels from the SRLB, advertised in our LSP's IS reachability as an
// IPv4 Adj-SID and an IPv6 one (F flag); mpls.0 pops each toward that neighbour over the
// matching family; both labels go back to the SRLB when the adjacency goes. An IPv6 address
// that appears in the hellos of an adjacency already up gets its IPv6 Adj-SID then (and gives
// it back when it goes). On a LAN (RFC 8667 2.2.2) the labels are LAN-Adj-SIDs in the IS
// reachability toward the pseudonode, one per neighbour, with its system ID.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_L2_ISS, AdjacencyState, encodeIsisFrameHeader, encodePduBytes, ISIS_FRAME_HEADER_LEN, Nlpid, parseAreaAddress, parseSystemId, type Pdu } from '../../../wire/isis/index.js';
import { parseIpv4, parseIpv6 } from '../../../lib/addr.js';
import type { IsisInstance } from './instance.js';
import { lspOf } from './rib.js';
import { OUR_MAC, PEER_MAC, peerFrame, testInstance, withPeer } from './test-instance.js';

const SR = [
  'set protocols isis source-packet-routing srgb start-label 400000 index-range 1000',
  'set protocols isis source-packet-routing srlb start-label 500000 index-range 100',
];

/** The sub-TLVs of our level 2 LSP's IS reachability toward `node` ("0000.0000.0002.00"). */
function reachSubTlvs(inst: IsisInstance, node: string) {
  const own = lspOf(inst.cx.lsdb.get(2)!.get('0000.0000.0001.00-00')!);
  const reach = own.tlvs.find((t) => t.type === 'extended-is-reachability');
  if (reach?.type !== 'extended-is-reachability') return undefined;
  const n = reach.neighbors.find((x) => `${x.neighbor.systemId}.${x.neighbor.pseudonode.toString(16).padStart(2, '0')}` === node);
  return n?.subTlvs;
}

test('an adjacency with IPv4 and IPv6 gets an IPv4 and an IPv6 Adj-SID, advertised and popped toward the neighbour', () => {
  const { inst, rib, now } = withPeer(
    [
      'set protocols isis interface eth1 point-to-point',
      'set protocols isis level 1 disable',
      'set protocols isis source-packet-routing srgb start-label 400000 index-range 1000',
      'set protocols isis source-packet-routing srlb start-label 500000 index-range 100',
    ],
    2,
  );
  const adj = inst.cx.circuits.get('eth1')!.p2p!;
  assert.equal(adj.adjSid, 500000);
  assert.equal(adj.adjSid6, 500001);
  const own = lspOf(inst.cx.lsdb.get(2)!.get('0000.0000.0001.00-00')!);
  const reach = own.tlvs.find((t) => t.type === 'extended-is-reachability');
  assert.ok(reach && reach.type === 'extended-is-reachability');
  const sids = reach.neighbors.find((n) => n.neighbor.systemId === '0000.0000.0002')!.subTlvs.filter((s) => s.type === 'adj-sid');
  assert.deepEqual(sids.map((s) => (s.type === 'adj-sid' ? [s.sid, s.flags.f, s.flags.v, s.flags.l] : [])), [[{ label: 500000 }, false, true, true], [{ label: 500001 }, true, true, true]]);
  const mpls = (label: number) => rib.mpls.get(label)?.action;
  assert.deepEqual(mpls(500000), { action: 'forward', nexthops: [{ gateway: '10.0.0.2', interface: 'eth1', outLabels: [] }] });
  assert.deepEqual(mpls(500001), { action: 'forward', nexthops: [{ gateway: 'fe80::2', interface: 'eth1', outLabels: [] }] });
  // the adjacency goes: both labels are free again, and their mpls.0 entries gone
  inst.linkChanged('eth1', false, now + 10);
  inst.tick(now + 500);
  assert.equal(inst.cx.sr?.adjLabels.size, 0);
  assert.equal(mpls(500000), undefined);
  assert.equal(mpls(500001), undefined);
});

test('an IPv6 address that appears after the adjacency is up gets its IPv6 Adj-SID then, and gives it back when it goes', () => {
  let now = 1000;
  const { inst, rib } = testInstance(['set protocols isis interface eth1 point-to-point', 'set protocols isis level 1 disable', ...SR], now);
  inst.linkChanged('eth1', true, now);
  const hello = (state: number, v6: boolean): Pdu => ({
    kind: 'p2p-hello', maxAreaAddresses: 0, circuitType: 2, sourceId: parseSystemId('0000.0000.0002'), holdingTime: 30, localCircuitId: 1,
    tlvs: [
      { type: 'area-addresses', areas: [parseAreaAddress('49.0001')] },
      { type: 'protocols-supported', nlpids: [Nlpid.Ipv4, Nlpid.Ipv6] },
      { type: 'ipv4-interface-addresses', addresses: [parseIpv4('10.0.0.2')] },
      ...(v6 ? [{ type: 'ipv6-interface-addresses' as const, addresses: [parseIpv6('fe80::2')] }] : []),
      { type: 'p2p-adjacency', adjacency: { state, extLocalCircuitId: 1, neighborSystemId: inst.cx.cfg.systemId, neighborExtCircuitId: inst.cx.circuits.get('eth1')!.extendedId } },
    ],
  });
  for (const state of [AdjacencyState.Initializing, AdjacencyState.Up]) {
    inst.frameReceived('eth1', peerFrame(hello(state, false)), (now += 10));
    inst.tick((now += 10));
  }
  inst.tick((now += 200));
  const adj = inst.cx.circuits.get('eth1')!.p2p!;
  assert.equal(adj.state, 'up');
  assert.equal(adj.adjSid, 500000);
  assert.equal(adj.adjSid6, undefined, 'no IPv6 address, no IPv6 Adj-SID');
  const flagsF = () => (reachSubTlvs(inst, '0000.0000.0002.00') ?? []).map((x) => (x.type === 'adj-sid' ? [x.flags.f, 'label' in x.sid ? x.sid.label : -1] : []));
  assert.deepEqual(flagsF(), [[false, 500000]]);

  // the neighbour's next hello has its link-local address: the IPv6 label comes at once
  inst.frameReceived('eth1', peerFrame(hello(AdjacencyState.Up, true)), (now += 10));
  inst.tick((now += 200));
  assert.equal(adj.adjSid6, 500001);
  assert.deepEqual(flagsF(), [[false, 500000], [true, 500001]]);
  assert.deepEqual(rib.mpls.get(500001)?.action, { action: 'forward', nexthops: [{ gateway: 'fe80::2', interface: 'eth1', outLabels: [] }] });

  // and goes with the address
  inst.frameReceived('eth1', peerFrame(hello(AdjacencyState.Up, false)), (now += 10));
  inst.tick((now += 200));
  assert.equal(adj.adjSid6, undefined);
  assert.equal(inst.cx.sr?.adjLabels.has(500001), false);
  assert.deepEqual(flagsF(), [[false, 500000]]);
  assert.equal(rib.mpls.get(500001), undefined);
});

test('a LAN adjacency: a LAN-Adj-SID toward the pseudonode with the neighbour\'s system ID, popped toward the neighbour', () => {
  let now = 1000;
  const { inst, rib } = testInstance(['set protocols isis interface eth1', 'set protocols isis level 1 disable', ...SR], now);
  inst.linkChanged('eth1', true, now);
  const peer = parseSystemId('0000.0000.0002');
  // a neighbour with a higher priority, listing our MAC: it is the DIS, its pseudonode 7
  const pdu = encodePduBytes({
    kind: 'lan-hello', level: 2, maxAreaAddresses: 0, circuitType: 2, sourceId: peer, holdingTime: 30, priority: 100,
    lanId: { systemId: peer, pseudonode: 7 },
    tlvs: [
      { type: 'area-addresses', areas: [parseAreaAddress('49.0001')] },
      { type: 'ipv4-interface-addresses', addresses: [parseIpv4('10.0.0.2')] },
      { type: 'ipv6-interface-addresses', addresses: [parseIpv6('fe80::2')] },
      { type: 'is-neighbors', neighbors: [OUR_MAC] },
    ],
  });
  const f = new Uint8Array(ISIS_FRAME_HEADER_LEN + pdu.length);
  encodeIsisFrameHeader(ALL_L2_ISS, PEER_MAC, pdu.length, f, 0);
  f.set(pdu, ISIS_FRAME_HEADER_LEN);
  inst.frameReceived('eth1', f, (now += 10));
  inst.tick((now += 200));
  assert.equal(inst.cx.circuits.get('eth1')!.dis.get(2), '0000.0000.0002.07');
  const subs = (reachSubTlvs(inst, '0000.0000.0002.07') ?? []).map((x) => (x.type === 'lan-adj-sid' ? [x.neighborSystemId, x.flags.f, x.flags.v, x.flags.l, 'label' in x.sid ? x.sid.label : -1] : [x.type]));
  assert.deepEqual(subs, [['0000.0000.0002', false, true, true, 500000], ['0000.0000.0002', true, true, true, 500001]]);
  assert.deepEqual(rib.mpls.get(500000)?.action, { action: 'forward', nexthops: [{ gateway: '10.0.0.2', interface: 'eth1', outLabels: [] }] });
  assert.deepEqual(rib.mpls.get(500001)?.action, { action: 'forward', nexthops: [{ gateway: 'fe80::2', interface: 'eth1', outLabels: [] }] });
});
