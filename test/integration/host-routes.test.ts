/**
 * The node's IGP and static routes in its host kernel (root, needs IS-IS in the tree): two cnr
 * nodes A — B in namespaces, IS-IS between them (test/lib/sr-lab.ts). A's kernel gets B's
 * loopback (an IS-IS route) and A's static routes (IPv4 and IPv6) as `dev vhost0 proto 250`
 * routes, and reaches B's loopback through them (the kernel's ping leaves on vhost0, crosses
 * both vRouters and is answered by B's kernel); nothing else is of protocol 250; a static route
 * deleted and the IS-IS route lost (B stopped) leave the kernel; A stopped leaves no route of
 * protocol 250 behind. Then the Kubernetes layout, `cnr controller` beside `cnr vrouter` in
 * one namespace: a static route on the vRouter's vhost0, back after the vRouter restarts (a new
 * vhost0), flushed when the controller stops. (controller/rib/host-routes.ts)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsLab, needsRoot, numberedHost, waitForLine } from '../lib/netns.js';
import { cnrBin, eventually, pingFrom, type CnrNode } from '../lib/cnr-node.js';
import { srConfig, srSkip, startSrNodes, stopSrNodes, type SrNodePlan } from '../lib/sr-lab.js';

const skip = srSkip('host-routes');

const STATICS = [
  'set routing-options static route 10.50.0.0/24 next-hop 10.0.12.2',
  'set routing-options rib inet6.0 static route 2001:db8:50::/64 discard',
];

describe('IS-IS and static routes in the host kernel via vhost0', { skip: skip || undefined, timeout: 80_000 }, () => {
  const lab = new NetnsLab('hrt');
  const dir = mkdtempSync(join(tmpdir(), `cnr-hrt-${process.pid}-`));
  const nodes = new Map<string, CnrNode>();
  const ns: Record<string, string> = {};
  const kernel = (fam: '-4' | '-6') => lab.run(ns['A']!, ['ip', fam, 'route', 'show', 'proto', '250', 'dev', 'vhost0'], { allowFail: true });

  before(async () => {
    ns['A'] = lab.netns('a');
    ns['B'] = lab.netns('b');
    lab.veth(ns['A'], 'a1', ns['B'], 'b1');
    const plans: SrNodePlan[] = [
      { name: 'A', n: 1, srgb: 400000, ifs: [['a1', '10.0.12.1/30', 'p2p']], extra: STATICS },
      { name: 'B', n: 2, srgb: 500000, ifs: [['b1', '10.0.12.2/30', 'p2p']] },
    ];
    assert.match(srConfig(plans[0]!), /static route 10\.50\.0\.0\/24/);
    await startSrNodes(lab, dir, plans, ns, nodes);
  }, { timeout: 60_000 });

  after(async () => {
    await stopSrNodes(nodes, lab, dir);
  });

  test('IS-IS and static routes appear as dev vhost0 proto 250; the kernel reaches the remote loopback through them', async () => {
    await eventually('B\'s loopback in A\'s kernel', 30_000, () => kernel('-4').includes('10.255.0.2 '));
    assert.match(kernel('-4'), /^10\.50\.0\.0\/24 /m, 'the IPv4 static route');
    await eventually('the IPv6 static route in A\'s kernel', 5_000, () => kernel('-6').includes('2001:db8:50::/64'));
    // nothing else: connected subnets and the node's addresses are the agent's, not protocol 250
    assert.doesNotMatch(kernel('-4'), /10\.0\.12\.0\/30|10\.255\.0\.1 /);
    // A's kernel pings B's loopback (source: an address on vhost0), answered by B's kernel
    await eventually('A\'s kernel pings 10.255.0.2', 15_000, () => pingFrom(ns['A']!, '10.255.0.2'));
    // no gateway: the kernel asked ARP for the destination itself on vhost0, and the vRouter answered
    assert.match(lab.run(ns['A']!, ['ip', 'neigh', 'show', '10.255.0.2', 'dev', 'vhost0']), /lladdr [0-9a-f:]{17}/);
    // no gateway: the kernel asked ARP for the destination itself on vhost0, and the vRouter answered
    assert.match(lab.run(ns['A']!, ['ip', 'neigh', 'show', '10.255.0.2', 'dev', 'vhost0']), /lladdr [0-9a-f:]{17}/);
  });

  test('a deleted static route leaves the kernel; the IS-IS route goes when B goes; none is left after stop', async () => {
    nodes.get('A')!.cli('configure private; delete routing-options static route 10.50.0.0/24; commit');
    await eventually('the static route out of A\'s kernel', 10_000, () => !kernel('-4').includes('10.50.0.0/24'));
    assert.match(kernel('-4'), /^10\.255\.0\.2 /m, 'the IS-IS route stays');
    await nodes.get('B')!.stop();
    // IS-IS's hold time is 3 s (sr-lab)
    await eventually('B\'s loopback out of A\'s kernel', 20_000, () => !kernel('-4').includes('10.255.0.2'));
    assert.match(kernel('-6'), /2001:db8:50::\/64/, 'the IPv6 static route stays');
    await nodes.get('A')!.stop();
    assert.equal(lab.run(ns['A']!, ['ip', '-4', 'route', 'show', 'proto', '250']).trim(), '');
    assert.equal(lab.run(ns['A']!, ['ip', '-6', 'route', 'show', 'proto', '250']).trim(), '');
  });
});

/** `cnr vrouter` in `ns` with vhost0, its agent on `port`; resolves once it listens. */
async function startVrouter(lab: NetnsLab, ns: string, port: number): Promise<ChildProcess> {
  const vr = lab.spawn(ns, [process.execPath, cnrBin, 'vrouter', '--agent-address', `127.0.0.1:${port}`, '--introspect', 'none', '--health', 'none']);
  await waitForLine(vr, new RegExp(`agent on port ${port}`), 20_000);
  return vr;
}

describe('host routes with cnr controller beside cnr vrouter (host networking)', { skip: needsRoot() || undefined, timeout: 60_000 }, () => {
  const lab = new NetnsLab('hrs');
  const dir = mkdtempSync(join(tmpdir(), `cnr-hrs-${process.pid}-`));
  const port = 50072;
  let r = '';
  let vrouter: ChildProcess | undefined;
  let controller: ChildProcess | undefined;
  const kernel = () => lab.run(r, ['ip', '-4', 'route', 'show', 'proto', '250'], { allowFail: true });

  before(async () => {
    ({ router: r } = lab.topology({ router: 'r', hosts: [numberedHost(1)] }));
    const cfg = join(dir, 'router.set');
    writeFileSync(cfg, 'set interfaces r1 unit 0 family inet address 10.1.0.1/24\nset routing-options static route 10.50.0.0/24 next-hop 10.1.0.2\n');
    vrouter = await startVrouter(lab, r, port);
    controller = lab.spawn(r, [process.execPath, cnrBin, 'controller', '--config', cfg, '--state-dir', join(dir, 'state'), '--agent-address', `127.0.0.1:${port}`, '--metrics', 'none']);
  });

  after(async () => {
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the controller installs the static route on the vRouter\'s vhost0, puts it back when the vRouter restarts, follows its next hop, flushes it at stop', async () => {
    await eventually('10.50.0.0/24 dev vhost0 proto 250', 30_000, () => /^10\.50\.0\.0\/24 dev vhost0 /m.test(kernel()));
    // a restarted vRouter makes vhost0 anew: the kernel dropped the route with the old one
    const old = vrouter!;
    const gone = new Promise((res) => old.once('exit', res));
    old.kill('SIGTERM');
    await gone;
    assert.equal(kernel().trim(), '', 'the route left with vhost0');
    vrouter = await startVrouter(lab, r, port);
    await eventually('the route back on the new vhost0', 20_000, () => /^10\.50\.0\.0\/24 dev vhost0 /m.test(kernel()));
    // the connected subnet is the agent's (protocol boot), deleted as the address goes; the static
    // route, its next hop no longer resolved, leaves too
    await eventually('the agent\'s connected route on the new vhost0', 15_000, () => /dev vhost0/.test(lab.run(r, ['ip', 'route', 'show', '10.1.0.0/24'])));
    lab.run(r, [process.execPath, cnrBin, 'cli', '--state-dir', join(dir, 'state'), '-c', 'configure private; delete interfaces r1 unit 0 family inet; commit']);
    await eventually('10.1.0.0/24 and 10.50.0.0/24 out of the kernel', 15_000, () => lab.run(r, ['ip', 'route', 'show', '10.1.0.0/24']).trim() === '' && kernel().trim() === '');
    lab.run(r, [process.execPath, cnrBin, 'cli', '--state-dir', join(dir, 'state'), '-c', 'configure private; set interfaces r1 unit 0 family inet address 10.1.0.1/24; commit']);
    await eventually('the static route back', 15_000, () => /^10\.50\.0\.0\/24 dev vhost0 /m.test(kernel()));
    const c = controller!;
    const stopped = new Promise((res) => c.once('exit', res));
    c.kill('SIGTERM');
    await stopped;
    assert.equal(kernel().trim(), '', 'nothing of protocol 250 after the controller stopped');
  });
});
