/**
 * The CNI service's committer: ADD and DEL write the attachment's intent to a journal
 * (`<stateDir>/cni.journal`, one line per intent, appended and fdatasync'd); the committer
 * applies the intents to the controller one commit at a time, everything queued while a
 * commit runs going into the next one (one `configure private` script and one commit). An
 * ADD and a DEL of one attachment both still queued cancel out. ADD waits for its intent to
 * be committed and in the data plane (`programmed`, the agent's acknowledgement), so that
 * the pod can send as soon as ADD returns; DEL answers once its intent is durable. Waiting
 * for the data plane does not hold the next commit back: ADDs that arrive meanwhile share it.
 * The line's fdatasync runs on libuv's thread pool beside the commit (one sync for the lines
 * appended meanwhile): nothing is answered before its line is durable, and a commit that
 * becomes durable before its line leaves nothing for a restart to redo.
 *
 * Crash safety is `reconcile()`: when the service starts, and after a refused background
 * commit (with backoff), every intent of the journal that the running configuration does
 * not reflect is queued again, and every `cni-*` group that no attachment record names is
 * deleted. The journal is truncated whenever nothing is queued, running or refused.
 */
import { closeSync, fdatasync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ControllerError } from './controller.js';
import { withLock } from './state.js';
import { mark } from '../lib/timeline.js';

/** One attachment's intent: its group committed (`add`, with the group's `set` statements) or gone (`del`). */
export interface Intent {
  op: 'add' | 'del';
  group: string;
  /** the network config's dataDir: records and controller.lock */
  dataDir: string;
  containerId: string;
  ifname: string;
  /** add: the group's `set` statements (groupStatements), apply-groups included */
  statements?: string[];
}

export interface CommitterOptions {
  stateDir: string;
  /** runs commands in one session, throwing on the first refused one */
  exec(commands: string[]): Promise<string[]>;
  log(msg: string): void;
  /** test hook: queue intents but commit nothing until resume() */
  paused?: boolean;
  /** test hook: how the journal is synced (default fs.fdatasync, on libuv's thread pool) */
  syncFile?: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;
  /**
   * How long a commit should still wait (ms; 0: go): the service says so while requests
   * run that may still submit, and for a moment after the last one ended, so that
   * concurrent ADDs and DELs share one commit and its CPU stays off their replies and the
   * shim's exit. A commit waits at most MAX_DEFER_MS after the first intent queued; call
   * poke() when this may have changed.
   */
  deferFor?: () => number;
  /**
   * Resolves once what the controller has queued for the data plane so far is acknowledged
   * by the agent (FibExport.flushed): a commit's waiters are told only then.
   */
  programmed?: () => Promise<void>;
  /**
   * Subscribes to the controller's commits of this committer's `exec` being applied, before
   * their history record is durable (ConfigStore.onApplied: the listener gets the commit's
   * comment); returns the unsubscribe. With it, a commit's waiters are told once it is
   * applied and programmed, without waiting for the record's fsyncs: the intents are durable
   * in the journal already, which is truncated only once the commit is complete, so a crash
   * before the record is durable is put right by reconcile as before.
   */
  onApplied?: (listener: (comment: string | undefined) => void) => () => void;
}

interface Queued {
  intent: Intent;
  /** an ADD queued with nothing else of its group queued, committing or refused */
  fresh?: boolean;
  /** its waiters were told (done) once the commit was applied, before it was complete */
  told?: boolean;
  waiters: { op: Intent['op']; res: () => void; rej: (e: Error) => void }[];
}

const JOURNAL = 'cni.journal';
/** the dataDirs this service has served: where reconcile looks for attachment records */
const DATA_DIRS = 'cni.datadirs';
const BACKOFF_MIN_MS = 200;
const BACKOFF_MAX_MS = 30_000;
/** a journal larger than this is compacted to the pending intents after a commit */
const COMPACT_BYTES = 1 << 20;
/** the longest a queued intent waits for requests in flight before it is committed anyway */
export const MAX_DEFER_MS = 20;
/**
 * The same when no request waits for the commit (DELs answer on the durable intent): the
 * commit's CPU then stays off the requests in flight, and DELs coming one after another
 * share a commit.
 */
export const MAX_DEFER_UNWAITED_MS = 200;

/** Groups (`cni-*`) defined in a `display set` text, and those applied. */
export function cniGroupsIn(setText: string): { defined: Set<string>; applied: Set<string> } {
  const defined = new Set<string>();
  const applied = new Set<string>();
  for (const line of setText.split('\n')) {
    let m = /^set groups (cni-\S+) /.exec(line);
    if (m) defined.add(m[1]!);
    m = /^set apply-groups (.+)$/.exec(line);
    if (m) for (const g of m[1]!.replace(/[[\]]/g, ' ').split(/\s+/)) if (g.startsWith('cni-')) applied.add(g);
  }
  return { defined, applied };
}

/** The last intent of each group in journal text (torn last line ignored). */
export function replayJournal(text: string): Map<string, Intent> {
  const out = new Map<string, Intent>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const i = JSON.parse(line) as Intent;
      if ((i.op === 'add' || i.op === 'del') && typeof i.group === 'string') out.set(i.group, i);
    } catch {
      // a line torn by a crash: its ADD never replied
    }
  }
  return out;
}

/** The commands of one commit applying `intents` in order. */
export function commitScript(intents: readonly Intent[]): string[] {
  const out = ['configure private'];
  for (const i of intents) {
    if (i.op === 'add') {
      out.push(`delete groups ${i.group}`, ...(i.statements ?? []));
    } else out.push(`delete apply-groups ${i.group}`, `delete groups ${i.group}`);
  }
  out.push(`commit comment "${commitComment(intents)}"`);
  return out;
}

/** The comment of the commit applying `intents` (what ConfigStore.onApplied reports back). */
export function commitComment(intents: readonly Intent[]): string {
  const adds = intents.filter((i) => i.op === 'add').length;
  const one = intents.length === 1 ? ` ${intents[0]!.containerId} ${intents[0]!.ifname}` : '';
  const what = intents.length === 1 ? (adds ? 'ADD' : 'DEL') : `${adds} ADD, ${intents.length - adds} DEL`;
  return `cnr-cni ${what}${one}`;
}

/** What a waiter of an ADD is told when a DEL of the same attachment replaced it in the queue. */
export class IntentCancelled extends Error {}

export class Committer {
  private readonly queue = new Map<string, Queued>();
  private readonly running = new Map<string, Intent>();
  /** intents the controller refused: the reason, retried by reconcile */
  private readonly failed = new Map<string, { intent: Intent; reason: string }>();
  private readonly journalPath: string;
  private readonly dataDirsPath: string;
  private readonly dataDirs = new Set<string>();
  private fd: number | undefined;
  private journalBytes = 0;
  private busy: Promise<void> | undefined;
  private paused: boolean;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoff = BACKOFF_MIN_MS;
  private idleWaiters: (() => void)[] = [];
  private deferTimer: NodeJS.Timeout | undefined;
  /** when the queue last went from empty to not */
  private firstQueued = 0;
  /** submit() calls whose caller waits (a request blocked on the committer) */
  private blocked = 0;
  /** journal lines appended, and how many of them an fdatasync has made durable */
  private written = 0;
  private synced = 0;
  private syncing = false;
  private syncWaiters: { upTo: number; res: () => void; rej: (e: Error) => void }[] = [];
  /** journal fds replaced (compact) while an fdatasync on them ran: closed once it ends */
  private retired: number[] = [];
  /** commits made (for tests and the bench) */
  commits = 0;

  constructor(private readonly opts: CommitterOptions) {
    this.journalPath = join(opts.stateDir, JOURNAL);
    this.dataDirsPath = join(opts.stateDir, DATA_DIRS);
    this.paused = opts.paused ?? false;
    try {
      for (const d of readFileSync(this.dataDirsPath, 'utf8').split('\n')) if (d) this.dataDirs.add(d);
    } catch {
      // none yet
    }
  }

  /**
   * Makes `intent` durable (journal append + fdatasync) and queues it. The promise settles
   * when it is committed and programmed in the data plane (or refused); a caller that
   * replies before that must catch it. `wait`: the caller waits for it (counted in
   * blockedRequests, which the service's deferFor reads).
   */
  submit(intent: Intent, wait = false): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('cnr-cni committer stopped'));
    this.noteDataDir(intent.dataDir);
    this.append(intent);
    // the line's fdatasync runs beside the commit; a waiter is told once both are done
    const durable = this.durable();
    const committed = new Promise<void>((res, rej) => {
      const q = this.queue.get(intent.group);
      // an ADD still queued that a DEL replaces: whoever waits for it is told it will not be
      const cancelled = intent.op === 'del' ? (q?.waiters.filter((w) => w.op === 'add') ?? []) : [];
      for (const w of cancelled) w.rej(new IntentCancelled(`cancelled by a DEL of ${intent.containerId}/${intent.ifname} before it was committed`));
      if (intent.op === 'del' && q?.fresh) {
        // never committed: nothing to undo
        this.queue.delete(intent.group);
        for (const w of q.waiters) if (w.op !== 'add') w.res();
        res();
        this.settleIfIdle();
        return;
      }
      const entry: Queued = { intent, waiters: [...(q?.waiters ?? []).filter((w) => !cancelled.includes(w)), { op: intent.op, res, rej }] };
      // an ADD of a group that nothing else touches: a DEL behind it cancels both
      if (intent.op === 'add' && !q && !this.running.has(intent.group) && !this.failed.has(intent.group)) entry.fresh = true;
      this.enqueue(entry);
    });
    const p = Promise.all([committed, durable]).then(() => undefined);
    if (wait) {
      this.blocked++;
      const unblock = () => {
        this.blocked--;
      };
      p.then(unblock, unblock);
    }
    this.kick();
    return p;
  }

  /**
   * Resolves once every journal line appended so far is on disk (an fdatasync that started
   * after it ended); rejects with the error when the sync failed. A DEL answers then.
   */
  durable(): Promise<void> {
    const upTo = this.written;
    if (this.synced >= upTo) return Promise.resolve();
    return new Promise((res, rej) => {
      this.syncWaiters.push({ upTo, res, rej });
      this.startSync();
    });
  }

  /** One fdatasync on the thread pool for every line appended before it starts; again while lines wait. */
  private startSync(): void {
    if (this.syncing || this.fd === undefined || this.synced >= this.written) return;
    this.syncing = true;
    const target = this.written;
    (this.opts.syncFile ?? fdatasync)(this.fd, (err) => {
      this.syncing = false;
      for (const fd of this.retired.splice(0)) closeSync(fd);
      if (err) {
        // every line not yet known durable: its caller gets the error (ADD undoes, DEL retries)
        const failed = this.syncWaiters;
        this.syncWaiters = [];
        this.synced = Math.max(this.synced, target);
        for (const w of failed) w.rej(new Error(`cnr-cni journal ${this.journalPath}: fdatasync: ${err.message}`));
        return;
      }
      this.synced = Math.max(this.synced, target);
      const still = this.syncWaiters.filter((w) => w.upTo > this.synced);
      for (const w of this.syncWaiters) if (w.upTo <= this.synced) w.res();
      this.syncWaiters = still;
      if (still.length || this.synced < this.written) this.startSync();
    });
  }

  /** Whether a waiter is told only once the data plane has the commit (a vRouter is there). */
  get waitsForDataPlane(): boolean {
    return this.opts.programmed !== undefined;
  }

  /** Requests waiting for a commit of theirs (submit with `wait`). */
  get blockedRequests(): number {
    return this.blocked;
  }

  /** What the committer knows of a group: an ADD queued or running, or refused (with why). */
  state(group: string): { pending?: 'add' | 'del'; refused?: string } {
    const f = this.failed.get(group);
    const q = this.queue.get(group)?.intent ?? this.running.get(group) ?? f?.intent;
    const out: { pending?: 'add' | 'del'; refused?: string } = {};
    if (q) out.pending = q.op;
    if (f) out.refused = f.reason;
    return out;
  }

  /** Intents waiting, and the last refusal when some are refused. */
  backlog(): { waiting: number; refused: number; reason?: string } {
    const reasons = [...this.failed.values()].map((f) => `${f.intent.containerId}/${f.intent.ifname}: ${f.reason}`);
    const out: { waiting: number; refused: number; reason?: string } = { waiting: this.queue.size + this.running.size, refused: this.failed.size };
    if (reasons.length) out.reason = reasons.join('; ');
    return out;
  }

  /** Resolves when nothing is queued or running (refused intents may remain). */
  settled(): Promise<void> {
    if (this.isIdle() || this.paused) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** The requests in flight may have changed (deferWhile): commit now if it was waiting for that. */
  poke(): void {
    if (this.deferTimer) this.kick();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.kick();
  }

  /**
   * Brings the running configuration in line with the journal and the records: queues the
   * journal's intents (and refused ones) that it does not reflect, deletes `cni-*` groups
   * no attachment record names, and waits for the resulting commit.
   */
  async reconcile(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    let journal = new Map<string, Intent>();
    try {
      journal = replayJournal(readFileSync(this.journalPath, 'utf8'));
    } catch {
      // no journal
    }
    for (const [g, f] of this.failed) if (!this.queue.has(g)) journal.set(g, f.intent);
    for (const i of journal.values()) this.noteDataDir(i.dataDir);
    const [text] = await this.opts.exec(['show configuration | display set']);
    const { defined, applied } = cniGroupsIn(text ?? '');
    const requeue: Intent[] = [];
    for (const i of journal.values()) {
      if (this.queue.has(i.group) || this.running.has(i.group)) continue;
      const present = defined.has(i.group) || applied.has(i.group);
      if (i.op === 'add' ? !(defined.has(i.group) && applied.has(i.group)) || this.failed.has(i.group) : present) requeue.push(i);
      // a refused DEL of a group that is gone meanwhile: nothing left to do
      else this.failed.delete(i.group);
    }
    // groups of attachments no record names (their DEL was lost with the journal, or the
    // ADD crashed after committing): judged only against dataDirs this service has served
    const recorded = this.recordedGroups();
    if (recorded) {
      for (const g of new Set([...defined, ...applied])) {
        const j = journal.get(g);
        if (recorded.has(g) || this.queue.has(g) || this.running.has(g) || j) continue;
        requeue.push({ op: 'del', group: g, dataDir: [...this.dataDirs][0]!, containerId: '?', ifname: g });
      }
    }
    for (const i of requeue) this.enqueue({ intent: i, waiters: [] });
    if (requeue.length) this.opts.log(`cni committer: reconcile queues ${requeue.length} intent(s)`);
    this.kick();
    if (this.paused) return;
    await this.settled();
    if (this.isIdle() && this.failed.size === 0) this.truncate();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.deferTimer);
    await this.busy;
    await this.durable().catch(() => {});
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  // -------------------------------------------------------------------------------------

  private isIdle(): boolean {
    return this.queue.size === 0 && this.running.size === 0;
  }

  private settleIfIdle(): void {
    if (!this.isIdle()) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }

  private noteDataDir(dir: string): void {
    if (this.dataDirs.has(dir)) return;
    this.dataDirs.add(dir);
    const tmp = `${this.dataDirsPath}.${process.pid}.tmp`;
    writeFileSync(tmp, [...this.dataDirs].join('\n') + '\n', { mode: 0o600 });
    renameSync(tmp, this.dataDirsPath);
  }

  /** Groups named by attachment records in every known dataDir; undefined when none is known. */
  private recordedGroups(): Set<string> | undefined {
    if (this.dataDirs.size === 0) return undefined;
    const out = new Set<string>();
    for (const dir of this.dataDirs) {
      let nets: string[];
      try {
        nets = readdirSync(dir);
      } catch {
        continue;
      }
      for (const net of nets) {
        let files: string[];
        try {
          files = readdirSync(join(dir, net));
        } catch {
          continue;
        }
        for (const f of files) {
          if (!f.endsWith('.json')) continue;
          try {
            const g = (JSON.parse(readFileSync(join(dir, net, f), 'utf8')) as { group?: unknown }).group;
            if (typeof g === 'string') out.add(g);
          } catch {
            // torn or foreign
          }
        }
      }
    }
    return out;
  }

  private open(): number {
    if (this.fd === undefined) {
      mkdirSync(this.opts.stateDir, { recursive: true });
      this.fd = openSync(this.journalPath, 'a', 0o600);
    }
    return this.fd;
  }

  private append(i: Intent): void {
    const fd = this.open();
    const line = Buffer.from(JSON.stringify(i) + '\n');
    writeSync(fd, line);
    this.journalBytes += line.length;
    this.written++;
    this.startSync();
  }

  private truncate(): void {
    if (this.fd === undefined) {
      try {
        if (readFileSync(this.journalPath).length === 0) return;
      } catch {
        return;
      }
    }
    ftruncateSync(this.open(), 0);
    this.journalBytes = 0;
  }

  /** Rewrites the journal with only what is still pending (queued or refused). */
  private compact(): void {
    const keep = [...this.queue.values()].map((q) => q.intent);
    for (const [g, f] of this.failed) if (!this.queue.has(g)) keep.push(f.intent);
    const tmp = `${this.journalPath}.tmp`;
    const text = keep.map((i) => JSON.stringify(i) + '\n').join('');
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, text);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.journalPath);
    // an fdatasync running on the old file keeps its fd until it ends (the number must not be reused under it)
    if (this.fd !== undefined) {
      if (this.syncing) this.retired.push(this.fd);
      else closeSync(this.fd);
    }
    this.fd = undefined;
    this.journalBytes = text.length;
    // what is pending is in the new file, synced above: every line so far is durable
    this.synced = this.written;
    for (const w of this.syncWaiters.splice(0)) w.res();
  }

  private enqueue(q: Queued): void {
    if (this.queue.size === 0) this.firstQueued = Date.now();
    this.queue.set(q.intent.group, q);
  }

  private kick(): void {
    if (this.busy || this.paused || this.stopped || this.queue.size === 0) return;
    const wait = Math.min(this.opts.deferFor?.() ?? 0, this.firstQueued + (this.blocked > 0 ? MAX_DEFER_MS : MAX_DEFER_UNWAITED_MS) - Date.now());
    if (wait > 0) {
      clearTimeout(this.deferTimer);
      this.deferTimer = setTimeout(() => {
        this.deferTimer = undefined;
        this.kick();
      }, wait);
      return;
    }
    clearTimeout(this.deferTimer);
    this.deferTimer = undefined;
    this.busy = this.drain().finally(() => {
      this.busy = undefined;
      if (this.queue.size && !this.paused && !this.stopped) this.kick();
      else this.settleIfIdle();
    });
  }

  private async drain(): Promise<void> {
    const batch = [...this.queue.values()];
    this.queue.clear();
    mark(`cni committer: commit of ${batch.length} intent(s) starts`);
    for (const q of batch) this.running.set(q.intent.group, q.intent);
    try {
      const err = await this.commit(batch.map((q) => q.intent), () => this.done(batch));
      if (!err) {
        this.done(batch);
      } else if (batch.length === 1) {
        this.refuse(batch[0]!, err);
      } else {
        // one refused intent must not hold back the others: each alone
        for (const q of batch) {
          const e = await this.commit([q.intent], () => this.done([q]));
          if (e) this.refuse(q, e);
          else this.done([q]);
        }
      }
    } finally {
      this.running.clear();
    }
    if (this.failed.size) this.scheduleRetry();
    else this.backoff = BACKOFF_MIN_MS;
    if (this.queue.size === 0 && this.failed.size === 0) this.truncate();
    else if (this.journalBytes > COMPACT_BYTES) this.compact();
  }

  /**
   * Committed: the waiters are told once the data plane has it too. That wait runs beside
   * the next commit (what queues meanwhile is not held back); an agent that does not
   * acknowledge in time is logged and the waiters told anyway (the configuration is
   * committed, and the FIB export programs it when the agent is back).
   */
  private done(batch: Queued[]): void {
    for (const q of batch) this.failed.delete(q.intent.group);
    const waiters = batch.filter((q) => !q.told).flatMap((q) => q.waiters);
    for (const q of batch) q.told = true;
    if (waiters.length === 0) return;
    const programmed = this.opts.programmed?.();
    if (!programmed) {
      for (const w of waiters) w.res();
      return;
    }
    mark('cni committer: committed, waiting for the data plane');
    programmed
      .then(() => mark('cni committer: in the data plane'))
      .catch((err: unknown) => {
        const what = batch.map((q) => `${q.intent.op === 'add' ? 'ADD' : 'DEL'} ${q.intent.containerId}/${q.intent.ifname}`).join(', ');
        this.opts.log(`cnr-cni: ${what} committed, not yet in the data plane: ${(err as Error).message}`);
      })
      .finally(() => {
        for (const w of waiters) w.res();
      });
  }

  private refuse(q: Queued, err: Error): void {
    const i = q.intent;
    this.failed.set(i.group, { intent: i, reason: err.message });
    this.opts.log(`cnr-cni: commit of ${i.op === 'add' ? 'ADD' : 'DEL'} ${i.containerId}/${i.ifname} (${i.group}) refused: ${err.message}; reconcile retries it`);
    for (const w of q.waiters) w.rej(err);
  }

  /**
   * One commit of `intents` under every dataDir's controller.lock; the error, if refused.
   * `applied` is called once the controller has applied it, if it says so (onApplied).
   */
  private async commit(intents: Intent[], applied: () => void): Promise<Error | undefined> {
    const dirs = [...new Set(intents.map((i) => i.dataDir))].sort();
    const run = (k: number): Promise<void> =>
      k === dirs.length ? this.opts.exec(commitScript(intents)).then(() => undefined) : withLock(join(dirs[k]!, 'controller.lock'), () => run(k + 1));
    const comment = commitComment(intents);
    const off = this.opts.onApplied?.((c) => {
      if (c === comment) applied();
    });
    try {
      await run(0);
      this.commits++;
      return undefined;
    } catch (err) {
      return err instanceof Error ? err : new ControllerError(String(err));
    } finally {
      off?.();
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.stopped) return;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.reconcile().catch((e: unknown) => this.opts.log(`cnr-cni: reconcile failed: ${(e as Error).message}`));
    }, delay);
    this.retryTimer.unref();
  }
}
