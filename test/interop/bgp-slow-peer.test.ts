/**
 * Outbound pacing (update groups, src/controller/protocols/bgp/update-group.ts): cnr's BGP,
 * in process on loopback, learns routes from one injector session and re-advertises them to
 * three eBGP receivers in one update group. One receiver stops reading its socket. The other
 * two must still get every route while it sleeps; the sleeper gets every route after it reads
 * again; and what cnr holds unsent for it stays bounded (the kernel's socket buffers fill, then
 * the member falls behind and is caught up from the group's table, not from a growing queue).
 * The peers are real TCP sessions (bench/lib/bgp-injector.ts' speaker); no root needed.
 *
 * One knob: the kernel's send buffer of cnr's socket toward the sleeper is pinned to 64 KB
 * (SO_SNDBUF). Linux autotunes it up to tcp_wmem's maximum (4 MB), which a million routes
 * would be needed to overflow; with it pinned, 400k routes (2 MB of UPDATEs) do.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Rib } from '../../src/controller/rib/rib.js';
import { createBgp } from '../../src/controller/protocols/bgp/index.js';
import { PACE_BYTES } from '../../src/controller/protocols/bgp/update-group.js';
import { BgpInjector, encodeBulkUpdates } from '../../bench/lib/bgp-injector.js';
import { PrefixCounter } from '../../bench/lib/bgp-count-receiver.js';
import { socketFd } from '../../src/controller/protocols/bgp/socket-options.js';
import { tryLibc } from '../../src/sys/libc.js';
import { SOL_SOCKET } from '../../src/sys/constants.js';

const SO_SNDBUF = 7;

const ROUTER = '127.0.0.1';
const INJECTOR = { addr: '127.0.0.9', asn: 65001 };
const RECEIVERS = ['127.0.0.10', '127.0.0.11', '127.0.0.12'];
const FIRST_RCV_AS = 65100;
/** enough routes that their UPDATEs (about 5 bytes each) overflow the kernel's buffers of a socket nobody reads */
const COUNT = 400_000;

const rib = new Rib();
rib.announce('inet.0', 'direct', { prefix: '127.0.0.0/8', protocol: 'direct', preference: 0, nexthops: [{ interface: 'lo' }] });
const logs: string[] = [];
const bgp = createBgp(rib, { log: (m) => logs.push(m), port: 0, listenAddress: ROUTER, peerPort: () => 1, connectRetryTime: 1, idleHoldTime: 1 });
const sessions: BgpInjector[] = [];

after(async () => {
  for (const s of sessions) s.close();
  await bgp.stop();
});

async function waitFor(what: string, cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) {
      console.log(logs.slice(-20).join('\n'));
      assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a receiver that stops reading neither holds back the others nor grows memory; it gets every route after it reads again', { timeout: 80_000 }, async () => {
  const neighbor = (asn: number) => ({ 'peer-as': asn, passive: true });
  await bgp.consumer.apply(
    {
      'routing-options': { 'router-id': '10.255.0.1', 'autonomous-system': 65002 },
      protocols: {
        bgp: {
          group: {
            inj: { type: 'external', 'local-address': ROUTER, neighbor: { [INJECTOR.addr]: neighbor(INJECTOR.asn) } },
            rcv: { type: 'external', 'local-address': ROUTER, neighbor: Object.fromEntries(RECEIVERS.map((a, i) => [a, neighbor(FIRST_RCV_AS + i)])) },
          },
        },
      },
    },
    {},
  );
  const port = bgp.speaker.port!;
  const counters = RECEIVERS.map(() => new PrefixCounter(0x0a000000, 28, COUNT));
  const receivers = await Promise.all(
    RECEIVERS.map(async (addr, i) => {
      const s = new BgpInjector({ peer: ROUTER, port, localAs: FIRST_RCV_AS + i, routerId: addr, localAddress: addr });
      sessions.push(s);
      s.onUpdate = (body) => counters[i]!.update(body);
      await s.connect(10_000);
      return s;
    }),
  );
  const slow = 2;
  receivers[slow]!.pause();
  const inj = new BgpInjector({ peer: ROUTER, port, localAs: INJECTOR.asn, routerId: INJECTOR.addr, localAddress: INJECTOR.addr });
  sessions.push(inj);
  await inj.connect(10_000);

  // what cnr holds unsent for the sleeping receiver, sampled while it sleeps
  const nb = bgp.speaker.instances.get('master')!.neighbors.get(RECEIVERS[slow]!)!;
  const libc = tryLibc();
  const fd = nb.conn ? socketFd(nb.conn.socket) : undefined;
  assert.ok(libc && fd !== undefined, 'the socket toward the sleeper');
  const v = new Uint8Array(4);
  new DataView(v.buffer).setInt32(0, 64 * 1024, true);
  assert.equal(libc.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, v, 4), 0, 'SO_SNDBUF');
  let most = 0;
  const sample = setInterval(() => (most = Math.max(most, nb.conn?.socket.writableLength ?? 0)), 10);
  try {
    await inj.send(encodeBulkUpdates({ count: COUNT, perUpdate: 100, nextHop: INJECTOR.addr, asPath: [INJECTOR.asn] }).bytes);
    await waitFor('the two reading receivers to hold every route', () => counters[0]!.held === COUNT && counters[1]!.held === COUNT, 50_000);
    assert.ok(counters[slow]!.held < COUNT, 'the sleeping receiver has not read everything (it reads nothing)');
    // the kernel's buffers toward the sleeper are full: cnr had to hold bytes back
    await waitFor('cnr to hold bytes for the sleeper', () => (nb.conn?.socket.writableLength ?? 0) > 0, 5_000);
  } finally {
    clearInterval(sample);
  }
  // bounded: at most the pacing threshold plus one flush's or one catch-up step's UPDATEs, not the table
  assert.ok(most <= PACE_BYTES + 128 * 1024, `unsent bytes toward the sleeper peaked at ${most}`);
  receivers[slow]!.resume();
  await waitFor('the sleeper to catch up', () => counters[slow]!.held === COUNT, 30_000);
  for (const c of counters) assert.equal(c.withdrawn, 0, 'nothing withdrawn');
  assert.equal(counters[slow]!.outside, 0);
});
