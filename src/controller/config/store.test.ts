import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigStore, CommitError } from './store.js';
import type { ConfigConsumer, ConfigTree } from '../types.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), `cnr-store-${process.pid}-`));
}

/** A consumer that records what it is given and can be told to fail. */
class Recorder implements ConfigConsumer {
  calls: Array<{ next: ConfigTree; prev: ConfigTree }> = [];
  failNext = false;
  errors: string[] = [];
  active = 0;
  maxActive = 0;
  constructor(readonly name: string, private readonly delayMs = 0) {}
  validate(): string[] {
    return this.errors;
  }
  async apply(next: ConfigTree, prev: ConfigTree): Promise<void> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    this.active--;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('cannot program that');
    }
    this.calls.push({ next: structuredClone(next), prev: structuredClone(prev) });
  }
  get last(): ConfigTree | undefined {
    return this.calls.at(-1)?.next;
  }
}

async function setup(dir = tmp(), consumers: ConfigConsumer[] = [], confirmUnitMs?: number) {
  const store = new ConfigStore(confirmUnitMs === undefined ? { dir, consumers } : { dir, consumers, confirmUnitMs });
  await store.open();
  return store;
}

async function commitSet(store: ConfigStore, lines: string[][], comment?: string) {
  const s = store.session(true);
  for (const l of lines) s.set(l);
  return store.commit(s, comment ? { user: 'alice', comment } : { user: 'alice' });
}

test('commit validates, applies (next, prev) to each consumer, records user, time and comment', async () => {
  const dir = tmp();
  try {
    const rec = new Recorder('rib');
    const store = await setup(dir, [rec]);
    await commitSet(store, [['system', 'host-name', 'r1']], 'first');
    await commitSet(store, [['system', 'host-name', 'r2']]);
    assert.deepEqual(rec.calls.map((c) => [c.prev, c.next]), [
      [{}, { system: { 'host-name': 'r1' } }],
      [{ system: { 'host-name': 'r1' } }, { system: { 'host-name': 'r2' } }],
    ]);
    const h = store.records();
    assert.equal(h.length, 2);
    assert.equal(h[0]!.user, 'alice');
    assert.equal(h[0]!.comment, 'first');
    assert.ok(Date.now() - Date.parse(h[1]!.time) < 60_000);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an invalid commit changes nothing: no apply, no history, running kept', async () => {
  const dir = tmp();
  try {
    const rec = new Recorder('rib');
    const store = await setup(dir, [rec]);
    await commitSet(store, [['system', 'host-name', 'r1']]);
    const s = store.session(true);
    s.set(['routing-options', 'static', 'route', '10.0.0.0/8']); // no next hop
    s.set(['protocols', 'bgp', 'group', 'g', 'import', 'nope']);
    await assert.rejects(store.commit(s, { user: 'a' }), (e: unknown) => {
      assert.ok(e instanceof CommitError);
      assert.match(e.message, /routing-options static route 10.0.0.0\/8: needs next-hop/);
      assert.match(e.message, /protocols bgp group g import: policy-statement 'nope' is not defined/);
      return true;
    });
    rec.errors = ['protocols bgp: refused by consumer'];
    const s2 = store.session(true);
    s2.set(['system', 'host-name', 'r9']);
    await assert.rejects(store.commit(s2, { user: 'a' }), /rib: protocols bgp: refused by consumer/);
    assert.equal(rec.calls.length, 1);
    assert.equal(store.records().length, 1);
    assert.deepEqual(store.running, { system: { 'host-name': 'r1' } });
    rec.errors = [];
    assert.equal((await store.commit(s2, { user: 'a', check: true })).text, 'configuration check succeeds');
    assert.equal(store.records().length, 1, 'commit check does not commit');
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an apply failure restores the previous configuration in the consumers already changed', async () => {
  const dir = tmp();
  try {
    const a = new Recorder('a');
    const b = new Recorder('b');
    const store = await setup(dir, [a, b]);
    await commitSet(store, [['system', 'host-name', 'r1']]);
    b.failNext = true;
    await assert.rejects(commitSet(store, [['system', 'host-name', 'r2']]), /b: cannot program that[\s\S]*previous configuration restored/);
    // a got r2 then r1 back; b failed on r2 and was given r1 back
    assert.deepEqual(a.calls.map((c) => (c.next as any).system['host-name']), ['r1', 'r2', 'r1']);
    assert.deepEqual(b.calls.map((c) => (c.next as any).system['host-name']), ['r1', 'r1']);
    assert.deepEqual(store.running, { system: { 'host-name': 'r1' } });
    assert.equal(store.records().length, 1);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rollback N loads commit N into the candidate; compare shows the difference Junos style', async () => {
  const dir = tmp();
  try {
    const store = await setup(dir);
    await commitSet(store, [['system', 'host-name', 'r1'], ['interfaces', 'eth1', 'unit', '0', 'family', 'inet', 'address', '10.0.0.1/24']]);
    await commitSet(store, [['system', 'host-name', 'r2']]);
    await commitSet(store, [['interfaces', 'eth1', 'mtu', '9000']]);
    const s = store.session(true);
    s.replace(store.rollbackTree(2));
    assert.equal(store.compare(s), '[edit system]\n-   host-name r2;\n+   host-name r1;\n[edit interfaces eth1]\n-   mtu 9000;\n');
    await store.commit(s, { user: 'bob', comment: 'rollback 2' });
    assert.deepEqual(store.running, store.records()[0]!.config);
    assert.throws(() => store.rollbackTree(99), /no such commit/);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('configuration survives a restart and is applied again at open', async () => {
  const dir = tmp();
  try {
    const store = await setup(dir);
    await commitSet(store, [['system', 'host-name', 'r1']]);
    await commitSet(store, [['routing-options', 'router-id', '10.0.0.1']]);
    store.close();
    const rec = new Recorder('rib');
    const again = await setup(dir, [rec]);
    assert.deepEqual(again.running, { system: { 'host-name': 'r1' }, 'routing-options': { 'router-id': '10.0.0.1' } });
    assert.deepEqual(rec.calls, [{ next: again.running, prev: {} }]);
    assert.equal(again.records().length, 2);
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((res) => setTimeout(res, 10));
  return cond();
}

test('commit confirmed rolls back by itself unless another commit confirms it', async () => {
  const dir = tmp();
  try {
    const rec = new Recorder('rib');
    const store = await setup(dir, [rec], 40); // a "minute" of 40 ms
    await commitSet(store, [['system', 'host-name', 'good']]);
    const s = store.session(true);
    s.set(['system', 'host-name', 'risky']);
    const t0 = Date.now();
    const r = await store.commit(s, { user: 'a', confirmMinutes: 2 });
    assert.match(r.text, /rolled back in 2 minutes unless confirmed/);
    assert.equal((store.running as any).system['host-name'], 'risky');
    assert.ok(await until(() => (store.running as any).system['host-name'] === 'good', 10_000), 'rolled back');
    assert.ok(Date.now() - t0 >= 75, 'not before its time');
    assert.equal(rec.last && (rec.last as any).system['host-name'], 'good');
    assert.match(store.records().at(-1)!.comment!, /was not confirmed/);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a commit within the time confirms a commit confirmed', async () => {
  const dir = tmp();
  try {
    const store = await setup(dir, [], 300); // 2 "minutes" = 600 ms to confirm
    await commitSet(store, [['system', 'host-name', 'good']]);
    const s = store.session(true);
    s.set(['system', 'host-name', 'risky']);
    await store.commit(s, { user: 'a', confirmMinutes: 2 });
    await store.commit(store.session(true), { user: 'a', comment: 'confirm' });
    await new Promise((res) => setTimeout(res, 900));
    assert.equal((store.running as any).system['host-name'], 'risky', 'confirmed by the second commit');
    assert.equal(store.records().length, 3);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a long commit confirmed (40000 minutes, past setTimeout\'s 2^31-1 ms) waits instead of rolling back at once', async () => {
  const dir = tmp();
  try {
    const store = await setup(dir); // real minutes: 40000 of them is 2.4e9 ms
    await commitSet(store, [['system', 'host-name', 'good']]);
    const s = store.session(true);
    s.set(['system', 'host-name', 'risky']);
    const r = await store.commit(s, { user: 'a', confirmMinutes: 40000 });
    assert.match(r.text, /40000 minutes/);
    await new Promise((res) => setTimeout(res, 1000));
    assert.equal((store.running as any).system['host-name'], 'risky', 'still waiting for confirmation');
    const p = store.pendingConfirm();
    assert.ok(p && p.deadline - Date.now() > 2 ** 31, 'the deadline is 40000 minutes away');
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('confirmSeconds counts seconds; a confirmed commit on a pending one rolls both back to before the first', async () => {
  const dir = tmp();
  try {
    const store = await setup(dir);
    await commitSet(store, [['system', 'host-name', 'good']]);
    const s = store.session(true);
    s.set(['system', 'host-name', 'risky']);
    const r = await store.commit(s, { user: 'a', confirmSeconds: 30 });
    assert.match(r.text, /30 seconds/);
    s.set(['system', 'domain-name', 'lab.example']);
    const t0 = Date.now();
    await store.commit(s, { user: 'a', confirmSeconds: 1 });
    assert.ok(await until(() => (store.running as any).system['host-name'] === 'good', 5000), 'rolled back after one second');
    assert.ok(Date.now() - t0 >= 900, 'not before its second');
    assert.equal((store.running as any).system['domain-name'], undefined, 'both confirmed commits undone');
    assert.equal(store.pendingConfirm(), undefined);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a confirmed commit still pending at restart is rolled back at open', async () => {
  const dir = tmp();
  try {
    const store = await setup(dir);
    await commitSet(store, [['system', 'host-name', 'good']]);
    const s = store.session(true);
    s.set(['system', 'host-name', 'risky']);
    await store.commit(s, { user: 'a', confirmMinutes: 10 });
    store.close(); // "crash" before confirming
    const again = await setup(dir);
    assert.equal((again.running as any).system['host-name'], 'good');
    assert.equal(again.records().length, 3);
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('private sessions: each edits its own candidate; a commit applies its changes on top of the latest running', async () => {
  const dir = tmp();
  try {
    const store = await setup(dir);
    const a = store.session(true);
    const b = store.session(true);
    a.set(['system', 'host-name', 'from-a']);
    b.set(['interfaces', 'eth1', 'mtu', '1500']);
    assert.deepEqual(b.candidate, { interfaces: { eth1: { mtu: 1500 } } }, 'b does not see a');
    await store.commit(a, { user: 'a' });
    await store.commit(b, { user: 'b' });
    assert.deepEqual(store.running, { system: { 'host-name': 'from-a' }, interfaces: { eth1: { mtu: 1500 } } });
    // the shared candidate is rebased onto commits made elsewhere
    const shared = store.session(false);
    assert.equal(store.session(false), shared);
    shared.delete(['interfaces', 'eth1']);
    const c = store.session(true);
    c.set(['routing-options', 'router-id', '1.1.1.1']);
    await store.commit(c, { user: 'c' });
    assert.deepEqual(shared.candidate, { system: { 'host-name': 'from-a' }, 'routing-options': { 'router-id': '1.1.1.1' } });
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('commits are serialized: applies never overlap', async () => {
  const dir = tmp();
  try {
    const slow = new Recorder('slow', 20);
    const store = await setup(dir, [slow]);
    await Promise.all([1, 2, 3, 4].map((i) => commitSet(store, [['interfaces', `eth${i}`, 'mtu', '1500']])));
    assert.equal(slow.maxActive, 1);
    assert.equal(Object.keys((store.running as any).interfaces).length, 4, 'every session kept its change');
    assert.deepEqual(store.records().map((r) => r.seq), [1, 2, 3, 4]);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('groups: consumers see the effective tree; local statements win; leaf-lists unite; missing groups refused', async () => {
  const dir = tmp();
  try {
    const rec = new Recorder('rib');
    const store = await setup(dir, [rec]);
    await commitSet(store, [
      ['routing-instances', 'blue', 'instance-type', 'vrf'],
      ['routing-instances', 'blue', 'interface', 'pod0'],
      ['system', 'host-name', 'local'],
      ['groups', 'pod1', 'routing-instances', 'blue', 'interface', 'pod1'],
      ['groups', 'pod1', 'interfaces', 'pod1', 'unit', '0', 'family', 'inet', 'address', '10.1.0.1/24'],
      ['groups', 'pod1', 'system', 'host-name', 'from-group'],
      ['groups', 'pod2', 'routing-instances', 'blue', 'interface', 'pod2'],
      ['apply-groups', 'pod1'],
      ['apply-groups', 'pod2'],
    ]);
    const eff = rec.last as any;
    assert.deepEqual(eff['routing-instances'].blue.interface, ['pod0', 'pod1', 'pod2']);
    assert.equal(eff.system['host-name'], 'local');
    assert.deepEqual(Object.keys(eff.interfaces), ['pod1']);
    assert.equal(eff.groups, undefined);
    assert.equal(eff['apply-groups'], undefined);
    assert.ok((store.running as any).groups.pod1, 'the written tree keeps its groups');
    const s = store.session(true);
    s.set(['apply-groups', 'ghost']);
    await assert.rejects(store.commit(s, { user: 'a' }), /apply-groups: group 'ghost' is not defined/);
    // deleting a pod's group removes everything it brought
    const d = store.session(true);
    d.delete(['groups', 'pod1']);
    d.delete(['apply-groups', 'pod1']);
    await store.commit(d, { user: 'a' });
    assert.deepEqual((rec.last as any)['routing-instances'].blue.interface, ['pod0', 'pod2']);
    assert.equal((rec.last as any).interfaces, undefined);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cross-reference checks: interface in two instances, undefined filter, family of static routes', async () => {
  const dir = tmp();
  try {
    const store = await setup(dir);
    const s = store.session(true);
    s.set(['routing-instances', 'a', 'interface', 'x1']);
    s.set(['routing-instances', 'b', 'interface', 'x1']);
    s.set(['interfaces', 'x1', 'unit', '0', 'family', 'inet', 'filter', 'input', 'nofilter']);
    s.set(['routing-options', 'static', 'route', '2001:db8::/32', 'discard']);
    s.set(['routing-options', 'rib', 'inet6.0', 'static', 'route', '2001:db8::/32', 'next-hop', '10.0.0.1']);
    s.set(['policy-options', 'policy-statement', 'p', 'term', 't', 'from', 'route-filter', '10.0.0.0/8', 'exact']);
    s.set(['policy-options', 'policy-statement', 'p', 'term', 't', 'from', 'route-filter', '10.0.0.0/8', 'orlonger']);
    const errs = store.validate(s.candidate);
    assert.ok(errs.some((e) => /routing-instances b interface x1: already in routing instance a/.test(e)), errs.join('\n'));
    assert.ok(errs.some((e) => /filter input: firewall family inet filter 'nofilter' is not defined/.test(e)));
    assert.ok(errs.some((e) => /routing-options static route 2001:db8::\/32: an IPv6 prefix does not belong in inet\.0 \(put it under rib inet6\.0\)/.test(e)));
    assert.ok(errs.some((e) => /rib inet6.0 static route 2001:db8::\/32: next hop 10.0.0.1 is not IPv6/.test(e)));
    assert.ok(errs.some((e) => /route-filter 10.0.0.0\/8: needs exactly one of/.test(e)));
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('history keeps at most 50 commits on disk', async () => {
  const dir = tmp();
  try {
    const store = await setup(dir);
    for (let i = 0; i < 53; i++) await commitSet(store, [['system', 'host-name', `r${i}`]]);
    assert.equal(store.records().length, 50);
    assert.equal(readdirSync(dir).filter((f) => f.startsWith('commit-')).length, 50);
    assert.equal((store.rollbackTree(49) as any).system['host-name'], 'r3');
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('onApplied: told after every consumer applied the commit and before its record is written; not for a refused commit; unsubscribes', async () => {
  const dir = tmp();
  try {
    const rec = new Recorder('rib');
    const store = await setup(dir, [rec]);
    const told: { comment: string | undefined; user: string; applied: number; records: number }[] = [];
    const records = () => readdirSync(join(dir)).filter((f) => !f.startsWith('.')).length;
    const before = records();
    const off = store.onApplied((o) => told.push({ comment: o.comment, user: o.user, applied: rec.calls.length, records: records() }));
    await commitSet(store, [['system', 'host-name', 'r1']], 'first');
    assert.deepEqual(told, [{ comment: 'first', user: 'alice', applied: 1, records: before }]);
    assert.equal(records(), before + 1, 'the record is written after the listener was told');
    rec.errors = ['no'];
    await assert.rejects(commitSet(store, [['system', 'host-name', 'r2']]), CommitError);
    assert.equal(told.length, 1, 'a refused commit is not announced');
    rec.errors = [];
    off();
    await commitSet(store, [['system', 'host-name', 'r3']]);
    assert.equal(told.length, 1, 'unsubscribed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
