/**
 * Software segmentation and checksum completion (io/gso.ts) against an independent
 * reference: every expected segment is encoded from scratch with the wire encoders (the
 * header fields a NIC's TSO/USO would write, checksums from src/wire), and the segments the
 * receiver makes must equal them byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GSO_TCPV4, GSO_TCPV6, GSO_UDP, GSO_UDP_L4, RX_NO_ROOM, VNET_F_NEEDS_CSUM, VNET_HDR_LEN, VnetReceiver, completeIfPartial, completePartialChecksum, copySum, onesSum32 } from './gso.js';
import { MAX_FRAME, PacketPool } from '../pool.js';
import { encodeEthernet, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN } from '../../wire/ethernet.js';
import { encodeIpv4, IPPROTO_TCP, IPPROTO_UDP } from '../../wire/ipv4.js';
import { encodeIpv6 } from '../../wire/ipv6.js';
import { encodeTcp, tcpChecksum, TCP_ACK, TCP_CWR, TCP_FIN, TCP_PSH } from '../../wire/tcp.js';
import { encodeUdp, fillUdpChecksum } from '../../wire/udp.js';
import { finishChecksum, onesSum, pseudoHeaderSum4, pseudoHeaderSum6 } from '../../wire/checksum.js';
import { rng, randomBytes } from '../../../test/support/wire.js';

const DMAC = new Uint8Array([2, 0, 0, 0, 0, 1]);
const SMAC = new Uint8Array([2, 0, 0, 0, 0, 2]);
const SRC4 = 0x0a000001;
const DST4 = 0x0a000102;
const SRC6 = new Uint8Array([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const DST6 = new Uint8Array([0x20, 1, 0xd, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
const OPTIONS = new Uint8Array([1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9]); // NOP NOP timestamps, as Linux sends

interface Case {
  family: 4 | 6;
  proto: number;
  /** in-band 802.1Q tag in the frame itself */
  tagInFrame: boolean;
  payload: Uint8Array;
  flags: number;
  seq: number;
  id: number;
}

/** One IP packet (no Ethernet) with the given L4 payload; the L4 checksum is computed (a reference), or left as 0. */
function ipPacket(c: Case, payload: Uint8Array, seq: number, flags: number, id: number, withChecksum: boolean): Uint8Array {
  const l4 = new Uint8Array((c.proto === IPPROTO_TCP ? 20 + OPTIONS.length : 8) + payload.length);
  if (c.proto === IPPROTO_TCP) {
    encodeTcp({ srcPort: 40000, dstPort: 179, seq, ack: 12345, flags, window: 502, checksum: 0, urgent: 0, options: OPTIONS, payload }, l4);
    if (withChecksum) {
      const s = tcpChecksum(l4, 0, l4.length, c.family === 4 ? SRC4 : SRC6, c.family === 4 ? DST4 : DST6);
      l4[16] = s >>> 8;
      l4[17] = s & 0xff;
    }
  } else {
    encodeUdp({ srcPort: 4000, dstPort: 5000, checksum: 0, payload }, l4);
    if (withChecksum) fillUdpChecksum(l4, 0, l4.length, c.family === 4 ? SRC4 : SRC6, c.family === 4 ? DST4 : DST6);
  }
  const ip = new Uint8Array((c.family === 4 ? 20 : 40) + l4.length);
  if (c.family === 4) encodeIpv4({ tos: 0, id, df: true, mf: false, fragOffset: 0, ttl: 64, protocol: c.proto, src: SRC4, dst: DST4, options: new Uint8Array(0), payload: l4 }, ip);
  else encodeIpv6({ trafficClass: 0, flowLabel: 0, nextHeader: c.proto, hopLimit: 64, src: SRC6, dst: DST6, payload: l4 }, ip);
  return ip;
}

function ethernet(c: Case, ip: Uint8Array, tag: boolean): Uint8Array {
  const f = new Uint8Array((tag ? 18 : 14) + ip.length);
  encodeEthernet({ dst: DMAC, src: SMAC, vlans: tag ? [{ tpid: ETHERTYPE_VLAN, pcp: 0, dei: false, vid: 7 }] : [], etherType: c.family === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6, payload: ip }, f);
  return f;
}

/** virtio_net_hdr + super-frame in one buffer, as a packet socket with PACKET_VNET_HDR delivers it. */
function superFrame(c: Case, gsoType: number, mss: number): Uint8Array {
  const frame = ethernet(c, ipPacket(c, c.payload, c.seq, c.flags, c.id, false), c.tagInFrame);
  const buf = new Uint8Array(VNET_HDR_LEN + frame.length);
  const l4 = (c.tagInFrame ? 18 : 14) + (c.family === 4 ? 20 : 40);
  const v = new DataView(buf.buffer);
  v.setUint8(0, VNET_F_NEEDS_CSUM);
  v.setUint8(1, gsoType);
  v.setUint16(2, 54, true); // hdr_len: the kernel writes skb_headlen, not the header length: not trusted
  v.setUint16(4, mss, true);
  v.setUint16(6, l4, true);
  v.setUint16(8, c.proto === IPPROTO_TCP ? 16 : 6, true);
  buf.set(frame, VNET_HDR_LEN);
  return buf;
}

/** The segments a NIC would put on the wire for this case. */
function expected(c: Case, mss: number, oobTag: boolean): Uint8Array[] {
  const out: Uint8Array[] = [];
  const n = Math.ceil(c.payload.length / mss);
  for (let k = 0; k < n; k++) {
    let f = c.flags;
    if (k < n - 1) f &= ~(TCP_FIN | TCP_PSH);
    if (k > 0) f &= ~TCP_CWR;
    const chunk = c.payload.subarray(k * mss, Math.min(c.payload.length, (k + 1) * mss));
    out.push(ethernet(c, ipPacket(c, chunk, (c.seq + k * mss) >>> 0, f, (c.id + k) & 0xffff, true), c.tagInFrame || oobTag));
  }
  return out;
}

function receive(buf: Uint8Array, vlan: number, pool: PacketPool, max = 256): { n: number; out: Uint32Array; rx: VnetReceiver } {
  const rx = new VnetReceiver(3);
  const out = new Uint32Array(256);
  const n = rx.rxFrame(buf, new DataView(buf.buffer, buf.byteOffset, buf.byteLength), 0, VNET_HDR_LEN, buf.length - VNET_HDR_LEN, vlan, pool, out, 0, max);
  return { n, out, rx };
}

test('TCP and UDP (USO) super-frames over IPv4 and IPv6, tagged in the frame, out of band or not at all, become the segments a NIC would send', () => {
  const next = rng(11);
  let cases = 0;
  for (const family of [4, 6] as const) {
    for (const proto of [IPPROTO_TCP, IPPROTO_UDP]) {
      for (const tag of ['none', 'in-frame', 'out-of-band'] as const) {
        for (const mss of [536, 1448, 1440]) {
          for (const size of [1, mss, mss + 1, 3 * mss, 65000 - 200]) {
            const c: Case = { family, proto, tagInFrame: tag === 'in-frame', payload: randomBytes(next, size), flags: TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR, seq: 0xffffff00 + (next() & 0xff), id: 0xfffe, };
            const gsoType = proto === IPPROTO_UDP ? GSO_UDP_L4 : family === 4 ? GSO_TCPV4 : GSO_TCPV6;
            const pool = new PacketPool(512);
            const vlan = tag === 'out-of-band' ? 0x8100 * 65536 + 7 : -1;
            const { n, out, rx } = receive(superFrame(c, gsoType, mss), vlan, pool);
            const want = expected(c, mss, tag === 'out-of-band');
            const what = `IPv${family} ${proto === IPPROTO_TCP ? 'TCP' : 'UDP'} tag ${tag} mss ${mss} payload ${size}`;
            assert.equal(n, want.length, what);
            for (let k = 0; k < n; k++) {
              assert.deepEqual(pool.frame(out[k]!), want[k], `${what}: segment ${k}`);
              assert.equal(pool.rxVif[out[k]!], 3);
            }
            assert.equal(rx.counters.segments, want.length);
            assert.equal(pool.available, 512 - n);
            cases++;
          }
        }
      }
    }
  }
  assert.equal(cases, 2 * 2 * 3 * 3 * 5);
});

test('a super-frame whose segments do not fit the rest of the burst is left for the next one; too few buffers drop it, counted', () => {
  const c: Case = { family: 4, proto: IPPROTO_TCP, tagInFrame: false, payload: new Uint8Array(10 * 1448), flags: TCP_ACK, seq: 1, id: 1 };
  const buf = superFrame(c, GSO_TCPV4, 1448);
  const rx = new VnetReceiver(0);
  const out = new Uint32Array(16);
  const pool = new PacketPool(64);
  const dv = new DataView(buf.buffer);
  assert.equal(rx.rxFrame(buf, dv, 0, VNET_HDR_LEN, buf.length - VNET_HDR_LEN, -1, pool, out, 7, 16), RX_NO_ROOM);
  assert.equal(pool.available, 64, 'nothing taken');
  assert.equal(rx.rxFrame(buf, dv, 0, VNET_HDR_LEN, buf.length - VNET_HDR_LEN, -1, pool, out, 0, 16), 10);
  const small = new PacketPool(8);
  assert.equal(rx.rxFrame(buf, dv, 0, VNET_HDR_LEN, buf.length - VNET_HDR_LEN, -1, small, out, 0, 16), 0);
  assert.equal(rx.counters.poolEmpty, 1);
  assert.equal(small.available, 8);
});

test('UFO, a GSO type that contradicts the headers, a zero gso_size and a segment larger than a buffer are dropped and counted', () => {
  const pool = new PacketPool(64);
  const v4: Case = { family: 4, proto: IPPROTO_TCP, tagInFrame: false, payload: new Uint8Array(5000), flags: TCP_ACK, seq: 1, id: 1 };
  const udp: Case = { ...v4, proto: IPPROTO_UDP };
  assert.equal(receive(superFrame(udp, GSO_UDP, 1400), -1, pool).rx.counters.unsupported, 1, 'UFO');
  assert.equal(receive(superFrame(v4, GSO_TCPV6, 1400), -1, pool).rx.counters.unsupported, 1, 'TCPV6 on an IPv4 frame');
  assert.equal(receive(superFrame(udp, GSO_TCPV4, 1400), -1, pool).rx.counters.unsupported, 1, 'TCP GSO on a UDP packet');
  assert.equal(receive(superFrame(v4, GSO_TCPV4, 0), -1, pool).rx.counters.unsupported, 1, 'gso_size 0');
  assert.equal(receive(superFrame(udp, GSO_UDP_L4, 4000), -1, pool).rx.counters.tooBig, 1, 'UDP segments above a slot');
  const cut = receive(superFrame(v4, GSO_TCPV4, 4000), -1, new PacketPool(64));
  assert.equal(cut.n, Math.ceil(5000 / (MAX_FRAME - 14 - 20 - 32)), 'TCP segments above a slot are cut to fit');
  const short = superFrame(v4, GSO_TCPV4, 1400).subarray(0, VNET_HDR_LEN + 14 + 20 + 10);
  assert.equal(receive(short, -1, pool).rx.counters.unsupported, 1, 'headers cut short');
  assert.equal(pool.available, 64);
});

/** A frame whose L4 checksum field holds the folded pseudo-header sum, as CHECKSUM_PARTIAL leaves it; and the right checksum. */
function partial(family: 4 | 6, proto: number, payloadLen: number, tag: boolean, next: () => number): { frame: Uint8Array; want: number; field: number; csumStart: number } {
  const c: Case = { family, proto, tagInFrame: tag, payload: randomBytes(next, payloadLen), flags: TCP_ACK, seq: next(), id: next() & 0xffff };
  const good = ethernet(c, ipPacket(c, c.payload, c.seq, c.flags, c.id, true), tag);
  const csumStart = (tag ? 18 : 14) + (family === 4 ? 20 : 40);
  const field = csumStart + (proto === IPPROTO_TCP ? 16 : 6);
  const want = (good[field]! << 8) | good[field + 1]!;
  const l4len = good.length - csumStart;
  const ph = family === 4 ? pseudoHeaderSum4(SRC4, DST4, proto, l4len) : pseudoHeaderSum6(SRC6, DST6, proto, l4len);
  const folded = ~finishChecksum(ph) & 0xffff;
  const frame = good.slice();
  frame[field] = folded >>> 8;
  frame[field + 1] = folded & 0xff;
  return { frame, want, field, csumStart };
}

test('partial TCP/UDP checksums over IPv4 and IPv6, tagged or not, are completed from csum_start/csum_offset to the right value', () => {
  const next = rng(3);
  for (let i = 0; i < 1000; i++) {
    const family = i % 2 === 0 ? 4 : 6;
    const proto = i % 4 < 2 ? IPPROTO_UDP : IPPROTO_TCP;
    const { frame, want, field, csumStart } = partial(family, proto, next() % 200, i % 8 >= 4, next);
    // padded to the Ethernet minimum: the padding is not part of the sum
    const buf = new Uint8Array(Math.max(frame.length, 60) + 10);
    buf.set(frame, 10);
    assert.equal(completePartialChecksum(buf, 10, buf.length - 10, csumStart, field - csumStart), true);
    assert.equal((buf[10 + field]! << 8) | buf[10 + field + 1]!, want === 0 ? 0xffff : want, `case ${i}`);
  }
});

test('a plain frame with a partial checksum is copied whole, its out-of-band tag restored, its checksum completed', () => {
  const next = rng(5);
  const { frame, want, field, csumStart } = partial(6, IPPROTO_TCP, 300, false, next);
  const buf = new Uint8Array(VNET_HDR_LEN + frame.length);
  buf.set(frame, VNET_HDR_LEN);
  const v = new DataView(buf.buffer);
  v.setUint8(0, VNET_F_NEEDS_CSUM);
  v.setUint16(6, csumStart, true);
  v.setUint16(8, field - csumStart, true);
  const pool = new PacketPool(4);
  const { n, out, rx } = receive(buf, 0x8100 * 65536 + 0x2005, pool);
  assert.equal(n, 1);
  const got = pool.frame(out[0]!);
  assert.equal(got.length, frame.length + 4);
  assert.deepEqual([...got.subarray(12, 16)], [0x81, 0x00, 0x20, 0x05]);
  assert.equal((got[field + 4]! << 8) | got[field + 5]!, want);
  assert.equal(rx.counters.csumCompleted, 1);
  assert.deepEqual(got.subarray(16, field + 4), frame.subarray(12, field));
});

test('non-TCP/UDP frames and offsets outside the frame are left alone', () => {
  const icmp = new Uint8Array(14 + 28);
  icmp[12] = 0x08;
  encodeIpv4({ tos: 0, id: 1, df: false, mf: false, fragOffset: 0, ttl: 1, protocol: 1, src: 1, dst: 2, options: new Uint8Array(0), payload: new Uint8Array(8) }, icmp, 14);
  const copy = icmp.slice();
  assert.equal(completePartialChecksum(icmp, 0, icmp.length, 34, 40), false);
  assert.equal(completePartialChecksum(icmp, 0, icmp.length, 4, 2), false);
  assert.deepEqual(icmp, copy);
});

test('completeIfPartial finishes exactly the frames whose checksum field holds the pseudo-header sum', () => {
  const next = rng(9);
  for (let i = 0; i < 400; i++) {
    const family = i % 2 === 0 ? 4 : 6;
    const proto = i % 4 < 2 ? IPPROTO_UDP : IPPROTO_TCP;
    const { frame, want, field } = partial(family, proto, 1 + (next() % 300), i % 8 >= 4, next);
    const buf = new Uint8Array(Math.max(frame.length, 60));
    buf.set(frame);
    assert.equal(completeIfPartial(buf, 0, buf.length), true, `case ${i}`);
    assert.equal((buf[field]! << 8) | buf[field + 1]!, want === 0 ? 0xffff : want);
    // now finished: a second look leaves it alone, and so it does a corrupted one
    const done = buf.slice();
    assert.equal(completeIfPartial(buf, 0, buf.length), false);
    buf[field] ^= 0x40;
    const bad = buf.slice();
    assert.equal(completeIfPartial(buf, 0, buf.length), false);
    assert.deepEqual(buf, bad);
    assert.notDeepEqual(done, bad);
  }
});

test('jumbo TCP (a plain 9000-byte frame, or GSO with a jumbo MSS) is cut into slot-sized segments; a jumbo UDP datagram is dropped and counted', () => {
  const next = rng(21);
  for (const family of [4, 6] as const) {
    const c: Case = { family, proto: IPPROTO_TCP, tagInFrame: false, payload: randomBytes(next, 9000 - (family === 4 ? 20 : 40) - 32), flags: TCP_ACK | TCP_PSH, seq: 77, id: 9 };
    const hdr = 14 + (family === 4 ? 20 : 40) + 32;
    const fit = MAX_FRAME - hdr;
    // a plain jumbo frame: no GSO, finished checksum
    const plain = ethernet(c, ipPacket(c, c.payload, c.seq, c.flags, c.id, true), false);
    const buf = new Uint8Array(VNET_HDR_LEN + plain.length);
    buf.set(plain, VNET_HDR_LEN);
    const pool = new PacketPool(64);
    const { n, out, rx } = receive(buf, -1, pool);
    const want = expected(c, fit, false);
    assert.equal(n, want.length);
    for (let k = 0; k < n; k++) {
      assert.ok(pool.len[out[k]!]! <= MAX_FRAME);
      assert.deepEqual(pool.frame(out[k]!), want[k], `IPv${family} segment ${k}`);
    }
    assert.equal(rx.counters.tooBig, 0);
    // a GSO frame whose MSS (a 9000-byte MTU's) exceeds a slot: the same cut
    const jumboGso = superFrame({ ...c, payload: randomBytes(next, 3 * 8948) }, family === 4 ? GSO_TCPV4 : GSO_TCPV6, 8948);
    const r2 = receive(jumboGso, -1, new PacketPool(64));
    assert.equal(r2.n, Math.ceil((3 * 8948) / fit));
  }
  const udp: Case = { family: 4, proto: IPPROTO_UDP, tagInFrame: false, payload: new Uint8Array(8000), flags: 0, seq: 0, id: 1 };
  const plain = ethernet(udp, ipPacket(udp, udp.payload, 0, 0, 1, true), false);
  const buf = new Uint8Array(VNET_HDR_LEN + plain.length);
  buf.set(plain, VNET_HDR_LEN);
  const pool = new PacketPool(8);
  const { n, rx } = receive(buf, -1, pool);
  assert.equal(n, 0);
  assert.equal(rx.counters.tooBig, 1);
  assert.equal(pool.available, 8);
  const uso = receive(superFrame(udp, GSO_UDP_L4, 8000 - 8), -1, new PacketPool(8));
  assert.equal(uso.rx.counters.tooBig, 1, 'USO datagrams keep their size: too big is dropped, not cut');
});

test('copySum and onesSum32 fold to the checksum onesSum gives, at any offset and length, and copySum copies exactly', () => {
  const r = rng(7);
  const src = randomBytes(r, 4096);
  for (const len of [0, 1, 2, 3, 4, 5, 7, 8, 1447, 1448, 1449, 4000]) {
    for (const off of [0, 1, 2, 3, 34, 54]) {
      const dst = new Uint8Array(4200).fill(0xaa);
      const sum = copySum(new DataView(src.buffer), off, new DataView(dst.buffer), 9, len);
      assert.equal(finishChecksum(sum), finishChecksum(onesSum(src, off, len)), `copySum len ${len} off ${off}`);
      assert.deepEqual(dst.subarray(9, 9 + len), src.subarray(off, off + len));
      assert.equal(dst[8], 0xaa);
      assert.equal(dst[9 + len], 0xaa, 'nothing written past the end');
      assert.equal(finishChecksum(onesSum32(new DataView(src.buffer), off, len, 77)), finishChecksum(onesSum(src, off, len, 77)), `onesSum32 len ${len} off ${off}`);
    }
  }
});
