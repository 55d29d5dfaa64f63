/**
 * The vRouter programming API: what the agent (and tests) call to install interfaces,
 * VRFs, next hops, routes and labels. Implemented by `Dataplane` (dataplane.ts). Every call
 * validates its input and throws DataplaneError with a clear message on bad input, leaving
 * the tables unchanged. Names, not indices, cross this boundary for VRFs and interfaces;
 * next hops are integer ids returned by addNexthop; route prefixes are values (Prefix).
 */
import type { Prefix } from '../lib/addr.js';

export class DataplaneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataplaneError';
  }
}

/**
 * af-xdp: an AF_XDP socket fed by an XDP program on the netdev (io/af-xdp.ts); otherwise as
 * af-packet. memif: cnr serves a memif control socket (MemifVifConfig). irb: no netdev: the
 * routing interface of a bridge domain (setBridgeDomain), whose frames are switched in the
 * domain (docs/l2.md).
 */
export type VifDriver = 'af-packet' | 'af-xdp' | 'tap' | 'memory' | 'memif' | 'irb';

/** A memif vif (io/memif.ts): cnr serves the control socket, a DPDK or libmemif client connects. */
export interface MemifVifConfig {
  /** the control socket's path (its directory must exist) */
  socket: string;
  /** the interface id the client asks for (default 0) */
  id?: number;
  /** a secret the client must present (default none) */
  secret?: string;
}

export interface VifConfig {
  /** the vif's name: the Linux netdev for af-packet, af-xdp and tap, any name for memory */
  name: string;
  driver: VifDriver;
  /** routing instance; 'default' when absent */
  vrf?: string;
  /** the router's MAC on this interface; default: derived from the netdev's MAC, different from it and locally administered (router-mac.ts), so that the kernel ignores the frames */
  mac?: string;
  mtu?: number;
  /** the router's own addresses on this interface, CIDR text (10.0.0.1/24, 2001:db8::1/64) */
  addresses?: string[];
  /** 802.1Q tag on the wire for this vif (L3 subinterface), optional */
  vlan?: number;
  /** driver 'memif': the socket and interface id */
  memif?: MemifVifConfig;
  /** static neighbors on this vif: resolved from the start, never aged or changed by ARP/NDP (setVifNeighbors replaces them) */
  neighbors?: StaticNeighbor[];
}

export interface StaticNeighbor {
  ip: string;
  mac: string;
}

export type LabelStack = number[]; // outermost first; at most 5 (service label last)

export type NexthopSpec =
  /** deliver to the host stack through vhost0 */
  | { type: 'receive' }
  /** drop silently, counted as discard */
  | { type: 'discard' }
  /** drop and send ICMP unreachable */
  | { type: 'reject' }
  /** resolve `ip` with ARP/NDP on `vif`, then L2 rewrite; with labels, push them (MPLS over Ethernet) */
  | { type: 'neighbor'; vif: string; ip: string; labels?: LabelStack }
  /** fixed L2 rewrite (no resolution); with labels, push them */
  | { type: 'encap'; vif: string; dmac: string; labels?: LabelStack }
  /** MPLS over UDP (RFC 7510) toward `dst` from `src`, carried out via the FIB of the default VRF */
  | { type: 'mpls-udp'; src: string; dst: string; labels: LabelStack }
  /** ECMP: a 5-tuple hash picks one member */
  | { type: 'composite'; members: number[] }
  /** look the packet up again in another VRF */
  | { type: 'vrf'; vrf: string };

export type LabelAction =
  /** pop and look the inner packet up in a VRF (L3VPN service label, or explicit null) */
  | { action: 'pop-lookup'; vrf: string }
  /** swap for `outLabels` (outermost first) and send via next hop `nh` */
  | { action: 'swap'; outLabels: LabelStack; nh: number }
  /** penultimate-hop pop: pop and send via next hop `nh` */
  | { action: 'php'; nh: number };

export interface VifInfo {
  id: number;
  name: string;
  driver: VifDriver;
  vrf: string;
  mac: string;
  mtu: number;
  addresses: string[];
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  drops: number;
  /** of the counts above, what the kernel fast path forwarded (present while it is attached to the vif) */
  kernelFast?: { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number };
  /** af-packet / af-xdp: the netdev is attached but its link is down (no carrier, or set down) */
  linkDown?: boolean;
  /**
   * the driver's own counters (io/driver.ts IoCounters): kernelDrops (ring full), rxTooBig,
   * rxNoBuffer, gsoUnsupported, invalidDescs, txRingFull, gsoFrames, gsoSegments, csumCompleted,
   * poolEmpty, fillRingEmpty, txRingEmpty, txGsoFrames, txGsoSegments, carried, carriedSegments,
   * txCarried, txCarriedSegments (TCP super-frames carried through the graph whole: io/super-frame.ts)
   */
  io?: Record<string, number>;
  /** a bridge port (setBridgePort): its mode and VLANs, MACs learned on it and its limit (0: none), and its L2 counters (graph-constants.ts L2_PORT_COUNTERS: flooded, flood_copies, and its frames dropped per L2 reason) */
  bridge?: { mode: 'access' | 'trunk'; vlans: number[]; nativeVlan?: number; tpid?: number; dot1qTunneling?: boolean; macs: number; macLimit: number; counters: Record<string, number> };
  /** driver 'memif': the client's state and the rings' occupancy (io/memif.ts MemifStatus) */
  memif?: { socket: string; id: number; state: string; peer: string; connects: number; disconnects: number; badMessages: number; badDescriptors: number; refused: number; rxRingSize: number; txRingSize: number; rxRingWaiting: number; txRingPosted: number; rxQueues?: number; txQueues?: number; lastDisconnect: string };
}

export interface NexthopInfo {
  id: number;
  type: string;
  vif?: string;
  ip?: string;
  dmac?: string;
  labels?: number[];
  members?: number[];
  vrf?: string;
  /** for 'neighbor': resolved | pending | failed */
  state?: string;
  refs: number;
}

export interface RouteInfo {
  prefix: string;
  nh: number;
}

/** How many routes one VRF's FIB holds, per family. */
export interface RouteCountInfo {
  vrf: string;
  inet: number;
  inet6: number;
}

export interface LabelInfo {
  label: number;
  action: string;
  vrf?: string;
  outLabels?: number[];
  nh?: number;
}

/**
 * One ingress filter rule (setAcl). Omitted fields match anything; ports need protocol tcp,
 * udp or sctp and match only packets that carry them (not later fragments).
 */
export interface AclRule {
  /**
   * reject: a deny answered with ICMP unreachable, administratively prohibited; skip: when
   * the rule matches, the scan goes on `skip` rules further on (a Junos `except` prefix
   * leaves its term that way)
   */
  action: 'permit' | 'deny' | 'reject' | 'skip';
  /** action skip: the rules passed over (the scan resumes at this rule's index + 1 + skip) */
  skip?: number;
  /** 'inet' or 'inet6' (implied by a prefix) */
  family?: 'inet' | 'inet6';
  src?: string;
  dst?: string;
  /** a name (tcp, udp, icmp, icmpv6, sctp) or a number 0-255 */
  protocol?: string | number;
  /** a port or an inclusive range [lo, hi] */
  srcPort?: number | [number, number];
  dstPort?: number | [number, number];
  /** an ICMP or ICMPv6 type or range (protocol icmp or icmpv6) */
  icmpType?: number | [number, number];
}

/** A vif's ingress filter as listAcls reports it: the rules in canonical form, with hit counts. */
export interface AclInfo {
  vif: string;
  /** 'output': the vif's output filter (acl-out); absent: its input filter */
  direction?: 'output';
  /** prefixes canonical, protocol by name where it has one, a one-port range as a number; bytes: the hits' IP lengths */
  rules: (AclRule & { hits: number; bytes?: number })[];
  /** packets no rule matched (dropped as acl_deny; a bridge port's as l2_filter_discard) */
  unmatched: number;
  /** their IP bytes (not for a bridge port) */
  unmatchedBytes?: number;
  /** a bridge port's input filter instead (then `rules` is empty): its terms with hit counts */
  bridge?: (BridgeFilterTerm & { hits: number })[];
}

/**
 * One term of a bridge port's input or output filter (BridgePortConfig.inputFilter, outputFilter, Junos `firewall
 * family bridge`): omitted fields match anything; the first term that matches decides, a
 * frame none matches is discarded.
 */
export interface BridgeFilterTerm {
  name?: string;
  /** a MAC, optionally with a prefix length (02:00:00:00:00:00/24: the first 24 bits) */
  srcMac?: string;
  dstMac?: string;
  /** the frame's VLAN (1..4094) */
  vlan?: number;
  /** the EtherType after any 802.1Q tag (0x0600..0xffff) */
  etherType?: number;
  /**
   * The IP version of the payload fields below (a term with any matches frames of that
   * version only): 4 (the default) or 6; 6 is taken when srcIp or dstIp is an IPv6 prefix
   * or nextHeader is set
   */
  ipVersion?: 4 | 6;
  /** IP payload fields: source and destination prefix */
  srcIp?: string;
  dstIp?: string;
  /** protocol number or name (tcp, udp, icmp, icmp6, sctp): IPv6's upper layer, after any extension headers */
  ipProtocol?: number | string;
  /** IPv6: the fixed header's Next Header (0..255, 0 is hop-by-hop) */
  nextHeader?: number;
  /** TCP/UDP/SCTP ports or ranges (first fragments only) */
  srcPort?: number | [number, number];
  dstPort?: number | [number, number];
  /** ICMP type (IPv4) or ICMPv6 type (IPv6), or a range (first fragments only): implies that protocol */
  icmpType?: number | [number, number];
  action: 'accept' | 'discard';
  /** the term's counter name (its hits are counted either way) */
  count?: string;
}

/** A link-layer control frame the data plane punted (OSI: IS-IS): the vif it arrived on and the whole Ethernet frame (no 802.1Q tag). */
export type FrameHandler = (vif: string, frame: Uint8Array) => void;

/** A vif attached (up, with the router's MAC on it) or gone. */
export type VifChangeHandler = (vif: string, up: boolean, mac: string) => void;

/** What became of the link-layer control frames (the agent's Frames stream shows them). */
export interface FrameCounters {
  /** punted frames handed to a listener */
  delivered: number;
  /** frames sent out of a vif */
  injected: number;
  /** frames refused: no such vif, vif down, too short or longer than the vif's MTU */
  refused: number;
}

/** A vif in L2 mode (setBridgePort): a port of the bridge domains of the VLANs it carries. */
export interface BridgePortConfig {
  /** access: untagged frames in one VLAN; trunk: 802.1Q tagged frames of a VLAN list */
  mode: 'access' | 'trunk';
  /** access: the port's VLAN (1..4094) */
  vlan?: number;
  /** trunk: the VLANs it carries */
  vlans?: number[];
  /** trunk: the VLAN of its untagged frames, both ways (carried even when not in `vlans`) */
  nativeVlan?: number;
  /** frames between two ports that both set this are not switched */
  noLocalSwitching?: boolean;
  /** trunk: the TPID of its tags, 0x8100 (802.1Q, the default) or 0x88a8 (802.1ad: a QinQ provider trunk, which drops 802.1Q-tagged frames) or 0x9100 */
  tpid?: number;
  /** access: a QinQ tunnel port, untagged and 802.1Q-tagged frames alike go into its VLAN, the tag kept as payload (docs/l2.md, "QinQ") */
  dot1qTunneling?: boolean;
  /** storm control: broadcast, multicast and unknown unicast frames received, at most this many bits per second (token bucket of burstBytes, default 100 ms of the rate and at least 16 full frames) */
  stormControl?: { bitsPerSecond: number; burstBytes?: number };
  /** the input filter: terms in order (at most 64), applied before learning and forwarding */
  inputFilter?: BridgeFilterTerm[];
  /** the output filter: the same, applied to every frame the port is to send (l2-output) */
  outputFilter?: BridgeFilterTerm[];
}

/** A bridge domain (setBridgeDomain): one VLAN switched between its ports. */
export interface BridgeDomainConfig {
  name: string;
  /** 1..4094, one domain per VLAN */
  vlan: number;
  /** the routing interface: a vif added with driver 'irb' (its VRF, MAC and addresses route for the domain) */
  irb?: string;
  /** MACs the domain learns at most (Junos mac-table-size; 0 or absent: the table's capacity) */
  macTableSize?: number;
  /** MACs each of its ports learns at most (Junos interface-mac-limit; absent: none) */
  interfaceMacLimit?: number;
  /** what happens to a frame from a new source over interfaceMacLimit: 'drop' (the default: dropped and counted, mac_limit) or 'none' (forwarded, its source not learned) */
  interfaceMacLimitAction?: 'drop' | 'none';
  /** the same over macTableSize (Junos mac-table-size packet-action); a frame over both limits is dropped if either action drops */
  macTableSizeAction?: 'drop' | 'none';
}

export interface MacEntryInfo {
  bridgeDomain: string;
  vlan: number;
  mac: string;
  interface: string;
  /** installed by the router (the IRB's MAC), not learned */
  static: boolean;
  /** seconds since the source was last seen (0 for static entries) */
  age: number;
}

export interface BridgeDomainInfo {
  name: string;
  vlan: number;
  irb?: string;
  /** its ports, with their mode */
  interfaces: { name: string; mode: 'access' | 'trunk'; tagged: boolean }[];
  /** MACs learned (static ones not counted) */
  macs: number;
  macTableSize: number;
  interfaceMacLimit: number;
  /** 'none' when frames over interfaceMacLimit are forwarded unlearned */
  interfaceMacLimitAction: 'drop' | 'none';
  /** 'none' when frames over macTableSize are forwarded unlearned */
  macTableSizeAction: 'drop' | 'none';
  /** MAC moves seen since the domain was created */
  moves: number;
}

export interface Dataplane {
  addVrf(name: string): number;
  delVrf(name: string): void;
  addVif(cfg: VifConfig): Promise<number>;
  delVif(name: string): Promise<void>;
  /** replace the router's own addresses on a vif */
  setVifAddresses(name: string, addresses: string[]): void;
  /** replace a vif's static neighbors (VifConfig.neighbors); absent in a data plane without them */
  setVifNeighbors?(name: string, neighbors: StaticNeighbor[]): void;
  /**
   * Replace the router's own addresses that belong to no vif (`lo0`); an empty list removes
   * the loopback. They go on vhost0 with the vifs' addresses, for the host's TCP (BGP between
   * loopbacks); the controller's local routes make packets to them receive. Optional, like
   * the frame calls, so that test doubles need not keep them.
   */
  setLoopback?(name: string, addresses: string[]): void;
  addNexthop(spec: NexthopSpec): number;
  /** release a next hop id (refused while routes or labels still point at it) */
  delNexthop(id: number): void;
  /**
   * Add or replace. The prefix is a value (lib/addr's Prefix: the agent hands over what it
   * decoded, no text on the way) or, for tests and tools, CIDR text parsed here. Host bits are
   * cleared either way.
   */
  addRoute(vrf: string, prefix: Prefix | string, nh: number): void;
  delRoute(vrf: string, prefix: Prefix | string): void;
  /**
   * addRoute/delRoute for an IPv4 prefix as its address (a 32-bit number, host bits cleared
   * here) and length: the agent's path for packed route batches, no object per route.
   * Optional: without them the agent makes a Prefix and calls addRoute/delRoute.
   */
  addRoute4?(vrf: string, addr: number, len: number, nh: number): void;
  delRoute4?(vrf: string, addr: number, len: number): void;
  /** add or replace */
  addLabel(label: number, action: LabelAction): void;
  delLabel(label: number): void;
  /**
   * Replace a vif's input (default) or output filter: rules in order, the first that matches
   * decides, a packet none matches is dropped (acl_deny, acl_out_deny); an empty list removes
   * the filter. Optional so that other implementations (test doubles) need not filter.
   */
  setAcl?(vif: string, rules: AclRule[], direction?: 'input' | 'output'): void;
  /** every vif that has a filter, with packets counted per rule since it was set (optional, like setAcl) */
  listAcls?(): AclInfo[];

  /**
   * Link-layer control frames (802.3 with the OSI LLC header: IS-IS), punted per receiving vif
   * while at least one handler listens (otherwise dropped as unknown_ethertype). Optional, like
   * the other frame calls, so that test doubles need not carry frames.
   */
  onFrames?(handler: FrameHandler): () => void;
  /** Send a whole Ethernet frame (destination MAC on, untagged: a vif's 802.1Q tag is added) out of a vif; throws DataplaneError when it cannot. */
  sendFrame?(vif: string, frame: Uint8Array): void;
  /** vifs attached and removed (the agent's link state for the controller's frame port) */
  onVifChange?(handler: VifChangeHandler): () => void;
  frameCounters?(): FrameCounters;
  /** L2 switching (docs/l2.md); optional so that test doubles need not switch. Add or replace a domain. */
  setBridgeDomain?(cfg: BridgeDomainConfig): void;
  delBridgeDomain?(name: string): void;
  /** put a vif in L2 mode (null: back to L3), replacing its port settings */
  setBridgePort?(vif: string, cfg: BridgePortConfig | null): void;
  /** seconds after which a MAC not seen is forgotten (default 300) */
  setMacAging?(seconds: number): void;
  /** the MAC table, of one domain or all */
  listMacs?(bridgeDomain?: string): MacEntryInfo[];
  /** the neighbor cache (ARP/NDP): state incomplete, reachable, failed, or permanent (a static neighbor) */
  listNeighbors?(): { vif: string; ip: string; mac?: string; state: string }[];
  /** forget learned MACs (of one domain, or all); returns how many */
  clearMacs?(bridgeDomain?: string): number;
  listBridgeDomains?(): BridgeDomainInfo[];

  listVifs(): VifInfo[];
  listNexthops(): NexthopInfo[];
  listRoutes(vrf: string, family: 4 | 6): RouteInfo[];
  /**
   * Routes per VRF and family (all VRFs, or the one named), from the tables' own counters:
   * no walk, cheap at any table size; the same routes listRoutes lists.
   */
  routeCounts?(vrf?: string): RouteCountInfo[];
  listLabels(): LabelInfo[];
  /** drop counters by reason, summed over workers */
  dropStats(): Record<string, number>;
  /** packet and byte counters per vif and per VRF */
  stats(): { vifs: Record<string, { rxPackets: number; rxBytes: number; txPackets: number; txBytes: number }>; vrfs: Record<string, { packets: number; bytes: number }> };

  start(): Promise<void>;
  stop(): Promise<void>;
}
