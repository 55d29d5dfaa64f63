/**
 * The declared shape of the forwarding graph: node ids, the drop reasons (one table, with
 * the node that counts each), per-packet flags and the layout of the per-worker counters.
 * Everything numeric, so the hot loop compares small integers, never strings.
 */
import { MAX_ACL_RULES } from '../tables/acl-table.js';

export const N_ETH_IN = 0;
export const N_ARP = 1;
export const N_IP4_IN = 2;
export const N_IP4_LOOKUP = 3;
export const N_IP4_LOCAL = 4;
export const N_IP6_IN = 5;
export const N_IP6_LOOKUP = 6;
export const N_IP6_LOCAL = 7;
export const N_MPLS_IN = 8;
export const N_ACL = 9;
export const N_REWRITE = 10;
export const N_PUNT = 11;
export const N_ICMP_ERROR = 12;
export const N_DROP = 13;
export const N_TX = 14;
/** link-layer control frames (OSI: IS-IS) to the main thread, for the controller (frame-punt.ts) */
export const N_FRAME_PUNT = 15;
/** L2 switching (l2-input.ts, l2-forward.ts, l2-output.ts; docs/l2.md) */
export const N_L2_INPUT = 16;
export const N_L2_FORWARD = 17;
export const N_L2_OUTPUT = 18;
/** output filters (acl-out.ts): between rewrite and tx while some vif has one */
export const N_ACL_OUT = 19;
export const N_NODES = 20;

export const NODE_NAMES = [
  'ethernet-input', 'arp', 'ip4-input', 'ip4-lookup', 'ip4-local', 'ip6-input', 'ip6-lookup', 'ip6-local',
  'mpls-input', 'acl', 'rewrite', 'punt', 'icmp-error', 'drop', 'tx', 'frame-punt',
  'l2-input', 'l2-forward', 'l2-output', 'acl-out',
];

/** Drop reasons: [name, node that counts it, meaning]. The index is the reason code. */
export const DROP_REASONS = [
  ['truncated', 'ethernet-input', 'frame shorter than its headers'],
  ['no_vif', 'ethernet-input', 'received on or sent to an interface that is not up'],
  ['vlan_mismatch', 'ethernet-input', '802.1Q tag does not match the vif'],
  ['not_for_us', 'ethernet-input', 'unicast to another MAC, ARP/NS for an address we do not own'],
  ['unknown_ethertype', 'ethernet-input', 'not IPv4, IPv6, ARP or MPLS'],
  ['oversize', 'ethernet-input', 'frame larger than the vif MTU'],
  ['malformed', 'arp', 'bad ARP/NDP fields; MPLS over UDP with a bad UDP length or no label'],
  ['bad_version', 'ip4-input', 'IP version does not match the EtherType'],
  ['bad_ihl', 'ip4-input', 'IPv4 header length below 20 or beyond the frame'],
  ['bad_length', 'ip4-input', 'IP total/payload length beyond the frame'],
  ['bad_checksum', 'ip4-input', 'IPv4 header checksum; the UDP checksum of MPLS over UDP (ip4-local)'],
  ['bad_ext_header', 'ip6-input', 'IPv6 extension header chain runs past the packet or is too long'],
  ['multicast', 'ip4-input', 'multicast/broadcast destination (not routed)'],
  ['no_route', 'ip4-lookup', 'no matching route'],
  ['ttl_exceeded', 'ip4-lookup', 'TTL/hop limit would expire'],
  ['discard', 'ip4-lookup', 'discard next hop'],
  ['reject', 'ip4-lookup', 'reject next hop (ICMP unreachable sent)'],
  ['vrf_loop', 'ip4-lookup', 'too many VRF translations'],
  ['local_loop', 'ip4-lookup', 'host stack sent to the router\'s own address'],
  ['local_no_punt', 'ip4-local', 'for the router, not handled inline and no vhost0'],
  ['no_listener', 'ip4-local', 'for the router\'s address in a VRF other than the default (only echo is answered there)'],
  ['rate_limited', 'ip4-local', 'echo request to the router beyond the ICMP rate limit'],
  ['tunnel_source', 'ip4-local', 'MPLS over UDP from an address that is no mpls-udp next hop\'s tunnel endpoint (RFC 7510 section 6)'],
  ['invalid_label', 'mpls-input', 'no ILM entry or reserved label'],
  ['mpls_no_bos', 'mpls-input', 'label stack without bottom-of-stack'],
  ['acl_deny', 'acl', 'denied by a filter'],
  ['arp_unresolved', 'rewrite', 'next hop MAC not resolved and no room to hold the packet until it is (request sent, rate-limited)'],
  ['mtu_exceeded', 'rewrite', 'larger than the outgoing MTU'],
  ['bad_nexthop', 'rewrite', 'next hop of an unusable type (removed while in flight)'],
  ['pool_empty', 'tx', 'no free buffer'],
  ['tx_full', 'tx', 'transmit ring full'],
  ['internal_error', 'graph', 'in a burst a node failed on (a bug; see the exceptions counter)'],
  // counted by the drivers, before a frame reaches the graph (copied in by the engine: worker/engine.ts)
  ['rx_ring_drop', 'driver', 'dropped by the kernel before the vRouter saw it: receive ring full (PACKET_STATISTICS tp_drops; AF_XDP rx_dropped and rx_ring_full)'],
  ['rx_too_big', 'driver', 'received frame larger than a packet buffer'],
  ['rx_no_buffer', 'driver', 'no free packet buffer for a received frame'],
  ['gso_unsupported', 'driver', 'GSO super-frame of a kind not segmented (UFO, tunnels) or with headers that contradict it'],
  ['rx_invalid_desc', 'driver', 'AF_XDP descriptor the kernel refused as invalid'],
  ['frame_punt_limited', 'frame-punt', 'OSI (IS-IS) frame beyond the punt rate limit or with the worker\'s punt buffer full'],
  // L2 switching (docs/l2.md)
  ['l2_no_domain', 'l2-input', 'bridge port frame in a VLAN that no bridge domain has (or untagged on a trunk without a native VLAN)'],
  ['l2_vlan_not_allowed', 'l2-input', 'tagged with a VLAN the bridge port does not carry (any tag on an access port)'],
  ['l2_bad_source', 'l2-input', 'source MAC multicast, broadcast or zero'],
  ['mac_limit', 'l2-input', 'source MAC not learned: the interface\'s or the bridge domain\'s MAC limit is reached'],
  ['storm_control', 'l2-forward', 'broadcast, multicast or unknown unicast beyond the port\'s storm-control rate'],
  ['l2_same_port', 'l2-forward', 'destination MAC learned on the port the frame came in on (filtered, as a switch does)'],
  ['no_local_switching', 'l2-forward', 'between two ports marked no-local-switching'],
  ['l2_no_ports', 'l2-forward', 'flooded in a bridge domain with no other port to send it to'],
  ['l2_filter_discard', 'l2-input', 'discarded by the bridge port\'s input filter (firewall family bridge: a discard term, or no term matched)'],
  // IP firewall filters (docs/filters.md)
  ['acl_reject', 'acl', 'rejected by an input filter (ICMP unreachable, administratively prohibited, sent)'],
  ['acl_out_deny', 'acl-out', 'discarded by the outgoing interface\'s output filter (a discard term, or no term matched)'],
  ['acl_out_reject', 'acl-out', 'rejected by an output filter (ICMP unreachable, administratively prohibited, sent)'],
  ['l2_filter_out_discard', 'l2-output', 'discarded by the bridge port\'s output filter (firewall family bridge: a discard term, or no term matched)'],
  // neighbour resolution (graph.ts hold)
  ['arp_hold_timeout', 'rewrite', 'held while its next hop\'s MAC was resolved, and the ARP/NDP answer did not come in time (3 s)'],
] as const;

export const DROP_NAMES: string[] = DROP_REASONS.map((r) => r[0]);
const reason = (name: (typeof DROP_REASONS)[number][0]): number => DROP_NAMES.indexOf(name);

export const D_TRUNCATED = reason('truncated');
export const D_NO_VIF = reason('no_vif');
export const D_VLAN_MISMATCH = reason('vlan_mismatch');
export const D_NOT_FOR_US = reason('not_for_us');
export const D_UNKNOWN_ETHERTYPE = reason('unknown_ethertype');
export const D_OVERSIZE = reason('oversize');
export const D_MALFORMED = reason('malformed');
export const D_BAD_VERSION = reason('bad_version');
export const D_BAD_IHL = reason('bad_ihl');
export const D_BAD_LENGTH = reason('bad_length');
export const D_BAD_CHECKSUM = reason('bad_checksum');
export const D_BAD_EXT_HEADER = reason('bad_ext_header');
export const D_MULTICAST = reason('multicast');
export const D_NO_ROUTE = reason('no_route');
export const D_TTL_EXCEEDED = reason('ttl_exceeded');
export const D_DISCARD = reason('discard');
export const D_REJECT = reason('reject');
export const D_VRF_LOOP = reason('vrf_loop');
export const D_LOCAL_LOOP = reason('local_loop');
export const D_LOCAL_NO_PUNT = reason('local_no_punt');
export const D_NO_LISTENER = reason('no_listener');
export const D_RATE_LIMITED = reason('rate_limited');
export const D_TUNNEL_SOURCE = reason('tunnel_source');
export const D_INVALID_LABEL = reason('invalid_label');
export const D_MPLS_NO_BOS = reason('mpls_no_bos');
export const D_ACL_DENY = reason('acl_deny');
export const D_ARP_UNRESOLVED = reason('arp_unresolved');
export const D_MTU_EXCEEDED = reason('mtu_exceeded');
export const D_BAD_NEXTHOP = reason('bad_nexthop');
export const D_POOL_EMPTY = reason('pool_empty');
export const D_TX_FULL = reason('tx_full');
export const D_INTERNAL_ERROR = reason('internal_error');
export const D_RX_RING_DROP = reason('rx_ring_drop');
export const D_RX_TOO_BIG = reason('rx_too_big');
export const D_RX_NO_BUFFER = reason('rx_no_buffer');
export const D_GSO_UNSUPPORTED = reason('gso_unsupported');
export const D_RX_INVALID_DESC = reason('rx_invalid_desc');
export const D_FRAME_PUNT_LIMITED = reason('frame_punt_limited');
export const D_L2_NO_DOMAIN = reason('l2_no_domain');
export const D_L2_VLAN_NOT_ALLOWED = reason('l2_vlan_not_allowed');
export const D_L2_BAD_SOURCE = reason('l2_bad_source');
export const D_MAC_LIMIT = reason('mac_limit');
export const D_STORM_CONTROL = reason('storm_control');
export const D_L2_SAME_PORT = reason('l2_same_port');
export const D_NO_LOCAL_SWITCHING = reason('no_local_switching');
export const D_L2_NO_PORTS = reason('l2_no_ports');
export const D_L2_FILTER_DISCARD = reason('l2_filter_discard');
export const D_ACL_REJECT = reason('acl_reject');
export const D_ACL_OUT_DENY = reason('acl_out_deny');
export const D_ACL_OUT_REJECT = reason('acl_out_reject');
export const D_L2_FILTER_OUT_DISCARD = reason('l2_filter_out_discard');
export const D_ARP_HOLD_TIMEOUT = reason('arp_hold_timeout');
export const N_DROP_REASONS = DROP_REASONS.length;

/** per-packet flags (pool.flags) */
/** do not check/decrement TTL (originated by the router, from the host, or MPLS disposition) */
export const PF_NO_TTL = 1;
export const PF_IP6 = 2;
/** the bytes at l3 are an MPLS label stack */
export const PF_MPLS = 4;
export const PF_FROM_HOST = 8;
/** an ICMP error the router built: never answer it with another */
export const PF_ICMP_GEN = 16;
/** an MPLS packet whose TTL expired: l3 is the IPv4 payload, aux's low 16 bits the label stack's offset (RFC 4950) */
export const PF_LSE = 32;
/**
 * its TCP checksum was computed here, from its bytes (io/gso.ts cutting a super-frame): a
 * driver merging segments again (io/tcp-coalesce.ts) need not verify it. No node changes TCP
 * bytes; ethernet-input keeps the bit, every other assignment of the flags drops it.
 */
export const PF_CSUM_SELF = 64;
/**
 * ip-lookup found an IP packet's route to one plain next hop (encap, neighbor or glean; no
 * composite, no VRF hop): rewrite may give its destination to the kernel fast path (kfast).
 */
export const PF_KFAST = 128;

/** Counters of one worker, a Float64Array in a SharedArrayBuffer the main thread sums. */
export const C_RX = 0;
export const C_TX = 1;
export const C_PUNT = 2;
/** frames the router created (ARP/NDP requests) */
export const C_GENERATED = 3;
/** ARP replies and NAs that only taught us a MAC */
export const C_CONSUMED = 4;
export const C_ICMP_SENT = 5;
export const C_ICMP_SUPPRESSED = 6;
export const C_NEIGHBOR_REQUESTS = 7;
export const C_BURSTS = 8;
/** frames handed to the worker that owns the outgoing vif, and received that way */
export const C_HANDOFF_OUT = 9;
export const C_HANDOFF_IN = 10;
/** bursts abandoned because a node threw (a bug): their packets are counted as drops (internal_error) */
export const C_EXCEPTIONS = 11;
/** times an idle worker went to sleep (on its sockets, or for 1 ms when a vif has no fd) */
export const C_IDLE_SLEEPS = 12;
/** link-layer control frames (OSI: IS-IS) handed to the main thread for the controller */
export const C_FRAMES_PUNTED = 13;
/** copies of a frame that L2 flooding made (beyond the frame itself): counted like generated frames */
export const C_L2_FLOOD_COPIES = 14;
/** MAC learn and move events the workers posted to the main thread */
export const C_MAC_LEARN_EVENTS = 15;
/** switched frames the fused L2 fast path took (l2-fast-path.ts); the rest went through the l2 nodes */
export const C_L2_FAST_PATH = 16;
export const GLOBAL_COUNTERS = ['rx', 'tx', 'punt', 'generated', 'consumed', 'icmp_sent', 'icmp_suppressed', 'neighbor_requests', 'bursts', 'handoff_out', 'handoff_in', 'exceptions', 'idle_sleeps', 'frames_punted', 'l2_flood_copies', 'mac_learn_events', 'l2_fast_path'];
export const STATS_DROP_BASE = 17;

/** per vif: rx packets, rx bytes, tx packets, tx bytes, drops (counted on the receiving vif) */
export const VIF_STRIDE = 5;

/** ACL hit counters per vif: one per rule, then one for packets no rule matched (denied) */
export const ACL_STRIDE = MAX_ACL_RULES + 1;

/**
 * Driver I/O counters per vif (io/driver.ts IoCounters, copied in by the engine), in this
 * order; the ones that are drops also count under the drop reason named beside them and in
 * the vif's drops.
 */
export const IO_COUNTERS = [
  ['kernelDrops', 'rx_ring_drop'],
  ['rxTooBig', 'rx_too_big'],
  ['rxNoBuffer', 'rx_no_buffer'],
  ['gsoUnsupported', 'gso_unsupported'],
  ['invalidDescs', 'rx_invalid_desc'],
  // already a tx_full drop in the graph's own count: not counted twice
  ['txRingFull', null],
  ['gsoFrames', null],
  ['gsoSegments', null],
  ['csumCompleted', null],
  ['poolEmpty', null],
  ['fillRingEmpty', null],
  ['txRingEmpty', null],
  ['txGsoFrames', null],
  ['txGsoSegments', null],
  ['carried', null],
  ['carriedSegments', null],
  ['txCarried', null],
  ['txCarriedSegments', null],
] as const;
export const IO_STRIDE = IO_COUNTERS.length;

/**
 * L2 counters per bridge port, counted on the port that received the frame (`show interfaces IF
 * extensive`): frames it brought that were flooded, the copies flooding made of them, then its
 * frames dropped for each L2 reason (L2_PORT_DROPS, counted by the drop node).
 */
export const L2_PORT_DROPS = [D_L2_NO_DOMAIN, D_L2_VLAN_NOT_ALLOWED, D_L2_BAD_SOURCE, D_MAC_LIMIT, D_STORM_CONTROL, D_L2_SAME_PORT, D_NO_LOCAL_SWITCHING, D_L2_NO_PORTS, D_L2_FILTER_DISCARD];
export const L2_PORT_COUNTERS = ['flooded', 'flood_copies', ...L2_PORT_DROPS.map((r) => DROP_NAMES[r]!)];
export const L2_PORT_STRIDE = L2_PORT_COUNTERS.length;
export const L2_PORT_FLOODED = 0;
export const L2_PORT_FLOOD_COPIES = 1;
/** per drop reason: its slot in a port's L2 counters, or -1 (not an L2 reason) */
export const L2_PORT_DROP_SLOT = Int8Array.from({ length: N_DROP_REASONS }, (_, r) => {
  const k = L2_PORT_DROPS.indexOf(r);
  return k < 0 ? -1 : 2 + k;
});

/**
 * aclOutBase: the output filters' hit counters, laid out as the input ones (ACL_STRIDE per
 * vif); aclBytesBase, aclOutBytesBase: the IP bytes of those hits (inet and inet6 rules: the
 * packets' IP total length; bridge rules count no bytes), laid out the same way.
 */
export function statsLayout(maxVifs: number, maxVrfs: number): { vifBase: number; vrfBase: number; aclBase: number; ioBase: number; aclOutBase: number; aclBytesBase: number; aclOutBytesBase: number; l2Base: number; size: number } {
  const vifBase = STATS_DROP_BASE + N_DROP_REASONS;
  const vrfBase = vifBase + maxVifs * VIF_STRIDE;
  const aclBase = vrfBase + maxVrfs * 2;
  const ioBase = aclBase + maxVifs * ACL_STRIDE;
  const aclOutBase = ioBase + maxVifs * IO_STRIDE;
  const aclBytesBase = aclOutBase + maxVifs * ACL_STRIDE;
  const aclOutBytesBase = aclBytesBase + maxVifs * ACL_STRIDE;
  const l2Base = aclOutBytesBase + maxVifs * ACL_STRIDE;
  return { vifBase, vrfBase, aclBase, ioBase, aclOutBase, aclBytesBase, aclOutBytesBase, l2Base, size: l2Base + maxVifs * L2_PORT_STRIDE };
}
