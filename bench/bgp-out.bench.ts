/**
 * BGP outbound (issue 16): the router under test learns 1M IPv4 /28s (one attribute set) from
 * one eBGP injector (bench/lib/bgp-injector.ts) and re-advertises them over eBGP to 10 counting
 * receivers (bench/lib/bgp-count-receiver.ts: sessions that only count distinct prefixes). The
 * figure is the time from the injector's first UPDATE byte until every receiver holds every
 * prefix — ingestion, best path and update generation together, as a peer sees it — with the
 * router's CPU seconds over that interval and its peak RSS. BIRD (no kernel protocol), FRR
 * (bgpd -Z, no zebra) and cnr's controller (no vRouter) take turns in each round, in the same
 * topology: injector namespace -- router namespace -- receivers' namespace (10 addresses on one
 * link, 10 ASes).
 *
 * Stop rule: the receivers' own "complete" event per session (every prefix of the range held);
 * no polling of the router. Method: >= 3 rounds (BENCH_ROUNDS), min / median / max, ratios to
 * BIRD formed within each round (bench/lib/stats.ts).
 *
 * Knobs: CNR_BENCH_BGPOUT_COUNT (default 1000000), CNR_BENCH_BGPOUT_PEERS (10),
 * CNR_BENCH_BGPOUT_ROUTERS ("bird,frr,cnr"), CNR_BENCH_BGPOUT_TIMEOUT_S (300).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './types.js';
import { figure, ROUNDS } from './lib/stats.js';
import { loadNow, writeResultsFile } from './lib/machine.js';
import { startEventDaemon, type JsonEvent } from './lib/json-events.js';
import { Lab, canBuildLabs } from '../test/interop/harness/lab.js';
import { Bird, birdConfig } from '../test/interop/harness/bird.js';
import { Frr, frrBgpConfig } from '../test/interop/harness/frr.js';
import { Cnr, cnrAvailable } from '../test/interop/harness/cnr.js';
import { cpuSeconds, memBytes, must } from '../test/interop/harness/proc.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const injectorJs = join(here, 'lib', 'bgp-injector.js');
const receiverJs = join(here, 'lib', 'bgp-count-receiver.js');

const INJ = { addr: '100.64.0.1', asn: 65001 };
const DUT = { addr: '100.64.0.2', asn: 65002, down: '100.65.0.1' };
const FIRST_RCV_AS = 65100;
const rcvAddr = (i: number) => `100.65.0.${i + 2}`;

interface Router {
  name: string;
  start(lab: Lab, ns: string, ifs: { up: string; down: string }, peers: number): Promise<{ pid: number; stop(): Promise<void> }>;
}

const routers: Router[] = [
  {
    name: 'bird',
    async start(lab, ns, _ifs, peers) {
      const conf = birdConfig({
        asn: DUT.asn,
        routerId: DUT.addr,
        neighbors: [
          { name: 'inj', address: INJ.addr, asn: INJ.asn, channels: 'ipv4 { import all; export none; };' },
          ...Array.from({ length: peers }, (_, i) => ({ name: `rcv${i}`, address: rcvAddr(i), asn: FIRST_RCV_AS + i, channels: 'ipv4 { import none; export all; };' })),
        ],
      });
      const b = await Bird.start(lab, ns, 'out', conf);
      return { pid: b.daemon.pid, stop: () => b.daemon.stop(10_000) };
    },
  },
  {
    name: 'frr',
    async start(lab, ns, _ifs, peers) {
      const conf = frrBgpConfig({
        asn: DUT.asn,
        routerId: DUT.addr,
        neighbors: [
          { address: INJ.addr, asn: INJ.asn, afLines: ['route-map NONE out'] },
          ...Array.from({ length: peers }, (_, i) => ({ address: rcvAddr(i), asn: FIRST_RCV_AS + i, afLines: ['route-map NONE in'] })),
        ],
        extra: 'route-map NONE deny 10\nexit',
      });
      const f = await Frr.start(lab, ns, 'out', { bgpd: conf });
      return { pid: f.bgpd.pid, stop: () => f.bgpd.stop(10_000) };
    },
  },
  {
    name: 'cnr',
    async start(lab, ns, ifs, peers) {
      const c = await Cnr.start(lab, ns, 'out', {
        asn: DUT.asn,
        routerId: DUT.addr,
        interfaces: [
          { name: ifs.up, addresses: [`${DUT.addr}/30`] },
          { name: ifs.down, addresses: [`${DUT.down}/24`] },
        ],
        neighbors: [
          { address: INJ.addr, asn: INJ.asn, families: ['inet'], import: ['ALL'], exportNothing: true },
          // the default export ('originate' in the harness: BGP and static routes)
          ...Array.from({ length: peers }, (_, i) => ({ address: rcvAddr(i), asn: FIRST_RCV_AS + i, families: ['inet' as const], import: ['NOTHING'] })),
        ],
        extra: ['set policy-options policy-statement ALL then accept'],
      }, 90_000);
      return { pid: c.daemon.pid, stop: () => c.stop() };
    },
  },
];

export interface OutFigure {
  router: string;
  round: number;
  prefixes: number;
  peers: number;
  /** seconds from the injector's first UPDATE byte until the last receiver held every prefix */
  seconds: number;
  /** ... until the first receiver did */
  firstSeconds: number;
  /** the injector's own send time (TCP took every byte): ingestion's share is at least this */
  sendSeconds: number;
  cpuSeconds: number;
  rssBytes: number;
  receiverCpuSeconds: number;
  /** NLRI the receivers were sent in total (repeats included) per expected prefix */
  announcedPerPrefix: number;
  complete: boolean;
  load: [number, number, number];
  error?: string;
}

async function measure(r: Router, count: number, peers: number, timeoutMs: number, round: number): Promise<OutFigure> {
  const fig: OutFigure = {
    router: r.name, round, prefixes: count, peers, seconds: NaN, firstSeconds: NaN, sendSeconds: NaN,
    cpuSeconds: NaN, rssBytes: NaN, receiverCpuSeconds: NaN, announcedPerPrefix: NaN, complete: false, load: loadNow(),
  };
  const lab = new Lab('bo');
  try {
    const nsI = lab.ns('inj');
    const nsD = lab.ns('dut');
    const nsR = lab.ns('rcv');
    const up = lab.link(nsI, nsD, { a4: `${INJ.addr}/30`, b4: `${DUT.addr}/30` });
    const down = lab.link(nsD, nsR, { a4: `${DUT.down}/24`, b4: `${rcvAddr(0)}/24` });
    for (let i = 1; i < peers; i++) must('ip', ['-n', nsR, 'addr', 'add', `${rcvAddr(i)}/24`, 'dev', down.ifB]);
    const dut = await r.start(lab, nsD, { up: up.ifB, down: down.ifA }, peers);
    lab.defer(`stop ${r.name}`, () => dut.stop());
    const rcv = startEventDaemon(lab, nsR, 'receivers', receiverJs, [
      '--dut', DUT.down, '--locals', Array.from({ length: peers }, (_, i) => rcvAddr(i)).join(','),
      '--first-as', String(FIRST_RCV_AS), '--base', '10.0.0.0', '--prefix-len', '28', '--count', String(count),
    ]);
    await rcv.count('established', peers, 120_000);
    const cpu0 = cpuSeconds(dut.pid);
    const rcvCpu0 = cpuSeconds(rcv.d.pid);
    const inj = startEventDaemon(lab, nsI, 'injector', injectorJs, [
      '--peer', DUT.addr, '--local-as', String(INJ.asn), '--next-hop', INJ.addr, '--count', String(count), '--per-update', '100', '--prefix-len', '28',
    ]);
    const t0 = (await inj.next('sending', 120_000)).t;
    let done: JsonEvent[];
    try {
      done = await rcv.count('complete', peers, timeoutMs);
    } catch (err) {
      const p = rcv.events.filter((e) => e.event === 'progress').at(-1);
      throw new Error(`${err instanceof Error ? err.message : String(err)}; receivers held ${JSON.stringify(p?.['held'])}`);
    }
    fig.seconds = (Math.max(...done.map((e) => e.t)) - t0) / 1000;
    fig.firstSeconds = (Math.min(...done.map((e) => e.t)) - t0) / 1000;
    fig.cpuSeconds = cpuSeconds(dut.pid) - cpu0;
    fig.receiverCpuSeconds = cpuSeconds(rcv.d.pid) - rcvCpu0;
    fig.rssBytes = memBytes(dut.pid, 'VmHWM');
    fig.announcedPerPrefix = done.reduce((a, e) => a + Number(e['announced']), 0) / (count * peers);
    const sent = await inj.next('sent', 5_000).catch(() => undefined);
    if (sent) fig.sendSeconds = (sent.t - t0) / 1000;
    fig.complete = true;
  } catch (err) {
    fig.error = err instanceof Error ? err.message : String(err);
  } finally {
    await lab.close();
  }
  return fig;
}

export async function run(): Promise<BenchResult[]> {
  if (!canBuildLabs()) {
    console.log('bgp-out: skipped (needs root to build network namespaces)');
    return [];
  }
  if (!existsSync(receiverJs)) throw new Error(`${receiverJs} missing: build first`);
  const count = Number(process.env['CNR_BENCH_BGPOUT_COUNT'] ?? 1_000_000);
  const peers = Number(process.env['CNR_BENCH_BGPOUT_PEERS'] ?? 10);
  const timeoutMs = Number(process.env['CNR_BENCH_BGPOUT_TIMEOUT_S'] ?? 300) * 1000;
  const wanted = (process.env['CNR_BENCH_BGPOUT_ROUTERS'] ?? 'bird,frr,cnr').split(',').map((s) => s.trim());
  const active = routers.filter((x) => wanted.includes(x.name) && (x.name !== 'cnr' || cnrAvailable()));
  const figures: OutFigure[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of active) {
      const f = await measure(r, count, peers, timeoutMs, round);
      figures.push(f);
      console.log(
        `  round ${round + 1} ${r.name.padEnd(5)} ${count} prefixes to ${peers} peers: ${f.seconds.toFixed(2)} s (first peer ${f.firstSeconds.toFixed(2)} s, injector sent in ${f.sendSeconds.toFixed(2)} s), ` +
          `cpu ${f.cpuSeconds.toFixed(2)} s, rss ${(f.rssBytes / 2 ** 20).toFixed(0)} MB, receivers' cpu ${f.receiverCpuSeconds.toFixed(2)} s, ` +
          `NLRI sent per prefix and peer ${f.announcedPerPrefix.toFixed(2)}, load ${f.load.join(' ')}${f.complete ? '' : ` (INCOMPLETE: ${f.error})`}`,
      );
    }
  }
  const series = (name: string, pick: (f: OutFigure) => number): number[] =>
    Array.from({ length: ROUNDS }, (_, i) => {
      const f = figures.find((x) => x.router === name && x.round === i);
      return f?.complete ? pick(f) : Number.NaN;
    });
  const results: BenchResult[] = [];
  for (const r of active) {
    const label = `BGP outbound: ${count / 1e6}M /28 (1 attribute set) from 1 eBGP peer to ${peers} eBGP peers, ${r.name}`;
    const mine = figures.filter((f) => f.router === r.name);
    const incomplete = mine.filter((f) => !f.complete).map((f) => `round ${f.round + 1}: ${f.error}`);
    const notes = [
      "stop rule: every receiver session held every prefix (the receivers' own count; the router is not polled)",
      `load average at each run's start: ${mine.map((f) => f.load[0]).join(', ')}`,
      incomplete.length ? `incomplete: ${incomplete.join('; ')}` : undefined,
    ].filter(Boolean).join('; ');
    if (!series(r.name, (f) => f.seconds).some(Number.isFinite)) {
      results.push({ name: `${label}: time`, value: Number.NaN, unit: 's', notes });
      continue;
    }
    const ref = (pick: (f: OutFigure) => number) => (r.name === 'bird' ? {} : { reference: { name: 'bird, same round', values: series('bird', pick) }, direction: 'ref/value' as const });
    results.push(figure({ name: `${label}: time until every peer has every route`, unit: 's', values: series(r.name, (f) => f.seconds), ...ref((f) => f.seconds), notes }));
    results.push(figure({ name: `${label}: router CPU`, unit: 's', values: series(r.name, (f) => f.cpuSeconds), ...ref((f) => f.cpuSeconds), notes: 'CPU seconds of the router process over the same interval' }));
    results.push(figure({ name: `${label}: peak RSS`, unit: 'MB', values: series(r.name, (f) => f.rssBytes / 2 ** 20), ...ref((f) => f.rssBytes / 2 ** 20), notes: 'VmHWM of the router process' }));
  }
  const file = writeResultsFile(repo, 'bgp-out-', { figures, results });
  console.log(`  bgp-out figures written to ${file}`);
  return results;
}

// `node dist/bench/bgp-out.bench.js` runs this benchmark alone.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run().then((r) => {
    for (const x of r) console.log(`${x.name}: ${x.value.toFixed(3)} ${x.unit}${x.ratio !== undefined ? ` (${x.ratio.toFixed(2)}x bird)` : ''}`);
  }, (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
