/**
 * A bridge port's filter (`firewall family bridge`, tables/acl-table.ts decideL2) applied to
 * one frame, for l2-input (input filters) and l2-output (output filters): the frame's MACs,
 * VLAN and EtherType, and, when it carries IPv4, the addresses, protocol and ports (first
 * fragments only) that the IP fields of a term match. Only ports with a filter get here.
 */
import type { AclTable } from '../tables/acl-table.js';

/**
 * decideL2's answer for the frame at `o` (`hl`: its Ethernet header's length, 802.1Q tag
 * included; `len`: the frame's) in `vlan` on `vif` (dsc: its descriptor in `at`, non-zero).
 */
export function decideBridgeFrame(at: AclTable, d: Uint8Array, dv: DataView, vif: number, dsc: number, o: number, hl: number, len: number, vlan: number): number {
  const et = (d[o + hl - 2]! << 8) | d[o + hl - 1]!;
  let src = 0, dst = 0, proto = -1, sp = -1, dp = -1;
  const ip = o + hl;
  const end = o + len;
  if (et === 0x0800 && ip + 20 <= end && d[ip]! >>> 4 === 4) {
    src = dv.getInt32(ip + 12);
    dst = dv.getInt32(ip + 16);
    proto = d[ip + 9]!;
    const l4 = ip + ((d[ip]! & 15) << 2);
    const first = (((d[ip + 6]! & 0x1f) << 8) | d[ip + 7]!) === 0;
    if (first && (proto === 6 || proto === 17 || proto === 132) && l4 + 4 <= end) {
      sp = (d[l4]! << 8) | d[l4 + 1]!;
      dp = (d[l4 + 2]! << 8) | d[l4 + 3]!;
    }
  }
  return at.decideL2(vif, dsc, (d[o + 6]! << 8) | d[o + 7]!, dv.getUint32(o + 8), (d[o]! << 8) | d[o + 1]!, dv.getUint32(o + 2), vlan, et, src, dst, proto, sp, dp);
}
