/**
 * IS-IS's own database: the link-state database of one level (ISO 10589 7.3.15-7.3.16), as
 * records of decoded LSPs with the bytes they arrived in (flooded unchanged, only the
 * Remaining Lifetime rewritten), the time they were stored, and whether they are this
 * system's own. Which copy is newer (7.3.16), aging and purging are decided here as data
 * operations; what an arriving LSP means (flood, acknowledge, re-originate) is events.ts's.
 *
 * A record keeps the LSP's header fields, its bytes and the compact view SPF and SR read
 * (spf-lsdb.ts LspView: edges, prefixes, SRGB, Prefix-SIDs, hostname), not the decoded TLV
 * tree: that tree cost ~2.8 KB per LSP, about a third of the heap of a 10k-LSP database.
 * Whoever needs the TLVs (show isis database detail) decodes the bytes again (lspOf).
 *
 * Two views are kept up to date as records come and go, so that neither costs a walk over the
 * whole database: the keys in LSP ID order (CSNP ranges, a binary search instead of a scan per
 * CSNP: a 10k-LSP database receives ~110 CSNPs per set) and SPF's graph (spf-lsdb.ts
 * SpfGraphCache: only the systems whose fragments changed are rebuilt before a run).
 */
import { decodePdu, formatLspId, IsisError, type Level, type LspEntry, type Lsp, type LspId } from '../../../wire/isis/index.js';
import { flatText, SpfGraphCache, viewOf, type LspView } from './spf-lsdb.js';

/** ISO 10589 ZeroAgeLifetime: how long a purged LSP is kept (and flooded) before it is removed. */
export const ZERO_AGE_LIFETIME_MS = 60_000;

/** An LSP's header fields (everything but its TLVs). */
export type LspHeader = Omit<Lsp, 'tlvs'>;

export interface LspRecord {
  readonly key: string;
  readonly level: Level;
  lsp: LspHeader;
  /** what SPF and SR read of the TLVs */
  view: LspView;
  /** the PDU as it goes on the wire (its Remaining Lifetime field is rewritten when sent) */
  bytes: Uint8Array;
  /** Remaining Lifetime when stored, and when (ms) */
  lifetime: number;
  storedAt: number;
  /** when it reached zero (or arrived purged); removed ZERO_AGE_LIFETIME_MS later */
  purgedAt?: number;
  /** originated by this system */
  own: boolean;
}

/** Remaining Lifetime now, in seconds (0 when purged). */
export function remainingLifetime(r: LspRecord, now: number): number {
  if (r.purgedAt !== undefined) return 0;
  return Math.max(0, r.lifetime - Math.floor((now - r.storedAt) / 1000));
}

/** The whole LSP of a record, its TLVs decoded again from the bytes (the header as the record has it). */
export function lspOf(r: LspRecord): Lsp {
  const d = decodePdu(r.bytes);
  return { ...r.lsp, tlvs: d instanceof IsisError || d.kind !== 'lsp' ? [] : d.tlvs };
}

/**
 * Received LSPs' bytes are copied side by side into shared 16 KB chunks, not into an
 * ArrayBuffer each: a buffer of its own costs ~200 bytes beyond the LSP's own ~120 (the
 * ArrayBuffer and its separately allocated store), ~2 MB at 10k LSPs. A chunk lives while any
 * LSP in it does, and that is bounded: every LSP is replaced by its refresh or purged and
 * removed within its lifetime (at most 65,535 s, 1,200 s from Junos, FRR and cnr), so a
 * chunk is freed at the latest that long after its last copy — at most the LSPs received over
 * one lifetime, stored once more. Larger LSPs (above a quarter chunk) get a buffer of their own.
 */
const LSP_CHUNK_BYTES = 16 * 1024;
let lspChunk = new ArrayBuffer(0);
let lspChunkUsed = 0;

/** A copy of a received LSP's bytes to keep in the LSDB (a view into a shared chunk). */
export function keptLspBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.length > LSP_CHUNK_BYTES / 4) return bytes.slice();
  if (lspChunkUsed + bytes.length > lspChunk.byteLength) {
    lspChunk = new ArrayBuffer(LSP_CHUNK_BYTES);
    lspChunkUsed = 0;
  }
  const out = new Uint8Array(lspChunk, lspChunkUsed, bytes.length);
  out.set(bytes);
  lspChunkUsed += bytes.length;
  return out;
}

export interface Version {
  readonly sequence: number;
  readonly remainingLifetime: number;
}

/**
 * ISO 10589 7.3.16: > 0 when `a` is newer than `b`, < 0 when older, 0 when the same. A higher
 * sequence number wins; at equal numbers a purge (lifetime 0) beats a live copy.
 */
export function compareVersions(a: Version, b: Version): number {
  if (a.sequence !== b.sequence) return a.sequence > b.sequence ? 1 : -1;
  const az = a.remainingLifetime === 0;
  const bz = b.remainingLifetime === 0;
  if (az !== bz) return az ? 1 : -1;
  return 0;
}

export function versionOf(r: LspRecord, now: number): Version {
  return { sequence: r.lsp.sequence, remainingLifetime: remainingLifetime(r, now) };
}

/** The LSP entry (for SNPs) of a record. */
export function entryOf(r: LspRecord, now: number): LspEntry {
  return { remainingLifetime: remainingLifetime(r, now), lspId: r.lsp.lspId, sequence: r.lsp.sequence, checksum: r.lsp.checksum };
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class Lsdb {
  /** read freely; change only through put / delete / clear, which keep the views below current */
  readonly records = new Map<string, LspRecord>();
  /** SPF's graph of this level, rebuilt per changed system */
  readonly spfGraph = new SpfGraphCache();
  /** keys in LSP ID order (formatLspId's fixed-width lower-case text sorts as the bytes do) */
  private ordered: string[] = [];
  /** keys added since `ordered` was last merged */
  private added: string[] = [];
  /** keys deleted since then (still in `ordered`) */
  private deleted = 0;
  constructor(readonly level: Level) {}

  get(id: LspId | string): LspRecord | undefined {
    return this.records.get(typeof id === 'string' ? id : formatLspId(id));
  }

  /** Store an LSP (replacing any copy); a purge (lifetime 0) starts its zero-age holding time. */
  put(lsp: Lsp, bytes: Uint8Array, now: number, own: boolean): LspRecord {
    // a record replaced keeps its key's text; a new one gets it flat (spf-lsdb.ts flatText)
    const text = formatLspId(lsp.lspId);
    const key = this.records.get(text)?.key ?? flatText(text);
    // field by field, not `{ tlvs, ...header } = lsp`: the rest copy keeps its properties out
    // of the object (a separate property array, ~80 bytes more per LSP at 10k LSPs)
    const header: LspHeader = {
      kind: 'lsp', level: lsp.level, maxAreaAddresses: lsp.maxAreaAddresses, remainingLifetime: lsp.remainingLifetime, lspId: lsp.lspId,
      sequence: lsp.sequence, checksum: lsp.checksum, partitionRepair: lsp.partitionRepair, attached: lsp.attached, overload: lsp.overload, isType: lsp.isType,
    };
    const r: LspRecord = { key, level: this.level, lsp: header, view: viewOf(lsp, this.spfGraph.intern), bytes, lifetime: lsp.remainingLifetime, storedAt: now, own };
    if (lsp.remainingLifetime === 0) r.purgedAt = now;
    if (!this.records.has(key)) this.added.push(key);
    this.records.set(key, r);
    this.spfGraph.touch(key);
    return r;
  }

  delete(key: string): void {
    if (!this.records.delete(key)) return;
    this.deleted++;
    this.spfGraph.touch(key);
  }

  clear(): void {
    for (const key of this.records.keys()) this.spfGraph.touch(key);
    this.records.clear();
    this.ordered = [];
    this.added = [];
    this.deleted = 0;
  }

  /** Every key in LSP ID order: the new ones merged in (sorted alone, then one linear merge), the deleted ones dropped. */
  private orderedKeys(): string[] {
    if (this.added.length === 0 && this.deleted === 0) return this.ordered;
    const add = this.added.filter((k) => this.records.has(k)).sort(byText);
    const old = this.ordered;
    const out: string[] = [];
    let i = 0;
    let j = 0;
    while (i < old.length || j < add.length) {
      const k = j >= add.length || (i < old.length && old[i]! < add[j]!) ? old[i++]! : add[j++]!;
      if (this.records.has(k) && out[out.length - 1] !== k) out.push(k);
    }
    this.ordered = out;
    this.added = [];
    this.deleted = 0;
    return out;
  }

  /** The records in LSP ID order (ISO 10589 sorts CSNP entries so). */
  sorted(): LspRecord[] {
    return this.orderedKeys().map((k) => this.records.get(k)!);
  }

  /** The records whose keys lie in [first, last] (formatLspId text), in LSP ID order. */
  range(first: string, last: string): LspRecord[] {
    const keys = this.orderedKeys();
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (keys[mid]! < first) lo = mid + 1;
      else hi = mid;
    }
    const out: LspRecord[] = [];
    for (let i = lo; i < keys.length && keys[i]! <= last; i++) out.push(this.records.get(keys[i]!)!);
    return out;
  }

  /** The live records (Remaining Lifetime above zero). */
  *live(now: number): Iterable<LspRecord> {
    for (const r of this.records.values()) if (remainingLifetime(r, now) > 0) yield r;
  }

  get size(): number {
    return this.records.size;
  }
}
