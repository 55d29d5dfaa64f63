import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressKey, comparePaths, selectBest, type PathFacts } from './best-path.js';
import type { PathAttributes } from '../../../wire/bgp/attributes.js';

function path(attrs: PathAttributes, x: Partial<PathFacts> = {}): PathFacts {
  return { attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }], ...attrs }, ebgp: true, peerRouterId: 1, peerKey: addressKey('10.0.0.1'), pathId: 0, resolvable: true, igpCost: 0, ...x };
}

test('each step of the chain decides in order', () => {
  const cases: [PathFacts, PathFacts, string][] = [
    [path({}), path({}, { resolvable: false }), 'Next hop unresolvable'],
    [path({ localPref: 200 }), path({ localPref: 100, asPath: [] }), 'Local preference'],
    [path({}), path({ asPath: [{ type: 2, asns: [65001, 65002] }], origin: 0 }), 'AS path length'],
    [path({ origin: 0 }), path({ origin: 1, med: 0 }), 'Origin'],
    [path({ med: 5 }), path({ med: 10 }, { ebgp: true }), 'MED'],
    [path({}, { ebgp: true }), path({}, { ebgp: false }), 'eBGP over iBGP'],
    [path({}, { igpCost: 1 }), path({}, { igpCost: 10 }), 'IGP cost'],
    [path({}, { peerRouterId: 1 }), path({}, { peerRouterId: 2 }), 'Router ID'],
    [path({ originatorId: '1.1.1.1' }, { peerRouterId: 9 }), path({}, { peerRouterId: 0x02020202 }), 'Router ID'],
    [path({ clusterList: ['1.1.1.1'] }), path({ clusterList: ['1.1.1.1', '2.2.2.2'] }), 'Cluster list length'],
    [path({}, { peerKey: addressKey('10.0.0.1') }), path({}, { peerKey: addressKey('10.0.0.10') }), 'Peer address'],
  ];
  for (const [a, b, step] of cases) {
    const c = comparePaths(a, b);
    assert.ok(c.order < 0, `${step}: a should win`);
    assert.equal(c.step, step);
    assert.ok(comparePaths(b, a).order > 0, `${step}: antisymmetric`);
  }
});

test('MED is compared only between paths from the same neighbouring AS', () => {
  const a = path({ med: 50, asPath: [{ type: 2, asns: [65001] }] }, { peerRouterId: 2 });
  const b = path({ med: 10, asPath: [{ type: 2, asns: [65002] }] }, { peerRouterId: 1 });
  assert.equal(comparePaths(a, b).step, 'Router ID');
  assert.equal(comparePaths(a, b, { alwaysCompareMed: true }).step, 'MED');
});

test('selectBest records the deciding step against the runner-up and builds multipath sets', () => {
  const a = path({}, { peerRouterId: 3, peerKey: addressKey('10.0.0.3') });
  const b = path({}, { peerRouterId: 1, peerKey: addressKey('10.0.0.1') });
  const c = path({ localPref: 50 });
  const d = path({ asPath: [{ type: 2, asns: [65009] }] }, { peerRouterId: 4 });
  const s = selectBest([a, b, c, d], { multipath: true });
  assert.equal(s.best, b);
  assert.equal(s.step, 'Router ID');
  assert.deepEqual(s.multipath, [b, a], 'same neighbour AS only');
  assert.deepEqual(selectBest([a, b, c, d], { multipath: true, multipleAs: true }).multipath, [b, a, d]);
  assert.equal(selectBest([c]).step, 'Only path');
  assert.equal(selectBest([path({}, { resolvable: false })]).best, undefined);
});

test('addressKey orders addresses numerically', () => {
  assert.ok(addressKey('10.0.0.2') < addressKey('10.0.0.10'));
  assert.ok(addressKey('9.255.255.255') < addressKey('10.0.0.0'));
});
