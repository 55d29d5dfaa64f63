import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flagsOfShebang, hasYoungGenerationFloor } from './launch-flags.js';

test('the flags of an env -S node first line, and none for other lines', () => {
  assert.deepEqual(flagsOfShebang('#!/usr/bin/env -S node --min-semi-space-size=16'), ['--min-semi-space-size=16']);
  assert.deepEqual(flagsOfShebang('#!/usr/bin/env -S node --a=1  --b'), ['--a=1', '--b']);
  assert.deepEqual(flagsOfShebang('#!/usr/bin/env node'), []);
  assert.deepEqual(flagsOfShebang('#!/usr/bin/env -S node ; rm -rf /'), []);
  assert.deepEqual(flagsOfShebang('#!/usr/bin/env -S python3 --x'), []);
  assert.deepEqual(flagsOfShebang('// a comment'), []);
});

test('the floor is told apart from other flags', () => {
  assert.equal(hasYoungGenerationFloor(['--max-semi-space-size=8']), false);
  assert.equal(hasYoungGenerationFloor(['--min-semi-space-size=16']), true);
  assert.equal(hasYoungGenerationFloor([]), false);
});
