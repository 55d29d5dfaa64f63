/**
 * Attach and detach an XDP program on a netdev with one rtnetlink message (RTM_SETLINK with
 * IFLA_XDP { IFLA_XDP_FD, IFLA_XDP_FLAGS }), written byte by byte here: the data plane does
 * not import src/cni's netlink. The kernel's extended ACK text, when it gives one, is part of
 * the error (e.g. why native mode was refused).
 */
import { SOCK_CLOEXEC, SOCK_RAW } from './libc.js';
import { libc, sysError } from './xdp-sys.js';

const AF_NETLINK = 16;
const NETLINK_ROUTE = 0;
const SOL_NETLINK = 270;
const NETLINK_EXT_ACK = 11;
const RTM_SETLINK = 19;
const NLM_F_REQUEST = 1;
const NLM_F_ACK = 4;
const NLMSG_ERROR = 2;
const NLM_F_ACK_TLVS = 0x200;
const NLMSGERR_ATTR_MSG = 1;
const NLA_F_NESTED = 0x8000;
const IFLA_XDP = 43;
const IFLA_XDP_FD = 1;
const IFLA_XDP_FLAGS = 3;
const IFLA_XDP_EXPECTED_FD = 8;

export const XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0;
export const XDP_FLAGS_SKB_MODE = 1 << 1;
export const XDP_FLAGS_DRV_MODE = 1 << 2;
export const XDP_FLAGS_REPLACE = 1 << 4;

export type XdpMode = 'native' | 'skb';

export const modeFlag = (m: XdpMode): number => (m === 'native' ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);

let seq = 1;

/** The RTM_SETLINK request: ifinfomsg for `ifindex`, IFLA_XDP { FD, FLAGS [, EXPECTED_FD] }. Exported for tests. */
export function setlinkXdpMessage(ifindex: number, progFd: number, flags: number, expectedFd?: number, sequence = 1): Uint8Array {
  const nested = 8 + 8 + (expectedFd === undefined ? 0 : 8);
  const len = 16 + 16 + 4 + nested;
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, len, true);
  dv.setUint16(4, RTM_SETLINK, true);
  dv.setUint16(6, NLM_F_REQUEST | NLM_F_ACK, true);
  dv.setUint32(8, sequence, true);
  // ifinfomsg: family AF_UNSPEC, type 0, index, flags 0, change 0
  dv.setInt32(20, ifindex, true);
  let o = 32;
  dv.setUint16(o, 4 + nested, true);
  dv.setUint16(o + 2, IFLA_XDP | NLA_F_NESTED, true);
  o += 4;
  dv.setUint16(o, 8, true);
  dv.setUint16(o + 2, IFLA_XDP_FD, true);
  dv.setInt32(o + 4, progFd, true);
  o += 8;
  dv.setUint16(o, 8, true);
  dv.setUint16(o + 2, IFLA_XDP_FLAGS, true);
  dv.setUint32(o + 4, flags, true);
  o += 8;
  if (expectedFd !== undefined) {
    dv.setUint16(o, 8, true);
    dv.setUint16(o + 2, IFLA_XDP_EXPECTED_FD, true);
    dv.setInt32(o + 4, expectedFd, true);
  }
  return b;
}

/** Send one request and read its ACK; throws with errno and the kernel's message on refusal. */
function request(msg: Uint8Array, what: string): void {
  const c = libc();
  const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw sysError('socket(AF_NETLINK)');
  try {
    const one = new Uint8Array([1, 0, 0, 0]);
    c.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, one, 4); // best effort
    if (Number(c.write(fd, msg, msg.length)) !== msg.length) throw sysError(`${what}: netlink send`);
    const want = new DataView(msg.buffer).getUint32(8, true);
    const buf = new Uint8Array(8192);
    for (let tries = 0; tries < 16; tries++) {
      const n = Number(c.recv(fd, buf, buf.length, 0));
      if (n < 0) throw sysError(`${what}: netlink recv`);
      const dv = new DataView(buf.buffer, 0, n);
      for (let o = 0; o + 16 <= n; ) {
        const len = dv.getUint32(o, true);
        if (len < 16 || o + len > n) break;
        if (dv.getUint16(o + 4, true) === NLMSG_ERROR && dv.getUint32(o + 8, true) === want) {
          const err = -dv.getInt32(o + 16, true);
          if (err === 0) return;
          const e = new Error(`${what}: ${c.strerror(err)} (errno ${err})${extAckText(dv, o, len)}`) as Error & { errno: number };
          e.errno = err;
          throw e;
        }
        o += (len + 3) & ~3;
      }
    }
    throw new Error(`${what}: no netlink acknowledgement`);
  } finally {
    c.close(fd);
  }
}

/** NLMSGERR_ATTR_MSG from an error message's TLVs (after the echoed request), as ": text", or ''. */
function extAckText(dv: DataView, o: number, len: number): string {
  if ((dv.getUint16(o + 6, true) & NLM_F_ACK_TLVS) === 0) return '';
  const echoed = dv.getUint32(o + 20, true); // length of the request echoed after the error code
  let a = o + 20 + ((echoed + 3) & ~3);
  const end = o + len;
  while (a + 4 <= end) {
    const alen = dv.getUint16(a, true);
    if (alen < 4 || a + alen > end) break;
    if ((dv.getUint16(a + 2, true) & 0x3fff) === NLMSGERR_ATTR_MSG) {
      let s = '';
      for (let i = a + 4; i < a + alen && dv.getUint8(i) !== 0; i++) s += String.fromCharCode(dv.getUint8(i));
      return s ? `: ${s}` : '';
    }
    a += (alen + 3) & ~3;
  }
  return '';
}

/** Attach `progFd` to the netdev in `mode`, refusing to replace a program already there. */
export function attachXdp(ifindex: number, progFd: number, mode: XdpMode): void {
  request(setlinkXdpMessage(ifindex, progFd, modeFlag(mode) | XDP_FLAGS_UPDATE_IF_NOEXIST, undefined, seq++), `attach XDP (${mode}) to ifindex ${ifindex}`);
}

/**
 * Detach the XDP program of `mode`. With `expectedFd` only our own program is removed (the
 * kernel refuses with EEXIST when another one has taken its place).
 */
export function detachXdp(ifindex: number, mode: XdpMode, expectedFd?: number): void {
  const flags = modeFlag(mode) | (expectedFd === undefined ? 0 : XDP_FLAGS_REPLACE);
  request(setlinkXdpMessage(ifindex, -1, flags, expectedFd, seq++), `detach XDP (${mode}) from ifindex ${ifindex}`);
}
