/**
 * mpls-input: the label stack of MPLS frames (and of MPLS over UDP after ip4-local took the
 * outer headers off): swap toward a next hop, pop and look up in a VRF, penultimate hop
 * popping; TTL handled in the uniform model (RFC 3443), an expired IPv4 payload answered with
 * an ICMP time exceeded quoting the stack (RFC 4950).
 */
import * as K from './graph-constants.js';
import * as L from './limits.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';
import { rd32, setTtl4, wr32 } from './bytes.js';
import { ILM_PHP, ILM_POP_LOOKUP, ILM_SWAP } from '../tables/label-table.js';
import { MAX_LABELS } from '../tables/nexthop-table.js';

const MIN_FRONT = L.MIN_FRONT;
const MAX_QUOTED_LABELS = L.MAX_QUOTED_LABELS;

export const mplsInputNode: GraphNode = {
  id: K.N_MPLS_IN,
  name: 'mpls-input',
  next: [K.N_REWRITE, K.N_IP4_IN, K.N_IP6_IN, K.N_ICMP_ERROR, K.N_DROP],
  drops: [K.D_TRUNCATED, K.D_MPLS_NO_BOS, K.D_TTL_EXCEEDED, K.D_INVALID_LABEL, K.D_MALFORMED],
  counters: [],
  run: mplsInput,
};

function mplsInput(g: Graph): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  const w = g.work;
  const n = g.take(K.N_MPLS_IN, w);
  const lt = g.t.label;
  const index = lt.index;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const base = i << SHIFT;
    const end = base + p.start[i]! + p.len[i]!;
    let o = base + p.l3[i]!;
    // the stack must end (bottom-of-stack) inside the frame
    let bos = o;
    while (bos + 4 <= end && (d[bos + 2]! & 1) === 0) bos += 4;
    if (bos + 4 > end) { g.drop(i, o + 4 > end ? K.D_TRUNCATED : K.D_MPLS_NO_BOS); continue; }
    for (;;) {
      const word = rd32(d, o);
      const label = word >>> 12;
      const s = (word >>> 8) & 1;
      const ttl = word & 255;
      if (ttl <= 1) {
        // an IPv4 payload earns its source an ICMP time exceeded that quotes the label stack (RFC 3443, RFC 4950)
        const ip = bos + 4;
        if (ip + 20 <= end && d[ip]! >> 4 === 4 && bos + 4 - o <= 4 * MAX_QUOTED_LABELS) {
          p.l3[i] = ip - base;
          p.flags[i] = K.PF_LSE;
          g.icmp(i, K.D_TTL_EXCEEDED, 11, 0, o - base);
        } else g.drop(i, K.D_TTL_EXCEEDED);
        break;
      }
      let e = 0;
      let act = 0;
      if (label < 16) {
        if (label !== 0 && label !== 2) { g.drop(i, K.D_INVALID_LABEL); break; }
        act = ILM_POP_LOOKUP; // explicit null: pop and look up in the interface's VRF
      } else {
        e = index[label]!;
        if (e === 0) { g.drop(i, K.D_INVALID_LABEL); break; }
        act = lt.action[e]!;
      }
      if (act === ILM_SWAP) {
        const nout = lt.nout[e]!;
        const top = o + 4 - 4 * nout;
        if (top - base < MIN_FRONT) { g.drop(i, K.D_MALFORMED); break; }
        const tc = word & 0xe00;
        for (let q = 0; q < nout; q++) {
          wr32(d, top + q * 4, ((lt.out[e * MAX_LABELS + q]! << 12) | tc | (q === nout - 1 ? s << 8 : 0) | (ttl - 1)) >>> 0);
        }
        p.l3[i] = top - base;
        p.flags[i] = K.PF_MPLS;
        p.nh[i] = lt.nh[e]!;
        g.enq(K.N_REWRITE, i);
        break;
      }
      if (act === ILM_POP_LOOKUP || act === ILM_PHP) {
        o += 4;
        p.l3[i] = o - base;
        if (act === ILM_POP_LOOKUP && e !== 0) p.vrf[i] = lt.vrf[e]!;
        if (s === 0) {
          // uniform model (RFC 3443): the exposed label inherits the decremented TTL
          const nt = d[o + 3]!;
          if (ttl - 1 < nt) d[o + 3] = ttl - 1;
          if (act === ILM_PHP) {
            p.nh[i] = lt.nh[e]!;
            g.enq(K.N_REWRITE, i);
            break;
          }
          continue;
        }
        if (o + 1 > end) { g.drop(i, K.D_TRUNCATED); break; }
        const ver = d[o]! >> 4;
        if (ver === 4) {
          if (o + 20 > end) { g.drop(i, K.D_TRUNCATED); break; }
          if (d[o + 8]! > ttl - 1) setTtl4(d, o, ttl - 1);
          p.flags[i] = K.PF_NO_TTL;
        } else if (ver === 6) {
          if (o + 40 > end) { g.drop(i, K.D_TRUNCATED); break; }
          if (d[o + 7]! > ttl - 1) d[o + 7] = ttl - 1;
          p.flags[i] = K.PF_NO_TTL | K.PF_IP6;
        } else { g.drop(i, K.D_MALFORMED); break; }
        if (act === ILM_PHP) {
          p.nh[i] = lt.nh[e]!;
          g.enq(K.N_REWRITE, i);
        } else {
          g.enq(ver === 4 ? K.N_IP4_IN : K.N_IP6_IN, i);
        }
        break;
      }
      g.drop(i, K.D_INVALID_LABEL);
      break;
    }
  }
}

