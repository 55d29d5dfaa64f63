/**
 * cnr's IS-IS against FRR's isisd over a point-to-point veth link: the RFC 5303 three-way
 * adjacency comes up on both sides, the LSDBs synchronise (each holds the other's LSP), each
 * learns the other's loopback prefixes (FRR's `show isis route`, cnr's RIB with FRR's
 * address as next hop), FRR sees cnr's Prefix-SID with the label computed from FRR's own
 * SRGB and cnr computes the label toward FRR's SID from FRR's SRGB; when FRR's port goes
 * down cnr's adjacency and routes go; when cnr stops advertising its IPv6 loopback FRR's route
 * goes, when cnr's node SID changes FRR's label follows, and when FRR stops advertising its
 * loopback cnr's route goes. cnr runs in this test process: its IS-IS instance over a KernelFramePort whose
 * socket is opened inside cnr's namespace, feeding a real RIB.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from './harness/lab.js';
import { must, waitFor } from './harness/proc.js';
import type { Isis } from '../../src/controller/protocols/isis/index.js';
import type { Rib } from '../../src/controller/rib/rib.js';
import { isisSkip, startCnrIsis, startFrrIsisd, type FrrIsisd } from './isis-lab.js';
import { parseConfig } from '../../src/controller/config/notation.js';

const skip = isisSkip;
if (skip) console.log(`# isis-frr interop skipped: ${skip}`);

let lab: Lab;
let nsFrr: string;
let ifFrr: string;
let ifCnr: string;
let frr: FrrIsisd;
let isis: Isis;
let rib: Rib;
const vtysh = (cmd: string) => frr.vtysh(cmd);

function cnrConfig(withLoopback6 = true, ipv4Index = 2) {
  return parseConfig(
    [
      'set system host-name cnr1',
      'set interfaces lo0 unit 0 family inet address 10.255.0.2/32',
      ...(withLoopback6 ? ['set interfaces lo0 unit 0 family inet6 address 2001:db8:ff::2/128'] : []),
      'set interfaces lo0 unit 0 family iso address 49.0001.0000.0000.0002.00',
      `set interfaces ${ifCnr} unit 0 family inet address 10.77.0.2/24`,
      `set interfaces ${ifCnr} unit 0 family inet6 address fd00:77::2/64`,
      `set interfaces ${ifCnr} unit 0 family iso`,
      `set protocols isis interface ${ifCnr} point-to-point`,
      `set protocols isis interface ${ifCnr} hello-interval 1`,
      `set protocols isis interface ${ifCnr} level 2 metric 10`,
      'set protocols isis interface lo0.0 passive',
      'set protocols isis level 1 disable',
      'set protocols isis source-packet-routing srgb start-label 400000',
      'set protocols isis source-packet-routing srgb index-range 4096',
      `set protocols isis source-packet-routing node-segment ipv4-index ${ipv4Index}`,
      'set protocols isis source-packet-routing node-segment ipv6-index 1002',
    ].join('\n') + '\n',
    'set',
  );
}

before(async () => {
  if (skip) return;
  lab = new Lab('isfr');
  nsFrr = lab.ns('frr');
  const nsCnr = lab.ns('cnr');
  const link = lab.link(nsFrr, nsCnr, { a4: '10.77.0.1/24', b4: '10.77.0.2/24', a6: 'fd00:77::1/64', b6: 'fd00:77::2/64' });
  ifFrr = link.ifA;
  ifCnr = link.ifB;
  must('ip', ['-n', nsFrr, 'addr', 'add', '10.255.0.1/32', 'dev', 'lo']);
  must('ip', ['-n', nsFrr, '-6', 'addr', 'add', '2001:db8:ff::1/128', 'dev', 'lo']);
  frr = await startFrrIsisd(lab, nsFrr, 'frr1', [
    `interface ${ifFrr}`, ' ip router isis 1', ' ipv6 router isis 1', ' isis network point-to-point', ' isis hello-interval 1', '!',
    'interface lo', ' ip router isis 1', ' ipv6 router isis 1', ' isis passive', '!',
    'router isis 1', ' net 49.0001.0000.0000.0001.00', ' is-type level-2-only', ' metric-style wide', ' lsp-gen-interval 1',
    ' segment-routing on', ' segment-routing global-block 16000 23999', ' segment-routing prefix 10.255.0.1/32 index 1', '!',
  ]);
  ({ isis, rib } = startCnrIsis(lab, nsCnr));
  await isis.consumer.apply(cnrConfig(), {});
});

after(async () => {
  if (lab) await lab.close();
});

test('IS-IS with FRR isisd on a point-to-point link: three-way adjacency, LSDBs in sync, prefixes both ways, SR labels from each other\'s SRGB, SID change, adjacency loss and withdrawals propagate', { skip, timeout: 85_000 }, async () => {
  const inst = () => isis.instance()!;
  await waitFor('cnr adjacency Up', () => inst().cx.circuits.get(ifCnr)?.p2p?.state === 'up', 20_000);
  await waitFor('FRR adjacency Up', () => /Up/.test(vtysh('show isis neighbor')), 20_000);
  // LSDBs: each holds the other's LSP
  await waitFor('cnr holds FRR\'s LSP', () => inst().cx.lsdb.get(2)!.get('0000.0000.0001.00-00') !== undefined, 15_000);
  await waitFor('FRR holds cnr\'s LSP', () => /cnr1\.00-00/.test(vtysh('show isis database')), 15_000);
  // routes both ways
  const r4 = await waitFor('cnr route to FRR\'s loopback', () => rib.get('inet.0', '10.255.0.1/32'), 15_000);
  assert.equal(r4.protocol, 'isis');
  assert.equal(r4.preference, 18, 'level 2 internal: Junos preference 18');
  assert.deepEqual(r4.nexthops.map((h) => [h.gateway, h.interface]), [['10.77.0.1', ifCnr]]);
  const r6 = await waitFor('cnr IPv6 route to FRR\'s loopback', () => rib.get('inet6.0', '2001:db8:ff::1/128'), 15_000);
  assert.match(r6.nexthops[0]!.gateway ?? '', /^fe80:/, 'IPv6 next hop: FRR\'s link-local address from its hello');
  await waitFor('FRR route to cnr\'s loopback', () => /10\.255\.0\.2\/32/.test(vtysh('show isis route')), 15_000);
  await waitFor('FRR IPv6 route to cnr\'s loopback', () => /2001:db8:ff::2\/128/.test(vtysh('show isis route')), 15_000);
  // segment routing: FRR's label for cnr's SID index 2 is its own SRGB 16000 + 2; cnr's toward FRR's index 1: FRR is the originator and asked for PHP
  let lastSids = '';
  await waitFor('FRR sees cnr\'s prefix SID', () => {
    lastSids = vtysh('show isis route prefix-sid');
    return /10\.255\.0\.2\/32\s.*\s2\s+Pop\(16002\)/.test(lastSids) ? lastSids : undefined;
  }, 15_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${lastSids}\n${vtysh('show isis database detail')}`);
  });
  const tunnel = await waitFor('cnr inet.3 tunnel to FRR\'s loopback', () => rib.get('inet.3', '10.255.0.1/32'), 15_000);
  assert.deepEqual(tunnel.nexthops[0]!.labels, [], 'FRR is the next hop and the originator of index 1 with PHP: no label pushed');

  // the show commands over this state (FRR's loopback: metric 10 on the link + 10 in FRR's LSP)
  const show = async (words: string[], args: string[] = []) => {
    const c = isis.commands.find((x) => x.path.join(' ') === words.join(' '));
    assert.ok(c, words.join(' '));
    return c.run(args);
  };
  assert.match((await show(['show', 'isis', 'adjacency'])).text, new RegExp(`${ifCnr}\\s+frr1\\s+2 Up`));
  const db = (await show(['show', 'isis', 'database'], ['detail'])).text;
  assert.match(db, /frr1\.00-00/);
  assert.match(db, /IP prefix: 10\.255\.0\.1\/32 Metric 10 Up, Prefix-SID index 1 N/);
  assert.match(db, /SRGB: 16000 range 8000/);
  const routes = await show(['show', 'isis', 'route']);
  assert.match(routes.text, /10\.255\.0\.1\/32\s+2\s+\d+\s+20 int/);
  assert.deepEqual((routes.data as { routes: { prefix: string; inLabel?: number }[] }).routes.find((r) => r.prefix === '10.255.0.1/32')?.inLabel, 400001, 'our in-label for FRR\'s SID: our SRGB 400000 + 1');
  assert.match((await show(['show', 'isis', 'spf', 'log'])).text, /Level|2 /);
  const stats = (await show(['show', 'isis', 'statistics'])).data as { received: Record<string, number>; sent: Record<string, number> };
  assert.ok((stats.received['l2-lsp'] ?? 0) > 0 && (stats.sent['p2p-hello'] ?? 0) > 0);
  await assert.rejects(show(['show', 'isis', 'database'], ['bogus']), /unknown argument 'bogus'/);

  // FRR's port goes down (the veth loses carrier on cnr's side too: the frame port reports the link down): the adjacency and routes go
  must('ip', ['-n', nsFrr, 'link', 'set', ifFrr, 'down']);
  await waitFor('cnr adjacency gone', () => inst().cx.circuits.get(ifCnr)?.p2p?.state !== 'up', 20_000);
  await waitFor('cnr routes withdrawn', () => rib.get('inet.0', '10.255.0.1/32') === undefined, 10_000);
  must('ip', ['-n', nsFrr, 'link', 'set', ifFrr, 'up']);
  await waitFor('cnr adjacency back Up', () => inst().cx.circuits.get(ifCnr)?.p2p?.state === 'up', 25_000);
  await waitFor('cnr route back', () => rib.get('inet.0', '10.255.0.1/32'), 15_000);

  // cnr stops advertising its IPv6 loopback: a new LSP, and FRR's route goes
  await isis.consumer.apply(cnrConfig(false), {});
  await waitFor('FRR drops cnr\'s IPv6 loopback', () => {
    const out = vtysh('show isis route');
    return out !== '' && !/2001:db8:ff::2\/128/.test(out);
  }, 15_000);

  // cnr's node SID changes from index 2 to 7: FRR's label for it follows (its SRGB 16000 + 7)
  await isis.consumer.apply(cnrConfig(false, 7), {});
  await waitFor('FRR uses cnr\'s new SID', () => /10\.255\.0\.2\/32\s.*\s7\s+Pop\(16007\)/.test(vtysh('show isis route prefix-sid')), 15_000);

  // FRR stops advertising its loopback (FRR 8.4 sends no purge when its instance is removed,
  // so purges are tested in the scenarios): a new LSP without it, and cnr's route goes
  frr.push(['interface lo', ' no ip router isis 1', '!']);
  await waitFor('cnr\'s route to FRR withdrawn', () => rib.get('inet.0', '10.255.0.1/32') === undefined, 10_000);
});
