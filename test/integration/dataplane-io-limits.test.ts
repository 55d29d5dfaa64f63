/**
 * The edges of packet I/O on real interfaces (root only), with hosts at the kernel's default
 * offloads: host1 — vRouter (AF_PACKET) — host2.
 *
 * - A burst the vRouter cannot take (it is stopped with SIGSTOP while the burst arrives)
 *   overflows the receive ring: the kernel's drops must show in `cnr vif --list` (RING-DROPS)
 *   and `cnr dropstats` (rx_ring_drop), not vanish.
 * - A 9000-byte MTU path with the default (2048-byte) packet buffers: TCP between hosts whose
 *   links have a 9000-byte MTU crosses the vRouter (jumbo TCP is cut into segments that fit a
 *   packet buffer), a jumbo datagram or ping that cannot be cut is dropped and counted
 *   (rx_too_big), and a packet larger than a smaller MTU that follows gets ICMP
 *   "fragmentation needed" with that MTU.
 * - The same path with the vRouter started for a 9000-byte MTU (maxMtu, `--max-mtu 9000`):
 *   a 9000-byte ping and an 8972-byte UDP datagram cross it whole, IPv4 and IPv6.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { NetnsLab, needsRoot, numberedHost, ping, stopChild, waitForLine } from '../lib/netns.js';
import { startVrouter, type RunningVrouter } from '../lib/vrouter.js';
import { tcpBulk } from '../lib/tcp-bulk.js';

const skip = needsRoot();
const lab = new NetnsLab('dpiol');
let h1 = '';
let h2 = '';
let r = '';
let vr: RunningVrouter | undefined;

before(async () => {
  if (skip) return;
  // host1 and host2 on jumbo links; host3 behind a 1500-byte link
  ({ router: r, hosts: [h1, h2] } = lab.topology({ router: 'r', hosts: [numberedHost(1, { mtu: 9000 }), numberedHost(2, { mtu: 9000 }), numberedHost(3)] }));
  vr = await startRouter();
});

/** the vRouter between the hosts; maxMtu: what it is started for (default: 1500, 2048-byte buffers) */
async function startRouter(maxMtu?: number): Promise<RunningVrouter> {
  const v = await startVrouter(lab, r, {
    workers: 1,
    ...(maxMtu ? { maxMtu } : {}),
    vifs: [
      { name: 'r1', driver: 'af-packet', mac: '02:ee:00:00:01:01', mtu: 9000, addresses: ['10.1.0.1/24', '2001:db8:1::1/64'] },
      { name: 'r2', driver: 'af-packet', mac: '02:ee:00:00:02:01', mtu: 9000, addresses: ['10.2.0.1/24', '2001:db8:2::1/64'] },
      { name: 'r3', driver: 'af-packet', mac: '02:ee:00:00:03:01', mtu: 1500, addresses: ['10.3.0.1/24', '2001:db8:3::1/64'] },
    ],
  });
  for (const dst of ['10.2.0.2', '10.3.0.2', '2001:db8:2::2']) ping(lab, h1, dst, { count: 2, deadlineS: 3 });
  return v;
}

const UDP_PORT = 9100;

/**
 * Send `count` UDP datagrams of `size` bytes (distinct payloads) from host1 to host2's addr;
 * returns how many arrived with their exact bytes (a receiver on host2 prints each one's
 * length and SHA-256) and how many were sent.
 */
async function udpAcross(addr: string, size: number, count: number): Promise<{ intact: number; received: number }> {
  const fam = addr.includes(':') ? 'AF_INET6' : 'AF_INET';
  const rx = lab.spawn(h2, ['/usr/bin/python3', '-u', '-c', [
    'import socket, hashlib',
    `s = socket.socket(socket.${fam}, socket.SOCK_DGRAM)`,
    `s.bind(('${addr}', ${UDP_PORT}))`,
    's.settimeout(2)',
    "print('listening', flush=True)",
    'try:',
    '    while True:',
    '        d = s.recv(65535)',
    "        print(len(d), hashlib.sha256(d).hexdigest(), flush=True)",
    'except socket.timeout:',
    "    print('done', flush=True)",
  ].join('\n')]);
  let out = '';
  rx.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await waitForLine(rx, /^listening/, 5000);
    const payloads = Array.from({ length: count }, (_, k) => Buffer.alloc(size, `jumbo datagram ${k} `));
    lab.run(h1, ['/usr/bin/python3', '-c', [
      'import socket, sys',
      `s = socket.socket(socket.${fam}, socket.SOCK_DGRAM)`,
      // with DF (the kernel's default for UDP is to fragment): a datagram crosses whole or not at all
      `s.setsockopt(socket.${fam === 'AF_INET' ? 'IPPROTO_IP, 10' : 'IPPROTO_IPV6, 23'}, 2)`,
      `for k in range(${count}):`,
      `    s.sendto(((b'jumbo datagram %d ' % k) * ${size})[:${size}], ('${addr}', ${UDP_PORT}))`,
    ].join('\n')], { timeout: 10000 });
    await waitForLine(rx, /^done/, 10000);
    const want = new Set(payloads.map((p) => `${size} ${createHash('sha256').update(p).digest('hex')}`));
    const lines = out.split('\n').filter((l) => /^\d+ [0-9a-f]{64}$/.test(l));
    return { intact: lines.filter((l) => want.has(l)).length, received: lines.length };
  } finally {
    await stopChild(rx, 2000);
  }
}

after(async () => {
  if (vr) await vr.stop();
  await lab.cleanup();
});

interface Vif {
  name: string;
  drops: number;
  io: Record<string, number>;
}

function vifs(): Map<string, Vif> {
  return new Map((JSON.parse(vr!.cnr('vif', '--list', '--json')) as Vif[]).map((v) => [v.name, v]));
}

test('TCP across a 9000-byte MTU path, both ways, IPv4 and IPv6, at default offloads', { skip, timeout: 60000 }, async () => {
  const before = vifs().get('r1')!.io.gsoFrames!;
  for (const [addr, port] of [['10.2.0.2', 5701], ['2001:db8:2::2', 5702]] as const) {
    const bytes = 8 << 20;
    const res = await tcpBulk(lab, h2, h1, addr, port, bytes, 20);
    assert.deepEqual([res.upBytes, res.upOk, res.downBytes, res.downOk], [bytes, true, bytes, true], JSON.stringify(res));
  }
  const r1 = vifs().get('r1')!;
  assert.ok(r1.io.gsoFrames! > before, `jumbo super-frames were cut: ${JSON.stringify(r1.io)}`);
  assert.equal(r1.io.rxTooBig, 0);
});

test('a jumbo datagram that cannot be cut is counted (rx_too_big); a packet above a smaller MTU that follows gets ICMP fragmentation needed', { skip, timeout: 30000 }, async () => {
  const tooBigBefore = vifs().get('r1')!.io.rxTooBig!;
  // 8000-byte echo requests with DF: no packet buffer holds them; each must be counted
  const big = ping(lab, h1, '10.2.0.2', { count: 3, deadlineS: 3 });
  assert.ok(big.received >= 2, 'small pings pass');
  // no deadline (-w): with one, ping keeps sending until it has its count of replies
  lab.run(h1, ['ping', '-4', '-n', '-c', '3', '-i', '0.2', '-W', '1', '-M', 'do', '-s', '8000', '10.2.0.2'], { allowFail: true });
  let r1 = vifs().get('r1')!;
  assert.equal(r1.io.rxTooBig! - tooBigBefore, 3, JSON.stringify(r1.io));
  assert.match(vr!.cnr('dropstats'), /rx_too_big\s+[1-9]/);
  // the largest a 9000-byte MTU carries, a 9000-byte ping and an 8972-byte datagram, neither fits
  const full = lab.run(h1, ['ping', '-4', '-n', '-c', '2', '-i', '0.2', '-W', '1', '-M', 'do', '-s', '8972', '10.2.0.2'], { allowFail: true });
  assert.match(full, / 0 received/, full);
  const udp = await udpAcross('10.2.0.2', 8972, 2);
  assert.equal(udp.received, 0);
  r1 = vifs().get('r1')!;
  assert.equal(r1.io.rxTooBig! - tooBigBefore, 3 + 2 + 2, JSON.stringify(r1.io));
  // 1700 bytes fit a packet buffer but not host3's 1500-byte link: ICMP frag needed, mtu 1500
  const out = lab.run(h1, ['ping', '-4', '-n', '-c', '2', '-i', '0.3', '-w', '3', '-M', 'do', '-s', '1700', '10.3.0.2'], { allowFail: true });
  assert.match(out, /(Frag needed and DF set \(mtu = 1500\)|mtu ?= ?1500)/i, out);
  const out6 = lab.run(h1, ['ping', '-6', '-n', '-c', '2', '-i', '0.3', '-w', '3', '-M', 'do', '-s', '1700', '2001:db8:3::2'], { allowFail: true });
  assert.match(out6, /(Packet too big: mtu=1500|mtu ?= ?1500)/i, out6);
});

test('a burst that overflows the receive ring shows in cnr vif --list (RING-DROPS) and cnr dropstats (rx_ring_drop)', { skip, timeout: 30000 }, async () => {
  const N = 12000;
  const before = vifs().get('r1')!;
  // the vRouter stops reading while the burst arrives: its 4096-frame ring must overflow (the
  // burst is to the router's own address: the kernel fast path forwards only transit traffic,
  // so every datagram is the vRouter's to read)
  process.kill(vr!.proc.pid!, 'SIGSTOP');
  try {
    lab.run(h1, ['/usr/bin/python3', '-c', [
      'import socket',
      's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
      `for i in range(${N}):`,
      "    s.sendto(b'x' * 64, ('10.1.0.1', 9))",
    ].join('\n')], { timeout: 20000 });
  } finally {
    process.kill(vr!.proc.pid!, 'SIGCONT');
  }
  let r1 = vifs().get('r1')!;
  for (let i = 0; i < 20 && r1.io.kernelDrops === before.io.kernelDrops; i++) {
    await new Promise((res) => setTimeout(res, 100));
    r1 = vifs().get('r1')!;
  }
  const dropped = r1.io.kernelDrops! - before.io.kernelDrops!;
  assert.ok(dropped >= N - 4096 - 100 && dropped <= N, `kernel drops ${dropped} for a burst of ${N} into a 4096-frame ring`);
  assert.ok(r1.drops - before.drops >= dropped, 'part of the vif\'s drops');
  const table = vr!.cnr('vif', '--list');
  const header = table.split('\n')[0]!.split(/\s+/);
  const row = table.split('\n').find((l) => /^\s*\d+\s+r1\s/.test(l))!.trim().split(/\s+/);
  assert.equal(header[header.length - 1], 'RING-DROPS');
  assert.equal(Number(row[row.length - 1]), r1.io.kernelDrops, table);
  const ds = /rx_ring_drop\s+(\d+)/.exec(vr!.cnr('dropstats'));
  assert.ok(ds && Number(ds[1]) >= dropped, vr!.cnr('dropstats'));
});

test('started for a 9000-byte MTU (maxMtu), the vRouter carries a 9000-byte ping and an 8972-byte UDP datagram whole, IPv4 and IPv6', { skip, timeout: 60000 }, async () => {
  // a new vRouter on the same interfaces: the packet buffers are sized once, at start
  await vr!.stop();
  vr = undefined;
  vr = await startRouter(9000);
  for (const [fam, addr, size] of [['-4', '10.2.0.2', 8972], ['-6', '2001:db8:2::2', 8952]] as const) {
    // ping checks each reply's payload against what it sent ("wrong data byte" otherwise)
    const out = lab.run(h1, ['ping', fam, '-n', '-c', '3', '-i', '0.2', '-W', '2', '-M', 'do', '-s', String(size), addr], { allowFail: true });
    assert.match(out, / 3 received/, out);
    assert.match(out, new RegExp(`${size + 8} bytes from`), out);
    assert.doesNotMatch(out, /wrong data|truncated|frag needed|too big/i, out);
    const udp = await udpAcross(addr, size, 3);
    assert.deepEqual(udp, { intact: 3, received: 3 }, `${size}-byte datagrams to ${addr}`);
  }
  const io = vifs().get('r1')!.io;
  assert.equal(io.rxTooBig, 0, JSON.stringify(io));
});
