/**
 * Socket options Node's net module does not expose, set through koffi on the socket's fd:
 * the TTL/hop limit of BGP sessions (1 for single-hop eBGP, the multihop TTL otherwise) and
 * TCP MD5 signatures (RFC 2385, Linux TCP_MD5SIG). An MD5 key must be on the socket before
 * its SYN, so outgoing signed sessions use a socket we create and hand to net.Socket; a
 * listener carries one key per peer and accepted sockets inherit them.
 */
import * as net from 'node:net';
import { parseIp } from '../../../lib/addr.js';
import { AF_INET, AF_INET6, IP_TTL, IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP, IPV6_UNICAST_HOPS, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM, TCP_MD5SIG } from '../../../sys/constants.js';
import { tryLibc as libc } from '../../../sys/libc.js';

const MD5SIG_SIZE = 216; // sockaddr_storage(128) flags(1) prefixlen(1) keylen(2) ifindex(4) key(80)

/** The fd under a net.Socket or net.Server (Linux, TCP handles). */
export function socketFd(s: net.Socket | net.Server): number | undefined {
  const h = (s as unknown as { _handle?: { fd?: number } })._handle;
  return typeof h?.fd === 'number' && h.fd >= 0 ? h.fd : undefined;
}

function sockaddr(address: string, out: Uint8Array, off = 0): number {
  const { family, bytes } = parseIp(address);
  const dv = new DataView(out.buffer, out.byteOffset);
  if (family === 4) {
    dv.setUint16(off, AF_INET, true);
    out.set(bytes, off + 4);
    return 16;
  }
  dv.setUint16(off, AF_INET6, true);
  out.set(bytes, off + 8);
  return 28;
}

/** Set the TTL (IPv4) or hop limit (IPv6) of a connected socket. */
export function setTtl(sock: net.Socket, ttl: number): boolean {
  const c = libc();
  const fd = socketFd(sock);
  if (!c || fd === undefined) return false;
  const v = new Uint8Array(4);
  new DataView(v.buffer).setInt32(0, ttl, true);
  const v6 = (sock.remoteFamily ?? '') === 'IPv6';
  return c.setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_UNICAST_HOPS : IP_TTL, v, 4) === 0;
}

/** Put (or with an empty key, remove) the MD5 key for `peer` on a socket fd. */
export function setMd5Key(fd: number, peer: string, key: string): boolean {
  const c = libc();
  if (!c) return false;
  const b = new Uint8Array(MD5SIG_SIZE);
  sockaddr(peer, b);
  const k = new TextEncoder().encode(key).subarray(0, 80);
  new DataView(b.buffer).setUint16(130, k.length, true);
  b.set(k, 136);
  return c.setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, b, MD5SIG_SIZE) === 0;
}

/**
 * A not yet connected net.Socket whose fd carries the MD5 key for `peer` (and is bound to
 * `localAddress` when given); undefined when the platform refuses.
 */
export function md5Socket(peer: string, key: string, localAddress?: string): net.Socket | undefined {
  const c = libc();
  if (!c) return undefined;
  const v6 = peer.includes(':');
  const fd = c.socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return undefined;
  if (!setMd5Key(fd, peer, key)) {
    c.close(fd);
    return undefined;
  }
  if (localAddress) {
    const sa = new Uint8Array(28);
    const len = sockaddr(localAddress, sa);
    if (c.bind(fd, sa, len) !== 0) {
      c.close(fd);
      return undefined;
    }
  }
  return new net.Socket({ fd, readable: true, writable: true, manualStart: true } as net.SocketConstructorOpts);
}
