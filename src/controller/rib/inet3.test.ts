/**
 * inet.3 (the MPLS tunnels to remote PEs that IS-IS SR computes) in the RIB: labeled BGP
 * next hops resolve through it, the tunnel's transport labels over their own
 * label, with ECMP over equal SR paths; a tunnel coming or going re-resolves them; a watch or
 * lookup in inet.3 (BGP's VPN next hops) answers with the tunnel or falls back to inet.0; and
 * inet.3 itself is neither forwarded nor shown while empty. Routes are injected as IS-IS
 * announces them (protocol isis, preference 18, a gateway and interface per next hop).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rib, type RibChange } from './rib.js';
import type { RibRoute } from './types.js';

const PE2 = '10.255.0.2';

function direct(prefix: string, ifname: string): RibRoute {
  return { prefix, protocol: 'direct', preference: 0, nexthops: [{ interface: ifname }] };
}

/** An SR tunnel as IS-IS puts it in inet.3: one next hop per equal-cost path, each with its out-label (none: PHP). */
function tunnel(prefix: string, paths: [gateway: string, ifname: string, labels: number[]][]): RibRoute {
  return { prefix, protocol: 'isis', preference: 18, metric: 20, nexthops: paths.map(([gateway, ifname, labels]) => (labels.length ? { gateway, interface: ifname, labels } : { gateway, interface: ifname })) };
}

function fabric(): Rib {
  const rib = new Rib();
  rib.announce('inet.0', 'direct:eth1', direct('10.0.12.0/24', 'eth1'));
  rib.announce('inet.0', 'direct:eth2', direct('10.0.13.0/24', 'eth2'));
  // IS-IS's plain route to PE2's loopback, over eth1 only
  rib.announce('inet.0', 'isis', { prefix: `${PE2}/32`, protocol: 'isis', preference: 18, nexthops: [{ gateway: '10.0.12.2', interface: 'eth1' }] });
  return rib;
}

/** A BGP labeled-unicast route: its next hop PE2, recursive, the peer's label pushed. */
const labeledUnicast: RibRoute = { prefix: '198.51.100.0/24', protocol: 'bgp', preference: 170, nexthops: [{ gateway: PE2, recursive: true, labels: [1000] }] };

test('a labeled BGP next hop resolves through inet.3: transport labels over the service label, ECMP over equal SR paths', () => {
  const rib = fabric();
  const changes: RibChange[] = [];
  rib.subscribe((c) => changes.push(c));
  rib.announce('inet.0', 'bgp', labeledUnicast);
  // no tunnel yet: through inet.0's route, the label alone
  assert.deepEqual(rib.getFib('inet.0', '198.51.100.0/24')?.nexthops, [{ gateway: '10.0.12.2', interface: 'eth1', labels: [1000] }]);
  // IS-IS computes two equal SR paths (the neighbours' SRGBs differ: 400000 and 500000, PE2's index 2)
  rib.announce('inet.3', 'isis', tunnel(`${PE2}/32`, [['10.0.12.2', 'eth1', [400002]], ['10.0.13.3', 'eth2', [500002]]]));
  assert.deepEqual(rib.getFib('inet.0', '198.51.100.0/24')?.nexthops, [
    { gateway: '10.0.12.2', interface: 'eth1', labels: [400002, 1000] },
    { gateway: '10.0.13.3', interface: 'eth2', labels: [500002, 1000] },
  ]);
  assert.equal(changes.at(-1)?.prefix, '198.51.100.0/24', 'the FIB export hears of the new next hops');
  // one path fails: the route follows the tunnel
  rib.announce('inet.3', 'isis', tunnel(`${PE2}/32`, [['10.0.13.3', 'eth2', [500002]]]));
  assert.deepEqual(rib.getFib('inet.0', '198.51.100.0/24')?.nexthops, [{ gateway: '10.0.13.3', interface: 'eth2', labels: [500002, 1000] }]);
  // PE2 is the neighbour itself (PHP): no transport label, the service label alone
  rib.announce('inet.3', 'isis', tunnel(`${PE2}/32`, [['10.0.12.2', 'eth1', []]]));
  assert.deepEqual(rib.getFib('inet.0', '198.51.100.0/24')?.nexthops, [{ gateway: '10.0.12.2', interface: 'eth1', labels: [1000] }]);
  // the tunnel goes: back to inet.0
  rib.announce('inet.3', 'isis', tunnel(`${PE2}/32`, [['10.0.13.3', 'eth2', [500002]]]));
  rib.withdraw('inet.3', 'isis', `${PE2}/32`);
  assert.deepEqual(rib.getFib('inet.0', '198.51.100.0/24')?.nexthops, [{ gateway: '10.0.12.2', interface: 'eth1', labels: [1000] }]);
});

test('a next hop without labels resolves in its own table; inet.3 is not forwarded and not shown while empty', () => {
  const rib = fabric();
  rib.announce('inet.0', 'bgp', { prefix: '203.0.113.0/24', protocol: 'bgp', preference: 170, nexthops: [{ gateway: PE2, recursive: true }] });
  rib.announce('inet.0', 'bgp', labeledUnicast);
  assert.ok(!rib.tableNames().includes('inet.3'), 'resolving through an empty inet.3 does not make it a table to show');
  rib.announce('inet.3', 'isis', tunnel(`${PE2}/32`, [['10.0.13.3', 'eth2', [500002]]]));
  assert.deepEqual(rib.getFib('inet.0', '203.0.113.0/24')?.nexthops, [{ gateway: '10.0.12.2', interface: 'eth1' }], 'plain BGP stays on inet.0');
  assert.ok(rib.tableNames().includes('inet.3'));
  assert.deepEqual([...rib.fibRoutes()].filter((r) => r.table === 'inet.3'), [], 'inet.3 is a resolution table, not a FIB');
  // IPv6 likewise, through inet6.3
  rib.announce('inet6.0', 'direct:eth1', direct('2001:db8:12::/64', 'eth1'));
  rib.announce('inet6.0', 'bgp', { prefix: '2001:db8:100::/48', protocol: 'bgp', preference: 170, nexthops: [{ gateway: '2001:db8:ff::2', recursive: true, labels: [2] }] });
  assert.equal(rib.getFib('inet6.0', '2001:db8:100::/48'), undefined, 'no route to the PE yet');
  rib.announce('inet6.3', 'isis', tunnel('2001:db8:ff::2/128', [['fe80::2', 'eth1', [401002]]]));
  assert.deepEqual(rib.getFib('inet6.0', '2001:db8:100::/48')?.nexthops, [{ gateway: 'fe80::2', interface: 'eth1', labels: [401002, 2] }]);
});

test('a watch or lookup in inet.3 answers with the tunnel, or else with inet.0, and says when that changes', () => {
  const rib = fabric();
  const seen: (string | undefined)[] = [];
  const stop = rib.watch('inet.3', PE2, (r) => seen.push(r ? `${r.protocol} ${r.nexthops.map((n) => `${n.gateway}/${n.labels?.join('.') ?? '-'}`).join(',')}` : undefined));
  assert.equal(rib.lookup('inet.3', PE2)?.nexthops[0]?.gateway, '10.0.12.2');
  rib.announce('inet.3', 'isis', tunnel(`${PE2}/32`, [['10.0.12.2', 'eth1', [400002]], ['10.0.13.3', 'eth2', [500002]]]));
  assert.deepEqual(rib.lookup('inet.3', PE2)?.nexthops.map((n) => n.labels), [[400002], [500002]]);
  // a change in inet.0 under a tunnel does not matter to the watcher
  rib.announce('inet.0', 'static', { prefix: '10.255.0.0/16', protocol: 'static', preference: 5, nexthops: [{ gateway: '10.0.13.3' }] });
  rib.withdraw('inet.3', 'isis', `${PE2}/32`);
  rib.withdraw('inet.0', 'isis', `${PE2}/32`);
  rib.withdraw('inet.0', 'static', '10.255.0.0/16');
  assert.equal(rib.lookup('inet.3', PE2), undefined);
  stop();
  rib.announce('inet.3', 'isis', tunnel(`${PE2}/32`, [['10.0.12.2', 'eth1', [400002]]]));
  assert.deepEqual(seen, [
    'isis 10.0.12.2/-',
    'isis 10.0.12.2/400002,10.0.13.3/500002',
    'isis 10.0.12.2/-',
    'static 10.0.13.3/-',
    undefined,
  ]);
});
