/**
 * drop: frees the packets other nodes refused, counting each under the reason it was given
 * (pool.reason) and on its receiving vif.
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
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    st[K.STATS_DROP_BASE + p.reason[i]!]++;
    st[g.vifBase + p.rxVif[i]! * K.VIF_STRIDE + 4]++;
    p.free(i);
  }
}

