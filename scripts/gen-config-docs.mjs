// Writes docs/configuration.md from the configuration schema (run after `npx tsc -p .`).
// `node scripts/gen-config-docs.mjs --check` exits 1 when the committed file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { configurationReference } from '../dist/src/controller/config/reference.js';

const target = new URL('../docs/configuration.md', import.meta.url);
const text = configurationReference();
if (process.argv.includes('--check')) {
  let cur = '';
  try { cur = readFileSync(target, 'utf8'); } catch { /* missing */ }
  if (cur !== text) {
    console.error('docs/configuration.md is stale: run `npx tsc -p . && node scripts/gen-config-docs.mjs`');
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target.pathname}`);
}
