/**
 * The TLVs of IS-IS PDUs (ISO 10589, RFC 1195, RFC 5305/5308 wide metrics and IPv6, RFC 5301
 * hostname, RFC 5303 three-way adjacency, RFC 5304 authentication, RFC 7981 router capability,
 * RFC 8667 segment routing). A PDU's TLVs are an ordered list of values, one per TLV on the
 * wire — repeated TLVs stay separate, as their senders split them — so a decoded PDU encodes
 * back to the same bytes. TLVs this file does not know are kept as raw bytes: an LSP is
 * flooded unchanged, whatever it carries.
 *
 * A known TLV whose content does not parse (a length that does not fit, a prefix longer than
 * its family) is a fault naming the TLV; pdu.ts turns it into an IsisError for the PDU.
 */
import { isTlvFault, tlvFault, type TlvFault } from './errors.js';
import { formatAreaAddress, areaAddressBytes, readLspId, readNodeId, readSystemId, systemIdBytes, type AreaAddress, type LspId, type NodeId, type SystemId } from './ids.js';
import {
  decodeIsReachSubTlvs,
  decodePrefixSubTlvs,
  decodeRouterCapSubTlvs,
  encodeIsReachSubTlvs,
  encodePrefixSubTlvs,
  encodeRouterCapSubTlvs,
  tlvHeader,
  type IsReachSubTlv,
  type PrefixSubTlv,
  type RouterCapSubTlv,
} from './subtlv.js';
import { EncodeError } from '../errors.js';
import type { ByteWriter } from '../../lib/bytes.js';
import { bytesToIpv4, type Ipv4, type Ipv6, type Mac, type Prefix } from '../../lib/addr.js';

export const TlvCode = {
  AreaAddresses: 1,
  IsNeighbors: 6,
  Padding: 8,
  LspEntries: 9,
  Authentication: 10,
  ExtendedIsReachability: 22,
  ProtocolsSupported: 129,
  Ipv4InterfaceAddress: 132,
  TeRouterId: 134,
  ExtendedIpv4Reachability: 135,
  DynamicHostname: 137,
  Ipv6InterfaceAddress: 232,
  Ipv6Reachability: 236,
  P2pAdjacencyState: 240,
  RouterCapability: 242,
} as const;

/** NLPIDs in TLV 129 (ISO/TR 9577). */
export const Nlpid = { Ipv4: 0xcc, Ipv6: 0x8e } as const;

/** Authentication types in TLV 10: 1 cleartext (ISO 10589), 54 HMAC-MD5 (RFC 5304). */
export const AuthType = { Cleartext: 1, HmacMd5: 54 } as const;
export const HMAC_MD5_LEN = 16;

export type Authentication =
  | { readonly kind: 'cleartext'; readonly password: Uint8Array }
  /** the digest as received, or as computed by the encoder when given the key */
  | { readonly kind: 'hmac-md5'; readonly digest: Uint8Array }
  | { readonly kind: 'other'; readonly authType: number; readonly value: Uint8Array };

export interface LspEntry {
  readonly remainingLifetime: number;
  readonly lspId: LspId;
  readonly sequence: number;
  readonly checksum: number;
}

export interface ExtendedIsReach {
  readonly neighbor: NodeId;
  /** 24-bit wide metric */
  readonly metric: number;
  readonly subTlvs: IsReachSubTlv[];
}

export interface ExtendedIpv4Reach {
  readonly prefix: Prefix;
  readonly metric: number;
  /** RFC 5305 up/down bit: set when the prefix was leaked from level 2 into level 1 */
  readonly down: boolean;
  readonly subTlvs: PrefixSubTlv[];
}

export interface Ipv6Reach {
  readonly prefix: Prefix;
  readonly metric: number;
  readonly down: boolean;
  /** X bit: external (redistributed) prefix */
  readonly external: boolean;
  readonly subTlvs: PrefixSubTlv[];
}

/** RFC 5303 adjacency three-way state. */
export const AdjacencyState = { Up: 0, Initializing: 1, Down: 2 } as const;

export interface P2pAdjacency {
  readonly state: number;
  readonly extLocalCircuitId?: number;
  readonly neighborSystemId?: SystemId;
  readonly neighborExtCircuitId?: number;
}

export type Tlv =
  | { readonly type: 'area-addresses'; readonly areas: AreaAddress[] }
  /** the SNPAs (MAC addresses) of neighbours heard on a LAN */
  | { readonly type: 'is-neighbors'; readonly neighbors: Mac[] }
  /** content is zeros on encode */
  | { readonly type: 'padding'; readonly length: number }
  | { readonly type: 'lsp-entries'; readonly entries: LspEntry[] }
  | { readonly type: 'authentication'; readonly auth: Authentication }
  | { readonly type: 'extended-is-reachability'; readonly neighbors: ExtendedIsReach[] }
  | { readonly type: 'protocols-supported'; readonly nlpids: number[] }
  | { readonly type: 'ipv4-interface-addresses'; readonly addresses: Ipv4[] }
  | { readonly type: 'te-router-id'; readonly routerId: Ipv4 }
  | { readonly type: 'extended-ipv4-reachability'; readonly prefixes: ExtendedIpv4Reach[] }
  /** RFC 5301: bytes kept one character per byte, so any bytes survive a round trip */
  | { readonly type: 'hostname'; readonly hostname: string }
  | { readonly type: 'ipv6-interface-addresses'; readonly addresses: Ipv6[] }
  | { readonly type: 'ipv6-reachability'; readonly prefixes: Ipv6Reach[] }
  | { readonly type: 'p2p-adjacency'; readonly adjacency: P2pAdjacency }
  /** RFC 7981: S = flood domain-wide, D = leaked down from level 2 */
  | { readonly type: 'router-capability'; readonly routerId: Ipv4; readonly flags: { readonly s: boolean; readonly d: boolean }; readonly subTlvs: RouterCapSubTlv[] }
  | { readonly type: 'unknown'; readonly code: number; readonly value: Uint8Array };

function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

/** A prefix of `len` bits packed in ceil(len/8) bytes at b[p]; host bits are cleared. */
function readPrefix(family: 4 | 6, b: Uint8Array, p: number, len: number): Prefix {
  const addr = new Uint8Array(family === 4 ? 4 : 16);
  const n = (len + 7) >>> 3;
  for (let i = 0; i < n; i++) addr[i] = b[p + i]!;
  if (len & 7) addr[n - 1]! &= (0xff00 >>> (len & 7)) & 0xff;
  return { family, addr, len };
}

function latin1(b: Uint8Array, p: number, end: number): string {
  let s = '';
  for (let i = p; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function byteList(b: Uint8Array, p: number, end: number): number[] {
  const out: number[] = [];
  for (let i = p; i < end; i++) out.push(b[i]!);
  return out;
}

function fixedList<T>(code: number, p: number, len: number, size: number, read: (at: number) => T): T[] | TlvFault {
  if (len % size !== 0) return tlvFault(code, `length ${len} is not a multiple of ${size}`, p - 2);
  const out: T[] = [];
  for (let i = p; i < p + len; i += size) out.push(read(i));
  return out;
}

function decodeAreas(b: Uint8Array, p: number, end: number): AreaAddress[] | TlvFault {
  const out: AreaAddress[] = [];
  while (p < end) {
    const l = b[p]!;
    if (l === 0 || l > 13) return tlvFault(TlvCode.AreaAddresses, `area address length ${l} (1 to 13)`, p);
    if (p + 1 + l > end) return tlvFault(TlvCode.AreaAddresses, `area address of ${l} bytes overruns the TLV`, p, 'truncated');
    out.push(formatAreaAddress(b.subarray(p + 1, p + 1 + l)));
    p += 1 + l;
  }
  return out;
}

function decodeAuth(b: Uint8Array, p: number, len: number): Authentication | TlvFault {
  if (len < 1) return tlvFault(TlvCode.Authentication, 'no authentication type', p - 2, 'truncated');
  const t = b[p]!;
  const value = b.slice(p + 1, p + len);
  if (t === AuthType.Cleartext) return { kind: 'cleartext', password: value };
  if (t === AuthType.HmacMd5) {
    if (value.length !== HMAC_MD5_LEN) return tlvFault(TlvCode.Authentication, `HMAC-MD5 digest of ${value.length} bytes, want 16`, p);
    return { kind: 'hmac-md5', digest: value };
  }
  return { kind: 'other', authType: t, value };
}

function decodeExtIsReach(b: Uint8Array, p: number, end: number): ExtendedIsReach[] | TlvFault {
  const code = TlvCode.ExtendedIsReachability;
  const out: ExtendedIsReach[] = [];
  while (p < end) {
    if (end - p < 11) return tlvFault(code, `neighbor entry cut short (${end - p} of 11 bytes)`, p, 'truncated');
    const subLen = b[p + 10]!;
    if (p + 11 + subLen > end) return tlvFault(code, `sub-TLVs of ${subLen} bytes overrun the TLV`, p + 10, 'truncated');
    const subTlvs = decodeIsReachSubTlvs(code, b, p + 11, p + 11 + subLen);
    if (isTlvFault(subTlvs)) return subTlvs;
    out.push({ neighbor: readNodeId(b, p), metric: (b[p + 7]! << 16) | (b[p + 8]! << 8) | b[p + 9]!, subTlvs });
    p += 11 + subLen;
  }
  return out;
}

/** The sub-TLV length byte at b[q] and the Prefix-SID (and other) sub-TLVs after it. */
function readPrefixSubTlvs(code: number, b: Uint8Array, q: number, end: number): PrefixSubTlv[] | TlvFault {
  if (q >= end) return tlvFault(code, 'sub-TLV length missing', q, 'truncated');
  const subLen = b[q]!;
  if (q + 1 + subLen > end) return tlvFault(code, `sub-TLVs of ${subLen} bytes overrun the TLV`, q, 'truncated');
  return decodePrefixSubTlvs(code, b, q + 1, q + 1 + subLen);
}

function decodeExtIpv4Reach(b: Uint8Array, p: number, end: number): ExtendedIpv4Reach[] | TlvFault {
  const code = TlvCode.ExtendedIpv4Reachability;
  const out: ExtendedIpv4Reach[] = [];
  while (p < end) {
    if (end - p < 5) return tlvFault(code, `prefix entry cut short (${end - p} bytes)`, p, 'truncated');
    const control = b[p + 4]!;
    const plen = control & 0x3f;
    if (plen > 32) return tlvFault(code, `IPv4 prefix length ${plen}`, p + 4);
    const n = (plen + 7) >>> 3;
    let q = p + 5 + n;
    if (q > end) return tlvFault(code, `prefix of /${plen} overruns the TLV`, p + 5, 'truncated');
    let subTlvs: PrefixSubTlv[] = [];
    if (control & 0x40) {
      const s = readPrefixSubTlvs(code, b, q, end);
      if (isTlvFault(s)) return s;
      subTlvs = s;
      q += 1 + b[q]!;
    }
    out.push({ prefix: readPrefix(4, b, p + 5, plen), metric: u32(b, p), down: (control & 0x80) !== 0, subTlvs });
    p = q;
  }
  return out;
}

function decodeIpv6Reach(b: Uint8Array, p: number, end: number): Ipv6Reach[] | TlvFault {
  const code = TlvCode.Ipv6Reachability;
  const out: Ipv6Reach[] = [];
  while (p < end) {
    if (end - p < 6) return tlvFault(code, `prefix entry cut short (${end - p} bytes)`, p, 'truncated');
    const flags = b[p + 4]!;
    const plen = b[p + 5]!;
    if (plen > 128) return tlvFault(code, `IPv6 prefix length ${plen}`, p + 5);
    const n = (plen + 7) >>> 3;
    let q = p + 6 + n;
    if (q > end) return tlvFault(code, `prefix of /${plen} overruns the TLV`, p + 6, 'truncated');
    let subTlvs: PrefixSubTlv[] = [];
    if (flags & 0x20) {
      const s = readPrefixSubTlvs(code, b, q, end);
      if (isTlvFault(s)) return s;
      subTlvs = s;
      q += 1 + b[q]!;
    }
    out.push({ prefix: readPrefix(6, b, p + 6, plen), metric: u32(b, p), down: (flags & 0x80) !== 0, external: (flags & 0x40) !== 0, subTlvs });
    p = q;
  }
  return out;
}

function decodeP2pAdjacency(b: Uint8Array, p: number, len: number): P2pAdjacency | TlvFault {
  // RFC 5303 section 3: 1, 5, 11 or 15 bytes
  if (len !== 1 && len !== 5 && len !== 11 && len !== 15) return tlvFault(TlvCode.P2pAdjacencyState, `length ${len}, want 1, 5, 11 or 15`, p - 2);
  const state = b[p]!;
  if (len === 1) return { state };
  if (len === 5) return { state, extLocalCircuitId: u32(b, p + 1) };
  if (len === 11) return { state, extLocalCircuitId: u32(b, p + 1), neighborSystemId: readSystemId(b, p + 5) };
  return { state, extLocalCircuitId: u32(b, p + 1), neighborSystemId: readSystemId(b, p + 5), neighborExtCircuitId: u32(b, p + 11) };
}

/** Decode one TLV's value b[p..p+len) (the code and length bytes are at p-2). */
export function decodeTlv(code: number, b: Uint8Array, p: number, len: number): Tlv | TlvFault {
  const end = p + len;
  switch (code) {
    case TlvCode.AreaAddresses: {
      const areas = decodeAreas(b, p, end);
      return isTlvFault(areas) ? areas : { type: 'area-addresses', areas };
    }
    case TlvCode.IsNeighbors: {
      const neighbors = fixedList(code, p, len, 6, (i) => b.slice(i, i + 6) as Mac);
      return isTlvFault(neighbors) ? neighbors : { type: 'is-neighbors', neighbors };
    }
    case TlvCode.Padding:
      return { type: 'padding', length: len };
    case TlvCode.LspEntries: {
      const entries = fixedList(code, p, len, 16, (i) => ({
        remainingLifetime: (b[i]! << 8) | b[i + 1]!,
        lspId: readLspId(b, i + 2),
        sequence: u32(b, i + 10),
        checksum: (b[i + 14]! << 8) | b[i + 15]!,
      }));
      return isTlvFault(entries) ? entries : { type: 'lsp-entries', entries };
    }
    case TlvCode.Authentication: {
      const auth = decodeAuth(b, p, len);
      return isTlvFault(auth) ? auth : { type: 'authentication', auth };
    }
    case TlvCode.ExtendedIsReachability: {
      const neighbors = decodeExtIsReach(b, p, end);
      return isTlvFault(neighbors) ? neighbors : { type: 'extended-is-reachability', neighbors };
    }
    case TlvCode.ProtocolsSupported:
      return { type: 'protocols-supported', nlpids: byteList(b, p, end) };
    case TlvCode.Ipv4InterfaceAddress: {
      const addresses = fixedList(code, p, len, 4, (i) => bytesToIpv4(b, i));
      return isTlvFault(addresses) ? addresses : { type: 'ipv4-interface-addresses', addresses };
    }
    case TlvCode.TeRouterId:
      if (len !== 4) return tlvFault(code, `length ${len}, want 4`, p - 2);
      return { type: 'te-router-id', routerId: bytesToIpv4(b, p) };
    case TlvCode.ExtendedIpv4Reachability: {
      const prefixes = decodeExtIpv4Reach(b, p, end);
      return isTlvFault(prefixes) ? prefixes : { type: 'extended-ipv4-reachability', prefixes };
    }
    case TlvCode.DynamicHostname:
      return { type: 'hostname', hostname: latin1(b, p, end) };
    case TlvCode.Ipv6InterfaceAddress: {
      const addresses = fixedList(code, p, len, 16, (i) => b.slice(i, i + 16) as Ipv6);
      return isTlvFault(addresses) ? addresses : { type: 'ipv6-interface-addresses', addresses };
    }
    case TlvCode.Ipv6Reachability: {
      const prefixes = decodeIpv6Reach(b, p, end);
      return isTlvFault(prefixes) ? prefixes : { type: 'ipv6-reachability', prefixes };
    }
    case TlvCode.P2pAdjacencyState: {
      const adjacency = decodeP2pAdjacency(b, p, len);
      return isTlvFault(adjacency) ? adjacency : { type: 'p2p-adjacency', adjacency };
    }
    case TlvCode.RouterCapability: {
      if (len < 5) return tlvFault(code, `length ${len}, want at least 5`, p - 2, 'truncated');
      const subTlvs = decodeRouterCapSubTlvs(code, b, p + 5, end);
      if (isTlvFault(subTlvs)) return subTlvs;
      const f = b[p + 4]!;
      return { type: 'router-capability', routerId: bytesToIpv4(b, p), flags: { s: (f & 0x01) !== 0, d: (f & 0x02) !== 0 }, subTlvs };
    }
    default:
      return { type: 'unknown', code, value: b.slice(p, end) };
  }
}

/**
 * Decode the TLV area b[p..end). A TLV whose length runs past the end is a fault: ISO 10589
 * 9.3 leaves no way to find the next TLV after it.
 */
export function decodeTlvs(b: Uint8Array, p: number, end: number): Tlv[] | TlvFault {
  const out: Tlv[] = [];
  while (p < end) {
    if (end - p < 2) return tlvFault(b[p]!, 'TLV header cut short at the end of the PDU', p, 'truncated');
    const code = b[p]!;
    const len = b[p + 1]!;
    if (p + 2 + len > end) return tlvFault(code, `length ${len} overruns the PDU by ${p + 2 + len - end} bytes`, p, 'truncated');
    const t = decodeTlv(code, b, p + 2, len);
    if (isTlvFault(t)) return t;
    out.push(t);
    p += 2 + len;
  }
  return out;
}

// --- encoding ---

/** Padding content (a TLV holds at most 255 bytes). */
const ZEROS = new Uint8Array(255);

function writeIpv4(w: ByteWriter, v: number): void {
  w.u32(v >>> 0);
}

function writePrefixBits(w: ByteWriter, p: Prefix): void {
  const n = (p.len + 7) >>> 3;
  w.bytes(p.addr.subarray(0, n));
}

function tlvCodeOf(t: Tlv): number {
  switch (t.type) {
    case 'area-addresses':
      return TlvCode.AreaAddresses;
    case 'is-neighbors':
      return TlvCode.IsNeighbors;
    case 'padding':
      return TlvCode.Padding;
    case 'lsp-entries':
      return TlvCode.LspEntries;
    case 'authentication':
      return TlvCode.Authentication;
    case 'extended-is-reachability':
      return TlvCode.ExtendedIsReachability;
    case 'protocols-supported':
      return TlvCode.ProtocolsSupported;
    case 'ipv4-interface-addresses':
      return TlvCode.Ipv4InterfaceAddress;
    case 'te-router-id':
      return TlvCode.TeRouterId;
    case 'extended-ipv4-reachability':
      return TlvCode.ExtendedIpv4Reachability;
    case 'hostname':
      return TlvCode.DynamicHostname;
    case 'ipv6-interface-addresses':
      return TlvCode.Ipv6InterfaceAddress;
    case 'ipv6-reachability':
      return TlvCode.Ipv6Reachability;
    case 'p2p-adjacency':
      return TlvCode.P2pAdjacencyState;
    case 'router-capability':
      return TlvCode.RouterCapability;
    case 'unknown':
      return t.code;
  }
}

/**
 * Write one TLV. Returns the offset in the writer of an HMAC-MD5 digest it wrote (so the PDU
 * encoder can fill it in), or -1.
 */
export function encodeTlv(w: ByteWriter, t: Tlv): number {
  const done = tlvHeader(w, tlvCodeOf(t));
  let digestAt = -1;
  switch (t.type) {
    case 'area-addresses':
      for (const a of t.areas) {
        const bytes = areaAddressBytes(a);
        w.u8(bytes.length).bytes(bytes);
      }
      break;
    case 'is-neighbors':
      for (const m of t.neighbors) w.bytes(m.subarray(0, 6));
      break;
    case 'padding':
      w.bytes(ZEROS.subarray(0, t.length));
      break;
    case 'lsp-entries': {
      const id = new Uint8Array(8);
      for (const e of t.entries) {
        systemIdBytes(e.lspId.systemId, id, 0);
        id[6] = e.lspId.pseudonode;
        id[7] = e.lspId.fragment;
        w.u16(e.remainingLifetime).bytes(id).u32(e.sequence).u16(e.checksum);
      }
      break;
    }
    case 'authentication': {
      const a = t.auth;
      if (a.kind === 'cleartext') w.u8(AuthType.Cleartext).bytes(a.password);
      else if (a.kind === 'hmac-md5') {
        w.u8(AuthType.HmacMd5);
        digestAt = w.pos;
        w.bytes(a.digest.subarray(0, HMAC_MD5_LEN));
        for (let i = a.digest.length; i < HMAC_MD5_LEN; i++) w.u8(0);
      } else w.u8(a.authType).bytes(a.value);
      break;
    }
    case 'extended-is-reachability': {
      const id = new Uint8Array(7);
      for (const n of t.neighbors) {
        systemIdBytes(n.neighbor.systemId, id, 0);
        id[6] = n.neighbor.pseudonode;
        w.bytes(id).u8((n.metric >>> 16) & 0xff).u16(n.metric & 0xffff);
        const subDone = w.pos;
        w.u8(0);
        encodeIsReachSubTlvs(w, n.subTlvs);
        fillSubLength(w, subDone);
      }
      break;
    }
    case 'protocols-supported':
      for (const n of t.nlpids) w.u8(n);
      break;
    case 'ipv4-interface-addresses':
      for (const a of t.addresses) writeIpv4(w, a);
      break;
    case 'te-router-id':
      writeIpv4(w, t.routerId);
      break;
    case 'extended-ipv4-reachability':
      for (const r of t.prefixes) {
        w.u32(r.metric);
        w.u8((r.down ? 0x80 : 0) | (r.subTlvs.length > 0 ? 0x40 : 0) | (r.prefix.len & 0x3f));
        writePrefixBits(w, r.prefix);
        if (r.subTlvs.length > 0) writePrefixSubTlvs(w, r.subTlvs);
      }
      break;
    case 'hostname':
      for (let i = 0; i < t.hostname.length; i++) w.u8(t.hostname.charCodeAt(i) & 0xff);
      break;
    case 'ipv6-interface-addresses':
      for (const a of t.addresses) w.bytes(a.subarray(0, 16));
      break;
    case 'ipv6-reachability':
      for (const r of t.prefixes) {
        w.u32(r.metric);
        w.u8((r.down ? 0x80 : 0) | (r.external ? 0x40 : 0) | (r.subTlvs.length > 0 ? 0x20 : 0));
        w.u8(r.prefix.len);
        writePrefixBits(w, r.prefix);
        if (r.subTlvs.length > 0) writePrefixSubTlvs(w, r.subTlvs);
      }
      break;
    case 'p2p-adjacency': {
      const a = t.adjacency;
      w.u8(a.state);
      if (a.extLocalCircuitId !== undefined) {
        w.u32(a.extLocalCircuitId);
        if (a.neighborSystemId !== undefined) {
          const id = new Uint8Array(6);
          systemIdBytes(a.neighborSystemId, id, 0);
          w.bytes(id);
          if (a.neighborExtCircuitId !== undefined) w.u32(a.neighborExtCircuitId);
        }
      }
      break;
    }
    case 'router-capability':
      writeIpv4(w, t.routerId);
      w.u8((t.flags.s ? 0x01 : 0) | (t.flags.d ? 0x02 : 0));
      encodeRouterCapSubTlvs(w, t.subTlvs);
      break;
    case 'unknown':
      w.bytes(t.value);
      break;
  }
  done();
  return digestAt;
}

function writePrefixSubTlvs(w: ByteWriter, subs: readonly PrefixSubTlv[]): void {
  const at = w.pos;
  w.u8(0);
  encodePrefixSubTlvs(w, subs);
  fillSubLength(w, at);
}

/** Fill the 1-byte sub-TLV length at `at` with what was written after it. */
function fillSubLength(w: ByteWriter, at: number): void {
  const len = w.pos - at - 1;
  if (len > 255) throw new EncodeError(`isis: sub-TLVs of ${len} bytes, over 255`);
  w.finish()[at] = len;
}
