import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configurationReference } from './reference.js';
import { schema } from './schema/index.js';

test('docs/configuration.md is generated from the current schema (node scripts/gen-config-docs.mjs)', () => {
  const committed = readFileSync(new URL('../../../../docs/configuration.md', import.meta.url), 'utf8');
  assert.equal(committed, configurationReference());
});

test('the reference documents every area and nested statement', () => {
  const doc = configurationReference();
  for (const area of Object.keys(schema.children)) assert.match(doc, new RegExp(`^## ${area}$`, 'm'));
  assert.match(doc, /`routing-options static route <destination-prefix> qualified-next-hop <address> preference` \| integer 0\.\.4294967295/);
  assert.match(doc, /`protocols bgp group <group-name> neighbor <address> multihop ttl`/);
  assert.match(doc, /`policy-options as-path <path-name> \[path\]`/);
});
