/**
 * IS-IS in a whole cnr node as deployed (root only): `cnr start` in a namespace, configured
 * from a file in Junos set form with a NET on lo0, its fabric veth attached to the vRouter;
 * IS-IS's PDUs cross the vRouter's punt channel (the agent's Frames stream) to FRR's isisd on
 * a point-to-point link. The user's commands show the adjacency and the database through the
 * management API (`cnr cli`), and FRR's route to cnr's loopback and cnr's route to FRR's
 * (`show route protocol isis`) are there. Carrier loss: FRR's end of the link set down takes
 * cnr's veth's carrier, which the vRouter reports at once: the adjacency goes well inside its
 * 10 s hold time, `show interfaces terse` says the link is down, the log has the line syslog
 * sends as SNMP_TRAP_LINK_DOWN; all of it comes back with the link.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from './harness/lab.js';
import { Cnr, cnrAvailable } from './harness/cnr.js';
import { must, waitFor } from './harness/proc.js';
import { isisSkip, startFrrIsisd, type FrrIsisd } from './isis-lab.js';

const skip = isisSkip || (!cnrAvailable() ? 'cnr is not built' : false);
if (skip) console.log(`# isis-cnr-node interop skipped: ${skip}`);

let lab: Lab;
let cnr: Cnr;
let frr: FrrIsisd;
let frrIf = '';
let cnrIf = '';
let nsFrr = '';

before(async () => {
  if (skip) return;
  lab = new Lab('isno');
  nsFrr = lab.ns('frr');
  const nsCnr = lab.ns('cnr');
  const link = lab.link(nsFrr, nsCnr, { a4: '10.79.0.1/30' });
  frrIf = link.ifA;
  cnrIf = link.ifB;
  must('ip', ['-n', nsFrr, 'addr', 'add', '10.255.0.1/32', 'dev', 'lo']);
  frr = await startFrrIsisd(lab, nsFrr, 'frr1', [
    // a 10 s hold time (1 s hellos x 10): the carrier test tells a reported link loss from a hold timer
    `interface ${link.ifA}`, ' ip router isis 1', ' isis network point-to-point', ' isis hello-interval 1', ' isis hello-multiplier 10', '!',
    'interface lo', ' ip router isis 1', ' isis passive', '!',
    'router isis 1', ' net 49.0001.0000.0000.0001.00', ' is-type level-2-only', ' metric-style wide', ' lsp-gen-interval 1', '!',
  ]);
  cnr = await Cnr.start(lab, nsCnr, 'isis', {
    asn: 65000,
    routerId: '10.255.0.2',
    neighbors: [],
    interfaces: [{ name: link.ifB, addresses: ['10.79.0.2/30'] }],
    extra: [
      'set interfaces lo0 unit 0 family inet address 10.255.0.2/32',
      'set interfaces lo0 unit 0 family iso address 49.0001.0000.0000.0002.00',
      `set interfaces ${link.ifB} unit 0 family iso`,
      `set protocols isis interface ${link.ifB} point-to-point`,
      `set protocols isis interface ${link.ifB} hello-interval 1`,
      'set protocols isis interface lo0.0 passive',
      'set protocols isis level 1 disable',
    ],
  }, 30_000, { vrouter: true, vhost: true, introspect: '127.0.0.1:18087' });
});

after(async () => {
  if (lab) await lab.close();
});

test('cnr start runs IS-IS from its configuration through the vRouter: adjacency with FRR, routes both ways, show isis commands over the management API', { skip, timeout: 85_000 }, async () => {
  await waitFor('cnr shows the adjacency Up', async () => /frr1\s+2 Up/.test(await cnr.cli('show isis adjacency')), 30_000, 500);
  await waitFor('FRR\'s route to cnr\'s loopback', () => /10\.255\.0\.2\/32/.test(frr.vtysh('show isis route')), 20_000);
  await waitFor('cnr\'s route to FRR\'s loopback', async () => /10\.255\.0\.1\/32/.test(await cnr.cli('show route protocol isis')), 20_000, 500);
  const db = await cnr.cli('show isis database');
  assert.match(db, /frr1\.00-00/);
  assert.match(db, /cnr-interop\.00-00/, 'its own LSP, named by the host name (TLV 137)');
});

test('carrier loss: the vRouter reports the link down at once, IS-IS drops the adjacency (hold time 10 s), show interfaces terse and the log say so; all back with the link', { skip, timeout: 85_000 }, async () => {
  await waitFor('cnr shows the adjacency Up', async () => /frr1\s+2 Up/.test(await cnr.cli('show isis adjacency')), 30_000, 500);
  const terseLine = async () => (await cnr.cli('show interfaces terse')).split('\n').find((l) => l.startsWith(`${cnrIf} `) || l.startsWith(`${cnrIf}.`)) ?? '';
  assert.match(await terseLine(), /\bup\s+up\b/, 'admin up, link up');
  const cut = Date.now();
  must('ip', ['-n', nsFrr, 'link', 'set', frrIf, 'down']);
  try {
    await waitFor('cnr drops the adjacency', async () => !/frr1\s+2 Up/.test(await cnr.cli('show isis adjacency')), 5000, 100);
    const tookMs = Date.now() - cut;
    console.log(`# adjacency gone ${tookMs} ms after the peer's link went down (hold time 10 s)`);
    assert.ok(tookMs < 5000, `${tookMs} ms`);
    assert.match(await terseLine(), /\bup\s+down\b/, 'admin up, link down');
    await waitFor('the link-down line (syslog SNMP_TRAP_LINK_DOWN)', () => new RegExp(`interface ${cnrIf}: link down`).test(cnr.daemon.output()), 5000, 100);
    await waitFor('cnr withdraws FRR\'s loopback', async () => !/10\.255\.0\.1\/32/.test(await cnr.cli('show route protocol isis')), 5000, 200);
  } finally {
    must('ip', ['-n', nsFrr, 'link', 'set', frrIf, 'up']);
  }
  await waitFor('the adjacency back Up', async () => /frr1\s+2 Up/.test(await cnr.cli('show isis adjacency')), 30_000, 500);
  assert.match(await terseLine(), /\bup\s+up\b/);
  assert.match(cnr.daemon.output(), new RegExp(`interface ${cnrIf}: link up`));
  await waitFor('cnr\'s route to FRR\'s loopback again', async () => /10\.255\.0\.1\/32/.test(await cnr.cli('show route protocol isis')), 20_000, 500);
});
