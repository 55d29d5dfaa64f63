/**
 * IS-IS identifiers as values. A system ID (6 bytes), a node ID (system ID + pseudonode byte:
 * a neighbour in TLV 22, a LAN ID, an SNP source) and an LSP ID (node ID + fragment) are kept
 * in the dotted hex form every IS-IS implementation prints ("0102.5500.0001.00-00"), so they are
 * map keys for an LSDB and readable in fixtures; they are built only by the checked
 * constructors here. Area addresses (1 to 13 bytes) use the same form ("49.0001").
 */
import { AddressError } from '../../lib/addr.js';

export type SystemId = string & { readonly __brand: 'IsisSystemId' };
export type AreaAddress = string & { readonly __brand: 'IsisAreaAddress' };

/** A system ID plus the pseudonode number (0 for the system itself). */
export interface NodeId {
  readonly systemId: SystemId;
  readonly pseudonode: number;
}

export interface LspId extends NodeId {
  readonly fragment: number;
}

const HEX = '0123456789abcdef';

function hexByte(b: number): string {
  return HEX[b >>> 4]! + HEX[b & 15]!;
}

const hexCode = (v: number): number => (v < 10 ? 0x30 + v : 0x57 + v);

/**
 * The system ID in bytes b[off..off+6), its fourteen characters made in one call: a flat
 * string (eight concatenations made a rope that V8 flattens again whenever it is hashed as a
 * map key, and keeps as a rope while an LSDB holds it).
 */
export function readSystemId(b: Uint8Array, off: number): SystemId {
  const hi = (i: number): number => hexCode(b[off + i]! >>> 4);
  const lo = (i: number): number => hexCode(b[off + i]! & 15);
  return String.fromCharCode(hi(0), lo(0), hi(1), lo(1), 0x2e, hi(2), lo(2), hi(3), lo(3), 0x2e, hi(4), lo(4), hi(5), lo(5)) as SystemId;
}

export function readNodeId(b: Uint8Array, off: number): NodeId {
  return { systemId: readSystemId(b, off), pseudonode: b[off + 6]! };
}

export function readLspId(b: Uint8Array, off: number): LspId {
  return { systemId: readSystemId(b, off), pseudonode: b[off + 6]!, fragment: b[off + 7]! };
}

const SYSTEM_ID_RE = /^([0-9a-fA-F]{4})\.([0-9a-fA-F]{4})\.([0-9a-fA-F]{4})$/;

/** Parse "0102.5500.0001"; throws AddressError on anything else. */
export function parseSystemId(s: string): SystemId {
  const m = SYSTEM_ID_RE.exec(s);
  if (!m) throw new AddressError(`invalid IS-IS system ID '${s}' (want xxxx.xxxx.xxxx)`);
  return s.toLowerCase() as SystemId;
}

/** Write a system ID's 6 bytes at b[off]. */
export function systemIdBytes(id: SystemId, b: Uint8Array, off: number): void {
  // "xxxx.xxxx.xxxx": two hex digits per byte, a dot after every fourth digit
  let c = 0;
  for (let i = 0; i < 6; i++) {
    b[off + i] = (hexValue(id.charCodeAt(c)) << 4) | hexValue(id.charCodeAt(c + 1));
    c += i & 1 ? 3 : 2;
  }
}

function hexValue(ch: number): number {
  if (ch <= 0x39) return ch - 0x30;
  return (ch | 0x20) - 0x57;
}

export function formatNodeId(n: NodeId): string {
  return `${n.systemId}.${hexByte(n.pseudonode)}`;
}

export function formatLspId(l: LspId): string {
  return `${formatNodeId(l)}-${hexByte(l.fragment)}`;
}

/** Order of LSP IDs as ISO 10589 sorts them in CSNPs (bytewise). */
export function compareLspId(a: LspId, b: LspId): number {
  if (a.systemId !== b.systemId) return a.systemId < b.systemId ? -1 : 1;
  if (a.pseudonode !== b.pseudonode) return a.pseudonode - b.pseudonode;
  return a.fragment - b.fragment;
}

/** Area address bytes in the dotted form: the AFI byte, then groups of two bytes ("49.0001"). */
export function formatAreaAddress(b: Uint8Array): AreaAddress {
  if (b.length === 0) return '' as AreaAddress;
  let s = hexByte(b[0]!);
  for (let i = 1; i < b.length; i += 2) s += '.' + hexByte(b[i]!) + (i + 1 < b.length ? hexByte(b[i + 1]!) : '');
  return s as AreaAddress;
}

/** Parse "49.0001" (1 to 13 bytes); throws AddressError otherwise. */
export function parseAreaAddress(s: string): AreaAddress {
  const h = s.replace(/\./g, '');
  if (!/^([0-9a-fA-F]{2}){1,13}$/.test(h)) throw new AddressError(`invalid IS-IS area address '${s}'`);
  return formatAreaAddress(areaAddressBytes(s as AreaAddress));
}

export function areaAddressBytes(a: AreaAddress): Uint8Array {
  const h = a.replace(/\./g, '');
  const out = new Uint8Array(h.length >>> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(i * 2, 2), 16);
  return out;
}
