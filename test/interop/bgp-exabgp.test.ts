/**
 * cnr against malformed and unusual UPDATEs (RFC 7606). ExaBGP, an eBGP peer, announces a
 * route that must survive everything else, then crafted ones: an ORIGIN and a MED of the wrong
 * length (treat-as-withdraw), an unknown optional transitive attribute (kept), an AS_SET
 * (accepted, and passed on to BIRD, an observing peer, with the partial bit), an AS_SET
 * (accepted), an empty AS_PATH on eBGP (treat-as-withdraw). The project's raw injector, a second
 * peer, sends what ExaBGP cannot: duplicate attributes (all but the first discarded) and an
 * attribute whose length overruns the attribute field (treat-as-withdraw). Through all of it
 * both sessions stay up and unrelated routes stay; last, the raw peer sends garbage and only its
 * own session is reset.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, canBuildLabs } from './harness/lab.js';
import { Cnr, cnrAvailable } from './harness/cnr.js';
import { Exabgp } from './harness/exabgp.js';
import { Bird, birdConfig } from './harness/bird.js';
import { RawPeer } from './harness/raw-peer.js';
import { waitFor, type Daemon } from './harness/proc.js';
import { attr, encodeRawUpdate } from '../../bench/lib/bgp-injector.js';

const CNR = '10.0.0.1';
const EXA = '10.0.0.2';
const RAW = '10.0.0.3';
const CNR_OBS = '10.0.1.1';
const OBS = '10.0.1.2';
const STABLE = '203.0.113.0/24';
const T = 20_000;

const reason = !canBuildLabs() ? 'needs root to build network namespaces' : !cnrAvailable() ? 'cnr controller with BGP is not built yet' : undefined;

describe('cnr and malformed UPDATEs (ExaBGP and a raw peer)', { skip: reason, timeout: 120_000 }, () => {
  let lab: Lab;
  let cnr: Cnr;
  let exa: Exabgp;
  let raw: RawPeer;
  let bird: Bird;
  let capture: Daemon;

  const has = (p: string) => cnr.bgpRoute(p);
  const gone = async (p: string) => (await cnr.bgpRoute(p)) === undefined;
  const up = async (addr: string) => /^established$/i.test((await cnr.neighborState(addr)) ?? '');
  async function stillFine(): Promise<void> {
    assert.ok(await has(STABLE), `unrelated ${STABLE} is still there`);
    assert.ok(await up(EXA), 'the ExaBGP session is still up');
  }

  before(async () => {
    lab = new Lab('iex');
    const nsC = lab.ns('cnr');
    const nsE = lab.ns('exa');
    const link = lab.link(nsC, nsE, { a4: `${CNR}/29`, b4: `${EXA}/29` });
    lab.exec(nsE, 'ip', ['addr', 'add', `${RAW}/29`, 'dev', link.ifB]);
    const nsO = lab.ns('obs');
    const obsLink = lab.link(nsC, nsO, { a4: `${CNR_OBS}/30`, b4: `${OBS}/30` });
    // what cnr sends the observer, to read attribute flags BIRD does not show
    capture = lab.daemon('tshark', nsO, 'tshark', ['-i', obsLink.ifB, '-l', '-f', 'tcp port 179', '-Y', 'bgp.type == 2', '-O', 'bgp']);
    await waitFor('capture running', () => capture.output().includes('Capturing on'), 15_000);
    bird = await Bird.start(lab, nsO, 'obs', birdConfig({
      asn: 65006,
      routerId: OBS,
      neighbors: [{ name: 'cnr', address: CNR_OBS, asn: 65000, lines: ['connect retry time 1;'], channels: 'ipv4 { import all; export none; };' }],
    }));
    cnr = await Cnr.start(lab, nsC, 'dut', {
      asn: 65000,
      routerId: '10.255.0.1',
      interfaces: [
        { name: link.ifA, addresses: [`${CNR}/29`] },
        { name: obsLink.ifA, addresses: [`${CNR_OBS}/30`] },
      ],
      neighbors: [
        { address: EXA, asn: 65004, families: ['inet'], import: ['all'], exportNothing: true },
        { address: RAW, asn: 65005, families: ['inet'], import: ['all'], exportNothing: true },
        { address: OBS, asn: 65006, families: ['inet'], import: ['all'], export: ['all'] },
      ],
      extra: ['set policy-options policy-statement all then accept'],
    });
    exa = await Exabgp.start(lab, nsE, 'x', [{ address: CNR, localAddress: EXA, asn: 65000, localAs: 65004, routerId: EXA }]);
    await waitFor('ExaBGP session', () => up(EXA), 30_000);
    raw = await RawPeer.start(lab, nsE, { peer: CNR, localAddress: RAW, localAs: 65005 });
    await waitFor('raw session', () => up(RAW), 30_000);
    await exa.api(`announce route ${STABLE} next-hop self community [65004:1]`);
    await waitFor(`${STABLE} at cnr`, () => has(STABLE), T);
  }, { timeout: 90_000 });

  after(async () => {
    if (process.env['CNR_INTEROP_DEBUG']) console.log(cnr?.daemon.output().slice(-5000), exa?.log().slice(-3000));
    await lab?.close();
  });

  /** Announce a prefix well-formed first, so that treat-as-withdraw is visible as a removal. */
  async function announceThenBreak(prefix: string, broken: string): Promise<void> {
    await exa.api(`announce route ${prefix} next-hop self`);
    await waitFor(`${prefix} at cnr`, () => has(prefix), T);
    await exa.api(`announce route ${prefix} next-hop self ${broken}`);
    await waitFor(`${prefix} treated as withdrawn`, () => gone(prefix), T);
    await stillFine();
  }

  test('ORIGIN with a bad length: treat-as-withdraw', () => announceThenBreak('198.18.1.0/24', 'attribute [ 0x01 0x40 0x0000 ]'));

  test('MED with a bad length: treat-as-withdraw', () => announceThenBreak('198.18.6.0/24', 'attribute [ 0x04 0x80 0x0001 ]'));

  test('empty AS_PATH from an eBGP peer: treat-as-withdraw', () => announceThenBreak('198.18.4.0/24', 'as-path [ ]'));

  test('unknown optional transitive attribute: route accepted, attribute passed on', async () => {
    await exa.api('announce route 198.18.2.0/24 next-hop self attribute [ 0xf0 0xc0 0x01020304 ]');
    await waitFor('198.18.2.0/24 at cnr', () => has('198.18.2.0/24'), T);
    // BIRD shows an unknown attribute as BGP.f0 with its flags: t(ransitive), p(artial)
    const shown = await waitFor('198.18.2.0/24 at BIRD via cnr', () => /BGP\.f0/.test(bird.showRouteAll('198.18.2.0/24')) && bird.showRouteAll('198.18.2.0/24'), T);
    assert.match(shown, /BGP\.f0 \[t\]: 01 02 03 04/);
    // tshark decodes cnr's UPDATEs live; find the one announcing 198.18.2.0/24
    const update = await waitFor('the UPDATE decoded by tshark', () => {
      const frames = capture.output().split(/\n(?=Frame \d+:)/);
      return frames.find((f) => f.includes('NLRI prefix: 198.18.2.0'));
    }, T);
    const flags = /Path Attribute - Unknown[^\n]*\n\s*Flags: (0x[0-9a-f]+)/i.exec(update);
    assert.ok(flags, `cnr's UPDATE to BIRD carries attribute 240:\n${update}`);
    assert.equal(Number(flags[1]) & 0xe0, 0xe0, `optional, transitive and partial (cnr did not recognise it): flags ${flags[1]}`);
    await stillFine();
  });

  test('AS_SET: accepted with the set in the path', async () => {
    await exa.api('announce route 198.18.3.0/24 next-hop self as-path [ 65004 ( 65010 65011 ) ]');
    const r = await waitFor('198.18.3.0/24 at cnr', () => has('198.18.3.0/24'), T);
    assert.match(r.asPath, /^65004 \{65010 65011\}$/);
    await stillFine();
  });

  const base = (asn: number, nh: string) => [
    ...attr(0x40, 1, [0]),
    ...attr(0x40, 2, [2, 1, (asn >>> 24) & 255, (asn >>> 16) & 255, (asn >>> 8) & 255, asn & 255]),
    ...attr(0x40, 3, nh.split('.').map(Number)),
  ];
  const comm = (hi: number, lo: number) => [hi >> 8, hi & 255, lo >> 8, lo & 255];

  test('duplicate COMMUNITIES: all but the first discarded, route accepted', async () => {
    await raw.send(encodeRawUpdate({
      attributes: [...base(65005, RAW), ...attr(0xc0, 8, comm(65005, 1)), ...attr(0xc0, 8, comm(65005, 2))],
      nlri: ['198.18.7.0/24'],
    }));
    const r = await waitFor('198.18.7.0/24 at cnr', () => has('198.18.7.0/24'), T);
    assert.deepEqual(r.communities, ['65005:1']);
    assert.ok(raw.alive && (await up(RAW)), 'the raw session is still up');
    await stillFine();
  });

  test('attribute length overrunning the attribute field: treat-as-withdraw', async () => {
    await raw.send(encodeRawUpdate({ attributes: base(65005, RAW), nlri: ['198.18.8.0/24'] }));
    await waitFor('198.18.8.0/24 at cnr', () => has('198.18.8.0/24'), T);
    // a COMMUNITIES claiming 8 octets with 4 left in the attribute field; the NLRI is still parseable
    await raw.send(encodeRawUpdate({ attributes: [...base(65005, RAW), ...attr(0xc0, 8, comm(65005, 3), 8)], nlri: ['198.18.8.0/24'] }));
    await waitFor('198.18.8.0/24 treated as withdrawn', () => gone('198.18.8.0/24'), T);
    assert.ok(await has('198.18.7.0/24'), 'the raw peer\'s other route stays');
    assert.ok(raw.alive && (await up(RAW)), 'the raw session is still up');
    await stillFine();
  });

  test('garbage (a broken marker) resets only that session, with the RFC 4271 NOTIFICATION', async () => {
    const junk = encodeRawUpdate({ attributes: base(65005, RAW), nlri: ['198.18.9.0/24'] });
    junk[3] = 0; // marker must be all ones
    await raw.send(junk);
    await waitFor('the raw peer session closed by cnr', () => !raw.alive, T);
    const closed = raw.daemon.output().split('\n').find((l) => l.includes('"closed"'));
    const n = JSON.parse(closed ?? '{}').notification;
    assert.deepEqual([n?.code, n?.subcode], [1, 1], `Message Header Error / Connection Not Synchronized: ${closed}`);
    await waitFor('the raw peer\'s routes withdrawn', () => gone('198.18.7.0/24'), T);
    await stillFine();
  });
});
