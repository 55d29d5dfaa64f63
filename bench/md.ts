/**
 * `node dist/bench/md.js bench/results/<time>.json [...]`: prints the run's figures as the
 * Markdown tables of docs/benchmarks.md (bench/lib/markdown.ts), so the docs are written from
 * one run's file rather than retyped.
 */
import { readFileSync } from 'node:fs';
import { resultsMarkdown, type ResultsFile } from './lib/markdown.js';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node dist/bench/md.js bench/results/<time>.json [...]');
  process.exit(2);
}
process.stdout.write(resultsMarkdown(files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as ResultsFile)));
