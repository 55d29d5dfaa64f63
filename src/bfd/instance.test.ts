/**
 * Two BFD instances joined back to back on simulated time (no socket, no clock: the test
 * is the wire and the clock): bring-up, timers negotiated to the slower side, detection
 * time, a silent peer detected, keyed SHA1 accepted and a wrong key refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BFD_PORT_MULTIHOP, BFD_PORT_SINGLE_HOP, encodeBfdControl, signBfdControl } from '../wire/bfd.js';
import { BfdInstance, type BfdOutput, type BfdSessionConfig, type BfdSessionKey, detectionTimeUs, encodeSessionPacket, jittered, txIntervalUs } from './index.js';

const KA: BfdSessionKey = { kind: 'single-hop', ifname: 'a0', local: '10.0.0.1', peer: '10.0.0.2' };
const KB: BfdSessionKey = { kind: 'single-hop', ifname: 'b0', local: '10.0.0.2', peer: '10.0.0.1' };
const FAST: BfdSessionConfig = { desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3, controlPlaneIndependent: true };

/** Run both sides for `us` of simulated time in 1 ms steps; `cut` drops everything in flight. */
function pair(ca: BfdSessionConfig, cb: BfdSessionConfig) {
  const a = new BfdInstance({ random: () => 1, firstDiscriminator: 100 });
  const b = new BfdInstance({ random: () => 1, firstDiscriminator: 200 });
  let now = 0;
  const sa = a.addSession(KA, ca, now);
  const sb = b.addSession(KB, cb, now);
  const log: string[] = [];
  let cut = false;
  const deliver = (outs: BfdOutput[], from: 'a' | 'b') => {
    for (const o of outs) {
      if (o.kind === 'state-change') log.push(`${from} ${o.from}->${o.to} diag ${o.diag}`);
      if (o.kind !== 'send' || cut) continue;
      const buf = new Uint8Array(64);
      const end = encodeSessionPacket(from === 'a' ? sa : sb, o.packet, buf);
      const to = from === 'a' ? b : a;
      const meta = from === 'a' ? { ifname: 'b0', srcAddress: '10.0.0.1', dstAddress: '10.0.0.2' } : { ifname: 'a0', srcAddress: '10.0.0.2', dstAddress: '10.0.0.1' };
      deliver(to.receive(buf.subarray(0, end), { ...meta, srcPort: 49152, dstPort: BFD_PORT_SINGLE_HOP, ttl: 255 }, now), from === 'a' ? 'b' : 'a');
    }
  };
  return {
    a, b, sa, sb, log,
    run(us: number) {
      for (const end = now + us; now < end; now += 1000) {
        deliver(a.tick(now), 'a');
        deliver(b.tick(now), 'b');
      }
    },
    cut() { cut = true; },
    now: () => now,
  };
}

test('two sessions come Up in a three-way handshake and negotiate to the slower side', () => {
  const p = pair(FAST, { ...FAST, desiredMinTxUs: 300_000, requiredMinRxUs: 200_000, detectMult: 5 });
  p.run(3_000_000);
  assert.deepEqual(p.log, ['b Down->Init diag 0', 'a Down->Up diag 0', 'b Init->Up diag 0']);
  assert.equal(p.sa.state, 'Up');
  assert.equal(p.sb.state, 'Up');
  assert.equal(p.sa.polling || p.sb.polling, false, 'both poll sequences ended');
  // A sends every max(100 ms, B's 200 ms required RX); B every max(300, 100)
  assert.equal(txIntervalUs(p.sa), 200_000);
  assert.equal(txIntervalUs(p.sb), 300_000);
  // A detects B after B's multiplier 5 x max(A's RX 100, B's TX 300) = 1.5 s; B detects A after 3 x max(200, 100)
  assert.equal(detectionTimeUs(p.sa), 1_500_000);
  assert.equal(detectionTimeUs(p.sb), 600_000);
  assert.equal(p.sa.remoteDiscr, p.sb.localDiscr);
  assert.equal(p.a.discards().size, 0);
});

test('a silent peer is detected within the detection time, with diag 1, and the peer sees it', () => {
  const p = pair(FAST, FAST);
  p.run(3_000_000);
  assert.equal(p.sa.state, 'Up');
  p.cut();
  const cutAt = p.now();
  p.log.length = 0;
  p.run(1_000_000);
  assert.deepEqual(p.log.sort(), ['a Up->Down diag 1', 'b Up->Down diag 1']);
  const downFor = p.now() - p.sa.sinceUs;
  assert.ok(p.sa.sinceUs - cutAt <= 300_000 + 1000, `detected ${p.sa.sinceUs - cutAt} us after the cut, within 3 x 100 ms`);
  assert.ok(downFor > 0);
  assert.equal(p.sa.remoteDiscr, 0, 'bfd.RemoteDiscr forgotten');
  assert.equal(p.sa.counters.flaps, 1);
});

test('jitter: 75-100% of the interval, at most 90% with multiplier 1', () => {
  assert.equal(jittered(100_000, 3, 0), 75_000);
  assert.equal(jittered(100_000, 3, 1), 100_000);
  assert.equal(jittered(100_000, 1, 1), 90_000);
});

test('keyed SHA1: same key comes Up; a wrong key is refused and counted', () => {
  const key = new TextEncoder().encode('s3cret');
  const ok = pair({ ...FAST, auth: { type: 5, keyId: 1, key } }, { ...FAST, auth: { type: 5, keyId: 1, key } });
  ok.run(3_000_000);
  assert.equal(ok.sa.state, 'Up');
  const bad = pair({ ...FAST, auth: { type: 4, keyId: 1, key } }, { ...FAST, auth: { type: 4, keyId: 1, key: new TextEncoder().encode('other') } });
  bad.run(3_000_000);
  assert.equal(bad.sa.state, 'Down');
  assert.ok((bad.a.discards().get('auth_failed') ?? 0) > 0);
  const none = pair(FAST, { ...FAST, auth: { type: 4, keyId: 1, key } });
  none.run(2_000_000);
  assert.ok((none.a.discards().get('auth_unexpected') ?? 0) > 0);
  assert.ok((none.b.discards().get('auth_missing') ?? 0) > 0);
});

test('keyed SHA1 sequence numbers (RFC 5880 6.7.4): meticulous refuses a replay, keyed takes it; both refuse a jump past 3 x Detect Mult', () => {
  const key = new TextEncoder().encode('k');
  for (const type of [4, 5] as const) {
    const b = new BfdInstance({ random: () => 1, firstDiscriminator: 9 });
    b.addSession(KB, { ...FAST, auth: { type, keyId: 1, key } }, 0);
    const packet = (sequence: number) => {
      const buf = new Uint8Array(52);
      encodeBfdControl({ diag: 0, state: 'Down', poll: false, final: false, controlPlaneIndependent: false, demand: false, detectMult: 3, myDiscriminator: 5, yourDiscriminator: 0, desiredMinTxUs: 1_000_000, requiredMinRxUs: 100_000, requiredMinEchoRxUs: 0, auth: { type, keyId: 1, sequence, digest: new Uint8Array(20) } }, buf);
      signBfdControl(buf, key);
      return buf;
    };
    const meta = { ifname: 'b0', srcAddress: '10.0.0.1', dstAddress: '10.0.0.2', srcPort: 49152, dstPort: BFD_PORT_SINGLE_HOP, ttl: 255 };
    const drops = (seq: number) => b.receive(packet(seq), meta, 0).filter((o) => o.kind === 'discard').map((o) => (o.kind === 'discard' ? o.reason : ''));
    assert.deepEqual(drops(0xfffffffe), [], 'the first sequence number is taken as it comes');
    assert.deepEqual(drops(0xfffffffe), type === 5 ? ['auth_sequence'] : [], 'the same number again');
    assert.deepEqual(drops(3), [], 'forward across the 32-bit wrap, within 9');
    assert.deepEqual(drops(3 + 10), ['auth_sequence'], 'more than 3 x 3 ahead');
  }
});

test('multihop minimum TTL (RFC 5883 section 5): a packet that crossed too many routers is dropped as bad_ttl; the bound can change on a live session', () => {
  const KM: BfdSessionKey = { kind: 'multihop', local: '10.0.0.1', peer: '10.9.0.2' };
  const a = new BfdInstance({ random: () => 1, firstDiscriminator: 100 });
  const s = a.addSession(KM, { ...FAST, minTtl: 253 }, 0);
  const packet = new Uint8Array(24);
  encodeBfdControl({ diag: 0, state: 'Down', poll: false, final: false, controlPlaneIndependent: false, demand: false, detectMult: 3, myDiscriminator: 7, yourDiscriminator: 0, desiredMinTxUs: 1_000_000, requiredMinRxUs: 1_000_000, requiredMinEchoRxUs: 0 }, packet);
  const meta = (ttl: number) => ({ ifname: 'vhost0', srcAddress: '10.9.0.2', dstAddress: '10.0.0.1', srcPort: 49152, dstPort: BFD_PORT_MULTIHOP, ttl });
  const out = a.receive(packet, meta(252), 1000);
  assert.deepEqual(out.map((o) => o.kind === 'discard' && o.reason), ['bad_ttl'], 'three routers away: dropped');
  assert.equal(s.state, 'Down');
  assert.equal(s.counters.discarded, 1);
  // two routers away (TTL 253): taken, the session moves to Init
  assert.ok(a.receive(packet, meta(253), 2000).some((o) => o.kind === 'state-change' && o.to === 'Init'));
  // stricter on the live session: the next packet at 253 is dropped; without a bound any TTL goes
  a.changeChecks(KM, { minTtl: 254 });
  assert.deepEqual(a.receive(packet, meta(253), 3000).map((o) => o.kind === 'discard' && o.reason), ['bad_ttl']);
  a.changeChecks(KM, {});
  assert.ok(!a.receive(packet, meta(2), 4000).some((o) => o.kind === 'discard'));
  assert.throws(() => a.changeChecks(KM, { minTtl: 256 }), /minimum TTL 256 outside 1..255/);
});
