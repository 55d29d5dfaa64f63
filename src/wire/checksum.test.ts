import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksumAdjust, internetChecksum, onesSum, finishChecksum, pseudoHeaderSum4 } from './checksum.js';
import { hex, rng, randomBytes } from '../../test/support/wire.js';

test('RFC 1071 example sum and an IPv4 header checksum from a real packet', () => {
  // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (before complement)
  assert.equal(finishChecksum(onesSum(hex('0001f203f4f5f6f7'), 0, 8)), ~0xddf2 & 0xffff);
  const ip = hex('45b8001f000100001111bcd9c0000201c6336407'); // header as sent by scapy
  assert.equal(internetChecksum(ip), 0, 'a valid header sums to zero');
  ip[10] = 0;
  ip[11] = 0;
  assert.equal(internetChecksum(ip), 0xbcd9);
  // odd length pads with a zero byte
  assert.equal(internetChecksum(hex('0102 03')), ~(0x0102 + 0x0300) & 0xffff);
});

test('incremental update (RFC 1624) equals recomputation after a TTL decrement', () => {
  const next = rng(7);
  for (let i = 0; i < 5000; i++) {
    const h = randomBytes(next, 20);
    h[10] = 0;
    h[11] = 0;
    const c = internetChecksum(h);
    h[10] = c >>> 8;
    h[11] = c & 0xff;
    const oldWord = (h[8]! << 8) | h[9]!;
    h[8] = (h[8]! - 1) & 0xff;
    const newWord = (h[8]! << 8) | h[9]!;
    const adj = checksumAdjust(c, oldWord, newWord);
    h[10] = adj >>> 8;
    h[11] = adj & 0xff;
    assert.equal(internetChecksum(h), 0, `case ${i}`);
  }
});

test('pseudo-header sum matches the UDP checksum scapy wrote', () => {
  const udp = hex('04d20035000b4a32616263'); // 192.0.2.1 -> 198.51.100.7, "abc"
  const sum = pseudoHeaderSum4(0xc0000201, 0xc6336407, 17, udp.length) + onesSum(udp, 0, udp.length);
  assert.equal(finishChecksum(sum), 0);
});
