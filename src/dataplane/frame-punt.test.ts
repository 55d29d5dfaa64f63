/**
 * Link-layer control frames (IS-IS: 802.3 with the OSI LLC header) through the data plane:
 * punted per receiving vif to the main thread's listeners, sent out of a chosen vif, the
 * 802.1Q tag of a subinterface taken off and put back, floods and bad frames counted.
 * Memory vifs in the calling thread (workers: 0); the worker-thread path is exercised by
 * test/integration/frame-punt.test.ts over real veths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDataplane, type VRouterDataplane } from './dataplane.js';
import * as F from '../../test/support/frames.js';

const R1 = '02:aa:00:00:00:01';
const R2 = '02:aa:00:00:00:02';
const H1 = '02:00:00:00:01:01';
const ALL_L2_ISS = '01:80:c2:00:00:15';

/** An 802.3 frame carrying an OSI PDU: length field, LLC FE FE 03, then the PDU bytes. */
function osiFrame(dst: string, src: string, pdu: Uint8Array, vlan?: number): Uint8Array {
  const llc = new Uint8Array(3 + pdu.length);
  llc.set([0xfe, 0xfe, 0x03]);
  llc.set(pdu, 3);
  return F.eth(dst, src, llc.length, llc, vlan);
}

const pdu = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, k) => (k * 7 + seed) & 255);

async function setup(): Promise<VRouterDataplane> {
  const dp = createDataplane({ workers: 0 });
  await dp.addVif({ name: 'p1', driver: 'memory', mac: R1, addresses: ['10.0.1.1/24'] });
  await dp.addVif({ name: 'p2', driver: 'memory', mac: R2, vlan: 100, addresses: ['10.0.2.1/24'] });
  return dp;
}

function receive(dp: VRouterDataplane, vif: string, ...frames: Uint8Array[]): void {
  for (const f of frames) assert.ok(dp.memoryDriver(vif).inject(f));
  dp.runUntilIdle();
}

test('an OSI frame is punted with its receiving vif only while a listener is there', async () => {
  const dp = await setup();
  const f = osiFrame(ALL_L2_ISS, H1, pdu(60));
  receive(dp, 'p1', f);
  assert.equal(dp.dropStats()['unknown_ethertype'], 1, 'no listener: dropped as before');
  const got: [string, Uint8Array][] = [];
  const stop = dp.onFrames((vif, frame) => got.push([vif, frame.slice()]));
  receive(dp, 'p1', f, F.eth(ALL_L2_ISS, H1, 0x88cc, pdu(40)));
  assert.equal(got.length, 1, 'the LLDP frame is not OSI');
  assert.equal(got[0]![0], 'p1');
  assert.deepEqual(got[0]![1], f);
  assert.equal(dp.counters()['frames_punted'], 1);
  assert.equal(dp.dropStats()['unknown_ethertype'], 2);
  assert.equal(dp.frameCounters().delivered, 1);
  stop();
  receive(dp, 'p1', f);
  assert.equal(got.length, 1, 'the last listener gone: no more punting');
  assert.equal(dp.dropStats()['unknown_ethertype'], 3);
  assert.equal(dp.poolAvailable(), 4096, 'no buffer leaked');
});

test('a subinterface: the tag is taken off a punted frame and put on a sent one', async () => {
  const dp = await setup();
  const got: [string, Uint8Array][] = [];
  dp.onFrames((vif, frame) => got.push([vif, frame.slice()]));
  const untagged = osiFrame(ALL_L2_ISS, H1, pdu(100, 3));
  receive(dp, 'p2', osiFrame(ALL_L2_ISS, H1, pdu(100, 3), 100));
  assert.equal(got.length, 1);
  assert.equal(got[0]![0], 'p2');
  assert.deepEqual(got[0]![1], untagged);
  // a frame with another tag, or none, is not the subinterface's
  receive(dp, 'p2', osiFrame(ALL_L2_ISS, H1, pdu(100), 101), untagged);
  assert.equal(got.length, 1);
  assert.equal(dp.dropStats()['vlan_mismatch'], 2);
  dp.sendFrame('p2', untagged);
  dp.runUntilIdle();
  const out = dp.memoryDriver('p2').collect();
  assert.equal(out.length, 1);
  assert.deepEqual(out[0], osiFrame(ALL_L2_ISS, H1, pdu(100, 3), 100));
});

test('sendFrame puts the frame on the wire as given; bad frames are refused and counted', async () => {
  const dp = await setup();
  const f = osiFrame(ALL_L2_ISS, R1, pdu(1400));
  dp.sendFrame('p1', f);
  dp.runUntilIdle();
  assert.deepEqual(dp.memoryDriver('p1').collect(), [f]);
  assert.throws(() => dp.sendFrame('nope', f), /no such interface/);
  assert.throws(() => dp.sendFrame('p1', new Uint8Array(10)), /shorter than an Ethernet header/);
  assert.throws(() => dp.sendFrame('p1', new Uint8Array(14 + 1501)), /longer than the interface takes/);
  assert.deepEqual(dp.frameCounters(), { delivered: 0, injected: 1, refused: 3 });
  assert.equal(dp.counters().generated, 1);
  assert.equal(dp.poolAvailable(), 4096);
});

test('a flood of OSI frames is bounded by the punt rate and buffer; short and malformed frames never crash', async () => {
  const dp = await setup();
  let got = 0;
  dp.onFrames(() => got++);
  const f = osiFrame(ALL_L2_ISS, H1, pdu(1400));
  // more than the token bucket's depth, delivered in bursts between which little time passes
  for (let round = 0; round < 20; round++) {
    for (let k = 0; k < 250; k++) assert.ok(dp.memoryDriver('p1').inject(f));
    dp.runUntilIdle();
  }
  const limited = dp.dropStats()['frame_punt_limited'] ?? 0;
  assert.ok(limited > 0, 'some frames beyond the limit');
  assert.ok(got > 0, 'some frames delivered');
  assert.equal(got + limited, 5000, 'every frame delivered or counted');
  // frames too short for an LLC header, or an 802.3 length with other LLC SAPs: not punted
  const before = dp.dropStats()['unknown_ethertype'] ?? 0;
  const short = F.eth(ALL_L2_ISS, H1, 2, new Uint8Array([0xfe, 0xfe]));
  const snap = F.eth(ALL_L2_ISS, H1, 40, new Uint8Array(40).fill(0xaa));
  receive(dp, 'p1', short, snap);
  assert.equal(dp.dropStats()['unknown_ethertype'], before + 2);
  // random bytes after an OSI header: punted as they are (the protocol's decoder judges them)
  const n0 = got;
  for (let k = 0; k < 50; k++) receive(dp, 'p1', osiFrame(ALL_L2_ISS, H1, Uint8Array.from({ length: k * 13 }, () => (Math.random() * 256) | 0)));
  assert.ok(got > n0);
  assert.equal(dp.poolAvailable(), 4096, 'no buffer leaked');
});
