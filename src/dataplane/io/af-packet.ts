/**
 * The AF_PACKET driver: one packet socket bound to a netdev, with PACKET_MMAP TPACKET_V2
 * receive and transmit rings mapped into one region that JS reads and writes directly
 * through a koffi view (no syscall per packet).
 *
 * Ownership of a ring frame is its tp_status word. RX: the kernel fills frames whose status
 * is TP_STATUS_KERNEL and hands them over with TP_STATUS_USER; we copy the frame into a pool
 * slot and give it back by writing TP_STATUS_KERNEL. TX: we fill a frame whose status is
 * TP_STATUS_AVAILABLE, mark it TP_STATUS_SEND_REQUEST, and one sendto() per burst (flush)
 * makes the kernel send every requested frame and return them to AVAILABLE.
 *
 * What real neighbours send (PACKET_VNET_HDR, io/gso.ts): every ring frame is preceded by a
 * struct virtio_net_hdr, which says whether the frame is a GSO/GRO super-frame (a veth peer's
 * TCP with TSO on, the default, sends up to 64 KiB at once; a NIC's GRO merges as much) and
 * whether its TCP/UDP checksum is unfinished. Plain frames take the fast copy below; the
 * others go to io/gso.ts, which cuts super-frames into wire-sized segments and completes
 * checksums. A frame longer than a ring frame is not truncated: with PACKET_COPY_THRESH the
 * kernel marks its ring entry TP_STATUS_COPY and queues the whole skb on the socket, where
 * one read() takes it (in order: the n-th COPY entry is the n-th queued skb). Transmitted
 * frames carry a virtio_net_hdr asking no offload (hdr_len set: see LINEAR_TX_MAX). Nothing is lost uncounted: the
 * kernel's own drops (PACKET_STATISTICS) and ours are exported through ioCounters().
 *
 * Also handled (see LAB.md): outgoing frames are not looped back to us
 * (PACKET_IGNORE_OUTGOING), frames skip the qdisc (PACKET_QDISC_BYPASS), and VLAN tags the
 * NIC stripped are put back into the frame.
 *
 * Opening and closing are slow in the kernel, not here: each PACKET_RX_RING/PACKET_TX_RING
 * setsockopt and the final close wait for an RCU grace period (synchronize_net() in
 * packet_set_ring and packet_release: 10-15 ms each on this VM, ~25 ms to set both rings,
 * ~35 ms to close), while bind() on a socket bound to nothing is ~0.1 ms. So the rings can be
 * set up ahead, off the thread that forwards (prepareAfPacket, with koffi's async calls on
 * libuv's thread pool, where concurrent preparations share grace periods; af-packet-spares.ts
 * keeps a few ready), and openAfPacket given such a socket only maps and binds it; close()
 * hands the final close() to the thread pool.
 */
import type { IoCounters, IoDriver } from './driver.js';
import { HEADROOM, SLOT_SIZE, type PacketPool } from '../pool.js';
import {
  AF_PACKET, MAP_POPULATE, MAP_SHARED, PACKET_COPY_THRESH, PACKET_LOSS, PACKET_VNET_HDR, MSG_DONTWAIT, PACKET_IGNORE_OUTGOING, PACKET_QDISC_BYPASS,
  PACKET_RX_RING, PACKET_STATISTICS, PACKET_TX_RING, PACKET_VERSION, PROT_READ, PROT_WRITE, SOCK_CLOEXEC,
  SOCK_NONBLOCK, SOCK_RAW, SOL_PACKET, SOL_SOCKET, SO_RCVBUFFORCE, SO_SNDBUFFORCE, TPACKET_V2, EAGAIN,
} from '../../sys/constants.js';
import {
  disableKernelArp, disableOffloads, errno, interfaceIndex, requestPacketRing, requestPacketRingAsync, sockaddrLl, interfaceMac, libc, mapFailed, setIntOption, setInterfaceUp, sysError, viewMemory,
} from '../../sys/libc.js';
import { RX_NO_ROOM, VNET_HDR_LEN, VnetReceiver, type CarriedRx } from './gso.js';
import { copyWords, fitsWords } from './copy.js';
import { GsoSender } from './gso-send.js';
import { PF_CSUM_SELF } from '../graph/graph-constants.js';

const TP_STATUS_KERNEL = 0;
const TP_STATUS_USER = 1;
const TP_STATUS_COPY = 2;
const TP_STATUS_VLAN_VALID = 0x10;
const TP_STATUS_VLAN_TPID_VALID = 0x40;
const TP_STATUS_AVAILABLE = 0;
const TP_STATUS_SEND_REQUEST = 1;
const TP_STATUS_WRONG_FORMAT = 4;

/** TPACKET_V2 header: status (offset 0), len, snaplen (u32), mac, net (u16), sec, nsec (u32), vlan_tci, vlan_tpid (u16) */
const H_LEN = 4;
const H_SNAPLEN = 8;
const H_MAC = 12;
const H_VLAN_TCI = 24;
const H_VLAN_TPID = 26;
/** TX data offset: TPACKET_ALIGN(sizeof(tpacket2_hdr)) + sizeof(sockaddr_ll) - sizeof(sockaddr_ll) */
const TX_DATA = 32;
/** where the frame itself starts in a TX ring frame: after its virtio_net_hdr */
const TX_FRAME = TX_DATA + VNET_HDR_LEN;
const BLOCK_SIZE = 1 << 16;
/** the longest frame read() takes from the socket (TP_STATUS_COPY): a 64 KiB GSO frame and its headers, with room for BIG TCP's 3x */
const COPY_BUF = 3 * 65536 + 256;
/**
 * Transmitted frames up to this length are copied whole into the skb's linear buffer: the
 * virtio_net_hdr's hdr_len says how much tpacket_snd copies (at least the Ethernet header);
 * the rest it attaches as fragments pointing into our ring's pages, and a veth then has to
 * copy those into a freshly allocated page per frame (__dev_forward_skb -> skb_copy_ubufs,
 * 3-5% of the forwarding worker's CPU in a profile, plus the page allocation and free).
 * Longer frames (jumbo) keep the fragments rather than a multi-page kmalloc.
 */
const LINEAR_TX_MAX = 3072;
/** frames shorter than this are not looked at for a GSO super-frame (a TCP segment merged to save a syscall carries more than a few bytes) */
const MIN_MERGE = 128;
/** frames that make a sendto() worth its syscall at once */
const KICK_BATCH = 32;
const DEFAULT_RCVBUF = 4 << 20;

export interface AfPacketOptions {
  /** frames in the receive ring (rounded up to whole 64 KiB blocks); default 4096 of 2048 bytes, as many bytes (at least 1024 frames) for larger frames */
  rxFrames?: number;
  /** frames in the transmit ring; default 2048 of 2048 bytes, as many bytes (at least 512 frames) for larger frames */
  txFrames?: number;
  /** bytes per ring frame: the data plane's packet slot size (a power of two, 2048 to 65536), so a frame that fits a slot fits a ring frame; default 2048 */
  frameSize?: number;
  /** vif id written to pool.rxVif for received frames; default 0 */
  vif?: number;
  /** run `ethtool -K IF gro off`, and `tx off tso off gso off` unless txGso (then those on); default true */
  disableOffloads?: boolean;
  /**
   * send consecutive TCP segments of one flow in a burst as one GSO super-frame
   * (io/gso-send.ts); default true, unless the environment says CNR_AF_PACKET_TX_GSO=0 (for
   * benchmarks comparing the two in the same rounds)
   */
  txGso?: boolean;
  /** leave the kernel's own ARP on for the netdev (default: turned off, see openAfPacket) */
  kernelArp?: boolean;
  /** bring the link up; default true */
  up?: boolean;
  /** socket receive buffer (SO_RCVBUFFORCE), default 4 MiB */
  rcvbuf?: number;
  /**
   * a socket from prepareAfPacket (rings set up, bound to nothing) to use instead of making
   * one; it must have been prepared with this frameSize and the default rings and rcvbuf.
   * openAfPacket owns it from then on (closes it when it fails).
   */
  prepared?: number;
}

/** Ring sizes for a frame size: the default rings' bytes, with a floor on the frame count for larger frames. */
function ringFrames(frameSize: number, rxFrames?: number, txFrames?: number): { rx: number; tx: number } {
  if (frameSize < SLOT_SIZE || frameSize > BLOCK_SIZE || (frameSize & (frameSize - 1)) !== 0) throw new Error(`ring frame of ${frameSize} bytes: not a power of two from ${SLOT_SIZE} to ${BLOCK_SIZE}`);
  return {
    rx: roundFrames(rxFrames ?? Math.max(1024, (4096 * SLOT_SIZE) / frameSize), frameSize),
    tx: roundFrames(txFrames ?? Math.max(512, (2048 * SLOT_SIZE) / frameSize), frameSize),
  };
}

/** A new packet socket with every option set that must precede the rings (protocol 0: nothing is queued to it until bind() names an interface). */
function newPacketSocket(rcvbuf: number): number {
  const fd = libc().socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sysError('socket(AF_PACKET)');
  try {
    setIntOption(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2, 'PACKET_VERSION');
    setIntOption(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, 'PACKET_IGNORE_OUTGOING');
    setIntOption(fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1, 'PACKET_QDISC_BYPASS');
    // a frame the kernel refuses to send is skipped rather than left WRONG_FORMAT in the ring
    setIntOption(fd, SOL_PACKET, PACKET_LOSS, 1, 'PACKET_LOSS');
    setIntOption(fd, SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf, 'SO_RCVBUFFORCE');
    setIntOption(fd, SOL_SOCKET, SO_SNDBUFFORCE, 4 << 20, 'SO_SNDBUFFORCE');
    // before the rings: the header's room is part of each ring frame's layout
    setIntOption(fd, SOL_PACKET, PACKET_VNET_HDR, 1, 'PACKET_VNET_HDR');
    setIntOption(fd, SOL_PACKET, PACKET_COPY_THRESH, 1, 'PACKET_COPY_THRESH');
  } catch (e) {
    libc().close(fd);
    throw e;
  }
  return fd;
}

/**
 * A packet socket with the default rings for `frameSize` set up and bound to nothing, for
 * openAfPacket's `prepared`. The two ring setsockopts (each waits for an RCU grace period)
 * run on libuv's thread pool: the calling thread's event loop runs on meanwhile.
 */
export async function prepareAfPacket(frameSize = SLOT_SIZE): Promise<number> {
  const { rx, tx } = ringFrames(frameSize);
  const fd = newPacketSocket(DEFAULT_RCVBUF);
  try {
    await requestPacketRingAsync(fd, PACKET_RX_RING, rx, frameSize, BLOCK_SIZE);
    await requestPacketRingAsync(fd, PACKET_TX_RING, tx, frameSize, BLOCK_SIZE);
  } catch (e) {
    closeInBackground(fd);
    throw e;
  }
  return fd;
}

/** A worker thread's way to have an fd closed by the main thread (setFdCloser). */
let fdCloser: ((fd: number) => void) | undefined;

/**
 * In a forwarding worker: hand the fds closeInBackground gets to `closer` (the worker posts
 * them to the main thread). A worker's loop never returns to its event loop, so koffi's async
 * calls made there never complete on the JS side and their count reaches koffi's limit.
 */
export function setFdCloser(closer: (fd: number) => void): void {
  fdCloser = closer;
}

/**
 * close(fd) off the calling thread: the last close of a packet socket with rings waits for
 * RCU grace periods (~35 ms). In a forwarding worker (setFdCloser) it goes to the closer;
 * on any thread whose event loop runs (the process's main thread, or the vRouter thread of
 * `cnr start`, a worker itself) it runs on libuv's thread pool (koffi's async call); only when
 * koffi refuses more async calls is it closed here. (Keying this on isMainThread closed every
 * detached vif synchronously on the vRouter thread, stalling its loop ~35-50 ms per DEL.)
 */
export function closeInBackground(fd: number): void {
  if (fdCloser) {
    fdCloser(fd);
    return;
  }
  try {
    (libc().close as unknown as { async(fd: number, cb: (err: unknown, r: number) => void): void }).async(fd, () => {});
  } catch {
    libc().close(fd);
  }
}

export interface AfPacketStats {
  rxFrames: number;
  txFrames: number;
  /** received frames that did not fit a pool slot or found the pool empty */
  rxDropped: number;
  /** frames refused by txBurst because the ring was full */
  txRingFull: number;
  /** frames the kernel dropped because the RX ring was full (PACKET_STATISTICS, cumulative) */
  kernelDrops: number;
  /** frames whose partial checksum was completed in software */
  csumCompleted: number;
  /** GSO/GRO super-frames cut into segments, and the segments made */
  gsoFrames: number;
  gsoSegments: number;
  /** super-frames not segmented (a GSO type io/gso.ts does not handle) */
  gsoUnsupported: number;
  /** frames longer than a pool slot that could not be cut (not TCP) */
  rxTooBig: number;
  /** frames dropped for want of a buffer: the pool had no free slot, or the socket no room to queue a long frame whole */
  rxNoBuffer: number;
  /** GSO super-frames sent (io/gso-send.ts), the segments in them (counted in txFrames too), and sends that failed (their segments went by the ring) */
  txGsoFrames: number;
  txGsoSegments: number;
  txGsoFailed: number;
  /** TCP super-frames received and carried through the graph whole (io/super-frame.ts), and the segments they stood for */
  carried: number;
  carriedSegments: number;
}

export interface AfPacketDriver extends IoDriver {
  readonly ifindex: number;
  stats(): AfPacketStats;
}

function roundFrames(n: number, frameSize: number): number {
  const perBlock = BLOCK_SIZE / frameSize;
  return Math.max(perBlock, Math.ceil(n / perBlock) * perBlock);
}

export function openAfPacket(ifname: string, opts: AfPacketOptions = {}): AfPacketDriver {
  const c = libc();
  const frameSize = opts.frameSize ?? SLOT_SIZE;
  let fd = opts.prepared ?? -1;
  let mapPtr: unknown = null;
  let mapLen = 0;
  try {
    const ifindex = interfaceIndex(ifname);
    if (opts.up !== false) setInterfaceUp(ifname);
    const txGso = opts.txGso ?? process.env['CNR_AF_PACKET_TX_GSO'] !== '0';
    if (opts.disableOffloads !== false) disableOffloads(ifname, txGso);
    // The kernel answers ARP for any of its addresses on any netdev (arp_ignore=0), and the
    // router's own addresses live on vhost0 in the same kernel: left alone it would race the
    // data plane's ARP replies with the netdev's kernel MAC, which the kernel then drops.
    if (opts.kernelArp !== true) disableKernelArp(ifname);
    const hwaddr = interfaceMac(ifname);
    let rings: { rx: number; tx: number };
    try {
      rings = ringFrames(frameSize, opts.prepared === undefined ? opts.rxFrames : undefined, opts.prepared === undefined ? opts.txFrames : undefined);
    } catch (e) {
      throw new Error(`af-packet ${ifname}: ${(e as Error).message}`);
    }
    const vif = opts.vif ?? 0;
    mapLen = (rings.rx + rings.tx) * frameSize;
    if (fd < 0) {
      fd = newPacketSocket(opts.rcvbuf ?? DEFAULT_RCVBUF);
      requestPacketRing(fd, PACKET_RX_RING, rings.rx, frameSize, BLOCK_SIZE);
      requestPacketRing(fd, PACKET_TX_RING, rings.tx, frameSize, BLOCK_SIZE);
    }
    // RX ring first, TX ring right after it, in one mapping.
    mapPtr = c.mmap(null, mapLen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (mapFailed(mapPtr)) {
      mapPtr = null;
      throw sysError('mmap(packet rings)');
    }
    if (c.bind(fd, sockaddrLl(ifindex), 20) < 0) throw sysError(`bind(AF_PACKET, ${ifname})`);
    return new AfPacket(ifname, ifindex, hwaddr, fd, mapPtr, mapLen, rings.rx, rings.tx, vif, frameSize, txGso);
  } catch (e) {
    if (mapPtr !== null) c.munmap(mapPtr, mapLen);
    if (fd >= 0) closeInBackground(fd);
    throw e;
  }
}

class AfPacket implements AfPacketDriver {
  private ring: Uint8Array;
  /** the ring as 32-bit words, for status and length fields (frames are 2048-byte aligned) */
  private words: Uint32Array;
  /** the ring as a DataView, for copyWords */
  private view: DataView;
  private rxHead = 0;
  private txHead = 0;
  private txPending = 0;
  /** txPending at the previous flush() that did not kick */
  private txPendingSeen = 0;
  private closed = false;
  private readonly txBase: number;
  private readonly statsBuf = new Uint8Array(8);
  private readonly statsLen = new Int32Array(1);
  private readonly counters = { rxFrames: 0, txFrames: 0, txRingFull: 0, kernelDrops: 0, rxTooBig: 0, rxNoBuffer: 0 };
  /** carried super-frames sent whole (txSuper), and the segments they stood for */
  private txCarried = 0;
  private txCarriedSegments = 0;
  private readonly gso: VnetReceiver;
  /** TCP segments out as GSO super-frames (io/gso-send.ts); undefined with txGso false */
  private readonly gsoSend: GsoSender | undefined;
  /** for frames the kernel queues whole on the socket (TP_STATUS_COPY), made on first use */
  private copyBuf: Uint8Array | undefined;
  private copyView: DataView | undefined;
  /** length of a frame in copyBuf that waits for the next burst (0: none) */
  private copyPending = 0;

  constructor(
    readonly name: string,
    readonly ifindex: number,
    readonly hwaddr: Uint8Array,
    private fdNum: number,
    private mapPtr: unknown,
    private readonly mapLen: number,
    private readonly rxFrames: number,
    private readonly txFrames: number,
    private readonly vif: number,
    private readonly frameSize: number,
    txGso: boolean,
  ) {
    const ab = viewMemory(mapPtr, mapLen);
    this.ring = new Uint8Array(ab);
    this.words = new Uint32Array(ab);
    this.view = new DataView(ab);
    this.txBase = rxFrames * frameSize;
    this.gso = new VnetReceiver(vif);
    this.gsoSend = txGso ? new GsoSender(ifindex) : undefined;
  }

  get fd(): number {
    return this.fdNum;
  }

  rxBurst(pool: PacketPool, out: Uint32Array, max: number): number {
    const ring = this.ring;
    const words = this.words;
    const rv = this.view;
    const data = pool.data;
    const pv = pool.view;
    const slotSize = pool.slotSize;
    const maxFrame = pool.maxFrame;
    const frameSize = this.frameSize;
    // carried super-frames' extra segments count against max in io/gso.ts (RX_NO_ROOM), not
    // here: the burst stands for at most 2 * max segments, within the graph's queues
    this.gso.burstExtra = 0;
    let n = 0;
    let head = this.rxHead;
    while (n < max) {
      const h = head * frameSize;
      const status = words[h >>> 2]!;
      if ((status & TP_STATUS_USER) === 0) break;
      const len = words[(h + H_SNAPLEN) >>> 2]!;
      const mac = h + (ring[h + H_MAC]! | (ring[h + H_MAC + 1]! << 8));
      const tagged = (status & TP_STATUS_VLAN_VALID) !== 0;
      // virtio_net_hdr flags and gso_type: both zero for a plain frame with a finished checksum
      const offload = ring[mac - VNET_HDR_LEN]! | ring[mac - VNET_HDR_LEN + 1]!;
      // (and frames too long for a pool slot, which io/gso.ts cuts when they are TCP)
      if (offload !== 0 || (status & TP_STATUS_COPY) !== 0 || words[(h + H_LEN) >>> 2] !== len || len > maxFrame - 4) {
        const m = this.rxSlow(status, h, mac, len, pool, out, n, max);
        if (m === RX_NO_ROOM) break;
        n = m;
      } else {
        const total = tagged ? len + 4 : len;
        const slot = total <= maxFrame && len >= 14 ? pool.alloc() : -1;
        if (slot < 0) {
          if (len >= 14 && total <= maxFrame) this.counters.rxNoBuffer++;
          else this.counters.rxTooBig++;
        } else {
          const dst = slot * slotSize + HEADROOM;
          if (!tagged) {
            // 8-byte moves where both ends have room for the rounding (the frame's own slot and ring frame)
            if (fitsWords(HEADROOM, len, slotSize) && fitsWords(mac - h, len, frameSize)) copyWords(rv, mac, pv, dst, len);
            else data.set(ring.subarray(mac, mac + len), dst);
          } else {
            this.reinsertVlan(status, h, mac, len, data, dst);
          }
          pool.len[slot] = total;
          pool.rxVif[slot] = this.vif;
          out[n++] = slot;
        }
      }
      words[h >>> 2] = TP_STATUS_KERNEL;
      head = head + 1 === this.rxFrames ? 0 : head + 1;
    }
    this.rxHead = head;
    this.counters.rxFrames += n;
    return n;
  }

  /**
   * A ring frame that is not a plain finished frame: a super-frame or a partial checksum
   * (io/gso.ts), or a frame too long for the ring (TP_STATUS_COPY: read it whole from the
   * socket; when its segments do not fit the rest of `out`, it waits in copyBuf, its ring
   * entry unreleased, for the next burst).
   * Returns the new count, or RX_NO_ROOM to leave the frame in the ring for the next burst.
   */
  private rxSlow(status: number, h: number, mac: number, len: number, pool: PacketPool, out: Uint32Array, n: number, max: number): number {
    const ring = this.ring;
    const vlan = (status & TP_STATUS_VLAN_VALID) !== 0 ? this.vlanWord(status, h) : -1;
    if ((status & TP_STATUS_COPY) === 0) {
      if (this.words[(h + H_LEN) >>> 2] !== len) {
        // longer than a ring frame, and no copy queued because the socket's receive buffer
        // was full (SO_RCVBUFFORCE): a buffer shortage, not the frame's fault
        this.counters.rxNoBuffer++;
        return n;
      }
      return this.gso.rxFrame(ring, this.view, mac - VNET_HDR_LEN, mac, len, vlan, pool, out, n, max);
    }
    this.copyBuf ??= new Uint8Array(COPY_BUF);
    this.copyView ??= new DataView(this.copyBuf.buffer);
    // a frame read earlier whose segments did not fit that burst is still in copyBuf
    const r = this.copyPending > 0 ? this.copyPending : libc().read(this.fdNum, this.copyBuf, COPY_BUF);
    this.copyPending = 0;
    if (r < VNET_HDR_LEN + 14) {
      // the queued copy is gone (the socket was drained elsewhere?) or empty: count the ring entry
      this.counters.rxTooBig++;
      return n;
    }
    const m = this.gso.rxFrame(this.copyBuf, this.copyView, 0, VNET_HDR_LEN, r - VNET_HDR_LEN, vlan, pool, out, n, max);
    // keep it for the next burst, with its ring entry (not released: the loop stops here)
    if (m === RX_NO_ROOM) this.copyPending = r;
    return m;
  }

  /** The out-of-band 802.1Q tag of a ring frame as tpid * 65536 + tci (io/gso.ts's form). */
  private vlanWord(status: number, h: number): number {
    const ring = this.ring;
    const tci = ring[h + H_VLAN_TCI]! | (ring[h + H_VLAN_TCI + 1]! << 8);
    const tpid = status & TP_STATUS_VLAN_TPID_VALID ? ring[h + H_VLAN_TPID]! | (ring[h + H_VLAN_TPID + 1]! << 8) : 0x8100;
    return tpid * 65536 + tci;
  }

  /** The kernel delivers 802.1Q tags out of band (tp_vlan_tci): put the tag back after the MACs. */
  private reinsertVlan(status: number, h: number, mac: number, len: number, data: Uint8Array, dst: number): void {
    const ring = this.ring;
    const tci = ring[h + H_VLAN_TCI]! | (ring[h + H_VLAN_TCI + 1]! << 8);
    const tpid = status & TP_STATUS_VLAN_TPID_VALID ? ring[h + H_VLAN_TPID]! | (ring[h + H_VLAN_TPID + 1]! << 8) : 0x8100;
    data.set(ring.subarray(mac, mac + 12), dst);
    data[dst + 12] = tpid >>> 8;
    data[dst + 13] = tpid & 0xff;
    data[dst + 14] = tci >>> 8;
    data[dst + 15] = tci & 0xff;
    data.set(ring.subarray(mac + 12, mac + len), dst + 16);
  }

  txBurst(pool: PacketPool, idx: Uint32Array, start: number, count: number): number {
    const g = this.gsoSend;
    if (g === undefined || count < 2) return this.txRing(pool, idx, start, start + count);
    // Look for runs of TCP segments to send as GSO super-frames (io/gso-send.ts); everything
    // between them goes into the ring by txRing, the loop of a burst without GSO. A frame
    // shorter than MIN_MERGE costs one length test here.
    const end = start + count;
    const mergeEnd = start + Math.min(count, g.off.length);
    const slotSize = pool.slotSize;
    const data = pool.data;
    let queued = 0;
    // frames before `from` are sent (ring or super-frame)
    let from = start;
    // the coalescer's view of the burst, filled from the first frame worth merging on
    let filled = -1;
    for (let k = start; k < mergeEnd - 1; k++) {
      if (pool.len[idx[k]!]! < MIN_MERGE) continue;
      const j = k - start;
      if (filled < 0) {
        for (let q = j; q < mergeEnd - start; q++) {
          const sl = idx[start + q]!;
          g.off[q] = sl * slotSize + pool.start[sl]!;
          g.len[q] = pool.len[sl]!;
          g.trusted[q] = pool.flags[sl]! & PF_CSUM_SELF;
        }
        filled = j;
      }
      const run = g.coalescer.run(data, g.off, g.len, j, mergeEnd - start, g.trusted);
      if (run < 2) continue;
      if (k > from) queued += this.txRing(pool, idx, from, k);
      // what the ring holds leaves first (the super-frame takes another socket)
      if (this.txPending > 0) this.kick();
      if (g.send(g.coalescer.build(data, g.off, g.len, j, run), run)) {
        for (let q = k; q < k + run; q++) pool.free(idx[q]!);
        queued += run;
        this.counters.txFrames += run;
      } else queued += this.txRing(pool, idx, k, k + run); // refused: the segments go one by one
      from = k + run;
      k = from - 1;
    }
    if (from < end) queued += this.txRing(pool, idx, from, end);
    return queued;
  }

  get carriedRx(): CarriedRx {
    return this.gso.carriedRx;
  }

  setCarry(when: (() => boolean) | null): void {
    this.gso.carry = when;
  }

  /**
   * A TCP super-frame carried through the graph whole (io/super-frame.ts) sent as one GSO frame
   * by the GSO send's socket, after what the ring holds; 0 (the graph cuts it into the ring)
   * without the GSO send, for a tagged or labelled frame, or when the kernel refuses it.
   */
  txSuper(pool: PacketPool, slot: number): number {
    const g = this.gsoSend;
    if (g === undefined) return 0;
    const st = pool.supers;
    const id = pool.sup[slot]! - 1;
    const off = pool.offset(slot);
    const len = pool.len[slot]!;
    const et = (pool.data[off + 12]! << 8) | pool.data[off + 13]!;
    if (et !== 0x0800 && et !== 0x86dd) return 0;
    const at = st.assemble(id, pool.data, off, len);
    if (at < 0) return 0;
    const h = len - Math.min(st.mss[id]!, st.payLen[id]!);
    const vh = st.gsoHeader(id, at, h);
    const w = at - vh + h + st.payLen[id]!;
    const segs = st.segments(id);
    if (this.txPending > 0) this.kick();
    if (!g.sendFrom(st.bufs[id]!.subarray(vh, vh + w), w, segs)) return 0;
    this.counters.txFrames += segs;
    this.txCarried++;
    this.txCarriedSegments += segs;
    return segs;
  }

  /** Queue idx[from..to) in the TX ring (the kick is flush()'s); returns how many were queued. */
  private txRing(pool: PacketPool, idx: Uint32Array, from: number, to: number): number {
    const slotSize = pool.slotSize;
    const frameSize = this.frameSize;
    const ring = this.ring;
    const words = this.words;
    const rv = this.view;
    const data = pool.data;
    const pv = pool.view;
    let queued = 0;
    let head = this.txHead;
    for (let k = from; k < to; k++) {
      const slot = idx[k]!;
      const h = this.txBase + head * frameSize;
      let status = words[h >>> 2]!;
      if (status === TP_STATUS_WRONG_FORMAT) status = words[h >>> 2] = TP_STATUS_AVAILABLE;
      const len = pool.len[slot]!;
      if (status !== TP_STATUS_AVAILABLE || len > frameSize - TX_FRAME) {
        this.counters.txRingFull++;
        pool.free(slot);
        continue;
      }
      const s = pool.start[slot]!;
      const src = slot * slotSize + s;
      // a virtio_net_hdr (no GSO, checksum finished) whose hdr_len (bytes 2-3, little-endian)
      // covers the whole frame, so the kernel copies it into the skb's own buffer (LINEAR_TX_MAX)
      const d = h + TX_FRAME;
      words[(h + TX_DATA) >>> 2] = len <= LINEAR_TX_MAX ? len << 16 : 0;
      words[(h + TX_DATA + 4) >>> 2] = 0;
      ring[h + TX_DATA + 8] = 0;
      ring[h + TX_DATA + 9] = 0;
      if (fitsWords(s, len, slotSize) && fitsWords(TX_FRAME, len, frameSize)) copyWords(pv, src, rv, d, len);
      else ring.set(data.subarray(src, src + len), d);
      words[(h + H_LEN) >>> 2] = len + VNET_HDR_LEN;
      words[h >>> 2] = TP_STATUS_SEND_REQUEST;
      pool.free(slot);
      head = head + 1 === this.txFrames ? 0 : head + 1;
      queued++;
    }
    this.txHead = head;
    this.txPending += queued;
    this.counters.txFrames += queued;
    return queued;
  }

  /**
   * One sendto() sends every requested frame, but each call costs a syscall, so small bursts
   * are held back: the kick happens once KICK_BATCH frames wait, or on the first flush() that
   * finds nothing new queued since the previous one (the worker's next loop turn), so a lone
   * frame waits one turn at most.
   */
  flush(): void {
    const pending = this.txPending;
    if (pending === 0 || this.closed) return;
    if (pending < KICK_BATCH && pending !== this.txPendingSeen) {
      this.txPendingSeen = pending;
      return;
    }
    this.kick();
  }

  /** Send every requested ring frame now. */
  private kick(): void {
    this.txPending = 0;
    this.txPendingSeen = 0;
    // With MSG_DONTWAIT the kernel sends every SEND_REQUEST frame it finds and returns;
    // EAGAIN (device queue full) leaves them requested for the next kick.
    if (libc().sendto(this.fdNum, null, 0, MSG_DONTWAIT, null, 0) < 0 && errno() === EAGAIN) this.txPending = 1;
  }

  stats(): AfPacketStats {
    if (!this.closed) {
      const b = this.statsBuf;
      const len = this.statsLen;
      len[0] = 8;
      // PACKET_STATISTICS resets on read: accumulate
      if (libc().getsockopt(this.fdNum, SOL_PACKET, PACKET_STATISTICS, b, len) === 0) this.counters.kernelDrops += new DataView(b.buffer).getUint32(4, true);
    }
    const c = this.counters;
    const g = this.gso.counters;
    return {
      rxFrames: c.rxFrames,
      txFrames: c.txFrames,
      rxDropped: c.rxTooBig + c.rxNoBuffer + g.tooBig + g.poolEmpty + g.unsupported,
      txRingFull: c.txRingFull,
      kernelDrops: c.kernelDrops,
      csumCompleted: g.csumCompleted,
      gsoFrames: g.superFrames,
      gsoSegments: g.segments,
      gsoUnsupported: g.unsupported,
      rxTooBig: c.rxTooBig + g.tooBig,
      rxNoBuffer: c.rxNoBuffer + g.poolEmpty,
      txGsoFrames: this.gsoSend?.frames ?? 0,
      txGsoSegments: this.gsoSend?.segments ?? 0,
      txGsoFailed: this.gsoSend?.failed ?? 0,
      carried: g.carried,
      carriedSegments: g.carriedSegments,
    };
  }

  ioCounters(): IoCounters {
    const s = this.stats();
    return {
      kernelDrops: s.kernelDrops,
      rxTooBig: s.rxTooBig,
      rxNoBuffer: s.rxNoBuffer,
      gsoUnsupported: s.gsoUnsupported,
      invalidDescs: 0,
      txRingFull: s.txRingFull,
      gsoFrames: s.gsoFrames,
      gsoSegments: s.gsoSegments,
      csumCompleted: s.csumCompleted,
      poolEmpty: 0,
      fillRingEmpty: 0,
      txRingEmpty: 0,
      txGsoFrames: s.txGsoFrames,
      txGsoSegments: s.txGsoSegments,
      carried: s.carried,
      carriedSegments: s.carriedSegments,
      txCarried: this.txCarried,
      txCarriedSegments: this.txCarriedSegments,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ring = new Uint8Array(0);
    this.words = new Uint32Array(0);
    this.view = new DataView(new ArrayBuffer(0));
    libc().munmap(this.mapPtr, this.mapLen);
    // unbinding is immediate (packet_release unhooks the socket first); the grace periods after it are not
    closeInBackground(this.fdNum);
    this.fdNum = -1;
    const gsoFd = this.gsoSend?.takeFd() ?? -1;
    if (gsoFd >= 0) closeInBackground(gsoFd);
    this.mapPtr = null;
  }
}
