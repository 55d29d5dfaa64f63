/**
 * The TAP driver: a /dev/net/tun device in TAP mode without packet information, so each
 * read() returns one Ethernet frame the host stack sent and each write() injects one. Used for
 * vhost0 (the host's door into the data plane) and for pod interfaces. One syscall per
 * frame: these are slow paths (control traffic), not the fabric.
 *
 * The device is opened with IFF_VNET_HDR: every frame read or written starts with a struct
 * virtio_net_hdr. Toward the host, consecutive TCP segments of one flow in a burst are written
 * as one GSO super-frame (io/tcp-coalesce.ts: what GRO does for a NIC; the host's TCP takes one
 * 64 KiB frame instead of 45 segments), everything else as it is with an empty header. From the
 * host nothing changes: without TUNSETOFFLOAD the TAP offers the kernel no TSO or checksum
 * offload, so it segments and checksums before handing us a frame (a partial checksum, which
 * it should not send, is completed all the same; a GSO frame is dropped and counted).
 */
import type { IoDriver } from './driver.js';
import { HEADROOM, type PacketPool } from '../pool.js';
import { IFF_NO_PI, IFF_TAP, IFF_VNET_HDR, O_CLOEXEC, O_NONBLOCK, O_RDWR, TUNSETIFF } from '../../sys/constants.js';
import { GSO_NONE, VNET_F_NEEDS_CSUM, VNET_HDR_LEN, completePartialChecksum } from './gso.js';
import { TcpCoalescer } from './tcp-coalesce.js';
import { interfaceMac, libc, setInterfaceMac, setInterfaceUp, sysError } from '../../sys/libc.js';

export interface TapOptions {
  /** vif id written to pool.rxVif for received frames; default 0 */
  vif?: number;
  /** the MAC the host stack uses on this device, "02:00:..." (default: the kernel's random one) */
  mac?: Uint8Array;
  /** bring the link up; default true */
  up?: boolean;
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
  /** for frames that arrive when the pool is empty: read and discard */
  private readonly sink = new Uint8Array(65536 + VNET_HDR_LEN);
  private readonly coalescer = new TcpCoalescer();
  /** a burst's frames: offset and length in the pool's data, for the coalescer */
  private readonly txOff = new Int32Array(1024);
  private readonly txLen = new Int32Array(1024);
  /** a frame with too little headroom for its virtio_net_hdr is written from here */
  private readonly one = new Uint8Array(65536 + VNET_HDR_LEN);

  constructor(
    readonly name: string,
    readonly hwaddr: Uint8Array,
    private fdNum: number,
    private readonly vif: number,
  ) {}

  get fd(): number {
    return this.fdNum;
  }

  rxBurst(pool: PacketPool, out: Uint32Array, max: number): number {
    if (this.fdNum < 0) return 0;
    const c = libc();
    const slotSize = pool.slotSize;
    const maxFrame = pool.maxFrame;
    const d = pool.data;
    let n = 0;
    while (n < max) {
      const slot = pool.alloc();
      if (slot < 0) {
        // keep the device drained so the host does not stall behind us
        if (c.read(this.fdNum, this.sink, this.sink.length) > 0) {
          this.counters.rxDropped++;
          continue;
        }
        break;
      }
      // the virtio_net_hdr lands in the headroom, the frame where a frame starts
      const off = slot * slotSize + HEADROOM;
      const vh = off - VNET_HDR_LEN;
      // read up to a full slot: a longer frame shows up as a length above maxFrame and is dropped
      const r = c.read(this.fdNum, d.subarray(vh, (slot + 1) * slotSize), maxFrame + VNET_HDR_LEN) - VNET_HDR_LEN;
      if (r <= 0 || r > maxFrame || r < 14 || d[vh + 1] !== GSO_NONE) {
        pool.free(slot);
        if (r > -VNET_HDR_LEN) {
          this.counters.rxDropped++;
          continue;
        }
        break; // EAGAIN: nothing more waiting
      }
      if ((d[vh]! & VNET_F_NEEDS_CSUM) !== 0) completePartialChecksum(d, off, r, d[vh + 6]! | (d[vh + 7]! << 8), d[vh + 8]! | (d[vh + 9]! << 8));
      pool.len[slot] = r;
      pool.rxVif[slot] = this.vif;
      out[n++] = slot;
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
      }
      for (let k = 0; k < m && this.fdNum >= 0; ) {
        const run = this.coalescer.run(d, offs, lens, k, m);
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

  flush(): void {}

  stats(): TapStats {
    return { ...this.counters, txMerged: this.coalescer.frames, txMergedSegments: this.coalescer.segments };
  }

  close(): void {
    if (this.fdNum < 0) return;
    libc().close(this.fdNum);
    this.fdNum = -1;
  }
}
