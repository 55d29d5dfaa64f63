import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDataplane, type VRouterDataplane } from '../dataplane.js';
import * as F from './test-frames.js';

const H1 = '02:00:00:00:01:01';
const H2 = '02:00:00:00:02:02';
const R1 = '02:aa:00:00:00:01';
const R2 = '02:aa:00:00:00:02';

async function twoPort(): Promise<VRouterDataplane> {
  const dp = createDataplane({ workers: 0 });
  await dp.addVif({ name: 'p1', driver: 'memory', mac: R1, addresses: ['10.0.1.1/24', '2001:db8:1::1/64'] });
  await dp.addVif({ name: 'p2', driver: 'memory', mac: R2, addresses: ['10.0.2.1/24', '2001:db8:2::1/64'] });
  return dp;
}

test('IPv4 forwarding: MAC rewrite, TTL decrement, checksum', async () => {
  const dp = await twoPort();
  const nh = dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 });
  dp.addRoute('default', '198.51.100.0/24', nh);
  const pkt = F.ipv4({ src: '10.0.1.10', dst: '198.51.100.7', ttl: 64, payload: F.udp(1000, 2000) });
  dp.memoryDriver('p1').inject(F.eth(R1, H1, 0x0800, pkt));
  dp.runUntilIdle();
  const out = dp.memoryDriver('p2').collect();
  assert.equal(out.length, 1);
  const f = out[0]!;
  assert.equal(F.hex(f, 0, 6), '02:00:00:00:02:02');
  assert.equal(F.hex(f, 6, 6), '02:aa:00:00:00:02');
  assert.equal((f[12]! << 8) | f[13]!, 0x0800);
  assert.equal(f[14 + 8], 63);
  assert.equal(F.checksum(f, 14, 20), 0, 'header checksum still valid');
  assert.deepEqual(f.subarray(14 + 20), pkt.subarray(20));
  assert.equal(dp.counters().tx, 1);
  await dp.stop();
});
