/**
 * punt: packets for the host stack, sent to it on vhost0 with an Ethernet header from the
 * router to the host.
 */
import * as K from './graph-constants.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';
import { VIF_UP } from '../tables/vif-table.js';

export const puntNode: GraphNode = {
  id: K.N_PUNT,
  name: 'punt',
  next: [K.N_TX, K.N_DROP],
  drops: [K.D_LOCAL_NO_PUNT],
  counters: [],
  run: punt,
};

function punt(g: Graph): void {
  const p = g.pool;
  const w = g.work;
  const n = g.take(K.N_PUNT, w);
  const vt = g.t.vif;
  const vhost = vt.global[0]!;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    if (vhost < 0 || (vt.flags[vhost]! & VIF_UP) === 0) { g.drop(i, K.D_LOCAL_NO_PUNT); continue; }
    const end = p.start[i]! + p.len[i]!;
    p.start[i] = p.l3[i]!;
    p.len[i] = end - p.l3[i]!;
    g.eth(i, vhost, vt.hwaddr, vhost * 6, (p.flags[i]! & K.PF_IP6) !== 0 ? 0x86dd : 0x0800);
    p.txVif[i] = vhost;
    g.enq(K.N_TX, i);
  }
}

