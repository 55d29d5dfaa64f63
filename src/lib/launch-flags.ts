/**
 * The Node/V8 flags a script's first line gives its interpreter (`#!/usr/bin/env -S node FLAGS`).
 * bin/cnr's line sets V8's young-generation floor (`--min-semi-space-size=16`: see docs/cli.md,
 * "The young generation"); whoever starts cnr as `node bin/cnr ...` instead of running it — the
 * built-in labs, the interop harness and the benchmarks — passes the same flags with this, so
 * that cnr runs as it runs when executed (and another build runs with its own line's flags).
 */
import { readFileSync } from 'node:fs';

const ENV_S_NODE = /^#!\/usr\/bin\/env -S node((?: +--?[A-Za-z0-9][\w-]*(?:=\S+)?)*) *$/;

/** The flags of a first line like `#!/usr/bin/env -S node --a=1 --b`; none for any other line. */
export function flagsOfShebang(line: string): string[] {
  const m = ENV_S_NODE.exec(line);
  return m ? m[1]!.split(' ').filter(Boolean) : [];
}

/** The flags of a script's first line (none when it has no such line). */
export function launchFlagsOf(script: string): string[] {
  const text = readFileSync(script, 'utf8');
  const end = text.indexOf('\n');
  return flagsOfShebang(end < 0 ? text : text.slice(0, end));
}

/** The young-generation floor bin/cnr's first line sets, as V8 sees it in process.execArgv. */
export function hasYoungGenerationFloor(execArgv: readonly string[]): boolean {
  return execArgv.some((a) => a.startsWith('--min-semi-space-size') || a.startsWith('--min_semi_space_size'));
}
