import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommitHistory, type CommitRecord, type WriteStep } from './history.js';
import { ConfigStore } from './store.js';

const STEPS: WriteStep[] = ['temp-partial', 'temp-written', 'temp-synced', 'renamed', 'dir-synced'];

function rec(seq: number, host: string): CommitRecord {
  return { seq, user: 'u', time: new Date().toISOString(), config: { system: { 'host-name': host } } };
}

class Crash extends Error {}

test('a crash at any step of a history write leaves the old or the new configuration, never a torn one', () => {
  for (const at of STEPS) {
    const dir = mkdtempSync(join(tmpdir(), `cnr-hist-${process.pid}-`));
    try {
      const h = new CommitHistory(dir);
      h.open();
      h.append(rec(1, 'old'));
      const crashing = new CommitHistory(dir, {
        onStep: (s) => {
          if (s === at) throw new Crash(at);
        },
      });
      crashing.open();
      assert.throws(() => crashing.append(rec(2, 'new')), Crash);
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

test('a torn temporary file from a crash mid-write is ignored and removed', () => {
  const dir = mkdtempSync(join(tmpdir(), `cnr-hist-${process.pid}-`));
  try {
    const h = new CommitHistory(dir);
    h.open();
    h.append(rec(1, 'old'));
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
