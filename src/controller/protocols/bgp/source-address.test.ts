// Source address choice as a table: peer, the router's interfaces, the route toward the peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseSourceAddress, type RouteTowardPeer, type SourceInterface } from './source-address.js';

const interfaces: SourceInterface[] = [
  { name: 'lo0', addresses: ['192.0.2.1/32', '2001:db8:ffff::1/128'] },
  { name: 'ge-0', addresses: ['10.1.0.1/24', '10.1.0.129/25', 'fe80::1/64', '2001:db8:1::1/64'] },
  { name: 'ge-1', addresses: ['10.2.0.1/30', '2001:db8:2::1/64'] },
  { name: 'ge-2', addresses: ['fe80::2/64'] },
];

const rows: { peer: string; route?: RouteTowardPeer; want: string | undefined; why: string }[] = [
  { peer: '10.2.0.2', want: '10.2.0.1', why: 'the peer on a connected subnet: that interface\'s address, not the first one' },
  { peer: '10.1.0.200', want: '10.1.0.129', why: 'the longest connected subnet holding the peer' },
  { peer: '10.1.0.5', want: '10.1.0.1', why: 'only the /24 holds it' },
  { peer: '2001:db8:2::2', want: '2001:db8:2::1', why: 'IPv6 likewise' },
  { peer: '10.9.9.9', route: { interface: 'ge-1', gateway: '10.2.0.2' }, want: '10.2.0.1', why: 'further away: the address on the next hop\'s subnet' },
  { peer: '10.9.9.9', route: { interface: 'ge-0', gateway: '10.1.0.200' }, want: '10.1.0.129', why: 'of the interface\'s addresses, the one on the gateway\'s subnet' },
  { peer: '10.9.9.9', route: { interface: 'ge-0' }, want: '10.1.0.1', why: 'no gateway: the interface\'s first address of the family' },
  { peer: '2001:db8:9::9', route: { interface: 'ge-0', gateway: 'fe80::99' }, want: '2001:db8:1::1', why: 'a link-local gateway: a global address of the interface, never its link-local one' },
  { peer: '2001:db8:9::9', route: { interface: 'ge-2', gateway: 'fe80::99' }, want: undefined, why: 'only link-local there: the kernel chooses' },
  { peer: '10.9.9.9', want: undefined, why: 'no route and no subnet: the kernel chooses' },
  { peer: '10.9.9.9', route: { interface: 'absent0' }, want: undefined, why: 'a route out of an interface cnr does not know' },
  { peer: '192.0.2.1', want: undefined, why: 'a /32 is no subnet to share' },
  { peer: 'not-an-address', want: undefined, why: 'nothing to choose for' },
];

for (const r of rows) {
  test(`source for ${r.peer}${r.route ? ` via ${r.route.interface}` : ''}: ${r.why}`, () => {
    assert.equal(chooseSourceAddress(r.peer, interfaces, r.route), r.want);
  });
}
