/**
 * vhost0 for real (root only): the router's namespace runs the data plane with one AF_PACKET
 * vif toward a host namespace and vhost0 (a TAP) toward its own kernel. Pings to the router's
 * addresses (both families) and a TCP connection to a socket bound in the router's kernel
 * must work: punted up through vhost0, answered by the kernel, sent back out through the FIB
 * after the data plane answers the kernel's ARP/NDP on vhost0.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { NetnsLab, needsRoot, ping, stopChild, waitForLine } from '../../test/lib/netns.js';

const skip = needsRoot();
const lab = new NetnsLab('dpvh');
const child = fileURLToPath(new URL('./worker/vhost-test-child.js', import.meta.url));
let r = '';
let h = '';
let proc: ChildProcess | undefined;
let out = '';

before(async () => {
  if (skip) return;
  r = lab.netns('r');
  h = lab.netns('h');
  lab.veth(h, 'eth0', r, 'r0');
  lab.run(h, ['ip', 'addr', 'add', '10.77.0.2/24', 'dev', 'eth0']);
  lab.run(h, ['ip', 'addr', 'add', 'fd77::2/64', 'dev', 'eth0', 'nodad']);
  lab.run(h, ['ethtool', '-K', 'eth0', 'tx', 'off', 'tso', 'off', 'gso', 'off'], { allowFail: true });
  lab.run(r, ['ethtool', '-K', 'r0', 'tx', 'off', 'tso', 'off', 'gso', 'off'], { allowFail: true });
  proc = lab.spawn(r, [process.execPath, child, JSON.stringify({ vif: 'r0', mac: '02:dd:00:00:00:01', addresses: ['10.77.0.1/24', 'fd77::1/64'] })]);
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitForLine(proc, /^ready/, 30000);
});

after(async () => {
  if (proc) await stopChild(proc, 5000);
  await lab.cleanup();
});

test('the router\'s kernel owns its addresses on vhost0', { skip }, () => {
  const a = lab.run(r, ['ip', '-o', 'addr', 'show', 'dev', 'vhost0']);
  assert.match(a, /10\.77\.0\.1\/32/);
  assert.match(a, /fd77::1\/128/);
  const rt = lab.run(r, ['ip', 'route', 'show', 'dev', 'vhost0']);
  assert.match(rt, /10\.77\.0\.0\/24/);
});

test('ping the router (IPv4, IPv6) through vhost0', { skip }, () => {
  const p4 = ping(lab, h, '10.77.0.1', { count: 3, deadlineS: 8 });
  assert.ok(p4.received >= 2, p4.output);
  const p6 = ping(lab, h, 'fd77::1', { count: 3, deadlineS: 8 });
  assert.ok(p6.received >= 2, p6.output);
});

test('TCP to a socket in the router\'s kernel (what BGP does)', { skip }, async () => {
  const server = lab.spawn(r, ['python3', '-c', [
    'import socket',
    's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
    's.bind(("10.77.0.1", 1790)); s.listen(1); print("listening", flush=True)',
    's.settimeout(15); c, _ = s.accept(); c.sendall(b"hello from the router\\n"); c.close()',
  ].join('\n')]);
  await waitForLine(server, /listening/, 10000);
  const got = lab.run(h, ['python3', '-c', [
    'import socket',
    'c = socket.create_connection(("10.77.0.1", 1790), timeout=10)',
    'print(c.recv(100).decode().strip())',
  ].join('\n')], { timeout: 15000 });
  assert.equal(got.trim(), 'hello from the router');
  await stopChild(server, 2000);
});

test('SIGTERM stops the data plane cleanly and every punt was counted', { skip }, async () => {
  const t0 = Date.now();
  const exited = new Promise<number | null>((res) => proc!.once('exit', (code) => res(code)));
  proc!.kill('SIGTERM');
  const code = await exited;
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < 5000);
  const c = JSON.parse(/counters (.*)/.exec(out)![1]!) as Record<string, number>;
  assert.ok(c.punt! >= 4, out);
  assert.ok(c.tx! >= 4, out);
});
