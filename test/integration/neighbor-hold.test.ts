/**
 * The first packet toward a neighbour the vRouter has not resolved yet is held until the
 * neighbour answers ARP (or NDP), then sent, as Linux holds it (unres_qlen): host1 — vRouter
 * (two workers, AF_PACKET vifs) — host2, and host1 sends host2 one UDP datagram over IPv4 and
 * one over IPv6, each a single try (no retransmission to hide a loss), while the vRouter knows
 * nothing of host2. Both must arrive. Before the hold the datagram was dropped
 * (arp_unresolved) while the request went out; a BGP SYN in its place waited a second for the
 * sender's retry. The two vifs are on different workers: the reply comes in on another worker
 * than the one holding the packet, so the release goes through the main thread's neighbour
 * table.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { NetnsLab, needsRoot, numberedHost, waitForLine } from '../lib/netns.js';
import { startVrouter, type RunningVrouter } from '../lib/vrouter.js';
import { introspect } from '../lib/traffic.js';

const skip = needsRoot();
const lab = new NetnsLab('nhold');
const PORT = 5611;
let h1 = '';
let h2 = '';
let r = '';
let vr: RunningVrouter | undefined;
let receiver: ChildProcess | undefined;

before(async () => {
  if (skip) return;
  ({ router: r, hosts: [h1, h2] } = lab.topology({ router: 'r', hosts: [numberedHost(1), numberedHost(2)] }));
  vr = await startVrouter(lab, r, {
    workers: 2,
    vifs: [
      { name: 'r1', driver: 'af-packet', mac: '02:cd:00:00:01:01', addresses: ['10.1.0.1/24', '2001:db8:1::1/64'] },
      { name: 'r2', driver: 'af-packet', mac: '02:cd:00:00:02:01', addresses: ['10.2.0.1/24', '2001:db8:2::1/64'] },
    ],
  });
  // host2 counts datagrams on both families, one line each
  const py = [
    'import select, socket, sys, time',
    `a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(('0.0.0.0', ${PORT}))`,
    `b = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); b.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); b.bind(('::', ${PORT}))`,
    'print("listening", flush=True)',
    'while True:',
    '  for s in select.select([a, b], [], [], 30)[0]:',
    '    d, src = s.recvfrom(2048); print("got", d.decode(), flush=True)',
  ].join('\n');
  receiver = lab.spawn(h2, ['/usr/bin/python3', '-c', py]);
  await waitForLine(receiver, /^listening/, 10_000);
});

after(async () => {
  if (vr) await vr.stop();
  await lab.cleanup();
});

test('the first datagram to an unresolved neighbour waits for its ARP/NDP answer and arrives (IPv4 and IPv6)', { skip, timeout: 30_000 }, async () => {
  const nbrs = () => introspect<{ ip: string; state: string }[]>(r, `127.0.0.1:${vr!.port}`, '/nbr');
  assert.deepEqual(nbrs().filter((n) => n.ip === '10.2.0.2' || n.ip === '2001:db8:2::2'), [], 'host2 is not known yet');
  for (const [family, dst] of [['4', '10.2.0.2'], ['6', '2001:db8:2::2']] as const) {
    const marker = `first-v${family}`;
    const got = waitForLine(receiver!, new RegExp(`^got ${marker}$`), 3_000);
    const py = `import socket; socket.socket(socket.AF_INET${family === '6' ? '6' : ''}, socket.SOCK_DGRAM).sendto(b'${marker}', ('${dst}', ${PORT}))`;
    const t0 = performance.now();
    lab.run(h1, ['/usr/bin/python3', '-c', py]);
    await got.catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; vRouter drops: ${vr!.cnr('dropstats')}`);
    });
    const ms = performance.now() - t0;
    // one ARP/NDP round trip on veths, the release within a worker's idle poll (20 ms): far below a TCP SYN's 1 s retry
    assert.ok(ms < 1000, `${marker} took ${ms.toFixed(0)} ms`);
    console.log(`# ${marker}: arrived ${ms.toFixed(0)} ms after it was sent`);
  }
  const known = nbrs().filter((n) => n.ip === '10.2.0.2' || n.ip === '2001:db8:2::2');
  assert.deepEqual(known.map((n) => n.state).sort(), ['resolved', 'resolved'], JSON.stringify(known));
  const drops = JSON.parse(vr!.cnr('dropstats', '--json')) as Record<string, number>;
  assert.equal(drops['arp_unresolved'] ?? 0, 0, JSON.stringify(drops));
  assert.equal(drops['arp_hold_timeout'] ?? 0, 0, JSON.stringify(drops));
});
