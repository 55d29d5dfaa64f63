/**
 * The RIB inside the real controller: configuration committed through the management
 * operation becomes routes (`show route`), reaches the data plane through the agent
 * (`show route forwarding-table`, read back), a commit the RIB refuses changes nothing, and
 * `rollback` takes routes out of the data plane again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller } from '../../src/controller/controller.js';
import { createDataplane, type VRouterDataplane } from '../../src/dataplane/dataplane.js';
import { startVrouter, type Vrouter } from '../../src/agent/vrouter.js';
import type { FibExport } from '../../src/controller/rib/fib-export.js';
import { createRibStack } from '../../src/controller/rib/service.js';

const stateDir = mkdtempSync(join(tmpdir(), `cnr-ribctl-${process.pid}-`));
let dp: VRouterDataplane;
let vr: Vrouter;
let fib: FibExport;
let ctl: Controller;

before(async () => {
  dp = createDataplane({ workers: 0, vhost: false });
  vr = await startVrouter({ dataplane: dp, agentAddress: '127.0.0.1:0', introspect: false, health: false, log: () => {} });
  await dp.start();
  const stack = createRibStack({ agentAddress: `127.0.0.1:${vr.agentPort}`, driverFor: () => 'memory' });
  fib = stack.fib;
  ctl = new Controller({ stateDir, consumers: [stack.service], commands: stack.service.commands(), serve: false, log: () => {} });
  await ctl.start();
  stack.start();
});

after(async () => {
  await ctl?.stop();
  await fib?.stop();
  await vr?.stop();
  await dp?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

async function run(...commands: string[]) {
  const out = await ctl.exec(commands, 'tester');
  const failed = out.find((r) => r.error !== undefined);
  return { out, failed, last: out.at(-1)! };
}

test('a commit becomes routes, FIB entries read back from the agent, and rollback removes them', { timeout: 30_000 }, async () => {
  const c = await run(
    'configure private',
    'set interfaces m1 unit 0 family inet address 10.1.0.1/24',
    'set interfaces m2 unit 0 family inet address 10.2.0.1/24',
    'set routing-options router-id 10.255.0.1',
    'set routing-options static route 192.0.2.0/24 next-hop 10.1.0.2',
    'set routing-options static route 198.51.100.0/24 qualified-next-hop 10.1.0.2 preference 7',
    'set routing-options static route 198.51.100.0/24 qualified-next-hop 10.2.0.2',
    'commit',
  );
  assert.equal(c.failed, undefined, JSON.stringify(c.failed));
  await fib.whenIdle(10_000);

  const show = await run('show route 192.0.2.0/24');
  assert.match(show.last.text, /192\.0\.2\.0\/24\s+\*\[Static\/5\][^\n]*\n\s+> to 10\.1\.0\.2 via m1/);
  const ext = await run('show route 198.51.100.0/24 exact extensive');
  assert.match(ext.last.text, /Next hop: to 10\.2\.0\.2 via m2, selected/);
  assert.match(ext.last.text, /Inactive reason: Route preference/);
  const sum = await run('show route summary');
  assert.match(sum.last.text, /Router ID: 10\.255\.0\.1/);
  assert.match(sum.last.text, /Static:\s+3 routes,\s+2 active/);
  assert.match(sum.last.text, /Forwarding: agent 127\.0\.0\.1:\d+ in sync, 0 changes pending/);
  // the vRouter's own counts, per VRF and family (its local routes for the interfaces' addresses included)
  const fibCount = /vRouter FIB:\n {2}default: (\d+) inet, (\d+) inet6 routes/.exec(sum.last.text);
  assert.ok(fibCount, sum.last.text);
  assert.equal(Number(fibCount[1]), (await fib.listSomeRoutes('default', 4, 1)).total);
  assert.equal(Number(fibCount[2]), (await fib.listSomeRoutes('default', 6, 1)).total);
  const ft = await run('show route forwarding-table table inet.0');
  assert.match(ft.last.text, /192\.0\.2\.0\/24\s+\d+\s+10\.1\.0\.2 via m1/);
  assert.match(ft.last.text, /198\.51\.100\.0\/24\s+\d+\s+10\.2\.0\.2 via m2/);
  const terse = await run('show interfaces terse');
  assert.match(terse.last.text, /^m1\.0\s+up\s+up\s+inet\s+10\.1\.0\.1\/24$/m);

  // a commit the RIB refuses leaves everything as it was
  const bad = await run('configure private', 'set routing-options static route 203.0.113.0/24 next-hop 2001:db8::1', 'commit');
  assert.match(bad.failed?.error ?? '', /routing-options static route 203\.0\.113\.0\/24: next hop 2001:db8::1 is not IPv4/);
  assert.doesNotMatch((await run('show route table inet.0')).last.text, /203\.0\.113\.0/);

  const add = await run('configure private', 'set routing-options static route 10.9.0.0/16 discard', 'delete routing-options static route 192.0.2.0/24', 'commit');
  assert.equal(add.failed, undefined, JSON.stringify(add.failed));
  await fib.whenIdle(10_000);
  let prefixes = dp.listRoutes('default', 4).map((r) => r.prefix);
  assert.ok(prefixes.includes('10.9.0.0/16') && !prefixes.includes('192.0.2.0/24'), prefixes.join(' '));

  const rb = await run('configure private', 'rollback 1', 'commit');
  assert.equal(rb.failed, undefined, JSON.stringify(rb.failed));
  await fib.whenIdle(10_000);
  prefixes = dp.listRoutes('default', 4).map((r) => r.prefix);
  assert.ok(!prefixes.includes('10.9.0.0/16') && prefixes.includes('192.0.2.0/24'), prefixes.join(' '));
  assert.equal((await run('show route 10.9.0.0/16 exact')).last.text.includes('10.9.0.0/16'), false);
});
