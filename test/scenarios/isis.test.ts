/**
 * IS-IS behaviour as data: replays every scenario folder under test/scenarios/isis/ against
 * cnr's real IS-IS instance (isis-harness.ts plays the neighbours and the clock) and compares
 * the state after each step with the step's NN-output.json. UPDATE_SCENARIOS=1 rewrites the
 * expected files instead (read the diff by hand before committing). Format:
 * test/scenarios/README.md.
 */
import { test } from 'node:test';
import { IsisScenario, type IsisScenarioConfig } from './isis-harness.js';
import { loadScenarios, replaySteps } from './runner.js';

for (const sc of loadScenarios('isis')) {
  test(`isis scenario ${sc.name}: ${sc.title}`, { todo: sc.knownBug }, () => replaySteps(sc, new IsisScenario(sc.config as IsisScenarioConfig)));
}
