/**
 * TCP super-frames carried through the graph whole (vhost0's TSO frames from the host): the
 * graph sees one packet per super-frame, its "representative" — a pool slot holding the
 * super-frame's headers and its first segment's payload, with the IP length of that first
 * segment — and the rest of the payload waits here, in a side buffer the slot names
 * (pool.sup). So the lookup, the filters' absence, TTL, the MTU (by the segment: the slot is
 * exactly the first, largest segment) and the rewrite are done once per super-frame, and
 * nothing is cut on the way in nor merged again on the way out. At transmit the rewritten
 * headers are put back in front of the whole payload (assemble) and the driver sends it as one
 * GSO frame (txSuper: the TAP toward the host, AF_PACKET's GSO send toward a peer); every other
 * out-port (memif, AF_XDP, a handoff to another worker, a VLAN- or MPLS-encapsulated next hop,
 * an IRB) gets the segments cut from the rewritten headers (cut), as a super-frame always was
 * on the way in before.
 *
 * Checksums keep CHECKSUM_PARTIAL semantics: the TCP checksum field holds the sender's
 * pseudo-header sum (its addresses and the super-frame's L4 length; the graph rewrites neither)
 * and the GSO header asks the receiver to finish it; a segment cut here gets a finished one.
 * The IPv4 header checksum is computed for the super-frame's total length.
 */
import { finishChecksum, onesSum } from '../../wire/checksum.js';

/** room in front of the payload for the (rewritten) headers and the virtio_net_hdr */
export const SUPER_RESERVE = 512;
/** a side buffer: the reserve and the longest payload a 64 KiB TSO frame carries */
const SUPER_BUF = SUPER_RESERVE + 65536;
/** side buffers per pool (made as needed): super-frames in flight in one worker's run */
const SUPER_MAX = 64;

/** The side buffers of one pool, and what each super-frame's slot needs to be sent again. */
export class SuperStore {
  readonly bufs: Uint8Array[] = [];
  readonly views: DataView[] = [];
  /** payload bytes (all of them: the representative's first chunk is also here, at SUPER_RESERVE) */
  readonly payLen = new Int32Array(SUPER_MAX);
  /** the segments' payload size (gso_size) */
  readonly mss = new Int32Array(SUPER_MAX);
  /** the virtio_net_hdr gso_type byte as received (TCPV4/TCPV6, with the ECN bit) */
  readonly gsoType = new Uint8Array(SUPER_MAX);
  /** the TCP header's length (the L4 header ends where the payload starts) */
  readonly tcpHdr = new Uint8Array(SUPER_MAX);
  /** the IP header's length (20 + options, or 40) */
  readonly ipHdr = new Uint8Array(SUPER_MAX);
  private readonly freeIds: number[] = [];
  /** super-frames taken whole, and the segments they stood for */
  carried = 0;
  carriedSegments = 0;

  /** A side buffer's id, or -1 when all are in use (the caller then cuts, as before). */
  alloc(): number {
    const id = this.freeIds.pop();
    if (id !== undefined) return id;
    if (this.bufs.length === SUPER_MAX) return -1;
    const buf = new Uint8Array(SUPER_BUF);
    this.bufs.push(buf);
    this.views.push(new DataView(buf.buffer));
    return this.bufs.length - 1;
  }

  release(id: number): void {
    this.freeIds.push(id);
  }

  /** How many segments the super-frame stands for. */
  segments(id: number): number {
    return Math.ceil(this.payLen[id]! / this.mss[id]!);
  }

  /**
   * Put the representative's headers (data[off..off+len) minus its first payload chunk) in front
   * of the payload in the side buffer, with the super-frame's IP length (and IPv4 header
   * checksum). Returns the frame's first byte in bufs[id] (its length: hdrLen + payLen), or -1
   * when the headers do not parse as Ethernet (VLAN tags, MPLS labels) then IPv4/IPv6.
   */
  assemble(id: number, data: Uint8Array, off: number, len: number): number {
    const first = Math.min(this.mss[id]!, this.payLen[id]!);
    const h = len - first;
    if (h < 14 || h + 10 > SUPER_RESERVE) return -1;
    const l3 = l3Offset(data, off, h);
    if (l3 < 0) return -1;
    const buf = this.bufs[id]!;
    const at = SUPER_RESERVE - h;
    buf.set(data.subarray(off, off + h), at);
    const ip = at + l3;
    const l3Len = SUPER_RESERVE + this.payLen[id]! - ip;
    setIpLength(buf, ip, l3Len, this.ipHdr[id]!);
    return at;
  }

  /**
   * Write the virtio_net_hdr asking for GSO in front of an assembled frame starting at `at`
   * (hdrLen: its headers), for a driver sending it whole; returns where the header starts.
   */
  gsoHeader(id: number, at: number, hdrLen: number): number {
    const buf = this.bufs[id]!;
    const v = at - 10;
    const csumStart = hdrLen - this.tcpHdr[id]!;
    const mss = this.mss[id]!;
    buf[v] = 1; // VIRTIO_NET_HDR_F_NEEDS_CSUM: the field holds the pseudo-header sum
    buf[v + 1] = this.gsoType[id]!;
    buf[v + 2] = hdrLen & 0xff;
    buf[v + 3] = hdrLen >>> 8;
    buf[v + 4] = mss & 0xff;
    buf[v + 5] = mss >>> 8;
    buf[v + 6] = csumStart & 0xff;
    buf[v + 7] = csumStart >>> 8;
    buf[v + 8] = 16;
    buf[v + 9] = 0;
    return v;
  }
}

/**
 * Write an IP packet's length (l3Len: header included): IPv4's total length and header
 * checksum (ihl: its header's length), or IPv6's payload length.
 */
export function setIpLength(data: Uint8Array, ip: number, l3Len: number, ihl: number): void {
  if (data[ip]! >>> 4 === 4) {
    data[ip + 2] = l3Len >>> 8;
    data[ip + 3] = l3Len & 0xff;
    data[ip + 10] = 0;
    data[ip + 11] = 0;
    const c = finishChecksum(onesSum(data, ip, ihl));
    data[ip + 10] = c >>> 8;
    data[ip + 11] = c & 0xff;
  } else {
    data[ip + 4] = (l3Len - 40) >>> 8;
    data[ip + 5] = (l3Len - 40) & 0xff;
  }
}

/**
 * The L3 header's offset in a frame's first h bytes: after the Ethernet header, any 802.1Q/QinQ
 * tags and MPLS labels (to the bottom of the stack), where an IPv4 or IPv6 header must start;
 * -1 otherwise.
 */
export function l3Offset(data: Uint8Array, off: number, h: number): number {
  let l3 = 14;
  let et = (data[off + 12]! << 8) | data[off + 13]!;
  while ((et === 0x8100 || et === 0x88a8) && l3 + 4 <= h) {
    et = (data[off + l3 + 2]! << 8) | data[off + l3 + 3]!;
    l3 += 4;
  }
  if (et === 0x8847) {
    for (;;) {
      if (l3 + 4 > h) return -1;
      const bos = data[off + l3 + 2]! & 1;
      l3 += 4;
      if (bos) break;
    }
    if (l3 >= h) return -1;
    const ver = data[off + l3]! >>> 4;
    return ver === 4 || ver === 6 ? l3 : -1;
  }
  if (et === 0x0800) return l3 < h && data[off + l3]! >>> 4 === 4 ? l3 : -1;
  if (et === 0x86dd) return l3 < h && data[off + l3]! >>> 4 === 6 ? l3 : -1;
  return -1;
}
