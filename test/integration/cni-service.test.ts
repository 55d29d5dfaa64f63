/**
 * The bin/cnr-cni shim and the CNI service between them: the shim's framing as bash builds
 * it (read back by a stand-in service of this test on both ways in, TCP with the token and
 * the unix socket through nc), the service's answer to malformed and unauthenticated
 * requests (a clear CNI error, and it keeps serving), and the kernel's own error text from
 * the netlink requests. Pod attachments through the service are in cni-plugin.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCniBin } from '../../src/cni/pod.js';
import { decodeRequest, encodeReply, encodeRequest, TruncatedFrame, type Request } from '../../src/cni/frame.js';
import { CniService, cniPortPath, cniSocketPath } from '../../src/cni/server.js';
import { NetlinkError, nlConfigurePod, nlCreateVeth, nlDeleteLinkAsync } from '../../src/cni/netlink.js';

const tag = `cnisv${process.pid}`;
const tmp = mkdtempSync(join(tmpdir(), `${tag}-`));
const haveNc = ['/usr/bin', '/bin'].some((d) => existsSync(join(d, 'nc.openbsd')));

const runBin = runCniBin;

/** A stand-in for the service: records each request as decoded, answers `reply`. */
async function standIn(listen: (s: Server) => Promise<void>, reply: Buffer): Promise<{ server: Server; seen: Request[] }> {
  const seen: Request[] = [];
  const server = createServer({ allowHalfOpen: true }, (s) => {
    const chunks: Buffer[] = [];
    let done = false;
    const tryAnswer = () => {
      if (done) return;
      try {
        seen.push(decodeRequest(Buffer.concat(chunks)));
      } catch (e) {
        if (e instanceof TruncatedFrame) return;
        throw e;
      }
      done = true;
      s.end(reply);
    };
    s.on('data', (b: Buffer) => {
      chunks.push(b);
      tryAnswer();
    });
    s.on('end', tryAnswer);
  });
  await listen(server);
  return { server, seen };
}

const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

const trickyVars = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'abc123',
  CNI_ARGS: `K8S_POD_NAME=a b;K8S_POD_NAMESPACE="q'uote";IgnoreUnknown=1`,
  CNI_NETNS: '/var/run/netns/with space',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
};

function trickyConf(stateDir: string): string {
  return `{\n  "cniVersion": "1.0.0",\n  "name": "réseau-网络-🚀",\n  "stateDir": "${stateDir}",\n  "x": "tab\\there"\n}\n\n`;
}

after(() => rmSync(tmp, { recursive: true, force: true }));

describe('the shim speaks the framing as frame.ts reads it', () => {
  test('over TCP with the token of cni.port: variables and config byte for byte, stdout and exit code back', async () => {
    const stateDir = join(tmp, 'tcp');
    mkdirSync(stateDir);
    const { server, seen } = await standIn((s) => new Promise((r) => s.listen(0, '127.0.0.1', () => r())), encodeReply(3, '{"code":7,"msg":"x"}\n\n'));
    try {
      const port = (server.address() as { port: number }).port;
      writeFileSync(cniPortPath(stateDir), `${port} 0123456789abcdef\n`, { mode: 0o600 });
      const conf = trickyConf(stateDir);
      const r = await runBin({ PATH: process.env.PATH, ...trickyVars }, conf);
      assert.equal(r.status, 3, r.stderr);
      assert.equal(r.stdout, '{"code":7,"msg":"x"}\n\n');
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.token, '0123456789abcdef');
      assert.equal(seen[0]!.stdin, conf);
      assert.deepEqual(seen[0]!.vars, { PATH: process.env.PATH, ...trickyVars });
    } finally {
      await close(server);
    }
  });

  test('over the unix socket through nc when there is no cni.port, and through it too when that port is stale', { skip: haveNc ? false : 'no nc.openbsd' }, async () => {
    const stateDir = join(tmp, 'unix');
    mkdirSync(stateDir);
    const { server, seen } = await standIn((s) => new Promise((r) => s.listen(cniSocketPath(stateDir), () => r())), encodeReply(0, ''));
    try {
      const conf = trickyConf(stateDir);
      let r = await runBin({ PATH: process.env.PATH, ...trickyVars }, conf);
      assert.deepEqual([r.status, r.stdout], [0, '']);
      assert.equal(seen[0]!.token, undefined);
      assert.equal(seen[0]!.stdin, conf);
      assert.deepEqual(seen[0]!.vars, { PATH: process.env.PATH, ...trickyVars });
      // a port file left by a killed controller: nobody listens there
      const dead = createServer();
      await new Promise<void>((r2) => dead.listen(0, '127.0.0.1', () => r2()));
      const port = (dead.address() as { port: number }).port;
      await close(dead);
      writeFileSync(cniPortPath(stateDir), `${port} feed\n`, { mode: 0o600 });
      r = await runBin({ PATH: process.env.PATH, ...trickyVars, CNI_COMMAND: 'DEL' }, conf);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(seen.length, 2);
      assert.equal(seen[1]!.vars.CNI_COMMAND, 'DEL');
    } finally {
      await close(server);
    }
  });

  test('with no service at all the shim runs the Node plugin (VERSION answers the same)', async () => {
    const r = await runBin({ PATH: process.env.PATH, CNI_COMMAND: 'VERSION' }, JSON.stringify({ cniVersion: '0.4.0', stateDir: join(tmp, 'none') }));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { cniVersion: '0.4.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });
});

describe('the CNI service', () => {
  const stateDir = join(tmp, 'svc');
  let svc: CniService;
  const execs: string[][] = [];
  before(async () => {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    svc = new CniService({
      stateDir,
      exec: async (commands) => {
        execs.push(commands);
        return commands.map((command) => ({ command, text: '' }));
      },
    });
    await svc.start();
  });
  after(async () => {
    await svc.stop();
    assert.ok(!existsSync(cniSocketPath(stateDir)) && !existsSync(cniPortPath(stateDir)), 'stop removes the socket and the port file');
  });

  /** One raw exchange; resolves with the reply text. */
  function exchange(to: { path: string } | { port: number; host: string }, bytes: Buffer, halfClose: boolean): Promise<string> {
    return new Promise((res, rej) => {
      const s = connect(to as never);
      let out = '';
      s.on('data', (b: Buffer) => (out += b.toString()));
      s.on('error', rej);
      s.on('close', () => res(out));
      s.write(bytes);
      if (halfClose) s.end();
    });
  }

  const errorOf = (reply: string) => {
    const m = /^CNR-CNI\/1 (\d+)\n([\s\S]*)\.$/.exec(reply);
    assert.ok(m, `a framed reply: ${JSON.stringify(reply)}`);
    return { exit: Number(m[1]), json: JSON.parse(m[2]!) as { code: number; msg: string } };
  };

  test('listens on a 0600 socket and a loopback port named in a 0600 file with a token', () => {
    const [port, token] = readFileSync(cniPortPath(stateDir), 'utf8').trim().split(' ');
    assert.match(port!, /^\d+$/);
    assert.match(token!, /^[0-9a-f]{32}$/);
    assert.equal(spawnSync('stat', ['-c', '%a', cniSocketPath(stateDir), cniPortPath(stateDir)], { encoding: 'utf8' }).stdout, '600\n600\n');
  });

  test('a malformed request gets a clear CNI error (code 6), a request without the token on TCP too, and the service keeps serving', async () => {
    const unix = { path: cniSocketPath(stateDir) };
    let e = errorOf(await exchange(unix, Buffer.from('GET / HTTP/1.0\r\n\r\n'), true));
    assert.equal(e.exit, 1);
    assert.equal(e.json.code, 6);
    assert.match(e.json.msg, /malformed request: not a cnr-cni request/);
    e = errorOf(await exchange(unix, Buffer.from('CNR-CNI/1\nE CNI_COMMAND 9\nADD'), true));
    assert.match(e.json.msg, /malformed request: truncated/);
    const [port, token] = readFileSync(cniPortPath(stateDir), 'utf8').trim().split(' ');
    const tcp = { host: '127.0.0.1', port: Number(port) };
    const version = { vars: { CNI_COMMAND: 'VERSION' }, stdin: '{"cniVersion":"0.4.0"}' };
    e = errorOf(await exchange(tcp, encodeRequest(version), false));
    assert.match(e.json.msg, /token is missing or wrong/);
    e = errorOf(await exchange(tcp, encodeRequest({ ...version, token: 'ab'.repeat(16) }), false));
    assert.match(e.json.msg, /token is missing or wrong/);
    // still serving, both ways, without a half-close on TCP
    const ok = await exchange(tcp, encodeRequest({ ...version, token: token! }), false);
    assert.equal(ok, 'CNR-CNI/1 0\n{"cniVersion":"0.4.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n.');
    assert.equal(await exchange(unix, encodeRequest(version), true), ok);
    const r = await runBin({ PATH: process.env.PATH, CNI_COMMAND: 'VERSION' }, JSON.stringify({ cniVersion: '0.4.0', stateDir }));
    assert.equal(r.stdout, '{"cniVersion":"0.4.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n');
  });

  test('stopping a service leaves the socket and port file of one started after it on the same state directory', async () => {
    const dir = join(tmp, 'two');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const exec = async (commands: string[]) => commands.map((command) => ({ command, text: '' }));
    const first = new CniService({ stateDir: dir, exec });
    await first.start();
    const second = new CniService({ stateDir: dir, exec });
    try {
      await second.start();
      await first.stop();
      assert.ok(existsSync(cniSocketPath(dir)), 'the second one keeps its socket');
      assert.ok(existsSync(cniPortPath(dir)), 'the second one keeps its port file');
      const r = await runBin({ PATH: process.env.PATH, CNI_COMMAND: 'VERSION' }, JSON.stringify({ cniVersion: '1.0.0', stateDir: dir }));
      assert.equal(r.status, 0, r.stderr);
    } finally {
      await first.stop();
      await second.stop();
    }
    assert.ok(!existsSync(cniSocketPath(dir)) && !existsSync(cniPortPath(dir)));
  });

  test('commands whose config names this state directory go to the in-process controller', async () => {
    const r = await runBin(
      { PATH: process.env.PATH, CNI_COMMAND: 'STATUS', CNI_PATH: '/usr/lib/cni' },
      JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 'cnr-cni', instanceName: 'blue', stateDir, dataDir: join(tmp, 'data') }),
    );
    // STATUS needs mgmt.sock to exist (a controller); this stand-in has none
    assert.equal(r.status, 1);
    assert.equal(JSON.parse(r.stdout).code, 50);
    writeFileSync(join(stateDir, 'mgmt.sock'), '');
    const n = execs.length;
    const r2 = await runBin(
      { PATH: process.env.PATH, CNI_COMMAND: 'STATUS', CNI_PATH: '/usr/lib/cni' },
      JSON.stringify({ cniVersion: '1.1.0', name: 'n', type: 'cnr-cni', instanceName: 'blue', stateDir, dataDir: join(tmp, 'data') }),
    );
    assert.equal(r2.status, 0, r2.stdout);
    assert.deepEqual(execs.slice(n), [['show system commit']]);
  });
});

const root = process.getuid?.() === 0;
describe('netlink errors carry the kernel text', { skip: root ? false : 'needs root (network namespaces)' }, () => {
  const ns = `${tag}-n`;
  const host = `${tag.slice(0, 10)}h`;
  before(() => {
    spawnSync('ip', ['netns', 'add', ns]);
  });
  after(() => {
    spawnSync('ip', ['link', 'del', host]);
    spawnSync('ip', ['netns', 'del', ns]);
  });

  test('a veth whose name exists: File exists; a missing interface: No such device; a missing namespace; DEL of nothing is false', async () => {
    const v = { hostVeth: host, hostMac: '02:00:00:00:01:01', ifname: 'eth0', podMac: '02:00:00:00:01:02', netns: `/var/run/netns/${ns}`, mtu: 1500 };
    await nlCreateVeth(v);
    await assert.rejects(
      () => nlCreateVeth({ ...v, ifname: 'eth1' }),
      (e: unknown) => e instanceof NetlinkError && e.errno === 17 && /^RTM_NEWLINK veth .*: File exists/.test(e.message),
    );
    assert.throws(
      () => nlConfigurePod(v.netns, 'nope0', [{ address: '10.9.0.2', family: 4, gateway: '10.9.0.1' }], []),
      (e: unknown) => e instanceof NetlinkError && e.errno === 19 && /RTM_GETLINK nope0: No such device/.test(e.message),
    );
    await assert.rejects(() => nlCreateVeth({ ...v, hostVeth: `${host}x`.slice(0, 15), netns: `/var/run/netns/${ns}-missing` }), /failed to open netns .*-missing/);
    assert.equal(await nlDeleteLinkAsync(host), true);
    assert.equal(await nlDeleteLinkAsync(host), false);
  });
});
