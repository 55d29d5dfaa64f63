/**
 * The controller refuses at commit a unit with more addresses than the vRouter's interface table
 * holds (VIF_ADDRESSES, src/controller/rib/service.ts). That only helps if the numbers are the
 * vRouter's: a vif with exactly that many addresses is accepted, one more of either family is not.
 * A `workers: 0` data plane with memory vifs: no root needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDataplane } from '../../src/dataplane/dataplane.js';
import { VIF_ADDRESSES } from '../../src/controller/rib/service.js';

const v4 = (n: number) => Array.from({ length: n }, (_, k) => `10.0.${k}.1/24`);
const v6 = (n: number) => Array.from({ length: n }, (_, k) => `2001:db8:${k}::1/64`);

test("the controller's per-unit address limit is what a vRouter vif holds, per family", async () => {
  const dp = createDataplane({ workers: 0 });
  try {
    await dp.addVif({ name: 'full', driver: 'memory', mac: '02:00:00:00:00:01', addresses: [...v4(VIF_ADDRESSES.inet), ...v6(VIF_ADDRESSES.inet6)] });
    await assert.rejects(dp.addVif({ name: 'more4', driver: 'memory', mac: '02:00:00:00:00:02', addresses: v4(VIF_ADDRESSES.inet + 1) }), /at most/);
    await assert.rejects(dp.addVif({ name: 'more6', driver: 'memory', mac: '02:00:00:00:00:03', addresses: v6(VIF_ADDRESSES.inet6 + 1) }), /at most/);
  } finally {
    await dp.stop();
  }
});
