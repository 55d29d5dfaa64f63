/**
 * Candidate and running configuration, and the commit.
 *
 * Every edit happens in a session (`configure` shares one; `configure private` gets its
 * own). A session records its edits and replays them onto the latest running
 * configuration whenever someone else committed in between, so a commit applies that
 * session's changes on top of what is running. Commits are serialized.
 *
 * commit = check the whole tree (group references and cross-references here, then every
 * consumer's validate() on the effective tree with groups applied) → apply(next, prev) on
 * each consumer in order → write the history record (history.ts). If a consumer's apply
 * fails, the consumers already changed are given the previous configuration back and the
 * commit is refused: nothing half-applied is left. `commit confirmed N` arms a timer that
 * commits the previous configuration again unless another commit comes first; a restart
 * with a confirmed commit still pending rolls back too.
 */
import type { ConfigConsumer, ConfigTree } from '../types.js';
import { applyDelete, applySet, cloneTree, resolve, resolveMany, type Resolved } from './edit.js';
import { CommitHistory, type CommitRecord, type WriteStep } from './history.js';
import { expandGroups } from './inheritance.js';
import { compareTrees } from './compare.js';
import { parseConfig, type Notation } from './notation.js';
import type { Word } from './tokens.js';
import { validateTree } from './validate.js';
import { DatastoreLocks } from './locks.js';
import { isDeepStrictEqual } from 'node:util';
import { mark } from '../../lib/timeline.js';

export class CommitError extends Error {
  constructor(readonly errors: string[], summary = 'configuration check-out failed') {
    super([...errors.map((e) => `error: ${e}`), `error: ${summary}`].join('\n'));
  }
}

export interface StoreOptions {
  /** directory of the commit history, e.g. <stateDir>/config */
  dir: string;
  consumers: ConfigConsumer[];
  /** length of the `commit confirmed` minute; tests shorten it */
  confirmUnitMs?: number;
  log?: (msg: string) => void;
  /**
   * a damaged commit file at start: move it aside and run the newest valid commit (logged
   * loudly) instead of refusing to start (`cnr start --recover-config`)
   */
  recover?: boolean;
  /** crash tests: called between the steps of each history write */
  onWriteStep?: (step: WriteStep) => void;
}

export interface CommitOptions {
  user: string;
  check?: boolean;
  confirmMinutes?: number;
  /** NETCONF's confirm-timeout counts seconds (RFC 6241 8.4.5); wins over confirmMinutes */
  confirmSeconds?: number;
  comment?: string;
  via?: string;
}

/** setTimeout's longest delay (2^31-1 ms, about 24.8 days); longer ones fire at once */
const MAX_TIMER_MS = 2 ** 31 - 1;

type EditOp = { kind: 'set'; words: Word[] } | { kind: 'delete'; words: Word[] } | { kind: 'replace'; tree: ConfigTree };

/** One user's view of the candidate configuration. */
export class CandidateSession {
  private ops: EditOp[] = [];
  private base = -1;
  /**
   * Running with this session's edits, copy-on-write: it shares with running every subtree
   * no edit touched (a pod's commit need not copy the whole configuration). Each edit first
   * copies the nodes on its path that are still shared (`own`), then changes them in place.
   */
  private tree: ConfigTree | undefined;
  /** nodes of `tree` this session made or copied: the only ones it may change */
  private owned = new WeakSet<object>();
  /** false after `replace`: the whole tree is this session's copy */
  private cow = true;

  constructor(
    private readonly store: ConfigStore,
    readonly isPrivate: boolean,
  ) {
    this.reset();
  }

  /** The candidate: the latest running configuration with this session's edits. */
  get candidate(): ConfigTree {
    if (this.base !== this.store.runningSeq) this.rebase();
    this.tree ??= this.fromRunning();
    return this.tree;
  }

  private fromRunning(): ConfigTree {
    const t = { ...this.store.running };
    this.owned = new WeakSet([t]);
    this.cow = true;
    return t;
  }

  /** Copies the shared nodes on `path` of `tree` (the root is always owned). */
  private own(tree: ConfigTree, path: readonly string[]): void {
    if (!this.cow || path.length === 0) return;
    let cur = tree;
    for (const k of path) {
      const next = cur[k];
      if (typeof next !== 'object' || next === null) return;
      let mine = next;
      if (!this.owned.has(next)) {
        mine = Array.isArray(next) ? next.slice() : { ...next };
        this.owned.add(mine);
        cur[k] = mine;
      }
      if (Array.isArray(mine)) return;
      cur = mine;
    }
  }

  get modified(): boolean {
    return this.ops.length > 0;
  }

  set(words: Word[]): Resolved {
    const tree = this.candidate;
    if (words.length > 0) for (const r of resolveMany(words)) this.own(tree, r.path);
    const r = applySet(tree, words);
    this.ops.push({ kind: 'set', words });
    return r;
  }

  /** false when there was nothing to delete */
  delete(words: Word[]): boolean {
    const tree = this.candidate;
    this.own(tree, resolve(words, true).path);
    const found = applyDelete(tree, words);
    if (found) this.ops.push({ kind: 'delete', words });
    return found;
  }

  /** `rollback N`, `load override`: the candidate becomes this tree */
  replace(tree: ConfigTree): void {
    void this.candidate;
    this.tree = cloneTree(tree);
    this.cow = false;
    this.ops.push({ kind: 'replace', tree: cloneTree(tree) });
  }

  /** `load merge` (or override) of a text in any notation */
  load(text: string, notation: Notation, override = false): void {
    const next = parseConfig(text, notation, override ? {} : this.candidate);
    this.replace(next);
  }

  reset(): void {
    this.base = this.store.runningSeq;
    this.tree = undefined;
    this.ops = [];
  }

  private rebase(): void {
    let cur = this.fromRunning();
    for (const op of this.ops) {
      if (op.kind === 'replace') {
        cur = cloneTree(op.tree);
        this.cow = false;
      } else if (op.kind === 'set') {
        if (op.words.length > 0) for (const r of resolveMany(op.words)) this.own(cur, r.path);
        applySet(cur, op.words);
      } else {
        this.own(cur, resolve(op.words, true).path);
        applyDelete(cur, op.words);
      }
    }
    this.tree = cur;
    this.base = this.store.runningSeq;
  }
}

export class ConfigStore {
  readonly history: CommitHistory;
  running: ConfigTree = {};
  effective: ConfigTree = {};
  runningSeq = 0;
  private chain: Promise<unknown> = Promise.resolve();
  /** told when a commit's configuration is applied by every consumer, before its record is durable */
  private readonly appliedListeners = new Set<(o: CommitOptions) => void>();
  private confirmTimer: NodeJS.Timeout | undefined;
  /** the commit a `commit confirmed` left pending, and when it rolls back */
  private confirmPending: { seq: number; deadline: number; before: number | undefined } | undefined;
  /** datastore locks: every adapter (CLI, NETCONF, REST) honours them */
  readonly locks = new DatastoreLocks();
  private shared: CandidateSession | undefined;
  private readonly log: (msg: string) => void;

  constructor(private readonly opts: StoreOptions) {
    this.history = new CommitHistory(opts.dir, opts.onWriteStep ? { onStep: opts.onWriteStep } : {});
    this.log = opts.log ?? (() => {});
  }

  /**
   * Load the last committed configuration (or commit `initial` on a first start), apply it
   * to the consumers, and roll back a confirmed commit left pending by a restart. A damaged
   * history or a stored configuration that no longer passes the checks refuses the start
   * (the error names the file); with `recover`, damaged files are moved aside first.
   */
  async open(initial?: ConfigTree): Promise<void> {
    return this.serialized(async () => {
      const latest = this.history.open({ recover: this.opts.recover === true }).at(-1);
      if (this.history.damaged.length) this.logRecovery(latest, initial);
      if (!latest) {
        if (initial && Object.keys(initial).length) {
          await this.commitTree(initial, { user: 'system', comment: 'initial configuration', via: 'initial' }, {});
        }
        return;
      }
      const eff = this.check(latest.config, `stored configuration ${this.history.path(latest.seq)} is not valid`);
      await this.applyAll(eff, {});
      this.running = latest.config;
      this.effective = eff;
      this.runningSeq = latest.seq;
      if (latest.confirmMinutes) {
        const prev = this.history.back(1);
        this.log(`commit ${latest.seq} was confirmed-pending at restart: rolling back`);
        await this.commitTree(prev?.config ?? {}, { user: 'system', comment: 'rollback: commit confirmed was not confirmed before restart', via: 'confirm-timeout' }, this.effective);
      }
    });
  }

  /** A recovered start says, line by line, what it found, where it went and what runs. */
  private logRecovery(latest: CommitRecord | undefined, initial: ConfigTree | undefined): void {
    for (const d of this.history.damaged) this.log(`WARNING: commit history: ${d.file} is damaged (${d.reason}); moved to ${d.movedTo}`);
    const from = latest
      ? `commit ${latest.seq} (${latest.time} by ${latest.user})`
      : initial && Object.keys(initial).length
        ? 'the startup configuration file (no valid commit left)'
        : 'an empty configuration (no valid commit left)';
    this.log(`WARNING: commit history recovered: running ${from}; the next commit is ${this.history.nextSeq()}`);
  }

  close(): void {
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
    this.confirmTimer = undefined;
  }

  /** `configure` shares one session; `configure private` gets a new one each time. */
  session(isPrivate: boolean): CandidateSession {
    if (isPrivate) return new CandidateSession(this, true);
    this.shared ??= new CandidateSession(this, false);
    return this.shared;
  }

  records(): readonly CommitRecord[] {
    return this.history.all();
  }

  /** The written tree of `rollback n` (0 is running). */
  rollbackTree(n: number): ConfigTree {
    if (n === 0) return cloneTree(this.running);
    const rec = this.history.back(n);
    if (!rec) throw new Error(`rollback ${n}: no such commit (history holds ${this.history.all().length})`);
    return cloneTree(rec.config);
  }

  compare(session: CandidateSession, against = 0): string {
    return compareTrees(this.rollbackTree(against), session.candidate);
  }

  /** Errors of a whole tree: cross-references, then every consumer's own checks. */
  validate(tree: ConfigTree, eff = expandGroups(tree)): string[] {
    const errors = validateTree(tree, eff);
    for (const c of this.opts.consumers) {
      try {
        errors.push(...c.validate(eff).map((e) => `${c.name}: ${e}`));
      } catch (e) {
        errors.push(`${c.name}: ${(e as Error).message}`);
      }
    }
    return errors;
  }

  /** Throws the errors of `tree`; returns its effective configuration (groups applied). */
  private check(tree: ConfigTree, summary = 'configuration check-out failed'): ConfigTree {
    const eff = expandGroups(tree);
    const errors = this.validate(tree, eff);
    if (errors.length) throw new CommitError(errors, summary);
    return eff;
  }

  async commit(session: CandidateSession, o: CommitOptions): Promise<{ seq?: number; text: string }> {
    return this.serialized(async () => {
      const next = session.candidate;
      if (o.check) {
        this.check(next);
        return { text: 'configuration check succeeds' };
      }
      const seq = await this.commitLogged(next, o);
      session.reset();
      const lines = ['commit complete'];
      if (o.confirmSeconds) lines.unshift(`commit confirmed will be automatically rolled back in ${o.confirmSeconds} seconds unless confirmed`);
      else if (o.confirmMinutes) lines.unshift(`commit confirmed will be automatically rolled back in ${o.confirmMinutes} minutes unless confirmed`);
      return { seq, text: lines.join('\n') };
    });
  }

  /**
   * Commits what `change` makes of the running configuration, computed in the commit's own
   * turn so that no commit in between is overwritten (the configuration file's loads, whose
   * result depends on what runs). Undefined when the change changes nothing.
   */
  async commitChange(change: (running: ConfigTree) => ConfigTree, o: CommitOptions): Promise<{ seq: number; before: ConfigTree; after: ConfigTree } | undefined> {
    return this.serialized(async () => {
      const before = this.running;
      const next = change(before);
      if (isDeepStrictEqual(next, before)) return undefined;
      return { seq: await this.commitLogged(next, o), before, after: next };
    });
  }

  /** commitTree, a refusal logged (syslog's UI_CONFIGURATION_ERROR: who, and every reason). */
  private async commitLogged(next: ConfigTree, o: CommitOptions): Promise<number> {
    try {
      return await this.commitTree(next, o, this.effective);
    } catch (e) {
      if (e instanceof CommitError) this.log(`commit by ${o.user}${o.via ? ` via ${o.via}` : ''} refused: ${e.errors.join('; ')}`);
      throw e;
    }
  }

  /** Check, apply, persist; must run serialized. Returns the new commit's number. */
  private async commitTree(next: ConfigTree, o: CommitOptions, prevEff: ConfigTree): Promise<number> {
    // a confirmed commit on top of a pending one extends it: both roll back together
    const before = this.pendingConfirm()?.before ?? (this.runningSeq || undefined);
    // groups are expanded once per commit: the checked tree is the applied one
    mark('commit: check starts');
    const eff = this.check(next);
    mark('commit: checked');
    await this.applyAll(eff, prevEff);
    mark('commit: applied');
    const waited = this.appliedListeners.size > 0;
    for (const l of this.appliedListeners) {
      try {
        l(o);
      } catch (e) {
        this.log(`commit ${this.history.nextSeq()}: a listener failed: ${(e as Error).message}`);
      }
    }
    // Someone waits for the applied commit (a CNI ADD, for the data plane next): the FIB
    // export's write to the agent (queued for the next turn) goes before the record, whose
    // serialization of the whole tree takes the thread for a few ms with hundreds of pods.
    if (waited) await new Promise((r) => setImmediate(r));
    // `next` becomes the running tree: sessions copy it before editing, nobody mutates it
    const rec: CommitRecord = { seq: this.history.nextSeq(), user: o.user, time: new Date().toISOString(), config: next };
    if (o.comment) rec.comment = o.comment;
    if (o.via) rec.via = o.via;
    // the record's minutes only mark the commit pending (a restart rolls it back)
    if (o.confirmSeconds) rec.confirmMinutes = Math.ceil(o.confirmSeconds / 60);
    else if (o.confirmMinutes) rec.confirmMinutes = o.confirmMinutes;
    try {
      await this.history.append(rec);
      mark('commit: history written');
    } catch (e) {
      await this.applyAll(prevEff, eff).catch(() => {});
      throw new CommitError([`cannot write the commit history: ${(e as Error).message}`], 'commit failed, previous configuration restored');
    }
    this.running = rec.config;
    this.effective = eff;
    this.runningSeq = rec.seq;
    this.log(`commit ${rec.seq} by ${o.user}${o.comment ? `: ${o.comment}` : ''}`);
    // any commit confirms a pending `commit confirmed`
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
    this.confirmTimer = undefined;
    this.confirmPending = undefined;
    const ms = o.confirmSeconds ? o.confirmSeconds * 1000 : o.confirmMinutes ? o.confirmMinutes * (this.opts.confirmUnitMs ?? 60_000) : 0;
    if (ms > 0) {
      this.confirmPending = { seq: rec.seq, deadline: Date.now() + ms, before };
      this.armConfirmTimer(rec.seq);
    }
    return rec.seq;
  }

  /** Waits for the deadline in steps setTimeout can hold (65535 minutes is 45 days). */
  private armConfirmTimer(seq: number): void {
    const left = (this.confirmPending?.deadline ?? 0) - Date.now();
    const step = Math.min(Math.max(left, 0), MAX_TIMER_MS);
    this.confirmTimer = setTimeout(() => (left > MAX_TIMER_MS ? this.armConfirmTimer(seq) : void this.rollbackConfirmed(seq, 'was not confirmed')), step);
    this.confirmTimer.unref();
  }

  /** The commit a `commit confirmed` left pending, if any (seq and the rollback deadline). */
  pendingConfirm(): { seq: number; deadline: number; before: number | undefined } | undefined {
    return this.confirmPending && this.confirmPending.seq === this.runningSeq ? { ...this.confirmPending } : undefined;
  }

  /**
   * Rolls a pending `commit confirmed` back now: its time ran out, NETCONF's
   * `<cancel-commit>`, or the session that made it ended without `<persist>`.
   */
  async rollbackConfirmed(seq: number, why: string): Promise<void> {
    await this.serialized(async () => {
      const pending = this.confirmPending;
      if (this.runningSeq !== seq || pending?.seq !== seq) return;
      if (this.confirmTimer) clearTimeout(this.confirmTimer);
      this.confirmTimer = undefined;
      this.confirmPending = undefined;
      const prev = this.history.all().find((r) => r.seq === pending.before);
      this.log(`commit ${seq} ${why}: rolling back`);
      await this.commitTree(prev?.config ?? {}, { user: 'system', comment: `rollback: commit confirmed ${seq} ${why}`, via: 'confirm-timeout' }, this.effective);
    }).catch((e: unknown) => this.log(`automatic rollback failed: ${(e as Error).message}`));
  }

  /**
   * Calls `listener` whenever a commit has been applied by every consumer, before its history
   * record is written (durable later, or the commit still fails and is undone if it cannot be
   * written). For a caller whose own journal already holds the change durably (the CNI
   * service's committer): it need not wait for the record's fsyncs. Returns the unsubscribe.
   */
  onApplied(listener: (o: CommitOptions) => void): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  /** Apply to every consumer; on a failure give the changed ones `prev` back and throw. */
  private async applyAll(next: ConfigTree, prev: ConfigTree): Promise<void> {
    const done = [];
    for (const c of this.opts.consumers) {
      try {
        await c.apply(next, prev);
        mark(`commit: ${c.name} applied`);
        done.push(c);
      } catch (e) {
        const unrestored: string[] = [];
        for (const d of [c, ...done.reverse()]) {
          try {
            await d.apply(prev, next);
          } catch {
            unrestored.push(d.name);
          }
        }
        const tail = unrestored.length ? `; could not restore: ${unrestored.join(', ')}` : '';
        throw new CommitError([`${c.name}: ${(e as Error).message}`], `commit failed, previous configuration restored${tail}`);
      }
    }
  }

  private serialized<T>(f: () => Promise<T>): Promise<T> {
    const p = this.chain.then(f);
    this.chain = p.catch(() => {});
    return p;
  }
}
