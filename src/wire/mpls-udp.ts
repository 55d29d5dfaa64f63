/**
 * MPLS over UDP (RFC 7510): a UDP datagram to port 6635 whose payload is an MPLS label stack
 * and the labelled packet. The UDP source port carries flow entropy from the inner packet's
 * hash, in the dynamic range (section 3); the checksum may be zero over IPv4.
 */
import { decodeMplsStack, encodeMplsStack, type MplsStack } from './mpls.js';
import { decodeUdp, encodeUdp, UDP_HEADER_LEN } from './udp.js';
import { WireError, malformed } from './errors.js';

export const MPLS_UDP_PORT = 6635;

/** A UDP source port in 49152..65535 derived from a flow hash. */
export function mplsUdpSourcePort(flowHash: number): number {
  return 49152 | (flowHash & 0x3fff);
}

export interface MplsUdp {
  srcPort: number;
  checksum: number;
  stack: MplsStack;
}

/** Decode a UDP datagram (the IP payload) carrying MPLS; refuses other destination ports. */
export function decodeMplsUdp(bytes: Uint8Array): MplsUdp | WireError {
  const u = decodeUdp(bytes);
  if (u instanceof WireError) return u;
  if (u.dstPort !== MPLS_UDP_PORT) return malformed('mpls-udp', `destination port ${u.dstPort}, not ${MPLS_UDP_PORT}`, 2);
  const stack = decodeMplsStack(u.payload);
  if (stack instanceof WireError) return new WireError('mpls-udp', stack.reason, stack.message, stack.offset + UDP_HEADER_LEN);
  return { srcPort: u.srcPort, checksum: u.checksum, stack };
}

export function encodeMplsUdp(m: MplsUdp, buf: Uint8Array, off = 0): number {
  const inner = new Uint8Array(m.stack.entries.length * 4 + m.stack.payload.length);
  encodeMplsStack(m.stack, inner, 0);
  return encodeUdp({ srcPort: m.srcPort, dstPort: MPLS_UDP_PORT, checksum: m.checksum, payload: inner }, buf, off);
}
