/** The MTU `cnr start` sizes its packet buffers for when no --max-mtu is given. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configuredMaxMtu, largestMtu } from './configured-mtu.js';

test('largestMtu reads interface and family MTUs and names the statement', () => {
  assert.equal(largestMtu({}), undefined);
  assert.deepEqual(largestMtu({ interfaces: { eth1: { mtu: 1500 }, eth2: { mtu: 9000, unit: { 0: { family: { inet: { mtu: 1400 } } } } } } }), { mtu: 9000, from: 'interfaces eth2 mtu' });
  assert.deepEqual(largestMtu({ interfaces: { eth1: { unit: { 0: { family: { inet6: { mtu: 4000 } } } } } } }), { mtu: 4000, from: 'interfaces eth1 unit 0 family inet6 mtu' });
});

test('configuredMaxMtu: the larger of the startup file and the newest stored commit; a file that does not parse counts for nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnr-mtu-'));
  try {
    const file = join(dir, 'router.conf');
    writeFileSync(file, 'set interfaces eth1 mtu 9000\nset interfaces eth1 unit 0 family inet address 10.0.0.1/24\n');
    const state = join(dir, 'state');
    assert.equal(configuredMaxMtu(undefined, state), undefined);
    assert.deepEqual(configuredMaxMtu(file, state), { mtu: 9000, from: `interfaces eth1 mtu 9000 in ${file}` });
    mkdirSync(join(state, 'config'), { recursive: true });
    const commit = (seq: number, mtu: number) =>
      writeFileSync(join(state, 'config', `commit-${String(seq).padStart(8, '0')}.json`), JSON.stringify({ seq, user: 'u', time: new Date(0).toISOString(), config: { interfaces: { eth2: { mtu } } } }));
    commit(1, 9500);
    commit(2, 4000);
    assert.deepEqual(configuredMaxMtu(file, state), { mtu: 9000, from: `interfaces eth1 mtu 9000 in ${file}` });
    commit(10, 9600);
    assert.deepEqual(configuredMaxMtu(undefined, state), { mtu: 9600, from: 'interfaces eth2 mtu 9600 in commit 10' });
    writeFileSync(file, 'interfaces { eth1 { mtu 9000 ');
    assert.equal(configuredMaxMtu(file, state)?.mtu, 9600);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
