/**
 * `cnr start` (controller and vRouter in one process) SIGKILLed and started again while a host
 * sends 100 pps toward a prefix learned from BIRD: the vRouter dies with the controller, so
 * forwarding stops until the new process has attached its interfaces, BGP is back and BIRD has
 * sent its table. The loss is measured and printed (docs/design.md, Restarts), not asserted
 * beyond forwarding coming back; the routes must not be swept again once they are back.
 *
 *   src 10.0.2.2 ── [cnr start, vRouter] ──fabric 10.0.3.0/30── BIRD (192.0.2.1 on lo)
 *                    cnr ── kernel link 10.0.0.0/30 (the BGP session) ── BIRD
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, canBuildLabs } from './harness/lab.js';
import { Cnr, cnrAvailable } from './harness/cnr.js';
import { Bird, birdConfig } from './harness/bird.js';
import { waitFor } from './harness/proc.js';
import { Pinger } from '../lib/traffic.js';

const reason = !canBuildLabs() ? 'needs root to build network namespaces' : !cnrAvailable() ? 'cnr with BGP is not built yet' : undefined;

describe('cnr start restart with a BIRD peer: what is lost is measured', { skip: reason, timeout: 80_000 }, () => {
  let lab: Lab;
  let cnr: Cnr;
  let nsSrc = '';

  before(async () => {
    lab = new Lab('rsst');
    const nsCnr = lab.ns('cnr');
    const nsBird = lab.ns('bird');
    nsSrc = lab.ns('src');
    lab.link(nsCnr, nsBird, { a4: '10.0.0.1/30', b4: '10.0.0.2/30' });
    const fab = lab.link(nsCnr, nsBird, { b4: '10.0.3.2/30' });
    const toSrc = lab.link(nsCnr, nsSrc, { b4: '10.0.2.2/30' });
    // only the ends the vRouter attaches lose their offloads; the neighbours keep theirs
    for (const dev of [fab.ifA, toSrc.ifA]) lab.exec(nsCnr, 'ethtool', ['-K', dev, 'tx', 'off', 'tso', 'off', 'gso', 'off']);
    lab.exec(nsBird, 'ip', ['addr', 'add', '192.0.2.1/32', 'dev', 'lo']);
    lab.exec(nsBird, 'ip', ['route', 'add', '10.0.2.0/30', 'via', '10.0.3.1']);
    lab.exec(nsSrc, 'ip', ['route', 'add', 'default', 'via', '10.0.2.1']);
    await Bird.start(lab, nsBird, 's', birdConfig({
      asn: 65001,
      routerId: '10.0.0.2',
      static4: [{ prefix: '192.0.2.0/24' }],
      neighbors: [{ name: 'cnr', address: '10.0.0.1', asn: 65000, lines: ['graceful restart on;', 'connect delay time 1;', 'connect retry time 2;', 'error wait time 1, 2;'] }],
    }));
    cnr = await Cnr.start(lab, nsCnr, 's', {
      asn: 65000,
      routerId: '10.255.0.1',
      interfaces: [{ name: fab.ifA, addresses: ['10.0.3.1/30'] }, { name: toSrc.ifA, addresses: ['10.0.2.1/30'] }],
      neighbors: [{ address: '10.0.0.2', asn: 65001, families: ['inet'], import: ['VIA-FABRIC'], exportNothing: true }],
      extra: ['set policy-options policy-statement VIA-FABRIC then next-hop 10.0.3.2', 'set policy-options policy-statement VIA-FABRIC then accept', 'set protocols bgp graceful-restart'],
    }, 30_000, { vrouter: true, introspect: '127.0.0.1:8085' });
  }, { timeout: 60_000 });

  after(async () => {
    if (process.env['CNR_INTEROP_DEBUG']) console.log(cnr?.daemon.output().slice(-5000));
    await lab?.close();
  });

  test('SIGKILL and restart under 100 pps toward the BGP prefix', async () => {
    await waitFor('pings reach the BIRD prefix', () => lab.exec(nsSrc, 'ping', ['-c', '1', '-W', '1', '192.0.2.1']).code === 0, 30_000, 200);
    const pinger = new Pinger(nsSrc, '192.0.2.1', 100_000);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const killedAt = Date.now();
      await cnr.daemon.kill();
      const spawnedAt = Date.now();
      await cnr.restart();
      const back = await waitFor('a reply after the restart', () => pinger.replies().find((t) => t > spawnedAt), 40_000, 50);
      // once back, it stays: the resync that follows must not sweep it
      await new Promise((r) => setTimeout(r, 3000));
      pinger.stop();
      const tally = await pinger.finish(5000);
      const afterBack = tally.replies.filter((t) => t >= back);
      console.log(`cnr start restart, BGP prefix: ${JSON.stringify({ spawnToFirstReplyMs: Math.round(back - spawnedAt), killToFirstReplyMs: Math.round(back - killedAt), lostPackets: tally.transmitted - tally.received, outageMs: Math.round(tally.maxGapMs) })}`);
      const gaps = afterBack.slice(1).map((t, i) => t - afterBack[i]!);
      assert.ok(afterBack.length > 50 && afterBack.at(-1)! - back > 2500, `forwarding stays up once back (${afterBack.length} replies)`);
      assert.ok(Math.max(...gaps) < 500, `no second outage after forwarding came back (longest gap ${Math.round(Math.max(...gaps))} ms)`);
    } finally {
      pinger.stop();
    }
  });
});
