/**
 * arp: ARP for the router's addresses. A request is answered in place out of the vif it came
 * in on; its sender (and a reply's) is learned as a neighbor event for the main thread; a
 * reply is then consumed. On vhost0 the router answers the host for any address: it is the
 * host's only neighbor there.
 */
import * as K from './graph-constants.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';
import { rd32, wr32 } from './bytes.js';

export const arpNode: GraphNode = {
  id: K.N_ARP,
  name: 'arp',
  next: [K.N_TX, K.N_DROP],
  drops: [K.D_TRUNCATED, K.D_MALFORMED, K.D_NOT_FOR_US],
  counters: [K.C_CONSUMED],
  run: arp,
};

function arp(g: Graph): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  const w = g.work;
  const n = g.take(K.N_ARP, w);
  const vt = g.t.vif;
  const vhost = vt.global[0]!;
  const tmp = g.tmp;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const vif = p.rxVif[i]!;
    const base = i << SHIFT;
    const l3 = p.l3[i]!;
    const o = base + l3;
    if (base + p.start[i]! + p.len[i]! - o < 28) { g.drop(i, K.D_TRUNCATED); continue; }
    if (d[o] !== 0 || d[o + 1] !== 1 || d[o + 2] !== 8 || d[o + 3] !== 0 || d[o + 4] !== 6 || d[o + 5] !== 4 || d[o + 6] !== 0) { g.drop(i, K.D_MALFORMED); continue; }
    const op = d[o + 7]!;
    if (op !== 1 && op !== 2) { g.drop(i, K.D_MALFORMED); continue; }
    const spa = rd32(d, o + 14);
    const tpa = rd32(d, o + 24);
    if (vif === vhost) {
      // the host asks for anything: we are its only neighbor on vhost0
      if (op !== 1 || spa === tpa || spa === 0) { g.drop(i, K.D_NOT_FOR_US); continue; }
    } else {
      if (!vt.hasAddr4(vif, tpa)) { g.drop(i, K.D_NOT_FOR_US); continue; }
      if (spa !== 0 && (d[o + 8]! & 1) === 0) g.learn(vif, 4, spa, 0, 0, 0, d, o + 8);
      if (op === 2) { g.consume(i); continue; }
    }
    // reply in place
    for (let b = 0; b < 6; b++) tmp[b] = d[o + 8 + b]!;
    d[o + 7] = 2;
    for (let b = 0; b < 6; b++) { d[o + 18 + b] = tmp[b]!; d[o + 8 + b] = vt.mac[vif * 6 + b]!; }
    wr32(d, o + 14, tpa);
    wr32(d, o + 24, spa);
    p.start[i] = l3;
    p.len[i] = 28;
    g.eth(i, vif, tmp, 0, 0x0806);
    p.txVif[i] = vif;
    g.enq(K.N_TX, i);
  }
}

