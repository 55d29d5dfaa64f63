/**
 * A configured interface whose netdev does not exist (issue 11, item 6): the commit is
 * accepted, as Junos accepts configuration for absent hardware and as a Kubernetes node needs
 * (pods' veths come and go), and `show interfaces terse` shows it `absent` with the vRouter's
 * reason, beside an interface the vRouter did attach. The real agent and data plane; the
 * present interface is in memory, the absent one is an AF_PACKET attach of a name no netdev
 * has, which needs root to reach the lookup (without it the socket is refused first).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDataplane } from '../../src/dataplane/dataplane.js';
import { startVrouter, type Vrouter } from '../../src/agent/vrouter.js';
import { loadSet } from '../../src/controller/config/notation-set.js';
import { Rib } from '../../src/controller/rib/rib.js';
import { FibExport } from '../../src/controller/rib/fib-export.js';
import { RibService } from '../../src/controller/rib/service.js';

const root = process.getuid?.() === 0;
// a name no netdev of this machine has (IFNAMSIZ: at most 15 characters)
const ABSENT = `cnrabs${process.pid % 1_000_000}`;

let vr: Vrouter | undefined;
let fib: FibExport | undefined;

after(async () => {
  await fib?.stop();
  await vr?.stop();
});

test('a commit naming a netdev that does not exist is accepted and the interface shows absent', { skip: root ? false : 'needs root: opening an AF_PACKET socket', timeout: 30_000 }, async () => {
  const dp = createDataplane({ workers: 0, vhost: false });
  vr = await startVrouter({ dataplane: dp, agentAddress: '127.0.0.1:0', introspect: false, health: false, log: () => {} });
  const rib = new Rib();
  fib = new FibExport(rib, { address: `127.0.0.1:${vr.agentPort}`, backoffMinMs: 20, backoffMaxMs: 200 });
  const svc = new RibService(rib, { fib, driverFor: (n) => (n === 'm1' ? 'memory' : 'af-packet') });
  const cfg = loadSet(`
set interfaces m1 unit 0 family inet address 10.1.0.1/24
set interfaces ${ABSENT} unit 0 family inet address 10.77.0.1/24
`);
  assert.deepEqual(svc.validate(cfg), [], 'the commit is accepted');
  await svc.apply(cfg);
  fib.start();
  await fib.whenIdle(10_000);
  const terse = await svc.showInterfacesTerse();
  assert.match(terse.text, /^Interface\s+Admin\s+Link\s+Proto\s+Local$/m);
  assert.match(terse.text, /^m1\.0\s+up\s+up\s+inet\s+10\.1\.0\.1\/24$/m);
  assert.match(terse.text, new RegExp(`^${ABSENT}\\s+up\\s+absent$`, 'm'));
  assert.match(terse.text, new RegExp(`^${ABSENT}\\.0\\s+up\\s+absent\\s+inet\\s+10\\.77\\.0\\.1/24$`, 'm'));
  const data = terse.data as { interfaces: { name: string; link: string; reason?: string }[] };
  const absent = data.interfaces.find((i) => i.name === ABSENT);
  assert.equal(absent?.link, 'absent');
  assert.match(absent?.reason ?? '', new RegExp(`interface '${ABSENT}' not found`));
  assert.equal(data.interfaces.find((i) => i.name === 'm1')?.reason, undefined);
  // the connected route of the present interface is programmed all the same
  assert.ok(dp.listRoutes('default', 4).some((r) => r.prefix === '10.1.0.0/24'), 'the present interface forwards');
});
