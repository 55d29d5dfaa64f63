/**
 * Candidate sessions are copy-on-write over the running configuration: an edit copies only
 * the nodes on its path. These tests check that no edit, commit, rebase or discard ever
 * reaches the running tree or a history record, on random edits against a plain deep copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigStore } from './store.js';
import { applyDelete, applySet } from './edit.js';
import type { ConfigTree } from '../types.js';

const words = (line: string) => line.split(' ');

function podLines(i: number): string[] {
  const g = `set groups cni-${i}`;
  return [
    `${g} interfaces cnr${i} mtu 1500`,
    `${g} interfaces cnr${i} unit 0 family inet address 10.0.${i}.1/32`,
    `${g} routing-instances blue instance-type vrf`,
    `${g} routing-instances blue interface cnr${i}`,
    `${g} routing-instances blue routing-options static route 10.0.${i}.2/32 qualified-next-hop 10.0.${i}.2 interface cnr${i}`,
    `set apply-groups cni-${i}`,
  ];
}

async function withStore(f: (store: ConfigStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `cnr-cow-${process.pid}-`));
  try {
    const store = new ConfigStore({ dir, consumers: [] });
    await store.open();
    await f(store);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function commitLines(store: ConfigStore, lines: string[]): Promise<void> {
  const s = store.session(true);
  for (const l of lines) {
    const [verb, ...rest] = words(l);
    if (verb === 'set') s.set(rest);
    else s.delete(rest);
  }
  await store.commit(s, { user: 't' });
}

test('edits and commits never change the running tree or history records; untouched subtrees are shared', async () => {
  await withStore(async (store) => {
    for (let i = 0; i < 20; i++) await commitLines(store, podLines(i));
    const snapshots = store.records().map((r) => JSON.stringify(r.config));
    const running = store.running;
    const before = JSON.stringify(running);
    // a session that edits deep inside shared subtrees, then is discarded
    const s = store.session(true);
    s.set(words('groups cni-3 interfaces cnr3 mtu 9000'));
    s.set(words('groups cni-4 routing-instances blue interface cnr-extra'));
    s.delete(words('groups cni-5 routing-instances blue interface cnr5'));
    s.delete(words('groups cni-6'));
    s.delete(words('apply-groups cni-7'));
    assert.equal(JSON.stringify(store.running), before, 'running unchanged by a session');
    const cand = s.candidate as Record<string, any>;
    assert.equal(cand.groups['cni-3'].interfaces.cnr3.mtu, 9000);
    assert.deepEqual(cand.groups['cni-4']['routing-instances'].blue.interface, ['cnr4', 'cnr-extra']);
    assert.equal(cand.groups['cni-6'], undefined);
    assert.ok(!cand['apply-groups'].includes('cni-7'));
    // untouched groups are the very same objects as running's
    assert.equal(cand.groups['cni-9'], (running as any).groups['cni-9']);
    s.reset();
    // a commit of another session: the old running and every record stay as they were
    await commitLines(store, ['delete groups cni-0', 'delete apply-groups cni-0', 'set groups cni-1 interfaces cnr1 mtu 1400']);
    assert.equal(JSON.stringify(running), before);
    assert.deepEqual(store.records().slice(0, snapshots.length).map((r) => JSON.stringify(r.config)), snapshots);
    assert.equal((store.running as any).groups['cni-1'].interfaces.cnr1.mtu, 1400);
    assert.equal((store.running as any).groups['cni-0'], undefined);
  });
});

test('random edits through sessions, with rebases, equal the same edits on deep copies', async () => {
  await withStore(async (store) => {
    let seed = 11;
    const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    const ops = (): string[] => {
      const out: string[] = [];
      for (let k = 0; k < 1 + rnd(4); k++) {
        const i = rnd(12);
        const r = rnd(6);
        if (r === 0) out.push(...podLines(i));
        else if (r === 1) out.push(`delete groups cni-${i}`, `delete apply-groups cni-${i}`);
        else if (r === 2) out.push(`set groups cni-${i} interfaces cnr${i} mtu ${1280 + rnd(8000)}`);
        else if (r === 3) out.push(`set groups cni-${i} routing-instances blue interface x${rnd(5)}`);
        else if (r === 4) out.push(`delete groups cni-${i} routing-instances blue interface cnr${i}`);
        else out.push(`set system host-name h${rnd(100)}`);
      }
      return out;
    };
    /** the reference: the edit functions on a deep copy; `kept` gets the lines that changed something */
    const onCopy = (tree: ConfigTree, lines: string[], kept: string[] = []): ConfigTree => {
      const t = structuredClone(tree);
      for (const l of lines) {
        const [verb, ...rest] = words(l);
        try {
          if (verb === 'set') applySet(t, rest);
          else if (!applyDelete(t, rest)) continue;
          kept.push(l);
        } catch {
          // refused by the schema: refused by the session too
        }
      }
      return t;
    };
    const inSession = (lines: string[]) => {
      const s = store.session(true);
      for (const l of lines) {
        const [verb, ...rest] = words(l);
        try {
          if (verb === 'set') s.set(rest);
          else s.delete(rest);
        } catch {
          // as above
        }
      }
      return s;
    };
    let committed = 0;
    for (let round = 0; round < 80; round++) {
      const opsA = ops();
      const opsB = ops();
      const base = store.running;
      const baseText = JSON.stringify(base);
      const a = inSession(opsA);
      const b = inSession(opsB);
      assert.equal(JSON.stringify(a.candidate), JSON.stringify(onCopy(base, opsA)), `round ${round}: a`);
      const effectiveB: string[] = [];
      assert.equal(JSON.stringify(b.candidate), JSON.stringify(onCopy(base, opsB, effectiveB)), `round ${round}: b`);
      try {
        await store.commit(a, { user: 't' });
        committed++;
      } catch {
        b.reset();
        continue; // an invalid result (apply-groups without its group): nothing committed
      }
      assert.equal(JSON.stringify(base), baseText, `round ${round}: the previous running changed`);
      // b is rebased onto a's commit: the edits it made (a delete of nothing is no edit) replayed there
      assert.equal(JSON.stringify(b.candidate), JSON.stringify(onCopy(store.running, effectiveB)), `round ${round}: rebased b`);
      b.reset();
    }
    assert.ok(committed > 20, `${committed} commits`);
  });
});
