/**
 * The sending side (ISO 10589 7.3.15, 7.3.17 and section 8): hellos on every active circuit
 * (point-to-point with the RFC 5303 TLV, LAN per level with the neighbours' MACs), padded to
 * the circuit's MTU; LSPs flagged for sending (SRM: on a point-to-point circuit kept until
 * acknowledged and resent every 5 s, on a LAN sent once, the DIS's CSNPs repair losses);
 * PSNPs for what is to be acknowledged or requested (SSN); CSNPs when an adjacency comes up
 * and every 10 s from a LAN's DIS. `pump` puts out everything due and runs what was deferred
 * to it (own LSP regeneration, SPF), after each input and on each clock tick.
 */
import {
  ALL_ISS,
  ALL_L1_ISS,
  ALL_L2_ISS,
  encodeIsisFrameHeader,
  encodePduBytes,
  formatLspId,
  ISIS_FRAME_HEADER_LEN,
  Nlpid,
  padHello,
  parseSystemId,
  splitTlv,
  type Level,
  type LspEntry,
  type LspId,
  type Pdu,
  type Tlv,
} from '../../../wire/isis/index.js';
import type { Mac } from '../../../lib/addr.js';
import { parseCidr, tryParseIpv4, type Ipv4, type Ipv6 } from '../../../lib/addr.js';
import type { Circuit, IsisContext, LevelFlags } from './instance.js';
import { entryOf, remainingLifetime } from './rib.js';
import { tlv240State } from './fsm.js';
import { authTlvs, encodeOpts, originate, ownNeedsRefresh } from './origination.js';
import { runSpf } from './decision.js';

export const LSP_RETRANSMIT_MS = 5000;
/** an SRM flag's value before the LSP was first sent on the circuit (otherwise: when it was last sent) */
export const SEND_NOW = -1;
export const CSNP_INTERVAL_MS = 10_000;
/** LSP entries per SNP: 16 bytes each, well inside a 1492-byte PDU with TLV headers */
const SNP_ENTRIES = 80;

const FIRST_LSP_ID: LspId = { systemId: parseSystemId('0000.0000.0000'), pseudonode: 0, fragment: 0 };
const LAST_LSP_ID: LspId = { systemId: parseSystemId('ffff.ffff.ffff'), pseudonode: 0xff, fragment: 0xff };

export function levelsOf(c: Circuit): Level[] {
  return [...c.cfg.levels.keys()].filter((l) => !c.cfg.levels.get(l)!.passive);
}

export function circuitType(levels: readonly Level[]): 1 | 2 | 3 {
  return ((levels.includes(1) ? 1 : 0) | (levels.includes(2) ? 2 : 0)) as 1 | 2 | 3;
}

export function flagsOf(c: Circuit, level: Level): LevelFlags {
  let f = c.flags.get(level);
  if (!f) c.flags.set(level, (f = { srm: new Map(), srmDue: Infinity, ssn: new Map() }));
  return f;
}

/** Whether the circuit has an adjacency up at `level` (LSPs and SNPs go only there). */
export function adjacencyUpAt(c: Circuit, level: Level): boolean {
  if (c.p2p) return c.p2p.state === 'up' && c.p2p.levels.includes(level);
  for (const a of c.lan.values()) if (a.state === 'up' && a.levels.includes(level)) return true;
  return false;
}

/** Flag an LSP for sending on a circuit now. */
export function setSrm(f: LevelFlags, key: string): void {
  f.srm.set(key, SEND_NOW);
  f.srmDue = -Infinity;
}

/** Set SRM for an LSP on every circuit with an adjacency at its level, except `except`. */
export function flood(cx: IsisContext, level: Level, key: string, except?: Circuit): void {
  for (const c of cx.circuits.values()) {
    if (c === except || !c.up || !adjacencyUpAt(c, level)) continue;
    setSrm(flagsOf(c, level), key);
  }
}

function count(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

function sendPdu(cx: IsisContext, c: Circuit, dst: Mac, pdu: Uint8Array, kind: string): void {
  const src = c.mac ?? cx.out.macOf(c.name);
  if (!src) return;
  const frame = new Uint8Array(ISIS_FRAME_HEADER_LEN + pdu.length);
  encodeIsisFrameHeader(dst, src, pdu.length, frame, 0);
  frame.set(pdu, ISIS_FRAME_HEADER_LEN);
  if (cx.out.send(c.name, frame)) count(cx.stats.tx, kind);
}

function destination(c: Circuit, level: Level): Mac {
  if (c.cfg.pointToPoint) return ALL_ISS;
  return level === 1 ? ALL_L1_ISS : ALL_L2_ISS;
}

/** The IPv6 link-local address made from a MAC (modified EUI-64), which the router answers to on a fabric link. */
export function linkLocalOf(mac: Uint8Array): Ipv6 {
  const a = new Uint8Array(16);
  a[0] = 0xfe;
  a[1] = 0x80;
  a[8] = mac[0]! ^ 0x02;
  a[9] = mac[1]!;
  a[10] = mac[2]!;
  a[11] = 0xff;
  a[12] = 0xfe;
  a[13] = mac[3]!;
  a[14] = mac[4]!;
  a[15] = mac[5]!;
  return a as Ipv6;
}

function addressTlvs(c: Circuit): Tlv[] {
  const v4: Ipv4[] = [];
  for (const a of c.cfg.inet) {
    const ip = tryParseIpv4(a.slice(0, a.indexOf('/')));
    if (ip !== undefined) v4.push(ip);
  }
  const out: Tlv[] = [];
  if (v4.length) out.push({ type: 'ipv4-interface-addresses', addresses: v4 });
  const ll: Ipv6[] = [];
  for (const a of c.cfg.inet6) {
    const p = parseCidr(a);
    if (p.addr[0] === 0xfe && (p.addr[1]! & 0xc0) === 0x80) ll.push(p.addr as Ipv6);
  }
  if (ll.length === 0 && c.mac && c.cfg.inet6.length > 0) ll.push(linkLocalOf(c.mac));
  if (ll.length) out.push({ type: 'ipv6-interface-addresses', addresses: ll });
  return out;
}

/** Hellos of one circuit: one point-to-point hello, or a LAN hello per level. */
export function sendHellos(cx: IsisContext, c: Circuit): void {
  const levels = levelsOf(c);
  if (levels.length === 0) return;
  const cfg = cx.cfg;
  const common: Tlv[] = [
    { type: 'protocols-supported', nlpids: [Nlpid.Ipv4, Nlpid.Ipv6] },
    { type: 'area-addresses', areas: [...cfg.areas] },
    ...addressTlvs(c),
  ];
  const size = Math.min(c.cfg.mtu, 1500) - 3;
  if (c.cfg.pointToPoint) {
    const lc = c.cfg.levels.get(levels.includes(2) ? 2 : 1)!;
    const keyLevel: Level = levels.includes(2) ? 2 : 1;
    const adj = c.p2p;
    const tlvs: Tlv[] = [...authTlvs(cx, keyLevel), ...common];
    const state = adj ? adj.state : 'down';
    tlvs.push({
      type: 'p2p-adjacency',
      adjacency: adj && state !== 'down'
        ? { state: tlv240State(state), extLocalCircuitId: c.extendedId, neighborSystemId: adj.systemId, ...(adj.neighborCircuitId !== undefined ? { neighborExtCircuitId: adj.neighborCircuitId } : {}) }
        : { state: tlv240State('down'), extLocalCircuitId: c.extendedId },
    });
    const hello: Pdu = { kind: 'p2p-hello', maxAreaAddresses: 0, circuitType: circuitType(levels), sourceId: cfg.systemId, holdingTime: lc.holdTime, localCircuitId: c.localId, tlvs };
    sendPdu(cx, c, ALL_ISS, encodePduBytes(padHello(hello, size), encodeOpts(cx, keyLevel)), 'p2p-hello');
    return;
  }
  for (const level of levels) {
    const lc = c.cfg.levels.get(level)!;
    const macs: Mac[] = [];
    for (const a of c.lan.values()) if (a.levels.includes(level) && a.state !== 'down') macs.push(a.mac);
    const tlvs: Tlv[] = [...authTlvs(cx, level), ...common];
    if (macs.length) tlvs.push(...splitTlv({ type: 'is-neighbors', neighbors: macs }));
    const dis = c.dis.get(level) ?? `${cfg.systemId}.${c.localId.toString(16).padStart(2, '0')}`;
    const [s1, s2, s3, pn] = dis.split('.');
    const hello: Pdu = {
      kind: 'lan-hello',
      level,
      maxAreaAddresses: 0,
      circuitType: circuitType(levels),
      sourceId: cfg.systemId,
      holdingTime: lc.holdTime,
      priority: lc.priority,
      lanId: { systemId: parseSystemId(`${s1}.${s2}.${s3}`), pseudonode: parseInt(pn!, 16) },
      tlvs,
    };
    sendPdu(cx, c, destination(c, level), encodePduBytes(padHello(hello, size), encodeOpts(cx, level)), `l${level}-lan-hello`);
  }
}

function sendLsp(cx: IsisContext, c: Circuit, level: Level, key: string, now: number): boolean {
  const r = cx.lsdb.get(level)!.get(key);
  if (!r) return false;
  const bytes = r.bytes.slice();
  const life = remainingLifetime(r, now);
  bytes[10] = life >>> 8;
  bytes[11] = life & 0xff;
  sendPdu(cx, c, destination(c, level), bytes, `l${level}-lsp`);
  return true;
}

/** PSNPs carrying `entries` (acknowledgements and requests). */
function sendPsnps(cx: IsisContext, c: Circuit, level: Level, entries: LspEntry[]): void {
  for (let i = 0; i < entries.length; i += SNP_ENTRIES) {
    const tlvs: Tlv[] = [...authTlvs(cx, level), ...splitTlv({ type: 'lsp-entries', entries: entries.slice(i, i + SNP_ENTRIES) })];
    const pdu: Pdu = { kind: 'psnp', level, maxAreaAddresses: 0, sourceId: { systemId: cx.cfg.systemId, pseudonode: 0 }, tlvs };
    sendPdu(cx, c, destination(c, level), encodePduBytes(pdu, encodeOpts(cx, level)), `l${level}-psnp`);
  }
}

/** A complete sequence of CSNPs describing the whole LSDB of `level`. */
export function sendCsnps(cx: IsisContext, c: Circuit, level: Level, now: number): void {
  const records = cx.lsdb.get(level)!.sorted();
  for (let i = 0; i === 0 || i < records.length; i += SNP_ENTRIES) {
    const chunk = records.slice(i, i + SNP_ENTRIES);
    const first = i === 0 ? FIRST_LSP_ID : chunk[0]!.lsp.lspId;
    const last = i + SNP_ENTRIES >= records.length ? LAST_LSP_ID : chunk[chunk.length - 1]!.lsp.lspId;
    const tlvs: Tlv[] = [...authTlvs(cx, level)];
    if (chunk.length) tlvs.push(...splitTlv({ type: 'lsp-entries', entries: chunk.map((r) => entryOf(r, now)) }));
    const pdu: Pdu = { kind: 'csnp', level, maxAreaAddresses: 0, sourceId: { systemId: cx.cfg.systemId, pseudonode: 0 }, startLspId: first, endLspId: last, tlvs };
    sendPdu(cx, c, destination(c, level), encodePduBytes(pdu, encodeOpts(cx, level)), `l${level}-csnp`);
  }
}

function helloInterval(c: Circuit): number {
  let s = Infinity;
  for (const l of levelsOf(c)) s = Math.min(s, c.cfg.levels.get(l)!.helloInterval);
  return s;
}

/** The next hello: the interval less up to 25% (ISO 10589 jitter), so neighbours do not synchronise. */
export function scheduleHello(cx: IsisContext, c: Circuit, now: number, soon = false): void {
  const ms = soon ? 0 : helloInterval(c) * 1000 * (0.75 + cx.out.random() * 0.25);
  c.helloDue = now + ms;
}

/** Put out everything due, and run what was deferred: own LSP regeneration, SPF. */
export function pump(cx: IsisContext, now: number): void {
  if ((cx.originateDue !== undefined && now >= cx.originateDue) || ownNeedsRefresh(cx, now)) {
    const refresh = now >= cx.refreshDue;
    cx.originateDue = undefined;
    originate(cx, now, refresh);
  }
  for (const c of cx.circuits.values()) {
    if (!c.up || c.cfg.passive) continue;
    if (now >= c.helloDue) {
      sendHellos(cx, c);
      scheduleHello(cx, c, now);
    }
    for (const [level, f] of c.flags) {
      if (!adjacencyUpAt(c, level)) {
        f.srm.clear();
        f.ssn.clear();
        continue;
      }
      // the flags are walked only when one is due: a point-to-point neighbour slow to acknowledge
      // thousands of LSPs must not cost a walk over all of them per received PDU
      if (f.srm.size > 0 && now >= f.srmDue) {
        let due = Infinity;
        for (const [key, last] of f.srm) {
          if (last !== SEND_NOW && (!c.cfg.pointToPoint || now - last < LSP_RETRANSMIT_MS)) {
            due = Math.min(due, last + LSP_RETRANSMIT_MS);
            continue;
          }
          if (!sendLsp(cx, c, level, key, now) || !c.cfg.pointToPoint) f.srm.delete(key);
          else {
            f.srm.set(key, now);
            due = Math.min(due, now + LSP_RETRANSMIT_MS);
          }
        }
        f.srmDue = due;
      }
      if (f.ssn.size) {
        const db = cx.lsdb.get(level)!;
        const entries: LspEntry[] = [];
        for (const [key, id] of f.ssn) {
          const r = db.get(key);
          entries.push(r ? entryOf(r, now) : { remainingLifetime: 0, lspId: id, sequence: 0, checksum: 0 });
        }
        f.ssn.clear();
        sendPsnps(cx, c, level, entries);
      }
    }
    if (!c.cfg.pointToPoint && now >= c.csnpDue) {
      c.csnpDue = now + CSNP_INTERVAL_MS;
      for (const level of levelsOf(c)) {
        if (c.dis.get(level) === `${cx.cfg.systemId}.${c.localId.toString(16).padStart(2, '0')}` && adjacencyUpAt(c, level)) sendCsnps(cx, c, level, now);
      }
    }
  }
  for (const [level, due] of cx.spfDue) {
    if (now < due) continue;
    cx.spfDue.delete(level);
    runSpf(cx, level, now, cx.spfReason.get(level) ?? '');
  }
}

/** When the instance next has something to do (at most a second away: LSP aging is checked each second). */
export function nextDeadline(cx: IsisContext, now: number): number {
  let t = now + 1000;
  const min = (v: number | undefined) => {
    if (v !== undefined && v < t) t = v;
  };
  min(cx.originateDue);
  min(cx.refreshDue);
  for (const d of cx.spfDue.values()) min(d);
  for (const c of cx.circuits.values()) {
    if (!c.up || c.cfg.passive) continue;
    min(c.helloDue);
    if (!c.cfg.pointToPoint) min(c.csnpDue);
    if (c.p2p && c.p2p.state !== 'down') min(c.p2p.expiresAt);
    for (const a of c.lan.values()) min(a.expiresAt);
    for (const f of c.flags.values()) {
      if (f.srm.size) min(Math.max(f.srmDue, now));
      if (f.ssn.size) min(now);
    }
  }
  return Math.max(t, now);
}

export { formatLspId };
