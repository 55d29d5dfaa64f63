/**
 * ip6-input: IPv6 header checks, Ethernet padding dropped, the extension header chain walked
 * to the upper layer (kept in aux for ECMP, NDP and ICMP errors). Multicast goes to ip6-local
 * only for the link-scope groups the router listens to; link-local destinations are never
 * routed.
 */
import * as K from './graph-constants.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';
import { rd32 } from './bytes.js';

export const ip6InputNode: GraphNode = {
  id: K.N_IP6_IN,
  name: 'ip6-input',
  next: [K.N_IP6_LOOKUP, K.N_IP6_LOCAL, K.N_DROP],
  drops: [K.D_TRUNCATED, K.D_BAD_VERSION, K.D_BAD_LENGTH, K.D_BAD_EXT_HEADER, K.D_MULTICAST, K.D_NOT_FOR_US],
  counters: [],
  run: ip6Input,
};

function ip6Input(g: Graph): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  const w = g.work;
  const n = g.take(K.N_IP6_IN, w);
  const vt = g.t.vif;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const base = i << SHIFT;
    const l3 = p.l3[i]!;
    const o = base + l3;
    const avail = p.start[i]! + p.len[i]! - l3;
    if (avail < 40) { g.drop(i, K.D_TRUNCATED); continue; }
    if (d[o]! >> 4 !== 6) { g.drop(i, K.D_BAD_VERSION); continue; }
    const plen = (d[o + 4]! << 8) | d[o + 5]!;
    const total = 40 + plen;
    if (total > avail) { g.drop(i, K.D_BAD_LENGTH); continue; }
    p.len[i] = l3 - p.start[i]! + total;
    // walk the extension headers to the upper layer (for ECMP, NDP, ICMP errors)
    let nx = d[o + 6]!;
    let off = 40;
    let bad = false;
    for (let h = 0; h < 8; h++) {
      if (nx === 0 || nx === 43 || nx === 60 || nx === 44 || nx === 51) {
        if (off + 8 > total) { bad = true; break; }
        const hl = nx === 44 ? 8 : nx === 51 ? (d[o + off + 1]! + 2) << 2 : (d[o + off + 1]! + 1) << 3;
        nx = d[o + off]!;
        off += hl;
        if (off > total) { bad = true; break; }
      } else break;
      if (h === 7) bad = true;
    }
    if (bad) { g.drop(i, K.D_BAD_EXT_HEADER); continue; }
    p.aux[i] = (nx << 16) | off;
    const vif = p.rxVif[i]!;
    const b0 = d[o + 24]!;
    if (b0 === 0xff) {
      // link-scope groups the router listens to: all-nodes, all-routers, solicited-node
      const m2 = rd32(d, o + 32);
      const m3 = rd32(d, o + 36);
      const linkScope = d[o + 25] === 2 && d[o + 26] === 0 && d[o + 27] === 0 && rd32(d, o + 28) === 0;
      if (linkScope && ((m2 === 0 && (m3 === 1 || m3 === 2)) || (m2 === 1 && m3 >>> 24 === 0xff))) g.enq(K.N_IP6_LOCAL, i);
      else g.drop(i, K.D_MULTICAST);
      continue;
    }
    if (b0 === 0xfe && (d[o + 25]! & 0xc0) === 0x80) {
      // link-local destination: never routed
      if ((p.flags[i]! & K.PF_FROM_HOST) !== 0 || vt.hasAddr6(vif, rd32(d, o + 24), rd32(d, o + 28), rd32(d, o + 32), rd32(d, o + 36))) g.enq(K.N_IP6_LOCAL, i);
      else g.drop(i, K.D_NOT_FOR_US);
      continue;
    }
    g.enq(K.N_IP6_LOOKUP, i);
  }
}

