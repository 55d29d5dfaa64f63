/**
 * l2-input: the first L2 node (docs/l2.md). ethernet-input hands it every frame of a bridge
 * port, and tx every frame an IRB sends into its domain. It classifies the frame into a VLAN
 * and a bridge domain by the port's mode (an access port takes untagged frames into its VLAN;
 * a trunk takes frames tagged with a VLAN it carries, and untagged ones into its native VLAN;
 * anything else is dropped and counted). A tag is a frame's first EtherType equal to the port's
 * TPID (0x8100, or 0x88a8 on a QinQ provider trunk, which drops 802.1Q-tagged frames); a QinQ
 * tunnel access port takes 802.1Q-tagged frames as untagged ones, the tag kept as payload.
 * It checks the source MAC and learns it: a source the MAC table does not hold (or holds on
 * another port: a move) is posted to the main thread as a learn event (Graph.learn, family
 * L2_EVENT), which installs it, so forwarding never waits. A
 * new source beyond the port's or the domain's MAC limit is not learned and its frame dropped
 * (forwarded instead when the limit it is over has packet-action none); the new
 * sources posted and not yet acknowledged by the main thread count against the limits.
 * Known sources get their last-seen second refreshed (aging). A port with an input filter
 * (`firewall family bridge`, tables/acl-table.ts decideL2) has it applied once the VLAN is
 * known and before the source is learned: a frame it discards is neither learned nor
 * forwarded; each term's hits count where the inet filters' do.
 *
 * What it leaves for l2-forward: pool.vrf = the bridge domain, pool.aux = VLAN | (tagged <<
 * 16), pool.l3 = the payload's offset.
 */
import { performance } from 'node:perf_hooks';
import * as K from './graph-constants.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';
import { L2WorkerState, LEARN_REPOST_MS, PENDING_FIFO } from './l2-state.js';
import { BD_LIMIT_FORWARD, BD_TABLE_FORWARD, LEARN_ACK_BASE, PORT_ACCESS, PORT_DOT1Q_TUNNEL, PORT_IRB, PORT_TRUNK, TPID_8021Q, TRUNK_VLAN_WORDS } from '../tables/bridge-table.js';
import { MAC_STATIC, macHash, macLookup } from '../tables/mac-table.js';
import { DECIDE_PERMIT } from '../tables/acl-table.js';
import { decideBridgeFrame } from './bridge-filter.js';

/** Graph.learn's family for a MAC learn event: [vif, L2_EVENT, domain, 0, 0, 0, MAC hi16, MAC lo32] */
export const L2_EVENT = 2;
const ORIGIN = performance.timeOrigin;
const VW = TRUNK_VLAN_WORDS;
const M_ACCESS = PORT_ACCESS;
const M_TRUNK = PORT_TRUNK;
const M_IRB = PORT_IRB;
const STATIC = MAC_STATIC;
const REPOST = LEARN_REPOST_MS;
const PERMIT = DECIDE_PERMIT;
const STRIDE = K.ACL_STRIDE;
const LIMIT_FORWARD = BD_LIMIT_FORWARD;
const TABLE_FORWARD = BD_TABLE_FORWARD;
const TUNNEL = PORT_DOT1Q_TUNNEL;
const CTAG = TPID_8021Q;

export const l2InputNode: GraphNode = {
  id: K.N_L2_INPUT,
  name: 'l2-input',
  next: [K.N_L2_FORWARD, K.N_DROP],
  drops: [K.D_TRUNCATED, K.D_OVERSIZE, K.D_L2_NO_DOMAIN, K.D_L2_VLAN_NOT_ALLOWED, K.D_L2_BAD_SOURCE, K.D_MAC_LIMIT, K.D_L2_FILTER_DISCARD],
  counters: [K.C_MAC_LEARN_EVENTS],
  run: l2Input,
};

function l2Input(g: Graph): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const w = g.work;
  const n = g.take(K.N_L2_INPUT, w);
  const dv = p.view;
  const d = g.d;
  const bt = g.t.bridge;
  const mode = bt.mode;
  const access = bt.access;
  const native = bt.native;
  const tpid = bt.tpid;
  const pflags = bt.pflags;
  const vlans = bt.vlans;
  const vlanDomain = bt.vlanDomain;
  const bdVlan = bt.bdVlan;
  const portLimit = bt.portLimit;
  const portCount = bt.portCount;
  const bdLimit = bt.bdLimit;
  const bdCount = bt.bdCount;
  const bdFlags = bt.bdFlags;
  const mt = g.t.mac;
  const mstate = mt.state;
  const mkey0 = mt.key0;
  const mkey1 = mt.key1;
  const mmask = mt.mask;
  const mvif = mt.vif;
  const mseen = mt.seen;
  const mflags = mt.eflags;
  const mtu = g.t.vif.mtu;
  const fdesc = g.t.acl.desc;
  const filters = g.t.acl;
  const fBase = g.aclBase;
  const stats = g.stats;
  const l2 = (g.l2 ??= new L2WorkerState(g.t.sizes.maxVifs, g.t.sizes.maxBridgeDomains));
  const rKey = l2.recentKey;
  const rVif = l2.recentVif;
  const rAt = l2.recentAt;
  const rEpoch = l2.recentEpoch;
  const epoch = Atomics.load(bt.global, 0);
  const pendPort = l2.pendingPort;
  const pendBd = l2.pendingDomain;
  const ackSlot = LEARN_ACK_BASE + g.workerIndex;
  const global = bt.global;
  const fVif = l2.fifoVif;
  const fBd = l2.fifoDomain;
  const fBatch = l2.fifoBatch;
  const batch = g.eventBatches;
  const rMask = l2.recentMask;
  const now = g.now;
  const sec = Math.floor((ORIGIN + now) / 1000);
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const vif = p.rxVif[i]!;
    const s = p.start[i]!;
    const len = p.len[i]!;
    const o = (i << SHIFT) + s;
    if (len < 14) { g.drop(i, K.D_TRUNCATED); continue; }
    const m = mode[vif]!;
    let vlan = 0;
    let hl = 14;
    let tagged = 0;
    // a QinQ tunnel port's customer tag: payload, but the MTU allows its 4 bytes
    let inner = 0;
    const et = (d[o + 12]! << 8) | d[o + 13]!;
    if (m === M_IRB) {
      // what an IRB sends is untagged (Graph.eth on a vif without a tag), in its domain's VLAN
      vlan = bdVlan[access[vif]!]!;
    } else if (et === tpid[vif] && (pflags[vif]! & TUNNEL) === 0) {
      if (len < 18) { g.drop(i, K.D_TRUNCATED); continue; }
      vlan = ((d[o + 14]! << 8) | d[o + 15]!) & 0xfff;
      if (m !== M_TRUNK || (vlans[vif * VW + (vlan >>> 5)]! & (1 << (vlan & 31))) === 0) { g.drop(i, K.D_L2_VLAN_NOT_ALLOWED); continue; }
      hl = 18;
      tagged = 1;
    } else if (et === CTAG && m === M_TRUNK) {
      // an 802.1Q tag on a provider (0x88a8) trunk: a customer frame where only S-tagged ones belong
      g.drop(i, K.D_L2_VLAN_NOT_ALLOWED);
      continue;
    } else {
      vlan = m === M_ACCESS ? access[vif]! : native[vif]!;
      if (et === CTAG) inner = 4;
    }
    const bd = vlanDomain[vlan]!;
    if (vlan === 0 || bd === 0) { g.drop(i, K.D_L2_NO_DOMAIN); continue; }
    if (len - hl - inner > mtu[vif]!) { g.drop(i, K.D_OVERSIZE); continue; }
    if (m !== M_IRB) {
      const shi = (d[o + 6]! << 8) | d[o + 7]!;
      const slo = dv.getUint32(o + 8);
      if ((shi & 0x100) !== 0 || (shi === 0 && slo === 0)) { g.drop(i, K.D_L2_BAD_SOURCE); continue; }
      const fd = fdesc[vif]!;
      if (fd !== 0) {
        const dec = decideBridgeFrame(filters, d, dv, vif, fd, o, hl, len, vlan);
        stats[fBase + vif * STRIDE + (dec & 0xffff)]++;
        if ((dec & PERMIT) === 0) { g.drop(i, K.D_L2_FILTER_DISCARD); continue; }
      }
      const k0 = ((bd << 16) | shi) >>> 0;
      const e = macLookup(mstate, mkey0, mkey1, mmask, k0, slo);
      let post = false;
      let isNew = false;
      if (e >= 0) {
        if (mvif[e] === vif) { if (mseen[e] !== sec) mseen[e] = sec; }
        else post = (mflags[e]! & STATIC) === 0; // a move (a static entry, the IRB's MAC, never moves)
      } else {
        // the batches the main thread has applied: read just before the counts it wrote before
        // acknowledging them (the other order could miss a source, this one at worst counts one
        // twice for the moment the main thread spends applying a batch)
        l2.settle(Atomics.load(global, ackSlot));
        const pl = portLimit[vif]!;
        const bl = bdLimit[bd]!;
        const overDomain = bl !== 0 && bdCount[bd]! + pendBd[bd]! >= bl;
        const overPort = pl !== 0 && portCount[vif]! + pendPort[vif]! >= pl;
        if (overDomain || overPort) {
          // over a limit whose packet-action is none: forwarded, not learned; dropped if any limit it is over drops
          const fl = bdFlags[bd]!;
          if ((overDomain && (fl & TABLE_FORWARD) === 0) || (overPort && (fl & LIMIT_FORWARD) === 0)) { g.drop(i, K.D_MAC_LIMIT); continue; }
        } else {
          post = true;
          isNew = true;
        }
      }
      if (post) {
        // once per (domain, MAC, vif) while the main thread has not installed it (nor changed anything else)
        const h = macHash(k0, slo) | 0;
        const r = h & rMask;
        if (rKey[r] !== h || rVif[r] !== vif || rEpoch[r] !== epoch || now - rAt[r]! >= REPOST) {
          rKey[r] = h;
          rVif[r] = vif;
          rAt[r] = now;
          rEpoch[r] = epoch;
          g.learn(vif, L2_EVENT, bd, 0, 0, 0, d, o + 6);
          g.stats[K.C_MAC_LEARN_EVENTS]++;
          if (isNew && l2.fifoTail - l2.fifoHead < PENDING_FIFO) {
            const q = l2.fifoTail++ % PENDING_FIFO;
            fVif[q] = vif;
            fBd[q] = bd;
            fBatch[q] = batch;
            pendPort[vif]++;
            pendBd[bd]++;
          }
        }
      }
    }
    p.vrf[i] = bd;
    p.aux[i] = vlan | (tagged << 16);
    p.l3[i] = s + hl;
    g.enq(K.N_L2_FORWARD, i);
  }
}
