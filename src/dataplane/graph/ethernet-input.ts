/**
 * ethernet-input: the first node of every received frame the fast path did not take. Checks
 * the frame against its vif (up, for our MAC or multicast, the vif's 802.1Q tag, the MTU),
 * sets the packet's L3 offset, VRF and flags, and dispatches by EtherType. A bridge port's
 * frames go to l2-input instead. 802.3 frames (a length, not an EtherType) with the OSI LLC
 * header (DSAP/SSAP 0xFE: IS-IS) go to frame-punt while the main thread has a listener for
 * them (VifTable.global[G_PUNT_OSI]), else are dropped as an unknown EtherType like every
 * other non-IP frame.
 */
import * as K from './graph-constants.js';
import * as L from './limits.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';
import { G_PUNT_OSI, VIF_L2, VIF_UP } from '../tables/vif-table.js';

const CAP = L.CAP;
const F_L2 = VIF_L2;

export const ethernetInputNode: GraphNode = {
  id: K.N_ETH_IN,
  name: 'ethernet-input',
  next: [K.N_IP4_IN, K.N_IP6_IN, K.N_ARP, K.N_MPLS_IN, K.N_FRAME_PUNT, K.N_L2_INPUT, K.N_DROP],
  drops: [K.D_TRUNCATED, K.D_NO_VIF, K.D_NOT_FOR_US, K.D_VLAN_MISMATCH, K.D_OVERSIZE, K.D_UNKNOWN_ETHERTYPE],
  counters: [],
  run: ethernetInput,
};

function ethernetInput(g: Graph): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  const w = g.work;
  const n = g.take(K.N_ETH_IN, w);
  // the usual next node's queue is filled through a local cursor (nothing else in this loop enqueues there)
  const nIp4Base = (K.N_IP4_IN) * CAP;
  let nIp4 = g.qlen[K.N_IP4_IN]!;
  const qbuf = g.qbuf;
  const vt = g.t.vif;
  const vflags = vt.flags;
  const vlan = vt.vlan;
  const vhost = vt.global[0]!;
  const dv = p.view;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const vif = p.rxVif[i]!;
    const s = p.start[i]!;
    const len = p.len[i]!;
    const o = (i << SHIFT) + s;
    if (len < 14) { g.drop(i, K.D_TRUNCATED); continue; }
    const vf = vflags[vif]!;
    if ((vf & VIF_UP) === 0) { g.drop(i, K.D_NO_VIF); continue; }
    // a bridge port's frames are switched (l2-input.ts; its IRB brings those for the router back here)
    if ((vf & F_L2) !== 0) { g.enq(K.N_L2_INPUT, i); continue; }
    // unicast must be for our MAC on this vif
    if ((d[o]! & 1) === 0 && (dv.getUint32(o) !== vt.macHi[vif] || dv.getUint16(o + 4) !== vt.macLo[vif])) {
      g.drop(i, K.D_NOT_FOR_US);
      continue;
    }
    let et = dv.getUint16(o + 12);
    let hl = 14;
    if (et === 0x8100) {
      if (len < 18) { g.drop(i, K.D_TRUNCATED); continue; }
      if ((((d[o + 14]! << 8) | d[o + 15]!) & 0xfff) !== vlan[vif]) { g.drop(i, K.D_VLAN_MISMATCH); continue; }
      et = (d[o + 16]! << 8) | d[o + 17]!;
      hl = 18;
    } else if (vlan[vif] !== 0) {
      g.drop(i, K.D_VLAN_MISMATCH);
      continue;
    }
    if (len - hl > vt.mtu[vif]!) { g.drop(i, K.D_OVERSIZE); continue; }
    p.l3[i] = s + hl;
    p.vrf[i] = vt.vrf[vif]!;
    let f = p.flags[i]! & K.PF_CSUM_SELF;
    if (vif === vhost) f |= K.PF_FROM_HOST | K.PF_NO_TTL;
    if (et === 0x0800) { p.flags[i] = f; if (nIp4 < CAP) qbuf[nIp4Base + nIp4++] = i; else g.dropNow(i, K.D_POOL_EMPTY); }
    else if (et === 0x86dd) { p.flags[i] = f | K.PF_IP6; g.enq(K.N_IP6_IN, i); }
    else if (et === 0x0806) { p.flags[i] = f; g.enq(K.N_ARP, i); }
    else if (et === 0x8847 && vif !== vhost) { p.flags[i] = K.PF_MPLS; g.enq(K.N_MPLS_IN, i); }
    else if (et < 0x600 && len >= hl + 3 && d[o + hl] === 0xfe && d[o + hl + 1] === 0xfe && vif !== vhost && vt.global[G_PUNT_OSI] !== 0) { p.flags[i] = 0; g.enq(K.N_FRAME_PUNT, i); }
    else g.drop(i, K.D_UNKNOWN_ETHERTYPE);
  }
  g.qlen[K.N_IP4_IN] = nIp4;
}

