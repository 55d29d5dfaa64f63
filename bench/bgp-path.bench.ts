/**
 * BGP and TCP over the production path: `cnr start` with vhost0, so the node's own TCP (BGP
 * included) crosses vhost0 and the vRouter's AF_PACKET fabric vif, against the same `cnr start`
 * with the session on a plain kernel veth in the same namespace, measured in the same run.
 * The peer's namespace keeps the kernel's default offloads (its TCP sends 64 KiB super-frames,
 * which the vRouter segments: docs/design.md, "What neighbours send").
 *
 *   inj ──fabric veth (10.0.0.0/30, the vRouter's)── [vRouter ── vhost0 ── kernel ── cnr]
 *   inj ──kernel veth (10.9.0.0/30, the kernel's)──────────────────── kernel ── cnr
 *
 * 1. BGP ingest: the injector (bench/lib/bgp-injector.ts) sends 1M IPv4 /28s, 100 per UPDATE,
 *    to a freshly started cnr over one path or the other, alternating, >= 3 rounds each; the
 *    figure is the time from the first UPDATE byte until cnr's controller has accepted every
 *    route (and its CPU seconds meanwhile). Both injectors name the same next hop (on the
 *    fabric), so cnr does the same RIB and FIB work either way.
 * 2. TCP throughput: a 64 MiB transfer each way between the peer and a listener in cnr's
 *    namespace, over vhost0 and the vRouter, against the same transfer over the kernel veth;
 *    with the cnr process's CPU per MB on the vRouter path. Then the same through vhost0
 *    while the controller ingests the routes (a busy controller must not starve the punt path).
 *
 * Knobs: CNR_BENCH_PATH_COUNT (default 1000000 routes), CNR_BENCH_PATH_ROUNDS (default 3),
 * CNR_BENCH_PATH_MB (default 64), CNR_BENCH_PATH_PARTS (default "ingest,tcp,busy": which of
 * the three parts run), CNR_BENCH_PATH_BASE (another build's bin/cnr, e.g. the branch's base
 * built elsewhere: the TCP part then starts each build afresh in every round, in alternating
 * order, and reports this build against the base in the same rounds, throughput and CPU per MB).
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { BenchResult } from './types.js';
import { figure } from './lib/stats.js';
import { writeResultsFile } from './lib/machine.js';
import { Lab, canBuildLabs } from '../test/interop/harness/lab.js';
import { Cnr, cnrAvailable } from '../test/interop/harness/cnr.js';
import { cpuSeconds, run as runCmd, waitFor } from '../test/interop/harness/proc.js';
import { tcpBulk, type BulkLab } from '../test/lib/tcp-bulk.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const injectorJs = join(here, 'lib', 'bgp-injector.js');
const COUNT = Number(process.env['CNR_BENCH_PATH_COUNT'] ?? 1_000_000);
const ROUNDS = Math.max(3, Number(process.env['CNR_BENCH_PATH_ROUNDS'] ?? 3));
const MB = Number(process.env['CNR_BENCH_PATH_MB'] ?? 64);
const PARTS = (process.env['CNR_BENCH_PATH_PARTS'] ?? 'ingest,tcp,busy').split(',').map((x) => x.trim());
const BASE_BIN = process.env['CNR_BENCH_PATH_BASE'] || undefined;
const CNR_AS = 65000;
const PEER_AS = 65001;

type Path = 'vrouter' | 'kernel';
/** cnr's address and the peer's on each path */
const ADDR: Record<Path, { cnr: string; peer: string }> = {
  vrouter: { cnr: '10.0.0.1', peer: '10.0.0.2' },
  kernel: { cnr: '10.9.0.1', peer: '10.9.0.2' },
};

interface Setup {
  lab: Lab;
  nsCnr: string;
  nsPeer: string;
  fabricIf: string;
}

function setup(): Setup {
  const lab = new Lab('bpth');
  const nsCnr = lab.ns('cnr');
  const nsPeer = lab.ns('peer');
  const fabric = lab.link(nsCnr, nsPeer, { b4: `${ADDR.vrouter.peer}/30` });
  lab.link(nsCnr, nsPeer, { a4: `${ADDR.kernel.cnr}/30`, b4: `${ADDR.kernel.peer}/30` });
  return { lab, nsCnr, nsPeer, fabricIf: fabric.ifA };
}

let starts = 0;
function startCnr(s: Setup, bin?: string): Promise<Cnr> {
  return Cnr.start(s.lab, s.nsCnr, `p${starts++}`, {
    asn: CNR_AS,
    routerId: '10.255.0.1',
    interfaces: [{ name: s.fabricIf, addresses: [`${ADDR.vrouter.cnr}/30`] }],
    neighbors: (['vrouter', 'kernel'] as const).map((p) => ({ address: ADDR[p].peer, asn: PEER_AS, families: ['inet' as const], import: ['ALL'], exportNothing: true })),
    extra: ['set policy-options policy-statement ALL then accept'],
  }, 60_000, { vrouter: true, vhost: true, introspect: '127.0.0.1:18086', ...(bin ? { bin } : {}) });
}

interface Ingest {
  path: Path;
  round: number;
  seconds: number;
  cpuSeconds: number;
  complete: boolean;
}

async function ingestOnce(s: Setup, path: Path, round: number): Promise<Ingest> {
  const cnr = await startCnr(s);
  try {
    const inj = s.lab.daemon(`injector-${path}-${round}`, s.nsPeer, process.execPath, [
      injectorJs, '--peer', ADDR[path].cnr, '--local-as', String(PEER_AS), '--peer-as', String(CNR_AS),
      // the same next hop on both paths (on the fabric): the same RIB and FIB work for cnr
      '--next-hop', ADDR.vrouter.peer, '--count', String(COUNT), '--per-update', '100', '--prefix-len', '28',
    ]);
    const sending = await waitFor('the injector to start sending', () => {
      const m = /\{"event":"sending","t":([\d.]+)/.exec(inj.output());
      if (inj.child.exitCode !== null) throw new Error(`injector exited: ${inj.output().slice(-1000)}`);
      return m ? Number(m[1]) : undefined;
    }, 60_000, 50);
    const cpu0 = cpuSeconds(cnr.daemon.pid);
    let complete = true;
    try {
      await waitFor(`${COUNT} routes at cnr over the ${path} path`, async () => (await cnr.receivedCount(ADDR[path].peer)) >= COUNT, 180_000, 250);
    } catch {
      complete = false;
    }
    const seconds = (Date.now() - sending) / 1000;
    const cpu = cpuSeconds(cnr.daemon.pid) - cpu0;
    await inj.stop(3000);
    console.log(`  round ${round} ${path}: ${complete ? '' : 'INCOMPLETE '}${seconds.toFixed(2)} s, cnr CPU ${cpu.toFixed(2)} s`);
    return { path, round, seconds, cpuSeconds: cpu, complete };
  } finally {
    await cnr.stop();
  }
}

/** The interop harness's Lab as tcpBulk wants it. */
function bulkLab(lab: Lab): BulkLab {
  let n = 0;
  return {
    spawn: (ns: string, args: string[]): ChildProcess => lab.daemon(`bulk-${n++}`, ns, args[0]!, args.slice(1)).child,
    run: (ns: string, args: string[], opts: { timeout?: number } = {}): string => {
      const r = runCmd('ip', ['netns', 'exec', ns, ...args], opts.timeout ?? 20_000);
      if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr || r.stdout}`);
      return r.stdout;
    },
  } as BulkLab;
}

interface Throughput {
  path: Path;
  round: number;
  /** which build: this one, or CNR_BENCH_PATH_BASE's */
  build: 'this' | 'base';
  /** Mbit/s, each direction, measured by the receiver */
  upMbps: number;
  downMbps: number;
  /** cnr process CPU seconds per MB moved (both directions) */
  cpuPerMB: number;
}

async function throughputOnce(s: Setup, cnr: Cnr, path: Path, round: number, build: 'this' | 'base' = 'this'): Promise<Throughput> {
  const bytes = MB << 20;
  const cpu0 = cpuSeconds(cnr.daemon.pid);
  const r = await tcpBulk(bulkLab(s.lab), s.nsCnr, s.nsPeer, ADDR[path].cnr, 6000 + round * 2 + (path === 'kernel' ? 1 : 0), bytes, 60);
  const cpu = cpuSeconds(cnr.daemon.pid) - cpu0;
  if (!r.upOk || !r.downOk || r.upBytes !== bytes || r.downBytes !== bytes) throw new Error(`transfer over ${path} incomplete: ${JSON.stringify(r)}`);
  const mbps = (sec: number) => (bytes * 8) / sec / 1e6;
  const t = { path, round, build, upMbps: mbps(r.upSeconds), downMbps: mbps(r.downSeconds), cpuPerMB: cpu / (2 * MB) };
  console.log(`  round ${round} ${build === 'base' ? 'base ' : ''}${path}: ${t.upMbps.toFixed(0)} Mbit/s to cnr's namespace, ${t.downMbps.toFixed(0)} back; cnr CPU ${(t.cpuPerMB * 1000).toFixed(2)} ms/MB`);
  return t;
}

/**
 * The punt path while the controller is busy: in `cnr start` the controller and the vRouter
 * share one process (the vRouter's graph and drivers run in a worker thread of their own).
 * A fresh cnr ingests COUNT routes from the injector over the kernel veth while the same
 * transfer as above runs through vhost0.
 */
async function throughputWhileBusy(s: Setup, round: number): Promise<Throughput> {
  const cnr = await startCnr(s);
  try {
    await waitFor('vhost0 to carry the fabric subnet', () => runCmd('ip', ['netns', 'exec', s.nsCnr, 'ip', 'route', 'show', 'dev', 'vhost0'], 5000).stdout.includes('10.0.0.0/30'), 30_000, 200);
    const inj = s.lab.daemon(`injector-busy-${round}`, s.nsPeer, process.execPath, [
      injectorJs, '--peer', ADDR.kernel.cnr, '--local-as', String(PEER_AS), '--peer-as', String(CNR_AS),
      '--next-hop', ADDR.vrouter.peer, '--count', String(COUNT), '--per-update', '100', '--prefix-len', '28',
    ]);
    await waitFor('the injector to start sending', () => /"event":"sending"/.test(inj.output()), 60_000, 50);
    const t = await throughputOnce(s, cnr, 'vrouter', round);
    const got = await cnr.receivedCount(ADDR.kernel.peer);
    console.log(`    (cnr had accepted ${got} routes when the transfer ended)`);
    await inj.stop(3000);
    return t;
  } finally {
    await cnr.stop();
  }
}

export async function run(): Promise<BenchResult[]> {
  if (!canBuildLabs()) {
    console.log('bgp-path: skipped (needs root for network namespaces)');
    return [];
  }
  if (!cnrAvailable()) {
    console.log('bgp-path: skipped (cnr is not built)');
    return [];
  }
  const s = setup();
  const ingests: Ingest[] = [];
  const tputs: Throughput[] = [];
  const busy: Throughput[] = [];
  try {
    if (PARTS.includes('ingest')) {
      console.log(`BGP ingest of ${COUNT} routes, ${ROUNDS} rounds, alternating the order of the two paths:`);
      for (let round = 0; round < ROUNDS; round++) {
        const order: Path[] = round % 2 === 0 ? ['vrouter', 'kernel'] : ['kernel', 'vrouter'];
        for (const p of order) ingests.push(await ingestOnce(s, p, round));
      }
    }
    if (PARTS.includes('tcp')) {
      console.log(`TCP, ${MB} MiB each way per round${BASE_BIN ? `, this build and the base (${BASE_BIN}) each started afresh per round` : ''}:`);
      if (BASE_BIN) {
        for (let round = 0; round < ROUNDS; round++) {
          const builds = round % 2 === 0 ? (['this', 'base'] as const) : (['base', 'this'] as const);
          for (const b of builds) tputs.push(...(await throughputRounds(s, b === 'base' ? BASE_BIN : undefined, b, round, round + 1)));
        }
      } else tputs.push(...(await throughputRounds(s, undefined, 'this', 0, ROUNDS)));
    }
    if (PARTS.includes('busy')) {
      console.log(`TCP through vhost0 while the controller ingests ${COUNT} routes (over the kernel veth):`);
      for (let round = 0; round < ROUNDS; round++) busy.push(await throughputWhileBusy(s, round));
    }
  } finally {
    await s.lab.close();
  }
  // per-round series (round i of each path ran in the same minutes), for medians and per-round ratios
  const series = <T extends { path?: Path; round: number; build?: 'this' | 'base' }>(xs: T[], p: Path | undefined, pick: (x: T) => number, build: 'this' | 'base' = 'this'): number[] =>
    Array.from({ length: ROUNDS }, (_, i) => {
      const x = xs.find((y) => y.round === i && (p === undefined || y.path === p) && (y.build ?? 'this') === build);
      return x ? pick(x) : Number.NaN;
    });
  const results = [
    ...(PARTS.includes('ingest') ? ingestFigures(ingests, series) : []),
    ...(PARTS.includes('tcp') ? tcpFigures(tputs, series) : []),
    ...(PARTS.includes('busy') ? [figure({
      name: `TCP, ${MB} MiB to a listener behind vhost0 while the controller ingests ${COUNT / 1e6}M routes`,
      unit: 'Mbit/s',
      values: series(busy, undefined, (x) => x.upMbps),
      reference: { name: 'the same with the controller idle (round i of the idle series)', values: series(tputs, 'vrouter', (x) => x.upMbps) },
    })] : []),
  ];
  const file = writeResultsFile(repo, 'bgp-path-', { count: COUNT, rounds: ROUNDS, mb: MB, parts: PARTS, base: BASE_BIN ?? null, ingests, throughput: tputs, throughputBusy: busy, results });
  console.log(`details in ${file}`);
  return results;
}

type Series = <T extends { path?: Path; round: number; build?: 'this' | 'base' }>(xs: T[], p: Path | undefined, pick: (x: T) => number, build?: 'this' | 'base') => number[];

/** Rounds [from, to) of the TCP transfers on both paths, with one cnr (`bin`, or this build) started for them. */
async function throughputRounds(s: Setup, bin: string | undefined, build: 'this' | 'base', from: number, to: number): Promise<Throughput[]> {
  const out: Throughput[] = [];
  const cnr = await startCnr(s, bin);
  try {
    await waitFor('vhost0 to carry the fabric subnet', () => runCmd('ip', ['netns', 'exec', s.nsCnr, 'ip', 'route', 'show', 'dev', 'vhost0'], 5000).stdout.includes('10.0.0.0/30'), 30_000, 200);
    // a fresh cnr: one unmeasured transfer first, so that its start-up work and the JIT's
    // warm-up are not charged to the first measured round
    if (build === 'base' || BASE_BIN) await tcpBulk(bulkLab(s.lab), s.nsCnr, s.nsPeer, ADDR.vrouter.cnr, 5990 + from * 2 + (build === 'base' ? 1 : 0), 16 << 20, 60);
    for (let round = from; round < to; round++) {
      const order: Path[] = round % 2 === 0 ? ['vrouter', 'kernel'] : ['kernel', 'vrouter'];
      for (const p of order) out.push(await throughputOnce(s, cnr, p, round, build));
    }
  } finally {
    await cnr.stop();
  }
  return out;
}

function ingestFigures(ingests: Ingest[], series: Series): BenchResult[] {
  const incomplete = ingests.filter((x) => !x.complete).length;
  const ingestTime = (x: Ingest) => (x.complete ? x.seconds : Number.NaN);
  return [
    figure({
      name: `BGP ingest ${COUNT / 1e6}M /28 (100 per UPDATE), session through the vRouter and vhost0: time`,
      unit: 's',
      values: series(ingests, 'vrouter', ingestTime),
      reference: { name: 'the same cnr with the session on a kernel veth', values: series(ingests, 'kernel', ingestTime) },
      direction: 'ref/value',
      notes: `lower is better${incomplete ? `; ${incomplete} rounds INCOMPLETE (left out)` : ''}`,
    }),
    figure({
      name: `BGP ingest ${COUNT / 1e6}M /28 through the vRouter and vhost0: cnr CPU`,
      unit: 's',
      values: series(ingests, 'vrouter', (x) => x.cpuSeconds),
      reference: { name: 'session on a kernel veth', values: series(ingests, 'kernel', (x) => x.cpuSeconds) },
      direction: 'ref/value',
    }),
  ];
}

function tcpFigures(tputs: Throughput[], series: Series): BenchResult[] {
  const results: BenchResult[] = [
    figure({
      name: `TCP, ${MB} MiB to a listener behind vhost0, peer at default offloads`,
      unit: 'Mbit/s',
      values: series(tputs, 'vrouter', (x) => x.upMbps),
      reference: { name: 'the same over a kernel veth', values: series(tputs, 'kernel', (x) => x.upMbps) },
    }),
    figure({
      name: `TCP, ${MB} MiB from behind vhost0 to the peer`,
      unit: 'Mbit/s',
      values: series(tputs, 'vrouter', (x) => x.downMbps),
      reference: { name: 'the same over a kernel veth', values: series(tputs, 'kernel', (x) => x.downMbps) },
    }),
    figure({
      name: 'cnr CPU per MB through vhost0 and the vRouter (both directions)',
      unit: 'ms/MB',
      values: series(tputs, 'vrouter', (x) => x.cpuPerMB * 1000),
    }),
  ];
  if (!BASE_BIN) return results;
  // the base build in the same rounds: its own ratio to the kernel veth, and this build against it
  for (const [dir, pick] of [['to a listener behind vhost0', (x: Throughput) => x.upMbps], ['from behind vhost0 to the peer', (x: Throughput) => x.downMbps]] as const) {
    results.push(figure({
      name: `TCP, ${MB} MiB ${dir}, the base build`,
      unit: 'Mbit/s',
      values: series(tputs, 'vrouter', pick, 'base'),
      reference: { name: 'the same over a kernel veth (the base build\'s cnr running)', values: series(tputs, 'kernel', pick, 'base') },
    }));
    results.push(figure({
      name: `TCP, ${MB} MiB ${dir}: this build against the base`,
      unit: 'Mbit/s',
      values: series(tputs, 'vrouter', pick),
      reference: { name: 'the base build in the same round', values: series(tputs, 'vrouter', pick, 'base') },
    }));
  }
  results.push(figure({
    name: 'cnr CPU per MB through vhost0 and the vRouter (both directions): this build against the base',
    unit: 'ms/MB',
    values: series(tputs, 'vrouter', (x) => x.cpuPerMB * 1000),
    reference: { name: 'the base build in the same round', values: series(tputs, 'vrouter', (x) => x.cpuPerMB * 1000, 'base') },
    direction: 'ref/value',
    notes: 'lower is better',
  }));
  return results;
}
