// SPF over real LSPs: the L2 LSPs FRR's rta and rtb sent (wire/isis/testdata/frr-isisd.json),
// turned into a graph and run from each side. rta and rtb share a point-to-point link (metric 10)
// and a LAN (metric 20), so the point-to-point link carries everything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeIsisFrame, decodePdu, IsisError, type Lsp } from '../../../wire/isis/index.js';
import { hex } from '../../../../test/support/wire.js';
import { computeSpf } from './spf.js';
import { graphFromLsps, vertexFromLsps } from './spf-lsdb.js';

const FIXTURES = JSON.parse(readFileSync(new URL('../../../../../src/wire/isis/testdata/frr-isisd.json', import.meta.url), 'utf8')) as { pdus: { name: string; frame: string }[] };

function lsp(name: string): Lsp {
  const f = FIXTURES.pdus.find((p) => p.name === name);
  assert.ok(f, name);
  const fr = decodeIsisFrame(hex(f.frame));
  assert.ok(!(fr instanceof IsisError));
  const v = decodePdu(fr.pdu);
  assert.ok(!(v instanceof IsisError) && v.kind === 'lsp', String(v));
  return v;
}

const RTA = '0102.5500.0001.00';
const RTB = '0102.5500.0002.00';
const LAN = '0102.5500.0002.dc';

test('SPF from rta over FRR\'s L2 LSPs', () => {
  const graph = graphFromLsps([lsp('l2-lsp'), lsp('l2-lsp-rtb'), lsp('l2-pseudonode-lsp')]);
  assert.deepEqual([...graph.keys()].sort(), [RTA, RTB, LAN]);
  assert.equal(graph.get(LAN)?.pseudonode, true);
  const r = computeSpf(graph, RTA);
  assert.deepEqual(r.vertices.get(RTB), { distance: 10, nextHops: [{ neighbor: RTB, via: RTB }] });
  assert.deepEqual(r.vertices.get(LAN), { distance: 20, nextHops: [] });
  // rtb's loopbacks, each at the link's 10 plus the prefix's 10
  assert.deepEqual(r.prefixes.get('10.255.0.2/32'), { distance: 20, nextHops: [{ neighbor: RTB, via: RTB }], origins: [RTB] });
  assert.equal(r.prefixes.get('2001:db8:ff::2/128')?.distance, 20);
  // the shared subnets are rta's own
  assert.equal(r.prefixes.has('10.0.12.0/30'), false);
  assert.equal(r.prefixes.has('10.0.99.0/24'), false);
  assert.equal(r.prefixes.size, 2);
});

test('from rtb with rta overloaded: rta and its prefixes are still reached', () => {
  const graph = graphFromLsps([lsp('l2-lsp-overload'), lsp('l2-lsp-rtb'), lsp('l2-pseudonode-lsp')]);
  assert.equal(graph.get(RTA)?.overload, true);
  const r = computeSpf(graph, RTB);
  assert.equal(r.vertices.get(RTA)?.distance, 10);
  assert.equal(r.prefixes.get('10.255.0.1/32')?.distance, 20);
});

test('a purged pseudonode and a node without fragment zero drop out of the graph', () => {
  const graph = graphFromLsps([lsp('l2-lsp'), lsp('l2-lsp-rtb'), lsp('l2-purge')]);
  assert.equal(graph.has(LAN), false);
  // the point-to-point link alone still carries rtb
  assert.equal(computeSpf(graph, RTA).vertices.get(RTB)?.distance, 10);
  const rtb = lsp('l2-lsp-rtb');
  assert.equal(vertexFromLsps([{ ...rtb, lspId: { ...rtb.lspId, fragment: 1 } }]), undefined);
  // a second fragment adds to the first
  const extra: Lsp = { ...rtb, lspId: { ...rtb.lspId, fragment: 1 }, tlvs: rtb.tlvs.filter((t) => t.type === 'extended-ipv4-reachability') };
  const v = vertexFromLsps([rtb, extra]);
  assert.equal(v?.prefixes.filter((p) => p.key === '10.255.0.2/32').length, 2);
});
