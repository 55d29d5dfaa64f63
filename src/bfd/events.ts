/**
 * One function per input to BFD, each taking the instance's context first (the protocol
 * pattern of docs/design.md): a packet received, a session's transmit or detection timer
 * due, the operator disabling or enabling a session, new timer values. Handlers change the
 * session, ask fsm.ts where it goes, and push what must happen (packets to send, state
 * changes to log and tell clients, discards to count) onto `cx.out`.
 *
 * RFC 5880 sections: reception 6.8.6, poll sequences 6.5 and 6.8.3, timers 6.8.2-6.8.4,
 * transmission 6.8.7, authentication 6.7; RFC 5881 section 5 (TTL 255) and section 4
 * (source ports).
 */
import {
  BFD_PORT_SINGLE_HOP,
  BFD_SOURCE_PORT_MAX,
  BFD_SOURCE_PORT_MIN,
  type BfdControl,
  BfdDecodeError,
  type BfdReceptionCheck,
  type BfdState,
  decodeBfdControl,
  verifyBfdDigest,
} from '../wire/bfd.js';
import { type Event, transition } from './fsm.js';
import { type BfdSession, type BfdSessionConfig, type BfdSessionKey, applyIntervalsAtOnce, detectionTimeUs, jittered, txIntervalUs, wantedIntervals } from './session.js';
import type { BfdPacketMeta, SessionTable } from './session-table.js';

/** Why a received packet was dropped: a decode check, or a check that needs the session. */
export type BfdDiscardReason =
  | BfdReceptionCheck
  | 'no_session'
  | 'bad_ttl'
  | 'bad_source_port'
  | 'auth_unexpected'
  | 'auth_missing'
  | 'auth_failed'
  | 'auth_sequence'
  | 'admin_down';

export type BfdOutput =
  /** send this packet to the session's peer now (encode with encodeSessionPacket) */
  | { readonly kind: 'send'; readonly key: BfdSessionKey; readonly packet: BfdControl }
  /** the session changed state: log it, tell its clients */
  | { readonly kind: 'state-change'; readonly key: BfdSessionKey; readonly from: BfdState; readonly to: BfdState; readonly diag: number; readonly cause: string }
  /** a received packet was dropped (counted in cx.discards) */
  | { readonly kind: 'discard'; readonly reason: BfdDiscardReason; readonly key?: BfdSessionKey };

export interface BfdContext {
  readonly sessions: SessionTable;
  /** drops by reason, for the counters and `show bfd` */
  readonly discards: Map<BfdDiscardReason, number>;
  /**
   * Drop single-hop packets from a source port outside 49152-65535. RFC 5881 section 4 binds
   * the sender; BIRD 2 sends from the kernel's ephemeral range (32768-60999 by default), so
   * checking is a choice, off by default, as in FRR.
   */
  readonly checkSourcePort: boolean;
  /** in [0, 1]: the transmit jitter (section 6.8.7); tests fix it */
  readonly random: () => number;
  /** what the handlers decided, in order; the entry point hands it to its caller */
  readonly out: BfdOutput[];
}

function discard(cx: BfdContext, reason: BfdDiscardReason, s?: BfdSession): void {
  cx.discards.set(reason, (cx.discards.get(reason) ?? 0) + 1);
  if (s) s.counters.discarded++;
  cx.out.push(s ? { kind: 'discard', reason, key: s.key } : { kind: 'discard', reason });
}

/** A packet arrived on a BFD port: section 6.8.6 from the first check to the last. */
export function packetReceived(cx: BfdContext, bytes: Uint8Array, meta: BfdPacketMeta, nowUs: number): void {
  const admitted = admit(cx, bytes, meta);
  if ('reason' in admitted) {
    discard(cx, admitted.reason, admitted.session);
    return;
  }
  const { p, s } = admitted;
  s.remoteDiscr = p.myDiscriminator;
  s.remoteState = p.state;
  s.remoteDiag = p.diag;
  s.remoteMinRxUs = p.requiredMinRxUs;
  s.remoteDesiredMinTxUs = p.desiredMinTxUs;
  s.remoteDetectMult = p.detectMult;
  s.remoteControlPlaneIndependent = p.controlPlaneIndependent;
  // section 6.5: a Final ends our poll sequence; the new intervals now hold on both counts
  if (p.final && s.polling) {
    s.polling = false;
    s.txBaseUs = s.desiredMinTxUs;
    s.rxInUseUs = s.requiredMinRxUs;
  }
  const dt = detectionTimeUs(s);
  s.detectAtUs = dt > 0 ? nowUs + dt : undefined;
  if (s.state === 'AdminDown') {
    discard(cx, 'admin_down', s);
    return;
  }
  s.counters.rxPackets++;
  const moved = apply(cx, s, { name: 'PacketReceived', packet: p }, nowUs);
  // section 6.8.7: a Poll is answered at once with a Final, whatever the timers and state
  // (it carries a state change too); a state change is announced at once
  if (p.poll) send(cx, s, nowUs, { final: true });
  else if (moved) send(cx, s, nowUs, {});
  // the periodic packets count from the announcement, or resume when the peer, having asked
  // for none (Required Min RX 0), asks again; a peer asking for a faster rate gets it now
  if (moved || (s.nextTxUs === undefined && txIntervalUs(s) > 0)) schedule(cx, s, nowUs);
  else bringForward(cx, s, nowUs);
}

/** The checks before a packet may touch its session: decode, demultiplex, TTL and port, authentication. */
function admit(cx: BfdContext, bytes: Uint8Array, meta: BfdPacketMeta): { p: BfdControl; s: BfdSession } | { reason: BfdDiscardReason; session?: BfdSession } {
  const p = decodeBfdControl(bytes);
  if (p instanceof BfdDecodeError) return { reason: p.check };
  const s = cx.sessions.demultiplex(p.yourDiscriminator, meta);
  if (s === 'no_session') return { reason: 'no_session' };
  if (meta.dstPort === BFD_PORT_SINGLE_HOP) {
    // RFC 5881 section 5: a single-hop packet was sent with TTL 255 and crossed no router
    if (meta.ttl !== 255) return { reason: 'bad_ttl', session: s };
    // RFC 5881 section 4: the sender picks its source port from 49152-65535 (see checkSourcePort)
    if (cx.checkSourcePort && (meta.srcPort < BFD_SOURCE_PORT_MIN || meta.srcPort > BFD_SOURCE_PORT_MAX)) return { reason: 'bad_source_port', session: s };
  } else if (s.config.minTtl !== undefined && meta.ttl < s.config.minTtl) {
    // RFC 5883 section 5: a multihop session may bound how many routers its packets crossed
    return { reason: 'bad_ttl', session: s };
  }
  const auth = authCheck(s, p, bytes);
  return auth ? { reason: auth, session: s } : { p, s };
}

/** Section 6.7: the A bit against the session's authentication, then digest and sequence. */
function authCheck(s: BfdSession, p: BfdControl, bytes: Uint8Array): BfdDiscardReason | undefined {
  const want = s.config.auth;
  if (!want) return p.auth ? 'auth_unexpected' : undefined;
  if (!p.auth) return 'auth_missing';
  if (p.auth.type !== want.type || p.auth.keyId !== want.keyId) return 'auth_failed';
  if (!verifyBfdDigest(bytes.subarray(0, bytes[3]!), want.key)) return 'auth_failed';
  const seq = p.auth.sequence;
  if (s.rcvAuthSeq !== undefined) {
    // section 6.7.4: within 3 x the packet's Detect Mult of the last, in circular 32-bit
    // space; meticulous must move forward
    const ahead = (seq - s.rcvAuthSeq) >>> 0;
    const min = want.type === 5 ? 1 : 0;
    if (ahead < min || ahead > 3 * p.detectMult) return 'auth_sequence';
  }
  s.rcvAuthSeq = seq;
  return undefined;
}

/** The session's periodic transmit time has come (section 6.8.7). */
export function txTimerExpired(cx: BfdContext, s: BfdSession, nowUs: number): void {
  send(cx, s, nowUs, {});
  schedule(cx, s, nowUs);
}

/** No valid packet for a Detection Time (section 6.8.4). */
export function detectionTimerExpired(cx: BfdContext, s: BfdSession, nowUs: number): void {
  s.detectAtUs = undefined;
  // section 6.8.1: bfd.RemoteDiscr and bfd.AuthSeqKnown are forgotten after a silent Detection Time
  s.remoteDiscr = 0;
  s.rcvAuthSeq = undefined;
  if (apply(cx, s, { name: 'DetectionTimerExpired' }, nowUs)) announce(cx, s, nowUs);
}

/** The operator or a client disables the session (section 6.8.16): the peer is told AdminDown. */
export function adminDown(cx: BfdContext, s: BfdSession, nowUs: number): void {
  if (apply(cx, s, { name: 'AdminDown' }, nowUs)) announce(cx, s, nowUs);
}

export function adminUp(cx: BfdContext, s: BfdSession, nowUs: number): void {
  if (apply(cx, s, { name: 'AdminUp' }, nowUs)) announce(cx, s, nowUs);
}

/**
 * New timer values (section 6.8.3). Outside Up they take effect at once. In Up a change of
 * Desired Min TX or Required Min RX starts a poll sequence; until its Final the slower
 * transmit rate and the longer receive interval of old and new stay in force.
 */
export function timersChanged(cx: BfdContext, s: BfdSession, config: BfdSessionConfig, nowUs: number): void {
  s.config = config;
  if (s.state !== 'Up') {
    applyIntervalsAtOnce(s);
  } else {
    const w = wantedIntervals(s);
    if (w.desiredMinTxUs !== s.desiredMinTxUs || w.requiredMinRxUs !== s.requiredMinRxUs) {
      s.txBaseUs = Math.min(s.txBaseUs, w.desiredMinTxUs);
      s.rxInUseUs = Math.max(s.rxInUseUs, w.requiredMinRxUs);
      s.desiredMinTxUs = w.desiredMinTxUs;
      s.requiredMinRxUs = w.requiredMinRxUs;
      s.polling = true;
    }
  }
  bringForward(cx, s, nowUs);
}

/**
 * A faster rate (ours, or the peer's lower Required Min RX) must not wait for the slow period
 * already scheduled: the next packet comes one new interval after the last one, or now. Without
 * this a peer that goes Up and polls for 100 ms (FRR does) hears from us only a second later,
 * past its detection time.
 */
function bringForward(cx: BfdContext, s: BfdSession, nowUs: number): void {
  const interval = txIntervalUs(s);
  if (s.nextTxUs === undefined || interval === 0) return;
  const due = Math.max(nowUs, (s.lastTxUs ?? nowUs) + jittered(interval, s.config.detectMult, cx.random()));
  if (due < s.nextTxUs) s.nextTxUs = due;
}

/** Run the FSM; on a transition set the state, the intervals it implies, and report it. */
function apply(cx: BfdContext, s: BfdSession, event: Event, nowUs: number): boolean {
  const t = transition(s.state, event);
  if (!t) return false;
  const from = s.state;
  s.state = t.next;
  if (t.diag !== undefined) s.localDiag = t.diag;
  s.sinceUs = nowUs;
  s.lastCause = t.cause;
  if (t.next === 'Up') {
    s.counters.upTransitions++;
    // section 6.8.3: the configured (faster) intervals replace the slow ones by a poll sequence
    timersChanged(cx, s, s.config, nowUs);
  } else {
    if (from === 'Up') s.counters.flaps++;
    applyIntervalsAtOnce(s);
  }
  // a disabled session watches nothing (section 6.8.6 discards what arrives meanwhile)
  if (t.next === 'AdminDown') s.detectAtUs = undefined;
  cx.out.push({ kind: 'state-change', key: s.key, from, to: t.next, diag: s.localDiag, cause: t.cause });
  return true;
}

/**
 * Tell the peer of a state change at once, as FRR and BIRD do (a handshake then takes a round
 * trip, not a slow period), and count the next periodic packet from this one.
 */
function announce(cx: BfdContext, s: BfdSession, nowUs: number): void {
  send(cx, s, nowUs, {});
  schedule(cx, s, nowUs);
}

/** Send a control packet now: a periodic one, a state change's, or a Final (section 6.8.7). */
function send(cx: BfdContext, s: BfdSession, nowUs: number, flags: { final?: boolean }): void {
  const final = flags.final === true;
  const a = s.config.auth;
  const packet: BfdControl = {
    diag: s.localDiag,
    state: s.state,
    // section 6.5: never P and F together; the Final answers, the periodic packets poll
    poll: s.polling && !final,
    final,
    controlPlaneIndependent: s.config.controlPlaneIndependent,
    demand: false,
    detectMult: s.config.detectMult,
    myDiscriminator: s.localDiscr,
    yourDiscriminator: s.remoteDiscr,
    desiredMinTxUs: s.desiredMinTxUs,
    requiredMinRxUs: s.requiredMinRxUs,
    requiredMinEchoRxUs: 0,
  };
  if (a) {
    s.xmitAuthSeq = (s.xmitAuthSeq + 1) >>> 0;
    cx.out.push({ kind: 'send', key: s.key, packet: { ...packet, auth: { type: a.type, keyId: a.keyId, sequence: s.xmitAuthSeq, digest: new Uint8Array(20) } } });
  } else cx.out.push({ kind: 'send', key: s.key, packet });
  s.counters.txPackets++;
  s.lastTxUs = nowUs;
}

/** The next periodic packet: a jittered interval from now, or none when the peer wants none. */
function schedule(cx: BfdContext, s: BfdSession, nowUs: number): void {
  const interval = txIntervalUs(s);
  s.nextTxUs = interval > 0 ? nowUs + jittered(interval, s.config.detectMult, cx.random()) : undefined;
}
