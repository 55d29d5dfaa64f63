import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyEngine, compileAsPathRegex, asPathText, type PolicySubject } from './index.js';
import { prefixKeyOfText } from '../../lib/addr.js';
import { parseCommunity, parseExtCommunity } from '../../wire/bgp/attributes.js';
import type { ConfigTree } from '../types.js';
import { validateTree } from '../config/validate.js';

const PO: ConfigTree = {
  'prefix-list': { mine: { prefixes: ['10.0.0.0/8', '192.0.2.0/24'] } },
  community: {
    cust: { members: ['65000:100'] },
    both: { members: ['65000:100', '65000:200'] },
    any65000: { members: ['65000:.*'] },
    rt: { members: ['target:65000:1'] },
    big: { members: ['large:65000:1:2'] },
    noexp: { members: ['no-export'] },
  },
  'as-path': { from65001: { path: '65001 .*' }, short: { path: '.{0,2}' } },
  'policy-statement': {
    filter: {
      term: {
        t1: { from: { 'route-filter': { '10.0.0.0/8': { orlonger: true } } }, then: { 'local-preference': 200, accept: true } },
        t2: { from: { community: ['cust'] }, then: { community: { add: ['noexp'] }, metric: 5, accept: true } },
        t3: { from: { 'as-path': ['from65001'] }, then: { 'as-path-prepend': '65000 65000', next: 'term' } },
        t4: { then: { reject: true } },
      },
    },
    lists: { term: { a: { from: { 'prefix-list': ['mine'] }, then: { accept: true } } } },
    skip: { term: { a: { from: { protocol: ['static'] }, then: { next: 'policy' } }, b: { then: { reject: true } } } },
    setc: { then: { community: { set: ['rt', 'big'] }, 'next-hop': 'self', accept: true } },
    del: { term: { a: { from: { community: ['any65000'] }, then: { community: { delete: ['any65000'] } } }, b: { from: { community: ['cust'] }, then: { reject: true } } } },
    upto: { term: { a: { from: { 'route-filter': { '172.16.0.0/12': { upto: '/16' }, '2001:db8::/32': { 'prefix-length-range': '/40-/48' } } }, then: { accept: true } } } },
  },
};

function subject(x: Partial<PolicySubject> = {}): PolicySubject {
  return { prefix: '198.51.100.0/24', protocol: 'bgp', nextHops: ['10.0.0.1'], ...x };
}

test('compiles without errors; undefined references are refused once, by the tree check, and match nothing here', () => {
  assert.deepEqual(new PolicyEngine(PO).errors, []);
  const po: ConfigTree = { 'policy-statement': { p: { term: { a: { from: { community: ['nope'], 'prefix-list': ['none'] }, then: { accept: true } } } } } };
  const bad = new PolicyEngine(po);
  assert.deepEqual(bad.errors, [], 'config/validate.ts owns the reference check');
  assert.deepEqual(validateTree({ 'policy-options': po }, { 'policy-options': po }), [
    "policy-options policy-statement p term a from: prefix-list 'none' is not defined",
    "policy-options policy-statement p term a from: community 'nope' is not defined",
  ]);
  assert.notEqual(bad.evaluate(['p'], subject({ prefix: '10.0.0.0/8' }), true).decidedBy, 'p/a');
  assert.deepEqual(new PolicyEngine(PO).checkChain('protocols bgp import', ['filter', 'missing']), ["protocols bgp import: policy-statement 'missing' is not defined"]);
});

test('route-filter orlonger accepts with local-preference', () => {
  const e = new PolicyEngine(PO);
  const r = e.evaluate(['filter'], subject({ prefix: '10.1.0.0/16' }), true);
  assert.equal(r.accept, true);
  assert.equal(r.localPref, 200);
  assert.equal(r.decidedBy, 'filter/t1');
});

test('community match adds a community and sets the metric; others fall to reject', () => {
  const e = new PolicyEngine(PO);
  const r = e.evaluate(['filter'], subject({ communities: [parseCommunity('65000:100')!] }), true);
  assert.equal(r.accept, true);
  assert.equal(r.metric, 5);
  assert.deepEqual(r.communities?.communities, [parseCommunity('65000:100'), parseCommunity('no-export')]);
  assert.equal(e.evaluate(['filter'], subject(), true).accept, false);
});

test('as-path regex with next term keeps the prepend and goes on', () => {
  const e = new PolicyEngine(PO);
  const r = e.evaluate(['filter'], subject({ asPath: [{ type: 2, asns: [65001, 65002] }] }), true);
  assert.equal(r.accept, false, 't4 rejects');
  assert.deepEqual(r.asPathPrepend, [65000, 65000]);
});

test('a named community with two members needs both', () => {
  const e = new PolicyEngine({ ...PO, 'policy-statement': { p: { term: { a: { from: { community: ['both'] }, then: { accept: true } } } } } });
  assert.equal(e.evaluate(['p'], subject({ communities: [parseCommunity('65000:100')!] }), false).accept, false);
  assert.equal(e.evaluate(['p'], subject({ communities: [parseCommunity('65000:100')!, parseCommunity('65000:200')!] }), false).accept, true);
});

test('prefix-list is an exact match', () => {
  const e = new PolicyEngine(PO);
  assert.equal(e.evaluate(['lists'], subject({ prefix: '192.0.2.0/24' }), false).accept, true);
  assert.equal(e.evaluate(['lists'], subject({ prefix: '192.0.2.0/25' }), false).accept, false);
});

test('next policy skips the rest of a policy; the chain default decides at the end', () => {
  const e = new PolicyEngine(PO);
  assert.equal(e.evaluate(['skip'], subject({ protocol: 'static' }), true).accept, true);
  assert.equal(e.evaluate(['skip'], subject({ protocol: 'bgp' }), true).accept, false);
  assert.equal(e.evaluate(['skip', 'lists'], subject({ protocol: 'static', prefix: '10.0.0.0/8' }), false).decidedBy, 'lists/a');
});

test('community set replaces every kind; next-hop self is reported', () => {
  const e = new PolicyEngine(PO);
  const r = e.evaluate(['setc'], subject({ communities: [1, 2] }), false);
  assert.equal(r.nextHop, 'self');
  assert.deepEqual(r.communities?.communities, []);
  assert.deepEqual(r.communities?.extCommunities, parseExtCommunity('target:65000:1'));
  assert.deepEqual(r.communities?.largeCommunities, [65000, 1, 2]);
});

test('community delete by regex, and later terms see the change', () => {
  const e = new PolicyEngine(PO);
  const r = e.evaluate(['del'], subject({ communities: [parseCommunity('65000:100')!, parseCommunity('65001:1')!] }), true);
  assert.equal(r.accept, true, 'cust was deleted before term b');
  assert.deepEqual(r.communities?.communities, [parseCommunity('65001:1')]);
});

test('upto and prefix-length-range', () => {
  const e = new PolicyEngine(PO);
  assert.equal(e.evaluate(['upto'], subject({ prefix: '172.16.0.0/16' }), false).accept, true);
  assert.equal(e.evaluate(['upto'], subject({ prefix: '172.16.1.0/24' }), false).accept, false);
  assert.equal(e.evaluate(['upto'], subject({ prefix: '2001:db8:100::/40' }), false).accept, true);
  assert.equal(e.evaluate(['upto'], subject({ prefix: '2001:db8::/32' }), false).accept, false);
});

test('AS-path regular expressions match whole AS numbers', () => {
  const re = compileAsPathRegex('65001 .* 65003') as RegExp;
  assert.ok(re.test(asPathText([{ type: 2, asns: [65001, 7, 8, 65003] }])));
  assert.ok(re.test(asPathText([{ type: 2, asns: [65001, 65003] }])));
  assert.ok(!re.test(asPathText([{ type: 2, asns: [650011, 65003] }])));
  const range = compileAsPathRegex('^64512-64520+$') as RegExp;
  assert.ok(range.test('64512 64519 '));
  assert.ok(!range.test('64521 '));
  assert.equal(typeof compileAsPathRegex('65001 (('), 'string');
});

test('dependsOnPrefix: only chains whose terms match on prefixes or family', () => {
  const e = new PolicyEngine({
    ...PO,
    'policy-statement': {
      ...(PO['policy-statement'] as ConfigTree),
      fam: { from: { family: 'inet6' }, then: { reject: true } },
      all: { then: { accept: true } },
    },
  });
  assert.equal(e.dependsOnPrefix(['filter']), true, 'route-filter');
  assert.equal(e.dependsOnPrefix(['lists']), true, 'prefix-list');
  assert.equal(e.dependsOnPrefix(['fam']), true, 'family');
  assert.equal(e.dependsOnPrefix(['skip', 'setc', 'del', 'all']), false);
  assert.equal(e.dependsOnPrefix(['all', 'lists']), true, 'any policy of the chain');
});

test('a prefix given as a value (lib/addr PrefixKey) matches as its text does: route filters, prefix lists, family', () => {
  const e = new PolicyEngine({ ...PO, 'policy-statement': { ...(PO['policy-statement'] as ConfigTree), fam6: { term: { a: { from: { family: 'inet6' }, then: { accept: true } } } } } });
  const prefixes = ['10.0.0.0/8', '10.1.0.0/16', '11.0.0.0/8', '9.255.255.0/24', '0.0.0.0/0', '192.0.2.0/24', '192.0.2.0/25', '172.16.0.0/16', '172.16.0.0/12', '172.16.1.0/24', '172.32.0.0/16', '2001:db8:100::/40', '2001:db8::/32', '2001:db9::/40'];
  for (const p of prefixes) {
    for (const chain of [['filter'], ['lists'], ['upto'], ['fam6']]) {
      const byText = e.evaluate(chain, subject({ prefix: p }), false);
      const byValue = e.evaluate(chain, subject({ prefix: prefixKeyOfText(p) }), false);
      assert.deepEqual(byValue, byText, `${chain[0]} ${p}`);
    }
  }
  assert.equal(e.evaluate(['upto'], subject({ prefix: prefixKeyOfText('172.16.0.0/16') }), false).accept, true);
  assert.equal(e.evaluate(['fam6'], subject({ prefix: prefixKeyOfText('2001:db8::/32') }), false).accept, true);
  assert.equal(e.evaluate(['fam6'], subject({ prefix: prefixKeyOfText('10.0.0.0/8') }), false).accept, false);
});

test('rejectsAll: only a chain whose first reached term matches everything and rejects', () => {
  const e = new PolicyEngine({
    ...PO,
    'policy-statement': {
      ...(PO['policy-statement'] as ConfigTree),
      none: { then: { reject: true } },
      noneTerm: { term: { x: { then: { reject: true } } } },
      all: { then: { accept: true } },
      empty: {},
      fam: { from: { family: 'inet6' }, then: { reject: true } },
      laterReject: { term: { a: { from: { family: 'inet6' }, then: { accept: true } }, b: { then: { reject: true } } } },
    },
  });
  assert.equal(e.rejectsAll(['none']), true);
  assert.equal(e.rejectsAll(['noneTerm']), true);
  assert.equal(e.rejectsAll(['empty', 'none']), true, 'a policy with no terms is passed over');
  assert.equal(e.rejectsAll(['all']), false);
  assert.equal(e.rejectsAll(['fam']), false, 'a condition before the reject');
  assert.equal(e.rejectsAll(['laterReject']), false);
  assert.equal(e.rejectsAll(['all', 'none']), false, 'the first policy decides');
  assert.equal(e.rejectsAll([]), false, 'no chain: the default decides');
  // and the verdicts agree
  for (const p of ['10.0.0.0/8', '2001:db8::/32']) assert.equal(e.evaluate(['empty', 'none'], subject({ prefix: p }), true).accept, false);
});
