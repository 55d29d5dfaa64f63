import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressKey, codeStep, compareCode, comparePaths, selectBest, type PathFacts } from './best-path.js';
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

test('compareCode over random pairs: antisymmetric, every step reached, read by comparePaths and codeStep alike', () => {
  let seed = 11;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const some = () =>
    path(
      { localPref: 100 + rnd(2), asPath: [{ type: 2, asns: Array.from({ length: 1 + rnd(2) }, () => 65001 + rnd(2)) }], origin: rnd(2), med: rnd(2), ...(rnd(4) === 0 ? { clusterList: ['1.1.1.1'] } : {}) },
      { resolvable: rnd(8) !== 0, ebgp: rnd(2) === 0, igpCost: rnd(2), peerRouterId: rnd(2), peerKey: addressKey(`10.0.0.${1 + rnd(2)}`), pathId: rnd(2) },
    );
  const steps = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const a = some();
    const b = some();
    const c = comparePaths(a, b);
    const code = compareCode(a, b);
    assert.equal(Math.sign(code), Math.sign(c.order));
    assert.equal(codeStep(code), c.step);
    assert.equal(compareCode(b, a) + code, 0, 'antisymmetric');
    if (code === 0) assert.equal(a.pathId, b.pathId, 'equal only when nothing tells them apart');
    steps.add(c.step);
  }
  assert.equal(steps.size, 11, `every step decided some pair: ${[...steps].join(', ')}`);
});
