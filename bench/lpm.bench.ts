/**
 * IPv4 LPM: lookup rate and memory for 1M routes with BGP-like prefix lengths (16-8-4-4
 * multibit trie in one shared Uint32Array, src/dataplane/tables/lpm.ts), looked up the way
 * the graph does: lookupBurst over bursts of 256 destinations, with transparent huge pages
 * under the slots as the data plane asks for them. Reference in the same run: the naive
 * per-length exact-match table (one Map per prefix length, longest first) that the unit
 * tests check the trie against. Both are measured in each of >= 3 rounds (CPU time of this
 * process); the ratio is the median of the per-round ratios (bench/lib/stats.ts).
 */
import { performance } from 'node:perf_hooks';
import { LpmTable, LPM4_STRIDES } from '../src/dataplane/tables/lpm.js';
import { adviseHugePages } from '../src/sys/libc.js';
import { mask4, randomPrefixes4, rng } from '../test/support/random.js';
import { figure, ROUNDS } from './lib/stats.js';
import type { BenchResult } from './types.js';

const N = 1_000_000;
const QUERIES = 1 << 20;
const BURST = 256;

export async function run(): Promise<BenchResult[]> {
  const routes = randomPrefixes4(N, 1);
  const t = LpmTable.create(LPM4_STRIDES, 1 << 26, 2);
  let huge = 0;
  try { huge = adviseHugePages(t.shared.slots); } catch { /* no libc binding: ordinary pages */ }
  const byLen = Array.from({ length: 33 }, () => new Map<number, number>());
  const w = new Uint32Array(1);
  const t0 = performance.now();
  for (let k = 0; k < N; k++) {
    w[0] = routes.addr[k]!;
    t.insert(0, w, routes.len[k]!, 1 + (k & 0xffff));
  }
  const insertSecs = (performance.now() - t0) / 1000;
  for (let k = 0; k < N; k++) byLen[routes.len[k]!]!.set(routes.addr[k]! | 0, 1 + (k & 0xffff));
  const distinct = t.routeCount(0);
  const bytes = t.usedSlots * 4;
  console.log(`lpm4: ${distinct} distinct routes inserted in ${insertSecs.toFixed(1)} s, ${(bytes / 1048576).toFixed(1)} MiB of slots (${(bytes / distinct).toFixed(0)} B/route; the writer's side tables are extra)`);

  // destinations: inside random installed prefixes (so every lookup walks a real path)
  const r = rng(5);
  const q = new Int32Array(QUERIES);
  for (let k = 0; k < QUERIES; k++) {
    const i = r() % N;
    q[k] = routes.addr[i]! | (r() & ~mask4(routes.len[i]!));
  }
  const out = new Int32Array(BURST);
  const trie = (): number => {
    let acc = 0;
    for (let k = 0; k < QUERIES; k += BURST) {
      t.lookupBurst(0, q.subarray(k, k + BURST), out, BURST);
      acc += out[0]!;
    }
    return acc;
  };
  const naive = (): number => {
    let acc = 0;
    for (let k = 0; k < QUERIES; k += 8) {
      const a = q[k]!;
      for (let l = 32; l >= 0; l--) {
        const v = byLen[l]!.get((a & mask4(l)) | 0);
        if (v !== undefined) { acc += v; break; }
      }
    }
    return acc;
  };
  const rate = (f: () => number, n: number): number => {
    const c0 = process.cpuUsage();
    f();
    const c = process.cpuUsage(c0);
    return n / ((c.user + c.system) / 1e6);
  };
  trie();
  naive();
  const trieRates: number[] = [];
  const naiveRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    trieRates.push(rate(trie, QUERIES));
    naiveRates.push(rate(naive, QUERIES / 8));
  }
  const lookups = figure({
    name: `IPv4 LPM lookups, 1M routes, ${QUERIES} destinations`,
    unit: 'lookups/s/core',
    values: trieRates,
    reference: { name: 'naive per-length maps (Map per prefix length, longest first)', values: naiveRates },
    notes: `random destinations inside installed prefixes, lookupBurst in bursts of ${BURST}; ${huge ? 'transparent huge pages' : 'ordinary pages'}; CPU time of this process, ${ROUNDS} rounds`,
  });
  console.log(`lpm4: ${(lookups.value / 1e6).toFixed(1)} M lookups/s per core, median of ${ROUNDS} (lookupBurst, bursts of ${BURST}, ${huge ? 'huge pages' : 'ordinary pages'}); naive per-length maps ${(lookups.reference!.value / 1e6).toFixed(2)} M/s; ratio ${lookups.ratio?.toFixed(1)}x`);
  return [
    lookups,
    { name: 'IPv4 LPM memory, 1M routes', value: bytes, unit: 'bytes', notes: `${distinct} distinct prefixes, 16-8-4-4 slots shared with workers (deterministic: one measurement); insert ${insertSecs.toFixed(1)} s` },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void run().then((r) => console.log(JSON.stringify(r, null, 2)));
}
