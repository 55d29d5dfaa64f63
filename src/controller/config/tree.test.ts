/**
 * The tree readers: what counts as a subtree, a leaf-list and a leaf, and that an absent or
 * misshapen statement reads as empty instead of throwing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { childOf, isFlagSet, isRecord, isTree, leafNumber, leafString, netdevOf, stringList, subtree, subtreeAt } from './tree.js';
import type { ConfigTree } from '../types.js';

const cfg: ConfigTree = {
  system: { 'host-name': 'r1', services: { rest: { port: 8080 } } },
  'routing-options': { static: { route: { '10.0.0.0/8': { 'next-hop': ['192.0.2.1', '192.0.2.2'], discard: true, preference: 7 } } } },
  'routing-instances': { blue: { interface: 'pod0' } },
};

test('isTree and isRecord: only a JSON object is a subtree', () => {
  for (const v of [{}, { a: 1 }, cfg.system]) {
    assert.equal(isTree(v), true);
    assert.equal(isRecord(v), true);
  }
  for (const v of [undefined, null, 'x', 0, 7, true, false, [], ['a'], () => 1]) {
    assert.equal(isTree(v), false, String(v));
    assert.equal(isRecord(v), false, String(v));
  }
});

test('subtree: the subtree itself (not a copy), or an empty one for anything else', () => {
  const sys = cfg.system;
  assert.equal(subtree(sys), sys);
  assert.deepEqual(subtree(undefined), {});
  assert.deepEqual(subtree('r1'), {});
  assert.deepEqual(subtree(['a']), {});
  assert.deepEqual(subtree(null), {});
  // an empty result is a fresh object each time: writing into it cannot leak between callers
  const a = subtree(undefined);
  a['x'] = 'y';
  assert.deepEqual(subtree(undefined), {});
});

test('subtreeAt: follows a path, undefined as soon as a step is absent or a leaf', () => {
  assert.deepEqual(subtreeAt(cfg, 'system', 'services', 'rest'), { port: 8080 });
  assert.equal(subtreeAt(cfg, 'system', 'services', 'ssh'), undefined);
  assert.equal(subtreeAt(cfg, 'system', 'host-name'), undefined, 'a leaf is not a subtree');
  assert.equal(subtreeAt(cfg, 'system', 'host-name', 'x'), undefined, 'nor is anything below a leaf');
  assert.equal(subtreeAt(cfg), cfg, 'the empty path is the root');
  assert.equal(subtreeAt('r1'), undefined);
});

test('childOf: a value below a subtree, undefined below a leaf', () => {
  assert.equal(childOf(cfg.system, 'host-name'), 'r1');
  assert.equal(childOf(cfg.system, 'domain-name'), undefined);
  assert.equal(childOf('r1', 'length'), undefined, 'a string is not looked into');
  assert.equal(childOf(['a'], '0'), undefined, 'nor is a leaf-list');
});

test('stringList: a leaf-list, a single value as a list of one, anything else empty', () => {
  const route = subtree(subtree(subtree(subtree(cfg['routing-options']).static).route)['10.0.0.0/8']);
  assert.deepEqual(stringList(route['next-hop']), ['192.0.2.1', '192.0.2.2']);
  assert.deepEqual(stringList(subtreeAt(cfg, 'routing-instances', 'blue')?.['interface']), ['pod0']);
  assert.deepEqual(stringList(undefined), []);
  assert.deepEqual(stringList(true), []);
  assert.deepEqual(stringList({ a: 'b' }), []);
  assert.deepEqual(stringList([1, 'x']), ['1', 'x'], 'items of a tree from elsewhere are read as text');
  const list = ['a'];
  assert.notEqual(stringList(list), list, 'a copy: the caller may change it without changing the tree');
});

test('leaf readers: string, number, flag', () => {
  assert.equal(leafString('r1'), 'r1');
  assert.equal(leafString(''), '');
  assert.equal(leafString(7), undefined);
  assert.equal(leafString(['r1']), undefined);
  assert.equal(leafNumber(7), 7);
  assert.equal(leafNumber(0), 0);
  assert.equal(leafNumber('42'), 42, 'decimal digits from a tree that did not come through the schema');
  assert.equal(leafNumber('4x'), undefined);
  assert.equal(leafNumber('-1'), undefined);
  assert.equal(leafNumber(''), undefined);
  assert.equal(leafNumber(true), undefined);
  assert.equal(isFlagSet(true), true);
  for (const v of [false, undefined, 'true', 1, {}, []]) assert.equal(isFlagSet(v), false, String(v));
});

test('netdevOf: unit 0 written Junos-style names the netdev itself; other names are kept', () => {
  assert.equal(netdevOf('pod1.0'), 'pod1');
  assert.equal(netdevOf('pod1'), 'pod1');
  assert.equal(netdevOf('eth1.10'), 'eth1.10', 'a unit other than 0 is not folded');
  assert.equal(netdevOf('eth1.0.0'), 'eth1.0', 'only the last .0');
});
