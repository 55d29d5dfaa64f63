/**
 * cnr-cni: how long from ADD until the pod can actually send (issue 16), beside the reference
 * `bridge` plugin from containernetworking-plugins on the same node in the same run.
 *
 * The node: `cnr start` (controller and vRouter in one process, as on a node, CNI service
 * included) in a namespace that plays the node's host namespace (test/lib/cnr-node.ts). Both
 * plugins run there exactly as a runtime runs them (a fresh process per call, config on stdin,
 * IPAM by host-local, the runtime's environment), for pods in namespaces of their own.
 *
 * Per pod: ADD, then at once `ping -i 0.01 -c 1 -w 10 GATEWAY` inside the pod (the gateway
 * the plugin's result names: the vRouter's address for cnr, the bridge's for `bridge`); the
 * figure is the time from ADD's start until the first echo reply, i.e. until a packet from the
 * pod has reached its gateway (through the vRouter for cnr) and come back. The icmp_seq of the
 * first reply tells how many probes (one every 10 ms) were lost after the plugin had answered:
 * a plugin that answers before its data path is programmed loses a fast container's first
 * packets. Both include the probe's own start (ip netns exec + ping, a few ms, the same for
 * both). 100 pods one after the other, then 100 pods 10 at a time (each of 10 concurrent
 * ADD+probe chains timed on its own); DEL latency of each pod after its round; >= 3 rounds
 * (a round: all pods of one plugin, then of the other, alternating which goes first); each
 * round's p50 and p99, medians over the rounds, ratios within each round (bench/lib/stats.ts).
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cniBin, startJs } from '../test/lib/cnr-node.js';
import { figure, ROUNDS } from './lib/stats.js';
import type { BenchResult } from './types.js';
import { call, cnrPodRig, firstReply, type CallResult } from './lib/cni-calls.js';

const PODS = Number(process.env.CNR_BENCH_CNI_PODS ?? 100);
const PARALLEL = 10;
const BRIDGE = '/usr/lib/cni/bridge';

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

interface PodRun {
  addMs: number;
  /** ADD start until the first echo reply from the gateway */
  readyMs: number;
  /** probes sent after ADD answered that got no reply (icmp_seq of the first reply - 1) */
  lost: number;
  error?: string;
}

export async function run(): Promise<BenchResult[]> {
  if (process.getuid?.() !== 0 || !existsSync(BRIDGE) || !existsSync(startJs)) {
    console.log('cni: skipped (needs root, /usr/lib/cni/bridge and a build of cnr start)');
    return [];
  }
  const { tag, tmp, lab, host, pods, node, conf: cnrConf } = cnrPodRig('cnib', 'cni-bench', '10.98.0.0/24', PODS);
  const bridgeConf = JSON.stringify({
    cniVersion: '1.0.0',
    name: `${tag}-br`,
    type: 'bridge',
    bridge: 'cnibr0',
    isGateway: true,
    ipam: { type: 'host-local', dataDir: join(tmp, 'ipam'), ranges: [[{ subnet: '10.99.0.0/24' }]] },
  });
  type Plugin = 'cnr' | 'bridge';
  const plugin = { cnr: { bin: cniBin, conf: cnrConf, ifname: 'eth0' }, bridge: { bin: BRIDGE, conf: bridgeConf, ifname: 'net1' } } as const;
  const podNetns = (i: number): string => `/var/run/netns/${pods[i]}`;

  /** ADD pod i, then probe its gateway from inside it. */
  const addAndProbe = async (p: Plugin, id: string, i: number): Promise<PodRun> => {
    const t0 = performance.now();
    const add = await call(host, plugin[p].bin, 'ADD', id, podNetns(i), plugin[p].ifname, plugin[p].conf);
    const gw = (JSON.parse(add.out) as { ips?: { gateway?: string }[] }).ips?.find((x) => x.gateway && !x.gateway.includes(':'))?.gateway;
    if (!gw) return { addMs: add.ms, readyMs: Number.NaN, lost: 0, error: `no IPv4 gateway in the result: ${add.out.slice(0, 200)}` };
    const r = await firstReply(pods[i]!, gw);
    const readyMs = performance.now() - t0;
    if ('error' in r) return { addMs: add.ms, readyMs: Number.NaN, lost: 0, error: `no reply from ${gw}: ${r.error}` };
    return { addMs: add.ms, readyMs, lost: r.seq - 1 };
  };
  const del = (p: Plugin, id: string, i: number): Promise<CallResult> => call(host, plugin[p].bin, 'DEL', id, podNetns(i), plugin[p].ifname, plugin[p].conf);

  // per round and plugin: every pod's figures, sequential and 10 at a time
  const rounds: Record<Plugin, { seq: PodRun[]; par: PodRun[]; del: number[] }[]> = { cnr: [], bridge: [] };
  const errors: string[] = [];
  try {
    await node.start();
    // warm-up: page cache, the controller's first commit, the bridge's creation
    for (const p of ['cnr', 'bridge'] as const) {
      const w = await addAndProbe(p, `${tag}-w${p}`, 0);
      if (w.error) throw new Error(`${p} warm-up: ${w.error}`);
      await del(p, `${tag}-w${p}`, 0);
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order: Plugin[] = round % 2 ? ['bridge', 'cnr'] : ['cnr', 'bridge'];
      for (const p of order) {
        const r = { seq: [] as PodRun[], par: [] as PodRun[], del: [] as number[] };
        for (let i = 0; i < PODS; i++) r.seq.push(await addAndProbe(p, `${tag}-${p}-${round}-s${i}`, i));
        for (let i = 0; i < PODS; i++) r.del.push((await del(p, `${tag}-${p}-${round}-s${i}`, i)).ms);
        for (let i = 0; i < PODS; i += PARALLEL) {
          const batch = Array.from({ length: Math.min(PARALLEL, PODS - i) }, (_, k) => addAndProbe(p, `${tag}-${p}-${round}-p${i + k}`, i + k));
          r.par.push(...(await Promise.all(batch)));
        }
        for (let i = 0; i < PODS; i++) await del(p, `${tag}-${p}-${round}-p${i}`, i);
        for (const x of [...r.seq, ...r.par]) if (x.error) errors.push(`${p} round ${round + 1}: ${x.error}`);
        if (errors.length) console.log(`  cni: first failure so far: ${errors[0]}`);
        rounds[p].push(r);
        const ok = (xs: PodRun[]) => xs.filter((x) => !x.error);
        const p50 = (ys: number[]) => (ys.length ? percentile(ys, 50).toFixed(1) : '-');
        const sum = (xs: PodRun[]) => `ready p50 ${p50(ok(xs).map((x) => x.readyMs))} ms (ADD answered p50 ${p50(ok(xs).map((x) => x.addMs))} ms), ${ok(xs).filter((x) => x.lost > 0).length} pods lost probes (${ok(xs).reduce((a, x) => a + x.lost, 0)} in all), ${xs.length - ok(xs).length} failed`;
        console.log(`  cni round ${round + 1} ${p}: one at a time ${sum(r.seq)}; ${PARALLEL} at a time ${sum(r.par)}; DEL p50 ${percentile(r.del, 50).toFixed(1)} ms`);
      }
    }
  } finally {
    await node.stop();
    await lab.cleanup();
    if (process.env.CNR_BENCH_KEEP === '1') console.log(`cni: kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
  const results: BenchResult[] = [];
  const per = (p: Plugin, pick: (r: { seq: PodRun[]; par: PodRun[]; del: number[] }) => number[], q: number): number[] =>
    rounds[p].map((r) => {
      const xs = pick(r).filter(Number.isFinite);
      return xs.length ? percentile(xs, q) : Number.NaN;
    });
  const ready = (mode: 'seq' | 'par') => (r: { seq: PodRun[]; par: PodRun[] }) => r[mode].map((x) => x.readyMs);
  const answered = (mode: 'seq' | 'par') => (r: { seq: PodRun[]; par: PodRun[] }) => r[mode].map((x) => x.addMs);
  const lostNote = (mode: 'seq' | 'par'): string =>
    (['cnr', 'bridge'] as const)
      .map((p) => `${p}: ${rounds[p].map((r) => `${r[mode].filter((x) => x.lost > 0).length} pods / ${r[mode].reduce((a, x) => a + x.lost, 0)} probes`).join(', ')}`)
      .join('; ');
  for (const [mode, what] of [['seq', `${PODS} pods one after the other`], ['par', `${PODS} pods, ${PARALLEL} ADDs in parallel`]] as const) {
    for (const q of [50, 99]) {
      results.push(figure({
        name: `CNI ADD until the pod's first packet is answered by its gateway, p${q}, ${what}`,
        unit: 'ms',
        values: per('cnr', ready(mode), q),
        reference: { name: 'bridge plugin, same node, same round', values: per('bridge', ready(mode), q) },
        direction: 'ref/value',
        notes: `per round: the p${q} over the pods; probes lost after the plugin answered (pods with a loss / probes lost, per round): ${lostNote(mode)}; lower is better`,
      }));
    }
    results.push(figure({
      name: `CNI ADD answered (plugin exit), p50, ${what}`,
      unit: 'ms',
      values: per('cnr', answered(mode), 50),
      reference: { name: 'bridge plugin, same node, same round', values: per('bridge', answered(mode), 50) },
      direction: 'ref/value',
      notes: 'what a runtime waits for; the pod may not be able to send yet (the figure above)',
    }));
  }
  for (const q of [50, 99]) {
    results.push(figure({
      name: `CNI DEL latency p${q}, ${PODS} pods one after the other`,
      unit: 'ms',
      values: per('cnr', (r) => r.del, q),
      reference: { name: 'bridge plugin, same node, same round', values: per('bridge', (r) => r.del, q) },
      direction: 'ref/value',
    }));
  }
  if (errors.length) {
    console.log(`  cni: ${errors.length} pods failed, first: ${errors[0]}`);
    results[0]!.notes += `; ${errors.length} pods failed (first: ${errors[0]})`;
  }
  return results;
}
