/**
 * bench/lib/isis-topology.ts: the IS-IS benchmark's generated topology is connected, has the
 * asked average degree and prefixes, is the same for the same seed, and its LSPs decode with
 * the project's codecs and give cnr's SPF a route to every prefix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateTopology, lspsOf, prefixOf, routerSystemId, spfGraphOf } from '../../bench/lib/isis-topology.js';
import { decodePdu, encodePduBytes, IsisError, parseAreaAddress, parseSystemId } from '../../src/wire/isis/index.js';
import { formatPrefix } from '../../src/lib/addr.js';
import { computePrefixes, computeSpf } from '../../src/controller/protocols/isis/spf.js';

test('the graph is connected, average degree 4, 2 prefixes each, links symmetric, and the seed fixes it', () => {
  const t = generateTopology(500);
  assert.equal(t.edges, 1000, 'routers x degree / 2 links');
  const degrees = t.routers.reduce((s, r) => s + r.links.length, 0);
  assert.equal(degrees / t.routers.length, 4);
  for (const [i, r] of t.routers.entries()) {
    assert.equal(r.prefixes.length, 2);
    for (const l of r.links) assert.ok(t.routers[l.to]!.links.some((b) => b.to === i && b.metric === l.metric), `link ${i}-${l.to} both ways`);
  }
  const seen = new Set([0]);
  const todo = [0];
  while (todo.length) {
    for (const l of t.routers[todo.pop()!]!.links) {
      if (seen.has(l.to)) continue;
      seen.add(l.to);
      todo.push(l.to);
    }
  }
  assert.equal(seen.size, 500, 'every router reachable from router 0');
  assert.deepEqual(generateTopology(500).routers.map((r) => r.links), t.routers.map((r) => r.links));
  assert.notDeepEqual(generateTopology(500, 4, 2, 14).routers.map((r) => r.links), t.routers.map((r) => r.links));
});

test('system IDs and prefixes are distinct and well formed', () => {
  assert.equal(routerSystemId(0x12345), '1000.0001.2345');
  assert.equal(formatPrefix(prefixOf(0x1234)), '10.18.52.0/24');
  assert.throws(() => prefixOf(65536), /65,536/);
});

test('the LSPs round-trip through the codecs and cnr\'s SPF reaches every prefix', () => {
  const t = generateTopology(200);
  const receiver = parseSystemId('0000.0000.0002');
  const lsps = lspsOf(t, parseAreaAddress('49.0001'), receiver, 7);
  assert.equal(lsps.length, 200);
  for (const l of lsps) {
    const back = decodePdu(encodePduBytes(l));
    assert.ok(!(back instanceof IsisError), String(back));
    assert.equal(back.kind, 'lsp');
    if (back.kind === 'lsp') assert.equal(back.sequence, 7);
  }
  const first = decodePdu(encodePduBytes(lsps[0]!));
  assert.ok(!(first instanceof IsisError) && first.tlvs.some((x) => x.type === 'extended-is-reachability' && x.neighbors[0]!.neighbor.systemId === receiver), 'router 0 lists the receiver');
  const g = spfGraphOf(t, '0000.0000.0002.00');
  const s = computeSpf(g, '0000.0000.0002.00');
  assert.equal(s.vertices.size, 201);
  assert.equal(computePrefixes(g, '0000.0000.0002.00', s.vertices).size, 400);
});
