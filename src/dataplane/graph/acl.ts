/**
 * acl and acl-out: the IP filters of a vif (tables/acl-table.ts; docs/filters.md). acl checks
 * what the general nodes forward against the receiving vif's input filter (the lookups send
 * packets here only while some vif has one; the fast path applies the same rule scan
 * itself); acl-out checks what rewrite sends against the outgoing vif's output filter
 * (rewrite sends packets here only while some vif has one; the fast path leaves packets
 * toward such a vif to the general nodes). MPLS frames are not filtered, nor by input filters
 * the ICMP errors the router builds. A reject rule's
 * packet goes to icmp-error as unreachable, administratively prohibited (ICMP 3/13, ICMPv6
 * 1/1); a deny's, and a packet no rule matches, is dropped and counted. A TCP super-frame
 * carried whole (io/super-frame.ts) is cut here into its segments when the vif has a filter,
 * so every segment is matched, counted and dropped as before.
 */
import * as K from './graph-constants.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';
import { rd32 } from './bytes.js';
import { DECIDE_PERMIT, DECIDE_REJECT, type AclTable } from '../tables/acl-table.js';
import { cutInGraph, cutSegments } from './carried.js';

export const aclNode: GraphNode = {
  id: K.N_ACL,
  name: 'acl',
  next: [K.N_REWRITE, K.N_ICMP_ERROR, K.N_DROP],
  drops: [K.D_ACL_DENY, K.D_ACL_REJECT],
  counters: [],
  run: acl,
};

export const aclOutNode: GraphNode = {
  id: K.N_ACL_OUT,
  name: 'acl-out',
  next: [K.N_TX, K.N_ICMP_ERROR, K.N_DROP],
  drops: [K.D_ACL_OUT_DENY, K.D_ACL_OUT_REJECT],
  counters: [],
  run: aclOut,
};

/** Input filters of the receiving vif: first match decides, none matching denies. */
function acl(g: Graph): void {
  const w = g.work;
  const n = g.take(K.N_ACL, w);
  const at = g.t.acl;
  const sup = g.pool.sup;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    if (sup[i] === 0) aclOne(g, at, i);
    else if (at.desc[g.pool.rxVif[i]!] === 0) g.enq(K.N_REWRITE, i);
    else {
      // a super-frame carried whole (io/super-frame.ts): the filter sees, counts and drops each segment
      const m = cutInGraph(g, i);
      for (let q = 0; q < m; q++) aclOne(g, at, cutSegments[q]!);
    }
  }
}

function aclOne(g: Graph, at: AclTable, i: number): void {
  const vif = g.pool.rxVif[i]!;
  // an ICMP error the router built carries the offending packet's vif: it was not received there
  const dec = (g.pool.flags[i]! & K.PF_ICMP_GEN) !== 0 ? -1 : decidePacket(g, at, vif, i);
  if (dec < 0 || (dec & DECIDE_PERMIT) !== 0) g.enq(K.N_REWRITE, i);
  else if ((dec & DECIDE_REJECT) !== 0) unreachable(g, i, K.D_ACL_REJECT);
  else g.drop(i, K.D_ACL_DENY);
  // the rule that decided (MAX_ACL_RULES: none did), and the packet's bytes beside it
  if (dec >= 0) count(g, g.aclBase, g.aclBytesBase, vif * K.ACL_STRIDE + (dec & 0xffff), i);
}

/** Output filters of the outgoing vif (p.txVif, set by rewrite), the same way. */
function aclOut(g: Graph): void {
  const w = g.work;
  const n = g.take(K.N_ACL_OUT, w);
  const at = g.t.aclOut;
  const sup = g.pool.sup;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    if (sup[i] === 0) aclOutOne(g, at, i);
    else if (at.desc[g.pool.txVif[i]!] === 0) g.enq(K.N_TX, i);
    else {
      const m = cutInGraph(g, i);
      for (let q = 0; q < m; q++) aclOutOne(g, at, cutSegments[q]!);
    }
  }
}

function aclOutOne(g: Graph, at: AclTable, i: number): void {
  const vif = g.pool.txVif[i]!;
  const dec = decidePacket(g, at, vif, i);
  if (dec < 0 || (dec & DECIDE_PERMIT) !== 0) g.enq(K.N_TX, i);
  else if ((dec & DECIDE_REJECT) !== 0) unreachable(g, i, K.D_ACL_OUT_REJECT);
  else g.drop(i, K.D_ACL_OUT_DENY);
  if (dec >= 0) count(g, g.aclOutBase, g.aclOutBytesBase, vif * K.ACL_STRIDE + (dec & 0xffff), i);
}

/** A rule's hit and the packet's IP length (total length; IPv6: payload length + 40, as the fast path counts it). */
function count(g: Graph, hits: number, bytes: number, at: number, i: number): void {
  const d = g.d;
  const o = (i << g.pool.shift) + g.pool.l3[i]!;
  g.stats[hits + at]++;
  g.stats[bytes + at] += (g.pool.flags[i]! & K.PF_IP6) !== 0 ? ((d[o + 4]! << 8) | d[o + 5]!) + 40 : (d[o + 2]! << 8) | d[o + 3]!;
}

/** ICMP unreachable, administratively prohibited, for a rejected packet (its drop counted under `reason`). */
function unreachable(g: Graph, i: number, reason: number): void {
  const v6 = (g.pool.flags[i]! & K.PF_IP6) !== 0;
  g.icmp(i, reason, v6 ? 1 : 3, v6 ? 1 : 13, 0);
}

/**
 * AclTable.decide for packet i (IP at p.l3) on `vif` of `at`, or -1 when the vif has no
 * filter or the packet is MPLS. Ports only from a first fragment; an ICMP/ICMPv6 packet's
 * type goes as its source port (acl-table.ts).
 */
function decidePacket(g: Graph, at: AclTable, vif: number, i: number): number {
  const p = g.pool;
  const d = g.d;
  const dsc = at.desc[vif]!;
  const fl = p.flags[i]!;
  if (dsc === 0 || (fl & K.PF_MPLS) !== 0) return -1;
  const base = i << p.shift;
  const o = base + p.l3[i]!;
  const end = base + p.start[i]! + p.len[i]!;
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
    l4 = (((d[o + 6]! & 0x1f) << 8) | d[o + 7]!) === 0 ? o + ((d[o]! & 15) << 2) : end;
    s0 = rd32(d, o + 12) | 0;
    d0 = rd32(d, o + 16) | 0;
  }
  let sp = -1, dp = -1;
  if ((proto === 6 || proto === 17 || proto === 132) && l4 + 4 <= end) {
    sp = (d[l4]! << 8) | d[l4 + 1]!;
    dp = (d[l4 + 2]! << 8) | d[l4 + 3]!;
  } else if ((proto === 1 || proto === 58) && l4 < end) sp = d[l4]!;
  return at.decide(vif, dsc, fam, proto, s0, s1, s2, s3, d0, d1, d2, d3, sp, dp);
}
