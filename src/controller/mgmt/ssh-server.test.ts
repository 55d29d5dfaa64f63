// The SSH listener's host key: every key cnr makes is one ssh2 loads (ssh2's own generator
// writes a malformed key once in 256 draws), the key is kept across restarts, and a key
// file that does not parse is refused with its path rather than failing somewhere inside ssh2.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { generateEd25519KeyPair, SshServer } from './ssh-server.js';

const dir = mkdtempSync(join(tmpdir(), `cnr-ssh-server-${process.pid}-`));
after(() => rmSync(dir, { recursive: true, force: true }));

function server(hostKeyPath: string): SshServer {
  return new SshServer({ name: 'ssh', hostKeyPath, running: () => ({}), log: () => {}, channels: {} });
}

test('every generated Ed25519 key pair parses, public key 32 bytes', () => {
  // 2,000 draws: the raw generator gives a bad one among them with probability 1 - (255/256)^2000 > 99.9%
  for (let i = 0; i < 2000; i++) {
    const k = generateEd25519KeyPair();
    const parsed = ssh2.utils.parseKey(k.private);
    assert.ok(!(parsed instanceof Error), `draw ${i}: ${parsed instanceof Error ? parsed.message : ''}`);
    // the wire form: string "ssh-ed25519" (4 + 11 bytes), then string key (4 + 32 bytes)
    assert.equal(parsed.getPublicSSH().length, 4 + 11 + 4 + 32);
  }
});

test('the host key is made once, whole, and kept across restarts', async () => {
  const path = join(dir, 'kept_host_key');
  const first = server(path);
  await first.set({ address: '127.0.0.1', port: 0 });
  await first.close();
  const key = readFileSync(path, 'utf8');
  assert.ok(!(ssh2.utils.parseKey(key) instanceof Error));
  assert.match(readFileSync(`${path}.pub`, 'utf8'), /^ssh-ed25519 \S+/);
  assert.deepEqual(
    ['.tmp', '.tmp.pub'].filter((s) => existsSync(`${path}.${process.pid}${s}`)),
    [],
    'no temporary file left behind',
  );
  const second = server(path);
  await second.set({ address: '127.0.0.1', port: 0 });
  await second.close();
  assert.equal(readFileSync(path, 'utf8'), key);
});

test('a host key file that does not parse is refused with its path, and left as it was', async () => {
  const path = join(dir, 'broken_host_key');
  const broken = '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
  writeFileSync(path, broken, { mode: 0o600 });
  await assert.rejects(server(path).set({ address: '127.0.0.1', port: 0 }), (e: Error) => e.message.includes(path));
  assert.equal(readFileSync(path, 'utf8'), broken);
});
