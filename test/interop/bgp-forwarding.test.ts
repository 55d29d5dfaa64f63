/**
 * Traffic follows a BGP route: `cnr start` (controller and vRouter in one process) learns
 * 192.0.2.0/24 from FRR and forwards pings from a host namespace toward it through the
 * vRouter; when FRR withdraws the prefix, the pings stop.
 *
 *   src (10.0.2.2) ── fabric ── [vRouter in ns cnr] ── fabric ── FRR (192.0.2.1 on lo)
 *                                   cnr ── kernel link (BGP session) ── FRR
 *
 * The BGP session runs on a separate kernel-owned link because `--no-vhost` gives the node's
 * own traffic no way through vRouter-owned interfaces; FRR sets the next hop of its route to
 * its address on the fabric link, which cnr resolves through the connected subnet there.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, canBuildLabs } from './harness/lab.js';
import { Cnr, cnrAvailable } from './harness/cnr.js';
import { Frr, frrBgpConfig } from './harness/frr.js';
import { run, waitFor } from './harness/proc.js';

const reason = !canBuildLabs() ? 'needs root to build network namespaces' : !cnrAvailable() ? 'cnr with BGP is not built yet' : undefined;

describe('cnr forwards toward a prefix learned from FRR', { skip: reason, timeout: 120_000 }, () => {
  let lab: Lab;
  let cnr: Cnr;
  let frr: Frr;
  let nsSrc: string;
  let nsCnr: string;

  before(async () => {
    lab = new Lab('ifw');
    nsCnr = lab.ns('cnr');
    const nsFrr = lab.ns('frr');
    nsSrc = lab.ns('src');
    lab.link(nsCnr, nsFrr, { a4: '10.0.0.1/30', b4: '10.0.0.2/30' });
    const toFrr = lab.link(nsCnr, nsFrr, { b4: '10.0.1.2/30' });
    const toSrc = lab.link(nsCnr, nsSrc, { b4: '10.0.2.2/30' });
    // FRR's and the source's veths keep the kernel's default offloads (TSO/GSO, checksum offload):
    // the vRouter segments and completes what they send
    lab.exec(nsFrr, 'ip', ['addr', 'add', '192.0.2.1/32', 'dev', 'lo']);
    lab.exec(nsFrr, 'ip', ['route', 'add', '10.0.2.0/30', 'via', '10.0.1.1']);
    lab.exec(nsSrc, 'ip', ['route', 'add', 'default', 'via', '10.0.2.1']);
    frr = await Frr.start(lab, nsFrr, 'fw', {
      bgpd: frrBgpConfig({
        asn: 65001,
        routerId: '10.0.0.2',
        neighbors: [{ address: '10.0.0.1', asn: 65000, lines: ['neighbor 10.0.0.1 timers connect 1'], afLines: ['route-map FABRIC-NH out'] }],
        networks: [{ prefix: '192.0.2.0/24' }],
        extra: 'route-map FABRIC-NH permit 10\n set ip next-hop 10.0.1.2\nexit',
      }),
    });
    cnr = await Cnr.start(lab, nsCnr, 'fw', {
      asn: 65000,
      routerId: '10.255.0.1',
      interfaces: [
        { name: toFrr.ifA, addresses: ['10.0.1.1/30'] },
        { name: toSrc.ifA, addresses: ['10.0.2.1/30'] },
      ],
      neighbors: [{ address: '10.0.0.2', asn: 65001, families: ['inet'], import: ['ALL'], exportNothing: true }],
      extra: ['set policy-options policy-statement ALL then accept'],
    }, 30_000, { vrouter: true, introspect: '127.0.0.1:8085' });
  }, { timeout: 90_000 });

  after(async () => {
    if (process.env['CNR_INTEROP_DEBUG']) console.log(cnr?.daemon.output().slice(-5000));
    await lab?.close();
  });

  const ping = () => run('ip', ['netns', 'exec', nsSrc, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '192.0.2.1'], 10_000);

  test('pings reach the FRR prefix through the vRouter', async () => {
    const r = await waitFor('cnr learns 192.0.2.0/24 with the fabric next hop', () => cnr.bgpRoute('192.0.2.0/24'), 30_000);
    assert.ok(r.active);
    const ok = await waitFor('ping from src to 192.0.2.1', () => ping().code === 0, 30_000, 500);
    assert.ok(ok);
  });

  test('the vRouter FIB holds the learned route', async () => {
    const out = lab.exec(nsCnr, 'curl', ['-s', 'http://127.0.0.1:8085/rt?vrf=default&family=inet']).stdout;
    const routes = JSON.parse(out) as { prefix: string }[];
    assert.ok(routes.some((x) => x.prefix === '192.0.2.0/24'), `192.0.2.0/24 in ${out.slice(0, 500)}`);
  });

  test('when FRR withdraws the prefix, traffic stops', async () => {
    frr.configureBgp(65001, 'ipv4', ['no network 192.0.2.0/24']);
    await waitFor('cnr drops 192.0.2.0/24', async () => (await cnr.bgpRoute('192.0.2.0/24')) === undefined, 30_000);
    await waitFor('pings fail', () => ping().code !== 0, 15_000, 500);
  });
});
