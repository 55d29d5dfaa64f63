/**
 * icmp-error: turns a packet another node refused (its drop reason already counted by
 * Graph.icmp) into the ICMP or ICMPv6 error its source is owed: time exceeded (with the
 * label stack of an expired MPLS packet, RFC 4950), unreachable, packet too big. Never for
 * an ICMP error, a multicast or unspecified source or a non-first fragment; rate-limited
 * (a token bucket shared with the echo replies). The error is routed back in the receiving
 * vif's VRF, from the receiving vif's address; a too-big about the host's own packet (from
 * vhost0, which has no address here) comes from the vif it did not fit, and one to the host's
 * link-local address goes straight back through vhost0 (punt). A TCP super-frame
 * carried whole (io/super-frame.ts) gets one error, about its first segment, and its side
 * buffer goes.
 */
import * as K from './graph-constants.js';
import * as L from './limits.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';
import { foldSum, icmp6Checksum, ipv4Checksum, rd32, sum16, wr32 } from './bytes.js';
import { MAX_ADDR } from '../tables/vif-table.js';

const MIN_FRONT = L.MIN_FRONT;
const MAX_QUOTED_LABELS = L.MAX_QUOTED_LABELS;

export const icmpErrorNode: GraphNode = {
  id: K.N_ICMP_ERROR,
  name: 'icmp-error',
  next: [K.N_IP4_LOOKUP, K.N_IP6_LOOKUP, K.N_REWRITE, K.N_PUNT],
  // an error not sent frees the packet: its drop was counted when it came here
  drops: [],
  counters: [K.C_ICMP_SENT, K.C_ICMP_SUPPRESSED, K.C_GENERATED],
  run: icmpError,
};

/** icmpLabels' copy of the label stack (scratch: filled and read in one call) */
const lse = new Uint32Array(MAX_QUOTED_LABELS);
/** upperOf6's second result: the upper layer's offset */
let icmpL4 = 0;

function icmpError(g: Graph): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  const w = g.work;
  const n = g.take(K.N_ICMP_ERROR, w);
  const vt = g.t.vif;
  const st = g.stats;
  // token bucket, refilled from the clock once per burst
  g.refillIcmp();
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    // a super-frame carried whole becomes the error about its first segment: its payload goes
    if (p.sup[i] !== 0) p.dropSuper(i);
    const base = i << SHIFT;
    const l3 = p.l3[i]!;
    const o = base + l3;
    const aux = p.aux[i]!;
    const type = aux >>> 24;
    const code = (aux >>> 16) & 255;
    const mtu = aux & 0xffff;
    const fl = p.flags[i]!;
    // too big, from vhost0: the host's own packet; it has no address on vhost0 here, so the
    // error comes from the vif it did not fit (rewrite set txVif), as from the next router
    const vif = p.rxVif[i]! === vt.global[0]! && type === (fl & K.PF_IP6 ? 2 : 3) && (type === 2 || code === 4) ? p.txVif[i]! : p.rxVif[i]!;
    const end = base + p.start[i]! + p.len[i]!;
    let ok = (fl & (K.PF_ICMP_GEN | K.PF_MPLS)) === 0 && g.icmpTokens >= 1 && l3 >= 48 + MIN_FRONT;
    if (ok && (fl & K.PF_LSE) !== 0) {
      // room for the quoted datagram (128 bytes, RFC 4884) and the extension after it
      ok = l3 + 128 + 8 + 4 * MAX_QUOTED_LABELS <= g.pool.slotSize;
    }
    if (ok && (fl & K.PF_IP6) === 0) {
      const src = rd32(d, o + 12);
      const ihl = (d[o]! & 15) << 2;
      const frag = ((d[o + 6]! & 0x1f) << 8) | d[o + 7]!;
      if (src === 0 || src >>> 28 >= 14 || d[o + 16]! >= 224 || frag !== 0) ok = false;
      else if (d[o + 9] === 1 && o + ihl < end) {
        const it = d[o + ihl]!;
        if (it === 3 || it === 4 || it === 5 || it === 11 || it === 12) ok = false;
      }
      const from = ok ? vt.sourceFor4(vif, src) : 0;
      if (!ok || from === 0) { st[K.C_ICMP_SUPPRESSED]++; p.free(i); continue; }
      if ((fl & K.PF_LSE) !== 0) { icmpLabels(g, i, o, end, from, src); continue; }
      sendIcmp4(g, i, o, from, src, ((type << 24) | (code << 16)) >>> 0, mtu, 8 + Math.min(end - o, 576 - 28));
    } else if (ok) {
      const srcUnspec = rd32(d, o + 8) === 0 && rd32(d, o + 12) === 0 && rd32(d, o + 16) === 0 && rd32(d, o + 20) === 0;
      if (d[o + 8] === 0xff || srcUnspec || (d[o + 24] === 0xff && type !== 2)) ok = false;
      else if (upperOf6(g, i) === 58) {
        const l4 = o + (icmpL4 & 0xffff);
        if (l4 < end && d[l4]! < 128) ok = false;
      }
      // source: a global address of the vif (slot 0 is the link-local), else the link-local
      const n6 = vt.n6[vif]!;
      const slot = n6 > 1 ? 1 : 0;
      if (!ok || n6 === 0) { st[K.C_ICMP_SUPPRESSED]++; p.free(i); continue; }
      const take = Math.min(end - o, 1280 - 48);
      const no = o - 48;
      for (let b = 0; b < 16; b++) d[no + 24 + b] = d[o + 8 + b]!;
      const a6 = (vif * MAX_ADDR + slot) * 4;
      for (let q = 0; q < 4; q++) wr32(d, no + 8 + q * 4, vt.addr6[a6 + q]!);
      wr32(d, no, 0x60000000);
      d[no + 4] = (8 + take) >>> 8; d[no + 5] = (8 + take) & 255; d[no + 6] = 58; d[no + 7] = 64;
      const ic = no + 40;
      d[ic] = type; d[ic + 1] = code; d[ic + 2] = 0; d[ic + 3] = 0;
      d[ic + 4] = 0; d[ic + 5] = 0; d[ic + 6] = mtu >>> 8; d[ic + 7] = mtu & 255;
      icmp6Checksum(d, no, 8 + take);
      p.l3[i] = no - base;
      p.start[i] = no - base;
      p.len[i] = 48 + take;
      p.flags[i] = K.PF_NO_TTL | K.PF_ICMP_GEN | K.PF_IP6;
      p.vrf[i] = vt.vrf[vif]!;
      g.icmpTokens--;
      st[K.C_ICMP_SENT]++;
      st[K.C_GENERATED]++;
      if (d[no + 24] === 0xfe && (d[no + 25]! & 0xc0) === 0x80) {
        // a link-local source is on the link the packet came from: for the host's own packet
        // that is vhost0 (not the out vif, whose address the error is from), so to the host
        if (p.rxVif[i] === vt.global[0]) g.enq(K.N_PUNT, i);
        else {
          p.nh[i] = vt.glean[vif]!;
          g.enq(K.N_REWRITE, i);
        }
      } else g.enq(K.N_IP6_LOOKUP, i);
    } else {
      st[K.C_ICMP_SUPPRESSED]++;
      p.free(i);
    }
  }
}

/**
 * ICMP time exceeded for an expired MPLS TTL (RFC 3443 section 2.3, RFC 4950): the IPv4
 * datagram under the stack quoted in the RFC 4884 128-byte field, then an extension object
 * (class 1, c-type 1) carrying the label stack as received. Routed to the source in the
 * receiving vif's VRF.
 */
function icmpLabels(g: Graph, i: number, o: number, end: number, from: number, src: number): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  const base = i << SHIFT;
  const top = base + (p.aux[i]! & 0xffff);
  const nl = (o - top) >> 2;
  for (let q = 0; q < nl; q++) lse[q] = rd32(d, top + q * 4);
  const orig = Math.min(end - o, 128);
  for (let b = o + orig; b < o + 128; b++) d[b] = 0; // zero padding to 128 bytes
  const x = o + 128; // extension structure
  wr32(d, x, 0x20000000); // version 2, checksum 0 for now
  wr32(d, x + 4, (((8 + 4 * nl) << 16) | 0x0101) >>> 0); // object length, class 1 (MPLS stack), c-type 1
  for (let q = 0; q < nl; q++) wr32(d, x + 8 + q * 4, lse[q]!);
  const xc = foldSum(sum16(d, x, 8 + 4 * nl, 0));
  d[x + 2] = xc >>> 8; d[x + 3] = xc & 255;
  // time exceeded, code 0; the original datagram field's length: 32 words
  sendIcmp4(g, i, o, from, src, 0x0b000000, 32 << 16, 8 + 128 + 8 + 4 * nl);
}

/**
 * Finish an ICMPv4 error whose quoted data already starts at o: the IPv4 and ICMP headers
 * (words w0, w1; checksum filled in) in front of it, then into ip4-lookup in the receiving
 * vif's VRF.
 */
function sendIcmp4(g: Graph, i: number, o: number, from: number, src: number, w0: number, w1: number, icmpLen: number): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  const st = g.stats;
  const base = i << SHIFT;
  const no = o - 28;
  wr32(d, no, 0x45c00000 | (20 + icmpLen));
  wr32(d, no + 4, 0);
  d[no + 8] = 64; d[no + 9] = 1;
  wr32(d, no + 12, from);
  wr32(d, no + 16, src);
  ipv4Checksum(d, no, 20);
  const ic = no + 20;
  wr32(d, ic, w0 & 0xffff0000);
  wr32(d, ic + 4, w1);
  const c = foldSum(sum16(d, ic, icmpLen, 0));
  d[ic + 2] = c >>> 8; d[ic + 3] = c & 255;
  p.l3[i] = no - base;
  p.start[i] = no - base;
  p.len[i] = 20 + icmpLen;
  p.flags[i] = K.PF_NO_TTL | K.PF_ICMP_GEN;
  p.vrf[i] = g.t.vif.vrf[p.rxVif[i]!]!;
  g.icmpTokens--;
  st[K.C_ICMP_SENT]++;
  st[K.C_GENERATED]++;
  g.enq(K.N_IP4_LOOKUP, i);
}

/** Upper-layer protocol of an IPv6 packet (aux now holds the ICMP type, so walk again); its offset goes to icmpL4. */
function upperOf6(g: Graph, i: number): number {
  const SHIFT = g.pool.shift;
  const d = g.d;
  const p = g.pool;
  const o = (i << SHIFT) + p.l3[i]!;
  const end = (i << SHIFT) + p.start[i]! + p.len[i]!;
  let nx = d[o + 6]!;
  let off = 40;
  for (let h = 0; h < 8; h++) {
    if ((nx === 0 || nx === 43 || nx === 60 || nx === 44) && o + off + 8 <= end) {
      const hl = nx === 44 ? 8 : (d[o + off + 1]! + 1) << 3;
      nx = d[o + off]!;
      off += hl;
    } else break;
  }
  icmpL4 = off;
  return nx;
}

