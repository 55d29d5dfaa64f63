/**
 * Completing a TCP/UDP checksum the sender left to hardware (TP_STATUS_CSUMNOTREADY): the
 * field holds only the pseudo-header sum, so recompute the whole checksum in software.
 * Slow path: seen only when offloads stay on at a local sender.
 */
import { finishChecksum, onesSum, pseudoHeaderSum4, pseudoHeaderSum6 } from '../../wire/checksum.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN } from '../../wire/ethernet.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../wire/ipv4.js';

/** Fix the L4 checksum of the Ethernet frame at data[off..off+len) in place; false when not TCP/UDP over IP. */
export function completeChecksum(data: Uint8Array, off: number, len: number): boolean {
  let l3 = off + 14;
  let type = (data[off + 12]! << 8) | data[off + 13]!;
  if (type === ETHERTYPE_VLAN && len >= 18) {
    type = (data[off + 16]! << 8) | data[off + 17]!;
    l3 += 4;
  }
  const end = off + len;
  let proto: number;
  let l4: number;
  let l4len: number;
  let pseudo: number;
  if (type === ETHERTYPE_IPV4) {
    if (l3 + 20 > end) return false;
    const ihl = (data[l3]! & 0x0f) * 4;
    const total = (data[l3 + 2]! << 8) | data[l3 + 3]!;
    proto = data[l3 + 9]!;
    l4 = l3 + ihl;
    l4len = Math.min(total, end - l3) - ihl;
    const src = ((data[l3 + 12]! << 24) | (data[l3 + 13]! << 16) | (data[l3 + 14]! << 8) | data[l3 + 15]!) >>> 0;
    const dst = ((data[l3 + 16]! << 24) | (data[l3 + 17]! << 16) | (data[l3 + 18]! << 8) | data[l3 + 19]!) >>> 0;
    pseudo = pseudoHeaderSum4(src, dst, proto, l4len);
  } else if (type === ETHERTYPE_IPV6) {
    if (l3 + 40 > end) return false;
    proto = data[l3 + 6]!; // extension headers before TCP/UDP do not occur with offloaded checksums from a local socket
    l4 = l3 + 40;
    l4len = Math.min((data[l3 + 4]! << 8) | data[l3 + 5]!, end - l4);
    pseudo = pseudoHeaderSum6(data, data, proto, l4len, l3 + 8, l3 + 24);
  } else return false;
  let field: number;
  if (proto === IPPROTO_UDP) field = l4 + 6;
  else if (proto === IPPROTO_TCP) field = l4 + 16;
  else return false;
  if (l4len < 0 || field + 2 > end) return false;
  data[field] = 0;
  data[field + 1] = 0;
  let c = finishChecksum(pseudo + onesSum(data, l4, l4len));
  if (c === 0 && proto === IPPROTO_UDP) c = 0xffff;
  data[field] = c >>> 8;
  data[field + 1] = c & 0xff;
  return true;
}
