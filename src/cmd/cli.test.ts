import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Controller } from '../controller/controller.js';
import { MgmtClient } from '../controller/mgmt/client.js';
import type { OperationalCommand } from '../controller/types.js';
import { Shell, splitScript } from './cli.js';

const BIN = fileURLToPath(new URL('../../../bin/cnr', import.meta.url));
let dir = '';
let ctl: Controller;

const routes: OperationalCommand = { path: ['show', 'route'], help: 'Show the routing tables', run: async () => ({ text: 'inet.0: 0 destinations\n' }) };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), `cnr-cli-${process.pid}-`));
  ctl = new Controller({ stateDir: dir, commands: [routes], log: () => {} });
  await ctl.start();
});

after(async () => {
  await ctl.stop();
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, 'cli', '--state-dir', dir, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out, err });
    });
    p.stdin.end(stdin);
  });
}

test('splitScript keeps quoted semicolons', () => {
  assert.deepEqual(splitScript('configure; set system host-name a; commit comment "a; b";'), ['configure', 'set system host-name a', 'commit comment "a; b"']);
});

test('cnr cli -c runs a script and exits 0, or non-zero with the error on stderr', async () => {
  let r = await cli(['-c', 'configure private; set system host-name r1; set interfaces eth1 unit 0 family inet address 10.0.0.1/24; show | compare; commit comment "from -c"; exit; show configuration | display set; show route']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /\[edit\]\n\+ {3}system \{\n\+ {7}host-name r1;/);
  assert.match(r.out, /commit complete/);
  assert.match(r.out, /set interfaces eth1 unit 0 family inet address 10\.0\.0\.1\/24\n/);
  assert.match(r.out, /inet\.0: 0 destinations/);
  r = await cli(['-c', 'configure; set interfaces eth1 mtu 5; commit']);
  assert.equal(r.code, 1);
  assert.match(r.err, /error: interfaces eth1 mtu: 5 is out of range \(68\.\.16000\)/);
  assert.doesNotMatch(r.out, /commit complete/);
  r = await cli(['-c', 'show configuration system']);
  assert.equal(r.out, 'host-name r1;\n');
  const bad = await cli(['--state-dir', join(dir, 'nowhere'), '-c', 'show route']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /cannot read the management token/);
});

test('interactive cnr cli driven through stdin: modes, private session, edit levels, ? help, commit', async () => {
  const script = [
    'show ?',
    'configure private',
    'set interfaces ?',
    'set interfaces eth2 mtu 1400',
    'edit protocols bgp group fabric',
    'set type external',
    'set peer-as 65002',
    'set neighbor 10.0.0.2',
    'show',
    'top',
    'show | compare',
    'commit comment "interactive"',
    'exit',
    'show configuration protocols | display set',
    'show system commit | match interactive',
    'exit',
    'show route',
  ].join('\n');
  const r = await cli([], `${script}\n`);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /Possible completions:\n {2}configuration {12}Show the running configuration[^\n]*\n {2}system {19}system commit, system memory, system storage, system uptime\n {2}version {18}Host name[^\n]*\n {2}chassis {18}chassis routing-engine, chassis hardware\n {2}route {20}Show the routing tables\n/);
  assert.match(r.out, /Possible completions:\n {2}<interface-name>/);
  assert.match(r.out, /\[edit protocols bgp group fabric\]\n/);
  assert.match(r.out, /peer-as 65002;\ntype external;\nneighbor 10\.0\.0\.2;\n/);
  assert.match(r.out, /\[edit interfaces\]\n\+ {3}eth2 \{\n\+ {7}mtu 1400;\n\+ {3}\}\n\[edit\]\n\+ {3}protocols \{\n/);
  assert.match(r.out, /commit complete\nExiting configuration mode\n/);
  assert.match(r.out, /set protocols bgp group fabric peer-as 65002\nset protocols bgp group fabric type external\nset protocols bgp group fabric neighbor 10\.0\.0\.2\n/);
  assert.match(r.out, /interactive/);
  assert.doesNotMatch(r.out, /inet\.0: 0 destinations/, 'the shell ended at exit');
});

test('completion and help come from the schema and the registered commands', async () => {
  const sh = new Shell(MgmtClient.fromStateDir(dir), process.stdout, process.stderr);
  await sh.init();
  assert.deepEqual(sh.complete('sh'), [['show '], 'sh']);
  assert.deepEqual(sh.complete('show r'), [['route '], 'r']);
  assert.deepEqual(sh.complete('show configuration routing-')[0].sort(), ['routing-instances', 'routing-options']);
  await sh.line('configure');
  assert.equal(sh.mode, 'config');
  assert.deepEqual(sh.complete('set protocols bgp group g neighbor 10.0.0.1 hold'), [['hold-time '], 'hold']);
  assert.deepEqual(sh.complete('set routing-instances x instance-type '), [['vrf', 'virtual-router', 'forwarding'], '']);
  assert.deepEqual(sh.complete('set firewall family inet filter f term t then d'), [['discard '], 'd']);
  assert.match(sh.help('set routing-options static route 10.0.0.0/8 ?'), /next-hop {17}Next-hop address; several give equal-cost multipath/);
  assert.match(sh.help('set routing-options static route ?'), /<destination-prefix>/);
  assert.equal(sh.help('set bogus ?'), 'No completions\n');
  // names of existing entries complete too (eth1 and eth2 were committed by the tests above)
  assert.deepEqual(sh.complete('delete interfaces eth')[0].sort(), ['eth1', 'eth2']);
  assert.match(sh.help('delete interfaces ?'), /<interface-name>[^\n]*\n {2}eth1 /);
  await sh.line('exit');
  assert.equal(sh.mode, 'op');
});
