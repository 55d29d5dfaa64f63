/**
 * cnr-cni ADD and DEL latency over 100 pods, beside the reference `bridge` plugin from
 * containernetworking-plugins measured in the same run, interleaved pod by pod so that both
 * see the same machine load. Both are run exactly as a runtime runs them (a fresh process
 * per call, config on stdin, IPAM by host-local); the environment is the runtime's (CNI_*
 * and PATH only). bin/cnr-cni is the bash shim: it hands the call to the CNI service of a
 * controller in a process of its own as on a node (configuration store, management API and
 * CNI service; no RIB or data plane: the vRouter attaches asynchronously after the commit
 * and is not part of the latency a runtime waits for). The controller is
 * not in this process so that its work after a reply (the background commit) does not
 * delay this event loop's noticing the runtime's child exit. For information, a few more
 * pods go through the shim's fallback (the service's files taken away: a Node process per
 * call, committing through mgmt.sock).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchResult } from './types.js';
import { cniPortPath, cniSocketPath } from '../src/cni/server.js';

const PODS = 100;
/** pods that go through the fallback (no service), for information */
const FALLBACK_PODS = 8;
const repo = resolve(import.meta.dirname, '..', '..');

/**
 * The controller (configuration store, management API and CNI service, as `cnr start`
 * starts them; no RIB or data plane) in a process of its own, ready when its CNI service
 * has written cni.port.
 */
async function startController(stateDir: string, logFile: string): Promise<ChildProcess> {
  const dist = join(repo, 'dist', 'src');
  const script = `
    const { Controller } = await import(${JSON.stringify(pathToFileURL(join(dist, 'controller', 'controller.js')).href)});
    const { CniService } = await import(${JSON.stringify(pathToFileURL(join(dist, 'cni', 'server.js')).href)});
    const stateDir = ${JSON.stringify(stateDir)};
    const ctl = new Controller({ stateDir, log: () => {} });
    await ctl.start();
    const service = new CniService({ stateDir, exec: (c, u, via) => ctl.exec(c, u, via), log: (l) => console.error(l) });
    await service.start();
    process.once('SIGTERM', async () => { await service.stop(); await ctl.stop(); process.exit(0); });
    setInterval(() => {}, 1 << 30);
  `;
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const end = Date.now() + 30_000;
  while (!existsSync(cniPortPath(stateDir))) {
    if (child.exitCode !== null || Date.now() > end) {
      child.kill('SIGKILL');
      throw new Error(`the controller did not start: ${readFileSync(logFile, 'utf8').slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

async function stopController(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 25_000);
  await gone;
  clearTimeout(t);
}

/**
 * Waits (untimed for the latency figures) until the CNI service's background commit of the
 * last call is done, i.e. its journal is empty, so that neither plugin's next call runs
 * beside it; returns how long that took after the answer (the commit lag).
 */
async function settled(stateDir: string): Promise<number> {
  if (process.env.CNR_BENCH_CNI_NO_SETTLE === '1') return 0; // the next call runs beside the commit
  const journal = join(stateDir, 'cni.journal');
  const t0 = performance.now();
  while (existsSync(journal) && statSync(journal).size > 0 && performance.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 1));
  return performance.now() - t0;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** One plugin run as a runtime does it; resolves to its wall time in ms. */
function call(bin: string, command: string, id: string, netns: string, ifname: string, conf: string): Promise<number> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const c = spawn(bin, [], {
      env: { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: ifname, CNI_PATH: '/usr/lib/cni' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (out += b.toString()));
    c.on('error', rej);
    c.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) rej(new Error(`${bin} ${command} ${id}: exit ${code}: ${out.slice(0, 300)}`));
      else res(ms);
    });
    c.stdin.end(conf);
  });
}

export async function run(): Promise<BenchResult[]> {
  if (process.getuid?.() !== 0 || !existsSync('/usr/lib/cni/bridge')) {
    console.log('cni: skipped (needs root and /usr/lib/cni/bridge)');
    return [];
  }
  const tag = `cnib${process.pid}`;
  const tmp = mkdtempSync(join(tmpdir(), `${tag}-`));
  const spaces = Array.from({ length: PODS }, (_, i) => `${tag}-${i}`);
  spawnSync('ip', ['-batch', '-'], { input: spaces.map((s) => `netns add ${s}`).join('\n') + '\n' });
  const stateDir = join(tmp, 'cnr');
  const ctl = await startController(stateDir, join(tmp, 'controller.log'));
  const cnrConf = JSON.stringify({
    cniVersion: '1.0.0',
    name: `${tag}-cnr`,
    type: 'cnr-cni',
    instanceName: 'blue',
    stateDir,
    dataDir: join(tmp, 'cni'),
    ipam: { type: 'host-local', dataDir: join(tmp, 'ipam'), ranges: [[{ subnet: '10.98.0.0/24' }]] },
  });
  const bridgeName = `br${process.pid}`.slice(0, 15);
  const bridgeConf = JSON.stringify({
    cniVersion: '1.0.0',
    name: `${tag}-br`,
    type: 'bridge',
    bridge: bridgeName,
    isGateway: true,
    ipam: { type: 'host-local', dataDir: join(tmp, 'ipam'), ranges: [[{ subnet: '10.99.0.0/24' }]] },
  });
  const cnrBin = join(repo, 'bin', 'cnr-cni');
  const t = { cnrAdd: [] as number[], cnrDel: [] as number[], brAdd: [] as number[], brDel: [] as number[], fbAdd: [] as number[], fbDel: [] as number[], lag: [] as number[] };
  try {
    // one warm-up each: page cache, the controller's first commit
    await call(cnrBin, 'ADD', `${tag}-w`, `/var/run/netns/${spaces[0]}`, 'eth0', cnrConf);
    await call(cnrBin, 'DEL', `${tag}-w`, `/var/run/netns/${spaces[0]}`, 'eth0', cnrConf);
    await call('/usr/lib/cni/bridge', 'ADD', `${tag}-w`, `/var/run/netns/${spaces[0]}`, 'net1', bridgeConf);
    await call('/usr/lib/cni/bridge', 'DEL', `${tag}-w`, `/var/run/netns/${spaces[0]}`, 'net1', bridgeConf);
    for (let i = 0; i < PODS; i++) {
      const ns = `/var/run/netns/${spaces[i]}`;
      // each pod namespace holds both: cnr-cni's eth0 and bridge's net1
      t.cnrAdd.push(await call(cnrBin, 'ADD', `${tag}-c${i}`, ns, 'eth0', cnrConf));
      t.lag.push(await settled(stateDir));
      t.brAdd.push(await call('/usr/lib/cni/bridge', 'ADD', `${tag}-b${i}`, ns, 'net1', bridgeConf));
    }
    for (let i = 0; i < PODS; i++) {
      const ns = `/var/run/netns/${spaces[i]}`;
      t.cnrDel.push(await call(cnrBin, 'DEL', `${tag}-c${i}`, ns, 'eth0', cnrConf));
      await settled(stateDir);
      t.brDel.push(await call('/usr/lib/cni/bridge', 'DEL', `${tag}-b${i}`, ns, 'net1', bridgeConf));
    }
    // without the service's files the shim runs the Node plugin
    renameSync(cniPortPath(stateDir), `${cniPortPath(stateDir)}.away`);
    renameSync(cniSocketPath(stateDir), `${cniSocketPath(stateDir)}.away`);
    for (let i = 0; i < FALLBACK_PODS; i++) {
      const ns = `/var/run/netns/${spaces[i]}`;
      t.fbAdd.push(await call(cnrBin, 'ADD', `${tag}-f${i}`, ns, 'eth0', cnrConf));
    }
    for (let i = 0; i < FALLBACK_PODS; i++) {
      const ns = `/var/run/netns/${spaces[i]}`;
      t.fbDel.push(await call(cnrBin, 'DEL', `${tag}-f${i}`, ns, 'eth0', cnrConf));
    }
  } finally {
    await stopController(ctl);
    spawnSync('ip', ['-batch', '-'], { input: spaces.map((s) => `netns del ${s}`).join('\n') + '\n' });
    spawnSync('ip', ['link', 'del', bridgeName]);
    if (process.env.CNR_BENCH_KEEP === '1') console.log(`cni: kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
  const results: BenchResult[] = [];
  for (const [what, mine, ref] of [
    ['ADD', t.cnrAdd, t.brAdd],
    ['DEL', t.cnrDel, t.brDel],
  ] as const) {
    const a = [...mine].sort((x, y) => x - y);
    const b = [...ref].sort((x, y) => x - y);
    for (const p of [50, 99]) {
      const v = percentile(a, p);
      const r = percentile(b, p);
      console.log(`cni ${what} p${p}: cnr-cni ${v.toFixed(1)} ms, bridge ${r.toFixed(1)} ms (${(v / r).toFixed(2)}x)`);
      results.push({
        name: `${what} latency p${p} (${PODS} pods)`,
        value: v,
        unit: 'ms',
        reference: { name: 'bridge plugin', value: r },
        ratio: v / r,
        notes: 'lower is better; ratio = cnr-cni / bridge',
      });
    }
  }
  const lag = [...t.lag].sort((x, y) => x - y);
  console.log(`cni ADD: background commit done ${percentile(lag, 50).toFixed(1)} ms (p50), ${percentile(lag, 99).toFixed(1)} ms (p99) after the answer`);
  const fb = (x: number[]) => percentile([...x].sort((p, q) => p - q), 50).toFixed(1);
  console.log(`cni fallback (no service, Node per call, ${FALLBACK_PODS} pods): ADD p50 ${fb(t.fbAdd)} ms, DEL p50 ${fb(t.fbDel)} ms`);
  return results;
}
