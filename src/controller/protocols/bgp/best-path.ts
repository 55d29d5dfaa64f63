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
  const first = a.asPath?.find((s) => s.type === SegmentType.AsSequence || s.type === SegmentType.AsSet);
  return first && first.type === SegmentType.AsSequence ? first.asns[0] ?? 0 : 0;
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

export function comparePaths(a: PathFacts, b: PathFacts, o: BestPathOptions = {}): Comparison {
  const r = (order: number, step: DecidingStep, multipathEqual = false): Comparison => ({ order, step, multipathEqual });
  if (a.resolvable !== b.resolvable) return r(a.resolvable ? -1 : 1, 'Next hop unresolvable');
  const lpa = a.attrs.localPref ?? DEFAULT_LOCAL_PREF;
  const lpb = b.attrs.localPref ?? DEFAULT_LOCAL_PREF;
  if (lpa !== lpb) return r(lpb - lpa, 'Local preference');
  const la = asPathLength(a.attrs.asPath);
  const lb = asPathLength(b.attrs.asPath);
  if (la !== lb) return r(la - lb, 'AS path length');
  const oa = a.attrs.origin ?? 2;
  const ob = b.attrs.origin ?? 2;
  if (oa !== ob) return r(oa - ob, 'Origin');
  if (o.alwaysCompareMed || neighborAs(a.attrs) === neighborAs(b.attrs)) {
    const ma = a.attrs.med ?? 0;
    const mb = b.attrs.med ?? 0;
    if (ma !== mb) return r(ma < mb ? -1 : 1, 'MED');
  }
  if (a.ebgp !== b.ebgp) return r(a.ebgp ? -1 : 1, 'eBGP over iBGP');
  if (a.igpCost !== b.igpCost) return r(a.igpCost < b.igpCost ? -1 : 1, 'IGP cost');
  // from here on the paths are equally good for forwarding: multipath candidates
  const ida = a.attrs.originatorId ? ipv4Number(a.attrs.originatorId) : a.peerRouterId;
  const idb = b.attrs.originatorId ? ipv4Number(b.attrs.originatorId) : b.peerRouterId;
  if (ida !== idb) return r(ida < idb ? -1 : 1, 'Router ID', true);
  const ca = a.attrs.clusterList?.length ?? 0;
  const cb = b.attrs.clusterList?.length ?? 0;
  if (ca !== cb) return r(ca - cb, 'Cluster list length', true);
  if (a.peerKey !== b.peerKey) return r(a.peerKey < b.peerKey ? -1 : 1, 'Peer address', true);
  return r(a.pathId - b.pathId, 'Path ID', true);
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
  for (let i = 1; i < paths.length; i++) if (comparePaths(paths[i]!, best, o).order < 0) best = paths[i]!;
  if (!best.resolvable) return { best: undefined, step: 'Next hop unresolvable', multipath: [] };
  let step: DecidingStep = 'Only path';
  let runnerUp: P | undefined;
  for (const p of paths) {
    if (p === best) continue;
    if (!runnerUp || comparePaths(p, runnerUp, o).order < 0) runnerUp = p;
  }
  if (runnerUp) step = comparePaths(best, runnerUp, o).step;
  const multipath = [best];
  if (o.multipath) {
    const nas = neighborAs(best.attrs);
    for (const p of paths) {
      if (p === best) continue;
      const c = comparePaths(best, p, o);
      if (c.multipathEqual && (o.multipleAs || neighborAs(p.attrs) === nas)) multipath.push(p);
    }
  }
  return { best, step, multipath };
}
