/**
 * Sizes the graph and its nodes share. Hot code does not read these imports per packet (an
 * import is a module cell V8 loads and checks at each use): each file copies what it needs
 * into consts of its own module, or of the closure scope the fast path runs in. The slot
 * size is the pool's (chosen per data plane): a node reads pool.shift once per burst, the fast
 * path binds it as a const of its closure.
 */

/** packets per node queue and per vif tx queue */
export const CAP = 1024;
/** room that must stay in front of an L3 header for labels, outer IP/UDP and Ethernet */
export const MIN_FRONT = 80;
/** labels an ICMP error quotes from an expired MPLS packet (RFC 4950) */
export const MAX_QUOTED_LABELS = 8;
