import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCniArgs, parseNetConf, readEnv, requireEnv } from './config.js';
import { CniError } from './errors.js';
import { attachmentNames } from './names.js';

const base = { cniVersion: '1.0.0', name: 'pods', type: 'cnr-cni', instanceName: 'blue', ipam: { type: 'host-local', subnet: '10.1.0.0/24' } };

function code(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e.code;
    throw e;
  }
  return 0;
}

test('a minimal config gets the documented defaults', () => {
  const c = parseNetConf(JSON.stringify(base));
  assert.equal(c.instanceType, 'vrf');
  assert.equal(c.interfaceType, 'veth');
  assert.equal(c.mtu, 1500);
  assert.equal(c.stateDir, '/var/lib/cnr');
  assert.equal(c.ipamType, 'host-local');
  assert.equal(c.txChecksumOffload, false);
});

test('configs are rejected with the spec error codes', () => {
  const conf = (o: Record<string, unknown>) => () => parseNetConf(JSON.stringify({ ...base, ...o }));
  assert.equal(code(() => parseNetConf('{"cniVersion": "1.0.0",')), 6);
  assert.equal(code(() => parseNetConf('[1]')), 6);
  assert.equal(code(conf({ cniVersion: '0.2.0' })), 1);
  assert.equal(code(conf({ cniVersion: undefined })), 1);
  assert.equal(code(conf({ instanceName: undefined })), 7);
  assert.equal(code(conf({ instanceName: 'has space' })), 7);
  assert.equal(code(conf({ instanceType: 'bridge' })), 7);
  assert.equal(parseNetConf(JSON.stringify({ ...base, interfaceType: 'tap' })).interfaceType, 'tap');
  assert.equal(code(conf({ interfaceType: 'tap', vlanId: 10 })), 7);
  assert.equal(code(conf({ interfaceType: 'tap', mtu: 9001 })), 7);
  assert.equal(code(conf({ interfaceType: 'macvlan' })), 7);
  assert.equal(code(conf({ mtu: 100 })), 7);
  assert.equal(code(conf({ mtu: '1500' })), 7);
  assert.equal(code(conf({ vlanId: 4095 })), 7);
  assert.equal(code(conf({ vrfTarget: '65000:1' })), 7);
  assert.equal(code(conf({ vrfTarget: 'target:65000:1', instanceType: 'virtual-router' })), 7);
  assert.equal(code(conf({ name: '' })), 7);
  assert.equal(code(conf({ ipam: 'host-local' })), 7);
  assert.equal(code(conf({ prevResult: { ips: 3 } })), 6);
  assert.equal(code(conf({ vrfTarget: 'target:65000:1', vlanId: 100, mtu: 9000 })), 0);
});

test('the environment is checked per command (code 4)', () => {
  const env = readEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' });
  assert.equal(code(() => requireEnv(env, { containerId: true, netns: true })), 4);
  assert.equal(code(() => requireEnv(env, { containerId: true, ifname: true, path: true })), 0);
  assert.equal(code(() => requireEnv(readEnv({ CNI_IFNAME: 'a-name-that-is-too-long' }), { ifname: true })), 4);
  assert.equal(code(() => requireEnv(readEnv({ CNI_CONTAINERID: '../etc' }), { containerId: true })), 4);
  assert.deepEqual([...parseCniArgs('IgnoreUnknown=1;K8S_POD_NAME=web')], [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'web']]);
  assert.equal(code(() => parseCniArgs('novalue')), 4);
});

test('attachment names are deterministic, distinct and fit the kernel limit', () => {
  const a = attachmentNames('c0ffee', 'eth0');
  assert.deepEqual(a, attachmentNames('c0ffee', 'eth0'));
  assert.notEqual(a.hostVeth, attachmentNames('c0ffee', 'eth1').hostVeth);
  assert.equal(a.hostVeth.length, 15);
  assert.match(a.group, /^cni-[0-9a-f]{12}$/);
  assert.match(a.hostMac, /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/);
  assert.notEqual(a.hostMac, a.podMac);
});

test('bridgeDomain: an L2 pod needs no instance or IPAM; vlanId names the domain VLAN, for a TAP too', () => {
  const l2 = { cniVersion: '1.0.0', name: 'pods', type: 'cnr-cni', bridgeDomain: 'bd100' };
  const c = parseNetConf(JSON.stringify(l2));
  assert.equal(c.bridgeDomain, 'bd100');
  assert.equal(c.instanceName, '');
  assert.equal(c.ipamType, undefined);
  assert.equal(parseNetConf(JSON.stringify({ ...l2, interfaceType: 'tap', vlanId: 100 })).vlanId, 100);
  const conf = (o: Record<string, unknown>) => () => parseNetConf(JSON.stringify({ ...l2, ...o }));
  assert.equal(code(conf({ instanceName: 'blue' })), 7);
  assert.equal(code(conf({ vrfTarget: 'target:65000:1' })), 7);
  assert.equal(code(conf({ interfaceType: 'memif' })), 7);
  assert.equal(code(conf({ bridgeDomain: 'bad name' })), 7);
  assert.equal(code(conf({ bridgeDomain: undefined })), 7);
});
