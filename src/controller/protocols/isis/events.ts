/**
 * One function per input of an IS-IS instance, each taking the state first: a frame received
 * (decoded, authenticated, dispatched to the hello, LSP, CSNP and PSNP handlers of ISO 10589
 * 7.3.15 and 8.2-8.4), a link going up or down, the clock (hold timers, LSP aging), a new
 * configuration, shutdown. Handlers change state, set flooding flags and schedule own-LSP
 * regeneration and SPF; the sending itself is flooding.ts's `pump`. Malformed or unwanted
 * PDUs are counted by reason in `stats.drops` and otherwise ignored.
 */
import {
  checkAuthentication,
  decodeIsisFrame,
  decodePdu,
  formatLspId,
  IsisError,
  type AreaAddress,
  type Csnp,
  type Level,
  type LanHello,
  type Lsp,
  type LspEntry,
  type P2pHello,
  type Psnp,
} from '../../../wire/isis/index.js';
import type { Mac } from '../../../lib/addr.js';
import { formatIpv4, formatIpv6, formatMac } from '../../../lib/addr.js';
import type { IsisConfig } from './config.js';
import type { Adjacency, Circuit, IsisContext } from './instance.js';
import { compareVersions, keptLspBytes, lspOf, remainingLifetime, versionOf, ZERO_AGE_LIFETIME_MS } from './rib.js';
import { lanTransition, p2pTransition } from './fsm.js';
import { adjacencyUpAt, flagsOf, flood, levelsOf, scheduleHello, sendCsnps, setSrm } from './flooding.js';
import { purge, scheduleSpf } from './origination.js';
import { withdrawAll } from './decision.js';
import { releaseAdjSid, assignAdjSid, srConfigured } from './sr.js';

export function count(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

function drop(cx: IsisContext, reason: string): void {
  count(cx.stats.drops, reason);
}

/** Regenerate own LSPs at the next pump. */
function reoriginate(cx: IsisContext, now: number): void {
  cx.originateDue ??= now;
}

// --- configuration and links ---

export function configChanged(cx: IsisContext, cfg: IsisConfig, now: number): void {
  const systemChanged = cx.cfg.systemId !== cfg.systemId;
  cx.cfg = cfg;
  // the SRGB and SRLB are ours to hand out: keep mpls.0's dynamic labels (VPN) out of them
  const blocks = cfg.sr ? [cfg.sr.srgb, ...(cfg.sr.srlb ? [cfg.sr.srlb] : [])] : [];
  cx.rib.mpls?.setReserved(blocks.map((b): [number, number] => [b.start, b.start + b.size - 1]));
  if (systemChanged) {
    for (const db of cx.lsdb.values()) db.clear();
    for (const m of cx.ownContent.values()) m.clear();
  }
  for (const [name, c] of cx.circuits) {
    if (cfg.interfaces.has(name) && !systemChanged) continue;
    for (const a of adjacenciesOf(c)) adjacencyDown(cx, a, now, 'interface removed');
    cx.circuits.delete(name);
  }
  for (const [name, icfg] of cfg.interfaces) {
    let c = cx.circuits.get(name);
    if (c) {
      const typeChanged = c.cfg.pointToPoint !== icfg.pointToPoint || c.cfg.passive !== icfg.passive;
      if (typeChanged) for (const a of adjacenciesOf(c)) adjacencyDown(cx, a, now, 'circuit type changed');
      c.cfg = icfg;
      continue;
    }
    const mac = cx.out.macOf(name);
    const id = cx.nextCircuitId++;
    c = {
      name,
      cfg: icfg,
      localId: ((id - 1) % 255) + 1,
      extendedId: id,
      up: icfg.passive || mac !== undefined,
      helloDue: now,
      csnpDue: now + 1000,
      lan: new Map(),
      dis: new Map(),
      flags: new Map(),
      ...(mac ? { mac } : {}),
    };
    cx.circuits.set(name, c);
    scheduleHello(cx, c, now, true);
  }
  if (srConfigured(cx)) for (const c of cx.circuits.values()) for (const a of adjacenciesOf(c)) if (a.state === 'up') assignAdjSid(cx, a);
  reoriginate(cx, now);
  // a level that runs, or that ran and must now withdraw its routes
  for (const l of [1, 2] as Level[]) if (cfg.levels.includes(l) || cx.spf.has(l)) scheduleSpf(cx, l, now, 'configuration');
}

export function linkChanged(cx: IsisContext, ifname: string, up: boolean, now: number): void {
  const c = cx.circuits.get(ifname);
  if (!c || c.cfg.passive) return;
  if (c.up === up) return;
  c.up = up;
  if (up) {
    const mac = cx.out.macOf(ifname);
    if (mac) c.mac = mac;
    scheduleHello(cx, c, now, true);
  } else {
    for (const a of adjacenciesOf(c)) adjacencyDown(cx, a, now, 'interface down');
  }
  reoriginate(cx, now);
}

/**
 * Exported routes go into our LSP: regenerate it shortly (changes in a burst are taken
 * together). `previous`: the protocol of the prefix's active route before the change, when
 * known. A change to one of IS-IS's own routes matters only when another protocol's route,
 * which the export may have taken, was active before it (a redistributed static route
 * withdrawn, an IS-IS route for the prefix taking over).
 */
export function ribChanged(cx: IsisContext, table: string, route: { protocol: string } | undefined, now: number, previous?: string): void {
  if (cx.cfg.exportPolicies.length === 0 || (table !== 'inet.0' && table !== 'inet6.0')) return;
  if (route?.protocol === 'isis' && (previous === undefined || previous === 'isis')) return;
  cx.originateDue ??= now + 100;
}

export function shutdown(cx: IsisContext): void {
  withdrawAll(cx);
  cx.circuits.clear();
}

function adjacenciesOf(c: Circuit): Adjacency[] {
  return c.p2p ? [c.p2p, ...c.lan.values()] : [...c.lan.values()];
}

// --- the clock ---

export function timersExpired(cx: IsisContext, now: number): void {
  for (const c of cx.circuits.values()) {
    for (const a of adjacenciesOf(c)) if (a.state !== 'down' && now >= a.expiresAt) adjacencyDown(cx, a, now, 'hold time expired');
  }
  if (now - cx.lastAgeScan < 1000 && now >= cx.lastAgeScan) return;
  cx.lastAgeScan = now;
  for (const [level, db] of cx.lsdb) {
    for (const r of [...db.records.values()]) {
      if (r.purgedAt !== undefined) {
        if (now - r.purgedAt >= ZERO_AGE_LIFETIME_MS) db.delete(r.key);
        continue;
      }
      if (remainingLifetime(r, now) > 0) continue;
      // ISO 10589 7.3.16.4: an LSP whose lifetime ran out is purged by whoever holds it
      if (r.own) reoriginate(cx, now);
      else purge(cx, level, r.key, now, r.lsp.sequence);
    }
  }
}

// --- receiving ---

/** A whole Ethernet frame received on a circuit. */
export function frameReceived(cx: IsisContext, ifname: string, frame: Uint8Array, now: number): void {
  const c = cx.circuits.get(ifname);
  if (!c?.up || c.cfg.passive) {
    drop(cx, 'not an active IS-IS interface');
    return;
  }
  const f = decodeIsisFrame(frame);
  if (f instanceof IsisError) {
    drop(cx, `${f.pdu}: ${f.reason}`);
    return;
  }
  const pdu = decodePdu(f.pdu);
  if (pdu instanceof IsisError) {
    drop(cx, `${f.pdu.length >= 5 ? pdu.pdu : 'header'}: ${pdu.reason}`);
    return;
  }
  count(cx.stats.rx, pdu.kind === 'p2p-hello' ? 'p2p-hello' : `l${pdu.level}-${pdu.kind}`);
  const level: Level = pdu.kind === 'p2p-hello' ? (levelsOf(c).includes(2) ? 2 : 1) : pdu.level;
  const key = cx.cfg.authKey.get(level);
  // the PDU's own bytes (802.3 padding cut off by the frame decoder; the PDU Length bounds it)
  const bytes = f.pdu.subarray(0, (f.pdu[pdu.kind === 'p2p-hello' || pdu.kind === 'lan-hello' ? 17 : 8]! << 8) | f.pdu[pdu.kind === 'p2p-hello' || pdu.kind === 'lan-hello' ? 18 : 9]!);
  if (key !== undefined) {
    const ok = checkAuthentication(bytes, { kind: 'hmac-md5', key });
    if (ok !== true) {
    drop(cx, `${pdu.kind}: bad_authentication`);
    return;
  }
  }
  switch (pdu.kind) {
    case 'p2p-hello':
      p2pHelloReceived(cx, c, pdu, f.src, now);
      return;
    case 'lan-hello':
      lanHelloReceived(cx, c, pdu, f.src, now);
      return;
    case 'lsp':
      lspReceived(cx, c, pdu, bytes, now);
      return;
    case 'csnp':
      csnpReceived(cx, c, pdu, now);
      return;
    case 'psnp':
      psnpReceived(cx, c, pdu, now);
      return;
  }
}

function areasOf(h: P2pHello | LanHello): string[] {
  const out: string[] = [];
  for (const t of h.tlvs) if (t.type === 'area-addresses') out.push(...t.areas);
  return out;
}

function addressesOf(h: P2pHello | LanHello): { v4: string[]; v6: string[] } {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const t of h.tlvs) {
    if (t.type === 'ipv4-interface-addresses') for (const a of t.addresses) v4.push(formatIpv4(a));
    else if (t.type === 'ipv6-interface-addresses') for (const a of t.addresses) v6.push(formatIpv6(a));
  }
  return { v4, v6 };
}

/** The levels an adjacency with this neighbour can serve (ISO 10589 8.2.5: level 1 only within an area). */
function commonLevels(cx: IsisContext, c: Circuit, neighborType: number, areas: string[]): Level[] {
  const ours = levelsOf(c);
  const out: Level[] = [];
  if (ours.includes(1) && neighborType & 1 && areas.some((a) => cx.cfg.areas.includes(a as AreaAddress))) out.push(1);
  if (ours.includes(2) && neighborType & 2) out.push(2);
  return out;
}

function newAdjacency(c: Circuit, systemId: Adjacency['systemId'], mac: Mac, now: number): Adjacency {
  return { systemId, circuit: c, state: 'down', levels: [], holdingTime: 0, expiresAt: now, mac: mac.slice() as Mac, ipv4: [], ipv6: [], areas: [], priority: 0, lastChange: now };
}

export function p2pHelloReceived(cx: IsisContext, c: Circuit, h: P2pHello, src: Mac, now: number): void {
  if (!c.cfg.pointToPoint) {
    drop(cx, 'p2p-hello: on a LAN circuit');
    return;
  }
  if (h.sourceId === cx.cfg.systemId) {
    drop(cx, 'p2p-hello: own system ID');
    return;
  }
  const areas = areasOf(h);
  const levels = commonLevels(cx, c, h.circuitType, areas);
  let adj = c.p2p;
  if (adj && adj.systemId !== h.sourceId) {
    adjacencyDown(cx, adj, now, 'neighbour changed system ID');
    adj = undefined;
  }
  if (levels.length === 0) {
    if (adj) adjacencyDown(cx, adj, now, 'no common level or area');
    drop(cx, 'p2p-hello: no common level or area');
    return;
  }
  adj ??= c.p2p = newAdjacency(c, h.sourceId, src, now);
  const three = h.tlvs.find((t) => t.type === 'p2p-adjacency');
  let received: number | undefined;
  if (three && three.type === 'p2p-adjacency') {
    const a = three.adjacency;
    received = a.state;
    // RFC 5303 3.3: the neighbour reports someone else (or another circuit of ours) as its neighbour
    if ((a.neighborSystemId !== undefined && a.neighborSystemId !== cx.cfg.systemId) || (a.neighborExtCircuitId !== undefined && a.neighborExtCircuitId !== c.extendedId)) received = 2;
    if (a.extLocalCircuitId !== undefined) adj.neighborCircuitId = a.extLocalCircuitId;
  }
  heardFrom(adj, h, areas, src, now);
  const before = adj.state;
  const levelsChanged = adj.levels.join() !== levels.join();
  adj.levels = levels;
  const next = p2pTransition(before, received);
  if (next !== before) setState(cx, adj, next, now);
  else if (levelsChanged && next === 'up') reoriginate(cx, now);
  adjSidsFollowAddresses(cx, adj, now);
}

/**
 * An adjacency already up whose neighbour starts (or stops) giving an IPv6 address: its IPv6
 * Adj-SID is taken (or given back) now, not at the next adjacency change, and our LSP and
 * mpls.0 follow (sr.ts assignAdjSid).
 */
function adjSidsFollowAddresses(cx: IsisContext, adj: Adjacency, now: number): void {
  if (adj.state !== 'up' || !srConfigured(cx) || !assignAdjSid(cx, adj)) return;
  reoriginate(cx, now);
  for (const level of adj.levels) scheduleSpf(cx, level, now, `adjacency ${adj.systemId} Adj-SIDs`);
}

/** What every hello tells about its sender: addresses, areas, SNPA and holding time (the adjacency lives that long). */
function heardFrom(adj: Adjacency, h: P2pHello | LanHello, areas: string[], src: Mac, now: number): void {
  const { v4, v6 } = addressesOf(h);
  adj.ipv4 = v4;
  adj.ipv6 = v6;
  adj.areas = areas;
  adj.mac = src.slice() as Mac;
  adj.holdingTime = h.holdingTime;
  adj.expiresAt = now + h.holdingTime * 1000;
}

export function lanHelloReceived(cx: IsisContext, c: Circuit, h: LanHello, src: Mac, now: number): void {
  if (c.cfg.pointToPoint) {
    drop(cx, 'lan-hello: on a point-to-point circuit');
    return;
  }
  if (h.sourceId === cx.cfg.systemId) {
    drop(cx, 'lan-hello: own system ID');
    return;
  }
  if (!levelsOf(c).includes(h.level)) {
    drop(cx, `l${h.level}-lan-hello: level not enabled`);
    return;
  }
  const areas = areasOf(h);
  if (h.level === 1 && !areas.some((a) => cx.cfg.areas.includes(a as AreaAddress))) {
    drop(cx, 'l1-lan-hello: area mismatch');
    return;
  }
  const key = `${h.sourceId}/${h.level}`;
  let adj = c.lan.get(key);
  adj ??= newAdjacency(c, h.sourceId, src, now);
  c.lan.set(key, adj);
  adj.levels = [h.level];
  heardFrom(adj, h, areas, src, now);
  const prevPriority = adj.priority;
  const prevLan = adj.lanId;
  adj.priority = h.priority;
  adj.lanId = `${h.lanId.systemId}.${h.lanId.pseudonode.toString(16).padStart(2, '0')}`;
  const mine = c.mac;
  let listsUs = false;
  for (const t of h.tlvs) if (t.type === 'is-neighbors' && mine) for (const m of t.neighbors) if (formatMac(m) === formatMac(mine)) listsUs = true;
  const before = adj.state;
  const next = lanTransition(before, listsUs);
  if (before === 'down' && next !== 'up') {
    adj.state = 'initializing';
    adj.lastChange = now;
    scheduleHello(cx, c, now, true);
  } else if (next !== before) setState(cx, adj, next, now);
  if (prevPriority !== adj.priority || prevLan !== adj.lanId) electDis(cx, c, h.level, now);
  adjSidsFollowAddresses(cx, adj, now);
}

function setState(cx: IsisContext, adj: Adjacency, next: Adjacency['state'], now: number): void {
  const before = adj.state;
  adj.state = next;
  adj.lastChange = now;
  const c = adj.circuit;
  cx.out.log(`isis: adjacency ${adj.systemId} on ${c.name}: ${before} -> ${next}`);
  scheduleHello(cx, c, now, true);
  if (next === 'up') {
    adj.upSince = now;
    if (srConfigured(cx)) assignAdjSid(cx, adj);
    for (const level of adj.levels) {
      // ISO 10589 7.3.17 / RFC 5303: synchronise the databases over a new point-to-point adjacency
      if (c.cfg.pointToPoint) sendCsnps(cx, c, level, now);
      else electDis(cx, c, level, now);
      scheduleSpf(cx, level, now, `adjacency ${adj.systemId} up`);
    }
    reoriginate(cx, now);
  } else if (before === 'up') {
    adjacencyWentDown(cx, adj, now);
  }
}

function adjacencyWentDown(cx: IsisContext, adj: Adjacency, now: number): void {
  releaseAdjSid(cx, adj);
  adj.upSince = undefined;
  const c = adj.circuit;
  for (const level of adj.levels) {
    if (!adjacencyUpAt(c, level)) flagsOf(c, level).srm.clear();
    if (!c.cfg.pointToPoint) electDis(cx, c, level, now);
    scheduleSpf(cx, level, now, `adjacency ${adj.systemId} down`);
  }
  reoriginate(cx, now);
}

/** The adjacency is gone (hold time, link down, configuration). */
export function adjacencyDown(cx: IsisContext, adj: Adjacency, now: number, why: string): void {
  const c = adj.circuit;
  const wasUp = adj.state === 'up';
  if (adj.state !== 'down') cx.out.log(`isis: adjacency ${adj.systemId} on ${c.name}: ${adj.state} -> down (${why})`);
  adj.state = 'down';
  adj.lastChange = now;
  if (c.up) scheduleHello(cx, c, now, true);
  if (c.p2p === adj) c.p2p = undefined;
  for (const [k, a] of c.lan) if (a === adj) c.lan.delete(k);
  if (wasUp) adjacencyWentDown(cx, adj, now);
  else if (!c.cfg.pointToPoint) for (const l of adj.levels) electDis(cx, c, l, now);
}

/**
 * DIS election on a LAN (ISO 10589 8.4.5): the highest priority among this system and the
 * neighbours whose adjacency is up, then the highest MAC. A change of DIS re-originates (the
 * pseudonode LSP named in our IS reachability, or ours to purge).
 */
function electDis(cx: IsisContext, c: Circuit, level: Level, now: number): void {
  const lc = c.cfg.levels.get(level);
  if (!lc || !c.mac) return;
  let best = { priority: lc.priority, mac: formatMac(c.mac), lanId: `${cx.cfg.systemId}.${c.localId.toString(16).padStart(2, '0')}` };
  let anyUp = false;
  for (const a of c.lan.values()) {
    if (a.state !== 'up' || !a.levels.includes(level)) continue;
    anyUp = true;
    const mac = formatMac(a.mac);
    if (a.priority > best.priority || (a.priority === best.priority && mac > best.mac)) best = { priority: a.priority, mac, lanId: a.lanId ?? `${a.systemId}.00` };
  }
  const next = anyUp ? best.lanId : undefined;
  if (c.dis.get(level) === next) return;
  if (next === undefined) c.dis.delete(level);
  else c.dis.set(level, next);
  // the new LAN ID goes out at once, and a new DIS describes its database at once
  scheduleHello(cx, c, now, true);
  c.csnpDue = now;
  reoriginate(cx, now);
}

/** The adjacency an LSP or SNP from this circuit must come over (ISO 10589 7.3.15.1 a.6, 7.3.15.2 a.4). */
function fromAdjacency(c: Circuit, level: Level, src?: Mac): boolean {
  if (c.p2p) return c.p2p.state === 'up' && c.p2p.levels.includes(level);
  for (const a of c.lan.values()) if (a.state === 'up' && a.levels.includes(level) && (!src || formatMac(a.mac) === formatMac(src))) return true;
  return false;
}

/**
 * ISO 10589 7.3.15.1: an LSP received. `received` may be a view of the frame: a copy is kept
 * (rib.ts keptLspBytes) only when the LSP is stored.
 */
export function lspReceived(cx: IsisContext, c: Circuit, lsp: Lsp, received: Uint8Array, now: number): void {
  const level = lsp.level;
  if (!levelsOf(c).includes(level) || !cx.cfg.levels.includes(level)) {
    drop(cx, `l${level}-lsp: level not enabled`);
    return;
  }
  if (!fromAdjacency(c, level)) {
    drop(cx, `l${level}-lsp: no adjacency`);
    return;
  }
  const db = cx.lsdb.get(level)!;
  const key = formatLspId(lsp.lspId);
  const have = db.get(key);
  const f = flagsOf(c, level);
  const p2p = c.cfg.pointToPoint;
  const theirs = { sequence: lsp.sequence, remainingLifetime: lsp.remainingLifetime };
  const cmp = have ? compareVersions(theirs, versionOf(have, now)) : 1;
  if (lsp.lspId.systemId === cx.cfg.systemId && cmp > 0) {
    // ISO 10589 7.3.16.1: a newer copy of our own LSP (from before a restart, or a purge):
    // take its sequence number and send ours again above it, or purge what we no longer originate
    if (have?.own && have.purgedAt === undefined) {
      db.put({ ...lspOf(have), sequence: lsp.sequence }, have.bytes, now, true);
      cx.ownContent.get(level)!.delete(key);
    } else {
      db.put(lsp, keptLspBytes(received), now, true);
      if (lsp.remainingLifetime !== 0) purge(cx, level, key, now, lsp.sequence);
    }
    if (p2p) f.ssn.set(key, lsp.lspId);
    reoriginate(cx, now);
    return;
  }
  if (!have && lsp.remainingLifetime === 0) {
    // 7.3.16.4 b: a purge of something we do not hold: acknowledge, keep nothing
    if (p2p) f.ssn.set(key, lsp.lspId);
    return;
  }
  if (cmp > 0) {
    db.put(lsp, keptLspBytes(received), now, false);
    flood(cx, level, key, c);
    f.srm.delete(key);
    if (p2p) f.ssn.set(key, lsp.lspId);
    scheduleSpf(cx, level, now, `LSP ${key}`);
  } else if (cmp === 0) {
    f.srm.delete(key);
    if (p2p) f.ssn.set(key, lsp.lspId);
  } else {
    setSrm(f, key);
    f.ssn.delete(key);
  }
}

function snpEntries(p: Csnp | Psnp): LspEntry[] {
  const out: LspEntry[] = [];
  for (const t of p.tlvs) if (t.type === 'lsp-entries') out.push(...t.entries);
  return out;
}

/** Compare one SNP entry with our copy: request what is newer there, send what is newer here, ack equality. */
function snpEntry(cx: IsisContext, c: Circuit, level: Level, e: LspEntry, now: number): void {
  const db = cx.lsdb.get(level)!;
  const key = formatLspId(e.lspId);
  const have = db.get(key);
  const f = flagsOf(c, level);
  if (!have) {
    if (e.remainingLifetime !== 0 && e.sequence !== 0) f.ssn.set(key, e.lspId);
    return;
  }
  const cmp = compareVersions(versionOf(have, now), e);
  if (cmp === 0) f.srm.delete(key);
  else if (cmp > 0) setSrm(f, key);
  else {
    f.ssn.set(key, e.lspId);
    f.srm.delete(key);
  }
}

/** An SNP is taken only at a level the circuit runs, from an adjacency that is up (ISO 10589 7.3.15.2 a). */
function snpAccepted(cx: IsisContext, c: Circuit, level: Level, kind: string): boolean {
  const why = !levelsOf(c).includes(level) ? 'level not enabled' : !fromAdjacency(c, level) ? 'no adjacency' : undefined;
  if (why) drop(cx, `l${level}-${kind}: ${why}`);
  return why === undefined;
}

/** ISO 10589 7.3.15.2: a CSNP. LSPs we hold in its range that it does not list are sent. */
export function csnpReceived(cx: IsisContext, c: Circuit, p: Csnp, now: number): void {
  const level = p.level;
  if (!snpAccepted(cx, c, level, 'csnp')) return;
  const listed = new Set<string>();
  for (const e of snpEntries(p)) {
    listed.add(formatLspId(e.lspId));
    snpEntry(cx, c, level, e, now);
  }
  const f = flagsOf(c, level);
  for (const r of cx.lsdb.get(level)!.range(formatLspId(p.startLspId), formatLspId(p.endLspId))) {
    if (listed.has(r.key) || remainingLifetime(r, now) === 0 || r.lsp.sequence === 0) continue;
    setSrm(f, r.key);
  }
}

/** ISO 10589 7.3.15.2: a PSNP (acknowledgements on point-to-point, requests on a LAN). */
export function psnpReceived(cx: IsisContext, c: Circuit, p: Psnp, now: number): void {
  const level = p.level;
  if (!snpAccepted(cx, c, level, 'psnp')) return;
  for (const e of snpEntries(p)) snpEntry(cx, c, level, e, now);
}
