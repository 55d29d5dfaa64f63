/**
 * TCP segments merged into one GSO super-frame (io/tcp-coalesce.ts) against a reference built
 * with the wire encoders: the merged frame must be the one IP packet a sender with TSO would
 * have handed its NIC (the first segment's headers, every payload, PSH of the last, the IP
 * lengths of the whole, a partial checksum) behind the virtio_net_hdr that describes it; and
 * what must not merge (a gap, a damaged checksum, FIN, other options, a short segment before
 * the end) does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpCoalescer } from './tcp-coalesce.js';
import { GSO_TCPV4, GSO_TCPV6, VNET_F_NEEDS_CSUM, VNET_HDR_LEN, completePartialChecksum } from './gso.js';
import { encodeEthernet, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../../wire/ethernet.js';
import { encodeIpv4, IPPROTO_TCP } from '../../wire/ipv4.js';
import { encodeIpv6 } from '../../wire/ipv6.js';
import { encodeTcp, tcpChecksum, TCP_ACK, TCP_FIN, TCP_PSH } from '../../wire/tcp.js';
import { rng, randomBytes } from '../../../test/support/wire.js';

const SRC4 = 0x0a000001;
const DST4 = 0x0a000102;
const SRC6 = new Uint8Array([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const DST6 = new Uint8Array([0x20, 1, 0xd, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
const TIMESTAMPS = new Uint8Array([1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9]);

interface Seg {
  family: 4 | 6;
  seq: number;
  flags: number;
  payload: Uint8Array;
  id?: number;
  options?: Uint8Array;
}

/** One Ethernet frame of a TCP segment with a correct checksum (or a damaged one). */
function frame(s: Seg, damaged = false): Uint8Array {
  const options = s.options ?? TIMESTAMPS;
  const l4 = new Uint8Array(20 + options.length + s.payload.length);
  encodeTcp({ srcPort: 179, dstPort: 40000, seq: s.seq, ack: 777, flags: s.flags, window: 502, checksum: 0, urgent: 0, options, payload: s.payload }, l4);
  const c = tcpChecksum(l4, 0, l4.length, s.family === 4 ? SRC4 : SRC6, s.family === 4 ? DST4 : DST6) ^ (damaged ? 1 : 0);
  l4[16] = c >>> 8;
  l4[17] = c & 255;
  const ip = new Uint8Array((s.family === 4 ? 20 : 40) + l4.length);
  if (s.family === 4) encodeIpv4({ tos: 0, id: s.id ?? 1, df: true, mf: false, fragOffset: 0, ttl: 64, protocol: IPPROTO_TCP, src: SRC4, dst: DST4, options: new Uint8Array(0), payload: l4 }, ip);
  else encodeIpv6({ trafficClass: 0, flowLabel: 0, nextHeader: IPPROTO_TCP, hopLimit: 64, src: SRC6, dst: DST6, payload: l4 }, ip);
  const f = new Uint8Array(14 + ip.length);
  encodeEthernet({ dst: new Uint8Array([2, 0, 0, 0, 0, 1]), src: new Uint8Array([2, 0, 0, 0, 0, 2]), vlans: [], etherType: s.family === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6, payload: ip }, f);
  return f;
}

/** Frames laid out in one buffer at some distance from each other, as pool slots hold them. */
function layout(frames: Uint8Array[]): { d: Uint8Array; off: Int32Array; len: Int32Array } {
  const d = new Uint8Array(frames.length * 2048);
  const off = new Int32Array(frames.length);
  const len = new Int32Array(frames.length);
  frames.forEach((f, k) => {
    off[k] = k * 2048 + 192;
    len[k] = f.length;
    d.set(f, off[k]!);
  });
  return { d, off, len };
}

/** the runs the coalescer makes of a burst, as segment counts */
function runs(c: TcpCoalescer, frames: Uint8Array[]): number[] {
  const { d, off, len } = layout(frames);
  const out: number[] = [];
  for (let k = 0; k < frames.length; ) {
    const m = c.run(d, off, len, k, frames.length);
    out.push(m);
    k += m;
  }
  return out;
}

for (const family of [4, 6] as const) {
  test(`IPv${family}: a burst of segments becomes the super-frame a TSO sender would have made`, () => {
    const r = rng(family);
    const mss = 1448;
    const sizes = [mss, mss, mss, mss, 700];
    const payload = randomBytes(r, sizes.reduce((a, b) => a + b, 0));
    const seq0 = 0xfffff000; // the sequence numbers wrap inside the run
    const segs: Uint8Array[] = [];
    let at = 0;
    sizes.forEach((n, k) => {
      segs.push(frame({ family, seq: (seq0 + at) >>> 0, flags: TCP_ACK | (k === sizes.length - 1 ? TCP_PSH : 0), payload: payload.subarray(at, at + n), id: 100 + k }));
      at += n;
    });
    const c = new TcpCoalescer();
    const { d, off, len } = layout(segs);
    assert.equal(c.run(d, off, len, 0, segs.length), segs.length);
    const w = c.build(d, off, len, 0, segs.length);
    const got = c.buf.subarray(0, w);
    // the reference: one segment with everything, PSH from the last, the first one's IP ID
    const whole = frame({ family, seq: seq0, flags: TCP_ACK | TCP_PSH, payload, id: 100 });
    assert.equal(w, VNET_HDR_LEN + whole.length);
    const l4 = 14 + (family === 4 ? 20 : 40);
    const v = new DataView(got.buffer, got.byteOffset);
    assert.deepEqual([v.getUint8(0), v.getUint8(1), v.getUint16(2, true), v.getUint16(4, true), v.getUint16(6, true), v.getUint16(8, true)], [VNET_F_NEEDS_CSUM, family === 4 ? GSO_TCPV4 : GSO_TCPV6, l4 + 32, mss, l4, 16]);
    // the checksum is left partial: finishing it as the kernel would gives the reference's
    const merged = got.slice(VNET_HDR_LEN);
    assert.ok(completePartialChecksum(merged, 0, merged.length, l4, 16));
    assert.deepEqual(merged, whole);
    assert.deepEqual([c.frames, c.segments], [1, segs.length]);
  });
}

test('what does not merge: a gap, a damaged checksum, FIN, other options, a short segment before the end, a lone segment', () => {
  const r = rng(9);
  const p = (n: number) => randomBytes(r, n);
  const c = new TcpCoalescer();
  const seg = (seq: number, n: number, more: Partial<Seg> = {}) => frame({ family: 4, seq, flags: TCP_ACK, payload: p(n), ...more });
  // a gap after the second
  assert.deepEqual(runs(c, [seg(0, 1000), seg(1000, 1000), seg(3000, 1000), seg(4000, 1000)]), [2, 2]);
  // a damaged checksum is written alone (the host's TCP drops it)
  assert.deepEqual(runs(c, [seg(0, 1000), frame({ family: 4, seq: 1000, flags: TCP_ACK, payload: p(1000) }, true), seg(2000, 1000), seg(3000, 1000)]), [1, 1, 2]);
  // FIN, SYN-like flags and PSH in the middle
  assert.deepEqual(runs(c, [seg(0, 1000), seg(1000, 1000, { flags: TCP_ACK | TCP_FIN })]), [1, 1]);
  assert.deepEqual(runs(c, [seg(0, 1000), seg(1000, 1000, { flags: TCP_ACK | TCP_PSH }), seg(2000, 1000)]), [2, 1]);
  // other TCP options (another timestamp)
  const ts2 = TIMESTAMPS.slice();
  ts2[7] = 8;
  assert.deepEqual(runs(c, [seg(0, 1000), seg(1000, 1000, { options: ts2 })]), [1, 1]);
  // a short segment ends a run; a longer one after the first does not join it
  assert.deepEqual(runs(c, [seg(0, 1000), seg(1000, 500), seg(1500, 1000)]), [2, 1]);
  assert.deepEqual(runs(c, [seg(0, 1000), seg(1000, 1200)]), [1, 1]);
  // another family, and a pure ACK (no payload)
  assert.deepEqual(runs(c, [seg(0, 1000), frame({ family: 6, seq: 1000, flags: TCP_ACK, payload: p(1000) })]), [1, 1]);
  assert.deepEqual(runs(c, [seg(0, 0), seg(0, 0)]), [1, 1]);
  assert.deepEqual(runs(c, [seg(0, 1000)]), [1]);
  // never above the 64 KiB an IP length can say
  const big = Array.from({ length: 50 }, (_, k) => seg(k * 1448, 1448));
  const rs = runs(c, big);
  assert.ok(rs[0]! * 1448 + 20 + 32 <= 65535 && rs[0]! >= 40, String(rs));
  assert.equal(rs.reduce((a, b) => a + b, 0), 50);
});

test('a damaged first segment ends nothing but itself; trusted segments (PF_CSUM_SELF) are not verified; a tagged frame does not merge', () => {
  const r = rng(11);
  const p = (n: number) => randomBytes(r, n);
  const c = new TcpCoalescer();
  const seg = (seq: number, damaged = false) => frame({ family: 4, seq, flags: TCP_ACK, payload: p(1000) }, damaged);
  // the first frame's checksum is checked once a second frame matches it
  assert.deepEqual(runs(c, [seg(0, true), seg(1000), seg(2000)]), [1, 2]);
  // the same burst with every frame marked as checksummed by us: the caller vouches, so it merges
  const frames = [seg(0, true), seg(1000), seg(2000)];
  const { d, off, len } = layout(frames);
  assert.equal(c.run(d, off, len, 0, 3, new Uint8Array([64, 64, 64])), 3);
  // one unmarked damaged frame among marked ones is still caught
  const f2 = [seg(0), seg(1000, true), seg(2000)];
  const l2 = layout(f2);
  assert.equal(c.run(l2.d, l2.off, l2.len, 0, 3, new Uint8Array([64, 0, 64])), 1);
  // an 802.1Q-tagged frame (as a VLAN sub-interface sends) is left alone: the coalescer parses untagged IP only
  const tagged = (f: Uint8Array) => {
    const t = new Uint8Array(f.length + 4);
    t.set(f.subarray(0, 12));
    t.set([0x81, 0x00, 0x00, 0x0a], 12);
    t.set(f.subarray(12), 16);
    return t;
  };
  assert.deepEqual(runs(c, [tagged(seg(0)), tagged(seg(1000))]), [1, 1]);
});
