/**
 * The adjacency state machines, as pure functions (STYLE.md rule 5: the states and every
 * transition written out in one place).
 *
 * Point-to-point, RFC 5303 section 3.2 (three-way handshake), our state against the state
 * the neighbour reports in its P2P Three-Way Adjacency TLV (240):
 *
 *                     received Down   received Initializing   received Up
 *   Down              Initializing    Up                      Down (stays)
 *   Initializing      Initializing    Up                      Up
 *   Up                Initializing    Up (accept)             Up (accept)
 *
 * A received TLV that names another system or another circuit of ours as the neighbour's
 * neighbour counts as Down (RFC 5303 3.3: it is not talking to us on this circuit). A
 * neighbour without the TLV (ISO 10589 two-way) brings the adjacency up at once.
 *
 * LAN (ISO 10589 8.4.2): the adjacency is Initializing until the neighbour lists our MAC in
 * its IS Neighbors TLV (6), then Up; it goes back to Initializing when our MAC disappears.
 */
import { AdjacencyState as Tlv240 } from '../../../wire/isis/index.js';
import type { AdjacencyState } from './instance.js';

/** The RFC 5303 state after a hello whose TLV 240 says `received` (undefined: no TLV). */
export function p2pTransition(current: AdjacencyState, received: number | undefined): AdjacencyState {
  if (received === undefined) return 'up';
  switch (current) {
    case 'down':
      return received === Tlv240.Down ? 'initializing' : received === Tlv240.Initializing ? 'up' : 'down';
    case 'initializing':
      return received === Tlv240.Down ? 'initializing' : 'up';
    case 'up':
      return received === Tlv240.Down ? 'initializing' : 'up';
  }
}

/** The LAN adjacency state after a hello that does (or does not) list our MAC. */
export function lanTransition(_current: AdjacencyState, listsUs: boolean): AdjacencyState {
  return listsUs ? 'up' : 'initializing';
}

/** Our state as the TLV 240 value we send. */
export function tlv240State(s: AdjacencyState): number {
  return s === 'up' ? Tlv240.Up : s === 'initializing' ? Tlv240.Initializing : Tlv240.Down;
}
