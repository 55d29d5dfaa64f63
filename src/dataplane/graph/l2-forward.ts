/**
 * l2-forward: the destination lookup of L2 switching (docs/l2.md). A unicast destination the
 * MAC table holds goes to its port (l2-output), or, when it is the IRB's own MAC, up to the
 * L3 path: the tag comes off and the frame re-enters ethernet-input as received on the IRB
 * vif (whose VRF, MAC and addresses are the domain's routing interface). Broadcast, multicast
 * and unknown unicast are flooded to the domain's other ports, never back out of the ingress
 * port, after the ingress port's storm control (a token bucket); broadcast and IPv6
 * multicast (ARP, NDP) also reach the IRB. Ports marked no-local-switching do not switch to
 * each other. Each flooded port but the last gets a copy (counted as l2_flood_copies, so that
 * rx + generated + copies == tx + punt + consumed + drops still holds).
 */
import * as K from './graph-constants.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';
import { L2WorkerState } from './l2-state.js';
import { MAX_BD_PORTS, PORT_NONE, PORT_NO_LOCAL_SWITCHING } from '../tables/bridge-table.js';
import { macLookup } from '../tables/mac-table.js';
import { VIF_IRB, VIF_UP } from '../tables/vif-table.js';

const MAXP = MAX_BD_PORTS;
const NLS = PORT_NO_LOCAL_SWITCHING;
const M_NONE = PORT_NONE;
const F_IRB = VIF_IRB;
const F_UP = VIF_UP;

export const l2ForwardNode: GraphNode = {
  id: K.N_L2_FORWARD,
  name: 'l2-forward',
  next: [K.N_L2_OUTPUT, K.N_ETH_IN, K.N_DROP],
  drops: [K.D_STORM_CONTROL, K.D_L2_SAME_PORT, K.D_NO_LOCAL_SWITCHING, K.D_L2_NO_PORTS],
  counters: [K.C_L2_FLOOD_COPIES],
  run: l2Forward,
};

/** The frame leaves the domain for its IRB: untagged, as if the IRB vif had received it. */
function toIrb(g: Graph, i: number, irb: number, o: number): void {
  const p = g.pool;
  if ((p.aux[i]! >>> 16) !== 0) {
    g.d.copyWithin(o + 4, o, o + 12);
    p.start[i] += 4;
    p.len[i] -= 4;
  }
  p.rxVif[i] = irb;
  p.flags[i] = 0;
  g.enq(K.N_ETH_IN, i);
}

function l2Forward(g: Graph): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const w = g.work;
  const n = g.take(K.N_L2_FORWARD, w);
  const dv = p.view;
  const d = g.d;
  const bt = g.t.bridge;
  const mode = bt.mode;
  const pflags = bt.pflags;
  const stormRate = bt.stormRate;
  const stormBurst = bt.stormBurst;
  const bdIrb = bt.bdIrb;
  const bdPorts = bt.bdPorts;
  const bdNports = bt.bdNports;
  const mt = g.t.mac;
  const mstate = mt.state;
  const mkey0 = mt.key0;
  const mkey1 = mt.key1;
  const mmask = mt.mask;
  const mvif = mt.vif;
  const vflags = g.t.vif.flags;
  const l2 = (g.l2 ??= new L2WorkerState(g.t.sizes.maxVifs, g.t.sizes.maxBridgeDomains));
  const tokens = l2.tokens;
  const refilled = l2.refilled;
  const flood = l2.flood;
  const st = g.stats;
  const now = g.now;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const rx = p.rxVif[i]!;
    const bd = p.vrf[i]!;
    const o = (i << SHIFT) + p.start[i]!;
    const dhi = (d[o]! << 8) | d[o + 1]!;
    const dlo = dv.getUint32(o + 2);
    const irb = bdIrb[bd]!;
    let out = -1;
    if ((dhi & 0x100) === 0) {
      const e = macLookup(mstate, mkey0, mkey1, mmask, ((bd << 16) | dhi) >>> 0, dlo);
      if (e >= 0) out = mvif[e]!;
    }
    if (out >= 0) {
      if (out === rx) g.drop(i, K.D_L2_SAME_PORT);
      else if ((vflags[out]! & F_IRB) !== 0) toIrb(g, i, out, o);
      else if ((pflags[rx]! & pflags[out]! & NLS) !== 0) g.drop(i, K.D_NO_LOCAL_SWITCHING);
      else { p.txVif[i] = out; g.enq(K.N_L2_OUTPUT, i); }
      continue;
    }
    // broadcast, multicast, unknown unicast: storm control on the ingress port first
    const rate = stormRate[rx]!;
    if (rate > 0) {
      const burst = stormBurst[rx]!;
      let t = tokens[rx]!;
      t = t < 0 ? burst : Math.min(burst, t + (now - refilled[rx]!) * rate);
      refilled[rx] = now;
      const len = p.len[i]!;
      if (t < len) { tokens[rx] = t; g.drop(i, K.D_STORM_CONTROL); continue; }
      tokens[rx] = t - len;
    }
    const np = bdNports[bd]!;
    const base = bd * MAXP;
    const rxNls = pflags[rx]! & NLS;
    let m = 0;
    for (let q = 0; q < np; q++) {
      const v = bdPorts[base + q]!;
      if (v === rx || mode[v] === M_NONE || (vflags[v]! & F_UP) === 0 || (pflags[v]! & rxNls) !== 0) continue;
      flood[m++] = v;
    }
    // the IRB hears broadcast (ARP) and IPv6 multicast (NDP)
    if (irb >= 0 && irb !== rx && ((dhi === 0xffff && dlo === 0xffffffff) || dhi === 0x3333)) flood[m++] = irb;
    if (m === 0) { g.drop(i, K.D_L2_NO_PORTS); continue; }
    const pc = g.l2Base + rx * K.L2_PORT_STRIDE;
    st[pc + K.L2_PORT_FLOODED]++;
    st[pc + K.L2_PORT_FLOOD_COPIES] += m - 1;
    const s = p.start[i]!;
    const len = p.len[i]!;
    for (let q = 0; q < m - 1; q++) {
      st[K.C_L2_FLOOD_COPIES]++;
      const j = p.alloc();
      if (j < 0) {
        // the copy that could not be made counts as dropped for want of a buffer
        st[K.STATS_DROP_BASE + K.D_POOL_EMPTY]++;
        st[g.vifBase + rx * K.VIF_STRIDE + 4]++;
        continue;
      }
      const oj = (j << SHIFT) + s;
      d.copyWithin(oj, o, o + len);
      p.start[j] = s;
      p.len[j] = len;
      p.rxVif[j] = rx;
      p.vrf[j] = bd;
      p.aux[j] = p.aux[i]!;
      p.l3[j] = p.l3[i]!;
      p.flags[j] = 0;
      const v = flood[q]!;
      if (v === irb) toIrb(g, j, v, oj);
      else { p.txVif[j] = v; g.enq(K.N_L2_OUTPUT, j); }
    }
    const v = flood[m - 1]!;
    if (v === irb) toIrb(g, i, v, o);
    else { p.txVif[i] = v; g.enq(K.N_L2_OUTPUT, i); }
  }
}
