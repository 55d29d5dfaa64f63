/**
 * The FIB export's in-process link (`cnr start`: FibExportOptions.local, AgentServer.openLocal):
 * the same routes, ACKs, replay and sweep as over gRPC, without gRPC on the Program stream;
 * the unary reads still over gRPC; an agent restart replays; a backlog of batches is applied
 * in slices, with the event loop turning between them. A RecordingDataplane stands in for the
 * data plane (the agent's programming is what is tested; agent-fib.test.ts runs a real one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentServer } from '../../src/agent/server.js';
import { ipv4PrefixCode } from '../../src/lib/addr.js';
import { Rib } from '../../src/controller/rib/rib.js';
import { FibExport, type LocalAgentLink } from '../../src/controller/rib/fib-export.js';
import type { RibRoute } from '../../src/controller/rib/types.js';
import { RecordingDataplane } from '../support/recording-dataplane.js';
import { waitFor } from '../interop/harness/proc.js';

function direct(prefix: string, ifname: string): RibRoute {
  return { prefix, protocol: 'direct', preference: 0, nexthops: [{ interface: ifname }] };
}
function stat(prefix: string, gws: string[]): RibRoute {
  return { prefix, protocol: 'static', preference: 5, nexthops: gws.map((gateway) => ({ gateway })) };
}

/** An agent and a FIB export joined by the in-process link; the link follows `agents.current` (an agent restart replaces it). */
async function setup() {
  const dp = new RecordingDataplane();
  const agents = { current: new AgentServer(dp, { address: '127.0.0.1:0' }) };
  const port = await agents.current.start();
  const local: LocalAgentLink = { openProgram: (onMessage, onClose) => agents.current.openLocal(onMessage, onClose) };
  const rib = new Rib();
  const exp = new FibExport(rib, { address: `127.0.0.1:${port}`, local, backoffMinMs: 20, backoffMaxMs: 100 });
  return { dp, agents, port, rib, exp, local };
}

test('in process: routes reach the data plane without the Program stream on gRPC, ACKed; the unary reads still answer', async () => {
  const { dp, agents, rib, exp } = await setup();
  try {
    exp.setInterface('eth1', { name: 'eth1', driver: 'memory', addresses: ['10.0.0.1/24'] });
    exp.start();
    rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
    rib.announce('inet.0', 'static', stat('192.0.2.0/24', ['10.0.0.2']));
    rib.announce('inet.0', 'static', stat('203.0.113.0/24', ['10.0.0.2', '10.0.0.3']));
    rib.announce('inet6.0', 'static', { prefix: '2001:db8:1::/48', protocol: 'static', preference: 5, action: 'discard', nexthops: [] });
    await exp.whenIdle(5000);
    assert.deepEqual([...(dp.routes.get('default')?.keys() ?? [])].sort(), ['192.0.2.0/24', '2001:db8:1::/48', '203.0.113.0/24']);
    const st = exp.status();
    assert.equal(st.nacks, 0);
    assert.equal(st.routesAcked, 4, 'every route acknowledged (both families travel as packed records)');
    assert.equal(agents.current.stats.streams, 1);
    assert.equal(agents.current.stats.messages > 0, true);
    rib.withdraw('inet.0', 'static', '192.0.2.0/24');
    await exp.whenIdle(5000);
    assert.equal(dp.routes.get('default')!.has('192.0.2.0/24'), false);
    // `show route forwarding-table` and the counts read the agent over gRPC, as before
    const rb = await exp.listRoutes('default', 4);
    assert.deepEqual(rb.map((r) => r.prefix).sort(), ['203.0.113.0/24']);
  } finally {
    await exp.stop();
    await agents.current.stop();
  }
});

test('in process, controller restart with holdResyncEnd: the replay sweeps nothing until ready(), then only what was withdrawn', async () => {
  const { dp, agents, rib, exp, local, port } = await setup();
  let exp2: FibExport | undefined;
  try {
    exp.setInterface('eth1', { name: 'eth1', driver: 'memory', addresses: ['10.0.0.1/24'] });
    exp.start();
    rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
    for (let i = 0; i < 10; i++) rib.announce('inet.0', 'static', stat(`192.0.${i}.0/24`, ['10.0.0.2']));
    await exp.whenIdle(5000);
    const adds = dp.calls['addRoute'] ?? 0;
    await exp.stop();
    const rib2 = new Rib();
    exp2 = new FibExport(rib2, { address: `127.0.0.1:${port}`, local, holdResyncEnd: true });
    exp2.start();
    await waitFor('the new stream, its replay acknowledged', () => agents.current.stats.streams === 2 && exp2!.status().inflight === 0, 5000, 10);
    assert.equal(dp.routes.get('default')!.size, 10, 'an empty replay removes nothing while the end is held');
    exp2.setInterface('eth1', { name: 'eth1', driver: 'memory', addresses: ['10.0.0.1/24'] });
    rib2.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
    for (let i = 0; i < 9; i++) rib2.announce('inet.0', 'static', stat(`192.0.${i}.0/24`, ['10.0.0.2']));
    exp2.ready('test: state complete');
    await exp2.whenIdle(5000);
    assert.equal(exp2.status().synced, true);
    assert.equal(dp.routes.get('default')!.has('192.0.9.0/24'), false);
    assert.equal(dp.routes.get('default')!.size, 9);
    assert.equal(agents.current.stats.lastSwept, 1, 'only the withdrawn route');
    assert.equal((dp.calls['addRoute'] ?? 0) - adds, 0, 'nothing unchanged re-created');
  } finally {
    await exp.stop();
    await exp2?.stop();
    await agents.current.stop();
  }
});

test('in process, agent restart: the agent ends the stream, the export opens one on the new agent and replays; nothing vanishes', async () => {
  const { dp, agents, rib, exp } = await setup();
  try {
    exp.setInterface('eth1', { name: 'eth1', driver: 'memory', addresses: ['10.0.0.1/24'] });
    exp.start();
    rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
    for (let i = 0; i < 20; i++) rib.announce('inet.0', 'static', stat(`192.0.${i}.0/24`, ['10.0.0.2']));
    await exp.whenIdle(5000);
    await agents.current.stop();
    // while no agent serves: one route goes, one comes; the export keeps retrying
    rib.withdraw('inet.0', 'static', '192.0.19.0/24');
    rib.announce('inet.0', 'static', stat('198.51.100.0/24', ['10.0.0.2']));
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(dp.routes.get('default')!.size, 20, 'the data plane keeps its last FIB');
    agents.current = new AgentServer(dp, { address: '127.0.0.1:0' });
    await agents.current.start();
    await waitFor('the replay to the new agent', () => exp.status().synced, 5000, 10);
    await exp.whenIdle(5000);
    const routes = dp.routes.get('default')!;
    assert.equal(routes.has('192.0.19.0/24'), false);
    assert.equal(routes.has('198.51.100.0/24'), true);
    assert.equal(routes.size, 20);
    assert.ok(exp.status().reconnects >= 1);
  } finally {
    await exp.stop();
    await agents.current.stop();
  }
});

test('in process: a backlog of route batches is applied in slices, the event loop turning between them', async () => {
  const { dp, agents, rib, exp } = await setup();
  try {
    exp.setInterface('eth1', { name: 'eth1', driver: 'memory', addresses: ['10.0.0.1/24'] });
    exp.start();
    rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
    await exp.whenIdle(5000);
    const shared = stat('', ['10.0.0.2']);
    const n = 200_000;
    for (let i = 0; i < n; i++) rib.announceSharedKey('inet.0', 'static', ipv4PrefixCode((0x14000000 + i * 256) >>> 0, 24), shared);
    // a timer that fires only when the event loop turns; the export's window (16 batches of
    // 2,000) applied in one turn would keep it from firing between the first batch and the last
    let turns = 0;
    const timer = setInterval(() => turns++, 1);
    const applied: number[] = [];
    const probe = setInterval(() => applied.push(dp.routes.get('default')?.size ?? 0), 1);
    await exp.whenIdle(60_000);
    clearInterval(timer);
    clearInterval(probe);
    assert.equal(dp.routes.get('default')!.size, n);
    assert.ok(turns > 1, `the loop turned ${turns} times while ${n} routes were programmed`);
    const between = applied.filter((x) => x > 0 && x < n);
    assert.ok(between.length > 0, 'timers ran while part of the routes were programmed');
    assert.equal(agents.current.stats.nacks, 0);
  } finally {
    await exp.stop();
    await agents.current.stop();
  }
});
