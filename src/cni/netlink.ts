/**
 * rtnetlink from this process (koffi to libc, no compiled addon), so that an ADD served by
 * the CNI service starts no `ip` or `nsenter` child: a veth whose pod end is created
 * directly inside the pod's namespace (IFLA_NET_NS_FD), links up, /32 and /128 addresses,
 * the on-link gateway route and the routes through it, an 802.1Q sub-interface, and TX
 * checksum offload off (the SIOCETHTOOL ioctl).
 *
 * Requests for the pod's namespace go through sockets opened *inside* it: setns(pod) →
 * socket() → setns(back), all synchronous, nothing awaited in between, so no other code of
 * this process ever runs in the pod's namespace; a socket keeps the namespace it was
 * created in. Each request asks for an ACK and is answered before send() returns (rtnetlink
 * handles requests in the sender's context), so a blocking recv() never waits long.
 * Failures carry the kernel's errno text and, when given, its extended ACK message, e.g.
 * `RTM_NEWLINK cnr0a1b2c3d4e5f: File exists`.
 */
import koffi from 'koffi';
import { closeSync, openSync } from 'node:fs';
import { parseCidr, parseIp, parseMac } from '../lib/addr.js';

const AF_NETLINK = 16;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const NETLINK_ROUTE = 0;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const CLONE_NEWNET = 0x40000000;
const SIOCETHTOOL = 0x8946;
const ETHTOOL_STXCSUM = 0x17;
const ETHTOOL_STSO = 0x1f;

const NLMSG_ERROR = 2;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_REPLACE = 0x100;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const NLM_F_ACK_TLVS = 0x200;
const NLMSGERR_ATTR_MSG = 1;

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_NEWROUTE = 24;
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINK = 5;
const IFLA_LINKINFO = 18;
const IFLA_NET_NS_FD = 28;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;
const IFLA_VLAN_ID = 1;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_F_NODAD = 0x02;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RT_TABLE_MAIN = 254;
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RTN_UNICAST = 1;
const IFF_UP = 0x1;
const NLA_F_NESTED = 0x8000;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setns(fd: number, nstype: number): number;
  setsockopt(fd: number, level: number, name: number, val: Uint8Array, len: number): number;
  send(fd: number, buf: Uint8Array, len: number, flags: number): number;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  /** ioctl(SIOCETHTOOL) with a struct ifreq whose ifr_data points to a struct ethtool_value */
  ethtoolIoctl(fd: number, req: number, ifr: { name: string; data: { cmd: number; data: number } }): number;
  strerror(errnum: number): string;
}

let lib: Libc | null | undefined;

function libc(): Libc | null {
  if (lib !== undefined) return lib;
  try {
    const l = koffi.load('libc.so.6');
    const value = koffi.struct('cnr_ethtool_value', { cmd: 'uint32', data: 'uint32' });
    koffi.struct('cnr_ifreq_ethtool', { name: koffi.array('char', 16), data: koffi.pointer(value), pad: koffi.array('uint8', 16) });
    lib = {
      socket: l.func('int socket(int, int, int)'),
      setns: l.func('int setns(int, int)'),
      setsockopt: l.func('int setsockopt(int, int, int, const void *, uint32_t)'),
      send: l.func('intptr_t send(int, const void *, size_t, int)'),
      recv: l.func('intptr_t recv(int, _Out_ void *, size_t, int)'),
      ethtoolIoctl: l.func('int ioctl(int, unsigned long, _Inout_ cnr_ifreq_ethtool *)'),
      strerror: l.func('const char *strerror(int)'),
    } as unknown as Libc;
  } catch {
    lib = null;
  }
  return lib;
}

/** Whether rtnetlink can be used from this process (Linux with a loadable libc). */
export function netlinkAvailable(): boolean {
  return process.platform === 'linux' && libc() !== null;
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

function sysError(what: string): NetlinkError {
  const e = koffi.errno();
  return new NetlinkError(`${what}: ${libc()!.strerror(e)}`, e);
}

// ---------------------------------------------------------------------------------------
// Message building: netlink is host byte order (little-endian here), attributes 4-aligned.

class Msg {
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
function inNetns<T>(netnsPath: string, fn: () => T): T {
  const c = libc()!;
  const target = openNs(netnsPath);
  let home: number;
  try {
    home = openSync('/proc/thread-self/ns/net', 'r');
  } catch (err) {
    closeSync(target);
    throw err;
  }
  try {
    if (c.setns(target, CLONE_NEWNET) < 0) throw sysError(`setns(${netnsPath})`);
    try {
      return fn();
    } finally {
      // Must not fail: this thread runs everything else of the process.
      if (c.setns(home, CLONE_NEWNET) < 0) {
        process.stderr.write(`cnr-cni: cannot return to the own network namespace: ${libc()!.strerror(koffi.errno())}\n`);
        process.abort();
      }
    }
  } finally {
    closeSync(target);
    closeSync(home);
  }
}

function openNs(path: string): number {
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

  private constructor(readonly fd: number) {}

  /** A NETLINK_ROUTE socket in this process's namespace, or in the one at `netnsPath`. */
  static open(netnsPath?: string): NetlinkSocket {
    const c = libc();
    if (!c) throw new NetlinkError('netlink is not available (libc could not be loaded)', 0);
    const make = () => {
      const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
      if (fd < 0) throw sysError('socket(AF_NETLINK)');
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
  request(m: Msg, what: string): DataView[] {
    const c = libc()!;
    const seq = (seqCounter = (seqCounter + 1) & 0x7fffffff);
    const req = m.finish(seq);
    if (c.send(this.fd, req, req.length, 0) < 0) throw sysError(`${what}: send`);
    const replies: DataView[] = [];
    for (;;) {
      const n = c.recv(this.fd, this.rx, this.rx.length, 0);
      if (n < 0) throw sysError(`${what}: recv`);
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

// ---------------------------------------------------------------------------------------
// Requests

export interface NlVeth {
  hostVeth: string;
  hostMac: string;
  ifname: string;
  podMac: string;
  /** path of the pod's network namespace */
  netns: string;
  mtu: number;
}

/** One RTM_NEWLINK: the veth pair, host end up here, pod end inside the pod's namespace. */
export function nlCreateVeth(v: NlVeth): void {
  const nsfd = openNs(v.netns);
  const s = NetlinkSocket.open();
  try {
    const m = new Msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL)
      .ifinfo(0, 0, IFF_UP, IFF_UP)
      .attrStr(IFLA_IFNAME, v.hostVeth)
      .attrU32(IFLA_MTU, v.mtu)
      .attr(IFLA_ADDRESS, parseMac(v.hostMac))
      .begin(IFLA_LINKINFO)
      .attrStr(IFLA_INFO_KIND, 'veth')
      .begin(IFLA_INFO_DATA)
      .beginPlain(VETH_INFO_PEER)
      .ifinfo(0, 0, 0, 0)
      .attrStr(IFLA_IFNAME, v.ifname)
      .attrU32(IFLA_MTU, v.mtu)
      .attr(IFLA_ADDRESS, parseMac(v.podMac))
      .attrU32(IFLA_NET_NS_FD, nsfd)
      .end()
      .end()
      .end();
    s.request(m, `RTM_NEWLINK veth ${v.hostVeth} (peer ${v.ifname} in ${v.netns})`);
  } finally {
    s.close();
    closeSync(nsfd);
  }
}

/**
 * Moves the link `name` of this namespace into the one at `netns`, renamed to `ifname`,
 * with `mac` and `mtu`, in one RTM_NEWLINK (the kernel renames it as it enters).
 */
export function nlMoveLink(t: { name: string; netns: string; ifname: string; mac: string; mtu: number }): void {
  const nsfd = openNs(t.netns);
  const s = NetlinkSocket.open();
  try {
    const index = nlLinkIndex(s, t.name);
    const m = new Msg(RTM_NEWLINK, 0)
      .ifinfo(0, index, 0, 0)
      .attrU32(IFLA_MTU, t.mtu)
      .attr(IFLA_ADDRESS, parseMac(t.mac))
      .attrU32(IFLA_NET_NS_FD, nsfd)
      .attrStr(IFLA_IFNAME, t.ifname);
    s.request(m, `RTM_NEWLINK ${t.name} into ${t.netns} as ${t.ifname}`);
  } finally {
    s.close();
    closeSync(nsfd);
  }
}

/** RTM_DELLINK by name; false when there was no such link. */
export function nlDeleteLink(name: string, s?: NetlinkSocket): boolean {
  const sock = s ?? NetlinkSocket.open();
  try {
    sock.request(new Msg(RTM_DELLINK, 0).ifinfo(0, 0, 0, 0).attrStr(IFLA_IFNAME, name), `RTM_DELLINK ${name}`);
    return true;
  } catch (err) {
    if (err instanceof NetlinkError && err.errno === 19 /* ENODEV */) return false;
    throw err;
  } finally {
    if (!s) sock.close();
  }
}

/** The interface index of `name` in the socket's namespace (RTM_GETLINK). */
export function nlLinkIndex(s: NetlinkSocket, name: string): number {
  const [r] = s.request(new Msg(RTM_GETLINK, 0).ifinfo(0, 0, 0, 0).attrStr(IFLA_IFNAME, name), `RTM_GETLINK ${name}`);
  if (!r) throw new NetlinkError(`RTM_GETLINK ${name}: no answer`, 0);
  return r.getInt32(16 + 4, true);
}

export function nlSetUp(s: NetlinkSocket, index: number, what: string): void {
  s.request(new Msg(RTM_NEWLINK, 0).ifinfo(0, index, IFF_UP, IFF_UP), `RTM_NEWLINK ${what} up`);
}

export interface NlPodAddress {
  address: string;
  family: 4 | 6;
  gateway: string;
}

export interface NlPodRoute {
  dst: string;
  gw: string;
}

export interface NlPodVlan {
  carrier: string;
  vlanId: number;
  mtu: number;
}

/**
 * What the pod's namespace needs before its addresses are known (ADD runs it while IPAM
 * answers): lo up and, with `txOff`, TX checksum offload and TSO off on that interface.
 */
export function nlPreparePod(netns: string, txOff?: string): void {
  const s = NetlinkSocket.open(netns);
  try {
    nlSetUp(s, 1, 'lo'); // lo is index 1 in every namespace
  } finally {
    s.close();
  }
  if (txOff !== undefined) inNetns(netns, () => ethtoolTxOff(txOff));
}

/**
 * The pod side, with one socket opened inside the pod's namespace: the VLAN sub-interface
 * if asked, the addresses as /32 and /128 (no DAD), the interface up, an on-link host
 * route to each gateway and the routes through them (replacing any). nlPreparePod first.
 */
export function nlConfigurePod(netns: string, ifname: string, addrs: readonly NlPodAddress[], routes: readonly NlPodRoute[], vlan?: NlPodVlan): void {
  const s = NetlinkSocket.open(netns);
  try {
    if (vlan) {
      const carrier = nlLinkIndex(s, vlan.carrier);
      nlSetUp(s, carrier, vlan.carrier);
      const m = new Msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL)
        .ifinfo(0, 0, 0, 0)
        .attrU32(IFLA_LINK, carrier)
        .attrStr(IFLA_IFNAME, ifname)
        .attrU32(IFLA_MTU, vlan.mtu)
        .begin(IFLA_LINKINFO)
        .attrStr(IFLA_INFO_KIND, 'vlan')
        .begin(IFLA_INFO_DATA)
        .attrU16(IFLA_VLAN_ID, vlan.vlanId)
        .end()
        .end();
      s.request(m, `RTM_NEWLINK vlan ${ifname} on ${vlan.carrier}`);
    }
    const index = nlLinkIndex(s, ifname);
    for (const a of addrs) {
      const ip = parseIp(a.address);
      const m = new Msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL)
        .u8(ip.family === 4 ? AF_INET : AF_INET6)
        .u8(ip.family === 4 ? 32 : 128)
        .u8(ip.family === 6 ? IFA_F_NODAD : 0)
        .u8(RT_SCOPE_UNIVERSE)
        .u32(index);
      if (ip.family === 4) m.attr(IFA_LOCAL, ip.bytes);
      m.attr(IFA_ADDRESS, ip.bytes);
      s.request(m, `RTM_NEWADDR ${a.address} on ${ifname}`);
    }
    nlSetUp(s, index, ifname);
    const gws = new Set<string>();
    for (const a of addrs) {
      if (gws.has(a.gateway)) continue;
      gws.add(a.gateway);
      const gw = parseIp(a.gateway);
      s.request(route(gw.family, gw.bytes, gw.family === 4 ? 32 : 128, index, RT_SCOPE_LINK), `RTM_NEWROUTE ${a.gateway} dev ${ifname}`);
    }
    for (const r of routes) {
      const dst = parseCidr(r.dst);
      const gw = parseIp(r.gw);
      const m = route(dst.family, dst.addr, dst.len, index, RT_SCOPE_UNIVERSE);
      m.attr(RTA_GATEWAY, gw.bytes);
      s.request(m, `RTM_NEWROUTE ${r.dst} via ${r.gw} dev ${ifname}`);
    }
  } finally {
    s.close();
  }
}

function route(family: 4 | 6, dst: Uint8Array, len: number, oif: number, scope: number): Msg {
  const m = new Msg(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE)
    .u8(family === 4 ? AF_INET : AF_INET6)
    .u8(len)
    .u8(0)
    .u8(0)
    .u8(RT_TABLE_MAIN)
    .u8(RTPROT_BOOT)
    .u8(scope)
    .u8(RTN_UNICAST)
    .u32(0);
  if (len > 0) m.attr(RTA_DST, dst.subarray(0, family === 4 ? 4 : 16));
  m.attrU32(RTA_OIF, oif);
  return m;
}

/** TX checksum offload off on `ifname` of this thread's namespace (what `ethtool -K IF tx off` does). */
function ethtoolTxOff(ifname: string): void {
  const c = libc()!;
  const fd = c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sysError('socket(AF_INET)');
  try {
    // TSO too: the kernel does not drop it with checksumming here, and `ethtool -K tx off` does
    for (const [cmd, name] of [[ETHTOOL_STXCSUM, 'ETHTOOL_STXCSUM'], [ETHTOOL_STSO, 'ETHTOOL_STSO']] as const) {
      if (c.ethtoolIoctl(fd, SIOCETHTOOL, { name: ifname, data: { cmd, data: 0 } }) < 0) throw sysError(`SIOCETHTOOL ${name} ${ifname}`);
    }
  } finally {
    closeSync(fd);
  }
}
