/**
 * proto/agent.proto and proto/health.proto, loaded at run time with @grpc/proto-loader,
 * and the TypeScript shapes of their messages as proto-loader hands them over
 * (camelCase fields, enums as strings, uint64 as numbers, defaults filled in).
 * The .proto files are found by walking up from this module, so the same code works
 * from src/ and from dist/src/.
 *
 * src/api/ is the controller ⇄ agent contract: these types and codec.ts (the Program
 * stream's codec) are imported by both sides (controller/rib/fib-export.ts, agent/server.ts)
 * and import neither, so that the controller and the vRouter stand side by side.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Prefix } from '../lib/addr.js';

export type InterfaceDriverName = 'DRIVER_UNSPECIFIED' | 'AF_PACKET' | 'TAP' | 'MEMORY' | 'AF_XDP' | 'MEMIF' | 'LOOPBACK';
export type RouteActionName = 'FORWARD' | 'DISCARD' | 'REJECT' | 'RECEIVE';

export interface PbNexthop {
  ip?: string;
  interface?: string;
  serviceLabel?: number | null;
  transportLabels?: number[];
  /** MPLS over UDP from this address to `ip` */
  tunnelSource?: string;
}

export interface PbNexthopSet {
  action?: RouteActionName;
  nexthops?: PbNexthop[];
}

export interface PbRoute {
  /** the text form (agents before `destination`); '' when absent */
  prefix?: string;
  /**
   * Route.destination (an IpPrefix) as lib/addr's Prefix: address -> addr, length -> len, the
   * family from the address length. The hand codec (codec.ts) reads and writes it so and is
   * the only codec of the Program stream; it does not validate it (the agent does, per route).
   */
  destination?: Prefix | null;
  delete?: boolean;
  action?: RouteActionName;
  nexthops?: PbNexthop[];
  nexthopSet?: number;
}

export interface PbRouteBatch {
  vrf?: string;
  nexthopSets?: PbNexthopSet[];
  routes: PbRoute[];
  /** fixed-width route records (proto/agent.proto): IPv4 8 bytes each, IPv6 20 */
  packedIpv4?: Uint8Array;
  packedIpv6?: Uint8Array;
}

export interface PbVrfUpdate {
  name: string;
  delete?: boolean;
}

export interface PbLabelUpdate {
  label: number;
  delete?: boolean;
  vrf?: string;
  /** forward instead of pop-and-lookup: each next hop's transportLabels are its out-labels (none: pop) */
  nexthops?: PbNexthop[];
}

export interface PbInterfaceUpdate {
  name: string;
  delete?: boolean;
  driver?: InterfaceDriverName;
  vrf?: string;
  addresses?: string[];
  mtu?: number;
  vlan?: number;
  mac?: string;
  /** MEMIF: control socket path, interface id, secret (fields 20-22) */
  memifSocket?: string;
  memifId?: number;
  memifSecret?: string;
  /** L2 mode: a bridge port (docs/l2.md) */
  bridge?: PbBridgePort | null;
  /** an IRB (no netdev) */
  irb?: boolean;
  /** IP firewall filters (field 40; docs/filters.md) */
  filters?: PbIpFilter[];
  /** static neighbours, "IP MAC" each (field 110) */
  staticNeighbors?: string[];
}

export type FilterActionName = 'FILTER_ACCEPT' | 'FILTER_DISCARD' | 'FILTER_REJECT';

export interface PbIpFilter {
  name?: string;
  /** 4 or 6 */
  family?: number;
  output?: boolean;
  terms?: PbIpFilterTerm[];
}

export interface PbIpFilterTerm {
  name?: string;
  source?: PbFilterPrefix[];
  destination?: PbFilterPrefix[];
  protocols?: number[];
  sourcePorts?: PbPortRange[];
  destinationPorts?: PbPortRange[];
  icmpTypes?: PbPortRange[];
  action?: FilterActionName;
  count?: string;
}

export interface PbFilterPrefix {
  prefix?: string;
  except?: boolean;
}

export interface PbPortRange {
  low?: number;
  high?: number;
}

/** proto FilterState (defaults filled in by proto-loader) */
export interface PbFilterState {
  interface: string;
  filter: string;
  family: number;
  output: boolean;
  terms: { name: string; count: string; packets: number; bytes: number }[];
  unmatched: number;
  unmatchedBytes: number;
  /** a bridge port's filter (family 0): frames counted, bytes not */
  bridge?: boolean;
}

export interface PbBfdSessionUpdate {
  peer: string;
  local?: string;
  interface?: string;
  multihop?: boolean;
  delete?: boolean;
  desiredMinTxUs?: number;
  requiredMinRxUs?: number;
  detectMult?: number;
  adminDown?: boolean;
  clients?: string[];
  /** RFC 5880 section 6.7 Auth Type: 4 keyed SHA1, 5 meticulous keyed SHA1, 0 none */
  authType?: number;
  authKeyId?: number;
  /** the key (a configuration secret): never logged */
  authKey?: string;
  /** multihop: the lowest TTL / Hop Limit accepted (RFC 5883 section 5); 0 or absent: no check */
  minTtl?: number;
}

/** proto BfdSessionState (defaults filled in by proto-loader) */
export interface PbBfdSessionState {
  peer: string;
  local: string;
  interface: string;
  multihop: boolean;
  state: string;
  remoteState: string;
  localDiag: number;
  remoteDiag: number;
  localDiscr: number;
  remoteDiscr: number;
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  detectMult: number;
  txIntervalUs: number;
  rxIntervalUs: number;
  detectionTimeUs: number;
  remoteDetectMult: number;
  remoteMinRxUs: number;
  remoteMinTxUs: number;
  flaps: number;
  upTransitions: number;
  rxPackets: number;
  txPackets: number;
  discarded: number;
  changedAtMs: number;
  upForMs: number;
  cause: string;
  clients: string[];
  sourcePort: number;
  removed: boolean;
  resolvedInterface: string;
  resolvedLocal: string;
  error: string;
  remoteControlPlaneIndependent: boolean;
  /** "keyed-sha-1 key 1" or empty (never the key) */
  authentication: string;
}

export interface PbListBfdSessionsReply {
  sessions: PbBfdSessionState[];
  discards: { reason: string; count: number }[];
}

/** The name of a BFD session on both sides of the contract: its identifying fields as the controller sent them. */
export function bfdSessionId(s: { peer: string; local?: string; interface?: string; multihop?: boolean }): string {
  return `${s.multihop ? 'multihop' : 'single-hop'} ${s.interface || '-'} ${s.local || '-'} ${s.peer}`;
}

export type BridgePortModeName = 'ACCESS' | 'TRUNK';

export interface PbBridgePort {
  mode?: BridgePortModeName;
  vlanId?: number;
  vlanIds?: number[];
  nativeVlanId?: number;
  noLocalSwitching?: boolean;
  stormControlKbps?: number;
  stormControlBurst?: number;
  inputFilter?: PbBridgeFilterTerm[];
  outputFilter?: PbBridgeFilterTerm[];
  /** QinQ: a trunk's TPID (0: 0x8100), an access port's tunnelling */
  tpid?: number;
  dot1qTunneling?: boolean;
  /** the filters' names (`show firewall`) */
  inputFilterName?: string;
  outputFilterName?: string;
}

export interface PbBridgeFilterTerm {
  name?: string;
  sourceMac?: string;
  destinationMac?: string;
  vlanId?: number;
  etherType?: number;
  discard?: boolean;
  count?: string;
  /** IPv4 payload fields (40-44) */
  ipSource?: string;
  ipDestination?: string;
  ipProtocol?: number;
  sourcePort?: PbPortRange | null;
  destinationPort?: PbPortRange | null;
  /** 90-92: the IP version of the fields above (0: 4), IPv6's Next Header + 256 (0: any), the ICMP/ICMPv6 type range */
  ipVersion?: number;
  ipv6NextHeader?: number;
  icmpType?: PbPortRange | null;
}

export interface PbBridgeDomainUpdate {
  name: string;
  delete?: boolean;
  vlanId?: number;
  irb?: string;
  macTableSize?: number;
  interfaceMacLimit?: number;
  /** '' or 'drop' (default), 'none' */
  interfaceMacLimitAction?: string;
  /** 90: mac-table-size packet-action, the same way */
  macTableSizeAction?: string;
}

export interface PbL2Settings {
  macAgingSeconds?: number;
}

export interface PbMacEntry {
  bridgeDomain: string;
  vlanId: number;
  mac: string;
  interface: string;
  isStatic: boolean;
  age: number;
}

export interface PbBridgeDomainInfo {
  name: string;
  vlanId: number;
  irb: string;
  interfaces: string[];
  macs: number;
  macTableSize: number;
  interfaceMacLimit: number;
  moves: number;
  /** '' from an older agent */
  interfaceMacLimitAction?: string;
  /** 90: mac-table-size packet-action, the same way */
  macTableSizeAction?: string;
}

/** RouteCount: routes per VRF and family, from the data plane's counters */
export interface PbVrfRouteCount {
  vrf: string;
  inet: number;
  inet6: number;
}

export type PbControllerBody =
  | { resyncBegin: { controllerId?: string } }
  | { resyncEnd: Record<string, never> }
  | { vrf: PbVrfUpdate }
  | { interface: PbInterfaceUpdate }
  | { routes: PbRouteBatch }
  | { label: PbLabelUpdate }
  | { bfdSession: PbBfdSessionUpdate }
  | { bridgeDomain: PbBridgeDomainUpdate }
  | { l2Settings: PbL2Settings };

export type PbControllerMessage = { seq: number; body?: string } & Partial<{
  resyncBegin: { controllerId?: string };
  resyncEnd: Record<string, never>;
  vrf: PbVrfUpdate;
  interface: PbInterfaceUpdate;
  routes: PbRouteBatch;
  label: PbLabelUpdate;
  bfdSession: PbBfdSessionUpdate;
  bridgeDomain: PbBridgeDomainUpdate;
  l2Settings: PbL2Settings;
}>;

export interface PbFailure {
  object: string;
  reason: string;
}

export interface PbAgentMessage {
  seq: number;
  ok: boolean;
  failures: PbFailure[];
  swept: number;
  /** an unsolicited BFD state report (seq 0) */
  bfdState?: PbBfdSessionState | null;
}

export interface PbFibEntry {
  prefix: string;
  nexthopId: number;
  nexthop: string;
}

export interface PbInterfaceInfo {
  id: number;
  name: string;
  driver: string;
  vrf: string;
  mac: string;
  mtu: number;
  addresses: string[];
  rxPackets: number;
  txPackets: number;
  drops: number;
  /** attached, but the netdev's link is down */
  linkDown?: boolean;
  /** a bridge port's L2 state and counters (absent: not a bridge port, or an older agent) */
  bridge?: PbBridgePortStats | null;
  rxBytes?: number;
  txBytes?: number;
}

export interface PbBridgePortStats {
  mode: string;
  vlans: number[];
  nativeVlan: number;
  macs: number;
  macLimit: number;
  counters: Record<string, number>;
  tpid?: number;
  dot1qTunneling?: boolean;
}

export interface PbNexthopInfo {
  id: number;
  type: string;
  interface: string;
  ip: string;
  mac: string;
  labels: number[];
  members: number[];
  vrf: string;
  state: string;
  refs: number;
}

/** Frames stream (proto/agent.proto): a frame to send out of an interface */
export interface PbFrameOut {
  interface: string;
  frame: Uint8Array;
}

/** Frames stream: what the agent sends (proto-loader's oneof: `body` names the field set) */
export interface PbFrameIn {
  body?: 'received' | 'link' | 'refused';
  received?: { interface: string; frame: Uint8Array };
  link?: { interface: string; up: boolean; mac: string };
  refused?: PbFailure;
}

/** Response-header key by which an agent lists what it understands (see proto/agent.proto's header). */
export const AGENT_FEATURES_HEADER = 'cnr-agent-features';
/** The agent reads Route.destination (IpPrefix) */
export const FEATURE_PREFIX_BYTES = 'prefix-bytes';
/** The agent reads RouteBatch.packed_ipv4/packed_ipv6 */
export const FEATURE_PACKED_ROUTES = 'packed-routes';

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
};

/** The proto/ directory of the package, from src/agent or dist/src/agent. */
export function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'agent.proto'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('proto/agent.proto not found above ' + dirname(fileURLToPath(import.meta.url)));
}

interface Loaded {
  agent: grpc.ServiceClientConstructor;
  health: grpc.ServiceClientConstructor;
  agentDefinition: protoLoader.PackageDefinition;
}

let loaded: Loaded | undefined;

export function loadProtos(): Loaded {
  if (loaded) return loaded;
  const dir = protoDir();
  const agentDefinition = protoLoader.loadSync(join(dir, 'agent.proto'), LOADER_OPTIONS);
  const healthDefinition = protoLoader.loadSync(join(dir, 'health.proto'), LOADER_OPTIONS);
  const agentPkg = grpc.loadPackageDefinition(agentDefinition) as unknown as { cnr: { agent: { v1: { Agent: grpc.ServiceClientConstructor } } } };
  const healthPkg = grpc.loadPackageDefinition(healthDefinition) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
  loaded = { agent: agentPkg.cnr.agent.v1.Agent, health: healthPkg.grpc.health.v1.Health, agentDefinition };
  return loaded;
}
