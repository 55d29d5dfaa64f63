/**
 * Sizes the graph and its nodes share. Hot code does not read these imports per packet (an
 * import is a module cell V8 loads and checks at each use): each file copies what it needs
 * into consts of its own module, or of the closure scope the fast path runs in.
 */
import { SLOT_SIZE } from '../pool.js';

/** packets per node queue and per vif tx queue */
export const CAP = 1024;
/** log2(SLOT_SIZE): a packet's slot starts at index << SHIFT in the pool's bytes */
export const SHIFT = 11;
if (1 << SHIFT !== SLOT_SIZE) throw new Error('graph assumes 2048-byte slots');
/** room that must stay in front of an L3 header for labels, outer IP/UDP and Ethernet */
export const MIN_FRONT = 80;
/** labels an ICMP error quotes from an expired MPLS packet (RFC 4950) */
export const MAX_QUOTED_LABELS = 8;
