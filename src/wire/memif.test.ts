/**
 * memif control messages: golden bytes laid out by hand from DPDK's memif.h (packed structs
 * after a 16-bit type, 128 bytes each), both ways, and the fuzz round trip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMemifMsg, encodeMemifMsg, MEMIF_MSG_SIZE, MEMIF_VERSION, ringBytes, type MemifMsg } from './memif.js';
import { WireError } from './errors.js';
import { fuzzRoundTrip, hex } from '../../test/support/wire.js';

function msg(hexBody: string): Uint8Array {
  const b = new Uint8Array(MEMIF_MSG_SIZE);
  b.set(hex(hexBody));
  return b;
}

const golden: [string, MemifMsg, Uint8Array][] = [
  ['ack', { type: 'ack' }, msg('0100')],
  [
    'hello',
    { type: 'hello', name: 'cnr', minVersion: 0x200, maxVersion: 0x200, maxRegion: 1, maxS2cRing: 0, maxC2sRing: 0, maxLog2RingSize: 14 },
    // type 2, name "cnr" padded to 32, min 0x0200, max 0x0200, max_region 1, m2s 0, s2m 0, log2 14
    msg('0200' + '636e72' + '00'.repeat(29) + '0002' + '0002' + '0100' + '0000' + '0000' + '0e'),
  ],
  [
    'init',
    { type: 'init', version: 0x200, id: 7, mode: 0, secret: 'pw', name: 'DPDK 22.11.11' },
    msg('0300' + '0002' + '07000000' + '00' + '7077' + '00'.repeat(22) + Buffer.from('DPDK 22.11.11').toString('hex') + '00'.repeat(19)),
  ],
  ['add-region', { type: 'add-region', index: 0, size: 0x420100 }, msg('0400' + '0000' + '0001420000000000')],
  [
    'add-ring',
    { type: 'add-ring', flags: 1, index: 0, region: 0, offset: 0x4080, log2RingSize: 10, privateHdrSize: 0 },
    msg('0500' + '0100' + '0000' + '0000' + '80400000' + '0a' + '0000'),
  ],
  ['connect', { type: 'connect', ifName: 'net_memif0' }, msg('0600' + Buffer.from('net_memif0').toString('hex'))],
  ['connected', { type: 'connected', ifName: 'memif-a' }, msg('0700' + Buffer.from('memif-a').toString('hex'))],
  ['disconnect', { type: 'disconnect', code: 0, reason: 'Device closed' }, msg('0800' + '00000000' + Buffer.from('Device closed').toString('hex'))],
];

for (const [name, value, bytes] of golden) {
  test(`memif ${name}: golden bytes decode and encode`, () => {
    assert.deepEqual(decodeMemifMsg(bytes), value);
    const out = new Uint8Array(MEMIF_MSG_SIZE);
    assert.equal(encodeMemifMsg(value, out), MEMIF_MSG_SIZE);
    assert.deepEqual(out, bytes);
  });
}

test('memif: version 2.0 and the ring size DPDK computes (header + 16 bytes a descriptor)', () => {
  assert.equal(MEMIF_VERSION, 0x200);
  assert.equal(ringBytes(10), 128 + 16 * 1024);
});

test('memif: wrong sizes, unknown types and non-printable names are refused as values', () => {
  const short = decodeMemifMsg(new Uint8Array(127));
  assert.ok(short instanceof WireError && short.reason === 'truncated');
  const long = decodeMemifMsg(new Uint8Array(129));
  assert.ok(long instanceof WireError && long.reason === 'malformed');
  const unknown = decodeMemifMsg(msg('0900'));
  assert.ok(unknown instanceof WireError && /unknown message type 9/.test(unknown.message));
  const none = decodeMemifMsg(msg('0000'));
  assert.ok(none instanceof WireError);
  const badName = decodeMemifMsg(msg('0600' + '41ff42'));
  assert.ok(badName instanceof WireError && /non-printable/.test(badName.message));
  const huge = decodeMemifMsg(msg('0400' + '0000' + 'ffffffffffffffff'));
  assert.ok(huge instanceof WireError && /too large/.test(huge.message));
});

test('memif: fuzz — decoding never throws, what decodes survives a round trip', () => {
  const stats = fuzzRoundTrip(decodeMemifMsg, (v, buf, off) => encodeMemifMsg(v, buf, off), golden.map((g) => g[2]), 20000);
  assert.ok(stats.decoded > 1000, `decoded ${stats.decoded}`);
  assert.ok(stats.errors > 1000, `errors ${stats.errors}`);
});
