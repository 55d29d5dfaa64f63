/**
 * The one binding of libc through koffi (no compiled addon) for the whole process: the data
 * plane's drivers, the AF_XDP set-up (bpf(2) through syscall()), the rtnetlink socket
 * (sys/netlink.ts), the CNI service's posix_spawn and the BGP socket options all call the
 * functions declared here. Loaded lazily once per thread: koffi bindings cannot cross
 * worker_threads, and each worker that opens a driver gets its own. The drivers call some of
 * these per burst (sendto, read, write): callers take the koffi function straight off the
 * cached object, with no wrapper in between (docs/design.md, the fast path). Also the
 * interface ioctls shared by the drivers (index, flags, MAC, MTU, queues), poll() for idle
 * waits, wake-up fds, and crypt(3) from libcrypt.
 */
import koffi from 'koffi';
import {
  AF_INET, AF_PACKET, EFD_CLOEXEC, EFD_NONBLOCK, EINTR, ETH_P_ALL, ETH_GSTRING_LEN, ETH_SS_FEATURES, ETHTOOL_GCHANNELS, ETHTOOL_GSSET_INFO, ETHTOOL_GSTRINGS, ETHTOOL_SFEATURES, IFF_NOARP, IFF_UP, IFNAMSIZ, IFREQ_SIZE, MADV_HUGEPAGE, PACKET_RX_RING,
  POLLIN, SIOCETHTOOL, SIOCGIFFLAGS, SIOCGIFHWADDR, SIOCGIFMTU, SIOCSIFFLAGS, SIOCSIFHWADDR, SOCK_CLOEXEC, SOCK_DGRAM, SOL_PACKET,
} from './constants.js';

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
  /** syscall(nr, a, b, c): glibc's syscall() is assembly that only moves registers, so a fixed prototype is safe */
  syscall(nr: number, a: number, b: bigint | number, c: number): number | bigint;
  /** sendto with the pointers as addresses, for sockaddr and ring memory (the AF_XDP TX kick) */
  sendtoAddr(fd: number, buf: bigint | number, len: number, flags: number, addr: bigint | number, alen: number): number | bigint;
  send(fd: number, buf: Uint8Array, len: number, flags: number): number;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  setns(fd: number, nstype: number): number;
  /** ioctl(SIOCETHTOOL) with a struct ifreq whose ifr_data points to a struct ethtool_value */
  ethtoolIoctl(fd: number, req: number, ifr: { name: string; data: { cmd: number; data: number } }): number;
  /** ioctl whose argument is a value, not a pointer (TUNSETOFFLOAD) */
  ioctlValue(fd: number, req: number, arg: number): number;
  pipe2(fds: Int32Array, flags: number): number;
  posix_spawn(pid: number[], path: string, fa: unknown, attr: unknown, argv: (string | null)[], envp: (string | null)[]): number;
  posix_spawn_file_actions_init(fa: unknown): number;
  posix_spawn_file_actions_adddup2(fa: unknown, fd: number, newfd: number): number;
  posix_spawn_file_actions_destroy(fa: unknown): number;
  posix_spawnattr_init(attr: unknown): number;
  posix_spawnattr_setflags(attr: unknown, flags: number): number;
  posix_spawnattr_setsigdefault(attr: unknown, set: unknown): number;
  posix_spawnattr_setsigmask(attr: unknown, set: unknown): number;
  posix_spawnattr_destroy(attr: unknown): number;
  sigfillset(set: unknown): number;
  sigemptyset(set: unknown): number;
  waitpid(pid: number, status: Int32Array, options: number): number;
  // unix sockets with descriptor passing, sealed shared memory, epoll (memif: sys/unix.ts)
  listen(fd: number, backlog: number): number;
  accept4(fd: number, addr: null, len: null, flags: number): number;
  connect(fd: number, addr: Uint8Array, len: number): number;
  /** sendmsg/recvmsg with a struct msghdr at a fixed address (sys/unix.ts builds it) */
  sendmsgAddr(fd: number, msg: bigint | number, flags: number): number | bigint;
  recvmsgAddr(fd: number, msg: bigint | number, flags: number): number | bigint;
  memfd_create(name: string, flags: number): number;
  ftruncate(fd: number, len: number): number;
  fcntl(fd: number, cmd: number, arg: number): number;
  lseek(fd: number, off: number, whence: number): number | bigint;
  unlink(path: string): number;
  epoll_create1(flags: number): number;
  epoll_ctl(fd: number, op: number, target: number, event: Uint8Array): number;
}

let cached: Libc | undefined;

/** The libc bindings for this thread. */
export function libc(): Libc {
  if (cached) return cached;
  const lib = koffi.load('libc.so.6');
  // the argument of ethtoolIoctl: struct ifreq with ifr_data -> struct ethtool_value (types are per thread, like the bindings)
  const ethtoolValue = koffi.struct('cnr_ethtool_value', { cmd: 'uint32', data: 'uint32' });
  koffi.struct('cnr_ifreq_ethtool', { name: koffi.array('char', 16), data: koffi.pointer(ethtoolValue), pad: koffi.array('uint8', 16) });
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
    syscall: lib.func('long syscall(long, long, uintptr_t, unsigned long)'),
    sendtoAddr: lib.func('intptr_t sendto(int, uintptr_t, size_t, int, uintptr_t, uint32_t)'),
    send: lib.func('intptr_t send(int, const void *, size_t, int)'),
    recv: lib.func('intptr_t recv(int, _Out_ void *, size_t, int)'),
    setns: lib.func('int setns(int, int)'),
    ethtoolIoctl: lib.func('int ioctl(int, unsigned long, _Inout_ cnr_ifreq_ethtool *)'),
    ioctlValue: lib.func('int ioctl(int, unsigned long, unsigned long)'),
    pipe2: lib.func('int pipe2(_Inout_ void *, int)'),
    posix_spawn: lib.func('int posix_spawn(_Out_ int *, const char *, void *, void *, const char **, const char **)'),
    posix_spawn_file_actions_init: lib.func('int posix_spawn_file_actions_init(void *)'),
    posix_spawn_file_actions_adddup2: lib.func('int posix_spawn_file_actions_adddup2(void *, int, int)'),
    posix_spawn_file_actions_destroy: lib.func('int posix_spawn_file_actions_destroy(void *)'),
    posix_spawnattr_init: lib.func('int posix_spawnattr_init(void *)'),
    posix_spawnattr_setflags: lib.func('int posix_spawnattr_setflags(void *, short)'),
    posix_spawnattr_setsigdefault: lib.func('int posix_spawnattr_setsigdefault(void *, void *)'),
    posix_spawnattr_setsigmask: lib.func('int posix_spawnattr_setsigmask(void *, void *)'),
    posix_spawnattr_destroy: lib.func('int posix_spawnattr_destroy(void *)'),
    sigfillset: lib.func('int sigfillset(void *)'),
    sigemptyset: lib.func('int sigemptyset(void *)'),
    waitpid: lib.func('int waitpid(int, _Inout_ void *, int)'),
    listen: lib.func('int listen(int, int)'),
    accept4: lib.func('int accept4(int, void *, void *, int)'),
    connect: lib.func('int connect(int, const void *, uint32_t)'),
    sendmsgAddr: lib.func('intptr_t sendmsg(int, uintptr_t, int)'),
    recvmsgAddr: lib.func('intptr_t recvmsg(int, uintptr_t, int)'),
    memfd_create: lib.func('int memfd_create(const char *, unsigned int)'),
    ftruncate: lib.func('int ftruncate(int, int64_t)'),
    fcntl: lib.func('int fcntl(int, int, int)'),
    lseek: lib.func('int64_t lseek(int, int64_t, int)'),
    unlink: lib.func('int unlink(const char *)'),
    epoll_create1: lib.func('int epoll_create1(int)'),
    epoll_ctl: lib.func('int epoll_ctl(int, int, int, const void *)'),
  } as unknown as Libc;
  return cached;
}

let unavailable = false;

/**
 * The bindings, or null where libc cannot be loaded (not Linux, no koffi build): for callers
 * that fall back (the CNI service to `ip` and Node's spawn, BGP to sockets without TTL/MD5).
 */
export function tryLibc(): Libc | null {
  if (cached) return cached;
  if (unavailable || process.platform !== 'linux') return null;
  try {
    return libc();
  } catch {
    unavailable = true;
    return null;
  }
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
  if (libc().setsockopt(fd, SOL_PACKET, opt, packetRingRequest(frames, frameSize, blockSize), 16) < 0) throw sysError(ringOptionName(opt));
}

/**
 * requestPacketRing on libuv's thread pool (koffi's async call): the setsockopt waits for an
 * RCU grace period in the kernel, which the calling thread's event loop need not share.
 */
export function requestPacketRingAsync(fd: number, opt: number, frames: number, frameSize: number, blockSize: number): Promise<void> {
  const req = packetRingRequest(frames, frameSize, blockSize);
  const setsockopt = libc().setsockopt as unknown as { async(...a: [number, number, number, Uint8Array, number, (err: unknown, r: number) => void]): void };
  return new Promise((resolve, reject) => {
    setsockopt.async(fd, SOL_PACKET, opt, req, 16, (err, r) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      // errno is per thread: the pool thread's is not readable here
      else if (r < 0) reject(new Error(`${ringOptionName(opt)} failed`));
      else resolve();
    });
  });
}

/** struct tpacket_req for `frames` frames of `frameSize` bytes in blocks of `blockSize`. */
function packetRingRequest(frames: number, frameSize: number, blockSize: number): Uint8Array {
  const req = new Uint8Array(16);
  const dv = new DataView(req.buffer);
  dv.setUint32(0, blockSize, true);
  dv.setUint32(4, (frames * frameSize) / blockSize, true);
  dv.setUint32(8, frameSize, true);
  dv.setUint32(12, frames, true);
  return req;
}

function ringOptionName(opt: number): string {
  return `setsockopt(${opt === PACKET_RX_RING ? 'PACKET_RX_RING' : 'PACKET_TX_RING'})`;
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

/**
 * The receive queues a netdev uses (ETHTOOL_GCHANNELS: rx + combined channels); 1 when the
 * driver does not say (no get_channels) or says 0.
 */
export function rxQueueCount(ifname: string): number {
  const c = libc();
  // struct ethtool_channels (9 u32: cmd, max_rx, max_tx, max_other, max_combined, rx, tx, other, combined) at a fixed address
  const p = koffi.alloc('uint8_t', 36);
  try {
    const ch = new DataView(koffi.view(p, 36));
    ch.setUint32(0, ETHTOOL_GCHANNELS, true);
    const ifr = new Uint8Array(IFREQ_SIZE);
    for (let i = 0; i < ifname.length && i < IFNAMSIZ - 1; i++) ifr[i] = ifname.charCodeAt(i);
    new DataView(ifr.buffer).setBigUint64(16, BigInt(koffi.address(p)), true); // ifr_data
    const fd = c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 1;
    try {
      if (c.ioctl(fd, SIOCETHTOOL, ifr) < 0) return 1;
    } finally {
      c.close(fd);
    }
    return Math.max(1, ch.getUint32(20, true) + ch.getUint32(32, true));
  } finally {
    koffi.free(p);
  }
}

/** The interface flags (SIOCGIFFLAGS: IFF_UP, IFF_RUNNING, ...), or undefined when there is no such interface. */
export function interfaceFlags(name: string): number | undefined {
  return withControlSocket((fd) => {
    const r = ifreq(name);
    if (libc().ioctl(fd, SIOCGIFFLAGS, r) < 0) return undefined;
    return new DataView(r.buffer).getUint16(16, true);
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
 * With `keepTx` only GRO goes off and the transmit checksum, TSO and GSO features are asked
 * on instead: the AF_PACKET driver sends GSO super-frames (io/af-packet.ts), which the netdev
 * (a veth: its peer) should take whole rather than have the kernel cut them first.
 */
export function disableOffloads(name: string, keepTx = false): boolean {
  // SIOCETHTOOL in this thread rather than an `ethtool -K` child: a child forks the whole
  // (large) process and blocked the attaching worker for tens of ms per interface. As
  // ethtool does it: the features by their names (ETHTOOL_GSTRINGS), cleared in one
  // ETHTOOL_SFEATURES; the legacy per-feature commands miss newer TSO kinds (AccECN).
  return withControlSocket((fd) => {
    const names = ethtoolFeatureNames(fd, name);
    if (!names) return false;
    const tx = (n: string) => n.startsWith('tx-checksum-') || /^tx-tcp.*segmentation$/.test(n) || n === 'tx-generic-segmentation';
    const blocks = Math.ceil(names.length / 32);
    return ethtoolCall(fd, name, 8 + blocks * 8, (dv) => {
      dv.setUint32(0, ETHTOOL_SFEATURES, true);
      dv.setUint32(4, blocks, true);
      // each block: valid (the bits to change), requested (their new values)
      const set = (i: number, word: number) => dv.setUint32(8 + (i >> 5) * 8 + word, dv.getUint32(8 + (i >> 5) * 8 + word, true) | (1 << (i & 31)), true);
      names.forEach((n, i) => {
        if (n === 'rx-gro' || tx(n)) set(i, 0);
        if (keepTx && tx(n)) set(i, 4);
      });
    }) !== undefined;
  });
}

/** One SIOCETHTOOL with `bytes` of command data at a fixed address, filled by `fill`; the data after the call, or undefined when it failed. */
function ethtoolCall(fd: number, ifname: string, bytes: number, fill: (dv: DataView) => void): DataView | undefined {
  const p = koffi.alloc('uint8_t', bytes);
  try {
    const dv = new DataView(koffi.view(p, bytes));
    for (let i = 0; i < bytes; i++) dv.setUint8(i, 0);
    fill(dv);
    const ifr = ifreq(ifname);
    new DataView(ifr.buffer).setBigUint64(16, BigInt(koffi.address(p)), true); // ifr_data
    if (libc().ioctl(fd, SIOCETHTOOL, ifr) < 0) return undefined;
    return new DataView(dv.buffer.slice(0));
  } finally {
    koffi.free(p);
  }
}

/** The names of a netdev's feature bits, in bit order (ETH_SS_FEATURES), or undefined. */
function ethtoolFeatureNames(fd: number, ifname: string): string[] | undefined {
  // struct ethtool_sset_info: cmd, reserved, u64 sset_mask, then one u32 count per set asked
  const info = ethtoolCall(fd, ifname, 20, (dv) => {
    dv.setUint32(0, ETHTOOL_GSSET_INFO, true);
    dv.setBigUint64(8, 1n << BigInt(ETH_SS_FEATURES), true);
  });
  const count = info?.getUint32(16, true) ?? 0;
  if (count === 0 || count > 1024) return undefined;
  // struct ethtool_gstrings: cmd, string_set, len, then len names of ETH_GSTRING_LEN bytes
  const strings = ethtoolCall(fd, ifname, 12 + count * ETH_GSTRING_LEN, (dv) => {
    dv.setUint32(0, ETHTOOL_GSTRINGS, true);
    dv.setUint32(4, ETH_SS_FEATURES, true);
    dv.setUint32(8, count, true);
  });
  if (!strings) return undefined;
  const bytes = new Uint8Array(strings.buffer, 12);
  return Array.from({ length: count }, (_, i) => {
    const s = bytes.subarray(i * ETH_GSTRING_LEN, (i + 1) * ETH_GSTRING_LEN);
    const end = s.indexOf(0);
    return String.fromCharCode(...s.subarray(0, end < 0 ? s.length : end));
  });
}

/** Set IFF_NOARP on a netdev: the kernel neither sends nor answers ARP on it. Best effort. */
export function disableKernelArp(name: string): boolean {
  // an ioctl, not an `ip link set arp off` child (see disableOffloads)
  return withControlSocket((fd) => {
    const r = ifreq(name);
    if (libc().ioctl(fd, SIOCGIFFLAGS, r) < 0) return false;
    const dv = new DataView(r.buffer);
    const flags = dv.getUint16(16, true);
    if (flags & IFF_NOARP) return true;
    dv.setUint16(16, flags | IFF_NOARP, true);
    return libc().ioctl(fd, SIOCSIFFLAGS, r) >= 0;
  });
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

let cryptFn: ((key: string, salt: string) => string | null) | undefined;

/** crypt(3) of libcrypt: `$6$` (SHA-512), `$5$`, `$y$` (yescrypt) and the rest it knows. */
export function crypt(password: string, setting: string): string | null {
  cryptFn ??= koffi.load('libcrypt.so.1').func('const char *crypt(const char *key, const char *salt)') as (k: string, s: string) => string | null;
  return cryptFn(password, setting);
}
