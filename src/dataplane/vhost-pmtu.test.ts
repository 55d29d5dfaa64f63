/**
 * Path MTU through vhost0 with super-frames carried whole (root only): the fabric vif r0 and
 * the host's link have a 1280-byte MTU, the host advertises the MSS of a 1500-byte path, and
 * vhost0 and the router's kernel think 1500, so the router's TCP hands
 * vhost0 TSO super-frames whose segments (1500 bytes of IP) do not fit r0. The vRouter must
 * answer by the segment, not by the super-frame's 64 KiB: ICMP "fragmentation needed" /
 * "packet too big" with MTU 1280 to the router's kernel, which lowers its path MTU; its next
 * super-frames have segments that fit, are carried whole and sent on. Checked (IPv4 and IPv6):
 * the transfer completes byte for byte, ICMP errors were sent and the router's kernel counted
 * them in (Icmp.InDestUnreachs, Icmp6InPktTooBigs), it learnt the path MTU, and super-frames
 * were carried whole and sent on r0 whole afterwards.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { NetnsLab, needsRoot, ping, snmp, stopChild, waitForLine } from '../../test/lib/netns.js';
import { tcpBulk } from '../../test/lib/tcp-bulk.js';

const skip = needsRoot();
const lab = new NetnsLab('dpvp');
const child = fileURLToPath(new URL('../../test/support/vhost-child.js', import.meta.url));
let r = '';
let h = '';
let proc: ChildProcess | undefined;
let out = '';

before(async () => {
  if (skip) return;
  ({ router: r, hosts: [h] } = lab.topology({ router: 'r', hosts: [{ name: 'h', routerIf: 'r0', mtu: 1280, addrs: ['10.78.0.2/24', 'fd78::2/64'] }] }));
  // the host's link fits r0, but it advertises the MSS of a 1500-byte path (as a host behind a
  // larger link would): the router's kernel, seeing vhost0's 1500, sends segments r0 cannot take
  // (the same route as the kernel's, changed in place: IPv6's connected route has metric 256,
  // and a second one at another metric would not be the one used)
  lab.run(h, ['ip', 'route', 'replace', '10.78.0.0/24', 'dev', 'eth0', 'advmss', '1460']);
  lab.run(h, ['ip', '-6', 'route', 'replace', 'fd78::/64', 'dev', 'eth0', 'proto', 'kernel', 'metric', '256', 'advmss', '1440']);
  proc = lab.spawn(r, [process.execPath, child, JSON.stringify({ vif: 'r0', mac: '02:dd:00:00:00:02', addresses: ['10.78.0.1/24', 'fd78::1/64'], mtu: 1280 })]);
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitForLine(proc, /^ready/, 30000);
});

after(async () => {
  if (proc) await stopChild(proc, 5000);
  await lab.cleanup();
});

// Both families. Session 12 ran this over IPv6 without the host's advmss: the host then
// advertised the MSS of its own 1280-byte link (1220), no segment was too big, no error was
// owed, and the kernel recorded no path MTU; with the advmss the errors are sent and taken.
for (const [family, addr, peer, port] of [['IPv4', '10.78.0.1', '10.78.0.2', 1795], ['IPv6', 'fd78::1', 'fd78::2', 1796]] as const) {
  test(`a smaller out MTU than vhost0's: ICMP too-big by the segment, the router's kernel lowers its path MTU, the transfer completes (${family})`, { skip, timeout: 60000 }, async () => {
    const bytes = 8 << 20;
    const s0 = snmp(lab, r);
    const r1 = await tcpBulk(lab, r, h, addr, port, bytes);
    const s1 = snmp(lab, r);
    assert.deepEqual([r1.upBytes, r1.upOk, r1.downBytes, r1.downOk], [bytes, true, bytes, true], JSON.stringify(r1));
    const route = lab.run(r, ['ip', family === 'IPv4' ? '-4' : '-6', 'route', 'get', peer]);
    // the router's kernel took the errors (Icmp6InPktTooBigs; IPv4's are among InDestUnreachs)
    const took = family === 'IPv4' ? s1['Icmp.InDestUnreachs']! - s0['Icmp.InDestUnreachs']! : s1['Icmp6InPktTooBigs']! - s0['Icmp6InPktTooBigs']!;
    console.log(`${family}: ${JSON.stringify(route.trim())}; the kernel took ${took} too-big errors`);
    assert.ok(took >= 1, `${family}: no too-big reached the router's kernel`);
    assert.match(route, /mtu 1280/);
  });
}

test("a too-big about the host's packet from its link-local address goes back to the host through vhost0, not toward r0's neighbour", { skip, timeout: 30000 }, async () => {
  // a destination of its own: the TCP tests left a path MTU for fd78::2; it must resolve (the
  // vRouter checks the MTU once it has the neighbour's MAC)
  lab.run(h, ['ip', 'addr', 'add', 'fd78::3/64', 'dev', 'eth0', 'nodad']);
  ping(lab, h, 'fd78::1', { count: 1, deadlineS: 2 });
  // vhost0's link-local address, once its duplicate address detection is over
  let ll = '';
  for (let t = 0; t < 50 && !ll; t++) {
    const a = lab.run(r, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'vhost0', 'scope', 'link']);
    if (!a.includes('tentative')) ll = /inet6 (fe80::[0-9a-f:]+)\//.exec(a)?.[1] ?? '';
    if (!ll) await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(ll, "vhost0's link-local address");
  const s0 = snmp(lab, r);
  // 1400 bytes of UDP from the link-local address: fits vhost0 (1500), not r0 (1280)
  lab.run(r, ['python3', '-c', [
    'import socket',
    's = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)',
    `s.bind(("${ll}", 0, 0, socket.if_nametoindex("vhost0")))`,
    'for _ in range(3): s.sendto(bytes(1400), ("fd78::3", 9))',
  ].join('\n')]);
  let took = 0;
  for (let t = 0; t < 20 && took === 0; t++) {
    await new Promise((res) => setTimeout(res, 100));
    took = snmp(lab, r)['Icmp6InPktTooBigs']! - s0['Icmp6InPktTooBigs']!;
  }
  const route = lab.run(r, ['ip', '-6', 'route', 'get', 'fd78::3', 'from', ll, 'oif', 'vhost0']);
  console.log(`from ${ll}: the kernel took ${took} too-big errors; ${JSON.stringify(route.trim())}`);
  assert.ok(took >= 1, "no too-big reached the router's kernel");
  assert.match(route, /mtu 1280/);
});

test('the errors were sent and the super-frames were carried whole, before and after the path MTU changed', { skip }, async () => {
  // the worker copies its drivers' I/O counters in every 250 ms of its turns: a ping wakes it after the transfer
  await new Promise((res) => setTimeout(res, 400));
  ping(lab, h, '10.78.0.1', { count: 1, deadlineS: 2 });
  await new Promise((res) => setTimeout(res, 400));
  ping(lab, h, '10.78.0.1', { count: 1, deadlineS: 2 });
  const exited = new Promise<number | null>((res) => proc!.once('exit', (code) => res(code)));
  proc!.kill('SIGTERM');
  assert.equal(await exited, 0);
  const c = JSON.parse(/counters (.*)/.exec(out)![1]!) as Record<string, number>;
  const vifs = JSON.parse(/vifs (.*)/.exec(out)![1]!) as { name: string; io?: Record<string, number> }[];
  const vh = vifs.find((v) => v.name === 'vhost0')!.io!;
  const r0 = vifs.find((v) => v.name === 'r0')!.io!;
  console.log(`icmp_sent ${c.icmp_sent}; vhost0 carried ${vh.carried} (${vh.carriedSegments} segments); r0 sent ${r0.txCarried} whole`);
  assert.ok(c.icmp_sent! >= 1, JSON.stringify(c));
  // one error per super-frame that did not fit, not one per segment of each
  assert.ok(c.icmp_sent! < vh.carriedSegments! / 10, JSON.stringify(c));
  assert.ok(vh.carried! > 0 && r0.txCarried! > 0, `vhost0 ${JSON.stringify(vh)} r0 ${JSON.stringify(r0)}`);
});
