/**
 * Sub-TLVs of the TLVs that carry segment routing (RFC 8667): the Adj-SID and LAN Adj-SID of
 * extended IS reachability (TLV 22), the Prefix-SID of IPv4/IPv6 reachability (TLV 135, 236),
 * and SR-Capabilities, SR-Algorithm and SRLB of Router Capability (TLV 242). Each list keeps
 * the wire order; a sub-TLV this file does not know stays as its raw bytes.
 *
 * A SID is a 3-byte label or a 4-byte index: RFC 8667 ties that to the V and L flags, and the
 * length on the wire decides here (a flag/length mismatch keeps the flags as they came).
 */
import { isTlvFault, tlvFault, type TlvFault } from './errors.js';
import { EncodeError } from '../errors.js';
import { readSystemId, systemIdBytes, type SystemId } from './ids.js';
import type { ByteWriter } from '../../lib/bytes.js';
import type { Label } from '../../lib/addr.js';

export type Sid = { readonly label: Label } | { readonly index: number };

/** Adj-SID flags (RFC 8667 2.2.1): F address family IPv6, B backup, V value, L local, S set, P persistent. */
export interface AdjSidFlags {
  readonly f: boolean;
  readonly b: boolean;
  readonly v: boolean;
  readonly l: boolean;
  readonly s: boolean;
  readonly p: boolean;
}

/** Prefix-SID flags (RFC 8667 2.1.1): R re-advertised, N node, P no-PHP, E explicit-null, V value, L local. */
export interface PrefixSidFlags {
  readonly r: boolean;
  readonly n: boolean;
  readonly p: boolean;
  readonly e: boolean;
  readonly v: boolean;
  readonly l: boolean;
}

export interface UnknownSubTlv {
  readonly type: 'unknown';
  readonly code: number;
  readonly value: Uint8Array;
}

export type IsReachSubTlv =
  | { readonly type: 'adj-sid'; readonly flags: AdjSidFlags; readonly weight: number; readonly sid: Sid }
  | { readonly type: 'lan-adj-sid'; readonly flags: AdjSidFlags; readonly weight: number; readonly neighborSystemId: SystemId; readonly sid: Sid }
  | UnknownSubTlv;

export type PrefixSubTlv =
  | { readonly type: 'prefix-sid'; readonly flags: PrefixSidFlags; readonly algorithm: number; readonly sid: Sid }
  | UnknownSubTlv;

/** One SRGB or SRLB range: `range` labels from the first SID (RFC 8667 3.1, 3.3). */
export interface SidRange {
  readonly range: number;
  readonly first: Sid;
}

export type RouterCapSubTlv =
  /** SR-Capabilities (2): I = MPLS IPv4, V = MPLS IPv6 capable; the SRGB ranges */
  | { readonly type: 'sr-capabilities'; readonly flags: { readonly i: boolean; readonly v: boolean }; readonly ranges: SidRange[] }
  /** SR-Algorithm (19): 0 = SPF, 1 = strict SPF, 128..255 flexible algorithms */
  | { readonly type: 'sr-algorithms'; readonly algorithms: number[] }
  /** SR Local Block (22): flags are reserved */
  | { readonly type: 'srlb'; readonly flags: number; readonly ranges: SidRange[] }
  | UnknownSubTlv;

export const SubTlvCode = {
  PrefixSid: 3,
  AdjSid: 31,
  LanAdjSid: 32,
  SrCapabilities: 2,
  SrAlgorithm: 19,
  Srlb: 22,
  SidLabel: 1,
} as const;

// --- decoding: each reader gets the TLV code for its fault, the bytes and [p, end) ---

function readSid(b: Uint8Array, p: number, len: number): Sid {
  if (len === 3) return { label: ((((b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!) & 0xfffff) >>> 0) as Label };
  return { index: ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0 };
}

function adjFlags(x: number): AdjSidFlags {
  return { f: (x & 0x80) !== 0, b: (x & 0x40) !== 0, v: (x & 0x20) !== 0, l: (x & 0x10) !== 0, s: (x & 0x08) !== 0, p: (x & 0x04) !== 0 };
}

function prefixFlags(x: number): PrefixSidFlags {
  return { r: (x & 0x80) !== 0, n: (x & 0x40) !== 0, p: (x & 0x20) !== 0, e: (x & 0x10) !== 0, v: (x & 0x08) !== 0, l: (x & 0x04) !== 0 };
}

/** Walk a sub-TLV area, calling `one` for each (code, value start, value length). */
function walk<T>(
  tlv: number,
  b: Uint8Array,
  p: number,
  end: number,
  one: (code: number, v: number, len: number) => T | TlvFault,
): T[] | TlvFault {
  const out: T[] = [];
  while (p < end) {
    if (end - p < 2) return tlvFault(tlv, `sub-TLV header cut short (${end - p} byte left)`, p, 'truncated');
    const code = b[p]!;
    const len = b[p + 1]!;
    if (p + 2 + len > end) return tlvFault(tlv, `sub-TLV length ${len} overruns its TLV by ${p + 2 + len - end} bytes`, p, 'malformed', code);
    const r = one(code, p + 2, len);
    if (isTlvFault(r)) return r;
    out.push(r);
    p += 2 + len;
  }
  return out;
}

function unknown(b: Uint8Array, code: number, v: number, len: number): UnknownSubTlv {
  return { type: 'unknown', code, value: b.slice(v, v + len) };
}

export function decodeIsReachSubTlvs(tlv: number, b: Uint8Array, p: number, end: number): IsReachSubTlv[] | TlvFault {
  return walk<IsReachSubTlv>(tlv, b, p, end, (code, v, len) => {
    if (code === SubTlvCode.AdjSid) {
      if (len !== 5 && len !== 6) return tlvFault(tlv, `Adj-SID length ${len}, want 5 (label) or 6 (index)`, v - 2, 'malformed', code);
      return { type: 'adj-sid', flags: adjFlags(b[v]!), weight: b[v + 1]!, sid: readSid(b, v + 2, len - 2) };
    }
    if (code === SubTlvCode.LanAdjSid) {
      if (len !== 11 && len !== 12) return tlvFault(tlv, `LAN Adj-SID length ${len}, want 11 (label) or 12 (index)`, v - 2, 'malformed', code);
      return { type: 'lan-adj-sid', flags: adjFlags(b[v]!), weight: b[v + 1]!, neighborSystemId: readSystemId(b, v + 2), sid: readSid(b, v + 8, len - 8) };
    }
    return unknown(b, code, v, len);
  });
}

export function decodePrefixSubTlvs(tlv: number, b: Uint8Array, p: number, end: number): PrefixSubTlv[] | TlvFault {
  return walk<PrefixSubTlv>(tlv, b, p, end, (code, v, len) => {
    if (code === SubTlvCode.PrefixSid) {
      if (len !== 5 && len !== 6) return tlvFault(tlv, `Prefix-SID length ${len}, want 5 (label) or 6 (index)`, v - 2, 'malformed', code);
      return { type: 'prefix-sid', flags: prefixFlags(b[v]!), algorithm: b[v + 1]!, sid: readSid(b, v + 2, len - 2) };
    }
    return unknown(b, code, v, len);
  });
}

/** SRGB / SRLB descriptors: a 3-byte range, then a SID/Label sub-TLV (type 1, length 3 or 4). */
function readRanges(tlv: number, code: number, b: Uint8Array, p: number, end: number): SidRange[] | TlvFault {
  const out: SidRange[] = [];
  while (p < end) {
    if (end - p < 5) return tlvFault(tlv, `SID range descriptor cut short (${end - p} bytes left)`, p, 'truncated', code);
    const range = (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
    const t = b[p + 3]!;
    const l = b[p + 4]!;
    if (t !== SubTlvCode.SidLabel) return tlvFault(tlv, `SID range descriptor holds sub-TLV ${t}, want SID/Label (1)`, p + 3, 'malformed', code);
    if (l !== 3 && l !== 4) return tlvFault(tlv, `SID/Label length ${l}, want 3 or 4`, p + 4, 'malformed', code);
    if (p + 5 + l > end) return tlvFault(tlv, `SID/Label overruns its sub-TLV`, p + 4, 'truncated', code);
    out.push({ range, first: readSid(b, p + 5, l) });
    p += 5 + l;
  }
  return out;
}

export function decodeRouterCapSubTlvs(tlv: number, b: Uint8Array, p: number, end: number): RouterCapSubTlv[] | TlvFault {
  return walk<RouterCapSubTlv>(tlv, b, p, end, (code, v, len) => {
    if (code === SubTlvCode.SrCapabilities || code === SubTlvCode.Srlb) {
      if (len < 1) return tlvFault(tlv, `sub-TLV ${code} has no flags byte`, v - 2, 'truncated', code);
      const ranges = readRanges(tlv, code, b, v + 1, v + len);
      if (isTlvFault(ranges)) return ranges;
      const f = b[v]!;
      return code === SubTlvCode.Srlb
        ? { type: 'srlb', flags: f, ranges }
        : { type: 'sr-capabilities', flags: { i: (f & 0x80) !== 0, v: (f & 0x40) !== 0 }, ranges };
    }
    if (code === SubTlvCode.SrAlgorithm) {
      const algorithms: number[] = [];
      for (let i = v; i < v + len; i++) algorithms.push(b[i]!);
      return { type: 'sr-algorithms', algorithms };
    }
    return unknown(b, code, v, len);
  });
}

// --- encoding into a ByteWriter; lengths are reserved and filled in afterwards ---

function writeSid(w: ByteWriter, sid: Sid): void {
  if ('label' in sid) {
    w.u8((sid.label >>> 16) & 0x0f).u16(sid.label & 0xffff);
  } else w.u32(sid.index);
}

function adjFlagsByte(f: AdjSidFlags): number {
  return (f.f ? 0x80 : 0) | (f.b ? 0x40 : 0) | (f.v ? 0x20 : 0) | (f.l ? 0x10 : 0) | (f.s ? 0x08 : 0) | (f.p ? 0x04 : 0);
}

function prefixFlagsByte(f: PrefixSidFlags): number {
  return (f.r ? 0x80 : 0) | (f.n ? 0x40 : 0) | (f.p ? 0x20 : 0) | (f.e ? 0x10 : 0) | (f.v ? 0x08 : 0) | (f.l ? 0x04 : 0);
}

/** Write a (sub-)TLV's code and reserve its 1-byte length; the returned function fills it in. */
export function tlvHeader(w: ByteWriter, code: number): () => void {
  w.u8(code);
  const at = w.pos;
  w.u8(0);
  return () => {
    const len = w.pos - at - 1;
    if (len > 255) throw new EncodeError(`isis: (sub-)TLV ${code} would be ${len} bytes, over 255: split it`);
    w.finish()[at] = len;
  };
}

function writeUnknown(w: ByteWriter, s: UnknownSubTlv): void {
  const done = tlvHeader(w, s.code);
  w.bytes(s.value);
  done();
}

export function encodeIsReachSubTlvs(w: ByteWriter, subs: readonly IsReachSubTlv[]): void {
  const id = new Uint8Array(6);
  for (const s of subs) {
    if (s.type === 'unknown') {
      writeUnknown(w, s);
      continue;
    }
    const done = tlvHeader(w, s.type === 'adj-sid' ? SubTlvCode.AdjSid : SubTlvCode.LanAdjSid);
    w.u8(adjFlagsByte(s.flags)).u8(s.weight);
    if (s.type === 'lan-adj-sid') {
      systemIdBytes(s.neighborSystemId, id, 0);
      w.bytes(id);
    }
    writeSid(w, s.sid);
    done();
  }
}

export function encodePrefixSubTlvs(w: ByteWriter, subs: readonly PrefixSubTlv[]): void {
  for (const s of subs) {
    if (s.type === 'unknown') {
      writeUnknown(w, s);
      continue;
    }
    const done = tlvHeader(w, SubTlvCode.PrefixSid);
    w.u8(prefixFlagsByte(s.flags)).u8(s.algorithm);
    writeSid(w, s.sid);
    done();
  }
}

function writeRanges(w: ByteWriter, ranges: readonly SidRange[]): void {
  for (const r of ranges) {
    w.u8((r.range >>> 16) & 0xff).u16(r.range & 0xffff);
    w.u8(SubTlvCode.SidLabel).u8('label' in r.first ? 3 : 4);
    writeSid(w, r.first);
  }
}

export function encodeRouterCapSubTlvs(w: ByteWriter, subs: readonly RouterCapSubTlv[]): void {
  for (const s of subs) {
    switch (s.type) {
      case 'unknown':
        writeUnknown(w, s);
        break;
      case 'sr-capabilities': {
        const done = tlvHeader(w, SubTlvCode.SrCapabilities);
        w.u8((s.flags.i ? 0x80 : 0) | (s.flags.v ? 0x40 : 0));
        writeRanges(w, s.ranges);
        done();
        break;
      }
      case 'srlb': {
        const done = tlvHeader(w, SubTlvCode.Srlb);
        w.u8(s.flags);
        writeRanges(w, s.ranges);
        done();
        break;
      }
      case 'sr-algorithms': {
        const done = tlvHeader(w, SubTlvCode.SrAlgorithm);
        for (const a of s.algorithms) w.u8(a);
        done();
        break;
      }
    }
  }
}
