/**
 * FramePort over the host kernel: one AF_PACKET socket per netdev, bound to ETH_P_802_2 (the
 * kernel hands it every 802.3 frame with an LLC header, which is how OSI PDUs travel), joined
 * to the three IS-IS multicast groups (PACKET_ADD_MEMBERSHIP, so a NIC with a multicast
 * filter passes them), with PACKET_IGNORE_OUTGOING so our own frames do not come back. Used
 * where the controller runs without a vRouter, and by the tests against FRR: given a network
 * namespace, the sockets are opened inside it (setns around socket(), sys/netlink.ts's
 * inNetns) and keep working from this thread's own namespace.
 *
 * Reading: the sockets are non-blocking and drained every `pollMs` (20 ms by default) —
 * IS-IS sends a few PDUs a second per interface, and a timer keeps the event loop free
 * without an fd watcher (Node has none for packet sockets). Link state: IFF_UP and
 * IFF_RUNNING are read each second; a change is reported to `onLinkChange`.
 */
import type { Mac } from '../../lib/addr.js';
import { errno, interfaceFlags, interfaceIndex, interfaceMac, libc, setIntOption, sockaddrLl, sysError } from '../../sys/libc.js';
import { inNetns } from '../../sys/netlink.js';
import {
  AF_PACKET, EAGAIN, ETH_P_802_2, IFF_RUNNING, IFF_UP, PACKET_ADD_MEMBERSHIP, PACKET_IGNORE_OUTGOING, PACKET_MR_MULTICAST, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_RAW, SOL_PACKET,
  SOL_SOCKET, SO_RCVBUF, SO_RCVBUFFORCE,
} from '../../sys/constants.js';
import type { FramePort, ReceivedFrame } from './frame-port.js';

/** the sockets' receive buffer: an LSDB flood fits while the event loop is busy elsewhere */
const RCVBUF = 4 << 20;

const ISIS_GROUPS = [
  [0x01, 0x80, 0xc2, 0x00, 0x00, 0x14],
  [0x01, 0x80, 0xc2, 0x00, 0x00, 0x15],
  [0x09, 0x00, 0x2b, 0x00, 0x00, 0x05],
];

export interface KernelFramePortOptions {
  /** a network namespace to open the sockets in (/var/run/netns/NAME) */
  netns?: string;
  pollMs?: number;
  linkPollMs?: number;
}

interface Socket {
  fd: number;
  mac: Mac;
  listeners: Set<(f: ReceivedFrame) => void>;
}

function htons(v: number): number {
  return ((v & 0xff) << 8) | (v >>> 8);
}

export class KernelFramePort implements FramePort {
  private readonly sockets = new Map<string, Socket>();
  private readonly linkHandlers = new Set<(ifname: string, up: boolean) => void>();
  private readonly linkState = new Map<string, boolean>();
  private readonly buf = new Uint8Array(65536);
  private readTimer: NodeJS.Timeout | undefined;
  private linkTimer: NodeJS.Timeout | undefined;
  /** frames that could not be read or were not IS-IS, for tests and logs */
  readonly counters = { received: 0, sent: 0, sendErrors: 0, notOsi: 0 };

  constructor(private readonly opts: KernelFramePortOptions = {}) {}

  /** The timers start with the first listener: a controller without IS-IS polls nothing. */
  private startTimers(): void {
    if (this.readTimer) return;
    this.readTimer = setInterval(() => this.drain(), this.opts.pollMs ?? 20);
    this.linkTimer = setInterval(() => this.pollLinks(), this.opts.linkPollMs ?? 1000);
    this.readTimer.unref();
    this.linkTimer.unref();
  }

  private inNs<T>(fn: () => T): T {
    return this.opts.netns ? inNetns(this.opts.netns, fn) : fn();
  }

  /** Open (once) the socket of `ifname`; undefined when the interface is not there. */
  private open(ifname: string): Socket | undefined {
    const have = this.sockets.get(ifname);
    if (have) return have;
    return this.inNs(() => {
      let index: number;
      try {
        index = interfaceIndex(ifname);
      } catch {
        return undefined;
      }
      const c = libc();
      const fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_802_2));
      if (fd < 0) throw sysError(`socket(AF_PACKET) for ${ifname}`);
      try {
        const sll = sockaddrLl(index, ETH_P_802_2);
        if (c.bind(fd, sll, sll.length) < 0) throw sysError(`bind(AF_PACKET ${ifname})`);
        setIntOption(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, 'PACKET_IGNORE_OUTGOING');
        // a neighbour floods its whole LSDB at once (thousands of LSPs, a CSNP set of a hundred
        // PDUs unpaced) while we may be busy with an SPF: the kernel's default 208 KiB lost them
        // (bench isis at 10k routers); 4 MiB as the vRouter's rings get, SO_RCVBUF where not root
        const rcvbuf = new Uint8Array(new Int32Array([RCVBUF]).buffer);
        if (c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf, 4) < 0) c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf, 4);
        for (const g of ISIS_GROUPS) {
          // struct packet_mreq { int mr_ifindex; unsigned short mr_type, mr_alen; unsigned char mr_address[8]; }
          const mreq = new Uint8Array(16);
          const dv = new DataView(mreq.buffer);
          dv.setInt32(0, index, true);
          dv.setUint16(4, PACKET_MR_MULTICAST, true);
          dv.setUint16(6, 6, true);
          mreq.set(g, 8);
          if (c.setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq, 16) < 0) throw sysError(`PACKET_ADD_MEMBERSHIP on ${ifname}`);
        }
        const s: Socket = { fd, mac: interfaceMac(ifname) as Mac, listeners: new Set() };
        this.sockets.set(ifname, s);
        return s;
      } catch (err) {
        c.close(fd);
        throw err;
      }
    });
  }

  listen(ifname: string, _proto: 'osi', onFrame: (f: ReceivedFrame) => void): () => void {
    this.startTimers();
    const s = this.open(ifname);
    if (s) s.listeners.add(onFrame);
    else this.waiting.set(onFrame, ifname);
    return () => {
      this.waiting.delete(onFrame);
      const cur = this.sockets.get(ifname);
      if (!cur) return;
      cur.listeners.delete(onFrame);
      if (cur.listeners.size === 0) {
        libc().close(cur.fd);
        this.sockets.delete(ifname);
      }
    };
  }

  /** listeners of interfaces that did not exist yet: attached when they appear */
  private readonly waiting = new Map<(f: ReceivedFrame) => void, string>();

  send(ifname: string, frame: Uint8Array): boolean {
    const s = this.sockets.get(ifname) ?? this.open(ifname);
    if (!s) return false;
    const n = libc().send(s.fd, frame, frame.length, 0);
    if (n < 0) {
      this.counters.sendErrors++;
      return false;
    }
    this.counters.sent++;
    return true;
  }

  macOf(ifname: string): Mac | undefined {
    const s = this.sockets.get(ifname);
    if (s) return s.mac;
    try {
      return this.inNs(() => interfaceMac(ifname) as Mac);
    } catch {
      return undefined;
    }
  }

  onLinkChange(handler: (ifname: string, up: boolean) => void): () => void {
    this.linkHandlers.add(handler);
    return () => this.linkHandlers.delete(handler);
  }

  private drain(): void {
    const c = libc();
    for (const [ifname, s] of this.sockets) {
      // until the socket is empty (bounded, so one flooding neighbour cannot hold the loop)
      for (let i = 0; i < 4096; i++) {
        const n = c.recv(s.fd, this.buf, this.buf.length, 0);
        if (n < 0) {
          if (errno() !== EAGAIN) this.counters.sendErrors++;
          break;
        }
        if (n < 17 || this.buf[14] !== 0xfe || this.buf[15] !== 0xfe) {
          this.counters.notOsi++;
          continue;
        }
        this.counters.received++;
        const frame = this.buf.slice(0, n);
        for (const l of s.listeners) l({ ifname, frame });
      }
    }
  }

  private pollLinks(): void {
    for (const [cb, ifname] of this.waiting) {
      const s = this.open(ifname);
      if (!s) continue;
      s.listeners.add(cb);
      this.waiting.delete(cb);
    }
    const names = new Set([...this.sockets.keys(), ...this.waiting.values()]);
    for (const ifname of names) {
      const flags = this.inNs(() => interfaceFlags(ifname));
      const up = flags !== undefined && (flags & IFF_UP) !== 0 && (flags & IFF_RUNNING) !== 0;
      const before = this.linkState.get(ifname);
      this.linkState.set(ifname, up);
      if (before === undefined ? !up : before !== up) for (const h of this.linkHandlers) h(ifname, up);
    }
  }

  close(): void {
    clearInterval(this.readTimer);
    clearInterval(this.linkTimer);
    this.readTimer = this.linkTimer = undefined;
    for (const s of this.sockets.values()) libc().close(s.fd);
    this.sockets.clear();
    this.waiting.clear();
  }
}
