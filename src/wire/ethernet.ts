/**
 * Ethernet II frames with any number of 802.1Q / 802.1ad tags (outermost first). The FCS is
 * not part of what Linux hands us, so it is not part of the frame here either.
 */
import { WireError, needRoom, truncated, malformed } from './errors.js';

export const ETH_ADDR_LEN = 6;
export const ETH_HEADER_LEN = 14;
export const VLAN_TAG_LEN = 4;
export const MAX_VLAN_TAGS = 2;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_MPLS = 0x8847;
export const ETHERTYPE_MPLS_MC = 0x8848;

export const BROADCAST_MAC: Uint8Array = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export interface VlanTag {
  /** 0x8100 (802.1Q) or 0x88a8 (802.1ad service tag) */
  tpid: number;
  /** priority code point, 0..7 */
  pcp: number;
  /** drop eligible indicator */
  dei: boolean;
  /** VLAN id, 0..4095 */
  vid: number;
}

export interface EthernetFrame {
  dst: Uint8Array;
  src: Uint8Array;
  vlans: VlanTag[];
  /** the EtherType after the tags (values below 0x0600 are 802.3 lengths and are refused) */
  etherType: number;
  payload: Uint8Array;
}

function isTpid(t: number): boolean {
  return t === ETHERTYPE_VLAN || t === ETHERTYPE_QINQ;
}

/** Decode a frame; dst, src and payload are views into `bytes`. */
export function decodeEthernet(bytes: Uint8Array): EthernetFrame | WireError {
  if (bytes.length < ETH_HEADER_LEN) return truncated('ethernet', ETH_HEADER_LEN, bytes.length);
  let off = 12;
  let type = (bytes[off]! << 8) | bytes[off + 1]!;
  const vlans: VlanTag[] = [];
  while (isTpid(type)) {
    if (vlans.length === MAX_VLAN_TAGS) return new WireError('ethernet', 'unsupported', `more than ${MAX_VLAN_TAGS} VLAN tags`, off);
    if (bytes.length < off + 2 + VLAN_TAG_LEN) return truncated('ethernet', off + 2 + VLAN_TAG_LEN, bytes.length, off);
    const tci = (bytes[off + 2]! << 8) | bytes[off + 3]!;
    vlans.push({ tpid: type, pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0xfff });
    off += VLAN_TAG_LEN;
    type = (bytes[off]! << 8) | bytes[off + 1]!;
  }
  if (type < 0x0600) return malformed('ethernet', `802.3 length field ${type}, not an EtherType`, off);
  return { dst: bytes.subarray(0, 6), src: bytes.subarray(6, 12), vlans, etherType: type, payload: bytes.subarray(off + 2) };
}

/** Header length of a frame with `tags` VLAN tags. */
export function ethernetHeaderLength(tags: number): number {
  return ETH_HEADER_LEN + tags * VLAN_TAG_LEN;
}

/** Write the header (and the payload, if any) at buf[off]; returns the offset after what was written. */
export function encodeEthernet(f: EthernetFrame, buf: Uint8Array, off = 0): number {
  const hl = ethernetHeaderLength(f.vlans.length);
  needRoom('ethernet', buf, off, hl + f.payload.length);
  buf.set(f.dst.subarray(0, 6), off);
  buf.set(f.src.subarray(0, 6), off + 6);
  let p = off + 12;
  for (const v of f.vlans) {
    const tci = ((v.pcp & 7) << 13) | (v.dei ? 0x1000 : 0) | (v.vid & 0xfff);
    buf[p] = v.tpid >>> 8;
    buf[p + 1] = v.tpid & 0xff;
    buf[p + 2] = tci >>> 8;
    buf[p + 3] = tci & 0xff;
    p += 4;
  }
  buf[p] = f.etherType >>> 8;
  buf[p + 1] = f.etherType & 0xff;
  p += 2;
  buf.set(f.payload, p);
  return p + f.payload.length;
}
