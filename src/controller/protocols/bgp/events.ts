/**
 * BGP's inputs, one function per kind, each taking the instance's state (`cx`) explicitly:
 *  - from a neighbor: updateReceived (an UPDATE: session checks, RFC 7606 outcome,
 *    withdrawals and reachable prefixes into the Adj-RIB-In), endOfRibReceived,
 *    sessionUp, sessionDown (graceful restart helper mode), routeRefreshReceived;
 *  - timers: staleTimerExpired (graceful restart), deferralEnded (restarting speaker);
 *  - from the RIB: nexthopChanged (a watched next hop resolves differently), ribChanged
 *    (another protocol's route changed, or a VRF route to export as a VPN route);
 *  - from configuration and operators: neighborAdded/neighborRemoved, policiesChanged,
 *    softInbound/softOutbound, requestRefresh, vrfsChanged, deferRouting, stop.
 * A handler changes the RIBs (rib.ts) and schedules the decision process (decision.ts); it
 * sends directly only what answers the input itself (a full table, End-of-RIB, refresh).
 */
import {
  RefreshSubtype,
  SegmentType,
  encodeEndOfRib,
  encodeRouteRefresh,
  Afi,
  Safi,
  type DecodedUpdate,
  type PathAttributes,
  type RouteRefresh,
} from '../../../wire/bgp/index.js';
import { CeaseSubcode } from '../../../wire/bgp/errors.js';
import { isIpv6PrefixKey, prefixKeyOfText, prefixKeyText, scanIpv4PrefixCode, type PrefixKey } from '../../../lib/addr.js';
import { isVpnTable, tableName } from './config.js';
import { Neighbor } from './neighbor.js';
import type { BgpContext } from './instance.js';
import {
  NeighborRib,
  adjRibIn,
  dropAllPaths,
  hasStale,
  learn,
  learnAll,
  markDirty,
  peerNexthop,
  purgeStale,
  purgeTable,
  releaseUnused,
  unlearn,
  vpnEntries,
  type CheckedAttributes,
  type NextHop,
} from './rib.js';
import { flush, flushOrSchedule, schedule } from './decision.js';
import { joinGroups, leaveGroups, rejoinGroups, resendTable } from './update-group.js';

/**
 * After a restart with forwarding preserved (RFC 4724 section 4.1): receive from peers,
 * but run no best-path, touch no RIB route and advertise nothing until every configured
 * peer has sent End-of-RIB for its families, or the deferral time ran out.
 */
export function deferRouting(cx: BgpContext, seconds: number, forwardingPreserved = true): void {
  cx.deferring = true;
  cx.keptForwarding = forwardingPreserved;
  cx.log(`bgp: restarting speaker: deferring routing for up to ${seconds} s`);
  cx.deferTimer = setTimeout(() => deferralEnded(cx, 'deferral time over'), seconds * 1000);
  cx.deferTimer.unref?.();
}

/** Routing resumes once every configured peer that is up has sent End-of-RIB for all its families. */
function checkDeferral(cx: BgpContext): void {
  if (!cx.deferring) return;
  const waiting = [...cx.neighbors.values()].filter((n) => !n.cfg.shutdown && !(n.established && cx.eorFrom.has(n)));
  if (waiting.length === 0) deferralEnded(cx, 'End-of-RIB from every peer');
}

/** The restarting speaker's deferral ended (its timer, or End-of-RIB from every peer): decide, then send every peer its table. */
export function deferralEnded(cx: BgpContext, why: string): void {
  if (!cx.deferring) return;
  cx.deferring = false;
  if (cx.deferTimer) clearTimeout(cx.deferTimer);
  cx.log(`bgp: restarting speaker: routing resumes (${why})`);
  flush(cx);
  for (const nb of cx.neighbors.values()) {
    const st = cx.ribs.get(nb);
    if (!st || !nb.established) continue;
    joinGroups(cx, nb, st);
  }
}

/** A neighbor was configured: its RIB state, then its session starts. */
export function neighborAdded(cx: BgpContext, nb: Neighbor): void {
  cx.neighbors.set(nb.cfg.address, nb);
  cx.ribs.set(nb, new NeighborRib());
  nb.start();
}

/** A neighbor was deconfigured (or the instance stops): close its session, forget its routes. */
export function neighborRemoved(cx: BgpContext, address: string, subcode: number = CeaseSubcode.PeerDeconfigured): void {
  const nb = cx.neighbors.get(address);
  if (!nb) return;
  nb.stop(subcode);
  dropAllPaths(cx, nb);
  const st = cx.ribs.get(nb);
  if (st?.staleTimer) clearTimeout(st.staleTimer);
  if (st) leaveGroups(cx, st);
  cx.ribs.delete(nb);
  cx.neighbors.delete(address);
  cx.eorFrom.delete(nb);
  checkDeferral(cx);
  schedule(cx);
}

/** New policies: re-run import over every Adj-RIB-In and export toward every peer. */
export function policiesChanged(cx: BgpContext): void {
  for (const nb of cx.neighbors.values()) softInbound(cx, nb);
  // the groups are made again under the new policies as their members rejoin
  cx.updateGroups.forget();
  for (const nb of cx.neighbors.values()) softOutbound(cx, nb);
}

/** Soft inbound reconfiguration: import policy again over the neighbor's Adj-RIB-In. */
export function softInbound(cx: BgpContext, nb: Neighbor): void {
  const st = cx.ribs.get(nb);
  if (!st) return;
  for (const table of cx.tables) {
    for (const { entry, path } of adjRibIn(cx, nb, table)) {
      learn(cx, nb, st, table, entry.key, path.pathId, path.inAttrs, path.hidden && path.hidden !== 'rejected by import policy' ? path.hidden : undefined, undefined, path.labels);
    }
  }
  schedule(cx);
}

/** Soft outbound reconfiguration: export again to the neighbor, sending what changed. */
export function softOutbound(cx: BgpContext, nb: Neighbor): void {
  const st = cx.ribs.get(nb);
  if (!st || !nb.established) return;
  rejoinGroups(cx, nb, st);
}

/** The instance stops: every session closes, BGP's routes leave the RIB. */
export function stop(cx: BgpContext): void {
  cx.stopped = true;
  if (cx.deferTimer) clearTimeout(cx.deferTimer);
  cx.deferring = false;
  for (const a of [...cx.neighbors.keys()]) neighborRemoved(cx, a);
  for (const nh of cx.nexthops.values()) {
    nh.unwatch?.();
    nh.live = false;
  }
  cx.nexthops.clear();
  // the Loc-RIB's entries let go of the RIB's (RibLocTable)
  for (const lt of cx.loc.values()) lt.clear();
  cx.loc.clear();
  for (const t of cx.tables) if (!isVpnTable(t)) cx.rib.flush(t, 'bgp');
  cx.vpn.stop();
}

/** A session reached Established: stale routes of families no longer preserved go, the full table goes out. */
export function sessionUp(cx: BgpContext, nb: Neighbor): void {
  const st = cx.ribs.get(nb)!;
  if (cx.neighbors.get(nb.cfg.address) !== nb) return;
  leaveGroups(cx, st);
  cx.log(`bgp neighbor ${nb.cfg.address}: Established (families ${nb.families.map((f) => Neighbor.familyName(f.afi, f.safi)).join(' ')})`);
  // graceful restart: families the peer no longer preserves lose their stale routes now
  const gr = nb.peerOpen?.capabilities.gracefulRestart;
  for (const table of cx.tables) {
    const kept = gr?.families.some((f) => f.forwardingPreserved && familyOfTable(nb, table, f));
    if (!kept) purgeStale(cx, nb, st, table);
  }
  if (hasStale(cx, nb)) armStaleTimer(cx, nb, st, nb.cfg.gracefulRestart?.staleRoutesTime ?? 300);
  if (cx.deferring) return; // the table goes out when the deferral ends
  joinGroups(cx, nb, st);
}

/** A session left Established: its routes go, or stay as stale (graceful restart helper). */
export function sessionDown(cx: BgpContext, nb: Neighbor, notification: boolean): void {
  const st = cx.ribs.get(nb);
  if (!st) return;
  st.attrCache.clear();
  leaveGroups(cx, st);
  st.eor = undefined;
  cx.eorFrom.delete(nb);
  const gr = nb.peerOpen?.capabilities.gracefulRestart;
  if (!notification && gr && nb.cfg.gracefulRestart && gr.families.length > 0) {
    // helper mode (RFC 4724 section 4.2): keep the peer's routes, marked stale, for its restart time
    let n = 0;
    for (const table of cx.tables) {
      if (!gr.families.some((f) => familyOfTable(nb, table, f))) {
        purgeTable(cx, st, table, nb);
        continue;
      }
      st.staleMarked = true;
      for (const { path } of adjRibIn(cx, nb, table)) {
        path.stale = true;
        n++;
      }
    }
    cx.log(`bgp neighbor ${nb.cfg.address}: graceful restart: keeping ${n} routes as stale for ${gr.time} s`);
    armStaleTimer(cx, nb, st, gr.time || 120);
  } else {
    dropAllPaths(cx, nb);
  }
  schedule(cx);
}

/** Whether a graceful-restart family (AFI/SAFI) is one of the peer's families for this table. */
function familyOfTable(nb: Neighbor, table: string, f: { afi: number; safi: number }): boolean {
  return nb.cfg.families.some((c) => c.table === table && c.afi === f.afi && c.safi === f.safi);
}

function armStaleTimer(cx: BgpContext, nb: Neighbor, st: NeighborRib, seconds: number): void {
  if (st.staleTimer) clearTimeout(st.staleTimer);
  st.staleTimer = setTimeout(() => staleTimerExpired(cx, nb, st), seconds * 1000);
  st.staleTimer.unref?.();
}

/** Graceful restart: the peer's stale routes outlived their time (restart time, or stale-routes-time). */
export function staleTimerExpired(cx: BgpContext, nb: Neighbor, st: NeighborRib): void {
  st.staleTimer = undefined;
  for (const table of cx.tables) purgeStale(cx, nb, st, table);
  schedule(cx);
}

/** ROUTE-REFRESH received: a request (send the table again), or enhanced route refresh's BoRR/EoRR (RFC 7313). */
export function routeRefreshReceived(cx: BgpContext, nb: Neighbor, r: RouteRefresh): void {
  const st = cx.ribs.get(nb)!;
  const f = nb.families.find((x) => x.afi === r.afi && x.safi === r.safi);
  if (!f) return;
  if (r.subtype === RefreshSubtype.Request) {
    const enhanced = nb.peerOpen?.capabilities.enhancedRouteRefresh === true;
    if (enhanced) nb.send(encodeRouteRefresh({ afi: r.afi, safi: r.safi, subtype: RefreshSubtype.BoRR }));
    // the table again, paced like any walk of the group's table; EoRR or End-of-RIB after it
    resendTable(cx, st, f.table, [enhanced ? encodeRouteRefresh({ afi: r.afi, safi: r.safi, subtype: RefreshSubtype.EoRR }) : encodeEndOfRib(r.afi, r.safi)]);
  } else if (r.subtype === RefreshSubtype.BoRR) {
    // RFC 7313: what the peer does not re-send before EoRR is gone
    st.staleMarked = true;
    for (const { path } of adjRibIn(cx, nb, f.table)) path.stale = true;
  } else if (r.subtype === RefreshSubtype.EoRR) {
    purgeStale(cx, nb, st, f.table);
  }
}

/** Ask the peer to send its routes again (soft-inbound with route refresh). */
export function requestRefresh(nb: Neighbor): boolean {
  if (!nb.established || !nb.peerOpen?.capabilities.routeRefresh) return false;
  for (const f of nb.families) nb.send(encodeRouteRefresh({ afi: f.afi, safi: f.safi, subtype: RefreshSubtype.Request }));
  return true;
}

/**
 * An UPDATE received (decoded, RFC 7606 outcome decided by the decoder): withdrawals, then
 * the session checks on its attributes (cached per attribute set), then its reachable
 * prefixes into the Adj-RIB-In; the decision process runs at the next flush.
 */
export function updateReceived(cx: BgpContext, nb: Neighbor, d: DecodedUpdate): void {
  const st = cx.ribs.get(nb);
  if (!st || cx.stopped) return;
  const u = d.update;
  if (d.problems.length) cx.log(`bgp neighbor ${nb.cfg.address}: UPDATE: ${d.problems.join('; ')}`);
  if (d.endOfRib) {
    endOfRibReceived(cx, nb, st, d.endOfRib);
    return;
  }
  const rx = receiveFacts(cx, nb);
  const t4 = rx.t4;
  const has4 = rx.has4;
  const ap4 = rx.ap4;
  // IPv4 prefixes as values when the session decoded them so (d.v4), else as text
  const withdrawn: readonly PrefixKey[] = d.v4?.withdrawn ?? u.withdrawn;
  const nlri: readonly PrefixKey[] = d.v4?.nlri ?? u.nlri;
  const text4 = !d.v4;
  if (has4) for (let i = 0; i < withdrawn.length; i++) unlearn(cx, nb, st, t4, text4 ? mpKey(1, undefined, withdrawn[i] as string) : withdrawn[i]!, ap4 ? u.withdrawnIds![i]! : 0);
  const mu = u.mpUnreach;
  const fu = mu && nb.families.find((f) => f.afi === mu.afi && f.safi === mu.safi);
  if (mu && fu) {
    const t = fu.table;
    const rds = mu.rds;
    for (let i = 0; i < mu.prefixes.length; i++) unlearn(cx, nb, st, t, mpKey(mu.afi, rds?.[i], mu.prefixes[i]!), mu.pathIds?.[i] ?? 0);
  }
  let withdrawAll = d.outcome === 'treat-as-withdraw';
  let attrs = u.attrs;
  let hidden: string | undefined;
  let checked: CheckedAttributes | undefined;
  if (!withdrawAll && (nlri.length || u.mpReach)) {
    const bytes = d.attrBytes;
    let c = bytes !== undefined && bytes === rx.lastBytes ? rx.lastChecked : undefined;
    if (!c) {
      c = bytes !== undefined ? st.attrCache.get(d.attrHash!, bytes) : undefined;
      if (!c) {
        c = checkSessionRules(cx, nb, attrs);
        if (bytes !== undefined) st.attrCache.set(d.attrHash!, bytes, c);
      }
      rx.lastBytes = bytes;
      rx.lastChecked = c;
    }
    if (c.withdraw) {
      cx.log(`bgp neighbor ${nb.cfg.address}: UPDATE: ${c.withdraw} (treat-as-withdraw)`);
      withdrawAll = true;
    }
    attrs = c.attrs;
    hidden = c.hidden;
    checked = c;
  }
  if (nlri.length && has4) {
    const why = hidden ?? nextHopProblem(nb, attrs.nextHop);
    const nh = withdrawAll || why ? undefined : peerNexthop(cx, st, t4, attrs.nextHop!);
    // without path IDs, the UPDATE's prefixes go in as one run (learnAll: the per-UPDATE work once)
    if (!withdrawAll && !ap4) learnAll(cx, nb, st, t4, text4 ? nlri.map((k) => mpKey(1, undefined, k as string)) : nlri, attrs, why, nh);
    else {
      for (let i = 0; i < nlri.length; i++) {
        const id = ap4 ? u.nlriIds![i]! : 0;
        const key = text4 ? mpKey(1, undefined, nlri[i] as string) : nlri[i]!;
        if (withdrawAll) unlearn(cx, nb, st, t4, key, id);
        else learn(cx, nb, st, t4, key, id, attrs, why, nh);
      }
    }
    releaseUnused(cx, nh);
  }
  const mr = u.mpReach;
  const fr = mr && nb.families.find((f) => f.afi === mr.afi && f.safi === mr.safi);
  if (mr && fr) {
    const t = fr.table;
    const rds = mr.rds;
    const labels = mr.labels;
    let a = attrs;
    if (!withdrawAll) {
      a = checked?.mp ?? { ...attrs, nextHop: mr.nextHop, nextHopLocal: mr.nextHopLocal };
      if (checked) checked.mp = a;
    }
    const why = hidden ?? nextHopProblem(nb, mr.nextHop);
    const nh = withdrawAll || why ? undefined : peerNexthop(cx, st, t, mr.nextHop);
    // unicast without path IDs (IPv6): one run, as IPv4's above
    if (!withdrawAll && !labels && !rds && !mr.pathIds) learnAll(cx, nb, st, t, mr.prefixes.map((k) => mpKey(mr.afi, undefined, k)), a, why, nh);
    else for (let i = 0; i < mr.prefixes.length; i++) {
      const id = mr.pathIds?.[i] ?? 0;
      const key = mpKey(mr.afi, rds?.[i], mr.prefixes[i]!);
      if (withdrawAll) unlearn(cx, nb, st, t, key, id);
      else learn(cx, nb, st, t, key, id, a, why, nh, labels?.[i]);
    }
    releaseUnused(cx, nh);
  }
  if (rx.limits) checkPrefixLimits(cx, nb, st);
  flushOrSchedule(cx);
}

/** What every UPDATE of a session reads of its negotiation, made once per session (Neighbor.receiveFacts). */
export interface ReceiveFacts {
  readonly families: readonly unknown[];
  readonly options: object;
  readonly instance: string;
  /** the IPv4 unicast table */
  readonly t4: string;
  /** IPv4 NLRI (the UPDATE's own fields) are the session's: an IPv4 family that is not VPN */
  readonly has4: boolean;
  /** IPv4 unicast NLRI carry path identifiers */
  readonly ap4: boolean;
  /** some family has a prefix limit (checkPrefixLimits has something to check) */
  readonly limits: boolean;
  /**
   * The session checks of the last attribute set, by the identity of its bytes: the
   * decoder's memo (wire/bgp AttrMemo) hands the same bytes object to every UPDATE with
   * that set, within this session (a new session has new options, so new facts).
   */
  lastBytes: Uint8Array | undefined;
  lastChecked: CheckedAttributes | undefined;
}

function receiveFacts(cx: BgpContext, nb: Neighbor): ReceiveFacts {
  const r = nb.receiveFacts;
  if (r !== undefined && r.families === nb.families && r.options === nb.options && r.instance === cx.cfg.name) return r;
  let has4 = false;
  let limits = false;
  for (const f of nb.families) {
    if (f.afi === Afi.Ipv4 && f.safi !== Safi.MplsVpn) has4 = true;
    if (f.prefixLimit) limits = true;
  }
  const t4 = tableName(cx.cfg.name, Afi.Ipv4);
  return (nb.receiveFacts = { families: nb.families, options: nb.options, instance: cx.cfg.name, t4, has4, ap4: nb.options.addPathRx.has('1/1'), limits, lastBytes: undefined, lastChecked: undefined });
}

/**
 * The Loc-RIB key of a prefix from the decoder: a VPN route's RD:prefix text; an IPv6
 * unicast prefix's ipv6PrefixKey as decoded; a prefix the decoder gave as text (labeled
 * unicast, or a session decoding text) as the value its unicast twin has.
 */
function mpKey(afi: number, rd: string | undefined, prefix: string): PrefixKey {
  if (rd !== undefined) return `${rd}:${prefix}`;
  if (afi === Afi.Ipv4) {
    const code = scanIpv4PrefixCode(prefix);
    return code >= 0 ? code : prefix;
  }
  if (isIpv6PrefixKey(prefix)) return prefix;
  try {
    return prefixKeyOfText(prefix);
  } catch {
    return prefix;
  }
}

/** End-of-RIB for a family: its stale routes go; a restarting speaker may resume routing. */
export function endOfRibReceived(cx: BgpContext, nb: Neighbor, st: NeighborRib, eor: { afi: number; safi: number }): void {
  const f = nb.families.find((x) => x.afi === eor.afi && x.safi === eor.safi);
  if (f) purgeStale(cx, nb, st, f.table);
  // recorded even when not deferring: the FIB export's start-up gate reads it (initial-sync.ts)
  (st.eor ??= new Set()).add(`${eor.afi}/${eor.safi}`);
  if (cx.deferring) {
    if (nb.families.every((x) => st.eor!.has(x.key))) cx.eorFrom.add(nb);
    checkDeferral(cx);
  }
}

/**
 * The checks that need the session's context (RFC 4271 6.3, RFC 7606 section 7): what
 * makes the whole UPDATE treat-as-withdraw, which attributes an eBGP peer may not send,
 * and loops that hide the routes.
 */
function checkSessionRules(cx: BgpContext, nb: Neighbor, a: PathAttributes): { attrs: PathAttributes; withdraw?: string; hidden?: string } {
  let attrs = a;
  if (nb.ebgp) {
    const segs = a.asPath ?? [];
    if (segs.length === 0) return { attrs, withdraw: 'empty AS_PATH from an external peer' };
    if (segs.some((s) => s.type === SegmentType.ConfedSequence || s.type === SegmentType.ConfedSet)) return { attrs, withdraw: 'confederation segment from an external peer' };
    if (segs[0]!.type !== SegmentType.AsSequence || segs[0]!.asns[0] !== nb.cfg.peerAs) return { attrs, withdraw: `AS_PATH does not start with the peer AS ${nb.cfg.peerAs}` };
    if (a.localPref !== undefined || a.originatorId !== undefined || a.clusterList !== undefined) {
      // attribute discard: these are iBGP-only
      attrs = { ...a };
      delete attrs.localPref;
      delete attrs.originatorId;
      delete attrs.clusterList;
    }
  }
  const local = nb.cfg.localAs;
  if (a.asPath?.some((s) => s.asns.includes(local) || s.asns.includes(cx.cfg.localAs))) return { attrs, hidden: 'AS path loop' };
  if (!nb.ebgp) {
    if (a.originatorId === cx.cfg.routerId) return { attrs, hidden: 'ORIGINATOR_ID is our router ID' };
    const cluster = clusterId(cx);
    if (cluster && a.clusterList?.includes(cluster)) return { attrs, hidden: 'cluster list loop' };
  }
  return { attrs };
}

function nextHopProblem(nb: Neighbor, nh: string | undefined): string | undefined {
  if (nh === undefined) return 'no next hop';
  if (nh === '0.0.0.0' || nh === '::') return 'next hop is unspecified';
  if (nh === nb.localAddress) return 'next hop is our own address';
  return undefined;
}

function clusterId(cx: BgpContext): string | undefined {
  for (const nb of cx.neighbors.values()) if (nb.cfg.cluster) return nb.cfg.cluster;
  return undefined;
}

/** Maximum prefixes per family: warn once, or close the session (Cease, RFC 4486). */
function checkPrefixLimits(cx: BgpContext, nb: Neighbor, st: NeighborRib): void {
  for (const f of nb.families) {
    const lim = f.prefixLimit;
    if (!lim) continue;
    const n = st.accepted.get(f.table) ?? 0;
    if (n <= lim.maximum) continue;
    if (lim.teardown) {
      cx.log(`bgp neighbor ${nb.cfg.address}: ${n} prefixes in ${f.table} exceed the limit ${lim.maximum}: closing`);
      const data = new Uint8Array(7);
      const dv = new DataView(data.buffer);
      dv.setUint16(0, f.afi);
      data[2] = f.safi;
      dv.setUint32(3, lim.maximum);
      nb.event({ name: 'AutomaticStop', subcode: CeaseSubcode.MaximumPrefixesReached, data });
      return;
    }
    if (!st.limitWarned.has(f.table)) {
      st.limitWarned.add(f.table);
      cx.log(`bgp neighbor ${nb.cfg.address}: ${n} prefixes in ${f.table} exceed the limit ${lim.maximum}`);
    }
  }
}

/** A watched next hop resolves differently in the RIB: every entry with a path through it is decided again. */
export function nexthopChanged(cx: BgpContext, nh: NextHop): void {
  const lt = cx.loc.get(nh.table);
  if (!lt) return;
  for (const e of lt.values()) if (e.paths.some((p) => p.nh === nh)) markDirty(cx, nh.table, e);
  schedule(cx);
}

/** The VRFs changed (route distinguisher, targets, VRFs added or removed): import and export again. */
export function vrfsChanged(cx: BgpContext): void {
  const policyChanged = cx.vpnPolicy !== undefined && cx.vpnPolicy !== cx.policy;
  cx.vpnPolicy = cx.policy;
  cx.vpn.configure(cx.cfg.vrfs, policyChanged, () => vpnEntries(cx), (t) => cx.ribRoutes?.(t) ?? []);
  schedule(cx);
}

/** A non-BGP route changed in the RIB (or a shadowed BGP route became active): its export may change. */
export function ribChanged(cx: BgpContext, table: string, prefix: PrefixKey): void {
  if (cx.vpn.vrfOfTable(table)) {
    cx.vpn.localChanged(table, prefixKeyText(prefix));
    schedule(cx);
  }
  if (!cx.tables.has(table)) return;
  let s = cx.ribDirty.get(table);
  if (!s) cx.ribDirty.set(table, (s = new Set()));
  s.add(prefix);
  schedule(cx);
}
