/**
 * cnr's IS-IS against FRR's isisd on a broadcast (LAN) circuit: the adjacency comes up once
 * each hello lists the other's MAC (ISO 10589 8.4.2); cnr, with the higher priority, is the DIS
 * and originates the pseudonode LSP that both systems' LSPs point to, and sends CSNPs; each
 * side learns the other's loopback over the LAN; with an SRLB, cnr's LSP carries a LAN-Adj-SID
 * naming FRR (RFC 8667 2.2.2), which FRR decodes. Then HMAC-MD5 authentication (RFC 5304) is
 * configured on both: the adjacency holds; a wrong key on FRR's side makes cnr drop and count
 * FRR's PDUs as bad_authentication until the adjacency times out.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from './harness/lab.js';
import { must, waitFor } from './harness/proc.js';
import type { Isis } from '../../src/controller/protocols/isis/index.js';
import type { Rib } from '../../src/controller/rib/rib.js';
import { parseConfig } from '../../src/controller/config/notation.js';
import { isisSkip, startCnrIsis, startFrrIsisd, type FrrIsisd } from './isis-lab.js';

const skip = isisSkip;
if (skip) console.log(`# isis-frr-lan interop skipped: ${skip}`);

let lab: Lab;
let ifFrr: string;
let ifCnr: string;
let frr: FrrIsisd;
let isis: Isis;
let rib: Rib;

function cnrConfig(key?: string) {
  return parseConfig(
    [
      'set system host-name cnr1',
      'set interfaces lo0 unit 0 family inet address 10.255.0.2/32',
      'set interfaces lo0 unit 0 family iso address 49.0001.0000.0000.0002.00',
      `set interfaces ${ifCnr} unit 0 family inet address 10.78.0.2/24`,
      `set interfaces ${ifCnr} unit 0 family iso`,
      `set protocols isis interface ${ifCnr} hello-interval 1`,
      `set protocols isis interface ${ifCnr} level 2 priority 100`,
      'set protocols isis interface lo0.0 passive',
      'set protocols isis level 1 disable',
      // segment routing with an SRLB: cnr's LSP carries a LAN-Adj-SID for FRR (RFC 8667 2.2.2)
      'set protocols isis source-packet-routing srgb start-label 400000 index-range 4096',
      'set protocols isis source-packet-routing srlb start-label 500000 index-range 1000',
      ...(key ? [`set protocols isis level 2 authentication-key ${key}`] : []),
    ].join('\n') + '\n',
    'set',
  );
}

before(async () => {
  if (skip) return;
  lab = new Lab('isla');
  const nsFrr = lab.ns('frr');
  const nsCnr = lab.ns('cnr');
  const link = lab.link(nsFrr, nsCnr, { a4: '10.78.0.1/24', b4: '10.78.0.2/24' });
  ifFrr = link.ifA;
  ifCnr = link.ifB;
  must('ip', ['-n', nsFrr, 'addr', 'add', '10.255.0.1/32', 'dev', 'lo']);
  frr = await startFrrIsisd(lab, nsFrr, 'frr1', [
    `interface ${ifFrr}`, ' ip router isis 1', ' isis hello-interval 1', ' isis csnp-interval 2', '!',
    'interface lo', ' ip router isis 1', ' isis passive', '!',
    'router isis 1', ' net 49.0001.0000.0000.0001.00', ' is-type level-2-only', ' metric-style wide', ' lsp-gen-interval 1', '!',
  ]);
  ({ isis, rib } = startCnrIsis(lab, nsCnr));
  await isis.consumer.apply(cnrConfig(), {});
});

after(async () => {
  if (lab) await lab.close();
});

test('IS-IS with FRR isisd on a LAN: adjacency via IS Neighbors, cnr elected DIS with its pseudonode LSP, routes both ways, HMAC-MD5 authentication', { skip, timeout: 85_000 }, async () => {
  const inst = () => isis.instance()!;
  const circuit = () => inst().cx.circuits.get(ifCnr)!;
  await waitFor('cnr LAN adjacency Up', () => [...circuit().lan.values()].some((a) => a.state === 'up'), 20_000);
  await waitFor('FRR adjacency Up', () => /Up/.test(frr.vtysh('show isis neighbor')), 20_000);
  await waitFor('cnr is DIS (higher priority)', () => circuit().dis.get(2) === `${inst().cx.cfg.systemId}.${circuit().localId.toString(16).padStart(2, '0')}`, 15_000);
  const pn = `cnr1.${circuit().localId.toString(16).padStart(2, '0')}-00`;
  await waitFor(`FRR holds cnr's pseudonode LSP ${pn}`, () => frr.vtysh('show isis database').includes(pn), 15_000);
  const r = await waitFor('cnr route to FRR\'s loopback over the LAN', () => rib.get('inet.0', '10.255.0.1/32'), 15_000);
  assert.deepEqual(r.nexthops.map((h) => [h.gateway, h.interface]), [['10.78.0.1', ifCnr]]);
  await waitFor('FRR route to cnr\'s loopback', () => /10\.255\.0\.2\/32/.test(frr.vtysh('show isis route')), 15_000);
  assert.ok((inst().cx.stats.tx.get('l2-csnp') ?? 0) > 0, 'the DIS sends CSNPs');
  // the LAN-Adj-SID toward FRR, as FRR decodes cnr's LSP
  const adj = [...circuit().lan.values()].find((a) => a.state === 'up')!;
  assert.equal(adj.adjSid, 500000);
  const detail = await waitFor('FRR decodes cnr\'s LAN-Adj-SID', () => {
    const d = frr.vtysh('show isis database detail cnr1.00-00');
    return /Lan-Adjacency-SID|LAN-Adj-SID|LAN Adj-SID/i.test(d) && d.includes('500000') ? d : undefined;
  }, 15_000);
  assert.match(detail, /0000\.0000\.0001|frr1/, 'naming FRR as the neighbour');

  // authentication on both sides (FRR: hello password per interface, domain password for LSPs and SNPs)
  frr.push([`interface ${ifFrr}`, ' isis password md5 s3cret', '!', 'router isis 1', ' domain-password md5 s3cret', '!']);
  await isis.consumer.apply(cnrConfig('s3cret'), {});
  await new Promise((res) => setTimeout(res, 3000));
  assert.ok([...circuit().lan.values()].some((a) => a.state === 'up'), 'adjacency still up with matching keys');
  await waitFor('routes still there', () => rib.get('inet.0', '10.255.0.1/32'), 10_000);
  const before = inst().cx.stats.drops.get('lan-hello: bad_authentication') ?? 0;
  frr.push([`interface ${ifFrr}`, ' isis password md5 wrong', '!']);
  await waitFor('cnr drops FRR\'s hellos as bad_authentication', () => (inst().cx.stats.drops.get('lan-hello: bad_authentication') ?? 0) > before, 10_000);
  await waitFor('adjacency gone after the hold time', () => ![...circuit().lan.values()].some((a) => a.state === 'up'), 40_000);
});
