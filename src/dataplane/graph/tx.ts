/**
 * tx: frames ready to leave, queued per outgoing vif (flushTx hands each vif's queue to its
 * driver once per run); a frame for a vif another worker owns is handed over to that worker,
 * one routed out of an IRB enters the IRB's bridge domain (l2-input).
 */
import * as K from './graph-constants.js';
import * as L from './limits.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';
import { VIF_IRB } from '../tables/vif-table.js';

const CAP = L.CAP;
const F_IRB = VIF_IRB;

export const txNode: GraphNode = {
  id: K.N_TX,
  name: 'tx',
  next: [K.N_L2_INPUT],
  drops: [K.D_NO_VIF, K.D_TX_FULL],
  counters: [K.C_HANDOFF_OUT, K.C_TX, K.C_PUNT],
  run: tx,
};

function tx(g: Graph): void {
  const p = g.pool;
  const w = g.work;
  const n = g.take(K.N_TX, w);
  const txq = g.txq;
  const txn = g.txn;
  const drivers = g.drivers;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const v = p.txVif[i]!;
    if (drivers[v] === null) {
      // an IRB has no driver: what the router sends through it enters its bridge domain
      if ((g.t.vif.flags[v]! & F_IRB) !== 0) { p.rxVif[i] = v; g.enq(K.N_L2_INPUT, i); continue; }
      // another worker owns the vif: hand the frame over
      const ring = g.handoff[g.t.vif.owner[v]!] ?? null;
      if (ring === null) g.dropNow(i, K.D_NO_VIF);
      else if (ring.push(p, i, v)) { g.stats[K.C_HANDOFF_OUT]++; p.free(i); }
      else g.dropNow(i, K.D_TX_FULL);
      continue;
    }
    const c = txn[v]!;
    if (c === 0) g.txDirty[g.txDirtyN++] = v;
    if (c >= CAP) { g.dropNow(i, K.D_TX_FULL); continue; }
    txq[v * CAP + c] = i;
    txn[v] = c + 1;
    g.txb[v] += p.len[i]!;
  }
}

/** Hand each vif's queued frames to its driver (once per run): tx counters, and tx_full for what its ring refused. */
export function flushTx(g: Graph): void {
  const p = g.pool;
  const st = g.stats;
  const vhost = g.t.vif.global[0]!;
  for (let k = 0; k < g.txDirtyN; k++) {
    const v = g.txDirty[k]!;
    const c = g.txn[v]!;
    g.txn[v] = 0;
    const bytes = g.txb[v]!;
    g.txb[v] = 0;
    const sent = g.drivers[v]!.txBurst(p, g.txq, v * CAP, c);
    const vb = g.vifBase + v * K.VIF_STRIDE;
    st[vb + 2] += sent;
    st[vb + 3] += bytes;
    st[v === vhost ? K.C_PUNT : K.C_TX] += sent;
    st[K.STATS_DROP_BASE + K.D_TX_FULL] += c - sent;
  }
  g.txDirtyN = 0;
}

