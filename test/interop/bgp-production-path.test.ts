/**
 * BGP over the path production uses (root only): `cnr start` with vhost0, so every BGP packet
 * between cnr's controller and a peer crosses vhost0 and the vRouter's AF_PACKET fabric vif,
 * while the peers — FRR, BIRD and GoBGP — run in namespaces with the kernel's default offloads
 * (TSO/GSO and checksum offload on), as every real neighbour does. Each peer sends cnr 100,000
 * IPv4 routes, 100 per UPDATE, which its TCP hands the veth as 64 KiB super-frames: all of them
 * must arrive in bounded time (before the vRouter segmented super-frames, this path carried
 * 127 KB in 45 s and stalled).
 *
 * The peers get their tables from the benchmark's injector (bench/lib/bgp-injector.ts), one
 * session each from a source namespace: the fastest way to give FRR and GoBGP 100,000 routes.
 *
 *   src ── injector ──> FRR (65001)   ──┐
 *   src ── injector ──> BIRD (65002)  ──┼── fabric veths ── vRouter ── vhost0 ── cnr (65000)
 *   src ── injector ──> GoBGP (65003) ──┘
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Lab, canBuildLabs } from './harness/lab.js';
import { Cnr, cnrAvailable, repoRoot } from './harness/cnr.js';
import { Frr, frrBgpConfig } from './harness/frr.js';
import { Bird, birdConfig } from './harness/bird.js';
import { Gobgp, gobgpConfig } from './harness/gobgp.js';
import { run, waitFor, type Daemon } from './harness/proc.js';

const skip = !canBuildLabs() ? 'needs root (network namespaces); skipped' : !cnrAvailable() ? 'cnr is not built; skipped' : false;
const ROUTES = 100_000;
const CNR_AS = 65000;
const injectorJs = join(repoRoot, 'dist', 'bench', 'lib', 'bgp-injector.js');
const cnrBin = join(repoRoot, 'bin', 'cnr');
const INTROSPECT = '127.0.0.1:18085';

interface Peer {
  kind: 'FRR' | 'BIRD' | 'GoBGP';
  n: number;
  asn: number;
  ns: string;
  /** the fabric veth's end that the vRouter attaches */
  fabricIf: string;
  /** the peer's fabric address, cnr's neighbor */
  address: string;
}

let lab: Lab;
let cnr: Cnr;
let nsCnr = '';
let nsSrc = '';
const peers: Peer[] = [];

before(async () => {
  if (skip) return;
  lab = new Lab('prod');
  nsCnr = lab.ns('cnr');
  nsSrc = lab.ns('src');
  for (const [kind, n] of [['FRR', 1], ['BIRD', 2], ['GoBGP', 3]] as const) {
    const ns = lab.ns(kind.toLowerCase());
    // the fabric: no kernel address on cnr's end (the vRouter owns it); the peer keeps the
    // kernel's default offloads on its end
    const fabric = lab.link(nsCnr, ns, { b4: `10.0.${n}.2/30` });
    // the injector's session to the peer, kernel to kernel
    lab.link(nsSrc, ns, { a4: `10.1.${n}.1/30`, b4: `10.1.${n}.2/30` });
    peers.push({ kind, n, asn: 65000 + n, ns, fabricIf: fabric.ifA, address: `10.0.${n}.2` });
  }
  cnr = await Cnr.start(lab, nsCnr, 'prod', {
    asn: CNR_AS,
    routerId: '10.255.0.1',
    interfaces: peers.map((p) => ({ name: p.fabricIf, addresses: [`10.0.${p.n}.1/30`] })),
    neighbors: peers.map((p) => ({ address: p.address, asn: p.asn, families: ['inet'], exportNothing: true })),
  }, 30_000, { vrouter: true, vhost: true, introspect: INTROSPECT });
  for (const p of peers) {
    const injector = { address: `10.1.${p.n}.1`, asn: 65100 + p.n };
    if (p.kind === 'FRR') {
      await Frr.start(lab, p.ns, 'prod', {
        bgpd: frrBgpConfig({
          asn: p.asn,
          routerId: `10.0.${p.n}.2`,
          neighbors: [
            { address: injector.address, asn: injector.asn },
            { address: `10.0.${p.n}.1`, asn: CNR_AS, lines: [`neighbor 10.0.${p.n}.1 timers connect 1`] },
          ],
        }),
      });
    } else if (p.kind === 'BIRD') {
      await Bird.start(lab, p.ns, 'prod', birdConfig({
        asn: p.asn,
        routerId: `10.0.${p.n}.2`,
        neighbors: [
          { name: 'injector', address: injector.address, asn: injector.asn, channels: 'ipv4 { import all; export none; };' },
          { name: 'cnr', address: `10.0.${p.n}.1`, asn: CNR_AS, channels: 'ipv4 { import all; export all; };', lines: ['connect retry time 1;'] },
        ],
      }));
    } else {
      await Gobgp.start(lab, p.ns, 'prod', gobgpConfig({
        asn: p.asn,
        routerId: `10.0.${p.n}.2`,
        neighbors: [
          { address: injector.address, asn: injector.asn },
          { address: `10.0.${p.n}.1`, asn: CNR_AS, configLines: [] },
        ],
      }));
    }
  }
  await waitFor('every session through the vRouter to be Established', async () => {
    for (const p of peers) if ((await cnr.neighborState(p.address)) !== 'Established') return false;
    return true;
  }, 40_000, 300);
});

after(async () => {
  if (lab) await lab.close();
});

/** `cnr vif --list --json` from the vRouter inside cnr's namespace. */
function vifs(): { name: string; io?: Record<string, number> }[] {
  const r = run('ip', ['netns', 'exec', nsCnr, process.execPath, cnrBin, 'vif', '--list', '--json', '--introspect', INTROSPECT], 15_000);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { name: string; io?: Record<string, number> }[];
}

for (const [kind, n] of [['FRR', 1], ['BIRD', 2], ['GoBGP', 3]] as const) {
  test(`${kind} at default offloads sends ${ROUTES} routes to cnr start through the vRouter and vhost0`, { skip, timeout: 85_000 }, async () => {
    const p = peers.find((x) => x.kind === kind)!;
    assert.equal(p.n, n);
    const t0 = Date.now();
    const injector: Daemon = lab.daemon(`injector-${kind}`, nsSrc, process.execPath, [
      injectorJs, '--peer', `10.1.${n}.2`, '--local-as', String(65100 + n), '--peer-as', String(p.asn),
      '--next-hop', `10.1.${n}.1`, '--count', String(ROUTES), '--per-update', '100', '--base', `${20 + 10 * n}.0.0.0`,
    ]);
    await waitFor(`the injector's session to ${kind}`, () => /"event":"sent"/.test(injector.output()), 30_000, 200);
    let got = 0;
    await waitFor(`${ROUTES} routes from ${kind} at cnr`, async () => {
      got = await cnr.receivedCount(p.address);
      return got >= ROUTES;
    }, 60_000, 500).catch((e: unknown) => {
      // what the count was when time ran out (the wait's text is made before the first count),
      // whether cnr is still there, and its own account of the session
      const alive = cnr.daemon.child.exitCode === null ? 'running' : `exited (${cnr.daemon.child.exitCode ?? cnr.daemon.child.signalCode})`;
      const session = cnr.daemon.output().split('\n').filter((l) => l.includes(`bgp neighbor ${p.address}:`)).slice(-8).join('\n');
      assert.fail(`${(e as Error).message}; last count ${got}; cnr ${alive}; the injector: ${injector.output().slice(-600)}\ncnr's log for ${p.address}:\n${session}\n${alive === 'running' ? '' : cnr.daemon.output().slice(-3000)}`);
    });
    const seconds = (Date.now() - t0) / 1000;
    const fabric = vifs().find((v) => v.name === p.fabricIf)!;
    console.log(`${kind}: ${got} routes through the vRouter ${seconds.toFixed(1)} s after the injector started; fabric vif ${JSON.stringify(fabric.io)}`);
    assert.equal(await cnr.neighborState(p.address), 'Established');
    // the peer's TCP sent super-frames, the vRouter carried them whole (io/super-frame.ts) or cut
    // them, nothing was dropped for size
    assert.ok(fabric.io!.gsoFrames! + (fabric.io!.carried ?? 0) > 0, JSON.stringify(fabric.io));
    assert.equal(fabric.io!.rxTooBig, 0);
    assert.equal(fabric.io!.gsoUnsupported, 0);
    await injector.stop(3000);
  });
}
