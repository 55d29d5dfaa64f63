/**
 * The packet drivers on real interfaces: a child process in namespace R bridges two ports
 * through AF_PACKET rings (and a TAP device), and hosts on either side must reach each other
 * over IPv4, IPv6 and UDP whose checksum the sender left to offload.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { NetnsLab, needsRoot, ping, waitForLine, stopChild } from '../lib/netns.js';
import { Capture } from '../lib/capture.js';
import type { ChildProcess } from 'node:child_process';

const skip = needsRoot();
const bridge = fileURLToPath(new URL('../lib/bridge-child.js', import.meta.url));
const lab = new NetnsLab('dpio');
let h1 = '';
let h2 = '';
let r = '';

/** Start the bridge, wait for "ready", run `body`, stop it and return its driver counters. */
async function withBridge(args: string[], body: (c: ChildProcess) => Promise<void> | void): Promise<Record<string, number>[]> {
  const c = lab.spawn(r, [process.execPath, bridge, ...args]);
  let stats = '';
  c.stdout!.on('data', (d: Buffer) => (stats += d.toString()));
  await waitForLine(c, /^ready/);
  try {
    await body(c);
  } finally {
    await stopChild(c, 5000);
  }
  assert.equal(c.exitCode, 0, 'bridge exits cleanly on SIGTERM');
  const m = /stats (.*)/.exec(stats);
  assert.ok(m, `no stats line in: ${stats}`);
  return JSON.parse(m[1]!) as Record<string, number>[];
}

before(() => {
  if (skip) return;
  // one subnet across the bridge: the router's namespace only carries the frames
  ({ router: r, hosts: [h1, h2] } = lab.topology({
    router: 'r',
    hosts: [
      { name: 'h1', routerIf: 'r1', addrs: ['10.9.0.1/24', '2001:db8:9::1/64'] },
      { name: 'h2', routerIf: 'r2', addrs: ['10.9.0.2/24', '2001:db8:9::2/64'] },
    ],
  }));
});

after(() => lab.cleanup());

test('AF_PACKET rings carry IPv4, IPv6, 802.1Q-tagged and offloaded-checksum UDP frames both ways', { skip, timeout: 60000 }, async () => {
  const stats = await withBridge(['af:r1', 'af:r2'], async () => {
    const p4 = ping(lab, h1, '10.9.0.2', { count: 5 });
    assert.equal(p4.received, 5, p4.output);
    const p6 = ping(lab, h2, '2001:db8:9::1', { count: 5 });
    assert.equal(p6.received, 5, p6.output);
    // h1 keeps tx checksum offload on: its UDP frames reach r1 with a partial checksum that
    // the driver must complete, or h2's kernel drops the datagram.
    const listener = lab.spawn(h2, ['/usr/bin/python3', '-c', "import socket;s=socket.socket(2,2);s.bind(('10.9.0.2',7000));s.settimeout(8);print('got',s.recv(100).decode(),flush=True)"]);
    await new Promise((res) => setTimeout(res, 300));
    for (let i = 0; i < 3; i++) lab.run(h1, ['/usr/bin/python3', '-c', "import socket;socket.socket(2,2).sendto(b'offload-check',('10.9.0.2',7000))"]);
    const line = await waitForLine(listener, /^got/, 10000);
    assert.match(line, /offload-check/);
    // 802.1Q: the kernel hands tags to AF_PACKET out of band; the driver must put them back
    const cap = await Capture.start(lab, h2, 'eth0', 'vlan');
    try {
      const send = "from scapy.all import *\nsendp(Ether(dst='02:00:00:00:00:22')/Dot1Q(prio=3,vlan=100)/IP(src='10.7.0.1',dst='10.7.0.2')/UDP(dport=9)/b'tagged', iface='eth0', count=3, inter=0.05, verbose=False)";
      lab.run(h1, ['/usr/bin/python3', '-c', send], { timeout: 30000 });
      await new Promise((res) => setTimeout(res, 500));
    } finally {
      await cap.stop();
    }
    const tagged = cap.fields('udp.dstport == 9', ['vlan.id', 'vlan.priority', 'ip.dst']);
    cap.remove();
    assert.equal(tagged.length, 3, `tagged frames at h2: ${JSON.stringify(tagged)}`);
    assert.deepEqual(tagged[0], ['100', '3', '10.7.0.2']);
  });
  const [r1, r2] = stats;
  assert.ok(r1!.rxFrames! >= 10 && r2!.rxFrames! >= 10, JSON.stringify(stats));
  assert.ok(r1!.csumCompleted! >= 1, `partial checksums completed: ${JSON.stringify(r1)}`);
  assert.equal(r1!.txRingFull, 0);
});

test('TAP driver in a worker thread: a host reaches a TAP device moved into its namespace', { skip, timeout: 60000 }, async () => {
  lab.run(h1, ['ip', 'addr', 'add', '10.8.0.1/24', 'dev', 'eth0']);
  const stats = await withBridge(['--worker', 'af:r1', 'tap:dpiotap0'], () => {
    // the TAP fd stays ours when its netdev moves to another namespace
    lab.run(r, ['ip', 'link', 'set', 'dpiotap0', 'netns', h2]);
    lab.run(h2, ['ip', 'link', 'set', 'dpiotap0', 'up']);
    lab.run(h2, ['ip', 'addr', 'add', '10.8.0.2/24', 'dev', 'dpiotap0']);
    const p = ping(lab, h1, '10.8.0.2', { count: 3 });
    assert.equal(p.received, 3, p.output);
  });
  const tap = stats.find((s) => String(s.name) === 'dpiotap0');
  assert.ok(tap && tap.rxFrames! >= 3 && tap.txFrames! >= 3, JSON.stringify(stats));
  const gone = lab.run(h2, ['ip', 'link', 'show', 'dpiotap0'], { allowFail: true });
  assert.match(gone, /does not exist/, 'closing the driver removes the TAP device');
});

test('bad interface names fail with a clear error; close is idempotent and a closed driver is inert', { skip, timeout: 30000 }, async () => {
  const { openAfPacket } = await import('../../src/dataplane/io/af-packet.js');
  const { PacketPool } = await import('../../src/dataplane/pool.js');
  assert.throws(() => openAfPacket('cnr-no-such-if'), /bad interface name|not found/);
  assert.throws(() => openAfPacket('nosuchif0'), /interface 'nosuchif0' not found/);
  // lo exists in every namespace, this one included
  const d = openAfPacket('lo', { disableOffloads: false, up: false, kernelArp: true, rxFrames: 32, txFrames: 32 }); // change nothing on this lo
  assert.ok(d.fd >= 0);
  assert.equal(d.hwaddr.length, 6);
  d.close();
  d.close();
  assert.equal(d.fd, -1);
  const pool = new PacketPool(4);
  const out = new Uint32Array(4);
  assert.equal(d.rxBurst(pool, out, 4), 0);
  const i = pool.put(new Uint8Array(60));
  out[0] = i;
  assert.equal(d.txBurst(pool, out, 0, 1), 0);
  assert.equal(pool.available, 4, 'the refused frame went back to the pool');
  d.flush();
});
