/**
 * The CNI's rtnetlink requests, so that an ADD served by the CNI service starts no `ip` or
 * `nsenter` child: a veth whose pod end is created directly inside the pod's namespace
 * (IFLA_NET_NS_FD), links up, /32 and /128 addresses, the on-link gateway route and the
 * routes through it, an 802.1Q sub-interface, and TX checksum offload off (the SIOCETHTOOL
 * ioctl). The message codec and the socket (opened inside the pod's namespace for the pod's
 * side) are src/sys/netlink.ts.
 */
import { closeSync } from 'node:fs';
import { parseCidr, parseIp, parseMac } from '../lib/addr.js';
import {
  AF_INET, AF_INET6, ENODEV, ETHTOOL_STSO, ETHTOOL_STXCSUM, IFA_ADDRESS, IFA_F_NODAD, IFA_LOCAL, IFF_UP, IFLA_ADDRESS, IFLA_IFNAME, IFLA_INFO_DATA,
  IFLA_INFO_KIND, IFLA_LINK, IFLA_LINKINFO, IFLA_MTU, IFLA_NET_NS_FD, IFLA_VLAN_ID, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RTA_DST, RTA_GATEWAY, RTA_OIF, RTM_DELLINK, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE, RTN_UNICAST,
  RTPROT_BOOT, SIOCETHTOOL, SOCK_CLOEXEC, SOCK_DGRAM, VETH_INFO_PEER,
} from '../sys/constants.js';
import { libc } from '../sys/libc.js';
import { inNetns, NetlinkError, NetlinkMessage as Msg, NetlinkSocket, netlinkSysError as sysError, openNs } from '../sys/netlink.js';

export { NetlinkError, NetlinkSocket, netlinkAvailable } from '../sys/netlink.js';

// ---------------------------------------------------------------------------------------
// Requests

export interface NlVeth {
  hostVeth: string;
  hostMac: string;
  ifname: string;
  podMac: string;
  /** path of the pod's network namespace */
  netns: string;
  mtu: number;
}

/**
 * One RTM_NEWLINK: the veth pair, host end up here, pod end inside the pod's namespace; the
 * kernel's work (milliseconds) on libuv's thread pool, not on this thread (requestAsync).
 */
export async function nlCreateVeth(v: NlVeth): Promise<void> {
  const nsfd = openNs(v.netns);
  const s = NetlinkSocket.open();
  try {
    const m = new Msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL)
      .ifinfo(0, 0, IFF_UP, IFF_UP)
      .attrStr(IFLA_IFNAME, v.hostVeth)
      .attrU32(IFLA_MTU, v.mtu)
      .attr(IFLA_ADDRESS, parseMac(v.hostMac))
      .begin(IFLA_LINKINFO)
      .attrStr(IFLA_INFO_KIND, 'veth')
      .begin(IFLA_INFO_DATA)
      .beginPlain(VETH_INFO_PEER)
      .ifinfo(0, 0, 0, 0)
      .attrStr(IFLA_IFNAME, v.ifname)
      .attrU32(IFLA_MTU, v.mtu)
      .attr(IFLA_ADDRESS, parseMac(v.podMac))
      .attrU32(IFLA_NET_NS_FD, nsfd)
      .end()
      .end()
      .end();
    await s.requestAsync(m, `RTM_NEWLINK veth ${v.hostVeth} (peer ${v.ifname} in ${v.netns})`);
  } finally {
    s.close();
    closeSync(nsfd);
  }
}

/**
 * Moves the link `name` of this namespace into the one at `netns`, renamed to `ifname`,
 * with `mac` and `mtu`, in one RTM_NEWLINK (the kernel renames it as it enters).
 */
export function nlMoveLink(t: { name: string; netns: string; ifname: string; mac: string; mtu: number }): void {
  const nsfd = openNs(t.netns);
  const s = NetlinkSocket.open();
  try {
    const index = nlLinkIndex(s, t.name);
    const m = new Msg(RTM_NEWLINK, 0)
      .ifinfo(0, index, 0, 0)
      .attrU32(IFLA_MTU, t.mtu)
      .attr(IFLA_ADDRESS, parseMac(t.mac))
      .attrU32(IFLA_NET_NS_FD, nsfd)
      .attrStr(IFLA_IFNAME, t.ifname);
    s.request(m, `RTM_NEWLINK ${t.name} into ${t.netns} as ${t.ifname}`);
  } finally {
    s.close();
    closeSync(nsfd);
  }
}

/**
 * RTM_DELLINK by name from libuv's thread pool (requestAsync): the kernel's teardown of a
 * veth (~14 ms of RCU grace periods inside send()) holds a pool thread, not this one, and no
 * `ip` child is started for it. False when there was no such link.
 */
export async function nlDeleteLinkAsync(name: string): Promise<boolean> {
  const s = NetlinkSocket.open();
  try {
    await s.requestAsync(new Msg(RTM_DELLINK, 0).ifinfo(0, 0, 0, 0).attrStr(IFLA_IFNAME, name), `RTM_DELLINK ${name}`);
    return true;
  } catch (err) {
    if (err instanceof NetlinkError && err.errno === ENODEV) return false;
    throw err;
  } finally {
    s.close();
  }
}

/** The interface index of `name` in the socket's namespace (RTM_GETLINK). */
export function nlLinkIndex(s: NetlinkSocket, name: string): number {
  const [r] = s.request(new Msg(RTM_GETLINK, 0).ifinfo(0, 0, 0, 0).attrStr(IFLA_IFNAME, name), `RTM_GETLINK ${name}`);
  if (!r) throw new NetlinkError(`RTM_GETLINK ${name}: no answer`, 0);
  return r.getInt32(16 + 4, true);
}

export function nlSetUp(s: NetlinkSocket, index: number, what: string): void {
  s.request(new Msg(RTM_NEWLINK, 0).ifinfo(0, index, IFF_UP, IFF_UP), `RTM_NEWLINK ${what} up`);
}

export interface NlPodAddress {
  address: string;
  family: 4 | 6;
  gateway: string;
  /** the address's prefix length (a bridge-domain pod's subnet is on link); default /32 or /128 */
  prefixLen?: number;
}

export interface NlPodRoute {
  dst: string;
  gw: string;
}

export interface NlPodVlan {
  carrier: string;
  vlanId: number;
  mtu: number;
}

/**
 * What the pod's namespace needs before its addresses are known (ADD runs it while IPAM
 * answers): lo up and, with `txOff`, TX checksum offload and TSO off on that interface.
 */
export function nlPreparePod(netns: string, txOff?: string): void {
  const s = NetlinkSocket.open(netns);
  try {
    nlSetUp(s, 1, 'lo'); // lo is index 1 in every namespace
  } finally {
    s.close();
  }
  if (txOff !== undefined) inNetns(netns, () => ethtoolTxOff(txOff));
}

/**
 * The pod side, with one socket opened inside the pod's namespace: the VLAN sub-interface
 * if asked, the addresses as /32 and /128 (no DAD), the interface up, an on-link host
 * route to each gateway and the routes through them (replacing any). nlPreparePod first.
 */
export function nlConfigurePod(netns: string, ifname: string, addrs: readonly NlPodAddress[], routes: readonly NlPodRoute[], vlan?: NlPodVlan): void {
  const s = NetlinkSocket.open(netns);
  try {
    if (vlan) {
      const carrier = nlLinkIndex(s, vlan.carrier);
      nlSetUp(s, carrier, vlan.carrier);
      const m = new Msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL)
        .ifinfo(0, 0, 0, 0)
        .attrU32(IFLA_LINK, carrier)
        .attrStr(IFLA_IFNAME, ifname)
        .attrU32(IFLA_MTU, vlan.mtu)
        .begin(IFLA_LINKINFO)
        .attrStr(IFLA_INFO_KIND, 'vlan')
        .begin(IFLA_INFO_DATA)
        .attrU16(IFLA_VLAN_ID, vlan.vlanId)
        .end()
        .end();
      s.request(m, `RTM_NEWLINK vlan ${ifname} on ${vlan.carrier}`);
    }
    const index = nlLinkIndex(s, ifname);
    for (const a of addrs) {
      const ip = parseIp(a.address);
      const m = new Msg(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL)
        .u8(ip.family === 4 ? AF_INET : AF_INET6)
        .u8(a.prefixLen ?? (ip.family === 4 ? 32 : 128))
        .u8(ip.family === 6 ? IFA_F_NODAD : 0)
        .u8(RT_SCOPE_UNIVERSE)
        .u32(index);
      if (ip.family === 4) m.attr(IFA_LOCAL, ip.bytes);
      m.attr(IFA_ADDRESS, ip.bytes);
      s.request(m, `RTM_NEWADDR ${a.address} on ${ifname}`);
    }
    nlSetUp(s, index, ifname);
    const gws = new Set<string>();
    for (const a of addrs) {
      if (gws.has(a.gateway)) continue;
      gws.add(a.gateway);
      const gw = parseIp(a.gateway);
      s.request(route(gw.family, gw.bytes, gw.family === 4 ? 32 : 128, index, RT_SCOPE_LINK), `RTM_NEWROUTE ${a.gateway} dev ${ifname}`);
    }
    for (const r of routes) {
      const dst = parseCidr(r.dst);
      const gw = parseIp(r.gw);
      const m = route(dst.family, dst.addr, dst.len, index, RT_SCOPE_UNIVERSE);
      m.attr(RTA_GATEWAY, gw.bytes);
      s.request(m, `RTM_NEWROUTE ${r.dst} via ${r.gw} dev ${ifname}`);
    }
  } finally {
    s.close();
  }
}

function route(family: 4 | 6, dst: Uint8Array, len: number, oif: number, scope: number): Msg {
  const m = new Msg(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE)
    .u8(family === 4 ? AF_INET : AF_INET6)
    .u8(len)
    .u8(0)
    .u8(0)
    .u8(RT_TABLE_MAIN)
    .u8(RTPROT_BOOT)
    .u8(scope)
    .u8(RTN_UNICAST)
    .u32(0);
  if (len > 0) m.attr(RTA_DST, dst.subarray(0, family === 4 ? 4 : 16));
  m.attrU32(RTA_OIF, oif);
  return m;
}

/** TX checksum offload off on `ifname` of this thread's namespace (what `ethtool -K IF tx off` does). */
function ethtoolTxOff(ifname: string): void {
  const c = libc();
  const fd = c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sysError('socket(AF_INET)');
  try {
    // TSO too: the kernel does not drop it with checksumming here, and `ethtool -K tx off` does
    for (const [cmd, name] of [[ETHTOOL_STXCSUM, 'ETHTOOL_STXCSUM'], [ETHTOOL_STSO, 'ETHTOOL_STSO']] as const) {
      if (c.ethtoolIoctl(fd, SIOCETHTOOL, { name: ifname, data: { cmd, data: 0 } }) < 0) throw sysError(`SIOCETHTOOL ${name} ${ifname}`);
    }
  } finally {
    closeSync(fd);
  }
}
