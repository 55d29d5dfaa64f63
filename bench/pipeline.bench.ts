/**
 * In-memory pipeline throughput of the vRouter graph, no I/O: the memory driver replays
 * 64-byte frames into the pool (the copy a real driver pays, as eight 8-byte moves per frame)
 * and a sink driver frees what the graph transmits. Scenarios, each stating its work in its
 * label, modelled on CSIT's scale tests (1M routes, 1M distinct destinations, the destination
 * changing every packet): IPv4 with a 1M-route FIB (BGP-like prefix lengths) and 1M
 * destinations (then with an 8-rule ingress filter); IPv6 with 100k routes and 1M destinations,
 * with the fast path's route cache and without it (IPv4 has no route cache: every packet walks
 * the trie); IPv4 with an MPLS push of two labels (1 route); an LSR's MPLS swap (8 labels).
 * Packets per second per core = frames forwarded / CPU seconds of this (single-threaded,
 * workers: 0) process, per round of PIPELINE_ROUND_S seconds (default 1), >= 3 rounds after a
 * warm-up, median with min / max (bench/lib/stats.ts).
 * Each scenario runs in a process of its own: the vRouter runs one graph per worker thread,
 * and V8 specialises the fast path's code to its graph only when it is the only one in the
 * isolate (see makeFastPath in src/dataplane/graph/fast-path.ts), so a second data plane in
 * the same process would measure code that production never runs.
 * No external reference runs in this benchmark (docs/benchmarks.md sets published per-core
 * figures beside it, with their CPUs).
 */
import { performance } from 'node:perf_hooks';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createDataplane, type VRouterDataplane } from '../src/dataplane/dataplane.js';
import { formatIpv4, formatIpv6 } from '../src/lib/addr.js';
import { maskWords } from '../src/dataplane/tables/lpm.js';
import * as F from '../test/support/frames.js';
import { mask4, randomPrefixes4, rng } from '../test/support/random.js';
import { figure, ROUNDS } from './lib/stats.js';
import type { BenchResult } from './types.js';

const RIN = '02:aa:00:00:00:01';
const ROUT = '02:aa:00:00:00:02';
const HOST = '02:00:00:00:00:01';
const ROUND_S = Number(process.env.PIPELINE_ROUND_S ?? 1);
/** distinct destinations of the IPv4 and IPv6 scenarios (CSIT: 1M, one per packet) */
const DESTINATIONS = Number(process.env.PIPELINE_DESTINATIONS ?? 1_000_000);

/** 1000000 -> '1M', 65536 -> '66k' (labels) */
const count = (n: number): string => (n >= 1e6 ? `${n / 1e6}M` : `${Math.round(n / 1000)}k`);

function pad64(f: Uint8Array): Uint8Array {
  if (f.length >= 60) return f;
  const o = new Uint8Array(60);
  o.set(f);
  return o;
}

async function rig(frames: Uint8Array[]): Promise<VRouterDataplane> {
  const dp = createDataplane({ workers: 0, poolSize: 4096 });
  await dp.addVif({ name: 'in', driver: 'memory', mac: RIN, addresses: ['10.0.1.1/24', '2001:db8:1::1/64'], memory: { replay: frames } });
  await dp.addVif({ name: 'out', driver: 'memory', mac: ROUT, addresses: ['10.0.2.1/24', '2001:db8:2::1/64'], memory: { sink: true } });
  return dp;
}

/**
 * Copies of one template frame with the destination address patched at `dstOff` (4 or 16
 * bytes): building a million frames through the builders would take longer than the run.
 * For IPv4 the header checksum is recomputed (the data plane checks it).
 */
function framesTo(template: Uint8Array, dstOff: number, dsts: Uint8Array[], ipv4HeaderOff?: number): Uint8Array[] {
  const all = new Uint8Array(template.length * dsts.length);
  const out: Uint8Array[] = [];
  for (let k = 0; k < dsts.length; k++) {
    const f = all.subarray(k * template.length, (k + 1) * template.length);
    f.set(template);
    f.set(dsts[k]!, dstOff);
    if (ipv4HeaderOff !== undefined) {
      f[ipv4HeaderOff + 10] = 0;
      f[ipv4HeaderOff + 11] = 0;
      const c = F.checksum(f, ipv4HeaderOff, 20);
      f[ipv4HeaderOff + 10] = c >> 8;
      f[ipv4HeaderOff + 11] = c & 255;
    }
    out.push(f);
  }
  return out;
}

/**
 * Forward in ROUNDS rounds of ROUND_S seconds after a warm-up; each round's packets per CPU
 * second of this process; the median is quoted, min and max kept (the machine is shared).
 */
function measure(dp: VRouterDataplane, name: string, notes: string): BenchResult {
  const wEnd = performance.now() + 500; // JIT warm-up
  while (performance.now() < wEnd) dp.poll();
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const tx0 = dp.counters().tx!;
    const cpu0 = process.cpuUsage();
    const end = performance.now() + ROUND_S * 1000;
    while (performance.now() < end) for (let k = 0; k < 16; k++) dp.poll();
    const cpu = process.cpuUsage(cpu0);
    rates.push((dp.counters().tx! - tx0) / ((cpu.user + cpu.system) / 1e6));
  }
  const drops = Object.entries(dp.dropStats()).filter(([, v]) => v > 0);
  const f = figure({ name, unit: 'pps/core', values: rates, notes: `${notes}; 64-byte frames; ${ROUNDS} rounds of ${ROUND_S} s, packets per CPU second of the one forwarding thread; no I/O, workers: 0` });
  console.log(`${name}: ${(f.spread!.median / 1e6).toFixed(2)} Mpps per core (min ${(f.spread!.min / 1e6).toFixed(2)}, max ${(f.spread!.max / 1e6).toFixed(2)}, ${ROUNDS} rounds)${drops.length ? ` drops ${JSON.stringify(Object.fromEntries(drops))}` : ''}`);
  return f;
}

async function ipv4(): Promise<BenchResult[]> {
  const routes = randomPrefixes4(1_000_000, 1);
  // DESTINATIONS distinct destinations inside installed prefixes, one per frame of the
  // replayed list, so that the destination changes every packet and lookups touch the whole table
  const r = rng(7);
  const seen = new Set<number>();
  const dsts: Uint8Array[] = [];
  while (dsts.length < DESTINATIONS) {
    const i = r() % routes.addr.length;
    const dst = (routes.addr[i]! | (r() & ~mask4(routes.len[i]!))) >>> 0;
    if (dst >>> 28 >= 14 || dst >>> 24 === 0 || seen.has(dst)) continue; // multicast and 0/8 are not forwarded
    seen.add(dst);
    dsts.push(Uint8Array.of(dst >>> 24, (dst >>> 16) & 255, (dst >>> 8) & 255, dst & 255));
  }
  const template = pad64(F.eth(RIN, HOST, 0x0800, F.ipv4({ src: '10.0.1.10', dst: '0.0.0.0', payload: F.udp(1000, 53, new Uint8Array(18)) })));
  const dp = await rig(framesTo(template, 14 + 16, dsts, 14));
  const nhs = [0, 1, 2, 3].map((k) => dp.addNexthop({ type: 'encap', vif: 'out', dmac: `02:00:00:00:02:0${k}` }));
  // 1k routes through the API, the rest straight into the LPM table (route programming has its own benchmark)
  const t0 = performance.now();
  const w = new Uint32Array(1);
  for (let k = 0; k < routes.addr.length; k++) {
    if (k < 1000) dp.addRoute('default', `${formatIpv4(routes.addr[k]!)}/${routes.len[k]}`, nhs[k & 3]!);
    else {
      w[0] = routes.addr[k]!;
      dp.tables.lpm4.insert(0, w, routes.len[k]!, nhs[k & 3]!);
    }
  }
  const secs = (performance.now() - t0) / 1000;
  const distinct = dp.tables.lpm4.routeCount(0);
  console.log(`ipv4: 1M routes installed in ${secs.toFixed(1)} s (${distinct} distinct), ${dsts.length} destinations`);
  const dk = count(dsts.length);
  const res = measure(dp, `IPv4 forwarding, 1M routes, ${dk} destinations changing every packet`, `${distinct} distinct prefixes (BGP-like lengths), 4 next hops; IPv4 has no route cache (every packet walks the 16-8-4-4 trie)`);
  // the same with an 8-rule filter on the receiving vif whose last rule permits the traffic
  const rules: Parameters<VRouterDataplane['setAcl']>[1] = [];
  for (let k = 0; k < 7; k++) rules.push({ action: 'deny', protocol: 'tcp', src: `192.0.${k}.0/24`, dstPort: 22 + k });
  rules.push({ action: 'permit', protocol: 'udp', src: '10.0.1.0/24', dstPort: 53 });
  dp.setAcl('in', rules);
  const acl = measure(dp, `IPv4 forwarding, 1M routes, ${dk} destinations, 8-rule ingress filter (8th rule matches)`, 'as the figure without the filter');
  const hits = dp.listAcls()[0]!;
  acl.notes += `; the packets match the 8th rule (${hits.rules[7]!.hits} hits, ${hits.unmatched} unmatched)`;
  await dp.stop();
  return [res, acl];
}

async function ipv6(): Promise<BenchResult[]> {
  const r = rng(3);
  const toBytes = (w: Uint32Array) => Uint8Array.from({ length: 16 }, (_, k) => (w[k >> 2]! >>> (24 - 8 * (k & 3))) & 255);
  const prefixes: { w: Uint32Array; len: number }[] = [];
  for (let k = 0; k < 100_000; k++) {
    const len = [32, 40, 48, 48, 56, 64, 64, 128][r() % 8]!;
    // a few thousand /16-/32 allocations under 2000::/3, like the real table
    const w = new Uint32Array([((0x2000 + (r() % 2048)) << 16 | (r() & 0xffff)) >>> 0, r(), r(), r()]);
    prefixes.push({ w: maskWords(w, len, w), len });
  }
  const dsts: Uint8Array[] = [];
  for (let k = 0; k < DESTINATIONS; k++) {
    const p = prefixes[r() % prefixes.length]!;
    const d = new Uint32Array(4);
    for (let q = 0; q < 4; q++) {
      const bits = p.len - q * 32;
      const keep = bits >= 32 ? 0xffffffff : bits <= 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      d[q] = ((p.w[q]! & keep) | (r() & ~keep)) >>> 0;
    }
    dsts.push(toBytes(d)); // random low bits: a /128 route aside, duplicates are vanishingly rare
  }
  const template = pad64(F.eth(RIN, HOST, 0x86dd, F.ipv6({ src: '2001:db8:1::10', dst: '::', payload: F.udp(1000, 53, new Uint8Array(2)) })));
  const dp = await rig(framesTo(template, 14 + 24, dsts));
  const nh = dp.addNexthop({ type: 'encap', vif: 'out', dmac: '02:00:00:00:02:01' });
  for (const p of prefixes) dp.addRoute('default', `${formatIpv6(toBytes(p.w))}/${p.len}`, nh);
  const trieBytes = dp.tables.lpm6.usedSlots * 4;
  const distinct = dp.tables.lpm6.routeCount(0);
  console.log(`ipv6: ${distinct} distinct routes (through the API), ${(trieBytes / 1048576).toFixed(1)} MiB of trie slots, ${dsts.length} destinations`);
  const dk = count(dsts.length);
  // the trie alone, then with the fast path's route cache in front of it
  const g = (dp as unknown as { engine: { graph: { cache6On: boolean; cache6?: { bytes: number; hits: number; misses: number } } } }).engine.graph;
  g.cache6On = false;
  const trie = measure(dp, `IPv6 forwarding, 100k routes, ${dk} destinations changing every packet, no route cache (trie only)`, `${distinct} distinct prefixes; ${(trieBytes / 1048576).toFixed(1)} MiB of trie slots`);
  g.cache6On = true;
  const cached = measure(dp, `IPv6 forwarding, 100k routes, ${dk} destinations changing every packet, with the route cache`, `${distinct} distinct prefixes`);
  const c = g.cache6!;
  const hitRate = c.hits / (c.hits + c.misses);
  console.log(`ipv6: route cache ${(c.bytes / 1048576).toFixed(0)} MiB per worker, ${(100 * hitRate).toFixed(0)}% hits over ${dsts.length} destinations`);
  cached.notes += `; route cache of ${(c.bytes / 1048576).toFixed(0)} MiB per worker in front of the trie (${(trieBytes / 1048576).toFixed(1)} MiB), ${(100 * hitRate).toFixed(0)}% hits over ${dsts.length} destinations`;
  await dp.stop();
  return [cached, trie];
}

async function mplsPush(): Promise<BenchResult> {
  const r = rng(11);
  const frames: Uint8Array[] = [];
  for (let k = 0; k < 4096; k++) {
    frames.push(pad64(F.eth(RIN, HOST, 0x0800, F.ipv4({ src: '10.0.1.10', dst: formatIpv4(((100 << 24) | (r() & 0xffffff)) >>> 0), payload: F.udp(1000, 53, new Uint8Array(18)) }))));
  }
  const dp = await rig(frames);
  const nh = dp.addNexthop({ type: 'encap', vif: 'out', dmac: '02:00:00:00:02:01', labels: [16001, 24001] });
  dp.addRoute('default', '100.0.0.0/8', nh);
  const res = measure(dp, 'IPv4 + MPLS push (2 labels), 1 route, 4096 destinations', 'a one-route FIB: the label push, not the lookup, is the work here; not comparable with the 1M-route figures');
  await dp.stop();
  return res;
}

/** An LSR: labelled frames (8 labels in, one label each out), swapped toward one next hop. */
async function mplsSwap(): Promise<BenchResult> {
  const r = rng(13);
  const frames: Uint8Array[] = [];
  for (let k = 0; k < 4096; k++) {
    const ip = F.ipv4({ src: '10.0.1.10', dst: formatIpv4(((100 << 24) | (r() & 0xffffff)) >>> 0), payload: F.udp(1000, 53, new Uint8Array(14)) });
    frames.push(pad64(F.eth(RIN, HOST, 0x8847, F.mpls([1000 + (k & 7)], 64, ip))));
  }
  const dp = await rig(frames);
  const nh = dp.addNexthop({ type: 'encap', vif: 'out', dmac: '02:00:00:00:02:01' });
  for (let k = 0; k < 8; k++) dp.addLabel(1000 + k, { action: 'swap', outLabels: [2000 + k], nh });
  const res = measure(dp, 'MPLS swap (LSR), 8 incoming labels, 1 label out', 'labelled IPv4 frames, 4096 distinct');
  await dp.stop();
  return res;
}

const SCENARIOS = { ipv4, ipv6, mpls: async () => [await mplsPush()], lsr: async () => [await mplsSwap()] } as const;
const MARK = 'PIPELINE_RESULT ';

export async function run(): Promise<BenchResult[]> {
  const only = process.env.PIPELINE_ONLY as keyof typeof SCENARIOS | undefined; // one scenario, in this process
  if (only) {
    if (!SCENARIOS[only]) throw new Error(`PIPELINE_ONLY: ${only} is not one of ${Object.keys(SCENARIOS).join(', ')}`);
    return SCENARIOS[only]();
  }
  const out: BenchResult[] = [];
  for (const name of Object.keys(SCENARIOS)) {
    const text = execFileSync(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...process.env, PIPELINE_ONLY: name }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });
    for (const line of text.split('\n')) {
      if (line.startsWith(MARK)) out.push(...(JSON.parse(line.slice(MARK.length)) as BenchResult[]));
      else if (line) console.log(line);
    }
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void run().then((r) => console.log(process.env.PIPELINE_ONLY ? MARK + JSON.stringify(r) : JSON.stringify(r, null, 2)));
}
