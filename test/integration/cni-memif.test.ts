/**
 * cnr-cni with `interfaceType: memif` end to end: `cnr start` runs in a namespace that plays
 * the node's host namespace; ADD makes the pod's directory under memifDir (named after the
 * Kubernetes pod from CNI_ARGS), commits the group with `vrouter driver memif`, and answers
 * with the socket the vRouter serves there (`socketPath`). A memif client stands in for the
 * pod's DPDK application — the test's own (test/support/memif-client.ts), answering ARP and
 * ping from the address IPAM gave it, since testpmd answers neither (traffic with testpmd
 * itself: memif-dpdk.test.ts) — and a veth pod in the same VRF pings it through the vRouter.
 * CHECK passes, `cnr vif --list` shows the client, DEL removes the vif, the socket and the
 * directory, and the client sees the disconnect.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachmentNames } from '../../src/cni/names.js';
import { CnrNode, cnrBin, eventually, startJs } from '../lib/cnr-node.js';
import { NetnsLab } from '../lib/netns.js';
import { MemifTestClient, answerArpAndPing } from '../support/memif-client.js';
import { parseMac, parseIp } from '../../src/lib/addr.js';

const skip =
  process.getuid?.() !== 0
    ? 'needs root (network namespaces)'
    : !existsSync('/usr/lib/cni/host-local')
      ? 'needs containernetworking-plugins in /usr/lib/cni'
      : !existsSync(startJs)
        ? 'cnr start is not built'
        : false;
if (skip) console.log(`# cni-memif: skipped: ${skip}`);

const tag = `cnim${process.pid}`;
const tmp = mkdtempSync(join(tmpdir(), `${tag}-`));
const memifDir = join(tmp, 'memif');
const lab = new NetnsLab('cnim');
const HOST = lab.name('host');
const PODS = { m: lab.name('m'), v: lab.name('v') } as const;
type Pod = keyof typeof PODS;
const node = new CnrNode(HOST, join(tmp, 'state'), join(tmp, 'cnr.set'), tmp);

function netConf(interfaceType: 'memif' | 'veth'): Record<string, unknown> {
  return {
    cniVersion: '1.1.0',
    name: `${tag}-blue`,
    type: 'cnr-cni',
    instanceName: 'blue',
    interfaceType,
    memifDir,
    stateDir: node.stateDir,
    dataDir: join(tmp, 'cni'),
    ipam: { type: 'host-local', dataDir: join(tmp, 'ipam'), ranges: [[{ subnet: '10.84.0.0/24' }]] },
  };
}
const confs: Record<Pod, Record<string, unknown>> = { m: netConf('memif'), v: netConf('veth') };
const ARGS = 'IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=dpdk-app';

function cni(command: string, pod: Pod, conf = confs[pod]) {
  return node.cni(command, { CNI_CONTAINERID: `${tag}-${pod}`, CNI_NETNS: `/var/run/netns/${PODS[pod]}`, ...(pod === 'm' ? { CNI_ARGS: ARGS } : {}) }, conf);
}

function memifVif(): { name: string; memif?: { state: string; peer: string; socket: string } } | undefined {
  const out = execFileSync('ip', ['netns', 'exec', HOST, process.execPath, cnrBin, 'vif', '--list', '--json'], { encoding: 'utf8', timeout: 15_000 });
  return (JSON.parse(out) as { name: string; memif?: { state: string; peer: string; socket: string } }[]).find((v) => v.memif);
}

/** ping from a pod, without blocking the event loop (the test's client must keep answering meanwhile) */
function pingAsync(ns: string, to: string, count: number): Promise<boolean> {
  return new Promise((res) => {
    execFile('ip', ['netns', 'exec', ns, 'ping', '-c', String(count), '-W', '1', '-i', '0.2', to], { timeout: 15_000 }, (err) => res(!err));
  });
}

describe('cnr-cni interfaceType memif with cnr start', { skip }, () => {
  const results = {} as Record<Pod, any>;
  let client: MemifTestClient | undefined;
  let pump: NodeJS.Timeout | undefined;

  before(async () => {
    lab.netns('host');
    for (const p of Object.keys(PODS)) lab.netns(p, { loopbackUp: false });
    writeFileSync(join(tmp, 'cnr.set'), 'set system host-name cni-memif\nset routing-instances blue instance-type vrf\n');
    await node.start();
  });
  after(async () => {
    if (pump) clearInterval(pump);
    client?.close();
    await node.stop();
    await lab.cleanup();
    if (process.env.CNR_KEEP_LOGS !== '1') rmSync(tmp, { recursive: true, force: true });
  });

  test('ADD serves a memif socket in the pod\'s directory; a veth pod pings the memif pod\'s application', { timeout: 80_000 }, async () => {
    const r = cni('ADD', 'm');
    assert.equal(r.status, 0, `${JSON.stringify(r.out)}\n${node.logTail()}`);
    results.m = r.out;
    const n = attachmentNames(`${tag}-m`, 'eth0');
    const socket = join(memifDir, 'shop', 'dpdk-app', 'eth0.sock');
    assert.deepEqual(r.out.interfaces, [{ name: 'eth0', mac: n.podMac, mtu: 1500, sandbox: `/var/run/netns/${PODS.m}`, socketPath: socket }]);
    assert.ok(existsSync(socket), 'the vRouter serves the socket');
    const shown = node.cli('show configuration | display set');
    assert.ok(shown.includes(`set groups ${n.group} interfaces ${n.hostVeth} vrouter memif socket ${socket}`), shown);
    assert.equal(memifVif()?.memif?.state, 'listening');

    // the pod's application: the address IPAM gave it, the MAC the result names
    const ip = (r.out.ips as { address: string }[])[0]!.address.split('/')[0]!;
    client = new MemifTestClient(socket, { log2: 8 });
    const c = client;
    let connected = false;
    const done = new Promise<void>((res) => {
      pump = setInterval(() => {
        if (!connected) {
          const m = c.recv();
          if (m !== null && m !== 'closed' && m.type === 'hello') {
            c.makeRegion();
            c.send({ type: 'init', version: 0x200, id: 0, mode: 0, secret: '', name: 'pod-app' });
            c.send({ type: 'add-region', index: 0, size: c.regionSize }, [c.regionFd]);
            c.send({ type: 'add-ring', flags: 1, index: 0, region: 0, offset: c.c2s, log2RingSize: 8, privateHdrSize: 0 }, [c.c2sEvent]);
            c.send({ type: 'add-ring', flags: 0, index: 0, region: 0, offset: c.s2c, log2RingSize: 8, privateHdrSize: 0 }, [c.s2cEvent]);
            c.send({ type: 'connect', ifName: 'app0' });
          } else if (m !== null && m !== 'closed' && m.type === 'connected') {
            connected = true;
            res();
          }
          return;
        }
        answerArpAndPing(c, parseMac(n.podMac), parseIp(ip).bytes);
      }, 2);
    });
    await Promise.race([done, new Promise((_, rej) => setTimeout(() => rej(new Error('no connected')), 10_000))]);
    await eventually('the vif to show the client', 10_000, () => memifVif()?.memif?.state === 'connected');
    assert.equal(memifVif()?.memif?.peer, 'pod-app');

    const v = cni('ADD', 'v');
    assert.equal(v.status, 0, JSON.stringify(v.out));
    results.v = v.out;
    let reached = false;
    for (let i = 0; i < 20 && !reached; i++) reached = await pingAsync(PODS.v, ip, 1);
    assert.ok(reached, `the veth pod reaches the memif pod's application\n${node.logTail()}`);
    assert.ok(await pingAsync(PODS.v, ip, 5), 'five in a row');
  });

  test('CHECK passes; DEL removes the vif, the socket and the directory, and the application sees the disconnect', { timeout: 60_000 }, async () => {
    const ok = cni('CHECK', 'm', { ...confs.m, prevResult: results.m });
    assert.equal(ok.status, 0, JSON.stringify(ok.out));
    const del = cni('DEL', 'm');
    assert.equal(del.status, 0, JSON.stringify(del.out));
    assert.ok(!existsSync(join(memifDir, 'shop')), 'the pod\'s directory and its namespace directory are gone');
    assert.equal(memifVif(), undefined, 'no memif vif left');
    clearInterval(pump);
    let m: ReturnType<MemifTestClient['recv']> = null;
    for (let i = 0; i < 50 && (m === null || (typeof m === 'object' && m.type !== 'disconnect')); i++) {
      m = client!.recv();
      if (m === null) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(m === 'closed' || (typeof m === 'object' && m?.type === 'disconnect'), JSON.stringify(m));
    const again = cni('DEL', 'm');
    assert.equal(again.status, 0, 'a repeated DEL succeeds');
    const bad = cni('ADD', 'm', { ...confs.m, vlanId: 5 });
    assert.equal(bad.out?.code, 7);
    assert.match(bad.out.msg, /memif carries no VLAN/);
  });
});
