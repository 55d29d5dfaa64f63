/**
 * ip6-local: IPv6 packets for the router (its addresses and the link-scope groups it listens
 * to): neighbor solicitations answered in place and neighbor advertisements learned (NDP),
 * echo requests answered where the host stack cannot (another VRF, no vhost0), the rest
 * punted to vhost0. MPLS over UDP is refused over IPv6 (there are no IPv6 tunnels; ip4-local
 * decapsulates it over IPv4).
 */
import * as K from './graph-constants.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';
import { icmp6Checksum, rd32, wr32 } from './bytes.js';
import { MPLS_UDP_PORT } from '../../wire/mpls-udp.js';

export const ip6LocalNode: GraphNode = {
  id: K.N_IP6_LOCAL,
  name: 'ip6-local',
  next: [K.N_PUNT, K.N_IP6_LOOKUP, K.N_REWRITE, K.N_TX, K.N_DROP],
  drops: [K.D_MALFORMED, K.D_NOT_FOR_US, K.D_RATE_LIMITED, K.D_MULTICAST, K.D_NO_LISTENER, K.D_LOCAL_NO_PUNT, K.D_TUNNEL_SOURCE],
  counters: [K.C_CONSUMED],
  run: ip6Local,
};

function ip6Local(g: Graph): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  const w = g.work;
  const n = g.take(K.N_IP6_LOCAL, w);
  const vt = g.t.vif;
  const vhost = vt.global[0]!;
  g.refillIcmp();
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const base = i << SHIFT;
    const l3 = p.l3[i]!;
    const o = base + l3;
    const end = base + p.start[i]! + p.len[i]!;
    const nx = p.aux[i]! >>> 16;
    const l4 = o + (p.aux[i]! & 0xffff);
    const fromHost = (p.flags[i]! & K.PF_FROM_HOST) !== 0;
    const mcast = d[o + 24] === 0xff;
    const vrf = p.vrf[i]!;
    if (nx === 17 && !mcast && !fromHost && l4 + 8 <= end && ((d[l4 + 2]! << 8) | d[l4 + 3]!) === MPLS_UDP_PORT) {
      // MPLS over UDP is taken only from a tunnel endpoint (RFC 7510 section 6), and there are no IPv6 tunnels
      g.drop(i, K.D_TUNNEL_SOURCE);
      continue;
    }
    if (nx === 58 && l4 + 4 <= end) {
      const type = d[l4]!;
      if (type === 135) { neighborSolicit(g, i, o, l4, end, fromHost); continue; }
      if (type === 136) { neighborAdvert(g, i, o, l4, end, fromHost); continue; }
      if (type === 128 && (vhost < 0 || vrf !== 0) && !mcast) {
        if (g.icmpTokens < 1) { g.drop(i, K.D_RATE_LIMITED); continue; }
        g.icmpTokens--;
        // echo request to the router: answer in place, routed back in the same VRF
        for (let b = 0; b < 16; b++) { const x = d[o + 8 + b]!; d[o + 8 + b] = d[o + 24 + b]!; d[o + 24 + b] = x; }
        d[o + 7] = 64;
        d[l4] = 129;
        let c = ((d[l4 + 2]! << 8) | d[l4 + 3]!) + 0xfeff; // type 128 -> 129: -0x0100 in ones' complement
        c = (c + (c >>> 16)) & 0xffff;
        d[l4 + 2] = c >>> 8;
        d[l4 + 3] = c & 255;
        p.flags[i] = K.PF_NO_TTL | K.PF_IP6;
        if (d[o + 24] === 0xfe && (d[o + 25]! & 0xc0) === 0x80) {
          // to a link-local address: back out of the interface it came in on
          p.nh[i] = vt.glean[p.rxVif[i]!]!;
          g.enq(K.N_REWRITE, i);
        } else g.enq(K.N_IP6_LOOKUP, i);
        continue;
      }
    }
    if (vhost >= 0 && !fromHost && !mcast && vrf === 0) g.enq(K.N_PUNT, i);
    else g.drop(i, mcast ? K.D_MULTICAST : vrf !== 0 ? K.D_NO_LISTENER : K.D_LOCAL_NO_PUNT);
  }
}

function neighborSolicit(g: Graph, i: number, o: number, l4: number, end: number, fromHost: boolean): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  const vt = g.t.vif;
  const vif = p.rxVif[i]!;
  if (l4 + 24 > end || d[o + 7] !== 255 || d[l4 + 1] !== 0) { g.drop(i, K.D_MALFORMED); return; }
  const tw = g.tw;
  for (let q = 0; q < 4; q++) tw[q] = rd32(d, l4 + 8 + q * 4);
  if (!fromHost && !vt.hasAddr6(vif, tw[0]!, tw[1]!, tw[2]!, tw[3]!)) { g.drop(i, K.D_NOT_FOR_US); return; }
  // the solicitor's link-layer address: option 1, else the frame's source MAC
  const tmp = g.tmp;
  const ethSrc = (i << SHIFT) + p.start[i]! + 6;
  for (let b = 0; b < 6; b++) tmp[b] = d[ethSrc + b]!;
  for (let op = l4 + 24; op + 8 <= end; ) {
    const ol = d[op + 1]! << 3;
    if (ol === 0) { g.drop(i, K.D_MALFORMED); return; }
    if (d[op] === 1) for (let b = 0; b < 6; b++) tmp[b] = d[op + 2 + b]!;
    op += ol;
  }
  const unspec = rd32(d, o + 8) === 0 && rd32(d, o + 12) === 0 && rd32(d, o + 16) === 0 && rd32(d, o + 20) === 0;
  // the host's duplicate address detection on vhost0 must not see an answer
  if (unspec && fromHost) { g.drop(i, K.D_NOT_FOR_US); return; }
  if (!unspec && !fromHost) g.learn(vif, 6, rd32(d, o + 8), rd32(d, o + 12), rd32(d, o + 16), rd32(d, o + 20), tmp, 0);
  // build the NA in place: reply to the source (all-nodes for DAD probes)
  if (unspec) {
    wr32(d, o + 24, 0xff020000); wr32(d, o + 28, 0); wr32(d, o + 32, 0); wr32(d, o + 36, 1);
  } else {
    for (let b = 0; b < 16; b++) d[o + 24 + b] = d[o + 8 + b]!;
  }
  for (let q = 0; q < 4; q++) wr32(d, o + 8 + q * 4, tw[q]!);
  wr32(d, o, 0x60000000);
  d[o + 4] = 0; d[o + 5] = 32; d[o + 6] = 58; d[o + 7] = 255;
  const ic = o + 40;
  d[ic] = 136; d[ic + 1] = 0; d[ic + 2] = 0; d[ic + 3] = 0;
  d[ic + 4] = unspec ? 0xa0 : 0xe0; d[ic + 5] = 0; d[ic + 6] = 0; d[ic + 7] = 0;
  for (let q = 0; q < 4; q++) wr32(d, ic + 8 + q * 4, tw[q]!);
  d[ic + 24] = 2; d[ic + 25] = 1;
  for (let b = 0; b < 6; b++) d[ic + 26 + b] = vt.mac[vif * 6 + b]!;
  icmp6Checksum(d, o, 32);
  p.start[i] = p.l3[i]!;
  p.len[i] = 72;
  g.eth(i, vif, tmp, 0, 0x86dd);
  p.txVif[i] = vif;
  g.enq(K.N_TX, i);
}

function neighborAdvert(g: Graph, i: number, o: number, l4: number, end: number, fromHost: boolean): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  if (l4 + 24 > end || d[o + 7] !== 255 || fromHost) { g.drop(i, fromHost ? K.D_NOT_FOR_US : K.D_MALFORMED); return; }
  const tmp = g.tmp;
  const ethSrc = (i << SHIFT) + p.start[i]! + 6;
  for (let b = 0; b < 6; b++) tmp[b] = d[ethSrc + b]!;
  for (let op = l4 + 24; op + 8 <= end; ) {
    const ol = d[op + 1]! << 3;
    if (ol === 0) { g.drop(i, K.D_MALFORMED); return; }
    if (d[op] === 2) for (let b = 0; b < 6; b++) tmp[b] = d[op + 2 + b]!;
    op += ol;
  }
  g.learn(p.rxVif[i]!, 6, rd32(d, l4 + 8), rd32(d, l4 + 12), rd32(d, l4 + 16), rd32(d, l4 + 20), tmp, 0);
  g.consume(i);
}

