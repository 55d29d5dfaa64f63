/**
 * `npm run bench`: runs every bench/*.bench.ts module (compiled to dist/bench/) in turn,
 * each exporting `run(): Promise<BenchResult[]>`, prints one table of figures beside their
 * same-run references, and writes the whole set to bench/results/<timestamp>.json.
 * Every figure is the median of >= 3 rounds with its min / max, every ratio the median of
 * per-round ratios (bench/lib/stats.ts); the machine is named at the top and in the file, and
 * each module's load average at its start and end is printed and stored (the machine is shared).
 * Arguments filter modules by name: `npm run bench -- pipeline lpm`.
 */
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult, Spread } from './types.js';
import { describeMachine, loadNow, machineLine, writeResultsFile } from './lib/machine.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return v.toPrecision(3);
}

const span = (s: Spread | undefined, f: (v: number) => string = fmt): string => (s && s.n > 1 ? ` [${f(s.min)}..${f(s.max)}, n=${s.n}]` : '');

interface ModuleRun {
  module: string;
  load: { start: [number, number, number]; end: [number, number, number] };
  seconds: number;
  error?: string;
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const modules = readdirSync(here)
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort();
  describeMachine();
  console.log(`machine: ${machineLine()}`);
  const all: (BenchResult & { module: string })[] = [];
  const runs: ModuleRun[] = [];
  let failed = 0;
  for (const m of modules) {
    const name = m.replace(/\.bench\.js$/, '');
    const start = loadNow();
    const t0 = performance.now();
    console.log(`\n== ${name} (load average ${start.join(' ')} at start)`);
    let error: string | undefined;
    try {
      const mod = (await import(join(here, m))) as { run(): Promise<BenchResult[]> };
      const results = await mod.run();
      for (const r of results) all.push({ ...r, module: name });
    } catch (err) {
      failed++;
      error = err instanceof Error ? err.message : String(err);
      console.error(`bench ${name} failed: ${err instanceof Error ? err.stack : String(err)}`);
    }
    const end = loadNow();
    const seconds = (performance.now() - t0) / 1000;
    console.log(`== ${name}: ${seconds.toFixed(0)} s, load average ${end.join(' ')} at end`);
    runs.push({ module: name, load: { start, end }, seconds, ...(error ? { error } : {}) });
  }
  const rows = all.map((r) => [
    r.module,
    r.name,
    `${fmt(r.value)} ${r.unit}${span(r.spread)}`,
    r.reference ? `${r.reference.name}: ${fmt(r.reference.value)}${span(r.reference.spread)}` : '-',
    r.ratio !== undefined ? `${r.ratio.toFixed(2)}x${span(r.ratioSpread, (v) => v.toFixed(2))}` : '-',
  ]);
  const head = ['module', 'figure (median of rounds)', 'cnr [min..max]', 'reference, same run [min..max]', 'ratio, median of per-round'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\nmachine: ${machineLine()}`);
  console.log(`${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r));
  for (const r of runs) console.log(`${r.module}: load average ${r.load.start.join(' ')} -> ${r.load.end.join(' ')} over ${r.seconds.toFixed(0)} s${r.error ? ` (FAILED: ${r.error})` : ''}`);
  const file = writeResultsFile(repo, '', { modules: runs, results: all });
  console.log(`\nwritten to ${file}`);
  if (failed) process.exitCode = 1;
}

void main();
