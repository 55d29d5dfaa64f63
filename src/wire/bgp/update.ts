/**
 * UPDATE (RFC 4271 section 4.3, RFC 4760 MP_REACH/MP_UNREACH, RFC 7911 add-path) with the
 * revised error handling of RFC 7606. Decoding returns either a NotifyError (session reset)
 * or an update plus its outcome: 'ok', or 'treat-as-withdraw' (every NLRI of the message is
 * to be handled as withdrawn), with the list of attributes discarded along the way.
 *
 * Encoding is split for speed: an attribute block is encoded once per attribute set, then
 * `packUpdates` fills as many messages as needed with prefixes behind it.
 */
import { ByteWriter } from '../../lib/bytes.js';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6, tryParseIpv4 } from '../../lib/addr.js';
import { ErrorCode, UpdateSubcode, notifyError, type NotifyError } from './errors.js';
import { HEADER_LENGTH, MessageType, writeHeader } from './header.js';
import { Afi, Safi, familyKey, maxMessageLength, type SessionOptions } from './options.js';
import { decodeIpv4PrefixCodes, decodeLabeledPrefixes, ipv4PrefixCodeList, decodePrefixes, parseV4PrefixFast, writeRd } from './nlri.js';
import { ATTRIBUTES, AttrFlag, AttrType, attributeName, encodeAttributes, mergeAs4Path, type AttrScratch, type ErrorAction, type PathAttributes } from './attributes.js';

export interface MpReach {
  readonly afi: number;
  readonly safi: number;
  /** global next hop (IPv4 or IPv6 text) */
  readonly nextHop: string;
  /** IPv6 link-local next hop when the next hop field was 32 octets */
  readonly nextHopLocal?: string;
  /** text; IPv6 unicast prefixes as lib/addr ipv6PrefixKeys with SessionOptions.prefixCodes */
  readonly prefixes: string[];
  readonly pathIds?: number[];
  /** labeled unicast and VPN: label stack per prefix */
  readonly labels?: number[][];
  /** VPN: route distinguisher per prefix */
  readonly rds?: string[];
}

export interface MpUnreach {
  readonly afi: number;
  readonly safi: number;
  /** text; IPv6 unicast prefixes as lib/addr ipv6PrefixKeys with SessionOptions.prefixCodes */
  readonly prefixes: string[];
  readonly pathIds?: number[];
  readonly labels?: number[][];
  readonly rds?: string[];
}

export interface Update {
  readonly withdrawn: string[];
  readonly withdrawnIds?: number[];
  readonly attrs: PathAttributes;
  readonly nlri: string[];
  readonly nlriIds?: number[];
  readonly mpReach?: MpReach;
  readonly mpUnreach?: MpUnreach;
}

export type UpdateOutcome = 'ok' | 'treat-as-withdraw';

export interface DecodedUpdate {
  readonly kind: 'update';
  readonly update: Update;
  readonly outcome: UpdateOutcome;
  /** attributes dropped by attribute-discard or as duplicates, with reasons */
  readonly problems: string[];
  /** true for an End-of-RIB marker (RFC 4724): empty UPDATE, or MP_UNREACH with no NLRI */
  readonly endOfRib?: { afi: number; safi: number };
  /**
   * The attribute field's bytes (MP attributes left out but for MP_REACH's family and next
   * hop), when it decoded cleanly: equal bytes mean equal attributes, so a receiver can
   * share one PathAttributes object among the UPDATEs that carry the same set. Often a view
   * of the message (no copy): valid while the UPDATE is handled; copy it to keep it.
   */
  readonly attrBytes?: Uint8Array;
  /** a 32-bit hash of attrBytes (FNV-1a), to look them up without making a string of them */
  readonly attrHash?: number;
  /**
   * With SessionOptions.prefixCodes: the withdrawn routes and NLRI fields (IPv4 unicast) as
   * values, each prefix its lib/addr ipv4PrefixCode; `update.withdrawn` and `update.nlri`
   * are then empty (the path identifiers stay in withdrawnIds/nlriIds).
   */
  readonly v4?: { readonly withdrawn: number[]; readonly nlri: number[] };
}

function updateError(subcode: number, reason: string, data?: Uint8Array): NotifyError {
  return notifyError(ErrorCode.UpdateMessage, subcode, reason, data);
}

const SEVERITY: Record<ErrorAction | 'ok', number> = { ok: 0, discard: 1, withdraw: 2, reset: 3 };

function decodeMpNextHop(afi: number, b: Uint8Array): { nextHop: string; nextHopLocal?: string } | undefined {
  if (afi === Afi.Ipv4 && b.length === 4) return { nextHop: formatIpv4(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) };
  // RFC 8950: IPv4 NLRI with an IPv6 next hop
  if (afi === Afi.Ipv4 && (b.length === 16 || b.length === 32)) return { nextHop: formatIpv6(b, 0), nextHopLocal: b.length === 32 ? formatIpv6(b, 16) : undefined };
  if (afi === Afi.Ipv6 && b.length === 16) return { nextHop: formatIpv6(b, 0) };
  if (afi === Afi.Ipv6 && b.length === 32) return { nextHop: formatIpv6(b, 0), nextHopLocal: formatIpv6(b, 16) };
  return undefined;
}

/**
 * A session's last attribute field and its decode: a peer sends run after run of UPDATEs
 * with one attribute set (a full table at a few prefixes per UPDATE is 200,000 of them),
 * and decoding the same bytes again made the same attributes again, at some 300 bytes of
 * garbage each. An UPDATE whose attribute field is byte for byte the remembered one, under
 * the same SessionOptions object (a new session has a new one), gets the remembered
 * PathAttributes object, shared as the receiver's attribute cache already shares it.
 * Only a field that decoded cleanly, without MP attributes (their NLRI differ per UPDATE),
 * and with ORIGIN, AS_PATH and NEXT_HOP present (so that no missing-attribute rule could
 * apply to the next UPDATE's NLRI) is remembered; any other UPDATE is decoded in full.
 */
export class AttrMemo {
  /** a copy of the attribute field (the DecodedUpdate's attrBytes on a hit: its identity says "same set as before") */
  bytes: Uint8Array | undefined = undefined;
  hash = 0;
  options: SessionOptions | undefined = undefined;
  attrs: PathAttributes | undefined = undefined;
  /** the Update of a hit without per-prefix text or path identifiers: one object for them all */
  shared: Update | undefined = undefined;

  clear(): void {
    this.bytes = undefined;
    this.options = undefined;
    this.attrs = undefined;
    this.shared = undefined;
  }
}

/** No entries: what an UPDATE's empty lists share (never written to: frozen, so that a write throws). */
const NONE: string[] = Object.freeze([]) as unknown as string[];
const NO_CODES: number[] = Object.freeze([]) as unknown as number[];

/** Whether b[start..start + m.length) equals m. */
function sameBytes(b: Uint8Array, start: number, m: Uint8Array): boolean {
  for (let i = 0; i < m.length; i++) if (b[start + i] !== m[i]) return false;
  return true;
}

/** Origin, AS_PATH and NEXT_HOP seen: the bits of `seen0` that make a set complete for NLRI. */
const COMPLETE = (1 << AttrType.Origin) | (1 << AttrType.AsPath) | (1 << AttrType.NextHop);

/**
 * Decode an UPDATE body (after the header). Never throws. With `memo` (a session's), an
 * attribute field equal to the last one remembered there is not decoded again (AttrMemo).
 */
export function decodeUpdate(body: Uint8Array, o: SessionOptions, memo?: AttrMemo): DecodedUpdate | NotifyError {
  const len = body.length;
  if (len < 4) return updateError(UpdateSubcode.MalformedAttributeList, 'UPDATE shorter than its length fields');
  const wlen = (body[0]! << 8) | body[1]!;
  if (2 + wlen + 2 > len) return updateError(UpdateSubcode.MalformedAttributeList, `withdrawn routes length ${wlen} overruns the message`);
  const alen = (body[2 + wlen]! << 8) | body[3 + wlen]!;
  const aStart = 4 + wlen;
  const aEnd = aStart + alen;
  if (aEnd > len) return updateError(UpdateSubcode.MalformedAttributeList, `total path attribute length ${alen} overruns the message`);

  const v4AddPath = o.addPathRx.size > 0 && o.addPathRx.has('1/1');
  // a receiving session takes IPv4 prefixes as values; tools and tests as text (empty fields share one empty list)
  let v4: { withdrawn: number[]; nlri: number[] } | undefined;
  const withdrawn: string[] = o.prefixCodes || !wlen ? NONE : [];
  const withdrawnIds = v4AddPath ? [] : undefined;
  const nlri: string[] = o.prefixCodes || aEnd === len ? NONE : [];
  const nlriIds = v4AddPath ? [] : undefined;
  if (o.prefixCodes && !v4AddPath) {
    // each field's list made at its size (empty fields share one empty list)
    const w = wlen ? ipv4PrefixCodeList(body, 2, 2 + wlen) : NO_CODES;
    if (typeof w === 'string') return updateError(UpdateSubcode.InvalidNetworkField, `withdrawn routes: ${w}`);
    const r = aEnd < len ? ipv4PrefixCodeList(body, aEnd, len) : NO_CODES;
    if (typeof r === 'string') return updateError(UpdateSubcode.InvalidNetworkField, `NLRI: ${r}`);
    v4 = { withdrawn: w, nlri: r };
  } else {
    v4 = o.prefixCodes ? { withdrawn: [], nlri: [] } : undefined;
    let bad = v4 ? decodeIpv4PrefixCodes(body, 2, 2 + wlen, v4AddPath, v4.withdrawn, withdrawnIds) : decodePrefixes(body, 2, 2 + wlen, Afi.Ipv4, v4AddPath, withdrawn, withdrawnIds);
    if (bad) return updateError(UpdateSubcode.InvalidNetworkField, `withdrawn routes: ${bad}`);
    bad = v4 ? decodeIpv4PrefixCodes(body, aEnd, len, v4AddPath, v4.nlri, nlriIds) : decodePrefixes(body, aEnd, len, Afi.Ipv4, v4AddPath, nlri, nlriIds);
    if (bad) return updateError(UpdateSubcode.InvalidNetworkField, `NLRI: ${bad}`);
  }
  const nlriCount = v4 ? v4.nlri.length : nlri.length;
  const withdrawnCount = v4 ? v4.withdrawn.length : withdrawn.length;

  // the same attribute field as the session's last one: its decode again (AttrMemo)
  const mb = memo?.bytes;
  if (mb !== undefined && mb.length === alen && memo!.options === o && sameBytes(body, aStart, mb)) {
    const attrs = memo!.attrs!;
    let update = v4 && !v4AddPath ? memo!.shared : undefined;
    if (!update) {
      update = { withdrawn, withdrawnIds, attrs, nlri, nlriIds, mpReach: undefined, mpUnreach: undefined };
      if (v4 && !v4AddPath) memo!.shared = update;
    }
    const hit: DecodedUpdate = { kind: 'update', update, outcome: 'ok', problems: NONE, endOfRib: undefined, attrBytes: mb, attrHash: memo!.hash };
    if (v4) (hit as { v4?: typeof v4 }).v4 = v4;
    return hit;
  }

  const s: AttrScratch = { attrs: {} };
  const problems: string[] = [];
  const st = { worst: 'ok' as ErrorAction | 'ok' };
  const note = (action: ErrorAction, why: string) => {
    problems.push(`${why} (${action === 'withdraw' ? 'treat-as-withdraw' : action === 'discard' ? 'attribute discarded' : 'session reset'})`);
    if (SEVERITY[action] > SEVERITY[st.worst]) st.worst = action;
  };
  let seen0 = 0; // bitmap of types 0..31 seen, for duplicate detection
  let seenHigh: Set<number> | undefined;
  let mpReach: MpReach | undefined;
  let mpUnreach: MpUnreach | undefined;
  let sawMpReach = false;
  let sawMpUnreach = false;

  /** where MP attributes sit in the field: they hold NLRI, so the attribute key leaves them out */
  const mpRanges: number[] = [];
  let i = aStart;
  while (i < aEnd) {
    // RFC 7606 section 4: an attribute header or length that overruns the field makes the
    // rest unparseable; treat-as-withdraw, and the total length still locates the NLRI
    if (i + 3 > aEnd) {
      note('withdraw', 'truncated attribute header');
      break;
    }
    const flags = body[i]!;
    const type = body[i + 1]!;
    const ext = (flags & AttrFlag.ExtendedLength) !== 0;
    if (ext && i + 4 > aEnd) {
      note('withdraw', 'truncated attribute header');
      break;
    }
    const vlen = ext ? (body[i + 2]! << 8) | body[i + 3]! : body[i + 2]!;
    const vStart = i + (ext ? 4 : 3);
    const vEnd = vStart + vlen;
    if (vEnd > aEnd) {
      if (type === AttrType.MpReach || type === AttrType.MpUnreach) {
        return updateError(UpdateSubcode.AttributeLengthError, `${attributeName(type)} overruns the attribute field`);
      }
      note('withdraw', `${attributeName(type)} length ${vlen} overruns the attribute field`);
      break;
    }
    const v = body.subarray(vStart, vEnd);
    const attrStart = i;
    i = vEnd;
    if (type === AttrType.MpReach || type === AttrType.MpUnreach) mpRanges.push(attrStart, vEnd);

    // duplicates (RFC 7606 section 3.g): MP attributes reset, the rest keep the first
    let dup: boolean;
    if (type < 32) {
      dup = (seen0 & (1 << type)) !== 0;
      seen0 |= 1 << type;
    } else {
      seenHigh ??= new Set();
      dup = seenHigh.has(type);
      seenHigh.add(type);
    }
    if (dup) {
      if (type === AttrType.MpReach || type === AttrType.MpUnreach) return updateError(UpdateSubcode.MalformedAttributeList, `duplicate ${attributeName(type)}`);
      note('discard', `duplicate ${attributeName(type)}`);
      continue;
    }

    const d = ATTRIBUTES[type];
    if (!d) {
      if ((flags & AttrFlag.Optional) === 0) {
        return updateError(UpdateSubcode.UnrecognizedWellKnownAttribute, `unrecognized well-known attribute ${type}`, body.slice(vStart - (ext ? 4 : 3), vEnd));
      }
      if (flags & AttrFlag.Transitive) {
        (s.attrs.unknown ??= []).push({ flags: flags & ~AttrFlag.ExtendedLength, type, value: v.slice() });
      }
      continue; // unknown optional non-transitive: quietly ignored
    }
    if ((flags & (AttrFlag.Optional | AttrFlag.Transitive)) !== d.flags) {
      if (d.onError === 'reset') return updateError(UpdateSubcode.AttributeFlagsError, `${d.name} flags 0x${flags.toString(16)}`);
      note(d.onError, `${d.name} flags 0x${flags.toString(16)}`);
      continue;
    }
    if (type === AttrType.MpReach) {
      sawMpReach = true;
      const r = decodeMpReach(v, o);
      if (typeof r === 'string') return updateError(UpdateSubcode.OptionalAttributeError, `MP_REACH_NLRI: ${r}`);
      mpReach = r ?? undefined;
      continue;
    }
    if (type === AttrType.MpUnreach) {
      sawMpUnreach = true;
      const r = decodeMpUnreach(v, o);
      if (typeof r === 'string') return updateError(UpdateSubcode.OptionalAttributeError, `MP_UNREACH_NLRI: ${r}`);
      mpUnreach = r ?? undefined;
      continue;
    }
    const why = d.decode(v, o, s);
    if (why !== undefined) note(d.onError, `${d.name} ${why}`);
  }

  const a = s.attrs;
  if (!o.as4 && a.asPath && s.as4Path) a.asPath = mergeAs4Path(a.asPath, s.as4Path);
  if (!o.as4 && s.as4Aggregator && a.aggregator?.asn === 23456) a.aggregator = s.as4Aggregator;

  // missing well-known attributes (RFC 7606 section 3.d) matter only when something is announced
  const announcing = nlriCount > 0 || (mpReach !== undefined && mpReach.prefixes.length > 0);
  if (announcing) {
    if (a.origin === undefined && !(seen0 & (1 << AttrType.Origin))) note('withdraw', 'missing ORIGIN');
    if (a.asPath === undefined && !(seen0 & (1 << AttrType.AsPath))) note('withdraw', 'missing AS_PATH');
    if (nlriCount > 0 && a.nextHop === undefined && !(seen0 & (1 << AttrType.NextHop))) note('withdraw', 'missing NEXT_HOP');
  }
  if (st.worst === 'reset') return updateError(UpdateSubcode.MalformedAttributeList, problems.join('; '));

  const update: Update = { withdrawn, withdrawnIds, attrs: a, nlri, nlriIds, mpReach, mpUnreach };
  let endOfRib: { afi: number; safi: number } | undefined;
  if (len === 4) endOfRib = { afi: Afi.Ipv4, safi: Safi.Unicast };
  else if (withdrawnCount === 0 && nlriCount === 0 && !sawMpReach && sawMpUnreach && mpUnreach && mpUnreach.prefixes.length === 0 && alen === 3 + 3) {
    endOfRib = { afi: mpUnreach.afi, safi: mpUnreach.safi };
  }
  const clean = alen > 0 && st.worst === 'ok' && problems.length === 0;
  let attrBytes: Uint8Array | undefined;
  if (clean && memo && mpRanges.length === 0 && (seen0 & COMPLETE) === COMPLETE) {
    // remembered for the next UPDATE; the copy is this one's attrBytes too (a copy by hand: a Buffer's slice() is a view)
    attrBytes = new Uint8Array(alen);
    for (let k = 0; k < alen; k++) attrBytes[k] = body[aStart + k]!;
    memo.bytes = attrBytes;
    memo.hash = hashBytes(attrBytes);
    memo.options = o;
    memo.attrs = a;
    memo.shared = undefined;
  } else if (clean) attrBytes = attributeBytes(body, aStart, aEnd, mpRanges);
  const attrHash = attrBytes && (memo?.bytes === attrBytes ? memo.hash : hashBytes(attrBytes));
  const decoded: DecodedUpdate = { kind: 'update', update, outcome: st.worst === 'withdraw' ? 'treat-as-withdraw' : 'ok', problems: problems.length ? problems : NONE, endOfRib, attrBytes, attrHash };
  // set in place, not spread into a copy: one object per UPDATE
  if (v4) (decoded as { v4?: typeof v4 }).v4 = v4;
  return decoded;
}

/**
 * The attribute field without its MP attributes, plus the MP_REACH family and next hop: two
 * UPDATEs with equal bytes carry equal path attributes (their NLRI may differ). Without MP
 * attributes (IPv4 unicast) a view of the message; else a copy of the pieces.
 */
function attributeBytes(body: Uint8Array, start: number, end: number, mp: number[]): Uint8Array {
  if (mp.length === 0) return body.subarray(start, end);
  // the head first, after its length: the bytes tell head and attributes apart
  const head = mpReachHead(body, mp);
  const hl = head ? head[1] - head[0] : 0;
  let n = 1 + hl + end - start;
  for (let k = 0; k < mp.length; k += 2) n -= mp[k + 1]! - mp[k]!;
  const out = new Uint8Array(n);
  out[0] = hl;
  if (head) out.set(body.subarray(head[0], head[1]), 1);
  let at = start, o = 1 + hl;
  for (let k = 0; k < mp.length; k += 2) {
    out.set(body.subarray(at, mp[k]), o);
    o += mp[k]! - at;
    at = mp[k + 1]!;
  }
  out.set(body.subarray(at, end), o);
  return out;
}

/** Where the AFI, SAFI and next hop of the MP_REACH_NLRI among the MP ranges are (undefined when there is none). */
function mpReachHead(body: Uint8Array, mp: number[]): [number, number] | undefined {
  for (let k = 0; k < mp.length; k += 2) {
    const a = mp[k]!;
    const ext = (body[a]! & AttrFlag.ExtendedLength) !== 0;
    if (body[a + 1] !== AttrType.MpReach) continue;
    const v = a + (ext ? 4 : 3);
    const nhLen = body[v + 3] ?? 0;
    return [v, Math.min(mp[k + 1]!, v + 4 + nhLen)];
  }
  return undefined;
}

/** FNV-1a over bytes: the attribute cache's hash (a number key: no string made per UPDATE). */
export function hashBytes(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

function supportedFamily(afi: number, safi: number): boolean {
  return (afi === Afi.Ipv4 || afi === Afi.Ipv6) && (safi === Safi.Unicast || safi === Safi.LabeledUnicast || safi === Safi.MplsVpn);
}

/** Prefixes of any supported family into `out` (and labels/RDs for SAFI 4 and 128). */
function decodeFamilyPrefixes(v: Uint8Array, start: number, afi: number, safi: number, withdraw: boolean, o: SessionOptions) {
  const addPath = o.addPathRx.has(familyKey(afi, safi));
  const prefixes: string[] = [];
  const pathIds = addPath ? [] : undefined;
  if (safi === Safi.Unicast) {
    // a receiving session takes IPv6 unicast prefixes as values (lib/addr ipv6PrefixKey)
    const bad = decodePrefixes(v, start, v.length, afi, addPath, prefixes, pathIds, afi === Afi.Ipv6 && o.prefixCodes === true);
    return { bad, prefixes, pathIds };
  }
  const extras = { labels: [] as number[][], rds: safi === Safi.MplsVpn ? ([] as string[]) : undefined };
  const bad = decodeLabeledPrefixes(v, start, v.length, afi, safi === Safi.MplsVpn, withdraw, addPath, prefixes, pathIds, extras);
  return { bad, prefixes, pathIds, labels: extras.labels, rds: extras.rds };
}

/** undefined result value: a family we do not speak (ignored, as if absent). */
function decodeMpReach(v: Uint8Array, o: SessionOptions): MpReach | null | string {
  if (v.length < 5) return 'too short';
  const afi = (v[0]! << 8) | v[1]!;
  const safi = v[2]!;
  const nhLen = v[3]!;
  if (4 + nhLen + 1 > v.length) return `next hop length ${nhLen} overruns the attribute`;
  if (!supportedFamily(afi, safi)) return null;
  const nh = decodeMpNextHop(afi, safi === Safi.MplsVpn ? stripRds(v.subarray(4, 4 + nhLen)) : v.subarray(4, 4 + nhLen));
  if (!nh) return `next hop length ${nhLen} for AFI ${afi} SAFI ${safi}`;
  const reservedAt = 4 + nhLen; // one reserved octet (formerly SNPAs)
  const r = decodeFamilyPrefixes(v, reservedAt + 1, afi, safi, false, o);
  if (r.bad) return r.bad;
  const base = { afi, safi, nextHop: nh.nextHop, nextHopLocal: nh.nextHopLocal, prefixes: r.prefixes, pathIds: r.pathIds };
  return r.labels ? { ...base, labels: r.labels, rds: r.rds } : base;
}

function decodeMpUnreach(v: Uint8Array, o: SessionOptions): MpUnreach | null | string {
  if (v.length < 3) return 'too short';
  const afi = (v[0]! << 8) | v[1]!;
  const safi = v[2]!;
  if (!supportedFamily(afi, safi)) return null;
  const r = decodeFamilyPrefixes(v, 3, afi, safi, true, o);
  if (r.bad) return r.bad;
  const base = { afi, safi, prefixes: r.prefixes, pathIds: r.pathIds };
  return r.labels ? { ...base, labels: r.labels, rds: r.rds } : base;
}

/** A VPN next hop is preceded by an all-zero RD (RFC 4364 section 4.3.2; two with a link-local one). */
function stripRds(b: Uint8Array): Uint8Array {
  if (b.length === 12 || b.length === 24) return b.subarray(8);
  if (b.length === 48) {
    const out = new Uint8Array(32);
    out.set(b.subarray(8, 24));
    out.set(b.subarray(32, 48), 16);
    return out;
  }
  return b;
}

// ---------------------------------------------------------------- encoding

const V6_BYTES = new Uint8Array(16);

/** Append one prefix (with a path id when given) at `w`. Throws only on text the caller should never hold. */
function writePrefix(w: ByteWriter, prefix: string, pathId: number | undefined): void {
  if (pathId !== undefined) w.u32(pathId);
  const slash = prefix.lastIndexOf('/');
  const len = Number(prefix.slice(slash + 1));
  const n = (len + 7) >> 3;
  w.u8(len);
  if (prefix.indexOf(':') < 0) {
    const p = parseV4PrefixFast(prefix);
    if (p.len < 0) throw new Error(`bad IPv4 prefix '${prefix}'`);
    for (let k = 0; k < n; k++) w.u8((p.addr >>> (24 - 8 * k)) & 0xff);
  } else {
    V6_BYTES.set(parseIpv6(prefix.slice(0, slash)));
    for (let k = 0; k < n; k++) w.u8(V6_BYTES[k]!);
  }
}

function prefixBytes(prefix: string, pathId: number | undefined): number {
  const slash = prefix.lastIndexOf('/');
  return (pathId !== undefined ? 5 : 1) + ((Number(prefix.slice(slash + 1)) + 7) >> 3);
}

function writeMpNextHop(w: ByteWriter, nextHop: string, nextHopLocal?: string, vpn = false): void {
  const rd = vpn ? 8 : 0;
  const v4 = tryParseIpv4(nextHop);
  if (v4 !== undefined) {
    w.u8(4 + rd);
    if (vpn) w.bytes(new Uint8Array(8));
    w.u32(v4);
    return;
  }
  w.u8((nextHopLocal ? 32 : 16) + (nextHopLocal ? 2 * rd : rd));
  if (vpn) w.bytes(new Uint8Array(8));
  w.bytes(parseIpv6(nextHop));
  if (nextHopLocal) {
    if (vpn) w.bytes(new Uint8Array(8));
    w.bytes(parseIpv6(nextHopLocal));
  }
}

/** One labeled (and for VPN, route-distinguished) prefix; `withdraw` writes the 0x800000 label. */
function writeLabeledPrefix(w: ByteWriter, prefix: string, labels: readonly number[] | undefined, rd: string | undefined, pathId: number | undefined, withdraw: boolean): void {
  if (pathId !== undefined) w.u32(pathId);
  const slash = prefix.lastIndexOf('/');
  const len = Number(prefix.slice(slash + 1));
  const stack = withdraw ? [0] : labels?.length ? labels : [3];
  w.u8(len + 24 * stack.length + (rd !== undefined ? 64 : 0));
  stack.forEach((l, k) => {
    const v = withdraw ? 0x800000 : (l << 4) | (k === stack.length - 1 ? 1 : 0);
    w.u8((v >>> 16) & 255).u8((v >>> 8) & 255).u8(v & 255);
  });
  if (rd !== undefined) {
    const b = new Uint8Array(8);
    if (!writeRd(rd, b, 0)) throw new Error(`bad route distinguisher '${rd}'`);
    w.bytes(b);
  }
  const n = (len + 7) >> 3;
  const bytes = prefix.includes(':') ? parseIpv6(prefix.slice(0, slash)) : ipv4Bytes(prefix);
  for (let k = 0; k < n; k++) w.u8(bytes[k]!);
}

function ipv4Bytes(prefix: string): Uint8Array {
  const p = parseV4PrefixFast(prefix);
  return Uint8Array.of(p.addr >>> 24, (p.addr >>> 16) & 255, (p.addr >>> 8) & 255, p.addr & 255);
}

/**
 * Encode an attribute block for prefixes of `afi` (without MP_REACH, which packUpdates adds
 * per message): NEXT_HOP is written for IPv4 unicast only.
 */
export function encodeAttributeBlock(a: PathAttributes, afi: number, o: SessionOptions, nextHopAttribute = afi === Afi.Ipv4): Uint8Array {
  const w = new ByteWriter(128);
  encodeAttributes(a, o, w, (type, sw) => {
    if (type === AttrType.NextHop && nextHopAttribute && a.nextHop && tryParseIpv4(a.nextHop) !== undefined) {
      sw.u32(parseIpv4(a.nextHop));
      return true;
    }
    return false;
  });
  return w.finish().slice();
}

function finishMessage(w: ByteWriter): Uint8Array {
  const out = w.finish().slice();
  writeHeader(out, 0, out.length, MessageType.Update);
  return out;
}

/**
 * Build as many UPDATEs as needed to announce `prefixes` (of one family) with the attribute
 * block `block` (from encodeAttributeBlock). For IPv6 the next hop goes in MP_REACH.
 */
export function packUpdates(
  block: Uint8Array,
  afi: number,
  prefixes: readonly string[],
  pathIds: readonly number[] | undefined,
  o: SessionOptions,
  mpNextHop?: { nextHop: string; nextHopLocal?: string },
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const max = maxMessageLength(o);
  const addPath = o.addPathTx.has(familyKey(afi, Safi.Unicast));
  let i = 0;
  while (i < prefixes.length) {
    const before = i;
    const w = new ByteWriter(Math.min(max, HEADER_LENGTH + 64 + block.length + (prefixes.length - i) * 6));
    w.bytes(new Uint8Array(HEADER_LENGTH)).u16(0);
    if (afi === Afi.Ipv4) {
      w.u16(block.length).bytes(block);
      while (i < prefixes.length && w.pos + prefixBytes(prefixes[i]!, addPath ? pathIds?.[i] ?? 0 : undefined) <= max) {
        writePrefix(w, prefixes[i]!, addPath ? pathIds?.[i] ?? 0 : undefined);
        i++;
      }
    } else {
      i = writeMpReach(w, block, afi, Safi.Unicast, mpNextHop ?? { nextHop: '::' }, max, prefixes.length, i,
        (k) => prefixBytes(prefixes[k]!, addPath ? 0 : undefined),
        (k) => writePrefix(w, prefixes[k]!, addPath ? pathIds?.[k] ?? 0 : undefined));
    }
    if (i === before) throw new Error('attribute block too large for one message');
    out.push(finishMessage(w));
  }
  return out;
}

/** Build UPDATEs withdrawing `prefixes` of one family. */
export function packWithdrawals(afi: number, prefixes: readonly string[], pathIds: readonly number[] | undefined, o: SessionOptions): Uint8Array[] {
  const out: Uint8Array[] = [];
  const max = maxMessageLength(o);
  const addPath = o.addPathTx.has(familyKey(afi, Safi.Unicast));
  let i = 0;
  while (i < prefixes.length) {
    const w = new ByteWriter(Math.min(max, 4096));
    w.bytes(new Uint8Array(HEADER_LENGTH));
    if (afi === Afi.Ipv4) {
      const fillW = w.reserveLength(2);
      while (i < prefixes.length && w.pos + 2 + prefixBytes(prefixes[i]!, addPath ? 0 : undefined) <= max) {
        writePrefix(w, prefixes[i]!, addPath ? pathIds?.[i] ?? 0 : undefined);
        i++;
      }
      fillW();
      w.u16(0);
    } else {
      w.u16(0);
      const fillAttrs = w.reserveLength(2);
      const fillMp = openMpAttribute(w, AttrType.MpUnreach, afi, Safi.Unicast);
      while (i < prefixes.length && w.pos + prefixBytes(prefixes[i]!, addPath ? 0 : undefined) <= max) {
        writePrefix(w, prefixes[i]!, addPath ? pathIds?.[i] ?? 0 : undefined);
        i++;
      }
      fillMp();
      fillAttrs();
    }
    out.push(finishMessage(w));
  }
  return out;
}

/** Start an MP_REACH_NLRI/MP_UNREACH_NLRI attribute (extended length); the returned function fills its length in. */
function openMpAttribute(w: ByteWriter, type: number, afi: number, safi: number): () => void {
  w.u8(AttrFlag.Optional | AttrFlag.ExtendedLength).u8(type);
  const fill = w.reserveLength(2);
  w.u16(afi).u8(safi);
  return fill;
}

/**
 * The path attributes of one announcing UPDATE whose prefixes travel in MP_REACH_NLRI
 * (first, as most speakers put it): items from `i` while they fit; returns the next one.
 */
function writeMpReach(
  w: ByteWriter,
  block: Uint8Array,
  afi: number,
  safi: number,
  nh: { nextHop: string; nextHopLocal?: string },
  max: number,
  count: number,
  i: number,
  size: (k: number) => number,
  put: (k: number) => void,
): number {
  const fillAttrs = w.reserveLength(2);
  const fillMp = openMpAttribute(w, AttrType.MpReach, afi, safi);
  writeMpNextHop(w, nh.nextHop, nh.nextHopLocal, safi === Safi.MplsVpn);
  w.u8(0);
  const room = max - block.length;
  for (; i < count && w.pos + size(i) <= room; i++) put(i);
  fillMp();
  w.bytes(block);
  fillAttrs();
  return i;
}

/** A prefix of a labeled family as it goes out: labels (outermost first) and, for VPN, its RD. */
export interface LabeledPrefix {
  readonly prefix: string;
  readonly labels?: readonly number[];
  readonly rd?: string;
}

function labeledBytes(r: LabeledPrefix, withdraw: boolean, addPath: boolean): number {
  const slash = r.prefix.lastIndexOf('/');
  const labels = withdraw ? 1 : Math.max(1, r.labels?.length ?? 0);
  return (addPath ? 5 : 1) + 3 * labels + (r.rd !== undefined ? 8 : 0) + ((Number(r.prefix.slice(slash + 1)) + 7) >> 3);
}

/**
 * UPDATEs announcing labeled unicast (SAFI 4, RFC 8277) or VPN (SAFI 128, RFC 4364)
 * prefixes with one attribute block (encodeAttributeBlock with `nextHopAttribute` false):
 * everything travels in MP_REACH_NLRI, the VPN next hop behind an all-zero RD.
 */
export function packLabeledUpdates(
  block: Uint8Array,
  afi: number,
  safi: number,
  routes: readonly LabeledPrefix[],
  o: SessionOptions,
  mpNextHop: { nextHop: string; nextHopLocal?: string },
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const max = maxMessageLength(o);
  const addPath = o.addPathTx.has(familyKey(afi, safi));
  let i = 0;
  while (i < routes.length) {
    const before = i;
    const w = new ByteWriter(Math.min(max, HEADER_LENGTH + 96 + block.length + (routes.length - i) * 20));
    w.bytes(new Uint8Array(HEADER_LENGTH)).u16(0);
    i = writeMpReach(w, block, afi, safi, mpNextHop, max, routes.length, i,
      (k) => labeledBytes(routes[k]!, false, addPath),
      (k) => writeLabeledPrefix(w, routes[k]!.prefix, routes[k]!.labels, routes[k]!.rd, addPath ? 0 : undefined, false));
    if (i === before) throw new Error('attribute block too large for one message');
    out.push(finishMessage(w));
  }
  return out;
}

/** UPDATEs withdrawing labeled or VPN prefixes (MP_UNREACH_NLRI, label 0x800000). */
export function packLabeledWithdrawals(afi: number, safi: number, routes: readonly LabeledPrefix[], o: SessionOptions): Uint8Array[] {
  const out: Uint8Array[] = [];
  const max = maxMessageLength(o);
  const addPath = o.addPathTx.has(familyKey(afi, safi));
  let i = 0;
  while (i < routes.length) {
    const w = new ByteWriter(Math.min(max, 4096));
    w.bytes(new Uint8Array(HEADER_LENGTH)).u16(0);
    const fillAttrs = w.reserveLength(2);
    const fillMp = openMpAttribute(w, AttrType.MpUnreach, afi, safi);
    while (i < routes.length && w.pos + labeledBytes(routes[i]!, true, addPath) <= max) {
      const r = routes[i]!;
      writeLabeledPrefix(w, r.prefix, undefined, r.rd, addPath ? 0 : undefined, true);
      i++;
    }
    fillMp();
    fillAttrs();
    out.push(finishMessage(w));
  }
  return out;
}

/** End-of-RIB marker (RFC 4724 section 2) for a family. */
export function encodeEndOfRib(afi: number, safi: number): Uint8Array {
  if (afi === Afi.Ipv4 && safi === Safi.Unicast) {
    const out = new Uint8Array(HEADER_LENGTH + 4);
    writeHeader(out, 0, out.length, MessageType.Update);
    return out;
  }
  const out = new Uint8Array(HEADER_LENGTH + 4 + 6);
  writeHeader(out, 0, out.length, MessageType.Update);
  out.set([0, 0, 0, 6, AttrFlag.Optional, AttrType.MpUnreach, 3, afi >> 8, afi & 0xff, safi], HEADER_LENGTH);
  return out;
}

/** Encode one whole Update value (tests, small messages): everything in one message. */
export function encodeUpdate(u: Update, o: SessionOptions): Uint8Array {
  const w = new ByteWriter(256);
  w.bytes(new Uint8Array(HEADER_LENGTH));
  const fillW = w.reserveLength(2);
  u.withdrawn.forEach((p, k) => {
    writePrefix(w, p, u.withdrawnIds?.[k]);
  });
  fillW();
  const fillA = w.reserveLength(2);
  const hasAttrs = u.nlri.length > 0 || u.mpReach || Object.keys(u.attrs).length > 0;
  if (u.mpReach) {
    const m = u.mpReach;
    w.u8(AttrFlag.Optional | AttrFlag.ExtendedLength).u8(AttrType.MpReach);
    const fill = w.reserveLength(2);
    w.u16(m.afi).u8(m.safi);
    writeMpNextHop(w, m.nextHop, m.nextHopLocal, m.safi === Safi.MplsVpn);
    w.u8(0);
    if (m.safi === Safi.Unicast) m.prefixes.forEach((p, k) => {
    writePrefix(w, p, m.pathIds?.[k]);
  });
    else m.prefixes.forEach((p, k) => {
    writeLabeledPrefix(w, p, m.labels?.[k], m.rds?.[k], m.pathIds?.[k], false);
  });
    fill();
  }
  if (u.mpUnreach) {
    const m = u.mpUnreach;
    w.u8(AttrFlag.Optional | AttrFlag.ExtendedLength).u8(AttrType.MpUnreach);
    const fill = w.reserveLength(2);
    w.u16(m.afi).u8(m.safi);
    if (m.safi === Safi.Unicast) m.prefixes.forEach((p, k) => {
    writePrefix(w, p, m.pathIds?.[k]);
  });
    else m.prefixes.forEach((p, k) => {
    writeLabeledPrefix(w, p, undefined, m.rds?.[k], m.pathIds?.[k], true);
  });
    fill();
  }
  if (hasAttrs) w.bytes(encodeAttributeBlock(u.attrs, Afi.Ipv4, o));
  fillA();
  u.nlri.forEach((p, k) => {
    writePrefix(w, p, u.nlriIds?.[k]);
  });
  return finishMessage(w);
}
