import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listRecords, readRecord, removeRecord, withLock, writeRecord } from './state.js';
import { CniError } from './errors.js';

const dir = mkdtempSync(join(tmpdir(), 'cnr-cni-state-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('holders of the lock never overlap', async () => {
  const lock = join(dir, 'a', 'controller.lock');
  let inside = 0;
  let most = 0;
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      withLock(lock, async () => {
        inside++;
        most = Math.max(most, inside);
        await new Promise((r) => setTimeout(r, 2));
        order.push(i);
        inside--;
      }),
    ),
  );
  assert.equal(most, 1);
  assert.equal(order.length, 10);
});

test('a lock left by a dead process is broken; a live holder makes waiters give up with code 11', async () => {
  const lock = join(dir, 'stale.lock');
  writeFileSync(lock, '999999999'); // no such pid
  assert.equal(await withLock(lock, async () => 'got it', 1000), 'got it');
  writeFileSync(lock, String(process.ppid)); // alive, and not us
  await assert.rejects(
    withLock(lock, async () => 'never', 50),
    (e: unknown) => e instanceof CniError && e.code === 11,
  );
  rmSync(lock);
});

test('attachment records are written, listed per network and removed', () => {
  const rec = { containerId: 'c1', ifname: 'eth0', netns: '/x', hostVeth: 'cnrx', group: 'cni-x', instanceName: 'blue', ips: ['10.0.0.2/32'], created: 'now' };
  writeRecord(dir, 'net1', rec);
  writeRecord(dir, 'net1', { ...rec, containerId: 'c2' });
  writeRecord(dir, 'net2', { ...rec, containerId: 'c3' });
  assert.deepEqual(readRecord(dir, 'net1', 'c1', 'eth0'), rec);
  assert.deepEqual(listRecords(dir, 'net1').map((r) => r.containerId).sort(), ['c1', 'c2']);
  removeRecord(dir, 'net1', 'c1', 'eth0');
  removeRecord(dir, 'net1', 'c1', 'eth0');
  assert.equal(readRecord(dir, 'net1', 'c1', 'eth0'), undefined);
  assert.deepEqual(listRecords(dir, 'nope'), []);
});
