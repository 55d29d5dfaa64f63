import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, formatResult, parseResult } from './result.js';
import { CniError } from './errors.js';

const v040 = {
  cniVersion: '0.4.0',
  interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/var/run/netns/p' }],
  ips: [
    { version: '4', interface: 0, address: '10.1.0.5/24', gateway: '10.1.0.1' },
    { version: '6', interface: 0, address: 'fd00::5/64', gateway: 'fd00::1' },
  ],
  routes: [{ dst: '0.0.0.0/0' }],
  dns: { nameservers: ['10.1.0.53'] },
};

test('a 0.4.0 result read and written back as 0.4.0 is unchanged', () => {
  assert.deepEqual(formatResult(parseResult(v040), '0.4.0'), v040);
});

test('1.0.0 results drop the ip version field; 0.3.1 results name it', () => {
  const r = parseResult(v040);
  const v1 = formatResult(r, '1.0.0') as { ips: Record<string, unknown>[] };
  assert.equal(v1.ips[0]!.version, undefined);
  assert.equal(v1.ips[1]!.address, 'fd00::5/64');
  const v031 = formatResult(r, '0.3.1') as { ips: Record<string, unknown>[]; cniVersion: string };
  assert.equal(v031.cniVersion, '0.3.1');
  assert.deepEqual(v031.ips.map((i) => i.version), ['4', '6']);
});

test('interface and route attributes of 1.1.0 appear only in 1.1.0 results', () => {
  const r = parseResult({ cniVersion: '1.1.0', interfaces: [{ name: 'eth0', mtu: 9000 }], routes: [{ dst: '::/0', gw: 'fd00::1', mtu: 1400, table: 7 }] });
  assert.deepEqual(formatResult(r, '1.1.0').routes, [{ dst: '::/0', gw: 'fd00::1', mtu: 1400, table: 7 }]);
  assert.deepEqual(formatResult(r, '1.1.0').interfaces, [{ name: 'eth0', mtu: 9000 }]);
  assert.deepEqual(formatResult(r, '1.0.0').routes, [{ dst: '::/0', gw: 'fd00::1' }]);
  assert.deepEqual(formatResult(r, '1.0.0').interfaces, [{ name: 'eth0' }]);
});

test('malformed results are decode errors (code 6)', () => {
  for (const bad of [null, [], { ips: {} }, { ips: [{ gateway: '1.2.3.4' }] }, { routes: [{ gw: '1.1.1.1' }] }, { interfaces: [{ mac: 'x' }] }]) {
    assert.throws(() => parseResult(bad), (e: unknown) => e instanceof CniError && e.code === 6, JSON.stringify(bad));
  }
});

test('versions compare numerically', () => {
  assert.equal(compareVersions('0.10.0', '0.4.0'), 1);
  assert.equal(compareVersions('1.0.0', '1.0.0'), 0);
  assert.equal(compareVersions('0.3.1', '0.4.0'), -1);
});
