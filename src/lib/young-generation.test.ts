/**
 * lib/young-generation.ts: with it, V8's young generation stays at its starting size while
 * most young objects survive; without it, it grows. Each case in a child process of its own
 * (the setting is process-wide), reading V8's new-space size after retaining ~40 MB of objects.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

const moduleUrl = new URL('./young-generation.js', import.meta.url).href;

function newSpaceMbAfterSurvivors(small: boolean): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { keepYoungGenerationSmall } from ${JSON.stringify(moduleUrl)};
    if (${small}) keepYoungGenerationSmall();
    const kept = [];
    for (let i = 0; i < 400000; i++) kept.push({ i, s: 'x' + i, a: [i, i + 1] });
    const ns = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    console.log(ns.space_size / 1048576, kept.length);
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  return Number(out.split(' ')[0]);
}

test('the young generation keeps its starting size with the setting, and grows without it', () => {
  const small = newSpaceMbAfterSurvivors(true);
  const grown = newSpaceMbAfterSurvivors(false);
  assert.ok(small <= 2, `new space ${small} MB with the setting`);
  assert.ok(grown >= 4 * small, `new space ${grown} MB without it (${small} MB with)`);
});
