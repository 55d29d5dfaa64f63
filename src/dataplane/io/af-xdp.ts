/**
 * The AF_XDP driver: an XDP program on the netdev redirects every received frame to an
 * AF_XDP socket whose rings and packet memory (the UMEM) are mapped into JS through koffi,
 * so frames reach the data plane without an skb and without a syscall per burst on receive.
 *
 * Pieces (linux/if_xdp.h): a UMEM of 2048-byte chunks (anonymous memory registered with
 * XDP_UMEM_REG); four single-producer/single-consumer rings of u32 producer and consumer
 * indices plus descriptors: FILL (we give the kernel empty chunks for receiving), RX (the
 * kernel hands us received frames as {addr, len}), TX (we hand it frames to send) and
 * COMPLETION (it gives sent chunks back). The XDP program (bpf.ts) runs on every frame and
 * calls bpf_redirect_map on an XSKMAP holding this socket at the receive queue's index; the
 * program is attached as a BPF link (so it goes when the process does, however it ends), or
 * over rtnetlink on kernels without XDP links (xdp-attach.ts), native (driver) mode first,
 * generic (SKB) mode when the driver refuses, and detached again by close().
 *
 * The UMEM is split: RX chunks circulate FILL -> RX -> (copied into a pool slot) -> FILL;
 * TX chunks circulate free list -> TX -> COMPLETION -> free list. Frames are copied between
 * the UMEM and the PacketPool, as the AF_PACKET driver copies from its rings (in 8-byte
 * moves, io/copy.ts). Avoiding the copy would mean registering the pool's own memory as the
 * UMEM (unaligned-chunk mode, since the pool's buffer is not page-aligned) and letting the
 * kernel hold pool slots in the fill ring and until TX completion: not done, and on veths
 * the vRouter's side is not where the time goes (docs/design.md). Sockets are bound in copy
 * mode (XDP_COPY): veths have no zero-copy support. With XDP_USE_NEED_WAKEUP the kernel
 * tells us when a TX kick (sendto) is needed; in copy mode it always is, and one sendto()
 * sends up to the socket's TX budget (XDP_MAX_TX_SKB_BUDGET, raised here when the kernel
 * has the option).
 *
 * Frames longer than a chunk (jumbo frames; in generic (SKB) mode also GSO/GRO super-frames,
 * which reach the program whole) come as several descriptors, each but the last marked
 * XDP_PKT_CONTD (multi-buffer AF_XDP: the socket bound with XDP_USE_SG, the program loaded
 * with BPF_F_XDP_HAS_FRAGS, Linux 6.6+). They are gathered into one buffer and taken as the
 * AF_PACKET driver takes a frame too long for its ring (io/gso.ts): whole into a pool slot if
 * it fits, else, for TCP, cut into segments that fit both a slot and the link's MTU (the
 * redirect lost the GSO size); anything else too long is dropped and counted. On transmit a
 * frame longer than a chunk goes out as a chain of descriptors. On older kernels (no
 * XDP_USE_SG) the driver binds without it, and frames above a chunk are the kernel's drops.
 *
 * Malformed descriptors (an address outside the UMEM, a length that does not fit a pool
 * slot or is shorter than an Ethernet header) are dropped and counted; the chunk still goes
 * back to the fill ring.
 */
import koffi from 'koffi';
import type { IoCounters, IoDriver } from './driver.js';
import { HEADROOM, type PacketPool } from '../pool.js';
import {
  AF_XDP, EAGAIN, EBUSY, EINVAL, ENOBUFS, ENOSPC, ERANGE, MAP_POPULATE, MAP_PRIVATE_ANON, MAP_SHARED, MSG_DONTWAIT, PROT_RW, SOCK_CLOEXEC, SOCK_RAW, SOL_XDP,
} from '../../sys/constants.js';
import {
  closeFd, disableKernelArp, disableOffloads, errno, interfaceIndex, interfaceMac, interfaceMtu, libc, mapFailed, rxQueueCount, setIntOption, setInterfaceUp, sysError, viewMemory,
} from '../../sys/libc.js';
import { createXskMap, linkCreateXdp, loadXdpProgram, mapUpdate, xskRedirectProgram } from './bpf.js';
import { attachXdp, detachXdp, modeFlag, type XdpMode } from './xdp-attach.js';
import { copyWords, fitsWords } from './copy.js';
import { completeIfPartial, RX_NO_ROOM, VNET_HDR_LEN, VnetReceiver } from './gso.js';

const XDP_MMAP_OFFSETS = 1;
const XDP_RX_RING = 2;
const XDP_TX_RING = 3;
const XDP_UMEM_REG = 4;
const XDP_UMEM_FILL_RING = 5;
const XDP_UMEM_COMPLETION_RING = 6;
const XDP_STATISTICS = 7;
const XDP_MAX_TX_SKB_BUDGET = 9;
const XDP_COPY = 1 << 1;
const XDP_USE_NEED_WAKEUP = 1 << 3;
const XDP_USE_SG = 1 << 4;
/** xdp_desc.options: more descriptors of the same frame follow */
const XDP_PKT_CONTD = 1;
const XDP_RING_NEED_WAKEUP = 1;
const XDP_PGOFF_RX_RING = 0;
const XDP_PGOFF_TX_RING = 0x80000000;
const XDP_UMEM_PGOFF_FILL_RING = 0x100000000;
const XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000;

export const CHUNK_SIZE = 2048;
const CHUNK_SHIFT = 11;
/** frames that make a TX kick worth its syscall at once (as in af-packet.ts) */
const KICK_BATCH = 32;
/** sendto() calls per flush at most: each sends up to the TX budget */
const MAX_KICKS = 16;
/** the longest multi-buffer frame gathered: a 64 KiB GSO frame and its headers, with room for BIG TCP's 3x (as af-packet's COPY_BUF) */
const MULTI_MAX = 3 * 65536 + 256;
/** multi-buffer frames taken per rxBurst at most (each can give tens of segments) */
const MULTI_PER_BURST = 16;

export interface AfXdpOptions {
  /** UMEM chunks for receiving (the fill and RX ring size; a power of two); default 4096 */
  rxFrames?: number;
  /** UMEM chunks for sending (the TX and completion ring size; a power of two); default 2048 */
  txFrames?: number;
  /** vif id written to pool.rxVif for received frames; default 0 */
  vif?: number;
  /** 'native' (driver XDP), 'skb' (generic XDP) or 'auto' (native, else skb); default 'auto' */
  mode?: XdpMode | 'auto';
  /** the netdev queue to bind; default 0 (a veth has one queue unless created with more) */
  queue?: number;
  /** run `ethtool -K IF tx off tso off gso off gro off`; default true */
  disableOffloads?: boolean;
  /** leave the kernel's own ARP on for the netdev (default: turned off, as af-packet does) */
  kernelArp?: boolean;
  /** bring the link up; default true */
  up?: boolean;
}

export interface AfXdpStats {
  rxFrames: number;
  txFrames: number;
  /** received descriptors that were malformed or did not fit a pool slot */
  rxDropped: number;
  /** rxBurst calls that left frames in the RX ring because the pool had no free slot */
  poolEmpty: number;
  /** frames refused by txBurst: no free UMEM chunk or TX ring slot, or too long */
  txRingFull: number;
  /** frames the kernel dropped (XDP_STATISTICS rx_dropped + rx_ring_full) */
  kernelDrops: number;
  /** times the kernel found the fill ring empty */
  fillRingEmpty: number;
  /** times the kernel found our TX ring empty when asked to send (XDP_STATISTICS tx_ring_empty_descs) */
  txRingEmpty: number;
  /** descriptors the kernel refused (rx + tx invalid) */
  invalidDescs: number;
  /** received descriptors longer than a pool slot (part of rxDropped) */
  rxTooBig: number;
  /** partial checksums completed in software (completeIfPartial) */
  csumCompleted: number;
  /** frames that came in several chunks (multi-buffer), and those cut into TCP segments, with the segments made */
  multiFrames: number;
  superFrames: number;
  segments: number;
  /** multi-buffer frames dropped: too long for a slot and not TCP, malformed, or no pool slots for their segments */
  multiDropped: number;
  /** frames sent as chains of descriptors */
  txMulti: number;
}

export interface AfXdpDriver extends IoDriver {
  readonly ifindex: number;
  /** where the XDP program runs: 'native' (in the driver) or 'skb' (generic, after skb allocation) */
  readonly mode: XdpMode;
  /** the link's IP MTU (set at open from the netdev): TCP gathered from several chunks is cut to fit it */
  linkMtu: number;
  stats(): AfXdpStats;
}

/**
 * One mmapped ring: producer and consumer words, flags, and descriptors, all as u32 words.
 * The indices are read and written as plain typed-array elements, as af-packet.ts does with
 * its status words: x86 keeps stores in order and loads in order (TSO), and Atomics.load/store
 * on a non-shared buffer are calls into V8 builtins, not inlined (they cost ~10% of the
 * forwarding CPU in a profile). The kernel side uses acquire/release barriers.
 */
export interface Ring {
  ptr: unknown;
  len: number;
  w: Uint32Array;
  /** word indices */
  prod: number;
  cons: number;
  flags: number;
  desc: number;
  mask: number;
}

function isPow2(n: number): boolean {
  return n >= 8 && (n & (n - 1)) === 0;
}

function mapRing(fd: number, offsets: DataView, which: number, entries: number, descSize: number, pgoff: number, what: string): Ring {
  const o = which * 32; // struct xdp_ring_offset { u64 producer, consumer, desc, flags }
  const prod = Number(offsets.getBigUint64(o, true));
  const cons = Number(offsets.getBigUint64(o + 8, true));
  const desc = Number(offsets.getBigUint64(o + 16, true));
  const flags = Number(offsets.getBigUint64(o + 24, true));
  const len = desc + entries * descSize;
  const ptr = libc().mmap(null, len, PROT_RW, MAP_SHARED | MAP_POPULATE, fd, pgoff);
  if (mapFailed(ptr)) throw sysError(`mmap(${what} ring)`);
  const w = new Uint32Array(viewMemory(ptr, len));
  return { ptr, len, w, prod: prod >>> 2, cons: cons >>> 2, flags: flags >>> 2, desc: desc >>> 2, mask: entries - 1 };
}

export function openAfXdp(ifname: string, opts: AfXdpOptions = {}): AfXdpDriver {
  const rxFrames = opts.rxFrames ?? 4096;
  const txFrames = opts.txFrames ?? 2048;
  if (!isPow2(rxFrames) || !isPow2(txFrames)) throw new Error(`af-xdp ${ifname}: rxFrames and txFrames must be powers of two >= 8`);
  const queue = opts.queue ?? 0;
  const ifindex = interfaceIndex(ifname);
  // A socket receives only from the queue it is bound to; frames of the other queues would
  // pass to the kernel unseen by the data plane. Refuse rather than lose them.
  const queues = rxQueueCount(ifname);
  if (opts.queue === undefined && queues > 1) {
    throw new Error(`af-xdp ${ifname}: ${queues} receive queues, the driver serves one: reduce them to one (ethtool -L ${ifname} rx 1, or combined 1) or use af-packet`);
  }
  if (opts.up !== false) setInterfaceUp(ifname);
  if (opts.disableOffloads !== false) disableOffloads(ifname);
  // as af-packet: the kernel must not answer ARP on the netdev with its own MAC
  if (opts.kernelArp !== true) disableKernelArp(ifname);
  const hwaddr = interfaceMac(ifname);

  const cleanup: (() => void)[] = [];
  const undo = (): void => {
    for (const f of cleanup.reverse()) {
      try {
        f();
      } catch {
        // best effort: keep undoing the rest
      }
    }
  };
  try {
    const s = openXskSocket(ifname, ifindex, queue, rxFrames, txFrames);
    cleanup.push(s.close);
    const mapFd = createXskMap(Math.max(queue + 1, 1));
    cleanup.push(() => closeFd(mapFd));
    mapUpdate(mapFd, queue, s.fd);
    // multi-buffer aware when the socket is: frames above a page then reach it whole, and
    // native XDP on a veth allows the peer a jumbo MTU (veth_xdp_set: max_mtu grows by the
    // fragments' pages)
    const progFd = loadProgram(mapFd, s.sg);
    cleanup.push(() => closeFd(progFd));
    const { mode, detach } = attach(ifname, ifindex, progFd, opts.mode ?? envMode());
    cleanup.push(detach);
    const drv = new AfXdp(ifname, ifindex, hwaddr, mode, s, rxFrames, txFrames, opts.vif ?? 0, undo);
    drv.linkMtu = interfaceMtu(ifname);
    return drv;
  } catch (e) {
    undo();
    throw e;
  }
}

/** A bound AF_XDP socket with its UMEM and four mapped rings (every RX chunk already in the fill ring). */
export interface XskSocket {
  fd: number;
  umemPtr: unknown;
  umemLen: number;
  rx: Ring;
  tx: Ring;
  fill: Ring;
  comp: Ring;
  /** frames one sendto() sends at most (32 unless XDP_MAX_TX_SKB_BUDGET took a larger value) */
  txBudget: number;
  /** bound with XDP_USE_SG: frames longer than a chunk arrive and leave as descriptor chains */
  sg: boolean;
  /** unmap everything and close the socket */
  close(): void;
}

/**
 * Create the socket, register a UMEM of rxFrames + txFrames chunks, size and map the rings
 * and bind to (ifindex, queue) in copy mode with XDP_USE_NEED_WAKEUP, and XDP_USE_SG when
 * `sg` and the kernel has it (6.6+). No XDP program yet: until one redirects to the socket,
 * it receives nothing.
 */
export function openXskSocket(ifname: string, ifindex: number, queue: number, rxFrames: number, txFrames: number, sg = true): XskSocket {
  const c = libc();
  const cleanup: (() => void)[] = [];
  const undo = (): void => {
    for (const f of cleanup.reverse()) f();
  };
  try {
    const fd = c.socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) throw sysError('socket(AF_XDP)');
    cleanup.push(() => closeFd(fd));

    const umemLen = (rxFrames + txFrames) * CHUNK_SIZE;
    const umemPtr = c.mmap(null, umemLen, PROT_RW, MAP_PRIVATE_ANON | MAP_POPULATE, -1, 0);
    if (mapFailed(umemPtr)) throw sysError('mmap(UMEM)');
    cleanup.push(() => c.munmap(umemPtr, umemLen));
    // struct xdp_umem_reg { u64 addr, len; u32 chunk_size, headroom, flags, tx_metadata_len }
    const reg = new Uint8Array(32);
    const rv = new DataView(reg.buffer);
    rv.setBigUint64(0, BigInt(koffi.address(umemPtr)), true);
    rv.setBigUint64(8, BigInt(umemLen), true);
    rv.setUint32(16, CHUNK_SIZE, true);
    if (c.setsockopt(fd, SOL_XDP, XDP_UMEM_REG, reg, 32) < 0) throw sysError('setsockopt(XDP_UMEM_REG)');

    setIntOption(fd, SOL_XDP, XDP_UMEM_FILL_RING, rxFrames, 'XDP_UMEM_FILL_RING');
    setIntOption(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, txFrames, 'XDP_UMEM_COMPLETION_RING');
    setIntOption(fd, SOL_XDP, XDP_RX_RING, rxFrames, 'XDP_RX_RING');
    setIntOption(fd, SOL_XDP, XDP_TX_RING, txFrames, 'XDP_TX_RING');
    const off = new Uint8Array(128);
    if (c.getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, off, new Int32Array([128])) < 0) throw sysError('getsockopt(XDP_MMAP_OFFSETS)');
    const ov = new DataView(off.buffer);
    const rings: Ring[] = [];
    cleanup.push(() => {
      for (const r of rings) c.munmap(r.ptr, r.len);
    });
    const rx = mapRing(fd, ov, 0, rxFrames, 16, XDP_PGOFF_RX_RING, 'RX');
    rings.push(rx);
    const tx = mapRing(fd, ov, 1, txFrames, 16, XDP_PGOFF_TX_RING, 'TX');
    rings.push(tx);
    const fill = mapRing(fd, ov, 2, rxFrames, 8, XDP_UMEM_PGOFF_FILL_RING, 'fill');
    rings.push(fill);
    const comp = mapRing(fd, ov, 3, txFrames, 8, XDP_UMEM_PGOFF_COMPLETION_RING, 'completion');
    rings.push(comp);

    // every RX chunk starts in the fill ring
    for (let i = 0; i < rxFrames; i++) {
      fill.w[fill.desc + i * 2] = i * CHUNK_SIZE;
      fill.w[fill.desc + i * 2 + 1] = 0;
    }
    fill.w[fill.prod] = rxFrames;

    // struct sockaddr_xdp { u16 family, flags; u32 ifindex, queue_id, shared_umem_fd }
    const sa = new Uint8Array(16);
    const sv = new DataView(sa.buffer);
    sv.setUint16(0, AF_XDP, true);
    let useSg = sg;
    sv.setUint16(2, XDP_COPY | XDP_USE_NEED_WAKEUP | (useSg ? XDP_USE_SG : 0), true);
    sv.setUint32(4, ifindex, true);
    sv.setUint32(8, queue, true);
    // The kernel releases a closed socket's hold on the queue a little later (deferred UMEM
    // cleanup): a vif closed and opened again at once can find it busy for a few ms.
    for (let tries = 0; c.bind(fd, sa, 16) < 0; tries++) {
      const e = errno();
      if (e === EINVAL && useSg) {
        // a kernel without multi-buffer AF_XDP (before 6.6): frames above a chunk stay its drops
        useSg = false;
        sv.setUint16(2, XDP_COPY | XDP_USE_NEED_WAKEUP, true);
        continue;
      }
      if (e !== EBUSY || tries >= 40) throw sysError(`bind(AF_XDP, ${ifname} queue ${queue})`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
    }
    // one sendto() sends up to 32 frames unless the budget is raised (Linux >= 6.17; best effort)
    let txBudget = 32;
    try {
      setIntOption(fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, txFrames, 'XDP_MAX_TX_SKB_BUDGET');
      txBudget = txFrames;
    } catch {
      // an older kernel: flush() kicks more often
    }
    return { fd, umemPtr, umemLen, rx, tx, fill, comp, txBudget, sg: useSg, close: undo };
  } catch (e) {
    undo();
    throw e;
  }
}

/** The redirect program, multi-buffer aware if asked and the kernel takes it (5.18+). */
function loadProgram(mapFd: number, frags: boolean): number {
  const code = xskRedirectProgram(mapFd);
  if (frags) {
    try {
      return loadXdpProgram(code, 'cnr_xsk', true);
    } catch {
      // an older kernel: the plain program; frames above a page are then linearised or dropped by it
    }
  }
  return loadXdpProgram(code);
}

/** CNR_AF_XDP_MODE=native|skb|auto chooses the XDP mode of vifs the engine opens (default auto). */
function envMode(): XdpMode | 'auto' {
  const m = process.env.CNR_AF_XDP_MODE;
  if (m === undefined || m === '' || m === 'auto') return 'auto';
  if (m === 'native' || m === 'skb') return m;
  throw new Error(`CNR_AF_XDP_MODE=${m}: expected native, skb or auto`);
}

/**
 * For tests: the driver over a socket of openXskSocket with no XDP program (nothing reaches
 * its RX ring but what the test writes there). close() closes the socket.
 */
export function afXdpOverSocket(name: string, s: XskSocket, rxFrames: number, txFrames: number, vif = 0): AfXdpDriver {
  return new AfXdp(name, 0, new Uint8Array(6), 'skb', s, rxFrames, txFrames, vif, s.close);
}

interface Attached {
  mode: XdpMode;
  detach(): void;
}

/**
 * Attach as a BPF link, so that a vRouter that dies without close() leaves no program behind
 * (its link fd closes with it); on a kernel without XDP links (before 5.9: EINVAL), through
 * rtnetlink IFLA_XDP, detached explicitly by close().
 */
function attachIn(ifindex: number, progFd: number, mode: XdpMode): Attached {
  try {
    const link = linkCreateXdp(progFd, ifindex, modeFlag(mode));
    return { mode, detach: () => closeFd(link) };
  } catch (e) {
    const err = e as Error & { errno?: number };
    // a BPF link brings no extended ACK text: name the veth refusals measured here
    if (err.errno === ERANGE) err.message += ' (veth: the peer\'s MTU is too large for native XDP)';
    if (err.errno === ENOSPC) err.message += ' (veth: fewer receive queues than the peer has transmit queues)';
    if (err.errno !== EINVAL) throw err;
  }
  attachXdp(ifindex, progFd, mode);
  return { mode, detach: () => detachXdp(ifindex, mode, progFd) };
}

function attach(ifname: string, ifindex: number, progFd: number, want: XdpMode | 'auto'): Attached {
  if (want !== 'auto') return attachIn(ifindex, progFd, want);
  try {
    return attachIn(ifindex, progFd, 'native');
  } catch (native) {
    try {
      return attachIn(ifindex, progFd, 'skb');
    } catch (skb) {
      throw new Error(`af-xdp ${ifname}: cannot attach XDP: ${(native as Error).message}; ${(skb as Error).message}`);
    }
  }
}

class AfXdp implements AfXdpDriver {
  private umem: Uint8Array;
  /** the UMEM as a DataView, for copyWords */
  private umemView: DataView;
  private fdNum: number;
  private readonly umemLen: number;
  private readonly rx: Ring;
  private readonly tx: Ring;
  private readonly fill: Ring;
  private readonly comp: Ring;
  /** TX chunks not in the kernel's hands (addresses), a stack */
  private readonly freeTx: Uint32Array;
  private freeTop: number;
  /** our copies of the ring indices we own */
  private rxCons = 0;
  private fillProd: number;
  private txProd = 0;
  private compCons = 0;
  private txPending = 0;
  private txPendingSeen = 0;
  private closed = false;
  private readonly counters = { rxFrames: 0, txFrames: 0, rxDropped: 0, txRingFull: 0 };
  /** rxBurst calls that found frames waiting but no free pool slot */
  private poolEmpty = 0;
  /** received descriptors longer than a pool slot (also in counters.rxDropped) */
  private rxTooBig = 0;
  private csumCompleted = 0;
  private readonly kstats = new Uint8Array(48);
  /** bound with XDP_USE_SG (frames above a chunk come and go as descriptor chains) */
  private readonly sg: boolean;
  /** a multi-buffer frame is next in the RX ring, or being gathered, or gathered and waiting for room */
  private mbNext = false;
  /** its bytes so far, after VNET_HDR_LEN bytes of zeros (a virtio_net_hdr saying "plain frame" to io/gso.ts) */
  private mbBuf: Uint8Array | undefined;
  private mbView: DataView | undefined;
  private mbLen = 0;
  private mbComplete = false;
  private mbBad = false;
  private readonly gso: VnetReceiver;
  /** multi-buffer frames: taken, dropped (all reasons), malformed (part of dropped), sent */
  private readonly mb = { frames: 0, dropped: 0, bad: 0, txMulti: 0 };

  constructor(
    readonly name: string,
    readonly ifindex: number,
    readonly hwaddr: Uint8Array,
    readonly mode: XdpMode,
    s: XskSocket,
    rxFrames: number,
    txFrames: number,
    private readonly vif: number,
    private readonly release: () => void,
  ) {
    this.fdNum = s.fd;
    this.umemLen = s.umemLen;
    this.rx = s.rx;
    this.tx = s.tx;
    this.fill = s.fill;
    this.comp = s.comp;
    this.umem = new Uint8Array(viewMemory(s.umemPtr, s.umemLen));
    this.umemView = new DataView(this.umem.buffer);
    this.fillProd = rxFrames;
    this.freeTx = new Uint32Array(txFrames);
    for (let i = 0; i < txFrames; i++) this.freeTx[i] = (rxFrames + i) * CHUNK_SIZE;
    this.freeTop = txFrames;
    this.sg = s.sg;
    this.gso = new VnetReceiver(vif);
  }

  get fd(): number {
    return this.fdNum;
  }

  get linkMtu(): number {
    return this.gso.linkMtu;
  }

  set linkMtu(mtu: number) {
    this.gso.linkMtu = mtu;
  }

  /**
   * Receive a burst: plain frames (one chunk each) in rxPlain's loop, which stops at a frame
   * in several chunks; rxMulti takes that one; then plain frames again.
   */
  rxBurst(pool: PacketPool, out: Uint32Array, max: number): number {
    let n = this.mbNext ? 0 : this.rxPlain(pool, out, max);
    for (let turns = 0; this.mbNext && n < max && turns < MULTI_PER_BURST; turns++) {
      const m = this.rxMulti(pool, out, n, max);
      // no room left in this burst for its segments, or the rest of its chunks not here yet
      if (m === RX_NO_ROOM || this.mbNext) break;
      n = m;
      if (n < max) n += this.rxPlain(pool, n === 0 ? out : out.subarray(n), max - n);
    }
    return n;
  }

  /**
   * Slots are taken from the pool for the whole burst at once; a malformed descriptor's slot
   * serves the next frame, and what is left over goes back. With the pool empty, frames wait
   * in the RX ring (the kernel drops and counts when it fills) rather than being dropped here.
   */
  private rxPlain(pool: PacketPool, out: Uint32Array, max: number): number {
    const slotSize = pool.slotSize;
    const maxFrame = pool.maxFrame;
    const rx = this.rx;
    const rw = rx.w;
    const prod = rw[rx.prod]!;
    let cons = this.rxCons;
    let avail = (prod - cons) >>> 0;
    if (avail === 0) return 0;
    if (avail > max) avail = max;
    avail = pool.allocBurst(out, avail);
    if (avail === 0) {
      this.poolEmpty++;
      return 0;
    }
    const rdesc = rx.desc;
    const rmask = rx.mask;
    const fw = this.fill.w;
    const fdesc = this.fill.desc;
    const fmask = this.fill.mask;
    let fprod = this.fillProd;
    const umem = this.umem;
    const uv = this.umemView;
    const umemLen = this.umemLen;
    const data = pool.data;
    const pv = pool.view;
    const plen = pool.len;
    const prxVif = pool.rxVif;
    const vif = this.vif;
    let n = 0;
    for (let k = 0; k < avail; k++) {
      const d = rdesc + ((cons & rmask) << 2);
      if (rw[d + 3] !== 0) {
        // options: XDP_PKT_CONTD, the first chunk of a longer frame (rxMulti)
        this.mbNext = true;
        break;
      }
      const addr = rw[d]!;
      const len = rw[d + 2]!;
      cons = (cons + 1) >>> 0;
      if (rw[d + 1] === 0 && len >= 14 && len <= maxFrame && addr + len <= umemLen) {
        const slot = out[n]!;
        const dst = slot * slotSize + HEADROOM;
        // 8-byte moves where the chunk and the slot have room for the rounding (io/copy.ts)
        if (fitsWords(addr & (CHUNK_SIZE - 1), len, CHUNK_SIZE) && fitsWords(HEADROOM, len, slotSize)) copyWords(uv, addr, pv, dst, len);
        else data.set(umem.subarray(addr, addr + len), dst);
        plen[slot] = len;
        prxVif[slot] = vif;
        // the redirect lost the sender's "checksum not finished" mark (io/gso.ts)
        if (completeIfPartial(data, dst, len)) this.csumCompleted++;
        n++;
      } else if (len > maxFrame) this.rxTooBig++;
      else this.counters.rxDropped++;
      // the chunk goes straight back to the kernel (its base: the kernel may have added an offset)
      const f = fdesc + ((fprod & fmask) << 1);
      fw[f] = (addr >>> CHUNK_SHIFT) << CHUNK_SHIFT;
      fw[f + 1] = 0;
      fprod = (fprod + 1) >>> 0;
    }
    if (n < avail) pool.freeBurst(out, n, avail - n);
    this.rxCons = cons;
    rw[rx.cons] = cons;
    this.fillProd = fprod;
    fw[this.fill.prod] = fprod;
    this.counters.rxFrames += n;
    return n;
  }

  /**
   * Gather the chunks of one multi-buffer frame (each chunk back to the fill ring as it is
   * copied) and take the frame into pool slots at out[n..max) through io/gso.ts. Returns the
   * new count; n with the frame still incomplete (its other chunks come in a later burst;
   * mbNext stays set); RX_NO_ROOM when its segments do not fit the rest of the burst (it waits).
   */
  private rxMulti(pool: PacketPool, out: Uint32Array, n: number, max: number): number {
    if (!this.mbComplete) {
      const rx = this.rx;
      const rw = rx.w;
      const prod = rw[rx.prod]!;
      const fw = this.fill.w;
      let cons = this.rxCons;
      let fprod = this.fillProd;
      const buf = (this.mbBuf ??= new Uint8Array(MULTI_MAX));
      this.mbView ??= new DataView(buf.buffer);
      while (cons !== prod) {
        const d = rx.desc + ((cons & rx.mask) << 2);
        const addr = rw[d]!;
        const len = rw[d + 2]!;
        const more = (rw[d + 3]! & XDP_PKT_CONTD) !== 0;
        cons = (cons + 1) >>> 0;
        if (rw[d + 1] !== 0 || addr + len > this.umemLen || VNET_HDR_LEN + this.mbLen + len > MULTI_MAX) this.mbBad = true;
        else {
          buf.set(this.umem.subarray(addr, addr + len), VNET_HDR_LEN + this.mbLen);
          this.mbLen += len;
        }
        const f = this.fill.desc + ((fprod & this.fill.mask) << 1);
        fw[f] = (addr >>> CHUNK_SHIFT) << CHUNK_SHIFT;
        fw[f + 1] = 0;
        fprod = (fprod + 1) >>> 0;
        if (!more) {
          this.mbComplete = true;
          break;
        }
      }
      this.rxCons = cons;
      rw[rx.cons] = cons;
      this.fillProd = fprod;
      fw[this.fill.prod] = fprod;
      if (!this.mbComplete) return n;
    }
    const len = this.mbLen;
    const buf = this.mbBuf!;
    let m = n;
    if (this.mbBad || len < 14) {
      this.mb.dropped++;
      this.mb.bad++;
    } else {
      buf.fill(0, 0, VNET_HDR_LEN);
      const g = this.gso.counters;
      const lost = g.tooBig + g.unsupported + g.poolEmpty;
      m = this.gso.rxFrame(buf, this.mbView!, 0, VNET_HDR_LEN, len, -1, pool, out, n, max);
      if (m === RX_NO_ROOM) return RX_NO_ROOM;
      this.mb.frames++;
      if (g.tooBig + g.unsupported + g.poolEmpty !== lost) this.mb.dropped++;
      // taken whole: the redirect lost the "checksum not finished" mark (as in rxPlain)
      if (m === n + 1 && len <= pool.maxFrame) {
        const slot = out[n]!;
        if (completeIfPartial(pool.data, (slot << pool.shift) + HEADROOM, pool.len[slot]!)) this.csumCompleted++;
      }
      this.counters.rxFrames += m - n;
    }
    this.mbLen = 0;
    this.mbBad = false;
    this.mbComplete = false;
    this.mbNext = false;
    return m;
  }

  /** Take back the TX chunks the kernel has sent. */
  private reclaim(): void {
    const cw = this.comp.w;
    const prod = cw[this.comp.prod]!;
    let cons = this.compCons;
    if (prod === cons) return;
    const desc = this.comp.desc;
    const mask = this.comp.mask;
    const free = this.freeTx;
    let top = this.freeTop;
    while (cons !== prod && top < free.length) {
      free[top++] = (cw[desc + ((cons & mask) << 1)]! >>> CHUNK_SHIFT) << CHUNK_SHIFT;
      cons = (cons + 1) >>> 0;
    }
    this.freeTop = top;
    this.compCons = cons;
    cw[this.comp.cons] = cons;
  }

  txBurst(pool: PacketPool, idx: Uint32Array, start: number, count: number): number {
    const slotSize = pool.slotSize;
    if (this.closed) {
      pool.freeBurst(idx, start, count);
      return 0;
    }
    if (this.freeTop < count) this.reclaim();
    const tx = this.tx;
    const tw = tx.w;
    const txCons = tw[tx.cons]!;
    let room = tx.mask + 1 - ((this.txProd - txCons) >>> 0);
    const umem = this.umem;
    const uv = this.umemView;
    const data = pool.data;
    const pv = pool.view;
    const free = this.freeTx;
    let top = this.freeTop;
    let prod = this.txProd;
    let queued = 0;
    let descs = 0;
    const end = start + count;
    for (let k = start; k < end; k++) {
      const slot = idx[k]!;
      const len = pool.len[slot]!;
      if (len > CHUNK_SIZE && this.sg) {
        // a chain of descriptors, each but the last marked XDP_PKT_CONTD
        const pieces = Math.ceil(len / CHUNK_SIZE);
        if (top >= pieces && room >= pieces) {
          const src = slot * slotSize + pool.start[slot]!;
          for (let p = 0; p < pieces; p++) {
            const addr = free[--top]!;
            const plen = p < pieces - 1 ? CHUNK_SIZE : len - p * CHUNK_SIZE;
            umem.set(data.subarray(src + p * CHUNK_SIZE, src + p * CHUNK_SIZE + plen), addr);
            const d = tx.desc + ((prod & tx.mask) << 2);
            tw[d] = addr;
            tw[d + 1] = 0;
            tw[d + 2] = plen;
            tw[d + 3] = p < pieces - 1 ? XDP_PKT_CONTD : 0;
            prod = (prod + 1) >>> 0;
          }
          room -= pieces;
          queued++;
          descs += pieces;
          this.mb.txMulti++;
          pool.free(slot);
          continue;
        }
      }
      if (top === 0 || room === 0 || len > CHUNK_SIZE || len === 0) {
        this.counters.txRingFull++;
        pool.free(slot);
        continue;
      }
      const addr = free[--top]!;
      const s = pool.start[slot]!;
      const src = slot * slotSize + s;
      if (fitsWords(s, len, slotSize) && fitsWords(0, len, CHUNK_SIZE)) copyWords(pv, src, uv, addr, len);
      else umem.set(data.subarray(src, src + len), addr);
      const d = tx.desc + ((prod & tx.mask) << 2);
      tw[d] = addr;
      tw[d + 1] = 0;
      tw[d + 2] = len;
      tw[d + 3] = 0;
      prod = (prod + 1) >>> 0;
      room--;
      pool.free(slot);
      queued++;
      descs++;
    }
    this.freeTop = top;
    if (queued > 0) {
      this.txProd = prod;
      tw[tx.prod] = prod;
      this.txPending += descs;
      this.counters.txFrames += queued;
    }
    return queued;
  }

  /**
   * Kick the kernel to send the TX ring (when the ring asks for a wakeup, which in copy mode
   * is always). Small bursts wait one loop turn, as in af-packet.ts. Each sendto() sends up to
   * the socket's budget and answers EAGAIN while descriptors remain.
   */
  flush(): void {
    if (this.closed) return;
    const pending = this.txPending;
    if (pending === 0) {
      this.reclaim();
      return;
    }
    if (pending < KICK_BATCH && pending !== this.txPendingSeen) {
      this.txPendingSeen = pending;
      return;
    }
    this.txPending = 0;
    this.txPendingSeen = 0;
    const tw = this.tx.w;
    const c = libc();
    for (let i = 0; i < MAX_KICKS; i++) {
      if ((tw[this.tx.flags]! & XDP_RING_NEED_WAKEUP) === 0) break;
      if (Number(c.sendtoAddr(this.fdNum, 0, 0, MSG_DONTWAIT, 0, 0)) >= 0) {
        if (tw[this.tx.cons]! === this.txProd) break;
        continue;
      }
      const e = errno();
      if (e !== EAGAIN && e !== EBUSY && e !== ENOBUFS) break;
      if (tw[this.tx.cons]! === this.txProd) break;
    }
    // what is still in the ring goes on the next kick
    const left = (this.txProd - (tw[this.tx.cons]!)) >>> 0;
    if (left > 0) this.txPending = Math.max(left, KICK_BATCH);
    this.reclaim();
  }

  stats(): AfXdpStats {
    let kernelDrops = 0;
    let fillRingEmpty = 0;
    let txRingEmpty = 0;
    let invalidDescs = 0;
    if (!this.closed) {
      // struct xdp_statistics { u64 rx_dropped, rx_invalid_descs, tx_invalid_descs, rx_ring_full, rx_fill_ring_empty_descs, tx_ring_empty_descs }
      if (libc().getsockopt(this.fdNum, SOL_XDP, XDP_STATISTICS, this.kstats, new Int32Array([48])) === 0) {
        const dv = new DataView(this.kstats.buffer);
        const u = (o: number): number => Number(dv.getBigUint64(o, true));
        kernelDrops = u(0) + u(24);
        invalidDescs = u(8) + u(16);
        fillRingEmpty = u(32);
        txRingEmpty = u(40);
      }
    }
    const g = this.gso.counters;
    return {
      ...this.counters,
      rxDropped: this.counters.rxDropped + this.rxTooBig + this.mb.dropped,
      poolEmpty: this.poolEmpty,
      kernelDrops,
      fillRingEmpty,
      txRingEmpty,
      invalidDescs,
      rxTooBig: this.rxTooBig + g.tooBig,
      csumCompleted: this.csumCompleted,
      multiFrames: this.mb.frames,
      superFrames: g.superFrames,
      segments: g.segments,
      multiDropped: this.mb.dropped,
      txMulti: this.mb.txMulti,
    };
  }

  ioCounters(): IoCounters {
    const s = this.stats();
    const g = this.gso.counters;
    // an empty pool leaves frames in the RX ring (the kernel counts them if it overflows): no
    // drop of ours; a multi-buffer frame whose segments found no free slots is (rxNoBuffer)
    return {
      kernelDrops: s.kernelDrops,
      rxTooBig: s.rxTooBig,
      rxNoBuffer: g.poolEmpty,
      gsoUnsupported: g.unsupported,
      invalidDescs: s.invalidDescs + this.counters.rxDropped + this.mb.bad,
      txRingFull: s.txRingFull,
      gsoFrames: s.superFrames,
      gsoSegments: s.segments,
      csumCompleted: s.csumCompleted,
      poolEmpty: s.poolEmpty,
      fillRingEmpty: s.fillRingEmpty,
      txRingEmpty: s.txRingEmpty,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.umem = new Uint8Array(0);
    this.umemView = new DataView(new ArrayBuffer(0));
    const empty = new Uint32Array(0);
    for (const r of [this.rx, this.tx, this.fill, this.comp]) r.w = empty;
    this.release();
    this.fdNum = -1;
  }
}
