/**
 * cnr-cni with `interfaceType: tap` end to end: `cnr start` runs in a namespace that plays
 * the node's host namespace; the plugin commits each pod's group with `vrouter driver tap`,
 * the vRouter creates the TAP there, the plugin moves it into the pod as eth0. Two TAP pods
 * in VRF blue ping each other through the vRouter (IPv4 and IPv6), a TAP pod and a veth pod
 * reach each other, CHECK passes, a repeated ADD is refused without harm, and DEL leaves no
 * interface, configuration, record or IPAM allocation behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachmentNames } from '../../src/cni/names.js';
import { CnrNode, eventually, pingFrom, startJs } from '../lib/cnr-node.js';
import { NetnsLab } from '../lib/netns.js';

const skip =
  process.getuid?.() !== 0
    ? 'needs root (network namespaces)'
    : !existsSync('/usr/lib/cni/host-local')
      ? 'needs containernetworking-plugins in /usr/lib/cni'
      : !existsSync('/dev/net/tun')
        ? 'needs /dev/net/tun'
        : !existsSync(startJs)
          ? 'cnr start is not built'
          : false;
if (skip) console.log(`# cni-tap: skipped: ${skip}`);

const tag = `cnit${process.pid}`;
const tmp = mkdtempSync(join(tmpdir(), `${tag}-`));
const lab = new NetnsLab('cnit');
const HOST = lab.name('host');
const PODS = { a: lab.name('a'), b: lab.name('b'), v: lab.name('v') } as const;
/** pods of the concurrency test */
const MANY = Array.from({ length: 8 }, (_, i) => lab.name(`m${i}`));
type Pod = keyof typeof PODS;
const node = new CnrNode(HOST, join(tmp, 'state'), join(tmp, 'cnr.set'), tmp);

function netConf(interfaceType: 'tap' | 'veth'): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: `${tag}-blue`,
    type: 'cnr-cni',
    instanceName: 'blue',
    interfaceType,
    mtu: 1400,
    stateDir: node.stateDir,
    dataDir: join(tmp, 'cni'),
    ipam: { type: 'host-local', dataDir: join(tmp, 'ipam'), ranges: [[{ subnet: '10.83.0.0/24' }], [{ subnet: 'fd00:83::/64' }]] },
  };
}
const TAP = netConf('tap');
const VETH = netConf('veth');
const podNet: Record<Pod, Record<string, unknown>> = { a: TAP, b: TAP, v: VETH };

/** Runs the plugin in the host namespace, as the runtime on that node would. */
function cni(command: string, pod: Pod, conf = podNet[pod]) {
  return node.cni(command, { CNI_CONTAINERID: `${tag}-${pod}`, CNI_NETNS: `/var/run/netns/${PODS[pod]}` }, conf);
}
const cli = (command: string) => node.cli(command);
const ping = (from: Pod, to: string, count = 1) => pingFrom(PODS[from], to, count);

function links(ns: string): string {
  return execFileSync('ip', ['-n', ns, '-o', 'link', 'show'], { encoding: 'utf8' });
}

describe('cnr-cni interfaceType tap with cnr start', { skip }, () => {
  const results = {} as Record<Pod, any>;
  const addr = (p: Pod, fam: 4 | 6) => (results[p].ips as { address: string }[]).map((i) => i.address.split('/')[0]!).find((a) => a.includes(':') === (fam === 6))!;

  before(async () => {
    lab.netns('host');
    for (const p of [...Object.keys(PODS), ...MANY.map((_, i) => `m${i}`)]) lab.netns(p, { loopbackUp: false });
    writeFileSync(join(tmp, 'cnr.set'), 'set system host-name cni-tap\nset routing-instances blue instance-type vrf\n');
    await node.start();
  });
  after(async () => {
    // cnr first: the vRouter closes its TAPs, so none can outlive the namespaces
    await node.stop();
    await lab.cleanup(); // the pods' namespaces, then the host's
    if (process.env.CNR_KEEP_LOGS !== '1') rmSync(tmp, { recursive: true, force: true });
  });

  test('two TAP pods in one VRF ping each other through the vRouter (IPv4 and IPv6)', async () => {
    for (const p of ['a', 'b'] as Pod[]) {
      const t0 = performance.now();
      const r = cni('ADD', p);
      console.log(`tap ADD ${p}: ${(performance.now() - t0).toFixed(0)} ms`);
      assert.equal(r.status, 0, `${JSON.stringify(r.out)}\n${node.logTail()}`);
      results[p] = r.out;
    }
    // the pod's eth0 is the vRouter's TAP, renamed, with the attachment's MAC and the MTU
    const n = attachmentNames(`${tag}-a`, 'eth0');
    const eth0 = JSON.parse(execFileSync('ip', ['-n', PODS.a, '-j', '-d', 'link', 'show', 'eth0'], { encoding: 'utf8' }))[0];
    assert.equal(eth0.linkinfo?.info_kind, 'tun', JSON.stringify(eth0));
    assert.equal(eth0.address, n.podMac);
    assert.equal(eth0.mtu, 1400);
    // the result lists the pod's interface only (a TAP has no host side)
    assert.deepEqual(results.a.interfaces, [{ name: 'eth0', mac: n.podMac, sandbox: `/var/run/netns/${PODS.a}` }]);
    // nothing of it stays in the host namespace; the group asks the vRouter for a TAP
    assert.ok(!links(HOST).includes(' cnr'), links(HOST));
    const shown = cli('show configuration | display set');
    assert.ok(shown.includes(`set groups ${n.group} interfaces ${n.hostVeth} vrouter driver tap`), shown);
    assert.ok(shown.includes(`set groups ${n.group} routing-instances blue interface ${n.hostVeth}`), shown);

    await eventually('a to ping b over IPv4 through the vRouter', 20_000, () => ping('a', addr('b', 4)));
    assert.ok(ping('b', addr('a', 4), 3), 'b pings a');
    await eventually('a to ping b over IPv6', 20_000, () => ping('a', addr('b', 6)));
    assert.ok(ping('b', addr('a', 6), 3), 'b pings a over IPv6');
    // a full-size packet (MTU 1400) crosses unfragmented
    const big = spawnSync('ip', ['netns', 'exec', PODS.a, 'ping', '-c', '1', '-W', '2', '-M', 'do', '-s', '1372', addr('b', 4)], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(big.status, 0, big.stdout + big.stderr);
  });

  test('CHECK passes on a TAP pod and reports one that is down; a second ADD is refused and harmless', async () => {
    const ok = cni('CHECK', 'a', { ...TAP, prevResult: results.a });
    assert.equal(ok.status, 0, JSON.stringify(ok.out));
    const again = cni('ADD', 'a');
    assert.equal(again.status, 1);
    assert.equal(again.out.code, 999, JSON.stringify(again.out));
    assert.ok(ping('a', addr('b', 4), 3), 'a still reaches b after the refused ADD');
    // CHECK reports drift: b's eth0 down
    execFileSync('ip', ['-n', PODS.b, 'link', 'set', 'eth0', 'down']);
    const drift = cni('CHECK', 'b', { ...TAP, prevResult: results.b });
    assert.equal(drift.out?.code, 100, JSON.stringify(drift.out));
    assert.match(drift.out.msg, /eth0 is down/);
    execFileSync('ip', ['-n', PODS.b, 'link', 'set', 'eth0', 'up']);
  });

  test('a TAP pod and a veth pod in the same VRF reach each other', async () => {
    const t0 = performance.now();
    const r = cni('ADD', 'v');
    console.log(`veth ADD v: ${(performance.now() - t0).toFixed(0)} ms`);
    assert.equal(r.status, 0, JSON.stringify(r.out));
    results.v = r.out;
    await eventually('the veth pod to ping the TAP pod', 20_000, () => ping('v', addr('a', 4)));
    assert.ok(ping('a', addr('v', 4), 3), 'the TAP pod pings the veth pod');
    await eventually('the veth pod to ping the TAP pod over IPv6', 20_000, () => ping('v', addr('a', 6)));
    assert.ok(ping('a', addr('v', 6), 3), 'the TAP pod pings the veth pod over IPv6');
  });

  test('a restart of cnr takes the TAP pods\' interfaces with it: CHECK reports it, DEL still cleans up', async () => {
    await node.stop();
    // the vRouter's file descriptors closed: the kernel removed the TAPs from the pods
    assert.ok(!links(PODS.a).includes('eth0'), links(PODS.a));
    await node.start();
    const check = cni('CHECK', 'a', { ...TAP, prevResult: results.a });
    assert.equal(check.out?.code, 100, JSON.stringify(check.out));
    assert.match(check.out.msg, /interface eth0 is missing/);
    // the way back is the runtime's: DEL and ADD again give the pod a new TAP
    assert.equal(cni('DEL', 'a').status, 0);
    const again = cni('ADD', 'a');
    assert.equal(again.status, 0, JSON.stringify(again.out));
    results.a = again.out;
    await eventually('the new TAP pod to reach the veth pod', 20_000, () => ping('a', addr('v', 4)));
  });

  test('GC removes a TAP pod the runtime no longer lists; DEL removes every trace and is idempotent', async () => {
    const gcEnv = { CNI_CONTAINERID: '', CNI_NETNS: '', CNI_IFNAME: '' };
    const valid = ['a', 'v'].map((p) => ({ containerID: `${tag}-${p}`, ifname: 'eth0' }));
    const gc = node.cni('GC', gcEnv, { ...TAP, cniVersion: '1.1.0', 'cni.dev/valid-attachments': valid });
    assert.equal(gc.status, 0, JSON.stringify(gc.out));
    assert.ok(!cli('show configuration | display set').includes(attachmentNames(`${tag}-b`, 'eth0').group));
    await eventually("the vRouter to close b's TAP", 5000, () => !links(PODS.b).includes('eth0'));
    assert.ok(ping('a', addr('v', 4), 3), 'GC left the listed pods alone');
    for (const p of ['a', 'b', 'v'] as Pod[]) {
      for (let i = 0; i < 2; i++) {
        const r = cni('DEL', p);
        assert.equal(r.status, 0, JSON.stringify(r.out));
      }
    }
    const shown = cli('show configuration | display set');
    assert.ok(!/set (apply-)?groups cni-/.test(shown), shown);
    assert.ok(!links(HOST).includes(' cnr'), links(HOST));
    // the vRouter closed the TAPs: the pods have only lo left
    for (const ns of Object.values(PODS)) assert.equal(links(ns).trim().split('\n').length, 1, `${ns}: ${links(ns)}`);
    assert.deepEqual(readdirSync(join(tmp, 'cni', `${tag}-blue`)).filter((f) => f.endsWith('.json')), []);
    const ipamDir = join(tmp, 'ipam', `${tag}-blue`);
    assert.deepEqual(readdirSync(ipamDir).filter((f) => /^[0-9a-f.:]+$/.test(f)), [], 'IPAM allocations');
    const vifs = cli('show route table blue.inet.0');
    assert.ok(!vifs.includes('10.83.0.'), vifs);
  });

  test(`${MANY.length} TAP ADDs at once, then ${MANY.length} DELs at once, leave nothing behind`, async () => {
    const env = (ns: string) => ({ CNI_CONTAINERID: ns, CNI_NETNS: `/var/run/netns/${ns}` });
    const t0 = performance.now();
    const adds = await Promise.all(MANY.map((ns) => node.cniAsync('ADD', env(ns), TAP)));
    console.log(`${MANY.length} concurrent tap ADDs: ${(performance.now() - t0).toFixed(0)} ms`);
    for (const r of adds) assert.equal(r.status, 0, JSON.stringify(r.out));
    for (const ns of MANY) assert.ok(links(ns).includes('eth0'), `${ns}: ${links(ns)}`);
    const first = (adds[0]!.out.ips as { address: string }[])[0]!.address.split('/')[0]!;
    await eventually('the last pod to ping the first', 20_000, () => pingFrom(MANY.at(-1)!, first));
    const dels = await Promise.all(MANY.map((ns) => node.cniAsync('DEL', env(ns), TAP)));
    for (const r of dels) assert.equal(r.status, 0, JSON.stringify(r.out));
    assert.ok(!/set (apply-)?groups cni-/.test(cli('show configuration | display set')));
    assert.ok(!links(HOST).includes(' cnr'), links(HOST));
    for (const ns of MANY) assert.equal(links(ns).trim().split('\n').length, 1, `${ns}: ${links(ns)}`);
    assert.deepEqual(readdirSync(join(tmp, 'ipam', `${tag}-blue`)).filter((f) => /^[0-9a-f.:]+$/.test(f)), [], 'IPAM allocations');
  });
});
