// Route leaking from level 2 into level 1 (Junos `from level 2` / `to level 1` in an export
// policy) over a live level 1/2 instance and a real RIB: the prefixes its level 2 SPF reaches
// and the chain accepts go into its level 1 LSP with the up/down bit set (RFC 5305 4.1, RFC
// 5308 2) at the level 2 distance (or the policy's metric), never into its level 2 LSP; without
// such a term nothing leaks; and a term `to level 2` exports a static into level 2 alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAreaAddress, parseSystemId, type Lsp, type Tlv } from '../../../wire/isis/index.js';
import { formatPrefix, parsePrefix } from '../../../lib/addr.js';
import type { IsisInstance } from './instance.js';
import { lspOf } from './rib.js';
import { peerFrame, withPeer } from './test-instance.js';

const PEER = parseSystemId('0000.0000.0002');

/** The peer's level 2 LSP: us as its neighbour (the two-way check), and `prefixes` at metric 5. */
function peerL2Lsp(prefixes: string[]): Lsp {
  return {
    kind: 'lsp', level: 2, maxAreaAddresses: 0, remainingLifetime: 1200, lspId: { systemId: PEER, pseudonode: 0, fragment: 0 }, sequence: 1, checksum: 0,
    partitionRepair: false, attached: 0, overload: false, isType: 3,
    tlvs: [
      { type: 'area-addresses', areas: [parseAreaAddress('49.0002')] },
      { type: 'extended-is-reachability', neighbors: [{ neighbor: { systemId: parseSystemId('0000.0000.0001'), pseudonode: 0 }, metric: 10, subTlvs: [] }] },
      { type: 'extended-ipv4-reachability', prefixes: prefixes.filter((p) => !p.includes(':')).map((p) => ({ prefix: parsePrefix(p), metric: 5, down: false, subTlvs: [] })) },
      { type: 'ipv6-reachability', prefixes: prefixes.filter((p) => p.includes(':')).map((p) => ({ prefix: parsePrefix(p), metric: 5, down: false, external: false, subTlvs: [] })) },
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
  inst.frameReceived('eth1', peerFrame(peerL2Lsp(['10.99.0.0/24', '10.98.0.0/24', '2001:db8:99::/48'])), (now += 10));
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
