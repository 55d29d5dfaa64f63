/**
 * cnr's own BGP connections leave from the right source address, and come back promptly
 * after a restart. `cnr start` as deployed (controller and vRouter in one process, the
 * node's own traffic through vhost0) against a passive BIRD (`passive on`: only cnr
 * connects), over IPv4 and IPv6:
 *
 *   host (10.0.9.2, fd00:9::2) ── [vRouter in ns cnr, vhost0 to its kernel] ── BIRD (10.0.0.2, fd00:4::2)
 *
 * vhost0 holds every router address as a /32 or /128 beside the connected routes, and the
 * host-facing ones come first: the kernel's own choice of IPv4 source toward BIRD is
 * 10.0.9.1, which BIRD refuses. cnr binds 10.0.0.1 and fd00:4::1 itself. Then `cnr start`
 * is killed (SIGKILL) and started again: BIRD's routes must be back at cnr within BIRD's
 * own reconnect time (it refuses connections while it waits after the error) plus a second,
 * bounded generously here and printed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, canBuildLabs } from './harness/lab.js';
import { Cnr, cnrAvailable } from './harness/cnr.js';
import { Bird, birdConfig } from './harness/bird.js';
import { run, runAsync, sleep, waitFor } from './harness/proc.js';

const reason = !canBuildLabs() ? 'needs root to build network namespaces' : !cnrAvailable() ? 'cnr with BGP is not built yet' : undefined;

const CNR4 = '10.0.0.1';
const CNR6 = 'fd00:4::1';
const PEER4 = '10.0.0.2';
const PEER6 = 'fd00:4::2';
const FROM_BIRD = ['203.0.113.0/24', '2001:db8:ff::/48'];
/** BIRD's wait after a session error before it accepts again (its `error wait time`, seconds) */
const BIRD_ERROR_WAIT = 3;
const T = 30_000;

describe('cnr start connects to a passive BIRD from the right source, and returns promptly after a restart', { skip: reason, timeout: 150_000 }, () => {
  let lab: Lab;
  let cnr: Cnr;
  let peer: Bird;
  let nsCnr: string;
  let nsPeer: string;

  before(async () => {
    lab = new Lab('isrc');
    nsCnr = lab.ns('cnr');
    nsPeer = lab.ns('peer');
    const nsHost = lab.ns('host');
    // the router's ends carry no kernel address: the vRouter owns them
    const toHost = lab.link(nsCnr, nsHost, { b4: '10.0.9.2/24', b6: 'fd00:9::2/64' });
    const toPeer = lab.link(nsCnr, nsPeer, { b4: `${PEER4}/30`, b6: `${PEER6}/64` });
    // CNR_INTEROP_DEBUG: BIRD logs its protocol events and packets to stderr (printed after)
    const debug = process.env['CNR_INTEROP_DEBUG'] ? ['debug { states, events, packets };'] : [];
    const lines = ['passive on;', `error wait time ${BIRD_ERROR_WAIT},${BIRD_ERROR_WAIT};`, ...debug];
    peer = await Bird.start(lab, nsPeer, 'peer', birdConfig({
      asn: 65002,
      routerId: PEER4,
      static4: [{ prefix: FROM_BIRD[0]! }],
      static6: [{ prefix: FROM_BIRD[1]! }],
      neighbors: [
        { name: 'cnr4', address: CNR4, asn: 65000, channels: 'ipv4 { import all; export where source = RTS_STATIC; };', lines },
        { name: 'cnr6', address: CNR6, asn: 65000, channels: 'ipv6 { import all; export where source = RTS_STATIC; };', lines },
      ],
      ...(debug.length ? { extra: 'log stderr all;\ntimeformat log iso long ms;\ntimeformat protocol iso long ms;' } : {}),
    }));
    cnr = await Cnr.start(lab, nsCnr, 'dut', {
      asn: 65000,
      routerId: '10.255.0.1',
      // the host-facing interface first: its addresses come first on vhost0
      interfaces: [
        { name: toHost.ifA, addresses: ['10.0.9.1/24', 'fd00:9::1/64'] },
        { name: toPeer.ifA, addresses: [`${CNR4}/30`, `${CNR6}/64`] },
      ],
      neighbors: [
        { address: PEER4, asn: 65002, families: ['inet'], import: ['ALL'] },
        { address: PEER6, asn: 65002, families: ['inet6'], import: ['ALL'] },
      ],
      extra: ['set policy-options policy-statement ALL then accept'],
    }, 30_000, { vrouter: true, vhost: true, introspect: '127.0.0.1:8085' });
  }, { timeout: 60_000 });

  after(async () => {
    if (process.env['CNR_INTEROP_DEBUG']) console.log(cnr?.daemon.output().slice(-8000), peer?.daemon.output().slice(-12000));
    await lab?.close();
  });

  const established = async (a: string) => /^established$/i.test((await cnr.neighborState(a)) ?? '');
  const routesBack = async () => {
    for (const p of FROM_BIRD) if (!(await cnr.bgpRoute(p))?.active) return false;
    return true;
  };

  test('both sessions come up, from the address facing BIRD', async () => {
    await waitFor('IPv4 and IPv6 sessions Established', async () => (await established(PEER4)) && (await established(PEER6)), T);
    await waitFor('BIRD\'s routes at cnr', routesBack, T);
    const kernel = run('ip', ['netns', 'exec', nsCnr, 'ip', '-4', 'route', 'get', PEER4]).stdout;
    console.log(`# the kernel's own IPv4 source toward BIRD: ${/src (\S+)/.exec(kernel)?.[1]} (vhost0: ${run('ip', ['netns', 'exec', nsCnr, 'ip', '-o', 'addr', 'show', 'dev', 'vhost0']).stdout.split('\n').map((l) => /inet6? (\S+)/.exec(l)?.[1]).filter(Boolean).join(' ')})`);
    for (const [addr, local, proto] of [[PEER4, CNR4, 'cnr4'], [PEER6, CNR6, 'cnr6']] as const) {
      assert.equal((await cnr.neighbor(addr))['local-address'], local, `cnr's session to ${addr} leaves from ${local}`);
      assert.equal(peer.protocolState(proto), 'Established', `BIRD (passive) accepted cnr's connection for ${proto}`);
      // BIRD's end of it: the remote address is the one cnr bound
      const conns = run('ip', ['netns', 'exec', nsPeer, 'ss', '-tnH', 'state', 'established', '( sport = :179 )']).stdout;
      assert.ok(conns.split('\n').some((l) => l.trim().split(/\s+/).at(-1)?.replace(/^\[|\](?=:)/g, '').startsWith(`${local}:`)), `BIRD's connection comes from ${local}:\n${conns}`);
    }
  });

  test('after a flap (BIRD restarts its IPv4 session), cnr is back within about its IdleHoldTime of 1 s', async () => {
    await waitFor('BIRD\'s routes at cnr', routesBack, T);
    const flaps = Number((await cnr.neighbor(PEER4)).flaps ?? 0);
    const t0 = Date.now();
    peer.birdc('restart', 'cnr4');
    await waitFor('cnr notices the flap', async () => !(await established(PEER4)), 10_000, 20);
    const down = Date.now() - t0;
    let up: number | undefined;
    let updated: number | undefined;
    const updatesBefore = Number((await cnr.neighbor(PEER4))['input-messages']?.updates ?? 0);
    await waitFor('BIRD\'s IPv4 route at cnr again', async () => {
      if (!(await established(PEER4))) return false;
      up ??= Date.now() - t0;
      if (updated === undefined && Number((await cnr.neighbor(PEER4))['input-messages']?.updates ?? 0) !== updatesBefore) updated = Date.now() - t0;
      return !!(await cnr.bgpRoute(FROM_BIRD[0]!))?.active;
    }, 30_000, 50);
    const back = Date.now() - t0;
    updated ??= back; // it arrived between the two questions of the last poll
    console.log(`# flap: cnr saw the session end at ${down} ms, Established again at ${up} ms, first UPDATE at ${updated} ms, BIRD's route back at ${back} ms`);
    if (process.env['CNR_INTEROP_DEBUG']) console.log(peer.birdc('show', 'protocols', 'all', 'cnr4'));
    if (process.env['CNR_INTEROP_DEBUG']) console.log(cnr.daemon.output().split('\n').filter((l) => l.includes(PEER4)).slice(-12).join('\n'));
    // cnr waits its IdleHoldTime (1 s) and connects; BIRD, passive, accepts at once. When its
    // routes follow is BIRD's business: captures show it sending its first UPDATE either at
    // once or about 3 s after the session came up, so only the session is bounded tightly
    assert.ok(up !== undefined && up <= 2500, `Established again after ${up} ms`);
    assert.ok(back <= up + 5000, `BIRD's route back ${back - up} ms after the session`);
    assert.equal((await cnr.neighbor(PEER4))['local-address'], CNR4);
    assert.equal(Number((await cnr.neighbor(PEER4)).flaps), flaps + 1, 'one flap');
  });

  test('after a SIGKILL of cnr start, BIRD\'s routes are back within BIRD\'s reconnect time plus a second', async () => {
    await waitFor('BIRD\'s routes at cnr', routesBack, T);
    const t0 = Date.now();
    const startedAt = t0;
    let birdDown: number | undefined;
    let birdReady: number | undefined;
    let watching = true;
    // BIRD's side: when it noticed, and when it accepts again (it leaves Idle after its error
    // wait). Asked asynchronously: a synchronous birdc every 50 ms held this process's event
    // loop, so under load the routes' arrival was seen up to 1.7 s late (measured: cnr had
    // BIRD's End-of-RIB 1.66 s before the check saw the routes)
    const birdState = async (name: string) => /BGP state:\s+(\S+)/.exec((await runAsync('birdc', ['-s', peer.sock, 'show', 'protocols', 'all', name], 15_000)).stdout)?.[1];
    const watcher = (async () => {
      while (watching) {
        const st = await birdState('cnr4');
        if (birdDown === undefined && st !== 'Established') birdDown = Date.now() - t0;
        if (birdDown !== undefined && birdReady === undefined && st !== 'Idle' && st !== 'Established') birdReady = Date.now() - t0;
        await sleep(50);
      }
    })();
    let cliUp: number;
    let back: number;
    try {
      await cnr.restart();
      cliUp = Date.now() - t0;
      await waitFor('BIRD\'s routes at cnr again', routesBack, 60_000, 50);
      back = Date.now() - t0;
    } finally {
      watching = false;
      await watcher;
    }
    // BIRD refuses connections only while it waits after seeing the session fail; with
    // graceful restart (cnr advertises it) it may also take the new connection at once
    const ready = Math.max(cliUp, birdReady ?? 0);
    console.log(`# restart: cnr answering ${cliUp} ms; BIRD ${birdDown === undefined ? 'never left Established (it took cnr\'s new connection as a graceful restart)' : `saw the loss at ${birdDown} ms and accepted again from ${birdReady} ms`}; routes back at ${back} ms, ${back - ready} ms after both were ready`);
    // the restarted cnr's own account of the session (its log lines carry ISO times)
    const fsm = cnr.daemon.output().split('\n').filter((l) => l.includes(`bgp neighbor ${PEER4}:`)).map((l) => {
      const at = Date.parse(l.slice(0, 24));
      return `${Number.isNaN(at) ? '?' : at - startedAt} ms ${l.slice(l.indexOf(PEER4) + PEER4.length + 2)}`;
    });
    console.log(`# cnr's session to ${PEER4} after the restart: ${fsm.join('; ')}; last errors: ${PEER4} ${(await cnr.neighbor(PEER4))['last-error']}, ${PEER6} ${(await cnr.neighbor(PEER6))['last-error']}`);
    // the target is one second; a loaded 2-core machine gets another second and a half
    assert.ok(back - ready <= 2500, `routes back ${back - ready} ms after cnr and BIRD were both ready`);
    assert.equal((await cnr.neighbor(PEER4))['local-address'], CNR4);
    assert.ok(await established(PEER6));
    assert.equal((await cnr.neighbor(PEER6))['local-address'], CNR6);
  });
});
