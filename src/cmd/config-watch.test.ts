// The configuration file loaded again when it changes, against a real Controller and real
// files: an edit in place, a Kubernetes ConfigMap update (the mounted directory's `..data`
// symlink swapped), what the CLI added elsewhere kept, the change's commit and diff, and a
// refused file that keeps the running configuration and says the line and reason.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller } from '../controller/controller.js';
import { ConfigFileWatch } from './config-watch.js';

const dir = mkdtempSync(join(tmpdir(), `cnr-config-watch-${process.pid}-`));
const logs: string[] = [];
let ctl: Controller;
let watcher: ConfigFileWatch;

/** A ConfigMap volume: router.conf -> ..data/router.conf, ..data -> a timestamped directory. */
const mount = join(dir, 'etc-cnr');
let version = 0;
function publish(text: string): void {
  const ts = `..${++version}_2026_12_06`;
  mkdirSync(join(mount, ts), { recursive: true });
  writeFileSync(join(mount, ts, 'router.conf'), text);
  // kubelet's atomic writer: a new symlink renamed over ..data
  symlinkSync(ts, join(mount, '..data_tmp'));
  renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
}

const FILE1 = ['set system host-name r1', 'set interfaces eth1 unit 0 family inet address 10.0.0.1/24', 'set routing-options static route 198.51.100.0/24 discard', ''].join('\n');

async function until(what: string, ok: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; log:\n${logs.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const running = () => ctl.store.running as Record<string, Record<string, unknown>>;

before(async () => {
  mkdirSync(mount, { recursive: true });
  publish(FILE1);
  symlinkSync('..data/router.conf', join(mount, 'router.conf'));
  const path = join(mount, 'router.conf');
  ctl = new Controller({ stateDir: join(dir, 'state'), serve: false, initialConfig: path, log: (m) => logs.push(m) });
  await ctl.start();
  watcher = new ConfigFileWatch({ store: ctl.store, path, stateDir: join(dir, 'state'), log: (m) => logs.push(m), debounceMs: 100, pollMs: 60_000 });
  await watcher.start();
});

after(async () => {
  watcher?.stop();
  await ctl?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a ConfigMap update is loaded as a commit of its own; what the CLI added outside the file stays', async () => {
  assert.equal(running().system!['host-name'], 'r1');
  // an operator adds an interface (not the file's) and a domain name (inside system, the file's)
  const r = await ctl.exec(['configure', 'set interfaces eth9 unit 0 family inet address 10.9.0.1/24', 'set system domain-name cli.example', 'commit'], 'alice');
  assert.equal(r.at(-1)!.error, undefined);
  publish(['set system host-name r2', 'set interfaces eth1 unit 0 family inet address 10.0.0.1/24', ''].join('\n'));
  await until('host-name r2', () => running().system!['host-name'] === 'r2');
  const cfg = running();
  assert.deepEqual(Object.keys(cfg.interfaces!).sort(), ['eth1', 'eth9'], 'the operator\'s interface stays');
  assert.equal(cfg.system!['domain-name'], undefined, 'system is the file\'s: the file replaced it whole');
  assert.equal(cfg['routing-options'], undefined, 'the static route left the file and the router');
  const [hist] = await ctl.exec(['show system commit']);
  assert.match(hist!.text, /^0 .* by system via config-file\n {4}config file .*router\.conf\n/);
  await until('the diff logged', () => logs.some((l) => /config file .*router\.conf: loaded as commit \d+; changes:\n[\s\S]*- {3}host-name r1;\n\+ {3}host-name r2;/.test(l)));
});

test('an edit in place of the file (its target) is loaded too', async () => {
  const target = join(mount, `..${version}_2026_12_06`, 'router.conf');
  writeFileSync(target, ['set system host-name r3', 'set interfaces eth1 unit 0 family inet address 10.0.0.1/24', ''].join('\n'));
  await until('host-name r3', () => running().system!['host-name'] === 'r3');
});

test('a refused file keeps the running configuration and logs the line and the reason; the next good file loads', async () => {
  const seq = ctl.store.runningSeq;
  publish(['set system host-name r4', 'set interfaces eth1 unit 0 family inet address not-an-address', ''].join('\n'));
  await until('the refusal', () => logs.some((l) => /config file .* refused: line 2: .*not-an-address/.test(l)));
  assert.equal(ctl.store.runningSeq, seq);
  assert.equal(running().system!['host-name'], 'r3');
  // refused by the commit's checks rather than the parser: a static route without a next hop
  publish(['set system host-name r4', 'set routing-options static route 198.51.100.0/24 preference 7', ''].join('\n'));
  await until('the commit refusal', () => logs.some((l) => /config file .* refused: .*needs next-hop/.test(l)));
  assert.equal(ctl.store.runningSeq, seq);
  publish(['set system host-name r5', ''].join('\n'));
  await until('host-name r5', () => running().system!['host-name'] === 'r5');
  // eth1 left the file: gone; eth9 is the operator's: kept
  assert.deepEqual(Object.keys(running().interfaces!), ['eth9']);
  // what the file owns now is recorded for the next load (just after the commit)
  await until('config-file.json', () => readFileSync(join(dir, 'state', 'config-file.json'), 'utf8').includes('"units":[["system"]]'));
});

test('a lock on the configuration binds the file too: the load waits until it is released', async () => {
  const holder = { lockName: 'a test terminal', lockSessionId: 0 };
  ctl.store.locks.lock('candidate', holder);
  try {
    publish(['set system host-name r6', ''].join('\n'));
    await until('the wait', () => logs.some((l) => /config file .* changed; waiting: the candidate configuration is locked by a test terminal/.test(l)));
    assert.equal(running().system!['host-name'], 'r5');
  } finally {
    ctl.store.locks.unlock('candidate', holder);
  }
  await until('host-name r6', () => running().system!['host-name'] === 'r6');
});
