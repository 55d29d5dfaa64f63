/**
 * What the L2 nodes of one graph keep between bursts (docs/l2.md): the storm-control token
 * buckets of the ports this worker receives from, and a small direct-mapped record of the
 * learn events it posted recently, so that a burst of frames from one new source posts one
 * event, not one per frame, while the main thread has not yet installed it. Made by the first
 * L2 burst (graph.l2), so a graph without bridge ports pays nothing.
 */
import { MAX_BD_PORTS } from '../tables/bridge-table.js';

/** learn events posted within this many ms for the same (domain, MAC, vif), with the MAC table unchanged since, are not posted again */
export const LEARN_REPOST_MS = 50;
const RECENT = 1024;
/** new sources in flight to the main thread at most (beyond: posted, not counted; the main thread's check still holds the limit) */
export const PENDING_FIFO = 8192;

export class L2WorkerState {
  /** per vif: tokens (bytes) and when they were last refilled (ms, the graph's clock) */
  readonly tokens: Float64Array;
  readonly refilled: Float64Array;
  /** recent learn events: key hash, vif, when (ms) */
  readonly recentKey = new Int32Array(RECENT);
  readonly recentVif = new Int32Array(RECENT).fill(-1);
  readonly recentAt = new Float64Array(RECENT);
  /** the MAC table's epoch (BridgeTable.global[0]) when it was posted: a change since may make the event welcome again */
  readonly recentEpoch = new Int32Array(RECENT);
  readonly recentMask = RECENT - 1;
  /**
   * new sources posted per port and per domain that the main thread has not applied yet:
   * l2-input counts them against the limits, so that new sources cannot learn past a limit
   * before the main thread has counted them. Exact: each posted one waits in the FIFO below
   * with its event batch (Graph.eventBatches) until the main thread acknowledges that batch
   * (after applying it, so its count already holds it). A reset on any change of the MAC
   * table (the epoch) lost the ones still in flight when another change came first, and let
   * one more source in than the limit (refused by the main thread, its frames forwarded).
   */
  readonly pendingPort: Int32Array;
  readonly pendingDomain: Int32Array;
  /** the FIFO of posted new sources: vif, domain, batch; head and tail count up (mod PENDING_FIFO) */
  readonly fifoVif = new Int32Array(PENDING_FIFO);
  readonly fifoDomain = new Int32Array(PENDING_FIFO);
  readonly fifoBatch = new Float64Array(PENDING_FIFO);
  fifoHead = 0;
  fifoTail = 0;
  /** the acknowledged batches settle() last saw */
  acked = 0;
  /** l2-forward's scratch: the ports one frame floods to */
  readonly flood = new Int32Array(MAX_BD_PORTS + 1);

  constructor(maxVifs: number, maxDomains: number) {
    this.tokens = new Float64Array(maxVifs).fill(-1);
    this.refilled = new Float64Array(maxVifs);
    this.pendingPort = new Int32Array(maxVifs);
    this.pendingDomain = new Int32Array(maxDomains);
  }

  /** The main thread has applied (and counted) `acked` event batches: their new sources are pending no more. */
  settle(acked: number): void {
    if (acked === this.acked) return;
    this.acked = acked;
    while (this.fifoHead !== this.fifoTail && this.fifoBatch[this.fifoHead % PENDING_FIFO]! < acked) {
      const q = this.fifoHead++ % PENDING_FIFO;
      this.pendingPort[this.fifoVif[q]!]--;
      this.pendingDomain[this.fifoDomain[q]!]--;
    }
  }
}
