/**
 * The agent's gRPC server (proto/agent.proto) and the standard health service on the same
 * port. One Program stream is served at a time (a newer controller stream replaces an
 * older one); its messages are applied strictly in order through the data plane's
 * Programmer, and each is answered with an ACK or a NACK carrying the reasons.
 * The server can stop and start again over the same data plane: the Programmer, and so
 * the FIB, outlive it.
 */
import * as grpc from '@grpc/grpc-js';
import type { Dataplane, NexthopInfo } from '../dataplane/api.js';
import { AGENT_FEATURES_HEADER, FEATURE_PACKED_ROUTES, FEATURE_PREFIX_BYTES, loadProtos, type PbAgentMessage, type PbControllerMessage, type PbFibEntry, type PbFrameIn, type PbFrameOut, type PbInterfaceInfo, type PbNexthopInfo } from '../api/proto.js';
import { decodeControllerMessage } from '../api/codec.js';
import { programmerFor, type ApplyResult, type Programmer } from './programmer.js';
import type { BfdHost } from './bfd-host.js';
import { mark, timelineOn } from '../lib/timeline.js';

export const DEFAULT_AGENT_ADDRESS = '127.0.0.1:50052';
export const AGENT_SERVICE = 'cnr.agent.v1.Agent';
/**
 * HTTP/2 receive window (per stream and per connection) for the controller's Program stream.
 * With the default 64 KiB the controller could put about two 2000-route batches on the wire,
 * then had to wait for a WINDOW_UPDATE that it reads only on its next event-loop turn (which a
 * busy RIB makes long): the agent idled while routes queued. Wide enough for the export's
 * whole window of batches (16 x ~40 KB).
 */
export const AGENT_RECEIVE_WINDOW = 8 * 1024 * 1024;

export interface AgentServerOptions {
  /** host:port; port 0 picks a free one */
  address?: string;
  /** when set, clients must send `authorization: Bearer TOKEN` */
  token?: string;
  log?: (line: string) => void;
  /** BFD sessions run by this vRouter (they outlive the server, like the data plane) */
  bfd?: BfdHost;
}

export interface AgentStats {
  connected: boolean;
  streams: number;
  messages: number;
  nacks: number;
  /** when the current (or last) controller stream was accepted, ms since the epoch */
  lastStreamAt?: number;
  lastResyncAt?: number;
  lastSwept?: number;
  /** Frames streams open now; frames punted to them, sent from them, refused by the data plane, and dropped because a stream could not take them */
  frameStreams: number;
  framesToController: number;
  framesFromController: number;
  framesRefused: number;
  framesDropped: number;
}

/**
 * The longest the Program stream's apply loop runs before it lets the event loop turn (BGP's
 * reads, BFD's timers, the CLI). A 2,000-route batch takes about 1-2 ms, so a slice is a few.
 */
const PROGRAM_SLICE_MS = 10;

/** A controller's Program stream as the apply loop sees it (gRPC call or in-process link). */
interface ProgramPeer {
  write(m: PbAgentMessage): void;
  /** the stream is gone: replies go nowhere */
  gone(): boolean;
  /** the agent ends the stream (a newer one replaces it, the server stops) */
  end(): void;
  pause(): void;
  resume(): void;
}

/** The controller's end of an in-process Program stream (AgentServer.openLocal). */
export interface LocalProgramStream {
  /** the next message, decoded (its `body` names the field set) */
  write(m: PbControllerMessage): void;
  /** the controller ends the stream */
  close(): void;
}

/** Punted frames a Frames stream may have queued in gRPC before more are dropped (IS-IS retransmits) */
const FRAMES_QUEUE_LIMIT = 1024;

type ProgramCall = grpc.ServerDuplexStream<PbControllerMessage, PbAgentMessage>;
type FramesCall = grpc.ServerDuplexStream<PbFrameOut, PbFrameIn>;

export class AgentServer {
  private server: grpc.Server | undefined;
  private readonly programmer: Programmer;
  private current: ProgramPeer | undefined;
  /** set on a stream's state when a newer stream replaces it: its queued messages are dropped */
  private currentState: { stale: boolean } | undefined;
  /** the current stream's subscription to BFD state reports */
  private unsubscribeBfd: (() => void) | undefined;
  private serving = false;
  private readonly watchers = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  readonly stats: AgentStats = { connected: false, streams: 0, messages: 0, nacks: 0, frameStreams: 0, framesToController: 0, framesFromController: 0, framesRefused: 0, framesDropped: 0 };
  private readonly frameCalls = new Set<FramesCall>();
  port = 0;

  constructor(
    readonly dp: Dataplane,
    private readonly opts: AgentServerOptions = {},
  ) {
    this.programmer = programmerFor(dp);
  }

  counts(): ReturnType<Programmer['counts']> {
    return this.programmer.counts();
  }

  /** Objects removed from the data plane since it started (see Programmer.removed). */
  removed(): Programmer['removed'] {
    return { ...this.programmer.removed };
  }

  async start(): Promise<number> {
    const { agent, health } = loadProtos();
    const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
    // the Program stream's requests go through the hand codec (codec.ts): same bytes, less work per route
    const service: grpc.ServiceDefinition = { ...agent.service, Program: { ...agent.service['Program']!, requestDeserialize: decodeControllerMessage } };
    server.addService(service, {
      Program: (call: ProgramCall) => this.program(call),
      ListRoutes: this.unary((req: { vrf: string; family: number; limit: number }) => this.listRoutes(req.vrf || 'default', req.family === 6 ? 6 : 4, req.limit)),
      ListInterfaces: this.unary(() => ({ interfaces: this.listInterfaces() })),
      ListNexthops: this.unary(() => ({ nexthops: this.dp.listNexthops().map(pbNexthop) })),
      Frames: (call: FramesCall) => this.frames(call),
      ListBfdSessions: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (!this.authorized(call.metadata)) return cb({ code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong bearer token' });
        const bfd = this.opts.bfd;
        if (!bfd) return cb(null, { sessions: [], discards: [] });
        bfd.list().then((r) => cb(null, r), (err: unknown) => cb({ code: grpc.status.INTERNAL, details: String(err) }));
      },
      ListMacs: this.unary((req: { bridgeDomain: string }) => ({ entries: (this.dp.listMacs?.(req.bridgeDomain || undefined) ?? []).map((e) => ({ bridgeDomain: e.bridgeDomain, vlanId: e.vlan, mac: e.mac, interface: e.interface, isStatic: e.static, age: e.age })) })),
      ClearMacs: this.unary((req: { bridgeDomain: string }) => ({ cleared: this.dp.clearMacs?.(req.bridgeDomain || undefined) ?? 0 })),
      ListFilters: this.unary(() => ({ filters: this.programmer.listFilters() })),
      RouteCount: this.unary((req: { vrf: string }) => ({ vrfs: this.dp.routeCounts?.(req.vrf || undefined) ?? [] })),
      ListBridgeDomains: this.unary(() => ({
        domains: (this.dp.listBridgeDomains?.() ?? []).map((d) => ({ name: d.name, vlanId: d.vlan, irb: d.irb ?? '', interfaces: d.interfaces.map((i) => `${i.name} (${i.mode}${i.tagged ? ', tagged' : ''})`), macs: d.macs, macTableSize: d.macTableSize, interfaceMacLimit: d.interfaceMacLimit, interfaceMacLimitAction: d.interfaceMacLimitAction, macTableSizeAction: d.macTableSizeAction, moves: d.moves })),
      })),
    });
    server.addService(health.service, {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const s = call.request.service;
        if (s !== '' && s !== AGENT_SERVICE) return cb({ code: grpc.status.NOT_FOUND, details: `unknown service '${s}'` });
        cb(null, { status: this.serving ? 'SERVING' : 'NOT_SERVING' });
      },
      Watch: (call: grpc.ServerWritableStream<{ service: string }, unknown>) => {
        const s = call.request.service;
        call.write({ status: s !== '' && s !== AGENT_SERVICE ? 'SERVICE_UNKNOWN' : this.serving ? 'SERVING' : 'NOT_SERVING' });
        this.watchers.add(call as grpc.ServerWritableStream<unknown, unknown>);
        call.on('cancelled', () => this.watchers.delete(call as grpc.ServerWritableStream<unknown, unknown>));
      },
    });
    widenReceiveWindow(server);
    const address = this.opts.address ?? DEFAULT_AGENT_ADDRESS;
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
    this.server = server;
    this.serving = true;
    this.log(`agent: listening on ${address.replace(/:\d+$/, '')}:${this.port}`);
    return this.port;
  }

  /** Stop serving; the data plane and its FIB stay as they are. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.serving = false;
    for (const w of this.watchers) {
      w.write({ status: 'NOT_SERVING' });
      w.end();
    }
    this.watchers.clear();
    this.current?.end();
    this.current = undefined;
    for (const c of this.frameCalls) c.end();
    this.frameCalls.clear();
    this.unsubscribeBfd?.();
    this.unsubscribeBfd = undefined;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 500);
      server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private authorized(md: grpc.Metadata): boolean {
    if (!this.opts.token) return true;
    const v = md.get('authorization')[0];
    return typeof v === 'string' && v === `Bearer ${this.opts.token}`;
  }

  private unary<Req, Res>(fn: (req: Req) => Res) {
    return (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => {
      if (!this.authorized(call.metadata)) return cb({ code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong bearer token' });
      try {
        cb(null, fn(call.request));
      } catch (err) {
        cb({ code: grpc.status.INVALID_ARGUMENT, details: err instanceof Error ? err.message : String(err) });
      }
    };
  }

  private program(call: ProgramCall): void {
    if (!this.authorized(call.metadata)) {
      call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong bearer token' });
      return;
    }
    // what this agent reads beyond the first form of the messages, at once: the controller
    // waits for it before its first route batch (proto/agent.proto's header)
    const features = new grpc.Metadata();
    features.set(AGENT_FEATURES_HEADER, `${FEATURE_PREFIX_BYTES},${FEATURE_PACKED_ROUTES}`);
    call.sendMetadata(features);
    const receive = this.attach({
      write: (m) => call.write(m),
      gone: () => call.cancelled || call.destroyed,
      end: () => call.end(),
      pause: () => call.pause(),
      resume: () => call.resume(),
    });
    call.on('data', receive.message);
    call.on('end', () => {
      receive.closed();
      call.end();
    });
    call.on('error', receive.closed);
    call.on('cancelled', receive.closed);
  }

  /**
   * A Program stream from a controller in this process (`cnr start`): the same messages, order,
   * ACKs, resync and replacement as over gRPC, as calls (no HTTP/2, no encoding). Replies go to
   * `onMessage` after the call that caused them has returned; `onClose` says the agent ended
   * the stream (a newer one replaced it, the server stopped). Throws when the server is not serving.
   */
  openLocal(onMessage: (m: PbAgentMessage) => void, onClose: (why: string) => void): LocalProgramStream {
    if (!this.serving) throw new Error('agent is not serving');
    let open = true;
    const close = (why: string) => {
      if (!open) return;
      open = false;
      receive.closed();
      setImmediate(() => onClose(why));
    };
    const receive = this.attach({
      write: (m) => {
        if (open) onMessage(m);
      },
      gone: () => !open,
      end: () => close('agent closed the stream'),
      pause: () => {},
      resume: () => {},
    });
    return {
      write: (m) => {
        if (open) receive.message(m);
      },
      close: () => {
        if (!open) return;
        open = false;
        receive.closed();
      },
    };
  }

  /**
   * The Program stream's work, whichever way it arrives: the stream replaces the current one,
   * gets BFD reports, and has its messages applied in order, each answered. The apply loop
   * gives the event loop back every PROGRAM_SLICE_MS: the thread's other work (introspect,
   * health, the BFD host's replies; in `cnr start --vrouter-thread off` BGP and the management
   * API too) must not wait for a backlog of route batches (a replay, a full table) as a whole.
   */
  private attach(peer: ProgramPeer): { message(m: PbControllerMessage): void; closed(): void } {
    if (this.current) {
      this.log('agent: a new controller stream replaces the previous one');
      if (this.currentState) this.currentState.stale = true;
      this.current.end();
    }
    const state = { stale: false };
    this.current = peer;
    this.currentState = state;
    // BFD state reports go to the current controller: unsolicited AgentMessages, seq 0
    this.unsubscribeBfd?.();
    this.unsubscribeBfd = this.opts.bfd?.subscribe((bfdState) => {
      if (this.current === peer && !peer.gone()) peer.write({ seq: 0, ok: true, failures: [], swept: 0, bfdState });
    });
    this.stats.connected = true;
    this.stats.streams++;
    this.stats.lastStreamAt = Date.now();
    const queue: PbControllerMessage[] = [];
    let busy = false;
    let paused = false;
    const pump = async () => {
      if (busy) return;
      busy = true;
      try {
        let sliceStart = performance.now();
        while (queue.length) {
          if (state.stale) {
            queue.length = 0;
            return;
          }
          const batch = takeInterfaceRun(queue);
          const results = batch.length > 1 ? await this.applyInterfaces(batch) : [await this.apply(batch[0]!)];
          if (peer.gone()) return;
          batch.forEach((msg, k) => {
            const res = results[k]!;
            const reply: PbAgentMessage = { seq: msg.seq, ok: res.failures.length === 0, failures: res.failures, swept: res.swept ?? 0 };
            this.stats.messages++;
            if (!reply.ok) {
              this.stats.nacks++;
              this.log(`agent: NACK seq ${msg.seq}: ${res.failures.slice(0, 3).map((f) => `${f.object}: ${f.reason}`).join('; ')}`);
            }
            peer.write(reply);
            if (timelineOn) mark(`agent: seq ${msg.seq} answered`);
          });
          if (paused && queue.length < 16) {
            paused = false;
            peer.resume();
          }
          if (queue.length && performance.now() - sliceStart >= PROGRAM_SLICE_MS) {
            await new Promise<void>((r) => setImmediate(r));
            sliceStart = performance.now();
          }
        }
      } finally {
        busy = false;
      }
    };
    let done = false;
    return {
      message: (msg) => {
        if (timelineOn) mark(`agent: seq ${msg.seq} received (${msg.body})`);
        queue.push(msg);
        if (!paused && queue.length > 64) {
          paused = true;
          peer.pause();
        }
        void pump();
      },
      closed: () => {
        if (done) return;
        done = true;
        if (this.current === peer) {
          this.current = undefined;
          this.stats.connected = false;
        }
      },
    };
  }

  /**
   * The Frames stream (proto/agent.proto): every attached interface's link state at once, then
   * punted frames and link changes as they come; frames from the controller go out of their
   * interface. Several streams may be open (each sees every frame); the data plane punts only
   * while one is. A stream that cannot keep up loses frames, counted, rather than the agent's
   * memory: IS-IS retransmits what matters.
   */
  private frames(call: FramesCall): void {
    const dp = this.dp;
    if (!this.authorized(call.metadata)) {
      call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'missing or wrong bearer token' });
      return;
    }
    if (!dp.onFrames || !dp.sendFrame || !dp.onVifChange) {
      call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'this data plane does not carry link-layer frames' });
      return;
    }
    const st = this.stats;
    const send = (m: PbFrameIn, isFrame: boolean) => {
      if (call.cancelled || call.destroyed) return;
      if (isFrame && call.writableLength >= FRAMES_QUEUE_LIMIT) {
        st.framesDropped++;
        return;
      }
      call.write(m);
      if (isFrame) st.framesToController++;
    };
    this.frameCalls.add(call);
    st.frameStreams++;
    // a vif still attaching has no MAC yet (all zero): its onVifChange below announces it once
    // attached; one whose link is down is announced when it comes up
    for (const v of dp.listVifs()) if (v.mac !== '00:00:00:00:00:00' && !v.linkDown) send({ link: { interface: v.name, up: true, mac: v.mac } }, false);
    const stopFrames = dp.onFrames((vif, frame) => send({ received: { interface: vif, frame } }, true));
    const stopLinks = dp.onVifChange((vif, up, mac) => send({ link: { interface: vif, up, mac } }, false));
    call.on('data', (m: PbFrameOut) => {
      st.framesFromController++;
      try {
        dp.sendFrame!(m.interface, m.frame);
      } catch (e) {
        st.framesRefused++;
        send({ refused: { object: `frame out of ${m.interface}`, reason: e instanceof Error ? e.message : String(e) } }, false);
      }
    });
    let closed = false;
    const done = () => {
      if (closed) return;
      closed = true;
      stopFrames();
      stopLinks();
      this.frameCalls.delete(call);
      st.frameStreams--;
    };
    call.on('end', () => {
      done();
      call.end();
    });
    call.on('error', done);
    call.on('cancelled', done);
    call.on('close', done);
  }

  /**
   * Interface messages for distinct interfaces (takeInterfaceRun), applied together: each
   * attach waits on its worker and the kernel (an af-packet socket mapped and bound, a TAP
   * made), and pods added together (the CNI service's batched commits) need not wait for one
   * another. The replies still go in order.
   */
  private async applyInterfaces(msgs: PbControllerMessage[]): Promise<ApplyResult[]> {
    const results = await Promise.all(msgs.map((m) => this.programmer.applyInterface(m.interface!)));
    await this.opts.bfd?.interfacesChanged(this.dp.listVifs());
    return results;
  }

  private async apply(msg: PbControllerMessage): Promise<ApplyResult> {
    const p = this.programmer;
    switch (msg.body) {
      case 'resyncBegin':
        p.beginResync();
        this.opts.bfd?.beginResync();
        this.log(`agent: resync begins (${msg.resyncBegin?.controllerId ?? ''})`);
        return { failures: [] };
      case 'resyncEnd': {
        const r = await p.endResync();
        const bfdSwept = (await this.opts.bfd?.endResync()) ?? 0;
        if (bfdSwept) r.swept = (r.swept ?? 0) + bfdSwept;
        this.stats.lastResyncAt = Date.now();
        this.stats.lastSwept = r.swept ?? 0;
        const some = r.sweptSample?.length ? `: ${r.sweptSample.join(', ')}${(r.swept ?? 0) > r.sweptSample.length ? ', ...' : ''}` : '';
        this.log(`agent: resync done, ${r.swept ?? 0} stale objects removed${some}`);
        return r;
      }
      case 'vrf':
        return p.applyVrf(msg.vrf!);
      case 'interface': {
        const r = await p.applyInterface(msg.interface!);
        await this.opts.bfd?.interfacesChanged(this.dp.listVifs());
        return r;
      }
      case 'bfdSession': {
        const u = msg.bfdSession!;
        if (!this.opts.bfd) return { failures: [{ object: `bfd session ${u.peer}`, reason: 'this vRouter runs no BFD' }] };
        const reason = await this.opts.bfd.apply(u, this.dp.listVifs());
        return { failures: reason ? [{ object: `bfd session ${u.peer}`, reason }] : [] };
      }
      case 'routes':
        return p.applyRoutes(msg.routes!);
      case 'label':
        return p.applyLabel(msg.label!);
      case 'bridgeDomain':
        return p.applyBridgeDomain(msg.bridgeDomain!);
      case 'l2Settings':
        return p.applyL2Settings(msg.l2Settings!);
      default:
        return { failures: [{ object: `message ${msg.seq}`, reason: 'empty or unknown message body' }] };
    }
  }

  private listRoutes(vrf: string, family: 4 | 6, limit: number): { routes: PbFibEntry[]; total: number } {
    const nhs = new Map(this.dp.listNexthops().map((n) => [n.id, n]));
    const all = this.dp.listRoutes(vrf, family);
    const some = limit > 0 && limit < all.length ? all.slice(0, limit) : all;
    return { routes: some.map((r) => ({ prefix: r.prefix, nexthopId: r.nh, nexthop: describeNexthop(r.nh, nhs) })), total: all.length };
  }

  private listInterfaces(): PbInterfaceInfo[] {
    return this.dp.listVifs().map((v) => ({
      id: v.id,
      name: v.name,
      driver: v.driver,
      vrf: v.vrf,
      mac: v.mac,
      mtu: v.mtu,
      addresses: v.addresses,
      rxPackets: v.rxPackets,
      txPackets: v.txPackets,
      drops: v.drops,
      linkDown: v.linkDown === true,
      rxBytes: v.rxBytes,
      txBytes: v.txBytes,
      ...(v.bridge ? { bridge: { mode: v.bridge.mode, vlans: v.bridge.vlans, nativeVlan: v.bridge.nativeVlan ?? 0, tpid: v.bridge.tpid ?? 0, dot1qTunneling: v.bridge.dot1qTunneling ?? false, macs: v.bridge.macs, macLimit: v.bridge.macLimit, counters: v.bridge.counters } } : {}),
    }));
  }
}

/** At most this many interface messages are applied at once. */
const INTERFACE_RUN = 32;

/**
 * The next message off the queue, with the interface messages right behind it when it is one
 * too, as long as each names another interface (two changes of one interface stay in order).
 */
export function takeInterfaceRun(queue: PbControllerMessage[]): PbControllerMessage[] {
  const first = queue.shift()!;
  if (first.body !== 'interface' || !first.interface) return [first];
  const names = new Set([first.interface.name]);
  const run = [first];
  while (run.length < INTERFACE_RUN && queue[0]?.body === 'interface' && queue[0].interface && !names.has(queue[0].interface.name)) {
    names.add(queue[0].interface.name);
    run.push(queue.shift()!);
  }
  return run;
}

/**
 * grpc-js (1.14) has no server option for the HTTP/2 flow-control windows: set the initial
 * stream window in the SETTINGS its http2 servers are created with, and widen each session's
 * connection window as it opens. Both are grpc-js internals; when they are not there, the
 * defaults stay (slower, still correct).
 */
function widenReceiveWindow(server: grpc.Server): void {
  const inner = server as unknown as { commonServerOptions?: { settings?: Record<string, unknown> }; _setupHandlers?: (s: unknown, ...rest: unknown[]) => void };
  const common = inner.commonServerOptions;
  if (common) common.settings = { ...common.settings, initialWindowSize: AGENT_RECEIVE_WINDOW };
  const setup = inner._setupHandlers;
  if (typeof setup !== 'function') return;
  inner._setupHandlers = function (this: unknown, h2: unknown, ...rest: unknown[]) {
    (h2 as { on?: (ev: string, f: (s: { setLocalWindowSize?: (n: number) => void }) => void) => void }).on?.('session', (session) => {
      try {
        session.setLocalWindowSize?.(AGENT_RECEIVE_WINDOW);
      } catch {
        // an older Node without setLocalWindowSize: the default connection window stays
      }
    });
    return setup.call(this, h2, ...rest);
  };
}

function pbNexthop(n: NexthopInfo): PbNexthopInfo {
  return {
    id: n.id,
    type: n.type,
    interface: n.vif ?? '',
    ip: n.ip ?? '',
    mac: n.dmac ?? '',
    labels: n.labels ?? [],
    members: n.members ?? [],
    vrf: n.vrf ?? '',
    state: n.state ?? '',
    refs: n.refs,
  };
}

/** "10.0.0.2 via eth1 push 16001 30", or "ecmp [..., ...]", for `show route forwarding-table`. */
export function describeNexthop(id: number, nhs: Map<number, NexthopInfo>, depth = 0): string {
  const n = nhs.get(id);
  if (!n) return `nh ${id}`;
  const labels = n.labels?.length ? ` push ${n.labels.join(' ')}` : '';
  switch (n.type) {
    case 'neighbor':
      return `${n.ip ?? '?'} via ${n.vif ?? '?'}${labels}${n.state && n.state !== 'resolved' ? ` (${n.state})` : ''}`;
    case 'encap':
      return `${n.dmac ?? '?'} via ${n.vif ?? '?'}${labels}`;
    case 'composite':
      return depth > 2 ? 'ecmp' : `ecmp [${(n.members ?? []).map((m) => describeNexthop(m, nhs, depth + 1)).join(', ')}]`;
    case 'vrf':
      return `table ${n.vrf ?? '?'}`;
    default:
      return n.type + labels;
  }
}
