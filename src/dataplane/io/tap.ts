/**
 * The TAP driver: a /dev/net/tun device in TAP mode without packet information, so each
 * read() returns one Ethernet frame the host stack sent and each write() injects one. Used for
 * vhost0 (the host's door into the data plane) and for pod interfaces. One syscall per
 * frame: these are slow paths (control traffic), not the fabric.
 */
import type { IoDriver } from './driver.js';
import { HEADROOM, type PacketPool } from '../pool.js';
import { IFF_NO_PI, IFF_TAP, O_CLOEXEC, O_NONBLOCK, O_RDWR, TUNSETIFF } from '../../sys/constants.js';
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
  stats(): { rxFrames: number; txFrames: number; rxDropped: number; txErrors: number };
}

export function openTap(ifname: string, opts: TapOptions = {}): TapDriver {
  const c = libc();
  const fd = c.open('/dev/net/tun', O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0) throw sysError('open(/dev/net/tun)');
  try {
    if (ifname.length === 0 || ifname.length >= 16) throw new Error(`bad interface name '${ifname}'`);
    const req = new Uint8Array(40);
    for (let i = 0; i < ifname.length; i++) req[i] = ifname.charCodeAt(i);
    new DataView(req.buffer).setUint16(16, IFF_TAP | IFF_NO_PI, true);
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
  private readonly sink = new Uint8Array(65536);

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
      const off = slot * slotSize + HEADROOM;
      // read up to a full slot: a longer frame shows up as a length above maxFrame and is dropped
      const r = c.read(this.fdNum, pool.data.subarray(off, (slot + 1) * slotSize), maxFrame);
      if (r <= 0 || r > maxFrame || r < 14) {
        pool.free(slot);
        if (r > 0) {
          this.counters.rxDropped++;
          continue;
        }
        break; // EAGAIN: nothing more waiting
      }
      pool.len[slot] = r;
      pool.rxVif[slot] = this.vif;
      out[n++] = slot;
    }
    this.counters.rxFrames += n;
    return n;
  }

  txBurst(pool: PacketPool, idx: Uint32Array, start: number, count: number): number {
    const c = libc();
    let sent = 0;
    for (let k = start; k < start + count; k++) {
      const slot = idx[k]!;
      if (this.fdNum >= 0) {
        const off = pool.offset(slot);
        const len = pool.len[slot]!;
        const w = c.write(this.fdNum, pool.data.subarray(off, off + len), len);
        if (w === len) sent++;
        else this.counters.txErrors++; // EAGAIN (host not reading) or a refused frame: dropped
      }
      pool.free(slot);
    }
    this.counters.txFrames += sent;
    return sent;
  }

  flush(): void {}

  stats(): { rxFrames: number; txFrames: number; rxDropped: number; txErrors: number } {
    return { ...this.counters };
  }

  close(): void {
    if (this.fdNum < 0) return;
    libc().close(this.fdNum);
    this.fdNum = -1;
  }
}
