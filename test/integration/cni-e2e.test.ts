/**
 * cnr-cni end to end: `cnr start` (controller and vRouter in one process) runs in a
 * namespace that plays the node's host namespace, and the plugin is run there exactly as a
 * runtime runs it, for pods in namespaces of their own. Two pods in VRF blue ping each
 * other through the vRouter (IPv4 and IPv6); a pod in VRF red reaches neither; the
 * attachments are in `show configuration` and survive a restart of cnr; DEL leaves no
 * interface, address, route, IPAM allocation or configuration behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachmentNames } from '../../src/cni/names.js';
import { addPod, delPod, type PodAttachment } from '../../src/cni/pod.js';
import { CnrNode, eventually, pingFrom, startJs } from '../lib/cnr-node.js';
import { NetnsLab } from '../lib/netns.js';

const skip =
  process.getuid?.() !== 0
    ? 'needs root (network namespaces)'
    : !existsSync('/usr/lib/cni/host-local')
      ? 'needs containernetworking-plugins in /usr/lib/cni'
      : !existsSync(startJs)
        ? 'cnr start is not built'
        : false;
if (skip) console.log(`# cni-e2e: skipped: ${skip}`);

const tag = `cnie${process.pid}`;
const tmp = mkdtempSync(join(tmpdir(), `${tag}-`));
const lab = new NetnsLab('cnie');
const HOST = lab.name('host');
const PODS = { a: lab.name('a'), b: lab.name('b'), c: lab.name('c'), d: lab.name('d'), e: lab.name('e') } as const;
type Pod = keyof typeof PODS;
const stateDir = join(tmp, 'state');
const node = new CnrNode(HOST, stateDir, join(tmp, 'cnr.set'), tmp);

const CONFIG = `set system host-name cni-e2e
set routing-instances blue instance-type vrf
set routing-instances red instance-type vrf
`;

function netConf(instanceName: string, subnet4: string, subnet6: string): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: `${tag}-${instanceName}`,
    type: 'cnr-cni',
    instanceName,
    stateDir,
    dataDir: join(tmp, 'cni'),
    ipam: { type: 'host-local', dataDir: join(tmp, 'ipam'), ranges: [[{ subnet: subnet4 }], [{ subnet: subnet6 }]] },
  };
}
const BLUE = netConf('blue', '10.81.0.0/24', 'fd00:81::/64');
const RED = netConf('red', '10.82.0.0/24', 'fd00:82::/64');
const podNet: Partial<Record<Pod, Record<string, unknown>>> = { a: BLUE, b: BLUE, c: RED };

/** Runs the plugin in the host namespace, as the runtime on that node would. */
function cni(command: string, pod: Pod, conf = podNet[pod]!) {
  return node.cni(command, { CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=pod-${pod}`, CNI_CONTAINERID: `${tag}-${pod}`, CNI_NETNS: `/var/run/netns/${PODS[pod]}` }, conf);
}
const cli = (command: string) => node.cli(command);
/**
 * The configuration once `ready` holds of it (bounded): ADD and DEL reply on the durable
 * intent, the CNI service's commit follows within milliseconds.
 */
async function shownWhen(ready: (shown: string) => boolean): Promise<string> {
  let shown = '';
  const end = Date.now() + 5000;
  while (!ready((shown = cli('show configuration | display set'))) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return shown;
}
const ping = (from: Pod, to: string, count = 1) => pingFrom(PODS[from], to, count);
const startCnr = () => node.start();
const stopCnr = () => node.stop();

describe('cnr-cni with cnr start', { skip }, () => {
  before(async () => {
    lab.netns('host');
    for (const p of Object.keys(PODS)) lab.netns(p, { loopbackUp: false });
    writeFileSync(join(tmp, 'cnr.set'), CONFIG);
    await startCnr();
  });
  after(async () => {
    await stopCnr();
    await lab.cleanup();
    if (process.env.CNR_KEEP_LOGS !== '1') rmSync(tmp, { recursive: true, force: true });
  });

  test('pods in one VRF reach each other through the vRouter; a pod in another VRF does not', async () => {
    const results = {} as Record<Pod, any>;
    for (const p of ['a', 'b', 'c'] as Pod[]) {
      const r = cni('ADD', p);
      assert.equal(r.status, 0, JSON.stringify(r.out));
      results[p] = r.out;
    }
    const addr = (p: Pod, fam: 4 | 6) => (results[p].ips as { address: string }[]).map((i) => i.address.split('/')[0]!).find((a) => a.includes(':') === (fam === 6))!;
    // the attachments are configuration: shown by the controller, one group per pod
    const shown = await shownWhen((t) => t.includes(`set apply-groups ${attachmentNames(`${tag}-c`, 'eth0').group}`));
    for (const p of ['a', 'b', 'c'] as Pod[]) {
      const n = attachmentNames(`${tag}-${p}`, 'eth0');
      assert.ok(shown.includes(`set apply-groups ${n.group}`), shown);
      assert.ok(shown.includes(`set groups ${n.group} routing-instances ${p === 'c' ? 'red' : 'blue'} interface ${n.hostVeth}`), shown);
      assert.ok(shown.includes(`set groups ${n.group} interfaces ${n.hostVeth} description "cnr-cni e2e/pod-${p} ${tag}-${p} eth0"`), shown);
    }
    // STATUS through the executable while cnr runs
    const status = cni('STATUS', 'a', { ...BLUE, cniVersion: '1.1.0' });
    assert.deepEqual([status.status, status.out], [0, undefined]);
    // the real controller's configuration passes CHECK
    const check = cni('CHECK', 'a', { ...BLUE, prevResult: results.a });
    assert.equal(check.status, 0, JSON.stringify(check.out));
    await eventually('a to ping b over IPv4 through the vRouter', 30_000, () => ping('a', addr('b', 4)));
    assert.ok(ping('b', addr('a', 4), 3), 'b pings a');
    await eventually('a to ping b over IPv6', 20_000, () => ping('a', addr('b', 6)));
    assert.ok(ping('b', addr('a', 6), 3), 'b pings a over IPv6');
    // VRF red has no route to blue's pods, nor blue to red's
    assert.equal(ping('c', addr('a', 4), 2), false, 'red pod reaches a blue pod');
    assert.equal(ping('a', addr('c', 4), 2), false, 'blue pod reaches the red pod');
    assert.equal(ping('c', addr('b', 6), 2), false, 'red pod reaches a blue pod over IPv6');
  });

  test('hosts in the main instance, attached through addPod as `cnr lab` can, reach each other across subnets', async () => {
    const host = (p: 'd' | 'e', n: number): PodAttachment => ({
      containerId: `${tag}-${p}`,
      netns: `/var/run/netns/${PODS[p]}`,
      instanceName: 'default',
      addresses: [
        { address: `10.9${n}.0.2/24`, gateway: `10.9${n}.0.1` },
        { address: `fd00:9${n}::2/64`, gateway: `fd00:9${n}::1` },
      ],
      stateDir,
      dataDir: join(tmp, 'cni'),
      network: `${tag}-lab`,
      hostNetns: HOST,
      cniPath: '/usr/lib/cni',
    });
    const r = await addPod(host('d', 1));
    assert.deepEqual((r.ips as { address: string }[]).map((i) => i.address), ['10.91.0.2/32', 'fd00:91::2/128']);
    await addPod(host('e', 2));
    const shown = await shownWhen((t) => t.includes(`set apply-groups ${attachmentNames(`${tag}-e`, 'eth0').group}`));
    assert.ok(shown.includes(`routing-options static route 10.92.0.2/32 qualified-next-hop 10.92.0.2 interface ${attachmentNames(`${tag}-e`, 'eth0').hostVeth}`), shown);
    await eventually('d to ping e through the main instance', 30_000, () => ping('d', '10.92.0.2'));
    await eventually('d to ping e over IPv6', 20_000, () => ping('d', 'fd00:92::2'));
    assert.equal(ping('d', '10.81.0.2', 2), false, 'the main instance does not reach VRF blue');
    for (const p of ['d', 'e'] as const) {
      await delPod(host(p, p === 'd' ? 1 : 2));
      await delPod(host(p, p === 'd' ? 1 : 2));
    }
    const g = attachmentNames(`${tag}-d`, 'eth0').group;
    assert.ok(!(await shownWhen((t) => !t.includes(g))).includes(g));
  });

  test('the attachments survive a restart of cnr', async () => {
    await stopCnr();
    await startCnr();
    const shown = cli('show configuration | display set');
    assert.ok(shown.includes(`set apply-groups ${attachmentNames(`${tag}-a`, 'eth0').group}`));
    await eventually('a to ping b again after the restart', 30_000, () => ping('a', '10.81.0.3'));
    const b = cni('CHECK', 'b', { ...BLUE, prevResult: undefined });
    assert.equal(b.out.code, 7, 'CHECK without prevResult is refused');
  });

  test('DEL removes every trace and is idempotent', async () => {
    for (const p of ['a', 'b', 'c'] as Pod[]) {
      for (let i = 0; i < 2; i++) {
        const r = cni('DEL', p);
        assert.equal(r.status, 0, JSON.stringify(r.out));
      }
    }
    const shown = await shownWhen((t) => !/set (apply-)?groups cni-/.test(t));
    assert.ok(!/set (apply-)?groups cni-/.test(shown), shown);
    const links = execFileSync('ip', ['-n', HOST, '-o', 'link', 'show'], { encoding: 'utf8' });
    assert.ok(!links.includes(' cnr'), links);
    for (const ns of Object.values(PODS)) {
      assert.equal(execFileSync('ip', ['-n', ns, '-o', 'link', 'show'], { encoding: 'utf8' }).trim().split('\n').length, 1, `${ns} has only lo`);
    }
    const ipamDir = join(tmp, 'ipam');
    for (const net of existsSync(ipamDir) ? readdirSync(ipamDir) : []) {
      assert.deepEqual(readdirSync(join(ipamDir, net)).filter((f) => /^[0-9a-f.:]+$/.test(f)), [], `IPAM ${net}`);
    }
    const routes = cli('show route table blue.inet.0');
    assert.ok(!routes.includes('10.81.0.'), routes);
  });
});
