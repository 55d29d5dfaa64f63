/**
 * IS-IS PDUs (ISO 10589 section 9): the 8-byte common header, then one of five fixed headers —
 * LAN hello (L1/L2), point-to-point hello, LSP (L1/L2), CSNP, PSNP — then TLVs (tlv.ts).
 *
 * decodePdu takes the PDU bytes (after the LLC header, frame.ts) and returns a value or an
 * IsisError; bytes after the PDU Length are ignored (Ethernet padding). An LSP's ISO 8473
 * checksum is verified (ISO 10589 7.3.14.2) unless its Remaining Lifetime is zero: a purge's
 * body may have been cut by the system that purged it, and receivers (Wireshark too) do not
 * check it. Authentication is checked separately (auth.ts), because only the caller knows the
 * key.
 *
 * encodePdu writes a PDU at the writer's position: PDU Length is filled in, an LSP's checksum
 * is computed, and an HMAC-MD5 digest (RFC 5304) is computed when the key is given — in the
 * order RFC 5304 section 2 requires (the HMAC over the PDU with checksum and lifetime zero,
 * then the checksum over the PDU with the digest in place).
 */
import { fletcherChecksumInto, fletcherValid } from './checksum.js';
import { IsisError, isTlvFault, type TlvFault } from './errors.js';
import { readLspId, readNodeId, readSystemId, systemIdBytes, type LspId, type NodeId, type SystemId } from './ids.js';
import { decodeTlvs, encodeTlv, type Tlv } from './tlv.js';
import { hmacMd5 } from './auth.js';
import { EncodeError } from '../errors.js';
import { ByteWriter } from '../../lib/bytes.js';

/** Intradomain Routing Protocol Discriminator (ISO 9577) */
export const IRPD = 0x83;
export const COMMON_HEADER_LEN = 8;

export const PduType = {
  L1LanHello: 15,
  L2LanHello: 16,
  P2pHello: 17,
  L1Lsp: 18,
  L2Lsp: 20,
  L1Csnp: 24,
  L2Csnp: 25,
  L1Psnp: 26,
  L2Psnp: 27,
} as const;

/** Header length (common + fixed part) of each PDU type. */
export const HEADER_LEN: Readonly<Record<number, number>> = {
  [PduType.L1LanHello]: 27,
  [PduType.L2LanHello]: 27,
  [PduType.P2pHello]: 20,
  [PduType.L1Lsp]: 27,
  [PduType.L2Lsp]: 27,
  [PduType.L1Csnp]: 33,
  [PduType.L2Csnp]: 33,
  [PduType.L1Psnp]: 17,
  [PduType.L2Psnp]: 17,
};

export type Level = 1 | 2;

/** Circuit type in hellos (and IS type in LSPs): 1 = L1, 2 = L2, 3 = L1 and L2. */
export type CircuitType = 1 | 2 | 3;

interface PduCommon {
  /** Maximum Area Addresses from the common header; 0 means 3 (ISO 10589 section 9) */
  readonly maxAreaAddresses: number;
  readonly tlvs: Tlv[];
}

export interface LanHello extends PduCommon {
  readonly kind: 'lan-hello';
  readonly level: Level;
  readonly circuitType: number;
  readonly sourceId: SystemId;
  readonly holdingTime: number;
  /** 7 bits */
  readonly priority: number;
  readonly lanId: NodeId;
}

export interface P2pHello extends PduCommon {
  readonly kind: 'p2p-hello';
  readonly circuitType: number;
  readonly sourceId: SystemId;
  readonly holdingTime: number;
  readonly localCircuitId: number;
}

export interface Lsp extends PduCommon {
  readonly kind: 'lsp';
  readonly level: Level;
  readonly remainingLifetime: number;
  readonly lspId: LspId;
  readonly sequence: number;
  /** as received; the encoder computes it afresh unless told to keep it */
  readonly checksum: number;
  /** P bit: partition repair supported */
  readonly partitionRepair: boolean;
  /** ATT bits (default, delay, expense, error metric), 4 bits; bit 0 (value 1) is the default metric */
  readonly attached: number;
  /** OL bit: LSP database overload */
  readonly overload: boolean;
  /** 1 = L1, 3 = L1 and L2 */
  readonly isType: number;
}

export interface Csnp extends PduCommon {
  readonly kind: 'csnp';
  readonly level: Level;
  readonly sourceId: NodeId;
  readonly startLspId: LspId;
  readonly endLspId: LspId;
}

export interface Psnp extends PduCommon {
  readonly kind: 'psnp';
  readonly level: Level;
  readonly sourceId: NodeId;
}

export type Pdu = LanHello | P2pHello | Lsp | Csnp | Psnp;

export interface DecodeOptions {
  /** verify an LSP's checksum (default true); a fuzzer turns it off to reach the TLVs */
  readonly verifyChecksum?: boolean;
}

export interface EncodeOptions {
  /** key for an HMAC-MD5 authentication TLV: its digest is computed (RFC 5304) */
  readonly hmacMd5Key?: Uint8Array | string;
  /** write an LSP's checksum field as given instead of computing it (tests, fuzzing) */
  readonly keepChecksum?: boolean;
}

export function pduTypeName(t: number): string {
  switch (t) {
    case PduType.L1LanHello:
      return 'l1-lan-hello';
    case PduType.L2LanHello:
      return 'l2-lan-hello';
    case PduType.P2pHello:
      return 'p2p-hello';
    case PduType.L1Lsp:
      return 'l1-lsp';
    case PduType.L2Lsp:
      return 'l2-lsp';
    case PduType.L1Csnp:
      return 'l1-csnp';
    case PduType.L2Csnp:
      return 'l2-csnp';
    case PduType.L1Psnp:
      return 'l1-psnp';
    case PduType.L2Psnp:
      return 'l2-psnp';
    default:
      return `pdu-type-${t}`;
  }
}

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

function fault(pdu: string, f: TlvFault): IsisError {
  return new IsisError(pdu, f.reason, f.message, f.offset, f.tlv, f.subTlv);
}

/** What the common header says, checked: the PDU type and the PDU's length (bounded by `bytes`). */
export function decodeCommonHeader(bytes: Uint8Array): { type: number; pduLength: number; maxAreaAddresses: number } | IsisError {
  if (bytes.length < COMMON_HEADER_LEN) return new IsisError('header', 'truncated', `need ${COMMON_HEADER_LEN} bytes, have ${bytes.length}`);
  if (bytes[0] !== IRPD) return new IsisError('header', 'malformed', `discriminator 0x${bytes[0]!.toString(16)}, want 0x83`, 0);
  if (bytes[2] !== 1) return new IsisError('header', 'unsupported', `version/protocol ID extension ${bytes[2]}, want 1`, 2);
  // ID Length 0 means 6 (ISO 10589 section 9); other lengths are legal but no implementation uses them
  if (bytes[3] !== 0 && bytes[3] !== 6) return new IsisError('header', 'unsupported', `ID length ${bytes[3]}, only 6 is supported`, 3);
  const type = bytes[4]! & 0x1f;
  const name = pduTypeName(type);
  const hl = HEADER_LEN[type];
  if (hl === undefined) return new IsisError(name, 'unsupported', `PDU type ${type}`, 4);
  if (bytes[5] !== 1) return new IsisError(name, 'unsupported', `version ${bytes[5]}, want 1`, 5);
  if (bytes[1] !== hl) return new IsisError(name, 'malformed', `header length ${bytes[1]}, want ${hl}`, 1);
  if (bytes.length < hl) return new IsisError(name, 'truncated', `need ${hl} header bytes, have ${bytes.length}`);
  // PDU Length sits right after the common header in LSPs and SNPs, after 17 bytes in hellos
  const lenAt = type === PduType.L1LanHello || type === PduType.L2LanHello || type === PduType.P2pHello ? 17 : 8;
  const pduLength = u16(bytes, lenAt);
  if (pduLength < hl) return new IsisError(name, 'malformed', `PDU length ${pduLength} shorter than its header (${hl})`, lenAt);
  if (pduLength > bytes.length) return new IsisError(name, 'truncated', `PDU length ${pduLength}, have ${bytes.length} bytes`, lenAt);
  return { type, pduLength, maxAreaAddresses: bytes[7]! };
}

/** Decode one PDU (starting at its common header). */
export function decodePdu(bytes: Uint8Array, opts: DecodeOptions = {}): Pdu | IsisError {
  const h = decodeCommonHeader(bytes);
  if (h instanceof IsisError) return h;
  const { type, pduLength, maxAreaAddresses } = h;
  const name = pduTypeName(type);
  const b = bytes;
  const isHello = type === PduType.L1LanHello || type === PduType.L2LanHello || type === PduType.P2pHello;
  // ISO 10589 section 9: circuit type 0 is reserved, and a PDU carrying it is ignored
  if (isHello && (b[8]! & 0x03) === 0) return new IsisError(name, 'malformed', 'circuit type 0 (reserved)', 8);
  const tlvs = decodeTlvs(b, HEADER_LEN[type]!, pduLength);
  if (isTlvFault(tlvs)) return fault(name, tlvs);
  switch (type) {
    case PduType.L1LanHello:
    case PduType.L2LanHello:
      return {
        kind: 'lan-hello',
        level: type === PduType.L1LanHello ? 1 : 2,
        maxAreaAddresses,
        circuitType: b[8]! & 0x03,
        sourceId: readSystemId(b, 9),
        holdingTime: u16(b, 15),
        priority: b[19]! & 0x7f,
        lanId: readNodeId(b, 20),
        tlvs,
      };
    case PduType.P2pHello:
      return {
        kind: 'p2p-hello',
        maxAreaAddresses,
        circuitType: b[8]! & 0x03,
        sourceId: readSystemId(b, 9),
        holdingTime: u16(b, 15),
        localCircuitId: b[19]!,
        tlvs,
      };
    case PduType.L1Lsp:
    case PduType.L2Lsp: {
      const remainingLifetime = u16(b, 10);
      if (opts.verifyChecksum !== false && remainingLifetime !== 0 && !fletcherValid(b, 12, pduLength - 12)) {
        return new IsisError(name, 'bad_checksum', `LSP checksum 0x${u16(b, 24).toString(16).padStart(4, '0')} does not match its contents`, 24);
      }
      const f = b[26]!;
      return {
        kind: 'lsp',
        level: type === PduType.L1Lsp ? 1 : 2,
        maxAreaAddresses,
        remainingLifetime,
        lspId: readLspId(b, 12),
        sequence: u32(b, 20),
        checksum: u16(b, 24),
        partitionRepair: (f & 0x80) !== 0,
        attached: (f >>> 3) & 0x0f,
        overload: (f & 0x04) !== 0,
        isType: f & 0x03,
        tlvs,
      };
    }
    case PduType.L1Csnp:
    case PduType.L2Csnp:
      return {
        kind: 'csnp',
        level: type === PduType.L1Csnp ? 1 : 2,
        maxAreaAddresses,
        sourceId: readNodeId(b, 10),
        startLspId: readLspId(b, 17),
        endLspId: readLspId(b, 25),
        tlvs,
      };
    default:
      return { kind: 'psnp', level: type === PduType.L1Psnp ? 1 : 2, maxAreaAddresses, sourceId: readNodeId(b, 10), tlvs };
  }
}

export function pduTypeOf(p: Pdu): number {
  switch (p.kind) {
    case 'lan-hello':
      return p.level === 1 ? PduType.L1LanHello : PduType.L2LanHello;
    case 'p2p-hello':
      return PduType.P2pHello;
    case 'lsp':
      return p.level === 1 ? PduType.L1Lsp : PduType.L2Lsp;
    case 'csnp':
      return p.level === 1 ? PduType.L1Csnp : PduType.L2Csnp;
    case 'psnp':
      return p.level === 1 ? PduType.L1Psnp : PduType.L2Psnp;
  }
}

function writeId(w: ByteWriter, id: SystemId, ...extra: number[]): void {
  const b = new Uint8Array(6 + extra.length);
  systemIdBytes(id, b, 0);
  b.set(extra, 6);
  w.bytes(b);
}

/**
 * Encode a PDU at the writer's position; returns a view of its bytes (valid until the next
 * write to `w`).
 */
export function encodePdu(p: Pdu, w: ByteWriter, opts: EncodeOptions = {}): Uint8Array {
  const start = w.pos;
  const type = pduTypeOf(p);
  w.u8(IRPD).u8(HEADER_LEN[type]!).u8(1).u8(0).u8(type).u8(1).u8(0).u8(p.maxAreaAddresses);
  let lenAt: number;
  switch (p.kind) {
    case 'lan-hello':
      w.u8(p.circuitType & 0x03);
      writeId(w, p.sourceId);
      w.u16(p.holdingTime);
      lenAt = w.pos;
      w.u16(0).u8(p.priority & 0x7f);
      writeId(w, p.lanId.systemId, p.lanId.pseudonode);
      break;
    case 'p2p-hello':
      w.u8(p.circuitType & 0x03);
      writeId(w, p.sourceId);
      w.u16(p.holdingTime);
      lenAt = w.pos;
      w.u16(0).u8(p.localCircuitId);
      break;
    case 'lsp':
      lenAt = w.pos;
      w.u16(0).u16(p.remainingLifetime);
      writeId(w, p.lspId.systemId, p.lspId.pseudonode, p.lspId.fragment);
      w.u32(p.sequence).u16(p.checksum);
      w.u8((p.partitionRepair ? 0x80 : 0) | ((p.attached & 0x0f) << 3) | (p.overload ? 0x04 : 0) | (p.isType & 0x03));
      break;
    case 'csnp':
      lenAt = w.pos;
      w.u16(0);
      writeId(w, p.sourceId.systemId, p.sourceId.pseudonode);
      writeId(w, p.startLspId.systemId, p.startLspId.pseudonode, p.startLspId.fragment);
      writeId(w, p.endLspId.systemId, p.endLspId.pseudonode, p.endLspId.fragment);
      break;
    case 'psnp':
      lenAt = w.pos;
      w.u16(0);
      writeId(w, p.sourceId.systemId, p.sourceId.pseudonode);
      break;
  }
  let digestAt = -1;
  for (const t of p.tlvs) {
    const d = encodeTlv(w, t);
    if (d >= 0 && digestAt < 0) digestAt = d;
  }
  const pduLength = w.pos - start;
  if (pduLength > 0xffff) throw new EncodeError(`isis: PDU of ${pduLength} bytes, over 65535`);
  w.setU16(lenAt, pduLength);
  const out = w.finish().subarray(start, w.pos);
  if (opts.hmacMd5Key !== undefined && digestAt >= 0) {
    const d = hmacMd5(out, digestAt - start, p.kind === 'lsp', opts.hmacMd5Key);
    out.set(d, digestAt - start);
  }
  if (p.kind === 'lsp' && !opts.keepChecksum) fletcherChecksumInto(out, 12, out.length - 12, 24);
  return out;
}

/** Encode into a fresh array of exactly the PDU's bytes. */
export function encodePduBytes(p: Pdu, opts: EncodeOptions = {}): Uint8Array {
  const w = new ByteWriter(1500);
  return encodePdu(p, w, opts).slice();
}
