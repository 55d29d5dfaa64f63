/**
 * BGP behaviour as data: replays every scenario folder under test/scenarios/bgp/ against
 * cnr's real BGP speaker (bgp-harness.ts plays the peers and the clock) and compares the
 * state after each step with the step's NN-output.json. UPDATE_SCENARIOS=1 rewrites the
 * expected files instead (read the diff by hand before committing). Format and how to add
 * a scenario: test/scenarios/README.md.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ConfigTree } from '../../src/controller/types.js';
import { BgpScenario } from './bgp-harness.js';
import { checkStep, compareStep, loadScenarios, type Scenario } from './runner.js';

/** A fixed start time: every clock-derived value in the outputs is the same on every run. */
const START = Date.UTC(2026, 0, 1);

/** Run a scenario's events step by step; `after` gets the state after each step. */
async function replay(sc: Scenario, t: TestContext, after: (i: number, state: Record<string, unknown>) => void): Promise<void> {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START });
  // RFC 4271 section 10 jitter (0.75..1 of a timer) fixed at 1: keepalives every third of the hold time
  t.mock.method(Math, 'random', () => 1);
  const run = new BgpScenario(sc.dir, t.mock.timers);
  try {
    await run.start(sc.config as ConfigTree);
    for (const [i, step] of sc.steps.entries()) {
      for (const e of step.events) {
        try {
          await run.run(e);
        } catch (err) {
          (err as Error).message = `${step.inputFile}: event ${JSON.stringify(e)}: ${(err as Error).message}`;
          throw err;
        }
      }
      after(i, run.snapshot());
    }
  } finally {
    await run.stop();
  }
}

const scenarios = loadScenarios('bgp');

for (const sc of scenarios) {
  test(`bgp scenario ${sc.name}: ${sc.title}`, { todo: sc.knownBug }, (t) => replay(sc, t, (i, state) => checkStep(sc, sc.steps[i]!, state)));
}

test('the runner fails a step whose expected file says something else (best-path-steps 02, MED winner changed)', async (t) => {
  const sc = scenarios.find((s) => s.name === 'best-path-steps')!;
  const step = sc.steps[1]!;
  let produced: unknown;
  await replay(sc, t, (i, state) => {
    if (i === 1) produced = JSON.parse(JSON.stringify(state));
  });
  const expected = JSON.parse(readFileSync(step.outputFile, 'utf8'));
  compareStep(step, produced, expected);
  expected.routes['inet.0']['198.18.0.0/24']['Selected by'] = 'Router ID';
  assert.throws(() => compareStep(step, produced, expected), /02-output\.json: the state after step 02 is not the expected one[\s\S]*Selected by/);
});
