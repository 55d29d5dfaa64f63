/**
 * rtnetlink from this process: one request codec (NetlinkMessage: nlmsghdr, a family header,
 * attributes, nested attributes) and one NETLINK_ROUTE socket that sends a request and
 * reads until its ACK, for the CNI's links, addresses and routes (cni/netlink.ts) and the
 * AF_XDP driver's RTM_SETLINK IFLA_XDP (dataplane/io/xdp-attach.ts); and LinkNotifications,
 * a socket subscribed to link changes (RTMGRP_LINK), read without blocking, for the
 * vRouter's carrier watch (dataplane/link-watch.ts).
 *
 * A socket can be opened inside another network namespace: setns(target) → socket() →
 * setns(back), all synchronous, nothing awaited in between, so no other code of this
 * process ever runs in that namespace; a socket keeps the namespace it was created in.
 * Each request asks for an ACK and is answered before send() returns (rtnetlink handles
 * requests in the sender's context), so a blocking recv() never waits long. Failures carry
 * the kernel's errno and text and, when it gives one, its extended ACK message, e.g.
 * `RTM_NEWLINK cnr0a1b2c3d4e5f: File exists`.
 */
import { closeSync, openSync } from 'node:fs';
import {
  AF_NETLINK, CLONE_NEWNET, EAGAIN, EINTR, ENOBUFS, IFLA_IFNAME, RTM_DELLINK, RTM_NEWLINK, RTMGRP_LINK, SOCK_NONBLOCK, NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_ROUTE, NLA_F_NESTED, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_REQUEST, NLMSG_ERROR,
  NLMSGERR_ATTR_MSG, SOCK_CLOEXEC, SOCK_RAW, SOL_NETLINK,
} from './constants.js';
import { errno, libc, tryLibc } from './libc.js';

/** Whether rtnetlink can be used from this process (Linux with a loadable libc). */
export function netlinkAvailable(): boolean {
  return tryLibc() !== null;
}

/** A refused or failed netlink request; `errno` is the kernel's (positive). */
export class NetlinkError extends Error {
  constructor(
    message: string,
    readonly errno: number,
  ) {
    super(message);
    this.name = 'NetlinkError';
  }
}

/** A NetlinkError naming the failed call, with errno and its text. */
export function netlinkSysError(what: string): NetlinkError {
  const e = errno();
  return new NetlinkError(`${what}: ${libc().strerror(e)}`, e);
}

// ---------------------------------------------------------------------------------------
// Message building: netlink is host byte order (little-endian here), attributes 4-aligned.

/** One request: nlmsghdr, the family header written with u8()..i32() or ifinfo(), then attributes. */
export class NetlinkMessage {
  private buf = new Uint8Array(512);
  private dv = new DataView(this.buf.buffer);
  len = 16;
  private readonly open: number[] = [];

  constructor(type: number, flags: number) {
    this.dv.setUint16(4, type, true);
    this.dv.setUint16(6, NLM_F_REQUEST | NLM_F_ACK | flags, true);
  }

  private room(n: number): void {
    if (this.len + n + 4 <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n + 64));
    b.set(this.buf);
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }

  private align(): void {
    this.len = (this.len + 3) & ~3;
  }

  u8(v: number): this {
    this.room(1);
    this.dv.setUint8(this.len++, v);
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.dv.setUint16(this.len, v, true);
    this.len += 2;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.dv.setUint32(this.len, v >>> 0, true);
    this.len += 4;
    return this;
  }

  i32(v: number): this {
    this.room(4);
    this.dv.setInt32(this.len, v, true);
    this.len += 4;
    return this;
  }

  /** struct ifinfomsg */
  ifinfo(family: number, index: number, flags: number, change: number): this {
    return this.u8(family).u8(0).u16(0).i32(index).u32(flags).u32(change);
  }

  attr(type: number, data: Uint8Array): this {
    this.align();
    this.room(4 + data.length);
    this.dv.setUint16(this.len, 4 + data.length, true);
    this.dv.setUint16(this.len + 2, type, true);
    this.buf.set(data, this.len + 4);
    this.len += 4 + data.length;
    this.align();
    return this;
  }

  attrI32(type: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    return this.attr(type, b);
  }

  attrU32(type: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.attr(type, b);
  }

  attrU16(type: number, v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, true);
    return this.attr(type, b);
  }

  attrStr(type: number, s: string): this {
    return this.attr(type, new TextEncoder().encode(`${s}\0`));
  }

  begin(type: number): this {
    this.align();
    this.room(4);
    this.open.push(this.len);
    this.dv.setUint16(this.len + 2, type | NLA_F_NESTED, true);
    this.len += 4;
    return this;
  }

  /** A nested attribute whose payload starts with a struct (VETH_INFO_PEER): no NLA_F_NESTED. */
  beginPlain(type: number): this {
    this.begin(type);
    this.dv.setUint16(this.len - 2, type, true);
    return this;
  }

  end(): this {
    this.align();
    const at = this.open.pop()!;
    this.dv.setUint16(at, this.len - at, true);
    return this;
  }

  finish(seq: number): Uint8Array {
    this.align();
    this.dv.setUint32(0, this.len, true);
    this.dv.setUint32(8, seq, true);
    return this.buf.subarray(0, this.len);
  }
}

// ---------------------------------------------------------------------------------------
// A netlink socket in a given namespace

let seqCounter = Math.floor(Math.random() * 0x7fffffff);

/** Runs `fn` with this thread in the namespace at `netnsPath`, and back, synchronously. */
export function inNetns<T>(netnsPath: string, fn: () => T): T {
  const c = libc();
  const target = openNs(netnsPath);
  let home: number;
  try {
    home = openSync('/proc/thread-self/ns/net', 'r');
  } catch (err) {
    closeSync(target);
    throw err;
  }
  try {
    if (c.setns(target, CLONE_NEWNET) < 0) throw netlinkSysError(`setns(${netnsPath})`);
    try {
      return fn();
    } finally {
      // Must not fail: this thread runs everything else of the process.
      if (c.setns(home, CLONE_NEWNET) < 0) {
        process.stderr.write(`cnr-cni: cannot return to the own network namespace: ${libc().strerror(errno())}\n`);
        process.abort();
      }
    }
  } finally {
    closeSync(target);
    closeSync(home);
  }
}

export function openNs(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new NetlinkError(`failed to open netns "${path}": ${e.message}`, e.errno ? -e.errno : 0);
  }
}

export class NetlinkSocket {
  private readonly rx = new Uint8Array(65536);
  private closed = false;
  /** a requestAsync waits for its send (one at a time per socket) */
  private inFlight = false;

  private constructor(readonly fd: number) {}

  /** A NETLINK_ROUTE socket in this process's namespace, or in the one at `netnsPath`. */
  static open(netnsPath?: string): NetlinkSocket {
    const c = tryLibc();
    if (!c) throw new NetlinkError('netlink is not available (libc could not be loaded)', 0);
    const make = () => {
      const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
      if (fd < 0) throw netlinkSysError('socket(AF_NETLINK)');
      return fd;
    };
    const fd = netnsPath ? inNetns(netnsPath, make) : make();
    const one = new Uint8Array([1, 0, 0, 0]);
    // errors without the request echoed back, with the kernel's text when it has one
    c.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, one, 4);
    c.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, one, 4);
    return new NetlinkSocket(fd);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  /**
   * Sends one request and reads until its ACK; returns the messages answered before it
   * (the reply of a GET). `what` names the request in errors.
   */
  request(m: NetlinkMessage, what: string): DataView[] {
    const c = libc();
    const seq = (seqCounter = (seqCounter + 1) & 0x7fffffff);
    const req = m.finish(seq);
    if (c.send(this.fd, req, req.length, 0) < 0) throw netlinkSysError(`${what}: send`);
    return this.answer(seq, what);
  }

  /**
   * request() with the send() on libuv's thread pool (koffi's async call): the kernel handles
   * the request inside send(), and creating a veth pair (two netdevs registered, one moved
   * into the pod's namespace) holds the calling thread for milliseconds, more while other
   * link changes hold the RTNL lock; the event loop (other pods' requests, the commit, the
   * vRouter in `cnr start`) runs on meanwhile. The ACK is read here once send() returned,
   * by the blocking read request() uses: one request in flight per socket (a second one's
   * answer could be read and dropped by the first's loop).
   */
  async requestAsync(m: NetlinkMessage, what: string): Promise<DataView[]> {
    if (this.inFlight) throw new NetlinkError(`${what}: another request is in flight on this socket`, 0);
    this.inFlight = true;
    try {
      return await this.sendFromPool(m, what);
    } finally {
      this.inFlight = false;
    }
  }

  private async sendFromPool(m: NetlinkMessage, what: string): Promise<DataView[]> {
    const seq = (seqCounter = (seqCounter + 1) & 0x7fffffff);
    const req = m.finish(seq);
    const send = libc().send as unknown as { async(...a: [number, Uint8Array, number, number, (err: unknown, r: number) => void]): void };
    await new Promise<void>((resolve, reject) => {
      send.async(this.fd, req, req.length, 0, (err, r) => {
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        // errno is per thread: the pool thread's is not readable here
        else if (r < 0) reject(new NetlinkError(`${what}: send failed`, 0));
        else resolve();
      });
    });
    if (this.closed) throw new NetlinkError(`${what}: socket closed meanwhile`, 0);
    return this.answer(seq, what);
  }

  /** Reads until the ACK of request `seq`; the messages answered before it (a GET's reply). */
  private answer(seq: number, what: string): DataView[] {
    const c = libc();
    const replies: DataView[] = [];
    for (;;) {
      const n = c.recv(this.fd, this.rx, this.rx.length, 0);
      if (n < 0) throw netlinkSysError(`${what}: recv`);
      const dv = new DataView(this.rx.buffer, 0, n);
      for (let off = 0; off + 16 <= n; ) {
        const len = dv.getUint32(off, true);
        if (len < 16 || off + len > n) break;
        const type = dv.getUint16(off + 4, true);
        const flags = dv.getUint16(off + 6, true);
        const mseq = dv.getUint32(off + 8, true);
        if (mseq === seq) {
          if (type === NLMSG_ERROR) {
            const err = -dv.getInt32(off + 16, true);
            if (err === 0) return replies;
            let text = c.strerror(err);
            if (flags & NLM_F_ACK_TLVS) {
              // with NETLINK_CAP_ACK the request is not echoed: TLVs follow nlmsgerr (20 bytes)
              const ext = extAckMessage(new Uint8Array(this.rx.buffer, off + 36, len - 36));
              if (ext) text += ` (${ext})`;
            }
            throw new NetlinkError(`${what}: ${text}`, err);
          }
          replies.push(new DataView(this.rx.slice(off, off + len).buffer));
        }
        off += (len + 3) & ~3;
      }
    }
  }
}

/** One RTM_NEWLINK / RTM_DELLINK notification. */
export interface LinkNotice {
  readonly index: number;
  readonly ifname: string;
  /** ifi_flags: IFF_UP, IFF_RUNNING, IFF_LOWER_UP, ... */
  readonly flags: number;
  readonly deleted: boolean;
}

/**
 * A NETLINK_ROUTE socket bound to the link group: the kernel sends it every link change of
 * this namespace. read() returns what is pending without blocking. When the kernel had to drop
 * notifications (the socket buffer overran: ENOBUFS), `overrun` is set once so that the reader
 * reads the state it cares about afresh.
 */
export class LinkNotifications {
  private readonly rx = new Uint8Array(65536);
  private closed = false;
  overrun = false;

  private constructor(readonly fd: number) {}

  static open(): LinkNotifications {
    const c = tryLibc();
    if (!c) throw new NetlinkError('netlink is not available (libc could not be loaded)', 0);
    const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (fd < 0) throw netlinkSysError('socket(AF_NETLINK)');
    // struct sockaddr_nl: family, pad, pid (0: the kernel picks), groups
    const sa = new Uint8Array(12);
    const dv = new DataView(sa.buffer);
    dv.setUint16(0, AF_NETLINK, true);
    dv.setUint32(8, RTMGRP_LINK, true);
    if (c.bind(fd, sa, sa.length) < 0) {
      const err = netlinkSysError('bind(RTMGRP_LINK)');
      closeSync(fd);
      throw err;
    }
    return new LinkNotifications(fd);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  /** Every notification pending (at most 1,000 reads' worth, so a storm cannot hold the caller). */
  read(): LinkNotice[] {
    const c = libc();
    const out: LinkNotice[] = [];
    for (let i = 0; i < 1000 && !this.closed; i++) {
      const n = c.recv(this.fd, this.rx, this.rx.length, 0);
      if (n < 0) {
        const e = errno();
        if (e === ENOBUFS) {
          this.overrun = true;
          continue;
        }
        if (e === EINTR) continue;
        if (e !== EAGAIN) throw netlinkSysError('recv(RTMGRP_LINK)');
        break;
      }
      const dv = new DataView(this.rx.buffer, 0, n);
      for (let off = 0; off + 16 <= n; ) {
        const len = dv.getUint32(off, true);
        if (len < 16 || off + len > n) break;
        const type = dv.getUint16(off + 4, true);
        // struct ifinfomsg (16 bytes) after the header: family, pad, type, index, flags, change
        if ((type === RTM_NEWLINK || type === RTM_DELLINK) && len >= 32) {
          let ifname = '';
          for (let a = off + 32; a + 4 <= off + len; ) {
            const alen = dv.getUint16(a, true);
            if (alen < 4 || a + alen > off + len) break;
            if ((dv.getUint16(a + 2, true) & 0x3fff) === IFLA_IFNAME) ifname = new TextDecoder().decode(this.rx.subarray(a + 4, a + alen)).replace(/\0+$/, '');
            a += (alen + 3) & ~3;
          }
          out.push({ index: dv.getInt32(off + 20, true), ifname, flags: dv.getUint32(off + 24, true), deleted: type === RTM_DELLINK });
        }
        off += (len + 3) & ~3;
      }
    }
    return out;
  }
}

function extAckMessage(tlvs: Uint8Array): string | undefined {
  const dv = new DataView(tlvs.buffer, tlvs.byteOffset, tlvs.byteLength);
  for (let off = 0; off + 4 <= tlvs.length; ) {
    const len = dv.getUint16(off, true);
    const type = dv.getUint16(off + 2, true) & 0x3fff;
    if (len < 4 || off + len > tlvs.length) break;
    if (type === NLMSGERR_ATTR_MSG) return new TextDecoder().decode(tlvs.subarray(off + 4, off + len)).replace(/\0+$/, '');
    off += (len + 3) & ~3;
  }
  return undefined;
}
