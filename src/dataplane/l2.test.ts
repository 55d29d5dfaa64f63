/**
 * L2 switching through the whole data plane, in memory (docs/l2.md): frames injected on
 * memory vifs in L2 mode and collected from the others. Learning, flooding, VLAN isolation,
 * trunk and native VLAN tagging, MAC limits, storm control, no-local-switching, aging and
 * clearing, MAC moves, QinQ (802.1ad provider trunks, tunnel ports), IRB routing between two domains; a differential test against a
 * reference switch (test/support/reference-switch.ts) on random frame sequences; and mutated
 * tagged frames through the L2 nodes with every frame accounted for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDataplane, type VRouterDataplane } from './dataplane.js';
import type { BridgeDomainConfig, BridgePortConfig } from './api.js';
import * as F from '../../test/support/frames.js';
import { rng } from '../../test/support/random.js';
import { ReferenceSwitch, type RefPort } from '../../test/support/reference-switch.js';

const BCAST = 'ff:ff:ff:ff:ff:ff';
const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const C = '02:00:00:00:00:0c';
const D = '02:00:00:00:00:0d';

async function bridge(ports: Record<string, BridgePortConfig>, domains: BridgeDomainConfig[], poolSize = 4096, clock?: () => number): Promise<VRouterDataplane> {
  const dp = createDataplane({ workers: 0, poolSize, ...(clock ? { clock } : {}) });
  for (const name of Object.keys(ports)) await dp.addVif({ name, driver: 'memory', memory: { slots: 1024 } });
  for (const d of domains) dp.setBridgeDomain(d);
  for (const [name, cfg] of Object.entries(ports)) dp.setBridgePort(name, cfg);
  return dp;
}

function send(dp: VRouterDataplane, port: string, frame: Uint8Array): void {
  assert.ok(dp.memoryDriver(port).inject(frame));
  dp.runUntilIdle();
}

/** what each port sent since the last call */
function sent(dp: VRouterDataplane, ports: string[]): Record<string, Uint8Array[]> {
  const out: Record<string, Uint8Array[]> = {};
  for (const p of ports) out[p] = dp.memoryDriver(p).collect();
  return out;
}

const udp = (n = 1): Uint8Array => F.ipv4({ src: '10.9.0.1', dst: '10.9.0.2', payload: F.udp(1000 + n, 2000) });
const vlanOf = (f: Uint8Array): number => (f[12] === 0x81 && f[13] === 0 ? ((f[14]! << 8) | f[15]!) & 0xfff : 0);

test('learning, flooding, unicast, VLAN isolation, trunk and native VLAN tagging', async () => {
  const ports = ['a1', 'a2', 'a3', 't1'];
  const dp = await bridge(
    { a1: { mode: 'access', vlan: 100 }, a2: { mode: 'access', vlan: 100 }, a3: { mode: 'access', vlan: 200 }, t1: { mode: 'trunk', vlans: [200], nativeVlan: 100 } },
    [{ name: 'bd100', vlan: 100 }, { name: 'bd200', vlan: 200 }],
  );
  // broadcast from A on a1: flooded to a2 and t1 (native: untagged), never to a1 or to VLAN 200's a3
  const bc = F.eth(BCAST, A, 0x0800, udp());
  send(dp, 'a1', bc);
  let s = sent(dp, ports);
  assert.equal(s.a1!.length, 0);
  assert.deepEqual(s.a2, [bc]);
  assert.deepEqual(s.t1, [bc]);
  assert.equal(s.a3!.length, 0);
  // B answers A: A was learned on a1, so only a1 gets it
  const ba = F.eth(A, B, 0x0800, udp(2));
  send(dp, 'a2', ba);
  s = sent(dp, ports);
  assert.deepEqual(s.a1, [ba]);
  assert.equal(s.a2!.length + s.a3!.length + s.t1!.length, 0);
  // tagged 200 on the trunk: to a3 untagged; an answer from a3 goes back tagged
  const ct = F.eth(BCAST, C, 0x0800, udp(3), 200);
  send(dp, 't1', ct);
  s = sent(dp, ports);
  assert.equal(s.a1!.length + s.a2!.length, 0);
  assert.deepEqual(s.a3, [F.eth(BCAST, C, 0x0800, udp(3))]);
  send(dp, 'a3', F.eth(C, D, 0x0800, udp(4)));
  s = sent(dp, ports);
  assert.deepEqual(s.t1, [F.eth(C, D, 0x0800, udp(4), 200)]);
  // a unicast to the port's own (router) MAC is switched, not routed: unknown, so flooded
  const own = dp.listVifs().find((v) => v.name === 'a1')!.mac;
  send(dp, 'a1', F.eth(own, A, 0x0800, udp(5)));
  s = sent(dp, ports);
  assert.equal(s.a2!.length, 1);
  assert.equal(s.t1!.length, 1);
  // tags a port does not carry are dropped and counted
  send(dp, 't1', F.eth(BCAST, C, 0x0800, udp(6), 300));
  send(dp, 'a1', F.eth(BCAST, A, 0x0800, udp(7), 100));
  assert.equal(dp.dropStats().l2_vlan_not_allowed, 2);
  s = sent(dp, ports);
  assert.equal(Object.values(s).flat().length, 0);
  assert.deepEqual(dp.listMacs().map((m) => `${m.bridgeDomain} ${m.mac} ${m.interface}`), ['bd100 02:00:00:00:00:0a a1', 'bd100 02:00:00:00:00:0b a2', 'bd200 02:00:00:00:00:0c t1', 'bd200 02:00:00:00:00:0d a3']);
  assert.deepEqual(dp.listMacs('bd200').map((m) => m.mac), [C, D]);
  const doms = dp.listBridgeDomains();
  assert.deepEqual(doms.map((d) => [d.name, d.macs, d.interfaces.map((i) => `${i.name}${i.tagged ? '*' : ''}`)]), [['bd100', 2, ['a1', 'a2', 't1']], ['bd200', 2, ['a3', 't1*']]]);
  assert.equal(dp.counters().exceptions, 0);
  await dp.stop();
});

test('MAC limits per interface and per domain: not learned, frames dropped and counted', async () => {
  const ports = ['a1', 'a2', 'a3'];
  const dp = await bridge({ a1: { mode: 'access', vlan: 10 }, a2: { mode: 'access', vlan: 10 }, a3: { mode: 'access', vlan: 10 } }, [{ name: 'bd', vlan: 10, interfaceMacLimit: 2, macTableSize: 3 }]);
  for (const m of [A, B, C]) send(dp, 'a1', F.eth(BCAST, m, 0x0800, udp()));
  assert.equal(dp.dropStats().mac_limit, 1, 'the third source of a1 is over the interface limit');
  assert.equal(sent(dp, ports).a2!.length, 2);
  send(dp, 'a2', F.eth(BCAST, C, 0x0800, udp()));
  send(dp, 'a2', F.eth(BCAST, D, 0x0800, udp()));
  assert.equal(dp.dropStats().mac_limit, 2, 'the fourth MAC of the domain is over mac-table-size');
  assert.deepEqual(dp.listMacs().map((m) => m.interface), ['a1', 'a1', 'a2']);
  // a learned source keeps working
  send(dp, 'a1', F.eth(C, A, 0x0800, udp()));
  assert.equal(sent(dp, ports).a2!.length, 1);
  await dp.stop();
});

test('interface-mac-limit packet-action none: frames from a source over the port\'s limit are forwarded, not learned; mac-table-size by default still drops', async () => {
  const ports = ['a1', 'a2'];
  const bad = await bridge({ a1: { mode: 'access', vlan: 10 } }, []);
  assert.throws(() => bad.setBridgeDomain({ name: 'bd', vlan: 10, interfaceMacLimit: 1, interfaceMacLimitAction: 'shutdown' as 'none' }), /invalid interface-mac-limit packet-action 'shutdown'/);
  await bad.stop();
  const dp = await bridge({ a1: { mode: 'access', vlan: 10 }, a2: { mode: 'access', vlan: 10 } }, [{ name: 'bd', vlan: 10, interfaceMacLimit: 1, interfaceMacLimitAction: 'none', macTableSize: 3 }]);
  for (const m of [A, B, C]) send(dp, 'a1', F.eth(BCAST, m, 0x0800, udp()));
  assert.equal(dp.dropStats().mac_limit ?? 0, 0, 'nothing dropped over the interface limit');
  assert.equal(sent(dp, ports).a2!.length, 3, 'all three flooded');
  assert.deepEqual(dp.listMacs().map((m) => `${m.mac} ${m.interface}`), [`${A} a1`], 'only the first learned');
  // a unicast from an unlearned source to a learned one is delivered too
  send(dp, 'a2', F.eth(BCAST, D, 0x0800, udp()));
  send(dp, 'a1', F.eth(D, B, 0x0800, udp()));
  assert.equal(sent(dp, ports).a2!.length, 1);
  assert.equal(dp.listBridgeDomains()[0]!.interfaceMacLimitAction, 'none');
  // mac-table-size without packet-action: the default, drop
  dp.setBridgeDomain({ name: 'bd', vlan: 10, macTableSize: 2, interfaceMacLimitAction: 'none' });
  send(dp, 'a2', F.eth(BCAST, '02:00:00:00:00:0e', 0x0800, udp()));
  assert.equal(dp.dropStats().mac_limit, 1, 'the third MAC of the domain is over mac-table-size');
  // back to drop: over the port's limit dropped again
  dp.setBridgeDomain({ name: 'bd', vlan: 10, interfaceMacLimit: 1 });
  send(dp, 'a1', F.eth(BCAST, C, 0x0800, udp()));
  assert.equal(dp.dropStats().mac_limit, 2);
  await dp.stop();
});

test('mac-table-size packet-action: drop (the default) drops and counts frames from a new source over the domain\'s limit, none forwards them unlearned; a frame over both limits is dropped if either drops', async () => {
  const ports = ['a1', 'a2'];
  const bad = await bridge({ a1: { mode: 'access', vlan: 10 } }, []);
  assert.throws(() => bad.setBridgeDomain({ name: 'bd', vlan: 10, macTableSize: 1, macTableSizeAction: 'log' as 'none' }), /invalid mac-table-size packet-action 'log'/);
  await bad.stop();
  const dp = await bridge({ a1: { mode: 'access', vlan: 10 }, a2: { mode: 'access', vlan: 10 } }, [{ name: 'bd', vlan: 10, macTableSize: 2, macTableSizeAction: 'drop' }]);
  for (const m of [A, B, C]) send(dp, 'a1', F.eth(BCAST, m, 0x0800, udp()));
  assert.equal(dp.dropStats().mac_limit, 1, 'drop: the third source dropped and counted');
  assert.equal(sent(dp, ports).a2!.length, 2);
  dp.setBridgeDomain({ name: 'bd', vlan: 10, macTableSize: 2, macTableSizeAction: 'none' });
  assert.equal(dp.listBridgeDomains()[0]!.macTableSizeAction, 'none');
  send(dp, 'a1', F.eth(BCAST, C, 0x0800, udp()));
  send(dp, 'a2', F.eth(A, D, 0x0800, udp()));
  assert.equal(dp.dropStats().mac_limit, 1, 'none: nothing more dropped');
  const out = sent(dp, ports);
  assert.equal(out.a2!.length, 1, 'C flooded');
  assert.equal(out.a1!.length, 1, 'D unicast to A, delivered');
  assert.deepEqual(dp.listMacs().map((m) => m.mac).sort(), [A, B], 'neither C nor D learned');
  // over both limits: the port's (drop, the default) drops though the table's says none
  dp.setBridgeDomain({ name: 'bd', vlan: 10, macTableSize: 2, macTableSizeAction: 'none', interfaceMacLimit: 2 });
  send(dp, 'a1', F.eth(BCAST, C, 0x0800, udp()));
  assert.equal(dp.dropStats().mac_limit, 2);
  // and the other way round: over both, the table's drop wins over the port's none
  dp.setBridgeDomain({ name: 'bd', vlan: 10, macTableSize: 2, interfaceMacLimit: 2, interfaceMacLimitAction: 'none' });
  send(dp, 'a1', F.eth(BCAST, C, 0x0800, udp()));
  assert.equal(dp.dropStats().mac_limit, 3);
  assert.equal(sent(dp, ports).a2!.length, 0);
  await dp.stop();
});

test('MAC limits hold within one burst of new sources, before the main thread has counted them', async () => {
  const dp = await bridge({ a1: { mode: 'access', vlan: 10 }, a2: { mode: 'access', vlan: 10 } }, [{ name: 'bd', vlan: 10, interfaceMacLimit: 4 }]);
  for (let k = 0; k < 10; k++) dp.memoryDriver('a1').inject(F.eth(BCAST, `02:00:00:00:02:${k.toString(16).padStart(2, '0')}`, 0x0800, udp()));
  dp.runUntilIdle();
  assert.equal(dp.memoryDriver('a2').collect().length, 4);
  assert.equal(dp.dropStats().mac_limit, 6);
  assert.equal(dp.listMacs().length, 4);
  await dp.stop();
});

test('MAC limits hold while learn events are in flight and the main thread changes the MAC table meanwhile', async () => {
  // A worker hands its learn events to the main thread in batches; here (workers: 0) the test
  // plays the two threads' interleaving through the engine itself (internal: no public call
  // leaves a batch unapplied): S1 posted, not applied yet; the main thread clears another
  // MAC (a change of the table); S2 and S3 arrive. With the limit 2 only S2 may be learned.
  const dp = await bridge({ a1: { mode: 'access', vlan: 10 }, a2: { mode: 'access', vlan: 10 } }, [{ name: 'bd', vlan: 10, interfaceMacLimit: 2 }]);
  const inner = dp as unknown as { engine: { runOnce(): number; takeEvents(): Uint32Array | undefined }; applyEvents(ev: Uint32Array, worker: number): void };
  const src = (k: number) => `02:00:00:00:03:0${k}`;
  send(dp, 'a2', F.eth(BCAST, src(9), 0x0800, udp()));
  dp.memoryDriver('a1').inject(F.eth(BCAST, src(1), 0x0800, udp()));
  inner.engine.runOnce();
  const inFlight = inner.engine.takeEvents()!;
  assert.equal(dp.clearMacs('bd'), 1);
  dp.memoryDriver('a1').inject(F.eth(BCAST, src(2), 0x0800, udp()));
  dp.memoryDriver('a1').inject(F.eth(BCAST, src(3), 0x0800, udp()));
  inner.engine.runOnce();
  inner.applyEvents(inFlight, 0);
  dp.runUntilIdle();
  assert.deepEqual(dp.listMacs().map((m) => m.mac), [src(1), src(2)]);
  assert.equal(dp.dropStats().mac_limit, 1, 'S3 dropped and counted');
  assert.equal(dp.memoryDriver('a2').collect().length, 2, 'only the learned sources are switched');
  await dp.stop();
});

test('storm control: broadcast, multicast and unknown unicast beyond the rate are dropped and counted; known unicast is not limited', async () => {
  const ports = ['a1', 'a2'];
  const dp = await bridge({ a1: { mode: 'access', vlan: 10, stormControl: { bitsPerSecond: 8000, burstBytes: 1000 } }, a2: { mode: 'access', vlan: 10 } }, [{ name: 'bd', vlan: 10 }]);
  const f = F.eth(BCAST, A, 0x0800, udp()); // 60 bytes
  for (let k = 0; k < 40; k++) dp.memoryDriver('a1').inject(f);
  dp.runUntilIdle();
  const passed = sent(dp, ports).a2!.length;
  // 1000 bytes of burst = 16 frames of 60 (8000 bit/s refills 1 byte per ms: at most a few more)
  assert.ok(passed >= 16 && passed <= 20, `passed ${passed}`);
  assert.equal(dp.dropStats().storm_control, 40 - passed);
  send(dp, 'a2', F.eth(BCAST, B, 0x0800, udp()));
  sent(dp, ports);
  for (let k = 0; k < 40; k++) dp.memoryDriver('a1').inject(F.eth(B, A, 0x0800, udp()));
  dp.runUntilIdle();
  assert.equal(sent(dp, ports).a2!.length, 40);
  // multicast and unknown unicast take from the same bucket, still empty (1 byte a ms comes back)
  const before = dp.dropStats().storm_control!;
  for (let k = 0; k < 10; k++) dp.memoryDriver('a1').inject(F.eth('01:00:5e:00:00:fb', A, 0x0800, udp()));
  for (let k = 0; k < 10; k++) dp.memoryDriver('a1').inject(F.eth('02:00:00:00:99:99', A, 0x0800, udp()));
  dp.runUntilIdle();
  const flooded = sent(dp, ports).a2!.length;
  assert.ok(flooded <= 1, `flooded ${flooded}`);
  assert.equal(dp.dropStats().storm_control! - before, 20 - flooded);
  await dp.stop();
});

test('no-local-switching: marked ports do not switch to each other, but to others', async () => {
  const ports = ['a1', 'a2', 'a3'];
  const dp = await bridge({ a1: { mode: 'access', vlan: 10, noLocalSwitching: true }, a2: { mode: 'access', vlan: 10, noLocalSwitching: true }, a3: { mode: 'access', vlan: 10 } }, [{ name: 'bd', vlan: 10 }]);
  send(dp, 'a1', F.eth(BCAST, A, 0x0800, udp()));
  let s = sent(dp, ports);
  assert.equal(s.a2!.length, 0);
  assert.equal(s.a3!.length, 1);
  send(dp, 'a2', F.eth(A, B, 0x0800, udp()));
  assert.equal(dp.dropStats().no_local_switching, 1);
  send(dp, 'a3', F.eth(A, C, 0x0800, udp()));
  s = sent(dp, ports);
  assert.equal(s.a1!.length, 1);
  await dp.stop();
});

/** f with an 802.1ad S-tag (TPID 0x88a8, S-VID svid) in front of whatever follows its MACs */
function sTagged(f: Uint8Array, svid: number): Uint8Array {
  const o = new Uint8Array(f.length + 4);
  o.set(f.subarray(0, 12));
  o[12] = 0x88; o[13] = 0xa8; o[14] = svid >> 8; o[15] = svid & 255;
  o.set(f.subarray(12), 16);
  return o;
}

test('QinQ: a tunnel port to an 802.1ad provider trunk and back with the customer tag intact; 802.1Q tags on the provider trunk dropped and counted', async () => {
  const ports = ['pt', 'tun', 'acc', 'ct'];
  const dp = await bridge(
    { pt: { mode: 'trunk', vlans: [500, 600], tpid: 0x88a8 }, tun: { mode: 'access', vlan: 500, dot1qTunneling: true }, acc: { mode: 'access', vlan: 600 }, ct: { mode: 'trunk', vlans: [600] } },
    [{ name: 'svlan500', vlan: 500 }, { name: 'bd600', vlan: 600 }],
  );
  // the customer's C-tagged (VLAN 10) broadcast on the tunnel port: out on the provider trunk in S-VLAN 500, C-tag intact
  const c10 = F.eth(BCAST, A, 0x0800, udp(1), 10);
  send(dp, 'tun', c10);
  let s = sent(dp, ports);
  assert.deepEqual(s.pt, [sTagged(c10, 500)]);
  assert.equal(s.acc!.length + s.ct!.length + s.tun!.length, 0);
  // the answer, S-tagged on the trunk: to the tunnel port (A was learned there) without its S-tag
  const back = F.eth(A, B, 0x0800, udp(2), 10);
  send(dp, 'pt', sTagged(back, 500));
  s = sent(dp, ports);
  assert.deepEqual(s.tun, [back]);
  // untagged frames of the customer go into the same S-VLAN; known unicasts both ways again (the fused path's)
  const untagged = F.eth(B, C, 0x0800, udp(3));
  send(dp, 'tun', untagged);
  send(dp, 'tun', F.eth(B, A, 0x0800, udp(4), 10));
  send(dp, 'pt', sTagged(back, 500));
  s = sent(dp, ports);
  assert.deepEqual(s.pt, [sTagged(untagged, 500), sTagged(F.eth(B, A, 0x0800, udp(4), 10), 500)]);
  assert.deepEqual(s.tun, [back]);
  assert.ok(dp.counters().l2_fast_path! > 0, 'the fused L2 fast path took QinQ frames');
  // an 802.1Q-tagged frame on the provider trunk: dropped and counted
  send(dp, 'pt', F.eth(BCAST, D, 0x0800, udp(5), 500));
  assert.equal(dp.dropStats().l2_vlan_not_allowed, 1);
  assert.equal(Object.values(sent(dp, ports)).flat().length, 0);
  // one domain with an 802.1ad and an 802.1Q trunk: a tag carries each port's TPID
  const plain = F.eth(BCAST, D, 0x0800, udp(6));
  send(dp, 'pt', sTagged(plain, 600));
  s = sent(dp, ports);
  assert.deepEqual(s.ct, [F.eth(BCAST, D, 0x0800, udp(6), 600)]);
  assert.deepEqual(s.acc, [plain]);
  send(dp, 'ct', F.eth(D, C, 0x0800, udp(7), 600));
  send(dp, 'acc', F.eth(D, A, 0x0800, udp(8)));
  s = sent(dp, ports);
  assert.deepEqual(s.pt, [sTagged(F.eth(D, C, 0x0800, udp(7)), 600), sTagged(F.eth(D, A, 0x0800, udp(8)), 600)]);
  // the MTU allows a tunnelled frame its customer tag's 4 bytes, no more
  const mtu = dp.listVifs().find((v) => v.name === 'tun')!.mtu;
  send(dp, 'tun', F.eth(BCAST, A, 0x0800, new Uint8Array(mtu), 10));
  assert.equal(sent(dp, ports).pt!.length, 1);
  send(dp, 'tun', F.eth(BCAST, A, 0x0800, new Uint8Array(mtu + 1), 10));
  assert.equal(sent(dp, ports).pt!.length, 0);
  assert.equal(dp.dropStats().oversize, 1);
  // refused: a TPID on an access port, tunnelling on a trunk, an unknown TPID
  assert.throws(() => dp.setBridgePort('acc', { mode: 'access', vlan: 600, tpid: 0x88a8 }), /only a trunk has a TPID/);
  assert.throws(() => dp.setBridgePort('ct', { mode: 'trunk', vlans: [600], dot1qTunneling: true }), /dot1q-tunneling is for an access port/);
  assert.throws(() => dp.setBridgePort('ct', { mode: 'trunk', vlans: [600], tpid: 0x0800 }), /not one of 0x8100, 0x88a8, 0x9100/);
  assert.equal(dp.counters().exceptions, 0);
  await dp.stop();
});

test('aging, clearing and MAC moves', async () => {
  const ports = ['a1', 'a2', 'a3'];
  const dp = await bridge({ a1: { mode: 'access', vlan: 10 }, a2: { mode: 'access', vlan: 10 }, a3: { mode: 'access', vlan: 10 } }, [{ name: 'bd', vlan: 10 }]);
  dp.setMacAging(60);
  send(dp, 'a1', F.eth(BCAST, A, 0x0800, udp()));
  send(dp, 'a2', F.eth(BCAST, B, 0x0800, udp()));
  const now = Math.floor(Date.now() / 1000);
  assert.equal(dp.ageMacs(now + 30), 0);
  assert.equal(dp.ageMacs(now + 61), 2);
  assert.equal(dp.listMacs().length, 0);
  // after aging, unknown again: flooded
  sent(dp, ports);
  send(dp, 'a3', F.eth(A, C, 0x0800, udp()));
  let s = sent(dp, ports);
  assert.equal(s.a1!.length + s.a2!.length, 2);
  // A moves from a1 to a2: counted, logged, and unicast follows it
  const logged: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => logged.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    send(dp, 'a1', F.eth(BCAST, A, 0x0800, udp()));
    send(dp, 'a2', F.eth(BCAST, A, 0x0800, udp()));
  } finally {
    process.stderr.write = write;
  }
  assert.equal(dp.listBridgeDomains()[0]!.moves, 1);
  assert.equal(logged.filter((l) => l.includes(`MAC move in bridge domain bd: ${A} from a1 to a2`)).length, 1, logged.join(''));
  sent(dp, ports);
  send(dp, 'a3', F.eth(A, C, 0x0800, udp()));
  s = sent(dp, ports);
  assert.equal(s.a2!.length, 1);
  assert.equal(s.a1!.length, 0);
  // a loop: moves back and forth are all counted, logged at most once a second with the number not logged
  logged.length = 0;
  process.stderr.write = ((chunk: string | Uint8Array) => logged.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    for (const port of ['a1', 'a2', 'a1']) send(dp, port, F.eth(BCAST, A, 0x0800, udp()));
    await new Promise((res) => setTimeout(res, 1100));
    send(dp, 'a2', F.eth(BCAST, A, 0x0800, udp()));
  } finally {
    process.stderr.write = write;
  }
  assert.equal(dp.listBridgeDomains()[0]!.moves, 5);
  const moves = logged.filter((l) => l.includes('MAC move in bridge domain bd'));
  assert.equal(moves.length, 1, logged.join(''));
  assert.match(moves[0]!, new RegExp(`${A} from a1 to a2 \\(and 3 more moves since the last message\\)`));
  assert.equal(dp.clearMacs('bd'), 2);
  assert.equal(dp.listBridgeDomains()[0]!.macs, 0);
  await dp.stop();
});

test('IRB: ARP for the IRB answered in the domain, routing between two domains, ARP flooded while unresolved', async () => {
  const ports = ['a1', 'a2', 't1'];
  const dp = await bridge({ a1: { mode: 'access', vlan: 100 }, a2: { mode: 'access', vlan: 200 }, t1: { mode: 'trunk', vlans: [100, 200] } }, [{ name: 'bd100', vlan: 100 }, { name: 'bd200', vlan: 200 }]);
  await dp.addVif({ name: 'irb.100', driver: 'irb', addresses: ['10.100.0.1/24'] });
  await dp.addVif({ name: 'irb.200', driver: 'irb', addresses: ['10.200.0.1/24'] });
  dp.setBridgeDomain({ name: 'bd100', vlan: 100, irb: 'irb.100' });
  dp.setBridgeDomain({ name: 'bd200', vlan: 200, irb: 'irb.200' });
  const irb100 = dp.listVifs().find((v) => v.name === 'irb.100')!.mac;
  const irb200 = dp.listVifs().find((v) => v.name === 'irb.200')!.mac;
  // H1 (A, 10.100.0.10 on a1) asks for its gateway: flooded to t1 (tagged 100) and answered by the IRB
  send(dp, 'a1', F.eth(BCAST, A, 0x0806, F.arp(1, A, '10.100.0.10', '00:00:00:00:00:00', '10.100.0.1')));
  let s = sent(dp, ports);
  // (the reply comes in the same run as the request, before the main thread has installed A:
  // unknown yet, it is flooded to t1 too)
  assert.equal(s.t1!.length, 2);
  assert.deepEqual(s.t1!.map(vlanOf), [100, 100]);
  assert.equal(s.a1!.length, 1, `the ARP reply: ${s.a1!.map((f) => F.hex(f, 0, f.length)).join(' ')}`);
  const reply = s.a1![0]!;
  assert.deepEqual([F.hex(reply, 0, 6), F.hex(reply, 6, 6), reply[12], reply[13], reply[21]], [F.hex(F.mac(A), 0, 6), F.hex(F.mac(irb100), 0, 6), 0x08, 0x06, 2]);
  assert.ok(dp.listMacs('bd100').some((m) => m.mac === irb100 && m.static && m.interface === 'irb.100'));
  // H1 pings H2 (10.200.0.10, behind a2): the router asks for H2 in VLAN 200 (a2 untagged, t1 tagged)
  const ping = F.eth(irb100, A, 0x0800, F.ipv4({ src: '10.100.0.10', dst: '10.200.0.10', ttl: 64, proto: 1, payload: F.icmpEcho(8) }));
  send(dp, 'a1', ping);
  s = sent(dp, ports);
  assert.equal(s.a2!.length, 1);
  assert.deepEqual([F.hex(s.a2![0]!, 0, 6), s.a2![0]![12], s.a2![0]![13]], [BCAST, 0x08, 0x06]);
  assert.equal(s.t1!.length, 1);
  assert.equal(vlanOf(s.t1![0]!), 200);
  // the ping waits for H2's answer (graph.ts hold), and goes once it comes
  assert.equal(dp.dropStats().arp_unresolved ?? 0, 0);
  send(dp, 'a2', F.eth(irb200, B, 0x0806, F.arp(2, B, '10.200.0.10', irb200, '10.200.0.1')));
  s = sent(dp, ports);
  assert.equal(s.a2!.length, 1, 'the held ping');
  assert.equal(s.a2![0]![14 + 8], 63);
  send(dp, 'a1', ping);
  s = sent(dp, ports);
  assert.equal(s.a2!.length, 1, 'the routed ping');
  const out = s.a2![0]!;
  assert.deepEqual([F.hex(out, 0, 6), F.hex(out, 6, 6)], [B, irb200]);
  assert.equal(out[14 + 8], 63, 'TTL decremented');
  assert.equal(F.ipAt(out, 14 + 16), '10.200.0.10');
  assert.equal(s.t1!.length, 0, 'a known MAC is not flooded');
  assert.equal(dp.counters().exceptions, 0);
  await dp.stop();
});
test('IRB in a VRF: the domain routes in the IRB\'s routing instance, not the default one', async () => {
  const dp = await bridge({ a1: { mode: 'access', vlan: 100 } }, [{ name: 'bd100', vlan: 100 }]);
  dp.addVrf('blue');
  // the same subnet in both instances: only blue's interface may see the domain's traffic
  await dp.addVif({ name: 'blue0', driver: 'memory', memory: { slots: 256 }, vrf: 'blue', addresses: ['10.9.0.1/24'] });
  await dp.addVif({ name: 'dflt0', driver: 'memory', memory: { slots: 256 }, addresses: ['10.9.0.1/24'] });
  await dp.addVif({ name: 'irb.100', driver: 'irb', vrf: 'blue', addresses: ['10.100.0.1/24'] });
  dp.setBridgeDomain({ name: 'bd100', vlan: 100, irb: 'irb.100' });
  const irb = dp.listVifs().find((v) => v.name === 'irb.100')!.mac;
  assert.ok(dp.listRoutes('blue', 4).some((r) => r.prefix === '10.100.0.0/24'), 'the IRB\'s subnet is blue\'s');
  assert.ok(!dp.listRoutes('default', 4).some((r) => r.prefix === '10.100.0.0/24'), 'and not the default instance\'s');
  // H1 on a1 pings 10.9.0.10: routed in blue, so the ARP request for it leaves blue0 only
  send(dp, 'a1', F.eth(irb, A, 0x0800, F.ipv4({ src: '10.100.0.10', dst: '10.9.0.10', ttl: 64, proto: 1, payload: F.icmpEcho(8) })));
  const s = sent(dp, ['a1', 'blue0', 'dflt0']);
  assert.equal(s.blue0!.length, 1);
  assert.deepEqual([s.blue0![0]![12], s.blue0![0]![13], F.ipAt(s.blue0![0]!, 14 + 24)], [0x08, 0x06, '10.9.0.10']);
  assert.equal(s.dflt0!.length, 0);
  assert.equal(dp.counters().exceptions, 0);
  await dp.stop();
});


for (const fused of [true, false]) test(`differential: random frame sequences through the data plane and a reference switch agree (${fused ? 'with' : 'without'} the fused L2 fast path)`, async () => {
  const cfg: Record<string, RefPort & BridgePortConfig> = {
    p1: { mode: 'access', vlan: 10 },
    p2: { mode: 'access', vlan: 10, noLocalSwitching: true },
    p3: { mode: 'access', vlan: 20, noLocalSwitching: true },
    p4: { mode: 'trunk', vlans: [10, 20, 30], nativeVlan: 40 },
    p5: { mode: 'trunk', vlans: [20, 30], noLocalSwitching: true },
    p6: { mode: 'access', vlan: 40 },
    // QinQ: a provider trunk and a tunnel port
    p7: { mode: 'trunk', vlans: [10, 30], tpid: 0x88a8 },
    p8: { mode: 'access', vlan: 30, dot1qTunneling: true },
  };
  const portCfg = (c: RefPort & BridgePortConfig): BridgePortConfig => (c.mode === 'access' ? { mode: 'access', vlan: c.vlan!, ...(c.noLocalSwitching ? { noLocalSwitching: true } : {}), ...(c.dot1qTunneling ? { dot1qTunneling: true } : {}) } : { mode: 'trunk', vlans: c.vlans!, ...(c.nativeVlan ? { nativeVlan: c.nativeVlan } : {}), ...(c.noLocalSwitching ? { noLocalSwitching: true } : {}), ...(c.tpid ? { tpid: c.tpid } : {}) });
  const domains = [{ name: 'bd10', vlan: 10, interfaceMacLimit: 6 }, { name: 'bd20', vlan: 20, macTableSize: 10 }, { name: 'bd30', vlan: 30 }, { name: 'bd40', vlan: 40 }];
  // the graph reads CNR_DP_NO_FAST_PATH when it is made (workers: 0, in this process)
  if (!fused) process.env.CNR_DP_NO_FAST_PATH = '1';
  const dp = await bridge(Object.fromEntries(Object.entries(cfg).map(([k, v]) => [k, portCfg(v)])), domains);
  delete process.env.CNR_DP_NO_FAST_PATH;
  const ref = new ReferenceSwitch();
  for (const [k, v] of Object.entries(cfg)) ref.ports.set(k, { ...v, native: v.nativeVlan });
  for (const d of domains) ref.domains.set(d.vlan, d);
  const names = Object.keys(cfg);
  const r = rng(1414);
  const macs = Array.from({ length: 12 }, (_, k) => `02:00:00:00:01:${k.toString(16).padStart(2, '0')}`);
  const dsts = [...macs, BCAST, '01:00:5e:00:00:01', '33:33:00:00:00:01'];
  const vlans = [0, 0, 10, 20, 30, 40, 50];
  let frames = 0;
  const outcome: Record<string, number> = {};
  for (let k = 0; k < 5000; k++) {
    const port = names[r() % names.length]!;
    const src = r() % 40 === 0 ? '01:00:00:00:00:01' : macs[r() % macs.length]!;
    const vlan = vlans[r() % vlans.length]!;
    // tagged frames sometimes carry priority bits, which a tagged egress keeps
    let f = F.eth(dsts[r() % dsts.length]!, src, 0x0800, udp(k), vlan || undefined);
    if (vlan && r() % 4 === 0) f[14] |= 0xa0;
    // some tags are 802.1ad S-tags
    if (vlan && r() % 3 === 0) { f[12] = 0x88; f[13] = 0xa8; }
    if (r() % 50 === 0) f = f.subarray(0, r() % 18);
    const want = ref.receive(port, f);
    send(dp, port, f);
    frames++;
    const got = sent(dp, names);
    const key = want.drop ?? `out${want.out.length}`;
    outcome[key] = (outcome[key] ?? 0) + 1;
    for (const n of names) {
      const exp = want.out.filter((o) => o.port === n).map((o) => F.hex(o.frame, 0, o.frame.length));
      assert.deepEqual(got[n]!.map((g) => F.hex(g, 0, g.length)), exp, `frame ${k} (${F.hex(f, 0, Math.min(18, f.length))}) on ${port}: port ${n}; reference ${JSON.stringify(want.drop)}; drops ${JSON.stringify(Object.fromEntries(Object.entries(dp.dropStats()).filter(([, v]) => v > 0)))} ${JSON.stringify(outcome)}`);
    }
  }
  const drops = dp.dropStats();
  for (const reason of ['l2_vlan_not_allowed', 'l2_no_domain', 'l2_bad_source', 'mac_limit', 'l2_same_port', 'no_local_switching', 'truncated']) assert.equal(drops[reason], outcome[reason] ?? 0, reason);
  const fast = dp.counters().l2_fast_path!;
  console.log(`# differential: ${frames} frames; outcomes ${JSON.stringify(outcome)}; ${fast} through the fused L2 fast path`);
  if (fused) assert.ok(fast > 0 && fast < (outcome.out1 ?? 0), 'the fused path took some known unicasts, the l2 nodes the rest');
  else assert.equal(fast, 0);
  assert.ok((outcome.mac_limit ?? 0) > 0 && (outcome.no_local_switching ?? 0) > 0 && (outcome.out1 ?? 0) > 0 && (outcome.out2 ?? 0) > 0, 'the mix exercises limits, no-local-switching, unicast and flooding');
  await dp.stop();
});

test('fuzz: mutated tagged frames through the L2 nodes, every frame accounted for, no buffer leaked', async () => {
  const poolSize = 4096;
  // the clock runs late by `late` ms: at the end, past the time routed packets wait for a neighbour's MAC
  let late = 0;
  const dp = await bridge({ p1: { mode: 'trunk', vlans: [10, 20], nativeVlan: 30, stormControl: { bitsPerSecond: 50_000_000 } }, p2: { mode: 'access', vlan: 10, dot1qTunneling: true }, p3: { mode: 'trunk', vlans: [20, 30], tpid: 0x88a8 }, p4: { mode: 'access', vlan: 20, noLocalSwitching: true } }, [{ name: 'bd10', vlan: 10, interfaceMacLimit: 50 }, { name: 'bd20', vlan: 20, macTableSize: 100 }, { name: 'bd30', vlan: 30 }], poolSize, () => performance.now() + late);
  await dp.addVif({ name: 'irb.10', driver: 'irb', addresses: ['10.10.0.1/24', '2001:db8:10::1/64'] });
  dp.setBridgeDomain({ name: 'bd10', vlan: 10, irb: 'irb.10', interfaceMacLimit: 50 });
  const irb = dp.listVifs().find((v) => v.name === 'irb.10')!.mac;
  const ip4 = (dst: string) => F.ipv4({ src: '10.10.0.9', dst, payload: F.udp(1, 2) });
  const templates = [
    F.eth(BCAST, A, 0x0806, F.arp(1, A, '10.10.0.9', '00:00:00:00:00:00', '10.10.0.1'), 10),
    F.eth(irb, A, 0x0800, ip4('10.10.0.77'), 10),
    F.eth(irb, B, 0x0800, ip4('10.10.0.1')),
    F.eth(B, A, 0x0800, ip4('10.0.0.1'), 20),
    F.eth(A, C, 0x86dd, F.ipv6({ src: '2001:db8:10::9', dst: '2001:db8:10::1', payload: F.udp(1, 2) }), 30),
    F.eth('33:33:ff:00:00:01', C, 0x86dd, F.ipv6Icmp('2001:db8:10::9', F.solicitedNode('2001:db8:10::1'), F.neighborSolicit('2001:db8:10::1', C), 255), 10),
    F.eth(D, A, 0x0800, ip4('10.0.0.1')),
    sTagged(F.eth(B, D, 0x0800, ip4('10.0.0.1'), 10), 20),
  ];
  const names = ['p1', 'p2', 'p3', 'p4'];
  const drivers = names.map((n) => dp.memoryDriver(n));
  const r = rng(777);
  const buf = new Uint8Array(1600);
  let injected = 0;
  let collected = 0;
  while (injected < 200_000) {
    for (let b = 0; b < 200; b++) {
      const t = templates[r() % templates.length]!;
      buf.set(t);
      let len = t.length;
      const kind = r() % 8;
      if (kind < 5) for (let f = 0, nf = 1 + (r() % 3); f < nf; f++) buf[r() % Math.min(len, 24)] = r() & 255;
      else if (kind === 5) len = r() % len;
      else if (kind === 6) for (let q = 0; q < 6; q++) buf[6 + q] = r() & 255; // many sources: limits, table churn
      if (!drivers[r() % 4]!.inject(buf.subarray(0, len))) break;
      injected++;
    }
    dp.runUntilIdle();
    for (const d of drivers) collected += d.collect().length;
    if (injected % 20000 < 200) dp.ageMacs(Math.floor(Date.now() / 1000) + 1000);
  }
  // packets still held for an unresolved neighbour are sent or dropped once their time is up
  late = 10_000;
  dp.runUntilIdle();
  for (const d of drivers) collected += d.collect().length;
  const c = dp.counters();
  const dropped = Object.values(dp.dropStats()).reduce((a, b) => a + b, 0);
  console.log(`# l2 fuzz: ${injected} frames; ${JSON.stringify(c)}; drops ${JSON.stringify(Object.fromEntries(Object.entries(dp.dropStats()).filter(([, v]) => v > 0)))}`);
  assert.equal(c.rx, injected);
  assert.equal(c.exceptions, 0, 'no node threw');
  assert.equal(c.rx! + c.generated! + c.l2_flood_copies!, c.tx! + c.punt! + c.consumed! + dropped, 'every frame accounted for');
  assert.equal(collected, c.tx!, 'every sent frame reached a driver');
  assert.equal(dp.poolAvailable(), poolSize, 'no buffer leaked');
  assert.ok(c.l2_flood_copies! > 0 && c.tx! > 0 && c.l2_fast_path! > 0, 'flooding, forwarding and the fused L2 fast path exercised');
  await dp.stop();
});
