/**
 * One BFD session's state: the RFC 5880 section 6.8.1 variables as plain data, its
 * configuration, and the timer arithmetic of sections 6.8.2-6.8.4 and 6.8.7. Times are
 * microseconds on the caller's clock: nothing here reads a clock, the caller passes `nowUs`.
 */
import type { BfdState } from '../wire/bfd.js';

/** Section 6.8.3: while not Up, Desired Min TX is at least one second. */
export const SLOW_TX_US = 1_000_000;

/** What the operator (or a client protocol) asks of a session. */
export interface BfdSessionConfig {
  /** bfd.DesiredMinTxInterval once Up, microseconds */
  readonly desiredMinTxUs: number;
  /** bfd.RequiredMinRxInterval, microseconds (0: the peer must not send) */
  readonly requiredMinRxUs: number;
  /** bfd.DetectMult, 1..255 */
  readonly detectMult: number;
  /**
   * The C bit (section 4.1): set when BFD runs where a control-plane restart does not reach
   * it (cnr: in the vRouter, not the controller).
   */
  readonly controlPlaneIndependent: boolean;
  /** keyed SHA1 (section 6.7.4); meticulous: the sequence number rises with every packet */
  readonly auth?: { readonly type: 4 | 5; readonly keyId: number; readonly key: Uint8Array };
  /** start in AdminDown */
  readonly adminDown?: boolean;
  /**
   * Multihop only (RFC 5883 section 5): received packets with a lower TTL / Hop Limit are
   * dropped (`bad_ttl`): a peer at most 255 - minTtl routers away. Unset: no check.
   */
  readonly minTtl?: number;
}

/**
 * Which packets belong to a session when Your Discriminator is 0 (section 6.8.6, RFC 5881
 * section 3, RFC 5883 section 3): a single-hop session by interface and peer address, a
 * multihop session by the pair of addresses.
 */
export type BfdSessionKey =
  | { readonly kind: 'single-hop'; readonly ifname: string; readonly peer: string; readonly local: string }
  | { readonly kind: 'multihop'; readonly peer: string; readonly local: string };

export function sessionKeyText(k: BfdSessionKey): string {
  return k.kind === 'single-hop' ? `single-hop ${k.ifname} ${k.peer}` : `multihop ${k.local} ${k.peer}`;
}

export interface BfdSessionCounters {
  rxPackets: number;
  txPackets: number;
  /** transitions into Up */
  upTransitions: number;
  /** transitions out of Up */
  flaps: number;
  /** valid packets this session dropped (AdminDown, authentication) */
  discarded: number;
}

export interface BfdSession {
  readonly key: BfdSessionKey;
  config: BfdSessionConfig;
  /** bfd.SessionState */
  state: BfdState;
  /** bfd.RemoteSessionState */
  remoteState: BfdState;
  /** bfd.LocalDiscr */
  readonly localDiscr: number;
  /** bfd.RemoteDiscr */
  remoteDiscr: number;
  /** bfd.LocalDiag */
  localDiag: number;
  /** the last Diag the peer sent */
  remoteDiag: number;
  /** bfd.DesiredMinTxInterval: what our packets advertise now */
  desiredMinTxUs: number;
  /** bfd.RequiredMinRxInterval: what our packets advertise now */
  requiredMinRxUs: number;
  /**
   * During a poll sequence the old values stay in force where they are the safer ones
   * (section 6.8.3): the transmit base is the smaller, the receive interval the larger.
   */
  txBaseUs: number;
  rxInUseUs: number;
  /** bfd.RemoteMinRxInterval (initially 1, section 6.8.1) */
  remoteMinRxUs: number;
  /** the peer's last Desired Min TX Interval and Detect Mult (for the detection time) */
  remoteDesiredMinTxUs: number;
  remoteDetectMult: number;
  /** the peer's C bit */
  remoteControlPlaneIndependent: boolean;
  /** a poll sequence is under way: our periodic packets carry P until a Final arrives */
  polling: boolean;
  /** when the next periodic packet is due (undefined: none, section 6.8.7) */
  nextTxUs: number | undefined;
  /** when the last packet went out */
  lastTxUs: number | undefined;
  /** when the detection time runs out (undefined: no packet received yet) */
  detectAtUs: number | undefined;
  /** bfd.XmitAuthSeq and bfd.RcvAuthSeq / bfd.AuthSeqKnown */
  xmitAuthSeq: number;
  rcvAuthSeq: number | undefined;
  /** the time of the last state change, for uptime */
  sinceUs: number;
  /** the cause of the last state change */
  lastCause: string;
  readonly counters: BfdSessionCounters;
}

export function createSession(key: BfdSessionKey, config: BfdSessionConfig, localDiscr: number, nowUs: number): BfdSession {
  const down = config.adminDown === true;
  const s: BfdSession = {
    key,
    config,
    state: down ? 'AdminDown' : 'Down',
    remoteState: 'Down',
    localDiscr,
    remoteDiscr: 0,
    localDiag: down ? 7 : 0,
    remoteDiag: 0,
    desiredMinTxUs: 0,
    requiredMinRxUs: 0,
    txBaseUs: 0,
    rxInUseUs: 0,
    remoteMinRxUs: 1,
    remoteDesiredMinTxUs: 0,
    remoteDetectMult: 0,
    remoteControlPlaneIndependent: false,
    polling: false,
    nextTxUs: nowUs,
    lastTxUs: undefined,
    detectAtUs: undefined,
    xmitAuthSeq: 1,
    rcvAuthSeq: undefined,
    sinceUs: nowUs,
    lastCause: down ? 'configured disabled' : 'created',
    counters: { rxPackets: 0, txPackets: 0, upTransitions: 0, flaps: 0, discarded: 0 },
  };
  applyIntervalsAtOnce(s);
  return s;
}

/** The intervals our packets should advertise in the current state (section 6.8.3). */
export function wantedIntervals(s: BfdSession): { desiredMinTxUs: number; requiredMinRxUs: number } {
  const tx = s.state === 'Up' ? s.config.desiredMinTxUs : Math.max(s.config.desiredMinTxUs, SLOW_TX_US);
  return { desiredMinTxUs: tx, requiredMinRxUs: s.config.requiredMinRxUs };
}

/** Take the wanted intervals into use at once: outside Up there is no detection to protect. */
export function applyIntervalsAtOnce(s: BfdSession): void {
  const w = wantedIntervals(s);
  s.desiredMinTxUs = s.txBaseUs = w.desiredMinTxUs;
  s.requiredMinRxUs = s.rxInUseUs = w.requiredMinRxUs;
  s.polling = false;
}

/**
 * Section 6.8.7: the interval between periodic packets before jitter,
 * max(bfd.DesiredMinTxInterval, bfd.RemoteMinRxInterval); 0 when the peer asks for none.
 */
export function txIntervalUs(s: BfdSession): number {
  if (s.remoteMinRxUs === 0) return 0;
  return Math.max(s.txBaseUs, s.remoteMinRxUs);
}

/**
 * Section 6.8.7 jitter: a periodic interval is 75-100% of the negotiated one, at most 90%
 * when Detect Mult is 1. `random` is in [0, 1]; 1 gives the longest interval allowed.
 */
export function jittered(intervalUs: number, detectMult: number, random: number): number {
  const span = detectMult === 1 ? 0.15 : 0.25;
  return Math.floor(intervalUs * (0.75 + span * random));
}

/**
 * Section 6.8.4 (asynchronous mode): the peer's Detect Mult times the larger of our
 * Required Min RX and the peer's Desired Min TX.
 */
export function detectionTimeUs(s: BfdSession): number {
  return s.remoteDetectMult * Math.max(s.rxInUseUs, s.remoteDesiredMinTxUs);
}
