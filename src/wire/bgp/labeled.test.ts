// Packing labeled unicast and VPN prefixes: what packLabeledUpdates/packLabeledWithdrawals
// write decodes back to the same prefixes, RDs, labels and next hop, across message limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Afi, DEFAULT_OPTIONS, Safi, decodeUpdate, encodeAttributeBlock, packLabeledUpdates, packLabeledWithdrawals, type LabeledPrefix } from './index.js';

function decode(m: Uint8Array) {
  const d = decodeUpdate(m.subarray(19), DEFAULT_OPTIONS);
  assert.ok(d.kind === 'update');
  assert.deepEqual(d.problems, []);
  return d.update;
}

test('VPNv4 and VPNv6 announcements round-trip: RD, label, prefix, next hop behind a zero RD', () => {
  const block = encodeAttributeBlock({ origin: 0, asPath: [], localPref: 100, nextHop: '10.255.0.1' }, Afi.Ipv4, DEFAULT_OPTIONS, false);
  const routes: LabeledPrefix[] = [
    { rd: '10.255.0.1:1', prefix: '10.1.0.0/24', labels: [16] },
    { rd: '65000:4294967295', prefix: '0.0.0.0/0', labels: [1048575] },
    { rd: '4200000000L:7', prefix: '192.0.2.128/25', labels: [100, 200] },
  ];
  const [m] = packLabeledUpdates(block, Afi.Ipv4, Safi.MplsVpn, routes, DEFAULT_OPTIONS, { nextHop: '10.255.0.1' });
  const u = decode(m!);
  assert.equal(u.attrs.nextHop, undefined, 'no NEXT_HOP attribute: the next hop is in MP_REACH');
  assert.equal(u.mpReach!.nextHop, '10.255.0.1');
  assert.deepEqual(u.mpReach!.prefixes, routes.map((r) => r.prefix));
  assert.deepEqual(u.mpReach!.rds, routes.map((r) => r.rd));
  assert.deepEqual(u.mpReach!.labels, routes.map((r) => r.labels));
  const [m6] = packLabeledUpdates(block, Afi.Ipv6, Safi.MplsVpn, [{ rd: '1:1', prefix: '2001:db8::/32', labels: [20] }], DEFAULT_OPTIONS, { nextHop: '::ffff:10.255.0.1' });
  const u6 = decode(m6!);
  assert.deepEqual([u6.mpReach!.afi, u6.mpReach!.prefixes, u6.mpReach!.rds, u6.mpReach!.labels], [2, ['2001:db8::/32'], ['1:1'], [[20]]]);
});

test('withdrawals carry the RD and the 0x800000 label; many prefixes split into several messages', () => {
  const routes: LabeledPrefix[] = Array.from({ length: 1000 }, (_, i) => ({ rd: `65000:${i}`, prefix: `10.${i >> 8}.${i & 255}.0/24` }));
  const msgs = packLabeledWithdrawals(Afi.Ipv4, Safi.MplsVpn, routes, DEFAULT_OPTIONS);
  assert.ok(msgs.length > 1);
  const got = msgs.flatMap((m) => {
    assert.ok(m.length <= 4096);
    const u = decode(m).mpUnreach!;
    return u.prefixes.map((p, i) => `${u.rds![i]}:${p}`);
  });
  assert.deepEqual(got, routes.map((r) => `${r.rd}:${r.prefix}`));
  const block = encodeAttributeBlock({ origin: 0, asPath: [] }, Afi.Ipv4, DEFAULT_OPTIONS, false);
  const ann = packLabeledUpdates(block, Afi.Ipv4, Safi.MplsVpn, routes.map((r) => ({ ...r, labels: [16] })), DEFAULT_OPTIONS, { nextHop: '10.0.0.1' });
  assert.equal(ann.flatMap((m) => decode(m).mpReach!.prefixes).length, 1000);
});

test('labeled unicast: implicit null when no label is given', () => {
  const block = encodeAttributeBlock({ origin: 0, asPath: [] }, Afi.Ipv4, DEFAULT_OPTIONS, false);
  const [m] = packLabeledUpdates(block, Afi.Ipv4, Safi.LabeledUnicast, [{ prefix: '192.0.2.0/24' }, { prefix: '198.51.100.0/24', labels: [0] }], DEFAULT_OPTIONS, { nextHop: '10.0.0.1' });
  const u = decode(m!);
  assert.deepEqual([u.mpReach!.safi, u.mpReach!.labels, u.mpReach!.rds], [4, [[3], [0]], undefined]);
});
