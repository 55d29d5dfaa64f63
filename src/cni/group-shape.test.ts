/** groupShape (plugin.ts): which attachments' statements may share one schema check. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupShape } from './plugin.js';
import { groupStatements, type GroupSpec } from './controller.js';
import { attachmentNames } from './names.js';

function statements(containerId: string, ifname: string, over: Partial<GroupSpec> = {}): { n: ReturnType<typeof attachmentNames>; s: string[] } {
  const n = attachmentNames(containerId, ifname);
  const spec: GroupSpec = {
    group: n.group,
    hostVeth: n.hostVeth,
    instanceName: 'blue',
    instanceType: 'vrf',
    mtu: 1500,
    pods: [{ address: '192.0.2.2', family: 4, gateway: '192.0.2.1' }],
    containerId,
    ifname,
    podMac: n.podMac,
    ...over,
  };
  return { n, s: groupStatements(spec) };
}

test('pods of one network config have one shape; another config, state directory or an unusual description does not share it', () => {
  const a = statements('pod-a', 'eth0');
  const b = statements('pod-b', 'net1', { podName: 'shop/web-1' });
  const shapeA = groupShape('/var/lib/cnr', a.n, a.s);
  assert.ok(shapeA);
  assert.equal(groupShape('/var/lib/cnr', b.n, b.s), shapeA, 'names, MACs and description are the attachment\'s own');
  assert.ok(!shapeA.includes(a.n.group) && !shapeA.includes(a.n.hostVeth) && !shapeA.includes(a.n.podMac));
  assert.notEqual(groupShape('/other', a.n, a.s), shapeA);
  const mtu = statements('pod-c', 'eth0', { mtu: 9000 });
  assert.notEqual(groupShape('/var/lib/cnr', mtu.n, mtu.s), shapeA);
  const vrf = statements('pod-d', 'eth0', { instanceName: 'red' });
  assert.notEqual(groupShape('/var/lib/cnr', vrf.n, vrf.s), shapeA);
  // an ifname with a quote or backslash is checked as it is (it may not parse as the others do)
  const q = statements('pod-e', 'e"th0');
  const shapeQ = groupShape('/var/lib/cnr', q.n, q.s);
  assert.ok(shapeQ === undefined || shapeQ.includes('e"th0'), String(shapeQ));
  const bs = statements('pod-f', 'e\\th0');
  const shapeB = groupShape('/var/lib/cnr', bs.n, bs.s);
  assert.ok(shapeB === undefined || shapeB.includes('e\\th0'), String(shapeB));
  const star = statements('pod-g', 'e*th0');
  assert.equal(groupShape('/var/lib/cnr', star.n, star.s), undefined);
});
