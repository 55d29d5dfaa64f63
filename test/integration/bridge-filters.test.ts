/**
 * Bridge filters with IPv4 fields, on input and output, under `cnr start` (root only;
 * docs/l2.md, docs/filters.md): h1 and h2 on access ports r1 and r2 of bridge domain bd100
 * (one subnet, switched by the vRouter) connect over TCP; `firewall family bridge` terms on
 * ip-protocol, destination-port, ip-source-address and ip-destination-address, applied with
 * `family bridge filter input` on r1 and `filter output` on r2, discard exactly the frames
 * they name (ARP and everything else still pass through their accept term), count per term
 * (`cnr acl --list`), and deleting them restores everything.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsLab, needsRoot } from '../lib/netns.js';
import { cnrBin, startCnr, type StartedCnr } from '../lib/cnr-start.js';
import { tcpConnect, tcpServer } from '../lib/tcp-probe.js';
import type { AclInfo } from '../../src/dataplane/api.js';

const skip = needsRoot();
const lab = new NetnsLab('bfw');
const dir = mkdtempSync(join(tmpdir(), `cnr-bfw-${process.pid}-`));
const INTROSPECT = '127.0.0.1:18085';
const CONFIG = `
set bridge-domains bd100 vlan-id 100
set interfaces r1 unit 0 family bridge interface-mode access
set interfaces r1 unit 0 family bridge vlan-id 100
set interfaces r2 unit 0 family bridge interface-mode access
set interfaces r2 unit 0 family bridge vlan-id 100
`;
let r = '';
let h1 = '';
let h2 = '';
let cnr: StartedCnr;

const connect = (port: number, from?: string) => tcpConnect(lab, h1, '10.100.0.12', port, from ? { from } : {});
const acls = (): AclInfo[] => JSON.parse(lab.run(r, [process.execPath, cnrBin, 'acl', '--list', '--json', '--introspect', INTROSPECT])) as AclInfo[];

async function until(what: () => string, want: string, ms = 10_000): Promise<void> {
  let v = what();
  for (const end = Date.now() + ms; v !== want && Date.now() < end; v = what()) await new Promise((res) => setTimeout(res, 200));
  assert.equal(v, want, cnr.log().slice(-3000));
}

before(async () => {
  if (skip) return;
  ({ router: r, hosts: [h1, h2] } = lab.topology({
    router: 'r',
    hosts: [
      { name: 'h1', routerIf: 'r1', addrs: ['10.100.0.11/24', '10.100.0.13/24'] },
      { name: 'h2', routerIf: 'r2', addrs: ['10.100.0.12/24'] },
    ],
  }));
  cnr = await startCnr(lab, r, dir, CONFIG, INTROSPECT);
  await tcpServer(lab, h2, [5001, 5002, 5003]);
});

after(async () => {
  await lab.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('bridge filters with IP fields discard exactly what they name, on input and output, and go when deleted', { skip, timeout: 60_000 }, async () => {
  // switched before any filter (the first tries also learn the MACs)
  await until(() => [5001, 5002, 5003].map((p) => connect(p)).join(' '), 'ok ok ok');
  const commit = cnr.cli(`configure; ${[
    // r1 input: TCP to 10.100.0.12 port 5003 discarded
    'set firewall family bridge filter in1 term no-5003 from ip-destination-address 10.100.0.12/32',
    'set firewall family bridge filter in1 term no-5003 from ip-protocol tcp',
    'set firewall family bridge filter in1 term no-5003 from destination-port 5003',
    'set firewall family bridge filter in1 term no-5003 then discard',
    'set firewall family bridge filter in1 term rest then accept',
    'set interfaces r1 unit 0 family bridge filter input in1',
    // r2 output: TCP port 5002, and anything from 10.100.0.13, discarded
    'set firewall family bridge filter out2 term no-5002 from ip-protocol tcp',
    'set firewall family bridge filter out2 term no-5002 from destination-port 5002',
    'set firewall family bridge filter out2 term no-5002 then count tcp-5002',
    'set firewall family bridge filter out2 term no-5002 then discard',
    'set firewall family bridge filter out2 term not-13 from ip-source-address 10.100.0.13/32',
    'set firewall family bridge filter out2 term not-13 then discard',
    'set firewall family bridge filter out2 term rest then accept',
    'set interfaces r2 unit 0 family bridge filter output out2',
  ].join('; ')}; commit`);
  assert.match(commit, /commit complete/, commit);
  await until(() => connect(5002), 'timeout');
  assert.equal(connect(5003), 'timeout', 'r1\'s input filter');
  assert.equal(connect(5001), 'ok', 'another port passes both');
  assert.equal(connect(5001, '10.100.0.13'), 'timeout', 'from 10.100.0.13: r2\'s output filter');
  const list = acls();
  const r1 = list.find((a) => a.vif === 'r1' && a.direction === undefined);
  const r2 = list.find((a) => a.vif === 'r2' && a.direction === 'output');
  assert.ok(r1 && r2, JSON.stringify(list));
  const hits = (a: AclInfo) => Object.fromEntries(a.bridge!.map((t) => [t.name, t.hits]));
  assert.ok(hits(r1)['no-5003']! >= 1, JSON.stringify(r1));
  assert.ok(hits(r2)['no-5002']! >= 1 && hits(r2)['not-13']! >= 1 && hits(r2)['rest']! >= 1, JSON.stringify(r2));
  assert.equal(r2.bridge![0]!.count, 'tcp-5002');
  assert.equal(r2.bridge![1]!.srcIp, '10.100.0.13/32');
  const drops = JSON.parse(lab.run(r, [process.execPath, cnrBin, 'dropstats', '--json', '--introspect', INTROSPECT])) as Record<string, number>;
  assert.ok(drops['l2_filter_discard']! >= 1 && drops['l2_filter_out_discard']! >= 2, JSON.stringify(drops));

  // deleted: everything passes again
  assert.match(cnr.cli('configure; delete interfaces r1 unit 0 family bridge filter; delete interfaces r2 unit 0 family bridge filter; delete firewall; commit'), /commit complete/);
  await until(() => [5002, 5003].map((p) => connect(p)).join(' '), 'ok ok');
  assert.equal(connect(5001, '10.100.0.13'), 'ok');
  assert.deepEqual(acls(), []);
});
