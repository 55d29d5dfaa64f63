// Adj-SIDs (RFC 8667 2.2.1) over a live instance: an adjacency whose neighbour gives IPv4 and
// IPv6 addresses gets two labels from the SRLB, advertised in our LSP's IS reachability as an
// IPv4 Adj-SID and an IPv6 one (F flag); mpls.0 pops each toward that neighbour over the
// matching family; both labels go back to the SRLB when the adjacency goes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lspOf } from './rib.js';
import { withPeer } from './test-instance.js';

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
