// IS-IS configuration: the Junos statements are accepted in set notation, a bad statement is
// refused with its line and reason, the rules over several statements are reported with their
// path, and the resolved configuration carries Junos's defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../config/notation.js';
import { validateTree } from '../../config/validate.js';
import { resolveIsis } from './config.js';

const BASE = [
  'set interfaces lo0 unit 0 family inet address 10.255.0.1/32',
  'set interfaces lo0 unit 0 family inet6 address 2001:db8:ff::1/128',
  'set interfaces lo0 unit 0 family iso address 49.0001.0102.5500.0001.00',
  'set interfaces eth1 unit 0 family inet address 10.0.0.1/30',
  'set interfaces eth1 unit 0 family iso',
  'set interfaces eth1 unit 0 family mpls',
  'set protocols isis interface eth1 point-to-point',
  'set protocols isis interface eth1 level 2 metric 10',
  'set protocols isis interface lo0.0 passive',
  'set protocols isis level 1 disable',
  // Junos's one-line form: sibling leaves of one statement on one line
  'set protocols isis source-packet-routing srgb start-label 400000 index-range 4096',
  'set protocols isis source-packet-routing node-segment ipv4-index 1 ipv6-index 1001',
];

const tree = (lines: string[]) => parseConfig(lines.join('\n') + '\n', 'set');
const errors = (lines: string[]) => {
  const t = tree(lines);
  return validateTree(t, t);
};

test('the issue\'s configuration is accepted and resolves with Junos defaults', () => {
  assert.deepEqual(errors(BASE), []);
  const cfg = resolveIsis(tree(BASE))!;
  assert.equal(cfg.systemId, '0102.5500.0001');
  assert.deepEqual(cfg.areas, ['49.0001']);
  assert.deepEqual(cfg.levels, [2], 'level 1 disabled: level 2 only');
  assert.deepEqual(cfg.preference.get(2), { internal: 18, external: 165 });
  assert.deepEqual(cfg.preference.get(1), { internal: 15, external: 160 });
  const eth1 = cfg.interfaces.get('eth1')!;
  assert.equal(eth1.pointToPoint, true);
  assert.deepEqual(eth1.levels.get(2), { metric: 10, passive: false, priority: 64, helloInterval: 9, holdTime: 27 });
  const lo0 = cfg.interfaces.get('lo0')!;
  assert.equal(lo0.passive, true);
  assert.equal(lo0.levels.get(2)!.metric, 0, 'the loopback is advertised at metric 0');
  assert.equal(cfg.routerId, '10.255.0.1', 'router ID from lo0 when routing-options has none');
  assert.deepEqual(cfg.sr, { srgb: { start: 400000, size: 4096 }, ipv4Index: 1, ipv6Index: 1001, explicitNull: false });
  assert.equal(cfg.lspLifetime, 1200);
});

test('the hold time is three hello intervals unless configured, per interface or per level', () => {
  const hold = (extra: string[]) => resolveIsis(tree([...BASE, ...extra]))!.interfaces.get('eth1')!.levels.get(2)!.holdTime;
  assert.equal(hold(['set protocols isis interface eth1 hello-interval 1']), 3);
  assert.equal(hold(['set protocols isis interface eth1 hello-interval 20']), 60);
  assert.equal(hold(['set protocols isis interface eth1 hello-interval 1', 'set protocols isis interface eth1 hold-time 10']), 10);
  assert.equal(hold(['set protocols isis interface eth1 level 2 hello-interval 2']), 6);
  assert.equal(hold(['set protocols isis interface eth1 level 2 hold-time 5']), 5);
});

test('a bad statement is refused with its line and the reason', () => {
  const bad: [string, RegExp][] = [
    ['set interfaces lo0 unit 0 family iso address 49.0001.0102.5500.0001.01', /line 1: .*selector \(last byte\) must be 00/],
    ['set interfaces lo0 unit 0 family iso address 49.zz.0102.5500.0001.00', /line 1: .*invalid NET/],
    ['set protocols isis interface eth1 level 3 metric 10', /line 1: .*out of range \(1\.\.2\)/],
    ['set protocols isis interface eth1 level 2 metric 16777216', /line 1: .*out of range/],
    ['set protocols isis interface eth1 hello-interval 0', /line 1: .*out of range/],
    ['set protocols isis level 2 authentication-type sha1', /line 1: .*not supported/],
    ['set protocols isis overload 1', /line 1: .*takes no value/],
    ['set protocols isis source-packet-routing srgb start-label 400000 index-range 0', /line 1: .*index-range: 0 is out of range/],
    ['set protocols isis source-packet-routing srgb start-label 400000 node-segment 1', /line 1: syntax error at 'node-segment'/],
  ];
  for (const [line, want] of bad) assert.throws(() => tree([line]), want, line);
});

test('rules over several statements name their path', () => {
  const without = (re: RegExp) => BASE.filter((l) => !re.test(l));
  assert.match(errors(without(/family iso address/)).join('\n'), /^protocols isis: needs a NET/m);
  assert.match(errors(without(/eth1 unit 0 family iso$/)).join('\n'), /protocols isis interface eth1: needs family iso/);
  assert.match(errors([...BASE, 'set protocols isis interface eth9 point-to-point']).join('\n'), /protocols isis interface eth9: interface eth9 is not configured/);
  assert.match(errors([...BASE, 'set protocols isis level 2 disable']).join('\n'), /levels 1 and 2 are both disabled/);
  assert.match(errors([...without(/srgb/), 'set protocols isis source-packet-routing srgb start-label 400000']).join('\n'), /srgb: needs both start-label and index-range/);
  assert.match(errors([...BASE, 'set protocols isis source-packet-routing node-segment ipv4-index 5000']).join('\n'), /ipv4-index: index 5000 is outside the SRGB \(4096 labels\)/);
  assert.match(errors([...BASE, 'set protocols isis source-packet-routing srlb start-label 401000', 'set protocols isis source-packet-routing srlb index-range 100']).join('\n'), /the SRGB and SRLB overlap/);
  assert.match(errors([...BASE, 'set protocols isis export no-such']).join('\n'), /protocols isis export: policy-statement 'no-such' is not defined/);
  assert.match(errors([...BASE, 'set interfaces lo0 unit 0 family iso address 49.0002.0102.5500.0002.00']).join('\n'), /NETs with different system IDs/);
});

test('defaults: both levels unless one is disabled; a disabled interface is left out', () => {
  const cfg = resolveIsis(tree([...BASE.filter((l) => !/level 1 disable/.test(l)), 'set protocols isis interface eth1 level 1 disable', 'set interfaces eth2 unit 0 family iso', 'set protocols isis interface eth2 disable']))!;
  assert.deepEqual(cfg.levels, [1, 2]);
  assert.deepEqual([...cfg.interfaces.get('eth1')!.levels.keys()], [2]);
  assert.equal(cfg.interfaces.has('eth2'), false);
  assert.equal(resolveIsis(tree(BASE.filter((l) => !/^set protocols/.test(l)))), undefined, 'no protocols isis: no instance');
});
