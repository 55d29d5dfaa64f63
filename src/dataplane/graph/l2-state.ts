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
   * new sources posted per port and per domain since the main thread last changed the MAC
   * table (epoch): l2-input counts them against the limits, so that one burst of new sources
   * cannot learn past a limit before the main thread has counted them
   */
  readonly pendingPort: Int32Array;
  readonly pendingDomain: Int32Array;
  pendingEpoch = -1;
  /** l2-forward's scratch: the ports one frame floods to */
  readonly flood = new Int32Array(MAX_BD_PORTS + 1);

  constructor(maxVifs: number, maxDomains: number) {
    this.tokens = new Float64Array(maxVifs).fill(-1);
    this.refilled = new Float64Array(maxVifs);
    this.pendingPort = new Int32Array(maxVifs);
    this.pendingDomain = new Int32Array(maxDomains);
  }
}
