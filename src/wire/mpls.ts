/**
 * MPLS label stack entries (RFC 3032): 20-bit label, 3-bit traffic class, bottom-of-stack bit,
 * 8-bit TTL. A stack is read until the entry with S=1; a stack that runs out of bytes (or past
 * MAX_LABEL_STACK) without one is an error, which the data plane counts as invalid_label.
 */
import { WireError, needRoom, truncated } from './errors.js';

export const MPLS_ENTRY_LEN = 4;
export const MAX_LABEL_STACK = 8;

/** reserved labels (RFC 3032, RFC 7274) */
export const LABEL_IPV4_EXPLICIT_NULL = 0;
export const LABEL_ROUTER_ALERT = 1;
export const LABEL_IPV6_EXPLICIT_NULL = 2;
export const LABEL_IMPLICIT_NULL = 3;
/** labels below this are reserved */
export const LABEL_FIRST_UNRESERVED = 16;

export interface MplsEntry {
  label: number;
  tc: number;
  bos: boolean;
  ttl: number;
}

export interface MplsStack {
  /** outermost first; exactly the last one has bos set */
  entries: MplsEntry[];
  /** what follows the bottom of the stack (view) */
  payload: Uint8Array;
}

/** One 32-bit entry as a number, for in-place forwarding code. */
export function packMplsEntry(label: number, tc: number, bos: boolean, ttl: number): number {
  return (((label & 0xfffff) << 12) | ((tc & 7) << 9) | (bos ? 0x100 : 0) | (ttl & 0xff)) >>> 0;
}

export function unpackMplsEntry(v: number): MplsEntry {
  return { label: v >>> 12, tc: (v >>> 9) & 7, bos: (v & 0x100) !== 0, ttl: v & 0xff };
}

export function decodeMplsStack(bytes: Uint8Array): MplsStack | WireError {
  const entries: MplsEntry[] = [];
  let off = 0;
  for (;;) {
    if (entries.length === MAX_LABEL_STACK) return new WireError('mpls', 'unsupported', `more than ${MAX_LABEL_STACK} labels without bottom of stack`, off);
    if (bytes.length < off + MPLS_ENTRY_LEN) return truncated('mpls', off + MPLS_ENTRY_LEN, bytes.length, off);
    const e = unpackMplsEntry(((bytes[off]! << 24) | (bytes[off + 1]! << 16) | (bytes[off + 2]! << 8) | bytes[off + 3]!) >>> 0);
    entries.push(e);
    off += MPLS_ENTRY_LEN;
    if (e.bos) return { entries, payload: bytes.subarray(off) };
  }
}

/** Write the stack, setting bottom-of-stack on the last entry only (whatever the values say), then the payload. */
export function encodeMplsStack(s: MplsStack, buf: Uint8Array, off = 0): number {
  if (s.entries.length === 0 || s.entries.length > MAX_LABEL_STACK) throw new RangeError(`mpls: stack of ${s.entries.length} labels`);
  const n = s.entries.length * MPLS_ENTRY_LEN;
  needRoom('mpls', buf, off, n + s.payload.length);
  const v = new DataView(buf.buffer, buf.byteOffset + off, n);
  s.entries.forEach((e, i) => {
    v.setUint32(i * MPLS_ENTRY_LEN, packMplsEntry(e.label, e.tc, i === s.entries.length - 1, e.ttl));
  });
  buf.set(s.payload, off + n);
  return off + n + s.payload.length;
}
