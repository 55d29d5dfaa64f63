/**
 * bin/cnr's first line and what it gives the process: V8's young-generation floor
 * (lib/launch-flags.ts, docs/cli.md "The young generation"), and the opt-out that cannot take
 * effect under it refused with its reason.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hasYoungGenerationFloor, launchFlagsOf } from '../lib/launch-flags.js';
import { parseNodeArgs } from './node.js';

const BIN = fileURLToPath(new URL('../../../bin/cnr', import.meta.url));

test("bin/cnr's line sets the young-generation floor; run as a program, node has it (the opt-out is refused)", () => {
  const flags = launchFlagsOf(BIN);
  assert.ok(hasYoungGenerationFloor(flags), `bin/cnr's flags: ${flags.join(' ')}`);
  // executed as a program (the shebang), as a container's entry point runs it: the floor is in
  // node's execArgv, so --small-young-generation, which cannot take effect under it, is refused
  const run = spawnSync(BIN, ['controller', '--small-young-generation', '--state-dir', '/nonexistent/cnr-test'], { encoding: 'utf8', timeout: 30_000 });
  assert.notEqual(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stderr, /--small-young-generation: this process was started with V8's young-generation floor \(--min-semi-space-size=16/);
  // the opt-out without the floor is accepted
  assert.equal(parseNodeArgs(['--small-young-generation'], 'controller', []).smallYoungGeneration, true);
  assert.throws(() => parseNodeArgs(['--small-young-generation'], 'controller', ['--min-semi-space-size=16']), /young-generation floor/);
});

