/**
 * The pod's veth. On the ADD path everything goes through rtnetlink from this process
 * (netlink.ts): one request creates the pair with the pod end already inside CNI_NETNS, one
 * socket opened inside the pod's namespace sets addresses and routes, an ioctl turns the
 * offloads off; no child process. The requests that make and delete a veth pair are sent
 * from libuv's thread pool (the kernel's work happens inside send(): milliseconds to create,
 * about 14 ms of teardown to delete), off the controller's event loop, as the `ip link del`
 * child that deleted it before did. The rarer paths (CHECK's inspection, the TAP leftovers)
 * use iproute2: a namespace under /run/netns is entered with `ip -n NAME`; any other path
 * (/proc/PID/ns/net, a runtime's own bind mount) through nsenter.
 *
 * Pod addressing is the "router on a stick" form: the pod holds its addresses as /32 and
 * /128, and reaches everything through the gateway, an on-link host route to the vRouter's
 * address on this veth (the vRouter answers ARP/NDP for it on every vif), so pods in one
 * subnet also talk through the vRouter and the VRF's routes decide what they reach.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { CniError, ErrorCode } from './errors.js';
import { tryLibc } from '../sys/libc.js';
import { CLONE_NEWNET, O_CLOEXEC } from '../sys/constants.js';

/** ioctl on a namespace file: its type (linux/nsfs.h _IO(0xb7, 0x3)) */
const NS_GET_NSTYPE = 0xb703;
const O_RDONLY = 0;
import { execFile } from './exec.js';
import { mark } from '../lib/timeline.js';
import { NetlinkError, nlConfigurePod, nlCreateVeth, nlDeleteLinkAsync, nlMoveLink, nlPreparePod, type NlVeth } from './netlink.js';

const NETNS_DIR_RE = /^\/(?:var\/)?run\/netns\/([^/]+)$/;

/** argv that runs `ip ARGS` inside the namespace at `netns`. */
export function ipInNetns(netns: string, args: readonly string[]): [string, string[]] {
  const m = NETNS_DIR_RE.exec(netns);
  if (m) return ['ip', ['-n', m[1]!, ...args]];
  return ['nsenter', [`--net=${netns}`, 'ip', ...args]];
}

export function assertNetns(netns: string): void {
  if (!existsSync(netns)) {
    // a runtime that names the namespace by a process (/proc/PID/ns/net) needs the CNI service to see the host's processes
    const hint = netns.startsWith('/proc/') ? ' (a /proc path: the CNI service sees it only in the host\'s PID namespace, hostPID in Kubernetes)' : '';
    throw new CniError(ErrorCode.UnknownContainer, `failed to open netns "${netns}": no such file${hint}`);
  }
  const type = namespaceType(netns);
  if (type === null) return; // libc not loadable here: the netlink calls will say what is wrong
  if (type !== CLONE_NEWNET) {
    const what = type < 0 ? 'not a namespace file (a bind mount of /proc/PID/ns/net, or that file itself)' : `a namespace of another kind (type 0x${type.toString(16)})`;
    throw new CniError(ErrorCode.InvalidEnvironment, `CNI_NETNS "${netns}" is not a network namespace: ${what}`);
  }
}

/** NS_GET_NSTYPE of a namespace file: its CLONE_NEW* type, -1 for a file that is not a namespace, null without libc. */
function namespaceType(path: string): number | null {
  const c = tryLibc();
  if (!c) return null;
  const fd = c.open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return -1;
  try {
    const t = c.ioctl(fd, NS_GET_NSTYPE, new Uint8Array(8));
    return t < 0 ? -1 : t;
  } finally {
    c.close(fd);
  }
}

/** The veth pair of a pod: host end, pod end inside the pod's namespace. */
export type VethSpec = NlVeth;

/**
 * The veth pair, the pod end created inside the pod's namespace, then that namespace's lo
 * up and, with `txOff`, the pod end's TX checksum offload and TSO off (config.ts,
 * txChecksumOffload): everything that does not wait for the addresses.
 */
export async function createVeth(v: VethSpec, txOff: boolean): Promise<void> {
  try {
    await nlCreateVeth(v);
    mark('cni veth created');
    quietHostEnd(v.hostVeth);
    nlPreparePod(v.netns, txOff ? v.ifname : undefined);
  } catch (err) {
    const msg = (err as Error).message;
    if (err instanceof NetlinkError && err.errno === 17 /* EEXIST */) {
      throw new CniError(ErrorCode.Internal, `interface ${v.hostVeth} or ${v.ifname} in ${v.netns} already exists`, msg);
    }
    throw new CniError(ErrorCode.Internal, `creating veth ${v.hostVeth}: ${msg}`);
  }
}

/**
 * Removes the host end (the kernel removes the pod end with it); false when it was not there.
 * The kernel's teardown runs on libuv's thread pool (netlink.ts nlDeleteLinkAsync).
 */
export async function deleteLink(name: string): Promise<boolean> {
  try {
    return await nlDeleteLinkAsync(name);
  } catch (err) {
    throw new CniError(ErrorCode.Internal, `deleting ${name}: ${(err as Error).message}`);
  }
}

export interface PodAddress {
  /** plain address, no prefix length */
  address: string;
  family: 4 | 6;
  gateway: string;
  /** a bridge-domain pod's prefix length (its subnet is on link); default /32 or /128 */
  prefixLen?: number;
}

export interface PodRoute {
  dst: string;
  gw: string;
}

/** A pod interface that is a VLAN sub-interface of the veth's pod end (`carrier`). */
export interface PodVlan {
  carrier: string;
  vlanId: number;
  mtu: number;
}

/**
 * The pod's side once its addresses are known: the VLAN sub-interface if any, the
 * addresses as /32 and /128, the interface up, an on-link host route to each gateway and
 * the routes through them; lo up too with `loUp` (createVeth did it for a veth).
 */
export async function configurePod(
  netns: string,
  ifname: string,
  addrs: readonly PodAddress[],
  routes: readonly PodRoute[],
  vlan?: PodVlan,
  loUp = false,
): Promise<void> {
  try {
    if (loUp) nlPreparePod(netns);
    nlConfigurePod(netns, ifname, addrs, routes, vlan);
  } catch (err) {
    throw new CniError(ErrorCode.Internal, `configuring ${ifname} in ${netns}: ${(err as Error).message}`);
  }
}

export interface PodState {
  up: boolean;
  mtu: number;
  mac: string;
  addresses: string[];
  routes: { dst: string; gw?: string; dev?: string }[];
}

interface IpLink {
  ifname?: string;
  flags?: string[];
  mtu?: number;
  address?: string;
  addr_info?: { local?: string; prefixlen?: number }[];
}

/** What the pod's namespace holds for `ifname`, or undefined when the interface is missing. */
export async function inspectPod(netns: string, ifname: string): Promise<PodState | undefined> {
  const [cmd, args] = ipInNetns(netns, ['-j', '-batch', '-']);
  const r = await execFile(cmd, args, { input: `addr show dev ${ifname}\nroute show table all\n` });
  const lines = r.stdout.split('\n').filter((l) => l.trim().startsWith('['));
  if (r.code !== 0 || lines.length === 0) return undefined;
  const links = JSON.parse(lines[0]!) as IpLink[];
  const link = links[0];
  if (!link) return undefined;
  const routes: PodState['routes'] = [];
  for (const l of lines.slice(1)) {
    // `table all` is the one batch-mode way to list both families; keep the main table
    for (const rt of JSON.parse(l) as { dst: string; gateway?: string; dev?: string; table?: string }[]) {
      if (rt.table !== undefined && rt.table !== 'main') continue;
      const o: PodState['routes'][number] = { dst: rt.dst };
      if (rt.gateway) o.gw = rt.gateway;
      if (rt.dev) o.dev = rt.dev;
      routes.push(o);
    }
  }
  return {
    up: (link.flags ?? []).includes('UP'),
    mtu: link.mtu ?? 0,
    mac: link.address ?? '',
    addresses: (link.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`),
    routes,
  };
}

export async function linkExists(name: string): Promise<boolean> {
  return existsSync(`/sys/class/net/${name}`);
}

/** No kernel IPv6 on the host end: the vRouter owns it, the kernel must not chatter on it. */
function quietHostEnd(hostVeth: string): void {
  try {
    writeFileSync(`/proc/sys/net/ipv6/conf/${hostVeth}/disable_ipv6`, '1');
  } catch {
    // no IPv6 in this kernel, or /proc/sys read-only (a container): the vRouter copes
  }
}

// ---------------------------------------------------------------------------------------
// TAP pod interfaces (interfaceType: tap)

const IFF_UP = 0x1;

/** The netdev's flags, or undefined when there is no such netdev in this namespace. */
async function linkFlags(name: string): Promise<number | undefined> {
  const { readFile } = await import('node:fs/promises');
  try {
    return parseInt((await readFile(`/sys/class/net/${name}/flags`, 'utf8')).trim(), 16);
  } catch {
    return undefined;
  }
}

/**
 * Waits until the vRouter has created the TAP `name` here and finished with it: the data
 * plane's TAP driver sets the link up as its last step by name (src/dataplane/io/tap.ts), so
 * an up TAP can be moved away. Fails with code 11 after `timeoutMs`.
 */
export async function waitForTap(name: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const flags = await linkFlags(name);
    if (flags !== undefined && (flags & IFF_UP) !== 0) return;
    if (Date.now() >= end) {
      throw new CniError(
        ErrorCode.TryAgainLater,
        `the vRouter did not create TAP ${name} within ${timeoutMs} ms (is the vRouter running in this namespace?)`,
      );
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

export interface TapMove {
  /** the TAP's name where the vRouter made it */
  name: string;
  netns: string;
  /** its name in the pod: CNI_IFNAME */
  ifname: string;
  mac: string;
  mtu: number;
}

/**
 * Moves the vRouter's TAP into the pod under CNI_IFNAME, with the pod's MAC and the MTU, in
 * one netlink request (the kernel renames it as it enters the namespace). The vRouter keeps
 * its file descriptor: the device stays the same, only its namespace and name change.
 */
export async function moveTap(t: TapMove): Promise<void> {
  try {
    nlMoveLink(t);
  } catch (err) {
    const msg = (err as Error).message;
    if (err instanceof NetlinkError && err.errno === 17 /* EEXIST */) throw new CniError(ErrorCode.Internal, `interface ${t.ifname} already exists in ${t.netns}`, msg);
    throw new CniError(ErrorCode.Internal, `moving TAP ${t.name} into ${t.netns} as ${t.ifname}: ${msg}`);
  }
}

/** Whether the pod's namespace has `ifname` (an ADD must not take over an existing one). */
export async function podLinkExists(netns: string, ifname: string): Promise<boolean> {
  const [cmd, args] = ipInNetns(netns, ['link', 'show', 'dev', ifname]);
  return (await execFile(cmd, args)).code === 0;
}

/**
 * Deletes the pod's `ifname` if it is still there and is ours (it has the attachment's MAC):
 * the TAP the vRouter no longer holds, or one whose vRouter cannot be reached. False when
 * there was none.
 */
export async function deletePodLink(netns: string, ifname: string, mac: string): Promise<boolean> {
  if (!existsSync(netns)) return false;
  const [cmd, args] = ipInNetns(netns, ['-j', 'link', 'show', 'dev', ifname]);
  const r = await execFile(cmd, args);
  if (r.code !== 0) return false;
  const link = (JSON.parse(r.stdout) as IpLink[])[0];
  if (!link || link.address?.toLowerCase() !== mac.toLowerCase()) return false;
  const [dcmd, dargs] = ipInNetns(netns, ['link', 'del', 'dev', ifname]);
  const d = await execFile(dcmd, dargs);
  if (d.code === 0 || /Cannot find device|does not exist/.test(d.stderr)) return d.code === 0;
  throw new CniError(ErrorCode.Internal, `deleting ${ifname} in ${netns}: ${d.stderr.trim()}`);
}
