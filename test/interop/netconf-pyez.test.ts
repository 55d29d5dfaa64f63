/**
 * PyEZ (Debian python3-junos-eznc, the Junos automation library) end to end against a real
 * `cnr controller` on loopback: Device.open() with facts, Config.load in set and text form,
 * commit_check, commit with a comment and confirm, rollback, diff, operational RPCs read
 * through PyEZ's own RouteTable view, and dev.cli(). The user logs in with a password from
 * `system login`. The script is netconf-pyez.py beside this file; each of its lines is one
 * check asserted here.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cnrAvailable, repoRoot } from './harness/cnr.js';
import { NetconfController } from './netconf-controller.js';

const PASSWORD = 'pyez secret';
const probe = spawnSync('/usr/bin/python3', ['-c', 'import jnpr.junos'], { encoding: 'utf8' });
const isRoot = process.getuid?.() === 0;
// CI installs python3-junos-eznc (.ci/debian-packages) and runs as root: missing there is a failure
const reason = !cnrAvailable() ? 'cnr is not built' : probe.status !== 0 && !isRoot ? 'python3-junos-eznc is not installed' : undefined;
let ctl: NetconfController | undefined;

before(async () => {
  if (reason) return;
  assert.equal(probe.status, 0, `python3-junos-eznc is not installed: ${probe.stderr}`);
  ctl = await NetconfController.start('pyez', 'pyez-r1', 'alice', PASSWORD);
});

after(async () => {
  await ctl?.stop();
});

test('PyEZ: facts, Config load/commit_check/commit confirm/rollback/diff, RouteTable, RPCs and cli against cnr controller', { skip: reason, timeout: 80_000 }, async () => {
  const r = spawnSync('/usr/bin/python3', [join(repoRoot, 'test', 'interop', 'netconf-pyez.py'), String(ctl!.port), 'alice', PASSWORD], { encoding: 'utf8', timeout: 60_000 });
  const lines = new Map(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => [l.split(' ')[0]!, l.slice(l.indexOf(' ') + 1)]),
  );
  // the script's lines, for whoever reads a failure
  for (const l of r.stdout.trim().split('\n')) console.log(`# pyez: ${l}`);
  assert.equal(r.status, 0, `the PyEZ script failed:\n${r.stdout}\n${r.stderr}\n${ctl!.log()}`);
  assert.match(lines.get('facts')!, /^pyez-r1 \d+\.\d+R\d+ CNR True OK$/);
  assert.match(lines.get('version_info')!, /^\(\d+, \d+\) R$/);
  assert.match(lines.get('diff_set')!, /\+\s+domain-name pyez\.example;/);
  assert.equal(lines.get('commit_check'), 'True');
  assert.equal(lines.get('commit'), 'True');
  assert.equal(lines.get('diff_none'), 'None');
  assert.equal(lines.get('commit_confirm'), 'True');
  assert.equal(lines.get('commit_again'), 'True');
  assert.equal(lines.get('bad_load'), 'refused');
  assert.match(lines.get('rollback_diff')!, /^\[edit routing-options\]\|-\s+static \{\|-\s+route 198\.51\.100\.0\/24 discard;/);
  assert.equal(lines.get('routes'), 'False True', 'the static route was rolled back; the direct route is there');
  assert.equal(lines.get('route_table'), 'True Direct');
  assert.match(lines.get('bgp_summary')!, /^192\.0\.2\.2 (Idle|Connect|Active)$/);
  assert.equal(lines.get('interfaces'), 'eth1');
  assert.equal(lines.get('uptime'), 'True');
  assert.equal(lines.get('cli'), 'True');
  assert.equal(lines.get('get_state'), 'True True True');
  assert.equal(lines.get('get_filtered'), 'True False');
  assert.equal(lines.get('route_summary'), 'inet.0 True');
  // what PyEZ did is in the commit history, as from any other client
  const [hist] = await ctl!.exec(['show system commit']);
  assert.match(hist!.text, /by alice via netconf\n\s+from pyez/);
  assert.match(hist!.text, /confirmed from pyez/);
  const [running] = await ctl!.exec(['show configuration system domain-name']);
  assert.match(running!.text, /pyez\.example/);
  // the CLI's | display xml prints the RPC's elements
  const [xml] = await ctl!.exec(['show route | display xml']);
  assert.match(xml!.text, /<route-information [^>]*>\s*<route-table>\s*<table-name>inet\.0<\/table-name>/);
  assert.match(xml!.text, /<rt-destination>192\.0\.2\.0\/24<\/rt-destination>/);
});
