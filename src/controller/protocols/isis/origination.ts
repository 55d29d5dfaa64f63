/**
 * This system's own LSPs (ISO 10589 7.3.7-7.3.9): one set of fragments per level, built from
 * the configuration and the adjacencies that are up — area addresses, protocols supported
 * (IPv4, IPv6), the dynamic hostname (TLV 137), the TE router ID, extended IS reachability to
 * each point-to-point neighbour and each LAN's pseudonode (TLV 22, with Adj-SIDs under segment
 * routing), the prefixes of the IS-IS interfaces (TLV 135 and 236; the loopback's carry the
 * Prefix-SIDs) and the Router Capability with the SRGB and SRLB (TLV 242). A fragment's
 * sequence number goes up only when its content changed, or on refresh; a fragment no longer
 * needed is purged. Wide metrics only.
 */
import {
  encodePduBytes,
  fragmentTlvs,
  formatLspId,
  Nlpid,
  parseSystemId,
  splitTlv,
  type ExtendedIpv4Reach,
  type ExtendedIsReach,
  type Ipv6Reach,
  type Level,
  type Lsp,
  type Tlv,
} from '../../../wire/isis/index.js';
import { formatPrefix, parseCidr, parsePrefix, tryParseIpv4, type Prefix } from '../../../lib/addr.js';
import type { IsisContext } from './instance.js';
import { flood } from './flooding.js';
import { adjSidSubTlvs, lanAdjSidSubTlvs, prefixSidSubTlvs, routerCapability } from './sr.js';
import { exportedPrefixes } from './policy.js';

/** Refresh own LSPs this long before their lifetime runs out (Junos refreshes at lifetime - 317 s). */
export const REFRESH_MARGIN_S = 300;

/** A placeholder digest: the encoder computes the HMAC-MD5 over the PDU (RFC 5304). */
export function authTlvs(cx: IsisContext, level: Level): Tlv[] {
  return cx.cfg.authKey.has(level) ? [{ type: 'authentication', auth: { kind: 'hmac-md5', digest: new Uint8Array(16) } }] : [];
}

export function encodeOpts(cx: IsisContext, level: Level): { hmacMd5Key?: string } {
  const key = cx.cfg.authKey.get(level);
  return key === undefined ? {} : { hmacMd5Key: key };
}

function interfacePrefix(cidr: string): Prefix | undefined {
  try {
    const p = parseCidr(cidr);
    if (p.family === 6 && p.addr[0] === 0xfe && (p.addr[1]! & 0xc0) === 0x80) return undefined; // link-local
    return parsePrefix(formatPrefix(p));
  } catch {
    return undefined;
  }
}

/** The TLVs of this system's LSP at `level` (before splitting into fragments). */
export function ownTlvs(cx: IsisContext, level: Level): Tlv[] {
  const cfg = cx.cfg;
  const tlvs: Tlv[] = [{ type: 'area-addresses', areas: [...cfg.areas] }, { type: 'protocols-supported', nlpids: [Nlpid.Ipv4, Nlpid.Ipv6] }, { type: 'hostname', hostname: cfg.hostname }];
  const rid = cfg.routerId !== undefined ? tryParseIpv4(cfg.routerId) : undefined;
  if (rid !== undefined) {
    tlvs.push({ type: 'te-router-id', routerId: rid }, { type: 'ipv4-interface-addresses', addresses: [rid] });
    if (cfg.sr) tlvs.push(routerCapability(cfg.sr, rid));
  }
  const neighbors: ExtendedIsReach[] = [];
  const v4: ExtendedIpv4Reach[] = [];
  const v6: Ipv6Reach[] = [];
  const seen4 = new Set<string>();
  const seen6 = new Set<string>();
  for (const c of cx.circuits.values()) {
    const lc = c.cfg.levels.get(level);
    if (!lc) continue;
    if (!c.up && !c.cfg.passive) continue;
    const loopback = c.name === 'lo0';
    for (const a of c.cfg.inet) {
      const p = interfacePrefix(a);
      if (!p || seen4.has(formatPrefix(p))) continue;
      seen4.add(formatPrefix(p));
      v4.push({ prefix: p, metric: lc.metric, down: false, subTlvs: loopback ? prefixSidSubTlvs(cfg.sr, 4, p) : [] });
    }
    for (const a of c.cfg.inet6) {
      const p = interfacePrefix(a);
      if (!p || seen6.has(formatPrefix(p))) continue;
      seen6.add(formatPrefix(p));
      v6.push({ prefix: p, metric: lc.metric, down: false, external: false, subTlvs: loopback ? prefixSidSubTlvs(cfg.sr, 6, p) : [] });
    }
    if (c.cfg.passive || lc.passive) continue;
    const adj = c.p2p;
    if (adj && adj.state === 'up' && adj.levels.includes(level)) {
      neighbors.push({ neighbor: { systemId: adj.systemId, pseudonode: 0 }, metric: lc.metric, subTlvs: adjSidSubTlvs(adj) });
    }
    const dis = c.dis.get(level);
    const up = [...c.lan.values()].filter((a) => a.state === 'up' && a.levels.includes(level));
    if (dis !== undefined && up.length > 0) {
      const [s1, s2, s3, pn] = dis.split('.');
      neighbors.push({ neighbor: { systemId: parseSystemId(`${s1}.${s2}.${s3}`), pseudonode: parseInt(pn!, 16) }, metric: lc.metric, subTlvs: lanAdjSidSubTlvs(up) });
    }
  }
  const exported = exportedPrefixes(cx, level);
  for (const r of exported.v4) if (!seen4.has(formatPrefix(r.prefix))) v4.push(r);
  for (const r of exported.v6) if (!seen6.has(formatPrefix(r.prefix))) v6.push(r);
  if (neighbors.length) tlvs.push({ type: 'extended-is-reachability', neighbors });
  if (v4.length) tlvs.push({ type: 'extended-ipv4-reachability', prefixes: v4 });
  if (v6.length) tlvs.push({ type: 'ipv6-reachability', prefixes: v6 });
  return tlvs;
}

/** The pseudonode LSP of a LAN where this system is DIS (ISO 10589 7.3.8): every IS on it at metric 0. */
export function pseudonodeTlvs(cx: IsisContext, level: Level, circuitName: string): Tlv[] {
  const c = cx.circuits.get(circuitName)!;
  const neighbors: ExtendedIsReach[] = [{ neighbor: { systemId: cx.cfg.systemId, pseudonode: 0 }, metric: 0, subTlvs: [] }];
  for (const a of c.lan.values()) if (a.state === 'up' && a.levels.includes(level)) neighbors.push({ neighbor: { systemId: a.systemId, pseudonode: 0 }, metric: 0, subTlvs: [] });
  return [{ type: 'extended-is-reachability', neighbors }];
}

/**
 * Whether this system is attached (ISO 10589 7.2.9.2, the ATT bit of its level 1 LSP): it runs
 * both levels and has a level 2 adjacency up, so level 1 systems of its area can send it what
 * they have no route for. (ISO says "can reach another area"; Junos and FRR set it on level 2
 * connectivity, which is what this checks.)
 */
export function attachedToLevel2(cx: IsisContext): boolean {
  if (!cx.cfg.levels.includes(1) || !cx.cfg.levels.includes(2)) return false;
  for (const c of cx.circuits.values()) {
    if (!c.up) continue;
    if (c.p2p?.state === 'up' && c.p2p.levels.includes(2)) return true;
    for (const a of c.lan.values()) if (a.state === 'up' && a.levels.includes(2)) return true;
  }
  return false;
}

function contentKey(tlvs: Tlv[]): string {
  return JSON.stringify(tlvs, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v));
}

/**
 * Regenerate this system's LSPs at every level: fragments whose content changed (or all of
 * them, on `refresh`) get the next sequence number and are flooded; fragments and pseudonode
 * LSPs no longer originated are purged.
 */
export function originate(cx: IsisContext, now: number, refresh: boolean): void {
  for (const level of [1, 2] as Level[]) {
    const db = cx.lsdb.get(level)!;
    const content = cx.ownContent.get(level)!;
    const wanted = new Map<string, { pseudonode: number; fragment: number; tlvs: Tlv[] }>();
    if (cx.cfg.levels.includes(level)) {
      const split = ownTlvs(cx, level).flatMap(splitTlv);
      fragmentTlvs(split, undefined, authTlvs(cx, level)).forEach((tlvs, fragment) => {
        if (fragment < 256) wanted.set(formatLspId({ systemId: cx.cfg.systemId, pseudonode: 0, fragment }), { pseudonode: 0, fragment, tlvs });
      });
      for (const c of cx.circuits.values()) {
        if (c.dis.get(level) !== `${cx.cfg.systemId}.${c.localId.toString(16).padStart(2, '0')}`) continue;
        const split2 = pseudonodeTlvs(cx, level, c.name).flatMap(splitTlv);
        fragmentTlvs(split2, undefined, authTlvs(cx, level)).forEach((tlvs, fragment) => {
          if (fragment < 256) wanted.set(formatLspId({ systemId: cx.cfg.systemId, pseudonode: c.localId, fragment }), { pseudonode: c.localId, fragment, tlvs });
        });
      }
    }
    const attached = level === 1 && attachedToLevel2(cx) ? 1 : 0;
    for (const [key, w] of wanted) {
      const have = db.get(key);
      const zero = w.pseudonode === 0 && w.fragment === 0;
      // the header's bits are content too: a change of the ATT or overload bit is a new LSP
      const text = `${zero ? attached : 0}${zero && cx.cfg.overload ? 'o' : ''}|${contentKey(w.tlvs)}`;
      if (have?.own && have.purgedAt === undefined && content.get(key) === text && !refresh) continue;
      const lsp: Lsp = {
        kind: 'lsp',
        level,
        maxAreaAddresses: 0,
        remainingLifetime: cx.cfg.lspLifetime,
        lspId: { systemId: cx.cfg.systemId, pseudonode: w.pseudonode, fragment: w.fragment },
        sequence: ((have?.lsp.sequence ?? 0) + 1) >>> 0,
        checksum: 0,
        partitionRepair: false,
        // ATT: default metric bit (the others, delay/expense/error, are not used)
        attached: zero ? attached : 0,
        overload: zero && cx.cfg.overload,
        isType: cx.cfg.levels.includes(1) && !cx.cfg.levels.includes(2) ? 1 : 3,
        tlvs: w.tlvs,
      };
      const bytes = encodePduBytes(lsp, encodeOpts(cx, level));
      const checksum = (bytes[24]! << 8) | bytes[25]!;
      db.put({ ...lsp, checksum }, bytes, now, true);
      content.set(key, text);
      cx.stats.lspsOriginated++;
      flood(cx, level, key);
      scheduleSpf(cx, level, now, 'own LSP');
    }
    for (const r of db.records.values()) {
      if (r.lsp.lspId.systemId !== cx.cfg.systemId || wanted.has(r.key) || r.purgedAt !== undefined) continue;
      purge(cx, level, r.key, now, r.lsp.sequence);
      content.delete(r.key);
    }
  }
  cx.refreshDue = now + Math.max(30, cx.cfg.lspLifetime - REFRESH_MARGIN_S) * 1000;
}

/**
 * Purge an LSP (ISO 10589 7.3.16.4 / RFC 6233): Remaining Lifetime 0, the body removed, the
 * checksum zero, under sequence number `sequence`; kept for ZeroAgeLifetime and flooded.
 */
export function purge(cx: IsisContext, level: Level, key: string, now: number, sequence: number): void {
  const db = cx.lsdb.get(level)!;
  const r = db.get(key);
  if (!r) return;
  const lsp: Lsp = { ...r.lsp, remainingLifetime: 0, sequence, checksum: 0, tlvs: authTlvs(cx, level) };
  const bytes = encodePduBytes(lsp, { ...encodeOpts(cx, level), keepChecksum: true });
  db.put(lsp, bytes, now, r.own);
  flood(cx, level, key);
  scheduleSpf(cx, level, now, `purge ${key}`);
}

/** How long after the first change an SPF runs, so that the changes of one event go into one run. */
export const SPF_DELAY_MS = 50;
/**
 * The least quiet time after a run, as a multiple of that run's duration: while LSPs keep
 * arriving (a flood of a large database) SPF takes at most 1 / (1 + this) of the time, and a
 * small database still converges at SPF_DELAY_MS. (A 10k-system flood ran a 100-300 ms SPF every
 * 50 ms, ~15 times, for one result.) Never more than SPF_MAX_HOLD_MS: the duration is wall
 * time, which a loaded machine stretches.
 */
export const SPF_HOLD_FACTOR = 2;
export const SPF_MAX_HOLD_MS = 1000;

/**
 * A flood: more changes than this gathered by the pending SPF run and the one before it (a
 * database arriving in bulk, not the few LSPs of one event). While the changes of a flood keep
 * coming, the run waits until they pause for SPF_DELAY_MS, at most SPF_MAX_HOLD_MS after the
 * first, so that the flood makes about one run a second and one at its end, and the RIB and the
 * FIB as many rounds of route changes, instead of a run every SPF_DELAY_MS whose routes the next
 * one changes again (a 1k-system flood ran ~20, each reprogramming the vRouter's FIB). Changes
 * that come all at once run SPF_DELAY_MS after the first either way.
 */
export const SPF_FLOOD_CHANGES = 64;

export function scheduleSpf(cx: IsisContext, level: Level, now: number, reason: string): void {
  const due = cx.spfDue.get(level);
  const waiting = cx.spfWaiting.get(level);
  if (due === undefined || !waiting) {
    cx.spfDue.set(level, Math.max(now + SPF_DELAY_MS, cx.spfHold.get(level) ?? 0));
    cx.spfReason.set(level, reason);
    cx.spfWaiting.set(level, { since: now, changes: 1, previous: waiting?.changes ?? 0 });
    return;
  }
  waiting.changes++;
  if (waiting.changes + waiting.previous > SPF_FLOOD_CHANGES) cx.spfDue.set(level, Math.max(due, Math.min(now + SPF_DELAY_MS, waiting.since + SPF_MAX_HOLD_MS)));
}

/** Whether own LSPs are due for refresh (every fragment is regenerated together, REFRESH_MARGIN_S before its lifetime ends). */
export function ownNeedsRefresh(cx: IsisContext, now: number): boolean {
  return now >= cx.refreshDue;
}
