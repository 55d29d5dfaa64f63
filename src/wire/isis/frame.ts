/**
 * How IS-IS PDUs travel on Ethernet (ISO 10589 and RFC 1195): an IEEE 802.3 frame whose
 * type/length field is a length (< 0x0600), an LLC header with DSAP = SSAP = 0xFE (the OSI
 * network layer) and control 0x03 (unnumbered information), then the PDU. Hellos, LSPs and
 * SNPs go to one of three multicast groups. The 802.3 length bounds the PDU: bytes after it
 * are Ethernet padding and are cut off here.
 */
import { IsisError } from './errors.js';
import { needRoom } from '../errors.js';
import type { Mac } from '../../lib/addr.js';

/** All Level 1 Intermediate Systems: L1 LAN hellos, L1 LSPs and SNPs on a LAN. */
export const ALL_L1_ISS = new Uint8Array([0x01, 0x80, 0xc2, 0x00, 0x00, 0x14]) as Mac;
/** All Level 2 Intermediate Systems: L2 LAN hellos, L2 LSPs and SNPs on a LAN. */
export const ALL_L2_ISS = new Uint8Array([0x01, 0x80, 0xc2, 0x00, 0x00, 0x15]) as Mac;
/** All Intermediate Systems: point-to-point hellos and every PDU on a point-to-point circuit. */
export const ALL_ISS = new Uint8Array([0x09, 0x00, 0x2b, 0x00, 0x00, 0x05]) as Mac;

export const LLC_OSI = 0xfe;
export const LLC_UI = 0x03;
/** destination, source, length, DSAP, SSAP, control */
export const ISIS_FRAME_HEADER_LEN = 17;

export interface IsisFrame {
  readonly dst: Mac;
  readonly src: Mac;
  /** the PDU, starting at its common header (a view into the frame) */
  readonly pdu: Uint8Array;
}

/** Decode an 802.3 + LLC frame carrying an IS-IS PDU (untagged; a VLAN tag is the driver's business). */
export function decodeIsisFrame(frame: Uint8Array): IsisFrame | IsisError {
  if (frame.length < ISIS_FRAME_HEADER_LEN) return new IsisError('frame', 'truncated', `need ${ISIS_FRAME_HEADER_LEN} bytes, have ${frame.length}`);
  const len = (frame[12]! << 8) | frame[13]!;
  if (len >= 0x0600) return new IsisError('frame', 'unsupported', `EtherType 0x${len.toString(16)}, not an 802.3 length`, 12);
  if (len < 3) return new IsisError('frame', 'malformed', `802.3 length ${len} shorter than the LLC header`, 12);
  if (14 + len > frame.length) return new IsisError('frame', 'truncated', `802.3 length ${len} beyond the frame (${frame.length - 14} bytes)`, 12);
  if (frame[14] !== LLC_OSI || frame[15] !== LLC_OSI || frame[16] !== LLC_UI) {
    return new IsisError('frame', 'unsupported', `LLC ${frame[14]!.toString(16)}/${frame[15]!.toString(16)}/${frame[16]!.toString(16)}, not FE/FE/03 (OSI)`, 14);
  }
  return { dst: frame.subarray(0, 6) as Mac, src: frame.subarray(6, 12) as Mac, pdu: frame.subarray(ISIS_FRAME_HEADER_LEN, 14 + len) };
}

/**
 * Write the 802.3 + LLC header for a PDU of `pduLength` bytes at buf[off] and return the offset
 * where the PDU goes. The PDU itself is encoded there by the caller (encodePdu), so a frame is
 * built in place without a copy.
 */
export function encodeIsisFrameHeader(dst: Uint8Array, src: Uint8Array, pduLength: number, buf: Uint8Array, off = 0): number {
  needRoom('isis', buf, off, ISIS_FRAME_HEADER_LEN);
  buf.set(dst.subarray(0, 6), off);
  buf.set(src.subarray(0, 6), off + 6);
  const len = pduLength + 3;
  buf[off + 12] = len >>> 8;
  buf[off + 13] = len & 0xff;
  buf[off + 14] = LLC_OSI;
  buf[off + 15] = LLC_OSI;
  buf[off + 16] = LLC_UI;
  return off + ISIS_FRAME_HEADER_LEN;
}
