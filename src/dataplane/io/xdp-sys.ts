/**
 * The system calls the AF_XDP driver needs beyond io/libc.ts: bpf(2) through syscall(), and
 * the constants of AF_XDP sockets (linux/if_xdp.h), eBPF and rtnetlink's IFLA_XDP. Bound per
 * thread like libc.ts (koffi bindings cannot cross worker_threads).
 */
import koffi from 'koffi';
import { libc as baseLibc, type Libc } from './libc.js';

import { PROT_READ, PROT_WRITE } from './libc.js';

export { MAP_POPULATE, MAP_SHARED, mapFailed, sysError, viewMemory, errno, closeFd } from './libc.js';

export const PROT_RW = PROT_READ | PROT_WRITE;
/** MAP_PRIVATE | MAP_ANONYMOUS */
export const MAP_PRIVATE_ANON = 0x02 | 0x20;

export interface XdpLibc extends Libc {
  /** syscall(nr, a, b, c): glibc's syscall() is assembly that only moves registers, so a fixed prototype is safe */
  syscall(nr: number, a: number, b: bigint | number, c: number): number | bigint;
  /** the same with the pointers as addresses, for sockaddr and ring memory */
  sendtoAddr(fd: number, buf: bigint | number, len: number, flags: number, addr: bigint | number, alen: number): number | bigint;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number | bigint;
}

let cached: XdpLibc | undefined;

export function libc(): XdpLibc {
  if (cached) return cached;
  const lib = koffi.load('libc.so.6');
  cached = Object.assign(Object.create(null) as object, baseLibc(), {
    syscall: lib.func('long syscall(long, long, uintptr_t, unsigned long)'),
    sendtoAddr: lib.func('intptr_t sendto(int, uintptr_t, size_t, int, uintptr_t, uint32_t)'),
    recv: lib.func('intptr_t recv(int, _Out_ void *, size_t, int)'),
  }) as XdpLibc;
  return cached;
}

const SIOCETHTOOL = 0x8946;
const ETHTOOL_GCHANNELS = 0x3c;

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
    const ifr = new Uint8Array(40);
    for (let i = 0; i < ifname.length && i < 15; i++) ifr[i] = ifname.charCodeAt(i);
    new DataView(ifr.buffer).setBigUint64(16, BigInt(koffi.address(p)), true); // ifr_data
    const fd = c.socket(2, 2 | 0x80000, 0);
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
