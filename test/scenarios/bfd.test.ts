/**
 * BFD behaviour as data: replays every scenario folder under test/scenarios/bfd/ against
 * cnr's real BFD instance (bfd-harness.ts plays the peers and the clock) and compares the
 * state after each step with the step's NN-output.json. UPDATE_SCENARIOS=1 rewrites the
 * expected files instead (read the diff by hand before committing). Format and how to add
 * a scenario: test/scenarios/README.md.
 */
import { test } from 'node:test';
import { BfdScenario, type BfdScenarioConfig } from './bfd-harness.js';
import { loadScenarios, replaySteps } from './runner.js';

for (const sc of loadScenarios('bfd')) {
  test(`bfd scenario ${sc.name}: ${sc.title}`, { todo: sc.knownBug }, () => replaySteps(sc, new BfdScenario(sc.config as BfdScenarioConfig)));
}
