/**
 * l2-output: egress tagging of switched frames by the outgoing port's mode (docs/l2.md). An
 * access port sends untagged; a trunk sends its native VLAN untagged and every other VLAN with
 * an 802.1Q tag (a frame that came in tagged keeps its tag, priority bits included; one that
 * came in untagged gets priority 0). The tag's TPID is the port's (0x8100, or 0x88a8 on a QinQ
 * provider trunk): a tag kept across ports of different TPIDs has its TPID rewritten. A port that no longer carries the frame's VLAN (its
 * configuration changed while the frame was in flight) drops it. A port with an output filter
 * (`filter output`, docs/l2.md) has it applied first, to the frame as it came in.
 */
import * as K from './graph-constants.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';
import { PORT_ACCESS, PORT_TRUNK, TRUNK_VLAN_WORDS } from '../tables/bridge-table.js';
import { DECIDE_PERMIT } from '../tables/acl-table.js';
import { decideBridgeFrame } from './bridge-filter.js';

const VW = TRUNK_VLAN_WORDS;
const M_ACCESS = PORT_ACCESS;
const M_TRUNK = PORT_TRUNK;

export const l2OutputNode: GraphNode = {
  id: K.N_L2_OUTPUT,
  name: 'l2-output',
  next: [K.N_TX, K.N_DROP],
  drops: [K.D_L2_VLAN_NOT_ALLOWED, K.D_L2_FILTER_OUT_DISCARD],
  counters: [],
  run: l2Output,
};

function l2Output(g: Graph): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const w = g.work;
  const n = g.take(K.N_L2_OUTPUT, w);
  const d = g.d;
  const bt = g.t.bridge;
  const mode = bt.mode;
  const access = bt.access;
  const native = bt.native;
  const tpid = bt.tpid;
  const vlans = bt.vlans;
  const filters = g.t.aclOut;
  const fdesc = filters.desc;
  const dv = p.view;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const out = p.txVif[i]!;
    const aux = p.aux[i]!;
    const vlan = aux & 0xfff;
    const tagged = aux >>> 16;
    const m = mode[out]!;
    let wantTag: boolean;
    if (m === M_ACCESS && access[out] === vlan) wantTag = false;
    else if (m === M_TRUNK && (vlans[out * VW + (vlan >>> 5)]! & (1 << (vlan & 31))) !== 0) wantTag = native[out] !== vlan;
    else { g.drop(i, K.D_L2_VLAN_NOT_ALLOWED); continue; }
    const s = p.start[i]!;
    const o = (i << SHIFT) + s;
    const fd = fdesc[out]!;
    if (fd !== 0) {
      const dec = decideBridgeFrame(filters, d, dv, out, fd, o, tagged !== 0 ? 18 : 14, p.len[i]!, vlan);
      g.stats[g.aclOutBase + out * K.ACL_STRIDE + (dec & 0xffff)]++;
      if ((dec & DECIDE_PERMIT) === 0) { g.drop(i, K.D_L2_FILTER_OUT_DISCARD); continue; }
    }
    if (tagged !== 0 && !wantTag) {
      d.copyWithin(o + 4, o, o + 12);
      p.start[i] = s + 4;
      p.len[i] -= 4;
    } else if (tagged === 0 && wantTag) {
      d.copyWithin(o - 4, o, o + 12);
      const tp = tpid[out]!;
      d[o + 8] = tp >>> 8; d[o + 9] = tp & 255; d[o + 10] = vlan >>> 8; d[o + 11] = vlan & 255;
      p.start[i] = s - 4;
      p.len[i] += 4;
    } else if (tagged !== 0) {
      // kept: in the out port's TPID (a flood copy shares nothing: l2-forward cloned it)
      const tp = tpid[out]!;
      d[o + 12] = tp >>> 8; d[o + 13] = tp & 255;
    }
    g.enq(K.N_TX, i);
  }
}
