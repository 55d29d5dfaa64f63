/**
 * The vRouter (`cnr vrouter`, AF_PACKET on veths) and a controller, each a process in the
 * router's namespace, between two host namespaces. IPv4 and IPv6 static routes from the
 * configuration forward pings (next hops resolved by ARP and NDP). An IPv4 static route
 * carries a 100 pps ping while the controller is killed and started again (with one route
 * fewer) and while the agent's gRPC server restarts (SIGHUP): no ping is lost, and only the
 * route that was not replayed is removed from the data plane.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { NetnsLab, needsRoot, numberedHost, ping, stopChild, waitForLine } from '../lib/netns.js';

const skip = needsRoot();
const lab = new NetnsLab('agns');
const cnrBin = fileURLToPath(new URL('../../../bin/cnr', import.meta.url));
const controllerChild = fileURLToPath(new URL('./agent-controller-child.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), `cnr-agns-${process.pid}-`));
const AGENT = '127.0.0.1:50052';
const CONFIG = `
set interfaces r1 unit 0 family inet address 10.1.0.1/24
set interfaces r1 unit 0 family inet6 address 2001:db8:1::1/64
set interfaces r2 unit 0 family inet address 10.2.0.1/24
set interfaces r2 unit 0 family inet6 address 2001:db8:2::1/64
set routing-options static route 10.20.0.0/24 next-hop 10.2.0.2
set routing-options rib inet6.0 static route 2001:db8:20::/64 next-hop 2001:db8:2::2
set routing-options static route 10.30.0.0/24 discard
`;
let h1 = '';
let r = '';
let vrouter: ChildProcess | undefined;

function startController(text: string): ChildProcess {
  const file = join(dir, `config-${Date.now()}.set`);
  writeFileSync(file, text);
  return lab.spawn(r, [process.execPath, controllerChild, AGENT, file]);
}

function fetchInNs(url: string): string {
  return lab.run(r, [process.execPath, '-e', `fetch(${JSON.stringify(url)}).then(r=>r.text()).then(t=>process.stdout.write(t))`]);
}

function routes(): string[] {
  return (JSON.parse(fetchInNs('http://127.0.0.1:8085/rt?vrf=default&family=inet')) as { prefix: string }[]).map((x) => x.prefix);
}

before(async () => {
  if (skip) return;
  ({ router: r, hosts: [h1] } = lab.topology({ router: 'r', hosts: [numberedHost(1), numberedHost(2, { loopback: ['10.20.0.2/32', '2001:db8:20::2/128'] })] }));
  for (const ifname of ['r1', 'r2']) lab.run(r, ['ethtool', '-K', ifname, 'tx', 'off', 'tso', 'off', 'gso', 'off'], { allowFail: true });
  vrouter = lab.spawn(r, [process.execPath, cnrBin, 'vrouter', '--no-vhost', '--agent-address', AGENT, '--introspect', '127.0.0.1:8085', '--health', '127.0.0.1:9091']);
  await waitForLine(vrouter, /agent on port 50052/, 20_000);
});

after(async () => {
  await lab.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('static routes from the controller forward pings; restarts on either side lose none', { skip, timeout: 80_000 }, async () => {
  let controller = startController(CONFIG);
  await waitForLine(controller, /^synced 0/, 20_000);
  assert.deepEqual(routes().filter((p) => p.startsWith('10.20.') || p.startsWith('10.30.')).sort(), ['10.20.0.0/24', '10.30.0.0/24']);
  const warm = ping(lab, h1, '10.20.0.2', { count: 3, deadlineS: 5 });
  assert.ok(warm.received >= 3, warm.output); // ping -c 3 may count a 4th reply that arrived with the 3rd
  ping(lab, h1, '2001:db8:20::2', { count: 1, deadlineS: 3 }); // NDP settles
  const six = ping(lab, h1, '2001:db8:20::2', { count: 3, deadlineS: 5 });
  assert.equal(six.received, 3, `IPv6 static route through NDP: ${six.output}`);
  const health = JSON.parse(fetchInNs('http://127.0.0.1:9091/healthz')) as { status: string; programmed: { routes: number } };
  assert.equal(health.status, 'ok');
  assert.ok(health.programmed.routes >= 4, JSON.stringify(health));

  // 100 pings a second for ~7 s while both sides restart
  const pinger = lab.spawn(h1, ['ping', '-n', '-i', '0.01', '-c', '700', '-W', '1', '10.20.0.2']);
  let out = '';
  pinger.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const pingDone = new Promise<void>((resolve) => pinger.once('exit', () => resolve()));
  await sleep(1000);
  process.kill(controller.pid!, 'SIGKILL'); // the controller dies without a word
  await sleep(1000);
  controller = startController(CONFIG.replace('set routing-options static route 10.30.0.0/24 discard\n', ''));
  await waitForLine(controller, /^synced 0/, 20_000);
  assert.ok(!routes().includes('10.30.0.0/24'), 'the route that was not replayed is swept');
  assert.ok(routes().includes('10.20.0.0/24'));
  process.kill(vrouter!.pid!, 'SIGHUP'); // the agent's gRPC server restarts, the data plane stays
  await waitForLine(controller, /^synced [1-9]/, 20_000);
  assert.ok(routes().includes('10.20.0.0/24'));
  await Promise.race([pingDone, sleep(20_000)]);
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  assert.ok(m, out.slice(-500));
  assert.equal(Number(m[1]), 700);
  assert.equal(Number(m[2]), 700, `no ping lost: ${m[0]}`);
  await stopChild(controller, 3000);
});

function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}
