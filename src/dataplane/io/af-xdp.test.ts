import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketPool, HEADROOM, MAX_FRAME } from '../pool.js';
import { encodeEthernet, ETHERTYPE_IPV4 } from '../../wire/ethernet.js';
import { encodeIpv4, IPPROTO_TCP } from '../../wire/ipv4.js';
import { encodeTcp, tcpChecksum, TCP_ACK, TCP_PSH } from '../../wire/tcp.js';

const skip = process.getuid?.() === 0 ? false : 'needs root (AF_XDP sockets); skipped';

/**
 * A driver over an AF_XDP socket bound to the loopback's queue 0 with no XDP program: the
 * kernel puts nothing in its RX ring, so the test plays the kernel and writes descriptors
 * itself (malformed ones included). flush() is never called: nothing is sent.
 */
async function harness(rx = 16, tx = 8) {
  const { openXskSocket, afXdpOverSocket, CHUNK_SIZE } = await import('./af-xdp.js');
  const s = openXskSocket('lo', 1, 0, rx, tx);
  const drv = afXdpOverSocket('lo', s, rx, tx, 7);
  const umem = new Uint8Array((await import('../../sys/libc.js')).viewMemory(s.umemPtr, s.umemLen));
  let prod = 0;
  /** the kernel's side of the RX ring: one descriptor {addr (lo, hi), len} */
  const produce = (addr: number, len: number, hi = 0, options = 0): void => {
    const d = s.rx.desc + (prod & s.rx.mask) * 4;
    s.rx.w[d] = addr;
    s.rx.w[d + 1] = hi;
    s.rx.w[d + 2] = len;
    s.rx.w[d + 3] = options;
    prod++;
    s.rx.w[s.rx.prod] = prod;
  };
  return { s, drv, umem, produce, CHUNK_SIZE };
}

test('rxBurst copies good frames into pool slots and drops malformed descriptors, giving every chunk back', { skip }, async () => {
  const { s, drv, umem, produce, CHUNK_SIZE } = await harness();
  try {
    const pool = new PacketPool(64);
    const out = new Uint32Array(64);
    const a = 3 * CHUNK_SIZE + 256; // copy mode puts the frame after XDP_PACKET_HEADROOM
    for (let i = 0; i < 60; i++) umem[a + i] = i + 1;
    const b = 5 * CHUNK_SIZE + 256;
    for (let i = 0; i < 300; i++) umem[b + i] = (i * 7) & 0xff;
    produce(a, 60);
    produce(s.umemLen - 10, 60); // runs past the end of the UMEM
    produce(7 * CHUNK_SIZE, MAX_FRAME + 1); // does not fit a pool slot
    produce(8 * CHUNK_SIZE, 10); // shorter than an Ethernet header
    produce(9 * CHUNK_SIZE, 60, 1); // an address above 4 GiB
    produce(b, 300);
    const n = drv.rxBurst(pool, out, 64);
    assert.equal(n, 2);
    assert.deepEqual([...pool.frame(out[0]!)], Array.from({ length: 60 }, (_, i) => i + 1));
    assert.deepEqual([...pool.frame(out[1]!)], Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff));
    assert.equal(pool.rxVif[out[0]!], 7);
    assert.equal(pool.start[out[1]!], HEADROOM);
    const st = drv.stats();
    assert.equal(st.rxFrames, 2);
    assert.equal(st.rxDropped, 4);
    // consumer index published; all six chunks back in the fill ring, as chunk base addresses
    assert.equal(s.rx.w[s.rx.cons], 6);
    assert.equal(s.fill.w[s.fill.prod], 16 + 6);
    const back = Array.from({ length: 6 }, (_, k) => s.fill.w[s.fill.desc + ((16 + k) & s.fill.mask) * 2]);
    assert.deepEqual(back, [3, Math.floor((s.umemLen - 10) / CHUNK_SIZE), 7, 8, 9, 5].map((c) => c * CHUNK_SIZE));
    assert.equal(drv.rxBurst(pool, out, 64), 0, 'nothing new');
    // an odd length at an unaligned address (not what copy mode produces, but a valid descriptor)
    const u = 10 * CHUNK_SIZE + 257;
    for (let i = 0; i < 61; i++) umem[u + i] = 200 - i;
    produce(u, 61);
    assert.equal(drv.rxBurst(pool, out, 64), 1);
    assert.deepEqual([...pool.frame(out[0]!)], Array.from({ length: 61 }, (_, i) => 200 - i));
    // a burst is bounded by max, the rest waits
    for (let k = 0; k < 5; k++) produce(a, 60);
    assert.equal(drv.rxBurst(pool, out, 3), 3);
    assert.equal(drv.rxBurst(pool, out, 64), 2);
    // a pool that runs dry leaves the rest in the RX ring for the next call (nothing lost)
    const tiny = new PacketPool(1);
    produce(a, 60);
    produce(a, 60);
    assert.equal(drv.rxBurst(tiny, out, 64), 1);
    assert.equal(drv.rxBurst(tiny, out, 64), 0);
    assert.equal(drv.stats().poolEmpty, 1);
    assert.equal(s.fill.w[s.fill.prod], 16 + 13);
    assert.equal(drv.rxBurst(pool, out, 64), 1);
    assert.equal(drv.stats().rxDropped, 4);
    assert.equal(s.fill.w[s.fill.prod], 16 + 14);
    // malformed descriptors between good ones: the good frames land in out[0..n) in order
    const before = pool.available;
    produce(s.umemLen, 60);
    produce(a, 60);
    produce(9 * CHUNK_SIZE, 60, 1);
    produce(b, 300);
    assert.equal(drv.rxBurst(pool, out, 64), 2);
    assert.equal(pool.frame(out[0]!)[59], 60);
    assert.equal(pool.frame(out[1]!).length, 300);
    assert.equal(pool.available, before - 2, 'the malformed descriptors\' slots went back');
  } finally {
    drv.close();
  }
});

test('txBurst fills TX descriptors from free chunks, frees the pool slots, and refuses what does not fit', { skip }, async () => {
  const { s, drv, umem } = await harness(16, 8);
  try {
    const pool = new PacketPool(32);
    const idx = new Uint32Array(32);
    for (let k = 0; k < 10; k++) {
      const f = new Uint8Array(64 + k).fill(k + 1);
      idx[k] = pool.put(f);
    }
    // a frame whose start moved (a header pushed in front): the driver sends from start
    pool.start[idx[0]!] = HEADROOM - 4;
    pool.len[idx[0]!] = 68;
    // and one that starts at an address that is not a multiple of 4 (an Ethernet header popped)
    pool.start[idx[1]!] = HEADROOM - 14;
    pool.len[idx[1]!] = 65 + 14;
    const free0 = pool.available;
    const q = drv.txBurst(pool, idx, 0, 10);
    assert.equal(q, 8, 'the TX ring and the free chunks hold 8');
    assert.equal(pool.available, free0 + 10, 'every slot back in the pool, queued or not');
    assert.equal(drv.stats().txRingFull, 2);
    assert.equal(s.tx.w[s.tx.prod], 8);
    const seen = new Set<number>();
    for (let k = 0; k < 8; k++) {
      const d = s.tx.desc + k * 4;
      const addr = s.tx.w[d]!;
      const len = s.tx.w[d + 2]!;
      assert.ok(addr >= 16 * 2048 && addr < s.umemLen, `TX chunk ${addr} outside the TX part of the UMEM`);
      seen.add(addr);
      assert.equal(len, k === 0 ? 68 : k === 1 ? 79 : 64 + k);
      if (k > 0) assert.ok(umem.subarray(addr + (k === 1 ? 14 : 0), addr + len).every((x) => x === k + 1));
    }
    assert.equal(seen.size, 8, 'distinct chunks');
    // nothing completed yet (never kicked): still no room
    idx[0] = pool.put(new Uint8Array(60));
    assert.equal(drv.txBurst(pool, idx, 0, 1), 0);
  } finally {
    drv.close();
  }
  // a closed driver receives nothing, gives sent frames' slots back and ignores flush()
  const pool = new PacketPool(4);
  const idx = new Uint32Array([pool.put(new Uint8Array(60))]);
  assert.equal(drv.rxBurst(pool, new Uint32Array(4), 4), 0);
  assert.equal(drv.txBurst(pool, idx, 0, 1), 0);
  assert.equal(pool.available, 4);
  drv.flush();
  drv.close();
});

/** An IPv4 TCP frame (Ethernet included) carrying `payload`, checksums finished. */
function tcpFrame4(payload: Uint8Array, seq: number): Uint8Array {
  const tcp = new Uint8Array(20 + payload.length);
  encodeTcp({ srcPort: 40000, dstPort: 179, seq, ack: 1, flags: TCP_ACK | TCP_PSH, window: 502, checksum: 0, urgent: 0, options: new Uint8Array(0), payload }, tcp);
  const c = tcpChecksum(tcp, 0, tcp.length, 0x0a000001, 0x0a000102);
  tcp[16] = c >>> 8;
  tcp[17] = c & 0xff;
  const ip = new Uint8Array(20 + tcp.length);
  encodeIpv4({ tos: 0, id: 100, df: true, mf: false, fragOffset: 0, ttl: 64, protocol: IPPROTO_TCP, src: 0x0a000001, dst: 0x0a000102, options: new Uint8Array(0), payload: tcp }, ip);
  const f = new Uint8Array(14 + ip.length);
  encodeEthernet({ dst: new Uint8Array([2, 0, 0, 0, 0, 1]), src: new Uint8Array([2, 0, 0, 0, 0, 2]), vlans: [], etherType: ETHERTYPE_IPV4, payload: ip }, f);
  return f;
}

test('multi-buffer frames: chunks marked XDP_PKT_CONTD are gathered, taken whole when they fit a slot, TCP cut to the link MTU, the rest counted', { skip }, async () => {
  const { s, drv, umem, produce, CHUNK_SIZE } = await harness(64, 8);
  const CONTD = 1;
  /** the kernel's side: a frame written into consecutive chunks from chunk `first`, 2048 bytes each, the last without CONTD */
  const produceFrame = (frame: Uint8Array, first: number, bad = -1): number => {
    const pieces = Math.ceil(frame.length / CHUNK_SIZE);
    for (let p = 0; p < pieces; p++) {
      const part = frame.subarray(p * CHUNK_SIZE, (p + 1) * CHUNK_SIZE);
      const addr = (first + p) * CHUNK_SIZE;
      umem.set(part, addr);
      produce(p === bad ? s.umemLen : addr, part.length, 0, p < pieces - 1 ? CONTD : 0);
    }
    return pieces;
  };
  try {
    assert.equal(s.sg, true, 'this kernel binds with XDP_USE_SG');
    // a 5000-byte UDP-like frame into 16 KiB slots (a 9000-byte MTU's pool): whole, byte for byte
    const big = new PacketPool(64, 16384);
    const out = new Uint32Array(64);
    const jumbo = Uint8Array.from({ length: 5000 }, (_, i) => (i * 13 + 5) & 0xff);
    jumbo.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xb5]); // an EtherType nobody checksums
    const plain = new Uint8Array(60).fill(9);
    umem.set(plain, 40 * CHUNK_SIZE);
    produce(40 * CHUNK_SIZE, 60);
    produceFrame(jumbo, 0);
    produce(40 * CHUNK_SIZE, 60);
    assert.equal(drv.rxBurst(big, out, 64), 3, 'plain, jumbo, plain: in order in one burst');
    assert.deepEqual([big.len[out[0]!], big.len[out[1]!], big.len[out[2]!]], [60, 5000, 60]);
    assert.deepEqual(big.frame(out[1]!), jumbo);
    assert.equal(drv.stats().multiFrames, 1);
    big.freeBurst(out, 0, 3);

    // the same frame into 2 KiB slots: not TCP, so dropped and counted as too big; its chunks go back
    const small = new PacketPool(128);
    const fill0 = s.fill.w[s.fill.prod]!;
    produceFrame(jumbo, 0);
    assert.equal(drv.rxBurst(small, out, 64), 0);
    assert.equal(s.fill.w[s.fill.prod]! - fill0, 3, 'all three chunks back in the fill ring');
    assert.equal(drv.ioCounters!().rxTooBig, 1);

    // a 20000-byte TCP frame (a super-frame as generic XDP delivers it) on a 1500-byte link:
    // cut into segments of at most 1500 bytes of IP, sequence numbers and checksums right
    drv.linkMtu = 1500;
    const payload = Uint8Array.from({ length: 20000 - 54 }, (_, i) => (i * 7) & 0xff);
    const tcp = tcpFrame4(payload, 1000);
    const pieces = produceFrame(tcp, 0);
    assert.equal(pieces, 10);
    const n = drv.rxBurst(small, out, 64);
    assert.equal(n, Math.ceil(payload.length / 1460));
    const got: number[] = [];
    for (let k = 0; k < n; k++) {
      const f = small.frame(out[k]!);
      assert.ok(f.length <= 1514, `segment ${k}: ${f.length} bytes`);
      const ipLen = (f[16]! << 8) | f[17]!;
      assert.equal(ipLen, f.length - 14);
      assert.equal(new DataView(f.buffer, f.byteOffset).getUint32(38), (1000 + k * 1460) >>> 0);
      assert.equal(tcpChecksum(f, 34, f.length - 34, 0x0a000001, 0x0a000102), (f[50]! << 8) | f[51]!, `segment ${k}: TCP checksum`);
      got.push(...f.subarray(54));
    }
    assert.deepEqual(Uint8Array.from(got), payload);
    const st = drv.stats();
    assert.deepEqual([st.superFrames, st.segments], [1, n]);
    small.freeBurst(out, 0, n);

    // the chunks of one frame split across bursts: nothing until the last one is there
    const rest = tcpFrame4(payload.subarray(0, 3000), 5);
    umem.set(rest.subarray(0, CHUNK_SIZE), 0);
    produce(0, CHUNK_SIZE, 0, CONTD);
    assert.equal(drv.rxBurst(small, out, 64), 0);
    umem.set(rest.subarray(CHUNK_SIZE), CHUNK_SIZE);
    produce(CHUNK_SIZE, rest.length - CHUNK_SIZE);
    assert.equal(drv.rxBurst(small, out, 64), 3);
    small.freeBurst(out, 0, 3);

    // a chain with one descriptor outside the UMEM: the whole frame is dropped and counted
    const bad0 = drv.ioCounters!().invalidDescs;
    produceFrame(tcp, 0, 4);
    assert.equal(drv.rxBurst(small, out, 64), 0);
    assert.equal(drv.ioCounters!().invalidDescs, bad0 + 1);
    // and what follows is received as usual
    produce(40 * CHUNK_SIZE, 60);
    assert.equal(drv.rxBurst(small, out, 64), 1);
    assert.equal(s.rx.w[s.rx.cons], s.rx.w[s.rx.prod], 'every descriptor consumed');
  } finally {
    drv.close();
  }
});

test('txBurst sends a frame longer than a chunk as a chain of descriptors marked XDP_PKT_CONTD', { skip }, async () => {
  const { s, drv, umem } = await harness(16, 8);
  try {
    const pool = new PacketPool(8, 16384);
    const f = Uint8Array.from({ length: 5000 }, (_, i) => (i * 3) & 0xff);
    const idx = new Uint32Array([pool.put(f), pool.put(new Uint8Array(60).fill(1))]);
    assert.equal(drv.txBurst(pool, idx, 0, 2), 2);
    assert.equal(s.tx.w[s.tx.prod], 4, 'three descriptors for the long frame, one for the short');
    const parts: number[] = [];
    for (let k = 0; k < 3; k++) {
      const d = s.tx.desc + k * 4;
      assert.equal(s.tx.w[d + 3], k < 2 ? 1 : 0, `descriptor ${k} options`);
      parts.push(...umem.subarray(s.tx.w[d]!, s.tx.w[d]! + s.tx.w[d + 2]!));
    }
    assert.deepEqual(Uint8Array.from(parts), f);
    assert.equal(drv.stats().txMulti, 1);
    assert.equal(drv.stats().txFrames, 2);
    // more than the free chunks hold: refused and counted, the slot freed
    const g = Uint8Array.from({ length: 15000 }, () => 7);
    idx[0] = pool.put(g);
    assert.equal(drv.txBurst(pool, idx, 0, 1), 0);
    assert.equal(drv.stats().txRingFull, 1);
  } finally {
    drv.close();
  }
});
