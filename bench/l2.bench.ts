/**
 * In-memory L2 switching throughput of the vRouter graph (docs/l2.md), no I/O: the memory
 * driver replays 64-byte frames tagged with two VLANs into a trunk port, 100k MACs (50k per
 * VLAN) are known on the other trunk, every frame is a known unicast switched out tagged, and
 * a sink driver frees what leaves. The reference, in the same round: the L3 IPv4 fast path on
 * the same rig (100k routes, the pipeline benchmark's IPv4 inputs). Packets per second per
 * core = frames sent / CPU seconds of the (single-threaded, workers: 0) process. Each scenario
 * runs in a process of its own (see pipeline.bench.ts: V8 specialises the fast path to the one
 * graph of an isolate); a round runs the three processes one after the other and gives each
 * its median over L2_SECONDS of half-second samples, and the figures are the rounds' min /
 * median / max, with the ratios formed within each round (bench/lib/stats.ts).
 * The third process runs the same L2 rig with the fused L2 fast path off (CNR_DP_NO_L2_FAST_PATH):
 * what l2-fast-path.ts gains over the l2 nodes. Switching between real veths beside Open vSwitch
 * and the Linux bridge is bench/l2-switching.bench.ts.
 */
import { performance } from 'node:perf_hooks';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createDataplane, type VRouterDataplane } from '../src/dataplane/dataplane.js';
import * as F from '../test/support/frames.js';
import { rng } from '../test/support/random.js';
import type { BenchResult } from './types.js';
import { figure, median, ROUNDS } from './lib/stats.js';
import { ipv4Rig } from './lib/ipv4-rig.js';

const SECONDS = Number(process.env.L2_SECONDS ?? 3);
const MACS = 100_000;
const MARK = 'L2_RESULT ';

function pad64(f: Uint8Array): Uint8Array {
  if (f.length >= 64) return f;
  const o = new Uint8Array(64);
  o.set(f);
  return o;
}

function measure(dp: VRouterDataplane, name: string, notes: string): BenchResult {
  const wEnd = performance.now() + 300;
  while (performance.now() < wEnd) dp.poll();
  const rates: number[] = [];
  for (let r = 0; r < Math.max(3, Math.round(SECONDS * 2)); r++) {
    const tx0 = dp.counters().tx!;
    const cpu0 = process.cpuUsage();
    const end = performance.now() + 500;
    while (performance.now() < end) for (let k = 0; k < 16; k++) dp.poll();
    const cpu = process.cpuUsage(cpu0);
    rates.push((dp.counters().tx! - tx0) / ((cpu.user + cpu.system) / 1e6));
  }
  rates.sort((a, b) => a - b);
  const med = median(rates);
  const drops = Object.entries(dp.dropStats()).filter(([, v]) => v > 0);
  const mpps = (x: number) => (x / 1e6).toFixed(2);
  console.log(`${name}: ${mpps(med)} Mpps per core (median of ${rates.length} rounds, min ${mpps(rates[0]!)}, max ${mpps(rates.at(-1)!)})${drops.length ? ` drops ${JSON.stringify(Object.fromEntries(drops))}` : ''}`);
  return { name, value: Math.round(med), unit: 'pps/core', notes: `${notes}; min ${Math.round(rates[0]!)}, max ${Math.round(rates.at(-1)!)} over ${rates.length} half-second rounds; no I/O, workers: 0` };
}

/** 100k MACs on trunk `out` (VLANs 10 and 20), 64 sources on trunk `in`, every frame a known unicast. */
async function l2(suffix = ''): Promise<BenchResult[]> {
  const r = rng(21);
  const mac = (n: number) => Uint8Array.of(0x02, 0x10, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  const frames: Uint8Array[] = [];
  for (let k = 0; k < 65536; k++) {
    const d = r() % MACS;
    const vlan = d < MACS / 2 ? 10 : 20;
    frames.push(pad64(F.eth(mac(d), mac(MACS + (k & 63)), 0x0800, F.ipv4({ src: '10.0.1.10', dst: '10.0.2.10', payload: F.udp(1000, 53, new Uint8Array(18)) }), vlan)));
  }
  const dp = createDataplane({ workers: 0, poolSize: 4096 });
  await dp.addVif({ name: 'in', driver: 'memory', memory: { replay: frames } });
  await dp.addVif({ name: 'out', driver: 'memory', memory: { sink: true } });
  dp.setBridgeDomain({ name: 'bd10', vlan: 10 });
  dp.setBridgeDomain({ name: 'bd20', vlan: 20 });
  dp.setBridgePort('in', { mode: 'trunk', vlans: [10, 20] });
  dp.setBridgePort('out', { mode: 'trunk', vlans: [10, 20] });
  // the MACs straight into the table (learning has its own tests), as if learned
  const bt = dp.tables.bridge;
  const now = Math.floor(Date.now() / 1000);
  const out = dp.vifIndex('out');
  const inn = dp.vifIndex('in');
  for (let n = 0; n < MACS + 64; n++) {
    const m = mac(n);
    const bd = bt.vlanDomain[n < MACS / 2 || n >= MACS ? 10 : 20]!;
    const hi = (m[0]! << 8) | m[1]!;
    const lo = ((m[2]! << 24) | (m[3]! << 16) | (m[4]! << 8) | m[5]!) >>> 0;
    if (n >= MACS) dp.tables.mac.insert(bt.vlanDomain[20]!, hi, lo, inn, now);
    if (dp.tables.mac.insert(bd, hi, lo, n < MACS ? out : inn, now) < 0) throw new Error('MAC table full');
  }
  const res = measure(dp, `L2 switching, ${MACS / 1000}k MACs on two VLANs, trunk to trunk${suffix}`, '64-byte tagged frames, every one a known unicast');
  await dp.stop();
  return [res];
}

/** The reference: the L3 IPv4 fast path on the same rig (100k routes). */
async function ipv4(): Promise<BenchResult[]> {
  const dp = await ipv4Rig(100_000);
  const res = measure(dp, 'IPv4 fast path, 100k routes (reference)', '64-byte frames');
  await dp.stop();
  return [res];
}

/** The same L2 rig through the l2 nodes alone (the fused L2 fast path off): what the fused path gains. */
async function l2Nodes(): Promise<BenchResult[]> {
  return l2(', l2 nodes only (fused L2 fast path off)');
}

const SCENARIOS = { l2: () => l2(), 'l2-nodes': l2Nodes, ipv4 } as const;

export async function run(): Promise<BenchResult[]> {
  const only = process.env.L2_ONLY as keyof typeof SCENARIOS | undefined;
  if (only) return SCENARIOS[only]();
  const rounds: Record<string, BenchResult[]> = { l2: [], 'l2-nodes': [], ipv4: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of Object.keys(SCENARIOS)) {
      const env = { ...process.env, L2_ONLY: name, ...(name === 'l2-nodes' ? { CNR_DP_NO_L2_FAST_PATH: '1' } : {}) };
      const text = execFileSync(process.execPath, [fileURLToPath(import.meta.url)], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
      for (const line of text.split('\n')) {
        if (line.startsWith(MARK)) rounds[name]!.push((JSON.parse(line.slice(MARK.length)) as BenchResult[])[0]!);
        else if (line) console.log(`round ${round} ${line}`);
      }
    }
  }
  const values = (name: string) => rounds[name]!.map((r) => r.value);
  const [sw, nodes, ref] = [rounds['l2']![0]!, rounds['l2-nodes']![0]!, rounds['ipv4']![0]!];
  const perRound = `each round: one process, the median of its half-second samples; ${ROUNDS} rounds, the three processes in turn`;
  const l2Fig = figure({ name: sw.name, unit: 'pps/core', values: values('l2'), reference: { name: ref.name, values: values('ipv4') }, notes: `64-byte tagged frames, every one a known unicast; ${perRound}; no I/O, workers: 0` });
  const vsNodes = figure({ name: `${sw.name}: fused L2 fast path against the l2 nodes`, unit: 'pps/core', values: values('l2'), reference: { name: nodes.name, values: values('l2-nodes') }, notes: perRound });
  const refFig = figure({ name: ref.name, unit: 'pps/core', values: values('ipv4'), notes: `64-byte frames; ${perRound}` });
  console.log(`L2 switching / IPv4 fast path: ${l2Fig.ratio?.toFixed(2)}x; fused L2 fast path / l2 nodes: ${vsNodes.ratio?.toFixed(2)}x (medians of per-round ratios)`);
  return [l2Fig, vsNodes, refFig];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void run().then((r) => console.log(process.env.L2_ONLY ? MARK + JSON.stringify(r) : JSON.stringify(r, null, 2)));
}
