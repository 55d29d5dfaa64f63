/**
 * `npm run bench`: runs every bench/*.bench.ts module (compiled to dist/bench/) in turn,
 * each exporting `run(): Promise<BenchResult[]>`, prints one table of figures beside their
 * same-run references, and writes the whole set to bench/results/<timestamp>.json.
 * Arguments filter modules by name: `npm run bench -- pipeline lpm`.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return v.toPrecision(3);
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const modules = readdirSync(here)
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort();
  const all: (BenchResult & { module: string })[] = [];
  let failed = 0;
  for (const m of modules) {
    const name = m.replace(/\.bench\.js$/, '');
    console.log(`\n== ${name}`);
    try {
      const mod = (await import(join(here, m))) as { run(): Promise<BenchResult[]> };
      const results = await mod.run();
      for (const r of results) all.push({ ...r, module: name });
    } catch (err) {
      failed++;
      console.error(`bench ${name} failed: ${err instanceof Error ? err.stack : String(err)}`);
    }
  }
  const rows = all.map((r) => [
    r.module,
    r.name,
    `${fmt(r.value)} ${r.unit}`,
    r.reference ? `${r.reference.name}: ${fmt(r.reference.value)} ${r.unit}` : '-',
    r.ratio !== undefined ? `${r.ratio.toFixed(2)}x` : '-',
  ]);
  const head = ['module', 'figure', 'cnr', 'reference (same run)', 'ratio'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r));
  const dir = join(repo, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), results: all }, null, 2));
  console.log(`\nwritten to ${file}`);
  if (failed) process.exitCode = 1;
}

void main();
