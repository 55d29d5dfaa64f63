import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller } from '../controller.js';
import { MgmtClient, MgmtError } from './client.js';
import { readToken, socketPath } from './token.js';

function raw(opts: { socketPath: string } | { host: string; port: number }, method: string, path: string, auth?: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = auth ? { authorization: auth } : {};
    const req = request({ ...opts, method, path, headers, timeout: 5000, agent: false }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

test('management API: unix socket and token are private, every endpoint needs the token', async () => {
  const dir = mkdtempSync(join(tmpdir(), `cnr-mgmt-${process.pid}-`));
  const c = new Controller({ stateDir: dir, log: () => {} });
  try {
    await c.start();
    const sock = socketPath(dir);
    assert.equal(statSync(sock).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'mgmt.token')).mode & 0o777, 0o600);
    const token = readToken(dir);
    assert.match(token, /^[0-9a-f]{64}$/);
    for (const [m, p] of [['GET', '/api/v1/health'], ['GET', '/api/v1/config'], ['POST', '/api/v1/cli'], ['GET', '/api/v1/commands']] as const) {
      assert.equal((await raw({ socketPath: sock }, m, p)).status, 401, `${m} ${p} without token`);
      assert.equal((await raw({ socketPath: sock }, m, p, 'Bearer wrong')).status, 401, `${m} ${p} with a wrong token`);
    }
    const ok = await raw({ socketPath: sock }, 'GET', '/api/v1/health', `Bearer ${token}`);
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).status, 'ok');
    const bad = await raw({ socketPath: sock }, 'POST', '/api/v1/cli', `Bearer ${token}`, '{"commands": "show"}');
    assert.equal(bad.status, 400);
    assert.equal((await raw({ socketPath: sock }, 'GET', '/nope', `Bearer ${token}`)).status, 404);
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('POST /api/v1/cli runs one session; a failing command carries error and ends the script (HTTP 200)', async () => {
  const dir = mkdtempSync(join(tmpdir(), `cnr-mgmt-${process.pid}-`));
  const c = new Controller({ stateDir: dir, log: () => {} });
  try {
    await c.start();
    const client = MgmtClient.fromStateDir(dir);
    const r = await client.exec(['configure private', 'set system host-name r1', 'set interfaces eth1 mtu 9000', 'commit comment "from the api"'], 'carol');
    assert.deepEqual(r.map((x) => x.error), [undefined, undefined, undefined, undefined]);
    assert.match(r[3]!.text, /commit complete/);
    const f = await client.exec(['configure private', 'set interfaces eth1 mtu 1', 'set system host-name never', 'commit']);
    assert.equal(f.length, 2);
    assert.match(f[1]!.error!, /line|mtu.*out of range/);
    assert.equal(await client.config('set'), 'set system host-name r1\nset interfaces eth1 mtu 9000\n');
    assert.deepEqual(await client.config('json'), { system: { 'host-name': 'r1' }, interfaces: { eth1: { mtu: 9000 } } });
    assert.match(String(await client.config('text')), /^system \{\n {4}host-name r1;/);
    const h = await client.exec(['show system commit | display json']);
    assert.equal((h[0]!.data as Array<{ user: string; comment: string }>)[0]!.user, 'carol');
    assert.equal((h[0]!.data as Array<{ user: string; comment: string }>)[0]!.comment, 'from the api');
    await assert.rejects(new MgmtClient({ socketPath: socketPath(dir) }, 'nope').exec(['show configuration']), (e: unknown) => e instanceof MgmtError && e.status === 401);
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('REST over TCP listens only while `system services rest` is configured, with the same token', async () => {
  const dir = mkdtempSync(join(tmpdir(), `cnr-mgmt-${process.pid}-`));
  const c = new Controller({ stateDir: dir, log: () => {} });
  try {
    await c.start();
    assert.equal(c.restAddress(), undefined);
    const client = MgmtClient.fromStateDir(dir);
    const r = await client.exec(['configure private', 'set system services rest port 0', 'set system services rest address 127.0.0.1', 'commit']);
    assert.equal(r.at(-1)!.error, undefined);
    const addr = c.restAddress();
    assert.ok(addr && addr.port > 0);
    const tcp = { host: '127.0.0.1', port: addr.port };
    assert.equal((await raw(tcp, 'GET', '/api/v1/health')).status, 401);
    // the liveness probe answers without credentials, and says nothing more than that it answers
    const probe = await raw(tcp, 'GET', '/health');
    assert.equal(probe.status, 200);
    assert.deepEqual(JSON.parse(probe.body), { status: 'ok' });
    assert.equal((await raw(tcp, 'GET', '/health?verbose=1', 'Bearer wrong')).status, 200);
    for (const [m, p] of [['GET', '/api/v1/config'], ['POST', '/api/v1/cli'], ['GET', '/api/v1/commands'], ['POST', '/health'], ['GET', '/health/../api/v1/config']] as const) {
      assert.equal((await raw(tcp, m, p)).status, 401, `${m} ${p}`);
    }
    const token = readToken(dir);
    const res = await MgmtClient.tcp('127.0.0.1', addr.port, token).exec(['show configuration system']);
    assert.match(res[0]!.text, /rest/);
    await client.exec(['configure private', 'delete system services', 'commit']);
    assert.equal(c.restAddress(), undefined);
    await assert.rejects(raw(tcp, 'GET', '/api/v1/health'), /ECONNREFUSED/);
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
