/**
 * The TAP driver: a /dev/net/tun device in TAP mode without packet information, so each
 * read() returns one Ethernet frame the host stack sent and each write() injects one. Used for
 * vhost0 (the host's door into the data plane) and for pod interfaces. One syscall per
 * frame: these are slow paths (control traffic), not the fabric.
 *
 * The device is opened with IFF_VNET_HDR: every frame read or written starts with a struct
 * virtio_net_hdr. Toward the host, consecutive TCP segments of one flow in a burst are written
 * as one GSO super-frame (io/tcp-coalesce.ts: what GRO does for a NIC; the host's TCP takes one
 * 64 KiB frame instead of 45 segments), everything else as it is with an empty header.
 *
 * From the host: TUNSETOFFLOAD offers the kernel checksum offload and TSO (IPv4, IPv6, ECN),
 * so the host's TCP hands us its 64 KiB super-frames with a partial checksum, one read() each,
 * instead of segmenting and checksumming every ~1448 bytes and handing them over one read at a
 * time. Every frame is read whole into one buffer and taken by io/gso.ts as AF_PACKET's are:
 * a plain frame copied into a pool slot (its partial checksum completed). On vhost0 (the
 * engine's setCarry) a TCP super-frame is carried through the graph whole (io/super-frame.ts:
 * one slot standing for it, its payload beside it) and leaves by the out driver's txSuper as
 * one GSO frame, or is cut where a filter or an out-port needs segments; elsewhere (pods) it is
 * cut on the way in into the segments the host's TSO would have made, each with finished
 * checksums. txSuper here writes a carried super-frame whole toward this TAP's kernel.
 */
import type { IoCounters, IoDriver } from './driver.js';
import type { PacketPool } from '../pool.js';
import {
  EAGAIN, IFF_NO_PI, IFF_TAP, IFF_VNET_HDR, O_CLOEXEC, O_NONBLOCK, O_RDWR, TUNSETIFF, TUNSETOFFLOAD, TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN,
} from '../../sys/constants.js';
import { RX_NO_ROOM, VNET_HDR_LEN, VnetReceiver, type CarriedRx } from './gso.js';
import { TcpCoalescer } from './tcp-coalesce.js';
import { PF_CSUM_SELF } from '../graph/graph-constants.js';
import { errno, interfaceMac, libc, setInterfaceMac, setInterfaceUp, sysError } from '../../sys/libc.js';

/** the longest frame read: a 64 KiB GSO frame (vhost0's gso_max_size is the kernel's default) with its headers */
const RX_BUF = 65536 + 256 + VNET_HDR_LEN;

export interface TapOptions {
  /** vif id written to pool.rxVif for received frames; default 0 */
  vif?: number;
  /** the MAC the host stack uses on this device, "02:00:..." (default: the kernel's random one) */
  mac?: Uint8Array;
  /** bring the link up; default true */
  up?: boolean;
  /** offer the kernel checksum offload and TSO (TUNSETOFFLOAD): super-frames from the host; default true */
  offload?: boolean;
}

export interface TapDriver extends IoDriver {
  stats(): TapStats;
}

export interface TapStats {
  rxFrames: number;
  txFrames: number;
  rxDropped: number;
  txErrors: number;
  /** GSO super-frames written (merged TCP segments), and the segments they carried (counted in txFrames too) */
  txMerged: number;
  txMergedSegments: number;
  /** super-frames the host handed us (TSO) and the segments cut from them; partial checksums completed */
  rxGsoFrames: number;
  rxGsoSegments: number;
  csumCompleted: number;
  /** super-frames from the host carried through the graph whole (io/super-frame.ts), and their segments; those written whole toward the host */
  rxCarried: number;
  rxCarriedSegments: number;
  txCarried: number;
  txCarriedSegments: number;
}

export function openTap(ifname: string, opts: TapOptions = {}): TapDriver {
  const c = libc();
  const fd = c.open('/dev/net/tun', O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0) throw sysError('open(/dev/net/tun)');
  try {
    if (ifname.length === 0 || ifname.length >= 16) throw new Error(`bad interface name '${ifname}'`);
    const req = new Uint8Array(40);
    for (let i = 0; i < ifname.length; i++) req[i] = ifname.charCodeAt(i);
    new DataView(req.buffer).setUint16(16, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, true);
    if (c.ioctl(fd, TUNSETIFF, req) < 0) throw sysError(`TUNSETIFF ${ifname}`);
    // the kernel refuses only flags it does not know: then it segments for us, as without offloads
    if (opts.offload !== false) c.ioctlValue(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN);
    if (opts.mac) setInterfaceMac(ifname, opts.mac);
    const hw = interfaceMac(ifname);
    // Up is the last thing done by name: cnr-cni waits for an up TAP, then moves it into a
    // pod's namespace under another name; the fd stays bound to the device wherever it goes.
    if (opts.up !== false) setInterfaceUp(ifname);
    return new Tap(ifname, hw, fd, opts.vif ?? 0);
  } catch (e) {
    c.close(fd);
    throw e;
  }
}

class Tap implements TapDriver {
  private counters = { rxFrames: 0, txFrames: 0, rxDropped: 0, txErrors: 0 };
  /** carried super-frames written whole (txSuper), and the segments they stood for */
  private txCarried = 0;
  private txCarriedSegments = 0;
  /** every frame is read here whole (virtio_net_hdr first), then copied or cut into pool slots */
  private readonly rxBuf = new Uint8Array(RX_BUF);
  private readonly rxView = new DataView(this.rxBuf.buffer);
  /** length of a frame in rxBuf whose segments did not fit the last burst (0: none) */
  private rxPending = 0;
  private readonly gso: VnetReceiver;
  private readonly coalescer = new TcpCoalescer();
  /** a burst's frames: offset and length in the pool's data, for the coalescer */
  private readonly txOff = new Int32Array(1024);
  private readonly txLen = new Int32Array(1024);
  /** their PF_CSUM_SELF bits: segments io/gso.ts made, whose checksums the coalescer need not verify */
  private readonly txTrusted = new Uint8Array(1024);
  /** a frame with too little headroom for its virtio_net_hdr is written from here */
  private readonly one = new Uint8Array(65536 + VNET_HDR_LEN);

  constructor(
    readonly name: string,
    readonly hwaddr: Uint8Array,
    private fdNum: number,
    vif: number,
  ) {
    this.gso = new VnetReceiver(vif);
  }

  get fd(): number {
    return this.fdNum;
  }

  rxBurst(pool: PacketPool, out: Uint32Array, max: number): number {
    if (this.fdNum < 0) return 0;
    const c = libc();
    const buf = this.rxBuf;
    const gso = this.gso;
    gso.burstExtra = 0;
    let n = 0;
    while (n + gso.burstExtra < max) {
      let r = this.rxPending;
      this.rxPending = 0;
      if (r === 0) {
        r = c.read(this.fdNum, buf, RX_BUF);
        if (r <= 0) {
          // EAGAIN: nothing more waiting; anything else (a frame longer than rxBuf) lost it
          if (r < 0 && errno() !== EAGAIN) this.counters.rxDropped++;
          break;
        }
        if (r < VNET_HDR_LEN + 14) {
          this.counters.rxDropped++;
          continue;
        }
      }
      // a plain frame is copied into a slot (a partial checksum completed), a super-frame cut
      // into segments; a frame the pool has no room for is dropped and counted there, and
      // reading goes on so the host does not stall behind us
      const m = this.gso.rxFrame(buf, this.rxView, 0, VNET_HDR_LEN, r - VNET_HDR_LEN, -1, pool, out, n, max);
      if (m === RX_NO_ROOM) {
        this.rxPending = r;
        break;
      }
      n = m;
    }
    this.counters.rxFrames += n;
    return n;
  }

  txBurst(pool: PacketPool, idx: Uint32Array, start: number, count: number): number {
    const c = libc();
    const d = pool.data;
    const offs = this.txOff;
    const lens = this.txLen;
    let sent = 0;
    for (let k0 = start; k0 < start + count; k0 += offs.length) {
      const m = Math.min(offs.length, start + count - k0);
      for (let k = 0; k < m; k++) {
        const slot = idx[k0 + k]!;
        offs[k] = pool.offset(slot);
        lens[k] = pool.len[slot]!;
        this.txTrusted[k] = pool.flags[slot]! & PF_CSUM_SELF;
      }
      for (let k = 0; k < m && this.fdNum >= 0; ) {
        const run = this.coalescer.run(d, offs, lens, k, m, this.txTrusted);
        if (run > 1) {
          const w = this.coalescer.build(d, offs, lens, k, run);
          if (c.write(this.fdNum, this.coalescer.buf, w) === w) sent += run;
          else this.counters.txErrors += run; // EAGAIN (host not reading) or a refused frame: dropped
          k += run;
          continue;
        }
        if (this.writeOne(pool, idx[k0 + k]!, offs[k]!, lens[k]!)) sent++;
        else this.counters.txErrors++;
        k++;
      }
      for (let k = 0; k < m; k++) pool.free(idx[k0 + k]!);
    }
    this.counters.txFrames += sent;
    return sent;
  }

  /** One frame as it is, behind an empty virtio_net_hdr (in its headroom when there is room). */
  private writeOne(pool: PacketPool, slot: number, off: number, len: number): boolean {
    const d = pool.data;
    const c = libc();
    if (off - VNET_HDR_LEN >= slot * pool.slotSize) {
      d.fill(0, off - VNET_HDR_LEN, off);
      return c.write(this.fdNum, d.subarray(off - VNET_HDR_LEN, off + len), len + VNET_HDR_LEN) === len + VNET_HDR_LEN;
    }
    const one = this.one;
    one.fill(0, 0, VNET_HDR_LEN);
    one.set(d.subarray(off, off + len), VNET_HDR_LEN);
    return c.write(this.fdNum, one, len + VNET_HDR_LEN) === len + VNET_HDR_LEN;
  }

  get carriedRx(): CarriedRx {
    return this.gso.carriedRx;
  }

  setCarry(when: (() => boolean) | null): void {
    this.gso.carry = when;
  }

  /** A carried super-frame (io/super-frame.ts) written whole, its headers as the graph left them, with a GSO virtio_net_hdr. */
  txSuper(pool: PacketPool, slot: number): number {
    if (this.fdNum < 0) return 0;
    const st = pool.supers;
    const id = pool.sup[slot]! - 1;
    const off = pool.offset(slot);
    const len = pool.len[slot]!;
    const h = len - Math.min(st.mss[id]!, st.payLen[id]!);
    // only plain Ethernet: a tag or label stack pushed by the rewrite is not a GSO frame the host takes
    const et = (pool.data[off + 12]! << 8) | pool.data[off + 13]!;
    if (et !== 0x0800 && et !== 0x86dd) return 0;
    const at = st.assemble(id, pool.data, off, len);
    if (at < 0) return 0;
    const vh = st.gsoHeader(id, at, h);
    const w = at - vh + h + st.payLen[id]!;
    if (libc().write(this.fdNum, st.bufs[id]!.subarray(vh, vh + w), w) !== w) return 0;
    const segs = st.segments(id);
    this.counters.txFrames += segs;
    this.txCarried++;
    this.txCarriedSegments += segs;
    return segs;
  }

  flush(): void {}

  stats(): TapStats {
    const g = this.gso.counters;
    return {
      ...this.counters,
      rxDropped: this.counters.rxDropped + g.tooBig + g.poolEmpty + g.unsupported,
      txMerged: this.coalescer.frames,
      txMergedSegments: this.coalescer.segments,
      rxGsoFrames: g.superFrames,
      rxGsoSegments: g.segments,
      csumCompleted: g.csumCompleted,
      rxCarried: g.carried,
      rxCarriedSegments: g.carriedSegments,
      txCarried: this.txCarried,
      txCarriedSegments: this.txCarriedSegments,
    };
  }

  ioCounters(): IoCounters {
    const g = this.gso.counters;
    return {
      kernelDrops: 0,
      rxTooBig: g.tooBig,
      rxNoBuffer: g.poolEmpty,
      gsoUnsupported: g.unsupported,
      invalidDescs: 0,
      txRingFull: 0,
      gsoFrames: g.superFrames,
      gsoSegments: g.segments,
      csumCompleted: g.csumCompleted,
      poolEmpty: 0,
      fillRingEmpty: 0,
      txRingEmpty: 0,
      txGsoFrames: this.coalescer.frames,
      txGsoSegments: this.coalescer.segments,
      carried: g.carried,
      carriedSegments: g.carriedSegments,
      txCarried: this.txCarried,
      txCarriedSegments: this.txCarriedSegments,
    };
  }

  close(): void {
    if (this.fdNum < 0) return;
    libc().close(this.fdNum);
    this.fdNum = -1;
  }
}
