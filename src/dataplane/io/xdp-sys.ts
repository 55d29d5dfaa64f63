/**
 * The system calls the AF_XDP driver needs beyond io/libc.ts: bpf(2) through syscall(), and
 * the constants of AF_XDP sockets (linux/if_xdp.h), eBPF and rtnetlink's IFLA_XDP. Bound per
 * thread like libc.ts (koffi bindings cannot cross worker_threads).
 */
import koffi from 'koffi';
import { libc as baseLibc, type Libc } from './libc.js';

export { mapFailed, sysError, viewMemory, errno, closeFd } from './libc.js';

export const PROT_RW = 1 | 2;
/** MAP_PRIVATE | MAP_ANONYMOUS */
export const MAP_PRIVATE_ANON = 0x02 | 0x20;
export const MAP_SHARED = 0x01;
export const MAP_POPULATE = 0x8000;

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
