/**
 * Unix SOCK_SEQPACKET sockets with file descriptors passed beside the data (SCM_RIGHTS),
 * sealed shared memory (memfd) and epoll sets, through the koffi libc bindings of libc.ts:
 * what the memif driver (dataplane/io/memif.ts) needs for its control channel and what its
 * tests need to play a client. sendmsg/recvmsg take a struct msghdr built in a small block of
 * memory allocated once per thread (koffi.alloc), since the kernel follows its pointers.
 */
import koffi from 'koffi';
import { unlinkSync, lstatSync, readlinkSync } from 'node:fs';
import {
  AF_UNIX, EAGAIN, EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLLIN, F_ADD_SEALS, F_GET_SEALS, F_SEAL_SHRINK, MFD_ALLOW_SEALING, MFD_CLOEXEC,
  MSG_CMSG_CLOEXEC, MSG_CTRUNC, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_TRUNC, SCM_RIGHTS, SEEK_END, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_SEQPACKET, SOL_SOCKET,
  SUN_PATH_MAX,
} from './constants.js';
import { errno, libc, sysError } from './libc.js';

/** struct sockaddr_un for `path` (a filesystem path, not abstract). */
export function sockaddrUn(path: string): Uint8Array {
  const bytes = Buffer.from(path, 'utf8');
  if (bytes.length === 0 || bytes.length >= SUN_PATH_MAX) throw new Error(`unix socket path '${path}' is empty or longer than ${SUN_PATH_MAX - 1} bytes`);
  const sa = new Uint8Array(2 + SUN_PATH_MAX);
  sa[0] = AF_UNIX; // little-endian sa_family
  sa.set(bytes, 2);
  return sa;
}

/**
 * A non-blocking SOCK_SEQPACKET socket listening at `path`. A socket file left there by an
 * earlier run is replaced; any other kind of file is not (the caller named the wrong path).
 */
export function listenSeqpacket(path: string, backlog = 4): number {
  const sa = sockaddrUn(path);
  try {
    const st = lstatSync(path);
    if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const c = libc();
  const fd = c.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sysError('socket(AF_UNIX, SOCK_SEQPACKET)');
  if (c.bind(fd, sa, sa.length) < 0 || c.listen(fd, backlog) < 0) {
    const err = sysError(`bind/listen ${path}`);
    c.close(fd);
    throw err;
  }
  return fd;
}

/** Connect a SOCK_SEQPACKET socket to `path` (blocking connect, then non-blocking if asked). */
export function connectSeqpacket(path: string, nonBlocking = false): number {
  const sa = sockaddrUn(path);
  const c = libc();
  const fd = c.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | (nonBlocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) throw sysError('socket(AF_UNIX, SOCK_SEQPACKET)');
  if (c.connect(fd, sa, sa.length) < 0) {
    const err = sysError(`connect ${path}`);
    c.close(fd);
    throw err;
  }
  return fd;
}

/** accept4() without blocking: the new connection's fd (non-blocking, close-on-exec), or -1 when none waits. */
export function acceptPending(fd: number): number {
  const s = libc().accept4(fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (s < 0 && errno() !== EAGAIN) throw sysError('accept4');
  return s;
}

// scratch layout: msghdr @0 (56 bytes), iovec @64 (16), control @128 (CONTROL_LEN), data @256 (DATA_LEN)
const IOV = 64;
const CONTROL = 128;
const CONTROL_LEN = 128;
const DATA = 256;
const DATA_LEN = 512;

/** What recvSeqpacket got: bytes (0: the peer closed, -1: nothing waiting), descriptors passed with them, truncation. */
export interface Received {
  bytes: number;
  fds: number[];
  /** the datagram was longer than the buffer, or descriptors did not fit (the kernel closed those) */
  truncated: boolean;
}

let scratch: { addr: bigint; view: DataView; bytes: Uint8Array } | undefined;

function msgScratch(): { addr: bigint; view: DataView; bytes: Uint8Array } {
  if (scratch) return scratch;
  const p = koffi.alloc('uint8_t', DATA + DATA_LEN); // kept for the thread's life
  const ab = koffi.view(p, DATA + DATA_LEN);
  scratch = { addr: BigInt(koffi.address(p)), view: new DataView(ab), bytes: new Uint8Array(ab) };
  return scratch;
}

function prepare(len: number, control: number): { addr: bigint; view: DataView; bytes: Uint8Array } {
  const s = msgScratch();
  s.bytes.fill(0, 0, DATA);
  const v = s.view;
  v.setBigUint64(16, s.addr + BigInt(IOV), true); // msg_iov
  v.setBigUint64(24, 1n, true); // msg_iovlen
  if (control > 0) {
    v.setBigUint64(32, s.addr + BigInt(CONTROL), true); // msg_control
    v.setBigUint64(40, BigInt(control), true); // msg_controllen
  }
  v.setBigUint64(IOV, s.addr + BigInt(DATA), true); // iov_base
  v.setBigUint64(IOV + 8, BigInt(len), true); // iov_len
  return s;
}

/** Send one datagram, with `passFds` as SCM_RIGHTS when given. Returns bytes sent, or -1 (errno set). */
export function sendSeqpacket(fd: number, data: Uint8Array, passFds: readonly number[] = []): number {
  if (data.length > DATA_LEN) throw new Error(`datagram of ${data.length} bytes is above ${DATA_LEN}`);
  if (passFds.length * 4 + 16 > CONTROL_LEN) throw new Error('too many descriptors for one message');
  const space = passFds.length > 0 ? 16 + ((passFds.length * 4 + 7) & ~7) : 0; // CMSG_SPACE
  const s = prepare(data.length, space);
  s.bytes.set(data, DATA);
  if (passFds.length > 0) {
    s.view.setBigUint64(CONTROL, BigInt(16 + passFds.length * 4), true); // cmsg_len = CMSG_LEN
    s.view.setInt32(CONTROL + 8, SOL_SOCKET, true);
    s.view.setInt32(CONTROL + 12, SCM_RIGHTS, true);
    for (let k = 0; k < passFds.length; k++) s.view.setInt32(CONTROL + 16 + 4 * k, passFds[k]!, true);
  }
  return Number(libc().sendmsgAddr(fd, s.addr, MSG_NOSIGNAL | MSG_DONTWAIT));
}

/**
 * Receive one datagram into `buf` without blocking; descriptors that came with it are returned
 * (close-on-exec), every one of them: the caller owns and must close what it does not keep.
 */
export function recvSeqpacket(fd: number, buf: Uint8Array): Received {
  const s = prepare(DATA_LEN, CONTROL_LEN);
  const n = Number(libc().recvmsgAddr(fd, s.addr, MSG_DONTWAIT | MSG_CMSG_CLOEXEC));
  if (n < 0) {
    if (errno() === EAGAIN) return { bytes: -1, fds: [], truncated: false };
    return { bytes: 0, fds: [], truncated: false }; // ECONNRESET and the like: as closed
  }
  const v = s.view;
  const flags = v.getInt32(48, true);
  const fds: number[] = [];
  const controlLen = Number(v.getBigUint64(40, true));
  let at = 0;
  while (at + 16 <= controlLen) {
    const len = Number(v.getBigUint64(CONTROL + at, true));
    if (len < 16 || at + len > controlLen) break;
    if (v.getInt32(CONTROL + at + 8, true) === SOL_SOCKET && v.getInt32(CONTROL + at + 12, true) === SCM_RIGHTS) {
      for (let k = 16; k + 4 <= len; k += 4) fds.push(v.getInt32(CONTROL + at + k, true));
    }
    at += (len + 7) & ~7;
  }
  const got = Math.min(n, buf.length);
  buf.set(s.bytes.subarray(DATA, DATA + got));
  return { bytes: n, fds, truncated: (flags & (MSG_TRUNC | MSG_CTRUNC)) !== 0 || n > buf.length };
}

/** Bytes in the file behind `fd` (lseek to the end), or -1. */
export function fileSize(fd: number): number {
  return Number(libc().lseek(fd, 0, SEEK_END));
}

/** Whether the memfd behind `fd` is sealed against shrinking (so a mapping of it can never fault). */
export function sealedAgainstShrink(fd: number): boolean {
  const seals = libc().fcntl(fd, F_GET_SEALS, 0);
  return seals >= 0 && (seals & F_SEAL_SHRINK) !== 0;
}

/** Whether `fd` is an eventfd (what /proc/self/fd says it is). */
export function isEventfd(fd: number): boolean {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[eventfd]';
  } catch {
    return false;
  }
}

/** A memfd of `size` bytes, sealed against shrinking unless told otherwise (the client's side of memif; tests). */
export function createMemfd(name: string, size: number, seal = true): number {
  const c = libc();
  const fd = c.memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) throw sysError('memfd_create');
  if (c.ftruncate(fd, size) < 0 || (seal && c.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)) {
    const err = sysError('memfd size/seal');
    c.close(fd);
    throw err;
  }
  return fd;
}

/** An epoll set: one descriptor that is readable when any member is (a driver's single fd for poll()). */
export function createEpoll(): number {
  const fd = libc().epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw sysError('epoll_create1');
  return fd;
}

const event = new Uint8Array(16); // struct epoll_event: u32 events, u64 data (packed to 12 bytes on x86-64, 16 elsewhere)

export function epollAdd(ep: number, fd: number): void {
  const v = new DataView(event.buffer);
  v.setUint32(0, EPOLLIN, true);
  v.setBigUint64(4, BigInt(fd), true);
  if (libc().epoll_ctl(ep, EPOLL_CTL_ADD, fd, event) < 0) throw sysError('epoll_ctl(ADD)');
}

export function epollDel(ep: number, fd: number): void {
  libc().epoll_ctl(ep, EPOLL_CTL_DEL, fd, event); // a member already closed left on its own
}
