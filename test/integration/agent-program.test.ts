import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import { connect as h2connect } from 'node:http2';
import { AGENT_RECEIVE_WINDOW, AgentServer } from '../../src/agent/server.js';
import { startHealthServer } from '../../src/agent/health-http.js';
import { AGENT_FEATURES_HEADER, FEATURE_PACKED_ROUTES, FEATURE_PREFIX_BYTES, LOADER_OPTIONS, loadProtos, protoDir, type PbAgentMessage, type PbControllerMessage } from '../../src/api/proto.js';
import { RecordingDataplane } from '../support/recording-dataplane.js';
import { Rib } from '../../src/controller/rib/rib.js';
import { FibExport } from '../../src/controller/rib/fib-export.js';
import type { RibRoute } from '../../src/controller/rib/types.js';
import { formatPrefix, parsePrefix } from '../../src/lib/addr.js';

function direct(prefix: string, ifname: string): RibRoute {
  return { prefix, protocol: 'direct', preference: 0, nexthops: [{ interface: ifname }] };
}
function stat(prefix: string, gws: string[], labels?: number[]): RibRoute {
  return { prefix, protocol: 'static', preference: 5, nexthops: gws.map((gateway) => (labels ? { gateway, labels } : { gateway })) };
}

/** the data plane's routes as "prefix -> next hop description" */
function fib(dp: RecordingDataplane, vrf = 'default'): Record<string, string> {
  const out: Record<string, string> = {};
  const d = (id: number): string => {
    const s = dp.nexthops.get(id)!.spec;
    if (s.type === 'neighbor') return `${s.ip}@${s.vif}${s.labels ? '+' + s.labels.join('/') : ''}`;
    if (s.type === 'composite') return `ecmp(${s.members.map(d).join(',')})`;
    return s.type;
  };
  for (const [p, nh] of dp.routes.get(vrf) ?? []) out[p] = d(nh);
  return out;
}

/** every prefix the data plane is asked to remove, in order */
function recordRemovals(dp: RecordingDataplane): string[] {
  const removed: string[] = [];
  const del = dp.delRoute.bind(dp);
  dp.delRoute = (vrf, prefix) => {
    removed.push(typeof prefix === 'string' ? prefix : formatPrefix(prefix));
    del(vrf, prefix);
  };
  return removed;
}

async function setup(opts: { token?: string } = {}) {
  const dp = new RecordingDataplane();
  const server = new AgentServer(dp, { address: '127.0.0.1:0', ...opts });
  const port = await server.start();
  const rib = new Rib();
  const exp = new FibExport(rib, { address: `127.0.0.1:${port}`, backoffMinMs: 20, backoffMaxMs: 200, ...opts });
  return { dp, server, port, rib, exp };
}

test('proto round trip: a controller message survives encode and decode', () => {
  const def = protoLoader.loadSync(join(protoDir(), 'agent.proto'), LOADER_OPTIONS);
  const m = (def['cnr.agent.v1.Agent'] as protoLoader.ServiceDefinition)['Program']!;
  const msg = {
    seq: 42,
    routes: {
      vrf: 'blue',
      nexthopSets: [{ action: 'FORWARD', nexthops: [{ ip: '10.0.0.2', interface: 'eth1', serviceLabel: 17, transportLabels: [16001, 16002] }] }],
      routes: [
        { prefix: '192.0.2.0/24', delete: false, action: 'FORWARD', nexthops: [], nexthopSet: 1 },
        { prefix: '2001:db8::/32', delete: true, action: 'DISCARD', nexthops: [], nexthopSet: 0 },
      ],
    },
  };
  const back = m.requestDeserialize(m.requestSerialize(msg)) as PbControllerMessage;
  assert.equal(back.seq, 42);
  assert.equal(back.body, 'routes');
  assert.deepEqual(back.routes?.nexthopSets?.[0]?.nexthops?.[0], { ip: '10.0.0.2', interface: 'eth1', serviceLabel: 17, transportLabels: [16001, 16002], _serviceLabel: 'serviceLabel', tunnelSource: '' });
  assert.deepEqual(back.routes?.routes.map((r) => [r.prefix, r.delete, r.action, r.nexthopSet]), [
    ['192.0.2.0/24', false, 'FORWARD', 1],
    ['2001:db8::/32', true, 'DISCARD', 0],
  ]);
  const ack = { seq: 7, ok: false, failures: [{ object: 'route x', reason: 'bad' }], swept: 3 };
  // the fields an ACK carries (other fields of AgentMessage, such as bfd_state, come back as their defaults)
  const backAck = m.responseDeserialize(m.responseSerialize(ack)) as Record<string, unknown>;
  assert.deepEqual(Object.fromEntries(Object.keys(ack).map((k) => [k, backAck[k]])), ack);
});

test('RIB changes reach the data plane through FIB export and the agent, ACKed; next hops are shared', async () => {
  const { dp, server, rib, exp } = await setup();
  try {
    exp.setInterface('eth1', { name: 'eth1', driver: 'memory', addresses: ['10.0.0.1/24'] });
    exp.setInterface('eth2', { name: 'eth2', driver: 'memory', addresses: ['10.0.1.1/24'] });
    exp.start();
    rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
    rib.announce('inet.0', 'direct:eth2', direct('10.0.1.0/24', 'eth2'));
    rib.announce('inet.0', 'static', stat('192.0.2.0/24', ['10.0.0.2']));
    rib.announce('inet.0', 'static', stat('198.51.100.0/24', ['10.0.0.2']));
    rib.announce('inet.0', 'static', stat('203.0.113.0/24', ['10.0.0.2', '10.0.1.2']));
    rib.announce('inet.0', 'static', stat('100.64.0.0/10', ['10.0.1.2'], [16001, 30]));
    rib.announce('inet.0', 'static', { prefix: '10.255.0.0/16', protocol: 'static', preference: 5, action: 'reject', nexthops: [] });
    await exp.whenIdle(5000);
    assert.deepEqual(fib(dp), {
      '192.0.2.0/24': '10.0.0.2@eth1',
      '198.51.100.0/24': '10.0.0.2@eth1',
      '203.0.113.0/24': 'ecmp(10.0.0.2@eth1,10.0.1.2@eth2)',
      '100.64.0.0/10': '10.0.1.2@eth2+16001/30',
      '10.255.0.0/16': 'reject',
    });
    assert.equal(dp.calls['addNexthop'], 5, 'one neighbor per gateway (+labels variant), one composite, one reject');
    assert.equal(exp.status().nacks, 0);
    rib.withdraw('inet.0', 'static', '203.0.113.0/24');
    rib.withdraw('inet.0', 'static', '192.0.2.0/24');
    await exp.whenIdle(5000);
    assert.equal(fib(dp)['203.0.113.0/24'], undefined);
    assert.equal(dp.nexthops.size, 3, 'the composite and its member 10.0.1.2@eth2 are released; 10.0.0.2@eth1 is still used');
    const rb = await exp.listRoutes('default', 4);
    assert.deepEqual(rb.map((r) => r.prefix).sort(), ['10.255.0.0/16', '100.64.0.0/10', '198.51.100.0/24']);
    assert.match(rb.find((r) => r.prefix === '100.64.0.0/10')!.nexthop, /10\.0\.1\.2 via eth2 push 16001 30/);
  } finally {
    await exp.stop();
    await server.stop();
  }
});

test('bad input is NACKed with a reason, and the rest of the batch is applied', async () => {
  const { dp, server, port } = await setup();
  const { agent } = loadProtos();
  const client = new agent(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const call = (client['Program'] as (md: grpc.Metadata) => grpc.ClientDuplexStream<PbControllerMessage, PbAgentMessage>).call(client, new grpc.Metadata());
    const acks: PbAgentMessage[] = [];
    const got = new Promise<void>((resolve) => call.on('data', (m: PbAgentMessage) => { acks.push(m); if (acks.length === 3) resolve(); }));
    call.write({ seq: 1, interface: { name: 'eth1', driver: 'MEMORY', addresses: ['10.0.0.1/24'] } });
    call.write({
      seq: 2,
      routes: {
        vrf: '',
        routes: [
          { prefix: '192.0.2.0/24', nexthops: [{ ip: '10.0.0.2' }] },
          { prefix: '192.0.2.300/24', nexthops: [{ ip: '10.0.0.2' }] },
          { prefix: '198.51.100.0/24', nexthops: [{ ip: '10.0.0.2', interface: 'eth1', transportLabels: [1, 2, 3, 4, 5] }] },
          { prefix: '203.0.113.0/24', nexthops: [{ ip: '172.16.0.1' }] },
        ],
      },
    });
    call.write({ seq: 3, routes: { vrf: 'nosuch', routes: [{ prefix: '10.1.0.0/16', action: 'DISCARD' }] } });
    await got;
    call.end();
    assert.deepEqual(acks.map((a) => [a.seq, a.ok]), [[1, true], [2, false], [3, false]]);
    assert.deepEqual(acks[1]!.failures.map((f) => f.object), ['route default 192.0.2.300/24', 'route default 198.51.100.0/24', 'route default 203.0.113.0/24']);
    assert.match(acks[1]!.failures[1]!.reason, /5 transport labels/);
    assert.match(acks[1]!.failures[2]!.reason, /no connected subnet/);
    assert.match(acks[2]!.failures[0]!.reason, /VRF nosuch/);
    assert.deepEqual(fib(dp), { '192.0.2.0/24': '10.0.0.2@eth1' }, 'the interface is found from the connected subnet');
  } finally {
    client.close();
    await server.stop();
  }
});

test('controller restart: the replay keeps replayed routes in place and sweeps the rest', async () => {
  const { dp, server, port, rib, exp } = await setup();
  const removed = recordRemovals(dp);
  let exp2: FibExport | undefined;
  try {
    exp.setVrf('blue', true);
    exp.setInterface('eth1', { name: 'eth1', driver: 'memory', addresses: ['10.0.0.1/24'] });
    exp.setInterface('pod1', { name: 'pod1', driver: 'memory', vrf: 'blue', addresses: ['169.254.1.1/32'] });
    exp.start();
    rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
    for (let i = 0; i < 50; i++) rib.announce('inet.0', 'static', stat(`192.0.${i}.0/24`, ['10.0.0.2']));
    rib.announce('blue.inet.0', 'static', { prefix: '10.244.0.5/32', protocol: 'static', preference: 5, nexthops: [{ gateway: '10.244.0.5', interface: 'pod1' }] });
    await exp.whenIdle(5000);
    assert.equal(Object.keys(fib(dp)).length, 50);
    const addsBefore = dp.calls['addRoute'] ?? 0;
    await exp.stop(); // the controller dies; the agent keeps the FIB
    assert.equal(Object.keys(fib(dp)).length, 50);
    // the new controller: the same routes except 192.0.49.0/24, plus one new one, and no VRF blue
    const rib2 = new Rib();
    rib2.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
    for (let i = 0; i < 49; i++) rib2.announce('inet.0', 'static', stat(`192.0.${i}.0/24`, ['10.0.0.2']));
    rib2.announce('inet.0', 'static', stat('198.51.100.0/24', ['10.0.0.3']));
    exp2 = new FibExport(rib2, { address: `127.0.0.1:${port}` });
    exp2.setInterface('eth1', { name: 'eth1', driver: 'memory', addresses: ['10.0.0.1/24'] });
    exp2.start();
    await exp2.whenIdle(5000);
    const f = fib(dp);
    assert.equal(Object.keys(f).length, 50);
    assert.equal(f['192.0.49.0/24'], undefined);
    assert.equal(f['198.51.100.0/24'], '10.0.0.3@eth1');
    assert.deepEqual(removed.sort(), ['10.244.0.5/32', '192.0.49.0/24'], 'only the routes that were not replayed were ever removed');
    assert.equal((dp.calls['addRoute'] ?? 0) - addsBefore, 1, 'unchanged routes cost no data-plane call');
    assert.deepEqual([...dp.vifs.keys()], ['eth1']);
    assert.equal(dp.vrfs.has('blue'), false);
    assert.equal(server.stats.lastSwept, 4, 'a route in default, a route in blue, interface pod1, VRF blue');
  } finally {
    await exp.stop();
    await exp2?.stop();
    await server.stop();
  }
});

test('controller restart with holdResyncEnd: a controller that starts empty sweeps nothing until ready(), and nothing unchanged is re-created', async () => {
  const { dp, server, port, rib, exp } = await setup();
  const removed = recordRemovals(dp);
  let exp2: FibExport | undefined;
  try {
    exp.setInterface('eth1', { name: 'eth1', driver: 'memory', addresses: ['10.0.0.1/24'] });
    exp.start();
    rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
    for (let i = 0; i < 10; i++) rib.announce('inet.0', 'static', stat(`192.0.${i}.0/24`, ['10.0.0.2']));
    await exp.whenIdle(5000);
    const nhIds = JSON.stringify(Object.keys(fib(dp)).sort().map((p) => [p, dp.routes.get('default')!.get(p)]));
    const calls = { ...dp.calls };
    await exp.stop();
    // the new controller connects before its configuration is loaded (as `cnr controller` does)
    const rib2 = new Rib();
    exp2 = new FibExport(rib2, { address: `127.0.0.1:${port}`, holdResyncEnd: true });
    exp2.start();
    await waitFor(() => server.stats.streams === 2 && exp2!.status().pending === 0 && exp2!.status().inflight === 0, 5000);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(Object.keys(fib(dp)).length, 10, 'the replay of an empty state removes nothing while the end is held');
    assert.equal(exp2.status().synced, false);
    // the configuration arrives, without 192.0.9.0/24 (withdrawn while the controller was away)
    exp2.setInterface('eth1', { name: 'eth1', driver: 'memory', addresses: ['10.0.0.1/24'] });
    rib2.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
    for (let i = 0; i < 9; i++) rib2.announce('inet.0', 'static', stat(`192.0.${i}.0/24`, ['10.0.0.2']));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(Object.keys(fib(dp)).length, 10, 'still nothing swept');
    assert.deepEqual(removed, []);
    exp2.ready('test: state complete');
    await exp2.whenIdle(5000);
    assert.deepEqual(removed, ['192.0.9.0/24'], 'the sweep removes only the withdrawn route');
    assert.equal(server.stats.lastSwept, 1);
    assert.equal(JSON.stringify(Object.keys(fib(dp)).sort().map((p) => [p, dp.routes.get('default')!.get(p)])), nhIds.replace(/,\["192\.0\.9\.0\/24",\d+\]/, ''), 'every other route keeps its next-hop id');
    for (const k of ['addVif', 'delVif', 'addNexthop', 'delNexthop', 'addRoute']) assert.equal(dp.calls[k] ?? 0, calls[k] ?? 0, `no ${k} call`);
    assert.deepEqual(server.removed(), { routes: 1, nexthops: 0, interfaces: 0, vrfs: 0, labels: 0, bridgeDomains: 0 });
  } finally {
    await exp.stop();
    await exp2?.stop();
    await server.stop();
  }
});

test('agent restart: the gRPC server comes back on the same data plane, the controller replays, nothing vanishes', async () => {
  const { dp, server, port, rib, exp } = await setup();
  const removed = recordRemovals(dp);
  let server2: AgentServer | undefined;
  try {
    exp.setInterface('eth1', { name: 'eth1', driver: 'memory', addresses: ['10.0.0.1/24'] });
    exp.start();
    rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
    for (let i = 0; i < 20; i++) rib.announce('inet.0', 'static', stat(`192.0.${i}.0/24`, ['10.0.0.2']));
    await exp.whenIdle(5000);
    await server.stop();
    // while the agent is away: one route goes, one comes
    rib.withdraw('inet.0', 'static', '192.0.19.0/24');
    rib.announce('inet.0', 'static', stat('198.51.100.0/24', ['10.0.0.2']));
    assert.equal(Object.keys(fib(dp)).length, 20, 'the data plane keeps forwarding with the last FIB');
    server2 = new AgentServer(dp, { address: `127.0.0.1:${port}` });
    await server2.start();
    await waitFor(() => exp.status().synced, 5000);
    await exp.whenIdle(5000);
    const f = fib(dp);
    assert.equal(f['192.0.19.0/24'], undefined);
    assert.equal(f['198.51.100.0/24'], '10.0.0.2@eth1');
    assert.equal(Object.keys(f).length, 20);
    assert.deepEqual(removed, ['192.0.19.0/24']);
    assert.ok(exp.status().reconnects >= 1);
  } finally {
    await exp.stop();
    await server.stop();
    await server2?.stop();
  }
});

/** the RIB's forwarded routes of inet.0 (connected subnets aside) as fib() describes the data plane's */
function ribFib(rib: Rib): Record<string, string> {
  const out: Record<string, string> = {};
  for (const row of rib.fibRoutes()) {
    if (row.vrf !== 'default') continue;
    const f = row.fib;
    // a connected subnet is the interface's address in the data plane, not a route
    if (f.action === 'forward' && f.nexthops.every((h) => h.gateway === undefined)) continue;
    const hop = (h: { gateway?: string; interface?: string; labels?: number[] }): string => `${h.gateway}@${h.interface}${h.labels?.length ? '+' + h.labels.join('/') : ''}`;
    out[row.prefix] = f.action !== 'forward' ? f.action : f.nexthops.length === 1 ? hop(f.nexthops[0]!) : `ecmp(${f.nexthops.map(hop).join(',')})`;
  }
  return out;
}

/** Changes of every kind at once: new prefixes (lengths new to the table among them), replaced next hops, withdrawals. */
function churn(rib: Rib, round: number): void {
  for (let i = 0; i < 200; i++) rib.announce('inet.0', 'static', stat(`192.${round}.${i}.0/24`, ['10.0.0.2']));
  for (let i = 0; i < 50; i++) rib.announce('inet.0', 'static', stat(`198.${round}.${i}.128/25`, ['10.0.0.2']));
  rib.announce('inet.0', 'static', stat(`100.${round}.0.1/32`, ['10.0.0.2', '10.0.0.3']));
  rib.announce('inet.0', 'static', { prefix: `10.${100 + round}.0.0/16`, protocol: 'static', preference: 5, action: 'reject', nexthops: [] });
  for (let i = 0; i < 200; i += 3) rib.announce('inet.0', 'static', stat(`192.${round}.${i}.0/24`, ['10.0.0.3']));
  for (let i = 1; i < 200; i += 5) rib.withdraw('inet.0', 'static', `192.${round}.${i}.0/24`);
  if (round > 0) for (let i = 0; i < 50; i += 2) rib.withdraw('inet.0', 'static', `198.${round - 1}.${i}.128/25`);
}

test('no agent reading: route changes are not queued, and the replay when one comes gives it exactly the RIB (first connect and after a loss)', async () => {
  // a port where nothing listens yet
  const probe = new AgentServer(new RecordingDataplane(), { address: '127.0.0.1:0' });
  const port = await probe.start();
  await probe.stop();
  const dp = new RecordingDataplane();
  const rib = new Rib();
  const exp = new FibExport(rib, { address: `127.0.0.1:${port}`, backoffMinMs: 20, backoffMaxMs: 200 });
  let server: AgentServer | undefined;
  let server2: AgentServer | undefined;
  try {
    exp.setInterface('eth1', { name: 'eth1', driver: 'memory', addresses: ['10.0.0.1/24'] });
    exp.start();
    rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
    churn(rib, 0);
    assert.ok(Object.keys(ribFib(rib)).length > 200);
    assert.equal(exp.status().pending, 0, 'nothing queued while no agent reads (the replay covers it)');
    // a waiter from before the agent came waits for the replay
    const flushed = exp.flushed(10_000);
    server = new AgentServer(dp, { address: `127.0.0.1:${port}` });
    await server.start();
    await flushed;
    await waitFor(() => exp.status().synced, 5000);
    await exp.whenIdle(5000);
    assert.deepEqual(fib(dp), ribFib(rib), 'the data plane holds exactly the RIB after the first replay');
    // connected: changes are queued again and reach the agent
    churn(rib, 1);
    await exp.flushed(5000);
    assert.deepEqual(fib(dp), ribFib(rib), 'changes after the replay reach the agent');
    // the stream is lost: nothing is queued until the next replay
    await server.stop();
    server = undefined;
    await waitFor(() => !exp.status().connected || exp.status().reconnects > 0, 5000);
    churn(rib, 2);
    assert.equal(exp.status().pending, 0, 'nothing queued while the agent is away');
    server2 = new AgentServer(dp, { address: `127.0.0.1:${port}` });
    await server2.start();
    await waitFor(() => exp.status().synced, 5000);
    await exp.whenIdle(5000);
    assert.deepEqual(fib(dp), ribFib(rib), 'the data plane holds exactly the RIB after the replay that follows a loss');
  } finally {
    await exp.stop();
    await server?.stop();
    await server2?.stop();
  }
});

test('a configured token is required; health answers over gRPC and HTTP', async () => {
  const { dp, server, port, rib, exp } = await setup({ token: 's3cret' });
  const bad = new FibExport(rib, { address: `127.0.0.1:${port}`, token: 'wrong', backoffMinMs: 20, backoffMaxMs: 50 });
  const { health } = loadProtos();
  const hc = new health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const http = await startHealthServer('127.0.0.1:0', () => ({ ok: true, routes: server.counts().routes }));
  try {
    bad.start();
    await assert.rejects(bad.whenIdle(400), /not idle/);
    assert.equal(bad.status().synced, false);
    await bad.stop();
    exp.start();
    rib.announce('inet.0', 's', { prefix: '10.9.0.0/16', protocol: 'static', preference: 5, action: 'discard', nexthops: [] });
    await exp.whenIdle(5000);
    assert.deepEqual(fib(dp), { '10.9.0.0/16': 'discard' });
    const res = await new Promise<{ status: string }>((resolve, reject) =>
      (hc['Check'] as (r: unknown, cb: (e: Error | null, r: { status: string }) => void) => void).call(hc, { service: '' }, (e, r) => (e ? reject(e) : resolve(r))),
    );
    assert.equal(res.status, 'SERVING');
    const h = await fetch(`http://127.0.0.1:${http.port}/healthz`);
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { status: 'ok', ok: true, routes: 1 });
    assert.equal((await fetch(`http://127.0.0.1:${http.port}/nope`)).status, 404);
  } finally {
    hc.close();
    await http.close();
    await bad.stop();
    await exp.stop();
    await server.stop();
  }
});

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('the agent offers a wide HTTP/2 receive window, so the controller can keep a whole window of batches on the wire', async () => {
  const agent = new AgentServer(new RecordingDataplane(), { address: '127.0.0.1:0' });
  const port = await agent.start();
  const session = h2connect(`http://127.0.0.1:${port}`);
  try {
    const settings = await new Promise<{ initialWindowSize?: number }>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no SETTINGS from the agent within 5 s')), 5000);
      session.once('remoteSettings', (s) => {
        clearTimeout(t);
        resolve(s);
      });
      session.once('error', reject);
    });
    assert.equal(settings.initialWindowSize, AGENT_RECEIVE_WINDOW);
    // the connection window is widened by a WINDOW_UPDATE right after the SETTINGS
    const deadline = Date.now() + 5000;
    while ((session.state.remoteWindowSize ?? 0) < AGENT_RECEIVE_WINDOW && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok((session.state.remoteWindowSize ?? 0) >= AGENT_RECEIVE_WINDOW, `connection window ${session.state.remoteWindowSize}`);
  } finally {
    session.destroy();
    await agent.stop();
  }
});

/**
 * A stand-in agent on loopback with the generic (protobufjs) codec, recording the routes it
 * is sent and ACKing every message: with `features` it announces them as the current agent
 * does, without it behaves as an agent of the release before Route.destination. A stand-in
 * because that older release cannot run here; the current agent is the real one above.
 */
async function recordingAgent(features?: string): Promise<{ port: number; routes: { prefix: string; destination: { address: Buffer; length: number } | null }[]; packed: number[][]; stop: () => void }> {
  const routes: { prefix: string; destination: { address: Buffer; length: number } | null }[] = [];
  /** the packed route records received (RouteBatch.packed_ipv4 and packed_ipv6), as byte arrays */
  const packed: number[][] = [];
  const server = new grpc.Server();
  server.addService(loadProtos().agent.service, {
    Program: (call: grpc.ServerDuplexStream<PbControllerMessage, PbAgentMessage>) => {
      if (features) {
        const md = new grpc.Metadata();
        md.set(AGENT_FEATURES_HEADER, features);
        call.sendMetadata(md);
      }
      call.on('data', (m: PbControllerMessage) => {
        for (const r of m.routes?.routes ?? []) routes.push({ prefix: r.prefix ?? '', destination: (r.destination as unknown as { address: Buffer; length: number } | null) ?? null });
        for (const b of [m.routes?.packedIpv4, m.routes?.packedIpv6]) if (b?.length) packed.push([...b]);
        call.write({ seq: m.seq, ok: true, failures: [], swept: 0 });
      });
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { port, routes, packed, stop: () => server.forceShutdown() };
}

test('routes go as packed records to an agent that announces packed-routes, as values to one that announces prefix-bytes, as text to one of the release before', async () => {
  for (const features of [`${FEATURE_PREFIX_BYTES},${FEATURE_PACKED_ROUTES}`, FEATURE_PREFIX_BYTES, undefined]) {
    const agent = await recordingAgent(features);
    const rib = new Rib();
    const lines: string[] = [];
    const exp = new FibExport(rib, { address: `127.0.0.1:${agent.port}`, backoffMinMs: 20, backoffMaxMs: 200, log: (l) => lines.push(l) });
    try {
      rib.announce('inet.0', 'static', { prefix: '192.0.2.0/24', protocol: 'static', preference: 5, action: 'discard', nexthops: [] });
      exp.start();
      await exp.whenIdle(5000);
      rib.announce('inet6.0', 'static', { prefix: '2001:db8::/32', protocol: 'static', preference: 5, action: 'discard', nexthops: [] });
      await exp.whenIdle(5000);
      if (features?.includes(FEATURE_PACKED_ROUTES)) {
        // one record each: address, length, the 3-byte next-hop set reference (1: the batch's discard set)
        assert.deepEqual(agent.routes, []);
        assert.deepEqual(agent.packed, [
          [192, 0, 2, 0, 24, 0, 0, 1],
          [...parsePrefix('2001:db8::/32').addr, 32, 0, 0, 1],
        ]);
      } else if (features) {
        assert.deepEqual(agent.packed, []);
        assert.deepEqual(agent.routes.map((r) => [r.prefix, [...r.destination!.address], r.destination!.length]), [
          ['', [192, 0, 2, 0], 24],
          ['', [...parsePrefix('2001:db8::/32').addr], 32],
        ]);
      } else {
        assert.deepEqual(agent.routes.map((r) => [r.prefix, r.destination]), [['192.0.2.0/24', null], ['2001:db8::/32', null]]);
        assert.ok(lines.some((l) => /reads text prefixes only/.test(l)), lines.join('\n'));
      }
    } finally {
      await exp.stop();
      agent.stop();
    }
  }
});
