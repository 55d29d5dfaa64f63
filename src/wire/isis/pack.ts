/**
 * Fitting content into IS-IS's size limits, for the side that originates PDUs: a TLV holds at
 * most 255 bytes, so a long list (neighbours, prefixes, LSP entries, addresses) is split over
 * several TLVs of the same code in order; hellos are padded up to the circuit's MTU with
 * padding TLVs (ISO 10589 pads hellos so an adjacency only comes up if full-size PDUs pass);
 * and an LSP's TLVs are dealt into fragments that each fit the LSP buffer size.
 */
import { EncodeError } from '../errors.js';
import { encodePdu, HEADER_LEN, PduType, type Pdu } from './pdu.js';
import { encodeTlv, type Tlv } from './tlv.js';
import { ByteWriter } from '../../lib/bytes.js';

export const MAX_TLV_VALUE = 255;
/** ISO 10589's default LSP buffer size (originatingLSPBufferSize): the largest LSP. */
export const DEFAULT_LSP_BUFFER_SIZE = 1492;

const scratch = new ByteWriter(512);

/** Encoded size of a TLV, header included (it may exceed 257 when it needs splitting). */
export function tlvSize(t: Tlv): number {
  scratch.pos = 0;
  // measure without the 255-byte check: encode each entry separately and add up
  const list = listOf(t);
  if (!list) {
    encodeTlv(scratch, t);
    return scratch.pos;
  }
  let size = 2;
  for (const e of list.entries) size += entrySize(list.rebuild([e]));
  return size;
}

function entrySize(single: Tlv): number {
  scratch.pos = 0;
  encodeTlv(scratch, single);
  return scratch.pos - 2;
}

interface ListView {
  entries: readonly unknown[];
  rebuild(entries: unknown[]): Tlv;
}

/** The list a TLV carries, for the TLVs that are lists of independent entries. */
function listOf(t: Tlv): ListView | undefined {
  switch (t.type) {
    case 'area-addresses':
      return { entries: t.areas, rebuild: (e) => ({ ...t, areas: e as typeof t.areas }) };
    case 'is-neighbors':
      return { entries: t.neighbors, rebuild: (e) => ({ ...t, neighbors: e as typeof t.neighbors }) };
    case 'lsp-entries':
      return { entries: t.entries, rebuild: (e) => ({ ...t, entries: e as typeof t.entries }) };
    case 'extended-is-reachability':
      return { entries: t.neighbors, rebuild: (e) => ({ ...t, neighbors: e as typeof t.neighbors }) };
    case 'protocols-supported':
      return { entries: t.nlpids, rebuild: (e) => ({ ...t, nlpids: e as typeof t.nlpids }) };
    case 'ipv4-interface-addresses':
      return { entries: t.addresses, rebuild: (e) => ({ ...t, addresses: e as typeof t.addresses }) };
    case 'ipv6-interface-addresses':
      return { entries: t.addresses, rebuild: (e) => ({ ...t, addresses: e as typeof t.addresses }) };
    case 'extended-ipv4-reachability':
      return { entries: t.prefixes, rebuild: (e) => ({ ...t, prefixes: e as typeof t.prefixes }) };
    case 'ipv6-reachability':
      return { entries: t.prefixes, rebuild: (e) => ({ ...t, prefixes: e as typeof t.prefixes }) };
    default:
      return undefined;
  }
}

/**
 * Split a list TLV into as few TLVs of the same code as hold its entries in order, each at most
 * 255 bytes of value. Other TLVs come back as they are; one that is too long is an EncodeError.
 */
export function splitTlv(t: Tlv): Tlv[] {
  const list = listOf(t);
  if (!list) {
    if (tlvSize(t) - 2 > MAX_TLV_VALUE) throw new EncodeError(`isis: ${t.type} TLV of ${tlvSize(t) - 2} bytes cannot be split`);
    return [t];
  }
  const out: Tlv[] = [];
  let current: unknown[] = [];
  let used = 0;
  for (const e of list.entries) {
    const n = entrySize(list.rebuild([e]));
    if (n > MAX_TLV_VALUE) throw new EncodeError(`isis: one ${t.type} entry of ${n} bytes does not fit a TLV`);
    if (used + n > MAX_TLV_VALUE) {
      out.push(list.rebuild(current));
      current = [];
      used = 0;
    }
    current.push(e);
    used += n;
  }
  if (current.length > 0 || out.length === 0) out.push(list.rebuild(current));
  return out;
}

/**
 * Padding TLVs that take exactly `bytes` bytes (headers included): full 257-byte TLVs first, as
 * FRR pads. One byte cannot be padded (a TLV is at least 2), so 1 gives none.
 */
export function paddingTlvs(bytes: number): Tlv[] {
  const out: Tlv[] = [];
  let rest = bytes;
  while (rest >= 2) {
    let take = Math.min(2 + MAX_TLV_VALUE, rest);
    if (rest - take === 1) take -= 1; // never leave a single byte behind
    out.push({ type: 'padding', length: take - 2 });
    rest -= take;
  }
  return out;
}

/** The encoded length of a PDU. */
export function pduSize(p: Pdu): number {
  scratch.pos = 0;
  return encodePdu(p, scratch, { keepChecksum: true }).length;
}

/** A hello padded with padding TLVs to `size` bytes (one short when exactly one byte is missing). */
export function padHello<T extends Pdu & { kind: 'p2p-hello' | 'lan-hello' }>(hello: T, size: number): T {
  const missing = size - pduSize(hello);
  if (missing < 0) throw new EncodeError(`isis: hello of ${size + -missing} bytes does not fit ${size}`);
  return { ...hello, tlvs: [...hello.tlvs, ...paddingTlvs(missing)] };
}

/**
 * Deal TLVs (already split to at most 255 bytes each) into LSP fragments of at most
 * `bufferSize` bytes, in order; `perFragment` TLVs (authentication) open every fragment.
 */
export function fragmentTlvs(tlvs: readonly Tlv[], bufferSize = DEFAULT_LSP_BUFFER_SIZE, perFragment: readonly Tlv[] = []): Tlv[][] {
  const room = bufferSize - HEADER_LEN[PduType.L2Lsp]!;
  const fixed = perFragment.reduce((n, t) => n + tlvSize(t), 0);
  const out: Tlv[][] = [];
  let current: Tlv[] = [...perFragment];
  let used = fixed;
  for (const t of tlvs) {
    const n = tlvSize(t);
    if (n - 2 > MAX_TLV_VALUE) throw new EncodeError(`isis: ${t.type} TLV of ${n - 2} bytes: split it first (splitTlv)`);
    if (fixed + n > room) throw new EncodeError(`isis: a ${n}-byte TLV does not fit an LSP of ${bufferSize} bytes`);
    if (used + n > room) {
      out.push(current);
      current = [...perFragment];
      used = fixed;
    }
    current.push(t);
    used += n;
  }
  out.push(current);
  return out;
}
