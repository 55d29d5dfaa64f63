/**
 * The commit history on disk: one file per commit, `commit-NNNNNNNN.json`, holding the
 * whole written tree with user, time and comment. The newest file is the running
 * configuration. Each file is written to a temporary name, fsynced, renamed into place
 * and the directory fsynced: rename is atomic, so after a crash at any instant the newest
 * complete file is either the old or the new configuration, never a torn one. Leftover
 * temporary files are removed when the history is opened.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigTree } from '../types.js';

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

const FILE = /^commit-(\d{8})\.json$/;
const KEEP = 50;

export class CommitHistory {
  private records: CommitRecord[] = [];

  constructor(
    readonly dir: string,
    private readonly opts: { keep?: number; onStep?: (step: WriteStep) => void } = {},
  ) {}

  /** Read every complete commit file, oldest first; remove leftovers of interrupted writes. */
  open(): CommitRecord[] {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const recs: CommitRecord[] = [];
    for (const f of readdirSync(this.dir)) {
      if (f.includes('.tmp')) {
        unlinkSync(join(this.dir, f));
        continue;
      }
      if (!FILE.test(f)) continue;
      try {
        recs.push(JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as CommitRecord);
      } catch {
        // cannot happen with rename-into-place; skip rather than refuse to start
      }
    }
    this.records = recs.sort((a, b) => a.seq - b.seq);
    return this.records;
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
    return (this.latest()?.seq ?? 0) + 1;
  }

  append(rec: CommitRecord): void {
    const name = `commit-${String(rec.seq).padStart(8, '0')}.json`;
    const tmp = join(this.dir, `.${name}.tmp-${process.pid}`);
    const text = JSON.stringify(rec);
    const step = this.opts.onStep ?? (() => {});
    const fd = openSync(tmp, 'w', 0o600);
    try {
      const half = Math.floor(text.length / 2);
      writeSync(fd, text.slice(0, half));
      step('temp-partial');
      writeSync(fd, text.slice(half));
      step('temp-written');
      fsyncSync(fd);
      step('temp-synced');
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(this.dir, name));
    step('renamed');
    const dfd = openSync(this.dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
    step('dir-synced');
    this.records.push(rec);
    const keep = this.opts.keep ?? KEEP;
    while (this.records.length > keep) {
      const old = this.records.shift()!;
      try {
        unlinkSync(join(this.dir, `commit-${String(old.seq).padStart(8, '0')}.json`));
      } catch {
        // already gone
      }
    }
  }
}
