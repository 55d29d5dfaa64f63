/**
 * The BGP finite state machine of RFC 4271 section 8, with the RFC's names for states and
 * events. `step` is a pure function: it takes the session's FSM snapshot and one event and
 * returns the next snapshot plus the actions the session must carry out (open a connection,
 * send a message, start or stop a timer, tell the instance the session came up or went
 * down). Nothing here touches a socket or a clock, so the FSM is tested by feeding events.
 *
 * Optional RFC features used: passive TCP establishment (the ..._with_PassiveTcpEstablishment
 * starts) and automatic restart after an error through the IdleHoldTimer (8.1.1 group 1).
 * Unexpected messages are answered with the FSM Error subcodes of RFC 6608.
 *
 * Timers back off. The ConnectRetryCounter counts consecutive failed attempts (reset when a
 * session reaches Established or is stopped by hand): a retry after a failed connection
 * waits 1, 1, 2, 4 ... seconds up to ConnectRetryTime. An automatic restart waits
 * IdleHoldTime, doubled per further failed attempt and per earlier session in a row that
 * ended before it had been up a keepalive interval, up to the same ceiling (the exponential
 * growth RFC 4271 8.1.1 asks of DampPeerOscillations): a session that keeps flapping right
 * after it comes up is held off longer and longer, one that was stable comes back at once. A peer that just restarted is so
 * reached within about a second, a peer that keeps failing is not hammered. A second
 * connection from the peer (collision, RFC 4271 6.8) is decided by collision.ts.
 */
import { CeaseSubcode, ErrorCode, type NotifyError } from '../../../wire/bgp/errors.js';

export type State = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export type Timer = 'ConnectRetryTimer' | 'HoldTimer' | 'KeepaliveTimer' | 'IdleHoldTimer';

export type Event =
  | { readonly name: 'ManualStart' }
  | { readonly name: 'ManualStop'; readonly data?: Uint8Array }
  | { readonly name: 'AutomaticStart' }
  | { readonly name: 'ManualStart_with_PassiveTcpEstablishment' }
  | { readonly name: 'AutomaticStart_with_PassiveTcpEstablishment' }
  /** the instance stops the session itself: max-prefix, peer deconfigured, reset (Cease subcode) */
  | { readonly name: 'AutomaticStop'; readonly subcode: number; readonly data?: Uint8Array }
  | { readonly name: 'ConnectRetryTimer_Expires' }
  | { readonly name: 'HoldTimer_Expires' }
  | { readonly name: 'KeepaliveTimer_Expires' }
  | { readonly name: 'IdleHoldTimer_Expires' }
  /** our outgoing connection completed */
  | { readonly name: 'Tcp_CR_Acked' }
  /** an incoming connection from the peer was accepted */
  | { readonly name: 'TcpConnectionConfirmed' }
  | { readonly name: 'TcpConnectionFails' }
  /** a valid OPEN; the session has negotiated the hold time (0 = no keepalives) */
  | { readonly name: 'BGPOpen'; readonly holdTime: number }
  | { readonly name: 'BGPHeaderErr'; readonly error: NotifyError }
  | { readonly name: 'BGPOpenMsgErr'; readonly error: NotifyError }
  | { readonly name: 'OpenCollisionDump' }
  | { readonly name: 'NotifMsgVerErr' }
  | { readonly name: 'NotifMsg' }
  | { readonly name: 'KeepAliveMsg' }
  | { readonly name: 'UpdateMsg' }
  | { readonly name: 'UpdateMsgErr'; readonly error: NotifyError };

export type EventName = Event['name'];

export type Action =
  | { readonly do: 'connect' }
  | { readonly do: 'drop-connection' }
  | { readonly do: 'send-open' }
  | { readonly do: 'send-keepalive' }
  | { readonly do: 'send-notification'; readonly code: number; readonly subcode: number; readonly data?: Uint8Array }
  | { readonly do: 'start-timer'; readonly timer: Timer; readonly seconds: number }
  | { readonly do: 'stop-timer'; readonly timer: Timer }
  /** the session reached Established: exchange routes */
  | { readonly do: 'session-up' }
  /** the session left Established: withdraw what it taught (or mark stale under graceful restart) */
  | { readonly do: 'session-down' };

export interface FsmConfig {
  /** wait for the peer to connect, never connect out */
  readonly passive: boolean;
  /** configured hold time (the OPEN's); the negotiated one arrives with BGPOpen */
  readonly holdTime: number;
  /** ceiling of the ConnectRetryTimer (and of the IdleHoldTimer's back-off) */
  readonly connectRetryTime: number;
  /** first delay before an automatic restart after an error (0: no automatic restart) */
  readonly idleHoldTime: number;
}

export interface FsmSnapshot {
  readonly state: State;
  readonly connectRetryCounter: number;
  /** consecutive sessions that ended before they had been Established a keepalive interval */
  readonly oscillations: number;
  /** this session has been Established for a keepalive interval */
  readonly stable: boolean;
  /** negotiated hold time once OPENs were exchanged */
  readonly holdTime: number;
  /** the session was started (manual or automatic) and not stopped by hand */
  readonly enabled: boolean;
  readonly config: FsmConfig;
}

export interface Transition {
  readonly next: FsmSnapshot;
  readonly actions: Action[];
  /** one line for the log: `OpenSent -> OpenConfirm on BGPOpen` */
  readonly log: string;
}

/** Hold time while waiting for the OPEN (RFC 4271 suggests 4 minutes). */
export const LARGE_HOLD_TIME = 240;

export function initialSnapshot(config: FsmConfig): FsmSnapshot {
  return { state: 'Idle', connectRetryCounter: 0, oscillations: 0, stable: false, holdTime: config.holdTime, enabled: false, config };
}

const ALL_TIMERS: Timer[] = ['ConnectRetryTimer', 'HoldTimer', 'KeepaliveTimer', 'IdleHoldTimer'];

/** RFC 6608 FSM error subcode for an unexpected message in each state. */
const FSM_SUBCODE: Partial<Record<State, number>> = { OpenSent: 1, OpenConfirm: 2, Established: 3 };

function stopAll(): Action[] {
  return ALL_TIMERS.map((timer) => ({ do: 'stop-timer', timer }) as const);
}

function start(timer: Timer, seconds: number): Action[] {
  return seconds > 0 ? [{ do: 'start-timer', timer, seconds }] : [{ do: 'stop-timer', timer }];
}

/**
 * ConnectRetryTimer after `failures` consecutive failed attempts: 1 s for the first attempt
 * and the first retry (the first SYN toward a neighbour the data plane has not resolved yet
 * may be lost), then 2, 4 ... s up to ConnectRetryTime.
 */
export function connectRetryDelay(config: FsmConfig, failures: number): number {
  return Math.min(config.connectRetryTime, 2 ** Math.min(Math.max(failures - 1, 0), 16));
}

/** IdleHoldTimer after `failures` consecutive failures (at least 1): IdleHoldTime doubled per further one. */
export function idleHoldDelay(config: FsmConfig, failures: number): number {
  if (config.idleHoldTime <= 0) return 0;
  const ceiling = Math.max(config.idleHoldTime, config.connectRetryTime);
  return Math.min(ceiling, config.idleHoldTime * 2 ** Math.min(Math.max(failures - 1, 0), 16));
}

function notify(code: number, subcode: number, data?: Uint8Array): Action {
  return { do: 'send-notification', code, subcode, data };
}

/**
 * Enter Idle from `s`: stop timers, close the connection, end the session, and plan an
 * automatic restart unless the stop was manual.
 */
function toIdle(s: FsmSnapshot, send: Action | undefined, opts: { manual?: boolean; countRetry?: boolean } = {}): { next: FsmSnapshot; actions: Action[] } {
  const actions: Action[] = [];
  if (send) actions.push(send);
  actions.push(...stopAll(), { do: 'drop-connection' });
  if (s.state === 'Established') actions.push({ do: 'session-down' });
  const enabled = s.enabled && !opts.manual;
  const counter = opts.manual ? 0 : s.connectRetryCounter + (opts.countRetry === false ? 0 : 1);
  const oscillations = opts.manual ? 0 : s.state === 'Established' ? (s.stable ? 0 : s.oscillations + 1) : s.oscillations;
  // the first short-lived session costs nothing extra; each further one in a row doubles the hold
  if (enabled && s.config.idleHoldTime > 0) actions.push(...start('IdleHoldTimer', idleHoldDelay(s.config, Math.max(counter, 1) + Math.max(oscillations - 1, 0))));
  return { next: { ...s, state: 'Idle', enabled, connectRetryCounter: counter, oscillations }, actions };
}

function startFromIdle(s: FsmSnapshot, passive: boolean): { next: FsmSnapshot; actions: Action[] } {
  const actions: Action[] = [{ do: 'stop-timer', timer: 'IdleHoldTimer' }, ...start('ConnectRetryTimer', connectRetryDelay(s.config, s.connectRetryCounter))];
  if (passive) return { next: { ...s, state: 'Active', enabled: true }, actions };
  actions.push({ do: 'connect' });
  return { next: { ...s, state: 'Connect', enabled: true }, actions };
}

function connected(s: FsmSnapshot): { next: FsmSnapshot; actions: Action[] } {
  return {
    next: { ...s, state: 'OpenSent' },
    actions: [{ do: 'stop-timer', timer: 'ConnectRetryTimer' }, { do: 'send-open' }, ...start('HoldTimer', LARGE_HOLD_TIME)],
  };
}

/** The connection failed before OPENs were exchanged: wait in Active, retry sooner the fewer the failures. */
function connectFailed(s: FsmSnapshot): { next: FsmSnapshot; actions: Action[] } {
  const failures = s.connectRetryCounter + 1;
  return { next: { ...s, state: 'Active', connectRetryCounter: failures }, actions: [{ do: 'drop-connection' }, ...start('ConnectRetryTimer', connectRetryDelay(s.config, failures))] };
}

function fsmError(s: FsmSnapshot): { next: FsmSnapshot; actions: Action[] } {
  const sub = FSM_SUBCODE[s.state];
  return toIdle(s, sub !== undefined ? notify(ErrorCode.FsmError, sub) : undefined);
}

/** The one transition function: every (state, event) pair is decided here. */
export function step(s: FsmSnapshot, e: Event): Transition {
  const r = decide(s, e);
  return new Stepped(r.next, r.actions, s.state, e.name);
}

/** A transition whose log line is made when read: an UPDATE is an FSM event too, and most transitions are not logged. */
class Stepped implements Transition {
  constructor(
    readonly next: FsmSnapshot,
    readonly actions: Action[],
    private readonly from: State,
    private readonly event: Event['name'],
  ) {}
  get log(): string {
    return `${this.from} -> ${this.next.state} on ${this.event}`;
  }
}

function decide(s: FsmSnapshot, e: Event): { next: FsmSnapshot; actions: Action[] } {
  const stay = (actions: Action[] = []) => ({ next: s, actions });
  // stops and starts that read the same in every state
  switch (e.name) {
    case 'ManualStop':
      if (s.state === 'Idle') return { next: { ...s, enabled: false }, actions: [{ do: 'stop-timer', timer: 'IdleHoldTimer' }] };
      return toIdle(s, s.state === 'Connect' || s.state === 'Active' ? undefined : notify(ErrorCode.Cease, CeaseSubcode.AdministrativeShutdown, e.data), { manual: true });
    case 'AutomaticStop':
      if (s.state === 'Idle') return stay();
      return toIdle(s, s.state === 'Connect' || s.state === 'Active' ? undefined : notify(ErrorCode.Cease, e.subcode, e.data));
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
      if (s.state !== 'Idle') return stay(); // ignored outside Idle (8.2.2)
      return startFromIdle(s, e.name.endsWith('PassiveTcpEstablishment') || s.config.passive);
    case 'IdleHoldTimer_Expires':
      if (s.state !== 'Idle' || !s.enabled) return stay();
      return startFromIdle(s, s.config.passive);
    default:
      break;
  }

  switch (s.state) {
    case 'Idle':
      // RFC 4271: any other event in Idle is ignored (and an incoming connection refused)
      return e.name === 'TcpConnectionConfirmed' ? stay([{ do: 'drop-connection' }]) : stay();

    case 'Connect':
    case 'Active':
      switch (e.name) {
        case 'ConnectRetryTimer_Expires':
          if (s.config.passive) return stay(start('ConnectRetryTimer', s.config.connectRetryTime));
          {
            // an attempt still pending in Connect failed too (no answer to the SYN)
            const failures = s.connectRetryCounter + (s.state === 'Connect' ? 1 : 0);
            return {
              next: { ...s, state: 'Connect', connectRetryCounter: failures },
              actions: [{ do: 'drop-connection' }, ...start('ConnectRetryTimer', connectRetryDelay(s.config, failures)), { do: 'connect' }],
            };
          }
        case 'Tcp_CR_Acked':
        case 'TcpConnectionConfirmed':
          return connected(s);
        case 'TcpConnectionFails':
          if (s.state === 'Connect') return connectFailed(s);
          return toIdle(s, undefined);
        case 'BGPHeaderErr':
        case 'BGPOpenMsgErr':
          return toIdle(s, notify(e.error.code, e.error.subcode, e.error.data));
        case 'NotifMsgVerErr':
          return toIdle(s, undefined, { countRetry: false });
        case 'HoldTimer_Expires':
        case 'KeepaliveTimer_Expires':
        case 'BGPOpen':
        case 'OpenCollisionDump':
        case 'NotifMsg':
        case 'KeepAliveMsg':
        case 'UpdateMsg':
        case 'UpdateMsgErr':
          return toIdle(s, undefined);
      }
      break;

    case 'OpenSent':
      switch (e.name) {
        case 'HoldTimer_Expires':
          return toIdle(s, notify(ErrorCode.HoldTimerExpired, 0));
        case 'TcpConnectionFails':
          return connectFailed(s);
        case 'BGPOpen':
          return {
            next: { ...s, state: 'OpenConfirm', holdTime: e.holdTime },
            actions: [
              { do: 'stop-timer', timer: 'ConnectRetryTimer' },
              { do: 'send-keepalive' },
              ...start('KeepaliveTimer', Math.floor(e.holdTime / 3)),
              ...start('HoldTimer', e.holdTime),
            ],
          };
        case 'BGPHeaderErr':
        case 'BGPOpenMsgErr':
        case 'UpdateMsgErr':
          return toIdle(s, notify(e.error.code, e.error.subcode, e.error.data));
        case 'OpenCollisionDump':
          return toIdle(s, notify(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution));
        case 'NotifMsgVerErr':
          return toIdle(s, undefined, { countRetry: false });
        case 'Tcp_CR_Acked':
        case 'TcpConnectionConfirmed':
          return stay(); // a second connection: collision detection is the session's (6.8)
        case 'ConnectRetryTimer_Expires':
        case 'KeepaliveTimer_Expires':
        case 'NotifMsg':
        case 'KeepAliveMsg':
        case 'UpdateMsg':
          return fsmError(s);
      }
      break;

    case 'OpenConfirm':
      switch (e.name) {
        case 'HoldTimer_Expires':
          return toIdle(s, notify(ErrorCode.HoldTimerExpired, 0));
        case 'KeepaliveTimer_Expires':
          return stay([{ do: 'send-keepalive' }, ...start('KeepaliveTimer', Math.floor(s.holdTime / 3))]);
        case 'TcpConnectionFails':
        case 'NotifMsg':
        case 'NotifMsgVerErr':
          return toIdle(s, undefined);
        case 'BGPHeaderErr':
        case 'BGPOpenMsgErr':
        case 'UpdateMsgErr':
          return toIdle(s, notify(e.error.code, e.error.subcode, e.error.data));
        case 'OpenCollisionDump':
          return toIdle(s, notify(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution));
        case 'KeepAliveMsg':
          return { next: { ...s, state: 'Established', connectRetryCounter: 0, stable: false }, actions: [...start('HoldTimer', s.holdTime), { do: 'session-up' }] };
        case 'Tcp_CR_Acked':
        case 'TcpConnectionConfirmed':
          return stay();
        case 'ConnectRetryTimer_Expires':
        case 'BGPOpen':
        case 'UpdateMsg':
          return fsmError(s);
      }
      break;

    case 'Established':
      switch (e.name) {
        case 'HoldTimer_Expires':
          return toIdle(s, notify(ErrorCode.HoldTimerExpired, 0));
        case 'KeepaliveTimer_Expires':
          // up for a keepalive interval: stable, its end will not count as an oscillation
          return { next: s.stable ? s : { ...s, stable: true, oscillations: 0 }, actions: [{ do: 'send-keepalive' }, ...start('KeepaliveTimer', Math.floor(s.holdTime / 3))] };
        case 'KeepAliveMsg':
        case 'UpdateMsg':
          return stay(start('HoldTimer', s.holdTime));
        case 'TcpConnectionFails':
        case 'NotifMsg':
        case 'NotifMsgVerErr':
          return toIdle(s, undefined);
        case 'BGPHeaderErr':
        case 'BGPOpenMsgErr':
        case 'UpdateMsgErr':
          return toIdle(s, notify(e.error.code, e.error.subcode, e.error.data));
        case 'OpenCollisionDump':
          return toIdle(s, notify(ErrorCode.Cease, CeaseSubcode.ConnectionCollisionResolution));
        case 'Tcp_CR_Acked':
        case 'TcpConnectionConfirmed':
          return stay();
        case 'ConnectRetryTimer_Expires':
        case 'BGPOpen':
          return fsmError(s);
      }
      break;
  }
  return assertNever(s.state, e);
}

function assertNever(state: State, e: Event): never {
  throw new Error(`BGP FSM: unhandled ${e.name} in ${state}`);
}
