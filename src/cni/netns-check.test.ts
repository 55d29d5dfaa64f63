/**
 * CNI_NETNS must name a network namespace: a missing path is the spec's "unknown container"
 * (code 3), a path that exists but is not a network namespace (a plain file, another kind of
 * namespace) is "invalid environment variables" (code 4), each with a message that says which.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertNetns } from './link.js';
import { CniError } from './errors.js';

function codeOf(f: () => void): { code: number; msg: string } | null {
  try {
    f();
    return null;
  } catch (e) {
    assert.ok(e instanceof CniError, String(e));
    return { code: e.code, msg: e.message };
  }
}

test('CNI_NETNS: a network namespace passes; a missing path, a plain file and another namespace kind are refused', () => {
  assert.equal(codeOf(() => assertNetns('/proc/self/ns/net')), null);
  const dir = mkdtempSync(join(tmpdir(), `netns-${process.pid}-`));
  try {
    const missing = codeOf(() => assertNetns(join(dir, 'gone')));
    assert.equal(missing?.code, 3);
    assert.match(missing!.msg, /no such file/);
    const proc = codeOf(() => assertNetns('/proc/999999999/ns/net'));
    assert.equal(proc?.code, 3);
    assert.match(proc!.msg, /host's PID namespace, hostPID/);
    writeFileSync(join(dir, 'plain'), 'x');
    const plain = codeOf(() => assertNetns(join(dir, 'plain')));
    assert.equal(plain?.code, 4);
    assert.match(plain!.msg, /is not a network namespace: not a namespace file/);
    const uts = codeOf(() => assertNetns('/proc/self/ns/uts'));
    assert.equal(uts?.code, 4);
    assert.match(uts!.msg, /another kind/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
