/**
 * The BGP half of scenario tests: it plays the neighbours of one cnr BGP speaker and turns
 * scenario events into what a neighbour or the rest of the router would do — open a TCP
 * connection and exchange OPENs, send an UPDATE (described in JSON, or as raw bytes for
 * malformed ones), send a NOTIFICATION, vanish, let time pass, change a route in the RIB,
 * commit a new configuration. What it drives is cnr's real code: BgpSpeaker (configuration
 * apply), Neighbor (FSM, OPEN checks, framing through Connection), BgpInstance (RFC 7606
 * checks in context, best path, graceful restart, export) and the real RIB. The one thing
 * simulated is the TCP socket (an in-memory stand-in handed to Neighbor.incoming, as the
 * speaker's listener would) and the clock (node:test mock timers, driven by `time-passes`).
 * After each step it reports plain JSON: what cnr sent to each peer (decoded), its log, the
 * neighbours' state, each Adj-RIB-In with best/stale/hidden marks, and the BGP routes in
 * the RIB with the step of best-path selection that chose them.
 * Event and output formats: test/scenarios/README.md.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { formatIpv4, parseIpv4 } from '../../src/lib/addr.js';
import {
  DEFAULT_OPTIONS,
  MessageType,
  SegmentType,
  decodeMessage,
  describeNotification,
  encodeEndOfRib,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeUpdate,
  formatAsPath,
  formatCommunity,
  formatExtCommunity,
  formatLargeCommunity,
  frameMessage,
  openAs,
  parseCommunity,
  writeHeader,
  type AsPathSegment,
  type Capabilities,
  type MessageTypeCode,
  type Open,
  type PathAttributes,
  type SessionOptions,
} from '../../src/wire/bgp/index.js';
import { Rib } from '../../src/controller/rib/rib.js';
import { DEFAULT_PREFERENCE, type RibRoute, type RouteProtocol } from '../../src/controller/rib/types.js';
import { BgpSpeaker } from '../../src/controller/protocols/bgp/speaker.js';
import { resolveAll } from '../../src/controller/protocols/bgp/config.js';
import type { Neighbor } from '../../src/controller/protocols/bgp/neighbor.js';
import type { BgpInstance } from '../../src/controller/protocols/bgp/instance.js';
import type { ConfigTree } from '../../src/controller/types.js';
import type { ScenarioEvent } from './runner.js';

/** The mocked clock (node:test `mock.timers`): setTimeout and Date move only when told. */
export interface Clock {
  tick(ms: number): void;
}

const FAMILIES: Record<string, { afi: number; safi: number }> = {
  'inet-unicast': { afi: 1, safi: 1 },
  'inet6-unicast': { afi: 2, safi: 1 },
  'inet-labeled-unicast': { afi: 1, safi: 4 },
  'inet-vpn': { afi: 1, safi: 128 },
  'inet6-vpn': { afi: 2, safi: 128 },
};

function familyName(afi: number, safi: number): string {
  for (const [n, f] of Object.entries(FAMILIES)) if (f.afi === afi && f.safi === safi) return n;
  return `afi ${afi} safi ${safi}`;
}

function family(name: unknown, where: string): { afi: number; safi: number } {
  const f = FAMILIES[String(name)];
  if (!f) throw new Error(`${where}: unknown family ${JSON.stringify(name)} (one of ${Object.keys(FAMILIES).join(', ')})`);
  return f;
}

const ORIGINS = ['IGP', 'EGP', 'Incomplete'];
const CLOSED = 'TCP connection closed by cnr';
const CLOSED_OLD = 'previous TCP connection closed by cnr';

/** Refuse fields an event does not know: a typo must not pass silently as "nothing happened". */
function only(e: ScenarioEvent, allowed: string[]): void {
  for (const k of Object.keys(e)) if (k !== 'event' && k !== 'comment' && !allowed.includes(k)) throw new Error(`event ${e.event}: unknown field "${k}" (known: ${allowed.join(', ')}, comment)`);
}

function str(e: ScenarioEvent, k: string): string {
  const v = e[k];
  if (typeof v !== 'string') throw new Error(`event ${e.event}: "${k}" must be a string`);
  return v;
}

/** Hex with spaces, and a `#` comment to the end of the string. */
function hexBytes(s: string): Buffer {
  const hex = s.replace(/#.*$/, '').replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`not hex bytes: ${JSON.stringify(s)}`);
  return Buffer.from(hex, 'hex');
}

function hexList(v: unknown, what: string): Buffer {
  if (v === undefined) return Buffer.alloc(0);
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list)) throw new Error(`update-raw: "${what}" is a hex string or a list of them`);
  return Buffer.concat(list.map((x) => hexBytes(String(x))));
}

/**
 * The TCP connection a simulated peer opened to cnr, as cnr's Connection sees a net.Socket:
 * what cnr writes is kept for the peer to read; what the peer sends arrives as 'data'.
 */
class PeerSocket extends EventEmitter {
  readonly remoteFamily = 'IPv4';
  readonly localPort = 179;
  /** what cnr wrote, in order; CLOSED where cnr ended the connection */
  readonly fromCnr: (Buffer | typeof CLOSED)[] = [];
  closed = false;
  constructor(
    readonly localAddress: string,
    readonly remoteAddress: string,
    readonly remotePort: number,
  ) {
    super();
  }
  setNoDelay(): this {
    return this;
  }
  write(b: Uint8Array): boolean {
    if (!this.closed) this.fromCnr.push(Buffer.from(b));
    return true;
  }
  end(): this {
    if (this.closed) return this;
    this.closed = true;
    this.fromCnr.push(CLOSED);
    queueMicrotask(() => this.emit('close'));
    return this;
  }
  destroy(): this {
    return this.end();
  }
  /** the peer sends bytes */
  send(b: Uint8Array): void {
    if (!this.closed) this.emit('data', Buffer.from(b));
  }
  /** the peer closes (or loses) the connection */
  drop(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}

/** One simulated neighbour: its side of the connection and what it announced. */
class SimPeer {
  sock: PeerSocket | undefined;
  /** bytes from cnr not yet framed */
  private pending: Buffer = Buffer.alloc(0);
  private read = 0;
  /** messages cnr sent this step, decoded */
  sent: unknown[] = [];
  cnrOpen: Open | undefined;
  open: Open | undefined;
  /** seconds between the KEEPALIVEs this peer sends (a third of the negotiated hold time) */
  keepaliveEvery = 0;
  lastKeepalive = 0;
  /** connections the peer left behind when it restarted (session-up while connected) */
  retired: PeerSocket[] = [];
  constructor(readonly address: string) {}

  /** The peer restarted: it forgets its connection without closing it. */
  retire(): void {
    if (this.sock && !this.sock.closed) this.retired.push(this.sock);
    this.forget();
  }

  get options(): SessionOptions {
    const a = this.cnrOpen?.capabilities;
    const b = this.open?.capabilities;
    if (!a || !b) return DEFAULT_OPTIONS;
    return { as4: a.as4 !== undefined && b.as4 !== undefined, addPathRx: new Set(), addPathTx: new Set(), extendedMessage: a.extendedMessage && b.extendedMessage };
  }

  /** Read what cnr wrote since last time. */
  drain(): void {
    // a restarted peer no longer reads its old connection: only its closing is reported
    this.retired = this.retired.filter((r) => {
      if (r.closed) this.sent.push(CLOSED_OLD);
      return !r.closed;
    });
    const s = this.sock;
    if (!s) return;
    while (this.read < s.fromCnr.length) {
      const item = s.fromCnr[this.read++]!;
      if (item === CLOSED) {
        this.sent.push(CLOSED);
        continue;
      }
      this.pending = this.pending.length ? Buffer.concat([this.pending, item]) : item;
      for (;;) {
        const f = frameMessage(this.pending, 65535);
        if (f.kind === 'need') break;
        if (f.kind === 'error') throw new Error(`cnr sent a message its peer cannot frame: ${f.reason}`);
        this.onMessage(f.type, f.body);
        this.pending = this.pending.subarray(f.length);
      }
    }
    if (s.closed) this.forget();
  }

  forget(): void {
    this.sock = undefined;
    this.pending = Buffer.alloc(0);
    this.read = 0;
    this.cnrOpen = undefined;
    this.keepaliveEvery = 0;
  }

  private onMessage(type: MessageTypeCode, body: Uint8Array): void {
    const d = decodeMessage(type, body, this.options);
    if ('kind' in d) throw new Error(`cnr sent a message its peer cannot decode: ${d.reason}`);
    switch (d.type) {
      case 'open':
        this.cnrOpen = d.open;
        this.sent.push(describeOpen(d.open));
        return;
      case 'keepalive': {
        const last = this.sent[this.sent.length - 1] as { type?: string; count?: number } | undefined;
        if (last?.type === 'KEEPALIVE') last.count = (last.count ?? 1) + 1;
        else this.sent.push({ type: 'KEEPALIVE' });
        return;
      }
      case 'notification': {
        const n = d.notification;
        const m: Record<string, unknown> = { type: 'NOTIFICATION', code: n.code, subcode: n.subcode, error: describeNotification(n) };
        if (n.data.length) m.data = Buffer.from(n.data).toString('hex');
        this.sent.push(m);
        return;
      }
      case 'route-refresh':
        this.sent.push({ type: 'ROUTE-REFRESH', family: familyName(d.refresh.afi, d.refresh.safi), subtype: d.refresh.subtype });
        return;
      case 'update': {
        const u = d.decoded;
        if (u.endOfRib) {
          this.sent.push({ type: 'UPDATE', 'end-of-rib': familyName(u.endOfRib.afi, u.endOfRib.safi) });
          return;
        }
        const m: Record<string, unknown> = { type: 'UPDATE' };
        const x = u.update;
        if (x.withdrawn.length) m.withdrawn = x.withdrawn;
        if (x.mpUnreach) m['mp-unreach'] = { family: familyName(x.mpUnreach.afi, x.mpUnreach.safi), withdrawn: x.mpUnreach.prefixes };
        if (x.nlri.length || x.mpReach) m.attributes = describeAttributes(x.attrs);
        if (x.mpReach) m['mp-reach'] = { family: familyName(x.mpReach.afi, x.mpReach.safi), 'next-hop': x.mpReach.nextHop, nlri: x.mpReach.prefixes };
        if (x.nlri.length) m.nlri = x.nlri;
        if (u.problems.length) m.problems = u.problems;
        this.sent.push(m);
        return;
      }
    }
  }
}

function describeOpen(o: Open): Record<string, unknown> {
  const c = o.capabilities;
  const caps: Record<string, unknown> = {
    families: c.multiprotocol.map((f) => familyName(f.afi, f.safi)),
    'route-refresh': c.routeRefresh,
    'enhanced-route-refresh': c.enhancedRouteRefresh,
    '4-byte-as': c.as4 !== undefined,
    'extended-message': c.extendedMessage,
  };
  if (c.gracefulRestart) {
    const g = c.gracefulRestart;
    caps['graceful-restart'] = { restarting: g.restarting, 'restart-time': g.time, families: g.families.map((f) => `${familyName(f.afi, f.safi)}${f.forwardingPreserved ? ' forwarding-preserved' : ''}`) };
  }
  if (c.addPath.length) caps['add-path'] = c.addPath.map((f) => `${familyName(f.afi, f.safi)} ${f.mode === 1 ? 'receive' : f.mode === 2 ? 'send' : 'send-receive'}`);
  // the FQDN capability carries the host name of the machine running the test: left out
  return { type: 'OPEN', as: openAs(o), 'hold-time': o.holdTime, 'router-id': formatIpv4(o.bgpId), capabilities: caps };
}

/** Path attributes as a reviewer reads them (the names of RFC 4271 and its updates). */
export function describeAttributes(a: PathAttributes): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (a.origin !== undefined) out.origin = ORIGINS[a.origin] ?? a.origin;
  if (a.asPath !== undefined) out['as-path'] = formatAsPath(a.asPath);
  if (a.nextHop !== undefined) out['next-hop'] = a.nextHop;
  if (a.med !== undefined) out.med = a.med;
  if (a.localPref !== undefined) out['local-pref'] = a.localPref;
  if (a.atomicAggregate) out['atomic-aggregate'] = true;
  if (a.aggregator) out.aggregator = `${a.aggregator.asn} ${a.aggregator.address}`;
  if (a.communities?.length) out.communities = a.communities.map(formatCommunity);
  const e = a.extCommunities;
  if (e?.length) out['ext-communities'] = Array.from({ length: e.length / 8 }, (_, i) => formatExtCommunity(e, i * 8));
  const l = a.largeCommunities;
  if (l?.length) out['large-communities'] = Array.from({ length: l.length / 3 }, (_, i) => formatLargeCommunity(l, i * 3));
  if (a.originatorId !== undefined) out['originator-id'] = a.originatorId;
  if (a.clusterList !== undefined) out['cluster-list'] = a.clusterList;
  if (a.unknown?.length) out.unknown = a.unknown.map((u) => `type ${u.type} flags 0x${u.flags.toString(16)} value ${Buffer.from(u.value).toString('hex')}`);
  return out;
}

/** Attributes of an `update` event, in the JSON form describeAttributes prints (plus AS paths as lists). */
function parseAttributes(v: unknown): PathAttributes {
  if (v === undefined) return {};
  if (!v || typeof v !== 'object') throw new Error('update: "attributes" must be an object');
  const a: PathAttributes = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    switch (k) {
      case 'origin': {
        const i = ORIGINS.findIndex((o) => o.toLowerCase() === String(x).toLowerCase());
        if (i < 0) throw new Error(`update: origin ${JSON.stringify(x)} is not IGP, EGP or Incomplete (send a bad one with update-raw)`);
        a.origin = i;
        break;
      }
      case 'as-path': {
        // [65002, 65010] is one AS_SEQUENCE; a nested list is an AS_SET: [65002, [65010, 65011]]
        if (!Array.isArray(x)) throw new Error('update: "as-path" is a list of AS numbers (a nested list is an AS_SET)');
        const segs: AsPathSegment[] = [];
        for (const item of x) {
          if (Array.isArray(item)) segs.push({ type: SegmentType.AsSet, asns: item.map(Number) });
          else {
            const last = segs[segs.length - 1];
            if (last?.type === SegmentType.AsSequence) (last.asns as number[]).push(Number(item));
            else segs.push({ type: SegmentType.AsSequence, asns: [Number(item)] });
          }
        }
        a.asPath = segs;
        break;
      }
      case 'next-hop':
        a.nextHop = String(x);
        break;
      case 'med':
        a.med = Number(x);
        break;
      case 'local-pref':
        a.localPref = Number(x);
        break;
      case 'atomic-aggregate':
        a.atomicAggregate = x === true;
        break;
      case 'aggregator': {
        const [asn, address] = String(x).split(' ');
        a.aggregator = { asn: Number(asn), address: address! };
        break;
      }
      case 'communities':
        a.communities = (x as string[]).map((c) => {
          const n = parseCommunity(c);
          if (n === undefined) throw new Error(`update: bad community ${JSON.stringify(c)}`);
          return n;
        });
        break;
      case 'originator-id':
        a.originatorId = String(x);
        break;
      case 'cluster-list':
        a.clusterList = (x as unknown[]).map(String);
        break;
      default:
        throw new Error(`update: unknown attribute "${k}" (send it with update-raw)`);
    }
  }
  return a;
}

/** An UPDATE from its parts: withdrawn routes, path attributes and NLRI as raw bytes. */
function rawUpdate(withdrawn: Buffer, attrs: Buffer, nlri: Buffer): Uint8Array {
  const len = 19 + 2 + withdrawn.length + 2 + attrs.length + nlri.length;
  const out = Buffer.alloc(len);
  writeHeader(out, 0, len, MessageType.Update);
  let o = 19;
  out.writeUInt16BE(withdrawn.length, o);
  withdrawn.copy(out, (o += 2));
  o += withdrawn.length;
  out.writeUInt16BE(attrs.length, o);
  attrs.copy(out, (o += 2));
  nlri.copy(out, o + attrs.length);
  return out;
}

function capabilities(v: unknown, as: number): Capabilities {
  const c = (v ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(c)) {
    if (!['families', 'route-refresh', 'enhanced-route-refresh', '4-byte-as', 'graceful-restart', 'extended-message'].includes(k)) throw new Error(`session-up: unknown capability "${k}"`);
  }
  const fams = ((c.families as string[] | undefined) ?? ['inet-unicast']).map((f) => family(f, 'session-up'));
  const grIn = c['graceful-restart'] as Record<string, unknown> | undefined;
  const gr = grIn
    ? {
        restarting: grIn.restarting === true,
        notification: false,
        time: Number(grIn['restart-time'] ?? 120),
        families: ((grIn.families as string[] | undefined) ?? ['inet-unicast']).map((f) => ({ ...family(f, 'graceful-restart'), forwardingPreserved: grIn['forwarding-preserved'] !== false })),
      }
    : undefined;
  return {
    multiprotocol: fams,
    routeRefresh: c['route-refresh'] !== false,
    enhancedRouteRefresh: c['enhanced-route-refresh'] === true,
    as4: c['4-byte-as'] === false ? undefined : as,
    gracefulRestart: gr,
    addPath: [],
    extendedMessage: c['extended-message'] === true,
    unknown: [],
  };
}

export class BgpScenario {
  readonly rib = new Rib();
  readonly speaker: BgpSpeaker;
  private config: ConfigTree = {};
  private readonly peers = new Map<string, SimPeer>();
  private log: string[] = [];
  private configErrors: string[] = [];
  private nextPort = 50000;

  constructor(
    private readonly dir: string,
    private readonly clock: Clock,
  ) {
    // no listener: the simulated peers' connections are handed to the neighbours directly
    this.speaker = new BgpSpeaker(this.rib, { log: (m) => this.log.push(m), port: false });
  }

  /** Commit the scenario's configuration (it must be accepted). */
  async start(config: ConfigTree): Promise<void> {
    const errors = this.speaker.validate(config);
    if (errors.length) throw new Error(`config.json refused: ${errors.join('; ')}`);
    this.requirePassive(config);
    await this.speaker.apply(config, {});
    this.config = config;
    await this.settle();
  }

  /**
   * Every neighbour must be passive: the simulated peer opens the connection (an active
   * neighbour would open a real TCP connection to the peer's address).
   */
  private requirePassive(config: ConfigTree): void {
    for (const inst of resolveAll(config)) for (const p of inst.peers.values()) if (!p.passive) throw new Error(`neighbor ${p.address}: scenarios need "passive": true (the simulated peer connects to cnr)`);
  }

  async stop(): Promise<void> {
    await this.speaker.stop();
  }

  private instances(): BgpInstance[] {
    return [...this.speaker.instances.values()];
  }

  private neighbor(address: string): { inst: BgpInstance; nb: Neighbor } {
    for (const inst of this.instances()) {
      const nb = inst.neighbors.get(address);
      if (nb) return { inst, nb };
    }
    throw new Error(`no configured BGP neighbor ${address}`);
  }

  private peer(address: string): SimPeer {
    this.neighbor(address);
    let p = this.peers.get(address);
    if (!p) this.peers.set(address, (p = new SimPeer(address)));
    return p;
  }

  /** Let queued work run (flushes, restarts) and timers due now fire; read what cnr sent. */
  private async settle(): Promise<void> {
    for (let i = 0; i < 4; i++) {
      this.clock.tick(0);
      await new Promise<void>((r) => setImmediate(r));
    }
    for (const p of this.peers.values()) p.drain();
  }

  /** The peer sends one message; what cnr does about it happens before this returns. */
  private async send(p: SimPeer, msg: Uint8Array): Promise<void> {
    if (!p.sock || p.sock.closed) throw new Error(`peer ${p.address} has no connection to send on (a session-up event first)`);
    p.sock.send(msg);
    await this.settle();
  }

  async run(e: ScenarioEvent): Promise<void> {
    switch (e.event) {
      case 'session-up':
        return this.sessionUp(e);
      case 'update': {
        only(e, ['peer', 'withdrawn', 'attributes', 'nlri']);
        const p = this.peer(str(e, 'peer'));
        const u = { withdrawn: (e.withdrawn as string[] | undefined) ?? [], attrs: parseAttributes(e.attributes), nlri: (e.nlri as string[] | undefined) ?? [] };
        return this.send(p, encodeUpdate(u, p.options));
      }
      case 'update-raw': {
        only(e, ['peer', 'withdrawn', 'attributes', 'nlri']);
        const p = this.peer(str(e, 'peer'));
        return this.send(p, rawUpdate(hexList(e.withdrawn, 'withdrawn'), hexList(e.attributes, 'attributes'), hexList(e.nlri, 'nlri')));
      }
      case 'end-of-rib': {
        only(e, ['peer', 'family']);
        const p = this.peer(str(e, 'peer'));
        const f = family(e.family ?? 'inet-unicast', 'end-of-rib');
        return this.send(p, encodeEndOfRib(f.afi, f.safi));
      }
      case 'notification': {
        only(e, ['peer', 'code', 'subcode']);
        const p = this.peer(str(e, 'peer'));
        await this.send(p, encodeNotification({ code: Number(e.code), subcode: Number(e.subcode), data: new Uint8Array(0) }));
        // the sender of a NOTIFICATION closes the connection (RFC 4271 section 6)
        p.sock?.drop();
        await this.settle();
        p.forget();
        return;
      }
      case 'connection-lost': {
        only(e, ['peer']);
        const p = this.peer(str(e, 'peer'));
        p.sock?.drop();
        await this.settle();
        p.forget();
        return;
      }
      case 'time-passes':
        return this.timePasses(e);
      case 'rib-add': {
        only(e, ['table', 'route']);
        const r = e.route as RibRoute;
        const protocol = r.protocol as RouteProtocol;
        this.rib.announce(String(e.table ?? 'inet.0'), protocol, { ...r, preference: r.preference ?? DEFAULT_PREFERENCE[protocol] });
        return this.settle();
      }
      case 'rib-remove': {
        only(e, ['table', 'protocol', 'prefix']);
        this.rib.withdraw(String(e.table ?? 'inet.0'), str(e, 'protocol'), str(e, 'prefix'));
        return this.settle();
      }
      case 'interfaces-up': {
        only(e, ['interfaces']);
        this.rib.setInterfaces(e.interfaces as string[]);
        return this.settle();
      }
      case 'config': {
        only(e, ['file']);
        const next = JSON.parse(readFileSync(join(this.dir, str(e, 'file')), 'utf8')) as ConfigTree;
        const errors = this.speaker.validate(next);
        if (errors.length) {
          this.configErrors.push(...errors); // refused, as a commit would be: nothing changes
          return;
        }
        this.requirePassive(next);
        await this.speaker.apply(next, this.config);
        this.config = next;
        return this.settle();
      }
      default:
        throw new Error(`unknown event "${e.event}"`);
    }
  }

  /**
   * The peer connects, sends its OPEN, and confirms cnr's OPEN with a KEEPALIVE. While it
   * still has a connection it is a peer that restarted and left the old one open.
   */
  private async sessionUp(e: ScenarioEvent): Promise<void> {
    only(e, ['peer', 'as', 'router-id', 'hold-time', 'capabilities', 'local-address']);
    const address = str(e, 'peer');
    const { nb } = this.neighbor(address);
    const p = this.peer(address);
    // still connected: the peer restarted without its old connection being closed (RFC 4724 section 4.2)
    p.retire();
    const as = Number(e.as ?? nb.cfg.peerAs);
    const hold = Number(e['hold-time'] ?? 90);
    p.open = { version: 4, myAs: as > 0xffff ? 23456 : as, holdTime: hold, bgpId: parseIpv4(String(e['router-id'] ?? address)), capabilities: capabilities(e.capabilities, as) };
    p.sock = new PeerSocket(String(e['local-address'] ?? nb.cfg.localAddress ?? this.neighbor(address).inst.cfg.routerId), address, this.nextPort++);
    nb.incoming(p.sock as unknown as Socket);
    await this.settle();
    if (!p.sock || p.sock.closed) return; // refused (e.g. still in Idle): the output shows the close
    await this.send(p, encodeOpen(p.open));
    if (!p.sock || !p.cnrOpen) return;
    const negotiated = Math.min(hold, p.cnrOpen.holdTime);
    p.keepaliveEvery = Math.floor(negotiated / 3);
    p.lastKeepalive = Date.now();
    await this.send(p, encodeKeepalive());
  }

  /**
   * Time passes one second at a time; connected peers keep sending KEEPALIVEs every third
   * of the hold time, except those named in `silent` (to let cnr's hold timer expire).
   */
  private async timePasses(e: ScenarioEvent): Promise<void> {
    only(e, ['seconds', 'silent']);
    const silent = new Set((e.silent as string[] | undefined) ?? []);
    const seconds = Number(e.seconds);
    if (!Number.isInteger(seconds) || seconds < 0) throw new Error('time-passes: "seconds" is a whole number');
    for (let s = 0; s < seconds; s++) {
      this.clock.tick(1000);
      await this.settle();
      // at the end of each second, the peers whose keepalive interval has passed send one
      for (const p of this.peers.values()) {
        if (!p.sock || p.sock.closed || silent.has(p.address) || !p.keepaliveEvery) continue;
        if (Date.now() - p.lastKeepalive >= p.keepaliveEvery * 1000) {
          p.lastKeepalive = Date.now();
          p.sock.send(encodeKeepalive());
        }
      }
      await this.settle();
    }
  }

  /** The state after a step, as plain JSON; starts the next step's message and log capture. */
  snapshot(): Record<string, unknown> {
    for (const p of this.peers.values()) p.drain();
    const sent: Record<string, unknown> = {};
    for (const p of [...this.peers.values()].sort((a, b) => order(a.address, b.address))) {
      if (p.sent.length) sent[p.address] = p.sent;
      p.sent = [];
    }
    const out: Record<string, unknown> = { sent };
    if (this.configErrors.length) out['config-errors'] = this.configErrors;
    out.log = this.log;
    this.log = [];
    this.configErrors = [];
    out.neighbors = this.neighborsState();
    out['adj-rib-in'] = this.adjRibIn();
    out.routes = this.routes();
    return out;
  }

  private allNeighbors(): { inst: BgpInstance; nb: Neighbor }[] {
    const l = this.instances().flatMap((inst) => [...inst.neighbors.values()].map((nb) => ({ inst, nb })));
    return l.sort((a, b) => order(a.nb.cfg.address, b.nb.cfg.address));
  }

  private neighborsState(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const { inst, nb } of this.allNeighbors()) {
      const tables: Record<string, unknown> = {};
      for (const c of inst.peerCounts(nb)) tables[c.table] = { received: c.received, accepted: c.accepted, active: c.active, advertised: c.advertised };
      out[nb.cfg.address] = { state: nb.state, flaps: nb.stats.flaps, 'last-error': nb.stats.lastError, tables };
    }
    return out;
  }

  /** Each neighbour's paths per table and prefix: attributes as received, and best / stale / hidden marks. */
  private adjRibIn(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const { inst, nb } of this.allNeighbors()) {
      const tables: Record<string, unknown> = {};
      for (const table of inst.tables) {
        const paths = inst.adjRibIn(nb, table).sort((a, b) => order(a.prefix, b.prefix));
        if (!paths.length) continue;
        const t: Record<string, unknown> = {};
        const lt = inst.locTable(table);
        for (const { prefix, key, path } of paths) {
          const row: Record<string, unknown> = describeAttributes(path.inAttrs);
          if (path.attrs !== path.inAttrs) row['after-import'] = describeAttributes(path.attrs);
          if (lt?.get(key)?.best === path) row.best = true;
          if (path.stale) row.stale = true;
          if (path.hidden !== undefined) row.hidden = path.hidden;
          else if (!path.resolvable) row.hidden = 'next hop unresolvable';
          t[prefix] = row;
        }
        tables[table] = t;
      }
      if (Object.keys(tables).length) out[nb.cfg.address] = tables;
    }
    return out;
  }

  /** BGP's routes in the RIB: next hops, the fields `show route extensive` prints (with "Selected by"), and whether the RIB made them active. */
  private routes(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const table of this.rib.tableNames()) {
      const t: Record<string, unknown> = {};
      for (const e of this.rib.show(table).sort((a, b) => order(a.prefix, b.prefix))) {
        const c = e.candidates.find((x) => x.source === 'bgp');
        if (!c) continue;
        const row: Record<string, unknown> = { active: c.active, 'next-hops': c.route.nexthops.map((n) => n.gateway ?? n.interface) };
        if (!c.active) row['active-route'] = e.candidates.find((x) => x.active)?.source ?? 'none';
        if (c.route.preference !== DEFAULT_PREFERENCE.bgp) row.preference = c.route.preference;
        Object.assign(row, c.route.attributes);
        t[e.prefix] = row;
      }
      if (Object.keys(t).length) out[table] = t;
    }
    return out;
  }
}

/** Addresses and prefixes in numeric order (10.0.0.10 after 10.0.0.9). */
function order(a: string, b: string): number {
  const key = (s: string) =>
    s
      .split(/[./:]/)
      .map((x) => x.padStart(5, '0'))
      .join('.');
  const x = key(a);
  const y = key(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
