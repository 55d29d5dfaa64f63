/** ARP for IPv4 over Ethernet (RFC 826); other hardware/protocol types are refused as unsupported. */
import { WireError, needRoom, truncated } from './errors.js';

export const ARP_LEN = 28;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

export interface ArpPacket {
  op: number;
  /** sender hardware address (view) */
  sha: Uint8Array;
  /** sender IPv4 address as an unsigned 32-bit number */
  spa: number;
  tha: Uint8Array;
  tpa: number;
}

export function decodeArp(bytes: Uint8Array): ArpPacket | WireError {
  if (bytes.length < ARP_LEN) return truncated('arp', ARP_LEN, bytes.length);
  const htype = (bytes[0]! << 8) | bytes[1]!;
  const ptype = (bytes[2]! << 8) | bytes[3]!;
  if (htype !== 1 || ptype !== 0x0800 || bytes[4] !== 6 || bytes[5] !== 4) {
    return new WireError('arp', 'unsupported', `hardware type ${htype}/${bytes[4]}, protocol 0x${ptype.toString(16)}/${bytes[5]}`);
  }
  const u32 = (o: number): number => ((bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!) >>> 0;
  return {
    op: (bytes[6]! << 8) | bytes[7]!,
    sha: bytes.subarray(8, 14),
    spa: u32(14),
    tha: bytes.subarray(18, 24),
    tpa: u32(24),
  };
}

export function encodeArp(p: ArpPacket, buf: Uint8Array, off = 0): number {
  needRoom('arp', buf, off, ARP_LEN);
  const v = new DataView(buf.buffer, buf.byteOffset + off, ARP_LEN);
  v.setUint16(0, 1);
  v.setUint16(2, 0x0800);
  v.setUint8(4, 6);
  v.setUint8(5, 4);
  v.setUint16(6, p.op);
  buf.set(p.sha.subarray(0, 6), off + 8);
  v.setUint32(14, p.spa >>> 0);
  buf.set(p.tha.subarray(0, 6), off + 18);
  v.setUint32(24, p.tpa >>> 0);
  return off + ARP_LEN;
}
