/**
 * Syslog to a real collector: rsyslog (Debian rsyslog) listens on a loopback UDP port of
 * this test, parses cnr's RFC 5424 messages and writes their fields to a file; a real `cnr
 * controller` sends to it (`system syslog host 127.0.0.1 port P any info`) and keeps a local
 * file (`system syslog file messages any notice`). Events checked: the daemon's start and
 * stop, a commit with its user and comment, a refused commit; the local file read back with
 * `show log messages`. rsyslogd runs in the foreground with a configuration of this test's
 * own and is stopped by its pid.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cnrAvailable } from './harness/cnr.js';
import { NetconfController } from './netconf-controller.js';

const RSYSLOGD = '/usr/sbin/rsyslogd';
const isRoot = process.getuid?.() === 0;
// CI installs rsyslog (.ci/debian-packages) and runs as root: missing there is a failure
const reason = !cnrAvailable() ? 'cnr is not built' : !existsSync(RSYSLOGD) && !isRoot ? 'rsyslog is not installed' : undefined;
const dir = mkdtempSync(join(tmpdir(), `cnr-rsyslog-${process.pid}-`));
const received = join(dir, 'received.log');
let rsyslog: ChildProcess | undefined;
let ctl: NetconfController | undefined;

/** A UDP port nobody uses now (rsyslog binds it after us). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(r));
  return p;
}

/** Whether a socket is bound to 127.0.0.1:port (read from /proc: probing by binding would race rsyslog). */
function udpPortTaken(port: number): boolean {
  const want = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/udp', 'utf8').split('\n').some((l) => l.trim().split(/\s+/)[1] === want);
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function receivedText(): string {
  return existsSync(received) ? readFileSync(received, 'utf8') : '';
}

before(async () => {
  if (reason) return;
  assert.ok(existsSync(RSYSLOGD), 'rsyslog is not installed');
  const port = await freeUdpPort();
  // one line per message: the fields rsyslog parsed out of it, separated by |
  writeFileSync(
    join(dir, 'rsyslog.conf'),
    `global(workDirectory="${dir}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="${port}")
template(name="fields" type="string" string="%syslogfacility-text%|%syslogseverity-text%|%protocol-version%|%hostname%|%app-name%|%msgid%|%structured-data%|%msg%\\n")
*.* action(type="omfile" file="${received}" template="fields" flushOnTXEnd="on" asyncWriting="off")
`,
  );
  const check = spawnSync(RSYSLOGD, ['-N1', '-f', join(dir, 'rsyslog.conf')], { encoding: 'utf8' });
  assert.equal(check.status, 0, `rsyslog refuses the test's configuration: ${check.stderr}`);
  rsyslog = spawn(RSYSLOGD, ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  rsyslog.stderr!.on('data', (d: Buffer) => (out += d));
  // rsyslog listens once the port is taken
  const end = Date.now() + 10_000;
  while (!udpPortTaken(port) && rsyslog.exitCode === null) {
    if (Date.now() > end) throw new Error(`rsyslogd did not bind 127.0.0.1:${port} within 10 s: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(rsyslog.exitCode, null, `rsyslogd exited: ${out}`);
  ctl = await NetconfController.start('rsyslog', 'syslog-r1', 'alice', 'unused', {
    extra: [`set system syslog host 127.0.0.1 port ${port} any info`, 'set system syslog file messages any notice'],
  });
});

after(async () => {
  await ctl?.stop();
  if (rsyslog && rsyslog.exitCode === null) {
    const exited = new Promise((r) => rsyslog!.once('exit', r));
    rsyslog.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (rsyslog.exitCode === null) rsyslog.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
});

test('rsyslog receives cnr\'s RFC 5424 messages: daemon start and stop, commits with user and comment, a refused commit; show log messages', { skip: reason, timeout: 60_000 }, async () => {
  const fields = (msgid: string) =>
    receivedText()
      .split('\n')
      .map((l) => l.split('|'))
      .filter((f) => f[3] === 'syslog-r1' && f[5] === msgid);
  await until('DAEMON_START', () => fields('DAEMON_START').length > 0);
  const [start] = fields('DAEMON_START');
  assert.deepEqual(start!.slice(0, 6), ['daemon', 'notice', '1', 'syslog-r1', 'cnr', 'DAEMON_START']);
  // the initial configuration's commit is there too
  await until('the initial commit', () => fields('UI_COMMIT').length > 0);
  const r = await ctl!.exec(['configure', 'set system domain-name syslog.example', 'commit comment "for rsyslog"']);
  assert.equal(r.at(-1)!.error, undefined);
  await until('UI_COMMIT with the comment', () => fields('UI_COMMIT').some((f) => f[7]!.includes('for rsyslog')));
  const commit = fields('UI_COMMIT').find((f) => f[7]!.includes('for rsyslog'))!;
  assert.deepEqual(commit.slice(0, 2), ['local7', 'notice']);
  assert.match(commit[6]!, /^\[cnr@32473 seq="\d+" user="interop" comment="for rsyslog"\]$/);
  // a refused commit: a BGP group without the AS it needs
  const bad = await ctl!.exec(['configure', 'delete routing-options autonomous-system', 'commit']);
  assert.notEqual(bad.at(-1)!.error, undefined);
  await until('UI_CONFIGURATION_ERROR', () => fields('UI_CONFIGURATION_ERROR').length > 0);
  assert.deepEqual(fields('UI_CONFIGURATION_ERROR')[0]!.slice(0, 2), ['local7', 'err']);
  // the local file keeps notice and above, read back through the CLI
  const [log] = await ctl!.exec(['show log messages']);
  assert.match(log!.text, /syslog-r1 cnr\[\d+\]: UI_COMMIT: .*commit \d+ by interop: for rsyslog/);
  assert.match(log!.text, /UI_CONFIGURATION_ERROR/);
  assert.doesNotMatch(log!.text, /fib-export/, 'info lines are below the file\'s notice');
  // the daemon's stop reaches the collector before it exits
  await ctl!.terminate();
  await until('DAEMON_STOP', () => fields('DAEMON_STOP').length > 0);
});
