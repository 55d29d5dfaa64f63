/**
 * cnr-cni with `bridgeDomain` end to end (L2 pods, docs/cni.md, docs/l2.md): `cnr start` runs
 * in a namespace that plays the node's host namespace, with bridge domain bd100 (VLAN 100,
 * IRB irb.100 at 10.100.0.1/24) and an L3 host on a routed port. The plugin, run as a
 * runtime runs it, makes each pod's host side an access port of VLAN 100: a veth pod and a
 * TAP pod with static IPAM, and a pure L2 veth pod without IPAM (its address is the test's);
 * a fourth pod joins bd200 (VLAN 200, IRB irb.200). The pods of VLAN 100 ping each other
 * (switched), the pod of VLAN 200 (routed between the two IRBs) and the L3 host (routed through
 * the IRB); CHECK passes;
 * a wrong vlanId or an unknown domain is refused; a `firewall family bridge` filter on the
 * pure L2 pod's port discards its frames to one pod (not the other), its hits shown by
 * `cnr acl --list`; DEL leaves nothing behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachmentNames } from '../../src/cni/names.js';
import { CnrNode, cnrBin, eventually, pingFrom, startJs } from '../lib/cnr-node.js';
import { NetnsLab } from '../lib/netns.js';

const skip =
  process.getuid?.() !== 0
    ? 'needs root (network namespaces)'
    : !existsSync('/usr/lib/cni/static')
      ? 'needs containernetworking-plugins in /usr/lib/cni'
      : !existsSync('/dev/net/tun')
        ? 'needs /dev/net/tun'
        : !existsSync(startJs)
          ? 'cnr start is not built'
          : false;
if (skip) console.log(`# cni-l2: skipped: ${skip}`);

const tag = `cnil${process.pid}`;
const tmp = mkdtempSync(join(tmpdir(), `${tag}-`));
const lab = new NetnsLab('cnil');
const HOST = lab.name('host');
const PODS = { a: lab.name('a'), b: lab.name('b'), c: lab.name('c'), d: lab.name('d') } as const;
type Pod = keyof typeof PODS;
const node = new CnrNode(HOST, join(tmp, 'state'), join(tmp, 'cnr.set'), tmp);

const CONFIG = `set system host-name cni-l2
set bridge-domains bd100 vlan-id 100
set bridge-domains bd100 routing-interface irb.100
set interfaces irb unit 100 family inet address 10.100.0.1/24
set bridge-domains bd200 vlan-id 200
set bridge-domains bd200 routing-interface irb.200
set interfaces irb unit 200 family inet address 10.200.0.1/24
set interfaces r1 unit 0 family inet address 10.1.0.1/24
`;

function netConf(pod: Pod): Record<string, unknown> {
  const base: Record<string, unknown> = { cniVersion: '1.0.0', name: `${tag}-l2`, type: 'cnr-cni', bridgeDomain: 'bd100', mtu: 1500, stateDir: node.stateDir, dataDir: join(tmp, 'cni') };
  if (pod === 'a') return { ...base, ipam: { type: 'static', addresses: [{ address: '10.100.0.11/24', gateway: '10.100.0.1' }] } };
  if (pod === 'b') return { ...base, interfaceType: 'tap', ipam: { type: 'static', addresses: [{ address: '10.100.0.12/24', gateway: '10.100.0.1' }] } };
  if (pod === 'd') return { ...base, bridgeDomain: 'bd200', ipam: { type: 'static', addresses: [{ address: '10.200.0.14/24', gateway: '10.200.0.1' }] } };
  return { ...base, vlanId: 100 }; // pure L2: no IPAM
}

const cni = (command: string, pod: Pod, conf = netConf(pod)) => node.cni(command, { CNI_CONTAINERID: `${tag}-${pod}`, CNI_NETNS: `/var/run/netns/${PODS[pod]}` }, conf);
const links = (ns: string) => execFileSync('ip', ['-n', ns, '-o', 'link', 'show'], { encoding: 'utf8' });

describe('cnr-cni bridgeDomain (L2 pods) with cnr start', { skip }, () => {
  const results = {} as Record<Pod, any>;

  before(async () => {
    lab.netns('host');
    for (const p of Object.keys(PODS)) lab.netns(p, { loopbackUp: false });
    lab.host(HOST, { name: 'l3', routerIf: 'r1', addrs: ['10.1.0.2/24'], gw: ['10.1.0.1'] });
    writeFileSync(join(tmp, 'cnr.set'), CONFIG);
    await node.start();
  });
  after(async () => {
    await node.stop();
    await lab.cleanup();
    if (process.env.CNR_KEEP_LOGS !== '1') rmSync(tmp, { recursive: true, force: true });
  });

  test('pods join bd100 as access ports: they ping each other, the pod in VLAN 200 and the L3 host through the IRBs', async () => {
    for (const p of ['a', 'b', 'c', 'd'] as Pod[]) {
      const r = cni('ADD', p);
      assert.equal(r.status, 0, `${p}: ${JSON.stringify(r.out)}\n${node.logTail()}`);
      results[p] = r.out;
    }
    // the IPAM address keeps its prefix (the domain's subnet is on link); the pure L2 pod has none
    assert.deepEqual(results.a.ips, [{ address: '10.100.0.11/24', gateway: '10.100.0.1', interface: 1 }]);
    assert.deepEqual(results.c.ips, []);
    execFileSync('ip', ['-n', PODS.c, 'addr', 'add', '10.100.0.13/24', 'dev', 'eth0']);
    execFileSync('ip', ['-n', PODS.c, 'route', 'add', 'default', 'via', '10.100.0.1']);

    const na = attachmentNames(`${tag}-a`, 'eth0');
    const shown = node.cli('show configuration | display set');
    assert.ok(shown.includes(`set groups ${na.group} interfaces ${na.hostVeth} unit 0 family bridge interface-mode access`), shown);
    assert.ok(shown.includes(`set groups ${na.group} interfaces ${na.hostVeth} unit 0 family bridge vlan-id 100`), shown);
    assert.ok(!shown.includes(`${na.group} routing-options`), 'no routes for an L2 pod');

    await eventually('a to ping b (veth to TAP, switched)', 20_000, () => pingFrom(PODS.a, '10.100.0.12'));
    assert.ok(pingFrom(PODS.b, '10.100.0.13', 3), 'b pings the pure L2 pod c');
    assert.ok(pingFrom(PODS.c, '10.100.0.11', 3), 'c pings a');
    await eventually('a to ping the L3 host through the IRB', 20_000, () => pingFrom(PODS.a, '10.1.0.2'));
    assert.ok(pingFrom(PODS.c, '10.1.0.2', 3), 'c reaches the L3 host through the IRB');
    // (the IRB resolves b on the first packet: glean)
    await eventually('b (TAP) to ping the L3 host', 20_000, () => pingFrom(PODS.b, '10.1.0.2'));
    const ttl = execFileSync('ip', ['netns', 'exec', PODS.b, 'ping', '-c', '1', '-W', '2', '10.1.0.2'], { encoding: 'utf8' });
    assert.match(ttl, /ttl=63/, 'routed once, by the IRB');
    // VLAN 100 to VLAN 200: from one IRB to the other
    await eventually('a to ping d (VLAN 200) through the IRBs', 20_000, () => pingFrom(PODS.a, '10.200.0.14'));
    assert.ok(pingFrom(PODS.d, '10.100.0.13', 3), 'd reaches the pure L2 pod c');
    await eventually('d to ping the L3 host through irb.200', 20_000, () => pingFrom(PODS.d, '10.1.0.2'));
    assert.ok(node.cli('show bridge domain bridge-domain bd200').includes(attachmentNames(`${tag}-d`, 'eth0').hostVeth));
    const domain = node.cli('show bridge domain bridge-domain bd100');
    for (const p of ['a', 'b', 'c']) assert.ok(domain.includes(attachmentNames(`${tag}-${p}`, 'eth0').hostVeth), domain);
  });

  test('CHECK passes on an L2 pod; a wrong vlanId, an unknown domain, and instanceName beside bridgeDomain are refused', () => {
    const ok = cni('CHECK', 'a', { ...netConf('a'), prevResult: results.a });
    assert.equal(ok.status, 0, JSON.stringify(ok.out));
    const env = { CNI_CONTAINERID: `${tag}-x`, CNI_NETNS: `/var/run/netns/${PODS.c}`, CNI_IFNAME: 'eth1' };
    const wrongVlan = node.cni('ADD', env, { ...netConf('c'), vlanId: 200 });
    assert.equal(wrongVlan.out?.code, 7, JSON.stringify(wrongVlan.out));
    assert.match(wrongVlan.out.msg, /not the VLAN of bridge domain 'bd100' \(100\)/);
    const unknown = node.cni('ADD', env, { ...netConf('c'), bridgeDomain: 'bd999' });
    assert.equal(unknown.out?.code, 7, JSON.stringify(unknown.out));
    assert.match(unknown.out.msg, /bridge domain 'bd999' is not configured/);
    const both = node.cni('ADD', env, { ...netConf('c'), instanceName: 'blue' });
    assert.equal(both.out?.code, 7, JSON.stringify(both.out));
    // nothing of the refused ADDs was made
    assert.ok(!links(PODS.c).includes('eth1'), links(PODS.c));
  });

  test("a bridge filter on a pod's port (real frames): c no longer reaches a, still reaches b; hits counted", async () => {
    const nc = attachmentNames(`${tag}-c`, 'eth0');
    const aMac = attachmentNames(`${tag}-a`, 'eth0').podMac;
    node.cli(
      [
        'configure private',
        `set firewall family bridge filter podc term arp from ether-type arp`,
        `set firewall family bridge filter podc term arp then accept`,
        `set firewall family bridge filter podc term not-a from destination-mac-address ${aMac}/48`,
        `set firewall family bridge filter podc term not-a then discard`,
        `set firewall family bridge filter podc term not-a then count to-a`,
        `set firewall family bridge filter podc term rest then accept`,
        `set interfaces ${nc.hostVeth} unit 0 family bridge filter input podc`,
        'commit',
      ].join('; '),
    );
    await eventually('c to lose a', 10_000, () => !pingFrom(PODS.c, '10.100.0.11'));
    assert.ok(pingFrom(PODS.c, '10.100.0.12', 3), 'c still reaches b');
    assert.ok(!pingFrom(PODS.c, '10.100.0.11', 2), 'c does not reach a');
    const acl = execFileSync('ip', ['netns', 'exec', HOST, process.execPath, cnrBin, 'acl', '--list', '--json'], { encoding: 'utf8', timeout: 10_000 });
    const mine = (JSON.parse(acl) as { vif: string; bridge?: { name: string; hits: number }[] }[]).find((x) => x.vif === nc.hostVeth);
    assert.ok((mine?.bridge?.find((t) => t.name === 'not-a')?.hits ?? 0) >= 2, acl);
    // (the pod's group keeps its port: only the main configuration's statements go)
    node.cli(['configure private', `delete interfaces ${nc.hostVeth}`, 'delete firewall', 'commit'].join('; '));
    await eventually('c to reach a again', 10_000, () => pingFrom(PODS.c, '10.100.0.11'));
  });

  test('DEL removes the pods from the domain and leaves nothing behind', async () => {
    for (const p of ['a', 'b', 'c', 'd'] as Pod[]) {
      for (let i = 0; i < 2; i++) {
        const r = cni('DEL', p);
        assert.equal(r.status, 0, JSON.stringify(r.out));
      }
    }
    const shown = node.cli('show configuration | display set');
    assert.ok(!/set (apply-)?groups cni-/.test(shown), shown);
    assert.ok(!/^\d+: cnr/m.test(links(HOST)), links(HOST));
    await eventually('the vRouter to close the TAP pod', 5000, () => !links(PODS.b).includes('eth0'));
    for (const ns of Object.values(PODS)) assert.equal(links(ns).trim().split('\n').length, 1, `${ns}: ${links(ns)}`);
    assert.deepEqual(readdirSync(join(tmp, 'cni', `${tag}-l2`)).filter((f) => f.endsWith('.json')), []);
    await eventually('the domains to have no pod port', 5000, () => !node.cli('show bridge domain').includes('cnr'));
  });
});
