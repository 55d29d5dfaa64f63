/**
 * The node's IGP and static routes in its host kernel (root, needs IS-IS in the tree): two cnr
 * nodes A — B in namespaces, IS-IS between them (test/lib/sr-lab.ts). A's kernel gets B's
 * loopback (an IS-IS route) and A's static routes (IPv4 and IPv6) as `dev vhost0 proto 250`
 * routes, and reaches B's loopback through them (the kernel's ping leaves on vhost0, crosses
 * both vRouters and is answered by B's kernel); nothing else is of protocol 250; a static route
 * deleted and the IS-IS route lost (B stopped) leave the kernel; A stopped leaves no route of
 * protocol 250 behind. (controller/rib/host-routes.ts)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsLab } from '../lib/netns.js';
import { eventually, pingFrom, type CnrNode } from '../lib/cnr-node.js';
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
