/**
 * Path attributes, from one descriptor table (BIRD's shape): each known attribute has its
 * name, its flags, how it is decoded, how it is encoded, and what RFC 7606 says to do when
 * it is malformed (treat-as-withdraw, attribute-discard or session reset). The UPDATE codec
 * walks the attribute field and consults this table; nothing else knows attribute layouts.
 */
import { ByteWriter } from '../../lib/bytes.js';
import { formatIpv4, parseIpv4 } from '../../lib/addr.js';
import type { SessionOptions } from './options.js';
import { AS_TRANS } from './open.js';

export const AttrType = {
  Origin: 1,
  AsPath: 2,
  NextHop: 3,
  Med: 4,
  LocalPref: 5,
  AtomicAggregate: 6,
  Aggregator: 7,
  Communities: 8,
  OriginatorId: 9,
  ClusterList: 10,
  MpReach: 14,
  MpUnreach: 15,
  ExtCommunities: 16,
  As4Path: 17,
  As4Aggregator: 18,
  LargeCommunities: 32,
} as const;

export const AttrFlag = { Optional: 0x80, Transitive: 0x40, Partial: 0x20, ExtendedLength: 0x10 } as const;

export const Origin = { Igp: 0, Egp: 1, Incomplete: 2 } as const;
export const SegmentType = { AsSet: 1, AsSequence: 2, ConfedSequence: 3, ConfedSet: 4 } as const;

export interface AsPathSegment {
  readonly type: number;
  readonly asns: readonly number[];
}

export interface UnknownAttribute {
  readonly flags: number;
  readonly type: number;
  readonly value: Uint8Array;
}

/**
 * The attributes of a path. One object is shared by every prefix of an UPDATE (and by
 * every path stored from it), so it is treated as immutable once decoded: policy actions
 * copy it before changing anything.
 */
export interface PathAttributes {
  origin?: number;
  asPath?: AsPathSegment[];
  /** NEXT_HOP, or the global next hop of MP_REACH_NLRI (the instance moves it here) */
  nextHop?: string;
  /** IPv6 link-local next hop from a 32-octet MP_REACH next hop */
  nextHopLocal?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: { asn: number; address: string };
  communities?: number[];
  originatorId?: string;
  clusterList?: string[];
  /** 8 octets per extended community, concatenated */
  extCommunities?: Uint8Array;
  /** three numbers per large community, flattened */
  largeCommunities?: number[];
  /** unrecognized optional transitive attributes, passed on with the partial bit set */
  unknown?: UnknownAttribute[];
}

export type ErrorAction = 'withdraw' | 'discard' | 'reset';

/** What the UPDATE decoder keeps while walking attributes (AS4 parts are merged at the end). */
export interface AttrScratch {
  attrs: PathAttributes;
  as4Path?: AsPathSegment[];
  as4Aggregator?: { asn: number; address: string };
}

export interface AttrDescriptor {
  readonly type: number;
  readonly name: string;
  /** expected Optional and Transitive bits */
  readonly flags: number;
  readonly onError: ErrorAction;
  /** fill `s` from the value; return the problem when malformed */
  decode(v: Uint8Array, o: SessionOptions, s: AttrScratch): string | undefined;
  /** write the value (not the header); absent for attributes the UPDATE codec writes itself */
  encode?(a: PathAttributes, o: SessionOptions, w: ByteWriter): boolean;
}

function u32(v: Uint8Array, i: number): number {
  return ((v[i]! << 24) | (v[i + 1]! << 16) | (v[i + 2]! << 8) | v[i + 3]!) >>> 0;
}

function decodeAsPath(v: Uint8Array, four: boolean): AsPathSegment[] | string {
  const size = four ? 4 : 2;
  const segs: AsPathSegment[] = [];
  let i = 0;
  while (i < v.length) {
    if (i + 2 > v.length) return 'truncated segment header';
    const type = v[i]!;
    const count = v[i + 1]!;
    if (type < 1 || type > 4) return `segment type ${type}`;
    if (count === 0) return 'empty segment';
    i += 2;
    if (i + count * size > v.length) return 'segment overruns the attribute';
    const asns = new Array<number>(count);
    for (let k = 0; k < count; k++, i += size) asns[k] = four ? u32(v, i) : (v[i]! << 8) | v[i + 1]!;
    segs.push({ type, asns });
  }
  return segs;
}

function encodeAsPath(segs: readonly AsPathSegment[], four: boolean, w: ByteWriter): void {
  for (const s of segs) {
    // a segment holds at most 255 ASNs; longer ones are split
    for (let off = 0; off < s.asns.length || off === 0; off += 255) {
      const part = s.asns.slice(off, off + 255);
      w.u8(s.type).u8(part.length);
      for (const a of part) four ? w.u32(a) : w.u16(a > 0xffff ? AS_TRANS : a);
      if (s.asns.length === 0) break;
    }
  }
}

function needsAs4(segs: readonly AsPathSegment[] | undefined): boolean {
  return !!segs?.some((s) => s.asns.some((a) => a > 0xffff));
}

function ipv4At(v: Uint8Array, i: number): string {
  return formatIpv4(u32(v, i));
}

/** The last NEXT_HOP decoded, as a number and as its text (a peer's UPDATEs mostly carry one next hop). */
let lastNextHop = -1;
let lastNextHopText = '';

/**
 * NEXT_HOP's text, the same string as the last UPDATE's when the address is: a receiver
 * keeps every distinct attribute set it hears (100k of them in a full table), each with its
 * next hop, and one string per set cost ~32 bytes where one per next hop costs nothing.
 */
function nextHopAt(v: Uint8Array): string {
  const n = u32(v, 0);
  if (n !== lastNextHop) {
    lastNextHop = n;
    lastNextHopText = formatIpv4(n);
  }
  return lastNextHopText;
}

/** MED and LOCAL_PREF: one 32-bit number, treat-as-withdraw when the length is wrong. */
function u32Attribute(type: number, name: string, flags: number, key: 'med' | 'localPref'): AttrDescriptor {
  return {
    type,
    name,
    flags,
    onError: 'withdraw',
    decode(v, _o, s) {
      if (v.length !== 4) return `length ${v.length}`;
      s.attrs[key] = u32(v, 0);
      return undefined;
    },
    encode(a, _o, w) {
      const x = a[key];
      if (x === undefined) return false;
      w.u32(x);
      return true;
    },
  };
}

const D: AttrDescriptor[] = [
  {
    type: AttrType.Origin,
    name: 'ORIGIN',
    flags: AttrFlag.Transitive,
    onError: 'withdraw',
    decode(v, _o, s) {
      if (v.length !== 1) return `length ${v.length}`;
      if (v[0]! > 2) return `value ${v[0]}`;
      s.attrs.origin = v[0]!;
      return undefined;
    },
    encode(a, _o, w) {
      if (a.origin === undefined) return false;
      w.u8(a.origin);
      return true;
    },
  },
  {
    type: AttrType.AsPath,
    name: 'AS_PATH',
    flags: AttrFlag.Transitive,
    onError: 'withdraw',
    decode(v, o, s) {
      const r = decodeAsPath(v, o.as4);
      if (typeof r === 'string') return r;
      s.attrs.asPath = r;
      return undefined;
    },
    encode(a, o, w) {
      if (!a.asPath) return false;
      encodeAsPath(a.asPath, o.as4, w);
      return true;
    },
  },
  {
    type: AttrType.NextHop,
    name: 'NEXT_HOP',
    flags: AttrFlag.Transitive,
    onError: 'withdraw',
    decode(v, _o, s) {
      if (v.length !== 4) return `length ${v.length}`;
      s.attrs.nextHop = nextHopAt(v);
      return undefined;
    },
    // written by the UPDATE codec: only IPv4 unicast NLRI use it
  },
  u32Attribute(AttrType.Med, 'MULTI_EXIT_DISC', AttrFlag.Optional, 'med'),
  u32Attribute(AttrType.LocalPref, 'LOCAL_PREF', AttrFlag.Transitive, 'localPref'),
  {
    type: AttrType.AtomicAggregate,
    name: 'ATOMIC_AGGREGATE',
    flags: AttrFlag.Transitive,
    onError: 'discard',
    decode(v, _o, s) {
      if (v.length !== 0) return `length ${v.length}`;
      s.attrs.atomicAggregate = true;
      return undefined;
    },
    encode(a) {
      return !!a.atomicAggregate;
    },
  },
  {
    type: AttrType.Aggregator,
    name: 'AGGREGATOR',
    flags: AttrFlag.Optional | AttrFlag.Transitive,
    onError: 'discard',
    decode(v, o, s) {
      if (v.length !== (o.as4 ? 8 : 6)) return `length ${v.length}`;
      s.attrs.aggregator = o.as4 ? { asn: u32(v, 0), address: ipv4At(v, 4) } : { asn: (v[0]! << 8) | v[1]!, address: ipv4At(v, 2) };
      return undefined;
    },
    encode(a, o, w) {
      if (!a.aggregator) return false;
      if (o.as4) w.u32(a.aggregator.asn);
      else w.u16(a.aggregator.asn > 0xffff ? AS_TRANS : a.aggregator.asn);
      w.u32(parseIpv4(a.aggregator.address));
      return true;
    },
  },
  {
    type: AttrType.Communities,
    name: 'COMMUNITIES',
    flags: AttrFlag.Optional | AttrFlag.Transitive,
    onError: 'withdraw',
    decode(v, _o, s) {
      if (v.length % 4 !== 0) return `length ${v.length}`;
      const c = new Array<number>(v.length / 4);
      for (let i = 0; i < c.length; i++) c[i] = u32(v, i * 4);
      s.attrs.communities = c;
      return undefined;
    },
    encode(a, _o, w) {
      if (!a.communities?.length) return false;
      for (const c of a.communities) w.u32(c);
      return true;
    },
  },
  {
    type: AttrType.OriginatorId,
    name: 'ORIGINATOR_ID',
    flags: AttrFlag.Optional,
    onError: 'withdraw',
    decode(v, _o, s) {
      if (v.length !== 4) return `length ${v.length}`;
      s.attrs.originatorId = ipv4At(v, 0);
      return undefined;
    },
    encode(a, _o, w) {
      if (!a.originatorId) return false;
      w.u32(parseIpv4(a.originatorId));
      return true;
    },
  },
  {
    type: AttrType.ClusterList,
    name: 'CLUSTER_LIST',
    flags: AttrFlag.Optional,
    onError: 'withdraw',
    decode(v, _o, s) {
      if (v.length % 4 !== 0 || v.length === 0) return `length ${v.length}`;
      const c: string[] = [];
      for (let i = 0; i < v.length; i += 4) c.push(ipv4At(v, i));
      s.attrs.clusterList = c;
      return undefined;
    },
    encode(a, _o, w) {
      if (!a.clusterList?.length) return false;
      for (const c of a.clusterList) w.u32(parseIpv4(c));
      return true;
    },
  },
  {
    type: AttrType.MpReach,
    name: 'MP_REACH_NLRI',
    flags: AttrFlag.Optional,
    onError: 'reset',
    decode: () => undefined, // the UPDATE codec decodes MP attributes (they hold NLRI)
  },
  {
    type: AttrType.MpUnreach,
    name: 'MP_UNREACH_NLRI',
    flags: AttrFlag.Optional,
    onError: 'reset',
    decode: () => undefined,
  },
  {
    type: AttrType.ExtCommunities,
    name: 'EXTENDED_COMMUNITIES',
    flags: AttrFlag.Optional | AttrFlag.Transitive,
    onError: 'withdraw',
    decode(v, _o, s) {
      if (v.length % 8 !== 0) return `length ${v.length}`;
      s.attrs.extCommunities = v.slice();
      return undefined;
    },
    encode(a, _o, w) {
      if (!a.extCommunities?.length) return false;
      w.bytes(a.extCommunities);
      return true;
    },
  },
  {
    type: AttrType.As4Path,
    name: 'AS4_PATH',
    flags: AttrFlag.Optional | AttrFlag.Transitive,
    onError: 'discard',
    decode(v, o, s) {
      if (o.as4) return undefined; // between NEW speakers AS4_PATH is meaningless: ignored (RFC 6793 4.1)
      const r = decodeAsPath(v, true);
      if (typeof r === 'string') return r;
      // confederation segments in AS4_PATH are discarded (RFC 6793 section 6)
      s.as4Path = r.filter((x) => x.type === SegmentType.AsSet || x.type === SegmentType.AsSequence);
      return undefined;
    },
    encode(a, o, w) {
      if (o.as4 || !needsAs4(a.asPath)) return false;
      encodeAsPath(a.asPath!.filter((x) => x.type <= 2), true, w);
      return true;
    },
  },
  {
    type: AttrType.As4Aggregator,
    name: 'AS4_AGGREGATOR',
    flags: AttrFlag.Optional | AttrFlag.Transitive,
    onError: 'discard',
    decode(v, o, s) {
      if (v.length !== 8) return `length ${v.length}`;
      if (!o.as4) s.as4Aggregator = { asn: u32(v, 0), address: ipv4At(v, 4) };
      return undefined;
    },
    encode(a, o, w) {
      if (o.as4 || !a.aggregator || a.aggregator.asn <= 0xffff) return false;
      w.u32(a.aggregator.asn).u32(parseIpv4(a.aggregator.address));
      return true;
    },
  },
  {
    type: AttrType.LargeCommunities,
    name: 'LARGE_COMMUNITY',
    flags: AttrFlag.Optional | AttrFlag.Transitive,
    onError: 'withdraw',
    decode(v, _o, s) {
      if (v.length % 12 !== 0 || v.length === 0) return `length ${v.length}`;
      const c = new Array<number>(v.length / 4);
      for (let i = 0; i < c.length; i++) c[i] = u32(v, i * 4);
      s.attrs.largeCommunities = c;
      return undefined;
    },
    encode(a, _o, w) {
      if (!a.largeCommunities?.length) return false;
      for (const c of a.largeCommunities) w.u32(c);
      return true;
    },
  },
];

/** The descriptor table, indexed by type code. */
export const ATTRIBUTES: ReadonlyArray<AttrDescriptor | undefined> = (() => {
  const t: (AttrDescriptor | undefined)[] = new Array(256).fill(undefined);
  for (const d of D) t[d.type] = d;
  return t;
})();

export function attributeName(type: number): string {
  return ATTRIBUTES[type]?.name ?? `attribute ${type}`;
}

/** Count of ASes the way best-path counts them: a set counts once, confederation segments not at all. */
export function asPathLength(segs: readonly AsPathSegment[] | undefined): number {
  if (!segs) return 0;
  let n = 0;
  for (const s of segs) {
    if (s.type === SegmentType.AsSequence) n += s.asns.length;
    else if (s.type === SegmentType.AsSet) n += 1;
  }
  return n;
}

/** RFC 6793 section 4.2.3: rebuild the path from AS_PATH and AS4_PATH. */
export function mergeAs4Path(asPath: AsPathSegment[], as4Path: AsPathSegment[]): AsPathSegment[] {
  const n2 = asPathLength(asPath);
  const n4 = asPathLength(as4Path);
  if (n2 < n4) return asPath;
  let keep = n2 - n4;
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    if (keep <= 0) break;
    if (s.type === SegmentType.AsSequence) {
      const part = s.asns.slice(0, keep);
      keep -= part.length;
      out.push({ type: s.type, asns: part });
    } else if (s.type === SegmentType.AsSet) {
      out.push(s);
      keep -= 1;
    } else out.push(s);
  }
  return [...out, ...as4Path];
}

/** Known attribute types in ascending order: the order attributes are written in. */
const ENCODE_ORDER: readonly number[] = D.map((d) => d.type).sort((a, b) => a - b);

/** Scratch space for one attribute value (codecs run on one thread; nothing keeps it across calls). */
const SCRATCH = new ByteWriter(256);

/** Encode the attributes the descriptor table knows how to write, in type order, plus unknown transitive ones. */
export function encodeAttributes(a: PathAttributes, o: SessionOptions, w: ByteWriter, extra?: (type: number, w: ByteWriter) => boolean): void {
  const emit = (flags: number, type: number, value: Uint8Array) => {
    if (value.length > 255) w.u8(flags | AttrFlag.ExtendedLength).u8(type).u16(value.length);
    else w.u8(flags & ~AttrFlag.ExtendedLength).u8(type).u8(value.length);
    w.bytes(value);
  };
  const unknown = a.unknown && a.unknown.length > 1 ? [...a.unknown].sort((x, y) => x.type - y.type) : a.unknown ?? [];
  let ui = 0;
  for (const type of ENCODE_ORDER) {
    while (ui < unknown.length && unknown[ui]!.type < type) {
      const u = unknown[ui++]!;
      emit(u.flags | AttrFlag.Partial, u.type, u.value);
    }
    const d = ATTRIBUTES[type]!;
    SCRATCH.pos = 0;
    let wrote = false;
    if (extra) wrote = extra(type, SCRATCH);
    if (!wrote && d.encode) wrote = d.encode(a, o, SCRATCH);
    if (wrote) emit(d.flags, type, SCRATCH.finish());
  }
  while (ui < unknown.length) {
    const u = unknown[ui++]!;
    emit(u.flags | AttrFlag.Partial, u.type, u.value);
  }
}

// ---- community text forms (RFC 1997, 4360, 8092), for policy, show and config ----

export const WELL_KNOWN_COMMUNITIES: Record<string, number> = {
  'no-export': 0xffffff01,
  'no-advertise': 0xffffff02,
  'no-export-subconfed': 0xffffff03,
  'graceful-shutdown': 0xffff0000,
  'blackhole': 0xffff029a,
  'llgr-stale': 0xffff0006,
  'no-llgr': 0xffff0007,
};

export function formatCommunity(c: number): string {
  for (const [k, v] of Object.entries(WELL_KNOWN_COMMUNITIES)) if (v === c) return k;
  return `${c >>> 16}:${c & 0xffff}`;
}

export function parseCommunity(s: string): number | undefined {
  const w = WELL_KNOWN_COMMUNITIES[s];
  if (w !== undefined) return w;
  const m = /^(\d+):(\d+)$/.exec(s);
  if (!m || Number(m[1]) > 0xffff || Number(m[2]) > 0xffff) return undefined;
  return ((Number(m[1]) << 16) | Number(m[2])) >>> 0;
}

export function formatLargeCommunity(c: readonly number[], i: number): string {
  return `${c[i]}:${c[i + 1]}:${c[i + 2]}`;
}

export function parseLargeCommunity(s: string): [number, number, number] | undefined {
  const m = /^(?:large:)?(\d+):(\d+):(\d+)$/.exec(s);
  if (!m) return undefined;
  const r = [Number(m[1]), Number(m[2]), Number(m[3])] as [number, number, number];
  return r.every((x) => x <= 0xffffffff) ? r : undefined;
}

/** `target:65000:1`, `origin:10.0.0.1:5`, or `0x` + 16 hex digits for other types. */
export function formatExtCommunity(b: Uint8Array, i: number): string {
  const type = b[i]!;
  const sub = b[i + 1]!;
  const name = sub === 2 ? 'target' : sub === 3 ? 'origin' : undefined;
  const hi = ((b[i + 2]! << 24) | (b[i + 3]! << 16) | (b[i + 4]! << 8) | b[i + 5]!) >>> 0;
  if (name && (type & 0x3f) === 0) return `${name}:${(b[i + 2]! << 8) | b[i + 3]!}:${u32(b, i + 4)}`;
  if (name && (type & 0x3f) === 1) return `${name}:${formatIpv4(hi)}:${(b[i + 6]! << 8) | b[i + 7]!}`;
  if (name && (type & 0x3f) === 2) return `${name}:${hi}L:${(b[i + 6]! << 8) | b[i + 7]!}`;
  let s = '0x';
  for (let k = 0; k < 8; k++) s += b[i + k]!.toString(16).padStart(2, '0');
  return s;
}

export function parseExtCommunity(s: string): Uint8Array | undefined {
  const out = new Uint8Array(8);
  const hex = /^0x([0-9a-fA-F]{16})$/.exec(s);
  if (hex) {
    for (let k = 0; k < 8; k++) out[k] = parseInt(hex[1]!.slice(k * 2, k * 2 + 2), 16);
    return out;
  }
  const m = /^(target|origin):([^:]+):(\d+)$/.exec(s);
  if (!m) return undefined;
  const sub = m[1] === 'target' ? 2 : 3;
  const admin = m[2]!;
  const local = Number(m[3]);
  const dv = new DataView(out.buffer);
  out[1] = sub;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(admin)) {
    if (local > 0xffff) return undefined;
    out[0] = 1;
    dv.setUint32(2, parseIpv4(admin));
    dv.setUint16(6, local);
  } else if (/^\d+L?$/.test(admin)) {
    const asn = Number(admin.replace('L', ''));
    if (asn > 0xffff || admin.endsWith('L')) {
      if (local > 0xffff || asn > 0xffffffff) return undefined;
      out[0] = 2;
      dv.setUint32(2, asn);
      dv.setUint16(6, local);
    } else {
      if (local > 0xffffffff) return undefined;
      out[0] = 0;
      dv.setUint16(2, asn);
      dv.setUint32(4, local);
    }
  } else return undefined;
  return out;
}

export function formatAsPath(segs: readonly AsPathSegment[] | undefined): string {
  if (!segs) return '';
  return segs
    .map((s) => {
      const l = s.asns.join(' ');
      return s.type === SegmentType.AsSet ? `{${l}}` : s.type === SegmentType.ConfedSequence ? `(${l})` : s.type === SegmentType.ConfedSet ? `[${l}]` : l;
    })
    .join(' ');
}

export function formatOrigin(o: number | undefined): string {
  return o === 0 ? 'I' : o === 1 ? 'E' : '?';
}

