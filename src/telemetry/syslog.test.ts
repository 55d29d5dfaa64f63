// syslog.ts without a network: the events its table finds in cnr's log lines, the filters of
// a destination, the RFC 5424 bytes (golden), and a file destination. The UDP path is proven
// against rsyslog in test/interop/syslog-rsyslog.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classify, formatRfc5424, keeps, Syslog } from './syslog.js';

test('log lines become Junos-style events', () => {
  const c = classify('cnr controller: commit 7 by alice via ssh: fix "the" [route]');
  assert.deepEqual([c.facility, c.severity, c.msgid], ['interactive-commands', 'notice', 'UI_COMMIT']);
  assert.deepEqual(c.data, { seq: '7', user: 'alice', via: 'ssh', comment: 'fix "the" [route]' });
  assert.deepEqual(classify('controller: commit 2 by system: initial configuration').data, { seq: '2', user: 'system', comment: 'initial configuration' });
  assert.equal(classify('controller: commit by bob via netconf refused: bgp: neighbor 10.0.0.1 has no peer-as').msgid, 'UI_CONFIGURATION_ERROR');
  const up = classify('bgp neighbor 192.0.2.2: OpenConfirm -> Established on KeepAliveMsg');
  assert.deepEqual([up.msgid, up.severity, up.data?.to], ['BGP_NEIGHBOR_STATE_CHANGED', 'notice', 'Established']);
  const down = classify('bgp neighbor 192.0.2.2: Established -> Idle on HoldTimer_Expires');
  assert.deepEqual([down.msgid, down.severity, down.data?.from], ['BGP_NEIGHBOR_STATE_CHANGED', 'warning', 'Established']);
  const linkDown = classify('controller: interface eth1: link down');
  assert.deepEqual([linkDown.msgid, linkDown.severity, linkDown.data?.interface], ['SNMP_TRAP_LINK_DOWN', 'warning', 'eth1']);
  assert.equal(classify('controller: interface eth1: link up').msgid, 'SNMP_TRAP_LINK_UP');
  const adjUp = classify('isis: adjacency 0000.0000.0001 on eth1: initializing -> up');
  assert.deepEqual([adjUp.msgid, adjUp.severity, adjUp.data?.interface], ['RPD_ISIS_ADJUP', 'notice', 'eth1']);
  const adjDown = classify('isis: adjacency 0000.0000.0001 on eth1: up -> down (hold time expired)');
  assert.deepEqual([adjDown.msgid, adjDown.severity, adjDown.data?.to], ['RPD_ISIS_ADJDOWN', 'warning', 'down']);
  const drops = classify('vrouter: data plane drops: 8806 in 10 s (881/s; rx_ring_drop 7000, no_route 1501)');
  assert.deepEqual([drops.facility, drops.severity, drops.msgid, drops.data?.rate], ['pfe', 'warning', 'CNR_DATAPLANE_DROPS', '881']);
  assert.equal(classify('cnr controller: running (state /var/lib/cnr, agent 127.0.0.1:50052)').msgid, 'DAEMON_START');
  assert.equal(classify('cnr controller: stopping').msgid, 'DAEMON_STOP');
  assert.deepEqual(Object.values(classify('fib-export: resync complete')).slice(0, 3), ['daemon', 'info', '-']);
});

test('a destination keeps what its filters let through; a named facility wins over any', () => {
  const commit = classify('commit 1 by a');
  const info = classify('fib-export: resync complete');
  assert.equal(keeps({ any: 'info' }, info), true);
  assert.equal(keeps({ any: 'notice' }, info), false);
  assert.equal(keeps({ any: 'notice' }, commit), true);
  assert.equal(keeps({ any: 'any', 'interactive-commands': 'none' }, commit), false);
  assert.equal(keeps({ 'interactive-commands': 'notice' }, info), false);
  assert.equal(keeps({}, commit), false);
});

test('RFC 5424: PRI, version, header fields and escaped structured data', () => {
  const ev = classify('commit 7 by alice: say "hi" [x] \\o/');
  const line = formatRfc5424(ev, { time: new Date('2026-12-06T16:00:00.123Z'), hostName: 'r 1', appName: 'cnr', procId: 42 });
  // local7 (23) * 8 + notice (5) = 189
  assert.equal(line, '<189>1 2026-12-06T16:00:00.123Z r1 cnr 42 UI_COMMIT [cnr@32473 seq="7" user="alice" comment="say \\"hi\\" [x\\] \\\\o/"] commit 7 by alice: say "hi" [x] \\o/');
  assert.match(formatRfc5424(classify('anything'), { time: new Date(0), hostName: '', appName: 'cnr', procId: 1 }), /^<30>1 1970-01-01T00:00:00\.000Z - cnr 1 - - anything$/);
});

test('a file destination: the lines its filter keeps, readable', async () => {
  const dir = mkdtempSync(join(tmpdir(), `cnr-syslog-${process.pid}-`));
  try {
    const s = new Syslog({ logDir: dir, hostName: () => 'r1' });
    s.configure({ hosts: [], files: [{ name: 'messages', filter: { any: 'notice' } }] });
    s.line('commit 3 by alice');
    s.line('fib-export: resync complete');
    await s.close();
    const text = readFileSync(join(dir, 'messages'), 'utf8');
    assert.match(text, /^\S+Z r1 cnr\[\d+\]: UI_COMMIT: commit 3 by alice\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
