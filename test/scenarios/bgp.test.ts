/**
 * BGP behaviour as data: replays every scenario folder under test/scenarios/bgp/ against
 * cnr's real BGP speaker (bgp-harness.ts plays the peers and the clock) and compares the
 * state after each step with the step's NN-output.json. UPDATE_SCENARIOS=1 rewrites the
 * expected files instead (read the diff by hand before committing). Format and how to add
 * a scenario: test/scenarios/README.md.
 */
import { test } from 'node:test';
import type { ConfigTree } from '../../src/controller/types.js';
import { BgpScenario } from './bgp-harness.js';
import { checkStep, loadScenarios } from './runner.js';

/** A fixed start time: every clock-derived value in the outputs is the same on every run. */
const START = Date.UTC(2026, 0, 1);

for (const sc of loadScenarios('bgp')) {
  test(`bgp scenario ${sc.name}: ${sc.title}`, { todo: sc.knownBug }, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START });
    // RFC 4271 section 10 jitter (0.75..1 of a timer) fixed at 1: keepalives every third of the hold time
    t.mock.method(Math, 'random', () => 1);
    const run = new BgpScenario(sc.dir, t.mock.timers);
    try {
      await run.start(sc.config as ConfigTree);
      for (const step of sc.steps) {
        for (const e of step.events) {
          try {
            await run.run(e);
          } catch (err) {
            (err as Error).message = `${step.inputFile}: event ${JSON.stringify(e)}: ${(err as Error).message}`;
            throw err;
          }
        }
        checkStep(sc, step, run.snapshot());
      }
    } finally {
      await run.stop();
    }
  });
}
