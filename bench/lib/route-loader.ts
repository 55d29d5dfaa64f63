/**
 * The kernel's reference for FIB programming, batched as cnr's FIB export batches: many
 * RTM_NEWROUTE messages packed into each send() (up to 64 KiB, ~1000 routes), each asking for
 * an ACK, the ACKs drained without blocking after each send (rtnetlink handles a request in
 * the sender's context, so they are queued by the time send() returns; the receive buffer is
 * raised so that none is dropped) — not `ip -batch`'s one synchronous round trip per route.
 * Run inside the target namespace (the socket is this process's):
 *
 *   node route-loader.js '{"routes":"fib24"|"random","n":1000000,"seed":1,"gateways":["10.0.0.2"],"dev":"fib0","table":100}'
 *
 * prints one JSON line: {"loaded":N,"errors":E,"firstError":...,"seconds":S,"cpuSeconds":C}
 * (C = this process's user + system time: the kernel inserts the routes in this process's
 * system time). The route sets are the ones the FIB and forwarding benchmarks give cnr:
 * fibRoute24 and randomPrefixes4 (test/support/random.ts) with the same seed.
 */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import {
  AF_INET, AF_NETLINK, EAGAIN, MSG_DONTWAIT, NETLINK_CAP_ACK, NETLINK_ROUTE, NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST,
  NLMSG_ERROR, RTM_NEWROUTE, RTN_UNICAST, RT_SCOPE_UNIVERSE, SO_RCVBUFFORCE, SOCK_CLOEXEC, SOCK_RAW, SOL_NETLINK, SOL_SOCKET,
} from '../../src/sys/constants.js';
import { errno, interfaceIndex, libc } from '../../src/sys/libc.js';
import { parseIpv4 } from '../../src/lib/addr.js';
import { randomPrefixes4 } from '../../test/support/random.js';

const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_TABLE = 15;
const RTPROT_STATIC = 4;
/** one RTM_NEWROUTE: nlmsghdr 16 + rtmsg 12 + four 8-byte attributes */
const MSG_LEN = 60;
const SEND_BYTES = 65536 - (65536 % MSG_LEN);

/** Route k of the FIB benchmark's set: /24s counted up from 16.0.0.0 (fib.bench.ts prefixOf). */
export function fibRoute24(k: number): { addr: number; len: number } {
  return { addr: (((16 + (k >>> 16)) << 24) | (((k >>> 8) & 255) << 16) | ((k & 255) << 8)) >>> 0, len: 24 };
}

export interface LoaderSpec {
  routes: 'fib24' | 'random';
  n: number;
  seed?: number;
  gateways: string[];
  dev: string;
  table?: number;
  /** RTNH_F_ONLINK: the gateway is on the link whatever the interface's addresses (they may be flushed meanwhile) */
  onlink?: boolean;
}

export interface LoaderResult {
  loaded: number;
  errors: number;
  firstError?: number;
  seconds: number;
  cpuSeconds: number;
}

export function load(spec: LoaderSpec): LoaderResult {
  const c = libc();
  const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw new Error(`socket(AF_NETLINK): errno ${errno()}`);
  const int = (v: number) => new Uint8Array(new Uint32Array([v]).buffer);
  c.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, int(1), 4);
  c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, int(64 << 20), 4);
  const oif = interfaceIndex(spec.dev);
  const gws = spec.gateways.map(parseIpv4);
  const table = spec.table ?? 254;
  const random = spec.routes === 'random' ? randomPrefixes4(spec.n, spec.seed ?? 1) : undefined;
  const buf = new Uint8Array(SEND_BYTES);
  const dv = new DataView(buf.buffer);
  const rx = new Uint8Array(1 << 20);
  const rdv = new DataView(rx.buffer);
  let acked = 0;
  let errors = 0;
  let firstError: number | undefined;
  const drain = (block: boolean): void => {
    for (;;) {
      const n = Number(c.recv(fd, rx, rx.length, block ? 0 : MSG_DONTWAIT));
      if (n < 0) {
        const e = errno();
        if (e === EAGAIN) return;
        throw new Error(`recv: errno ${e}`);
      }
      for (let off = 0; off + 16 <= n; ) {
        const len = rdv.getUint32(off, true);
        if (len < 16) break;
        if (rdv.getUint16(off + 4, true) === NLMSG_ERROR) {
          const err = -rdv.getInt32(off + 16, true);
          acked++;
          if (err !== 0) {
            errors++;
            firstError ??= err;
          }
        }
        off += (len + 3) & ~3;
      }
      if (block) return;
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let seq = 1;
  let off = 0;
  for (let k = 0; k < spec.n; k++) {
    const addr = random ? random.addr[k]! : fibRoute24(k).addr;
    const len = random ? random.len[k]! : 24;
    dv.setUint32(off, MSG_LEN, true);
    dv.setUint16(off + 4, RTM_NEWROUTE, true);
    dv.setUint16(off + 6, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, true);
    dv.setUint32(off + 8, seq++, true);
    dv.setUint32(off + 12, 0, true);
    buf[off + 16] = AF_INET;
    buf[off + 17] = len;
    buf[off + 18] = 0;
    buf[off + 19] = 0;
    buf[off + 20] = table < 256 ? table : 252; // RT_TABLE_COMPAT: RTA_TABLE carries the id
    buf[off + 21] = RTPROT_STATIC;
    buf[off + 22] = RT_SCOPE_UNIVERSE;
    buf[off + 23] = RTN_UNICAST;
    dv.setUint32(off + 24, spec.onlink ? 4 : 0, true); // rtm_flags: RTNH_F_ONLINK
    // attributes: network byte order addresses, host order integers
    dv.setUint32(off + 28, (8 << 0) | (RTA_DST << 16), true);
    dv.setUint32(off + 32, addr, false);
    dv.setUint32(off + 36, 8 | (RTA_GATEWAY << 16), true);
    dv.setUint32(off + 40, gws[k % gws.length]!, false);
    dv.setUint32(off + 44, 8 | (RTA_OIF << 16), true);
    dv.setUint32(off + 48, oif, true);
    dv.setUint32(off + 52, 8 | (RTA_TABLE << 16), true);
    dv.setUint32(off + 56, table, true);
    off += MSG_LEN;
    if (off + MSG_LEN > SEND_BYTES || k === spec.n - 1) {
      if (Number(c.send(fd, buf, off, 0)) < 0) throw new Error(`send: errno ${errno()}`);
      off = 0;
      drain(false);
    }
  }
  while (acked < spec.n) drain(true);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  c.close(fd);
  return { loaded: acked - errors, errors, ...(firstError !== undefined ? { firstError } : {}), seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  console.log(JSON.stringify(load(JSON.parse(process.argv[2] ?? '{}') as LoaderSpec)));
}
