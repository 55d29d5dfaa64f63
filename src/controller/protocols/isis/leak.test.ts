// Route leaking from level 2 into level 1 (Junos `from level 2` / `to level 1` in an export
// policy) over a live level 1/2 instance and a real RIB: the prefixes its level 2 SPF reaches
// and the chain accepts go into its level 1 LSP with the up/down bit set (RFC 5305 4.1, RFC
// 5308 2) at the level 2 distance (or the policy's metric), never into its level 2 LSP; without
// such a term nothing leaks; and a term `to level 2` exports a static into level 2 alone.
// Level 1 into level 2 is the default: the level 1 SPF's prefixes go into the level 2 LSP at
// their level 1 distance, except those that came with the down bit; a reject term stops it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAreaAddress, parseSystemId, type Lsp, type Tlv } from '../../../wire/isis/index.js';
import { formatPrefix, parsePrefix } from '../../../lib/addr.js';
import type { IsisInstance } from './instance.js';
import { lspOf } from './rib.js';
import { peerFrame, withPeer } from './test-instance.js';

const PEER = parseSystemId('0000.0000.0002');

/** The peer's LSP at `level`: us as its neighbour (the two-way check), IPv4 prefixes (with their down bit) and IPv6 ones (external: the X bit), at metric 5. */
function peerLsp(level: 1 | 2, area: string, v4: [string, boolean][], v6: string[], v6External: string[] = []): Lsp {
  return {
    kind: 'lsp', level, maxAreaAddresses: 0, remainingLifetime: 1200, lspId: { systemId: PEER, pseudonode: 0, fragment: 0 }, sequence: 1, checksum: 0,
    partitionRepair: false, attached: 0, overload: false, isType: 3,
    tlvs: [
      { type: 'area-addresses', areas: [parseAreaAddress(area)] },
      { type: 'extended-is-reachability', neighbors: [{ neighbor: { systemId: parseSystemId('0000.0000.0001'), pseudonode: 0 }, metric: 10, subTlvs: [] }] },
      { type: 'extended-ipv4-reachability', prefixes: v4.map(([p, down]) => ({ prefix: parsePrefix(p), metric: 5, down, subTlvs: [] })) },
      { type: 'ipv6-reachability', prefixes: [...v6, ...v6External].map((p) => ({ prefix: parsePrefix(p), metric: 5, down: false, external: v6External.includes(p), subTlvs: [] })) },
    ],
  };
}

/** Our LSP's prefixes at `level`: text, metric, up/down bit. */
function ownPrefixes(inst: IsisInstance, level: 1 | 2): [string, number, boolean][] {
  const tlvs: Tlv[] = lspOf(inst.cx.lsdb.get(level)!.get('0000.0000.0001.00-00')!).tlvs;
  const out: [string, number, boolean][] = [];
  for (const t of tlvs) if (t.type === 'extended-ipv4-reachability' || t.type === 'ipv6-reachability') for (const p of t.prefixes) out.push([formatPrefix(p.prefix), p.metric, p.down]);
  return out.sort();
}

function run(policy: string[]) {
  const { inst, rib, now: t0 } = withPeer(['set protocols isis interface eth1 point-to-point', ...policy], 3);
  let now = t0;
  inst.frameReceived('eth1', peerFrame(peerLsp(2, '49.0002', [['10.99.0.0/24', false], ['10.98.0.0/24', false]], ['2001:db8:99::/48'])), (now += 10));
  for (let i = 0; i < 5; i++) inst.tick((now += 200));
  return { inst, rib, now };
}

test('level 2 prefixes accepted by a from level 2 / to level 1 term go into the level 1 LSP with the down bit, at the level 2 distance', () => {
  const { inst, rib } = run([
    'set policy-options policy-statement leak term l2 from level 2',
    'set policy-options policy-statement leak term l2 from route-filter 10.99.0.0/16 orlonger',
    'set policy-options policy-statement leak term l2 to level 1',
    'set policy-options policy-statement leak term l2 then accept',
    'set policy-options policy-statement leak term v6 from level 2',
    'set policy-options policy-statement leak term v6 from family inet6',
    'set policy-options policy-statement leak term v6 to level 1',
    'set policy-options policy-statement leak term v6 then metric 77',
    'set policy-options policy-statement leak term v6 then accept',
    'set protocols isis export leak',
  ]);
  assert.ok(rib.show('inet.0').some((e) => e.prefix === '10.99.0.0/24'), 'the level 2 route is in the RIB');
  const l1 = ownPrefixes(inst, 1).filter(([p]) => p.startsWith('10.9') || p.startsWith('2001:db8:99'));
  assert.deepEqual(l1, [['10.99.0.0/24', 15, true], ['2001:db8:99::/48', 77, true]], '10.98/24 is outside the filter; IPv6 at the policy metric');
  assert.deepEqual(ownPrefixes(inst, 2).filter(([p]) => p.startsWith('10.9') || p.startsWith('2001:db8:99')), [], 'nothing leaked back into level 2');
});

test('without a term from level 2 nothing leaks, and a term to level 2 exports a static into level 2 alone', () => {
  const { inst, rib, now: t0 } = run([
    'set policy-options policy-statement statics term s from protocol static',
    'set policy-options policy-statement statics term s to level 2',
    'set policy-options policy-statement statics term s then accept',
    'set protocols isis export statics',
  ]);
  let now = t0;
  rib.announce('inet.0', 'static', { prefix: '192.0.2.0/24', protocol: 'static', preference: 5, nexthops: [{ gateway: '10.0.0.2', interface: 'eth1' }] });
  inst.ribChanged('inet.0', { protocol: 'static' }, (now += 10));
  for (let i = 0; i < 3; i++) inst.tick((now += 200));
  assert.deepEqual(ownPrefixes(inst, 1).filter(([p]) => !p.startsWith('10.0.0.') && !p.startsWith('10.255.')), [], 'level 1: no leak, no static');
  assert.deepEqual(ownPrefixes(inst, 2).filter(([p]) => p === '192.0.2.0/24'), [['192.0.2.0/24', 0, false]], 'level 2: the static');
});

/** The peer's level 1 LSP (same area): 10.77.0.0/24, and 10.66.0.0/24 with the down bit (it leaked that one from level 2); 2001:db8:77::/48, and 2001:db8:78::/48 external. */
function runL1(policy: string[]) {
  const { inst, rib, now: t0 } = withPeer(['set protocols isis interface eth1 point-to-point', ...policy], 3);
  let now = t0;
  inst.frameReceived('eth1', peerFrame(peerLsp(1, '49.0001', [['10.77.0.0/24', false], ['10.66.0.0/24', true]], ['2001:db8:77::/48'], ['2001:db8:78::/48'])), (now += 10));
  for (let i = 0; i < 5; i++) inst.tick((now += 200));
  return { inst, rib };
}

test('level 1 prefixes go into the level 2 LSP by default at their level 1 distance, not those with the down bit', () => {
  const { inst, rib } = runL1([]);
  assert.ok(rib.show('inet.0').some((e) => e.prefix === '10.66.0.0/24'), 'the down-bit prefix is a level 1 route all the same');
  const l2 = ownPrefixes(inst, 2).filter(([p]) => p.startsWith('10.77') || p.startsWith('10.66') || p.startsWith('2001:db8:7'));
  assert.deepEqual(l2, [['10.77.0.0/24', 15, false], ['2001:db8:77::/48', 15, false], ['2001:db8:78::/48', 15, false]]);
  const v6 = lspOf(inst.cx.lsdb.get(2)!.get('0000.0000.0001.00-00')!).tlvs.find((t) => t.type === 'ipv6-reachability');
  assert.ok(v6?.type === 'ipv6-reachability');
  const external = v6.prefixes.filter((p) => formatPrefix(p.prefix).startsWith('2001:db8:7')).map((p) => [formatPrefix(p.prefix), p.external]);
  assert.deepEqual(external, [['2001:db8:77::/48', false], ['2001:db8:78::/48', true]], 'the internal one internal, the external one keeps its X bit (RFC 5308 2)');
});

test('a from level 1 / to level 2 reject term keeps level 1 prefixes out of level 2', () => {
  const { inst } = runL1([
    'set policy-options policy-statement nol1 term t from level 1',
    'set policy-options policy-statement nol1 term t from route-filter 10.77.0.0/16 orlonger',
    'set policy-options policy-statement nol1 term t to level 2',
    'set policy-options policy-statement nol1 term t then reject',
    'set protocols isis export nol1',
  ]);
  const l2 = ownPrefixes(inst, 2).filter(([p]) => p.startsWith('10.77') || p.startsWith('2001:db8:77'));
  assert.deepEqual(l2, [['2001:db8:77::/48', 15, false]], 'the IPv6 prefix is outside the filter');
});
