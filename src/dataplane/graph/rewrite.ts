/**
 * rewrite: the next hop applied to a routed packet: ECMP member, labels pushed, MPLS over UDP
 * encapsulation (the outer packet routed in the default VRF), the Ethernet header from the
 * next hop's MAC or the neighbor table (toward an unresolved neighbor the packet is held until
 * it answers, graph.ts hold, and a rate-limited ARP request or NS is sent), the outgoing MTU
 * (ICMP too big / fragmentation needed).
 */
import * as K from './graph-constants.js';
import * as L from './limits.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';
import { ipv4Checksum, mix, rd32, wr32 } from './bytes.js';
import { MAX_ECMP, MAX_LABELS, NH_COMPOSITE, NH_ENCAP, NH_GLEAN, NH_MPLS_UDP, NH_NEIGHBOR } from '../tables/nexthop-table.js';
import { VIF_UP } from '../tables/vif-table.js';
import { NBR_REACHABLE } from '../tables/neighbor-table.js';

const MIN_FRONT = L.MIN_FRONT;

export const rewriteNode: GraphNode = {
  id: K.N_REWRITE,
  name: 'rewrite',
  // tx, or acl-out while some vif has an output filter (Graph.aclOutNext)
  next: [K.N_TX, K.N_ACL_OUT, K.N_ICMP_ERROR, K.N_DROP],
  drops: [K.D_MALFORMED, K.D_NO_ROUTE, K.D_BAD_NEXTHOP, K.D_NO_VIF, K.D_ARP_UNRESOLVED, K.D_MTU_EXCEEDED, K.D_ARP_HOLD_TIMEOUT],
  counters: [K.C_GENERATED, K.C_NEIGHBOR_REQUESTS],
  run: rewrite,
};

function rewrite(g: Graph): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  const w = g.work;
  const n = g.take(K.N_REWRITE, w);
  const t = g.t;
  const nt = t.nh;
  const vt = t.vif;
  const nbr = t.nbr;
  const vflags = vt.flags;
  const vmtu = vt.mtu;
  const vvlan = vt.vlan;
  const vmacHi = vt.macHi;
  const vmacLo = vt.macLo;
  const dmacHi = nt.dmacHi;
  const dmacLo = nt.dmacLo;
  const nlabels = nt.labels;
  const dv = p.view;
  const pstart = p.start;
  const plen = p.len;
  const pl3 = p.l3;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const base = i << SHIFT;
    let nh = p.nh[i]!;
    let ty = nt.type[nh]!;
    // fast path: fixed MAC, IP payload (0-5 labels pushed), untagged, fits the MTU
    const fl0 = p.flags[i]!;
    if (ty === NH_ENCAP && (fl0 & K.PF_MPLS) === 0) {
      const vif = nt.vif[nh]!;
      const l3 = pl3[i]!;
      const nl0 = nt.nlabels[nh]!;
      const l3len = pstart[i]! + plen[i]! - l3 + 4 * nl0;
      if ((vflags[vif]! & VIF_UP) !== 0 && vvlan[vif] === 0 && l3len <= vmtu[vif]!) {
        const s = l3 - 14 - 4 * nl0;
        const o = base + s;
        dv.setUint32(o, dmacHi[nh]!);
        dv.setUint16(o + 4, dmacLo[nh]!);
        const mh = vmacHi[vif]!;
        dv.setUint16(o + 6, mh >>> 16);
        dv.setUint32(o + 8, (((mh & 0xffff) << 16) | vmacLo[vif]!) >>> 0);
        if (nl0 > 0) {
          // labels: TTL copied from the IP header (uniform model), bottom-of-stack on the last
          const ttl = (fl0 & K.PF_IP6) !== 0 ? d[base + l3 + 7]! : d[base + l3 + 8]!;
          const lb = nh * MAX_LABELS;
          for (let q = 0; q < nl0; q++) dv.setUint32(o + 14 + q * 4, ((nlabels[lb + q]! << 12) | (q === nl0 - 1 ? 0x100 : 0) | ttl) >>> 0);
          d[o + 12] = 0x88; d[o + 13] = 0x47;
          p.flags[i] = fl0 | K.PF_MPLS;
        } else if ((fl0 & K.PF_IP6) !== 0) { d[o + 12] = 0x86; d[o + 13] = 0xdd; } else { d[o + 12] = 0x08; d[o + 13] = 0; }
        pstart[i] = s;
        plen[i] = l3len + 14;
        pl3[i] = s + 14;
        p.txVif[i] = vif;
        g.enq(g.aclOutNext, i);
        continue;
      }
    }
    if (ty === NH_COMPOSITE) {
      nh = nt.members[nh * MAX_ECMP + (flowHash(g, i, base) % nt.nmembers[nh]!)]!;
      ty = nt.type[nh]!;
    }
    let nl = nt.nlabels[nh]!;
    let fl = p.flags[i]!;
    if (ty === NH_MPLS_UDP) {
      const l3 = p.l3[i]!;
      const o = base + l3;
      const h = (fl & K.PF_MPLS) !== 0 ? mix(rd32(d, o)) : (fl & K.PF_IP6) !== 0 ? g.hash6(i, o) : g.hash4(o);
      let top = pushLabels(g, i, nh, nl);
      if (top < 0) continue;
      top -= 28;
      if (top - base < 40) { g.drop(i, K.D_MALFORMED); continue; }
      const end = base + p.start[i]! + p.len[i]!;
      const ulen = end - top - 20;
      wr32(d, top, 0x45000000 | (ulen + 20));
      wr32(d, top + 4, 0);
      d[top + 8] = 64; d[top + 9] = 17;
      wr32(d, top + 12, nt.tunSrc[nh]!);
      wr32(d, top + 16, nt.tunDst[nh]!);
      ipv4Checksum(d, top, 20);
      const u = top + 20;
      const sport = 49152 | (h & 0x3fff);
      d[u] = sport >>> 8; d[u + 1] = sport & 255; d[u + 2] = 0x19; d[u + 3] = 0xeb; // 6635
      d[u + 4] = ulen >>> 8; d[u + 5] = ulen & 255; d[u + 6] = 0; d[u + 7] = 0;
      p.l3[i] = top - base;
      p.start[i] = top - base;
      p.len[i] = end - top;
      fl = K.PF_NO_TTL;
      p.flags[i] = fl;
      // the outer packet follows the default VRF's FIB
      nh = g.lookup4(0, nt.tunDst[nh]!);
      ty = nt.type[nh]!;
      if (ty === NH_COMPOSITE) { nh = nt.members[nh * MAX_ECMP + (h % nt.nmembers[nh]!)]!; ty = nt.type[nh]!; }
      if (nh === 0 || (ty !== NH_NEIGHBOR && ty !== NH_ENCAP && ty !== NH_GLEAN) || nt.nlabels[nh] !== 0) { g.drop(i, K.D_NO_ROUTE); continue; }
      nl = 0;
    }
    const vif = nt.vif[nh]!;
    if ((vt.flags[vif]! & VIF_UP) === 0 && ty !== NH_NEIGHBOR && ty !== NH_ENCAP && ty !== NH_GLEAN) { g.drop(i, K.D_BAD_NEXTHOP); continue; }
    if ((vt.flags[vif]! & VIF_UP) === 0) { g.drop(i, K.D_NO_VIF); continue; }
    let macArr: Uint8Array;
    let macOff: number;
    const o = base + p.l3[i]!;
    if (ty === NH_ENCAP) {
      macArr = nt.dmac;
      macOff = nh * 6;
    } else if (ty === NH_NEIGHBOR) {
      const e = nt.nbr[nh]!;
      macArr = nbr.mac;
      macOff = e * 6;
      if (nbr.state[e] !== NBR_REACHABLE) {
        const fam = nbr.family[e]!, a0 = nbr.ip[e * 4]!, a1 = nbr.ip[e * 4 + 1]!, a2 = nbr.ip[e * 4 + 2]!, a3 = nbr.ip[e * 4 + 3]!;
        // heard by this worker a moment ago, its learn not applied yet (graph.ts recent)
        const r = g.recent(vif, fam, a0, a1, a2, a3);
        if (r < 0) { g.unresolved(i, nh, vif, fam, a0, a1, a2, a3); continue; }
        macArr = g.recentMac;
        macOff = r * 6;
      }
    } else if (ty === NH_GLEAN) {
      if ((fl & K.PF_MPLS) !== 0) { g.drop(i, K.D_BAD_NEXTHOP); continue; }
      const v6 = (fl & K.PF_IP6) !== 0;
      const a0 = v6 ? rd32(d, o + 24) : rd32(d, o + 16);
      const a1 = v6 ? rd32(d, o + 28) : 0, a2 = v6 ? rd32(d, o + 32) : 0, a3 = v6 ? rd32(d, o + 36) : 0;
      const e = nbr.find(vif, a0, a1, a2, a3);
      macArr = nbr.mac;
      macOff = e * 6;
      if (e < 0 || nbr.state[e] !== NBR_REACHABLE) {
        // heard by this worker a moment ago, its learn not applied yet (graph.ts recent)
        const r = g.recent(vif, v6 ? 6 : 4, a0, a1, a2, a3);
        if (r < 0) { g.unresolved(i, nh, vif, v6 ? 6 : 4, a0, a1, a2, a3); continue; }
        macArr = g.recentMac;
        macOff = r * 6;
      }
    } else {
      g.drop(i, K.D_BAD_NEXTHOP);
      continue;
    }
    // MTU: the L3 packet plus the labels we push must fit
    const l3len = p.start[i]! + p.len[i]! - p.l3[i]! + 4 * nl;
    const mtu = vt.mtu[vif]!;
    if (l3len > mtu) {
      // the error's source, for a packet from vhost0 (which has no address here), is the out vif's
      p.txVif[i] = vif;
      if ((fl & K.PF_MPLS) !== 0) g.drop(i, K.D_MTU_EXCEEDED);
      else if ((fl & K.PF_IP6) !== 0) g.icmp(i, K.D_MTU_EXCEEDED, 2, 0, mtu - 4 * nl);
      else if ((d[o + 6]! & 0x40) !== 0) g.icmp(i, K.D_MTU_EXCEEDED, 3, 4, mtu - 4 * nl);
      else g.drop(i, K.D_MTU_EXCEEDED);
      continue;
    }
    // a plain IPv4 route (ip-lookup's mark), a resolved MAC, no filter on either vif: the
    // kernel fast path may forward the next packets to this destination (kfast)
    if ((fl & K.PF_KFAST) !== 0 && nl === 0 && macArr !== g.recentMac && g.kfast !== undefined) {
      const inVif = p.rxVif[i]!;
      if (t.acl.desc[inVif] === 0 && t.aclOut.desc[vif] === 0) {
        const mh = vt.macHi[vif]!;
        const m0 = (macArr[macOff]! << 24) | (macArr[macOff + 1]! << 16) | (macArr[macOff + 2]! << 8) | macArr[macOff + 3]!;
        const m1 = (macArr[macOff + 4]! << 24) | (macArr[macOff + 5]! << 16) | (mh >>> 16);
        const m2 = ((mh & 0xffff) << 16) | vt.macLo[vif]!;
        if ((fl & K.PF_IP6) === 0) g.kfast.add(inVif, rd32(d, o + 16) | 0, vif, p.vrf[i]!, mtu, m0, m1, m2);
        else g.kfast.add6(inVif, rd32(d, o + 24) | 0, rd32(d, o + 28) | 0, rd32(d, o + 32) | 0, rd32(d, o + 36) | 0, vif, p.vrf[i]!, mtu, m0, m1, m2);
      }
    }
    let et = (fl & K.PF_IP6) !== 0 ? 0x86dd : 0x0800;
    if (nl > 0) {
      if (pushLabels(g, i, nh, nl) < 0) continue;
      et = 0x8847;
    } else {
      p.start[i] = p.l3[i]!;
      p.len[i] = l3len;
      if ((fl & K.PF_MPLS) !== 0) et = 0x8847;
    }
    g.eth(i, vif, macArr, macOff, et);
    p.txVif[i] = vif;
    g.enq(g.aclOutNext, i);
  }
}

/**
 * The ECMP hash of a packet the label table sends to a composite next hop (an IP route's
 * member is picked in ip-lookup): for a label stack, its label values and the flow of the IP
 * packet under it (so that one transit label's flows spread over the members, as LSRs do), for
 * an IP packet a penultimate hop uncovered, its flow as ip-lookup hashes it.
 */
function flowHash(g: Graph, i: number, base: number): number {
  const p = g.pool;
  const d = g.d;
  let o = base + p.l3[i]!;
  const end = base + p.start[i]! + p.len[i]!;
  const fl = p.flags[i]!;
  let h = 0;
  if ((fl & K.PF_MPLS) !== 0) {
    for (let n = 0; o + 4 <= end && n < 8; n++) {
      const w = rd32(d, o);
      h = Math.imul(h ^ (w >>> 12), 0x9e3779b1);
      o += 4;
      if ((w & 0x100) !== 0) break;
    }
    if (o + 40 <= end && d[o]! >> 4 === 6) return mix(h ^ g.hash6at(o, d[o + 6]!, o + 40));
    if (o + 20 <= end && d[o]! >> 4 === 4) return mix(h ^ g.hash4(o));
    return mix(h);
  }
  if ((fl & K.PF_IP6) !== 0) return o + 40 <= end ? g.hash6at(o, d[o + 6]!, o + 40) : mix(rd32(d, o));
  return o + 20 <= end ? g.hash4(o) : mix(rd32(d, o));
}

/** Push nh's labels in front of l3; frame then starts at the top label. Returns its absolute offset or -1 (dropped). */
function pushLabels(g: Graph, i: number, nh: number, nl: number): number {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  const base = i << SHIFT;
  const l3 = p.l3[i]!;
  const o = base + l3;
  const end = base + p.start[i]! + p.len[i]!;
  const top = o - 4 * nl;
  if (top - base < MIN_FRONT - 20) { g.drop(i, K.D_MALFORMED); return -1; }
  const fl = p.flags[i]!;
  const mpls = (fl & K.PF_MPLS) !== 0;
  // label TTL: copied from the packet (uniform model)
  const ttl = mpls ? d[o + 3]! : (fl & K.PF_IP6) !== 0 ? d[o + 7]! : d[o + 8]!;
  const labels = g.t.nh.labels;
  const dv = p.view;
  const lb = nh * MAX_LABELS;
  for (let q = 0; q < nl; q++) {
    const bos = !mpls && q === nl - 1 ? 0x100 : 0;
    dv.setUint32(top + q * 4, ((labels[lb + q]! << 12) | bos | ttl) >>> 0);
  }
  p.start[i] = top - base;
  p.len[i] = end - top;
  p.l3[i] = top - base;
  p.flags[i] = fl | K.PF_MPLS;
  return top;
}

