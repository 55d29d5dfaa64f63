/**
 * A hand-written protobuf codec for the Program stream's ControllerMessage (proto/agent.proto),
 * byte-compatible with the generic one (checked both ways by codec.test.ts). Route batches
 * carry hundreds of thousands of routes a second; encoding and decoding them directly,
 * without protobufjs's per-field object conversion, keeps the controller and the agent
 * cheap per route. Decoding accepts packed and unpacked repeated scalars and skips unknown
 * fields, as protobuf requires. Route.destination (an IpPrefix) is read and written as
 * lib/addr's Prefix, and from columns as ipv4PrefixCode numbers: no prefix text on the way.
 */
import { ipv4OfPrefixCode, prefixCodeLength, type Prefix } from '../lib/addr.js';
import type { FilterActionName, InterfaceDriverName, PbBfdSessionUpdate, PbFilterPrefix, PbIpFilter, PbIpFilterTerm, PbPortRange, PbBridgeDomainUpdate, PbBridgeFilterTerm, PbBridgePort, PbControllerMessage, PbInterfaceUpdate, PbLabelUpdate, PbNexthop, PbNexthopSet, PbRoute, PbRouteBatch, RouteActionName } from './proto.js';

const ACTIONS: RouteActionName[] = ['FORWARD', 'DISCARD', 'REJECT', 'RECEIVE'];
const ACTION_NUM: Record<string, number> = { FORWARD: 0, DISCARD: 1, REJECT: 2, RECEIVE: 3 };
const DRIVERS: InterfaceDriverName[] = ['DRIVER_UNSPECIFIED', 'AF_PACKET', 'TAP', 'MEMORY', 'AF_XDP', 'MEMIF', 'LOOPBACK'];
const DRIVER_NUM: Record<string, number> = { DRIVER_UNSPECIFIED: 0, AF_PACKET: 1, TAP: 2, MEMORY: 3, AF_XDP: 4, MEMIF: 5, LOOPBACK: 6 };
const FILTER_ACTIONS: FilterActionName[] = ['FILTER_ACCEPT', 'FILTER_DISCARD', 'FILTER_REJECT'];

/** Bytes per packed route record (RouteBatch.packed_ipv4/6): address, length, 3-byte next-hop set reference */
export const PACKED_IPV4_RECORD = 8;
export const PACKED_IPV6_RECORD = 20;

export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

/** Appends protobuf fields to a growing buffer; nested messages reserve one length byte and widen it when needed. */
class Writer {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = Buffer.allocUnsafe(size);
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }

  varint(v: number): void {
    this.room(10);
    const b = this.buf;
    while (v > 0x7f) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v = v > 0xffffffff ? Math.floor(v / 128) : v >>> 7;
    }
    b[this.pos++] = v;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  uintField(field: number, v: number): void {
    if (!v) return;
    this.tag(field, 0);
    this.varint(v);
  }

  boolField(field: number, v: boolean | undefined): void {
    if (!v) return;
    this.tag(field, 0);
    this.varint(1);
  }

  string(field: number, s: string | undefined, always = false): void {
    if (!s && !always) return;
    const str = s ?? '';
    this.tag(field, 2);
    const n = str.length;
    if (n < 0x80) {
      // short text (prefixes, names): copy it byte by byte while checking it is ASCII; cheaper than Buffer.write per call
      this.room(n + 1);
      const b = this.buf;
      const at = this.pos;
      b[at] = n;
      let i = 0;
      for (; i < n; i++) {
        const c = str.charCodeAt(i);
        if (c > 0x7f) break;
        b[at + 1 + i] = c;
      }
      if (i === n) {
        this.pos = at + 1 + n;
        return;
      }
    }
    let ascii = true;
    for (let i = 0; i < n; i++) if (str.charCodeAt(i) > 0x7f) { ascii = false; break; }
    if (ascii) {
      this.varint(n);
      this.room(n);
      this.buf.write(str, this.pos, n, 'latin1');
      this.pos += n;
    } else {
      const len = Buffer.byteLength(str);
      this.varint(len);
      this.room(len);
      this.buf.write(str, this.pos, len, 'utf8');
      this.pos += len;
    }
  }

  /**
   * A Route (field 3 of RouteBatch) with an ASCII prefix and a next-hop set reference below
   * 2^14 (0: delete), in one pass without a closure; false (nothing written) otherwise.
   */
  shortRoute(prefix: string, ref: number): boolean {
    const n = prefix.length;
    if (n === 0 || n > 100 || ref >= 0x4000) return false;
    const tail = ref === 0 ? 2 : ref < 0x80 ? 2 : 3;
    this.room(n + tail + 4);
    const b = this.buf;
    const at = this.pos;
    for (let i = 0; i < n; i++) {
      const c = prefix.charCodeAt(i);
      if (c > 0x7f) return false;
      b[at + 4 + i] = c;
    }
    b[at] = 0x1a; // field 3, length-delimited
    b[at + 1] = 2 + n + tail;
    b[at + 2] = 0x0a; // field 1 (prefix), length-delimited
    b[at + 3] = n;
    const p = writeRouteRef(b, at + 4 + n, ref);
    this.pos = p;
    return true;
  }

  /** An IpPrefix message (address bytes, length) as field `field`. */
  ipPrefix(field: number, addr: Uint8Array, len: number): void {
    const n = addr.length;
    if (n > 64) throw new CodecError(`prefix address of ${n} bytes`);
    const inner = 2 + n + (len ? 1 + varintSize(len) : 0);
    this.tag(field, 2);
    this.room(inner + 1);
    const b = this.buf;
    let p = this.pos;
    b[p++] = inner;
    b[p++] = 0x0a; // address, length-delimited
    b[p++] = n;
    for (let i = 0; i < n; i++) b[p++] = addr[i]!;
    this.pos = p;
    if (len) {
      this.tag(2, 0);
      this.varint(len);
    }
  }

  /**
   * A Route (field 3 of RouteBatch) whose destination is an IPv4 prefix given as an
   * ipv4PrefixCode, with a next-hop set reference below 2^14 (0: delete), in one pass;
   * false (nothing written) for a larger reference.
   */
  codeRoute(code: number, ref: number): boolean {
    if (ref >= 0x4000) return false;
    const len = prefixCodeLength(code);
    const v = ipv4OfPrefixCode(code);
    const refBytes = ref === 0 || ref < 0x80 ? 2 : 3;
    const dest = 8 + (len ? 2 : 0); // 32 n 0a 04 a b c d [10 len]
    this.room(2 + refBytes + dest);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 0x1a; // field 3, length-delimited
    b[p++] = refBytes + dest;
    p = writeRouteRef(b, p, ref);
    b[p++] = 0x32; // field 6 (destination), length-delimited
    b[p++] = dest - 2;
    b[p++] = 0x0a; // address
    b[p++] = 4;
    b[p++] = v >>> 24;
    b[p++] = (v >>> 16) & 255;
    b[p++] = (v >>> 8) & 255;
    b[p++] = v & 255;
    if (len) {
      b[p++] = 0x10; // length
      b[p++] = len;
    }
    this.pos = p;
    return true;
  }

  /** A bytes field. */
  bytes(field: number, v: Uint8Array): void {
    this.tag(field, 2);
    this.varint(v.length);
    this.room(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** Start a length-delimited field; call the returned function when its content is written. */
  begin(field: number): () => void {
    this.tag(field, 2);
    this.room(1);
    const at = this.pos++;
    return () => {
      const len = this.pos - at - 1;
      if (len < 0x80) {
        this.buf[at] = len;
        return;
      }
      let extra = 0;
      for (let v = len >>> 7; v > 0; v >>>= 7) extra++;
      this.room(extra);
      this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
      this.pos += extra;
      let v = len;
      let p = at;
      while (v > 0x7f) {
        this.buf[p++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.buf[p] = v;
    };
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** A Route's delete flag (ref 0) or its nexthop_set (ref < 2^14) at `p`; returns the position after it. */
function writeRouteRef(b: Buffer, p: number, ref: number): number {
  if (ref === 0) {
    b[p++] = 0x10; // field 2 (delete) = true
    b[p++] = 1;
  } else {
    b[p++] = 0x28; // field 5 (nexthop_set)
    if (ref < 0x80) b[p++] = ref;
    else {
      b[p++] = (ref & 0x7f) | 0x80;
      b[p++] = ref >>> 7;
    }
  }
  return p;
}

function varintSize(v: number): number {
  let n = 1;
  while (v > 0x7f) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeNexthop(w: Writer, field: number, nh: PbNexthop): void {
  const end = w.begin(field);
  w.string(1, nh.ip);
  w.string(2, nh.interface);
  if (nh.serviceLabel !== undefined && nh.serviceLabel !== null) {
    w.tag(3, 0);
    w.varint(nh.serviceLabel);
  }
  const labels = nh.transportLabels;
  if (labels?.length) {
    const e = w.begin(4);
    for (const l of labels) w.varint(l);
    e();
  }
  w.string(5, nh.tunnelSource);
  end();
}

/** RouteBatch.nexthop_sets */
function writeSets(w: Writer, sets: PbNexthopSet[]): void {
  for (const s of sets) {
    const e = w.begin(2);
    w.uintField(1, ACTION_NUM[s.action ?? 'FORWARD'] ?? 0);
    for (const nh of s.nexthops ?? []) writeNexthop(w, 2, nh);
    e();
  }
}

function writeRoute(w: Writer, r: PbRoute): void {
  const end = w.begin(3);
  w.string(1, r.prefix);
  w.boolField(2, r.delete);
  w.uintField(3, ACTION_NUM[r.action ?? 'FORWARD'] ?? 0);
  for (const nh of r.nexthops ?? []) writeNexthop(w, 4, nh);
  w.uintField(5, r.nexthopSet ?? 0);
  if (r.destination) w.ipPrefix(6, r.destination.addr, r.destination.len);
  end();
}

function writeBatch(w: Writer, b: PbRouteBatch): void {
  const end = w.begin(6);
  w.string(1, b.vrf);
  writeSets(w, b.nexthopSets ?? []);
  for (const r of b.routes) writeRoute(w, r);
  if (b.packedIpv4?.length) w.bytes(100, b.packedIpv4);
  if (b.packedIpv6?.length) w.bytes(101, b.packedIpv6);
  end();
}

function writeInterface(w: Writer, m: PbInterfaceUpdate): void {
  const end = w.begin(5);
  w.string(1, m.name);
  w.boolField(2, m.delete);
  w.uintField(3, DRIVER_NUM[m.driver ?? 'DRIVER_UNSPECIFIED'] ?? 0);
  w.string(4, m.vrf);
  for (const a of m.addresses ?? []) w.string(5, a, true);
  w.uintField(6, m.mtu ?? 0);
  w.uintField(7, m.vlan ?? 0);
  w.string(8, m.mac);
  w.string(20, m.memifSocket);
  w.uintField(21, m.memifId ?? 0);
  w.string(22, m.memifSecret);
  if (m.bridge) {
    const b = m.bridge;
    const e = w.begin(10);
    w.uintField(1, b.mode === 'TRUNK' ? 1 : 0);
    w.uintField(2, b.vlanId ?? 0);
    for (const v of b.vlanIds ?? []) { w.tag(3, 0); w.varint(v); }
    w.uintField(4, b.nativeVlanId ?? 0);
    w.boolField(5, b.noLocalSwitching);
    w.uintField(6, b.stormControlKbps ?? 0);
    w.uintField(7, b.stormControlBurst ?? 0);
    for (const t of b.inputFilter ?? []) writeBridgeFilterTerm(w, 8, t);
    for (const t of b.outputFilter ?? []) writeBridgeFilterTerm(w, 40, t);
    w.uintField(41, b.tpid ?? 0);
    w.boolField(42, b.dot1qTunneling);
    w.string(160, b.inputFilterName);
    w.string(161, b.outputFilterName);
    e();
  }
  w.boolField(11, m.irb);
  for (const f of m.filters ?? []) writeIpFilter(w, f);
  for (const n of m.staticNeighbors ?? []) w.string(110, n, true);
  end();
}

/** A BridgeFilterTerm as field `field` of BridgePort */
function writeBridgeFilterTerm(w: Writer, field: number, t: PbBridgeFilterTerm): void {
  const te = w.begin(field);
  w.string(1, t.name);
  w.string(2, t.sourceMac);
  w.string(3, t.destinationMac);
  w.uintField(4, t.vlanId ?? 0);
  w.uintField(5, t.etherType ?? 0);
  w.boolField(6, t.discard);
  w.string(7, t.count);
  w.string(40, t.ipSource);
  w.string(41, t.ipDestination);
  w.uintField(42, t.ipProtocol ?? 0);
  if (t.sourcePort) writePortRange(w, 43, t.sourcePort);
  if (t.destinationPort) writePortRange(w, 44, t.destinationPort);
  w.uintField(90, t.ipVersion ?? 0);
  w.uintField(91, t.ipv6NextHeader ?? 0);
  if (t.icmpType) writePortRange(w, 92, t.icmpType);
  te();
}

function writePortRange(w: Writer, field: number, r: PbPortRange): void {
  const re = w.begin(field);
  w.uintField(1, r.low ?? 0);
  w.uintField(2, r.high ?? 0);
  re();
}

/** InterfaceUpdate.filters (field 40): an IP firewall filter and its terms */
function writeIpFilter(w: Writer, f: PbIpFilter): void {
  const end = w.begin(40);
  w.string(1, f.name);
  w.uintField(2, f.family ?? 0);
  w.boolField(3, f.output);
  for (const t of f.terms ?? []) {
    const te = w.begin(4);
    w.string(1, t.name);
    const prefixes = (field: number, list: PbFilterPrefix[] | undefined) => {
      for (const p of list ?? []) {
        const pe = w.begin(field);
        w.string(1, p.prefix);
        w.boolField(2, p.except);
        pe();
      }
    };
    prefixes(2, t.source);
    prefixes(3, t.destination);
    for (const v of t.protocols ?? []) { w.tag(4, 0); w.varint(v); }
    const ranges = (field: number, list: PbPortRange[] | undefined) => {
      for (const r of list ?? []) writePortRange(w, field, r);
    };
    ranges(5, t.sourcePorts);
    ranges(6, t.destinationPorts);
    ranges(7, t.icmpTypes);
    w.uintField(8, FILTER_ACTIONS.indexOf(t.action ?? 'FILTER_ACCEPT'));
    w.string(9, t.count);
    te();
  }
  end();
}

/** ControllerMessage.bfd_session (field 30) */
function writeBfdSession(w: Writer, m: PbBfdSessionUpdate): void {
  const end = w.begin(30);
  w.string(1, m.peer);
  w.string(2, m.local);
  w.string(3, m.interface);
  w.boolField(4, m.multihop);
  w.boolField(5, m.delete);
  w.uintField(6, m.desiredMinTxUs ?? 0);
  w.uintField(7, m.requiredMinRxUs ?? 0);
  w.uintField(8, m.detectMult ?? 0);
  w.boolField(9, m.adminDown);
  for (const c of m.clients ?? []) w.string(10, c, true);
  w.uintField(31, m.authType ?? 0);
  w.uintField(32, m.authKeyId ?? 0);
  w.string(33, m.authKey);
  w.uintField(34, m.minTtl ?? 0);
  end();
}

function readBfdSession(r: Reader, start: number, end: number): PbBfdSessionUpdate {
  const x = new Reader(r.buf, start, end);
  const m: PbBfdSessionUpdate = { peer: '', local: '', interface: '', multihop: false, delete: false, desiredMinTxUs: 0, requiredMinRxUs: 0, detectMult: 0, adminDown: false, clients: [], authType: 0, authKeyId: 0, authKey: '', minTtl: 0 };
  while (x.pos < x.end) {
    const t = x.varint();
    const f = t >>> 3, wire = t & 7;
    if (f === 1 && wire === 2) m.peer = x.string();
    else if (f === 2 && wire === 2) m.local = x.string();
    else if (f === 3 && wire === 2) m.interface = x.string();
    else if (f === 4 && wire === 0) m.multihop = x.varint() !== 0;
    else if (f === 5 && wire === 0) m.delete = x.varint() !== 0;
    else if (f === 6 && wire === 0) m.desiredMinTxUs = x.varint();
    else if (f === 7 && wire === 0) m.requiredMinRxUs = x.varint();
    else if (f === 8 && wire === 0) m.detectMult = x.varint();
    else if (f === 9 && wire === 0) m.adminDown = x.varint() !== 0;
    else if (f === 10 && wire === 2) m.clients!.push(x.string());
    else if (f === 31 && wire === 0) m.authType = x.varint();
    else if (f === 32 && wire === 0) m.authKeyId = x.varint();
    else if (f === 33 && wire === 2) m.authKey = x.string();
    else if (f === 34 && wire === 0) m.minTtl = x.varint();
    else x.skip(wire);
  }
  return m;
}

export function encodeControllerMessage(m: PbControllerMessage): Buffer {
  const w = new Writer(m.routes ? 64 + m.routes.routes.length * 24 : 128);
  w.uintField(1, m.seq);
  if (m.resyncBegin) {
    const e = w.begin(2);
    w.string(1, m.resyncBegin.controllerId);
    e();
  } else if (m.resyncEnd) {
    w.begin(3)();
  } else if (m.vrf) {
    const e = w.begin(4);
    w.string(1, m.vrf.name);
    w.boolField(2, m.vrf.delete);
    e();
  } else if (m.interface) {
    writeInterface(w, m.interface);
  } else if (m.routes) {
    writeBatch(w, m.routes);
  } else if (m.bfdSession) {
    writeBfdSession(w, m.bfdSession);
  } else if (m.label) {
    const e = w.begin(7);
    w.uintField(1, m.label.label);
    w.boolField(2, m.label.delete);
    w.string(3, m.label.vrf);
    for (const nh of m.label.nexthops ?? []) writeNexthop(w, 4, nh);
    e();
  } else if (m.bridgeDomain) {
    const b = m.bridgeDomain;
    const e = w.begin(20);
    w.string(1, b.name);
    w.boolField(2, b.delete);
    w.uintField(3, b.vlanId ?? 0);
    w.string(4, b.irb);
    w.uintField(5, b.macTableSize ?? 0);
    w.uintField(6, b.interfaceMacLimit ?? 0);
    if (b.interfaceMacLimitAction) w.string(80, b.interfaceMacLimitAction);
    if (b.macTableSizeAction) w.string(90, b.macTableSizeAction);
    e();
  } else if (m.l2Settings) {
    const e = w.begin(21);
    w.uintField(1, m.l2Settings.macAgingSeconds ?? 0);
    e();
  }
  return w.finish();
}

/**
 * A RouteBatch message from columns, without a route object per route: `refs[i]` is the
 * 1-based index of route i's next-hop set in `sets`, or 0 to delete the route.
 */
export function encodeRouteColumns(seq: number, vrf: string, sets: PbNexthopSet[], prefixes: string[], refs: number[]): Buffer {
  const w = new Writer(64 + prefixes.length * 24);
  w.uintField(1, seq);
  const end = w.begin(6);
  w.string(1, vrf);
  writeSets(w, sets);
  for (let i = 0; i < prefixes.length; i++) {
    const prefix = prefixes[i]!;
    const ref = refs[i]!;
    if (w.shortRoute(prefix, ref)) continue;
    const e = w.begin(3);
    w.string(1, prefix);
    if (ref === 0) w.boolField(2, true);
    else w.uintField(5, ref);
    e();
  }
  end();
  return w.finish();
}

/**
 * A RouteBatch from columns like encodeRouteColumns, the prefixes as values (Route.destination):
 * a number is an IPv4 prefix as lib/addr's ipv4PrefixCode, anything else a Prefix. This is
 * what the FIB export sends to an agent that announces "prefix-bytes".
 */
export function encodeRouteDestinations(seq: number, vrf: string, sets: PbNexthopSet[], destinations: readonly (number | Prefix)[], refs: number[]): Buffer {
  const w = new Writer(64 + destinations.length * 16);
  w.uintField(1, seq);
  const end = w.begin(6);
  w.string(1, vrf);
  writeSets(w, sets);
  for (let i = 0; i < destinations.length; i++) {
    const d = destinations[i]!;
    const ref = refs[i]!;
    if (typeof d === 'number' && w.codeRoute(d, ref)) continue;
    const e = w.begin(3);
    if (ref === 0) w.boolField(2, true);
    else w.uintField(5, ref);
    if (typeof d === 'number') w.ipPrefix(6, ipv4Bytes(ipv4OfPrefixCode(d)), prefixCodeLength(d));
    else w.ipPrefix(6, d.addr, d.len);
    e();
  }
  end();
  return w.finish();
}

/** A packed route's next-hop set reference: 3 bytes, big-endian. */
function putPackedRef(b: Uint8Array, p: number, ref: number): void {
  if (ref > 0xffffff) throw new CodecError(`next-hop set ${ref} does not fit a packed route (at most 2^24 - 1)`);
  b[p] = ref >>> 16;
  b[p + 1] = (ref >>> 8) & 255;
  b[p + 2] = ref & 255;
}

/**
 * A RouteBatch from columns like encodeRouteDestinations, the routes as fixed-width records in
 * packed_ipv4 / packed_ipv6 (proto/agent.proto): 8 bytes per IPv4 route, no message per route.
 * What the FIB export sends to an agent that announces "packed-routes".
 */
export function encodeRoutesPacked(seq: number, vrf: string, sets: PbNexthopSet[], destinations: readonly (number | Prefix)[], refs: number[]): Buffer {
  const n4 = countIpv4(destinations);
  const n6 = destinations.length - n4;
  const w = new Writer(64 + sets.length * 32 + n4 * PACKED_IPV4_RECORD + n6 * PACKED_IPV6_RECORD + 16);
  w.uintField(1, seq);
  const end = w.begin(6);
  w.string(1, vrf);
  writeSets(w, sets);
  if (n4) {
    w.tag(100, 2);
    w.varint(n4 * PACKED_IPV4_RECORD);
    w.room(n4 * PACKED_IPV4_RECORD);
    w.pos = putPackedIpv4(w.buf, w.pos, destinations, refs);
  }
  if (n6) {
    w.tag(101, 2);
    w.varint(n6 * PACKED_IPV6_RECORD);
    w.room(n6 * PACKED_IPV6_RECORD);
    w.pos = putPackedIpv6(w.buf, w.pos, destinations, refs);
  }
  end();
  return w.finish();
}

/**
 * The same batch as encodeRoutesPacked, as the decoded message it would become: the records
 * in packed_ipv4 / packed_ipv6 of their own (no protobuf around them). For an agent in the
 * controller's process (`cnr start`), which takes the message without gRPC.
 */
export function packRoutes(vrf: string, sets: PbNexthopSet[], destinations: readonly (number | Prefix)[], refs: number[]): PbRouteBatch {
  const n4 = countIpv4(destinations);
  const n6 = destinations.length - n4;
  const b: PbRouteBatch = { vrf, nexthopSets: sets, routes: [] };
  if (n4) putPackedIpv4((b.packedIpv4 = new Uint8Array(n4 * PACKED_IPV4_RECORD)), 0, destinations, refs);
  if (n6) putPackedIpv6((b.packedIpv6 = new Uint8Array(n6 * PACKED_IPV6_RECORD)), 0, destinations, refs);
  return b;
}

function countIpv4(destinations: readonly (number | Prefix)[]): number {
  let n4 = 0;
  for (let i = 0; i < destinations.length; i++) if (typeof destinations[i] === 'number') n4++;
  return n4;
}

/** The IPv4 destinations' records written from `p` on (room made by the caller); returns the end. */
function putPackedIpv4(b: Uint8Array, p: number, destinations: readonly (number | Prefix)[], refs: number[]): number {
  for (let i = 0; i < destinations.length; i++) {
    const d = destinations[i]!;
    if (typeof d !== 'number') continue;
    const v = ipv4OfPrefixCode(d);
    b[p] = v >>> 24;
    b[p + 1] = (v >>> 16) & 255;
    b[p + 2] = (v >>> 8) & 255;
    b[p + 3] = v & 255;
    b[p + 4] = prefixCodeLength(d);
    putPackedRef(b, p + 5, refs[i]!);
    p += PACKED_IPV4_RECORD;
  }
  return p;
}

/** The IPv6 destinations' records, as putPackedIpv4. */
function putPackedIpv6(b: Uint8Array, p: number, destinations: readonly (number | Prefix)[], refs: number[]): number {
  for (let i = 0; i < destinations.length; i++) {
    const d = destinations[i]!;
    if (typeof d === 'number') continue;
    if (d.addr.length !== 16) throw new CodecError(`packed IPv6 route with a ${d.addr.length}-byte address`);
    b.set(d.addr, p);
    b[p + 16] = d.len;
    putPackedRef(b, p + 17, refs[i]!);
    p += PACKED_IPV6_RECORD;
  }
  return p;
}

function ipv4Bytes(v: number): Uint8Array {
  return Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
}

/** Reads protobuf fields from a byte range. */
class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new CodecError('truncated varint');
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    throw new CodecError('varint longer than 10 bytes');
  }

  /** [start, end) of a length-delimited field's content */
  span(): number {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new CodecError('length-delimited field runs past its message');
    this.pos = start + len;
    return start;
  }

  string(): string {
    const start = this.span();
    const b = this.buf;
    let ascii = true;
    for (let i = start; i < this.pos; i++) if (b[i]! > 0x7f) { ascii = false; break; }
    return b.toString(ascii ? 'latin1' : 'utf8', start, this.pos);
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.span();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new CodecError(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) throw new CodecError('truncated field');
  }

  /** repeated uint32, packed or not */
  uints(wire: number, out: number[]): void {
    if (wire === 0) {
      out.push(this.varint());
      return;
    }
    const start = this.span();
    const inner = new Reader(this.buf, start, this.pos);
    while (inner.pos < inner.end) out.push(inner.varint());
  }
}

function readNexthop(r: Reader, start: number, end: number): PbNexthop {
  const x = new Reader(r.buf, start, end);
  const nh: PbNexthop = { ip: '', interface: '', transportLabels: [] };
  while (x.pos < x.end) {
    const t = x.varint();
    const f = t >>> 3, wire = t & 7;
    if (f === 1 && wire === 2) nh.ip = x.string();
    else if (f === 2 && wire === 2) nh.interface = x.string();
    else if (f === 3 && wire === 0) nh.serviceLabel = x.varint();
    else if (f === 4) x.uints(wire, nh.transportLabels!);
    else if (f === 5 && wire === 2) nh.tunnelSource = x.string();
    else x.skip(wire);
  }
  return nh;
}

function readSet(r: Reader, start: number, end: number): PbNexthopSet {
  const x = new Reader(r.buf, start, end);
  const s: PbNexthopSet = { action: 'FORWARD', nexthops: [] };
  while (x.pos < x.end) {
    const t = x.varint();
    const f = t >>> 3, wire = t & 7;
    if (f === 1 && wire === 0) s.action = ACTIONS[x.varint()] ?? s.action;
    else if (f === 2 && wire === 2) {
      const st = x.span();
      s.nexthops!.push(readNexthop(x, st, x.pos));
    } else x.skip(wire);
  }
  return s;
}

/** An IpPrefix as a Prefix (the address copied: nothing decoded aliases the receive buffer), unvalidated. */
function readIpPrefix(r: Reader, start: number, end: number): Prefix {
  const x = new Reader(r.buf, start, end);
  let addr = EMPTY;
  let len = 0;
  while (x.pos < x.end) {
    const t = x.varint();
    if (t === 0x0a) {
      const st = x.span();
      const n = x.pos - st;
      addr = new Uint8Array(n);
      for (let i = 0; i < n; i++) addr[i] = x.buf[st + i]!;
    } else if (t === 0x10) len = x.varint();
    else x.skip(t & 7);
  }
  return { family: addr.length === 16 ? 6 : 4, addr, len };
}

const EMPTY = new Uint8Array(0);

function readRoute(r: Reader, start: number, end: number): PbRoute {
  const x = new Reader(r.buf, start, end);
  const route: PbRoute = { prefix: '', destination: null };
  while (x.pos < x.end) {
    const t = x.varint();
    const f = t >>> 3, wire = t & 7;
    if (f === 1 && wire === 2) route.prefix = x.string();
    else if (f === 2 && wire === 0) route.delete = x.varint() !== 0;
    else if (f === 3 && wire === 0) route.action = ACTIONS[x.varint()] ?? 'FORWARD';
    else if (f === 4 && wire === 2) {
      const st = x.span();
      (route.nexthops ??= []).push(readNexthop(x, st, x.pos));
    } else if (f === 5 && wire === 0) route.nexthopSet = x.varint();
    else if (f === 6 && wire === 2) {
      const st = x.span();
      route.destination = readIpPrefix(x, st, x.pos);
    } else x.skip(wire);
  }
  return route;
}

function readBatch(r: Reader, start: number, end: number): PbRouteBatch {
  const x = new Reader(r.buf, start, end);
  const b: PbRouteBatch = { vrf: '', nexthopSets: [], routes: [] };
  while (x.pos < x.end) {
    const t = x.varint();
    const f = t >>> 3, wire = t & 7;
    if (f === 1 && wire === 2) b.vrf = x.string();
    else if (f === 2 && wire === 2) {
      const st = x.span();
      b.nexthopSets!.push(readSet(x, st, x.pos));
    } else if (f === 3 && wire === 2) {
      const st = x.span();
      b.routes.push(readRoute(x, st, x.pos));
    } else if ((f === 100 || f === 101) && wire === 2) {
      // kept as a view of the message: no copy, no object per route
      const st = x.span();
      if (f === 100) b.packedIpv4 = x.buf.subarray(st, x.pos);
      else b.packedIpv6 = x.buf.subarray(st, x.pos);
    } else x.skip(wire);
  }
  return b;
}

function readInterface(r: Reader, start: number, end: number): PbInterfaceUpdate {
  const x = new Reader(r.buf, start, end);
  const m: PbInterfaceUpdate = { name: '', delete: false, driver: 'DRIVER_UNSPECIFIED', vrf: '', addresses: [], mtu: 0, vlan: 0, mac: '' };
  while (x.pos < x.end) {
    const t = x.varint();
    const f = t >>> 3, wire = t & 7;
    if (f === 1 && wire === 2) m.name = x.string();
    else if (f === 2 && wire === 0) m.delete = x.varint() !== 0;
    else if (f === 3 && wire === 0) m.driver = DRIVERS[x.varint()] ?? m.driver;
    else if (f === 4 && wire === 2) m.vrf = x.string();
    else if (f === 5 && wire === 2) m.addresses!.push(x.string());
    else if (f === 6 && wire === 0) m.mtu = x.varint();
    else if (f === 7 && wire === 0) m.vlan = x.varint();
    else if (f === 8 && wire === 2) m.mac = x.string();
    else if (f === 20 && wire === 2) m.memifSocket = x.string();
    else if (f === 21 && wire === 0) m.memifId = x.varint();
    else if (f === 22 && wire === 2) m.memifSecret = x.string();
    else if (f === 10 && wire === 2) {
      const st = x.span();
      m.bridge = readBridgePort(new Reader(x.buf, st, x.pos));
    } else if (f === 11 && wire === 0) m.irb = x.varint() !== 0;
    else if (f === 40 && wire === 2) {
      const st = x.span();
      (m.filters ??= []).push(readIpFilter(new Reader(x.buf, st, x.pos)));
    } else if (f === 110 && wire === 2) (m.staticNeighbors ??= []).push(x.string());
    else x.skip(wire);
  }
  return m;
}

function readIpFilter(x: Reader): PbIpFilter {
  const f: PbIpFilter = { name: '', family: 0, output: false, terms: [] };
  while (x.pos < x.end) {
    const t = x.varint();
    const n = t >>> 3, wire = t & 7;
    if (n === 1 && wire === 2) f.name = x.string();
    else if (n === 2 && wire === 0) f.family = x.varint();
    else if (n === 3 && wire === 0) f.output = x.varint() !== 0;
    else if (n === 4 && wire === 2) {
      const st = x.span();
      f.terms!.push(readIpFilterTerm(new Reader(x.buf, st, x.pos)));
    } else x.skip(wire);
  }
  return f;
}

function readIpFilterTerm(x: Reader): PbIpFilterTerm {
  const t: PbIpFilterTerm = { name: '', source: [], destination: [], protocols: [], sourcePorts: [], destinationPorts: [], icmpTypes: [], action: 'FILTER_ACCEPT', count: '' };
  const sub = <T>(read: (r: Reader) => T): T => {
    const st = x.span();
    return read(new Reader(x.buf, st, x.pos));
  };
  while (x.pos < x.end) {
    const tag = x.varint();
    const n = tag >>> 3, wire = tag & 7;
    if (n === 1 && wire === 2) t.name = x.string();
    else if ((n === 2 || n === 3) && wire === 2) (n === 2 ? t.source! : t.destination!).push(sub(readFilterPrefix));
    else if (n === 4) x.uints(wire, t.protocols!);
    else if (n >= 5 && n <= 7 && wire === 2) (n === 5 ? t.sourcePorts! : n === 6 ? t.destinationPorts! : t.icmpTypes!).push(sub(readPortRange));
    else if (n === 8 && wire === 0) t.action = FILTER_ACTIONS[x.varint()] ?? 'FILTER_ACCEPT';
    else if (n === 9 && wire === 2) t.count = x.string();
    else x.skip(wire);
  }
  return t;
}

function readFilterPrefix(x: Reader): PbFilterPrefix {
  const p: PbFilterPrefix = { prefix: '', except: false };
  while (x.pos < x.end) {
    const tag = x.varint();
    const n = tag >>> 3, wire = tag & 7;
    if (n === 1 && wire === 2) p.prefix = x.string();
    else if (n === 2 && wire === 0) p.except = x.varint() !== 0;
    else x.skip(wire);
  }
  return p;
}

function readPortRange(x: Reader): PbPortRange {
  const r: PbPortRange = { low: 0, high: 0 };
  while (x.pos < x.end) {
    const tag = x.varint();
    const n = tag >>> 3, wire = tag & 7;
    if (n === 1 && wire === 0) r.low = x.varint();
    else if (n === 2 && wire === 0) r.high = x.varint();
    else x.skip(wire);
  }
  return r;
}

function readBridgePort(x: Reader): PbBridgePort {
  const b: PbBridgePort = { mode: 'ACCESS', vlanId: 0, vlanIds: [], nativeVlanId: 0, noLocalSwitching: false, stormControlKbps: 0, stormControlBurst: 0, tpid: 0, dot1qTunneling: false };
  while (x.pos < x.end) {
    const t = x.varint();
    const f = t >>> 3, wire = t & 7;
    if (f === 1 && wire === 0) b.mode = x.varint() === 1 ? 'TRUNK' : 'ACCESS';
    else if (f === 2 && wire === 0) b.vlanId = x.varint();
    else if (f === 3 && wire === 0) b.vlanIds!.push(x.varint());
    else if (f === 3 && wire === 2) {
      // packed, as other encoders write repeated scalars
      const st = x.span();
      const p = new Reader(x.buf, st, x.pos);
      while (p.pos < p.end) b.vlanIds!.push(p.varint());
    } else if (f === 4 && wire === 0) b.nativeVlanId = x.varint();
    else if (f === 5 && wire === 0) b.noLocalSwitching = x.varint() !== 0;
    else if (f === 6 && wire === 0) b.stormControlKbps = x.varint();
    else if (f === 7 && wire === 0) b.stormControlBurst = x.varint();
    else if (f === 41 && wire === 0) b.tpid = x.varint();
    else if (f === 42 && wire === 0) b.dot1qTunneling = x.varint() !== 0;
    else if (f === 160 && wire === 2) b.inputFilterName = x.string();
    else if (f === 161 && wire === 2) b.outputFilterName = x.string();
    else if ((f === 8 || f === 40) && wire === 2) {
      const st = x.span();
      (f === 8 ? (b.inputFilter ??= []) : (b.outputFilter ??= [])).push(readBridgeFilterTerm(new Reader(x.buf, st, x.pos)));
    } else x.skip(wire);
  }
  return b;
}

function readBridgeFilterTerm(x: Reader): PbBridgeFilterTerm {
  const t: PbBridgeFilterTerm = { name: '', sourceMac: '', destinationMac: '', vlanId: 0, etherType: 0, discard: false, count: '', ipSource: '', ipDestination: '', ipProtocol: 0, sourcePort: null, destinationPort: null, ipVersion: 0, ipv6NextHeader: 0, icmpType: null };
  while (x.pos < x.end) {
    const tag = x.varint();
    const f = tag >>> 3, wire = tag & 7;
    if (f === 1 && wire === 2) t.name = x.string();
    else if (f === 2 && wire === 2) t.sourceMac = x.string();
    else if (f === 3 && wire === 2) t.destinationMac = x.string();
    else if (f === 4 && wire === 0) t.vlanId = x.varint();
    else if (f === 5 && wire === 0) t.etherType = x.varint();
    else if (f === 6 && wire === 0) t.discard = x.varint() !== 0;
    else if (f === 7 && wire === 2) t.count = x.string();
    else if (f === 40 && wire === 2) t.ipSource = x.string();
    else if (f === 41 && wire === 2) t.ipDestination = x.string();
    else if (f === 42 && wire === 0) t.ipProtocol = x.varint();
    else if (f === 90 && wire === 0) t.ipVersion = x.varint();
    else if (f === 91 && wire === 0) t.ipv6NextHeader = x.varint();
    else if ((f === 43 || f === 44 || f === 92) && wire === 2) {
      const st = x.span();
      const r = readPortRange(new Reader(x.buf, st, x.pos));
      if (f === 43) t.sourcePort = r;
      else if (f === 44) t.destinationPort = r;
      else t.icmpType = r;
    } else x.skip(wire);
  }
  return t;
}

function readBridgeDomain(x: Reader): PbBridgeDomainUpdate {
  const b: PbBridgeDomainUpdate = { name: '', delete: false, vlanId: 0, irb: '', macTableSize: 0, interfaceMacLimit: 0 };
  while (x.pos < x.end) {
    const t = x.varint();
    const f = t >>> 3, wire = t & 7;
    if (f === 1 && wire === 2) b.name = x.string();
    else if (f === 2 && wire === 0) b.delete = x.varint() !== 0;
    else if (f === 3 && wire === 0) b.vlanId = x.varint();
    else if (f === 4 && wire === 2) b.irb = x.string();
    else if (f === 5 && wire === 0) b.macTableSize = x.varint();
    else if (f === 6 && wire === 0) b.interfaceMacLimit = x.varint();
    else if (f === 80 && wire === 2) b.interfaceMacLimitAction = x.string();
    else if (f === 90 && wire === 2) b.macTableSizeAction = x.string();
    else x.skip(wire);
  }
  return b;
}

export function decodeControllerMessage(bytes: Uint8Array): PbControllerMessage {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const x = new Reader(buf, 0, buf.length);
  const m: PbControllerMessage = { seq: 0 };
  while (x.pos < x.end) {
    const t = x.varint();
    const f = t >>> 3, wire = t & 7;
    if (f === 1 && wire === 0) m.seq = x.varint();
    else if (f === 30 && wire === 2) {
      const st = x.span();
      m.body = 'bfdSession';
      m.bfdSession = readBfdSession(x, st, x.pos);
    } else if (f >= 2 && f <= 7 && wire === 2) {
      const st = x.span();
      const sub = new Reader(buf, st, x.pos);
      switch (f) {
        case 2: {
          let controllerId = '';
          while (sub.pos < sub.end) {
            const tt = sub.varint();
            if (tt === 10) controllerId = sub.string();
            else sub.skip(tt & 7);
          }
          m.body = 'resyncBegin';
          m.resyncBegin = { controllerId };
          break;
        }
        case 3:
          m.body = 'resyncEnd';
          m.resyncEnd = {};
          break;
        case 4: {
          const v = { name: '', delete: false };
          while (sub.pos < sub.end) {
            const tt = sub.varint();
            if (tt === 10) v.name = sub.string();
            else if (tt === 16) v.delete = sub.varint() !== 0;
            else sub.skip(tt & 7);
          }
          m.body = 'vrf';
          m.vrf = v;
          break;
        }
        case 5:
          m.body = 'interface';
          m.interface = readInterface(x, st, x.pos);
          break;
        case 6:
          m.body = 'routes';
          m.routes = readBatch(x, st, x.pos);
          break;
        case 7: {
          const l: PbLabelUpdate = { label: 0, delete: false, vrf: '', nexthops: [] };
          while (sub.pos < sub.end) {
            const tt = sub.varint();
            if (tt === 8) l.label = sub.varint();
            else if (tt === 16) l.delete = sub.varint() !== 0;
            else if (tt === 26) l.vrf = sub.string();
            else if (tt === 34) {
              const ns = sub.span();
              l.nexthops!.push(readNexthop(sub, ns, sub.pos));
            } else sub.skip(tt & 7);
          }
          m.body = 'label';
          m.label = l;
          break;
        }
      }
    } else if ((f === 20 || f === 21) && wire === 2) {
      const st = x.span();
      const sub = new Reader(buf, st, x.pos);
      if (f === 20) {
        m.body = 'bridgeDomain';
        m.bridgeDomain = readBridgeDomain(sub);
      } else {
        let macAgingSeconds = 0;
        while (sub.pos < sub.end) {
          const tt = sub.varint();
          if (tt === 8) macAgingSeconds = sub.varint();
          else sub.skip(tt & 7);
        }
        m.body = 'l2Settings';
        m.l2Settings = { macAgingSeconds };
      }
    } else x.skip(wire);
  }
  return m;
}
