/**
 * One million random and mutated frames through the graph: no exception, no leaked buffer,
 * and every frame accounted for (rx + generated == tx + punt + consumed + drops by reason).
 * The templates include MPLS over UDP to the router and echo to its address in a VRF.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDataplane } from '../dataplane.js';
import * as F from '../../../test/support/frames.js';
import { rng } from '../../../test/support/random.js';

const R1 = '02:aa:00:00:00:01';
const R2 = '02:aa:00:00:00:02';
const R3 = '02:aa:00:00:00:03';
const H = '02:00:00:00:00:09';
const TOTAL = 1_000_000;

test('fuzz: 1M random and mutated frames are all accounted for', async () => {
  const poolSize = 4096;
  // the clock runs late by `late` ms: at the end, past the time packets wait for a neighbour's MAC
  let late = 0;
  const dp = createDataplane({ workers: 0, vhost: true, vhostDriver: 'memory', poolSize, clock: () => performance.now() + late });
  await dp.addVif({ name: 'p1', driver: 'memory', mac: R1, addresses: ['10.0.1.1/24', '2001:db8:1::1/64'], memory: { slots: 512 } });
  await dp.addVif({ name: 'p2', driver: 'memory', mac: R2, mtu: 1400, addresses: ['10.0.2.1/24', '2001:db8:2::1/64'], memory: { slots: 512 } });
  dp.addVrf('blue');
  await dp.addVif({ name: 'p3', driver: 'memory', mac: R3, vrf: 'blue', vlan: 10, addresses: ['10.0.1.1/24'], memory: { slots: 512 } });
  await dp.ensureVhost();
  const e1 = dp.addNexthop({ type: 'encap', vif: 'p2', dmac: '02:00:00:00:02:02' });
  const e2 = dp.addNexthop({ type: 'encap', vif: 'p1', dmac: '02:00:00:00:01:01', labels: [100, 200, 300] });
  const n1 = dp.addNexthop({ type: 'neighbor', vif: 'p2', ip: '10.0.2.50' });
  const c = dp.addNexthop({ type: 'composite', members: [e1, e2, n1] });
  dp.addRoute('default', '0.0.0.0/1', c);
  dp.addRoute('default', '128.0.0.0/2', e1);
  dp.addRoute('default', '192.168.0.0/16', dp.addNexthop({ type: 'reject' }));
  dp.addRoute('default', '172.16.0.0/12', dp.addNexthop({ type: 'mpls-udp', src: '10.0.2.1', dst: '10.0.2.9', labels: [77] }));
  dp.addRoute('default', '10.0.2.9/32', e1);
  dp.addRoute('default', '2000::/3', e1);
  dp.addRoute('default', '2001:db8:5::/48', n1);
  dp.addRoute('blue', '0.0.0.0/0', dp.addNexthop({ type: 'vrf', vrf: 'default' }));
  dp.addLabel(1000, { action: 'swap', outLabels: [2000], nh: e1 });
  dp.addLabel(1001, { action: 'php', nh: e1 });
  dp.addLabel(1002, { action: 'pop-lookup', vrf: 'blue' });

  const ip4 = (dst: string, proto = 17, ttl = 64) => F.ipv4({ src: '10.0.1.10', dst, ttl, proto, payload: proto === 1 ? F.icmpEcho(8) : F.udp(1234, 80) });
  const templates: Uint8Array[] = [
    F.eth(R1, H, 0x0800, ip4('8.8.8.8')),
    F.eth(R1, H, 0x0800, ip4('130.1.2.3', 17, 1)),
    F.eth(R1, H, 0x0800, ip4('192.168.1.1')),
    F.eth(R1, H, 0x0800, ip4('172.16.1.1')),
    F.eth(R1, H, 0x0800, ip4('10.0.2.1', 1)),
    F.eth(R1, H, 0x0800, ip4('10.0.2.77')),
    F.eth(R1, H, 0x86dd, F.ipv6({ src: '2001:db8:1::10', dst: '2001:db8:9::1', payload: F.udp(1, 2) })),
    F.eth(R1, H, 0x86dd, F.ipv6({ src: '2001:db8:1::10', dst: '2001:db8:5::1', hlim: 1, payload: F.udp(1, 2) })),
    F.eth(R1, H, 0x86dd, F.ipv6Icmp('2001:db8:1::10', F.solicitedNode('2001:db8:1::1'), F.neighborSolicit('2001:db8:1::1', H), 255)),
    F.eth('ff:ff:ff:ff:ff:ff', H, 0x0806, F.arp(1, H, '10.0.1.10', '00:00:00:00:00:00', '10.0.1.1')),
    F.eth(R1, H, 0x0806, F.arp(2, H, '10.0.1.10', R1, '10.0.1.1')),
    F.eth(R1, H, 0x8847, F.mpls([1000], 64, ip4('8.8.8.8'))),
    F.eth(R1, H, 0x8847, F.mpls([1001, 55], 64, ip4('8.8.8.8'))),
    F.eth(R1, H, 0x8847, F.mpls([1002], 64, ip4('130.0.0.1'))),
    F.eth(R1, H, 0x8847, F.mpls([0], 64, ip4('130.0.0.1'))),
    // MPLS over UDP to the router (pop into blue, then an echo to blue's address; swap; explicit null over IPv6)
    F.eth(R1, H, 0x0800, F.ipv4({ src: '10.0.1.10', dst: '10.0.1.1', payload: F.udp(50000, 6635, F.mpls([1002], 64, ip4('10.0.1.1', 1))) })),
    F.eth(R1, H, 0x0800, F.ipv4({ src: '10.0.1.10', dst: '10.0.2.1', payload: F.udp(50001, 6635, F.mpls([1000], 64, ip4('8.8.8.8'))) })),
    F.eth(R1, H, 0x86dd, F.ipv6({ src: '2001:db8:1::10', dst: '2001:db8:1::1', payload: F.udp(50002, 6635, F.mpls([0], 64, ip4('130.0.0.1'))) })),
    // the tagged frame for p3 (blue) stays last
    F.eth(R3, H, 0x0800, ip4('130.0.0.1'), 10),
  ];
  const r = rng(4242);
  const buf = new Uint8Array(2000);
  const vifs = ['p1', 'p2', 'p3', 'vhost0'];
  const drivers = vifs.map((v) => dp.memoryDriver(v));
  let injected = 0;
  let collected = 0;
  const t0 = Date.now();
  while (injected < TOTAL) {
    for (let b = 0; b < 256 && injected < TOTAL; b++) {
      let len: number;
      let target = r() % 4;
      const kind = r() % 10;
      if (kind === 0) {
        // pure random
        len = r() % 1600;
        for (let k = 0; k < len; k++) buf[k] = r() & 255;
      } else {
        const ti = r() % templates.length;
        const t = templates[ti]!;
        target = ti === templates.length - 1 ? 2 : 0; // the tagged frame belongs to p3, the rest to p1
        buf.set(t);
        len = t.length;
        if (kind <= 6) {
          // flip 1..4 bytes, mostly in the headers
          const flips = 1 + (r() % 4);
          for (let f = 0; f < flips; f++) buf[r() % Math.min(len, 80)] = r() & 255;
        } else if (kind === 7) {
          len = r() % len; // truncate
        } else if (kind === 8) {
          const extra = r() % 1500;
          for (let k = 0; k < extra; k++) buf[len + k] = r() & 255;
          len += extra;
        }
        // kind 9: the template as is
      }
      const d = drivers[r() % 5 === 0 ? r() % 4 : target]!;
      if (!d.inject(buf.subarray(0, len))) break;
      injected++;
    }
    dp.runUntilIdle();
    for (const d of drivers) collected += d.collect().length;
  }
  const secs = (Date.now() - t0) / 1000;
  // packets still held for an unresolved neighbour (graph.ts hold) are sent or dropped once their time is up
  late = 10_000;
  dp.runUntilIdle();
  for (const d of drivers) collected += d.collect().length;
  const c2 = dp.counters();
  const dropped = Object.values(dp.dropStats()).reduce((a, b) => a + b, 0);
  console.log(`# fuzz: ${injected} frames in ${secs.toFixed(1)} s; ${JSON.stringify(c2)}; drops ${dropped}`);
  assert.equal(c2.rx, injected);
  assert.equal(c2.exceptions, 0, 'no node threw');
  assert.equal(c2.rx! + c2.generated!, c2.tx! + c2.punt! + c2.consumed! + dropped, 'every frame accounted for');
  assert.equal(collected, c2.tx! + c2.punt!, 'every sent frame reached a driver');
  assert.equal(dp.poolAvailable(), poolSize, 'no buffer leaked');
  assert.ok(c2.tx! > 0 && c2.punt! > 0 && c2.consumed! > 0, 'the mix exercises forwarding, punt and learning');
  await dp.stop();
});
