import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDriverModules, openDriver } from './engine.js';

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
