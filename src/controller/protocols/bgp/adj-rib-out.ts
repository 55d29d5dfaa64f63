/**
 * Export: what BGP advertises for a prefix (the active route only, BGP's advertisement
 * rules — split horizon, iBGP full mesh, route reflection, well-known communities — and
 * export policy through policy.ts), the attributes a peer gets (eBGP/iBGP rewriting), and
 * the packed UPDATEs carrying a difference. The Adj-RIB-Out itself is an update group's
 * (update-group.ts): it calls exportFor once per group and sendDifference per member.
 *
 * Exported attribute sets are cached per source object (the group's exportCache), so that
 * export groups prefixes into UPDATEs by identity without hashing.
 */
import { formatIpv4, prefixKeyText, tryParseIpv4, tryParseIpv6, type PrefixKey } from '../../../lib/addr.js';
import {
  Afi,
  WELL_KNOWN_COMMUNITIES,
  allIpv4Codes,
  encodeAttributeBlock,
  familyKey,
  maxMessageLength,
  packIpv4Updates,
  packIpv4Withdrawals,
  packLabeledUpdates,
  packLabeledWithdrawals,
  packUpdates,
  packWithdrawals,
  Safi,
  type LabeledPrefix,
  type PathAttributes,
} from '../../../wire/bgp/index.js';
import type { PolicyResult } from '../../policy/index.js';
import { DEFAULT_LOCAL_PREF } from './best-path.js';
import { isVpnTable, splitVpnKey, VPN_TABLE6 } from './config.js';
import type { Neighbor } from './neighbor.js';
import type { BgpContext } from './instance.js';
import { EXPLICIT_NULL, IMPLICIT_NULL, type LocEntry, type Path } from './rib.js';
import { exportPathVerdict, exportRouteVerdict, hasModifications, prepend, vrfExportVerdict } from './policy.js';

/** Attributes of routes we originate from other protocols, one per family (export caches key on them). */
const LOCAL_BASE4: PathAttributes = Object.freeze({ origin: 0, asPath: [] }) as PathAttributes;
const LOCAL_BASE6: PathAttributes = Object.freeze({ origin: 0, asPath: [] }) as PathAttributes;

function isPrivateAs(a: number): boolean {
  return (a >= 64512 && a <= 65534) || (a >= 4200000000 && a <= 4294967294);
}

function attrsKey(a: PathAttributes): string {
  return JSON.stringify(a, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
}

/** Caches of exported attribute sets (an update group's, update-group.ts). */
export interface ExportCaches {
  /** exported attributes per source attributes object (no policy change) */
  exportCache: WeakMap<PathAttributes, PathAttributes>;
  /** exported attributes changed by policy, interned by content */
  intern: Map<string, PathAttributes>;
}

/** The source of the last exportFor result: the path advertised (undefined: another protocol's route, our VPN route). */
export const exportedFrom: { path: Path | undefined } = { path: undefined };

/** Send a peer the difference for a table: withdrawals, then announcements by attribute set. */
export function sendDifference(cx: BgpContext, nb: Neighbor, table: string, withdrawn: PrefixKey[], groups: Map<PathAttributes, PrefixKey[]>, share: UpdateShare | undefined): void {
  const f = nb.families.find((x) => x.table === table);
  if (!f || (withdrawn.length === 0 && groups.size === 0)) return;
  const msgs: Uint8Array[] = [];
  if (f.safi !== Safi.Unicast) {
    packLabeled(cx, nb, table, f.afi, f.safi, withdrawn, groups, msgs);
    nb.sendUpdates(msgs);
    return;
  }
  const o = nb.options;
  const addPath = o.addPathTx.has(familyKey(f.afi, Safi.Unicast));
  const values = f.afi === Afi.Ipv4 && !addPath;
  // what the bytes depend on besides the prefixes (and, announcing, the attributes)
  const shape = `${table}|${maxMessageLength(o)}|${addPath}`;
  if (withdrawn.length) {
    const pack = () => (values && allIpv4Codes(withdrawn) ? packIpv4Withdrawals(withdrawn, o) : packWithdrawals(f.afi, withdrawn.map(prefixKeyText), undefined, o));
    for (const m of share ? share.messages(`${shape}|w`, withdrawn, pack) : pack()) msgs.push(m);
  }
  for (const [a, ps] of groups) {
    const block = encodeAttributeBlock(a, f.afi, o);
    // IPv4 from the prefix values; otherwise the encoder takes text, formatted here as it goes out
    const pack = () =>
      values && allIpv4Codes(ps)
        ? packIpv4Updates(block, ps, o)
        : packUpdates(block, f.afi, ps.map(prefixKeyText), undefined, o, f.afi === Afi.Ipv4 ? undefined : { nextHop: a.nextHop ?? '::', nextHopLocal: a.nextHopLocal });
    const key = share ? `${shape}|a|${Buffer.from(block.buffer, block.byteOffset, block.length).toString('latin1')}|${a.nextHop}|${a.nextHopLocal}` : undefined;
    for (const m of key ? share!.messages(key, ps, pack) : pack()) msgs.push(m);
  }
  nb.sendUpdates(msgs);
}

/**
 * UPDATEs shared by the peers of one flush (an update group found by its output, as FRR and
 * Junos share the work among peers with the same export): peers whose export gives the same
 * attribute block and the same prefixes get the same bytes, so they are encoded once. The key
 * holds everything the bytes depend on besides the prefixes (family, block, message size,
 * ADD-PATH); the prefixes are compared in full, so a peer whose export differs in one prefix
 * gets its own encoding.
 */
export class UpdateShare {
  private readonly done = new Map<string, { keys: readonly PrefixKey[]; msgs: Uint8Array[] }[]>();

  messages(key: string, keys: readonly PrefixKey[], pack: () => Uint8Array[]): Uint8Array[] {
    let list = this.done.get(key);
    if (!list) this.done.set(key, (list = []));
    for (const d of list) if (sameKeys(d.keys, keys)) return d.msgs;
    const msgs = pack();
    list.push({ keys, msgs });
    return msgs;
  }
}

function sameKeys(a: readonly PrefixKey[], b: readonly PrefixKey[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** UPDATEs of a labeled family (SAFI 4 or 128): the labels and RDs ride beside each prefix. */
function packLabeled(cx: BgpContext, nb: Neighbor, table: string, afi: number, safi: number, withdrawn: PrefixKey[], groups: Map<PathAttributes, PrefixKey[]>, msgs: Uint8Array[]): void {
  const vpn = safi === Safi.MplsVpn;
  const lp = (key: PrefixKey, labels?: readonly number[]): LabeledPrefix => (vpn ? { ...splitVpnKey(prefixKeyText(key)), labels } : { prefix: prefixKeyText(key), labels });
  if (withdrawn.length) msgs.push(...packLabeledWithdrawals(afi, safi, withdrawn.map((k) => lp(k)), nb.options));
  for (const [a, keys] of groups) {
    const block = encodeAttributeBlock(a, afi, nb.options, false);
    const routes = keys.map((k) => lp(k, outLabels(cx, nb, table, k, a)));
    msgs.push(...packLabeledUpdates(block, afi, safi, routes, nb.options, { nextHop: a.nextHop ?? (afi === Afi.Ipv4 ? cx.cfg.routerId : '::'), nextHopLocal: a.nextHopLocal }));
  }
}

/**
 * The label stack a labeled prefix goes out with: our VRF's table label for our own VPN
 * routes; the received labels when the next hop is passed on unchanged; otherwise implicit
 * null (labeled unicast with next hop self: the packet reaches us unlabeled and is routed
 * by IP lookup in inet.0).
 */
function outLabels(cx: BgpContext, nb: Neighbor, table: string, key: PrefixKey, a: PathAttributes): readonly number[] {
  if (typeof key === 'string' && isVpnTable(table)) {
    const l = cx.vpn.localLabel(table, key);
    if (l !== undefined) return [l];
  }
  const best = cx.loc.get(table)?.get(key)?.best;
  if (best?.labels && a.nextHop === best.attrs.nextHop) return best.labels;
  return nb.families.some((f) => f.table === table && f.explicitNull) ? EXPLICIT_NULL : [IMPLICIT_NULL];
}

/** What we advertise for a VPN key: our VRF's route, or (reflection, iBGP) the best received path. */
function exportVpn(cx: BgpContext, nb: Neighbor, st: ExportCaches, table: string, key: PrefixKey, entry?: LocEntry): PathAttributes | undefined {
  const local = typeof key === 'string' ? cx.vpn.local.get(table)?.get(key) : undefined;
  if (local) {
    const base = table === VPN_TABLE6 ? local.vrf.base6 : local.vrf.base4;
    const chain = local.vrf.exportPolicies;
    if (chain.length === 0) return transform(cx, base, undefined, nb, st, undefined, table);
    const r = vrfExportVerdict(cx, local, base);
    return r.accept ? transform(cx, base, undefined, nb, st, r, table) : undefined;
  }
  const best = (entry ?? cx.loc.get(table)?.get(key))?.best;
  // no inter-AS option B: a VPN route is not passed to an external peer
  if (!best || nb.ebgp || !mayAdvertise(best, nb)) return undefined;
  exportedFrom.path = best;
  return transform(cx, best.attrs, best, nb, st, undefined, table);
}

/**
 * What we advertise for a prefix to the update group `nb` stands for (undefined: nothing);
 * `exportedFrom.path` tells its source. For an eBGP group, "not back to where it came from"
 * is left to the group's members (update-group.ts).
 */
export function exportFor(cx: BgpContext, nb: Neighbor, st: ExportCaches, table: string, prefix: PrefixKey, entry?: LocEntry): PathAttributes | undefined {
  exportedFrom.path = undefined;
  if (isVpnTable(table)) return exportVpn(cx, nb, st, table, prefix, entry);
  const e = entry ?? cx.loc.get(table)?.get(prefix);
  let best = e?.best;
  const chain = nb.cfg.export;
  // BGP advertises the active route only (Junos without advertise-inactive): when another
  // protocol won the prefix in the RIB, what goes out is that route, through the export
  // policy, or nothing. Looked up only when something could be sent.
  if (best && (chain.length > 0 || mayAdvertise(best, nb))) {
    const active = e?.ribRef && cx.rib.activeProtocolAt ? cx.rib.activeProtocolAt(e.ribRef) : cx.rib.activeProtocol ? cx.rib.activeProtocol(table, prefix) : ribGet(cx, table, prefix)?.protocol;
    let set = cx.shadowed.get(table);
    if (active !== undefined && active !== 'bgp') {
      if (!set) cx.shadowed.set(table, (set = new Set()));
      set.add(prefix);
      best = undefined;
    } else if (set?.size) set.delete(prefix);
  }
  if (best) {
    if (!mayAdvertise(best, nb)) return undefined;
    exportedFrom.path = best;
    if (chain.length === 0) return transform(cx, best.attrs, best, nb, st, undefined, table);
    const r = exportPathVerdict(cx, chain, prefix, best);
    return r.accept ? transform(cx, best.attrs, best, nb, st, r, table) : undefined;
  }
  if (chain.length === 0) return undefined; // default BGP export: BGP routes only
  const route = ribGet(cx, table, prefix);
  if (!route || route.protocol === 'bgp') return undefined;
  const r = exportRouteVerdict(cx, chain, prefix, route);
  return r.accept ? transform(cx, table.endsWith('inet6.0') ? LOCAL_BASE6 : LOCAL_BASE4, undefined, nb, st, r, table) : undefined;
}

/** The RIB's active route for a prefix value (through its text when the RIB takes only text). */
function ribGet(cx: BgpContext, table: string, prefix: PrefixKey) {
  return cx.rib.getKey ? cx.rib.getKey(table, prefix) : cx.rib.get(table, prefixKeyText(prefix));
}

/**
 * BGP's own advertisement rules: split horizon, iBGP full mesh / route reflection, well-known
 * communities. For eBGP, "not to the peer or AS it came from" is each member's (update-group.ts).
 */
function mayAdvertise(best: Path, nb: Neighbor): boolean {
  if (best.peer === nb && !nb.ebgp) return false;
  const c = best.attrs.communities;
  if (c) {
    if (c.includes(WELL_KNOWN_COMMUNITIES['no-advertise']!)) return false;
    if (nb.ebgp && (c.includes(WELL_KNOWN_COMMUNITIES['no-export']!) || c.includes(WELL_KNOWN_COMMUNITIES['no-export-subconfed']!))) return false;
  }
  if (!best.ebgp && !nb.ebgp) {
    // RFC 4456: a reflector reflects client routes to everyone and others' routes to clients
    const fromClient = best.peer.cfg.cluster !== undefined;
    const toClient = nb.cfg.cluster !== undefined;
    if (!fromClient && !toClient) return false;
    if (best.attrs.originatorId !== undefined && tryParseIpv4(best.attrs.originatorId) === nb.peerRouterId) return false;
  }
  return true;
}

function selfNextHop(cx: BgpContext, nb: Neighbor, table: string): string {
  const la = nb.localAddress;
  if (!table.endsWith('inet6.0')) return la && tryParseIpv4(la) !== undefined ? la : cx.cfg.routerId;
  if (la?.includes(':')) return la;
  // inet6-vpn over IPv4 (RFC 4659 section 3.2.1.2): the IPv4-mapped address, the router ID without a session address
  return la ? `::ffff:${la}` : table === VPN_TABLE6 ? `::ffff:${cx.cfg.routerId}` : '::';
}

/** The attributes a peer gets: eBGP/iBGP rules, reflection, then policy changes. */
function transform(cx: BgpContext, src: PathAttributes, best: Path | undefined, nb: Neighbor, st: ExportCaches, r: PolicyResult | undefined, table: string): PathAttributes {
  const modified = hasModifications(r);
  if (!modified) {
    const c = st.exportCache.get(src);
    if (c) return c;
  }
  const a: PathAttributes = {};
  a.origin = r?.origin ?? src.origin ?? 0;
  let path = src.asPath ?? [];
  const policyNh = r?.nextHop;
  const nhAddress = policyNh && (tryParseIpv4(policyNh) !== undefined || tryParseIpv6(policyNh) !== undefined) ? policyNh : undefined;
  if (nb.ebgp) {
    if (nb.cfg.removePrivate) path = path.map((s) => ({ type: s.type, asns: s.asns.filter((x) => !isPrivateAs(x)) })).filter((s) => s.asns.length > 0);
    if (nb.cfg.asOverride) path = path.map((s) => ({ type: s.type, asns: s.asns.map((x) => (x === nb.cfg.peerAs ? nb.cfg.localAs : x)) }));
    a.asPath = prepend(path, [nb.cfg.localAs, ...(r?.asPathPrepend ?? [])]);
    a.nextHop = nhAddress ?? selfNextHop(cx, nb, table);
    if (r?.metric !== undefined) a.med = r.metric;
  } else {
    a.asPath = r?.asPathPrepend ? prepend(path, r.asPathPrepend) : [...path];
    a.nextHop = nhAddress ?? (policyNh === 'self' || !best || !src.nextHop ? selfNextHop(cx, nb, table) : src.nextHop);
    if (best && a.nextHop === src.nextHop && src.nextHopLocal) a.nextHopLocal = undefined;
    a.localPref = r?.localPref ?? src.localPref ?? nb.cfg.localPreference ?? DEFAULT_LOCAL_PREF;
    const med = r?.metric ?? src.med;
    if (med !== undefined) a.med = med;
    if (best && !best.ebgp) {
      a.originatorId = src.originatorId ?? formatIpv4(best.peerRouterId);
      a.clusterList = [nb.cfg.cluster ?? best.peer.cfg.cluster ?? cx.cfg.routerId, ...(src.clusterList ?? [])];
    }
  }
  if (src.atomicAggregate) a.atomicAggregate = true;
  if (src.aggregator) a.aggregator = src.aggregator;
  const comms = r?.communities;
  const communities = comms ? comms.communities : src.communities;
  const ext = comms ? comms.extCommunities : src.extCommunities;
  const large = comms ? comms.largeCommunities : src.largeCommunities;
  if (communities?.length) a.communities = communities;
  if (ext?.length) a.extCommunities = ext;
  if (large?.length) a.largeCommunities = large;
  if (src.unknown) a.unknown = src.unknown;
  if (!modified) {
    st.exportCache.set(src, a);
    return a;
  }
  const k = attrsKey(a);
  const seen = st.intern.get(k);
  if (seen) return seen;
  st.intern.set(k, a);
  return a;
}
