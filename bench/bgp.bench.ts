/**
 * BGP ingestion: one injector (bench/lib/bgp-injector.ts, in its own namespace) feeds 1M IPv4
 * /28s over one eBGP session to each receiver in turn — BIRD, FRR (bgpd -Z, no zebra), GoBGP
 * and cnr's controller when it is built — at 100 and at 5 prefixes per UPDATE. For each it
 * reports the time from the first UPDATE byte written until the receiver's own count shows
 * every route, the receiver's CPU seconds over that interval (/proc/PID/stat), and its peak
 * RSS (VmHWM), with ratios to BIRD measured in the same run. Receivers import everything and
 * export nothing, so only ingestion is measured.
 *
 * Then, at 100 per UPDATE, the time until every route is in a forwarding table: BIRD into the
 * namespace's kernel FIB (reference) and `cnr start` into its vRouter FIB.
 *
 * Knobs (environment): CNR_BENCH_BGP_COUNT (default 1000000), CNR_BENCH_BGP_GOBGP_COUNT
 * (default 200000: GoBGP is ~50x slower than BIRD; its time ratio is scaled to the full count
 * and says so), CNR_BENCH_BGP_PER_UPDATE ("100,5"), CNR_BENCH_BGP_RECEIVERS
 * ("bird,frr,gobgp,cnr"), CNR_BENCH_BGP_FIB ("1"; "0" skips the FIB figures).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './types.js';
import { Lab, canBuildLabs } from '../test/interop/harness/lab.js';
import { Bird, birdConfig } from '../test/interop/harness/bird.js';
import { Frr, frrBgpConfig } from '../test/interop/harness/frr.js';
import { Gobgp, gobgpConfig } from '../test/interop/harness/gobgp.js';
import { Cnr, cnrAvailable } from '../test/interop/harness/cnr.js';
import { cpuSeconds, memBytes, runAsync, sleep, startDaemon, type Daemon } from '../test/interop/harness/proc.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const injectorJs = join(here, 'lib', 'bgp-injector.js');

const INJ = { addr: '100.64.0.1', asn: 65001 };
const RCV = { addr: '100.64.0.2', asn: 65002 };

interface Receiver {
  name: string;
  /** least time between two polls of the route count (GoBGP walks its table to answer) */
  pollMs?: number;
  /** ms to wait for all routes before giving up */
  timeoutMs: number;
  start(lab: Lab, ns: string, ifname: string): Promise<{ pid: number; count(): Promise<number>; stop(): Promise<void> }>;
}

const receivers: Receiver[] = [
  {
    name: 'bird',
    timeoutMs: 60_000,
    async start(lab, ns) {
      const conf = birdConfig({
        asn: RCV.asn,
        routerId: RCV.addr,
        neighbors: [{ name: 'inj', address: INJ.addr, asn: INJ.asn, channels: 'ipv4 { import all; export none; };' }],
      });
      const b = await Bird.start(lab, ns, 'bench', conf);
      return { pid: b.daemon.pid, count: () => b.routeCount(), stop: () => b.daemon.stop() };
    },
  },
  {
    name: 'frr',
    timeoutMs: 90_000,
    async start(lab, ns) {
      const conf = frrBgpConfig({
        asn: RCV.asn,
        routerId: RCV.addr,
        neighbors: [{ address: INJ.addr, asn: INJ.asn, afLines: ['route-map NONE out'] }],
        extra: 'route-map NONE deny 10\nexit',
      });
      const f = await Frr.start(lab, ns, 'bench', { bgpd: conf });
      return { pid: f.bgpd.pid, count: () => f.prefixCount(INJ.addr), stop: () => f.bgpd.stop(10_000) };
    },
  },
  {
    name: 'gobgp',
    timeoutMs: 150_000,
    pollMs: 1000,
    async start(lab, ns) {
      const conf = gobgpConfig({
        asn: RCV.asn,
        routerId: RCV.addr,
        defaultExport: 'reject-route',
        neighbors: [{ address: INJ.addr, asn: INJ.asn }],
      });
      const g = await Gobgp.start(lab, ns, 'bench', conf);
      return { pid: g.daemon.pid, count: () => g.acceptedCount(INJ.addr), stop: () => g.daemon.stop(10_000) };
    },
  },
  {
    name: 'cnr',
    timeoutMs: 120_000,
    async start(lab, ns, ifname) {
      const c = await Cnr.start(lab, ns, 'bench', {
        asn: RCV.asn,
        routerId: RCV.addr,
        // the interface gives the direct route that resolves the injector's next hop
        interfaces: [{ name: ifname, addresses: [`${RCV.addr}/30`] }],
        neighbors: [{ address: INJ.addr, asn: INJ.asn, families: ['inet'], import: ['ALL'], exportNothing: true }],
        extra: ['set policy-options policy-statement ALL then accept'],
      }, 90_000);
      // routes count once they are active in the RIB (best path chosen, next hop resolved)
      return { pid: c.daemon.pid, count: () => c.activeCount(INJ.addr), stop: () => c.stop() };
    },
  },
];

/**
 * Receivers that install into a forwarding table: BIRD into the namespace's kernel FIB
 * (the reference), and `cnr start` into its vRouter. The vRouter attaches to a second veth
 * that carries the injector's subnet for the RIB, while the BGP session itself stays on the
 * kernel's veth: with `--no-vhost` the node's own traffic must not cross a vRouter-owned
 * interface, and this keeps the session off it.
 */
const fibReceivers: Receiver[] = [
  {
    name: 'bird-kernel',
    timeoutMs: 120_000,
    async start(lab, ns) {
      const conf = birdConfig({
        asn: RCV.asn,
        routerId: RCV.addr,
        kernel: true,
        neighbors: [{ name: 'inj', address: INJ.addr, asn: INJ.asn, channels: 'ipv4 { import all; export none; };' }],
      });
      const b = await Bird.start(lab, ns, 'fib', conf);
      const base = kernelFibPrefixes(lab, ns);
      return { pid: b.daemon.pid, count: async () => kernelFibPrefixes(lab, ns) - base, stop: () => b.daemon.stop(10_000) };
    },
  },
  {
    name: 'cnr-vrouter',
    timeoutMs: 150_000,
    // each count lists every route through the introspect API of the very process being
    // measured (about a second of its CPU at 1M routes): poll seldom, or the polls dominate
    pollMs: 1000,
    async start(lab, ns) {
      const fab = lab.link(ns, ns, {});
      const c = await Cnr.start(lab, ns, 'fib', {
        asn: RCV.asn,
        routerId: RCV.addr,
        interfaces: [{ name: fab.ifA, addresses: [`${RCV.addr}/30`] }],
        neighbors: [{ address: INJ.addr, asn: INJ.asn, families: ['inet'], import: ['ALL'], exportNothing: true }],
        extra: ['set policy-options policy-statement ALL then accept'],
      }, 90_000, { vrouter: true, introspect: '127.0.0.1:8085' });
      return { pid: c.daemon.pid, count: async () => vrouterFibRoutes(ns), stop: () => c.stop() };
    },
  },
];

/** IPv4 prefixes in a namespace's kernel main table (cheap: /proc/net/fib_triestat). */
function kernelFibPrefixes(lab: Lab, ns: string): number {
  const out = lab.exec(ns, 'cat', ['/proc/net/fib_triestat']).stdout;
  const m = /Main:[\s\S]*?Prefixes:\s+(\d+)/.exec(out);
  return m ? Number(m[1]) : 0;
}

/** Routes of the vRouter's default VRF, counted from its introspect API's route list. */
async function vrouterFibRoutes(ns: string): Promise<number> {
  const r = await runAsync('ip', ['netns', 'exec', ns, 'sh', '-c', `curl -s 'http://127.0.0.1:8085/rt?vrf=default&family=inet' | grep -o '"prefix"' | wc -l`], 60_000);
  return Number(r.stdout.trim()) || 0;
}

export interface IngestFigure {
  receiver: string;
  perUpdate: number;
  prefixes: number;
  /** seconds from the first UPDATE byte until the receiver counted every route */
  seconds: number;
  cpuSeconds: number;
  rssBytes: number;
  /** false when the receiver timed out before holding every route */
  complete: boolean;
  counted: number;
  encodeMs: number;
  sendSeconds: number;
  error?: string;
}

interface InjectorEvent {
  event: string;
  t: number;
  [k: string]: unknown;
}

function startInjector(lab: Lab, ns: string, count: number, perUpdate: number): { d: Daemon; next(ev: string, timeoutMs: number): Promise<InjectorEvent> } {
  const d = startDaemon('injector', 'ip', [
    'netns', 'exec', ns, process.execPath, injectorJs,
    '--peer', RCV.addr, '--local-as', String(INJ.asn), '--next-hop', INJ.addr,
    '--count', String(count), '--per-update', String(perUpdate), '--prefix-len', '28',
  ]);
  lab.defer('injector', () => d.stop());
  const events: InjectorEvent[] = [];
  let buf = '';
  d.child.stdout!.on('data', (s: string) => {
    buf += s;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        events.push(JSON.parse(line) as InjectorEvent);
      } catch {
        // not an event line
      }
    }
  });
  const next = async (ev: string, timeoutMs: number): Promise<InjectorEvent> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = events.find((e) => e.event === ev);
      if (hit) return hit;
      const err = events.find((e) => e.event === 'error');
      if (err) throw new Error(`injector: ${String(err['message'])}`);
      if (d.child.exitCode !== null) throw new Error(`injector exited: ${d.output().slice(-500)}`);
      if (Date.now() > deadline) throw new Error(`injector: no '${ev}' within ${timeoutMs} ms`);
      await sleep(20);
    }
  };
  return { d, next };
}

async function measure(r: Receiver, perUpdate: number, count: number, pollMs = 50): Promise<IngestFigure> {
  const lab = new Lab('bb');
  const fig: IngestFigure = {
    receiver: r.name, perUpdate, prefixes: count, seconds: NaN, cpuSeconds: NaN, rssBytes: NaN,
    complete: false, counted: 0, encodeMs: NaN, sendSeconds: NaN,
  };
  try {
    const nsI = lab.ns('inj');
    const nsR = lab.ns('rcv');
    const link = lab.link(nsI, nsR, { a4: `${INJ.addr}/30`, b4: `${RCV.addr}/30` });
    const rcv = await r.start(lab, nsR, link.ifB);
    lab.defer(`stop ${r.name}`, () => rcv.stop());
    const cpu0 = cpuSeconds(rcv.pid);
    const inj = startInjector(lab, nsI, count, perUpdate);
    const enc = await inj.next('encoded', 30_000);
    fig.encodeMs = Number(enc['ms']);
    const sending = await inj.next('sending', 60_000);
    const t0 = sending.t;
    const deadline = t0 + r.timeoutMs;
    let lastLog = 0;
    for (;;) {
      const n = await rcv.count().catch(() => fig.counted);
      const t = Date.now();
      fig.counted = n;
      if (n >= count) {
        fig.seconds = (t - t0) / 1000;
        fig.complete = true;
        break;
      }
      if (t > deadline) {
        fig.seconds = (t - t0) / 1000;
        fig.error = `timed out holding ${n} of ${count} routes`;
        break;
      }
      if (t - lastLog > 5000) {
        lastLog = t;
        if (t - t0 > 4000) console.log(`  ${r.name}: ${n} routes after ${((t - t0) / 1000).toFixed(1)} s`);
      }
      // poll fast while a quick receiver may be finishing, then back off so polling itself
      // (a vtysh/gobgp client each time) does not steal the receiver's CPU
      await sleep(t - t0 < 3000 ? pollMs : Math.max(pollMs, 250));
    }
    const sent = await inj.next('sent', 5_000).catch(() => undefined);
    if (sent) fig.sendSeconds = (sent.t - t0) / 1000;
    fig.cpuSeconds = cpuSeconds(rcv.pid) - cpu0;
    fig.rssBytes = memBytes(rcv.pid, 'VmHWM');
  } catch (err) {
    fig.error = err instanceof Error ? err.message : String(err);
  } finally {
    await lab.close();
  }
  return fig;
}

function envList(name: string, dflt: string): string[] {
  return (process.env[name] ?? dflt).split(',').map((s) => s.trim()).filter(Boolean);
}

export async function run(): Promise<BenchResult[]> {
  if (!canBuildLabs()) {
    console.log('bgp: skipped (needs root to build network namespaces)');
    return [];
  }
  if (!existsSync(injectorJs)) throw new Error(`${injectorJs} missing: build first`);
  const count = Number(process.env['CNR_BENCH_BGP_COUNT'] ?? 1_000_000);
  const gobgpCount = Number(process.env['CNR_BENCH_BGP_GOBGP_COUNT'] ?? Math.min(count, 200_000));
  const perUpdates = envList('CNR_BENCH_BGP_PER_UPDATE', '100,5').map(Number);
  const wanted = envList('CNR_BENCH_BGP_RECEIVERS', 'bird,frr,gobgp,cnr');
  const figures: IngestFigure[] = [];
  const results: BenchResult[] = [];
  for (const per of perUpdates) {
    for (const r of receivers.filter((x) => wanted.includes(x.name))) {
      if (r.name === 'cnr' && !cnrAvailable()) {
        console.log('  cnr: skipped (cnr controller with BGP not built yet)');
        continue;
      }
      const n = r.name === 'gobgp' ? gobgpCount : count;
      const f = await measure(r, per, n, r.pollMs);
      figures.push(f);
      const mb = (f.rssBytes / 2 ** 20).toFixed(0);
      console.log(
        `  ${r.name.padEnd(6)} ${per} per UPDATE, ${n} prefixes: ${f.seconds.toFixed(2)} s, cpu ${f.cpuSeconds.toFixed(2)} s, ` +
          `rss ${mb} MB${f.complete ? '' : ` (INCOMPLETE: ${f.error})`}`,
      );
    }
    const bird = figures.find((f) => f.receiver === 'bird' && f.perUpdate === per && f.complete);
    for (const f of figures.filter((x) => x.perUpdate === per)) {
      if (Number.isNaN(f.seconds)) {
        console.log(`  ${f.receiver}: no figures (${f.error})`);
        continue;
      }
      const label = `ingest ${f.prefixes / 1e6}M /28, ${per}/UPDATE, ${f.receiver}`;
      const notes = [
        f.complete ? undefined : `incomplete: ${f.error}`,
        f.prefixes !== count ? `${f.prefixes} prefixes (fewer: slow receiver); time and cpu ratios extrapolated linearly to ${count}` : undefined,
        'ratio = value / BIRD (lower is better)',
      ].filter(Boolean).join('; ');
      const scale = bird && f.prefixes !== bird.prefixes ? bird.prefixes / f.prefixes : 1;
      const row = (what: string, value: number, unit: string, ref?: number): BenchResult => ({
        name: `${label} ${what}`,
        value,
        unit,
        ...(ref !== undefined && f.receiver !== 'bird' ? { reference: { name: 'bird', value: ref }, ratio: (value * (what === 'rss' ? 1 : scale)) / ref } : {}),
        notes,
      });
      results.push(row('time', f.seconds, 's', bird?.seconds));
      results.push(row('cpu', f.cpuSeconds, 's', bird?.cpuSeconds));
      results.push(row('rss', f.rssBytes / 2 ** 20, 'MB', bird ? bird.rssBytes / 2 ** 20 : undefined));
      results.push({ name: `${label} bytes/route`, value: f.rssBytes / f.prefixes, unit: 'B', notes: 'peak RSS / routes' });
    }
  }
  // time until every route is in a forwarding table: BIRD into the kernel, cnr into its vRouter
  if ((process.env['CNR_BENCH_BGP_FIB'] ?? '1') !== '0') {
    const fib: IngestFigure[] = [];
    for (const r of fibReceivers) {
      if (r.name.startsWith('cnr') && !cnrAvailable()) continue;
      // listing the vRouter's routes costs the receiver CPU: poll it rarely
      const f = await measure(r, 100, count, r.name === 'cnr-vrouter' ? 2000 : 500);
      fib.push(f);
      figures.push(f);
      console.log(`  ${r.name.padEnd(11)} FIB, ${count} prefixes: ${f.seconds.toFixed(2)} s, cpu ${f.cpuSeconds.toFixed(2)} s, rss ${(f.rssBytes / 2 ** 20).toFixed(0)} MB${f.complete ? '' : ` (INCOMPLETE: ${f.error})`}`);
    }
    const ref = fib.find((f) => f.receiver === 'bird-kernel' && f.complete);
    for (const f of fib) {
      if (Number.isNaN(f.seconds)) continue;
      results.push({
        name: `FIB ${count / 1e6}M /28, 100/UPDATE, ${f.receiver} time`,
        value: f.seconds,
        unit: 's',
        ...(ref && f !== ref ? { reference: { name: 'bird-kernel', value: ref.seconds }, ratio: f.seconds / ref.seconds } : {}),
        notes: [
          f.complete ? undefined : `incomplete: ${f.error}`,
          f.receiver === 'cnr-vrouter' ? 'cnr start, vRouter FIB counted from the introspect API every 2 s (the listing itself costs cnr CPU)' : 'BIRD kernel protocol into the namespace kernel FIB',
        ].filter(Boolean).join('; '),
      });
    }
  }
  const dir = join(repo, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bgp-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), figures, results }, null, 2));
  console.log(`  bgp figures written to ${file}`);
  return results;
}

// `node dist/bench/bgp.bench.js` runs this benchmark alone.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run().then((r) => {
    for (const x of r) console.log(`${x.name}: ${x.value.toFixed(3)} ${x.unit}${x.ratio !== undefined ? ` (${x.ratio.toFixed(2)}x bird)` : ''}`);
  }, (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
