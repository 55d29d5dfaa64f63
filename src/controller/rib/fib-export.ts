/**
 * FIB export: the controller's side of proto/agent.proto. It listens to the RIB and keeps
 * the agent's FIB equal to the RIB's active routes (plus the interfaces and VRFs the
 * RibService hands it):
 *  - changes wait in one ordered map keyed by object (latest wins, order kept), so a
 *    route that flaps while the agent is busy is sent once;
 *  - consecutive routes of one VRF travel together in RouteBatch messages that share
 *    next-hop sets; at most `window` messages are unacknowledged at a time;
 *  - when the stream breaks, it reconnects (wait-for-ready, backoff capped low: the agent is
 *    usually on the same node, and forwarding must resume as soon as it listens) and replays the
 *    whole state after ResyncBegin; the agent removes what was not replayed at ResyncEnd,
 *    and keeps forwarding with its last FIB meanwhile. Route changes are not queued while
 *    no stream reads them (no agent, or a replay that has not started reading the RIB):
 *    the replay reads the RIB as it is when it starts, so a table's ingest with no agent
 *    costs no queue (see FibQueue.on);
 *  - with `holdResyncEnd`, ResyncEnd (and so the agent's sweep) waits for `ready()`: a
 *    controller that has just started has not loaded its configuration, and its BGP has not
 *    had the peers' tables back yet, so what it could replay is incomplete. Until then the
 *    replay is followed by ordinary changes as they come (configuration, BGP routes), and
 *    the agent keeps everything else it holds: nothing unchanged is removed or re-created;
 *  - routes go out as fixed-width records (RouteBatch.packed_ipv4/6: 8 bytes per IPv4 route,
 *    no message per route) to an agent that announces "packed-routes" as the stream opens,
 *    their prefixes taken from the RIB as values (an IPv4 prefix's ipv4PrefixCode, nothing
 *    parsed); one Route message each with Route.destination to an agent that announces only
 *    "prefix-bytes", as text to an older one (route batches wait for the agent's response
 *    headers to know which);
 *  - with `local` (`cnr start`: the agent in this process), the same messages go to the agent
 *    as calls instead of a gRPC stream: route batches as packed records in a decoded message
 *    (no protobuf around them, no HTTP/2 flow control), with the same sequence numbers, window,
 *    ACKs, replay and ResyncEnd; the unary reads (`show route forwarding-table`, counts, BFD
 *    and MAC lists) still use gRPC.
 */
import * as grpc from '@grpc/grpc-js';
import { encodeControllerMessage, encodeRouteColumns, encodeRouteDestinations, encodeRoutesPacked, packRoutes } from '../../api/codec.js';
import { prefixKeyText, prefixOfKey, type Prefix, type PrefixKey } from '../../lib/addr.js';
import { AGENT_FEATURES_HEADER, bfdSessionId, FEATURE_PACKED_ROUTES, FEATURE_PREFIX_BYTES, loadProtos, type PbAgentMessage, type PbBfdSessionState, type PbBfdSessionUpdate, type PbBridgeDomainInfo, type PbBridgeFilterTerm, type PbListBfdSessionsReply, type PbMacEntry, type PbControllerMessage, type PbFailure, type PbFibEntry, type PbFilterState, type PbInterfaceInfo, type PbIpFilter, type PbLabelUpdate, type PbNexthop, type PbNexthopInfo, type PbNexthopSet, type InterfaceDriverName, type RouteActionName, type PbVrfRouteCount } from '../../api/proto.js';
import type { FibAction, FibNexthop, FibQueue, FibRoute, Rib } from './rib.js';
import type { MplsAction } from './mpls.js';
import { mark, timelineOn } from '../../lib/timeline.js';
import { jsonEqual } from '../../lib/json-equal.js';

/** L2 mode (docs/l2.md): the interface is a bridge port */
export interface FibBridgePort {
  mode: 'access' | 'trunk';
  vlan?: number;
  vlans?: number[];
  nativeVlan?: number;
  noLocalSwitching?: boolean;
  /** QinQ: a trunk's TPID (`ether-type`), an access port's `dot1q-tunneling` */
  tpid?: number;
  dot1qTunneling?: boolean;
  /** storm control: kbit/s and burst bytes */
  stormKbps?: number;
  stormBurst?: number;
  /** the input and output filters (firewall family bridge), in the wire's form */
  inputFilter?: PbBridgeFilterTerm[];
  outputFilter?: PbBridgeFilterTerm[];
  /** their names (`show firewall`) */
  inputFilterName?: string;
  outputFilterName?: string;
}

export interface FibBridgeDomain {
  name: string;
  vlan: number;
  /** the IRB interface (irb.N) */
  irb?: string;
  macTableSize?: number;
  interfaceMacLimit?: number;
  /** interface-mac-limit packet-action (absent: drop) */
  interfaceMacLimitAction?: 'drop' | 'none';
  macTableSizeAction?: 'drop' | 'none';
}

export interface FibInterface {
  name: string;
  /** memif: served control socket; loopback: lo0, no netdev; irb: no netdev, the routing interface of a bridge domain */
  driver: 'af-packet' | 'af-xdp' | 'tap' | 'memory' | 'memif' | 'loopback' | 'irb';
  /** routing instance; 'default' when absent */
  vrf?: string;
  addresses: string[];
  mtu?: number;
  vlan?: number;
  mac?: string;
  /** driver memif: the control socket, interface id and secret */
  memif?: { socket: string; id?: number; secret?: string };
  bridge?: FibBridgePort;
  /** IP firewall filters (docs/filters.md), in the wire's form */
  filters?: PbIpFilter[];
  /** static neighbours (`address A arp|ndp IP mac MAC`), as "IP MAC" */
  neighbors?: string[];
}

/**
 * An agent in the controller's process (`cnr start`), reached without gRPC. Defined here so the
 * controller does not import the agent: src/cmd/node.ts hands the vRouter's agent in as one.
 */
export interface LocalAgentLink {
  /**
   * Opens a Program stream: messages go in with `write` (each with its `body` set, as decoded),
   * replies come to `onMessage` in order, never inside `write`; `onClose` when the agent ends
   * the stream. Throws when the agent cannot take one now (the export retries as for gRPC).
   */
  openProgram(onMessage: (m: PbAgentMessage) => void, onClose: (why: string) => void): { write(m: PbControllerMessage): void; close(): void };
}

export interface FibExportOptions {
  /** the agent, host:port (its unary reads, and the Program stream unless `local`) */
  address: string;
  /** the agent in this process: the Program stream as calls (see the header) */
  local?: LocalAgentLink;
  token?: string;
  controllerId?: string;
  /** routes per RouteBatch */
  batchSize?: number;
  /** unacknowledged messages in flight */
  window?: number;
  /** reconnect backoff (default 50 ms doubling up to 200 ms) */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** send ResyncEnd only after `ready()` (see the header); default false: at once */
  holdResyncEnd?: boolean;
  log?: (line: string) => void;
}

export interface FibExportStatus {
  address: string;
  connected: boolean;
  /** the last replay reached ResyncEnd and was acknowledged */
  synced: boolean;
  /** the state is complete (`ready()` was called, or no hold was asked for) */
  ready: boolean;
  pending: number;
  inflight: number;
  messagesAcked: number;
  routesAcked: number;
  nacks: number;
  reconnects: number;
  recentFailures: PbFailure[];
}

const DEFAULT_BACKOFF_MIN_MS = 50;
const DEFAULT_BACKOFF_MAX_MS = 200;

type Op =
  | { kind: 'vrf'; name: string; del: boolean }
  | { kind: 'if'; name: string; cfg: FibInterface | undefined }
  | { kind: 'label'; label: number; action: MplsAction | undefined }
  | { kind: 'bfd'; update: PbBfdSessionUpdate }
  | { kind: 'bd'; name: string; cfg: FibBridgeDomain | undefined }
  | { kind: 'l2'; aging: number };

function isDelete(op: Op): boolean {
  if (op.kind === 'bfd') return op.update.delete === true;
  if (op.kind === 'l2') return false;
  return op.kind === 'vrf' ? op.del : op.kind === 'label' ? op.action === undefined : op.cfg === undefined;
}

/** how the agent at the other end reads routes: packed records, Route.destination, the older text, or (in process) packed records in a decoded message */
type PrefixForm = 'packed' | 'bytes' | 'text' | 'local';

/** route batches go out pre-encoded (Buffer), the rest as objects for the hand codec */
type ProgramStream = grpc.ClientDuplexStream<PbControllerMessage | Buffer, PbAgentMessage>;

/** The Program stream as the pump sees it: a gRPC call or the in-process link. */
interface ProgramChannel {
  /** false: wait for 'drain' before writing more (gRPC's flow control) */
  write(m: PbControllerMessage | Buffer): boolean;
  close(): void;
}

/** The ControllerMessage body fields, as the decoder names the one that is set. */
const BODIES = ['resyncBegin', 'resyncEnd', 'vrf', 'interface', 'routes', 'label', 'bfdSession', 'bridgeDomain', 'l2Settings'] as const;

/**
 * A waiter of flushed(): the objects and routes queued when it was made, until each is
 * written; then the last sequence number written at that moment, until it is acknowledged.
 */
interface Barrier {
  /** keys of `pending` not yet written */
  keys: Set<string>;
  /** written once routesDrained reaches this (the route queue is FIFO, each prefix in it once) */
  routesTarget: number;
  /** every message up to this one written: resolved when none up to it is unacknowledged */
  seq: number | undefined;
  resolve(): void;
}

interface Replay {
  stage: 'begin' | 'objects' | 'routes' | 'end' | 'done';
  objects: Op[];
  routes: Iterator<{ vrf: string; key: PrefixKey; fib: FibRoute }>;
  carry: { vrf: string; key: PrefixKey; fib: FibRoute } | undefined;
  /** the routes stage has started reading the RIB (route changes are queued from then on) */
  reading: boolean;
  endSeq: number;
}

const DRIVER: Record<FibInterface['driver'], InterfaceDriverName> = { 'af-packet': 'AF_PACKET', 'af-xdp': 'AF_XDP', tap: 'TAP', memory: 'MEMORY', memif: 'MEMIF', loopback: 'LOOPBACK', irb: 'DRIVER_UNSPECIFIED' };
const ACTION: Record<FibRoute['action'], RouteActionName> = { forward: 'FORWARD', discard: 'DISCARD', reject: 'REJECT', receive: 'RECEIVE' };

export class FibExport {
  /** VRF and interface changes, by object (latest wins) */
  private readonly pending = new Map<string, Op>();
  /** route changes, as the RIB queues them */
  private routes: FibQueue | undefined;
  private unlabel: (() => void) | undefined;
  private readonly vrfs = new Set<string>();
  private readonly ifs = new Map<string, FibInterface>();
  /** BFD sessions asked of the vRouter, by bfdSessionId; replayed like interfaces */
  private readonly bfds = new Map<string, PbBfdSessionUpdate>();
  private readonly bfdListeners = new Set<(s: PbBfdSessionState) => void>();
  /** L2: bridge domains, and the MAC aging time (0: the agent's default) */
  private readonly domains = new Map<string, FibBridgeDomain>();
  private macAging = 0;
  private client: grpc.Client & Record<string, unknown> | undefined;
  private call: ProgramChannel | undefined;
  private seq = 0;
  private readonly inflight = new Map<number, number>();
  /** how this stream's agent reads route prefixes; undefined until its response headers came */
  private prefixForm: PrefixForm | undefined;
  private lastPrefixForm: PrefixForm | undefined;
  private replay: Replay | undefined;
  private blocked = false;
  private pumping = false;
  private scheduled = false;
  private stopped = true;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoff: number;
  private lastLossLog = 0;
  private idleWaiters: (() => void)[] = [];
  /** flushed() waiters, oldest first */
  private barriers: Barrier[] = [];
  /** route changes taken from the RIB's queue since start (the barriers' clock) */
  private routesDrained = 0;
  private readonly st: FibExportStatus;
  private readonly batchSize: number;
  private readonly window: number;

  private get backoffMin(): number {
    return this.opts.backoffMinMs ?? DEFAULT_BACKOFF_MIN_MS;
  }

  private get backoffMax(): number {
    return this.opts.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
  }

  constructor(
    private readonly rib: Rib,
    private readonly opts: FibExportOptions,
  ) {
    this.batchSize = opts.batchSize ?? 2000;
    this.window = opts.window ?? 16;
    this.backoff = this.backoffMin;
    this.st = { address: opts.address, connected: false, synced: false, ready: !opts.holdResyncEnd, pending: 0, inflight: 0, messagesAcked: 0, routesAcked: 0, nacks: 0, reconnects: 0, recentFailures: [] };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.routes = this.rib.fibQueue(() => this.schedule());
    this.unlabel = this.rib.mpls.subscribe((label, r) => {
      this.queue(`l|${label}`, { kind: 'label', label, action: r?.action });
    });
    const { agent } = loadProtos();
    this.client = new agent(this.opts.address, grpc.credentials.createInsecure(), {
      // a busy agent (a million-route read-back) may not answer a ping for seconds
      'grpc.keepalive_time_ms': 15_000,
      'grpc.keepalive_timeout_ms': 30_000,
      'grpc.max_receive_message_length': 256 * 1024 * 1024,
      // the channel's own reconnect backoff (it grows to 120 s by default): capped as low as
      // ours, so a restarted agent is found within one interval of listening again
      'grpc.initial_reconnect_backoff_ms': this.backoffMin,
      'grpc.max_reconnect_backoff_ms': this.backoffMax,
    }) as grpc.Client & Record<string, unknown>;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.routes?.close();
    this.routes = undefined;
    this.unlabel?.();
    this.unlabel = undefined;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const call = this.call;
    this.call = undefined;
    call?.close();
    this.client?.close();
    this.client = undefined;
    this.st.connected = false;
  }

  /**
   * The controller's state is complete (configuration committed, BGP's initial tables in):
   * the replay in progress, and every later one, may end with ResyncEnd.
   */
  ready(why = 'state complete'): void {
    if (this.st.ready) return;
    this.st.ready = true;
    this.log(`fib-export: ${why}; the agent may now remove what was not replayed`);
    this.schedule();
  }

  status(): FibExportStatus {
    return { ...this.st, pending: this.pending.size + (this.routes?.size ?? 0), inflight: this.inflight.size, recentFailures: [...this.st.recentFailures] };
  }

  /** A routing instance exists in the data plane (present) or not. */
  setVrf(name: string, present: boolean): void {
    if (name === 'default') return;
    if (present === this.vrfs.has(name)) return;
    if (present) this.vrfs.add(name);
    else this.vrfs.delete(name);
    this.queue(`v|${name}`, { kind: 'vrf', name, del: !present });
  }

  setInterface(name: string, cfg: FibInterface | undefined): void {
    const old = this.ifs.get(name);
    if (!cfg && !old) return;
    // (every interface on every commit: compared without serializing, lib/json-equal.ts)
    if (cfg && old && jsonEqual(cfg, old)) return;
    if (cfg) this.ifs.set(name, cfg);
    else this.ifs.delete(name);
    this.queue(`i|${name}`, { kind: 'if', name, cfg });
  }

  /** A BFD session the vRouter should run (docs/bfd.md), or, with `delete`, no longer run. */
  setBfdSession(update: PbBfdSessionUpdate): void {
    const id = bfdSessionId(update);
    const old = this.bfds.get(id);
    if (update.delete) {
      if (!old) return;
      this.bfds.delete(id);
    } else {
      if (old && JSON.stringify(old) === JSON.stringify(update)) return;
      this.bfds.set(id, update);
    }
    this.queue(`b|${id}`, { kind: 'bfd', update });
  }

  /** BFD state reports from the agent (each change, and one per session applied or replayed). */
  onBfdState(fn: (s: PbBfdSessionState) => void): () => void {
    this.bfdListeners.add(fn);
    return () => this.bfdListeners.delete(fn);
  }

  listBfdSessions(timeoutMs = 5000): Promise<PbListBfdSessionsReply> {
    return this.unary<PbListBfdSessionsReply>('ListBfdSessions', {}, timeoutMs);
  }

  /** A bridge domain (L2) exists with these settings, or not. */
  setBridgeDomain(name: string, cfg: FibBridgeDomain | undefined): void {
    const old = this.domains.get(name);
    if (!cfg && !old) return;
    if (cfg && old && JSON.stringify(cfg) === JSON.stringify(old)) return;
    if (cfg) this.domains.set(name, cfg);
    else this.domains.delete(name);
    this.queue(`b|${name}`, { kind: 'bd', name, cfg });
  }

  /** L2 settings: the MAC aging time in seconds (undefined: the default). */
  setMacAging(seconds: number | undefined): void {
    const v = seconds ?? 0;
    if (v === this.macAging) return;
    this.macAging = v;
    this.queue('l2', { kind: 'l2', aging: v });
  }

  /** The bridge domains this FIB export holds (the configuration's). */
  bridgeDomainNames(): string[] {
    return [...this.domains.keys()];
  }

  /** The IP filters the agent programmed, with packets per term (`show firewall`). */
  listFilters(timeoutMs = 5000): Promise<PbFilterState[]> {
    return this.unary<{ filters: PbFilterState[] }>('ListFilters', {}, timeoutMs).then((r) => r.filters);
  }

  listMacs(bridgeDomain: string | undefined, timeoutMs = 5000): Promise<PbMacEntry[]> {
    return this.unary<{ entries: PbMacEntry[] }>('ListMacs', { bridgeDomain: bridgeDomain ?? '' }, timeoutMs).then((r) => r.entries);
  }

  clearMacs(bridgeDomain: string | undefined, timeoutMs = 5000): Promise<number> {
    return this.unary<{ cleared: number }>('ClearMacs', { bridgeDomain: bridgeDomain ?? '' }, timeoutMs).then((r) => r.cleared);
  }

  listBridgeDomains(timeoutMs = 5000): Promise<PbBridgeDomainInfo[]> {
    return this.unary<{ domains: PbBridgeDomainInfo[] }>('ListBridgeDomains', {}, timeoutMs).then((r) => r.domains);
  }

  /** Resolves once everything queued so far is acknowledged by the agent (or rejects after `timeoutMs`). */
  whenIdle(timeoutMs = 30_000): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        reject(new Error(`FIB export not idle after ${timeoutMs} ms (${JSON.stringify(this.status())})`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      this.idleWaiters.push(done);
    });
  }

  /**
   * Resolves once everything queued so far (objects and routes) has been written to the
   * agent and acknowledged, i.e. is in its data plane; unlike whenIdle(), changes queued
   * later (a BGP feed in flight) do not hold it back. After a reconnect it waits for the
   * replay, which carries the same state. Rejects after `timeoutMs`.
   */
  flushed(timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const b: Barrier = {
        keys: new Set(this.pending.keys()),
        routesTarget: this.routesDrained + (this.routes?.size ?? 0),
        seq: undefined,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      timer = setTimeout(() => {
        this.barriers = this.barriers.filter((x) => x !== b);
        reject(new Error(`FIB export: not acknowledged by the agent after ${timeoutMs} ms (${JSON.stringify(this.status())})`));
      }, timeoutMs);
      this.barriers.push(b);
      this.settleBarriers();
    });
  }

  /** What the agent's data plane holds (read back, not the RIB). */
  listRoutes(vrf: string, family: 4 | 6, timeoutMs = 5000): Promise<PbFibEntry[]> {
    return this.unary<{ routes: PbFibEntry[] }>('ListRoutes', { vrf, family }, timeoutMs).then((r) => r.routes);
  }

  /** How many routes the data plane holds per VRF and family (its counters: cheap at any size); one VRF or all. */
  routeCounts(vrf?: string, timeoutMs = 5000): Promise<PbVrfRouteCount[]> {
    return this.unary<{ vrfs: PbVrfRouteCount[] }>('RouteCount', { vrf: vrf ?? '' }, timeoutMs).then((r) => r.vrfs);
  }

  /** The first `limit` routes the data plane holds in a VRF, and how many it holds in all. */
  listSomeRoutes(vrf: string, family: 4 | 6, limit: number, timeoutMs = 5000): Promise<{ routes: PbFibEntry[]; total: number }> {
    return this.unary<{ routes: PbFibEntry[]; total: number }>('ListRoutes', { vrf, family, limit }, timeoutMs);
  }

  listInterfaces(timeoutMs = 5000): Promise<PbInterfaceInfo[]> {
    return this.unary<{ interfaces: PbInterfaceInfo[] }>('ListInterfaces', {}, timeoutMs).then((r) => r.interfaces);
  }

  listNexthops(timeoutMs = 5000): Promise<PbNexthopInfo[]> {
    return this.unary<{ nexthops: PbNexthopInfo[] }>('ListNexthops', {}, timeoutMs).then((r) => r.nexthops);
  }

  // ---- internals

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.opts.token) md.set('authorization', `Bearer ${this.opts.token}`);
    return md;
  }

  private unary<T>(method: string, req: unknown, timeoutMs: number): Promise<T> {
    const client = this.client;
    if (!client) return Promise.reject(new Error('FIB export is not started'));
    const fn = client[method] as (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: T) => void) => void;
    return new Promise((resolve, reject) =>
      fn.call(client, req, this.metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(new Error(`agent ${this.opts.address}: ${err.details || err.message}`)) : resolve(res))),
    );
  }

  private queue(key: string, op: Op): void {
    this.pending.delete(key);
    this.pending.set(key, op);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private connect(): void {
    if (this.stopped || !this.client) return;
    if (this.opts.local) this.connectLocal(this.opts.local);
    else this.connectGrpc(this.client);
    this.pump();
  }

  /** The Program stream over gRPC (`cnr controller` beside a `cnr vrouter`, or any agent by address). */
  private connectGrpc(client: grpc.Client): void {
    // requests go through the hand codec (agent/codec.ts): the same bytes as protobufjs, less work per route
    const method = loadProtos().agent.service['Program']!;
    const serialize = (m: PbControllerMessage | Buffer): Buffer => (Buffer.isBuffer(m) ? m : encodeControllerMessage(m));
    // wait for the channel rather than fail at once while the agent is away: the channel's own
    // reconnect attempts (backoff capped above) then open the stream as soon as it listens
    const md = this.metadata();
    md.setOptions({ waitForReady: true });
    const call: ProgramStream = client.makeBidiStreamRequest(method.path, serialize, method.responseDeserialize as (b: Buffer) => PbAgentMessage, md);
    const ch: ProgramChannel = {
      write: (m) => call.write(m),
      close: () => {
        call.removeAllListeners();
        call.on('error', () => {});
        call.cancel();
      },
    };
    this.begin(ch);
    call.on('metadata', (md: grpc.Metadata) => {
      if (this.call !== ch) return;
      const features = md.get(AGENT_FEATURES_HEADER).join(',').split(',').map((f) => f.trim());
      this.prefixForm = features.includes(FEATURE_PACKED_ROUTES) ? 'packed' : features.includes(FEATURE_PREFIX_BYTES) ? 'bytes' : 'text';
      // said once per change, not on every reconnect
      if (this.prefixForm !== this.lastPrefixForm && this.prefixForm === 'text') this.log(`fib-export: agent ${this.opts.address} reads text prefixes only (an older release); sending them so`);
      this.lastPrefixForm = this.prefixForm;
      this.pump();
    });
    call.on('data', (m: PbAgentMessage) => this.onAck(m));
    call.on('drain', () => {
      this.blocked = false;
      this.pump();
    });
    call.on('error', (err: grpc.ServiceError) => this.broken(ch, err.details || err.message));
    call.on('end', () => this.broken(ch, 'agent closed the stream'));
  }

  /** The Program stream as calls into the agent of this process (`cnr start`). */
  private connectLocal(local: LocalAgentLink): void {
    let stream: ReturnType<LocalAgentLink['openProgram']> | undefined;
    const ch: ProgramChannel = {
      write: (m) => {
        // as the decoder hands a message to the agent: its body named
        if (!Buffer.isBuffer(m)) {
          m.body ??= BODIES.find((k) => m[k] !== undefined);
          stream?.write(m);
        }
        return true;
      },
      close: () => stream?.close(),
    };
    this.begin(ch);
    // the agent reads packed records, and says so without headers to wait for
    this.prefixForm = 'local';
    try {
      stream = local.openProgram((m) => {
        if (this.call === ch) this.onAck(m);
      }, (why) => this.broken(ch, why));
    } catch (err) {
      this.broken(ch, err instanceof Error ? err.message : String(err));
    }
  }

  /** A new stream: the replay of the whole state starts; what waited is covered by it. */
  private begin(ch: ProgramChannel): void {
    this.call = ch;
    this.prefixForm = undefined;
    this.seq = 0;
    this.inflight.clear();
    this.blocked = false;
    this.st.synced = false;
    // everything pending is covered by the replay, which reads the current state; route
    // changes are not even queued until it starts reading the RIB (see the 'routes' stage)
    this.pending.clear();
    this.routes?.pause();
    // (so the barriers wait for the replay instead; their sequence numbers were the old stream's)
    for (const b of this.barriers) {
      b.keys.clear();
      b.routesTarget = 0;
      b.seq = undefined;
    }
    this.replay = {
      stage: 'begin',
      objects: [
        ...[...this.vrfs].map((name): Op => ({ kind: 'vrf', name, del: false })),
        ...[...this.ifs.values()].map((cfg): Op => ({ kind: 'if', name: cfg.name, cfg })),
        ...this.rib.mpls.entries().map((e): Op => ({ kind: 'label', label: e.label, action: e.action })),
        ...[...this.bfds.values()].map((update): Op => ({ kind: 'bfd', update })),
        // bridge domains after the interfaces (their IRBs)
        ...[...this.domains.values()].map((cfg): Op => ({ kind: 'bd', name: cfg.name, cfg })),
        ...(this.macAging ? [{ kind: 'l2', aging: this.macAging } as Op] : []),
      ],
      routes: this.rib.fibRoutes(),
      carry: undefined,
      reading: false,
      endSeq: -1,
    };
  }

  /** The stream `ch` broke (or the agent ended it): reconnect after the backoff, and replay. */
  private broken(ch: ProgramChannel, why: string): void {
    if (this.call !== ch) return;
    this.call = undefined;
    this.replay = undefined;
    this.st.connected = false;
    this.st.synced = false;
    // the next stream's replay covers every change until then
    this.routes?.pause();
    ch.close();
    if (this.stopped) return;
    this.st.reconnects++;
    // a stream refused again and again (a wrong token, an agent that keeps closing it) comes
    // back every 200 ms: say so once, then every 10 s
    const now = Date.now();
    if (now - this.lastLossLog >= 10_000) {
      this.lastLossLog = now;
      this.log(`fib-export: stream to ${this.opts.local ? 'the agent in this process' : this.opts.address} lost (${why}); retrying every ${this.backoffMax} ms or less`);
    }
    this.reconnectTimer = setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, this.backoffMax);
  }

  private onAck(m: PbAgentMessage): void {
    if (m.bfdState) {
      for (const l of this.bfdListeners) l(m.bfdState);
      return;
    }
    const routes = this.inflight.get(m.seq);
    if (routes === undefined) return;
    if (timelineOn) mark(`fib-export: seq ${m.seq} acknowledged`);
    this.inflight.delete(m.seq);
    if (!this.st.connected) {
      this.st.connected = true;
      this.backoff = this.backoffMin;
      this.lastLossLog = 0;
    }
    this.st.messagesAcked++;
    if (m.ok) this.st.routesAcked += routes;
    else {
      this.st.nacks++;
      this.st.routesAcked += routes - m.failures.length;
      for (const f of m.failures) this.st.recentFailures.push(f);
      const shown = m.failures.slice(0, 3).map((f) => `${f.object}: ${f.reason}`).join('; ');
      this.log(`fib-export: agent refused ${shown}${m.failures.length > 3 ? ` and ${m.failures.length - 3} more` : ''}`);
      if (this.st.recentFailures.length > 100) this.st.recentFailures.splice(0, this.st.recentFailures.length - 100);
    }
    if (this.replay && m.seq === this.replay.endSeq) {
      this.replay = undefined;
      this.st.synced = true;
      if (m.swept) this.log(`fib-export: resync complete, agent removed ${m.swept} stale objects`);
    }
    this.pump();
  }

  /** Gives each barrier its sequence number once all it waits for is written, and resolves the acknowledged ones. */
  private settleBarriers(): void {
    if (this.barriers.length === 0) return;
    const r = this.replay;
    const replaying = r !== undefined && r.stage !== 'end' && r.stage !== 'done';
    // the oldest unacknowledged message (inflight keeps sending order)
    const oldest = this.inflight.keys().next();
    const keep: Barrier[] = [];
    for (const b of this.barriers) {
      if (b.seq === undefined && this.call && !replaying && b.keys.size === 0 && this.routesDrained >= b.routesTarget) b.seq = this.seq;
      if (b.seq !== undefined && (oldest.done || oldest.value > b.seq)) b.resolve();
      else keep.push(b);
    }
    this.barriers = keep;
  }

  private isIdle(): boolean {
    return this.st.synced && !this.replay && this.pending.size === 0 && (this.routes?.size ?? 0) === 0 && this.inflight.size === 0;
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.call && !this.blocked && this.inflight.size < this.window) {
        const next = this.nextMessage();
        if (!next) break;
        const seq = ++this.seq;
        let out: PbControllerMessage | Buffer;
        if ('encode' in next) out = next.encode(seq, this.prefixForm ?? 'text');
        else {
          next.msg.seq = seq;
          out = next.msg;
        }
        this.inflight.set(seq, next.routes);
        if (timelineOn) mark(`fib-export: seq ${seq} written${'msg' in next ? ` (${next.msg.interface ? `interface ${next.msg.interface.name}` : 'object'})` : ' (routes)'}`);
        if (next.end && this.replay) this.replay.endSeq = seq;
        if (!this.call.write(out)) this.blocked = true;
      }
    } finally {
      this.pumping = false;
    }
    this.settleBarriers();
    if (this.isIdle() && this.idleWaiters.length) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  /** The next message to send: an object, or for route batches an encoder given the sequence number. */
  private nextMessage(): ({ msg: PbControllerMessage } | { encode: (seq: number, form: PrefixForm) => Buffer | PbControllerMessage }) & { routes: number; end?: boolean } | undefined {
    const r = this.replay;
    if (r) {
      switch (r.stage) {
        case 'begin':
          r.stage = 'objects';
          return { msg: { seq: 0, resyncBegin: { controllerId: this.opts.controllerId ?? `pid ${process.pid}` } }, routes: 0 };
        case 'objects': {
          const op = r.objects.shift();
          if (op) return { msg: opMessage(op), routes: 0 };
          r.stage = 'routes';
          return this.nextMessage();
        }
        case 'routes': {
          // which form the agent reads comes with its response headers (at once, or with the first ACK)
          if (!this.prefixForm) return undefined;
          if (!r.reading) {
            // VRFs and interfaces made since the replay began go before the routes that use
            // them (those routes were not queued: the replay's walk below carries them)
            for (const [key, op] of this.pending) {
              if (isDelete(op)) continue;
              this.pending.delete(key);
              this.written(key);
              return { msg: opMessage(op), routes: 0 };
            }
            // changes from now on are queued: the replay's walk (a generator, started by its
            // first read below) reads the RIB as it is from here, and may miss what changes
            // behind it (a length new to a table, a compaction of a length's map)
            r.reading = true;
            this.routes?.resume();
          }
          const b = new BatchBuilder('');
          for (;;) {
            const item = r.carry ?? nextOf(r.routes);
            r.carry = undefined;
            if (!item) {
              r.stage = 'end';
              break;
            }
            if (b.count === 0) b.vrf = item.vrf;
            else if (item.vrf !== b.vrf) {
              r.carry = item;
              break;
            }
            b.add(item.key, item.fib.action, item.fib.nexthops);
            if (b.count >= this.batchSize) break;
          }
          if (b.count > 0) return { encode: (seq, form) => b.encode(seq, form), routes: b.count };
          return this.nextMessage();
        }
        case 'end': {
          // the replay is out: changes flow while the end waits for ready(), and all of
          // them go before ResyncEnd, so the sweep sees everything the state now holds
          const change = this.nextChange();
          if (change || !this.st.ready) return change;
          r.stage = 'done';
          return { msg: { seq: 0, resyncEnd: {} }, routes: 0, end: true };
        }
        case 'done':
          return undefined;
      }
    }
    return this.nextChange();
  }

  /** The next queued change (object or route batch), if any. */
  private nextChange(): ({ msg: PbControllerMessage } | { encode: (seq: number, form: PrefixForm) => Buffer | PbControllerMessage }) & { routes: number } | undefined {
    // VRFs and interfaces come before the routes that use them, and go after
    for (const [key, op] of this.pending) {
      if (isDelete(op)) continue;
      this.pending.delete(key);
      this.written(key);
      return { msg: opMessage(op), routes: 0 };
    }
    if (this.routes && this.routes.size > 0) {
      // (known by now: the replay's routes waited for it; kept in order with what follows otherwise)
      if (!this.prefixForm) return undefined;
      const b = new BatchBuilder('');
      b.vrf = this.routes.drain(this.batchSize, (prefix, action, nexthops) => b.add(prefix, action, nexthops))!;
      this.routesDrained += b.count;
      return { encode: (seq, form) => b.encode(seq, form), routes: b.count };
    }
    const first = this.pending.entries().next();
    if (first.done) return undefined;
    this.pending.delete(first.value[0]);
    this.written(first.value[0]);
    return { msg: opMessage(first.value[1]), routes: 0 };
  }

  /** A pending object goes out: no barrier waits for it any more. */
  private written(key: string): void {
    for (const b of this.barriers) b.keys.delete(key);
  }
}

function nextOf<T>(it: Iterator<T>): T | undefined {
  const n = it.next();
  return n.done ? undefined : n.value;
}

function opMessage(op: Op): PbControllerMessage {
  if (op.kind === 'bfd') return { seq: 0, bfdSession: op.update };
  if (op.kind === 'vrf') return { seq: 0, vrf: { name: op.name, delete: op.del } };
  if (op.kind === 'label') return { seq: 0, label: labelUpdateOf(op.label, op.action) };
  if (op.kind === 'l2') return { seq: 0, l2Settings: { macAgingSeconds: op.aging } };
  if (op.kind === 'bd') {
    const d = op.cfg;
    if (!d) return { seq: 0, bridgeDomain: { name: op.name, delete: true } };
    return { seq: 0, bridgeDomain: { name: d.name, vlanId: d.vlan, irb: d.irb ?? '', macTableSize: d.macTableSize ?? 0, interfaceMacLimit: d.interfaceMacLimit ?? 0, interfaceMacLimitAction: d.interfaceMacLimitAction ?? '', macTableSizeAction: d.macTableSizeAction ?? '' } };
  }
  const c = op.cfg;
  if (!c) return { seq: 0, interface: { name: op.name, delete: true } };
  const m: PbControllerMessage = {
    seq: 0,
    interface: { name: c.name, driver: DRIVER[c.driver], vrf: c.vrf && c.vrf !== 'default' ? c.vrf : '', addresses: c.addresses, mtu: c.mtu ?? 0, vlan: c.vlan ?? 0, mac: c.mac ?? '', ...(c.memif ? { memifSocket: c.memif.socket, memifId: c.memif.id ?? 0, memifSecret: c.memif.secret ?? '' } : {}) },
  };
  if (c.driver === 'irb') m.interface!.irb = true;
  if (c.filters?.length) m.interface!.filters = c.filters;
  if (c.neighbors?.length) m.interface!.staticNeighbors = c.neighbors;
  const b = c.bridge;
  if (b) {
    m.interface!.bridge = {
      mode: b.mode === 'trunk' ? 'TRUNK' : 'ACCESS',
      vlanId: b.vlan ?? 0,
      vlanIds: b.vlans ?? [],
      nativeVlanId: b.nativeVlan ?? 0,
      noLocalSwitching: b.noLocalSwitching ?? false,
      stormControlKbps: b.stormKbps ?? 0,
      stormControlBurst: b.stormBurst ?? 0,
      ...(b.tpid !== undefined ? { tpid: b.tpid } : {}),
      ...(b.dot1qTunneling ? { dot1qTunneling: true } : {}),
      ...(b.inputFilter?.length ? { inputFilter: b.inputFilter, inputFilterName: b.inputFilterName ?? '' } : {}),
      ...(b.outputFilter?.length ? { outputFilter: b.outputFilter, outputFilterName: b.outputFilterName ?? '' } : {}),
    };
  }
  return m;
}

/** An mpls.0 entry as the agent takes it: pop into a VRF, or forward with each next hop's out-labels as its transport labels. */
function labelUpdateOf(label: number, a: MplsAction | undefined): PbLabelUpdate {
  if (!a) return { label, delete: true, vrf: '' };
  if (a.action === 'pop-lookup') return { label, delete: false, vrf: a.vrf !== 'default' ? a.vrf : '' };
  return { label, delete: false, vrf: '', nexthops: a.nexthops.map((n) => ({ ip: n.gateway, interface: n.interface, transportLabels: [...n.outLabels] })) };
}

/** Routes of one VRF, sharing next-hop sets by content, kept as columns until encoded. */
class BatchBuilder {
  count = 0;
  private readonly prefixes: PrefixKey[] = [];
  /** per route: 1-based next-hop set, 0 to delete */
  private readonly refs: number[] = [];
  private readonly sets: PbNexthopSet[] = [];
  private readonly setIndex = new Map<string, number>();
  /** the RIB hands many routes the same resolved array: recognize it without building a key */
  private readonly byArray = new Map<readonly FibNexthop[], number>();
  constructor(public vrf: string) {}

  add(prefix: PrefixKey, action: FibAction | undefined, nexthops: readonly FibNexthop[]): void {
    this.count++;
    this.prefixes.push(prefix);
    if (action === undefined) {
      this.refs.push(0);
      return;
    }
    let i = action === 'forward' ? this.byArray.get(nexthops) : undefined;
    if (i === undefined) {
      const key = fibKey(action, nexthops);
      i = this.setIndex.get(key);
      if (i === undefined) {
        this.sets.push({ action: ACTION[action], nexthops: nexthops.map(pbNexthopOf) });
        i = this.sets.length;
        this.setIndex.set(key, i);
      }
      if (action === 'forward') this.byArray.set(nexthops, i);
    }
    this.refs.push(i);
  }

  encode(seq: number, form: PrefixForm): Buffer | PbControllerMessage {
    const vrf = this.vrf === 'default' ? '' : this.vrf;
    if (form === 'local') return { seq, body: 'routes', routes: packRoutes(vrf, this.sets, this.prefixes.map(destinationOf), this.refs) };
    if (form === 'text') return encodeRouteColumns(seq, vrf, this.sets, this.prefixes.map(prefixKeyText), this.refs);
    if (form === 'bytes') return encodeRouteDestinations(seq, vrf, this.sets, this.prefixes.map(destinationOf), this.refs);
    return encodeRoutesPacked(seq, vrf, this.sets, this.prefixes.map(destinationOf), this.refs);
  }
}

/**
 * The RIB's prefix value as Route.destination takes it: an IPv4 prefix's ipv4PrefixCode as
 * it is, an ipv6PrefixKey as a Prefix read from its bytes (nothing parsed from text).
 */
function destinationOf(prefix: PrefixKey): number | Prefix {
  return typeof prefix === 'number' ? prefix : prefixOfKey(prefix);
}

function fibKey(action: FibAction, nexthops: readonly FibNexthop[]): string {
  let k: string = action;
  for (const n of nexthops) k += `|${n.gateway ?? ''}%${n.interface ?? ''}%${n.labels ? n.labels.join('/') : ''}${n.udpSource !== undefined ? `%udp ${n.udpSource}` : ''}`;
  return k;
}

function pbNexthopOf(n: FibNexthop): PbNexthop {
  if (n.udpSource !== undefined) {
    // MPLS over UDP: every label travels inside the tunnel; the innermost is the service label
    const labels = n.labels ?? [];
    return { ip: n.gateway ?? '', interface: '', transportLabels: labels.slice(0, -1), serviceLabel: labels.at(-1) ?? null, tunnelSource: n.udpSource };
  }
  const labels = n.labels ?? [];
  // the RIB carries transport labels then the service label; the wire has room for 4 + 1
  if (labels.length > 4) return { ip: n.gateway ?? '', interface: n.interface ?? '', transportLabels: labels.slice(0, -1), serviceLabel: labels.at(-1)! };
  return { ip: n.gateway ?? '', interface: n.interface ?? '', transportLabels: labels };
}
