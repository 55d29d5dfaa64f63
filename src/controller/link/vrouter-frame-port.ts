/**
 * The FramePort (frame-port.ts) over the vRouter: the agent's Frames stream (proto/agent.proto).
 * The data plane punts OSI frames (IS-IS) per receiving interface and the agent streams them
 * here with the interface's name; frames sent here travel the other way and leave through the
 * named interface. The agent also streams link state (every attached interface as the stream
 * opens, then each change), which gives `macOf` and `onLinkChange`.
 *
 * The stream opens on first use (a listener, a link handler, a send or a MAC asked for), so
 * that a node without IS-IS has the data plane punt nothing.
 *
 * One code path for `cnr start` and `cnr controller` + `cnr vrouter`: the stream goes to the
 * agent's gRPC address either way, as the FIB export's Program stream does. It is opened with
 * wait-for-ready and reopened after a short backoff when it breaks; while it is down every
 * interface counts as down (an adjacency over it cannot be kept), and the agent's link state
 * on reconnection brings them back.
 */
import * as grpc from '@grpc/grpc-js';
import { loadProtos, type PbFrameIn, type PbFrameOut } from '../../api/proto.js';
import { parseMac, type Mac } from '../../lib/addr.js';
import type { FramePort, ReceivedFrame } from './frame-port.js';

export interface VrouterFramePortOptions {
  /** the agent, host:port */
  address: string;
  token?: string;
  /** reconnect backoff, ms (default 50 doubling to 1000) */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  log?: (line: string) => void;
}

export interface VrouterFramePortStats {
  connected: boolean;
  received: number;
  sent: number;
  /** frames the agent's data plane refused (its reason is logged) */
  refused: number;
  /** frames for which no listener asked (another protocol, an interface IS-IS does not run on) */
  unclaimed: number;
  reconnects: number;
}

type FramesStream = grpc.ClientDuplexStream<PbFrameOut, PbFrameIn>;

/** LLC DSAP/SSAP of OSI network-layer PDUs (ISO 8802-2): IS-IS */
const LLC_OSI = 0xfe;

export class VrouterFramePort implements FramePort {
  private client: grpc.Client | undefined;
  private call: FramesStream | undefined;
  private started = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private backoff: number;
  /** interfaces attached in the data plane, with the router's MAC on each */
  private readonly links = new Map<string, Mac>();
  private readonly listeners = new Map<string, Set<(f: ReceivedFrame) => void>>();
  private readonly linkHandlers = new Set<(ifname: string, up: boolean) => void>();
  private lastRefusalLog = 0;
  readonly stats: VrouterFramePortStats = { connected: false, received: 0, sent: 0, refused: 0, unclaimed: 0, reconnects: 0 };

  constructor(private readonly opts: VrouterFramePortOptions) {
    this.backoff = opts.backoffMinMs ?? 50;
  }

  /** Open the stream now (otherwise the first use does). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    const { agent } = loadProtos();
    this.client = new agent(this.opts.address, grpc.credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': this.opts.backoffMinMs ?? 50,
      'grpc.max_reconnect_backoff_ms': this.opts.backoffMaxMs ?? 1000,
    });
    this.connect();
  }

  listen(ifname: string, proto: 'osi', onFrame: (f: ReceivedFrame) => void): () => void {
    if (proto !== 'osi') throw new Error(`frame port: protocol '${String(proto)}' is not carried (only osi)`);
    this.start();
    let set = this.listeners.get(ifname);
    if (!set) this.listeners.set(ifname, (set = new Set()));
    set.add(onFrame);
    return () => {
      set.delete(onFrame);
      if (set.size === 0 && this.listeners.get(ifname) === set) this.listeners.delete(ifname);
    };
  }

  send(ifname: string, frame: Uint8Array): boolean {
    this.start();
    const call = this.call;
    if (!call || !this.links.has(ifname) || frame.length < 14) return false;
    call.write({ interface: ifname, frame });
    this.stats.sent++;
    return true;
  }

  macOf(ifname: string): Mac | undefined {
    this.start();
    return this.links.get(ifname);
  }

  onLinkChange(handler: (ifname: string, up: boolean) => void): () => void {
    this.start();
    this.linkHandlers.add(handler);
    return () => this.linkHandlers.delete(handler);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.drop(this.call);
    this.client?.close();
    this.client = undefined;
    this.linksDown();
  }

  // ---- internals

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private connect(): void {
    if (this.closed || !this.client) return;
    const md = new grpc.Metadata();
    if (this.opts.token) md.set('authorization', `Bearer ${this.opts.token}`);
    md.setOptions({ waitForReady: true });
    const method = loadProtos().agent.service['Frames']!;
    const call = this.client.makeBidiStreamRequest(
      method.path,
      method.requestSerialize as (m: PbFrameOut) => Buffer,
      method.responseDeserialize as (b: Buffer) => PbFrameIn,
      md,
    );
    this.call = call;
    call.on('data', (m: PbFrameIn) => {
      if (this.call !== call) return;
      if (!this.stats.connected) {
        this.stats.connected = true;
        this.backoff = this.opts.backoffMinMs ?? 50;
      }
      this.onMessage(m);
    });
    const broken = (why: string) => {
      if (this.call !== call) return;
      this.drop(call);
      this.call = undefined;
      this.stats.connected = false;
      this.linksDown();
      if (this.closed) return;
      this.stats.reconnects++;
      this.log(`frame port: stream to ${this.opts.address} lost (${why}); reconnecting`);
      this.timer = setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, this.opts.backoffMaxMs ?? 1000);
    };
    call.on('error', (e: grpc.ServiceError) => broken(e.details || e.message));
    call.on('end', () => broken('agent closed the stream'));
  }

  private drop(call: FramesStream | undefined): void {
    if (!call) return;
    call.removeAllListeners();
    call.on('error', () => {});
    call.cancel();
  }

  private onMessage(m: PbFrameIn): void {
    if (m.received) {
      const { interface: ifname, frame } = m.received;
      this.stats.received++;
      // the data plane punts only OSI frames today; checked here too, since listen() promises them
      const set = this.listeners.get(ifname);
      if (!set || frame.length < 17 || frame[14] !== LLC_OSI || frame[15] !== LLC_OSI) {
        this.stats.unclaimed++;
        return;
      }
      const f: ReceivedFrame = { ifname, frame: new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength) };
      for (const h of [...set]) h(f);
    } else if (m.link) {
      const { interface: ifname, up, mac } = m.link;
      const had = this.links.has(ifname);
      if (up) {
        let parsed: Mac | undefined;
        try {
          parsed = parseMac(mac);
        } catch {
          this.log(`frame port: agent sent interface ${ifname} with an unreadable MAC '${mac}'`);
          return;
        }
        this.links.set(ifname, parsed);
        if (!had) this.emitLink(ifname, true);
      } else if (had) {
        this.links.delete(ifname);
        this.emitLink(ifname, false);
      }
    } else if (m.refused) {
      this.stats.refused++;
      const now = Date.now();
      if (now - this.lastRefusalLog > 10_000) {
        this.lastRefusalLog = now;
        this.log(`frame port: agent refused ${m.refused.object}: ${m.refused.reason}`);
      }
    }
  }

  private linksDown(): void {
    const names = [...this.links.keys()];
    this.links.clear();
    for (const n of names) this.emitLink(n, false);
  }

  private emitLink(ifname: string, up: boolean): void {
    for (const h of [...this.linkHandlers]) {
      try {
        h(ifname, up);
      } catch (e) {
        this.log(`frame port: link handler failed: ${(e as Error).message}`);
      }
    }
  }
}
