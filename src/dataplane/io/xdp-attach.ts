/**
 * Attach and detach an XDP program on a netdev with one rtnetlink message (RTM_SETLINK with
 * IFLA_XDP { IFLA_XDP_FD, IFLA_XDP_FLAGS }), through src/sys/netlink.ts. The kernel's
 * extended ACK text, when it gives one, is part of the error (e.g. why native mode was
 * refused); the error's `errno` is the kernel's.
 */
import { IFLA_XDP, IFLA_XDP_EXPECTED_FD, IFLA_XDP_FD, IFLA_XDP_FLAGS, RTM_SETLINK } from '../../sys/constants.js';
import { NetlinkMessage, NetlinkSocket } from '../../sys/netlink.js';

export const XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0;
export const XDP_FLAGS_SKB_MODE = 1 << 1;
export const XDP_FLAGS_DRV_MODE = 1 << 2;
export const XDP_FLAGS_REPLACE = 1 << 4;

export type XdpMode = 'native' | 'skb';

export const modeFlag = (m: XdpMode): number => (m === 'native' ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);

function setlinkXdp(ifindex: number, progFd: number, flags: number, expectedFd?: number): NetlinkMessage {
  const m = new NetlinkMessage(RTM_SETLINK, 0).ifinfo(0, ifindex, 0, 0).begin(IFLA_XDP).attrI32(IFLA_XDP_FD, progFd).attrU32(IFLA_XDP_FLAGS, flags);
  if (expectedFd !== undefined) m.attrI32(IFLA_XDP_EXPECTED_FD, expectedFd);
  return m.end();
}

/** The RTM_SETLINK request: ifinfomsg for `ifindex`, IFLA_XDP { FD, FLAGS [, EXPECTED_FD] }. Exported for tests. */
export function setlinkXdpMessage(ifindex: number, progFd: number, flags: number, expectedFd?: number, sequence = 1): Uint8Array {
  return setlinkXdp(ifindex, progFd, flags, expectedFd).finish(sequence);
}

/** Send one request on a socket of this namespace and read its ACK; throws a NetlinkError on refusal. */
function request(m: NetlinkMessage, what: string): void {
  const s = NetlinkSocket.open();
  try {
    s.request(m, what);
  } finally {
    s.close();
  }
}

/** Attach `progFd` to the netdev in `mode`, refusing to replace a program already there. */
export function attachXdp(ifindex: number, progFd: number, mode: XdpMode): void {
  request(setlinkXdp(ifindex, progFd, modeFlag(mode) | XDP_FLAGS_UPDATE_IF_NOEXIST), `attach XDP (${mode}) to ifindex ${ifindex}`);
}

/**
 * Detach the XDP program of `mode`. With `expectedFd` only our own program is removed (the
 * kernel refuses with EEXIST when another one has taken its place).
 */
export function detachXdp(ifindex: number, mode: XdpMode, expectedFd?: number): void {
  const flags = modeFlag(mode) | (expectedFd === undefined ? 0 : XDP_FLAGS_REPLACE);
  request(setlinkXdp(ifindex, -1, flags, expectedFd), `detach XDP (${mode}) from ifindex ${ifindex}`);
}
