/**
 * A controller restart does not stop forwarding toward BGP-learned prefixes: `cnr controller`
 * beside `cnr vrouter`, peering with BIRD and FRR, is SIGKILLed and started again (same state
 * directory: a restart) while a host sends 100 pps toward a prefix of each peer; meanwhile each
 * peer withdraws one other prefix. Without and with graceful restart (cnr's `graceful-restart`,
 * BIRD's `graceful restart`, FRR's `bgp graceful-restart`):
 *  - no packet is lost toward either peer's prefix;
 *  - the vRouter removes exactly the two withdrawn routes, and the others keep their next hop;
 *  - the resync ends only after BGP has the peers' tables back (End-of-RIB, or FRR-style
 *    implicit End-of-RIB for a peer without graceful restart).
 *
 *   src 10.0.2.2 ── [vRouter] ──fabric 10.0.3.0/30── BIRD (192.0.2.1, 198.51.100.1 on lo)
 *                      │      ──fabric 10.0.4.0/30── FRR  (203.0.113.1, 198.18.0.1 on lo)
 *   cnr controller ── kernel links 10.0.0.0/30, 10.0.0.4/30 (the BGP sessions) ── BIRD, FRR
 *
 * The sessions run on kernel links because `--no-vhost` gives the node's own traffic no way
 * through vRouter-owned interfaces; cnr's import policy sets each route's next hop to the
 * peer's fabric address. The peers reach the source host by a kernel static route, so the
 * return path does not depend on what cnr advertises.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, canBuildLabs } from './harness/lab.js';
import { Cnr, cnrAvailable, repoRoot } from './harness/cnr.js';
import { Bird, birdConfig } from './harness/bird.js';
import { Frr, frrBgpConfig } from './harness/frr.js';
import { waitFor, type Daemon } from './harness/proc.js';
import { Pinger, introspect, vrouterHealth } from '../lib/traffic.js';
import { join } from 'node:path';

const reason = !canBuildLabs() ? 'needs root to build network namespaces' : !cnrAvailable() ? 'cnr with BGP is not built yet' : undefined;
const AGENT = '127.0.0.1:50052';
const HEALTH = '127.0.0.1:9091';
const INTROSPECT = '127.0.0.1:8085';

for (const gr of [false, true]) {
  describe(`cnr controller restart with BIRD and FRR peers, ${gr ? 'with' : 'without'} graceful restart: no packet lost`, { skip: reason, timeout: 80_000 }, () => {
    let lab: Lab;
    let cnr: Cnr;
    let bird: Bird;
    let frr: Frr;
    let vrouter: Daemon;
    let nsCnr = '';
    let nsSrc = '';

    const birdConf = (withdrawn: boolean) =>
      birdConfig({
        asn: 65001,
        routerId: '10.0.0.2',
        static4: [{ prefix: '192.0.2.0/24' }, ...(withdrawn ? [] : [{ prefix: '198.51.100.0/24' }])],
        neighbors: [{
          name: 'cnr',
          address: '10.0.0.1',
          asn: 65000,
          // a killed controller's session ends with an error: come back within a second or two
          lines: [gr ? 'graceful restart on;' : 'graceful restart off;', 'connect delay time 1;', 'connect retry time 2;', 'error wait time 1, 2;', 'hold time 9;', 'keepalive time 3;'],
        }],
      });

    const vifIds = () => introspect<{ id: number; name: string }[]>(nsCnr, INTROSPECT, '/vif').map((v) => `${v.name}=${v.id}`).sort();
    const fib = () => new Map(introspect<{ prefix: string; nh: number }[]>(nsCnr, INTROSPECT, '/rt?vrf=default&family=inet').map((r) => [r.prefix, r.nh]));

    before(async () => {
      lab = new Lab(gr ? 'rsbg' : 'rsbn');
      nsCnr = lab.ns('cnr');
      const nsBird = lab.ns('bird');
      const nsFrr = lab.ns('frr');
      nsSrc = lab.ns('src');
      lab.link(nsCnr, nsBird, { a4: '10.0.0.1/30', b4: '10.0.0.2/30' });
      lab.link(nsCnr, nsFrr, { a4: '10.0.0.5/30', b4: '10.0.0.6/30' });
      const fabBird = lab.link(nsCnr, nsBird, { b4: '10.0.3.2/30' });
      const fabFrr = lab.link(nsCnr, nsFrr, { b4: '10.0.4.2/30' });
      const toSrc = lab.link(nsCnr, nsSrc, { b4: '10.0.2.2/30' });
      // only the ends the vRouter attaches lose their offloads; the neighbours keep theirs
      for (const dev of [fabBird.ifA, fabFrr.ifA, toSrc.ifA]) lab.exec(nsCnr, 'ethtool', ['-K', dev, 'tx', 'off', 'tso', 'off', 'gso', 'off']);
      for (const a of ['192.0.2.1/32', '198.51.100.1/32']) lab.exec(nsBird, 'ip', ['addr', 'add', a, 'dev', 'lo']);
      for (const a of ['203.0.113.1/32', '198.18.0.1/32']) lab.exec(nsFrr, 'ip', ['addr', 'add', a, 'dev', 'lo']);
      lab.exec(nsBird, 'ip', ['route', 'add', '10.0.2.0/30', 'via', '10.0.3.1']);
      lab.exec(nsFrr, 'ip', ['route', 'add', '10.0.2.0/30', 'via', '10.0.4.1']);
      lab.exec(nsSrc, 'ip', ['route', 'add', 'default', 'via', '10.0.2.1']);
      bird = await Bird.start(lab, nsBird, 'r', birdConf(false));
      frr = await Frr.start(lab, nsFrr, 'r', {
        bgpd: frrBgpConfig({
          asn: 65002,
          routerId: '10.0.0.6',
          routerLines: [gr ? 'bgp graceful-restart' : 'bgp graceful-restart-disable'],
          neighbors: [{ address: '10.0.0.5', asn: 65000, lines: ['neighbor 10.0.0.5 timers connect 1', 'neighbor 10.0.0.5 timers 3 9'] }],
          networks: [{ prefix: '203.0.113.0/24' }, { prefix: '198.18.0.0/24' }],
        }),
      });
      vrouter = lab.daemon('vrouter', nsCnr, process.execPath, [join(repoRoot, 'bin', 'cnr'), 'vrouter', '--no-vhost', '--agent-address', AGENT, '--introspect', INTROSPECT, '--health', HEALTH]);
      await waitFor('cnr vrouter health', () => vrouterHealth(nsCnr, HEALTH)?.status === 'ok', 20_000, 100);
      cnr = await Cnr.start(lab, nsCnr, 'r', {
        asn: 65000,
        routerId: '10.255.0.1',
        interfaces: [
          { name: fabBird.ifA, addresses: ['10.0.3.1/30'] },
          { name: fabFrr.ifA, addresses: ['10.0.4.1/30'] },
          { name: toSrc.ifA, addresses: ['10.0.2.1/30'] },
        ],
        neighbors: [
          { address: '10.0.0.2', asn: 65001, families: ['inet'], import: ['VIA-BIRD'], exportNothing: true },
          { address: '10.0.0.6', asn: 65002, families: ['inet'], import: ['VIA-FRR'], exportNothing: true },
        ],
        extra: [
          'set policy-options policy-statement VIA-BIRD then next-hop 10.0.3.2',
          'set policy-options policy-statement VIA-BIRD then accept',
          'set policy-options policy-statement VIA-FRR then next-hop 10.0.4.2',
          'set policy-options policy-statement VIA-FRR then accept',
          ...(gr ? ['set protocols bgp graceful-restart'] : []),
        ],
      }, 30_000, { agent: AGENT });
    }, { timeout: 60_000 });

    after(async () => {
      if (process.env['CNR_INTEROP_DEBUG']) console.log(cnr?.daemon.output().slice(-5000), vrouter?.output().slice(-3000));
      await lab?.close();
    });

    test('SIGKILL and restart under 100 pps: nothing lost, only the withdrawn routes removed', async () => {
      const wanted = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '198.18.0.0/24'];
      await waitFor('the vRouter holds both peers\' prefixes', () => wanted.every((p) => fib().has(p)), 30_000, 200);
      await waitFor('pings reach both peers', () => lab.exec(nsSrc, 'ping', ['-c', '1', '-W', '1', '192.0.2.1']).code === 0 && lab.exec(nsSrc, 'ping', ['-c', '1', '-W', '1', '203.0.113.1']).code === 0, 20_000, 200);
      const before = fib();
      const vifsBefore = vifIds();
      const removedBefore = vrouterHealth(nsCnr, HEALTH)!.removed;
      // 12 s at 100 pps: the restart, BGP's return and the resync take 4-5 s of it here
      const toBird = new Pinger(nsSrc, '192.0.2.1', 1200);
      const toFrr = new Pinger(nsSrc, '203.0.113.1', 1200);
      try {
        await new Promise((r) => setTimeout(r, 1000));
        const killedAt = Date.now();
        await cnr.daemon.kill();
        // while the controller is away, each peer withdraws one prefix
        bird.reconfigure(birdConf(true));
        frr.configureBgp(65002, 'ipv4', ['no network 198.18.0.0/24']);
        await new Promise((r) => setTimeout(r, 500));
        await cnr.restart();
        const h = await waitFor('the vRouter resync after the restart', () => {
          const x = vrouterHealth(nsCnr, HEALTH);
          return x && (x.agent.lastResyncAt ?? 0) > killedAt ? x : undefined;
        }, 40_000, 100);
        const [b, f] = [await toBird.finish(20_000), await toFrr.finish(20_000)];
        const gate = /fib-export: (.*); the agent may now remove/.exec(cnr.daemon.output())?.[1];
        console.log(`${gr ? 'with' : 'without'} graceful restart: resync ended ${h.agent.lastResyncAt! - killedAt} ms after the kill (${gate}); BIRD prefix ${b.received}/${b.transmitted} (longest gap ${b.maxGapMs.toFixed(0)} ms), FRR prefix ${f.received}/${f.transmitted} (longest gap ${f.maxGapMs.toFixed(0)} ms)`);
        assert.ok(b.replies.at(-1)! > h.agent.lastResyncAt! && f.replies.at(-1)! > h.agent.lastResyncAt!, 'the traffic lasted past the resync');
        assert.equal(b.transmitted, 1200, b.output);
        assert.equal(b.received, 1200, `toward BIRD's prefix: no packet lost (${b.output})`);
        assert.equal(f.transmitted, 1200, f.output);
        assert.equal(f.received, 1200, `toward FRR's prefix: no packet lost (${f.output})`);
        assert.match(gate ?? '', /BGP initial tables in/, 'the resync waited for BGP');
        const after = fib();
        assert.equal(after.has('198.51.100.0/24'), false, 'the prefix BIRD withdrew while the controller was down is gone');
        assert.equal(after.has('198.18.0.0/24'), false, 'the prefix FRR withdrew while the controller was down is gone');
        assert.equal(after.get('192.0.2.0/24'), before.get('192.0.2.0/24'), 'BIRD\'s prefix keeps its next hop');
        assert.equal(after.get('203.0.113.0/24'), before.get('203.0.113.0/24'), 'FRR\'s prefix keeps its next hop');
        assert.deepEqual(vifIds(), vifsBefore, 'vif ids unchanged');
        assert.equal(h.agent.lastSwept, 2, 'the resync removed the two withdrawn routes only');
        assert.deepEqual(h.removed, { ...removedBefore, routes: removedBefore.routes + 2 }, 'nothing else removed (no next hop, interface or VRF)');
      } finally {
        toBird.stop();
        toFrr.stop();
      }
    });
  });
}
