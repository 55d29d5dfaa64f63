// Source address choice as a table: peer, the router's interfaces, the route toward the peer;
// then the speaker's part: interfaces from the committed configuration, routes from the RIB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseSourceAddress, type RouteTowardPeer, type SourceInterface } from './source-address.js';
import { Rib } from '../../rib/rib.js';
import { createBgp } from './index.js';
import type { ConfigTree } from '../../types.js';

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

test('the speaker chooses from the committed interfaces and the RIB; `primary` goes first', async () => {
  const rib = new Rib();
  // what the RIB holds toward peers further away: a route with a gateway, one out of an interface only
  rib.announce('inet.0', 'static', { prefix: '10.9.0.0/16', protocol: 'static', preference: 5, nexthops: [{ gateway: '10.1.0.200', interface: 'ge-0' }] });
  rib.announce('inet.0', 'static', { prefix: '10.8.0.0/16', protocol: 'static', preference: 5, nexthops: [{ interface: 'ge-3' }] });
  const bgp = createBgp(rib, { port: false });
  const addr = (list: string[], primary?: string): ConfigTree => ({ address: Object.fromEntries(list.map((a): [string, ConfigTree] => [a, a === primary ? { primary: true } : {}])) });
  await bgp.consumer.apply({
    interfaces: {
      'ge-0': { unit: { '0': { family: { inet: addr(['10.1.0.1/24', '10.1.0.129/25']) } } } },
      'ge-1': { unit: { '0': { family: { inet: addr(['10.2.0.1/30']), inet6: addr(['2001:db8:2::1/64']) } } } },
      'ge-3': { unit: { '0': { family: { inet: addr(['10.3.0.1/24', '10.3.1.1/24'], '10.3.1.1/24') } } } },
      'ge-9': { disable: true, unit: { '0': { family: { inet: addr(['10.99.0.1/24']) } } } },
    },
  }, {});
  assert.equal(bgp.speaker.sourceAddress('master', '10.2.0.2'), '10.2.0.1');
  assert.equal(bgp.speaker.sourceAddress('master', '2001:db8:2::2'), '2001:db8:2::1');
  assert.equal(bgp.speaker.sourceAddress('master', '10.9.1.1'), '10.1.0.129', 'via the gateway\'s subnet');
  assert.equal(bgp.speaker.sourceAddress('master', '10.8.1.1'), '10.3.1.1', 'the primary address of the route\'s interface');
  assert.equal(bgp.speaker.sourceAddress('master', '10.99.0.2'), undefined, 'a disabled interface is no source');
  assert.equal(bgp.speaker.sourceAddress('other', '10.2.0.2'), undefined, 'another routing instance has its own interfaces');
  await bgp.stop();
});
