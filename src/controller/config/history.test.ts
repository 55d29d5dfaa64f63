import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommitHistory, CorruptHistoryError, DAMAGED_DIR, type CommitRecord, type WriteStep } from './history.js';
import { ConfigStore } from './store.js';

const STEPS: WriteStep[] = ['temp-partial', 'temp-written', 'temp-synced', 'renamed', 'dir-synced'];

function rec(seq: number, host: string): CommitRecord {
  return { seq, user: 'u', time: new Date().toISOString(), config: { system: { 'host-name': host } } };
}

class Crash extends Error {}

test('a crash at any step of a history write leaves the old or the new configuration, never a torn one', async () => {
  for (const at of STEPS) {
    const dir = mkdtempSync(join(tmpdir(), `cnr-hist-${process.pid}-`));
    try {
      const h = new CommitHistory(dir);
      h.open();
      await h.append(rec(1, 'old'));
      const crashing = new CommitHistory(dir, {
        onStep: (s) => {
          if (s === at) throw new Crash(at);
        },
      });
      crashing.open();
      await assert.rejects(crashing.append(rec(2, 'new')), Crash);
      // "reboot": a fresh reader sees a complete configuration
      const after = new CommitHistory(dir).open();
      const host = (after.at(-1)!.config as any).system['host-name'];
      const renamed = STEPS.indexOf(at) >= STEPS.indexOf('renamed');
      assert.equal(host, renamed ? 'new' : 'old', `crash at ${at}`);
      for (const r of after) assert.ok(r.config && typeof r.seq === 'number');
      assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), [], 'leftover temp files are removed at open');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('a torn temporary file from a crash mid-write is ignored and removed', async () => {
  const dir = mkdtempSync(join(tmpdir(), `cnr-hist-${process.pid}-`));
  try {
    const h = new CommitHistory(dir);
    h.open();
    await h.append(rec(1, 'old'));
    writeFileSync(join(dir, '.commit-00000002.json.tmp-999'), '{"seq": 2, "user": "u", "config": {"sys');
    const after = new CommitHistory(dir).open();
    assert.equal(after.length, 1);
    assert.equal((after[0]!.config as any).system['host-name'], 'old');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a store whose history write crashes keeps running the old configuration and restarts into a consistent one', async () => {
  for (const at of STEPS) {
    const dir = mkdtempSync(join(tmpdir(), `cnr-hist-${process.pid}-`));
    try {
      let crashAt: WriteStep | undefined;
      const applied: string[] = [];
      const consumer = {
        name: 'rec',
        validate: () => [],
        apply: async (next: any) => {
          applied.push(next.system?.['host-name'] ?? '');
        },
      };
      const store = new ConfigStore({ dir, consumers: [consumer], onWriteStep: (s) => { if (s === crashAt) throw new Crash(s); } });
      await store.open();
      const s1 = store.session(true);
      s1.set(['system', 'host-name', 'old']);
      await store.commit(s1, { user: 'u' });
      crashAt = at;
      const s2 = store.session(true);
      s2.set(['system', 'host-name', 'new']);
      await assert.rejects(store.commit(s2, { user: 'u' }), /cannot write the commit history/);
      // the consumers were given the old configuration back
      assert.deepEqual(applied, ['old', 'new', 'old']);
      assert.equal((store.running as any).system['host-name'], 'old');
      store.close();
      const again = new ConfigStore({ dir, consumers: [] });
      await again.open();
      const host = (again.running as any).system['host-name'];
      assert.ok(host === 'old' || host === 'new', `crash at ${at}: ${host}`);
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

// ---- damaged commit files: refused by name, or moved aside when recovery is asked for

/** A history of commits 1 (host r1) and 2 (host r2) as cnr writes it; returns commit 2's file. */
async function twoCommits(dir: string): Promise<string> {
  const h = new CommitHistory(dir);
  h.open();
  await h.append(rec(1, 'r1'));
  await h.append(rec(2, 'r2'));
  return join(dir, 'commit-00000002.json');
}

function flip(bytes: Buffer, at: number, mask = 0x01): Buffer {
  const b = Buffer.from(bytes);
  b[at]! ^= mask;
  return b;
}

interface Corruption {
  name: string;
  /** the damaged content of commit 2, from its good content */
  damage: (good: Buffer) => Buffer | string;
  reason: RegExp;
}

const CORRUPTIONS: Corruption[] = [
  { name: 'truncated', damage: (g) => g.subarray(0, Math.floor(g.length / 2)), reason: /not valid JSON .*truncated or damaged/ },
  { name: 'zero bytes', damage: () => '', reason: /empty file \(0 bytes\)/ },
  { name: 'a flipped byte in a value', damage: (g) => flip(g, g.indexOf('"r2"') + 2), reason: /checksum mismatch/ },
  { name: 'a flipped high bit (invalid UTF-8)', damage: (g) => flip(g, g.indexOf('"r2"') + 1, 0x80), reason: /checksum mismatch/ },
  { name: 'a flipped byte in the structure', damage: (g) => flip(g, 0), reason: /not valid JSON/ },
  { name: 'null', damage: () => 'null', reason: /not a commit record \(the file holds null\)/ },
  { name: 'an array', damage: () => '[]', reason: /not a commit record \(the file holds an array\)/ },
  { name: 'missing keys', damage: () => '{"seq":2}', reason: /missing user, time, config/ },
  { name: 'a configuration that is not a tree', damage: () => JSON.stringify({ seq: 2, user: 'u', time: new Date().toISOString(), config: 5 }), reason: /invalid value: config is a number/ },
  { name: 'a configuration that is null', damage: () => JSON.stringify({ seq: 2, user: 'u', time: new Date().toISOString(), config: null }), reason: /invalid value: config is null/ },
  { name: 'a time that is not a time', damage: () => JSON.stringify({ seq: 2, user: 'u', time: 'yesterday', config: {} }), reason: /invalid value: time "yesterday"/ },
  { name: 'a number that is not the file name', damage: () => JSON.stringify({ seq: 7, user: 'u', time: new Date().toISOString(), config: {} }), reason: /invalid value: seq 7 does not match the file name \(2\)/ },
  { name: 'a user that is not a string', damage: () => JSON.stringify({ seq: 2, user: 42, time: new Date().toISOString(), config: {} }), reason: /invalid value: user 42 is not a string/ },
  { name: 'a bad confirm time', damage: () => JSON.stringify({ seq: 2, user: 'u', time: new Date().toISOString(), config: {}, confirmMinutes: -1 }), reason: /invalid value: confirmMinutes -1/ },
  { name: 'an unknown key', damage: () => JSON.stringify({ seq: 2, user: 'u', time: new Date().toISOString(), config: {}, sha257: 'x' }), reason: /unknown key sha257/ },
];

for (const c of CORRUPTIONS) {
  test(`a damaged newest commit (${c.name}) refuses the start, naming the file and the reason`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `cnr-hist-${process.pid}-`));
    try {
      const file = await twoCommits(dir);
      const damaged = c.damage(readFileSync(file));
      writeFileSync(file, damaged);
      assert.throws(
        () => new CommitHistory(dir).open(),
        (e: unknown) => {
          assert.ok(e instanceof CorruptHistoryError, `a named refusal, not ${String(e)}`);
          assert.equal(e.damaged.length, 1);
          assert.equal(e.damaged[0]!.file, 'commit-00000002.json');
          assert.match(e.damaged[0]!.reason, c.reason);
          assert.ok(e.message.includes(file), e.message);
          assert.match(e.message, /--recover-config/);
          return true;
        },
      );
      // the refusal touched nothing
      assert.deepEqual(readFileSync(file), Buffer.from(damaged));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('every single-bit flip anywhere in a commit file is refused, never read as another configuration', async () => {
  const dir = mkdtempSync(join(tmpdir(), `cnr-hist-${process.pid}-`));
  try {
    const file = await twoCommits(dir);
    const good = readFileSync(file);
    for (let at = 0; at < good.length; at++) {
      for (const mask of [0x01, 0x02, 0x20]) {
        writeFileSync(file, flip(good, at, mask));
        assert.throws(() => new CommitHistory(dir).open(), CorruptHistoryError, `byte ${at} ^ ${mask}: ${flip(good, at, mask).toString()}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('recovery moves the damaged file aside unchanged, runs the newest valid commit and never reuses its number', async () => {
  const dir = mkdtempSync(join(tmpdir(), `cnr-hist-${process.pid}-`));
  try {
    const file = await twoCommits(dir);
    writeFileSync(file, 'null');
    const h = new CommitHistory(dir);
    const recs = h.open({ recover: true });
    assert.deepEqual(recs.map((r) => r.seq), [1]);
    assert.equal(h.damaged.length, 1);
    const moved = join(dir, DAMAGED_DIR, 'commit-00000002.json');
    assert.equal(h.damaged[0]!.movedTo, moved);
    assert.equal(readFileSync(moved, 'utf8'), 'null', 'the evidence is kept as it was');
    assert.equal(existsSync(file), false);
    assert.equal(h.nextSeq(), 3);
    // a restart before any commit: the history is valid again, the number stays taken
    const again = new CommitHistory(dir);
    assert.deepEqual(again.open().map((r) => r.seq), [1]);
    assert.equal(again.nextSeq(), 3);
    // a second damaged file of the same name goes beside the first, not over it
    await again.append(rec(3, 'r3'));
    writeFileSync(join(dir, 'commit-00000002.json'), '{');
    const third = new CommitHistory(dir);
    third.open({ recover: true });
    assert.equal(third.damaged[0]!.movedTo, `${moved}.1`);
    assert.equal(readFileSync(moved, 'utf8'), 'null');
    assert.equal(readFileSync(`${moved}.1`, 'utf8'), '{');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a commit file written before checksums (no sha256) is still read', () => {
  const dir = mkdtempSync(join(tmpdir(), `cnr-hist-${process.pid}-`));
  try {
    writeFileSync(join(dir, 'commit-00000001.json'), JSON.stringify(rec(1, 'old')));
    const recs = new CommitHistory(dir).open();
    assert.equal((recs[0]!.config as any).system['host-name'], 'old');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a store refuses a damaged history; with recover it logs loudly and commits the startup file after the damaged numbers', async () => {
  const dir = mkdtempSync(join(tmpdir(), `cnr-hist-${process.pid}-`));
  try {
    await twoCommits(dir);
    writeFileSync(join(dir, 'commit-00000001.json'), '');
    writeFileSync(join(dir, 'commit-00000002.json'), '{"seq":2');
    const refused = new ConfigStore({ dir, consumers: [] });
    await assert.rejects(refused.open({ system: { 'host-name': 'startup' } }), CorruptHistoryError);
    assert.equal(readdirSync(dir).filter((f) => f.startsWith('commit-')).length, 2, 'nothing was committed');
    const logged: string[] = [];
    const store = new ConfigStore({ dir, consumers: [], recover: true, log: (m) => logged.push(m) });
    await store.open({ system: { 'host-name': 'startup' } });
    assert.equal(store.runningSeq, 3, 'commit 1 and 2 are taken by the damaged files');
    assert.equal((store.running as any).system['host-name'], 'startup');
    assert.equal(logged.filter((l) => /^WARNING: commit history: commit-0000000[12]\.json is damaged/.test(l)).length, 2, logged.join('\n'));
    assert.ok(logged.some((l) => /^WARNING: commit history recovered: running the startup configuration file/.test(l)), logged.join('\n'));
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stored configuration the checks refuse names its file', async () => {
  const dir = mkdtempSync(join(tmpdir(), `cnr-hist-${process.pid}-`));
  try {
    await twoCommits(dir);
    const picky = { name: 'picky', validate: (t: any) => (t.system?.['host-name'] === 'r2' ? ['host-name r2 is not allowed'] : []), apply: async () => {} };
    const store = new ConfigStore({ dir, consumers: [picky] });
    await assert.rejects(store.open(), (e: Error) => {
      assert.match(e.message, /picky: host-name r2 is not allowed/);
      assert.ok(e.message.includes(`stored configuration ${join(dir, 'commit-00000002.json')} is not valid`), e.message);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
