// The FIB export's BGP gate, fed with events: sessions put in Established by hand (no socket),
// End-of-RIB and KEEPALIVE arrivals simulated as the instance and the neighbor record them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rib } from '../../rib/rib.js';
import { DEFAULT_OPTIONS, decodeUpdate, emptyCapabilities, encodeEndOfRib } from '../../../wire/bgp/index.js';
import type { ConfigTree } from '../../types.js';
import { createBgp } from './index.js';
import { afterBgpInitialSync, bgpInitialSyncWaitingFor, type ImplicitEorState } from './initial-sync.js';
import type { Neighbor } from './neighbor.js';

const tree = (gr: boolean): ConfigTree => ({
  'routing-options': { 'router-id': '10.255.0.1', 'autonomous-system': 65001 },
  protocols: {
    bgp: {
      ...(gr ? { 'graceful-restart': {} } : {}),
      group: { g: { type: 'external', 'peer-as': 65002, neighbor: { '10.0.0.2': { passive: true }, '10.0.0.3': { passive: true }, '10.0.0.4': { passive: true, shutdown: true } } } },
    },
  },
});

/** As if the OPENs were exchanged; `gr`: the peer's OPEN carried the graceful-restart capability. */
function establish(nb: Neighbor, gr: boolean): void {
  nb.families = nb.cfg.families;
  nb.peerOpen = { version: 4, myAs: 65002, holdTime: 90, bgpId: 1, capabilities: { ...emptyCapabilities(), gracefulRestart: gr ? { restarting: false, notification: false, time: 120, families: [] } : undefined } };
  nb.fsm = { ...nb.fsm, state: 'Established' };
  nb.stats.lastChange = Date.now();
}

const eor = () => {
  const d = decodeUpdate(encodeEndOfRib(1, 1).subarray(19), DEFAULT_OPTIONS);
  assert.ok(d.kind === 'update');
  return d;
};

test('BGP initial sync: End-of-RIB from a graceful-restart peer, a KEEPALIVE after its UPDATEs from one without; shut-down peers are not waited for', async () => {
  const bgp = createBgp(new Rib(), { port: false });
  try {
    await bgp.consumer.apply(tree(false), {});
    const inst = bgp.speaker.instances.get('master')!;
    const [a, b] = ['10.0.0.2', '10.0.0.3'].map((x) => inst.neighbors.get(x)!) as [Neighbor, Neighbor];
    const seen: ImplicitEorState = new WeakMap();
    assert.deepEqual(bgpInitialSyncWaitingFor(bgp.speaker, seen), ['10.0.0.2 not Established', '10.0.0.3 not Established']);
    establish(a, true);
    establish(b, false);
    assert.deepEqual(bgpInitialSyncWaitingFor(bgp.speaker, seen), [
      '10.0.0.2 End-of-RIB for 1/1',
      '10.0.0.3 a KEEPALIVE after its initial UPDATEs (no graceful restart: no End-of-RIB promised)',
    ]);
    inst.update(a, eor());
    const keepB = '10.0.0.3 a KEEPALIVE after its initial UPDATEs (no graceful restart: no End-of-RIB promised)';
    b.stats.inMessages++; // a KEEPALIVE before any UPDATE (BIRD sends its table 3 s after Established)
    assert.deepEqual(bgpInitialSyncWaitingFor(bgp.speaker, seen), [keepB]);
    b.stats.inMessages += 3;
    b.stats.inUpdates += 3; // UPDATEs are not KEEPALIVEs
    assert.deepEqual(bgpInitialSyncWaitingFor(bgp.speaker, seen), [keepB]);
    b.stats.inMessages++; // the KEEPALIVE after them: the implicit End-of-RIB
    assert.deepEqual(bgpInitialSyncWaitingFor(bgp.speaker, seen), []);
    // a peer with nothing to send: the second KEEPALIVE after Established
    const quiet: ImplicitEorState = new WeakMap();
    bgpInitialSyncWaitingFor(bgp.speaker, quiet);
    b.stats.inMessages++;
    assert.deepEqual(bgpInitialSyncWaitingFor(bgp.speaker, quiet), [keepB]);
    b.stats.inMessages++;
    assert.deepEqual(bgpInitialSyncWaitingFor(bgp.speaker, quiet), []);
    // seen before its session came up, its UPDATEs in before the first look: one KEEPALIVE after them is enough
    const early: ImplicitEorState = new WeakMap();
    b.fsm = { ...b.fsm, state: 'Idle' };
    bgpInitialSyncWaitingFor(bgp.speaker, early);
    establish(b, false);
    b.stats.inMessages += 2;
    b.stats.inUpdates += 2;
    assert.deepEqual(bgpInitialSyncWaitingFor(bgp.speaker, early), [keepB]);
    b.stats.inMessages++;
    assert.deepEqual(bgpInitialSyncWaitingFor(bgp.speaker, early), []);
    // a new session starts over
    inst.sessionDown(a, false);
    a.fsm = { ...a.fsm, state: 'Idle' };
    assert.deepEqual(bgpInitialSyncWaitingFor(bgp.speaker, early), ['10.0.0.2 not Established']);
  } finally {
    await bgp.stop();
  }
});

test('BGP initial sync: a restarting speaker with graceful restart is done when its deferral ends; the timer bounds the wait', async () => {
  const bgp = createBgp(new Rib(), { port: false, restarting: true, forwardingPreserved: true });
  try {
    await bgp.consumer.apply(tree(true), {});
    const inst = bgp.speaker.instances.get('master')!;
    const nbs = ['10.0.0.2', '10.0.0.3'].map((x) => inst.neighbors.get(x)!);
    for (const nb of nbs) establish(nb, true);
    assert.deepEqual(bgpInitialSyncWaitingFor(bgp.speaker), ['route selection deferred (graceful restart)', '10.0.0.2 End-of-RIB for 1/1', '10.0.0.3 End-of-RIB for 1/1']);
    const logs: string[] = [];
    const why = await new Promise<string>((resolve) => afterBgpInitialSync(bgp.speaker, 150, (l) => logs.push(l), resolve));
    assert.match(why, /selection deferral timer \(0 s\) over, still waiting for route selection deferred/);
    assert.equal(logs.length, 1, 'what it waits for is said once while it does not change');
    const done = new Promise<string>((resolve) => afterBgpInitialSync(bgp.speaker, 10_000, () => {}, resolve));
    for (const nb of nbs) inst.update(nb, eor());
    assert.equal(inst.restarting, false, 'End-of-RIB from every peer ends the deferral');
    assert.match(await done, /^BGP initial tables in after \d+ ms$/);
  } finally {
    await bgp.stop();
  }
});
