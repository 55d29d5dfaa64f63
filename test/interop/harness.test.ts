/**
 * The interop harness checked on its own, with no cnr involved: a BIRD hub peers with FRR
 * (IPv4 and IPv6 sessions), GoBGP, ExaBGP and the project's injector, each in its own
 * namespace; routes and communities travel between them, ExaBGP's crafted attribute reaches
 * BIRD, the injector's bulk UPDATEs are all counted, FRR (run with zebra here) installs what it
 * learns into its namespace's kernel, its bgpd restarts, and closing the lab
 * leaves no namespace, process or directory behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Lab, canBuildLabs } from './harness/lab.js';
import { Bird, birdConfig } from './harness/bird.js';
import { Frr, frrBgpConfig } from './harness/frr.js';
import { Gobgp, gobgpConfig } from './harness/gobgp.js';
import { Exabgp } from './harness/exabgp.js';
import { run, startDaemon, waitFor } from './harness/proc.js';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const injectorJs = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'bench', 'lib', 'bgp-injector.js');
const T = 30_000;

describe('interop harness: BIRD hub with FRR, GoBGP, ExaBGP and the injector', { skip: canBuildLabs() ? undefined : 'needs root to build network namespaces', timeout: 120_000 }, () => {
  let lab: Lab;
  let bird: Bird;
  let frr: Frr;
  let gobgp: Gobgp;
  let exa: Exabgp;
  let nsInj: string;
  let nsFrr: string;
  const pids: number[] = [];

  before(async () => {
    lab = new Lab('hrn');
    const hub = lab.ns('hub');
    nsFrr = lab.ns('frr');
    const nsGo = lab.ns('gobgp');
    const nsExa = lab.ns('exa');
    nsInj = lab.ns('inj');
    lab.link(hub, nsFrr, { a4: '10.1.1.1/30', b4: '10.1.1.2/30', a6: 'fd00:1::1/64', b6: 'fd00:1::2/64' });
    lab.link(hub, nsGo, { a4: '10.1.2.1/30', b4: '10.1.2.2/30' });
    lab.link(hub, nsExa, { a4: '10.1.3.1/30', b4: '10.1.3.2/30' });
    lab.link(hub, nsInj, { a4: '10.1.4.1/30', b4: '10.1.4.2/30' });
    const retry = ['connect retry time 1;'];
    bird = await Bird.start(lab, hub, 'hub', birdConfig({
      asn: 65100,
      routerId: '10.1.1.1',
      static4: [{ prefix: '198.51.100.0/24', attrs: 'bgp_community.add((65100,1));' }],
      static6: [{ prefix: '2001:db8:2::/48' }],
      neighbors: [
        { name: 'frr4', address: '10.1.1.2', asn: 65101, lines: retry },
        { name: 'frr6', address: 'fd00:1::2', asn: 65101, lines: retry },
        { name: 'gobgp', address: '10.1.2.2', asn: 65102, lines: retry },
        { name: 'exa', address: '10.1.3.2', asn: 65103, lines: retry },
        { name: 'inj', address: '10.1.4.2', asn: 65104, lines: retry, channels: 'ipv4 { import all; export none; };' },
      ],
    }));
    frr = await Frr.start(lab, nsFrr, 'spoke', {
      zebra: true,
      bgpd: frrBgpConfig({
        asn: 65101,
        routerId: '10.1.1.2',
        neighbors: [
          { address: '10.1.1.1', asn: 65100, lines: ['neighbor 10.1.1.1 timers connect 1'] },
          { address: 'fd00:1::1', asn: 65100, lines: ['neighbor fd00:1::1 timers connect 1'] },
        ],
        networks: [{ prefix: '192.0.2.0/24', routeMap: 'C' }, { prefix: '2001:db8:1::/48' }],
        extra: 'route-map C permit 10\n set community 65101:7\nexit',
      }),
    });
    gobgp = await Gobgp.start(lab, nsGo, 'spoke', gobgpConfig({ asn: 65102, routerId: '10.1.2.2', neighbors: [{ address: '10.1.2.1', asn: 65100 }] }));
    exa = await Exabgp.start(lab, nsExa, 'spoke', [{ address: '10.1.3.1', localAddress: '10.1.3.2', asn: 65100, localAs: 65103, routerId: '10.1.3.2' }]);
    pids.push(bird.daemon.pid, frr.bgpd.pid, frr.zebra!.pid, gobgp.daemon.pid, exa.daemon.pid);
  }, { timeout: 60_000 });

  after(async () => {
    await lab?.close();
  });

  test('sessions establish (FRR over IPv4 and IPv6, GoBGP, ExaBGP)', async () => {
    for (const p of ['frr4', 'frr6', 'gobgp', 'exa']) await waitFor(`BIRD ${p} Established`, () => bird.protocolState(p) === 'Established', T);
    assert.equal(frr.neighborState('fd00:1::1'), 'Established');
    assert.equal(await gobgp.neighborState('10.1.2.1'), 'established');
  });

  test('routes and communities travel through the hub', async () => {
    await waitFor('BIRD holds FRR 192.0.2.0/24', () => bird.showRouteAll('192.0.2.0/24').includes('(65101,7)'), T);
    await waitFor('BIRD holds FRR 2001:db8:1::/48', () => bird.prefixesFrom('frr6').includes('2001:db8:1::/48'), T);
    await waitFor('FRR holds BIRD routes', () => frr.routes('ipv4')['198.51.100.0/24'] && frr.routes('ipv6')['2001:db8:2::/48'], T);
    await waitFor('zebra installs the BIRD route in the FRR namespace kernel', () => /proto bgp/.test(run('ip', ['-n', nsFrr, 'route', 'show', '198.51.100.0/24']).stdout), T);
    const rib = await waitFor('GoBGP holds FRR route via BIRD', async () => (await gobgp.rib('ipv4'))['192.0.2.0/24'], T);
    const asPath = rib[0].attrs.find((a: any) => a.type === 2).as_paths[0].asns;
    assert.deepEqual(asPath, [65100, 65101]);
    await gobgp.addRoute('192.0.2.128/25', ['community', '65102:9']);
    await waitFor('BIRD holds the GoBGP route', () => bird.showRouteAll('192.0.2.128/25').includes('(65102,9)'), T);
    await gobgp.delRoute('192.0.2.128/25');
    await waitFor('GoBGP withdrawal reaches BIRD', () => !bird.showRouteAll('192.0.2.128/25').includes('192.0.2.128/25'), T);
  });

  test('ExaBGP announces a crafted attribute on demand', async () => {
    await exa.api('announce route 198.18.2.0/24 next-hop self attribute [ 0xf0 0xc0 0x01020304 ]');
    await waitFor('BIRD shows attribute 0xf0', () => /BGP\.f0.*01 02 03 04/.test(bird.showRouteAll('198.18.2.0/24')), T);
    await exa.api('withdraw route 198.18.2.0/24 next-hop self');
    await waitFor('ExaBGP withdrawal reaches BIRD', () => !bird.showRouteAll('198.18.2.0/24').includes('198.18.2.0/24'), T);
  });

  test('the injector delivers every prefix (5 per UPDATE)', async () => {
    const before = await bird.routeCount();
    const inj = startDaemon('injector', 'ip', ['netns', 'exec', nsInj, process.execPath, injectorJs,
      '--peer', '10.1.4.1', '--local-as', '65104', '--next-hop', '10.1.4.2', '--count', '20000', '--per-update', '5']);
    lab.defer('injector', () => inj.stop());
    await waitFor('injector sent everything', () => inj.output().includes('"sent"'), T);
    await waitFor('BIRD counts 20000 more routes', async () => (await bird.routeCount()) === before + 20000, T);
    const sent = JSON.parse(inj.output().split('\n').find((l) => l.includes('"sent"'))!);
    assert.equal(sent.updates, 4000);
    await inj.stop();
  });

  test('FRR bgpd restarts and its session comes back', async () => {
    await frr.restartBgpd();
    await waitFor('session back', () => bird.protocolState('frr4') === 'Established', T);
    await waitFor('route back', () => bird.showRouteAll('192.0.2.0/24').includes('(65101,7)'), T);
    pids.push(frr.bgpd.pid);
  });

  test('closing the lab removes namespaces, processes and files', async () => {
    const dir = lab.dir;
    await lab.close();
    const left = run('ip', ['netns', 'list']).stdout.split('\n').filter((l) => l.includes(`cnrbi-${lab.tag}-`));
    assert.deepEqual(left, []);
    for (const pid of pids) assert.equal(existsSync(`/proc/${pid}`), false, `pid ${pid} is gone`);
    assert.equal(existsSync(dir), false);
  });
});
