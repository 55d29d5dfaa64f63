/**
 * bench/lib/seq-udp.ts analyseFailover: the failover benchmark counts a cut only when all its
 * loss is one run starting at the cut and each peer got the numbers it should; the cases here
 * are the ways a loss could come from something other than the failover.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyseFailover, normalise } from '../../bench/lib/seq-udp.js';

test('normalise: runs sorted and merged, duplicates and reordering absorbed', () => {
  assert.deepEqual(normalise([[5, 9], [0, 3], [4, 4], [8, 12], [20, 20]]), [[0, 12], [20, 20]]);
});

test('a clean failover: everything before the cut via the first peer, a run lost from the cut, the rest via the other', () => {
  const r = analyseFailover({ sent: 3000, cutSeq: 1500, cutDoneSeq: 1504, before: [[0, 1502]], after: [[1803, 2999]] });
  assert.equal(r.invalid, undefined);
  assert.equal(r.lost, 300);
  assert.equal(r.longestOutage, 300);
  assert.equal(r.outageStartFromCut, 3);
  assert.equal(r.firstAfterFromCut, 303);
});

test('not a failover: loss elsewhere, the other peer in use before the cut, the cut peer used after, no failover at all', () => {
  // a second gap (ARP, a bridge): lost outside the outage
  assert.match(analyseFailover({ sent: 3000, cutSeq: 1500, before: [[0, 699], [720, 1500]], after: [[1800, 2999]] }).invalid ?? '', /lost before the cut; 20 lost outside the outage/);
  // traffic went via the other peer before the cut (the best path was not the one cut)
  assert.match(analyseFailover({ sent: 3000, cutSeq: 1500, before: [[0, 999]], after: [[1000, 2999]] }).invalid ?? '', /already had number 1000 before the cut/);
  // the cut peer still received after the failover (the cut did not cut this traffic)
  assert.match(analyseFailover({ sent: 3000, cutSeq: 1500, before: [[0, 1500], [2500, 2999]], after: [[1700, 2499]] }).invalid ?? '', /still received number 2999/);
  // nothing reached the other peer
  assert.match(analyseFailover({ sent: 3000, cutSeq: 1500, before: [[0, 1500]], after: [] }).invalid ?? '', /no datagram reached the other peer/);
  // an outage beginning well after the cut's command returned is not the cut's
  assert.match(analyseFailover({ sent: 3000, cutSeq: 1500, cutDoneSeq: 1510, before: [[0, 1899]], after: [[2200, 2999]] }).invalid ?? '', /the outage starts 400 from the cut \(its command took 10\)/);
  // one that begins while the command was still running is
  assert.equal(analyseFailover({ sent: 3000, cutSeq: 1500, cutDoneSeq: 1700, before: [[0, 1649]], after: [[1900, 2999]] }).invalid, undefined);
});
