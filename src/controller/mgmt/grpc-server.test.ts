// The gRPC management API against a real Controller on loopback, called with grpc-js as
// any gRPC client would (proto/mgmt.proto).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Controller } from '../controller.js';
import { LOADER_OPTIONS, protoDir } from '../../api/proto.js';

const dir = mkdtempSync(join(tmpdir(), 'cnr-grpcmgmt-'));
let ctl: Controller;
type Method = (req: object, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;
let client: grpc.Client & Record<string, Method>;
let health: grpc.Client & Record<string, Method>;
let token = '';

before(async () => {
  ctl = new Controller({
    stateDir: dir,
    serve: false,
    log: () => {},
    initialConfig: { system: { 'host-name': 'r1', services: { grpc: { port: 0 } } } },
  });
  await ctl.start();
  token = readFileSync(join(dir, 'mgmt.token'), 'utf8').trim();
  const { port, address } = ctl.grpcAddress()!;
  assert.equal(address, '127.0.0.1');
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(join(protoDir(), 'mgmt.proto'), LOADER_OPTIONS)) as any;
  const hpkg = grpc.loadPackageDefinition(protoLoader.loadSync(join(protoDir(), 'health.proto'), LOADER_OPTIONS)) as any;
  client = new pkg.cnr.mgmt.v1.Management(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  health = new hpkg.grpc.health.v1.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

after(async () => {
  client?.close();
  health?.close();
  await ctl.stop();
  rmSync(dir, { recursive: true, force: true });
});

function call<T>(c: Record<string, Method>, method: string, req: object, bearer: string | null = token): Promise<T> {
  const md = new grpc.Metadata();
  if (bearer !== null) md.set('authorization', `Bearer ${bearer}`);
  return new Promise((resolve, reject) => c[method]!(req, md, (err, res) => (err ? reject(err) : resolve(res as T))));
}

test('every management call needs the bearer token; health checks answer without it', async () => {
  for (const bearer of [null, 'wrong']) {
    for (const m of ['GetConfig', 'Exec', 'Commit']) {
      await assert.rejects(call(client, m, {}, bearer), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED, m);
    }
    // an orchestrator's probe (grpc_health_probe, a kubelet's grpc probe) carries no token
    assert.deepEqual(await call(health, 'Check', {}, bearer), { status: 'SERVING' });
    assert.deepEqual(await call(health, 'Check', { service: 'cnr.mgmt.v1.Management' }, bearer), { status: 'SERVING' });
    await assert.rejects(call(health, 'Check', { service: 'no.such.Service' }, bearer), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
  }
  // Watch streams the status, unauthenticated too
  const stream = (health as unknown as { Watch(req: object): grpc.ClientReadableStream<{ status: string }> }).Watch({});
  const first = await new Promise<{ status: string }>((resolve, reject) => {
    stream.once('data', resolve);
    stream.once('error', reject);
  });
  stream.cancel();
  stream.on('error', () => {});
  assert.deepEqual(first, { status: 'SERVING' });
});

test('Exec runs a CLI session; the failing command carries its error and ends the session', async () => {
  const r = await call<{ results: { command: string; text: string; error: string }[] }>(client, 'Exec', {
    commands: ['configure private', 'set system domain-name example.net', 'commit comment "via grpc"', 'set system bogus 1', 'commit'],
    user: 'ops',
  });
  assert.equal(r.results.length, 4);
  assert.match(r.results[2]!.text, /commit complete/);
  assert.match(r.results[3]!.error, /bogus/);
  const hist = await call<{ results: { text: string }[] }>(client, 'Exec', { commands: ['show system commit'] });
  assert.match(hist.results[0]!.text, /by ops via grpc\s+via grpc/);
});

test('GetConfig in every notation, XML included', async () => {
  for (const format of ['set', 'text', 'json', 'yaml', 'xml']) {
    const r = await call<{ config: string; commit: number }>(client, 'GetConfig', { format });
    assert.match(r.config, /example\.net/, format);
    assert.ok(r.commit >= 2);
  }
  await assert.rejects(call(client, 'GetConfig', { format: 'toml' }), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT);
});

test('Commit loads and commits in one step; a bad line or a failing check changes nothing', async () => {
  const before = await call<{ commit: number }>(client, 'GetConfig', {});
  const ok = await call<{ commit: number; text: string }>(client, 'Commit', { config: 'set routing-options static route 192.0.2.0/24 discard\n', comment: 'static' });
  assert.equal(ok.commit, before.commit + 1);
  const xml = await call<{ commit: number }>(client, 'Commit', {
    config: '<configuration xmlns="urn:cnr:config"><system><host-name>r2</host-name></system></configuration>',
  });
  assert.equal(xml.commit, ok.commit + 1);
  await assert.rejects(call(client, 'Commit', { config: 'set system host-name r3\nset routing-options static route 10.0.0.0/33 discard\n' }), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /line 2/.test(e.details));
  await assert.rejects(
    call(client, 'Commit', { config: 'set protocols bgp group g neighbor 10.0.0.2 export nope\n' }),
    (e: grpc.ServiceError) => e.code === grpc.status.FAILED_PRECONDITION,
  );
  const after = await call<{ config: string; commit: number }>(client, 'GetConfig', { format: 'set' });
  assert.equal(after.commit, xml.commit);
  assert.match(after.config, /set system host-name r2/);
  assert.match(after.config, /192\.0\.2\.0\/24 discard/);
});
