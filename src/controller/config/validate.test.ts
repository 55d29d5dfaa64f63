/**
 * The whole-tree checks that live only here: the tables a `routing-options` may hold, the
 * static routes of each, and an interface claimed by two routing instances. Trees are
 * written as objects on purpose for the cases the schema would refuse first (a stored
 * commit is checked without the schema).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSet } from './notation-set.js';
import { validateTree } from './validate.js';
import type { ConfigTree } from '../types.js';

const check = (t: ConfigTree) => validateTree(t, t);

test('tables: inet.0 and inet6.0 in the default instance, only NAME.inet6.0 in a routing instance', () => {
  const ok = loadSet(`
set routing-options rib inet6.0 static route 2001:db8::/32 discard
set routing-options rib inet.0 static route 10.0.0.0/8 discard
set routing-instances blue routing-options rib blue.inet6.0 static route 2001:db8::/32 discard
`);
  assert.deepEqual(check(ok), []);
  const bad = loadSet(`
set routing-options rib blue.inet6.0 static route 2001:db8::/32 discard
set routing-instances blue routing-options rib blue.inet.0 static route 10.0.0.0/8 discard
set routing-instances blue routing-options rib red.inet6.0 static route 2001:db8::/32 discard
`);
  assert.deepEqual(check(bad), [
    'routing-options rib blue.inet6.0: unknown table here (use inet.0 or inet6.0)',
    'routing-instances blue routing-options rib blue.inet.0: unknown table here (use blue.inet6.0)',
    'routing-instances blue routing-options rib red.inet6.0: unknown table here (use blue.inet6.0)',
  ]);
});

test('inet.0 static routes: in either container, one route in one place only', () => {
  const both = loadSet(`
set routing-options static route 10.1.0.0/16 discard
set routing-options rib inet.0 static route 10.2.0.0/16 discard
set routing-options rib inet.0 static route 10.1.0.0/16 reject
`);
  assert.deepEqual(check(both), [
    'routing-options rib inet.0 static route 10.1.0.0/16: already configured under routing-options static route 10.1.0.0/16',
  ]);
});

test('static routes: every rule, with the path of the route and the table it is in', () => {
  const t = loadSet(`
set routing-options static route 10.1.0.0/16 discard
set routing-options static route 10.1.0.0/16 reject
set routing-options static route 10.2.0.0/16 receive
set routing-options static route 10.2.0.0/16 qualified-next-hop 192.0.2.1
set routing-options static route 10.3.0.0/16 preference 7
set routing-options rib inet6.0 static route 2001:db8::/32 next-hop 2001:db8::1
set routing-options rib inet6.0 static route 2001:db8::/32 next-hop 192.0.2.1
set routing-instances blue routing-options static route 2001:db8:1::/48 discard
`);
  assert.deepEqual(check(t), [
    'routing-options static route 10.1.0.0/16: discard and reject exclude each other',
    'routing-options static route 10.2.0.0/16: receive and next hops exclude each other',
    'routing-options static route 10.3.0.0/16: needs next-hop, qualified-next-hop, discard, reject or receive',
    'routing-options rib inet6.0 static route 2001:db8::/32: next hop 192.0.2.1 is not IPv6',
    'routing-instances blue routing-options static route 2001:db8:1::/48: an IPv6 prefix does not belong in blue.inet.0 (put it under rib blue.inet6.0)',
  ]);
});

test('static routes of a tree that did not come through the schema: a bad prefix or next hop is named', () => {
  const t: ConfigTree = {
    'routing-options': { static: { route: { '10.0.0.0/33': { discard: true }, '10.4.0.0/16': { 'next-hop': ['192.0.2.300'] } } } },
  };
  const errors = check(t);
  assert.equal(errors.length, 2, errors.join('\n'));
  assert.match(errors[0]!, /^routing-options static route 10\.0\.0\.0\/33: .+/);
  assert.match(errors[1]!, /^routing-options static route 10\.4\.0\.0\/16: .*192\.0\.2\.300/);
});

test('an interface in two routing instances is refused once, whether written pod1 or pod1.0', () => {
  const t = loadSet(`
set routing-instances a interface pod1
set routing-instances b interface pod1.0
set routing-instances c interface pod2
`);
  assert.deepEqual(check(t), ['routing-instances b interface pod1.0: already in routing instance a']);
});
