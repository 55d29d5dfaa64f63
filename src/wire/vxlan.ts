/** VXLAN (RFC 7348): an 8-byte header with the I flag and a 24-bit VNI, over UDP port 4789, carrying an Ethernet frame. */
import { type WireError, needRoom, truncated, malformed } from './errors.js';

export const VXLAN_PORT = 4789;
export const VXLAN_HEADER_LEN = 8;

export interface VxlanPacket {
  vni: number;
  /** the inner Ethernet frame (view) */
  payload: Uint8Array;
}

export function decodeVxlan(bytes: Uint8Array): VxlanPacket | WireError {
  if (bytes.length < VXLAN_HEADER_LEN) return truncated('vxlan', VXLAN_HEADER_LEN, bytes.length);
  if ((bytes[0]! & 0x08) === 0) return malformed('vxlan', 'I flag not set: no valid VNI');
  return { vni: (bytes[4]! << 16) | (bytes[5]! << 8) | bytes[6]!, payload: bytes.subarray(VXLAN_HEADER_LEN) };
}

export function encodeVxlan(p: VxlanPacket, buf: Uint8Array, off = 0): number {
  if (!Number.isInteger(p.vni) || p.vni < 0 || p.vni > 0xffffff) throw new RangeError(`vxlan: VNI ${p.vni} outside 0..16777215`);
  needRoom('vxlan', buf, off, VXLAN_HEADER_LEN + p.payload.length);
  buf.fill(0, off, off + VXLAN_HEADER_LEN);
  buf[off] = 0x08;
  buf[off + 4] = p.vni >>> 16;
  buf[off + 5] = (p.vni >>> 8) & 0xff;
  buf[off + 6] = p.vni & 0xff;
  buf.set(p.payload, off + VXLAN_HEADER_LEN);
  return off + VXLAN_HEADER_LEN + p.payload.length;
}
