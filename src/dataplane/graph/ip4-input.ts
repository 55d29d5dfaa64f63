/**
 * ip4-input: IPv4 header checks (version, header length, total length, header checksum),
 * Ethernet padding dropped, multicast and broadcast destinations dropped (not routed).
 */
import * as K from './graph-constants.js';
import * as L from './limits.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';

const CAP = L.CAP;

export const ip4InputNode: GraphNode = {
  id: K.N_IP4_IN,
  name: 'ip4-input',
  next: [K.N_IP4_LOOKUP, K.N_DROP],
  drops: [K.D_TRUNCATED, K.D_BAD_VERSION, K.D_BAD_IHL, K.D_BAD_LENGTH, K.D_BAD_CHECKSUM, K.D_MULTICAST],
  counters: [],
  run: ip4Input,
};

function ip4Input(g: Graph): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  const dv = p.view;
  const w = g.work;
  const n = g.take(K.N_IP4_IN, w);
  // the usual next node's queue is filled through a local cursor (nothing else in this loop enqueues there)
  const nLookupBase = (K.N_IP4_LOOKUP) * CAP;
  let nLookup = g.qlen[K.N_IP4_LOOKUP]!;
  const qbuf = g.qbuf;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const base = i << SHIFT;
    const l3 = p.l3[i]!;
    const o = base + l3;
    const avail = p.start[i]! + p.len[i]! - l3;
    if (avail < 20) { g.drop(i, K.D_TRUNCATED); continue; }
    const vi = d[o]!;
    if (vi >> 4 !== 4) { g.drop(i, K.D_BAD_VERSION); continue; }
    const ihl = (vi & 15) << 2;
    if (ihl < 20 || ihl > avail) { g.drop(i, K.D_BAD_IHL); continue; }
    const tot = (d[o + 2]! << 8) | d[o + 3]!;
    if (tot < ihl || tot > avail) { g.drop(i, K.D_BAD_LENGTH); continue; }
    // five 32-bit loads instead of twenty byte loads; halves summed apart stay small integers
    const w0 = dv.getUint32(o), w1 = dv.getUint32(o + 4), w2 = dv.getUint32(o + 8), w3 = dv.getUint32(o + 12), w4 = dv.getUint32(o + 16);
    let sum = (w0 >>> 16) + (w0 & 0xffff) + (w1 >>> 16) + (w1 & 0xffff) + (w2 >>> 16) + (w2 & 0xffff) + (w3 >>> 16) + (w3 & 0xffff) + (w4 >>> 16) + (w4 & 0xffff);
    for (let b = 20; b < ihl; b += 2) sum += (d[o + b]! << 8) | d[o + b + 1]!;
    sum = (sum & 0xffff) + (sum >>> 16);
    sum = (sum & 0xffff) + (sum >>> 16);
    if (sum !== 0xffff) { g.drop(i, K.D_BAD_CHECKSUM); continue; }
    p.len[i] = l3 - p.start[i]! + tot; // drop Ethernet padding
    if (d[o + 16]! >= 224) { g.drop(i, K.D_MULTICAST); continue; }
    if (nLookup < CAP) qbuf[nLookupBase + nLookup++] = i; else g.dropNow(i, K.D_POOL_EMPTY);
  }
  g.qlen[K.N_IP4_LOOKUP] = nLookup;
}

