/**
 * ip4-lookup and ip6-lookup: the longest-prefix match for a burst (the trie walk in a loop
 * of its own across the burst, so the CPU overlaps the cache misses of different packets:
 * what VPP gets from prefetching), the per-VRF counters, then what the next hop means
 * (classify): forward (TTL or hop limit decremented) to the acl node while any vif has a
 * filter, else straight to rewrite; to the router itself; a VRF translation (looked up again
 * in the new VRF); a discard or reject; no route.
 */
import * as K from './graph-constants.js';
import * as L from './limits.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';
import { walk4BurstRoots, walk6Burst } from '../tables/lpm.js';
import { MAX_ECMP, NH_COMPOSITE, NH_DISCARD, NH_ENCAP, NH_GLEAN, NH_NEIGHBOR, NH_RECEIVE, NH_REJECT, NH_VRF } from '../tables/nexthop-table.js';

const CAP = L.CAP;
/** VRF translations one packet may go through */
const MAX_VRF_HOPS = 4;
/** classify's results besides a next hop: the packet went elsewhere; look up again (VRF translated) */
const HANDLED = -1;
const RELOOKUP = -2;

export const ip4LookupNode: GraphNode = {
  id: K.N_IP4_LOOKUP,
  name: 'ip4-lookup',
  // forwarded packets go to acl while any vif has a filter, else to rewrite (Graph.aclNext)
  next: [K.N_ACL, K.N_REWRITE, K.N_IP4_LOCAL, K.N_ICMP_ERROR, K.N_DROP],
  drops: [K.D_NO_ROUTE, K.D_TTL_EXCEEDED, K.D_DISCARD, K.D_REJECT, K.D_VRF_LOOP, K.D_LOCAL_LOOP],
  counters: [],
  run: ip4Lookup,
};

export const ip6LookupNode: GraphNode = {
  id: K.N_IP6_LOOKUP,
  name: 'ip6-lookup',
  next: [K.N_ACL, K.N_REWRITE, K.N_IP6_LOCAL, K.N_ICMP_ERROR, K.N_DROP],
  drops: [K.D_NO_ROUTE, K.D_TTL_EXCEEDED, K.D_DISCARD, K.D_REJECT, K.D_VRF_LOOP, K.D_LOCAL_LOOP],
  counters: [],
  run: ip6Lookup,
};

function ip4Lookup(g: Graph): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  const w = g.work;
  const n = g.take(K.N_IP4_LOOKUP, w);
  // the usual next node's queue is filled through a local cursor (nothing else in this loop enqueues there)
  const next = g.aclNext;
  const nextBase = next * CAP;
  let nNext = g.qlen[next]!;
  const qbuf = g.qbuf;
  const t = g.t;
  const roots = t.lpm4.iroots;
  const st = g.stats;
  const vrfBase = g.vrfBase;
  // the trie walk in its own tight loop across the burst (walk4Burst), so the CPU overlaps
  // the cache misses of different packets (what VPP gets from prefetching)
  const dsts = g.adr4;
  const proots = g.root4;
  const ents = g.ents;
  const dv = p.view;
  const pl3 = p.l3;
  const pvrf = p.vrf;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const o = (i << SHIFT) + pl3[i]!;
    const a = dv.getUint32(o + 16);
    dsts[k] = a;
    proots[k] = roots[pvrf[i]!]!;
  }
  walk4BurstRoots(t.lpm4.islots, proots, dsts, ents, n);
  let statVrf = -1;
  let statPkts = 0;
  let statBytes = 0;
  const nhType = t.nh.type;
  const kfOn = g.kfast !== undefined;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const o = (i << SHIFT) + pl3[i]!;
    const a = dsts[k]! >>> 0;
    let vrf = pvrf[i]!;
    if (vrf !== statVrf) {
      if (statPkts > 0) { st[vrfBase + statVrf * 2] += statPkts; st[vrfBase + statVrf * 2 + 1] += statBytes; }
      statVrf = vrf;
      statPkts = 0;
      statBytes = 0;
    }
    statPkts++;
    statBytes += p.start[i]! + p.len[i]! - pl3[i]!;
    let hops = 0;
    let out = -1;
    let nh = ents[k]!;
    for (;;) {
      if (hops > 0) nh = g.lookup4(vrf, a); // after a VRF translate: walk again in the new VRF
      const ty = nhType[nh]!;
      if (nh !== 0 && (ty === NH_ENCAP || ty === NH_NEIGHBOR)) { out = nh; break; } // the common case
      out = classify(g, i, nh, o, false, ++hops);
      if (out === RELOOKUP) { vrf = p.vrf[i]!; continue; }
      break;
    }
    if (out < 0) continue;
    if (kfOn && out === ents[k] && hops <= 1 && (hops === 0 || nhType[out] === NH_GLEAN)) p.flags[i] |= K.PF_KFAST;
    if ((p.flags[i]! & K.PF_NO_TTL) === 0) {
      const ttl = d[o + 8]!;
      if (ttl <= 1) { g.icmp(i, K.D_TTL_EXCEEDED, 11, 0, 0); continue; }
      d[o + 8] = ttl - 1;
      let c = ((d[o + 10]! << 8) | d[o + 11]!) + 0x0100;
      c = (c + (c >>> 16)) & 0xffff;
      d[o + 10] = c >>> 8;
      d[o + 11] = c & 255;
    }
    p.nh[i] = out;
    if (nNext < CAP) qbuf[nextBase + nNext++] = i; else g.dropNow(i, K.D_POOL_EMPTY);
  }
  if (statPkts > 0) { st[vrfBase + statVrf * 2] += statPkts; st[vrfBase + statVrf * 2 + 1] += statBytes; }
  g.qlen[next] = nNext;
}

function ip6Lookup(g: Graph): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  const w = g.work;
  const n = g.take(K.N_IP6_LOOKUP, w);
  const t = g.t;
  const roots = t.lpm6.iroots;
  const st = g.stats;
  const vrfBase = g.vrfBase;
  // the walk level by level across the burst (walk6Burst), so the cache misses of different packets overlap
  const ents = g.ents;
  const a0 = g.adr4;
  const a1 = g.adr61;
  const a2 = g.adr62;
  const a3 = g.adr63;
  const proots = g.root4;
  const dv = p.view;
  const nhType = t.nh.type;
  const kfOn = g.kfast !== undefined;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const o = (i << SHIFT) + p.l3[i]!;
    a0[k] = dv.getUint32(o + 24); a1[k] = dv.getUint32(o + 28); a2[k] = dv.getUint32(o + 32); a3[k] = dv.getUint32(o + 36);
    proots[k] = roots[p.vrf[i]!]!;
  }
  walk6Burst(t.lpm6, proots, a0, a1, a2, a3, ents, g.ends6, g.iota, n, g.walking);
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const o = (i << SHIFT) + p.l3[i]!;
    const w0 = a0[k]! >>> 0;
    const w1 = a1[k]! >>> 0;
    const w2 = a2[k]! >>> 0;
    const w3 = a3[k]! >>> 0;
    let vrf = p.vrf[i]!;
    st[vrfBase + vrf * 2]++;
    st[vrfBase + vrf * 2 + 1] += p.start[i]! + p.len[i]! - p.l3[i]!;
    let hops = 0;
    let out = -1;
    let nh = ents[k]!;
    for (;;) {
      const ty = nhType[nh]!;
      if (hops === 0 && nh !== 0 && (ty === NH_ENCAP || ty === NH_NEIGHBOR)) { out = nh; break; } // the common case
      if (hops > 0) {
        // after a VRF translate: walk again in the new VRF
        const tw = g.tw;
        tw[0] = w0; tw[1] = w1; tw[2] = w2; tw[3] = w3;
        nh = t.lpm6.lookup(vrf, tw);
      }
      out = classify(g, i, nh, o, true, ++hops);
      if (out === RELOOKUP) { vrf = p.vrf[i]!; continue; }
      break;
    }
    if (out < 0) continue;
    if (kfOn && out === ents[k] && hops <= 1 && (hops === 0 || nhType[out] === NH_GLEAN)) p.flags[i] |= K.PF_KFAST;
    if ((p.flags[i]! & K.PF_NO_TTL) === 0) {
      const hl = d[o + 7]!;
      if (hl <= 1) { g.icmp(i, K.D_TTL_EXCEEDED, 3, 0, 0); continue; }
      d[o + 7] = hl - 1;
    }
    p.nh[i] = out;
    g.enq(g.aclNext, i);
  }
}

/**
 * What a lookup result means for packet i: the forwarding next hop (>0), or RELOOKUP (VRF
 * translate: p.vrf changed), or HANDLED (sent to local, drop or icmp-error).
 */
function classify(g: Graph, i: number, nh: number, o: number, v6: boolean, hops: number): number {
  const p = g.pool;
  const nt = g.t.nh;
  if (nh === 0) { g.icmp(i, K.D_NO_ROUTE, v6 ? 1 : 3, 0, 0); return HANDLED; }
  let ty = nt.type[nh]!;
  if (ty === NH_COMPOSITE) {
    nh = nt.members[nh * MAX_ECMP + ((v6 ? g.hash6(i, o) : g.hash4(o)) % nt.nmembers[nh]!)]!;
    ty = nt.type[nh]!;
  }
  if (ty === NH_VRF) {
    if (hops > MAX_VRF_HOPS) { g.drop(i, K.D_VRF_LOOP); return HANDLED; }
    p.vrf[i] = nt.vrf[nh]!;
    return RELOOKUP;
  }
  if (ty === NH_RECEIVE) {
    if ((p.flags[i]! & K.PF_FROM_HOST) !== 0) g.drop(i, K.D_LOCAL_LOOP);
    else g.enq(v6 ? K.N_IP6_LOCAL : K.N_IP4_LOCAL, i);
    return HANDLED;
  }
  if (ty === NH_DISCARD) { g.drop(i, K.D_DISCARD); return HANDLED; }
  if (ty === NH_REJECT) { g.icmp(i, K.D_REJECT, v6 ? 1 : 3, v6 ? 1 : 13, 0); return HANDLED; }
  return nh;
}

