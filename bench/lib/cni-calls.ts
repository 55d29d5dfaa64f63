/**
 * A CNI plugin run as a runtime runs it (a fresh process, config on stdin, the CNI_*
 * environment), a pod's first ping of its gateway, and the rig both run in (a cnr node and
 * pod namespaces): shared by bench/cni.bench.ts and bench/cni-timeline.ts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsLab } from '../../test/lib/netns.js';
import { CnrNode } from '../../test/lib/cnr-node.js';

/**
 * A lab with the node's namespace and `pods` pod namespaces (loopback down, as a runtime
 * leaves them), a cnr node in it serving VRF `blue`, and cnr-cni's network config for it
 * (host-local IPAM over `subnet`); the caller starts the node and cleans the lab and `tmp` up.
 */
export function cnrPodRig(prefix: string, hostName: string, subnet: string, pods: number) {
  const tag = `${prefix}${process.pid}`;
  const tmp = mkdtempSync(join(tmpdir(), `${tag}-`));
  const lab = new NetnsLab(prefix);
  const host = lab.netns('host');
  const podNs = Array.from({ length: pods }, (_, i) => lab.netns(`p${i}`, { loopbackUp: false }));
  const stateDir = join(tmp, 'state');
  writeFileSync(join(tmp, 'cnr.set'), `set system host-name ${hostName}\nset routing-instances blue instance-type vrf\n`);
  const node = new CnrNode(host, stateDir, join(tmp, 'cnr.set'), tmp);
  const conf = JSON.stringify({
    cniVersion: '1.0.0',
    name: `${tag}-cnr`,
    type: 'cnr-cni',
    instanceName: 'blue',
    stateDir,
    dataDir: join(tmp, 'cni'),
    ipam: { type: 'host-local', dataDir: join(tmp, 'ipam'), ranges: [[{ subnet }]] },
  });
  return { tag, tmp, lab, host, pods: podNs, stateDir, node, conf };
}

export interface CallResult {
  ms: number;
  out: string;
}

/** One plugin run in the node's namespace as a runtime runs it; resolves with its wall time and stdout. */
export function call(hostNs: string, bin: string, command: string, id: string, netns: string, ifname: string, conf: string): Promise<CallResult> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const c = spawn('ip', ['netns', 'exec', hostNs, bin], {
      env: { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: ifname, CNI_PATH: '/usr/lib/cni' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => c.kill('SIGKILL'), 60_000);
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (err += b.toString()));
    c.on('error', rej);
    c.on('close', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      if (code !== 0) rej(new Error(`${bin} ${command} ${id}: exit ${code}: ${(out + err).slice(0, 300)}`));
      else res({ ms, out });
    });
    c.stdin.end(conf);
  });
}

/** Pings `gw` from `podNs` every 10 ms until the first reply (10 s at most); resolves when it ends, with the first reply's icmp_seq. */
export function firstReply(podNs: string, gw: string): Promise<{ seq: number } | { error: string }> {
  return new Promise((res) => {
    const c = spawn('ip', ['netns', 'exec', podNs, 'ping', '-n', '-i', '0.01', '-c', '1', '-w', '10', gw], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (out += b.toString()));
    c.on('close', (code) => {
      const m = /icmp_seq=(\d+)/.exec(out);
      res(code === 0 && m ? { seq: Number(m[1]) } : { error: out.trim().split('\n').slice(-2).join(' ') });
    });
  });
}
