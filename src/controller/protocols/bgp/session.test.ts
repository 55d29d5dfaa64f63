// Two cnr BGP speakers in one process, talking over loopback TCP (127.0.0.1 and
// 127.0.0.2, ephemeral ports), each with a real RIB.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { Rib } from '../../rib/rib.js';
import type { ConfigTree } from '../../types.js';
import { createBgp, type Bgp } from './index.js';

const logs: string[] = [];
const A_ADDR = '127.0.0.1';
const B_ADDR = '127.0.0.2';
const C_ADDR = '127.0.0.3';
const ports: Record<string, number> = {};

function makeRib(): Rib {
  const rib = new Rib();
  rib.announce('inet.0', 'direct', { prefix: '127.0.0.0/8', protocol: 'direct', preference: 0, nexthops: [{ interface: 'lo' }] });
  rib.announce('inet6.0', 'direct', { prefix: '::ffff:0.0.0.0/96', protocol: 'direct', preference: 0, nexthops: [{ interface: 'lo' }] });
  return rib;
}

const ribA = makeRib();
const ribB = makeRib();
const opts = (name: string, listen: string) => ({
  log: (m: string) => logs.push(`${name}: ${m}`),
  port: 0,
  listenAddress: listen,
  peerPort: (address: string) => ports[address] ?? 1,
  connectRetryTime: 1,
  idleHoldTime: 1,
});
const a: Bgp = createBgp(ribA, opts('A', A_ADDR));
const b: Bgp = createBgp(ribB, opts('B', B_ADDR));

after(async () => {
  await Promise.all([a.stop(), b.stop()]);
});

async function waitFor(what: string, cond: () => boolean, ms = 15000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) {
      console.log(logs.slice(-30).join('\n'));
      assert.fail(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function treeA(extra: ConfigTree = {}, neighbors: ConfigTree = { [B_ADDR]: { 'local-address': A_ADDR } }): ConfigTree {
  return {
    'routing-options': { 'router-id': '10.255.0.1', 'autonomous-system': 65001 },
    protocols: { bgp: { group: { ext: { type: 'external', 'peer-as': 65002, family: { inet: { unicast: {} }, inet6: { unicast: {} } }, neighbor: neighbors, ...extra } } } },
    'policy-options': {
      'policy-statement': { 'no-10-9': { term: { t: { from: { 'route-filter': { '10.9.0.0/16': { exact: true } } }, then: { reject: true } } } } },
    },
  };
}

function treeB(exportCommunity = false): ConfigTree {
  return {
    'routing-options': { 'router-id': '10.255.0.2', 'autonomous-system': 65002 },
    protocols: {
      bgp: {
        group: {
          ext: {
            type: 'external',
            'peer-as': 65001,
            export: ['statics'],
            family: { inet: { unicast: {} }, inet6: { unicast: {} } },
            neighbor: { [A_ADDR]: { 'local-address': B_ADDR } },
          },
        },
      },
    },
    'policy-options': {
      community: { tag: { members: ['65002:7', 'large:65002:1:2'] } },
      'policy-statement': {
        statics: { term: { s: { from: { protocol: ['static'] }, then: exportCommunity ? { community: { add: ['tag'] }, accept: true } : { accept: true } } } },
      },
    },
  };
}

function staticRoute(rib: Rib, prefix: string): void {
  rib.announce(prefix.includes(':') ? 'inet6.0' : 'inet.0', 'static', { prefix, protocol: 'static', preference: 5, nexthops: [{ interface: 'lo' }] });
}

const peerOf = (bgp: Bgp, addr: string) => bgp.speaker.instances.get('master')!.neighbors.get(addr)!;
let bTree = treeB();
let aTree = treeA();

test('validate refuses an undefined policy and a missing peer-as', () => {
  const bad = treeA({ import: ['nope'] });
  assert.match(a.consumer.validate(bad).join('\n'), /policy-statement 'nope' is not defined/);
  const noAs: ConfigTree = { 'routing-options': { 'router-id': '1.1.1.1', 'autonomous-system': 1 }, protocols: { bgp: { group: { g: { type: 'external', neighbor: { '10.0.0.1': {} } } } } } };
  assert.match(a.consumer.validate(noAs).join('\n'), /peer-as is required/);
  assert.deepEqual(a.consumer.validate(aTree), []);
});

test('sessions establish and routes flow both ways, IPv4 and IPv6', async () => {
  staticRoute(ribB, '10.2.0.0/16');
  staticRoute(ribB, '10.9.0.0/16');
  staticRoute(ribB, '2001:db8:2::/48');
  await a.consumer.apply(aTree, {});
  ports[A_ADDR] = a.speaker.port!;
  await b.consumer.apply(bTree, {});
  ports[B_ADDR] = b.speaker.port!;
  await waitFor('Established', () => peerOf(a, B_ADDR).established && peerOf(b, A_ADDR).established);
  await waitFor('route in A', () => ribA.get('inet.0', '10.2.0.0/16') !== undefined && ribA.get('inet6.0', '2001:db8:2::/48') !== undefined);
  const r = ribA.get('inet.0', '10.2.0.0/16')!;
  assert.equal(r.protocol, 'bgp');
  assert.equal(r.preference, 170);
  assert.deepEqual(r.nexthops, [{ gateway: B_ADDR, recursive: true }]);
  const v6 = ribA.get('inet6.0', '2001:db8:2::/48')!;
  assert.deepEqual(v6.nexthops, [{ gateway: '::ffff:7f00:2', recursive: true }]);
  const sum = await a.commands.find((c) => c.path.join(' ') === 'show bgp summary')!.run([]);
  const peer = (sum.data as { peers: { address: string; state: string; tables: { name: string; accepted: number }[] }[] }).peers[0]!;
  assert.equal(peer.state, 'Established');
  assert.equal(peer.tables.find((t) => t.name === 'inet.0')!.accepted, 2);
  assert.match(sum.text, /inet\.0: 2\/2\/2\/0/);
  const recv = await a.commands.find((c) => c.path.join(' ') === 'show route receive-protocol bgp')!.run([B_ADDR]);
  assert.match(recv.text, /\* 10\.2\.0\.0\/16\s+127\.0\.0\.2\s+65002 I/);
  const adv = await b.commands.find((c) => c.path.join(' ') === 'show route advertising-protocol bgp')!.run([A_ADDR]);
  assert.match(adv.text, /10\.2\.0\.0\/16\s+Self/);
  const nbr = await a.commands.find((c) => c.path.join(' ') === 'show bgp neighbor')!.run([B_ADDR]);
  assert.match(nbr.text, /State: Established/);
  assert.match(nbr.text, /Peer supports Refresh capability/);
});

test('a withdrawn route disappears from the peer', async () => {
  ribB.withdraw('inet.0', 'static', '10.9.0.0/16');
  await waitFor('withdrawal', () => ribA.get('inet.0', '10.9.0.0/16') === undefined);
  staticRoute(ribB, '10.9.0.0/16');
  await waitFor('re-announcement', () => ribA.get('inet.0', '10.9.0.0/16') !== undefined);
});

test('export policy adds communities, which arrive; policy commit does not reset the session', async () => {
  const flaps = peerOf(a, B_ADDR).stats.flaps;
  const prev = bTree;
  bTree = treeB(true);
  await b.consumer.apply(bTree, prev);
  await waitFor('communities', () => String(ribA.get('inet.0', '10.2.0.0/16')?.attributes?.Communities ?? '').includes('65002:7'));
  const shown = ribA.get('inet.0', '10.2.0.0/16')!.attributes!;
  assert.equal(shown.Communities, '65002:7 large:65002:1:2');
  assert.equal(shown['AS path'], '65002 I');
  assert.equal(shown['Selected by'], 'Only path');
  const recv = await a.commands.find((c) => c.path.join(' ') === 'show route receive-protocol bgp')!.run([B_ADDR, 'detail']);
  assert.match(recv.text, /Communities: 65002:7 large:65002:1:2/);
  assert.equal(peerOf(a, B_ADDR).stats.flaps, flaps);
  assert.ok(peerOf(a, B_ADDR).established);
});

test('import policy filters what it should, applied by soft reconfiguration', async () => {
  const prev = aTree;
  aTree = treeA({ import: ['no-10-9'] });
  await a.consumer.apply(aTree, prev);
  await waitFor('10.9/16 rejected', () => ribA.get('inet.0', '10.9.0.0/16') === undefined);
  assert.ok(ribA.get('inet.0', '10.2.0.0/16'));
  const recv = await a.commands.find((c) => c.path.join(' ') === 'show route receive-protocol bgp')!.run([B_ADDR, 'detail']);
  assert.match(recv.text, /10\.9\.0\.0\/16 \(hidden: rejected by import policy\)/);
  assert.equal(peerOf(a, B_ADDR).stats.flaps, 0);
});

test('route refresh: clear bgp neighbor soft-inbound asks the peer to resend', async () => {
  const before = peerOf(b, A_ADDR).stats.inRefreshes;
  const upd = peerOf(a, B_ADDR).stats.inUpdates;
  const res = await a.commands.find((c) => c.path.join(' ') === 'clear bgp neighbor')!.run([B_ADDR, 'soft-inbound']);
  assert.match(res.text, /route refresh sent/);
  await waitFor('refresh answered', () => peerOf(b, A_ADDR).stats.inRefreshes > before && peerOf(a, B_ADDR).stats.inUpdates > upd);
  assert.ok(ribA.get('inet.0', '10.2.0.0/16'));
});

test('adding a neighbor does not reset the others; a peer sending garbage is refused alone', async () => {
  const prev = aTree;
  aTree = treeA({ import: ['no-10-9'] }, { [B_ADDR]: { 'local-address': A_ADDR }, [C_ADDR]: { passive: true } });
  await a.consumer.apply(aTree, prev);
  assert.equal(peerOf(a, B_ADDR).stats.flaps, 0);
  assert.ok(peerOf(a, B_ADDR).established);
  // a fake peer at 127.0.0.3 connects and sends a bad marker
  const sock = net.connect({ host: A_ADDR, port: ports[A_ADDR]!, localAddress: C_ADDR });
  const got: Buffer[] = [];
  sock.on('data', (d) => got.push(d));
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(Buffer.from('00'.repeat(19), 'hex'));
  await new Promise<void>((r) => sock.once('close', () => r()));
  const all = Buffer.concat(got);
  // our OPEN, then NOTIFICATION 1/1 (connection not synchronized)
  const notif = all.indexOf(Buffer.from('ffffffffffffffffffffffffffffffff001503', 'hex'));
  assert.ok(notif >= 0, 'a NOTIFICATION was sent');
  assert.equal(all[notif + 19], 1);
  assert.equal(all[notif + 20], 1);
  assert.ok(peerOf(a, B_ADDR).established, 'the good session stayed up');
  assert.equal(peerOf(a, B_ADDR).stats.flaps, 0);
});

test('clear bgp neighbor resets the session, which comes back', async () => {
  await a.commands.find((c) => c.path.join(' ') === 'clear bgp neighbor')!.run([B_ADDR]);
  await waitFor('session down', () => peerOf(b, A_ADDR).stats.flaps >= 1);
  await waitFor('session back', () => peerOf(a, B_ADDR).established && peerOf(b, A_ADDR).established);
  await waitFor('routes back', () => ribA.get('inet.0', '10.2.0.0/16') !== undefined);
  assert.match(peerOf(b, A_ADDR).stats.lastError, /Cease|closed/);
});

test('TCP MD5 (RFC 2385): a session with matching keys establishes', async (t) => {
  const logs2: string[] = [];
  const p: Record<string, number> = {};
  const mk = (name: string, listen: string) => ({ log: (m: string) => logs2.push(`${name}: ${m}`), port: 0, listenAddress: listen, peerPort: (x: string) => p[x] ?? 1, connectRetryTime: 1, idleHoldTime: 1 });
  const x = createBgp(makeRib(), mk('X', '127.0.0.11'));
  const y = createBgp(makeRib(), mk('Y', '127.0.0.12'));
  try {
    const conf = (me: string, peer: string, as: number, peerAs: number, key: string): ConfigTree => ({
      'routing-options': { 'router-id': me, 'autonomous-system': as },
      protocols: { bgp: { group: { g: { type: 'external', 'peer-as': peerAs, 'authentication-key': key, neighbor: { [peer]: { 'local-address': me } } } } } },
    });
    const up = () => x.speaker.instances.get('master')!.neighbors.get('127.0.0.12')!.established;
    // different keys: the kernel drops the unsigned-by-that-key SYNs, nothing comes up
    const xBad = conf('127.0.0.11', '127.0.0.12', 65011, 65012, 'one');
    const yBad = conf('127.0.0.12', '127.0.0.11', 65012, 65011, 'two');
    await x.consumer.apply(xBad, {});
    p['127.0.0.11'] = x.speaker.port!;
    await y.consumer.apply(yBad, {});
    p['127.0.0.12'] = y.speaker.port!;
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok(!up(), 'mismatched keys must not establish');
    await x.consumer.apply(conf('127.0.0.11', '127.0.0.12', 65011, 65012, 's3cret'), xBad);
    await y.consumer.apply(conf('127.0.0.12', '127.0.0.11', 65012, 65011, 's3cret'), yBad);
    const t0 = Date.now();
    while (!up() && Date.now() - t0 < 15000) await new Promise((r) => setTimeout(r, 20));
    if (!up() && logs2.some((l) => /TCP MD5/.test(l))) {
      t.skip('TCP MD5 is not available on this kernel');
      return;
    }
    assert.ok(up(), logs2.slice(-10).join('\n'));
    assert.ok(!logs2.some((l) => /MD5/.test(l)), 'keys were set on both sockets');
  } finally {
    await Promise.all([x.stop(), y.stop()]);
  }
});

test('removing the neighbor withdraws its routes from the RIB', async () => {
  const prev = aTree;
  aTree = treeA({}, {});
  await a.consumer.apply(aTree, prev);
  await waitFor('routes gone', () => ribA.get('inet.0', '10.2.0.0/16') === undefined && ribA.get('inet6.0', '2001:db8:2::/48') === undefined);
  await waitFor('B sees the session end', () => !peerOf(b, A_ADDR).established);
  assert.match(peerOf(b, A_ADDR).stats.lastError, /Cease \(subcode 3\)/);
});
