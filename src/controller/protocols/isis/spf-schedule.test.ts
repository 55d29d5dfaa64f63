// When SPF runs (origination.ts scheduleSpf): a few changes run it SPF_DELAY_MS after the first;
// a flood (more than SPF_FLOOD_CHANGES changes in the pending run and the one before) waits for
// the LSPs to pause, at most SPF_MAX_HOLD_MS, so that a database arriving in bulk makes one run
// per second and one at its end, not one every SPF_DELAY_MS (before: 27 runs in the 1.6 s case). Frames are fed in batches every 20 ms, as the kernel port's
// drain delivers them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SPF_DELAY_MS, SPF_MAX_HOLD_MS } from './origination.js';
import { bareLsp, peerFrame, withPeer } from './test-instance.js';

const lines = ['set protocols isis interface eth1 point-to-point', 'set protocols isis level 1 disable'];

/** `batches` batches of `size` LSPs every 20 ms from a quiet instance, ticking every 10 ms until 2 s after the last: the SPF runs' times, relative to the first batch. */
function flood(batches: number, size: number): number[] {
  const { inst, now } = withPeer(lines, 2);
  let t = now;
  for (let i = 0; i < 300; i++) inst.tick((t += 10)); // whatever the adjacency scheduled has run
  const runsBefore = inst.cx.spfLog.length;
  const t0 = t + 10;
  let n = 0;
  for (let b = 0; b < batches; b++) {
    inst.framesReceived(Array.from({ length: size }, () => ({ ifname: 'eth1', frame: peerFrame(bareLsp(n++)) })), t0 + b * 20);
    inst.tick(t0 + b * 20);
    inst.tick(t0 + b * 20 + 10);
  }
  for (let x = t0 + batches * 20; x < t0 + batches * 20 + 2000; x += 10) inst.tick(x);
  assert.equal(inst.cx.lsdb.get(2)!.size, batches * size + 1, 'every LSP stored');
  return inst.cx.spfLog.slice(runsBefore).map((e) => e.at - t0);
}

test('a few LSPs: one SPF run, SPF_DELAY_MS after the first', () => {
  assert.deepEqual(flood(1, 3), [SPF_DELAY_MS]);
});

test('400 LSPs in 200 ms: one SPF run, once they pause, instead of one every SPF_DELAY_MS', () => {
  const runs = flood(10, 40);
  assert.equal(runs.length, 1, `runs at ${runs.join(', ')} ms`);
  assert.ok(runs[0]! >= 9 * 20 + SPF_DELAY_MS && runs[0]! <= 9 * 20 + SPF_DELAY_MS + 10, `run at ${runs[0]} ms`);
});

test('a flood longer than SPF_MAX_HOLD_MS: a run before it is seen as one, then one SPF_MAX_HOLD_MS later, and one at its end', () => {
  const runs = flood(80, 20); // 1.6 s, 20 LSPs every 20 ms
  assert.equal(runs.length, 3, `runs at ${runs.join(', ')} ms`);
  assert.equal(runs[0], SPF_DELAY_MS, 'the first 60 changes are not a flood yet');
  assert.ok(runs[1]! - runs[0]! >= SPF_MAX_HOLD_MS && runs[1]! - runs[0]! <= SPF_MAX_HOLD_MS + 30, `second run at ${runs[1]} ms`);
  assert.ok(runs[2]! >= 79 * 20 + SPF_DELAY_MS && runs[2]! <= 79 * 20 + SPF_DELAY_MS + 10, `last run at ${runs[2]} ms`);
});
