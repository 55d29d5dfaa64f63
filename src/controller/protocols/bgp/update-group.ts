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
 * is put behind a marker appended to the group's table; the group goes on. A changed entry
 * is deleted and set again, so it moves to the table's end (a Map keeps insertion order): what
 * a member has not been sent is exactly what follows its marker, and a withdrawn prefix stays
 * as a tombstone while someone is behind. The member catches up from the shared table when
 * its socket drains, a chunk at a time. A session coming up or a route refresh is the same
 * walk from the table's start, so a full table is paced too; End-of-RIB follows the walk.
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

/** Table values that are not advertisements: a member's marker, a withdrawn prefix kept for members behind. */
const MARK: PathAttributes = Object.freeze({}) as PathAttributes;
const GONE: PathAttributes = Object.freeze({}) as PathAttributes;

/** Whether a table value is an advertisement. */
export function advertised(a: PathAttributes | undefined): a is PathAttributes {
  return a !== undefined && a !== MARK && a !== GONE;
}

/** Where an advertised attribute set came from: the peer and neighbor AS "not back to" looks at (null: several sources). */
type Origin = { peer: Neighbor | undefined; nAs: number } | null;

export class OutGroup implements ExportCaches {
  /** prefix -> attributes advertised (or MARK / GONE), in the order of the last change */
  readonly out = new Map<PrefixKey, PathAttributes>();
  readonly members = new Set<Member>();
  exportCache = new WeakMap<PathAttributes, PathAttributes>();
  intern = new Map<string, PathAttributes>();
  /** per exported attribute set: its source, for the members' "not back to" test */
  readonly origin = new WeakMap<PathAttributes, Origin>();
  /** members walking the table (pacing, a session coming up, a refresh) */
  behind = 0;
  tombstones = 0;
  /** advertised entries */
  count = 0;
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

  /** Set a prefix's value; while a member is behind, a change moves the entry to the table's end. */
  set(prefix: PrefixKey, a: PathAttributes | undefined, old: PathAttributes | undefined): void {
    const was = advertised(old);
    if (a) {
      if (!was) this.count++;
      if (old === GONE) this.tombstones--;
      if (this.behind > 0 && old !== undefined) this.out.delete(prefix);
      this.out.set(prefix, a);
      return;
    }
    if (was) this.count--;
    if (this.behind > 0) {
      if (old === GONE) return;
      this.out.delete(prefix);
      this.out.set(prefix, GONE);
      this.tombstones++;
    } else this.out.delete(prefix);
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
}

interface CatchUp {
  iter: Iterator<[PrefixKey, PathAttributes]>;
  /** the member's marker in the table: entries up to it were sent (none: from the start) */
  marker: string | undefined;
  /** the member holds nothing yet (session up): tombstones and held-back prefixes need no withdrawal */
  fresh: boolean;
  /** messages sent once the walk ends (End-of-RIB, EoRR) */
  after: Uint8Array[];
  waiting: boolean;
}

/** The groups of one BGP instance, and the members of each peer. */
export class UpdateGroups {
  readonly groups = new Map<string, OutGroup>();
  private readonly members = new WeakMap<NeighborRib, Map<string, Member>>();
  private markers = 0;

  membersOf(st: NeighborRib): Map<string, Member> {
    let m = this.members.get(st);
    if (!m) this.members.set(st, (m = new Map()));
    return m;
  }

  member(st: NeighborRib, table: string): Member | undefined {
    return this.members.get(st)?.get(table);
  }

  nextMarker(): string {
    return `\u0000mark ${++this.markers}`;
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
  const m: Member = { nb, st, table, group: g, excluded: new Set(), catchUp: undefined };
  g.add(m);
  ug.membersOf(st).set(table, m);
  if (fresh) {
    for (const prefix of candidates(cx, table)) {
      const a = exportFor(cx, nb, g, table, prefix, undefined);
      if (!a) continue;
      g.noteOrigin(a, exportedFrom.path);
      g.set(prefix, a, undefined);
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
  const c = m.catchUp;
  if (!c) return;
  m.catchUp = undefined;
  if (c.marker) g.out.delete(c.marker);
  if (--g.behind === 0 && g.tombstones > 0) {
    for (const [k, v] of g.out) if (v === GONE) g.out.delete(k);
    g.tombstones = 0;
  }
}

/** Put a member behind: it is sent the table from its marker (or the start) as its socket drains. */
function startCatchUp(cx: BgpContext, m: Member, fromStart: boolean, fresh: boolean, after: Uint8Array[]): void {
  const g = m.group;
  const prev = m.catchUp;
  if (prev) {
    // already walking: a refresh restarts from the start; messages owed still follow
    if (!fromStart) return;
    after = [...prev.after, ...after];
    fresh = fresh && prev.fresh;
    stopCatchUp(g, m);
  }
  let marker: string | undefined;
  if (!fromStart) {
    marker = cx.updateGroups.nextMarker();
    g.out.set(marker, MARK);
  }
  g.behind++;
  m.catchUp = { iter: g.out.entries(), marker, fresh, after, waiting: false };
}

function backlog(nb: Neighbor): number {
  return nb.conn?.socket.writableLength ?? 0;
}

/** Send a catching-up member what follows its marker, while its socket drains. */
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
      while (n < CATCH_UP_CHUNK) {
        const r = c.iter.next();
        if (r.done) {
          done = true;
          break;
        }
        const [k, a] = r.value;
        if (c.marker) {
          if (k === c.marker) c.marker = undefined;
          continue;
        }
        n++;
        if (a === MARK) continue;
        if (a === GONE) {
          if (!c.fresh) withdrawn.push(k);
          m.excluded.delete(k);
          continue;
        }
        if (a !== lastSet) {
          lastSet = a;
          lastHeld = g.holdsBack(g.origin.get(a) ?? null);
          let list = sets.get(a);
          if (!list) sets.set(a, (list = []));
          lastList = list;
        }
        if (lastHeld && heldBackFrom(cx, g, m, k, a)) {
          if (!c.fresh && !m.excluded.has(k)) withdrawn.push(k);
          m.excluded.add(k);
          continue;
        }
        if (m.excluded.size) m.excluded.delete(k);
        lastList.push(k);
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
    startCatchUp(cx, m, true, true, [encodeEndOfRib(f.afi, f.safi)]);
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
  startCatchUp(cx, m, true, false, after);
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
    const after = old.catchUp?.after ?? [];
    leave(cx, old);
    const m = groupFor(cx, nb, st, f.table);
    const withdrawn: PrefixKey[] = [];
    if (m.group !== oldGroup) {
      for (const [k, a] of oldGroup.out) if (advertised(a) && !oldExcluded.has(k) && !advertised(m.group.out.get(k))) withdrawn.push(k);
    }
    sendDifference(cx, nb, f.table, withdrawn, new Map(), undefined);
    startCatchUp(cx, m, true, false, after);
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
    if (items.length === 0 || g.members.size === 0) continue;
    // a member whose socket does not drain falls behind before this change: the others go on
    for (const m of g.members) if (!m.catchUp && backlog(m.nb) > PACE_BYTES) startCatchUp(cx, m, false, false, []);
    try {
      for (const [, list] of items) groupExport(cx, g, list, share);
    } catch (err) {
      for (const m of [...g.members]) m.nb.internalError(undefined, err);
    }
    for (const m of g.members) if (m.catchUp) pump(cx, m);
  }
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
  for (const item of items) {
    const entry = typeof item === 'object' ? item : undefined;
    const prefix = entry ? entry.key : (item as PrefixKey);
    const a = exportFor(cx, rep, g, g.table, prefix, entry);
    const old = g.out.get(prefix);
    if (a === old) continue;
    g.set(prefix, a, old);
    if (a) {
      const o = g.noteOrigin(a, exportedFrom.path);
      if (a !== lastSet) {
        let list = sets.get(a);
        if (!list) sets.set(a, (list = []));
        lastSet = a;
        lastList = list;
        lastHeld = g.holdsBack(o);
      }
      if (lastHeld || !o) held.push({ prefix, a, had: advertised(old) });
      lastList.push(prefix);
    } else if (advertised(old)) withdrawn.push(prefix);
  }
  if (sets.size === 0 && withdrawn.length === 0) return;
  for (const m of g.members) {
    if (m.catchUp) continue;
    if (held.length === 0 && m.excluded.size === 0) {
      sendDifference(cx, m.nb, g.table, withdrawn, sets, share);
      continue;
    }
    // this member's own difference: prefixes held back from it leave the announcements
    const w = [...withdrawn];
    for (const p of withdrawn) m.excluded.delete(p);
    const dropped = new Set<PrefixKey>();
    for (const h of held) {
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
  for (const [k, a] of m.group.out) if (advertised(a) && !m.excluded.has(k)) yield [k, a];
}

/** How many prefixes a member's table advertises. */
export function memberCount(cx: BgpContext, st: NeighborRib, table: string): number {
  const m = cx.updateGroups.member(st, table);
  return m ? m.group.count - m.excluded.size : 0;
}

/** Whether some peer was sent a route for this prefix. */
export function anyAdvertises(cx: BgpContext, table: string, key: PrefixKey): boolean {
  for (const g of cx.updateGroups.groups.values()) if (g.table === table && advertised(g.out.get(key))) return true;
  return false;
}
