/**
 * BFD across a controller restart (root only): `cnr vrouter` (with vhost0) and `cnr
 * controller` as two processes, the Kubernetes layout. A static route asks for a single-hop
 * session to FRR's bfdd at 100 ms x 3. The controller is SIGKILLed: the session stays Up in
 * the vRouter (FRR sees no Down, cnr's C bit tells it BFD does not share the control plane's
 * fate) and the route stays in the FIB; the controller started again replays its session,
 * which keeps running (no flap) and is re-bound to its client: the restarted controller's
 * static route reacts when FRR's port is then taken down (the route leaves the FIB) and up.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, canBuildLabs } from './harness/lab.js';
import { Cnr, cnrAvailable, repoRoot } from './harness/cnr.js';
import { must, run, waitFor, WaitAborted, type Daemon } from './harness/proc.js';
import { introspect, vrouterHealth } from '../lib/traffic.js';

const skip = !canBuildLabs() ? 'needs root (network namespaces)' : !cnrAvailable() ? 'cnr is not built' : run('test', ['-x', '/usr/lib/frr/bfdd']).code !== 0 ? 'FRR bfdd not installed (apt-get install frr)' : false;
if (skip) console.log(`# bfd-restart interop skipped: ${skip}`);

const AGENT = '127.0.0.1:50152';
const HEALTH = '127.0.0.1:19191';
const INTROSPECT = '127.0.0.1:18285';
const ROUTE = '198.18.82.0/24';

let lab: Lab;
let cnr: Cnr;
let vrouter: Daemon;
let nsCnr = '';
let nsFrr = '';
let frrPort = '';
let runDir = '';

const fib = () => new Set(introspect<{ prefix: string }[]>(nsCnr, INTROSPECT, '/rt?vrf=default&family=inet').map((r) => r.prefix));
const frrPeer = (): Record<string, unknown> | undefined => {
  const r = run('vtysh', ['--vty_socket', runDir, '-c', 'show bfd peers json'], 5000);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as Record<string, unknown>[]).find((p) => p['peer'] === '10.82.1.1');
};
const session = async () => ((await cnr.json<{ sessions: { peer: string; state: string; flaps: number; upTransitions: number; remoteControlPlaneIndependent: boolean }[] }>('show bfd session')).sessions)[0];

before(async () => {
  if (skip) return;
  lab = new Lab('bfdr');
  nsCnr = lab.ns('cnr');
  nsFrr = lab.ns('frr');
  const link = lab.link(nsCnr, nsFrr, { b4: '10.82.1.2/24' });
  frrPort = link.ifB;
  runDir = join(lab.dir, 'frr-run');
  must('install', ['-d', '-o', 'frr', '-g', 'frr', runDir]);
  const zebraConf = join(lab.dir, 'zebra.conf');
  const bfddConf = join(lab.dir, 'bfdd.conf');
  writeFileSync(zebraConf, 'hostname cnr-bfd-restart\n');
  writeFileSync(bfddConf, ['bfd', ' peer 10.82.1.1 local-address 10.82.1.2', '  receive-interval 100', '  transmit-interval 100', '  detect-multiplier 3', ' !', '!', ''].join('\n'));
  const uid = Number(must('id', ['-u', 'frr']).trim());
  const gid = Number(must('id', ['-g', 'frr']).trim());
  for (const f of [zebraConf, bfddConf]) chownSync(f, uid, gid);
  const common = ['-u', 'frr', '-g', 'frr', '-z', join(runDir, 'zserv.api'), '--vty_socket', runDir];
  lab.daemon('zebra', nsFrr, '/usr/lib/frr/zebra', ['-f', zebraConf, '-i', join(runDir, 'zebra.pid'), ...common]);
  await waitFor('zebra vty', () => run('vtysh', ['--vty_socket', runDir, '-d', 'zebra', '-c', 'show version'], 5000).code === 0, 15_000);
  const bfdd = lab.daemon('bfdd', nsFrr, '/usr/lib/frr/bfdd', ['-f', bfddConf, '-i', join(runDir, 'bfdd.pid'), ...common]);
  await waitFor('bfdd vty', () => {
    if (bfdd.child.exitCode !== null) throw new WaitAborted(`bfdd exited: ${bfdd.output().slice(-2000)}`);
    return run('vtysh', ['--vty_socket', runDir, '-d', 'bfdd', '-c', 'show version'], 5000).code === 0;
  }, 15_000);

  vrouter = lab.daemon('vrouter', nsCnr, process.execPath, [join(repoRoot, 'bin', 'cnr'), 'vrouter', '--agent-address', AGENT, '--introspect', INTROSPECT, '--health', HEALTH]);
  await waitFor('cnr vrouter health', () => vrouterHealth(nsCnr, HEALTH)?.status === 'ok', 20_000, 100);
  cnr = await Cnr.start(lab, nsCnr, 'r', {
    asn: 65000,
    routerId: '10.82.255.1',
    neighbors: [],
    interfaces: [{ name: link.ifA, addresses: ['10.82.1.1/24'] }],
    // the form: next hop and BFD on one line
    extra: [`set routing-options static route ${ROUTE} next-hop 10.82.1.2 bfd-liveness-detection minimum-interval 100 multiplier 3`],
  }, 30_000, { agent: AGENT });
}, { timeout: 60_000 });

after(async () => {
  if (process.env['CNR_INTEROP_DEBUG']) console.log(cnr?.daemon.output().slice(-4000), vrouter?.output().slice(-4000));
  if (lab) await lab.close();
});

test('a controller restart leaves the BFD session Up in the vRouter; the new controller re-binds it to its static route', { skip, timeout: 80_000 }, async () => {
  await waitFor('the session Up at cnr', async () => (await session())?.state === 'Up', 20_000, 200);
  await waitFor('FRR: session up', () => frrPeer()?.['status'] === 'up', 10_000, 200);
  await waitFor('the static route in the FIB (its next hop is Up)', () => fib().has(ROUTE), 10_000, 100);
  const frrUptime = Number(frrPeer()?.['uptime'] ?? 0);

  await cnr.daemon.kill();
  // three seconds without a controller: ten detection times
  for (let i = 0; i < 15; i++) {
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(frrPeer()?.['status'], 'up', 'FRR sees the session Up while the controller is away');
    assert.ok(fib().has(ROUTE), 'the route stays in the FIB');
  }
  const p = frrPeer()!;
  assert.ok(Number(p['uptime']) >= frrUptime + 2, `FRR's session uptime runs on (${String(p['uptime'])} s, was ${frrUptime} s)`);

  await cnr.restart();
  const s = await waitFor('the restarted controller sees the session Up', async () => {
    const x = await session();
    return x?.state === 'Up' ? x : undefined;
  }, 20_000, 200);
  assert.equal(s.flaps, 0, 'the session never went down');
  assert.equal(s.upTransitions, 1);
  await waitFor('the resync is over', () => (vrouterHealth(nsCnr, HEALTH)?.agent.lastResyncAt ?? 0) > 0 && fib().has(ROUTE), 30_000, 200);
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(fib().has(ROUTE), 'the route is still there after the sweep');
  assert.equal((await session())?.flaps, 0);

  // re-bound: the new controller's static route follows the session
  must('ip', ['-n', nsFrr, 'link', 'set', frrPort, 'down']);
  await waitFor('the route out of the FIB after FRR\'s port went down', () => !fib().has(ROUTE), 5000, 20);
  must('ip', ['-n', nsFrr, 'link', 'set', frrPort, 'up']);
  await waitFor('the route back', () => fib().has(ROUTE), 15_000, 100);
});
