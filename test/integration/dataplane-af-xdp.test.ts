/**
 * The data plane on AF_XDP vifs (root only): host1 — vRouter — host2, the router's veth ends
 * driven by the af-xdp driver (an XDP program redirecting to AF_XDP sockets). IPv4 and IPv6
 * pings both ways, a burst of UDP datagrams counted by a listener on host2, TCP bulk transfers
 * with the hosts at the kernel's default offloads (unfinished checksums completed by the
 * driver; no super-frames in native mode: docs/design.md), the XDP program
 * gone from both veths once the vRouter has stopped (and when it is killed: the program is
 * held by a BPF link), a mixed af-packet/af-xdp router, and the rtnetlink attach path.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { NetnsLab, needsRoot, numberedHost, ping } from '../lib/netns.js';
import { startVrouter, type RunningVrouter } from '../lib/vrouter.js';
import { tcpBulk } from '../lib/tcp-bulk.js';
import type { VifDriver } from '../../src/dataplane/api.js';

const skip = needsRoot();
const lab = new NetnsLab('dpxdp');
const R1_MAC = '02:cc:0a:00:01:01';
const R2_MAC = '02:cc:0a:00:02:01';
let h1 = '';
let h2 = '';
let r = '';
let vr: RunningVrouter | undefined;

function startRouter(d1: VifDriver, d2: VifDriver): Promise<RunningVrouter> {
  return startVrouter(lab, r, {
    workers: 1,
    vifs: [
      { name: 'r1', driver: d1, mac: R1_MAC, addresses: ['10.1.0.1/24', '2001:db8:1::1/64'] },
      { name: 'r2', driver: d2, mac: R2_MAC, addresses: ['10.2.0.1/24', '2001:db8:2::1/64'] },
    ],
  });
}

/** The XDP attachment line of `ip link show` for a router veth ('xdp' native, 'xdpgeneric' skb), or null. */
function xdpMode(ifname: string): string | null {
  const out = lab.run(r, ['ip', 'link', 'show', ifname]);
  return /\s(xdp|xdpgeneric|xdpdrv)\s/.exec(out)?.[1] ?? null;
}

before(async () => {
  if (skip) return;
  ({ router: r, hosts: [h1, h2] } = lab.topology({ router: 'r', hosts: [numberedHost(1), numberedHost(2)] }));
  vr = await startRouter('af-xdp', 'af-xdp');
  // neighbours learn each other through the first packets
  ping(lab, h1, '10.2.0.2', { count: 2, deadlineS: 3 });
  ping(lab, h1, '2001:db8:2::2', { count: 2, deadlineS: 3 });
});

after(async () => {
  if (vr) await vr.stop();
  await lab.cleanup();
});

test('both veths carry the XDP program while the vRouter runs (native mode on veth)', { skip }, () => {
  assert.equal(xdpMode('r1'), 'xdp');
  assert.equal(xdpMode('r2'), 'xdp');
  const vifs = JSON.parse(vr!.cnr('vif', '--list', '--json')) as { name: string; driver: string }[];
  assert.deepEqual(vifs.filter((v) => v.name !== 'vhost0').map((v) => [v.name, v.driver]).sort(), [['r1', 'af-xdp'], ['r2', 'af-xdp']]);
});

test('IPv4 and IPv6 pings cross the vRouter both ways, and reach the router itself', { skip, timeout: 60000 }, () => {
  for (const [ns, dst] of [[h1, '10.2.0.2'], [h2, '10.1.0.2'], [h1, '2001:db8:2::2'], [h2, '2001:db8:1::2'], [h1, '10.1.0.1'], [h2, '2001:db8:2::1']] as const) {
    const p = ping(lab, ns, dst, { count: 5, deadlineS: 6 });
    assert.equal(p.received, 5, `${dst}: ${p.output}`);
  }
});

test('a burst of UDP datagrams from host1 arrives at host2', { skip, timeout: 60000 }, async () => {
  const N = 2000;
  // the listener counts datagrams until 1 s of silence (at most 20 s), then prints the count
  const listener = lab.spawn(h2, ['/usr/bin/python3', '-c', [
    'import socket, sys',
    's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    's.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)',
    "s.bind(('10.2.0.2', 9999))",
    "print('listening', flush=True)",
    's.settimeout(20)',
    'n = 0',
    'try:',
    '    while True:',
    '        s.recv(2048); n += 1; s.settimeout(1)',
    'except socket.timeout:',
    '    pass',
    "print('count', n, flush=True)",
  ].join('\n')]);
  let out = '';
  listener.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const { waitForLine } = await import('../lib/netns.js');
  await waitForLine(listener, /^listening/, 10000);
  // paced in bursts of 50 so that neither the sender's socket nor the rings overflow
  lab.run(h1, ['/usr/bin/python3', '-c', [
    'import socket, time',
    's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    `for i in range(${N}):`,
    "    s.sendto(i.to_bytes(4, 'big') * 4, ('10.2.0.2', 9999))",
    '    if i % 50 == 49: time.sleep(0.002)',
  ].join('\n')], { timeout: 30000 });
  const line = await waitForLine(listener, /^count \d+/, 30000);
  const got = Number(line.split(' ')[1]);
  assert.ok(got >= N * 0.99, `host2 received ${got} of ${N} datagrams; ${out}`);
});

test('TCP bulk transfers cross the vRouter both ways with the hosts at default offloads (IPv4, IPv6)', { skip, timeout: 80000 }, async () => {
  for (const [addr, port] of [['10.2.0.2', 5601], ['2001:db8:2::2', 5602]] as const) {
    const bytes = 8 << 20;
    const res = await tcpBulk(lab, h2, h1, addr, port, bytes, 20).catch((e: unknown) => {
      throw new Error(`${(e as Error).message.split('\n').pop()}\n${vr!.cnr('vif', '--list', '--json')}\n${vr!.cnr('dropstats')}`);
    });
    assert.deepEqual([res.upBytes, res.upOk, res.downBytes, res.downOk], [bytes, true, bytes, true], JSON.stringify(res));
  }
});

test('stopping the vRouter detaches the XDP program; a mixed af-packet/af-xdp router forwards', { skip, timeout: 60000 }, async () => {
  await vr!.stop();
  vr = undefined;
  assert.equal(xdpMode('r1'), null, lab.run(r, ['ip', 'link', 'show', 'r1']));
  assert.equal(xdpMode('r2'), null, lab.run(r, ['ip', 'link', 'show', 'r2']));
  vr = await startRouter('af-packet', 'af-xdp');
  assert.equal(xdpMode('r1'), null);
  assert.equal(xdpMode('r2'), 'xdp');
  ping(lab, h1, '10.2.0.2', { count: 2, deadlineS: 3 });
  for (const [ns, dst] of [[h1, '10.2.0.2'], [h2, '10.1.0.2'], [h1, '2001:db8:2::2'], [h2, '2001:db8:1::2']] as const) {
    const p = ping(lab, ns, dst, { count: 3, deadlineS: 5 });
    assert.equal(p.received, 3, `${dst}: ${p.output}`);
  }
  await vr.stop();
  vr = undefined;
  assert.equal(xdpMode('r2'), null);
});

test('a vRouter killed with SIGKILL leaves no XDP program behind (the BPF link dies with it)', { skip, timeout: 60000 }, async () => {
  const v = await startRouter('af-xdp', 'af-xdp');
  assert.equal(xdpMode('r1'), 'xdp');
  const gone = new Promise((res) => v.proc.once('exit', res));
  process.kill(v.proc.pid!, 'SIGKILL');
  await gone;
  let mode = xdpMode('r1');
  for (let i = 0; i < 40 && mode !== null; i++) {
    await new Promise((res) => setTimeout(res, 50));
    mode = xdpMode('r1');
  }
  assert.equal(mode, null, lab.run(r, ['ip', 'link', 'show', 'r1']));
  // and the next vRouter attaches again
  vr = await startRouter('af-xdp', 'af-xdp');
  ping(lab, h1, '10.2.0.2', { count: 2, deadlineS: 3 });
  assert.equal(ping(lab, h1, '10.2.0.2', { count: 3, deadlineS: 4 }).received, 3);
  await vr.stop();
  vr = undefined;
});

test('the rtnetlink path (kernels without XDP links) attaches native and skb, refuses a second program, detaches only its own', { skip, timeout: 30000 }, () => {
  const bpf = fileURLToPath(new URL('../../src/dataplane/io/bpf.js', import.meta.url));
  const nl = fileURLToPath(new URL('../../src/dataplane/io/xdp-attach.js', import.meta.url));
  const code = `
    const b = await import(${JSON.stringify(bpf)});
    const n = await import(${JSON.stringify(nl)});
    const { readFileSync } = await import('node:fs');
    const idx = Number(readFileSync('/sys/class/net/r1/ifindex', 'utf8'));
    const map = b.createXskMap(1);
    const p1 = b.loadXdpProgram(b.xskRedirectProgram(map));
    const p2 = b.loadXdpProgram(b.xskRedirectProgram(map));
    const out = [];
    const { execFileSync } = await import('node:child_process');
    const shown = () => / (xdp\\w*) /.exec(execFileSync('ip', ['link', 'show', 'r1'], { encoding: 'utf8' }))?.[1] ?? 'none';
    for (const mode of ['native', 'skb']) {
      n.attachXdp(idx, p1, mode);
      out.push(mode + ':' + shown());
      try { n.attachXdp(idx, p2, mode); out.push('second attached'); } catch (e) { out.push('second refused errno ' + e.errno); }
      try { n.detachXdp(idx, mode, p2); out.push('detached the other'); } catch (e) { out.push('not ours errno ' + e.errno); }
      n.detachXdp(idx, mode, p1);
      out.push('after:' + shown());
    }
    console.log(JSON.stringify(out));
  `;
  const out = JSON.parse(lab.run(r, [process.execPath, '--input-type=module', '-e', code]).trim()) as string[];
  assert.deepEqual(out, [
    'native:xdp', 'second refused errno 16', 'not ours errno 17', 'after:none',
    'skb:xdpgeneric', 'second refused errno 16', 'not ours errno 17', 'after:none',
  ]);
});

test('a netdev with several receive queues is refused with the fix in the message, and taken once it has one', { skip, timeout: 30000 }, () => {
  lab.run(r, ['ip', 'link', 'add', 'mq0', 'numrxqueues', '2', 'numtxqueues', '2', 'type', 'veth', 'peer', 'name', 'mq1']);
  const drv = fileURLToPath(new URL('../../src/dataplane/io/af-xdp.js', import.meta.url));
  const code = `
    const { openAfXdp } = await import(${JSON.stringify(drv)});
    try { openAfXdp('mq0').close(); console.log('opened'); } catch (e) { console.log(e.message); }
  `;
  try {
    assert.match(lab.run(r, [process.execPath, '--input-type=module', '-e', code]), /af-xdp mq0: 2 receive queues, the driver serves one: reduce them to one \(ethtool -L mq0 rx 1/);
    lab.run(r, ['ethtool', '-L', 'mq0', 'rx', '1', 'tx', '1']);
    assert.equal(lab.run(r, [process.execPath, '--input-type=module', '-e', code]).trim(), 'opened');
  } finally {
    lab.run(r, ['ip', 'link', 'del', 'mq0'], { allowFail: true });
  }
});
