import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { detectNotation, parseConfig, printConfig, NOTATIONS, type Notation } from './notation.js';
import { ConfigError, splitWords, quote } from './tokens.js';
import { applyDelete, applySet } from './edit.js';
import type { ConfigTree } from '../types.js';

const dir = new URL('../../../../src/controller/config/testdata/', import.meta.url);
const golden = (name: string) => readFileSync(new URL(name, dir), 'utf8');
const fromSet = () => parseConfig(golden('full.set'), 'set');

test('golden inputs in all four notations parse to the same tree', () => {
  const tree = fromSet();
  assert.deepEqual(parseConfig(golden('full.conf'), 'text'), tree);
  assert.deepEqual(parseConfig(golden('full.json'), 'json'), tree);
  assert.deepEqual(parseConfig(golden('full.yaml'), 'yaml'), tree);
  assert.deepEqual(parseConfig(golden('full.display-set'), 'set'), tree);
});

test('printing the tree gives the golden text of each notation exactly', () => {
  const tree = fromSet();
  assert.equal(printConfig(tree, 'text'), golden('full.conf'));
  assert.equal(printConfig(tree, 'json'), golden('full.json'));
  assert.equal(printConfig(tree, 'yaml'), golden('full.yaml'));
  assert.equal(printConfig(tree, 'set'), golden('full.display-set'));
});

test('every notation round-trips through every other', () => {
  const tree = fromSet();
  for (const a of NOTATIONS) {
    for (const b of NOTATIONS) {
      const viaA = parseConfig(printConfig(tree, a), a);
      assert.deepEqual(parseConfig(printConfig(viaA, b), b), tree, `${a} -> ${b}`);
    }
  }
});

test('the tree has the shape of types.ts: named entries keyed by name, numbers, flags, leaf-lists', () => {
  const t = fromSet() as any;
  assert.deepEqual(t.interfaces.eth1.unit['0'].family.inet.address, { '10.0.0.1/24': {} });
  assert.equal(t.interfaces.eth1.mtu, 9000);
  assert.deepEqual(t['routing-options'].static.route['192.0.2.0/24']['next-hop'], ['10.0.0.2', '10.0.0.3']);
  assert.equal(t['routing-options'].static.route['203.0.113.0/24'].discard, true);
  assert.equal(t.protocols.bgp.group.fabric.neighbor['10.0.0.2']['hold-time'], 30);
  assert.deepEqual(t.protocols.bgp.group.fabric.family.inet6.unicast, {});
  assert.equal(t['policy-options']['as-path']['from-65002'].path, '^65002( .*)?$');
  assert.deepEqual(t['policy-options']['prefix-list'].internal.prefixes, ['10.0.0.0/8', '192.168.0.0/16']);
  assert.equal(t['routing-instances'].blue['vrf-target'].community, 'target:65000:1');
  assert.deepEqual(t['apply-groups'], ['pod-abc']);
});

test('values are canonicalised: prefixes lose host bits, IPv6 is compressed', () => {
  const t = parseConfig('set routing-options static route 10.1.2.3/8 next-hop 2001:DB8:0:0::1\n', 'set') as any;
  assert.deepEqual(Object.keys(t['routing-options'].static.route), ['10.0.0.0/8']);
  assert.deepEqual(t['routing-options'].static.route['10.0.0.0/8']['next-hop'], ['2001:db8::1']);
});

function refused(text: string, n: Notation, line: number, reason: RegExp): void {
  const base: ConfigTree = { system: { 'host-name': 'keep' } };
  const before = structuredClone(base);
  assert.throws(() => parseConfig(text, n, base), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.line, line, `${n}: ${e.message}`);
    assert.match(e.message, new RegExp(`^line ${line}: `));
    assert.match(e.message, reason);
    return true;
  });
  assert.deepEqual(base, before, 'nothing changes');
}

test('a bad line is refused with its line number and a reason, in every notation', () => {
  refused('set system host-name a\n\nset interfaces eth1 mtu 99999\n', 'set', 3, /mtu.*out of range/);
  refused('set system host-name a\nset routing-options static route 10.0.0.0/33 discard\n', 'set', 2, /prefix length/);
  refused('set system host-name a\nset protocols bgp group g neighbor 10.0.0.1 peer-ass 1\n', 'set', 2, /syntax error at 'peer-ass'.*expecting one of/);
  refused('show system\n', 'set', 1, /expected 'set' or 'delete'/);
  refused('system {\n    host-name r1;\n}\ninterfaces {\n    eth1 {\n        mtu nine;\n    }\n}\n', 'text', 6, /not a number/);
  refused('system {\n    host-name r1;\n', 'text', 2, /missing '}'/);
  refused('system {\n    host-name r1\n}\n', 'text', 2, /missing ';'/);
  refused('{\n  "system": {\n    "host-name": "r1",\n    "bogus": 1\n  }\n}\n', 'json', 4, /syntax error at 'bogus'/);
  refused('{"system": ', 'json', 1, /invalid JSON/);
  refused('system:\n  host-name: r1\nrouting-options:\n  router-id: 300.1.1.1\n', 'yaml', 4, /invalid IPv4 address/);
  refused('interfaces:\n  eth1:\n    disable: false\n', 'yaml', 3, /false is not a value/);
  refused('system:\n  host-name: a\n  host-name: b\n', 'yaml', 3, /duplicate key/);
  refused('{"system": {"host-name": "a",\n "host-name": "b"}}', 'json', 2, /duplicate key/);
  refused('{\n "routing-options": {"static": {"route": {"10.0.0.0/8": {\n  "next-hop": [\n   "10.0.0.1",\n   "nope"\n  ]}}}}}', 'json', 3, /invalid IP address 'nope'/);
});

test('lexer: quotes, escapes, lists, comments', () => {
  assert.deepEqual(splitWords('set a "b c" [ d e ] "x\\"y" # comment'), ['set', 'a', 'b c', ['d', 'e'], 'x"y']);
  assert.equal(quote('plain'), 'plain');
  assert.equal(quote('two words'), '"two words"');
  assert.equal(quote('a"b'), '"a\\"b"');
  assert.equal(quote(''), '""');
  const t = parseConfig('/* block\n comment */\nsystem { host-name "r1"; } # tail\n', 'text') as any;
  assert.equal(t.system['host-name'], 'r1');
});

test('set appends to leaf-lists, delete removes values, entries or whole lists', () => {
  const t: ConfigTree = {};
  applySet(t, ['routing-options', 'static', 'route', '10.0.0.0/8', 'next-hop', '1.1.1.1']);
  applySet(t, ['routing-options', 'static', 'route', '10.0.0.0/8', 'next-hop', ['1.1.1.2', '1.1.1.1']]);
  assert.deepEqual((t as any)['routing-options'].static.route['10.0.0.0/8']['next-hop'], ['1.1.1.1', '1.1.1.2']);
  assert.equal(applyDelete(t, ['routing-options', 'static', 'route', '10.0.0.0/8', 'next-hop', '1.1.1.1']), true);
  assert.deepEqual((t as any)['routing-options'].static.route['10.0.0.0/8']['next-hop'], ['1.1.1.2']);
  assert.equal(applyDelete(t, ['routing-options', 'static', 'route', '10.0.0.0/8', 'next-hop', '9.9.9.9']), false);
  assert.equal(applyDelete(t, ['routing-options', 'static', 'route']), true);
  assert.deepEqual(t, { 'routing-options': { static: {} } });
  assert.equal(applyDelete(t, ['interfaces', 'eth9']), false);
  assert.throws(() => applySet(t, ['interfaces']), /missing interface-name/);
  assert.throws(() => applySet(t, ['system', 'host-name']), /missing value/);
  assert.throws(() => applySet(t, ['routing-options', 'static', 'route', '10.0.0.0/8', 'discard', 'now']), /takes no value/);
});

test('positional values: as-path, prefix-list and vrf-target take their value directly', () => {
  const t = parseConfig('policy-options {\n    prefix-list pl {\n        10.0.0.0/8;\n        10.1.0.0/16;\n    }\n    as-path p "65001 .*";\n}\nrouting-instances {\n    b {\n        vrf-target target:1:1;\n    }\n}\n', 'text') as any;
  assert.deepEqual(t['policy-options']['prefix-list'].pl.prefixes, ['10.0.0.0/8', '10.1.0.0/16']);
  assert.equal(t['policy-options']['as-path'].p.path, '65001 .*');
  assert.equal(t['routing-instances'].b['vrf-target'].community, 'target:1:1');
  assert.throws(() => parseConfig('set routing-instances b vrf-target 1:1\n', 'set'), /route target/);
});

test('notation detection', () => {
  const tree = fromSet();
  for (const n of NOTATIONS) assert.equal(detectNotation(printConfig(tree, n)), n);
  assert.equal(detectNotation('anything', 'x.yaml'), 'yaml');
  // content decides over a .conf/.set name when it is unambiguous
  assert.equal(detectNotation('set system host-name r1\n', 'router.conf'), 'set');
  assert.equal(detectNotation('# comment\ndelete system host-name\n', 'router.cfg'), 'set');
  assert.equal(detectNotation('system { host-name r1; }\n', 'router.conf'), 'text');
  assert.equal(detectNotation('system { host-name r1; }\n', 'router.set'), 'text');
  assert.equal(detectNotation('', 'router.set'), 'set');
});
