/**
 * Results files as the Markdown of docs/benchmarks.md: one table per module with every figure's
 * median and [min..max], its same-run reference the same way, and the median of the per-round
 * ratios with its spread; the machine and each module's load average above it, each figure's
 * notes below it. The docs' tables are then written from one run, not retyped
 * (`node dist/bench/md.js bench/results/<time>.json`).
 */
import type { BenchResult, Spread } from '../types.js';

export interface ResultsFile {
  date?: string;
  machineLine?: string;
  modules?: { module: string; load: { start: number[]; end: number[] }; seconds: number; error?: string }[];
  results: (BenchResult & { module: string })[];
}

/** A figure as the docs print it: thousands separated, three significant digits below 1,000. */
export function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return Number(v.toPrecision(3)).toString();
}

const spread = (s: Spread | undefined, f: (v: number) => string): string => (s && s.n > 1 ? ` [${f(s.min)}..${f(s.max)}]` : s ? ' (1 round)' : '');

/** A table cell's text: pipes escaped, line breaks flattened. */
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

export function resultsMarkdown(files: ResultsFile[]): string {
  const out: string[] = [];
  for (const f of files) {
    out.push(`Run ${f.date ?? '(undated)'} on ${f.machineLine ?? '(machine not named)'}.`, '');
    for (const m of f.modules ?? []) {
      out.push(`- ${m.module}: ${Math.round(m.seconds)} s, load average ${m.load.start.join(' ')} at start, ${m.load.end.join(' ')} at end${m.error ? ` — **failed**: ${cell(m.error)}` : ''}`);
    }
    const modules = [...new Set(f.results.map((r) => r.module))];
    for (const mod of modules) {
      const rows = f.results.filter((r) => r.module === mod);
      out.push('', `### ${mod}`, '', '| figure | cnr, median [min..max] | reference, same run, median [min..max] | ratio, median of per-round [min..max] |', '|---|---|---|---|');
      for (const r of rows) {
        const ref = r.reference ? `${cell(r.reference.name)}: ${num(r.reference.value)}${spread(r.reference.spread, num)}` : '-';
        const ratio = r.ratio !== undefined ? `**${r.ratio.toFixed(2)}x**${spread(r.ratioSpread, (v) => v.toFixed(2))}` : '-';
        out.push(`| ${cell(r.name)} | ${num(r.value)} ${cell(r.unit)}${spread(r.spread, num)} | ${ref} | ${ratio} |`);
      }
      const noted = rows.filter((r) => r.notes);
      if (noted.length) out.push('', ...noted.map((r) => `- *${cell(r.name)}*: ${cell(r.notes!)}`));
    }
    out.push('');
  }
  return out.join('\n');
}
