/**
 * The choice between `cnr start`'s two layouts (vrouter-thread.ts vrouterThreadWanted): the
 * thread unless told otherwise, the option before the environment, and a bad value refused
 * with the name of where it came from. The thread itself is tested in
 * test/integration/vrouter-thread.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vrouterThreadWanted } from './vrouter-thread.js';
import { parseNodeArgs } from './node.js';

test('the vRouter thread is the default; on/off and 1/0 choose; the option wins over the environment', () => {
  assert.equal(vrouterThreadWanted(undefined, undefined), true);
  assert.equal(vrouterThreadWanted(undefined, ''), true);
  assert.equal(vrouterThreadWanted(undefined, '1'), true);
  assert.equal(vrouterThreadWanted(undefined, '0'), false);
  assert.equal(vrouterThreadWanted('off', '1'), false);
  assert.equal(vrouterThreadWanted('on', '0'), true);
});

test('a bad value is refused, naming the option or the variable', () => {
  assert.throws(() => vrouterThreadWanted('yes', undefined), /--vrouter-thread: 'yes' is not on or off/);
  assert.throws(() => vrouterThreadWanted(undefined, 'true'), /CNR_VROUTER_THREAD: 'true' is not 1 .* or 0/);
});

test('cnr start takes --vrouter-thread; cnr controller refuses it', () => {
  const saved = process.env['CNR_VROUTER_THREAD'];
  delete process.env['CNR_VROUTER_THREAD'];
  try {
    assert.equal(parseNodeArgs([], 'start').vrouterThread, true);
    assert.equal(parseNodeArgs(['--vrouter-thread', 'off'], 'start').vrouterThread, false);
    assert.throws(() => parseNodeArgs(['--vrouter-thread', 'maybe'], 'start'), /--vrouter-thread: 'maybe'/);
    assert.throws(() => parseNodeArgs(['--vrouter-thread', 'on'], 'controller'), /cnr controller runs no vRouter/);
    assert.equal(parseNodeArgs([], 'controller').vrouterThread, undefined);
    process.env['CNR_VROUTER_THREAD'] = '0';
    assert.equal(parseNodeArgs([], 'start').vrouterThread, false);
  } finally {
    if (saved === undefined) delete process.env['CNR_VROUTER_THREAD'];
    else process.env['CNR_VROUTER_THREAD'] = saved;
  }
});
