/**
 * Several leaves and flags of one statement on one `set` line, as Junos takes them
 * (`... bfd-liveness-detection minimum-interval 100 multiplier 3`): every notation that goes
 * through edit.ts's applySet, and the candidate store, accept them; a bad word in the chain
 * refuses the whole line with its line number, changing nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSet, printSet } from './notation-set.js';
import { resolveMany } from './edit.js';
import { ConfigError } from './tokens.js';

test('one set line carries several leaves of one container', () => {
  const t = loadSet('set protocols bgp group G bfd-liveness-detection minimum-interval 100 multiplier 3\n');
  assert.deepEqual(t, { protocols: { bgp: { group: { G: { 'bfd-liveness-detection': { 'minimum-interval': 100, multiplier: 3 } } } } } });
  // printed back one leaf per line, which reads back to the same tree
  const text = printSet(t);
  assert.equal(text, 'set protocols bgp group G bfd-liveness-detection minimum-interval 100\nset protocols bgp group G bfd-liveness-detection multiplier 3\n');
  assert.deepEqual(loadSet(text), t);
});

test('leaves and flags of a list entry chain after its key, and after each other', () => {
  const t = loadSet('set protocols bgp group G neighbor 10.0.0.2 peer-as 65001 passive hold-time 30 description "to r2"\n');
  assert.deepEqual(t, { protocols: { bgp: { group: { G: { neighbor: { '10.0.0.2': { 'peer-as': 65001, passive: true, 'hold-time': 30, description: 'to r2' } } } } } } });
  const s = loadSet('set routing-options static route 192.0.2.0/24 next-hop 10.0.0.2\nset routing-options static route 192.0.2.0/24 bfd-liveness-detection minimum-interval 100 multiplier 4 session-mode single-hop\n');
  assert.deepEqual((s['routing-options'] as never)['static']['route']['192.0.2.0/24']['bfd-liveness-detection'], { 'minimum-interval': 100, multiplier: 4, 'session-mode': 'single-hop' });
  // the statements a line holds, each with its full path
  assert.deepEqual(resolveMany(['protocols', 'bgp', 'bfd-liveness-detection', 'minimum-interval', '300', 'multiplier', '5']).map((r) => [r.path.join(' '), r.values]), [
    ['protocols bgp bfd-liveness-detection minimum-interval', [300]],
    ['protocols bgp bfd-liveness-detection multiplier', [5]],
  ]);
});

test("a leaf-list's values run up to the next statement's keyword (the issue's static route form)", () => {
  const t = loadSet('set routing-options static route 192.0.2.0/24 next-hop 10.0.0.2 bfd-liveness-detection minimum-interval 100\n');
  assert.deepEqual((t['routing-options'] as never)['static']['route']['192.0.2.0/24'], { 'next-hop': ['10.0.0.2'], 'bfd-liveness-detection': { 'minimum-interval': 100 } });
  const g = loadSet('set protocols bgp group G import A B export C\n');
  assert.deepEqual((g['protocols'] as never)['bgp']['group']['G'], { import: ['A', 'B'], export: ['C'] });
  // without a following keyword, every word is a value, as before
  const n = loadSet('set routing-options static route 192.0.2.0/24 next-hop 10.0.0.2 10.0.0.3\n');
  assert.deepEqual((n['routing-options'] as never)['static']['route']['192.0.2.0/24']['next-hop'], ['10.0.0.2', '10.0.0.3']);
});

test('a bad word in the chain refuses the whole line with its number and reason, nothing applied', () => {
  const base = loadSet('set system host-name r1\n');
  assert.throws(
    () => loadSet('set system host-name r1\nset protocols bgp group G bfd-liveness-detection minimum-interval 100 multiplier 0\n', base),
    (e: unknown) => e instanceof ConfigError && e.line === 2 && /multiplier/.test(e.message),
  );
  assert.throws(
    () => loadSet('set protocols bgp group G bfd-liveness-detection minimum-interval 100 bogus 3\n'),
    (e: unknown) => e instanceof ConfigError && e.line === 1 && /syntax error at 'bogus'.*minimum-interval takes one value; what follows it must be one of: minimum-interval/.test(e.message),
  );
  // a leaf of another container does not chain (Junos takes siblings only)
  assert.throws(() => loadSet('set protocols bgp group G bfd-liveness-detection minimum-interval 100 peer-as 65001\n'), ConfigError);
  assert.deepEqual(base, { system: { 'host-name': 'r1' } });
});
