/**
 * Connection collisions against a real peer (RFC 4271 6.8, RFC 4724 4.2): cnr (`cnr
 * controller`, AS 65000, 10.0.0.1) and BIRD (AS 65002, 10.0.0.2, graceful restart on) over
 * one veth. While the session is Established, TCP connections from BIRD's namespace and
 * address to cnr's port 179 that send nothing, garbage, or an OPEN with a wrong AS (a few
 * lines of /usr/bin/python3) must leave the session alone: same uptime, no flap, the routes
 * untouched on both sides; each gets its own NOTIFICATION. A real restart of BIRD whose old
 * connection never closes (its FIN and RST dropped by iptables in BIRD's namespace, as when
 * a peer's box dies) still takes over when the new BIRD's OPEN arrives: BIRD's routes stay
 * at cnr (stale) through the restart, and one BIRD no longer announces is gone after its
 * End-of-RIB.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, canBuildLabs } from './harness/lab.js';
import { Cnr, cnrAvailable, findNeighbor } from './harness/cnr.js';
import { Bird, birdConfig } from './harness/bird.js';
import { must, run, sleep, waitFor } from './harness/proc.js';

const reason = !canBuildLabs() ? 'needs root to build network namespaces' : !cnrAvailable() ? 'cnr with BGP is not built yet' : undefined;

const CNR = '10.0.0.1';
const PEER = '10.0.0.2';
const KEPT = '203.0.113.0/24';
const DROPPED = '198.18.0.0/24';
const T = 30_000;

/** A TCP client in the peer's namespace: connects from PEER, sends what `mode` says, reports the messages it got back. */
const CLIENT = `
import json, socket, struct, sys, time
mode, src, dst, wait = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
s = socket.socket(socket.AF_INET)
s.bind((src, 0))
s.settimeout(5)
s.connect((dst, 179))
def open_msg(asn, bgp_id):
    caps = bytes([65, 4]) + struct.pack('!I', asn) + bytes([1, 4, 0, 1, 0, 1])
    params = bytes([2, len(caps)]) + caps
    body = struct.pack('!BHH4sB', 4, asn if asn < 65536 else 23456, 90, socket.inet_aton(bgp_id), len(params)) + params
    return b'\\xff' * 16 + struct.pack('!HB', 19 + len(body), 1) + body
if mode == 'garbage':
    s.sendall(b'GET / HTTP/1.1\\r\\nHost: cnr\\r\\n\\r\\n' + bytes(range(64)))
elif mode == 'wrong-as':
    s.sendall(open_msg(65099, src))
buf, closed, t0 = b'', False, time.time()
while time.time() - t0 < wait:
    s.settimeout(max(0.05, wait - (time.time() - t0)))
    try:
        d = s.recv(4096)
    except socket.timeout:
        break
    except ConnectionResetError:
        closed = True
        break
    if not d:
        closed = True
        break
    buf += d
msgs, i = [], 0
while i + 19 <= len(buf):
    n, t = struct.unpack('!HB', buf[i + 16:i + 19])
    msgs.append([t] + (list(buf[i + 19:i + 21]) if t == 3 else []))
    i += n
s.close()
print(json.dumps({'messages': msgs, 'closed': closed}))
`;

function bird(routes: string[]): string {
  return birdConfig({
    asn: 65002,
    routerId: PEER,
    static4: routes.map((prefix) => ({ prefix })),
    neighbors: [{
      name: 'cnr4',
      address: CNR,
      asn: 65000,
      channels: 'ipv4 { import all; export where source = RTS_STATIC; };',
      lines: ['graceful restart on;', 'connect delay time 1;', 'connect retry time 1;'],
    }],
  });
}

describe('cnr and connections that collide with an Established session (BIRD)', { skip: reason, timeout: 150_000 }, () => {
  let lab: Lab;
  let cnr: Cnr;
  let peer: Bird;
  let nsPeer: string;

  before(async () => {
    lab = new Lab('icol');
    const nsCnr = lab.ns('cnr');
    nsPeer = lab.ns('peer');
    const link = lab.link(nsCnr, nsPeer, { a4: `${CNR}/30`, b4: `${PEER}/30` });
    peer = await Bird.start(lab, nsPeer, 'peer', bird([KEPT, DROPPED]));
    cnr = await Cnr.start(lab, nsCnr, 'dut', {
      asn: 65000,
      routerId: '10.255.0.1',
      interfaces: [{ name: link.ifA, addresses: [`${CNR}/30`] }],
      statics: ['198.51.100.0/24'],
      neighbors: [{ address: PEER, asn: 65002, families: ['inet'], import: ['ALL'], extra: ['graceful-restart'] }],
      extra: ['set policy-options policy-statement ALL then accept'],
    });
    await waitFor('session Established', async () => /^established$/i.test((await cnr.neighborState(PEER)) ?? ''), T);
    await waitFor(`cnr learns ${KEPT} and ${DROPPED}`, async () => (await cnr.bgpRoute(KEPT)) !== undefined && (await cnr.bgpRoute(DROPPED)) !== undefined, T);
    await waitFor('BIRD learns 198.51.100.0/24', () => peer.prefixesFrom('cnr4').includes('198.51.100.0/24'), T);
  }, { timeout: 60_000 });

  after(async () => {
    if (process.env['CNR_INTEROP_DEBUG']) console.log(cnr?.daemon.output().slice(-6000));
    await lab?.close();
  });

  /** BIRD's `since` column as `HH:MM:SS.mmm  State`: its state, and its time in ms of the day (NaN if another form). */
  const stateOf = (since: string | undefined) => since?.split(/\s+/)[1];
  function msOfDay(since: string | undefined): number {
    const m = /^(\d+):(\d+):(\d+)(?:\.(\d+))?/.exec(since ?? '');
    return m ? ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number((m[4] ?? '0').padEnd(3, '0').slice(0, 3)) : Number.NaN;
  }

  /** What must not change when a stray connection comes and goes. */
  async function snapshot() {
    const nb = await cnr.neighbor(PEER);
    const sum = findNeighbor(await cnr.json('show bgp summary'), PEER);
    const since = /^cnr4\s+BGP\s+\S+\s+\S+\s+(\S+\s+\S+)/m.exec(peer.birdc('show', 'protocols', 'cnr4'))?.[1];
    return {
      at: Date.now(),
      state: String(nb.state),
      // the session's own TCP connection
      ports: `${nb['local-port']}-${nb['remote-port']}`,
      flaps: Number(sum.flaps),
      elapsed: Number(sum['elapsed-seconds']),
      received: await cnr.receivedCount(PEER),
      birdSince: since,
      birdRoutes: peer.prefixesFrom('cnr4').length,
      second: Number(nb['second-connections']),
    };
  }

  const cases: { mode: string; want: number[][]; closedByCnr: boolean; outcome: RegExp }[] = [
    // cnr sends its OPEN on the second connection and waits for the peer's; the client leaves first
    { mode: 'silent', want: [[1]], closedByCnr: false, outcome: /^TcpConnectionFails: / },
    { mode: 'garbage', want: [[1], [3, 1, 1]], closedByCnr: true, outcome: /^BGPHeaderErr: NOTIFICATION 1\/1 / },
    { mode: 'wrong-as', want: [[1], [3, 2, 2]], closedByCnr: true, outcome: /^BGPOpenMsgErr: NOTIFICATION 2\/2 \(peer AS 65099/ },
  ];

  for (const c of cases) {
    test(`a connection from the peer's address that sends ${c.mode === 'silent' ? 'nothing' : c.mode === 'garbage' ? 'garbage' : 'an OPEN with a wrong AS'} leaves the session alone`, async () => {
      const before = await snapshot();
      assert.equal(before.state, 'Established');
      const r = run('ip', ['netns', 'exec', nsPeer, '/usr/bin/python3', '-c', CLIENT, c.mode, PEER, CNR, '3'], 20_000);
      assert.equal(r.code, 0, r.stderr);
      const got = JSON.parse(r.stdout) as { messages: number[][]; closed: boolean };
      assert.deepEqual(got.messages, c.want, `messages cnr sent on the stray connection: ${r.stdout}`);
      assert.equal(got.closed, c.closedByCnr, 'cnr closes the connection after its NOTIFICATION (and only then)');
      // `show bgp neighbor` counts the second connection and says how it ended
      await waitFor('cnr decided on the second connection', async () => c.outcome.test(String((await cnr.neighbor(PEER))['last-second-connection'])), 5000);
      await sleep(500);
      const now = await snapshot();
      assert.equal(now.state, 'Established');
      assert.equal(now.flaps, before.flaps, 'no flap');
      assert.equal(now.second, before.second + 1);
      assert.equal(now.ports, before.ports, 'the session is still on its own connection');
      const wall = Math.floor((now.at - before.at) / 1000);
      assert.ok(now.elapsed >= before.elapsed + wall - 1, `same session: uptime ${before.elapsed} s, then ${now.elapsed} s ${wall} s later`);
      assert.equal(now.received, before.received, 'routes from BIRD untouched');
      // BIRD prints the time of its last state change from a monotonic clock turned into wall time at
      // each `show`, so the same instant can read a millisecond apart; a reset would move it by the
      // length of the test (the stray connection and the 500 ms wait come between the two reads)
      assert.equal(stateOf(now.birdSince), stateOf(before.birdSince), 'BIRD\'s session was not reset either');
      assert.ok(Math.abs(msOfDay(now.birdSince) - msOfDay(before.birdSince)) <= 50, `BIRD's session was not reset either: since ${before.birdSince}, then ${now.birdSince}`);
      assert.equal(now.birdRoutes, before.birdRoutes);
      assert.ok((await cnr.bgpRoute(KEPT))?.active, `${KEPT} still active`);
    });
  }

  test('a real BIRD restart whose old connection never closed takes over on its OPEN (RFC 4724): routes kept stale, then refreshed', async () => {
    const flaps = Number(findNeighbor(await cnr.json('show bgp summary'), PEER).flaps);
    // the old connection's FIN and RST never leave BIRD's namespace, as when the peer's box dies
    const conns = must('ip', ['netns', 'exec', nsPeer, 'ss', '-tnH', 'state', 'established', `( sport = :179 or dport = :179 )`]).trim().split('\n').filter(Boolean);
    assert.equal(conns.length, 1, conns.join('\n'));
    const [local, remote] = conns[0]!.trim().split(/\s+/).slice(-2);
    // `10.0.0.2%IF:57535` when BIRD bound the socket to its interface
    const split = (x: string) => [x.slice(0, x.lastIndexOf(':')).replace(/%.*$/, ''), x.slice(x.lastIndexOf(':') + 1)] as const;
    const [lAddr, lPort] = split(local!);
    const [rAddr, rPort] = split(remote!);
    must('ip', ['netns', 'exec', nsPeer, 'iptables', '-A', 'OUTPUT', '-p', 'tcp', '-s', lAddr, '-d', rAddr, '--sport', lPort, '--dport', rPort, '-j', 'DROP']);
    const t0 = Date.now();
    await peer.daemon.kill();
    // watch the kept route from here on, every 100 ms
    let missing = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        if (!(await cnr.bgpRoute(KEPT))) missing++;
        await sleep(100);
      }
    })();
    try {
      await sleep(1000);
      assert.match(String((await cnr.neighbor(PEER)).state), /^Established$/, 'the dead peer\'s session is still Established at cnr (nothing closed it)');
      // BIRD comes back in graceful-restart recovery, without DROPPED
      peer = await Bird.start(lab, nsPeer, 'peer2', bird([KEPT]), 15_000, ['-R']);
      await waitFor('cnr logs the takeover', () => /second connection \(port \d+\) BGPOpen: valid OPEN from a graceful-restart peer while Established/.test(cnr.daemon.output()), T);
      await waitFor('session Established again', async () => /^established$/i.test((await cnr.neighborState(PEER)) ?? ''), T);
      await waitFor(`${DROPPED}, no longer announced, is swept after BIRD's End-of-RIB`, async () => (await cnr.bgpRoute(DROPPED)) === undefined, T);
      console.log(`# BIRD restart: session back and stale routes swept ${Date.now() - t0} ms after the kill`);
    } finally {
      watching = false;
      await watcher;
    }
    assert.equal(missing, 0, `${KEPT} was never missing at cnr during the restart`);
    assert.ok((await cnr.bgpRoute(KEPT))?.active, `${KEPT} active after the restart`);
    assert.equal(Number(findNeighbor(await cnr.json('show bgp summary'), PEER).flaps), flaps + 1, 'one flap: the old session ended');
    await waitFor('the restarted BIRD learns cnr\'s route', () => peer.prefixesFrom('cnr4').includes('198.51.100.0/24'), T);
  });
});
