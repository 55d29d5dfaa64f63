/**
 * drop: frees the packets other nodes refused, counting each under the reason it was given
 * (pool.reason) and on its receiving vif, and an L2 reason also in that bridge port's L2 counters.
 */
import * as K from './graph-constants.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';

export const dropNode: GraphNode = {
  id: K.N_DROP,
  name: 'drop',
  next: [],
  // every reason other nodes give (counted here, declared by them)
  drops: [],
  counters: [],
  run: drop,
};

function drop(g: Graph): void {
  const p = g.pool;
  const w = g.work;
  const n = g.take(K.N_DROP, w);
  const st = g.stats;
  const l2Slot = K.L2_PORT_DROP_SLOT;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const r = p.reason[i]!;
    const vif = p.rxVif[i]!;
    st[K.STATS_DROP_BASE + r]++;
    st[g.vifBase + vif * K.VIF_STRIDE + 4]++;
    // an L2 reason also counts on the bridge port (show interfaces IF extensive)
    const slot = l2Slot[r]!;
    if (slot >= 0) st[g.l2Base + vif * K.L2_PORT_STRIDE + slot]++;
    p.free(i);
  }
}

