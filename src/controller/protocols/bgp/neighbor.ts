/**
 * A BGP neighbor: one peer's session. It drives the FSM (fsm.ts) with events from its
 * connection(s) and timers, carries out the FSM's actions, validates the peer's OPEN and
 * negotiates capabilities into SessionOptions, and tracks a second connection from the peer
 * until collision.ts decides it (RFC 4271 section 6.8, RFC 4724 4.2): only a valid OPEN on
 * it may replace the session's connection. Its own connections leave from an explicit
 * source address (source-address.ts). Routes are not its business: a valid UPDATE or ROUTE-REFRESH in
 * Established goes to its owner, the instance, which also hears when the session comes up
 * and goes down.
 */
import * as net from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { parseIpv4 } from '../../../lib/addr.js';
import {
  AS_TRANS,
  CeaseSubcode,
  DEFAULT_OPTIONS,
  ErrorCode,
  MessageType,
  OpenSubcode,
  AttrMemo,
  decodeMessage,
  decodeUpdate,
  describeNotification,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  familyKey,
  maxMessageLength,
  openAs,
  type Capabilities,
  type DecodedUpdate,
  type NotifyError,
  type Open,
  type RouteRefresh,
  type SessionOptions,
  type MessageTypeCode,
} from '../../../wire/bgp/index.js';
import { Connection } from './connection.js';
import { LARGE_HOLD_TIME, initialSnapshot, step, type Action, type Event, type FsmSnapshot, type State, type Timer, type Transition } from './fsm.js';
import { checkPeerOpen, decideSecond, type SecondEvent, type SessionState } from './collision.js';
import { addressKey } from './best-path.js';
import type { FamilyConfig, PeerConfig } from './config.js';
import { md5Socket, setTtl } from './socket-options.js';
import type { ReceiveFacts } from './events.js';

export interface NeighborOwner {
  readonly routerId: string;
  /** we restarted and defer routing (RFC 4724 restarting speaker) */
  readonly restarting: boolean;
  /** ... and the data plane kept forwarding through the restart (the F bits) */
  readonly forwardingPreserved: boolean;
  log(msg: string): void;
  sessionUp(nb: Neighbor): void;
  /** `notification`: the session ended with a NOTIFICATION (sent or received), which ends graceful restart */
  sessionDown(nb: Neighbor, notification: boolean): void;
  update(nb: Neighbor, d: DecodedUpdate): void;
  routeRefresh(nb: Neighbor, r: RouteRefresh): void;
}

export interface TransportOptions {
  /** TCP port of a peer (179; tests use their own) */
  peerPort(address: string): number;
  connectRetryTime: number;
  idleHoldTime: number;
  /** the router's address toward a peer without `local-address` (undefined: the kernel's choice) */
  sourceAddress?(peer: string): string | undefined;
}

export interface NeighborStats {
  inMessages: number;
  outMessages: number;
  inUpdates: number;
  outUpdates: number;
  inRefreshes: number;
  outRefreshes: number;
  flaps: number;
  /** ms since epoch of the last state change into or out of Established */
  lastChange: number;
  lastError: string;
  lastState: State;
  lastEvent: string;
  lastReceived: number;
  lastSent: number;
  /** second connections from the peer (collision.ts) and how the last one ended */
  secondConnections: number;
  lastSecondConnection: string;
}

/** How long a missing source address is waited for before attempts also try without it. */
const SOURCE_WAIT_MS = 5000;

/** Whether an address is configured on one of this host's interfaces (in this network namespace). */
function hostHasAddress(address: string): boolean {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.address === address) return true;
  return false;
}

/** One step of the jitter RFC 4271 section 10 asks for (0.75 .. 1.0). */
function jitter(seconds: number): number {
  return seconds * (0.75 + Math.random() * 0.25);
}

/** An UPDATE as an FSM event: one object, so that event() knows it (see Neighbor.updateStep). */
const UPDATE_MSG: Event = { name: 'UpdateMsg' };

export class Neighbor {
  fsm: FsmSnapshot;
  conn: Connection | undefined;
  /** a second connection from the peer, tracked until it delivers an OPEN (collision.ts) */
  private second: { conn: Connection; holdTimer: NodeJS.Timeout } | undefined;
  /** waiting for the derived source address, or a route to the peer, to appear on the host (vhost0 is being set up) */
  private sourceWait: NodeJS.Timeout | undefined;
  /** since when the derived source address has been missing from the host */
  private sourceMissingSince: number | undefined;
  /** the last attempt let the kernel choose (while the address stays missing, attempts alternate) */
  private triedWithoutSource = false;
  private connecting: net.Socket | undefined;
  private readonly timers = new Map<Timer, { deadline: number; handle: NodeJS.Timeout }>();
  /** negotiated with the peer in OPEN */
  options: SessionOptions = DEFAULT_OPTIONS;
  peerOpen: Open | undefined;
  /** families both sides announced */
  families: FamilyConfig[] = [];
  peerRouterId = 0;
  readonly key: string;
  readonly stats: NeighborStats = {
    inMessages: 0,
    outMessages: 0,
    inUpdates: 0,
    outUpdates: 0,
    inRefreshes: 0,
    outRefreshes: 0,
    flaps: 0,
    lastChange: Date.now(),
    lastError: 'None',
    lastState: 'Idle',
    lastEvent: 'None',
    lastReceived: 0,
    lastSent: 0,
    secondConnections: 0,
    lastSecondConnection: 'None',
  };
  /** what the instance reads of the session per UPDATE, kept by it (events.ts receiveFacts) */
  receiveFacts: ReceiveFacts | undefined = undefined;
  /** the session's last attribute field and its decode (wire/bgp AttrMemo) */
  private readonly attrMemo = new AttrMemo();
  /** the connection slice (Connection.slice) in which a message was last heard, and an UPDATE last restarted the hold timer */
  private heardIn = -1;
  private updateIn = -1;
  /** the last session ended with a NOTIFICATION (graceful restart does not apply) */
  private endedByNotification = false;
  private stopped = false;

  private config: PeerConfig;

  constructor(
    cfg: PeerConfig,
    private readonly owner: NeighborOwner,
    private readonly transport: TransportOptions,
  ) {
    this.config = cfg;
    this.key = addressKey(cfg.address);
    this.fsm = initialSnapshot(this.fsmConfig());
  }

  get cfg(): PeerConfig {
    return this.config;
  }

  /** New settings; the FSM's (passive, hold time) apply from its next start. */
  set cfg(c: PeerConfig) {
    this.config = c;
    this.fsm = { ...this.fsm, config: this.fsmConfig() };
  }

  private fsmConfig() {
    return { passive: this.cfg.passive, holdTime: this.cfg.holdTime, connectRetryTime: this.transport.connectRetryTime, idleHoldTime: this.transport.idleHoldTime };
  }

  get state(): State {
    return this.fsm.state;
  }

  get established(): boolean {
    return this.fsm.state === 'Established';
  }

  get ebgp(): boolean {
    return this.cfg.type === 'external';
  }

  /** Our address on the session (for next-hop self). */
  get localAddress(): string | undefined {
    return this.conn?.localAddress;
  }

  start(): void {
    if (this.cfg.shutdown) return;
    this.stopped = false;
    this.event({ name: this.cfg.passive ? 'ManualStart_with_PassiveTcpEstablishment' : 'ManualStart' });
  }

  /** Stop for good (deconfigured) or for a reset; a Cease subcode says why. */
  stop(subcode: number = CeaseSubcode.AdministrativeShutdown, restart = false): void {
    if (subcode === CeaseSubcode.AdministrativeShutdown && !restart) {
      this.event({ name: 'ManualStop' });
    } else {
      this.event({ name: 'AutomaticStop', subcode });
      if (!restart) this.event({ name: 'ManualStop' });
    }
    if (!restart) {
      this.stopped = true;
      for (const t of [...this.timers.keys()]) this.stopTimer(t);
    } else {
      // come back at once instead of after the idle hold time
      this.stopTimer('IdleHoldTimer');
      setImmediate(() => {
        if (!this.stopped && this.fsm.state === 'Idle') this.event({ name: this.cfg.passive ? 'AutomaticStart_with_PassiveTcpEstablishment' : 'AutomaticStart' });
      });
    }
  }

  /** Reconfigure in place (only settings that do not need a reset). */
  reconfigure(cfg: PeerConfig): void {
    this.cfg = cfg;
  }

  /** the FSM's answer to an UPDATE in the snapshot `updateFrom` (step is a function of the two: one step per snapshot, not per UPDATE) */
  private updateStep: Transition | undefined = undefined;
  private updateFrom: FsmSnapshot | undefined = undefined;

  /** Feed one FSM event and carry out the transition's actions. */
  event(e: Event): void {
    let t: Transition;
    if (e === UPDATE_MSG) {
      if (this.updateFrom !== this.fsm) {
        this.updateStep = step(this.fsm, e);
        this.updateFrom = this.fsm;
      }
      t = this.updateStep!;
    } else t = step(this.fsm, e);
    const before = this.fsm.state;
    this.fsm = t.next;
    this.stats.lastEvent = e.name;
    if (before !== t.next.state) {
      this.stats.lastState = before;
      this.owner.log(`bgp neighbor ${this.cfg.address}: ${t.log}`);
      if (before === 'Established' || t.next.state === 'Established') {
        this.stats.lastChange = Date.now();
        if (before === 'Established') this.stats.flaps++;
      }
    } else if (t.actions.some((a) => a.do === 'connect')) {
      this.owner.log(`bgp neighbor ${this.cfg.address}: ${t.log} (new connection attempt)`); // a retry stays in Connect
    }
    for (const a of t.actions) this.perform(a);
  }

  private perform(a: Action): void {
    switch (a.do) {
      case 'connect':
        this.connect();
        break;
      case 'drop-connection':
        this.dropConnections();
        break;
      case 'send-open':
        // a connection taken over from collision tracking has had our OPEN already
        if (this.conn && !this.conn.openSent) this.sendOpen(this.conn);
        break;
      case 'send-keepalive':
        this.send(encodeKeepalive());
        break;
      case 'send-notification':
        this.endedByNotification = true;
        this.stats.lastError = `sent ${describeNotification({ code: a.code, subcode: a.subcode, data: a.data ?? new Uint8Array(0) })}`;
        this.send(encodeNotification({ code: a.code, subcode: a.subcode, data: a.data ?? new Uint8Array(0) }));
        break;
      case 'start-timer':
        this.startTimer(a.timer, a.timer === 'KeepaliveTimer' || a.timer === 'ConnectRetryTimer' ? jitter(a.seconds) : a.seconds);
        break;
      case 'stop-timer':
        this.stopTimer(a.timer);
        break;
      case 'session-up':
        this.endedByNotification = false;
        this.owner.sessionUp(this);
        break;
      case 'session-down':
        this.owner.sessionDown(this, this.endedByNotification);
        break;
    }
  }

  // ---- timers: a deadline and one pending setTimeout, so restarting is cheap (every UPDATE restarts the hold timer)

  private startTimer(t: Timer, seconds: number): void {
    const deadline = Date.now() + seconds * 1000;
    const cur = this.timers.get(t);
    if (cur && cur.deadline <= deadline) {
      cur.deadline = deadline; // the pending timeout will find the later deadline and wait again
      return;
    }
    if (cur) clearTimeout(cur.handle);
    this.timers.set(t, { deadline, handle: this.arm(t, seconds * 1000) });
  }

  private arm(t: Timer, ms: number): NodeJS.Timeout {
    const h = setTimeout(() => {
      const cur = this.timers.get(t);
      if (!cur || cur.handle !== h) return;
      const left = cur.deadline - Date.now();
      if (left > 5) {
        cur.handle = this.arm(t, left);
        return;
      }
      this.timers.delete(t);
      const name = `${t === 'ConnectRetryTimer' ? 'ConnectRetryTimer' : t}_Expires` as 'ConnectRetryTimer_Expires';
      this.event({ name });
    }, Math.max(0, ms));
    h.unref?.();
    return h;
  }

  private stopTimer(t: Timer): void {
    const cur = this.timers.get(t);
    if (cur) clearTimeout(cur.handle);
    this.timers.delete(t);
  }

  // ---- transport

  /**
   * `local-address`, else the router's address facing the peer (source-address.ts). 'wait':
   * that address is not on the host yet — vhost0 gets its addresses a moment after BGP
   * starts — so the attempt looks again shortly. Missing for long (a host without the
   * router's addresses), every other attempt lets the kernel choose.
   */
  private sourceAddress(): string | undefined | 'wait' {
    if (this.cfg.localAddress) return this.cfg.localAddress;
    const derived = this.transport.sourceAddress?.(this.cfg.address);
    if (derived === undefined || hostHasAddress(derived)) {
      this.sourceMissingSince = undefined;
      return derived;
    }
    this.sourceMissingSince ??= Date.now();
    if (Date.now() - this.sourceMissingSince < SOURCE_WAIT_MS || this.triedWithoutSource) {
      this.triedWithoutSource = false;
      return 'wait';
    }
    this.triedWithoutSource = true;
    this.owner.log(`bgp neighbor ${this.cfg.address}: source address ${derived} is not on this host; this attempt lets the kernel choose`);
    return undefined;
  }

  private connect(): void {
    this.connecting?.destroy();
    this.connecting = undefined;
    const port = this.transport.peerPort(this.cfg.address);
    const source = this.sourceAddress();
    if (source === 'wait') {
      this.connectAgainSoon();
      return;
    }
    let sock: net.Socket | undefined;
    if (this.cfg.authenticationKey) {
      // the key must be on the socket before the SYN: we open the fd ourselves
      sock = md5Socket(this.cfg.address, this.cfg.authenticationKey, source);
      if (!sock) this.owner.log(`bgp neighbor ${this.cfg.address}: TCP MD5 is not available here; connecting without it`);
    }
    const withFd = sock !== undefined;
    sock ??= new net.Socket();
    this.connecting = sock;
    const fail = (why: string) => {
      if (this.connecting !== sock) return;
      this.connecting = undefined;
      sock.destroy();
      this.stats.lastError = `connect: ${why}`;
      this.event({ name: 'TcpConnectionFails' });
    };
    sock.once('error', (err) => {
      // ENETUNREACH: this host has no route to the peer yet - at start the connected route
      // reaches the host kernel a moment after BGP starts (cnr start: vhost-sync) - and no
      // packet left. Not the peer failing: tried again within this attempt, not counted
      // (counted, the ConnectRetryTimer backed off to 2 s and held a restart that long)
      // Only for the first attempts: a peer that stays unroutable is then left to the backoff.
      if ((err as NodeJS.ErrnoException).code === 'ENETUNREACH' && this.connecting === sock && this.fsm.connectRetryCounter < 2) {
        this.connecting = undefined;
        sock.destroy();
        this.stats.lastError = `connect: ${err.message}; trying again`;
        this.connectAgainSoon();
        return;
      }
      fail(source ? `${err.message} (from ${source})` : err.message);
    });
    sock.once('connect', () => {
      if (this.connecting !== sock) {
        sock.destroy();
        return;
      }
      this.connecting = undefined;
      sock.removeAllListeners('error');
      setTtl(sock, this.cfg.multihopTtl ?? (this.ebgp ? 1 : 64));
      this.adopt(new Connection(sock, true));
      this.event({ name: 'Tcp_CR_Acked' });
    });
    try {
      sock.connect({ host: this.cfg.address, port, localAddress: withFd ? undefined : source });
    } catch (err) {
      setImmediate(() => fail((err as Error).message));
    }
  }

  /** Connect again in 100 ms, within this attempt: the ConnectRetryTimer still bounds it. */
  private connectAgainSoon(): void {
    clearTimeout(this.sourceWait);
    this.sourceWait = setTimeout(() => {
      this.sourceWait = undefined;
      if (this.fsm.state === 'Connect') this.connect();
    }, 100);
    this.sourceWait.unref?.();
  }

  private adopt(c: Connection): void {
    this.conn = c;
    c.attach({
      message: (type, body) => this.onMessage(c, type, body),
      headerError: (e) => this.onHeaderError(c, e),
      closed: (reason) => this.onClosed(c, reason),
      failed: (err) => this.internalError(c, err),
    });
  }

  private dropConnections(): void {
    this.connecting?.destroy();
    this.connecting = undefined;
    clearTimeout(this.sourceWait);
    this.sourceWait = undefined;
    this.conn?.close();
    this.conn = undefined;
    this.closeSecond();
  }

  /** An accepted TCP connection from this peer's address. */
  incoming(sock: net.Socket): void {
    const c = new Connection(sock, false);
    if (this.cfg.multihopTtl === undefined && this.ebgp) setTtl(sock, 1);
    const state = this.fsm.state;
    switch (state) {
      case 'Idle':
        c.close(); // RFC 4271: Idle refuses connections
        return;
      case 'Connect':
      case 'Active':
        this.connecting?.destroy();
        this.connecting = undefined;
        clearTimeout(this.sourceWait);
        this.sourceWait = undefined;
        this.adopt(c);
        this.event({ name: 'TcpConnectionConfirmed' });
        return;
      case 'OpenSent':
      case 'OpenConfirm':
      case 'Established':
        this.track(c, state);
        return;
    }
  }

  /**
   * Track a second connection (RFC 4271 6.8: "tracked until it sends an OPEN"): our OPEN
   * goes out on it and the peer's decides. Until then the session is not touched.
   */
  private track(c: Connection, state: SessionState): void {
    if (this.second) this.secondEvent(this.second.conn, { name: 'OpenCollisionDump' });
    this.stats.secondConnections++;
    this.owner.log(`bgp neighbor ${this.cfg.address}: second connection from ${c.remoteAddress} port ${c.remotePort} while ${state}: waiting for its OPEN`);
    const holdTimer = setTimeout(() => this.secondEvent(c, { name: 'HoldTimer_Expires' }), LARGE_HOLD_TIME * 1000);
    holdTimer.unref?.();
    this.second = { conn: c, holdTimer };
    c.attach({
      message: (type, body) => this.onSecondMessage(c, type, body),
      headerError: (e) => this.secondEvent(c, { name: 'BGPHeaderErr', error: e }),
      closed: () => this.secondEvent(c, { name: 'TcpConnectionFails' }),
      failed: () => this.secondEvent(c, { name: 'TcpConnectionFails' }),
    });
    this.sendOpen(c);
  }

  private closeSecond(): void {
    if (!this.second) return;
    clearTimeout(this.second.holdTimer);
    this.second.conn.close();
    this.second = undefined;
  }

  private onSecondMessage(c: Connection, type: number, body: Uint8Array): void {
    if (this.second?.conn !== c) return;
    if (type !== MessageType.Open) {
      this.secondEvent(c, { name: type === MessageType.Notification ? 'NotifMsg' : type === MessageType.Keepalive ? 'KeepAliveMsg' : 'UpdateMsg' });
      return;
    }
    const d = decodeMessage(MessageType.Open, body, DEFAULT_OPTIONS);
    if ('kind' in d) {
      this.secondEvent(c, { name: 'BGPOpenMsgErr', error: d });
      return;
    }
    if (d.type !== 'open') return;
    const bad = checkPeerOpen(d.open, { peerAs: this.cfg.peerAs, localId: parseIpv4(this.owner.routerId), ebgp: this.ebgp });
    if (bad) {
      this.secondEvent(c, { name: 'BGPOpenMsgErr', error: bad });
      return;
    }
    const session = this.fsm.state;
    if (session !== 'OpenSent' && session !== 'OpenConfirm' && session !== 'Established') {
      this.closeSecond(); // the session's connection is gone meanwhile: dropConnections closes the second too
      return;
    }
    this.secondEvent(c, {
      name: 'BGPOpen',
      ctx: {
        session,
        existingOutgoing: this.conn?.outgoing ?? false,
        secondOutgoing: c.outgoing,
        localId: parseIpv4(this.owner.routerId),
        remoteId: d.open.bgpId,
        localAs: this.cfg.localAs,
        remoteAs: openAs(d.open),
        // RFC 4724: the peer advertised graceful restart in the Established session, and so did we
        gracefulRestart: session === 'Established' && this.peerOpen?.capabilities.gracefulRestart !== undefined && this.cfg.gracefulRestart !== undefined,
      },
    }, d.open);
  }

  /** One event on the second connection, decided by collision.ts and carried out here. */
  private secondEvent(c: Connection, e: SecondEvent, open?: Open): void {
    if (this.second?.conn !== c) return;
    const outcome = decideSecond(e);
    this.owner.log(`bgp neighbor ${this.cfg.address}: second connection (port ${c.remotePort}) ${e.name}: ${outcome.why}`);
    this.stats.lastSecondConnection = `${e.name}: ${outcome.why}`;
    clearTimeout(this.second.holdTimer);
    this.second = undefined;
    switch (outcome.do) {
      case 'close-second':
        if (outcome.notify) c.send(encodeNotification({ code: outcome.notify.code, subcode: outcome.notify.subcode, data: outcome.notify.data ?? new Uint8Array(0) }));
        c.close();
        return;
      case 'dump-existing':
        // RFC 4271 6.8: the session's connection loses (Cease / Connection Collision Resolution)
        this.event({ name: 'OpenCollisionDump' });
        break;
      case 'peer-restarted':
        // RFC 4724 4.2: as if the old connection had failed: no NOTIFICATION, routes kept stale
        this.endedByNotification = false;
        this.conn?.close();
        this.conn = undefined;
        this.event({ name: 'TcpConnectionFails' });
        break;
    }
    // go on over the second connection: its OPEN was sent, the peer's is in hand
    this.event({ name: 'AutomaticStart_with_PassiveTcpEstablishment' });
    if (this.fsm.state !== 'Active' || !open) {
      c.close();
      return;
    }
    this.adopt(c);
    this.event({ name: 'TcpConnectionConfirmed' });
    this.handleOpen(open);
  }

  /** A bug met while handling this peer's message: reset this session only, never the process. */
  internalError(c: Connection | undefined, err: unknown): void {
    if (c && c !== this.conn) return;
    this.owner.log(`bgp neighbor ${this.cfg.address}: internal error, resetting the session: ${(err as Error)?.stack ?? String(err)}`);
    this.stats.lastError = `internal error: ${(err as Error)?.message ?? String(err)}`;
    this.event({ name: 'AutomaticStop', subcode: CeaseSubcode.OutOfResources });
  }

  private onHeaderError(c: Connection, e: NotifyError): void {
    if (c !== this.conn) return;
    this.event({ name: 'BGPHeaderErr', error: e });
  }

  private onClosed(c: Connection, reason: string): void {
    if (c !== this.conn) return;
    if (this.stats.lastError === 'None' || !this.stats.lastError.startsWith('received')) this.stats.lastError = reason;
    this.conn = undefined;
    this.event({ name: 'TcpConnectionFails' });
  }

  send(msg: Uint8Array): void {
    if (!this.conn) return;
    this.stats.outMessages++;
    this.stats.lastSent = Date.now();
    if (msg[18] === MessageType.Update) this.stats.outUpdates++;
    else if (msg[18] === MessageType.RouteRefresh) this.stats.outRefreshes++;
    this.conn.send(msg);
  }

  /** Send UPDATEs in one write. */
  sendUpdates(msgs: Uint8Array[]): void {
    if (!this.conn || msgs.length === 0) return;
    this.stats.outMessages += msgs.length;
    this.stats.outUpdates += msgs.length;
    this.stats.lastSent = Date.now();
    this.conn.sendMany(msgs);
  }

  // ---- OPEN

  ourCapabilities(): Capabilities {
    const gr = this.cfg.gracefulRestart;
    return {
      multiprotocol: this.cfg.families.map((f) => ({ afi: f.afi, safi: f.safi })),
      routeRefresh: true,
      enhancedRouteRefresh: true,
      as4: this.cfg.localAs,
      // helper: our families without the forwarding-preserved bit; restarting speaker: the
      // R bit and F bits while we defer routing after a restart with forwarding preserved
      gracefulRestart: gr
        ? {
            restarting: this.owner.restarting,
            notification: false,
            time: gr.restartTime,
            families: this.cfg.families.map((f) => ({ afi: f.afi, safi: f.safi, forwardingPreserved: this.owner.restarting && this.owner.forwardingPreserved })),
          }
        : undefined,
      addPath: this.cfg.families.filter((f) => f.addPathReceive).map((f) => ({ afi: f.afi, safi: f.safi, mode: 1 as const })),
      extendedMessage: true,
      fqdn: { hostname: hostname().slice(0, 64), domain: '' },
      unknown: [],
    };
  }

  private sendOpen(c: Connection): void {
    c.openSent = true;
    const open: Open = {
      version: 4,
      myAs: this.cfg.localAs > 0xffff ? AS_TRANS : this.cfg.localAs,
      holdTime: this.cfg.holdTime,
      bgpId: parseIpv4(this.owner.routerId),
      capabilities: this.ourCapabilities(),
    };
    this.stats.outMessages++;
    c.send(encodeOpen(open));
  }

  private onMessage(c: Connection, type: number, body: Uint8Array): void {
    if (c !== this.conn) return;
    this.stats.inMessages++;
    // once per read slice, not per message: a slice lasts at most some 20 ms
    if (c.slice !== this.heardIn) {
      this.heardIn = c.slice;
      this.stats.lastReceived = Date.now();
    }
    if (type === MessageType.Update) {
      this.stats.inUpdates++;
      if (this.fsm.state !== 'Established') {
        this.event(UPDATE_MSG);
        return;
      }
      const d = decodeUpdate(body, this.options, this.attrMemo);
      if (d.kind === 'error') {
        this.stats.lastError = `sent ${d.reason}`;
        this.owner.log(`bgp neighbor ${this.cfg.address}: bad UPDATE: ${d.reason}`);
        this.event({ name: 'UpdateMsgErr', error: d });
        return;
      }
      // the FSM's answer in Established restarts the hold timer (RFC 4271 6.5: any message
      // received): once per read slice is as good, and an UPDATE's FSM step per message was not free
      if (c.slice !== this.updateIn) {
        this.updateIn = c.slice;
        this.event(UPDATE_MSG);
      }
      this.owner.update(this, d);
      return;
    }
    const d = decodeMessage(type as MessageTypeCode, body, this.options);
    if ('kind' in d) {
      this.stats.lastError = `sent ${d.reason}`;
      this.owner.log(`bgp neighbor ${this.cfg.address}: bad message: ${d.reason}`);
      this.event({ name: type === MessageType.Open ? 'BGPOpenMsgErr' : 'BGPHeaderErr', error: d });
      return;
    }
    switch (d.type) {
      case 'open':
        if (this.fsm.state !== 'OpenSent') {
          this.event({ name: 'BGPOpen', holdTime: 0 }); // unexpected: the FSM answers with an FSM error
          return;
        }
        this.handleOpen(d.open);
        return;
      case 'keepalive':
        this.event({ name: 'KeepAliveMsg' });
        return;
      case 'notification': {
        const n = d.notification;
        this.endedByNotification = true;
        this.stats.lastError = `received ${describeNotification(n)}`;
        this.owner.log(`bgp neighbor ${this.cfg.address}: received NOTIFICATION ${describeNotification(n)}`);
        this.event({ name: n.code === ErrorCode.OpenMessage && n.subcode === OpenSubcode.UnsupportedVersion ? 'NotifMsgVerErr' : 'NotifMsg' });
        return;
      }
      case 'route-refresh':
        this.stats.inRefreshes++;
        if (this.fsm.state === 'Established') this.owner.routeRefresh(this, d.refresh);
        return;
      case 'update':
        return;
    }
  }

  /** Check the peer's OPEN against the configuration and negotiate (RFC 4271 6.2, RFC 5492). */
  private handleOpen(open: Open): void {
    const bad = checkPeerOpen(open, { peerAs: this.cfg.peerAs, localId: parseIpv4(this.owner.routerId), ebgp: this.ebgp });
    if (bad) {
      this.stats.lastError = bad.reason;
      this.event({ name: 'BGPOpenMsgErr', error: bad });
      return;
    }
    const hold = Math.min(open.holdTime, this.cfg.holdTime);
    const ours = this.ourCapabilities();
    const theirs = open.capabilities;
    const theirFamilies = theirs.multiprotocol.length ? theirs.multiprotocol : [{ afi: 1, safi: 1 }];
    this.families = this.cfg.families.filter((f) => theirFamilies.some((t) => t.afi === f.afi && t.safi === f.safi));
    const rx = new Set<string>();
    for (const f of ours.addPath) {
      const t = theirs.addPath.find((x) => x.afi === f.afi && x.safi === f.safi);
      if (t && t.mode & 2) rx.add(familyKey(f.afi, f.safi));
    }
    this.options = { as4: theirs.as4 !== undefined, addPathRx: rx, addPathTx: new Set(), extendedMessage: theirs.extendedMessage, prefixCodes: true };
    // (the memo holds only decodes under the options object it was made with; its set goes now)
    this.attrMemo.clear();
    this.peerOpen = open;
    this.peerRouterId = open.bgpId;
    if (this.conn) this.conn.maxLength = maxMessageLength(this.options);
    this.event({ name: 'BGPOpen', holdTime: hold });
  }

  /** Families as text for show commands: inet-unicast, inet6-unicast. */
  static familyName(afi: number, safi: number): string {
    const a = afi === 1 ? 'inet' : afi === 2 ? 'inet6' : `afi${afi}`;
    const s = safi === 1 ? 'unicast' : safi === 4 ? 'labeled-unicast' : safi === 128 ? 'vpn' : `safi${safi}`;
    return `${a}-${s}`;
  }
}


