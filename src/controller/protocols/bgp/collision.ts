/**
 * A second TCP connection from a peer whose session already has one: connection collision
 * (RFC 4271 section 6.8) and the restarted peer of graceful restart (RFC 4724 section 4.2).
 *
 * RFC 4271 runs one FSM per connection until a collision is resolved. cnr runs the session's
 * FSM (fsm.ts) on the first connection and tracks the second with the small machine here:
 * the second connection has been sent our OPEN and waits in OpenSent for the peer's. Every
 * event on it ends the wait with one outcome, decided by the pure `decideSecond`:
 *
 * - anything but a valid OPEN (silence until the hold timer, garbage, an OPEN with a wrong AS
 *   or BGP identifier, a KEEPALIVE or UPDATE before the OPEN, a close): the second
 *   connection gets its own NOTIFICATION, if any is due, and is closed. The session, its
 *   timers, its routes and its counters are not touched.
 * - a valid OPEN while the session is in OpenSent or OpenConfirm: the collision is resolved
 *   by BGP identifier (the connection opened by the higher identifier stays; equal
 *   identifiers, possible between eBGP peers, are decided by AS number, RFC 6286 2.3). The
 *   loser is closed with Cease / Connection Collision Resolution.
 * - a valid OPEN while the session is Established: RFC 4271 closes the new connection (the
 *   Established one wins), unless graceful restart was negotiated in the Established
 *   session: then the OPEN proves the peer restarted, and RFC 4724 4.2 treats the old
 *   session as ended by a TCP failure (its routes kept stale for the families of the peer's
 *   capability, the others flushed) and carries on with the new connection.
 */
import { CeaseSubcode, ErrorCode, OpenSubcode, notifyError, type NotifyError } from '../../../wire/bgp/errors.js';
import { openAs, type Open } from '../../../wire/bgp/open.js';

/** States of the session's connection in which a second connection is tracked (in Idle it is refused, in Connect/Active it is taken). */
export type SessionState = 'OpenSent' | 'OpenConfirm' | 'Established';

/** What the session is doing when the second connection delivers a valid OPEN. */
export interface CollisionContext {
  readonly session: SessionState;
  /** the session's connection was opened by us */
  readonly existingOutgoing: boolean;
  /** the second connection was opened by us (incoming connections: false) */
  readonly secondOutgoing: boolean;
  /** BGP identifiers as unsigned 32-bit numbers */
  readonly localId: number;
  readonly remoteId: number;
  readonly localAs: number;
  readonly remoteAs: number;
  /** Established: both sides advertised graceful restart in the Established session */
  readonly gracefulRestart: boolean;
}

/** Events on the second connection (RFC 4271 names). */
export type SecondEvent =
  /** a valid OPEN (already checked against the configuration by checkPeerOpen) */
  | { readonly name: 'BGPOpen'; readonly ctx: CollisionContext }
  | { readonly name: 'BGPOpenMsgErr'; readonly error: NotifyError }
  | { readonly name: 'BGPHeaderErr'; readonly error: NotifyError }
  /** no OPEN within the OpenSent hold time */
  | { readonly name: 'HoldTimer_Expires' }
  | { readonly name: 'TcpConnectionFails' }
  | { readonly name: 'NotifMsg' }
  | { readonly name: 'KeepAliveMsg' }
  /** an UPDATE (or any other message but OPEN) before the OPEN */
  | { readonly name: 'UpdateMsg' }
  /** a newer connection from the peer replaces this one while it still waits */
  | { readonly name: 'OpenCollisionDump' };

export interface Notify {
  readonly code: number;
  readonly subcode: number;
  readonly data?: Uint8Array;
}

export type SecondOutcome =
  /** the second connection loses: NOTIFICATION (if any) and close; the session is untouched */
  | { readonly do: 'close-second'; readonly notify?: Notify; readonly why: string }
  /** collision in OpenSent/OpenConfirm won by the second: the session's connection gets OpenCollisionDump, the session goes on over the second */
  | { readonly do: 'dump-existing'; readonly why: string }
  /** Established with graceful restart: the peer restarted; the old session ends as on a TCP failure, the session goes on over the second */
  | { readonly do: 'peer-restarted'; readonly why: string };

const collisionCease: Notify = { code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution };

/** The one decision for the second connection: every event ends its wait. */
export function decideSecond(e: SecondEvent): SecondOutcome {
  switch (e.name) {
    case 'BGPOpen':
      return resolveOpen(e.ctx);
    case 'BGPOpenMsgErr':
    case 'BGPHeaderErr':
      return { do: 'close-second', notify: { code: e.error.code, subcode: e.error.subcode, data: e.error.data }, why: `NOTIFICATION ${e.error.code}/${e.error.subcode} (${e.error.reason}); the session is untouched` };
    case 'HoldTimer_Expires':
      return { do: 'close-second', notify: { code: ErrorCode.HoldTimerExpired, subcode: 0 }, why: 'no OPEN on the second connection within the hold time' };
    case 'TcpConnectionFails':
      return { do: 'close-second', why: 'the second connection closed before its OPEN' };
    case 'NotifMsg':
      return { do: 'close-second', why: 'NOTIFICATION on the second connection' };
    case 'KeepAliveMsg':
    case 'UpdateMsg':
      // RFC 6608: an unexpected message in OpenSent
      return { do: 'close-second', notify: { code: ErrorCode.FsmError, subcode: 1 }, why: `${e.name} before OPEN on the second connection` };
    case 'OpenCollisionDump':
      return { do: 'close-second', notify: collisionCease, why: 'a newer connection from the peer replaces the second connection' };
  }
  return assertNever(e);
}

function resolveOpen(c: CollisionContext): SecondOutcome {
  if (c.session === 'Established') {
    if (c.gracefulRestart) return { do: 'peer-restarted', why: 'valid OPEN from a graceful-restart peer while Established: the peer restarted (RFC 4724 4.2)' };
    return { do: 'close-second', notify: collisionCease, why: 'valid OPEN while Established: the Established connection wins (RFC 4271 6.8)' };
  }
  if (c.existingOutgoing === c.secondOutgoing) {
    // both opened by the same side: identifiers cannot pick one; the first stays
    return { do: 'close-second', notify: collisionCease, why: `collision in ${c.session}: both connections opened by the same side, keeping the first` };
  }
  // the connection opened by the speaker with the higher identifier (then AS, RFC 6286) stays
  const localWins = c.localId !== c.remoteId ? c.localId > c.remoteId : c.localAs > c.remoteAs;
  const keepOutgoing = localWins;
  const who = c.localId !== c.remoteId ? 'BGP identifier' : 'AS number (equal identifiers)';
  if (c.secondOutgoing === keepOutgoing) return { do: 'dump-existing', why: `collision in ${c.session}: the ${keepOutgoing ? 'outgoing' : 'incoming'} connection wins on ${who} (RFC 4271 6.8)` };
  return { do: 'close-second', notify: collisionCease, why: `collision in ${c.session}: the ${keepOutgoing ? 'outgoing' : 'incoming'} connection wins on ${who} (RFC 4271 6.8)` };
}

/** What the configuration expects of a peer's OPEN. */
export interface OpenExpectation {
  readonly peerAs: number;
  readonly localId: number;
  readonly ebgp: boolean;
}

/** Check a decoded OPEN against the configuration (RFC 4271 6.2): undefined when acceptable. */
export function checkPeerOpen(open: Open, want: OpenExpectation): NotifyError | undefined {
  const peerAs = openAs(open);
  if (peerAs !== want.peerAs) return notifyError(ErrorCode.OpenMessage, OpenSubcode.BadPeerAs, `peer AS ${peerAs}, expected ${want.peerAs}`, Uint8Array.of(open.myAs >> 8, open.myAs & 255));
  // an iBGP peer must not use our identifier (RFC 6286 allows it between eBGP peers)
  if (open.bgpId === want.localId && !want.ebgp) return notifyError(ErrorCode.OpenMessage, OpenSubcode.BadBgpIdentifier, 'peer uses our BGP identifier');
  return undefined;
}

function assertNever(e: never): never {
  throw new Error(`BGP collision: unhandled event ${(e as SecondEvent).name}`);
}
