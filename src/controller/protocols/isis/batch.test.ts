// Frames that arrive together (IsisInstance.framesReceived, what one drain of a port delivers):
// every LSP is stored and acknowledged as one by one, but the acknowledgements share PSNPs
// (80 entries each) instead of one PSNP per LSP, and a frame that is garbage is counted
// without losing the others of its batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bareLsp, peerFrame, withPeer } from './test-instance.js';

const lines = ['set protocols isis interface eth1 point-to-point', 'set protocols isis level 1 disable'];

const psnps = (inst: ReturnType<typeof withPeer>['inst']) => inst.cx.stats.tx.get('l2-psnp') ?? 0;

test('200 LSPs in one batch are stored and acknowledged in 3 PSNPs; one by one they take 200', () => {
  const batch = withPeer(lines, 2);
  const before = psnps(batch.inst);
  const frames = Array.from({ length: 200 }, (_, i) => ({ ifname: 'eth1', frame: peerFrame(bareLsp(i)) }));
  frames.splice(100, 0, { ifname: 'eth1', frame: Uint8Array.from([1, 2, 3]) });
  batch.inst.framesReceived(frames, batch.now + 1);
  assert.equal(batch.inst.cx.lsdb.get(2)!.size, 201, 'every LSP stored (and our own)');
  assert.equal(psnps(batch.inst) - before, 3);
  assert.equal([...batch.inst.cx.stats.drops.values()].reduce((a, b) => a + b, 0), 1, 'the garbage frame counted');

  const single = withPeer(lines, 2);
  const before1 = psnps(single.inst);
  for (let i = 0; i < 200; i++) single.inst.frameReceived('eth1', peerFrame(bareLsp(i)), single.now + 1);
  assert.equal(single.inst.cx.lsdb.get(2)!.size, 201);
  assert.equal(psnps(single.inst) - before1, 200);
});
