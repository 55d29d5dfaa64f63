import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Committer, cniGroupsIn, commitScript, MAX_DEFER_MS, MAX_DEFER_UNWAITED_MS, replayJournal, type Intent } from './committer.js';
import { ControllerError } from './controller.js';

/**
 * A stand-in controller that understands what the committer sends: private candidate,
 * `set`/`delete` of groups and apply-groups, commit (refused while `refuse` says so).
 */
class FakeController {
  groups = new Map<string, string[]>();
  applied = new Set<string>();
  commits = 0;
  delayMs = 0;
  refuse: (group: string) => boolean = () => false;
  /** every commit refused, whatever it changes (a controller that refuses all, as cni-commit.test.ts makes one) */
  refuseAll = false;

  exec = async (commands: string[]): Promise<string[]> => {
    if (commands[0] === 'show configuration | display set') {
      const lines = [...this.groups.values()].flat();
      for (const g of this.applied) lines.push(`set apply-groups ${g}`);
      return [lines.join('\n') + '\n'];
    }
    const groups = new Map([...this.groups].map(([k, v]) => [k, [...v]]));
    const applied = new Set(this.applied);
    for (const c of commands) {
      let m: RegExpExecArray | null;
      if ((m = /^set groups (\S+) /.exec(c))) groups.set(m[1]!, [...(groups.get(m[1]!) ?? []), c]);
      else if ((m = /^set apply-groups (\S+)$/.exec(c))) applied.add(m[1]!);
      else if ((m = /^delete groups (\S+)$/.exec(c))) groups.delete(m[1]!);
      else if ((m = /^delete apply-groups (\S+)$/.exec(c))) applied.delete(m[1]!);
      else if (c.startsWith('commit')) {
        if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
        if (this.refuseAll) throw new ControllerError("'commit': refused by the test");
        const bad = [...groups.keys()].find((g) => this.refuse(g));
        if (bad) throw new ControllerError(`'commit': group ${bad} refused by the test`);
        this.groups = groups;
        this.applied = applied;
        this.commits++;
      }
    }
    return commands.map(() => '');
  };

  has(g: string): boolean {
    return this.groups.has(g) && this.applied.has(g);
  }
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), `cnicm${process.pid}-`));
  dirs.push(dir);
  const stateDir = join(dir, 'state');
  const dataDir = join(dir, 'data');
  mkdirSync(stateDir);
  mkdirSync(join(dataDir, 'net'), { recursive: true });
  const ctl = new FakeController();
  const logs: string[] = [];
  const make = (paused = false, deferFor?: () => number, programmed?: () => Promise<void>) =>
    new Committer({ stateDir, exec: ctl.exec, log: (m) => logs.push(m), paused, ...(deferFor ? { deferFor } : {}), ...(programmed ? { programmed } : {}) });
  const add = (g: string): Intent => ({
    op: 'add',
    group: g,
    dataDir,
    containerId: g,
    ifname: 'eth0',
    statements: [`set groups ${g} interfaces x${g} mtu 1500`, `set apply-groups ${g}`],
  });
  const del = (g: string): Intent => ({ op: 'del', group: g, dataDir, containerId: g, ifname: 'eth0' });
  const record = (g: string) => writeFileSync(join(dataDir, 'net', `${g}_eth0.json`), JSON.stringify({ containerId: g, ifname: 'eth0', group: g }));
  const journal = () => readFileSync(join(stateDir, 'cni.journal'), 'utf8');
  return { dir, stateDir, dataDir, ctl, logs, make, add, del, record, journal };
}

test('intents queued while a commit runs go into the next one; the journal is empty once all is committed', async () => {
  const t = setup();
  t.ctl.delayMs = 20;
  const c = t.make();
  const done = Array.from({ length: 20 }, (_, i) => c.submit(t.add(`cni-p${i}`)));
  assert.equal(t.journal().trim().split('\n').length, 20, 'each intent is in the journal when submit returns');
  await Promise.all(done);
  await c.settled();
  // the first intent starts a commit at once; the 19 others wait for it and go together
  assert.equal(t.ctl.commits, 2);
  for (let i = 0; i < 20; i++) assert.ok(t.ctl.has(`cni-p${i}`), `cni-p${i}`);
  assert.equal(t.journal(), '');
  await c.stop();
});

test('the journal is synced beside the commit: nobody is told before its line is durable, lines appended meanwhile share one sync, a failed sync fails its waiters', async () => {
  const t = setup();
  const syncs: ((err: NodeJS.ErrnoException | null) => void)[] = [];
  const c = new Committer({ stateDir: t.stateDir, exec: t.ctl.exec, log: () => {}, syncFile: (_fd, done) => syncs.push(done) });
  let told = false;
  const a = c.submit(t.add('cni-a'), true).then(() => (told = true));
  assert.equal(syncs.length, 1, 'the sync starts with the line');
  await c.settled();
  assert.ok(t.ctl.has('cni-a'), 'committed while the line was still being synced');
  await new Promise((r) => setImmediate(r));
  assert.equal(told, false, 'not told before its line is durable');
  // two more lines while the first sync runs: one sync covers both once it ends
  const b = c.submit(t.add('cni-b'), true);
  const d = c.submit(t.del('cni-a'));
  assert.equal(syncs.length, 1);
  syncs.shift()!(null);
  await a;
  assert.equal(syncs.length, 1, 'one sync for the two lines appended meanwhile');
  syncs.shift()!(null);
  await Promise.all([b, d, c.durable()]);
  // a sync that fails: its waiter learns why (an ADD then undoes itself)
  const e = c.submit(t.add('cni-e'), true);
  const failed = assert.rejects(e, /fdatasync: EIO/);
  syncs.shift()!(Object.assign(new Error('EIO'), { code: 'EIO' }));
  await failed;
  await c.settled();
  const stopped = c.stop();
  while (syncs.length) syncs.shift()!(null);
  await stopped;
});

test('an ADD and a DEL of one attachment both queued cancel out', async () => {
  const t = setup();
  const c = t.make(true);
  const a = c.submit(t.add('cni-x'));
  // whoever waits for the ADD learns that it will not be committed (told at once: the DEL's
  // line is still being synced, and the rejection must not wait unhandled meanwhile)
  const aCancelled = assert.rejects(a, /cancelled by a DEL of cni-x\/eth0/);
  const d = c.submit(t.del('cni-x'));
  const y = c.submit(t.add('cni-y'));
  await d;
  await aCancelled;
  assert.equal(c.state('cni-x').pending, undefined);
  assert.equal(c.state('cni-y').pending, 'add');
  c.resume();
  await y;
  await c.settled();
  assert.equal(t.ctl.commits, 1);
  assert.ok(!t.ctl.groups.has('cni-x') && !t.ctl.applied.has('cni-x'));
  assert.ok(t.ctl.has('cni-y'));
  // a DEL of a committed group deletes it and its apply-groups entry, even when an ADD
  // and a DEL of it follow while that DEL is still queued (the ADD replaced it: no cancelling)
  c.pause();
  const d1 = c.submit(t.del('cni-y'));
  const a2 = c.submit(t.add('cni-y'));
  const d2 = c.submit(t.del('cni-y'));
  c.resume();
  await Promise.all([d1, d2, assert.rejects(a2, /cancelled/)]);
  assert.ok(!t.ctl.groups.has('cni-y') && !t.ctl.applied.has('cni-y'));
  await c.stop();
});

test('a refused intent does not hold back the others; it is reported and retried by reconcile', async () => {
  const t = setup();
  t.ctl.refuse = (g) => g === 'cni-bad';
  const c = t.make(true);
  const bad = c.submit(t.add('cni-bad'));
  const badRefused = assert.rejects(bad, /refused by the test/);
  const good = c.submit(t.add('cni-good'));
  c.resume();
  await good;
  await badRefused;
  assert.ok(t.ctl.has('cni-good') && !t.ctl.groups.has('cni-bad'));
  assert.match(c.state('cni-bad').refused ?? '', /refused by the test/);
  assert.equal(c.backlog().refused, 1);
  assert.ok(t.logs.some((l) => l.includes('cni-bad/eth0') && l.includes('refused by the test')), t.logs.join('\n'));
  assert.ok(t.journal().includes('cni-bad'), 'a refused intent stays in the journal');
  t.ctl.refuse = () => false;
  await c.reconcile();
  assert.ok(t.ctl.has('cni-bad'));
  assert.deepEqual(c.state('cni-bad'), {});
  assert.equal(c.backlog().reason, undefined);
  assert.equal(t.journal(), '');
  await c.stop();
});

test('a refused DEL is reported while its group is committed; reconcile forgets one whose group never was', async () => {
  const t = setup();
  const c = t.make();
  await c.submit(t.add('cni-kept'));
  t.ctl.refuseAll = true;
  // an ADD refused, then its undo's DEL refused too: the group never reached the configuration
  await assert.rejects(c.submit(t.add('cni-never')), /refused by the test/);
  await assert.rejects(c.submit(t.del('cni-never')), /refused by the test/);
  // a DEL of a committed group, refused
  await assert.rejects(c.submit(t.del('cni-kept')), /refused by the test/);
  assert.equal(c.backlog().refused, 2);
  // the next reconcile (the backoff's, or this one) while the cause lasts: the DEL of a group
  // that is not there has nothing left to do, the other is refused again and still reported
  await c.reconcile();
  assert.deepEqual(c.state('cni-never'), {});
  assert.match(c.state('cni-kept').refused ?? '', /refused by the test/);
  assert.ok(t.ctl.has('cni-kept'));
  t.ctl.refuseAll = false;
  await c.reconcile();
  assert.deepEqual(c.state('cni-kept'), {});
  assert.ok(!t.ctl.groups.has('cni-kept'));
  assert.equal(c.backlog().reason, undefined);
  await c.stop();
});

test('after a crash, reconcile commits the journal intents and deletes groups no record names', async () => {
  const t = setup();
  // committed before the crash: cni-old (its DEL is journaled), cni-kept (recorded), cni-orphan (no record)
  const first = t.make();
  for (const g of ['cni-old', 'cni-kept', 'cni-orphan']) await first.submit(t.add(g));
  t.record('cni-kept');
  t.record('cni-new');
  first.pause();
  void first.submit(t.add('cni-new'));
  void first.submit(t.del('cni-old'));
  const before = t.ctl.commits;
  // the process dies here: nothing more is committed, the journal holds the two intents
  const second = t.make();
  await second.reconcile();
  assert.ok(t.ctl.has('cni-new'), 'the journaled ADD is committed');
  assert.ok(!t.ctl.groups.has('cni-old') && !t.ctl.applied.has('cni-old'), 'the journaled DEL is committed');
  assert.ok(t.ctl.has('cni-kept'), 'a recorded attachment keeps its group');
  assert.ok(!t.ctl.groups.has('cni-orphan'), 'a group without a record goes');
  assert.equal(t.ctl.commits, before + 1, 'all in one commit');
  assert.equal(t.journal(), '');
  // nothing to do: no commit
  await second.reconcile();
  assert.equal(t.ctl.commits, before + 1);
  await second.stop();
});

test('journal replay takes the last intent of each group and skips a torn line', () => {
  const a = { op: 'add', group: 'cni-a', dataDir: '/d', containerId: 'a', ifname: 'eth0', statements: [] };
  const text = [a, { ...a, op: 'del' }, { ...a, group: 'cni-b' }].map((x) => JSON.stringify(x)).join('\n') + '\n{"op":"add","gro';
  const m = replayJournal(text);
  assert.deepEqual([...m.keys()], ['cni-a', 'cni-b']);
  assert.equal(m.get('cni-a')!.op, 'del');
});

test('the commit script and the groups of a display-set text', () => {
  const s = commitScript([
    { op: 'add', group: 'cni-a', dataDir: '/d', containerId: 'a', ifname: 'eth0', statements: ['set groups cni-a x', 'set apply-groups cni-a'] },
    { op: 'del', group: 'cni-b', dataDir: '/d', containerId: 'b', ifname: 'eth0' },
  ]);
  assert.deepEqual(s, [
    'configure private',
    'delete groups cni-a',
    'set groups cni-a x',
    'set apply-groups cni-a',
    'delete apply-groups cni-b',
    'delete groups cni-b',
    'commit comment "cnr-cni 1 ADD, 1 DEL"',
  ]);
  const g = cniGroupsIn('set groups cni-a interfaces x mtu 1\nset groups base y\nset apply-groups [ base cni-b ]\nset apply-groups cni-c\n');
  assert.deepEqual([[...g.defined], [...g.applied]], [['cni-a'], ['cni-b', 'cni-c']]);
});

test('a commit waits while the service says so, at most MAX_DEFER_MS; poke() lets it go at once', async () => {
  const t = setup();
  let busy = true;
  const c = t.make(false, () => (busy ? Infinity : 0));
  const t0 = Date.now();
  await c.submit(t.add('cni-d1'));
  assert.ok(Date.now() - t0 >= MAX_DEFER_MS - 2, `committed after ${Date.now() - t0} ms`);
  const second = c.submit(t.add('cni-d2'));
  const turn = () => new Promise((r) => setImmediate(r));
  await turn();
  assert.equal(t.ctl.commits, 1, 'still waiting');
  busy = false;
  c.poke();
  await turn(); // no timer: the commit is done within this turn of the event loop
  assert.equal(t.ctl.commits, 2);
  await second;
  await c.stop();
});

test("the service's deferral: requests that may still submit hold a commit back, requests blocked on it do not", async (ctx) => {
  const t = setup();
  // the clock stands still: on the real one, a process held off over MAX_DEFER_MS (20 ms)
  // between the first submit and the check let the deferral run out (failed once under load)
  ctx.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  // as server.ts: `inflight` requests run, blockedRequests of them wait for a commit
  let inflight = 1;
  let deferred = 0;
  const c = t.make(false, () => {
    if (inflight <= c.blockedRequests) return 0;
    deferred++;
    return Infinity;
  });
  await c.submit(t.add('cni-w1'), true);
  assert.equal(deferred, 0, 'the only request, blocked on the commit: committed at once');
  // two in flight, one blocked: its commit waits for the other, which then joins it
  inflight = 2;
  const first = c.submit(t.add('cni-w2'), true);
  await new Promise((r) => setImmediate(r));
  assert.equal(t.ctl.commits, 1, 'waiting for the other request');
  assert.ok(deferred > 0);
  const second = c.submit(t.add('cni-w3'), true);
  await Promise.all([first, second]);
  assert.equal(t.ctl.commits, 2, 'one commit for both');
  assert.equal(c.blockedRequests, 0);
  await c.stop();
});

test('a waiter is told once the data plane has the commit; that wait does not hold back the next commit', async () => {
  const t = setup();
  const gates: (() => void)[] = [];
  let fail = false;
  const c = t.make(false, undefined, () => new Promise<void>((res, rej) => gates.push(() => (fail ? rej(new Error('agent away')) : res()))));
  let firstDone = false;
  const first = c.submit(t.add('cni-p1'), true).then(() => (firstDone = true));
  await c.settled();
  assert.equal(t.ctl.commits, 1);
  assert.ok(t.ctl.has('cni-p1'));
  await new Promise((r) => setImmediate(r));
  assert.equal(firstDone, false, 'committed, but the data plane has not acknowledged it');
  // the next ADD is committed meanwhile
  const second = c.submit(t.add('cni-p2'), true);
  await c.settled();
  assert.equal(t.ctl.commits, 2, 'the next commit did not wait for the first one\'s data plane');
  assert.equal(gates.length, 2);
  gates[0]!();
  await first;
  // an agent that does not acknowledge in time: logged, the waiter told anyway
  fail = true;
  gates[1]!();
  await second;
  assert.ok(t.logs.some((l) => /ADD cni-p2\/eth0 committed, not yet in the data plane: agent away/.test(l)), t.logs.join('\n'));
  await c.stop();
});

test('with onApplied, a waiter is told once its commit is applied and programmed, before the commit completes; the journal keeps the intent until then', async () => {
  const t = setup();
  const listeners = new Set<(comment: string | undefined) => void>();
  let finish = () => {};
  let announce = true;
  // the controller applies the commit, tells its listeners, then takes its time for the record
  const exec = async (commands: string[]): Promise<string[]> => {
    const out = await t.ctl.exec(commands);
    const c = commands.at(-1)!;
    if (c.startsWith('commit comment ')) {
      const comment = /^commit comment "(.*)"$/.exec(c)?.[1];
      for (const l of listeners) l('another commit');
      if (announce) for (const l of listeners) l(comment);
      await new Promise<void>((r) => (finish = r));
    }
    return out;
  };
  const c = new Committer({
    stateDir: t.stateDir,
    exec,
    log: () => {},
    programmed: () => Promise.resolve(),
    onApplied: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  });
  await c.submit(t.add('cni-p1'), true);
  assert.ok(t.ctl.has('cni-p1'));
  assert.match(t.journal(), /cni-p1/, 'the commit is not complete: its intent stays in the journal');
  finish();
  await c.settled();
  assert.equal(t.journal(), '', 'truncated once the commit is complete');
  assert.equal(listeners.size, 0, 'unsubscribed after the commit');
  // told of other commits only: the waiter waits for its commit to complete
  announce = false;
  let told = false;
  const p = c.submit(t.add('cni-p2'), true).then(() => (told = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(told, false, 'not told before its own commit is applied or complete');
  finish();
  await p;
  await c.settled();
  await c.stop();
});

test('a commit nobody waits for (DELs) waits for busy requests up to MAX_DEFER_UNWAITED_MS; an ADD that waits makes it go within MAX_DEFER_MS', async () => {
  const t = setup();
  const c = t.make(false, () => Infinity); // requests always in flight
  const t0 = Date.now();
  await c.submit(t.del('cni-u1'));
  await c.settled();
  const waited = Date.now() - t0;
  assert.ok(waited >= MAX_DEFER_UNWAITED_MS - 2, `a DEL's commit waited ${waited} ms`);
  const t1 = Date.now();
  void c.submit(t.del('cni-u2'));
  await new Promise((r) => setTimeout(r, 5));
  await c.submit(t.add('cni-u3'), true);
  const took = Date.now() - t1;
  assert.ok(took < MAX_DEFER_UNWAITED_MS - 50, `an ADD that waits went after ${took} ms`);
  assert.ok(t.ctl.has('cni-u3'));
  await c.stop();
});
