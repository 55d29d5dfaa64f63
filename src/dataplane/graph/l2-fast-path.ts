/**
 * The fused L2 fast path (docs/l2.md, "The L2 fast path"): l2-input, l2-forward, l2-output and
 * tx in one pass over what the L3 fast path left in ethernet-input's queue, for the common
 * switched frame: received on a bridge port (access or trunk) without an input filter, toward one without an output filter, classified
 * into a VLAN the port carries and a bridge domain (by the port's TPID; a QinQ tunnel port's
 * customer tag is payload), from a source the MAC table already holds on
 * that port, to a unicast destination it holds on another port of this worker (not the IRB, not
 * a no-local-switching pair) that carries the VLAN. The frame is retagged as l2-output would
 * and queued for tx. Everything else (unknown or moved sources, flooding and storm control,
 * limits, filters, the IRB, drops, handoff to another worker) is left unmodified, in order, in
 * ethernet-input's queue for the general nodes, so every exception keeps its one implementation
 * there; this path makes no decision of its own that they would not make.
 *
 * Made once per graph like fast-path.ts (V8 specialises the closure to its scope: every table
 * a const here), and run only by graphs that have switched a frame before (Graph.l2 is set by
 * the first L2 burst), so an L3-only router never calls it.
 */
import { performance } from 'node:perf_hooks';
import * as K from './graph-constants.js';
import * as L from './limits.js';
import type { Graph } from './graph.js';
import { PORT_ACCESS, PORT_DOT1Q_TUNNEL, PORT_NO_LOCAL_SWITCHING, PORT_TRUNK, TPID_8021Q, TRUNK_VLAN_WORDS } from '../tables/bridge-table.js';
import { MAC_EMPTY, MAC_LIVE, MAX_PROBE, macHash } from '../tables/mac-table.js';
import { VIF_IRB, VIF_L2, VIF_UP } from '../tables/vif-table.js';

const CAP = L.CAP;
const ORIGIN = performance.timeOrigin;

export function makeL2FastPath(g: Graph): () => void {
  const p = g.pool;
  const SHIFT = p.shift | 0;
  const d = g.d;
  const dv = p.view;
  const pstart = p.start;
  const plen = p.len;
  const prx = p.rxVif;
  const qbuf = g.qbuf;
  const qlen = g.qlen;
  const nEthIn = K.N_ETH_IN;
  const qBase = nEthIn * CAP;
  const t = g.t;
  const bt = t.bridge;
  const mode = bt.mode;
  const pflags = bt.pflags;
  const access = bt.access;
  const native = bt.native;
  const tpid = bt.tpid;
  const vlans = bt.vlans;
  const vlanDomain = bt.vlanDomain;
  const mt = t.mac;
  const mstate = mt.state;
  const mkey0 = mt.key0;
  const mkey1 = mt.key1;
  const mmask = mt.mask;
  const mvif = mt.vif;
  const mseen = mt.seen;
  const vt = t.vif;
  const vflags = vt.flags;
  const vmtu = vt.mtu;
  const fdesc = t.acl.desc;
  // output filters (l2-output applies them): a frame toward a filtered port takes the l2 nodes
  const odesc = t.aclOut.desc;
  const drivers = g.drivers;
  const txq = g.txq;
  const txn = g.txn;
  const txb = g.txb;
  const txDirty = g.txDirty;
  // imported constants as consts of this scope (see fast-path.ts)
  const VW = TRUNK_VLAN_WORDS;
  const mAccess = PORT_ACCESS;
  const mTrunk = PORT_TRUNK;
  const nls = PORT_NO_LOCAL_SWITCHING;
  const tunnel = PORT_DOT1Q_TUNNEL;
  const ctag = TPID_8021Q;
  const upL2 = VIF_UP | VIF_L2;
  const fIrb = VIF_IRB;
  const empty = MAC_EMPTY;
  const live = MAC_LIVE;
  const maxProbe = MAX_PROBE;
  const dTxFull = K.D_TX_FULL;
  const st = g.stats;
  const cFast = K.C_L2_FAST_PATH;

  /** macLookup (tables/mac-table.ts) over this scope's arrays: the entry of (k0, k1), or -1 */
  function lookup(k0: number, k1: number): number {
    let e = macHash(k0, k1) & mmask;
    for (let q = 0; q < maxProbe; q++) {
      const s = mstate[e]!;
      if (s === empty) return -1;
      if (s === live && mkey0[e] === k0 && mkey1[e] === k1) return e;
      e = (e + 1) & mmask;
    }
    return -1;
  }

  // the receiving port's fields (l2FastPath reloads them when the port changes: a burst comes from one vif)
  let vMode = 0;
  let vUntagged = 0;
  let vMtu = 0;
  let vNls = 0;
  let vTpid = 0;
  let vTunnel = 0;

  /**
   * l2-input, l2-forward and l2-output for frame i (at o, len bytes, from port vif) when it is a
   * common one: its out port, the frame retagged for it; or -1, the frame untouched.
   */
  function switchTo(i: number, vif: number, o: number, len: number, s: number, sec: number): number {
    // l2-input: VLAN and domain
    let vlan = vUntagged;
    let tagged = 0;
    let inner = 0;
    const et = dv.getUint16(o + 12);
    if (et === vTpid && vTunnel === 0) {
      vlan = dv.getUint16(o + 14) & 0xfff;
      if (vMode !== mTrunk || (vlans[vif * VW + (vlan >>> 5)]! & (1 << (vlan & 31))) === 0) return -1;
      tagged = 1;
    } else if (et === 0x88a8 || et === 0x9100 || et === ctag) {
      // another TPID: a QinQ tunnel port's customer tag (payload, 4 more bytes within the MTU),
      // else the l2 nodes' to classify, whatever they make of it
      if (vTunnel === 0 || et !== ctag) return -1;
      inner = 4;
    }
    const bd = vlanDomain[vlan]!;
    if (vlan === 0 || bd === 0 || len - 14 - 4 * tagged - inner > vMtu) return -1;
    // a valid source, known on this port (anything to learn, move or limit: the general nodes)
    const shi = dv.getUint16(o + 6);
    const slo = dv.getUint32(o + 8);
    if ((shi & 0x100) !== 0 || (shi === 0 && slo === 0)) return -1;
    const es = lookup(((bd << 16) | shi) >>> 0, slo);
    if (es < 0 || mvif[es] !== vif) return -1;
    // l2-forward: a known unicast destination on another port, not the IRB, not a no-local-switching pair
    const dhi = dv.getUint16(o);
    if ((dhi & 0x100) !== 0) return -1;
    const ed = lookup(((bd << 16) | dhi) >>> 0, dv.getUint32(o + 2));
    if (ed < 0) return -1;
    const out = mvif[ed]!;
    if (out === vif || (vflags[out]! & fIrb) !== 0 || (pflags[out]! & vNls) !== 0 || drivers[out] === null || odesc[out] !== 0) return -1;
    // l2-output: the out port carries the VLAN, tagged or not
    const om = mode[out]!;
    let wantTag = 0;
    if (om === mTrunk && (vlans[out * VW + (vlan >>> 5)]! & (1 << (vlan & 31))) !== 0) wantTag = native[out] !== vlan ? 1 : 0;
    else if (om !== mAccess || access[out] !== vlan) return -1;
    // taken: the source's last-seen second (aging), and the tag
    if (mseen[es] !== sec) mseen[es] = sec;
    if (tagged !== wantTag) {
      if (tagged !== 0) {
        d.copyWithin(o + 4, o, o + 12);
        pstart[i] = s + 4;
        plen[i] = len - 4;
      } else {
        d.copyWithin(o - 4, o, o + 12);
        const tp = tpid[out]!;
        d[o + 8] = tp >>> 8; d[o + 9] = tp & 255; d[o + 10] = vlan >>> 8; d[o + 11] = vlan & 255;
        pstart[i] = s - 4;
        plen[i] = len + 4;
      }
    } else if (tagged !== 0 && tpid[out] !== et) {
      // kept, in the out port's TPID (a QinQ trunk and an 802.1Q one in one domain)
      dv.setUint16(o + 12, tpid[out]!);
    }
    return out;
  }

  function l2FastPath(): void {
    const n = qlen[nEthIn]!;
    let nSlow = 0;
    const sec = Math.floor((ORIGIN + g.now) / 1000);
    let lastVif = -1;
    let vOk = false;
    // the tx queue being filled, in locals while the out port stays the same
    let curOv = -1;
    let curBase = 0;
    let curN = 0;
    let curBytes = 0;
    let taken = 0;
    for (let k = 0; k < n; k++) {
      const i = qbuf[qBase + k]!;
      const vif = prx[i]!;
      if (vif !== lastVif) {
        lastVif = vif;
        const m = mode[vif]!;
        vMode = m;
        // a bridge port that is up, access or trunk (the IRB's frames come through tx), without an input filter
        vOk = (vflags[vif]! & upL2) === upL2 && (m === mAccess || m === mTrunk) && fdesc[vif] === 0;
        vUntagged = m === mAccess ? access[vif]! : native[vif]!;
        vMtu = vmtu[vif]!;
        vNls = pflags[vif]! & nls;
        vTpid = tpid[vif]!;
        vTunnel = pflags[vif]! & tunnel;
      }
      const len = plen[i]!;
      const out = vOk && len >= 18 ? switchTo(i, vif, (i << SHIFT) + pstart[i]!, len, pstart[i]!, sec) : -1;
      if (out < 0) {
        qbuf[qBase + nSlow++] = i;
        continue;
      }
      if (out !== curOv) {
        if (curOv >= 0) { txn[curOv] = curN; txb[curOv] = curBytes; }
        curOv = out;
        curBase = out * CAP;
        curN = txn[out]!;
        curBytes = txb[out]!;
        if (curN === 0) txDirty[g.txDirtyN++] = out;
      }
      if (curN >= CAP) { g.dropNow(i, dTxFull); continue; }
      txq[curBase + curN++] = i;
      curBytes += plen[i]!;
      taken++;
    }
    if (curOv >= 0) { txn[curOv] = curN; txb[curOv] = curBytes; }
    st[cFast] += taken;
    qlen[nEthIn] = nSlow;
  }
  return l2FastPath;
}
