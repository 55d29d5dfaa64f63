/** bench/lib/bgp-count-receiver.ts: the outbound benchmark's stop rule counts distinct prefixes of the range, from UPDATEs as cnr's encoder writes them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrefixCounter } from '../../bench/lib/bgp-count-receiver.js';
import { encodeAttributeBlock, packUpdates, packWithdrawals, Afi, DEFAULT_OPTIONS } from '../../src/wire/bgp/index.js';

const body = (msg: Uint8Array) => msg.subarray(19);

test('counts each prefix of the range once, uncounts withdrawals, ignores others', () => {
  const c = new PrefixCounter(0x0a000000, 28, 4); // 10.0.0.0/28 .. 10.0.0.48/28
  const block = encodeAttributeBlock({ origin: 0, asPath: [{ type: 2, asns: [65002] }], nextHop: '100.65.0.1' }, Afi.Ipv4, DEFAULT_OPTIONS);
  const ann = packUpdates(block, Afi.Ipv4, ['10.0.0.0/28', '10.0.0.16/28', '10.0.0.16/28', '10.0.0.64/28', '10.0.0.8/29', '10.0.0.8/28'], undefined, DEFAULT_OPTIONS);
  for (const m of ann) c.update(body(m));
  assert.equal(c.held, 2);
  assert.equal(c.announced, 6);
  assert.equal(c.outside, 3, 'beyond the range, another length, unaligned');
  for (const m of packUpdates(block, Afi.Ipv4, ['10.0.0.32/28', '10.0.0.48/28'], undefined, DEFAULT_OPTIONS)) c.update(body(m));
  assert.equal(c.held, 4);
  for (const m of packWithdrawals(Afi.Ipv4, ['10.0.0.0/28', '10.0.0.0/28'], undefined, DEFAULT_OPTIONS)) c.update(body(m));
  assert.equal(c.held, 3, 'a repeated withdrawal uncounts once');
  assert.equal(c.withdrawn, 2);
});

test('a malformed NLRI field stops counting that field, never throws', () => {
  const c = new PrefixCounter(0x0a000000, 28, 4);
  c.update(Uint8Array.of(0, 0, 0, 0, 28, 10, 0, 0, 0, 40, 1));
  assert.equal(c.held, 1);
  c.update(Uint8Array.of(0, 9, 0));
  assert.equal(c.held, 1);
});
