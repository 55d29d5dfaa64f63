/**
 * tx: frames ready to leave, queued per outgoing vif (flushTx hands each vif's queue to its
 * driver once per run); a frame for a vif another worker owns is handed over to that worker,
 * one routed out of an IRB enters the IRB's bridge domain (l2-input). A TCP super-frame carried
 * whole (io/super-frame.ts) leaves by its driver's txSuper, or is cut here into segments.
 */
import * as K from './graph-constants.js';
import * as L from './limits.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';
import { VIF_IRB } from '../tables/vif-table.js';
import { cutInGraph, cutSegments } from './carried.js';

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
  const w = g.work;
  const n = g.take(K.N_TX, w);
  const sup = g.pool.sup;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    if (sup[i] === 0) txOne(g, i);
    else txCarried(g, i);
  }
}

function txOne(g: Graph, i: number): void {
  const p = g.pool;
  const v = p.txVif[i]!;
  if (g.drivers[v] === null) {
    // an IRB has no driver: what the router sends through it enters its bridge domain
    if ((g.t.vif.flags[v]! & F_IRB) !== 0) { p.rxVif[i] = v; g.enq(K.N_L2_INPUT, i); return; }
    // another worker owns the vif: hand the frame over
    const ring = g.handoff[g.t.vif.owner[v]!] ?? null;
    if (ring === null) g.dropNow(i, K.D_NO_VIF);
    else if (ring.push(p, i, v)) { g.stats[K.C_HANDOFF_OUT]++; p.free(i); }
    else g.dropNow(i, K.D_TX_FULL);
    return;
  }
  const c = g.txn[v]!;
  if (c === 0) g.txDirty[g.txDirtyN++] = v;
  if (c >= CAP) { g.dropNow(i, K.D_TX_FULL); return; }
  g.txq[v * CAP + c] = i;
  g.txn[v] = c + 1;
  g.txb[v] += p.len[i]!;
}

/**
 * A TCP super-frame carried whole (io/super-frame.ts): sent whole by a driver that takes GSO
 * frames (after what is queued for that vif, so a flow's order holds), counted as the segments
 * and bytes it stands for; else cut here and each segment sent as any frame.
 */
function txCarried(g: Graph, i: number): void {
  const p = g.pool;
  const v = p.txVif[i]!;
  const drv = g.drivers[v];
  if (drv !== null && drv.txSuper !== undefined) {
    if (g.txn[v] !== 0) {
      flushVif(g, v);
      // off the dirty list, so the vif's next frame puts it back once (the list holds each vif once)
      for (let k = 0; k < g.txDirtyN; k++) {
        if (g.txDirty[k] === v) {
          g.txDirty[k] = g.txDirty[--g.txDirtyN]!;
          break;
        }
      }
    }
    const segs = drv.txSuper(p, i);
    if (segs > 0) {
      const st = p.supers;
      const id = p.sup[i]! - 1;
      const hdr = p.len[i]! - Math.min(st.mss[id]!, st.payLen[id]!);
      const vb = g.vifBase + v * K.VIF_STRIDE;
      g.stats[vb + 2] += segs;
      g.stats[vb + 3] += segs * hdr + st.payLen[id]!;
      g.stats[v === g.t.vif.global[0]! ? K.C_PUNT : K.C_TX] += segs;
      p.free(i);
      return;
    }
  }
  const m = cutInGraph(g, i);
  for (let q = 0; q < m; q++) txOne(g, cutSegments[q]!);
}

/** Hand one vif's queued frames to its driver: tx counters, and tx_full for what its ring refused. */
function flushVif(g: Graph, v: number): void {
  const st = g.stats;
  const c = g.txn[v]!;
  g.txn[v] = 0;
  const bytes = g.txb[v]!;
  g.txb[v] = 0;
  const sent = g.drivers[v]!.txBurst(g.pool, g.txq, v * CAP, c);
  const vb = g.vifBase + v * K.VIF_STRIDE;
  st[vb + 2] += sent;
  st[vb + 3] += bytes;
  st[v === g.t.vif.global[0]! ? K.C_PUNT : K.C_TX] += sent;
  st[K.STATS_DROP_BASE + K.D_TX_FULL] += c - sent;
}

/** Hand each vif's queued frames to its driver (once per run): tx counters, and tx_full for what its ring refused. */
export function flushTx(g: Graph): void {
  for (let k = 0; k < g.txDirtyN; k++) {
    flushVif(g, g.txDirty[k]!);
  }
  g.txDirtyN = 0;
}

