/**
 * A TCP super-frame carried through the graph whole (io/super-frame.ts) cut into its segments
 * inside the graph, where something must see segments: a filter (acl, acl-out: each segment
 * filtered, counted and dropped as before), or an out-port that cannot take it whole (tx: a
 * driver without txSuper, another worker's vif, an IRB). The segments carry the
 * representative's metadata (vifs, VRF, next hop, flags, L3 offset), so they continue from
 * the node that cut them as if they had come that far one by one.
 */
import * as K from './graph-constants.js';
import type { Graph } from './graph.js';
import { HEADROOM } from '../pool.js';
import { RX_NO_ROOM, cutCarried } from '../io/gso.js';

/** A 64 KiB super-frame of 88-byte segments (the smallest MSS IPv6 allows with options) fits. */
const MAX_SEGMENTS = 1024;
const segs = new Uint32Array(MAX_SEGMENTS);

/**
 * Cut the carried super-frame in slot i into segments and free i; returns the segments (in
 * cutSegments[0..n)), or 0 when it could not be cut (no free slots, headers that do not
 * parse): then i is dropped and counted.
 */
export function cutInGraph(g: Graph, i: number): number {
  const p = g.pool;
  const n = cutCarried(p, i, segs, 0, MAX_SEGMENTS);
  if (n === RX_NO_ROOM || n === 0) {
    g.dropNow(i, K.D_POOL_EMPTY);
    return 0;
  }
  const l3 = p.l3[i]! - p.start[i]! + HEADROOM;
  const fl = p.flags[i]! | K.PF_CSUM_SELF;
  for (let k = 0; k < n; k++) {
    const s = segs[k]!;
    p.rxVif[s] = p.rxVif[i]!;
    p.txVif[s] = p.txVif[i]!;
    p.vrf[s] = p.vrf[i]!;
    p.nh[s] = p.nh[i]!;
    p.l3[s] = l3;
    p.flags[s] = fl;
    p.aux[s] = p.aux[i]!;
  }
  p.free(i);
  return n;
}

/** The segments cutInGraph made (valid until its next call). */
export const cutSegments: Uint32Array = segs;
