/**
 * The registered nodes of the forwarding graph, in the order the scheduler (Graph.run) runs
 * them in each pass; a pass runs every node whose queue is not empty, and passes repeat until
 * every queue is (icmp-error and MPLS disposition send packets back to earlier nodes). To add
 * a node: its id and name in graph-constants.ts (N_*, NODE_NAMES, N_NODES), any new drop
 * reason in DROP_REASONS, a file beside this one exporting its GraphNode (node.ts), and its
 * place in this list.
 */
import type { GraphNode } from './node.js';
import { ethernetInputNode } from './ethernet-input.js';
import { arpNode } from './arp.js';
import { mplsInputNode } from './mpls-input.js';
import { ip4InputNode } from './ip4-input.js';
import { ip6InputNode } from './ip6-input.js';
import { ip4LookupNode, ip6LookupNode } from './ip-lookup.js';
import { ip4LocalNode } from './ip4-local.js';
import { ip6LocalNode } from './ip6-local.js';
import { aclNode, aclOutNode } from './acl.js';
import { rewriteNode } from './rewrite.js';
import { puntNode } from './punt.js';
import { icmpErrorNode } from './icmp-error.js';
import { dropNode } from './drop.js';
import { txNode } from './tx.js';
import { framePuntNode } from './frame-punt.js';
import { l2InputNode } from './l2-input.js';
import { l2ForwardNode } from './l2-forward.js';
import { l2OutputNode } from './l2-output.js';

export const GRAPH_NODES: readonly GraphNode[] = [
  ethernetInputNode,
  l2InputNode,
  l2ForwardNode,
  l2OutputNode,
  arpNode,
  mplsInputNode,
  ip4InputNode,
  ip6InputNode,
  ip4LookupNode,
  ip6LookupNode,
  ip4LocalNode,
  ip6LocalNode,
  aclNode,
  rewriteNode,
  aclOutNode,
  puntNode,
  framePuntNode,
  icmpErrorNode,
  dropNode,
  txNode,
];
