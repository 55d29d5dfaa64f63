/**
 * The protocol-independent half of scenario tests (tests as data, the shape holo's
 * conformance tests and FRR's topotests use): a scenario is a folder with a configuration,
 * numbered steps of input events (`NN-input.jsonl`) and, for each step, the state and the
 * messages expected after it (`NN-output.json`). A protocol's harness (bgp-harness.ts)
 * turns events into calls on the real protocol code and the resulting state into plain
 * JSON; this file finds the folders, reads the events and compares, or with
 * UPDATE_SCENARIOS=1 writes what the code produced, to be checked by hand before committing.
 * Format: test/scenarios/README.md.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One input event: `event` names what happens, the other fields say to whom and with what. */
export type ScenarioEvent = { readonly event: string; readonly [field: string]: unknown };

export interface ScenarioStep {
  /** '01', '02', ... */
  readonly id: string;
  readonly inputFile: string;
  readonly outputFile: string;
  readonly events: ScenarioEvent[];
}

export interface Scenario {
  readonly name: string;
  readonly dir: string;
  /** config.json, parsed */
  readonly config: unknown;
  /** the first line of description.txt (test name) */
  readonly title: string;
  readonly steps: ScenarioStep[];
  /**
   * known-bug.txt: the expected files say what the RFC wants and the code does not do it yet;
   * the scenario runs as a node:test `todo` (reported, not failing the run) until fixed.
   */
  readonly knownBug?: string;
}

/** Write expected outputs instead of comparing (then read every changed file before committing). */
export const UPDATE = process.env['UPDATE_SCENARIOS'] === '1';

/**
 * The repository's root, found from this compiled file (dist/test/scenarios/runner.js) by
 * walking up to package.json: the data files are read from the source tree, never from dist/.
 */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('scenario runner: no package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

/** One line of an input file: JSON, or empty, or a `//` comment line (for the reader). */
function parseEvents(file: string): ScenarioEvent[] {
  const out: ScenarioEvent[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const t = line.trim();
      if (!t || t.startsWith('//')) return;
      let v: unknown;
      try {
        v = JSON.parse(t);
      } catch (err) {
        throw new Error(`${file}:${i + 1}: not JSON: ${(err as Error).message}`);
      }
      if (!v || typeof v !== 'object' || typeof (v as { event?: unknown }).event !== 'string') throw new Error(`${file}:${i + 1}: an event is an object with an "event" field`);
      out.push(v as ScenarioEvent);
    });
  return out;
}

/** Every scenario folder under test/scenarios/<protocol>/, in name order. */
export function loadScenarios(protocol: string): Scenario[] {
  const base = join(repoRoot(), 'test', 'scenarios', protocol);
  const out: Scenario[] = [];
  for (const name of readdirSync(base).sort()) {
    const dir = join(base, name);
    if (!statSync(dir).isDirectory()) continue;
    const files = readdirSync(dir).sort();
    const steps: ScenarioStep[] = [];
    for (const f of files) {
      const m = /^(\d+)-input\.jsonl$/.exec(f);
      if (!m) continue;
      steps.push({ id: m[1]!, inputFile: join(dir, f), outputFile: join(dir, `${m[1]}-output.json`), events: parseEvents(join(dir, f)) });
    }
    for (const f of files) {
      const m = /^(\d+)-output\.json$/.exec(f);
      if (m && !steps.some((s) => s.id === m[1])) throw new Error(`${join(dir, f)}: no ${m[1]}-input.jsonl for it`);
    }
    if (steps.length === 0) throw new Error(`${dir}: no NN-input.jsonl step files`);
    const desc = existsSync(join(dir, 'description.txt')) ? readFileSync(join(dir, 'description.txt'), 'utf8') : '';
    out.push({
      name,
      dir,
      config: JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')),
      title: desc.split('\n')[0]?.trim() || name,
      steps,
      knownBug: existsSync(join(dir, 'known-bug.txt')) ? readFileSync(join(dir, 'known-bug.txt'), 'utf8').trim() : undefined,
    });
  }
  return out;
}

/** Lines up to this width keep a small object or list on one line. */
const WIDTH = 110;

/**
 * The text an output file holds (what UPDATE writes): JSON indented by two, with every
 * object or list that fits in the line width kept on one line, so one route or one message
 * reads as one line.
 */
export function outputText(actual: unknown): string {
  /** one line, with a space after each colon and comma */
  const line = (v: unknown): string => {
    if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
    if (Array.isArray(v)) return '[' + v.map(line).join(', ') + ']';
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return '{' + entries.map(([k, x]) => JSON.stringify(k) + ': ' + line(x)).join(', ') + '}';
  };
  const fmt = (v: unknown, indent: string, lead: number): string => {
    const flat = line(v);
    if (v === null || typeof v !== 'object' || indent.length + lead + flat.length <= WIDTH) return flat;
    const inner = indent + '  ';
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return '[\n' + v.map((x) => inner + fmt(x, inner, 0)).join(',\n') + '\n' + indent + ']';
    }
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    return '{\n' + entries.map(([k, x]) => inner + JSON.stringify(k) + ': ' + fmt(x, inner, JSON.stringify(k).length + 2)).join(',\n') + '\n' + indent + '}';
  };
  return fmt(actual, '', 0) + '\n';
}

/**
 * Compare a step's produced state with its NN-output.json (as parsed JSON, so layout does
 * not matter), or write it when UPDATE_SCENARIOS=1.
 */
export function checkStep(scenario: Scenario, step: ScenarioStep, actual: unknown): void {
  const text = outputText(actual);
  const where = relative(repoRoot(), step.outputFile);
  // a known bug's expected files were written by hand: regenerating would enshrine the bug
  if (UPDATE && scenario.knownBug) console.log(`scenario: ${where} not rewritten (known-bug.txt: expected files are kept by hand)`);
  else if (UPDATE) {
    if (!existsSync(step.outputFile) || readFileSync(step.outputFile, 'utf8') !== text) {
      writeFileSync(step.outputFile, text);
      console.log(`scenario: wrote ${where} (check it by hand against the RFC before committing)`);
    }
    return;
  }
  if (!existsSync(step.outputFile)) assert.fail(`${where} is missing: run with UPDATE_SCENARIOS=1, then check the file by hand`);
  compareStep(step, JSON.parse(text), JSON.parse(readFileSync(step.outputFile, 'utf8')));
}

/** Fail, with node's diff and the file's name, when a step's produced state is not the expected one. */
export function compareStep(step: ScenarioStep, produced: unknown, expected: unknown): void {
  try {
    assert.deepStrictEqual(produced, expected);
  } catch (err) {
    // keep node's diff (a custom assert message would replace it) and say which file; the
    // reporters print the stack, which was made with the old message
    const e = err as Error;
    const head = `${relative(repoRoot(), step.outputFile)}: the state after step ${step.id} is not the expected one`;
    e.stack = `${head}\n${e.stack ?? e.message}`;
    e.message = `${head}\n${e.message}`;
    throw e;
  }
}

/** What a protocol's harness gives the runner: one input event at a time, and the state to compare. */
export interface ScenarioHarness {
  run(event: ScenarioEvent): void;
  snapshot(): unknown;
}

/**
 * Replay a scenario's steps through a harness, checking the state after each step; an event
 * that throws is named with its input file.
 */
export function replaySteps(scenario: Scenario, harness: ScenarioHarness): void {
  for (const step of scenario.steps) {
    for (const e of step.events) {
      try {
        harness.run(e);
      } catch (err) {
        (err as Error).message = `${step.inputFile}: event ${JSON.stringify(e)}: ${(err as Error).message}`;
        throw err;
      }
    }
    checkStep(scenario, step, harness.snapshot());
  }
}
