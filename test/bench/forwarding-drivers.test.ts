/** bench/forwarding.bench.ts parseDrivers: the FWD_DRIVERS entries, with per-vRouter settings. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDrivers } from '../../bench/forwarding.bench.js';

test('plain drivers have no settings', () => {
  assert.deepEqual(parseDrivers('af-packet,af-xdp'), [
    { label: 'af-packet', driver: 'af-packet', env: {} },
    { label: 'af-xdp', driver: 'af-xdp', env: {} },
  ]);
});

test('a driver with settings keeps its whole entry as its label', () => {
  assert.deepEqual(parseDrivers('af-packet+CNR_RX_COALESCE_US=150+CNR_IDLE_SPIN_US=0'), [
    { label: 'af-packet+CNR_RX_COALESCE_US=150+CNR_IDLE_SPIN_US=0', driver: 'af-packet', env: { CNR_RX_COALESCE_US: '150', CNR_IDLE_SPIN_US: '0' } },
  ]);
});

test('an unknown driver or a setting that is not CNR_NAME=value is refused with the entry', () => {
  assert.throws(() => parseDrivers('tap'), /FWD_DRIVERS: tap: the driver must be af-packet or af-xdp/);
  assert.throws(() => parseDrivers('af-xdp+PATH=/tmp'), /FWD_DRIVERS: af-xdp\+PATH=\/tmp: "PATH=\/tmp" is not CNR_NAME=value/);
});
