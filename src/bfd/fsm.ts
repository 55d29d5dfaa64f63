/**
 * The BFD session state machine of RFC 5880 section 6.2 and the state rules of the reception
 * procedure (section 6.8.6), with the RFC's names. `transition` is pure: a state and one
 * event in, the next state with the diagnostic to send and the cause (for the log) out, or
 * `undefined` when the event changes nothing. Timers, poll sequences and discriminators are
 * the handlers' (events.ts); this file only decides where the session goes.
 *
 *                             +--+
 *                             |  | UP, ADMIN DOWN, TIMER
 *                             |  V
 *                     DOWN  +------+  INIT
 *              +------------|      |------------+
 *              |            | DOWN |            |
 *              |  +-------->|      |<--------+  |
 *              |  |         +------+         |  |
 *              |  |                          |  |
 *              |  |               ADMIN DOWN,|  |
 *              |  |ADMIN DOWN,          DOWN,|  |
 *              |  |TIMER                TIMER|  |
 *              V  |                          |  V
 *            +------+                      +------+
 *       +----|      |                      |      |----+
 *   DOWN|    | INIT |--------------------->|  UP  |    |INIT, UP
 *       +--->|      | INIT, UP             |      |<---+
 *            +------+                      +------+
 */
import { type BfdControl, BfdDiag, type BfdState } from '../wire/bfd.js';

export type State = BfdState;

/** The inputs that can move a session (section 6.8.6 and the administrative control of 6.8.16). */
export type Event =
  /**
   * a valid control packet for this session, past every check of section 6.8.6: only the
   * sender's state moves the session (timer fields and the P/F bits are the handler's)
   */
  | { readonly name: 'PacketReceived'; readonly packet: BfdControl }
  /** no valid packet for a Detection Time (section 6.8.4) */
  | { readonly name: 'DetectionTimerExpired' }
  /** the operator (or the client) disables the session (section 6.8.16) */
  | { readonly name: 'AdminDown' }
  | { readonly name: 'AdminUp' };

export interface Transition {
  readonly next: State;
  /**
   * bfd.LocalDiag after the transition (section 4.1's codes); undefined keeps it: Down ->
   * Init still tells the peer why we were down until the session is Up (as FRR's bfdd does)
   */
  readonly diag: number | undefined;
  /** why, in words, for the log and `show bfd session` */
  readonly cause: string;
}

/** Where `event` takes a session in `state`; undefined when it stays (and its diag stays). */
export function transition(state: State, event: Event): Transition | undefined {
  switch (event.name) {
    case 'AdminDown':
      return state === 'AdminDown' ? undefined : { next: 'AdminDown', diag: BfdDiag.AdministrativelyDown, cause: 'administratively disabled' };
    case 'AdminUp':
      // section 6.8.16: leaving AdminDown goes to Down; a fresh start has no diagnostic (as FRR)
      return state === 'AdminDown' ? { next: 'Down', diag: BfdDiag.NoDiagnostic, cause: 'administratively enabled' } : undefined;
    case 'DetectionTimerExpired':
      // section 6.8.4: only a session in Init or Up has anything to lose
      return state === 'Init' || state === 'Up' ? { next: 'Down', diag: BfdDiag.ControlDetectionTimeExpired, cause: 'no packet from the peer within the detection time' } : undefined;
    case 'PacketReceived':
      return received(state, event.packet.state);
    default:
      return assertNever(event);
  }
}

/** Section 6.8.6, from "If bfd.SessionState is AdminDown" to the end of the state rules. */
function received(state: State, remote: BfdState): Transition | undefined {
  switch (state) {
    case 'AdminDown':
      // "Discard the packet": the handler has already counted it
      return undefined;
    case 'Down':
      if (remote === 'Down') return { next: 'Init', diag: undefined, cause: 'peer is Down: three-way handshake begins' };
      if (remote === 'Init') return { next: 'Up', diag: BfdDiag.NoDiagnostic, cause: 'peer is Init: three-way handshake complete' };
      // an Up or AdminDown peer must first see us Down (and it does: we keep sending Down)
      return undefined;
    case 'Init':
      if (remote === 'Init' || remote === 'Up') return { next: 'Up', diag: BfdDiag.NoDiagnostic, cause: `peer is ${remote}: three-way handshake complete` };
      if (remote === 'AdminDown') return { next: 'Down', diag: BfdDiag.NeighborSignaledSessionDown, cause: 'peer signalled AdminDown' };
      return undefined;
    case 'Up':
      if (remote === 'Down' || remote === 'AdminDown') return { next: 'Down', diag: BfdDiag.NeighborSignaledSessionDown, cause: `peer signalled ${remote}` };
      return undefined;
    default:
      return assertNever(state);
  }
}

function assertNever(x: never): never {
  throw new Error(`bfd fsm: unhandled ${JSON.stringify(x)}`);
}
