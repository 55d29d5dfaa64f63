/**
 * netmiko (Debian python3-netmiko, the screen-scraping library network engineers script
 * CLIs with) drives cnr's CLI over SSH with its `juniper_junos` driver against a real
 * `cnr controller` on loopback: session preparation (`set cli screen-length 0`, `set cli
 * screen-width 511`, prompt detection), `send_command("show route")`, `send_config_set`,
 * `commit(comment=...)`. The script is ssh-netmiko.py beside this file; each of its lines is
 * one check asserted here.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cnrAvailable, repoRoot } from './harness/cnr.js';
import { NetconfController } from './netconf-controller.js';

const PASSWORD = 'netmiko secret';
const probe = spawnSync('/usr/bin/python3', ['-c', 'import netmiko'], { encoding: 'utf8' });
const isRoot = process.getuid?.() === 0;
// CI installs python3-netmiko (.ci/debian-packages) and runs as root: missing there is a failure
const reason = !cnrAvailable() ? 'cnr is not built' : probe.status !== 0 && !isRoot ? 'python3-netmiko is not installed' : undefined;
let ctl: NetconfController | undefined;

before(async () => {
  if (reason) return;
  assert.equal(probe.status, 0, `python3-netmiko is not installed: ${probe.stderr}`);
  ctl = await NetconfController.start('netmiko', 'netmiko-r1', 'alice', PASSWORD, { ssh: true });
});

after(async () => {
  await ctl?.stop();
});

test('netmiko juniper_junos: show route, send_config_set, commit against the SSH CLI of cnr controller', { skip: reason, timeout: 80_000 }, async () => {
  const r = spawnSync('/usr/bin/python3', [join(repoRoot, 'test', 'interop', 'ssh-netmiko.py'), String(ctl!.sshPort), 'alice', PASSWORD], { encoding: 'utf8', timeout: 60_000 });
  for (const l of r.stdout.trim().split('\n')) console.log(`# netmiko: ${l}`);
  assert.equal(r.status, 0, `the netmiko script failed:\n${r.stdout}\n${r.stderr}\n${ctl!.log()}`);
  const lines = new Map(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => [l.split(' ')[0]!, l.slice(l.indexOf(' ') + 1)]),
  );
  assert.equal(lines.get('prompt'), 'alice@netmiko-r1>');
  assert.equal(lines.get('show_route'), 'True True', 'the connected route is shown, the echoed command stripped');
  assert.equal(lines.get('config_set'), 'True');
  assert.equal(lines.get('commit'), 'True');
  assert.equal(lines.get('config_mode_after'), 'False');
  assert.equal(lines.get('running'), 'set routing-options static route 198.51.100.0/24 discard');
  assert.equal(lines.get('count'), 'Count: 1 lines');
  assert.equal(lines.get('history'), 'True');
  assert.equal(lines.get('done'), 'True');
  // what netmiko committed is what any other client reads
  const [running] = await ctl!.exec(['show configuration system domain-name']);
  assert.match(running!.text, /netmiko\.example/);
});
