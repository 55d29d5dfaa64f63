/**
 * TCP super-frames carried through the graph whole (io/super-frame.ts, io/gso.ts carryWhole,
 * cutCarried): the representative slot is the first segment; cutting it after the graph gives
 * byte for byte the segments cutting it on the way in gave (with the graph's rewrite in every
 * segment); assembling it gives the super-frame back with a GSO header; the side buffer goes
 * back with the slot. The end-to-end behaviour (real TCP through vhost0) is vhost.test.ts's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GSO_TCPV4, GSO_TCPV6, VNET_F_NEEDS_CSUM, VNET_HDR_LEN, VnetReceiver, cutCarried } from './gso.js';
import { SUPER_RESERVE, l3Offset } from './super-frame.js';
import { PacketPool } from '../pool.js';
import { encodeEthernet, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../../wire/ethernet.js';
import { encodeIpv4, IPPROTO_TCP } from '../../wire/ipv4.js';
import { encodeIpv6 } from '../../wire/ipv6.js';
import { encodeTcp, tcpChecksum, TCP_ACK, TCP_PSH } from '../../wire/tcp.js';
import { finishChecksum, onesSum, pseudoHeaderSum4, pseudoHeaderSum6 } from '../../wire/checksum.js';
import { rng, randomBytes } from '../../../test/support/wire.js';

const SRC4 = 0x0a000001;
const DST4 = 0x0a000102;
const SRC6 = new Uint8Array([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const DST6 = new Uint8Array([0x20, 1, 0xd, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
const OPTIONS = new Uint8Array([1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9]);
const MSS = 1448;

/** virtio_net_hdr + a TSO super-frame as the host's TCP hands it to a TAP: the TCP checksum field holds the pseudo-header sum (CHECKSUM_PARTIAL). */
function superFrame(family: 4 | 6, payload: Uint8Array): Uint8Array {
  const l4 = new Uint8Array(20 + OPTIONS.length + payload.length);
  encodeTcp({ srcPort: 40000, dstPort: 179, seq: 0xfffff000, ack: 12345, flags: TCP_ACK | TCP_PSH, window: 502, checksum: 0, urgent: 0, options: OPTIONS, payload }, l4);
  const ps = family === 4 ? pseudoHeaderSum4(SRC4, DST4, IPPROTO_TCP, l4.length) : pseudoHeaderSum6(SRC6, DST6, IPPROTO_TCP, l4.length);
  const partial = ~finishChecksum(ps) & 0xffff;
  l4[16] = partial >>> 8;
  l4[17] = partial & 0xff;
  const ip = new Uint8Array((family === 4 ? 20 : 40) + l4.length);
  if (family === 4) encodeIpv4({ tos: 0, id: 0xfff0, df: true, mf: false, fragOffset: 0, ttl: 64, protocol: IPPROTO_TCP, src: SRC4, dst: DST4, options: new Uint8Array(0), payload: l4 }, ip);
  else encodeIpv6({ trafficClass: 0, flowLabel: 0, nextHeader: IPPROTO_TCP, hopLimit: 64, src: SRC6, dst: DST6, payload: l4 }, ip);
  const buf = new Uint8Array(VNET_HDR_LEN + 14 + ip.length);
  encodeEthernet({ dst: new Uint8Array([2, 0, 0, 0, 0, 1]), src: new Uint8Array([2, 0, 0, 0, 0, 2]), vlans: [], etherType: family === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6, payload: ip }, buf, VNET_HDR_LEN);
  const v = new DataView(buf.buffer);
  v.setUint8(0, VNET_F_NEEDS_CSUM);
  v.setUint8(1, family === 4 ? GSO_TCPV4 : GSO_TCPV6);
  v.setUint16(2, 14 + (family === 4 ? 20 : 40) + 32, true);
  v.setUint16(4, MSS, true);
  v.setUint16(6, 14 + (family === 4 ? 20 : 40), true);
  v.setUint16(8, 16, true);
  return buf;
}

function receive(r: VnetReceiver, pool: PacketPool, frame: Uint8Array): number[] {
  const out = new Uint32Array(256);
  const n = r.rxFrame(frame, new DataView(frame.buffer), 0, VNET_HDR_LEN, frame.length - VNET_HDR_LEN, -1, pool, out, 0, 256);
  return [...out.subarray(0, Math.max(n, 0))];
}

/** What the graph does to a forwarded packet: new MACs, TTL / hop limit down by one (IPv4 header checksum updated). */
function rewrite(pool: PacketPool, slot: number): void {
  rewriteAt(pool.data, pool.offset(slot));
}

function rewriteAt(d: Uint8Array, o: number): void {
  d.set([2, 0, 0, 0, 0, 0xaa, 2, 0, 0, 0, 0, 0xbb], o);
  const ip = o + 14;
  if (d[ip]! >>> 4 === 4) {
    d[ip + 8]!--;
    d[ip + 10] = 0;
    d[ip + 11] = 0;
    const c = finishChecksum(onesSum(d, ip, 20));
    d[ip + 10] = c >>> 8;
    d[ip + 11] = c & 0xff;
  } else d[ip + 7]!--;
}

for (const family of [4, 6] as const) {
  test(`IPv${family}: a carried super-frame is one slot, the first segment; cut after the graph it is the segments cut on the way in, rewritten`, () => {
    const payload = randomBytes(rng(family), MSS * 30 + 777);
    const frame = superFrame(family, payload);
    const h = 14 + (family === 4 ? 20 : 40) + 32;
    const pool = new PacketPool(512);

    // the reference: cut on the way in (no carry), then each segment rewritten
    const ref = new VnetReceiver(3);
    const refSegs = receive(ref, pool, frame);
    assert.equal(refSegs.length, 31);
    for (const s of refSegs) rewrite(pool, s);
    const expected = refSegs.map((s) => pool.frame(s).slice());
    for (const s of refSegs) pool.free(s);

    const r = new VnetReceiver(3);
    r.carry = () => true;
    const got = receive(r, pool, frame);
    assert.equal(got.length, 1);
    const rep = got[0]!;
    assert.notEqual(pool.sup[rep], 0);
    assert.equal(pool.len[rep], h + MSS);
    assert.equal(pool.rxVif[rep], 3);
    // the representative's IP length is the first segment's (the graph's MTU check sees the segment); IPv4 header checksum valid
    const o = pool.offset(rep);
    const ipLen = family === 4 ? (pool.data[o + 16]! << 8) | pool.data[o + 17]! : ((pool.data[o + 18]! << 8) | pool.data[o + 19]!) + 40;
    assert.equal(ipLen, h - 14 + MSS);
    if (family === 4) assert.equal(finishChecksum(onesSum(pool.data, o + 14, 20)), 0);
    assert.deepEqual(pool.data.subarray(o + h, o + h + MSS), payload.subarray(0, MSS));
    assert.deepEqual(r.counters, { superFrames: 0, segments: 0, csumCompleted: 0, unsupported: 0, tooBig: 0, poolEmpty: 0, carried: 1, carriedSegments: 31 });
    assert.deepEqual(r.carriedRx, { segments: 30, bytes: 30 * h + payload.length - MSS });

    rewrite(pool, rep);
    const out = new Uint32Array(256);
    const n = cutCarried(pool, rep, out, 0, 256);
    assert.equal(n, 31);
    for (let k = 0; k < n; k++) assert.deepEqual(pool.frame(out[k]!), expected[k], `segment ${k}`);
    for (let k = 0; k < n; k++) pool.free(out[k]!);
    const before = pool.available;
    pool.free(rep);
    assert.equal(pool.sup[rep], 0);
    assert.equal(pool.available, before + 1);
  });

  test(`IPv${family}: assembled, a carried super-frame is the host's super-frame again (rewritten), with a GSO header and its partial checksum kept`, () => {
    const payload = randomBytes(rng(10 + family), MSS * 44 + 100);
    const frame = superFrame(family, payload);
    const h = 14 + (family === 4 ? 20 : 40) + 32;
    const pool = new PacketPool(64);
    const r = new VnetReceiver(0);
    r.carry = () => true;
    const rep = receive(r, pool, frame)[0]!;
    rewrite(pool, rep);
    const st = pool.supers;
    const id = pool.sup[rep]! - 1;
    const at = st.assemble(id, pool.data, pool.offset(rep), pool.len[rep]!);
    assert.equal(at, SUPER_RESERVE - h);
    const vh = st.gsoHeader(id, at, h);
    const buf = st.bufs[id]!;
    const sent = buf.subarray(vh, at + h + payload.length);
    // the original frame with the rewrite: MACs, TTL (and the IPv4 checksum over the whole length)
    const want = frame.slice();
    want.set([1, family === 4 ? GSO_TCPV4 : GSO_TCPV6, h, 0, MSS & 0xff, MSS >>> 8, h - 32, 0, 16, 0], 0);
    rewriteAt(want, VNET_HDR_LEN);
    assert.deepEqual(sent, want);
    // the TCP checksum finished over the whole super-frame is right: the partial sum was kept
    const l4 = sent.subarray(VNET_HDR_LEN + h - 32);
    const copy = l4.slice();
    copy[16] = 0;
    copy[17] = 0;
    const sum = tcpChecksum(copy, 0, copy.length, family === 4 ? SRC4 : SRC6, family === 4 ? DST4 : DST6);
    const finished = finishChecksum(onesSum(l4, 0, l4.length));
    copy[16] = finished >>> 8;
    copy[17] = finished & 0xff;
    assert.equal((copy[16]! << 8) | copy[17]!, sum);
    assert.equal(st.segments(id), 45);
  });
}

test('carry() saying no, a frame of one segment, or every side buffer in use: cut on the way in as before', () => {
  const pool = new PacketPool(4096);
  const r = new VnetReceiver(0);
  let allow = false;
  r.carry = () => allow;
  const frame = superFrame(4, randomBytes(rng(7), MSS * 3));
  assert.equal(receive(r, pool, frame).length, 3);
  allow = true;
  assert.equal(receive(r, pool, superFrame(4, randomBytes(rng(8), MSS))).length, 1);
  assert.equal(r.counters.carried, 0);
  const held: number[] = [];
  for (let k = 0; k < 64; k++) {
    const s = receive(r, pool, frame);
    assert.equal(s.length, 1);
    held.push(s[0]!);
  }
  assert.equal(r.counters.carried, 64);
  assert.equal(receive(r, pool, frame).length, 3, 'no side buffer left: cut');
  pool.free(held.pop()!);
  assert.equal(receive(r, pool, frame).length, 1, 'a freed slot gave its side buffer back');
});

test('a carried super-frame whose segments would overflow the burst waits for the next one', () => {
  const pool = new PacketPool(512);
  const r = new VnetReceiver(0);
  r.carry = () => true;
  const frame = superFrame(6, randomBytes(rng(9), MSS * 40));
  const out = new Uint32Array(256);
  const v = new DataView(frame.buffer);
  let n = 0;
  for (let k = 0; k < 6; k++) n = r.rxFrame(frame, v, 0, VNET_HDR_LEN, frame.length - VNET_HDR_LEN, -1, pool, out, n, 256);
  assert.equal(n, 6);
  assert.equal(r.burstExtra, 6 * 39);
  assert.equal(r.rxFrame(frame, v, 0, VNET_HDR_LEN, frame.length - VNET_HDR_LEN, -1, pool, out, n, 256), -1);
});

test('cut after an MPLS push: the segments keep the label stack, each with its own IPv4 length and checksums', () => {
  const pool = new PacketPool(512);
  const r = new VnetReceiver(0);
  r.carry = () => true;
  const payload = randomBytes(rng(11), MSS * 5 + 9);
  const rep = receive(r, pool, superFrame(4, payload))[0]!;
  // push two labels in the headroom, as the rewrite does for an MPLS next hop
  const o = pool.offset(rep);
  const d = pool.data;
  const hdr = d.slice(o, o + 12);
  pool.start[rep] -= 8;
  pool.len[rep] += 8;
  const no = pool.offset(rep);
  d.set(hdr, no);
  d.set([0x88, 0x47, 0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40], no + 12);
  assert.equal(l3Offset(d, no, 14 + 8 + 52), 22);
  const out = new Uint32Array(64);
  const n = cutCarried(pool, rep, out, 0, 64);
  assert.equal(n, 6);
  let got = 0;
  for (let k = 0; k < n; k++) {
    const f = pool.frame(out[k]!);
    assert.deepEqual(f.subarray(12, 22), new Uint8Array([0x88, 0x47, 0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40]));
    const ip = f.subarray(22);
    assert.equal(finishChecksum(onesSum(ip, 0, 20)), 0);
    assert.equal((ip[2]! << 8) | ip[3]!, ip.length);
    const l4 = ip.subarray(20);
    assert.equal(finishChecksum(pseudoHeaderSum4(SRC4, DST4, IPPROTO_TCP, l4.length) + onesSum(l4, 0, l4.length)), 0);
    assert.deepEqual(l4.subarray(32), payload.subarray(got, got + l4.length - 32));
    got += l4.length - 32;
  }
  assert.equal(got, payload.length);
});
