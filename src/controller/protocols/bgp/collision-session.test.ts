// The second-connection rules carried out by a real speaker: cnr's BGP on 127.0.0.1 against a
// scripted peer on 127.0.0.2 (loopback TCP, ephemeral ports) that opens a second connection
// at the moment each case needs and checks which connection cnr keeps and what each one gets.
// The same scripted peer checks the hold timer (last test): UPDATEs alone keep it from expiring.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { Rib } from '../../rib/rib.js';
import { createBgp, type Bgp } from './index.js';
import { encodeKeepalive, frameMessage, MessageType } from '../../../wire/bgp/header.js';
import { emptyCapabilities, encodeOpen } from '../../../wire/bgp/open.js';
import { DEFAULT_OPTIONS } from '../../../wire/bgp/options.js';
import { encodeUpdate } from '../../../wire/bgp/update.js';
import { parseIpv4 } from '../../../lib/addr.js';

const CNR = '127.0.0.1';
const PEER = '127.0.0.2';
const CNR_ID = '10.255.0.5';
const logs: string[] = [];
const speakers: Bgp[] = [];
const sockets: net.Socket[] = [];
const servers: net.Server[] = [];

after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all([...speakers.map((b) => b.stop()), ...servers.map((s) => new Promise<void>((r) => s.close(() => r())))]);
});

async function waitFor(what: string, cond: () => boolean, ms = 10000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) {
      console.log(logs.slice(-30).join('\n'));
      assert.fail(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** One TCP connection of the scripted peer: the messages it got (type, and code/subcode of a NOTIFICATION) and whether cnr closed it. */
class PeerConn {
  readonly got: number[][] = [];
  closed = false;
  closedAt = 0;
  private buf = Buffer.alloc(0);
  constructor(readonly sock: net.Socket) {
    sockets.push(sock);
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        const f = frameMessage(this.buf, 4096);
        if (f.kind !== 'message') break;
        this.got.push(f.type === MessageType.Notification ? [f.type, f.body[0]!, f.body[1]!] : [f.type]);
        this.buf = this.buf.subarray(f.length);
      }
    });
    sock.on('close', () => {
      this.closed = true;
      this.closedAt ||= Date.now();
    });
    sock.on('error', () => {});
  }
  has(type: number): boolean {
    return this.got.some((m) => m[0] === type);
  }
  send(b: Uint8Array): void {
    this.sock.write(b);
  }
}

function open(id: string, gr: boolean, holdTime = 90): Uint8Array {
  return encodeOpen({
    version: 4,
    myAs: 65002,
    holdTime,
    bgpId: parseIpv4(id),
    capabilities: {
      ...emptyCapabilities(),
      multiprotocol: [{ afi: 1, safi: 1 }],
      as4: 65002,
      gracefulRestart: gr ? { restarting: false, notification: false, time: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] } : undefined,
    },
  });
}

/** A speaker that connects to a scripted peer; resolves with cnr and the peer's first connection (cnr's outgoing one). */
async function setUp(holdTime?: number): Promise<{ bgp: Bgp; first: PeerConn; connectSecond: () => Promise<PeerConn> }> {
  let accepted: ((c: PeerConn) => void) | undefined;
  const firstP = new Promise<PeerConn>((r) => (accepted = r));
  const server = net.createServer((s) => accepted?.(new PeerConn(s)));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, PEER, () => r()));
  const peerPort = (server.address() as net.AddressInfo).port;
  const bgp = createBgp(new Rib(), { log: (m) => logs.push(m), port: 0, listenAddress: CNR, peerPort: () => peerPort, connectRetryTime: 30, idleHoldTime: 1 });
  speakers.push(bgp);
  await bgp.consumer.apply({
    'routing-options': { 'router-id': CNR_ID, 'autonomous-system': 65001 },
    protocols: { bgp: { group: { ext: { type: 'external', 'peer-as': 65002, ...(holdTime ? { 'hold-time': holdTime } : {}), family: { inet: { unicast: {} } }, neighbor: { [PEER]: { 'local-address': CNR } } } } } },
  }, {});
  const first = await firstP;
  const connectSecond = async () => {
    const s = net.connect({ host: CNR, port: bgp.speaker.port!, localAddress: PEER });
    await new Promise<void>((r, j) => s.once('connect', () => r()).once('error', j));
    return new PeerConn(s);
  };
  return { bgp, first, connectSecond };
}

const neighbor = (bgp: Bgp) => bgp.speaker.instances.get('master')!.neighbors.get(PEER)!;

for (const c of [
  { name: 'the peer\'s identifier is higher: its connection wins, ours is dumped', peerId: '10.255.0.9', secondWins: true },
  { name: 'our identifier is higher: our connection stays, the second is closed', peerId: '10.255.0.1', secondWins: false },
]) {
  test(`collision in OpenConfirm, ${c.name} (Cease 6/7 on the loser)`, async () => {
    const { bgp, first, connectSecond } = await setUp();
    await waitFor('cnr\'s OPEN on its connection', () => first.has(MessageType.Open));
    first.send(open(c.peerId, false));
    await waitFor('OpenConfirm', () => neighbor(bgp).state === 'OpenConfirm');
    const second = await connectSecond();
    await waitFor('cnr\'s OPEN on the second connection', () => second.has(MessageType.Open));
    second.send(open(c.peerId, false));
    const [winner, loser] = c.secondWins ? [second, first] : [first, second];
    await waitFor('the loser is closed', () => loser.closed);
    assert.deepEqual(loser.got.at(-1), [MessageType.Notification, 6, 7]);
    if (c.secondWins) await waitFor('cnr confirms the peer\'s OPEN on the winner', () => winner.has(MessageType.Keepalive));
    winner.send(encodeKeepalive());
    await waitFor('Established', () => neighbor(bgp).state === 'Established');
    assert.equal(neighbor(bgp).conn?.remotePort, winner.sock.localPort, 'the session runs on the winner');
    assert.ok(!winner.got.some((m) => m[0] === MessageType.Notification));
    assert.equal(winner.got.filter((m) => m[0] === MessageType.Open).length, 1, 'one OPEN per connection');
    await bgp.stop();
  });
}

for (const gr of [false, true]) {
  test(`a valid OPEN on a second connection while Established ${gr ? 'with graceful restart negotiated: the peer restarted, the session moves to it' : 'without graceful restart: the Established connection wins (Cease 6/7)'}`, async () => {
    const { bgp, first, connectSecond } = await setUp();
    await waitFor('cnr\'s OPEN', () => first.has(MessageType.Open));
    first.send(open('10.255.0.9', gr));
    first.send(encodeKeepalive());
    await waitFor('Established', () => neighbor(bgp).state === 'Established');
    const second = await connectSecond();
    await waitFor('cnr\'s OPEN on the second connection', () => second.has(MessageType.Open));
    second.send(open('10.255.0.9', gr));
    if (!gr) {
      await waitFor('the second connection is closed', () => second.closed);
      assert.deepEqual(second.got.at(-1), [MessageType.Notification, 6, 7]);
      assert.equal(neighbor(bgp).state, 'Established');
      assert.equal(neighbor(bgp).stats.flaps, 0);
      assert.equal(neighbor(bgp).stats.secondConnections, 1);
      assert.match(neighbor(bgp).stats.lastSecondConnection, /^BGPOpen: valid OPEN while Established: the Established connection wins/);
      assert.ok(!first.closed && !first.got.some((m) => m[0] === MessageType.Notification), 'the Established connection is untouched');
    } else {
      await waitFor('the old connection is closed', () => first.closed);
      assert.ok(!first.got.some((m) => m[0] === MessageType.Notification), 'no NOTIFICATION ends a graceful restart');
      await waitFor('cnr confirms on the new connection', () => second.has(MessageType.Keepalive));
      second.send(encodeKeepalive());
      await waitFor('Established on the new connection', () => neighbor(bgp).state === 'Established' && neighbor(bgp).conn?.remotePort === second.sock.localPort);
      assert.equal(neighbor(bgp).stats.flaps, 1);
      assert.ok(logs.some((l) => /graceful restart: keeping \d+ routes as stale/.test(l)), 'the old session\'s routes are kept stale');
    }
    await bgp.stop();
  });
}

function update(third: number, fourth: number, med: number): Uint8Array {
  return encodeUpdate({ withdrawn: [], attrs: { origin: 0, asPath: [{ type: 2, asns: [65002] }], nextHop: PEER, med }, nlri: [`10.1.${third}.${fourth}/32`] }, DEFAULT_OPTIONS);
}

// UPDATEs restart the hold timer (RFC 4271 6.5: any message received), once per read slice
// since session 13; silence still ends the session with Hold Timer Expired. The UPDATEs carry
// one attribute set but for the last, whose MED differs: the route it announces again must
// carry the new MED (the decoder's memo of the last set is never stale).
test('UPDATEs alone keep a 3 s hold timer from expiring; silence then expires it (NOTIFICATION 4/0); a changed MED arrives', async () => {
  const { bgp, first: peer } = await setUp(3);
  const inst = bgp.speaker.instances.get('master')!;
  await waitFor('cnr\'s OPEN', () => peer.has(MessageType.Open));
  peer.send(open('10.255.0.9', false, 3));
  peer.send(encodeKeepalive());
  await waitFor('Established', () => neighbor(bgp).established);
  // 4.8 s of UPDATEs only, every 400 ms, some written 20 to a segment (one read slice)
  const t0 = Date.now();
  let sent = 0;
  for (let k = 0; Date.now() - t0 < 4800; k++) {
    const burst = k % 3 === 0 ? 20 : 1;
    const msgs: Uint8Array[] = [];
    for (let j = 0; j < burst; j++) msgs.push(update(k, ++sent % 250, 10));
    peer.send(Buffer.concat(msgs));
    await new Promise((r) => setTimeout(r, 400));
    assert.ok(neighbor(bgp).established, `still Established ${Date.now() - t0} ms into UPDATEs without KEEPALIVEs`);
  }
  assert.ok(!peer.has(MessageType.Notification), 'no NOTIFICATION while UPDATEs come');
  // the first prefix again, with MED 20: the set differs in one byte from the last UPDATE's
  peer.send(update(0, 1, 20));
  const lastAt = Date.now();
  const med = () => inst.adjRibIn(neighbor(bgp), 'inet.0').find((r) => r.prefix === '10.1.0.1/32')?.path.inAttrs.med;
  await waitFor('the new MED', () => med() === 20, 2000);
  assert.equal(inst.adjRibIn(neighbor(bgp), 'inet.0').length, sent, 'every prefix sent is in the Adj-RIB-In');
  // then silence: the hold timer expires 3 s after the last UPDATE
  await waitFor('Hold Timer Expired', () => peer.has(MessageType.Notification), 8000);
  assert.deepEqual(peer.got.find((m) => m[0] === MessageType.Notification), [MessageType.Notification, 4, 0]);
  await waitFor('the connection closed', () => peer.closed, 3000);
  assert.ok(peer.closedAt - lastAt >= 2500, `expired ${peer.closedAt - lastAt} ms after the last UPDATE (hold time 3 s)`);
  await bgp.stop();
});
