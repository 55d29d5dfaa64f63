/**
 * Receiving what a Linux neighbour really sends: frames described by a virtio_net_hdr
 * (PACKET_VNET_HDR on a packet socket), which may be GSO/GRO super-frames of up to 64 KiB
 * (a veth peer's TCP with TSO/GSO on, the default; a NIC's GRO) and may carry an unfinished
 * ("partial") TCP/UDP checksum. The graph only takes MTU-sized frames with finished checksums,
 * so here a super-frame is cut into the segments the sender's NIC would have put on a wire
 * (what the kernel's own tcp_gso_segment / __udp_gso_segment do) and every checksum is
 * completed. Slow path: frames without GSO or a partial checksum never come here. A TCP
 * super-frame with a partial checksum may instead be carried through the graph whole
 * (carryWhole, io/super-frame.ts), and cut later where something needs segments (cutCarried).
 *
 * Supported: TCP over IPv4 and IPv6 (VIRTIO_NET_HDR_GSO_TCPV4/TCPV6, ECN bit honoured via CWR
 * only on the first segment) and UDP segmentation offload (GSO_UDP_L4, from UDP_SEGMENT
 * senders), over IPv4 and IPv6, with or without one 802.1Q tag. Not supported, dropped and
 * counted as `gso_unsupported`: UFO (GSO_UDP, IP fragmentation of a datagram; the kernel no
 * longer builds it since 4.14) and anything the header says is not TCP/UDP over IP.
 */
import { finishChecksum, onesSum } from '../../wire/checksum.js';
import { HEADROOM, type PacketPool } from '../pool.js';
import { PF_CSUM_SELF } from '../graph/graph-constants.js';
import { SUPER_RESERVE, l3Offset, setIpLength } from './super-frame.js';

/** struct virtio_net_hdr: flags u8, gso_type u8, hdr_len, gso_size, csum_start, csum_offset (u16, little-endian) */
export const VNET_HDR_LEN = 10;
export const VNET_F_NEEDS_CSUM = 1;
export const GSO_NONE = 0;
export const GSO_TCPV4 = 1;
export const GSO_UDP = 3;
export const GSO_TCPV6 = 4;
export const GSO_UDP_L4 = 5;
export const GSO_ECN = 0x80;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const TCP = 6;
const UDP = 17;
const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;

/** What became of received frames here, cumulative (the driver exports them). */
export interface GsoCounters {
  /** super-frames cut into segments */
  superFrames: number;
  /** segments made from them */
  segments: number;
  /** partial checksums completed (frames without GSO) */
  csumCompleted: number;
  /** GSO frames of a kind not segmented here, or whose headers did not parse: dropped */
  unsupported: number;
  /** frames or segments larger than a pool slot: dropped */
  tooBig: number;
  /** super-frames dropped because the pool had too few free slots for their segments */
  poolEmpty: number;
  /** super-frames carried through the graph whole (io/super-frame.ts), and the segments they stand for */
  carried: number;
  carriedSegments: number;
}

/** What a receiver's carried super-frames add to the graph's receive counters beyond their one slot each; the engine takes and zeroes it. */
export interface CarriedRx {
  segments: number;
  bytes: number;
}

/** carryWhole's answer when the super-frame is to be cut as before */
const NOT_CARRIED = -2;

/** gso_size meaning "as large as a pool slot allows" (resegmenting a jumbo TCP frame) */
const FIT_SLOT = -1;

/** GSO_TCPV4 or GSO_TCPV6 for an unfragmented TCP packet without IPv6 extension headers, else GSO_NONE. */
function tcpGsoType(src: Uint8Array, mac: number, len: number): number {
  let l3 = mac + 14;
  let etherType = (src[mac + 12]! << 8) | src[mac + 13]!;
  if (etherType === ETH_VLAN || etherType === ETH_QINQ) {
    etherType = (src[mac + 16]! << 8) | src[mac + 17]!;
    l3 += 4;
  }
  if (l3 + 40 > mac + len) return GSO_NONE;
  if (etherType === ETH_IPV4) return src[l3 + 9] === TCP && (((src[l3 + 6]! << 8) | src[l3 + 7]!) & 0x3fff) === 0 ? GSO_TCPV4 : GSO_NONE;
  if (etherType === ETH_IPV6) return src[l3 + 6] === TCP ? GSO_TCPV6 : GSO_NONE;
  return GSO_NONE;
}

/** rxFrame's answer when `out` has no room for all of a super-frame's segments: leave it for the next burst. */
export const RX_NO_ROOM = -1;

export class VnetReceiver {
  readonly counters: GsoCounters = { superFrames: 0, segments: 0, csumCompleted: 0, unsupported: 0, tooBig: 0, poolEmpty: 0, carried: 0, carriedSegments: 0 };
  /**
   * Whether TCP super-frames may be carried through the graph whole now (io/super-frame.ts),
   * asked per super-frame; null (the default): always cut. vhost0's TAP sets it.
   */
  carry: (() => boolean) | null = null;
  /** the segments and bytes carried super-frames stand for beyond their one slot each, not yet counted by the graph */
  readonly carriedRx: CarriedRx = { segments: 0, bytes: 0 };
  /**
   * Segments the carried super-frames of the current burst stand for beyond their one slot
   * each: the driver resets it per burst and counts it against the burst's size, so that a
   * burst cut later (a filter, an out-port taking segments) still fits the graph's queues.
   */
  burstExtra = 0;
  /**
   * The receiving link's IP MTU, when known (0: not): a TCP frame too long for a pool slot and
   * without a GSO size (AF_XDP multi-buffer frames carry none) is cut into segments that also
   * fit this MTU, the size the sender's NIC would have sent on that link.
   */
  linkMtu = 0;

  constructor(private readonly vif: number) {}

  /**
   * Take one received frame, src[mac..mac+len), whose virtio_net_hdr is at src[vh..vh+10),
   * into pool slots appended to out[n..max). `vlan` is -1, or tpid * 65536 + tci of a tag the
   * kernel delivered out of band, put back after the MAC addresses. Returns the new count,
   * n itself when the frame was dropped (and counted), or RX_NO_ROOM.
   */
  rxFrame(src: Uint8Array, srcView: DataView, vh: number, mac: number, len: number, vlan: number, pool: PacketPool, out: Uint32Array, n: number, max: number): number {
    const flags = src[vh]!;
    const gsoType = src[vh + 1]! & ~GSO_ECN;
    const gsoSize = src[vh + 4]! | (src[vh + 5]! << 8);
    const tagLen = vlan >= 0 ? 4 : 0;
    const maxFrame = pool.maxFrame;
    if (gsoType === GSO_NONE) {
      if (len + tagLen > maxFrame && len >= 54) {
        // a jumbo frame: TCP can be cut into slot-sized segments (a byte stream has no
        // boundaries to keep); anything else is counted and dropped
        const tcp = tcpGsoType(src, mac, len);
        if (tcp !== GSO_NONE) return this.segment(src, srcView, vh, mac, len, vlan, tcp, FIT_SLOT, pool, out, n, max);
      }
      if (len + tagLen > maxFrame || len < 14) {
        this.counters.tooBig++;
        return n;
      }
      if (n >= max) return RX_NO_ROOM;
      const slot = pool.alloc();
      if (slot < 0) {
        this.counters.poolEmpty++;
        return n;
      }
      const dst = (slot << pool.shift) + HEADROOM;
      const data = pool.data;
      copyHeaderTagged(srcView, mac, pool.view, dst, len, vlan, data);
      pool.len[slot] = len + tagLen;
      pool.rxVif[slot] = this.vif;
      if (flags & VNET_F_NEEDS_CSUM) {
        const csumStart = src[vh + 6]! | (src[vh + 7]! << 8);
        const csumOffset = src[vh + 8]! | (src[vh + 9]! << 8);
        if (completePartialChecksum(data, dst, len + tagLen, csumStart + tagLen, csumOffset)) this.counters.csumCompleted++;
      }
      out[n] = slot;
      return n + 1;
    }
    if (this.carry !== null && (flags & VNET_F_NEEDS_CSUM) !== 0 && vlan < 0) {
      const m = this.carryWhole(src, vh, mac, len, gsoType, gsoSize, pool, out, n, max);
      if (m !== NOT_CARRIED) return m;
    }
    return this.segment(src, srcView, vh, mac, len, vlan, gsoType, gsoSize, pool, out, n, max);
  }

  /**
   * Cut a super-frame into segments. `knownL3`: where its IP header starts, relative to mac,
   * when the caller parsed the L2 headers (a carried super-frame's rewritten headers may hold
   * tags and labels); -1: Ethernet, at most one tag, then IPv4/IPv6.
   */
  segment(src: Uint8Array, sv: DataView, vh: number, mac: number, len: number, vlan: number, gsoType: number, mss: number, pool: PacketPool, out: Uint32Array, n: number, max: number, knownL3 = -1): number {
    const c = this.counters;
    const end = mac + len;
    const tagLen = vlan >= 0 ? 4 : 0;
    let l3 = mac + 14;
    let etherType = (src[mac + 12]! << 8) | src[mac + 13]!;
    if (knownL3 >= 0) {
      l3 = mac + knownL3;
      etherType = src[l3]! >>> 4 === 4 ? ETH_IPV4 : ETH_IPV6;
    } else if ((etherType === ETH_VLAN || etherType === ETH_QINQ) && len >= 18) {
      etherType = (src[mac + 16]! << 8) | src[mac + 17]!;
      l3 += 4;
    }
    const v4 = etherType === ETH_IPV4;
    const proto = gsoType === GSO_UDP_L4 ? UDP : TCP;
    if (mss === 0 || (gsoType !== GSO_TCPV4 && gsoType !== GSO_TCPV6 && gsoType !== GSO_UDP_L4) || (gsoType === GSO_TCPV4 && !v4) || (gsoType === GSO_TCPV6 && v4) || (!v4 && etherType !== ETH_IPV6)) {
      c.unsupported++;
      return n;
    }
    // L4 starts where the checksum starts (csum_start, always set with GSO from a local sender);
    // else right after a plain IP header
    const csumStart = src[vh + 6]! | (src[vh + 7]! << 8);
    let l4: number;
    if (v4) {
      if (l3 + 20 > end || src[l3 + 9] !== proto) return this.unparsable(n);
      l4 = l3 + (src[l3]! & 0x0f) * 4;
    } else {
      if (l3 + 40 > end) return this.unparsable(n);
      l4 = (src[vh]! & VNET_F_NEEDS_CSUM) !== 0 && csumStart > 0 ? mac + csumStart : l3 + 40;
      if (l4 < l3 + 40 || (l4 === l3 + 40 && src[l3 + 6] !== proto)) return this.unparsable(n);
    }
    const l4Hdr = proto === TCP ? l4 + 12 < end ? (src[l4 + 12]! >>> 4) * 4 : 0 : 8;
    if (l4Hdr < 8 || l4 + l4Hdr > end) return this.unparsable(n);
    const hdrEnd = l4 + l4Hdr;
    const payload = end - hdrEnd;
    const outHdr = hdrEnd - mac + tagLen;
    const maxFrame = pool.maxFrame;
    // TCP segments that would not fit a pool slot (a jumbo MTU's MSS) are cut smaller: any
    // segmentation of a TCP byte stream is valid. UDP datagrams (USO) keep their sizes.
    if (mss === FIT_SLOT || (proto === TCP && outHdr + mss > maxFrame)) {
      const fit = mss === FIT_SLOT && this.linkMtu > 0 ? this.linkMtu - (hdrEnd - l3) : maxFrame;
      mss = Math.min(maxFrame - outHdr, fit);
    }
    const segs = Math.max(1, Math.ceil(payload / mss));
    if (mss <= 0 || outHdr + Math.min(mss, payload) > maxFrame) {
      c.tooBig++;
      return n;
    }
    if (segs > max) {
      c.unsupported++;
      return n;
    }
    if (n + segs > max) return RX_NO_ROOM;
    if (pool.available < segs) {
      c.poolEmpty++;
      return n;
    }
    const data = pool.data;
    const pv = pool.view;
    const ipId = v4 ? (src[l3 + 4]! << 8) | src[l3 + 5]! : 0;
    const seq = proto === TCP ? sv.getUint32(l4 + 4) : 0;
    const tcpFlags = proto === TCP ? src[l4 + 13]! : 0;
    const outL3 = l3 - mac + tagLen;
    const outL4 = l4 - mac + tagLen;
    // the pseudo-header's addresses do not change between segments
    const addrSum = v4 ? onesSum(src, l3 + 12, 8) : onesSum(src, l3 + 8, 32);
    const shift = pool.shift;
    for (let k = 0; k < segs; k++) {
      const off = k * mss;
      const chunk = Math.min(mss, payload - off);
      const slot = pool.alloc();
      const d = (slot << shift) + HEADROOM;
      copyHeaderTagged(sv, mac, pv, d, hdrEnd - mac, vlan, data);
      // the payload's sum taken while copying it (one pass over its bytes, not two); it starts
      // at an even offset from the L4 header, so its 16-bit words line up with the checksum's
      const payloadSum = copySum(sv, hdrEnd + off, pv, d + outHdr, chunk);
      const ip = d + outL3;
      const t = d + outL4;
      const l4Len = l4Hdr + chunk;
      if (v4) {
        const id = (ipId + k) & 0xffff;
        data[ip + 4] = id >>> 8;
        data[ip + 5] = id & 0xff;
      }
      setIpLength(data, ip, outL4 - outL3 + l4Len, outL4 - outL3);
      let field: number;
      if (proto === TCP) {
        pv.setUint32(t + 4, (seq + off) >>> 0);
        let f = tcpFlags;
        if (k < segs - 1) f &= ~(TCP_FIN | TCP_PSH);
        if (k > 0) f &= ~TCP_CWR;
        data[t + 13] = f;
        field = t + 16;
      } else {
        data[t + 4] = l4Len >>> 8;
        data[t + 5] = l4Len & 0xff;
        field = t + 6;
      }
      data[field] = 0;
      data[field + 1] = 0;
      let sum = finishChecksum(addrSum + proto + l4Len + onesSum(data, t, l4Hdr) + payloadSum);
      if (sum === 0 && proto === UDP) sum = 0xffff;
      data[field] = sum >>> 8;
      data[field + 1] = sum & 0xff;
      pool.len[slot] = outHdr + chunk;
      pool.rxVif[slot] = this.vif;
      // the checksum was just computed from these bytes: a merge on the way out need not verify it
      if (proto === TCP) pool.flags[slot] = PF_CSUM_SELF;
      out[n++] = slot;
    }
    c.superFrames++;
    c.segments += segs;
    return n;
  }

  /**
   * Take a TCP super-frame with a partial checksum whole (io/super-frame.ts): its payload into a
   * side buffer, its headers and first segment's payload into one pool slot whose IP length is
   * that first segment's, for the graph. NOT_CARRIED when it is not plain TCP over IPv4/IPv6 in
   * Ethernet with the checksum at the TCP header, is no longer than one segment, has segments
   * that would not fit a slot, or carry() or the side buffers say no: then it is cut as before.
   */
  private carryWhole(src: Uint8Array, vh: number, mac: number, len: number, gsoType: number, mss: number, pool: PacketPool, out: Uint32Array, n: number, max: number): number {
    if (gsoType !== GSO_TCPV4 && gsoType !== GSO_TCPV6) return NOT_CARRIED;
    const v4 = gsoType === GSO_TCPV4;
    const l3 = mac + 14;
    const end = mac + len;
    if (((src[mac + 12]! << 8) | src[mac + 13]!) !== (v4 ? ETH_IPV4 : ETH_IPV6) || l3 + 60 > end) return NOT_CARRIED;
    const ipHdr = v4 ? (src[l3]! & 0x0f) * 4 : 40;
    if (v4 ? ipHdr < 20 || src[l3 + 9] !== TCP || (((src[l3 + 6]! << 8) | src[l3 + 7]!) & 0x3fff) !== 0 : src[l3 + 6] !== TCP) return NOT_CARRIED;
    const l4 = l3 + ipHdr;
    const csumStart = src[vh + 6]! | (src[vh + 7]! << 8);
    const csumOffset = src[vh + 8]! | (src[vh + 9]! << 8);
    if (mac + csumStart !== l4 || csumOffset !== 16) return NOT_CARRIED;
    const tcpHdr = (src[l4 + 12]! >>> 4) * 4;
    const hdrEnd = l4 + tcpHdr;
    const payload = end - hdrEnd;
    const h = hdrEnd - mac;
    if (tcpHdr < 20 || mss <= 0 || payload <= mss || h + mss > pool.maxFrame || payload > 65536) return NOT_CARRIED;
    if (!this.carry!()) return NOT_CARRIED;
    const segs = Math.ceil(payload / mss);
    if (segs > max) return NOT_CARRIED;
    if (n + this.burstExtra + segs > max) return RX_NO_ROOM;
    const st = pool.supers;
    const id = st.alloc();
    if (id < 0) return NOT_CARRIED;
    const slot = pool.alloc();
    if (slot < 0) {
      st.release(id);
      this.counters.poolEmpty++;
      return n;
    }
    st.bufs[id]!.set(src.subarray(hdrEnd, end), SUPER_RESERVE);
    const data = pool.data;
    const d = (slot << pool.shift) + HEADROOM;
    data.set(src.subarray(mac, hdrEnd + mss), d);
    // the slot is the first segment, as the sender's TSO would have sent it: the graph's MTU,
    // ICMP too-big and IP checks see that
    setIpLength(data, d + 14, ipHdr + tcpHdr + mss, ipHdr);
    pool.len[slot] = h + mss;
    pool.rxVif[slot] = this.vif;
    pool.sup[slot] = id + 1;
    st.payLen[id] = payload;
    st.mss[id] = mss;
    st.gsoType[id] = src[vh + 1]!;
    st.tcpHdr[id] = tcpHdr;
    st.ipHdr[id] = ipHdr;
    this.burstExtra += segs - 1;
    this.counters.carried++;
    this.counters.carriedSegments += segs;
    this.carriedRx.segments += segs - 1;
    this.carriedRx.bytes += (segs - 1) * h + payload - mss;
    out[n] = slot;
    return n + 1;
  }

  /** A super-frame whose headers do not say what its GSO type does: dropped, counted with the unsupported. */
  private unparsable(n: number): number {
    this.counters.unsupported++;
    return n;
  }
}

/** cuts carried super-frames after the graph (its counters are not a driver's) */
const carriedCutter = new VnetReceiver(0);

/**
 * Cut the super-frame carried whole in pool slot `slot` (pool.sup) into segments appended to
 * out[n..max), from its headers as the graph left them (rewritten: MACs, TTL, tags or labels
 * pushed) and its payload: for an out-port or a node that must see segments. Returns the new
 * count, n when it could not be cut (headers not IP after Ethernet/tags/labels, pool empty),
 * or RX_NO_ROOM. The slot itself is left to the caller (it still names the side buffer).
 */
export function cutCarried(pool: PacketPool, slot: number, out: Uint32Array, n: number, max: number): number {
  const st = pool.supers;
  const id = pool.sup[slot]! - 1;
  const off = pool.offset(slot);
  const len = pool.len[slot]!;
  const at = st.assemble(id, pool.data, off, len);
  if (at < 0) return n;
  const h = len - Math.min(st.mss[id]!, st.payLen[id]!);
  const vh = st.gsoHeader(id, at, h);
  return carriedCutter.segment(st.bufs[id]!, st.views[id]!, vh, at, h + st.payLen[id]!, -1, st.gsoType[id]! & ~GSO_ECN, st.mss[id]!, pool, out, n, max, l3Offset(pool.data, off, h));
}

/**
 * Copy len bytes of a frame from[src..] to to[dst..], putting back an out-of-band VLAN tag
 * (vlan >= 0: tpid * 65536 + tci) after the two MAC addresses.
 */
function copyHeaderTagged(from: DataView, src: number, to: DataView, dst: number, len: number, vlan: number, data: Uint8Array): void {
  if (vlan < 0) {
    copyExact(from, src, to, dst, len);
    return;
  }
  copyExact(from, src, to, dst, 12);
  data[dst + 12] = (vlan >>> 24) & 0xff;
  data[dst + 13] = (vlan >>> 16) & 0xff;
  data[dst + 14] = (vlan >>> 8) & 0xff;
  data[dst + 15] = vlan & 0xff;
  copyExact(from, src + 12, to, dst + 16, len - 12);
}

/**
 * Copy exactly len bytes and return their ones'-complement sum, unfolded (for finishChecksum):
 * 4-byte big-endian words, each congruent to the sum of its two 16-bit halves modulo 0xffff,
 * which is all the folded checksum depends on (RFC 1071). A partial last word is summed as
 * 16-bit words, an odd last byte padded with zero, as onesSum does.
 */
export function copySum(from: DataView, src: number, to: DataView, dst: number, len: number): number {
  let sum = 0;
  let i = 0;
  const words = len & ~3;
  for (; i < words; i += 4) {
    const w = from.getUint32(src + i);
    to.setUint32(dst + i, w);
    sum += w;
  }
  if (i + 1 < len) {
    const w = from.getUint16(src + i);
    to.setUint16(dst + i, w);
    sum += w;
    i += 2;
  }
  if (i < len) {
    const b = from.getUint8(src + i);
    to.setUint8(dst + i, b);
    sum += b << 8;
  }
  return sum;
}

/** onesSum over a DataView in 4-byte words (as copySum, without the copy): unfolded, for finishChecksum. */
export function onesSum32(v: DataView, off: number, len: number, initial = 0): number {
  let sum = initial;
  let i = 0;
  const words = len & ~3;
  for (; i < words; i += 4) sum += v.getUint32(off + i);
  if (i + 1 < len) {
    sum += v.getUint16(off + i);
    i += 2;
  }
  if (i < len) sum += v.getUint8(off + i) << 8;
  return sum;
}

/** Copy exactly len bytes (8-byte moves, then single bytes): no byte outside either range is touched. */
export function copyExact(from: DataView, src: number, to: DataView, dst: number, len: number): void {
  const words = len & ~7;
  let i = 0;
  for (; i < words; i += 8) to.setFloat64(dst + i, from.getFloat64(src + i, true), true);
  for (; i < len; i++) to.setUint8(dst + i, from.getUint8(src + i));
}

/**
 * For drivers whose kernel side loses the "checksum not finished" mark (AF_XDP: an XDP
 * redirect carries no skb metadata): a TCP/UDP frame whose checksum field holds exactly the
 * folded pseudo-header sum is one a local sender left to offload (a finished checksum equals
 * it only by a 1-in-65536 coincidence, and even then completing it rewrites the same value
 * the sender's NIC would have). Complete those; leave every other frame untouched. Costs a
 * pseudo-header sum per TCP/UDP frame. Returns true when it completed one.
 */
export function completeIfPartial(data: Uint8Array, off: number, len: number): boolean {
  let l3 = off + 14;
  let type = (data[off + 12]! << 8) | data[off + 13]!;
  if (type === ETH_VLAN || type === ETH_QINQ) {
    type = (data[off + 16]! << 8) | data[off + 17]!;
    l3 += 4;
  }
  const end = off + len;
  let proto: number;
  let l4: number;
  let l4len: number;
  let sum: number;
  if (type === ETH_IPV4) {
    if (l3 + 20 > end || (((data[l3 + 6]! << 8) | data[l3 + 7]!) & 0x3fff) !== 0) return false; // fragments carry no whole L4
    proto = data[l3 + 9]!;
    const ihl = (data[l3]! & 0x0f) * 4;
    l4 = l3 + ihl;
    l4len = ((data[l3 + 2]! << 8) | data[l3 + 3]!) - ihl;
    sum = onesSum(data, l3 + 12, 8);
  } else if (type === ETH_IPV6) {
    if (l3 + 40 > end) return false;
    proto = data[l3 + 6]!;
    l4 = l3 + 40;
    l4len = (data[l3 + 4]! << 8) | data[l3 + 5]!;
    sum = onesSum(data, l3 + 8, 32);
  } else return false;
  const field = proto === TCP ? l4 + 16 : proto === UDP ? l4 + 6 : -1;
  if (field < 0 || l4len < 8 || field + 2 > end || l4 + l4len > end) return false;
  const partial = ~finishChecksum(sum + proto + l4len) & 0xffff;
  if (((data[field]! << 8) | data[field + 1]!) !== partial) return false;
  return completePartialChecksum(data, off, len, l4 - off, field - l4);
}

/**
 * Finish a partial checksum as the kernel's skb_checksum_help does: the field at
 * csumStart + csumOffset holds the pseudo-header sum, so the ones'-complement sum of
 * everything from csumStart to the end of the packet, complemented, is the checksum.
 * Offsets are relative to the frame's first byte, data[off..off+len). The end of the packet
 * is the IP length, not the frame's (a short frame may have been padded). False when the
 * offsets do not fit the frame.
 */
export function completePartialChecksum(data: Uint8Array, off: number, len: number, csumStart: number, csumOffset: number): boolean {
  const field = off + csumStart + csumOffset;
  if (csumStart < 14 || field + 2 > off + len) return false;
  let end = off + len;
  let l3 = off + 14;
  let type = (data[off + 12]! << 8) | data[off + 13]!;
  if (type === ETH_VLAN || type === ETH_QINQ) {
    type = (data[off + 16]! << 8) | data[off + 17]!;
    l3 += 4;
  }
  if (type === ETH_IPV4) end = Math.min(end, l3 + ((data[l3 + 2]! << 8) | data[l3 + 3]!));
  else if (type === ETH_IPV6) end = Math.min(end, l3 + 40 + ((data[l3 + 4]! << 8) | data[l3 + 5]!));
  const from = off + csumStart;
  if (from >= end) return false;
  let c = finishChecksum(onesSum(data, from, end - from));
  if (c === 0) c = 0xffff; // CSUM_MANGLED_0: zero would mean "no checksum" to UDP
  data[field] = c >>> 8;
  data[field + 1] = c & 0xff;
  return true;
}
