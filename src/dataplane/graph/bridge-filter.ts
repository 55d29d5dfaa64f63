/**
 * A bridge port's filter (`firewall family bridge`, tables/acl-table.ts decideL2) applied to
 * one frame, for l2-input (input filters) and l2-output (output filters): the frame's MACs,
 * VLAN and EtherType, and, when it carries IPv4 or IPv6, the addresses, protocol and ports
 * (first fragments only; an ICMP/ICMPv6 type in place of the source port) that the IP fields
 * of a term match. IPv6's extension headers are walked to the upper layer as ip6-input walks
 * them. Only ports with a filter get here.
 */
import type { AclTable } from '../tables/acl-table.js';

/**
 * decideL2's answer for the frame at `o` (`hl`: its Ethernet header's length, 802.1Q tag
 * included; `len`: the frame's) in `vlan` on `vif` (dsc: its descriptor in `at`, non-zero).
 */
export function decideBridgeFrame(at: AclTable, d: Uint8Array, dv: DataView, vif: number, dsc: number, o: number, hl: number, len: number, vlan: number): number {
  const et = (d[o + hl - 2]! << 8) | d[o + hl - 1]!;
  let ipv = 0, src = 0, dst = 0, nh = -1, proto = -1, sp = -1, dp = -1;
  const ip = o + hl;
  const end = o + len;
  let l4 = end;
  if (et === 0x0800 && ip + 20 <= end && d[ip]! >>> 4 === 4) {
    ipv = 4;
    src = dv.getInt32(ip + 12);
    dst = dv.getInt32(ip + 16);
    proto = d[ip + 9]!;
    if ((((d[ip + 6]! & 0x1f) << 8) | d[ip + 7]!) === 0) l4 = ip + ((d[ip]! & 15) << 2);
  } else if (et === 0x86dd && ip + 40 <= end && d[ip]! >>> 4 === 6) {
    ipv = 6;
    const f6 = at.frame6;
    for (let q = 0; q < 8; q++) f6[q] = dv.getInt32(ip + 8 + 4 * q);
    nh = d[ip + 6]!;
    // to the upper layer through hop-by-hop, routing, fragment, destination options and AH
    // headers (at most 8); a later fragment, or a chain cut short, has no ports
    let x = nh;
    let off = ip + 40;
    let first = true;
    for (let h = 0; h < 8 && (x === 0 || x === 43 || x === 60 || x === 44 || x === 51); h++) {
      if (off + 8 > end) { off = end; break; }
      if (x === 44 && (((d[off + 2]! << 8) | d[off + 3]!) & 0xfff8) !== 0) first = false;
      const hlen = x === 44 ? 8 : x === 51 ? (d[off + 1]! + 2) << 2 : (d[off + 1]! + 1) << 3;
      x = d[off]!;
      off += hlen;
    }
    proto = x;
    if (first) l4 = off;
  }
  if ((proto === 6 || proto === 17 || proto === 132) && l4 + 4 <= end) {
    sp = (d[l4]! << 8) | d[l4 + 1]!;
    dp = (d[l4 + 2]! << 8) | d[l4 + 3]!;
  } else if (((proto === 1 && ipv === 4) || (proto === 58 && ipv === 6)) && l4 < end) sp = d[l4]!;
  return at.decideL2(vif, dsc, (d[o + 6]! << 8) | d[o + 7]!, dv.getUint32(o + 8), (d[o]! << 8) | d[o + 1]!, dv.getUint32(o + 2), vlan, et, ipv, src, dst, nh, proto, sp, dp);
}
