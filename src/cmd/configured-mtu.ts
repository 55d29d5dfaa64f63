/**
 * The largest interface MTU a configuration asks for, so that `cnr start` sizes the packet
 * buffers of its in-process vRouter for it (buffers are sized once, at start: pool.ts)
 * without the operator also passing --max-mtu. Read from the --config file and from the
 * newest stored commit (a restart loads that one), the larger of the two.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigTree } from '../controller/types.js';
import { detectNotation, parseConfig } from '../controller/config/notation.js';
import { parseCommitFile } from '../controller/config/history.js';
import { leafNumber, subtree, subtreeAt } from '../controller/config/tree.js';
import { slotSizeFor } from '../dataplane/pool.js';

/**
 * --max-mtu's value: an IP MTU the data plane can buffer (pool.ts slotSizeFor says why not).
 * Here rather than in vrouter.ts so that `cnr controller` parses its options without loading
 * the vRouter's code.
 */
export function parseMaxMtu(v: string): number {
  const mtu = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!(mtu >= 1280 && mtu <= 65000)) throw new Error(`--max-mtu ${v}: expected an MTU from 1280 to 65000`);
  slotSizeFor(mtu); // throws with the reason if no slot holds it
  return mtu;
}

export interface ConfiguredMtu {
  mtu: number;
  /** where it comes from: `interfaces eth1 mtu 9000` */
  from: string;
}

/** The largest `interfaces X mtu` / `unit N family inet|inet6 mtu` of a tree, or undefined. */
export function largestMtu(tree: ConfigTree): ConfiguredMtu | undefined {
  let best: ConfiguredMtu | undefined;
  const consider = (mtu: number | undefined, from: string): void => {
    if (mtu !== undefined && mtu > (best?.mtu ?? 0)) best = { mtu, from };
  };
  for (const [name, ifc] of Object.entries(subtree(tree['interfaces']))) {
    consider(leafNumber(subtree(ifc)['mtu']), `interfaces ${name} mtu`);
    for (const [unit, u] of Object.entries(subtree(subtree(ifc)['unit']))) {
      for (const fam of ['inet', 'inet6']) consider(leafNumber(subtreeAt(u, 'family', fam)?.['mtu']), `interfaces ${name} unit ${unit} family ${fam} mtu`);
    }
  }
  return best;
}

/**
 * The largest MTU of the startup file and of the newest commit in `<stateDir>/config`.
 * A file that does not parse counts for nothing here: the controller refuses it with its line
 * and reason when it loads it.
 */
export function configuredMaxMtu(configFile: string | undefined, stateDir: string): ConfiguredMtu | undefined {
  const found: ConfiguredMtu[] = [];
  if (configFile) {
    try {
      const text = readFileSync(configFile, 'utf8');
      const m = largestMtu(parseConfig(text, detectNotation(text, configFile)));
      if (m) found.push({ mtu: m.mtu, from: `${m.from} ${m.mtu} in ${configFile}` });
    } catch {
      // refused later, with its reason, by the controller
    }
  }
  const dir = join(stateDir, 'config');
  if (existsSync(dir)) {
    const newest = readdirSync(dir)
      .map((f) => /^commit-(\d+)\.json$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .sort((a, b) => Number(b[1]) - Number(a[1]))[0];
    if (newest !== undefined) {
      const seq = Number(newest[1]);
      const rec = parseCommitFile(readFileSync(join(dir, newest[0]), 'utf8'), seq);
      const m = 'config' in rec ? largestMtu(rec.config) : undefined;
      if (m) found.push({ mtu: m.mtu, from: `${m.from} ${m.mtu} in commit ${seq}` });
    }
  }
  return found.sort((a, b) => b.mtu - a.mtu)[0];
}
