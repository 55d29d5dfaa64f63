/**
 * How a node of the forwarding graph registers itself, after VPP's node registration
 * (VLIB_REGISTER_NODE in mpls_input.c and the rest: the node function, its next nodes and
 * its error counters declared together): each node's file exports one GraphNode that
 * declares, beside the burst function, the nodes it hands packets to, the drop reasons and
 * the counters it counts. nodes.ts lists the registered nodes in the order the scheduler
 * runs them; nodes.test.ts checks the declarations against the node ids, the drop reasons'
 * table and the code.
 *
 * Ids, drop reasons and counters are the small integers of graph-constants.ts (N_*, D_*,
 * C_*), so the hot loops compare numbers, never strings.
 */
import * as K from './graph-constants.js';
import type { Graph } from './graph.js';

export interface GraphNode {
  /** the node's id (K.N_*): the index of its queue */
  readonly id: number;
  /** its name (K.NODE_NAMES[id]), as introspection and the drop reasons' table show it */
  readonly name: string;
  /** the nodes it hands packets to (K.N_*) */
  readonly next: readonly number[];
  /** the drop reasons it counts (K.D_*), besides the graph's own (GRAPH_DROPS) */
  readonly drops: readonly number[];
  /** the worker counters it counts (K.C_*) */
  readonly counters: readonly number[];
  /**
   * Drain the node's queue once: take its packets (g.take), and hand each to the queue of
   * the next node it chooses (g.enq), to drop (g.drop, with a reason) or to icmp-error
   * (g.icmp). No allocation, no closures, no strings.
   */
  readonly run: (g: Graph) => void;
}

/**
 * Drops the graph counts for any node: a next node's queue that is full (the packet cannot
 * be queued), and a burst abandoned because a node threw.
 */
export const GRAPH_DROPS: readonly number[] = [K.D_POOL_EMPTY, K.D_INTERNAL_ERROR];
