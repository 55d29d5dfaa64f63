/** bench/lib/pktgen.ts: the forwarding benchmark's flow destinations and frames. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUdpFrame, flowDestinations } from '../../bench/lib/pktgen.js';
import { mask4, randomPrefixes4 } from '../support/random.js';

test('flowDestinations: n distinct unicast addresses, each inside a route of the set, none in 0/8, 10/8, 127/8 or 224/3', () => {
  const routes = randomPrefixes4(5000, 3);
  const d = flowDestinations(3, 4096, routes);
  assert.equal(d.length, 4096);
  assert.equal(new Set(d).size, 4096);
  for (const a of d) {
    const top = a >>> 24;
    assert.ok(top !== 0 && top !== 10 && top !== 127 && top < 224, `excluded range: ${a >>> 0}`);
    let inside = false;
    for (let i = 0; i < routes.addr.length && !inside; i++) inside = ((a & mask4(routes.len[i]!)) >>> 0) === routes.addr[i];
    assert.ok(inside, `${a} is inside no route`);
  }
  // the same seed gives the same flows (both forwarders and the baseline see the same traffic)
  assert.deepEqual(flowDestinations(3, 16, routes), d.subarray(0, 16));
});

test('buildUdpFrame: the requested length, IPv4 header checksum valid', () => {
  const f = buildUdpFrame(new Uint8Array(6), new Uint8Array(6), 0x0a010002, 0x01020304, 1514);
  assert.equal(f.length, 1514);
  let sum = 0;
  for (let o = 14; o < 34; o += 2) sum += (f[o]! << 8) | f[o + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  assert.equal(sum, 0xffff);
});
