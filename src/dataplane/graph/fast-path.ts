/**
 * The fused fast path: ethernet-input, ip4-input/ip6-input, the lookups and rewrite in a few
 * passes over a received burst, for the common packet (see fastPath below and docs/design.md,
 * "The fast path"). What it does not take stays, unmodified, in ethernet-input's queue for
 * the general nodes (the node files beside this one), so every exception keeps its one
 * implementation there.
 *
 * Cost rules, measured with valgrind's instruction counts: everything the closures use that
 * never changes is a const of makeFastPath's scope (typed arrays and imported constants
 * alike: an import is a module cell V8 loads and checks at each use), and the graph makes
 * exactly one fast path, so V8 specialises the closures' optimised code to that scope.
 */
import * as K from './graph-constants.js';
import * as L from './limits.js';
import type { Graph } from './graph.js';
import { walk4Burst, walk4BurstRoots, walk6Burst } from '../tables/lpm.js';
import { RouteCache6 } from '../tables/route-cache.js';
import { ILM_SWAP } from '../tables/label-table.js';
import { MAX_ECMP, MAX_LABELS, NH_COMPOSITE, NH_ENCAP } from '../tables/nexthop-table.js';
import { VIF_L2, VIF_UP } from '../tables/vif-table.js';
import { DECIDE_PERMIT } from '../tables/acl-table.js';
import { KF_IFINDEX } from '../kfast/install.js';

// module consts, not imports, in the closures (see above)
const CAP = L.CAP;
const MIN_FRONT = L.MIN_FRONT;
/** IPv6 route cache sets per graph, log2 (2^16 sets of two 32-byte entries: 4 MiB) */
const CACHE6_BITS = 16;
/** fastTx's per-call next-hop cache: entries (a power of two) and words per entry */
const NHC_SIZE = 64;
const NHC_MASK = NHC_SIZE - 1;
const NHC_STRIDE = 8;
/** a composite next hop's MTU word in fastTx's cache (below any MTU, and below -1: not fast) */
const NHC_ECMP = -2;
/** fastTx's kinds of packets */
const FT_IP4 = 0;
const FT_IP6 = 1;
const FT_MPLS = 2;
/** words per fast-path packet record (fast4, fast6) */
const FR_WORDS = 4;

/**
 * The fast path as closures over one graph (g): V8 specialises a closure's optimised code to
 * its context when the function has a single closure in the isolate (one graph per worker
 * thread, as in production), which turns g's arrays into constants: no map check and no
 * reload of length and data pointer per typed-array access on every loop iteration. With
 * the replay driver and allocBurst done the same way: 969 -> 660 instructions per forwarded
 * packet (valgrind), and 2.5-3x the packets per second in an A/B on a 1M-route FIB. With
 * several graphs in one isolate (tests) the code is the same, only not specialised.
 */
export function makeFastPath(g: Graph): () => void {
  // everything the two functions use that never changes, as consts of this scope
  const p = g.pool;
  /** the pool's slot size (chosen per data plane) as consts of this scope, never read per packet */
  const SHIFT = p.shift | 0;
  const slotMask = (p.slotSize - 1) | 0;
  const d = g.d;
  const dv = p.view;
  const qbuf = g.qbuf;
  const qBase = K.N_ETH_IN * CAP;
  const t = g.t;
  const roots4 = t.lpm4.iroots;
  const roots6 = t.lpm6.iroots;
  const slots4 = t.lpm4.islots;
  const lpm6 = t.lpm6;
  const pstart = p.start;
  const plen = p.len;
  const prx = p.rxVif;
  const pflags = p.flags;
  /**
   * the IPv4 fast packets, FR_WORDS words each (one array: V8 checks and reloads every typed
   * array a loop touches on each iteration): [frame offset (slot << SHIFT | start), L3 length,
   * the rewritten [TTL protocol checksum] word at L3 + 8, computed in pass 1, the vif's filter
   * rule that permitted the packet (-1: no filter)]
   */
  const fast4 = new Int32Array(CAP * FR_WORDS);
  const dsts = g.adr4;
  const proots4 = g.root4;
  const ents4 = g.ents;
  /** the IPv6 fast packets (FR_WORDS words each, as fast4), destinations as four words, roots, VRFs, leaves */
  const fast6 = new Int32Array(CAP * FR_WORDS);
  const a0 = new Int32Array(CAP);
  const a1 = g.adr61;
  const a2 = g.adr62;
  const a3 = g.adr63;
  const proots6 = new Int32Array(CAP);
  const vrfs6 = new Int32Array(CAP);
  const ents6 = new Int32Array(CAP);
  const ends6 = g.ends6;
  const iota = g.iota;
  const walking = g.walking;
  const vt = t.vif;
  const vflags = vt.flags;
  const vvlan = vt.vlan;
  const vmtu = vt.mtu;
  const vmacHi = vt.macHi;
  const vmacLo = vt.macLo;
  const vvrf = vt.vrf;
  const vglobal = vt.global;
  const nt = t.nh;
  const nhType = nt.type;
  const nhVif = nt.vif;
  const nhLabels = nt.nlabels;
  const nlabels = nt.labels;
  const dmacHi = nt.dmacHi;
  const dmacLo = nt.dmacLo;
  const drivers = g.drivers;
  const txq = g.txq;
  const txn = g.txn;
  const txb = g.txb;
  const txDirty = g.txDirty;
  const st = g.stats;
  const vrfBase = g.vrfBase;
  const vifBase = g.vifBase;
  /**
   * fastTx's next hops of this call, direct-mapped by nh & NHC_MASK: tag the next hop (-1:
   * empty), nhc NHC_STRIDE words each: [out vif, MTU for the L3 packet (-1: not a fast next hop),
   * the 12 bytes of MACs as three int32 words, label count]. Rebuilt for every call, so a table
   * update between bursts is always seen.
   */
  const tag = new Int32Array(NHC_SIZE);
  const nhc = new Int32Array(NHC_SIZE * NHC_STRIDE);
  const qlen = g.qlen;
  const aclDesc = t.acl.desc;
  const aclDecide = t.acl.decide;
  const aclOutDesc = t.aclOut.desc;
  const aclBase = g.aclBase;
  const aclBytesBase = g.aclBytesBase;
  // imported constants as consts of this scope (an import is a module cell V8 loads and checks on every use)
  const nEthIn = K.N_ETH_IN;
  const vifStride = K.VIF_STRIDE;
  const aclStride = K.ACL_STRIDE;
  const permitted = DECIDE_PERMIT;
  const vifUp = VIF_UP;
  /** up, and not a bridge port (whose frames are switched: l2-input) */
  const vifUpL2 = VIF_UP | VIF_L2;
  const nhEncap = NH_ENCAP;
  const nhComposite = NH_COMPOSITE;
  const maxEcmp = MAX_ECMP;
  const members = nt.members;
  const nmembers = nt.nmembers;
  const lt = t.label;
  const lIndex = lt.index;
  const lAction = lt.action;
  const lNout = lt.nout;
  const lNh = lt.nh;
  const lOut = lt.out;
  const ilmSwap = ILM_SWAP;
  /** the MPLS fast packets (records as fast4: offset, L2 payload length, the swapped label word) and their next hops */
  const fastM = new Int32Array(CAP * FR_WORDS);
  const entsM = new Int32Array(CAP);
  const maxLabels = MAX_LABELS;
  const pfMpls = K.PF_MPLS;
  const dTxFull = K.D_TX_FULL;
  /** the kernel fast path's cache filler (kfast/install.ts); kfIf: [kfIfx + vif] its ifindex there (0: not attached) */
  const kf = g.kfast;
  const kfIf = kf?.view;
  const kfIfx = KF_IFINDEX;

  /**
   * A fast packet on a vif with a filter (descriptor dsc; addresses as int32: a uint32 above
   * 2^31 passed to a call becomes a heap number): the index of the rule that
   * permits it (its hit counted here), or -2 when it is denied (left to the acl node, which
   * counts and drops it). l4: where its ports are, end: the frame's end, tot: its IP length (counted as the rule's bytes).
   */
  function aclPermit(vif: number, dsc: number, fam: number, proto: number, s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number, l4: number, end: number, tot: number): number {
    let sp = -1;
    let dp = -1;
    if ((proto === 6 || proto === 17 || proto === 132) && l4 + 4 <= end) {
      const pw = dv.getUint32(l4);
      sp = pw >>> 16;
      dp = pw & 0xffff;
    } else if ((proto === 1 || proto === 58) && l4 < end) sp = d[l4]!; // an ICMP rule's type is its source port
    const dec = aclDecide(vif, dsc, fam, proto, s0, s1, s2, s3, d0, d1, d2, d3, sp, dp);
    if ((dec & permitted) === 0) return -2;
    const at = vif * aclStride + (dec & 0xffff);
    st[aclBase + at]++;
    st[aclBytesBase + at] += tot;
    return dec & 0xffff;
  }
  /**
   * The fast path: ethernet-input, ip4-input/ip6-input, the lookups and rewrite fused into a
   * few passes over the burst for the common packet: untagged IPv4 without options (good
   * checksum, TTL > 1) or IPv6 without extension headers (unicast, not link-local, hop limit
   * > 1) for our MAC, with a route to an encap next hop (labels pushed or not; directly or as
   * the member of a composite next hop that the flow hash picks, as classify does) on an untagged
   * vif of this worker that fits the MTU, and that the receiving vif's filter permits (the
   * rule scan is the acl node's, AclTable's decide); and an MPLS packet whose top label an
   * LSR swaps for one label toward such a next hop (TTL - 1, TC and S kept; its stack must
   * end inside the frame). The first pass only reads; a packet that
   * fails any check is left unmodified in ethernet-input's queue for the general nodes, so
   * every exception (drops, ICMP, ARP, NDP, punt, labels, VLANs, handoff, filter denies, vifs with an output filter)
   * keeps its one implementation there. The Ethernet header stays where it is: only the MACs
   * are rewritten.
   */
  function fastPath(): void {
    const n = qlen[nEthIn]!;
    let nSlow = 0;
    let n4 = 0;
    let n6 = 0;
    let nM = 0;
    // the receiving vif's fields, reloaded only when it changes (a burst comes from one vif)
    let lastVif = -1;
    let vOk = false;
    let vMacHi = 0;
    let vMacLo = 0;
    let vMtu = 0;
    let vRoot4 = -1;
    let vRoot6 = -1;
    let vVrf = 0;
    /** the vif's filter descriptor (0: none) */
    let vAcl = 0;
    // inputInPlace's burst: every packet from that vif, rxVif written only for those left to the general nodes
    const pending = g.rxPending;
    g.rxPending = -1;
    g.fastRx = pending;
    let rxBytes = 0;
    /** the IPv4 root of the first vif seen; per-packet roots are stored only once a second one shows up */
    let root0 = -2;
    let mixed = false;
    // the per-VRF counters of the packets taken here, summed while the VRF stays the same
    // (fastTx takes back the few it hands to the general nodes, which count them themselves)
    let statVrf = -1;
    let statPkts = 0;
    let statBytes = 0;
    // pass 1: checks that only read, and the destination
    for (let k = 0; k < n; k++) {
      const i = qbuf[qBase + k]!;
      const vif = pending >= 0 ? pending : prx[i]!;
      if (vif !== lastVif) {
        lastVif = vif;
        const vrf = vvrf[vif]!;
        vVrf = vrf;
        vOk = vif !== vglobal[0] && vvlan[vif] === 0 && (vflags[vif]! & vifUpL2) === vifUp;
        vRoot4 = roots4[vrf]!;
        vRoot6 = roots6[vrf]!;
        vMacHi = vmacHi[vif]!;
        vMacLo = vmacLo[vif]!;
        vMtu = vmtu[vif]! + 14;
        vAcl = aclDesc[vif]!;
        if (root0 === -2) root0 = vRoot4;
        else if (vRoot4 !== root0 && !mixed) {
          proots4.fill(root0, 0, n4);
          mixed = true;
        }
        if (vrf !== statVrf) {
          if (statPkts > 0) { st[vrfBase + statVrf * 2] += statPkts; st[vrfBase + statVrf * 2 + 1] += statBytes; }
          statVrf = vrf;
          statPkts = 0;
          statBytes = 0;
        }
      }
      const len = plen[i]!;
      rxBytes += len;
      const o = (i << SHIFT) + pstart[i]!;
      if (vOk && len >= 34 && len <= vMtu && dv.getUint32(o) === vMacHi && dv.getUint16(o + 4) === vMacLo) {
        const et = dv.getUint32(o + 12);
        if ((et & 0xffffff00) === 0x08004500 && vRoot4 >= 0) {
          // the 20-byte header in 32-bit loads: [tot id] [frag ttl proto] [csum src.hi] [src.lo dst.hi] and dst
          // ([version/IHL TOS] is the low half of et)
          const w1 = dv.getUint32(o + 16), w2 = dv.getUint32(o + 20), w3 = dv.getUint32(o + 24), w4 = dv.getUint32(o + 28);
          const dst = dv.getUint32(o + 30);
          const tot = w1 >>> 16;
          let sum = (et & 0xffff) + tot + (w1 & 0xffff) + (w2 >>> 16) + (w2 & 0xffff) + (w3 >>> 16) + (w3 & 0xffff) + (w4 >>> 16) + (w4 & 0xffff) + (dst & 0xffff);
          sum = (sum & 0xffff) + (sum >>> 16);
          sum = (sum & 0xffff) + (sum >>> 16);
          // checksum good, total length sane, TTL > 1, destination not multicast/reserved
          const ok = sum === 0xffff && tot >= 20 && tot <= len - 14 && (w2 & 0xff00) > 0x100 && dst >>> 28 < 14;
          // a filter on the vif, after every other check (ports only in a first fragment)
          const hit = !ok || vAcl === 0 ? -1 : aclPermit(vif, vAcl, 4, w2 & 255, ((w3 & 0xffff) << 16) | (w4 >>> 16), 0, 0, 0, dst | 0, 0, 0, 0, (w2 & 0x1fff0000) === 0 ? o + 34 : o + len, o + len, tot);
          if (ok && hit !== -2) {
            // TTL - 1 and the incremental checksum update (RFC 1624), written by fastTx as one word
            let c = (w3 >>> 16) + 0x0100;
            c = (c + (c >>> 16)) & 0xffff;
            const r = n4 * FR_WORDS;
            fast4[r] = o;
            fast4[r + 1] = tot;
            fast4[r + 2] = (((w2 & 0xffff) - 0x100) << 16) | c;
            fast4[r + 3] = hit;
            dsts[n4] = dst;
            if (mixed) proots4[n4] = vRoot4;
            n4++;
            statPkts++;
            statBytes += tot;
            continue;
          }
        } else if (et >>> 16 === 0x86dd && len >= 54 && vRoot6 >= 0) {
          // [version class flow] [payload length, next header, hop limit], the destination at +38
          const w0 = dv.getUint32(o + 14);
          const w1 = dv.getUint32(o + 18);
          const tot = (w1 >>> 16) + 40;
          const nx = (w1 >>> 8) & 255;
          const d0 = dv.getUint32(o + 38);
          // extension headers (hop-by-hop, routing, fragment, destination options, AH), multicast
          // (ff00::/8) and link-local (fe80::/10) destinations take the general nodes
          const ok = w0 >>> 28 === 6 && tot <= len - 14 && (w1 & 255) > 1 && nx !== 0 && nx !== 43 && nx !== 44 && nx !== 60 && nx !== 51 && d0 >>> 24 !== 0xff && d0 >>> 22 !== 0x3fa;
          const d1 = dv.getUint32(o + 42);
          const d2 = dv.getUint32(o + 46);
          const d3 = dv.getUint32(o + 50);
          const hit = !ok || vAcl === 0 ? -1 : aclPermit(vif, vAcl, 6, nx, dv.getInt32(o + 22), dv.getInt32(o + 26), dv.getInt32(o + 30), dv.getInt32(o + 34), d0 | 0, d1 | 0, d2 | 0, d3 | 0, o + 54, o + len, tot);
          if (ok && hit !== -2) {
            a0[n6] = d0;
            a1[n6] = d1;
            a2[n6] = d2;
            a3[n6] = d3;
            proots6[n6] = vRoot6;
            vrfs6[n6] = vVrf;
            fast6[n6 * FR_WORDS] = o;
            fast6[n6 * FR_WORDS + 1] = tot;
            fast6[n6 * FR_WORDS + 3] = hit;
            n6++;
            statPkts++;
            statBytes += tot;
            continue;
          }
        } else if (et >>> 16 === 0x8847 && len >= 18) {
          // MPLS: a swap to one label (an LSR's usual work) whose stack ends inside the frame
          const word = dv.getUint32(o + 14);
          const label = word >>> 12;
          const ttl = word & 255;
          let bos = o + 14;
          const end = o + len;
          while (bos + 4 <= end && (dv.getUint8(bos + 2) & 1) === 0) bos += 4;
          const e = ttl > 1 && label >= 16 && bos + 4 <= end ? lIndex[label]! : 0;
          if (e !== 0 && lAction[e] === ilmSwap && lNout[e] === 1 && o + 14 - (i << SHIFT) >= MIN_FRONT) {
            const r = nM * FR_WORDS;
            fastM[r] = o;
            fastM[r + 1] = len - 14;
            // the label replaced, TC and S kept, TTL - 1
            fastM[r + 2] = (lOut[e * maxLabels]! << 12) | (word & 0xf00) | (ttl - 1);
            fastM[r + 3] = -1;
            entsM[nM++] = lNh[e]!;
            continue;
          }
        }
      }
      if (pending >= 0) prx[i] = pending;
      qbuf[qBase + nSlow++] = i;
    }
    if (pending >= 0) st[vifBase + pending * vifStride + 1] += rxBytes;
    if (statPkts > 0) { st[vrfBase + statVrf * 2] += statPkts; st[vrfBase + statVrf * 2 + 1] += statBytes; }
    if (n4 > 0) {
      // a burst comes from one vif, so usually from one VRF: the walk with one root is the faster
      if (!mixed) walk4Burst(slots4, root0, dsts, ents4, n4);
      else walk4BurstRoots(slots4, proots4, dsts, ents4, n4);
      nSlow = fastTx(nSlow, fast4, ents4, n4, FT_IP4);
    }
    if (n6 > 0) {
      if (g.cache6On) {
        if (!g.cache6Lookup) {
          g.cache6 = new RouteCache6(CACHE6_BITS, CAP);
          g.cache6Lookup = g.cache6.bind(lpm6, vrfs6, proots6, a0, a1, a2, a3, ents6);
        }
        g.cache6Lookup(n6);
      } else walk6Burst(lpm6, proots6, a0, a1, a2, a3, ents6, ends6, iota, n6, walking);
      nSlow = fastTx(nSlow, fast6, ents6, n6, FT_IP6);
    }
    if (nM > 0) nSlow = fastTx(nSlow, fastM, entsM, nM, FT_MPLS);
    qlen[nEthIn] = nSlow;
  }

  /**
   * The fast paths' last pass (after the trie walk left each packet's leaf in ents): next-hop
   * checks, TTL or hop limit, labels, MACs, and straight into the tx queue of the vif. A packet
   * that does not qualify goes back to ethernet-input's queue unmodified (after the nSlow
   * packets already there; returns the new count). fast holds nFast packets' records (see
   * fast4), ents their leaves.
   */
  /**
   * fastTx's cache entry for next hop nh (its first packet to nh in this call, or a
   * collision): the fields the rewrite needs, as int32. [e + 1] is the MTU for the L3
   * packet, -1 when nh is not a fast next hop, NHC_ECMP for a composite one.
   */
  function fill(nh: number): void {
    const slot = nh & NHC_MASK;
    const e = slot * NHC_STRIDE;
    tag[slot] = nh;
    const ty = nhType[nh]!;
    if (nh !== 0 && ty === nhComposite) {
      nhc[e + 1] = nmembers[nh]! > 0 ? NHC_ECMP : -1;
      return;
    }
    const ov = nhVif[nh]!;
    const nl = nhLabels[nh]!;
    // (a vif with an output filter takes the general nodes: acl-out)
    const ok = nh !== 0 && ty === nhEncap && vvlan[ov] === 0 && (vflags[ov]! & vifUp) !== 0 && drivers[ov] !== null && aclOutDesc[ov] === 0;
    const mh = vmacHi[ov]!;
    nhc[e] = ov;
    nhc[e + 1] = ok ? vmtu[ov]! - 4 * nl : -1;
    nhc[e + 2] = dmacHi[nh]! | 0;
    nhc[e + 3] = (dmacLo[nh]! << 16) | (mh >>> 16);
    nhc[e + 4] = ((mh & 0xffff) << 16) | vmacLo[ov]!;
    nhc[e + 5] = nl;
  }

  function fastTx(nSlow: number, fast: Int32Array, ents: Int32Array, nFast: number, kind: number): number {
    tag.fill(-1);
    const fastRx = g.fastRx;
    // the tx queue being filled, in locals while the out vif stays the same (written back on a change and at the end)
    let curOv = -1;
    let curBase = 0;
    let curN = 0;
    let curBytes = 0;
    for (let k = 0; k < nFast; k++) {
      const r = k * FR_WORDS;
      let o = fast[r]!;
      const i = o >>> SHIFT;
      const s = o & slotMask;
      let nh = ents[k]!;
      let e = (nh & NHC_MASK) * NHC_STRIDE;
      if (tag[nh & NHC_MASK] !== nh) fill(nh);
      /** one next hop, not a composite's member: the kernel fast path may take its destination */
      let single = true;
      if (nhc[e + 1] === NHC_ECMP && kind !== FT_MPLS) {
        single = false;
        // a composite next hop: the member for the flow's hash, the one the general nodes pick
        // (a swapped MPLS packet hashes its label stack: the general nodes do that)
        const l3 = o + 14;
        const h = kind === FT_IP6 ? g.hash6at(l3, d[l3 + 6]!, l3 + 40) : g.hash4(l3);
        nh = members[nh * maxEcmp + (h % nmembers[nh]!)]!;
        e = (nh & NHC_MASK) * NHC_STRIDE;
        if (tag[nh & NHC_MASK] !== nh) fill(nh);
      }
      const tot = fast[r + 1]!;
      const nl = nhc[e + 5]!;
      // (a swapped MPLS packet gets no labels pushed on top here: the general nodes do that)
      if (tot > nhc[e + 1]! || s < 4 * nl || (kind === FT_MPLS && nl > 0)) {
        // to the general nodes, which count an IP packet in its VRF themselves
        if (fastRx >= 0) prx[i] = fastRx;
        if (kind !== FT_MPLS) {
          const rv = prx[i]!;
          const vrf = vvrf[rv]!;
          // and in its filter's hit counters, when the fast path counted it there
          const hit = fast[r + 3]!;
          if (hit >= 0) {
            st[aclBase + rv * aclStride + hit]--;
            st[aclBytesBase + rv * aclStride + hit] -= tot;
          }
          st[vrfBase + vrf * 2]--;
          st[vrfBase + vrf * 2 + 1] -= tot;
        }
        qbuf[qBase + nSlow++] = i;
        continue;
      }
      const ov = nhc[e]!;
      let ttl = 0;
      if (kind === FT_MPLS) {
        // the swapped label from pass 1
        dv.setInt32(o + 14, fast[r + 2]!);
      } else if (kind === FT_IP6) {
        // hop limit - 1 (no checksum in the IPv6 header)
        ttl = d[o + 21]! - 1;
        d[o + 21] = ttl;
      } else {
        // [TTL - 1, protocol, checksum updated] from pass 1
        const w = fast[r + 2]!;
        ttl = (w >>> 24) & 255;
        dv.setInt32(o + 22, w);
      }
      if (nl > 0) {
        // labels between the Ethernet header and IP: TTL copied from IP (uniform model), S on the last
        o -= 4 * nl;
        const lb = nh * maxLabels;
        for (let q = 0; q < nl; q++) dv.setInt32(o + 14 + q * 4, (nlabels[lb + q]! << 12) | (q === nl - 1 ? 0x100 : 0) | ttl);
        dv.setUint16(o + 12, 0x8847);
        pstart[i] = s - 4 * nl;
        pflags[i] = pfMpls;
      }
      dv.setInt32(o, nhc[e + 2]!);
      dv.setInt32(o + 4, nhc[e + 3]!);
      dv.setInt32(o + 8, nhc[e + 4]!);
      const flen = tot + 14 + 4 * nl; // Ethernet padding dropped
      plen[i] = flen;
      if (ov !== curOv) {
        if (curOv >= 0) { txn[curOv] = curN; txb[curOv] = curBytes; }
        curOv = ov;
        curBase = ov * CAP;
        curN = txn[ov]!;
        curBytes = txb[ov]!;
        if (curN === 0) txDirty[g.txDirtyN++] = ov;
      }
      if (curN >= CAP) {
        if (fastRx >= 0) prx[i] = fastRx;
        g.dropNow(i, dTxFull);
        continue;
      }
      txq[curBase + curN++] = i;
      curBytes += flen;
      // the kernel fast path takes the next packets to this destination from this vif (no
      // filter on either vif: an output filter makes the next hop not fast, see fill)
      if (kfIf !== undefined && kind !== FT_MPLS && single && nl === 0 && fast[r + 3] === -1) {
        const inVif = fastRx >= 0 ? fastRx : prx[i]!;
        if (kfIf[kfIfx + inVif] !== 0 && kfIf[kfIfx + ov] !== 0) {
          if (kind === FT_IP4) kf!.add(inVif, dsts[k]!, ov, vvrf[inVif]!, nhc[e + 1]!, nhc[e + 2]!, nhc[e + 3]!, nhc[e + 4]!);
          else kf!.add6(inVif, a0[k]!, a1[k]!, a2[k]!, a3[k]!, ov, vvrf[inVif]!, nhc[e + 1]!, nhc[e + 2]!, nhc[e + 3]!, nhc[e + 4]!);
        }
      }
    }
    if (curOv >= 0) { txn[curOv] = curN; txb[curOv] = curBytes; }
    return nSlow;
  }
  return fastPath;
}
