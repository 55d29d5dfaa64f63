/**
 * BGP best-path selection (RFC 4271 section 9.1.2.2, with the tie-breakers Junos and
 * RFC 4456 use) as an ordered chain of comparisons. Each comparison that tells two paths
 * apart names itself, so the winner carries the step that decided (shown by
 * `show route extensive` and `show route receive-protocol bgp ... detail`).
 *
 * Chain: next hop resolvable, local preference, AS path length, origin, MED (only between
 * paths from the same neighbouring AS), eBGP over iBGP, IGP cost to the next hop, [the
 * multipath cut: paths equal so far are equal-cost], router ID (ORIGINATOR_ID when
 * reflected), cluster list length, peer address.
 */
import { parseIp } from '../../../lib/addr.js';
import { asPathLength, SegmentType, type PathAttributes } from '../../../wire/bgp/attributes.js';

export type DecidingStep =
  | 'Only path'
  | 'Next hop unresolvable'
  | 'Local preference'
  | 'AS path length'
  | 'Origin'
  | 'MED'
  | 'eBGP over iBGP'
  | 'IGP cost'
  | 'Router ID'
  | 'Cluster list length'
  | 'Peer address'
  | 'Path ID';

/** What best-path needs to know about one path. */
export interface PathFacts {
  readonly attrs: PathAttributes;
  readonly ebgp: boolean;
  /** the peer's BGP identifier (u32) */
  readonly peerRouterId: number;
  /** the peer address as a sortable key (see addressKey) */
  readonly peerKey: string;
  readonly pathId: number;
  /** next hop resolved through the RIB */
  readonly resolvable: boolean;
  /** IGP metric of the route toward the next hop */
  readonly igpCost: number;
}

export const DEFAULT_LOCAL_PREF = 100;

/** A fixed-width key so that string order is address order (IPv4 before IPv6). */
export function addressKey(address: string): string {
  const { family, bytes } = parseIp(address);
  return family + Buffer.from(bytes).toString('hex');
}

/** The first AS of the path (the neighbouring AS), 0 when the path is empty or starts with a set. */
export function neighborAs(a: PathAttributes): number {
  const segs = a.asPath;
  if (!segs) return 0;
  // (a loop, not find with a closure: best-path calls it per compared pair)
  for (const s of segs) {
    if (s.type === SegmentType.AsSequence) return s.asns[0] ?? 0;
    if (s.type === SegmentType.AsSet) return 0;
  }
  return 0;
}

function ipv4Number(s: string): number {
  const p = s.split('.');
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

export interface Comparison {
  /** < 0: a is better; > 0: b is better; 0: equal */
  readonly order: number;
  readonly step: DecidingStep;
  /** the two paths are equal up to and including IGP cost (multipath candidates) */
  readonly multipathEqual: boolean;
}

export interface BestPathOptions {
  /** compare MED between paths from different neighbouring ASes */
  readonly alwaysCompareMed?: boolean;
}

/** The deciding steps in chain order: a comparison code's magnitude is a step's index here. */
export const STEPS: readonly DecidingStep[] = ['Only path', 'Next hop unresolvable', 'Local preference', 'AS path length', 'Origin', 'MED', 'eBGP over iBGP', 'IGP cost', 'Router ID', 'Cluster list length', 'Peer address', 'Path ID'];
/** STEPS index of the first step past the multipath cut (Router ID) */
const MULTIPATH_CUT = 8;
const PATH_ID = 11;
const NO_OPTIONS: BestPathOptions = {};

/**
 * The comparison as one number, for the decision process's hot loop (no object per pair):
 * 0 when the paths are equal, else the deciding step's index in STEPS, negative when `a`
 * is better. comparePaths is the same chain with its result as an object.
 */
export function compareCode(a: PathFacts, b: PathFacts, o: BestPathOptions = NO_OPTIONS): number {
  if (a.resolvable !== b.resolvable) return a.resolvable ? -1 : 1;
  const aa = a.attrs;
  const ba = b.attrs;
  const lpa = aa.localPref ?? DEFAULT_LOCAL_PREF;
  const lpb = ba.localPref ?? DEFAULT_LOCAL_PREF;
  if (lpa !== lpb) return lpa > lpb ? -2 : 2;
  const la = asPathLength(aa.asPath);
  const lb = asPathLength(ba.asPath);
  if (la !== lb) return la < lb ? -3 : 3;
  const oa = aa.origin ?? 2;
  const ob = ba.origin ?? 2;
  if (oa !== ob) return oa < ob ? -4 : 4;
  if (o.alwaysCompareMed || neighborAs(aa) === neighborAs(ba)) {
    const ma = aa.med ?? 0;
    const mb = ba.med ?? 0;
    if (ma !== mb) return ma < mb ? -5 : 5;
  }
  if (a.ebgp !== b.ebgp) return a.ebgp ? -6 : 6;
  if (a.igpCost !== b.igpCost) return a.igpCost < b.igpCost ? -7 : 7;
  // from here on the paths are equally good for forwarding: multipath candidates
  const ida = aa.originatorId ? ipv4Number(aa.originatorId) : a.peerRouterId;
  const idb = ba.originatorId ? ipv4Number(ba.originatorId) : b.peerRouterId;
  if (ida !== idb) return ida < idb ? -8 : 8;
  const ca = aa.clusterList?.length ?? 0;
  const cb = ba.clusterList?.length ?? 0;
  if (ca !== cb) return ca < cb ? -9 : 9;
  if (a.peerKey !== b.peerKey) return a.peerKey < b.peerKey ? -10 : 10;
  if (a.pathId !== b.pathId) return a.pathId < b.pathId ? -11 : 11;
  return 0;
}

/** The step a comparison code names (equal paths: 'Path ID', the last step). */
export function codeStep(code: number): DecidingStep {
  return code === 0 ? 'Path ID' : STEPS[Math.abs(code)]!;
}

export function comparePaths(a: PathFacts, b: PathFacts, o: BestPathOptions = NO_OPTIONS): Comparison {
  const code = compareCode(a, b, o);
  const idx = code === 0 ? PATH_ID : Math.abs(code);
  return { order: Math.sign(code), step: STEPS[idx]!, multipathEqual: idx >= MULTIPATH_CUT };
}

export interface Selection<P extends PathFacts> {
  readonly best: P | undefined;
  /** the step that made the best path win over the runner-up */
  readonly step: DecidingStep;
  /** the best path first, then every path equal to it for multipath, when asked */
  readonly multipath: P[];
}

/**
 * Pick the best path. With `multipath`, also collect paths equal to the best one down to
 * IGP cost; unless `multipleAs`, they must come from the same neighbouring AS.
 */
export function selectBest<P extends PathFacts>(paths: readonly P[], o: BestPathOptions & { multipath?: boolean; multipleAs?: boolean } = {}): Selection<P> {
  if (paths.length === 0) return { best: undefined, step: 'Only path', multipath: [] };
  let best = paths[0]!;
  for (let i = 1; i < paths.length; i++) if (compareCode(paths[i]!, best, o) < 0) best = paths[i]!;
  if (!best.resolvable) return { best: undefined, step: 'Next hop unresolvable', multipath: [] };
  let step: DecidingStep = 'Only path';
  let runnerUp: P | undefined;
  for (const p of paths) {
    if (p === best) continue;
    if (!runnerUp || compareCode(p, runnerUp, o) < 0) runnerUp = p;
  }
  if (runnerUp) step = codeStep(compareCode(best, runnerUp, o));
  const multipath = [best];
  if (o.multipath) {
    const nas = neighborAs(best.attrs);
    for (const p of paths) {
      if (p === best) continue;
      const c = compareCode(best, p, o);
      if ((c === 0 || Math.abs(c) >= MULTIPATH_CUT) && (o.multipleAs || neighborAs(p.attrs) === nas)) multipath.push(p);
    }
  }
  return { best, step, multipath };
}
