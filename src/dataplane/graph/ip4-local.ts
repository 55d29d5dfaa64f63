/**
 * ip4-local: IPv4 packets for one of the router's addresses: MPLS over UDP from a tunnel
 * endpoint decapsulated into mpls-input, the rest punted to vhost0 in the default VRF; in
 * other VRFs (or without vhost0) echo requests answered, everything else dropped.
 */
import * as K from './graph-constants.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';
import { foldSum, ipv4Checksum, rd32, sum16, wr32 } from './bytes.js';
import { MPLS_UDP_PORT } from '../../wire/mpls-udp.js';

export const ip4LocalNode: GraphNode = {
  id: K.N_IP4_LOCAL,
  name: 'ip4-local',
  next: [K.N_MPLS_IN, K.N_PUNT, K.N_IP4_LOOKUP, K.N_DROP],
  drops: [K.D_LOCAL_NO_PUNT, K.D_NO_LISTENER, K.D_RATE_LIMITED, K.D_TUNNEL_SOURCE, K.D_MALFORMED, K.D_BAD_CHECKSUM],
  counters: [],
  run: ip4Local,
};

/**
 * Packets for one of the router's addresses in their VRF. MPLS over UDP (RFC 7510, port
 * 6635) continues at mpls-input with the inner label stack. In the default VRF the rest
 * goes to vhost0. In any other VRF (the host stack has no VRFs), or without vhost0, the
 * router answers ICMP echo requests itself (rate-limited like the ICMP errors) and drops
 * everything else.
 */
function ip4Local(g: Graph): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  const w = g.work;
  const n = g.take(K.N_IP4_LOCAL, w);
  const vhost = g.t.vif.global[0]!;
  g.refillIcmp();
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const o = (i << SHIFT) + p.l3[i]!;
    const ihl = (d[o]! & 15) << 2;
    const tot = (d[o + 2]! << 8) | d[o + 3]!;
    const frag = ((d[o + 6]! & 0x3f) << 8) | d[o + 7]!;
    const proto = d[o + 9]!;
    if (proto === 17 && frag === 0 && tot >= ihl + 8 && ((d[o + ihl + 2]! << 8) | d[o + ihl + 3]!) === MPLS_UDP_PORT) {
      mplsUdp(g, i, o, o + ihl, tot - ihl);
      continue;
    }
    const vrf = p.vrf[i]!;
    if (vhost >= 0 && vrf === 0) { g.enq(K.N_PUNT, i); continue; }
    if (proto !== 1 || frag !== 0 || tot < ihl + 8 || d[o + ihl] !== 8) { g.drop(i, vrf !== 0 ? K.D_NO_LISTENER : K.D_LOCAL_NO_PUNT); continue; }
    if (g.icmpTokens < 1) { g.drop(i, K.D_RATE_LIMITED); continue; }
    g.icmpTokens--;
    // ICMP echo request to the router: answer in place, routed back in the same VRF
    const src = rd32(d, o + 12);
    wr32(d, o + 12, rd32(d, o + 16));
    wr32(d, o + 16, src);
    d[o + 8] = 64;
    ipv4Checksum(d, o, ihl);
    const ic = o + ihl;
    d[ic] = 0;
    let c = ((d[ic + 2]! << 8) | d[ic + 3]!) + 0x0800; // type 8 -> 0
    c = (c + (c >>> 16)) & 0xffff;
    d[ic + 2] = c >>> 8;
    d[ic + 3] = c & 255;
    p.flags[i] = K.PF_NO_TTL;
    g.enq(K.N_IP4_LOOKUP, i);
  }
}

/**
 * MPLS over UDP (RFC 7510) to the router: o is the IP header, u the UDP header, avail the
 * bytes of the IP payload. Accepted only from the tunnel endpoint of some mpls-udp next hop
 * (RFC 7510 section 6: a decapsulator that took it from anyone would let any host put
 * packets into a VPN by guessing a label); ip6-local refuses it (there are no IPv6
 * tunnels). The UDP length must cover the header and at least one label and fit the IP
 * payload; a checksum other than zero must be right. The source port (flow entropy) is not
 * looked at. The outer headers are stripped and the label stack goes to mpls-input in the
 * VRF the packet arrived in (explicit null looks up there).
 */
function mplsUdp(g: Graph, i: number, o: number, u: number, avail: number): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  if (!g.t.nh.hasPeer(rd32(d, o + 12))) { g.drop(i, K.D_TUNNEL_SOURCE); return; }
  const ulen = (d[u + 4]! << 8) | d[u + 5]!;
  if (ulen < 12 || ulen > avail) { g.drop(i, K.D_MALFORMED); return; }
  if (((d[u + 6]! << 8) | d[u + 7]!) !== 0) {
    // pseudo-header: source, destination, protocol 17, UDP length
    const ph = (d[o + 12]! << 8 | d[o + 13]!) + (d[o + 14]! << 8 | d[o + 15]!) + (d[o + 16]! << 8 | d[o + 17]!) + (d[o + 18]! << 8 | d[o + 19]!) + 17 + ulen;
    if (foldSum(sum16(d, u, ulen, ph)) !== 0) { g.drop(i, K.D_BAD_CHECKSUM); return; }
  }
  const base = i << SHIFT;
  p.l3[i] = u + 8 - base;
  p.len[i] = u + ulen - base - p.start[i]!;
  p.flags[i] = K.PF_MPLS;
  g.enq(K.N_MPLS_IN, i);
}

