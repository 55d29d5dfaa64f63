/**
 * Where one CNI ADD's time goes (docs/cni.md, "Where an ADD's time goes"): `cnr start` with
 * CNR_TIMELINE=1 (src/lib/timeline.ts marks in the CNI service, the committer, the commit,
 * the FIB export, the agent), pods added one after the other exactly as bench/cni.bench.ts
 * adds them, each probed from inside until its gateway answers; then the marks of each pod's
 * window are lined up against the moment the runtime exec'd the plugin, and the median (min,
 * max) offset of every step over the pods is printed. Then the same for DEL, and for ADDs 10
 * at a time (offsets from the batch's start).
 *
 *   node dist/bench/cni-timeline.js [PODS]      (root; PODS defaults to 20)
 */
import { readFileSync, rmSync } from 'node:fs';
import { cniBin } from '../test/lib/cnr-node.js';
import { call, cnrPodRig, firstReply } from './lib/cni-calls.js';

const PODS = Number(process.argv[2] ?? 20);
const PARALLEL = 10;
const now = (): number => performance.timeOrigin + performance.now();

interface Window {
  t0: number;
  t1: number;
  /** the bench's own marks, absolute ms */
  own: [number, string][];
}

/** A step's name without what differs between pods (sequence numbers, interface names, counts). */
function normalize(step: string): string {
  return step
    .replace(/seq \d+/g, 'seq N')
    .replace(/cnr[0-9a-f]{12}/g, 'IF')
    .replace(/of \d+ intent/g, 'of K intent');
}

function table(title: string, windows: Window[], marks: [number, string][]): void {
  const offsets = new Map<string, number[]>();
  for (const w of windows) {
    const seen = new Set<string>();
    const inside = [...marks.filter(([t]) => t >= w.t0 && t <= w.t1), ...w.own].sort((a, b) => a[0] - b[0]);
    for (const [t, step] of inside) {
      let name = normalize(step);
      // a step seen again in one window gets a number (second commit, further messages)
      for (let k = 2; seen.has(name); k++) name = `${normalize(step)} #${k}`;
      seen.add(name);
      const xs = offsets.get(name) ?? [];
      xs.push(t - w.t0);
      offsets.set(name, xs);
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  const rows = [...offsets].map(([name, xs]) => ({ name, n: xs.length, med: med(xs), min: Math.min(...xs), max: Math.max(...xs) })).sort((a, b) => a.med - b.med);
  console.log(`\n${title} (${windows.length} windows; ms from the plugin's exec; median [min..max], pods that had the step)`);
  let prev = 0;
  for (const r of rows) {
    console.log(`  ${r.med.toFixed(1).padStart(7)}  (+${(r.med - prev).toFixed(1).padStart(5)})  [${r.min.toFixed(1)}..${r.max.toFixed(1)}]  ${String(r.n).padStart(3)}  ${r.name}`);
    prev = r.med;
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('cni-timeline: needs root');
    return;
  }
  process.env.CNR_TIMELINE = '1';
  const { tag, tmp, lab, host, pods, node, conf } = cnrPodRig('cnit', 'cni-timeline', '10.97.0.0/24', PODS);
  const netns = (i: number) => `/var/run/netns/${pods[i]}`;
  const addProbe = async (id: string, i: number, w: Window): Promise<void> => {
    const add = await call(host, cniBin, 'ADD', id, netns(i), 'eth0', conf);
    w.own.push([now(), 'bench: ADD exited']);
    const gw = (JSON.parse(add.out) as { ips?: { gateway?: string }[] }).ips?.find((x) => x.gateway && !x.gateway.includes(':'))?.gateway;
    if (!gw) throw new Error(`no gateway: ${add.out}`);
    const r = await firstReply(pods[i]!, gw);
    if ('error' in r) throw new Error(`no reply: ${r.error}`);
    w.own.push([now(), `bench: first reply (icmp_seq ${r.seq})`.replace(/\d+\)/, 'N)')]);
  };
  const adds: Window[] = [];
  const dels: Window[] = [];
  const par: Window[] = [];
  try {
    await node.start();
    const warm: Window = { t0: 0, t1: 0, own: [] };
    await addProbe(`${tag}-w`, 0, warm);
    await call(host, cniBin, 'DEL', `${tag}-w`, netns(0), 'eth0', conf);
    for (let i = 0; i < PODS; i++) {
      const w: Window = { t0: now(), t1: 0, own: [] };
      await addProbe(`${tag}-s${i}`, i, w);
      w.t1 = now();
      adds.push(w);
      await new Promise((r) => setTimeout(r, 50)); // the background work of this pod ends before the next
    }
    for (let i = 0; i < PODS; i++) {
      const w: Window = { t0: now(), t1: 0, own: [] };
      await call(host, cniBin, 'DEL', `${tag}-s${i}`, netns(i), 'eth0', conf);
      w.own.push([now(), 'bench: DEL exited']);
      await new Promise((r) => setTimeout(r, 100)); // the DEL's background commit
      w.t1 = now();
      dels.push(w);
    }
    for (let i = 0; i + PARALLEL <= PODS; i += PARALLEL) {
      const w: Window = { t0: now(), t1: 0, own: [] };
      await Promise.all(Array.from({ length: PARALLEL }, (_, k) => addProbe(`${tag}-p${i + k}`, i + k, w)));
      w.t1 = now();
      par.push(w);
      for (let k = 0; k < PARALLEL; k++) await call(host, cniBin, 'DEL', `${tag}-p${i + k}`, netns(i + k), 'eth0', conf);
    }
  } finally {
    await node.stop();
    const marks: [number, string][] = [];
    for (const line of readFileSync(node.logFile, 'utf8').split('\n')) {
      const m = /^T (\d+\.\d+) (.*)$/.exec(line);
      if (m) marks.push([Number(m[1]), m[2]!]);
    }
    table('ADD, one at a time', adds, marks);
    table('DEL, one at a time (the window runs 100 ms past the exit)', dels, marks);
    table(`ADD, ${PARALLEL} at a time (the whole batch)`, par, marks);
    await lab.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
