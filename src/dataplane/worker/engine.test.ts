import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_IDLE_SPIN_US, DEFAULT_RX_COALESCE_US, Engine, idleSpinMs, loadDriverModules, openDriver, rxCoalesceMs } from './engine.js';
import { Tables, DEFAULT_SIZES } from '../tables/tables.js';
import { statsLayout } from '../graph/graph-constants.js';
import type { IoDriver } from '../io/driver.js';

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

test('wake-up coalescing: off by default, CNR_RX_COALESCE_US in microseconds, anything else refused with the value', () => {
  assert.equal(DEFAULT_RX_COALESCE_US, 0);
  assert.equal(rxCoalesceMs(undefined), 0);
  assert.equal(rxCoalesceMs(''), 0);
  assert.equal(rxCoalesceMs('50'), 0.05);
  assert.equal(rxCoalesceMs('1000'), 1);
  for (const bad of ['-5', '1001', 'soon', 'Infinity']) assert.throws(() => rxCoalesceMs(bad), new RegExp(`CNR_RX_COALESCE_US=${bad}: not a number of microseconds`));
});

test('after a poll() on its drivers\' fds, the engine tells exactly the drivers whose fd was readable that they woke it', () => {
  const sizes = { ...DEFAULT_SIZES, maxVifs: 8, maxVrfs: 4, maxNexthops: 64, maxLabels: 64, maxNeighbors: 64, lpm4Slots: 1 << 12, lpm6Slots: 1 << 12, maxBridgeDomains: 4, macSlots: 64 };
  const engine = new Engine(Tables.create(sizes), new Float64Array(statsLayout(sizes.maxVifs, sizes.maxVrfs).size), 64);
  const woken: string[] = [];
  // drivers as the engine sees them (only fd and woke matter here); one without woke(), as af-packet
  const drv = (name: string, fd: number, withWoke = true): IoDriver => ({
    name, hwaddr: new Uint8Array(6), fd, rxBurst: () => 0, txBurst: () => 0, flush: () => {}, close: () => {},
    ...(withWoke ? { woke: () => void woken.push(name) } : {}),
  });
  engine.attach(5, drv('a', 10));
  engine.attach(2, drv('b', 11, false));
  engine.attach(7, drv('c', 12));
  assert.deepEqual(engine.pollFds(), [10, 11, 12], 'fds in the engine\'s order');
  const pollfds = new Uint8Array(4 * 8); // the three drivers, then the worker's wake fd
  pollfds[2 * 8 + 6] = 1; // c: POLLIN
  pollfds[1 * 8 + 6] = 1; // b: readable, but it has no woke()
  pollfds[3 * 8 + 6] = 1; // the wake fd is not a driver's
  engine.woke(pollfds);
  assert.deepEqual(woken, ['c']);
  pollfds.fill(0);
  pollfds[0 * 8 + 6] = 0x10; // a: POLLHUP, any revents bit counts
  engine.woke(pollfds);
  assert.deepEqual(woken, ['c', 'a']);
  engine.close();
});
