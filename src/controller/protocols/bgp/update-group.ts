/**
 * Update groups: one Adj-RIB-Out per group of peers with the same export (as FRR's update
 * groups and BIRD's export table share the work), instead of one per peer. A peer joins the
 * group of its export signature (table, family, export policy, eBGP/iBGP, local AS, next
 * hop self address, the attribute rewriting options; an iBGP peer is a group of its own, its
 * reflection rules depend on it); the group computes what is advertised for a changed prefix
 * once, and each member gets the difference, encoded once for members whose negotiated
 * options agree (adj-rib-out.ts' UpdateShare).
 *
 * What differs between members of an eBGP group is only "not back to where it came from":
 * the route's peer itself, or a peer in the AS the route came from (Junos). Those prefixes
 * are removed per member, and remembered in the member's `excluded` set (few in practice).
 *
 * Pacing (a peer whose socket does not drain must neither grow memory without bound nor hold
 * back the others): before a flush, a member whose socket holds more than PACE_BYTES unsent
 * falls behind; the group goes on, and notes for the member only which prefixes changed (a
 * set of keys, at most one per prefix of the table, however often they change), not the
 * UPDATEs. When its socket drains, the member is sent the group's current state for those
 * prefixes, a chunk at a time. A session coming up or a route refresh is a walk of the whole
 * table, paced the same way (changes during the walk are noted as above); End-of-RIB follows.
 */
import type { PrefixKey } from '../../../lib/addr.js';
import { encodeEndOfRib, type PathAttributes } from '../../../wire/bgp/index.js';
import { neighborAs } from './best-path.js';
import { isVpnTable } from './config.js';
import type { BgpContext } from './instance.js';
import type { Neighbor } from './neighbor.js';
import { locKey, type LocEntry, type NeighborRib, type Path } from './rib.js';
import { exportedFrom, exportFor, sendDifference, UpdateShare, type ExportCaches } from './adj-rib-out.js';

/** Unsent bytes on a member's socket beyond which it is paced (caught up from the table later). */
export const PACE_BYTES = 256 * 1024;
/** Entries a catching-up member is sent per step before its socket is looked at again. */
const CATCH_UP_CHUNK = 4096;


/** Where an advertised attribute set came from: the peer and neighbor AS "not back to" looks at (null: several sources). */
type Origin = { peer: Neighbor | undefined; nAs: number } | null;

export class OutGroup implements ExportCaches {
  /** prefix -> attributes advertised */
  readonly out = new Map<PrefixKey, PathAttributes>();
  readonly members = new Set<Member>();
  exportCache = new WeakMap<PathAttributes, PathAttributes>();
  intern = new Map<string, PathAttributes>();
  /** per exported attribute set: its source, for the members' "not back to" test */
  readonly origin = new WeakMap<PathAttributes, Origin>();
  /** members catching up (paced, a session coming up, a refresh): they note changes instead of being sent them */
  readonly behind = new Set<Member>();
  /** peers (and their ASes, eBGP) of the members: a route from one of them is held back from it */
  private readonly peers = new Set<Neighbor>();
  private readonly peerAses = new Map<number, number>();

  constructor(
    readonly key: string,
    readonly table: string,
    readonly ebgp: boolean,
  ) {}

  /** The member whose settings stand for the group's in export (they agree on everything export reads). */
  get rep(): Neighbor {
    return this.members.values().next().value!.nb;
  }

  add(m: Member): void {
    this.members.add(m);
    this.peers.add(m.nb);
    if (this.ebgp) this.peerAses.set(m.nb.cfg.peerAs, (this.peerAses.get(m.nb.cfg.peerAs) ?? 0) + 1);
  }

  remove(m: Member): void {
    if (!this.members.delete(m)) return;
    this.peers.delete(m.nb);
    if (this.ebgp) {
      const n = (this.peerAses.get(m.nb.cfg.peerAs) ?? 1) - 1;
      if (n > 0) this.peerAses.set(m.nb.cfg.peerAs, n);
      else this.peerAses.delete(m.nb.cfg.peerAs);
    }
  }

  /** Whether some member may not get a route from this origin. */
  holdsBack(o: Origin): boolean {
    if (!o) return true;
    return (o.peer !== undefined && this.peers.has(o.peer)) || (this.ebgp && o.nAs !== 0 && this.peerAses.has(o.nAs));
  }

  /** Set a prefix's value; members behind note the prefix (again at the end: a walk in progress reaches it). */
  set(prefix: PrefixKey, a: PathAttributes | undefined): void {
    if (a) this.out.set(prefix, a);
    else this.out.delete(prefix);
    if (this.behind.size === 0) return;
    for (const m of this.behind) {
      m.pending.delete(prefix);
      m.pending.add(prefix);
    }
  }

  /** Remember where an advertised set came from (a set shared by several sources is tested per prefix). */
  noteOrigin(a: PathAttributes, path: Path | undefined): Origin {
    const o = this.origin.get(a);
    const peer = path?.peer;
    const nAs = path && this.ebgp ? neighborAs(path.attrs) : 0;
    if (o === undefined) {
      const n = { peer, nAs };
      this.origin.set(a, n);
      return n;
    }
    if (o && (o.peer !== peer || o.nAs !== nAs)) {
      this.origin.set(a, null);
      return null;
    }
    return o;
  }
}

/** A peer's place in the group of one of its tables. */
export interface Member {
  readonly nb: Neighbor;
  readonly st: NeighborRib;
  readonly table: string;
  group: OutGroup;
  /** prefixes the group advertises that this member was not sent ("not back to where it came from") */
  readonly excluded: Set<PrefixKey>;
  catchUp: CatchUp | undefined;
  /** prefixes changed since the member fell behind, not yet sent (in order of their last change) */
  readonly pending: Set<PrefixKey>;
}

interface CatchUp {
  /** a walk of the whole table (session up, refresh), before the pending prefixes */
  walk: Iterator<[PrefixKey, PathAttributes]> | undefined;
  /** the member holds nothing yet (session up): held-back prefixes need no withdrawal in the walk */
  fresh: boolean;
  /** messages sent once the walk ends (End-of-RIB, EoRR) */
  after: Uint8Array[];
  waiting: boolean;
}

/** The groups of one BGP instance, and the members of each peer. */
export class UpdateGroups {
  readonly groups = new Map<string, OutGroup>();
  private readonly members = new WeakMap<NeighborRib, Map<string, Member>>();

  membersOf(st: NeighborRib): Map<string, Member> {
    let m = this.members.get(st);
    if (!m) this.members.set(st, (m = new Map()));
    return m;
  }

  member(st: NeighborRib, table: string): Member | undefined {
    return this.members.get(st)?.get(table);
  }

  /** Start over (new policies): members keep their old group until they join a new one. */
  forget(): void {
    this.groups.clear();
  }
}

/** Everything the attributes a peer gets for a table depend on, besides the prefix and its source. */
function signature(nb: Neighbor, table: string): string {
  const c = nb.cfg;
  const f = nb.families.find((x) => x.table === table);
  return JSON.stringify([
    table,
    f?.afi,
    f?.safi,
    f?.explicitNull ?? false,
    nb.ebgp,
    c.localAs,
    c.export,
    c.removePrivate ?? false,
    c.asOverride ? c.peerAs : 0,
    c.cluster,
    c.localPreference,
    nb.localAddress,
    // iBGP: reflection and the originator test depend on the peer
    nb.ebgp ? '' : c.address,
  ]);
}

/** Every prefix export may send for a table: BGP's best paths, our VPN routes, the RIB's other routes. */
function candidates(cx: BgpContext, table: string): Iterable<PrefixKey> {
  const locTable = cx.loc.get(table);
  const extra: PrefixKey[] = [];
  if (isVpnTable(table)) {
    for (const k of cx.vpn.local.get(table)?.keys() ?? []) if (!locTable?.get(k)) extra.push(k);
  } else if (cx.ribRoutes) {
    for (const r of cx.ribRoutes(table)) {
      if (r.protocol === 'bgp') continue;
      const k = locKey(table, r.prefix);
      if (!locTable?.get(k)) extra.push(k);
    }
  }
  return (function* () {
    if (locTable) yield* locTable.keys();
    yield* extra;
  })();
}

/** The group for a peer's table: found by signature, or made and filled from the Loc-RIB. */
function groupFor(cx: BgpContext, nb: Neighbor, st: NeighborRib, table: string): Member {
  const ug = cx.updateGroups;
  const key = signature(nb, table);
  let g = ug.groups.get(key);
  const fresh = !g;
  if (!g) ug.groups.set(key, (g = new OutGroup(key, table, nb.ebgp)));
  const m: Member = { nb, st, table, group: g, excluded: new Set(), catchUp: undefined, pending: new Set() };
  g.add(m);
  ug.membersOf(st).set(table, m);
  if (fresh) {
    for (const prefix of candidates(cx, table)) {
      const a = exportFor(cx, nb, g, table, prefix, undefined);
      if (!a) continue;
      g.noteOrigin(a, exportedFrom.path);
      g.out.set(prefix, a);
    }
  }
  return m;
}

/** Leave the group (session down, new signature); a group without members goes. */
function leave(cx: BgpContext, m: Member): void {
  const g = m.group;
  stopCatchUp(g, m);
  g.remove(m);
  cx.updateGroups.membersOf(m.st).delete(m.table);
  if (g.members.size === 0 && cx.updateGroups.groups.get(g.key) === g) cx.updateGroups.groups.delete(g.key);
}

function stopCatchUp(g: OutGroup, m: Member): void {
  m.catchUp = undefined;
  m.pending.clear();
  g.behind.delete(m);
}

/** Put a member behind: it is sent the changes it missed (and first, from the start, the whole table) as its socket drains. */
function startCatchUp(m: Member, fromStart: boolean, fresh: boolean, after: Uint8Array[]): void {
  const g = m.group;
  const prev = m.catchUp;
  if (prev) {
    // already behind: a walk from the start replaces one under way; the pending prefixes stay owed, and so do messages
    if (!fromStart) return;
    prev.walk = g.out.entries();
    prev.fresh = prev.fresh && fresh;
    prev.after.push(...after);
    return;
  }
  g.behind.add(m);
  m.catchUp = { walk: fromStart ? g.out.entries() : undefined, fresh, after, waiting: false };
}

function backlog(nb: Neighbor): number {
  return nb.conn?.socket.writableLength ?? 0;
}

/** Send a catching-up member the table's walk, then the prefixes it missed, while its socket drains. */
function pump(cx: BgpContext, m: Member): void {
  const c = m.catchUp;
  if (!c || c.waiting) return;
  const nb = m.nb;
  const g = m.group;
  try {
    while (m.catchUp === c) {
      if (!nb.established) return;
      if (backlog(nb) > PACE_BYTES && nb.conn) {
        c.waiting = true;
        nb.conn.socket.once('drain', () => {
          c.waiting = false;
          pump(cx, m);
        });
        return;
      }
      const withdrawn: PrefixKey[] = [];
      const sets = new Map<PathAttributes, PrefixKey[]>();
      let n = 0;
      let done = false;
      let lastSet: PathAttributes | undefined;
      let lastList: PrefixKey[] = [];
      let lastHeld = false;
      /** one prefix at its current state: announced (unless held back from the member), else withdrawn */
      const add = (k: PrefixKey, a: PathAttributes | undefined, mayHave: boolean) => {
        if (!a) {
          if (!m.excluded.delete(k)) withdrawn.push(k);
          return;
        }
        if (a !== lastSet) {
          lastSet = a;
          lastHeld = g.holdsBack(g.origin.get(a) ?? null);
          let list = sets.get(a);
          if (!list) sets.set(a, (list = []));
          lastList = list;
        }
        if (lastHeld && heldBackFrom(cx, g, m, k, a)) {
          if (mayHave && !m.excluded.has(k)) withdrawn.push(k);
          m.excluded.add(k);
          return;
        }
        if (m.excluded.size) m.excluded.delete(k);
        lastList.push(k);
      };
      while (n < CATCH_UP_CHUNK && c.walk) {
        const r = c.walk.next();
        if (r.done) c.walk = undefined;
        else {
          n++;
          add(r.value[0], r.value[1], !c.fresh);
        }
      }
      if (!c.walk) {
        // processed prefixes leave the set; one changed again is added back at its end
        for (const k of m.pending) {
          if (n++ >= CATCH_UP_CHUNK) break;
          m.pending.delete(k);
          add(k, g.out.get(k), true);
        }
        done = m.pending.size === 0;
      }
      for (const [a, list] of sets) if (list.length === 0) sets.delete(a);
      sendDifference(cx, nb, m.table, withdrawn, sets, undefined);
      if (done) {
        const after = c.after;
        stopCatchUp(g, m);
        for (const msg of after) nb.send(msg);
        return;
      }
    }
  } catch (err) {
    nb.internalError(undefined, err);
  }
}

/** Whether a member may not be sent this prefix: it came from the member, or from a peer in the member's AS. */
function heldBackFrom(cx: BgpContext, g: OutGroup, m: Member, prefix: PrefixKey, a: PathAttributes): boolean {
  let o = g.origin.get(a) ?? null;
  if (!o) {
    const best = cx.loc.get(g.table)?.get(prefix)?.best;
    o = { peer: best?.peer, nAs: best && g.ebgp ? neighborAs(best.attrs) : 0 };
  }
  return o.peer === m.nb || (g.ebgp && o.nAs !== 0 && o.nAs === m.nb.cfg.peerAs);
}

/** A session came up (or the deferral ended): join the groups of its families and send each table, then End-of-RIB. */
export function joinGroups(cx: BgpContext, nb: Neighbor, st: NeighborRib): void {
  for (const f of nb.families) {
    const old = cx.updateGroups.member(st, f.table);
    if (old) leave(cx, old);
    const m = groupFor(cx, nb, st, f.table);
    startCatchUp(m, true, true, [encodeEndOfRib(f.afi, f.safi)]);
    pump(cx, m);
  }
}

/** The session went down (or the peer is gone): its places in the groups go. */
export function leaveGroups(cx: BgpContext, st: NeighborRib): void {
  for (const m of [...cx.updateGroups.membersOf(st).values()]) leave(cx, m);
}

/** Route refresh: the table again from the start, then `after` (End-of-RIB or EoRR). */
export function resendTable(cx: BgpContext, st: NeighborRib, table: string, after: Uint8Array[]): void {
  const m = cx.updateGroups.member(st, table);
  if (!m) return;
  startCatchUp(m, true, false, after);
  pump(cx, m);
}

/**
 * Soft outbound: the peer's export again. It joins the group of its (maybe new) signature;
 * what it was sent and the new group does not advertise is withdrawn, the rest sent again.
 * After `forget()` (new policies) the groups are made afresh.
 */
export function rejoinGroups(cx: BgpContext, nb: Neighbor, st: NeighborRib): void {
  for (const f of nb.families) {
    const old = cx.updateGroups.member(st, f.table);
    if (!old) continue;
    const oldGroup = old.group;
    const oldExcluded = old.excluded;
    // prefixes it missed while behind: gone from the old table meanwhile, it may still hold them
    const missed = [...old.pending];
    const after = old.catchUp?.after ?? [];
    leave(cx, old);
    const m = groupFor(cx, nb, st, f.table);
    // what was held back stays so unless the walk below finds it may go now
    for (const k of oldExcluded) if (m.group.out.has(k)) m.excluded.add(k);
    const withdrawn: PrefixKey[] = [];
    if (m.group !== oldGroup) {
      for (const k of oldGroup.out.keys()) if (!oldExcluded.has(k) && !m.group.out.has(k)) withdrawn.push(k);
    }
    for (const k of missed) if (!oldGroup.out.has(k) && !m.group.out.has(k)) withdrawn.push(k);
    sendDifference(cx, nb, f.table, withdrawn, new Map(), undefined);
    startCatchUp(m, true, false, after);
    pump(cx, m);
  }
}

/**
 * The flush's changes, to every group: the group's table is brought up to date once per
 * group, and every member not behind is sent the difference (members with the same options
 * share the encoded UPDATEs).
 */
export function exportChanges(cx: BgpContext, tables: Iterable<readonly [string, readonly (LocEntry | PrefixKey)[]]>): void {
  const share = new UpdateShare();
  const lists = [...tables];
  for (const g of [...cx.updateGroups.groups.values()]) {
    const items = lists.filter(([t, l]) => t === g.table && l.length > 0);
    if (items.length === 0 || g.members.size === 0 || exportsNothing(cx, g)) continue;
    // a member whose socket does not drain falls behind before this change: the others go on
    for (const m of g.members) if (!m.catchUp && backlog(m.nb) > PACE_BYTES) startCatchUp(m, false, false, []);
    try {
      for (const [, list] of items) groupExport(cx, g, list, share);
    } catch (err) {
      for (const m of [...g.members]) m.nb.internalError(undefined, err);
    }
    for (const m of g.members) if (m.catchUp) pump(cx, m);
  }
}

/**
 * A group whose export policy rejects every route (`export NOTHING`: a peer that is only
 * heard, as a route server's client or the ingest bench's injector): its table stays empty,
 * so the flush's changes are not looked at for it — on a full table that was the export
 * policy and the RIB's active protocol asked per received prefix to send nothing. VPN
 * tables are exported by VRF policies instead and are always looked at.
 */
function exportsNothing(cx: BgpContext, g: OutGroup): boolean {
  const chain = g.rep.cfg.export;
  return chain.length > 0 && g.out.size === 0 && !isVpnTable(g.table) && cx.policy.rejectsAll(chain);
}

/** One group's table brought up to date for these prefixes; the difference to its members. */
function groupExport(cx: BgpContext, g: OutGroup, items: readonly (LocEntry | PrefixKey)[], share: UpdateShare): void {
  const rep = g.rep;
  const sets = new Map<PathAttributes, PrefixKey[]>();
  const withdrawn: PrefixKey[] = [];
  /** announced prefixes some member may not get, with whether the group advertised them before */
  const held: { prefix: PrefixKey; a: PathAttributes; had: boolean }[] = [];
  let lastSet: PathAttributes | undefined;
  let lastList: PrefixKey[] = [];
  let lastHeld = false;
  // a run of prefixes from one source with one exported set: its origin is looked at once
  let lastSource: PathAttributes | undefined;
  let runOrigin: Origin = null;
  for (const item of items) {
    const entry = typeof item === 'object' ? item : undefined;
    const prefix = entry ? entry.key : (item as PrefixKey);
    const a = exportFor(cx, rep, g, g.table, prefix, entry);
    const old = g.out.get(prefix);
    if (a === old) continue;
    g.set(prefix, a);
    if (a) {
      const src = exportedFrom.path;
      let o = runOrigin;
      if (a !== lastSet || src?.attrs !== lastSource || src === undefined) {
        o = runOrigin = g.noteOrigin(a, src);
        lastSource = src?.attrs;
      }
      if (a !== lastSet) {
        let list = sets.get(a);
        if (!list) sets.set(a, (list = []));
        lastSet = a;
        lastList = list;
        lastHeld = g.holdsBack(o);
      }
      if (lastHeld || !o) held.push({ prefix, a, had: old !== undefined });
      lastList.push(prefix);
    } else withdrawn.push(prefix);
  }
  if (sets.size === 0 && withdrawn.length === 0) return;
  // the peers and ASes the held prefixes came from: members outside them take the shared path
  const fromPeers = new Set<Neighbor | undefined>();
  const fromAses = new Set<number>();
  let unknown = false;
  let lastOrigin: Origin | undefined;
  for (const h of held) {
    const o = g.origin.get(h.a) ?? null;
    if (o === lastOrigin) continue;
    lastOrigin = o;
    if (!o) {
      unknown = true;
      break;
    }
    fromPeers.add(o.peer);
    fromAses.add(o.nAs);
  }
  for (const m of g.members) {
    if (m.catchUp) continue;
    const touched = held.length > 0 && (unknown || fromPeers.has(m.nb) || (g.ebgp && fromAses.has(m.nb.cfg.peerAs)));
    if (!touched && m.excluded.size === 0) {
      sendDifference(cx, m.nb, g.table, withdrawn, sets, share);
      continue;
    }
    // this member's own difference: prefixes held back from it leave the announcements
    // a prefix held back from this member was never sent to it: nothing to withdraw
    const w = m.excluded.size ? withdrawn.filter((p) => !m.excluded.delete(p)) : [...withdrawn];
    const dropped = new Set<PrefixKey>();
    if (touched) for (const h of held) {
      if (heldBackFrom(cx, g, m, h.prefix, h.a)) {
        if (h.had && !m.excluded.has(h.prefix)) w.push(h.prefix);
        m.excluded.add(h.prefix);
        dropped.add(h.prefix);
      }
    }
    let own = sets;
    if (dropped.size || m.excluded.size) {
      own = new Map();
      for (const [a, list] of sets) {
        const keep = dropped.size ? list.filter((p) => !dropped.has(p)) : list;
        if (m.excluded.size) for (const p of keep) m.excluded.delete(p);
        if (keep.length) own.set(a, keep);
      }
    }
    sendDifference(cx, m.nb, g.table, w, own, share);
  }
}

/** What a member was sent for a table (its group's advertisements less those held back from it), for show commands. */
export function* memberRoutes(cx: BgpContext, st: NeighborRib, table: string): Iterable<[PrefixKey, PathAttributes]> {
  const m = cx.updateGroups.member(st, table);
  if (!m) return;
  for (const [k, a] of m.group.out) if (!m.excluded.has(k)) yield [k, a];
}

/** How many prefixes a member's table advertises. */
export function memberCount(cx: BgpContext, st: NeighborRib, table: string): number {
  const m = cx.updateGroups.member(st, table);
  return m ? m.group.out.size - m.excluded.size : 0;
}

/** Whether some peer was sent a route for this prefix. */
export function anyAdvertises(cx: BgpContext, table: string, key: PrefixKey): boolean {
  for (const g of cx.updateGroups.groups.values()) if (g.table === table && g.out.has(key)) return true;
  return false;
}
