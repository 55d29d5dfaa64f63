/**
 * lo0 under `cnr start` (root only): the node's loopback addresses belong to no netdev. They
 * are not attached as a vif (no "interface lo0 not found"); the controller's local routes make
 * them receive in the vRouter, so a neighbour's ping to them is answered; and they go on
 * vhost0, so the host's TCP (BGP between loopbacks, iBGP for L3VPN) can listen on them and be
 * reached through the vRouter. Taking lo0's address out of the configuration takes it off
 * vhost0 and out of the FIB.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { NetnsLab, needsRoot, numberedHost, ping, waitForLine } from '../lib/netns.js';

const skip = needsRoot();
const lab = new NetnsLab('lo0');
const cnrBin = fileURLToPath(new URL('../../../bin/cnr', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), `cnr-lo0-${process.pid}-`));
const CONFIG = `
set interfaces r1 unit 0 family inet address 10.1.0.1/24
set interfaces r1 unit 0 family inet6 address 2001:db8:1::1/64
set interfaces lo0 unit 0 family inet address 10.255.0.1/32
set interfaces lo0 unit 0 family inet6 address 2001:db8:ff::1/128
`;
let r = '';
let h1 = '';
let node: ChildProcess | undefined;
let out = '';

const cli = (cmd: string) => lab.run(r, [process.execPath, cnrBin, 'cli', '--state-dir', join(dir, 'state'), '-c', cmd]);
const vhostAddrs = () => lab.run(r, ['ip', '-o', 'addr', 'show', 'dev', 'vhost0']);

before(async () => {
  if (skip) return;
  ({ router: r, hosts: [h1] } = lab.topology({ router: 'r', hosts: [numberedHost(1)] }));
  const file = join(dir, 'router.conf');
  writeFileSync(file, CONFIG);
  node = lab.spawn(r, [process.execPath, cnrBin, 'start', '--config', file, '--state-dir', join(dir, 'state'), '--introspect', 'none', '--health', 'none', '--agent-address', '127.0.0.1:0']);
  node.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  node.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  // the log goes to stderr
  for (let i = 0; i < 200 && !/cnr start: running/.test(out); i++) await new Promise((res) => setTimeout(res, 100));
  assert.match(out, /cnr start: running/);
});

after(async () => {
  await lab.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('lo0\'s addresses answer pings through the vRouter, live on vhost0 for the host\'s TCP, and go when unconfigured', { skip, timeout: 60_000 }, async () => {
  // the neighbour reaches the loopback through its default route via the router
  for (const dst of ['10.255.0.1', '2001:db8:ff::1']) {
    let p = ping(lab, h1, dst, { count: 3, deadlineS: 5 });
    for (let i = 0; i < 10 && p.received === 0; i++) p = ping(lab, h1, dst, { count: 2, deadlineS: 2 });
    assert.ok(p.received > 0, `${dst}: ${p.output}\n${out}`);
  }
  let addrs = vhostAddrs();
  for (let i = 0; i < 20 && !/10\.255\.0\.1\/32/.test(addrs); i++) {
    await new Promise((res) => setTimeout(res, 100));
    addrs = vhostAddrs();
  }
  assert.match(addrs, /inet 10\.255\.0\.1\/32/, addrs);
  assert.match(addrs, /inet6 2001:db8:ff::1\/128/, addrs);
  assert.doesNotMatch(out, /lo0.*not found|NACK.*lo0/, out);
  // the vRouter's link state reaches the controller's log (and syslog): r1 attached, lo0 is no
  // link (the frame port's stream may open after the first pings: wait for the line, bounded)
  for (let i = 0; i < 50 && !/controller: interface r1: link up/.test(out); i++) await new Promise((res) => setTimeout(res, 100));
  assert.match(out, /controller: interface r1: link up/, out);
  assert.doesNotMatch(out, /interface lo0: link/, out);

  // the host's TCP on the loopback address, reached from the neighbour through the vRouter
  const server = lab.spawn(r, ['/usr/bin/python3', '-c', [
    'import socket',
    's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
    "s.bind(('10.255.0.1', 5179)); s.listen(1)",
    "print('listening', flush=True)",
    's.settimeout(15); c, a = s.accept()',
    "c.sendall(b'hello from lo0 ' + a[0].encode()); c.close()",
  ].join('\n')]);
  await waitForLine(server, /listening/, 10_000);
  const got = lab.run(h1, ['/usr/bin/python3', '-c', "import socket; s = socket.create_connection(('10.255.0.1', 5179), timeout=10); print(s.recv(100).decode())"]);
  assert.match(got, /hello from lo0 10\.1\.0\.2/);

  // unconfigured: off vhost0, and no longer answered
  cli('configure; delete interfaces lo0 unit 0 family inet; commit');
  for (let i = 0; i < 30 && /10\.255\.0\.1\/32/.test(vhostAddrs()); i++) await new Promise((res) => setTimeout(res, 100));
  assert.doesNotMatch(vhostAddrs(), /10\.255\.0\.1\/32/);
  assert.match(vhostAddrs(), /2001:db8:ff::1\/128/, 'the IPv6 address stays');
  assert.equal(ping(lab, h1, '10.255.0.1', { count: 2, deadlineS: 2 }).received, 0);
});
