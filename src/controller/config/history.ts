/**
 * The commit history on disk: one file per commit, `commit-NNNNNNNN.json`, holding the
 * whole written tree with user, time and comment, and a SHA-256 of the record. The newest
 * file is the running configuration. Each file is written to a temporary name, fsynced,
 * renamed into place and the directory fsynced: rename is atomic, so after a crash at any
 * instant the newest complete file is either the old or the new configuration, never a
 * torn one. Leftover temporary files are removed when the history is opened.
 *
 * A commit file that is nonetheless damaged (truncated, emptied, a flipped byte, `null`,
 * keys missing or of the wrong type: a disk or an operator did it, not a crash) is never
 * skipped silently: `open` refuses with the file and the reason (CorruptHistoryError). Only
 * when asked (`recover`) does it move each damaged file to `damaged/` beside the history
 * (never overwriting, never deleting) and go on with the valid ones; the numbers of the
 * damaged files are never used again.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConfigTree } from '../types.js';
import { isRecord, isTree } from './tree.js';

export interface CommitRecord {
  seq: number;
  user: string;
  /** ISO 8601 */
  time: string;
  comment?: string;
  /** `commit confirmed N`: rolled back unless another commit follows within N minutes */
  confirmMinutes?: number;
  /** how the commit was made: cli, rest, rollback, confirm-timeout, initial */
  via?: string;
  config: ConfigTree;
}

/** Steps of an atomic write, named for crash tests: a hook may throw at any of them. */
export type WriteStep = 'temp-partial' | 'temp-written' | 'temp-synced' | 'renamed' | 'dir-synced';

/** One commit file that cannot be used, and why. */
export interface DamagedCommit {
  file: string;
  reason: string;
  /** where `recover` moved it */
  movedTo?: string;
}

/** Damaged commit files found at start, when recovery was not asked for. */
export class CorruptHistoryError extends Error {
  constructor(
    readonly dir: string,
    readonly damaged: DamagedCommit[],
  ) {
    super(
      [
        ...damaged.map((d) => `commit history: ${join(dir, d.file)}: ${d.reason}`),
        `commit history: refusing to start on a damaged history; start with --recover-config to run the newest valid commit (damaged files are moved to ${join(dir, DAMAGED_DIR)})`,
      ].join('\n'),
    );
  }
}

export interface OpenOptions {
  /** move damaged files aside and go on with the valid ones, instead of refusing */
  recover?: boolean;
}

/** the keys of a commit record (CommitRecord) */
const KEYS = new Set(['seq', 'user', 'time', 'comment', 'confirmMinutes', 'via', 'config']);
const FILE = /^commit-(\d{8})\.json$/;
const KEEP = 50;
/** where `recover` moves damaged files, under the history directory */
export const DAMAGED_DIR = 'damaged';
const DAMAGED_FILE = /^commit-(\d{8})\.json/;

function fileName(seq: number): string {
  return `commit-${String(seq).padStart(8, '0')}.json`;
}

/** The checksum a commit file carries: SHA-256 of the record's JSON without it. */
function checksum(recordJson: string): string {
  return createHash('sha256').update(recordJson).digest('hex');
}

/**
 * The record of one commit file's text, or why it cannot be one. Files written before the
 * checksum existed (no `sha256` key) are accepted on their structure alone.
 */
export function parseCommitFile(text: string, expectSeq: number): CommitRecord | { error: string } {
  if (text.length === 0) return { error: 'empty file (0 bytes)' };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { error: `not valid JSON (${(e as Error).message}; truncated or damaged)` };
  }
  if (!isRecord(v)) return { error: `not a commit record (the file holds ${v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`})` };
  const r = v;
  const sum = r['sha256'];
  if (sum !== undefined) {
    delete r['sha256'];
    if (typeof sum !== 'string' || checksum(JSON.stringify(r)) !== sum) return { error: 'checksum mismatch (the content was changed or damaged after it was written)' };
  }
  // a key that is not ours is a renamed one (a flipped byte in `sha256` must not pass as an old file)
  const unknown = Object.keys(r).filter((k) => !KEYS.has(k));
  if (unknown.length) return { error: `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}` };
  const missing = ['seq', 'user', 'time', 'config'].filter((k) => !(k in r));
  if (missing.length) return { error: `missing ${missing.join(', ')}` };
  const bad: string[] = [];
  if (r['seq'] !== expectSeq) bad.push(`seq ${JSON.stringify(r['seq'])} does not match the file name (${expectSeq})`);
  if (typeof r['user'] !== 'string') bad.push(`user ${JSON.stringify(r['user'])} is not a string`);
  if (typeof r['time'] !== 'string' || Number.isNaN(Date.parse(r['time']))) bad.push(`time ${JSON.stringify(r['time'])} is not an ISO 8601 time`);
  const cfg = r['config'];
  if (!isTree(cfg)) bad.push(`config is ${cfg === null ? 'null' : Array.isArray(cfg) ? 'an array' : `a ${typeof cfg}`}, not a configuration tree`);
  if ('comment' in r && typeof r['comment'] !== 'string') bad.push('comment is not a string');
  if ('via' in r && typeof r['via'] !== 'string') bad.push('via is not a string');
  const cm = r['confirmMinutes'];
  if (cm !== undefined && !(Number.isInteger(cm) && (cm as number) > 0)) bad.push(`confirmMinutes ${JSON.stringify(cm)} is not a positive integer`);
  if (bad.length) return { error: `invalid value: ${bad.join('; ')}` };
  return r as unknown as CommitRecord;
}

export class CommitHistory {
  private records: CommitRecord[] = [];
  /** the highest number ever given, damaged files included: never given again */
  private highest = 0;
  /** damaged files the last `open` found (and, with recover, moved aside) */
  damaged: DamagedCommit[] = [];

  constructor(
    readonly dir: string,
    private readonly opts: { keep?: number; onStep?: (step: WriteStep) => void } = {},
  ) {}

  /**
   * Read every commit file, oldest first; remove leftovers of interrupted writes. A damaged
   * file throws CorruptHistoryError naming each one, unless `recover`: then each is moved
   * to damaged/ and listed in `this.damaged`.
   */
  open(o: OpenOptions = {}): CommitRecord[] {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const recs: CommitRecord[] = [];
    const damaged: DamagedCommit[] = [];
    this.highest = 0;
    for (const f of readdirSync(this.dir).sort()) {
      if (f.includes('.tmp')) {
        unlinkSync(join(this.dir, f));
        continue;
      }
      const m = FILE.exec(f);
      if (!m) continue;
      const seq = Number(m[1]);
      this.highest = Math.max(this.highest, seq);
      let parsed: CommitRecord | { error: string };
      try {
        parsed = parseCommitFile(readFileSync(join(this.dir, f), 'utf8'), seq);
      } catch (e) {
        parsed = { error: `cannot read: ${(e as Error).message}` };
      }
      if ('error' in parsed) damaged.push({ file: f, reason: parsed.error });
      else recs.push(parsed);
    }
    // numbers of files moved aside by an earlier recovery stay taken
    const aside = join(this.dir, DAMAGED_DIR);
    if (existsSync(aside)) {
      for (const f of readdirSync(aside)) {
        const m = DAMAGED_FILE.exec(f);
        if (m) this.highest = Math.max(this.highest, Number(m[1]));
      }
    }
    if (damaged.length && !o.recover) throw new CorruptHistoryError(this.dir, damaged);
    for (const d of damaged) d.movedTo = this.moveAside(d.file);
    this.damaged = damaged;
    this.records = recs.sort((a, b) => a.seq - b.seq);
    return this.records;
  }

  /** Move a damaged file to damaged/ under a name not yet taken there; returns the new path. */
  private moveAside(file: string): string {
    const aside = join(this.dir, DAMAGED_DIR);
    mkdirSync(aside, { recursive: true, mode: 0o700 });
    let to = join(aside, file);
    for (let n = 1; existsSync(to); n++) to = join(aside, `${file}.${n}`);
    renameSync(join(this.dir, file), to);
    return to;
  }

  /** The file of commit `seq`. */
  path(seq: number): string {
    return join(this.dir, fileName(seq));
  }

  all(): readonly CommitRecord[] {
    return this.records;
  }

  latest(): CommitRecord | undefined {
    return this.records[this.records.length - 1];
  }

  /** rollback N: 0 is the running configuration, 1 the one before, ... */
  back(n: number): CommitRecord | undefined {
    return this.records[this.records.length - 1 - n];
  }

  nextSeq(): number {
    return Math.max(this.latest()?.seq ?? 0, this.highest) + 1;
  }

  /**
   * Writes the record durably (see the header). Asynchronous: the two fsyncs take 2-70 ms on a
   * busy disk, and the process (the controller, in `cnr start` the vRouter's agent too, the
   * CNI service) runs on meanwhile; a commit awaits it before it is complete.
   */
  async append(rec: CommitRecord): Promise<void> {
    const name = fileName(rec.seq);
    const final = join(this.dir, name);
    // a number is never given twice: an existing file is evidence, not something to replace
    if (existsSync(final)) throw new Error(`${final} exists already`);
    // taken from here on, even if this write fails half-way (the file may exist after all)
    this.highest = Math.max(this.highest, rec.seq);
    const tmp = join(this.dir, `.${name}.tmp-${process.pid}`);
    const json = JSON.stringify(rec);
    const text = `${json.slice(0, -1)},"sha256":${JSON.stringify(checksum(json))}}`;
    const step = this.opts.onStep ?? (() => {});
    const fh = await open(tmp, 'w', 0o600);
    try {
      const half = Math.floor(text.length / 2);
      await fh.write(text.slice(0, half));
      step('temp-partial');
      await fh.write(text.slice(half));
      step('temp-written');
      await fh.sync();
      step('temp-synced');
    } finally {
      await fh.close();
    }
    await rename(tmp, final);
    step('renamed');
    const dh = await open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
    step('dir-synced');
    this.records.push(rec);
    const keep = this.opts.keep ?? KEEP;
    while (this.records.length > keep) {
      const old = this.records.shift()!;
      try {
        unlinkSync(join(this.dir, fileName(old.seq)));
      } catch {
        // already gone
      }
    }
  }
}
