/**
 * The few libc calls the packet drivers need, through koffi (no compiled addon). Loaded
 * lazily once per thread: koffi bindings cannot cross worker_threads, and each worker that
 * opens a driver gets its own. Also the ioctls shared by the AF_PACKET and TAP drivers
 * (interface index, flags, MAC) and poll() for idle waits.
 */
import koffi from 'koffi';
import { execFileSync } from 'node:child_process';

export const AF_INET = 2;
export const AF_PACKET = 17;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0x800;
export const SOCK_CLOEXEC = 0x80000;
export const ETH_P_ALL = 0x0003;
export const SOL_SOCKET = 1;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SOL_PACKET = 263;
export const PACKET_RX_RING = 5;
export const PACKET_VERSION = 10;
export const PACKET_TX_RING = 13;
export const PACKET_STATISTICS = 6;
export const PACKET_COPY_THRESH = 7;
export const PACKET_VNET_HDR = 15;
export const PACKET_LOSS = 14;
export const PACKET_QDISC_BYPASS = 20;
export const PACKET_IGNORE_OUTGOING = 23;
export const TPACKET_V2 = 1;
export const MSG_DONTWAIT = 0x40;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
export const MAP_POPULATE = 0x8000;
export const O_RDWR = 2;
export const O_NONBLOCK = 0x800;
export const O_CLOEXEC = 0x80000;
export const POLLIN = 1;
export const EAGAIN = 11;
export const EINTR = 4;

const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const SIOCGIFHWADDR = 0x8927;
const SIOCSIFHWADDR = 0x8924;
const SIOCGIFMTU = 0x8921;
const IFF_UP = 0x1;
const IFNAMSIZ = 16;
const IFREQ_SIZE = 40;

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  setsockopt(fd: number, level: number, name: number, val: Uint8Array, len: number): number;
  getsockopt(fd: number, level: number, name: number, val: Uint8Array, len: Int32Array): number;
  mmap(addr: null, len: number, prot: number, flags: number, fd: number, off: number): unknown;
  munmap(addr: unknown, len: number): number;
  close(fd: number): number;
  sendto(fd: number, buf: null, len: number, flags: number, addr: null, alen: number): number;
  poll(fds: Uint8Array, n: number, timeoutMs: number): number;
  ioctl(fd: number, req: number, arg: Uint8Array): number;
  open(path: string, flags: number, mode: number): number;
  read(fd: number, buf: Uint8Array, len: number): number;
  write(fd: number, buf: Uint8Array, len: number): number;
  if_nametoindex(name: string): number;
  eventfd(initval: number, flags: number): number;
  memmove(dst: ArrayBufferView, src: ArrayBufferView, n: number): number | bigint;
  madvise(addr: number | bigint, len: number, advice: number): number;
  strerror(errnum: number): string;
}

let cached: Libc | undefined;

/** The libc bindings for this thread. */
export function libc(): Libc {
  if (cached) return cached;
  const lib = koffi.load('libc.so.6');
  cached = {
    socket: lib.func('int socket(int, int, int)'),
    bind: lib.func('int bind(int, const void *, uint32_t)'),
    setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    getsockopt: lib.func('int getsockopt(int, int, int, _Inout_ void *, _Inout_ int32_t *)'),
    mmap: lib.func('void *mmap(void *, size_t, int, int, int, int64_t)'),
    munmap: lib.func('int munmap(void *, size_t)'),
    close: lib.func('int close(int)'),
    sendto: lib.func('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)'),
    poll: lib.func('int poll(_Inout_ void *, uint64_t, int)'),
    ioctl: lib.func('int ioctl(int, unsigned long, _Inout_ void *)'),
    open: lib.func('int open(const char *, int, uint32_t)'),
    read: lib.func('intptr_t read(int, _Out_ void *, size_t)'),
    write: lib.func('intptr_t write(int, const void *, size_t)'),
    if_nametoindex: lib.func('uint32_t if_nametoindex(const char *)'),
    eventfd: lib.func('int eventfd(unsigned int, int)'),
    memmove: lib.func('uintptr_t memmove(void *, void *, size_t)'),
    madvise: lib.func('int madvise(uintptr_t, size_t, int)'),
    strerror: lib.func('const char *strerror(int)'),
  } as unknown as Libc;
  return cached;
}

export function errno(): number {
  return koffi.errno();
}

/** An Error naming the failed call and errno, e.g. "socket(AF_PACKET): Operation not permitted". */
export function sysError(what: string): Error {
  const e = koffi.errno();
  const err = new Error(`${what}: ${libc().strerror(e)} (errno ${e})`) as Error & { errno: number };
  err.errno = e;
  return err;
}

export function setIntOption(fd: number, level: number, name: number, value: number, what: string): void {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, value, true);
  if (libc().setsockopt(fd, level, name, b, 4) < 0) throw sysError(`setsockopt(${what})`);
}

/** Ask for a PACKET_RX_RING or PACKET_TX_RING of `frames` frames of `frameSize` bytes in blocks of `blockSize`. */
export function requestPacketRing(fd: number, opt: number, frames: number, frameSize: number, blockSize: number): void {
  const req = new Uint8Array(16);
  const dv = new DataView(req.buffer);
  dv.setUint32(0, blockSize, true);
  dv.setUint32(4, (frames * frameSize) / blockSize, true);
  dv.setUint32(8, frameSize, true);
  dv.setUint32(12, frames, true);
  if (libc().setsockopt(fd, SOL_PACKET, opt, req, 16) < 0) throw sysError(`setsockopt(${opt === PACKET_RX_RING ? 'PACKET_RX_RING' : 'PACKET_TX_RING'})`);
}

/** sockaddr_ll naming an interface, for bind() and sendto(). */
export function sockaddrLl(ifindex: number, protocol = ETH_P_ALL): Uint8Array {
  const sll = new Uint8Array(20);
  const sv = new DataView(sll.buffer);
  sv.setUint16(0, AF_PACKET, true);
  sv.setUint16(2, protocol, false); // network byte order
  sv.setInt32(4, ifindex, true);
  return sll;
}

/** The address of an mmapped region as a number (MAP_FAILED is all ones). */
export function mapFailed(ptr: unknown): boolean {
  return ptr === null || koffi.address(ptr) === 0xffffffffffffffffn;
}

/** koffi.view: an ArrayBuffer over `len` bytes at `ptr`, valid until munmap. */
export function viewMemory(ptr: unknown, len: number): ArrayBuffer {
  return koffi.view(ptr, len);
}

function ifreq(name: string): Uint8Array {
  if (name.length === 0 || name.length >= IFNAMSIZ) throw new Error(`bad interface name '${name}'`);
  const r = new Uint8Array(IFREQ_SIZE);
  for (let i = 0; i < name.length; i++) r[i] = name.charCodeAt(i);
  return r;
}

/** Run `fn` with a throwaway AF_INET datagram socket, the usual handle for interface ioctls. */
function withControlSocket<T>(fn: (fd: number) => T): T {
  const fd = libc().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sysError('socket(AF_INET)');
  try {
    return fn(fd);
  } finally {
    libc().close(fd);
  }
}

export function interfaceIndex(name: string): number {
  const idx = libc().if_nametoindex(name);
  if (idx === 0) throw new Error(`interface '${name}' not found`);
  return idx;
}

export function interfaceMac(name: string): Uint8Array {
  return withControlSocket((fd) => {
    const r = ifreq(name);
    if (libc().ioctl(fd, SIOCGIFHWADDR, r) < 0) throw sysError(`SIOCGIFHWADDR ${name}`);
    return r.slice(18, 24); // ifr_hwaddr: sa_family (2 bytes) then sa_data
  });
}

export function setInterfaceMac(name: string, mac: Uint8Array): void {
  withControlSocket((fd) => {
    const r = ifreq(name);
    r[16] = 1; // ARPHRD_ETHER, little-endian sa_family
    r.set(mac.subarray(0, 6), 18);
    if (libc().ioctl(fd, SIOCSIFHWADDR, r) < 0) throw sysError(`SIOCSIFHWADDR ${name}`);
  });
}

export function interfaceMtu(name: string): number {
  return withControlSocket((fd) => {
    const r = ifreq(name);
    if (libc().ioctl(fd, SIOCGIFMTU, r) < 0) throw sysError(`SIOCGIFMTU ${name}`);
    return new DataView(r.buffer).getInt32(16, true);
  });
}

/** Set the link administratively up (no-op when it already is). */
export function setInterfaceUp(name: string): void {
  withControlSocket((fd) => {
    const r = ifreq(name);
    if (libc().ioctl(fd, SIOCGIFFLAGS, r) < 0) throw sysError(`SIOCGIFFLAGS ${name}`);
    const dv = new DataView(r.buffer);
    const flags = dv.getUint16(16, true);
    if (flags & IFF_UP) return;
    dv.setUint16(16, flags | IFF_UP, true);
    if (libc().ioctl(fd, SIOCSIFFLAGS, r) < 0) throw sysError(`SIOCSIFFLAGS ${name}`);
  });
}

/**
 * Turn off transmit checksum offload, TSO and GSO (and VLAN acceleration) on a netdev, so frames
 * the kernel sends towards the data plane carry finished checksums and whole packets. Best
 * effort: a device without a feature keeps working; returns false when ethtool failed.
 */
export function disableOffloads(name: string): boolean {
  try {
    execFileSync('ethtool', ['-K', name, 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** Set IFF_NOARP on a netdev: the kernel neither sends nor answers ARP on it. Best effort. */
export function disableKernelArp(name: string): boolean {
  try {
    execFileSync('ip', ['link', 'set', 'dev', name, 'arp', 'off'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Wait until one of `fds` is readable or `timeoutMs` passes (poll(2)). Returns the number of
 * ready descriptors (0 on timeout). Blocks the calling thread: meant for idle data plane workers.
 */
export function pollReadable(fds: readonly number[], timeoutMs: number, scratch = new Uint8Array(fds.length * 8)): number {
  const dv = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
  for (let i = 0; i < fds.length; i++) {
    dv.setInt32(i * 8, fds[i]!, true);
    dv.setInt16(i * 8 + 4, POLLIN, true);
    dv.setInt16(i * 8 + 6, 0, true);
  }
  const n = libc().poll(scratch, fds.length, timeoutMs);
  if (n < 0 && errno() !== EINTR) throw sysError('poll');
  return Math.max(n, 0);
}

const EFD_NONBLOCK = 0x800;
const EFD_CLOEXEC = 0x80000;
const ONE = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
const sink8 = new Uint8Array(8);

/**
 * A wake-up file descriptor (eventfd): a thread asleep in poll() on it wakes when another
 * thread of the process calls wake(). File descriptors are process-wide, so the number can be
 * handed to a worker thread.
 */
export function createWakeFd(): number {
  const fd = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw sysError('eventfd');
  return fd;
}

export function wake(fd: number): void {
  if (fd >= 0) libc().write(fd, ONE, 8);
}

/** Reset a wake fd after poll() (non-blocking; nothing to read is fine). */
export function drainWakeFd(fd: number): void {
  if (fd >= 0) libc().read(fd, sink8, 8);
}

export function closeFd(fd: number): void {
  if (fd >= 0) libc().close(fd);
}

const MADV_HUGEPAGE = 14;
const HUGE = 2n << 20n;

/**
 * Ask for transparent huge pages (2 MiB) under a large buffer that has not been touched yet,
 * so that lookups in a big table miss the TLB far less (THP "madvise" mode, the usual
 * default). The buffer's address comes from memmove(p, p, 0), which returns p. Returns the
 * bytes advised (0 when the buffer is too small or the call is refused).
 */
export function adviseHugePages(buf: ArrayBufferLike): number {
  const view = new Uint8Array(buf);
  const a = BigInt(libc().memmove(view, view, 0));
  const start = (a + HUGE - 1n) & ~(HUGE - 1n);
  const end = (a + BigInt(view.byteLength)) & ~(HUGE - 1n);
  if (end <= start) return 0;
  const len = Number(end - start);
  return libc().madvise(start, len, MADV_HUGEPAGE) === 0 ? len : 0;
}
