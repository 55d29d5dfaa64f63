import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addCommands, deleteCommands, groupStatements } from './controller.js';

test('an attachment group holds the interface, the instance membership and the pod routes', () => {
  const s = groupStatements({
    group: 'cni-0123456789ab',
    hostVeth: 'cnr0123456789ab',
    instanceName: 'blue',
    instanceType: 'vrf',
    vrfTarget: 'target:65000:1',
    mtu: 1500,
    pods: [
      { address: '10.1.0.5', family: 4, gateway: '10.1.0.1' },
      { address: 'fd00:1::5', family: 6, gateway: 'fd00:1::1' },
    ],
    containerId: 'abc',
    ifname: 'eth0',
  });
  assert.deepEqual(s, [
    'set groups cni-0123456789ab interfaces cnr0123456789ab description "cnr-cni abc eth0"',
    'set groups cni-0123456789ab interfaces cnr0123456789ab mtu 1500',
    'set groups cni-0123456789ab interfaces cnr0123456789ab unit 0 family inet address 10.1.0.1/32',
    'set groups cni-0123456789ab interfaces cnr0123456789ab unit 0 family inet6 address fd00:1::1/128',
    'set groups cni-0123456789ab routing-instances blue instance-type vrf',
    'set groups cni-0123456789ab routing-instances blue vrf-target target:65000:1',
    'set groups cni-0123456789ab routing-instances blue interface cnr0123456789ab',
    'set groups cni-0123456789ab routing-instances blue routing-options static route 10.1.0.5/32 qualified-next-hop 10.1.0.5 interface cnr0123456789ab',
    'set groups cni-0123456789ab routing-instances blue routing-options rib blue.inet6.0 static route fd00:1::5/128 qualified-next-hop fd00:1::5 interface cnr0123456789ab',
    'set apply-groups cni-0123456789ab',
  ]);
});

test('ADD and DEL are single transactions with a comment', () => {
  const add = addCommands({ group: 'g', hostVeth: 'h', instanceName: 'red', instanceType: 'virtual-router', vlanId: 7, mtu: 9000, pods: [], containerId: 'c', ifname: 'eth1', podName: 'default/web-0' });
  assert.ok(add.includes('set groups g interfaces h description "cnr-cni default/web-0 c eth1"'));
  assert.deepEqual(add.slice(0, 2), ['configure private', 'delete groups g']);
  assert.ok(add.includes('set groups g interfaces h vlan-id 7'));
  assert.equal(add.at(-1), 'commit comment "cnr-cni ADD c eth1"');
  assert.deepEqual(deleteCommands('g', 'c', 'eth1'), ['configure private', 'delete apply-groups g', 'delete groups g', 'commit comment "cnr-cni DEL c eth1"']);
});

test('the default instance puts the interface and routes in the main tables', () => {
  const s = groupStatements({
    group: 'g',
    hostVeth: 'h',
    instanceName: 'default',
    instanceType: 'vrf',
    mtu: 1500,
    pods: [
      { address: '10.1.0.2', family: 4, gateway: '10.1.0.1' },
      { address: '2001:db8:1::2', family: 6, gateway: '2001:db8:1::1' },
    ],
    containerId: 'c',
    ifname: 'eth0',
  });
  assert.ok(!s.some((l) => l.includes('routing-instances')), s.join('\n'));
  assert.ok(s.includes('set groups g routing-options static route 10.1.0.2/32 qualified-next-hop 10.1.0.2 interface h'));
  assert.ok(s.includes('set groups g routing-options rib inet6.0 static route 2001:db8:1::2/128 qualified-next-hop 2001:db8:1::2 interface h'));
});

test('a tap attachment asks the vRouter for a TAP with the router MAC of the attachment', () => {
  const s = groupStatements({ group: 'g', hostVeth: 'h', instanceName: 'blue', instanceType: 'vrf', mtu: 1500, pods: [], containerId: 'c', ifname: 'eth0', tap: { routerMac: '02:aa:bb:cc:dd:ee' } });
  assert.ok(s.includes('set groups g interfaces h vrouter driver tap'), s.join('\n'));
  assert.ok(s.includes('set groups g interfaces h mac-address 02:aa:bb:cc:dd:ee'), s.join('\n'));
  const veth = groupStatements({ group: 'g', hostVeth: 'h', instanceName: 'blue', instanceType: 'vrf', mtu: 1500, pods: [], containerId: 'c', ifname: 'eth0' });
  assert.ok(!veth.some((l) => l.includes('vrouter') || l.includes('mac-address')));
});

test('a bridge-domain attachment makes the host side an access port: no address, instance or route', () => {
  const s = groupStatements({
    group: 'g', hostVeth: 'h', instanceName: '', instanceType: 'vrf', mtu: 1500, containerId: 'c', ifname: 'eth0', bridge: { vlanId: 100 },
    pods: [{ address: '10.100.0.11', family: 4, gateway: '10.100.0.1' }],
  });
  assert.deepEqual(s, [
    'set groups g interfaces h description "cnr-cni c eth0"',
    'set groups g interfaces h mtu 1500',
    'set groups g interfaces h unit 0 family bridge interface-mode access',
    'set groups g interfaces h unit 0 family bridge vlan-id 100',
    'set apply-groups g',
  ]);
});

test("the pod's MAC makes each pod address a static neighbour under its gateway address (arp, ndp)", () => {
  const s = groupStatements({
    group: 'g', hostVeth: 'h', instanceName: 'blue', instanceType: 'vrf', mtu: 1500, containerId: 'c', ifname: 'eth0', podMac: '02:11:22:33:44:55',
    pods: [{ address: '10.1.0.5', family: 4, gateway: '10.1.0.1' }, { address: 'fd00:1::5', family: 6, gateway: 'fd00:1::1' }],
  });
  assert.ok(s.includes('set groups g interfaces h unit 0 family inet address 10.1.0.1/32 arp 10.1.0.5 mac 02:11:22:33:44:55'), s.join('\n'));
  assert.ok(s.includes('set groups g interfaces h unit 0 family inet6 address fd00:1::1/128 ndp fd00:1::5 mac 02:11:22:33:44:55'), s.join('\n'));
  const without = groupStatements({ group: 'g', hostVeth: 'h', instanceName: 'blue', instanceType: 'vrf', mtu: 1500, containerId: 'c', ifname: 'eth0', pods: [{ address: '10.1.0.5', family: 4, gateway: '10.1.0.1' }] });
  assert.ok(!without.some((l) => / arp | ndp /.test(l)), 'no MAC (a memif pod): no static neighbour');
});
