/**
 * acl: the ingress filters of the receiving vif (tables/acl-table.ts) for what the general
 * nodes forward; the lookups send packets here only while some vif has a filter. MPLS frames
 * are not filtered. The fast path applies the same rule scan itself.
 */
import * as K from './graph-constants.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';
import { rd32 } from './bytes.js';
import { DECIDE_PERMIT } from '../tables/acl-table.js';

export const aclNode: GraphNode = {
  id: K.N_ACL,
  name: 'acl',
  next: [K.N_REWRITE, K.N_DROP],
  drops: [K.D_ACL_DENY],
  counters: [],
  run: acl,
};

/** Ingress filters of the receiving vif (tables/acl-table.ts): first match decides, none matching denies. */
function acl(g: Graph): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  const w = g.work;
  const n = g.take(K.N_ACL, w);
  const at = g.t.acl;
  const desc = at.desc;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const dsc = desc[p.rxVif[i]!]!;
    const fl = p.flags[i]!;
    if (dsc === 0 || (fl & K.PF_MPLS) !== 0) { g.enq(K.N_REWRITE, i); continue; }
    const o = (i << SHIFT) + p.l3[i]!;
    const end = (i << SHIFT) + p.start[i]! + p.len[i]!;
    let fam: number, proto: number, l4: number;
    let s0: number, s1 = 0, s2 = 0, s3 = 0, d0: number, d1 = 0, d2 = 0, d3 = 0;
    if ((fl & K.PF_IP6) !== 0) {
      fam = 6;
      proto = p.aux[i]! >>> 16;
      l4 = o + (p.aux[i]! & 0xffff);
      // addresses as int32 (a uint32 above 2^31 would be a heap number in a call)
      s0 = rd32(d, o + 8) | 0; s1 = rd32(d, o + 12) | 0; s2 = rd32(d, o + 16) | 0; s3 = rd32(d, o + 20) | 0;
      d0 = rd32(d, o + 24) | 0; d1 = rd32(d, o + 28) | 0; d2 = rd32(d, o + 32) | 0; d3 = rd32(d, o + 36) | 0;
    } else {
      fam = 4;
      proto = d[o + 9]!;
      // ports only in the first fragment
      l4 = (((d[o + 6]! & 0x1f) << 8) | d[o + 7]!) === 0 ? o + ((d[o]! & 15) << 2) : end;
      s0 = rd32(d, o + 12) | 0;
      d0 = rd32(d, o + 16) | 0;
    }
    const ports = (proto === 6 || proto === 17 || proto === 132) && l4 + 4 <= end;
    const sp = ports ? (d[l4]! << 8) | d[l4 + 1]! : -1;
    const dp = ports ? (d[l4 + 2]! << 8) | d[l4 + 3]! : -1;
    const vif = p.rxVif[i]!;
    const dec = at.decide(vif, dsc, fam, proto, s0, s1, s2, s3, d0, d1, d2, d3, sp, dp);
    // the rule that decided (MAX_ACL_RULES: none did)
    const hit = dec & 0xffff;
    const permit = (dec & DECIDE_PERMIT) !== 0;
    g.stats[g.aclBase + vif * K.ACL_STRIDE + hit]++;
    if (permit) g.enq(K.N_REWRITE, i);
    else g.drop(i, K.D_ACL_DENY);
  }
}

