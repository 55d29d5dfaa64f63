/**
 * TCP segments merged back into one GSO super-frame on their way into a TAP (vhost0): what a
 * NIC's GRO does before the host's stack sees them. A neighbour's TCP at default offloads sends
 * 64 KiB super-frames, which the AF_PACKET driver cuts into MTU-sized segments for the graph
 * (io/gso.ts); written to vhost0 one by one, each segment was a write() and a pass through the
 * host's IP and TCP receive path (about 45 per 64 KiB, in the worker's own thread: the TAP's
 * write runs the host's receive softirq), which held a transfer to a listener behind vhost0 to
 * a tenth of a kernel veth's. Written as one frame with a virtio_net_hdr (IFF_VNET_HDR: GSO
 * type, segment size, partial checksum) they are one write and one pass, as the kernel's own
 * GRO would have made them.
 *
 * Merged, as Linux's tcp_gro_receive merges: consecutive frames of one burst with the same
 * Ethernet, IP and TCP headers but for the IP length and ID and the TCP sequence number, which
 * must follow on; TCP flags ACK, or ACK and PSH on the last; every segment but the last of the
 * first one's size; same TCP options bytes (timestamps included); IPv4 without fragmentation,
 * IPv6 without extension headers; no VLAN tag; each segment's TCP checksum verified (a damaged
 * segment is written alone, for the host's TCP to drop and count), except a segment io/gso.ts
 * cut from a super-frame (the caller's `trusted`: pool flag PF_CSUM_SELF), whose checksum was
 * computed from its bytes a moment ago and cannot hide damage. The merged frame carries a
 * partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM): the host's TCP takes it as verified, which it
 * is. Nothing else (SYN, FIN, RST, a lone segment, UDP, ICMP) is touched.
 */
import { VNET_HDR_LEN, VNET_F_NEEDS_CSUM, GSO_TCPV4, GSO_TCPV6, onesSum32 } from './gso.js';
import { finishChecksum, onesSum } from '../../wire/checksum.js';

const ETH = 14;
const TCP_ACK = 0x10;
const TCP_PSH = 0x08;
/** the largest IP packet: an IPv4 total length or an IPv6 payload length is 16 bits */
const MAX_IP = 65535;

/** Where one candidate frame's headers are, as parsed by `parse`. */
interface Parsed {
  /** 4 or 6, 0 when the frame cannot be merged */
  family: number;
  l3: number;
  /** IPv4 header length, 40 for IPv6 */
  ipLen: number;
  l4: number;
  /** TCP header length */
  thLen: number;
  payload: number;
  seq: number;
  flags: number;
}

export class TcpCoalescer {
  /** the merged frame, with its virtio_net_hdr in front */
  readonly buf = new Uint8Array(VNET_HDR_LEN + ETH + MAX_IP);
  /** super-frames written, and the segments merged into them */
  frames = 0;
  segments = 0;
  private readonly a: Parsed = { family: 0, l3: 0, ipLen: 0, l4: 0, thLen: 0, payload: 0, seq: 0, flags: 0 };
  private readonly b: Parsed = { family: 0, l3: 0, ipLen: 0, l4: 0, thLen: 0, payload: 0, seq: 0, flags: 0 };
  /** a DataView over the frames' buffer, for checksums by 4-byte words (made again when the buffer changes) */
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

  /**
   * How many frames from k on (offsets off[k..end), lengths len[k..end), in d) merge with the
   * frame at k: 1 when it merges with none.
   */
  run(d: Uint8Array, off: ArrayLike<number>, len: ArrayLike<number>, k: number, end: number, trusted?: ArrayLike<number>): number {
    const a = this.a;
    // the first frame's checksum is summed only once a second frame matches it: a frame that
    // merges with nothing (another flow next, not TCP at all) costs a parse, not a pass over its bytes
    if (k + 1 >= end || !parse(d, off[k]!, len[k]!, a) || (a.flags & TCP_PSH) !== 0) return 1;
    if (this.view.buffer !== d.buffer || this.view.byteOffset !== d.byteOffset) this.view = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const v = this.view;
    const o0 = off[k]!;
    const mss = a.payload;
    let total = mss;
    let seq = (a.seq + mss) >>> 0;
    let m = 1;
    const b = this.b;
    for (let j = k + 1; j < end; j++) {
      const o = off[j]!;
      if (!parse(d, o, len[j]!, b) || b.family !== a.family || b.l4 !== a.l4 || b.thLen !== a.thLen || b.seq !== seq) break;
      if (b.payload > mss || a.ipLen + a.thLen + total + b.payload > MAX_IP) break;
      if (!sameHeaders(d, o0, o, a)) break;
      if (m === 1 && !trusted?.[k] && !checksumOk(d, v, o0, a)) return 1;
      if (!trusted?.[j] && !checksumOk(d, v, o, b)) break;
      m++;
      total += b.payload;
      seq = (seq + b.payload) >>> 0;
      // a short segment or a PSH ends the run, as it ends a GRO flow's packet
      if (b.payload < mss || (b.flags & TCP_PSH) !== 0) break;
    }
    return m;
  }

  /**
   * Build in `buf` the super-frame of the m frames from k on (run() said they merge), with its
   * virtio_net_hdr; returns its length with the header.
   */
  build(d: Uint8Array, off: ArrayLike<number>, len: ArrayLike<number>, k: number, m: number): number {
    const a = this.a;
    parse(d, off[k]!, len[k]!, a);
    const buf = this.buf;
    const hdr = a.l4 + a.thLen;
    const mss = a.payload;
    let w = VNET_HDR_LEN;
    buf.set(d.subarray(off[k]!, off[k]! + len[k]!), w);
    w += len[k]!;
    let lastFlags = a.flags;
    const b = this.b;
    for (let j = k + 1; j < k + m; j++) {
      const o = off[j]!;
      parse(d, o, len[j]!, b);
      buf.set(d.subarray(o + hdr, o + hdr + b.payload), w);
      w += b.payload;
      lastFlags = b.flags;
    }
    const f = VNET_HDR_LEN; // the frame's start in buf
    const tcpLen = w - f - a.l4;
    if (a.family === 4) {
      const ipTotal = w - f - a.l3;
      buf[f + a.l3 + 2] = ipTotal >>> 8;
      buf[f + a.l3 + 3] = ipTotal & 255;
      buf[f + a.l3 + 10] = 0;
      buf[f + a.l3 + 11] = 0;
      const c = finishChecksum(onesSum(buf, f + a.l3, a.ipLen));
      buf[f + a.l3 + 10] = c >>> 8;
      buf[f + a.l3 + 11] = c & 255;
    } else {
      buf[f + a.l3 + 4] = tcpLen >>> 8;
      buf[f + a.l3 + 5] = tcpLen & 255;
    }
    buf[f + a.l4 + 13] = a.flags | (lastFlags & TCP_PSH);
    // a partial checksum: the pseudo-header's sum, folded and not complemented (as the kernel's CHECKSUM_PARTIAL)
    const pseudo = a.family === 4 ? onesSum(buf, f + a.l3 + 12, 8) : onesSum(buf, f + a.l3 + 8, 32);
    const partial = ~finishChecksum(pseudo + 6 + tcpLen) & 0xffff;
    buf[f + a.l4 + 16] = partial >>> 8;
    buf[f + a.l4 + 17] = partial & 255;
    // struct virtio_net_hdr, little-endian (the TAP's default)
    buf[0] = VNET_F_NEEDS_CSUM;
    buf[1] = a.family === 4 ? GSO_TCPV4 : GSO_TCPV6;
    le16(buf, 2, hdr);
    le16(buf, 4, mss);
    le16(buf, 6, a.l4);
    le16(buf, 8, 16);
    this.frames++;
    this.segments += m;
    return w;
  }
}

function le16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 255;
  b[o + 1] = v >>> 8;
}

/** Parse the frame at d[o..o+len) into p; false when it is not a mergeable TCP segment (p.family 0). */
function parse(d: Uint8Array, o: number, len: number, p: Parsed): boolean {
  p.family = 0;
  if (len < ETH + 40) return false;
  const et = (d[o + 12]! << 8) | d[o + 13]!;
  const l3 = ETH;
  let ipLen: number;
  let ipTotal: number;
  if (et === 0x0800) {
    if (d[o + l3]! >>> 4 !== 4 || d[o + l3 + 9] !== 6) return false;
    ipLen = (d[o + l3]! & 15) << 2;
    ipTotal = (d[o + l3 + 2]! << 8) | d[o + l3 + 3]!;
    // not a fragment (DF may be set)
    if ((((d[o + l3 + 6]! << 8) | d[o + l3 + 7]!) & 0x3fff) !== 0 || ipLen < 20) return false;
  } else if (et === 0x86dd) {
    if (d[o + l3]! >>> 4 !== 6 || d[o + l3 + 6] !== 6) return false;
    ipLen = 40;
    ipTotal = 40 + ((d[o + l3 + 4]! << 8) | d[o + l3 + 5]!);
  } else return false;
  // the frame is exactly the IP packet (no padding: a merged frame's lengths are recomputed)
  if (ipTotal !== len - ETH) return false;
  const l4 = l3 + ipLen;
  if (l4 + 20 > len) return false;
  const thLen = (d[o + l4 + 12]! >>> 4) << 2;
  const flags = d[o + l4 + 13]!;
  if (thLen < 20 || l4 + thLen > len || (flags & ~(TCP_ACK | TCP_PSH)) !== 0 || (flags & TCP_ACK) === 0) return false;
  const payload = len - l4 - thLen;
  if (payload <= 0) return false;
  p.family = et === 0x0800 ? 4 : 6;
  p.l3 = l3;
  p.ipLen = ipLen;
  p.l4 = l4;
  p.thLen = thLen;
  p.payload = payload;
  p.seq = ((d[o + l4 + 4]! << 24) | (d[o + l4 + 5]! << 16) | (d[o + l4 + 6]! << 8) | d[o + l4 + 7]!) >>> 0;
  p.flags = flags;
  return true;
}

/**
 * Whether the frame at o has the headers of the run's first frame at o0 but for what merging
 * changes: Ethernet whole; IPv4 all but total length, ID and checksum; IPv6 all but the payload
 * length; TCP ports, ack, window, options (sequence, flags, checksum and urgent pointer apart).
 */
function sameHeaders(d: Uint8Array, o0: number, o: number, a: Parsed): boolean {
  for (let q = 0; q < ETH; q++) if (d[o0 + q] !== d[o + q]) return false;
  const l3 = a.l3;
  if (a.family === 4) {
    // version/IHL, TOS; flags/fragment, TTL, protocol; addresses and options
    if (d[o0 + l3] !== d[o + l3] || d[o0 + l3 + 1] !== d[o + l3 + 1]) return false;
    for (let q = 6; q < 10; q++) if (d[o0 + l3 + q] !== d[o + l3 + q]) return false;
    for (let q = 12; q < a.ipLen; q++) if (d[o0 + l3 + q] !== d[o + l3 + q]) return false;
  } else {
    for (let q = 0; q < 4; q++) if (d[o0 + l3 + q] !== d[o + l3 + q]) return false;
    for (let q = 6; q < 40; q++) if (d[o0 + l3 + q] !== d[o + l3 + q]) return false;
  }
  const l4 = a.l4;
  for (let q = 0; q < 4; q++) if (d[o0 + l4 + q] !== d[o + l4 + q]) return false; // ports
  for (let q = 8; q < 13; q++) if (d[o0 + l4 + q] !== d[o + l4 + q]) return false; // ack, data offset
  if (d[o0 + l4 + 14] !== d[o + l4 + 14] || d[o0 + l4 + 15] !== d[o + l4 + 15]) return false; // window
  for (let q = 20; q < a.thLen; q++) if (d[o0 + l4 + q] !== d[o + l4 + q]) return false; // options
  return true;
}

/** Whether the TCP checksum of the frame at o (parsed into p; v views d's bytes) is right. */
function checksumOk(d: Uint8Array, v: DataView<ArrayBufferLike>, o: number, p: Parsed): boolean {
  const tcpLen = p.thLen + p.payload;
  const pseudo = p.family === 4 ? onesSum(d, o + p.l3 + 12, 8) : onesSum(d, o + p.l3 + 8, 32);
  return finishChecksum(onesSum32(v, o + p.l4, tcpLen, pseudo + 6 + tcpLen)) === 0;
}
