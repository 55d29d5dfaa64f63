import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDataplane } from '../dataplane/dataplane.js';
import { buildRegistry, startMetrics } from './metrics.js';

test('metrics expose drop reasons, vif counters and RIB sizes from their owners at scrape time', async () => {
  const dp = createDataplane({ workers: 0 });
  await dp.addVif({ name: 'm0', driver: 'memory', addresses: ['10.9.0.1/24'] });
  let routes = 3;
  const reg = buildRegistry({ dataplane: dp, ribSummary: () => [{ name: 'inet.0', routes, active: routes - 1 }] });
  const m = await startMetrics(reg, '127.0.0.1', 0);
  try {
    const scrape = async () => (await fetch(`http://127.0.0.1:${m.port}/metrics`)).text();
    let body = await scrape();
    assert.match(body, /cnr_rib_routes\{table="inet.0",state="all"\} 3/);
    assert.match(body, /cnr_vif_rx_packets_total\{vif="m0"\} 0/);
    assert.match(body, /# TYPE cnr_vrouter_drops_total counter/);
    assert.match(body, /cnr_vrouter_drops_total\{reason="rx_ring_drop"\} 0/);
    assert.match(body, /cnr_vif_io_total\{vif="m0",counter="kernelDrops"\} 0/);
    routes = 7;
    body = await scrape();
    assert.match(body, /cnr_rib_routes\{table="inet.0",state="active"\} 6/);
    assert.equal((await fetch(`http://127.0.0.1:${m.port}/other`)).status, 404);
  } finally {
    await m.close();
    await dp.stop();
  }
});
