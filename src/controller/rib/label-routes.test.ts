/**
 * Label routes in the RIB's mpls.0 as IS-IS announces them (RibApi.announce('mpls.0', ...),
 * keyed by the in-label as text): what they become in the MplsTable the FIB export sends,
 * how they are withdrawn and flushed per source, and what is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rib } from './rib.js';
import type { MplsRoute } from './mpls.js';
import type { RibRoute } from './types.js';

const route = (label: string, nexthops: RibRoute['nexthops'], extra: Partial<RibRoute> = {}): RibRoute => ({ prefix: label, protocol: 'isis', preference: 14, nexthops, ...extra });

test('announce, replace, withdraw and flush label routes; the FIB export hears each change', () => {
  const rib = new Rib();
  const heard: [number, MplsRoute | undefined][] = [];
  rib.mpls.subscribe((l, r) => heard.push([l, r]));
  rib.announce('mpls.0', 'isis-l2', route('400002', [{ gateway: '10.0.0.2', interface: 'eth1', labels: [500002] }, { gateway: '10.0.1.2', interface: 'eth2', labels: [600002] }]));
  rib.announce('mpls.0', 'isis-l2', route('400003', [{ gateway: '10.0.0.2', interface: 'eth1', labels: [3] }]));
  rib.announce('mpls.0', 'isis-l2', route('400001', [], { action: 'receive' }));
  rib.announceShared!('mpls.0', 'isis-l1', '24001', route('ignored', [{ gateway: '10.0.1.2', interface: 'eth2', labels: [] }]));
  assert.deepEqual(rib.mpls.get(400002)?.action, {
    action: 'forward',
    nexthops: [
      { gateway: '10.0.0.2', interface: 'eth1', outLabels: [500002] },
      { gateway: '10.0.1.2', interface: 'eth2', outLabels: [600002] },
    ],
  });
  assert.deepEqual(rib.mpls.get(400003)?.action, { action: 'forward', nexthops: [{ gateway: '10.0.0.2', interface: 'eth1', outLabels: [] }] }, 'implicit null pops');
  assert.deepEqual(rib.mpls.get(400001)?.action, { action: 'pop-lookup', vrf: 'default' });
  assert.equal(rib.mpls.get(24001)?.owner, 'isis-l1 24001');
  // the same route again changes nothing; a new out-label is one change
  const n = heard.length;
  rib.announce('mpls.0', 'isis-l2', route('400002', [{ gateway: '10.0.0.2', interface: 'eth1', labels: [500002] }, { gateway: '10.0.1.2', interface: 'eth2', labels: [600002] }]));
  assert.equal(heard.length, n);
  rib.announce('mpls.0', 'isis-l2', route('400002', [{ gateway: '10.0.0.2', interface: 'eth1', labels: [500012] }]));
  assert.equal(heard.length, n + 1);
  rib.withdraw('mpls.0', 'isis-l1', '400002');
  assert.ok(rib.mpls.get(400002), 'another source cannot withdraw it');
  rib.withdraw('mpls.0', 'isis-l2', '400002');
  assert.equal(rib.mpls.get(400002), undefined);
  assert.deepEqual(heard.at(-1), [400002, undefined]);
  rib.flush('mpls.0', 'isis-l2');
  assert.deepEqual(rib.mpls.entries().map((e) => e.label), [24001], "only the other source's label is left");
  assert.ok(!rib.tableNames().includes('mpls.0'), 'no prefix table is made for it');
});

test('label routes that cannot be are refused with the reason; dynamic labels are not taken over', () => {
  const rib = new Rib();
  assert.throws(() => rib.announce('mpls.0', 'isis-l2', route('10.0.0.0/8', [])), /not a label/);
  assert.throws(() => rib.announce('mpls.0', 'isis-l2', route('12', [])), /not a label/);
  assert.throws(() => rib.announce('mpls.0', 'isis-l2', route('400002', [{ gateway: '10.0.0.2', labels: [5] }])), /names no interface/);
  const vpn = rib.mpls.allocate('vrf blue', { action: 'pop-lookup', vrf: 'blue' });
  rib.announce('mpls.0', 'isis-l2', route(String(vpn), [{ gateway: '10.0.0.2', interface: 'eth1', labels: [7000] }]));
  assert.deepEqual(rib.mpls.get(vpn)?.action, { action: 'pop-lookup', vrf: 'blue' });
  assert.equal(rib.mpls.conflicts, 1);
});
