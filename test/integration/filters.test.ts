/**
 * IP firewall filters under `cnr start` (root only; docs/filters.md): hosts h1 and h2 behind
 * vifs r1 and r2 ping and connect over TCP through the vRouter; a committed `firewall family
 * inet|inet6 filter` applied with `filter input|output` blocks exactly what it names (a TCP
 * port, a source address, a protocol's type, IPv4 and IPv6 alike), `then reject` answers
 * with ICMP administratively prohibited (the sender's connect fails at once with
 * EHOSTUNREACH instead of timing out), `show firewall` shows the counters, and deleting the
 * filter restores everything. A term the vRouter cannot match is refused at commit with its
 * statement and reason, leaving the running configuration as it was, and a startup
 * configuration holding one makes `cnr start` exit non-zero saying which.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsLab, needsRoot, numberedHost } from '../lib/netns.js';
import { tcpConnect, tcpServer } from '../lib/tcp-probe.js';
import { cnrBin, startCnr, type StartedCnr } from '../lib/cnr-start.js';

const skip = needsRoot();
const lab = new NetnsLab('fw');
const dir = mkdtempSync(join(tmpdir(), `cnr-fw-${process.pid}-`));
const CONFIG = `
set interfaces r1 unit 0 family inet address 10.1.0.1/24
set interfaces r1 unit 0 family inet6 address 2001:db8:1::1/64
set interfaces r2 unit 0 family inet address 10.2.0.1/24
set interfaces r2 unit 0 family inet6 address 2001:db8:2::1/64
`;
let r = '';
let h1 = '';
let h2 = '';
let cnr: StartedCnr;

const cli = (cmd: string) => cnr.cli(cmd);

/** TCP from h1: 'ok' (connected, answered), 'timeout', or the errno's name. */
const connect = (to: string, port: number, timeoutS = 1.5) => tcpConnect(lab, h1, to, port, { timeoutS });

/** Echo requests from h1 answered. */
function pings(to: string): number {
  const o = lab.run(h1, ['ping', to.includes(':') ? '-6' : '-4', '-n', '-c', '2', '-i', '0.2', '-w', '2', to], { allowFail: true, timeout: 10_000 });
  return Number(/(\d+) received/.exec(o)?.[1] ?? 0);
}

/** Polls `f` (bounded) until it returns true; the last value of `what` in the message. */
async function until(what: () => string, ok: (v: string) => boolean, ms = 10_000): Promise<void> {
  let v = what();
  for (const end = Date.now() + ms; !ok(v) && Date.now() < end; v = what()) await new Promise((res) => setTimeout(res, 200));
  assert.ok(ok(v), `${v}\n${cnr.log().slice(-3000)}`);
}

before(async () => {
  if (skip) return;
  ({ router: r, hosts: [h1, h2] } = lab.topology({ router: 'r', hosts: [numberedHost(1, { addrs: ['10.1.0.2/24', '10.1.0.3/24', '2001:db8:1::2/64'] }), numberedHost(2)] }));
  cnr = await startCnr(lab, r, dir, CONFIG);
  // h2 answers TCP on 5001-5003, IPv4 and IPv6
  await tcpServer(lab, h2, [5001, 5002, 5003]);
});

after(async () => {
  await lab.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('input and output filters block exactly what they name, count it, reject with ICMP, and go when deleted', { skip, timeout: 80_000 }, async () => {
  // before any filter: everything passes (the first packets also resolve the neighbours)
  await until(() => `${pings('10.2.0.2')} ${pings('2001:db8:2::2')}`, (v) => v === '2 2');
  for (const to of ['10.2.0.2', '2001:db8:2::2']) for (const port of [5001, 5002, 5003]) assert.equal(connect(to, port), 'ok', `${to} ${port}`);

  const set = [
    // inet input on r1: TCP 5002 discarded and counted, TCP 5003 rejected, 10.1.0.3 discarded, the rest accepted
    'set firewall family inet filter in4 term no-5002 from protocol tcp',
    'set firewall family inet filter in4 term no-5002 from destination-port 5002',
    'set firewall family inet filter in4 term no-5002 then count blocked-5002',
    'set firewall family inet filter in4 term no-5002 then discard',
    'set firewall family inet filter in4 term no-5003 from destination-port 5003',
    'set firewall family inet filter in4 term no-5003 then reject',
    'set firewall family inet filter in4 term not-dot3 from source-address 10.1.0.0/24',
    'set firewall family inet filter in4 term not-dot3 from source-address 10.1.0.3/32 except',
    'set firewall family inet filter in4 term not-dot3 then count lab',
    'set interfaces r1 unit 0 family inet filter input in4',
    // inet6 input on r1: TCP 5002 discarded
    'set firewall family inet6 filter in6 term no-5002 from protocol tcp',
    'set firewall family inet6 filter in6 term no-5002 from destination-port 5002',
    'set firewall family inet6 filter in6 term no-5002 then discard',
    'set firewall family inet6 filter in6 term rest then accept',
    'set interfaces r1 unit 0 family inet6 filter input in6',
    // inet output on r2: echo requests do not leave toward h2 (replies toward h1 leave r1)
    'set firewall family inet filter out4 term no-echo from icmp-type 8',
    'set firewall family inet filter out4 term no-echo then count echo-out',
    'set firewall family inet filter out4 term no-echo then discard',
    'set firewall family inet filter out4 term rest then accept',
    'set interfaces r2 unit 0 family inet filter output out4',
  ];
  const commit = cli(`configure; ${set.join('; ')}; commit`);
  assert.match(commit, /commit complete/, commit);

  await until(() => connect('10.2.0.2', 5002), (v) => v === 'timeout');
  assert.equal(connect('10.2.0.2', 5001), 'ok', 'another port passes');
  const t0 = Date.now();
  assert.equal(connect('10.2.0.2', 5003, 5), 'EHOSTUNREACH', 'rejected: ICMP administratively prohibited');
  assert.ok(Date.now() - t0 < 4000, 'the rejection came at once, not after the timeout');
  assert.equal(connect('2001:db8:2::2', 5002), 'timeout', 'IPv6 5002 discarded');
  assert.equal(connect('2001:db8:2::2', 5001), 'ok');
  assert.equal(connect('2001:db8:2::2', 5003), 'ok', 'the inet filter does not see IPv6');
  assert.equal(pings('10.2.0.2'), 0, 'echo requests stopped by r2\'s output filter');
  assert.equal(pings('2001:db8:2::2'), 2, 'IPv6 echo passes (no inet6 output filter)');
  assert.equal(pings('10.1.0.1'), 2, 'the router itself still answers: input filters see forwarded packets only');
  // the source: 10.1.0.3 falls in the except prefix, no term matches: the implicit discard
  assert.equal(tcpConnect(lab, h1, '10.2.0.2', 5001, { from: '10.1.0.3' }), 'timeout', 'from 10.1.0.3: discarded');

  const shown = cli('show firewall');
  // Name, Bytes, Packets; a TCP SYN is at least 40 bytes of IP, an echo request 84
  const counter = (name: string) => {
    const m = new RegExp(`^${name}\\s+(\\d+)\\s+(\\d+)$`, 'm').exec(shown);
    assert.ok(m && Number(m[1]) >= 40 * Number(m[2]), `${name}: ${shown}`);
    return Number(m?.[2] ?? -1);
  };
  assert.match(shown, /Filter: in4 \(inet input of r1\)/, shown);
  assert.match(shown, /Filter: out4 \(inet output of r2\)/, shown);
  assert.ok(counter('blocked-5002') >= 1, shown);
  assert.ok(counter('echo-out') >= 2, shown);
  assert.ok(counter('lab') >= 5, shown);
  assert.match(shown, /^no-5003\s+[1-9]\d*\s+[1-9]\d*$/m, shown);
  assert.match(shown, /^\(implicit discard\)\s+[1-9]\d*\s+[1-9]\d*$/m, shown);
  const one = cli('show firewall filter in6');
  assert.match(one, /Filter: in6 \(inet6 input of r1\)/, one);
  assert.doesNotMatch(one, /in4|out4/, one);

  // a changed filter is changed in the vRouter: 5002 allowed, 5001 now blocked
  assert.match(cli('configure; set firewall family inet filter in4 term no-5002 from destination-port 5001; delete firewall family inet filter in4 term no-5002 from destination-port 5002; commit'), /commit complete/);
  await until(() => `${connect('10.2.0.2', 5001)} ${connect('10.2.0.2', 5002)}`, (v) => v === 'timeout ok');

  // deleted: everything passes again, and show firewall says so
  assert.match(cli('configure; delete interfaces r1 unit 0 family inet filter; delete interfaces r1 unit 0 family inet6 filter; delete interfaces r2 unit 0 family inet filter; delete firewall; commit'), /commit complete/);
  await until(() => `${connect('10.2.0.2', 5001)} ${pings('10.2.0.2')}`, (v) => v === 'ok 2');
  for (const port of [5002, 5003]) assert.equal(connect('10.2.0.2', port), 'ok');
  assert.equal(connect('2001:db8:2::2', 5002), 'ok');
  assert.match(cli('show firewall'), /\(no filter applied\)/);
});

test('a match the vRouter cannot do is refused at commit with its statement and reason; at start, the start fails', { skip, timeout: 40_000 }, async () => {
  const before = cli('show configuration');
  const refused = cli('configure; set firewall family inet filter f term t from tcp-flags syn; set firewall family inet filter f term t then discard; set interfaces r1 unit 0 family inet filter input f; commit');
  assert.match(refused, /firewall family inet filter f term t from tcp-flags syn: not supported: the vRouter's filters match no TCP flags/, refused);
  assert.doesNotMatch(refused, /commit complete/);
  assert.equal(cli('show configuration'), before, 'the running configuration is unchanged');
  assert.equal(connect('10.2.0.2', 5001), 'ok');

  // the same statements in a startup configuration: cnr start refuses it and exits non-zero
  const bad = join(dir, 'bad.conf');
  writeFileSync(bad, `${CONFIG}set firewall family inet filter f term t from tcp-flags syn\nset firewall family inet filter f term t then discard\n`);
  const ns = lab.netns('bad');
  const res = spawnSync('ip', ['netns', 'exec', ns, process.execPath, cnrBin, 'start', '--config', bad, '--state-dir', join(dir, 'bad-state'), '--introspect', 'none', '--health', 'none', '--agent-address', '127.0.0.1:0'], { encoding: 'utf8', timeout: 30_000 });
  assert.notEqual(res.status, 0, `${res.stdout}${res.stderr}`);
  assert.match(res.stdout + res.stderr, /tcp-flags syn: not supported/);
});
