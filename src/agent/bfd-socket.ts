/**
 * Kernel UDP sockets for BFD in the vRouter (docs/bfd.md, "Hosting"): the vRouter punts the
 * node's own UDP to vhost0, where the router's addresses live in the host kernel, so BFD
 * receives on a socket bound to such an address and port 3784 (single hop, RFC 5881) or
 * 4784 (multihop, RFC 5883), and sends from one bound to the same address and a source
 * port in 49152-65535 with TTL / hop limit 255. node:dgram cannot read a received packet's
 * TTL, which RFC 5881 section 5 requires checking: these sockets are opened through koffi
 * and read with recvmsg(2), IP_RECVTTL / IPV6_RECVHOPLIMIT and IP_PKTINFO / IPV6_RECVPKTINFO
 * giving the TTL and the destination address as control messages. Sockets are non-blocking;
 * the BFD worker polls them. Binding uses IP_FREEBIND: the vRouter may put the address on
 * vhost0 a moment after the session is asked for.
 */
import { formatIpv4, formatIpv6, parseIp } from '../lib/addr.js';
import { AF_INET, AF_INET6, IP_TTL, IPPROTO_IP, IPPROTO_IPV6, IPV6_UNICAST_HOPS, MAP_PRIVATE_ANON, MSG_DONTWAIT, PROT_RW, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOL_SOCKET } from '../sys/constants.js';
import { errno, libc, mapFailed, setIntOption, sysError, viewMemory } from '../sys/libc.js';
import koffi from 'koffi';

// socket options and control-message types only BFD uses (linux/in.h, linux/in6.h)
const SO_REUSEADDR = 2;
const SO_BINDTODEVICE = 25;
const IP_PKTINFO = 8;
const IP_RECVTTL = 12;
const IP_FREEBIND = 15;
const IPV6_V6ONLY = 26;
const IPV6_RECVPKTINFO = 49;
const IPV6_PKTINFO = 50;
const IPV6_RECVHOPLIMIT = 51;
const IPV6_HOPLIMIT = 52;
const IPV6_FREEBIND = 78;
const EAGAIN = 11;
const EADDRINUSE = 98;

/** RFC 5881 section 4: a session's source port is in 49152-65535 */
export const BFD_SOURCE_PORT_FIRST = 49152;
export const BFD_SOURCE_PORT_LAST = 65535;

/** One received datagram as the BFD instance wants it. */
export interface ReceivedDatagram {
  payload: Uint8Array;
  srcAddress: string;
  srcPort: number;
  /** the packet's destination address (IP_PKTINFO), '' when the kernel did not say */
  dstAddress: string;
  /** IPv4 TTL or IPv6 hop limit as received; -1 when the kernel did not say */
  ttl: number;
}

// the receive area: one page of anonymous memory that recvmsg writes into (koffi cannot hand
// the kernel pointers to JavaScript memory inside a struct): msghdr, iovec, the source
// sockaddr, the control messages and the payload at fixed offsets
const AREA = 4096;
const OFF_IOV = 64;
const OFF_NAME = 128;
const OFF_CONTROL = 256;
const CONTROL_LEN = 256;
const OFF_DATA = 512;
const DATA_LEN = AREA - OFF_DATA;

/** recvmsg(2) into one mapped page, reused for every packet of the thread. */
export class Receiver {
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  private readonly base: bigint;

  constructor() {
    const ptr = libc().mmap(null, AREA, PROT_RW, MAP_PRIVATE_ANON, -1, 0);
    if (mapFailed(ptr)) throw sysError('mmap (BFD receive area)');
    const ab = viewMemory(ptr, AREA);
    this.view = new DataView(ab);
    this.bytes = new Uint8Array(ab);
    this.base = koffi.address(ptr) as bigint;
    // iovec: base, len
    this.view.setBigUint64(OFF_IOV, this.base + BigInt(OFF_DATA), true);
    this.view.setBigUint64(OFF_IOV + 8, BigInt(DATA_LEN), true);
  }

  /** The next datagram on `fd`, or undefined when none is waiting. Throws on other errors. */
  receive(fd: number): ReceivedDatagram | undefined {
    const v = this.view;
    // struct msghdr: name, namelen, iov, iovlen, control, controllen, flags
    v.setBigUint64(0, this.base + BigInt(OFF_NAME), true);
    v.setUint32(8, 28, true);
    v.setBigUint64(16, this.base + BigInt(OFF_IOV), true);
    v.setBigUint64(24, 1n, true);
    v.setBigUint64(32, this.base + BigInt(OFF_CONTROL), true);
    v.setBigUint64(40, BigInt(CONTROL_LEN), true);
    v.setInt32(48, 0, true);
    const n = Number(libc().recvmsgAddr(fd, this.base, MSG_DONTWAIT));
    if (n < 0) {
      const e = errno();
      if (e === EAGAIN) return undefined;
      throw sysError('recvmsg (BFD)');
    }
    const family = v.getUint16(OFF_NAME, true);
    const srcPort = v.getUint16(OFF_NAME + 2, false);
    const srcAddress = family === AF_INET6 ? formatIpv6(this.bytes, OFF_NAME + 8) : formatIpv4(v.getUint32(OFF_NAME + 4, false));
    let ttl = -1;
    let dstAddress = '';
    const controlLen = Number(v.getBigUint64(40, true));
    for (let c = OFF_CONTROL; c + 16 <= OFF_CONTROL + controlLen; ) {
      const len = Number(v.getBigUint64(c, true));
      if (len < 16) break;
      const level = v.getInt32(c + 8, true);
      const type = v.getInt32(c + 12, true);
      const data = c + 16;
      if (level === IPPROTO_IP && type === IP_TTL) ttl = v.getInt32(data, true);
      else if (level === IPPROTO_IP && type === IP_PKTINFO) dstAddress = formatIpv4(v.getUint32(data + 8, false));
      else if (level === IPPROTO_IPV6 && type === IPV6_HOPLIMIT) ttl = v.getInt32(data, true);
      else if (level === IPPROTO_IPV6 && type === IPV6_PKTINFO) dstAddress = formatIpv6(this.bytes, data);
      c += (len + 7) & ~7;
    }
    return { payload: this.bytes.slice(OFF_DATA, OFF_DATA + Math.min(n, DATA_LEN)), srcAddress, srcPort, dstAddress, ttl };
  }
}

/** sockaddr_in / sockaddr_in6 for `address` and `port`. */
export function sockaddr(address: string, port: number): Uint8Array {
  const ip = parseIp(address);
  const sa = new Uint8Array(ip.family === 4 ? 16 : 28);
  const v = new DataView(sa.buffer);
  v.setUint16(0, ip.family === 4 ? AF_INET : AF_INET6, true);
  v.setUint16(2, port, false);
  sa.set(ip.bytes, ip.family === 4 ? 4 : 8);
  return sa;
}

/**
 * `device`: bind to the host interface the vRouter punts to (vhost0). Besides keeping BFD to
 * what crossed the vRouter, an IPv4 socket bound to a device sends to a destination the
 * host has no route for as if it were on that link (the kernel's fallback when the output
 * interface is fixed), and on vhost0 the vRouter answers ARP for every address and routes
 * the packet with its own FIB: a multihop peer needs no route in the host kernel.
 */
function openUdp(local: string, device?: string): { fd: number; v6: boolean } {
  const v6 = local.includes(':');
  const fd = libc().socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sysError(`socket (BFD ${local})`);
  try {
    if (v6) {
      setIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, 'IPV6_V6ONLY');
      setIntOption(fd, IPPROTO_IPV6, IPV6_FREEBIND, 1, 'IPV6_FREEBIND');
    } else setIntOption(fd, IPPROTO_IP, IP_FREEBIND, 1, 'IP_FREEBIND');
    if (device) {
      const name = new TextEncoder().encode(`${device}\0`);
      if (libc().setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, name.length) < 0) throw sysError(`setsockopt(SO_BINDTODEVICE ${device})`);
    }
  } catch (err) {
    libc().close(fd);
    throw err;
  }
  return { fd, v6 };
}

/** A socket receiving BFD on `local`:`port` (3784 or 4784), reporting TTL and destination. */
export function openReceiveSocket(local: string, port: number, device?: string): number {
  const { fd, v6 } = openUdp(local, device);
  try {
    setIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, 'SO_REUSEADDR');
    if (v6) {
      setIntOption(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, 'IPV6_RECVHOPLIMIT');
      setIntOption(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, 'IPV6_RECVPKTINFO');
    } else {
      setIntOption(fd, IPPROTO_IP, IP_RECVTTL, 1, 'IP_RECVTTL');
      setIntOption(fd, IPPROTO_IP, IP_PKTINFO, 1, 'IP_PKTINFO');
    }
    const sa = sockaddr(local, port);
    if (libc().bind(fd, sa, sa.length) < 0) throw sysError(`bind BFD ${local} port ${port}`);
    return fd;
  } catch (err) {
    libc().close(fd);
    throw err;
  }
}

/**
 * A socket sending BFD from `local` with TTL / hop limit 255, bound to the first free source
 * port at or after `firstPort` in 49152-65535. Returns the socket and its port.
 */
export function openSendSocket(local: string, firstPort = BFD_SOURCE_PORT_FIRST, device?: string): { fd: number; port: number } {
  const { fd, v6 } = openUdp(local, device);
  try {
    if (v6) setIntOption(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255, 'IPV6_UNICAST_HOPS');
    else setIntOption(fd, IPPROTO_IP, IP_TTL, 255, 'IP_TTL');
    const span = BFD_SOURCE_PORT_LAST - BFD_SOURCE_PORT_FIRST + 1;
    for (let i = 0; i < span; i++) {
      const port = BFD_SOURCE_PORT_FIRST + ((firstPort - BFD_SOURCE_PORT_FIRST + i) % span);
      const sa = sockaddr(local, port);
      if (libc().bind(fd, sa, sa.length) === 0) return { fd, port };
      if (errno() !== EADDRINUSE) throw sysError(`bind BFD source ${local} port ${port}`);
    }
    throw new Error(`bfd: no free source port in 49152-65535 on ${local}`);
  } catch (err) {
    libc().close(fd);
    throw err;
  }
}

/** Send one datagram (non-blocking: a full socket buffer loses the packet, as a wire would). */
export function sendDatagram(fd: number, payload: Uint8Array, to: Uint8Array): boolean {
  const send = libc().sendto as unknown as (fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array, alen: number) => number | bigint;
  return Number(send(fd, payload, payload.length, MSG_DONTWAIT, to, to.length)) === payload.length;
}

export function closeSocket(fd: number): void {
  libc().close(fd);
}

/** The textual form sessions are keyed by (the kernel's, and lib/addr's). */
export function canonicalAddress(address: string): string {
  const ip = parseIp(address);
  return ip.family === 4 ? formatIpv4(new DataView(ip.bytes.buffer, ip.bytes.byteOffset).getUint32(0, false)) : formatIpv6(ip.bytes);
}
