import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_IDLE_SPIN_US, idleSpinMs, loadDriverModules, openDriver } from './engine.js';

test('a driver whose module failed to load is refused with the import error, not just "not available"', () => {
  const mods = { errors: { 'af-packet': "Cannot find package 'koffi' imported from sys/libc.js" } };
  assert.throws(() => openDriver(mods, 'af-packet', 'eth0'), /af-packet driver is not available: Cannot find package 'koffi'/);
  assert.throws(() => openDriver({}, 'tap', 'tap0'), /tap driver is not available: driver modules not loaded/);
});

test('the real driver modules load and report no errors', async () => {
  const mods = await loadDriverModules();
  assert.deepEqual(mods.errors, {});
  assert.equal(typeof mods.openAfPacket, 'function');
  assert.equal(typeof mods.openAfXdp, 'function');
  assert.equal(typeof mods.openTap, 'function');
});

test('the idle spin: 10 us by default, CNR_IDLE_SPIN_US in microseconds, anything else refused with the value', () => {
  assert.equal(idleSpinMs(undefined), DEFAULT_IDLE_SPIN_US / 1000);
  assert.equal(idleSpinMs(''), DEFAULT_IDLE_SPIN_US / 1000);
  assert.equal(idleSpinMs('0'), 0);
  assert.equal(idleSpinMs('200'), 0.2);
  for (const bad of ['-1', '1001', 'fast', 'NaN']) assert.throws(() => idleSpinMs(bad), new RegExp(`CNR_IDLE_SPIN_US=${bad}: not a number of microseconds`));
});
