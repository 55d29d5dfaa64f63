// cnr against FRR: the shared interop assertions (bgp-suite.ts), then graceful restart: FRR's
// bgpd is killed and started again, and cnr, as restart helper (RFC 4724), keeps FRR's routes
// throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineBgpInterop, TOPO } from './bgp-suite.js';
import { FrrPeer } from './harness/peers.js';
import { waitFor, sleep } from './harness/proc.js';

defineBgpInterop('ifr', () => new FrrPeer(), (ctx) => {
  test('graceful restart: cnr keeps FRR routes while bgpd restarts', async () => {
    const { cnr, peer } = ctx();
    const frr = (peer as FrrPeer).frr;
    const kept = peer.configured;
    for (const p of kept) await waitFor(`cnr holds ${p}`, () => cnr.bgpRoute(p), 30_000);
    await frr.bgpd.kill();
    // the session is gone (the kernel closed the socket), the routes must stay, marked stale
    await waitFor('cnr sees the session down', async () => !/^established$/i.test((await cnr.neighborState(TOPO.peer4)) ?? ''), 15_000);
    for (let i = 0; i < 3; i++) {
      for (const p of kept) assert.ok(await cnr.bgpRoute(p), `cnr keeps ${p} while FRR restarts (${i} s)`);
      await sleep(1000);
    }
    await frr.restartBgpd();
    // usually within a second or two (cnr's IdleHoldTime of 1 s, then retries after 1, 1, 2,
    // 4 ... s while bgpd comes up); the bound is generous for a busy machine
    await waitFor('session back up', async () => /^established$/i.test((await cnr.neighborState(TOPO.peer4)) ?? ''), 60_000);
    // the restarted FRR announces them again; they are there, whole, and the session stays
    for (const p of kept) {
      const r = await waitFor(`${p} after the restart`, () => cnr.bgpRoute(p), 30_000);
      assert.ok(r.communities.includes(peer.community));
    }
    const nb = await cnr.neighbor(TOPO.peer4);
    assert.ok(nb?.['peer-capabilities']?.['graceful-restart'], `FRR announced graceful restart: ${JSON.stringify(nb?.['peer-capabilities'])}`);
  });
});
