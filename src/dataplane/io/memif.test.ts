/**
 * The memif driver against a client written for the test (test/support/memif-client.ts)
 * over a real unix socket and real shared memory: the handshake, frames both ways, the
 * interrupt flags, and every way a bad client was asked to be survived — malformed control
 * messages, lying region sizes and ring offsets, an unsealed region, descriptors outside the
 * regions, a ring head running ahead, a hang-up mid-burst, a second client — each refused,
 * counted, disconnected, with the packet pool whole and the next client served.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flowHash, openMemif, type MemifDriver } from './memif.js';
import { PacketPool } from '../pool.js';
import { MemifTestClient } from '../../../test/support/memif-client.js';
import { MEMIF_ADD_RING_FLAG_C2S, MEMIF_MSG_SIZE, MEMIF_VERSION } from '../../wire/memif.js';
import { createMemfd } from '../../sys/unix.js';
import { libc, pollReadable } from '../../sys/libc.js';

const dir = mkdtempSync(join(tmpdir(), `memif-${process.pid}-`));
const open: { d?: MemifDriver; c: MemifTestClient[] } = { c: [] };
let n = 0;

function setup(opts: { id?: number; secret?: string; handshakeTimeoutMs?: number } = {}): { d: MemifDriver; pool: PacketPool; out: Uint32Array; pump: () => void; path: string } {
  const path = join(dir, `s${n++}.sock`);
  const d = openMemif('memif-t', { socket: path, vif: 3, ...opts });
  open.d = d;
  const pool = new PacketPool(512);
  const out = new Uint32Array(256);
  // the server's turn: a poll of the rings, and a look at the control socket (which an idle
  // connected driver takes at most once a millisecond on its own)
  const pump = () => {
    const k = d.rxBurst(pool, out, 256);
    pool.freeBurst(out, 0, k);
    d.service();
  };
  return { d, pool, out, pump, path };
}

function client(path: string, log2 = 6): MemifTestClient {
  const c = new MemifTestClient(path, { log2 });
  open.c.push(c);
  return c;
}

afterEach(() => {
  for (const c of open.c) c.close();
  open.c = [];
  open.d?.close();
  open.d = undefined;
});

process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function frame(i: number, len = 60): Uint8Array {
  const f = new Uint8Array(len);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
  for (let k = 14; k < len; k++) f[k] = (i + k) & 255;
  return f;
}

test('memif: handshake, then frames both ways through the rings', () => {
  const { d, pool, out, pump, path } = setup({ id: 5 });
  assert.equal(d.statusNow().state, 'listening');
  const c = client(path);
  const last = c.handshake(pump, 5);
  assert.deepEqual(last, { type: 'connected', ifName: 'memif-t' });
  const st = d.statusNow();
  assert.equal(st.state, 'connected');
  assert.equal(st.peer, 'memif-test-client');
  assert.equal(st.rxRingSize, 64);
  assert.equal(st.connects, 1);

  // client -> vRouter, including a frame longer than one buffer's worth of small ones
  const sent = [frame(1), frame(2, 1500), frame(3, 64)];
  assert.equal(c.sendFrames(sent), 3);
  const k = d.rxBurst(pool, out, 256);
  assert.equal(k, 3);
  for (let i = 0; i < k; i++) {
    assert.deepEqual(pool.frame(out[i]!), sent[i]);
    assert.equal(pool.rxVif[out[i]!], 3);
  }
  // vRouter -> client: the received slots go straight back out
  assert.equal(d.txBurst(pool, out, 0, k), 0, 'no buffers posted yet: nothing fits');
  assert.equal(d.ioCounters().txRingFull, 3);
  c.postBuffers();
  const again = sent.map((f) => pool.put(f));
  assert.equal(d.txBurst(pool, Uint32Array.from(again), 0, 3), 3);
  d.flush();
  assert.deepEqual(c.receiveFrames(), sent.map((f) => Buffer.from(f)));
  assert.equal(pool.available, 512, 'every slot back in the pool');
  assert.equal(d.statusNow().txRingPosted, 64 - 3);
});

test('memif: a frame longer than the client\'s buffers goes out chained (NEXT) and in whole', () => {
  const { d, pool, out, pump, path } = setup();
  const c = new MemifTestClient(path, { log2: 4, bufSize: 512 });
  open.c.push(c);
  assert.equal((c.handshake(pump) as { type: string }).type, 'connected');
  c.postBuffers();
  const big = frame(9, 1400);
  const slot = pool.put(big);
  assert.equal(d.txBurst(pool, Uint32Array.of(slot), 0, 1), 1);
  assert.deepEqual(c.receiveFrames(), [Buffer.from(big)]);
  // and a chain from the client arrives as one frame
  const v = c.view!;
  const base = c.c2s + 128;
  const [o0, o1] = [v.getUint32(base + 8, true), v.getUint32(base + 16 + 8, true)];
  c.bytes!.set(big.subarray(0, 512), o0);
  c.bytes!.set(big.subarray(512, 1024), o1);
  v.setUint16(base, 1, true); v.setUint32(base + 4, 512, true);
  v.setUint16(base + 16, 0, true); v.setUint32(base + 16 + 4, 512, true);
  v.setUint16(c.c2s + 6, 2, true);
  assert.equal(d.rxBurst(pool, out, 256), 1);
  assert.deepEqual(pool.frame(out[0]!), big.subarray(0, 1024));
});

/** A connected driver and client, the client's kick and whether the driver's fd (the worker's poll) is readable. */
function connectedWithKicks(): ReturnType<typeof setup> & { c: MemifTestClient; kick: () => void; readable: () => boolean } {
  const st = setup();
  const c = client(st.path);
  c.handshake(st.pump);
  st.pump();
  const kick = () => void libc().write(c.c2sEvent, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0), 8);
  const readable = () => pollReadable([st.d.fd], 0) > 0;
  return { ...st, c, kick, readable };
}

test('memif: a kick left counted while idle is cleared within the idle look (1 ms) when no worker reports wake-ups, so a sleeping worker blocks again', () => {
  const { d, pool, out, c, kick, readable } = connectedWithKicks();
  c.sendFrames([frame(1)]);
  kick();
  assert.equal(d.rxBurst(pool, out, 256), 1);
  pool.freeBurst(out, 0, 1);
  assert.equal(readable(), true, 'busy: the kick is still counted');
  // a kick with no frame behind it while idle: cleared within the idle look interval (1 ms)
  kick();
  const end = performance.now() + 100;
  while (readable() && performance.now() < end) assert.equal(d.rxBurst(pool, out, 256), 0);
  assert.equal(readable(), false, 'a stale kick does not keep the worker awake');
});

test('memif: in a worker that reports wake-ups, woke() reads the kick (one syscall) and serves the control socket when it was that; the idle turns read nothing', () => {
  const { d, pool, out, path, c, kick, readable } = connectedWithKicks();
  d.woke(); // the worker's first report: from now on the idle look is only a safety net
  // frames and their kick, as a paced client sends a burst to a sleeping worker
  c.sendFrames([frame(1), frame(2)]);
  kick();
  assert.equal(readable(), true);
  d.woke();
  assert.equal(readable(), false, 'woke() read the kick');
  assert.equal(d.rxBurst(pool, out, 256), 2, 'the frames are still there for the next turn');
  pool.freeBurst(out, 0, 2);
  // a stale kick during idle turns is left for the next wake-up: idle turns make no syscall for it
  kick();
  for (let i = 0; i < 20; i++) assert.equal(d.rxBurst(pool, out, 256), 0);
  assert.equal(readable(), true, 'idle turns did not read the eventfd');
  d.woke();
  assert.equal(readable(), false);
  // a control message wakes the worker too: woke() finds no kick and serves it
  c.send({ type: 'disconnect', code: 0, reason: 'bye' });
  assert.equal(readable(), true);
  d.woke();
  assert.equal(d.statusNow().state, 'listening');
  assert.equal(d.statusNow().lastDisconnect, 'the client disconnected: bye');
  // and a connecting client is accepted by the wake-up it causes
  const c2 = client(path);
  assert.equal(readable(), true);
  d.woke();
  assert.equal(d.statusNow().state, 'handshake');
  assert.equal((c2.recv() as { type: string }).type, 'hello');
});

test('memif: interrupt mode — the receive ring asks for kicks when idle, not while busy; tx kicks a client that asks', () => {
  const { d, pool, out, pump, path } = setup();
  const c = client(path);
  c.handshake(pump);
  pump();
  assert.equal(c.ringFlags().c2s & 1, 0, 'idle: MASK_INT clear, the client kicks');
  assert.equal(d.statusNow().rxInterrupt, true);
  c.sendFrames([frame(1)]);
  assert.equal(d.rxBurst(pool, out, 256), 1);
  assert.equal(c.ringFlags().c2s & 1, 1, 'busy: MASK_INT set, no kicks needed');
  pool.freeBurst(out, 0, 1);
  // the client polls its ring (flag set): no kick; it clears the flag: a kick per burst
  c.postBuffers();
  c.view!.setUint16(c.s2c + 4, 1, true);
  d.txBurst(pool, Uint32Array.of(pool.put(frame(2))), 0, 1);
  d.flush();
  assert.equal(d.statusNow().kicks, 0);
  c.view!.setUint16(c.s2c + 4, 0, true);
  d.txBurst(pool, Uint32Array.of(pool.put(frame(3))), 0, 1);
  d.flush();
  assert.equal(d.statusNow().kicks, 1);
});

/** Run the handshake up to the point `lie` replaces; return the server's answer to the lie. */
function lieAfter(step: 'hello' | 'init' | 'region', lie: (c: MemifTestClient) => void, path: string, pump: () => void, log2 = 6): unknown {
  const c = client(path, log2);
  assert.equal((c.expect(pump) as { type: string }).type, 'hello');
  if (step !== 'hello') {
    c.send({ type: 'init', version: MEMIF_VERSION, id: 0, mode: 0, secret: '', name: 'liar' });
    assert.equal((c.expect(pump) as { type: string }).type, 'ack');
  }
  if (step === 'region') {
    c.makeRegion();
    c.send({ type: 'add-region', index: 0, size: c.regionSize }, [c.regionFd]);
    assert.equal((c.expect(pump) as { type: string }).type, 'ack');
  }
  lie(c);
  return c.expect(pump);
}

function refusedWith(answer: unknown, re: RegExp): void {
  assert.equal((answer as { type: string }).type, 'disconnect', `answer: ${JSON.stringify(answer)}`);
  assert.match((answer as { reason: string }).reason, re);
}

test('memif bad peer: malformed control messages are refused, counted, disconnected', () => {
  const { d, pump, path } = setup();
  refusedWith(lieAfter('hello', (c) => c.sendRaw(new Uint8Array(40)), path, pump), /40 bytes/);
  refusedWith(lieAfter('hello', (c) => { const b = new Uint8Array(MEMIF_MSG_SIZE); b[0] = 77; c.sendRaw(b); }, path, pump), /unknown message type 77/);
  refusedWith(lieAfter('hello', (c) => c.send({ type: 'connect', ifName: 'x' }), path, pump), /before/);
  refusedWith(lieAfter('hello', (c) => c.send({ type: 'init', version: 0x100, id: 0, mode: 0, secret: '', name: 'old' }), path, pump), /Incompatible memif version 1\.0/);
  refusedWith(lieAfter('hello', (c) => c.send({ type: 'init', version: MEMIF_VERSION, id: 9, mode: 0, secret: '', name: 'x' }), path, pump), /ID not found/);
  refusedWith(lieAfter('hello', (c) => c.send({ type: 'init', version: MEMIF_VERSION, id: 0, mode: 1, secret: '', name: 'x' }), path, pump), /ethernet/);
  refusedWith(lieAfter('init', (c) => c.send({ type: 'add-region', index: 0, size: 4096 }), path, pump), /0 file descriptors/);
  const st = d.statusNow();
  assert.equal(st.badMessages, 7);
  assert.equal(st.state, 'listening');
});

test('memif bad peer: lying region sizes, unsealed regions and ring offsets past the region are refused', () => {
  const { d, pump, path } = setup();
  refusedWith(lieAfter('init', (c) => {
    const fd = createMemfd('small', 4096);
    c.send({ type: 'add-region', index: 0, size: 1 << 20 }, [fd]);
  }, path, pump), /claims 1048576 bytes, its file has 4096/);
  refusedWith(lieAfter('init', (c) => {
    const fd = createMemfd('unsealed', 1 << 20, false);
    c.send({ type: 'add-region', index: 0, size: 1 << 20 }, [fd]);
  }, path, pump), /not a memfd sealed against shrinking/);
  refusedWith(lieAfter('init', (c) => {
    const fd = createMemfd('r', 4096);
    c.send({ type: 'add-region', index: 3, size: 4096 }, [fd]);
  }, path, pump), /Invalid region index 3/);
  refusedWith(lieAfter('region', (c) => {
    c.send({ type: 'add-ring', flags: MEMIF_ADD_RING_FLAG_C2S, index: 0, region: 0, offset: c.regionSize - 100, log2RingSize: 6, privateHdrSize: 0 }, [c.c2sEvent]);
  }, path, pump), /runs past region 0/);
  refusedWith(lieAfter('region', (c) => {
    c.send({ type: 'add-ring', flags: MEMIF_ADD_RING_FLAG_C2S, index: 0, region: 1, offset: 0, log2RingSize: 6, privateHdrSize: 0 }, [c.c2sEvent]);
  }, path, pump), /unknown region 1/);
  refusedWith(lieAfter('region', (c) => {
    c.send({ type: 'add-ring', flags: 0, index: 0, region: 0, offset: 0, log2RingSize: 15, privateHdrSize: 0 }, [c.s2cEvent]);
  }, path, pump), /out of range/);
  // queues: in index order each way, at most 4 (hello says so)
  refusedWith(lieAfter('region', (c) => {
    c.send({ type: 'add-ring', flags: MEMIF_ADD_RING_FLAG_C2S, index: 1, region: 0, offset: c.c2s, log2RingSize: 6, privateHdrSize: 0 }, [c.c2sEvent]);
  }, path, pump), /Invalid ring index 1/);
  refusedWith(lieAfter('region', (c) => {
    c.send({ type: 'add-ring', flags: MEMIF_ADD_RING_FLAG_C2S, index: 4, region: 0, offset: c.c2s, log2RingSize: 6, privateHdrSize: 0 }, [c.c2sEvent]);
  }, path, pump), /Invalid ring index 4/);
  assert.equal(d.statusNow().badMessages, 8);
  assert.equal(d.statusNow().state, 'listening');
});

test('memif bad peer: descriptors outside the regions and a ring head running ahead disconnect it; the pool stays whole', () => {
  const { d, pool, out, pump, path } = setup();
  let c = client(path);
  c.handshake(pump);
  c.sendFrames([frame(1)]);
  c.sendDescriptor(0, c.regionSize - 10, 100); // runs 90 bytes past the region
  c.sendDescriptor(7, 0, 60); // no region 7
  const k = d.rxBurst(pool, out, 256);
  pool.freeBurst(out, 0, k);
  assert.equal(d.statusNow().state, 'listening');
  assert.equal(d.statusNow().badDescriptors, 1);
  assert.equal(d.ioCounters().invalidDescs, 1);
  assert.match(d.statusNow().lastDisconnect, /points outside the regions/);
  refusedWith(c.recv(), /outside the regions/);
  assert.equal(pool.available, 512);

  c = client(path);
  assert.equal((c.handshake(pump) as { type: string }).type, 'connected');
  c.view!.setUint16(c.c2s + 6, 5000, true); // head 5000 slots ahead of a 64-slot ring
  d.rxBurst(pool, out, 256);
  assert.equal(d.statusNow().state, 'listening');
  assert.equal(d.statusNow().badDescriptors, 2);

  c = client(path);
  assert.equal((c.handshake(pump) as { type: string }).type, 'connected');
  c.postBuffers();
  c.view!.setUint32(c.s2c + 128 + 8, c.regionSize, true); // a posted buffer past the end
  assert.equal(d.txBurst(pool, Uint32Array.of(pool.put(frame(1)), pool.put(frame(2))), 0, 2), 0);
  assert.equal(d.statusNow().state, 'listening');
  assert.equal(d.statusNow().badDescriptors, 3);
  assert.equal(pool.available, 512);
});

test('memif bad peer: a hang-up mid-burst leaves the vif listening, and the next client works', () => {
  const { d, pool, out, pump, path } = setup();
  const c1 = client(path);
  c1.handshake(pump);
  c1.sendFrames([frame(1), frame(2), frame(3)]);
  c1.close(); // regions unmapped on its side, socket closed, frames still queued
  open.c = open.c.filter((c) => c !== c1);
  for (let i = 0; i < 5; i++) {
    const k = d.rxBurst(pool, out, 256);
    pool.freeBurst(out, 0, k);
  }
  pump();
  assert.equal(d.statusNow().state, 'listening');
  assert.equal(d.statusNow().disconnects, 1);
  assert.match(d.statusNow().lastDisconnect, /closed the control socket/);
  assert.equal(pool.available, 512);
  // a second client while one is connected is turned away; the first keeps working
  const c2 = client(path);
  assert.equal((c2.handshake(pump) as { type: string }).type, 'connected');
  const c3 = client(path);
  refusedWith(c3.expect(pump), /Already connected/);
  assert.equal(d.statusNow().refused, 1);
  c2.sendFrames([frame(4)]);
  const k = d.rxBurst(pool, out, 256);
  assert.equal(k, 1);
  assert.deepEqual(pool.frame(out[0]!), frame(4));
  assert.equal(d.statusNow().connects, 2);
});

test('memif: a secret is required when configured', () => {
  const { pump, path } = setup({ secret: 's3cret' });
  refusedWith(client(path).handshake(pump, 0, ''), /Secret required/);
  refusedWith(client(path).handshake(pump, 0, 'wrong'), /Incorrect secret/);
  assert.equal((client(path).handshake(pump, 0, 's3cret') as { type: string }).type, 'connected');
});

test('memif bad peer: an interrupt descriptor that is not an eventfd, and a client that never finishes the handshake, are dropped', async () => {
  const { d, pump, path } = setup({ handshakeTimeoutMs: 50 });
  refusedWith(lieAfter('region', (c) => {
    const notEventfd = createMemfd('not-an-eventfd', 4096);
    c.send({ type: 'add-ring', flags: MEMIF_ADD_RING_FLAG_C2S, index: 0, region: 0, offset: c.c2s, log2RingSize: 6, privateHdrSize: 0 }, [notEventfd]);
  }, path, pump), /not an eventfd/);
  const silent = client(path);
  assert.equal((silent.expect(pump) as { type: string }).type, 'hello');
  assert.equal(d.statusNow().state, 'handshake');
  await new Promise((r) => setTimeout(r, 80));
  pump();
  assert.equal(d.statusNow().state, 'listening');
  assert.match(d.statusNow().lastDisconnect, /handshake not finished within 50 ms/);
  refusedWith(silent.recv(), /handshake not finished/);
  // and the next client is served
  assert.equal((client(path).handshake(pump) as { type: string }).type, 'connected');
});

test('memif: a frame filling a client buffer whose size is not a multiple of 8 leaves the next buffer untouched', () => {
  const { d, pool, pump, path } = setup();
  const c = new MemifTestClient(path, { log2: 4, bufSize: 100 });
  open.c.push(c);
  assert.equal((c.handshake(pump) as { type: string }).type, 'connected');
  c.postBuffers();
  const first = c.view!.getUint32(c.s2c + 128 + 8, true);
  c.bytes!.fill(0xaa, first + 100, first + 108); // the start of the next buffer
  const f = frame(1, 100);
  assert.equal(d.txBurst(pool, Uint32Array.of(pool.put(f)), 0, 1), 1);
  assert.deepEqual(c.receiveFrames(), [Buffer.from(f)]);
  assert.deepEqual([...c.bytes!.subarray(first + 100, first + 108)], new Array(8).fill(0xaa));
});

test('memif: an idle connected driver looks at its control socket on its own (at most once a millisecond)', async () => {
  const { d, pool, out, pump, path } = setup();
  const c = client(path);
  assert.equal((c.handshake(pump) as { type: string }).type, 'connected');
  c.send({ type: 'disconnect', code: 0, reason: 'bye' });
  for (let i = 0; i < 50 && d.statusNow().state === 'connected'; i++) {
    pool.freeBurst(out, 0, d.rxBurst(pool, out, 256)); // the data path alone, as the worker calls it
    await new Promise((r) => setTimeout(r, 2));
  }
  assert.equal(d.statusNow().state, 'listening');
  assert.equal(d.statusNow().lastDisconnect, 'the client disconnected: bye');
});

test('memif: the transmit queue of a frame is a function of its flow (addresses, TCP/UDP ports), never read past the frame', () => {
  const udp4 = (sport: number, dst = 2): Uint8Array => {
    const f = frame(0, 60);
    f.set([0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0, 10, 1, 0, 2, 10, 9, 0, dst], 14);
    f.set([sport >> 8, sport & 255, 0x23, 0x28], 34);
    return f;
  };
  const h = (f: Uint8Array, len = f.length) => flowHash(new DataView(f.buffer), 0, len);
  assert.equal(h(udp4(9001)), h(udp4(9001)), 'one flow, one queue');
  const seen = new Set(Array.from({ length: 16 }, (_, k) => h(udp4(9001 + k)) % 2));
  assert.equal(seen.size, 2, '16 source ports reach both of 2 queues');
  assert.notEqual(h(udp4(9001, 2)), h(udp4(9001, 3)), 'the destination counts');
  const arp = frame(0, 60);
  arp.set([0x08, 0x06], 12);
  assert.equal(h(arp), 0, 'not IP: queue 0');
  assert.equal(h(udp4(9001), 20), 0, 'a runt: queue 0');
  // an IHL claiming options past the frame's end: the ports are not read (the addresses still count)
  const opts = udp4(9001);
  opts[14] = 0x4f;
  const other = udp4(9002);
  other[14] = 0x4f;
  assert.equal(h(opts), h(other));
});

test('memif: several interfaces (ids) on one socket: each client reaches the vif of the id it asks for; an unknown or busy id is refused; the socket file stays until the last goes', () => {
  const path = join(dir, `shared${n++}.sock`);
  const d0 = openMemif('memif-0', { socket: path, id: 0, vif: 1 });
  const d1 = openMemif('memif-1', { socket: path, id: 1, vif: 2, secret: 'one' });
  try {
    assert.throws(() => openMemif('memif-dup', { socket: path, id: 1 }), /already serves id 1 \(vif memif-1\)/);
    const pool = new PacketPool(512);
    const out = new Uint32Array(256);
    const pump = () => {
      for (const d of [d0, d1]) {
        pool.freeBurst(out, 0, d.rxBurst(pool, out, 256));
        d.service();
      }
    };
    // id 1 first: whichever driver accepts, the vif with id 1 (and its secret) gets the client
    const c1 = client(path);
    assert.equal((c1.handshake(pump, 1, 'one') as { type: string }).type, 'connected');
    assert.equal(d1.statusNow().state, 'connected');
    assert.equal(d0.statusNow().state, 'listening');
    // while id 0 is free it runs other clients' handshakes: an unknown id, and the busy id 1, are refused with the reason
    const c5 = client(path);
    assert.match(JSON.stringify(c5.handshake(pump, 5)), /ID not found \(5\)/);
    const c1b = client(path);
    assert.match(JSON.stringify(c1b.handshake(pump, 1, 'one')), /Already connected \(id 1\)/);
    assert.equal(d0.statusNow().state, 'listening');
    assert.equal(d1.statusNow().state, 'connected', 'the busy id kept its client');
    const c0 = client(path);
    assert.equal((c0.handshake(pump, 0) as { type: string }).type, 'connected');
    assert.equal(d0.statusNow().state, 'connected');
    // frames go to the right vif, both ways
    c1.sendFrames([frame(1)]);
    c0.sendFrames([frame(2), frame(3)]);
    const got0 = d0.rxBurst(pool, out, 256);
    assert.equal(got0, 2);
    assert.equal(pool.rxVif[out[0]!], 1);
    pool.freeBurst(out, 0, got0);
    const got1 = d1.rxBurst(pool, out, 256);
    assert.equal(got1, 1);
    assert.equal(pool.rxVif[out[0]!], 2);
    pool.freeBurst(out, 0, got1);
    // every id busy: a client is turned away at once
    const c9 = client(path);
    assert.match(JSON.stringify(c9.expect(pump)), /Already connected/);
    assert.equal(d0.statusNow().state, 'connected');
    assert.equal(d1.statusNow().state, 'connected');
    // a wrong secret for id 1, once it is free: refused by id 1's own check
    c1.close();
    open.c = open.c.filter((c) => c !== c1);
    for (let i = 0; i < 20 && d1.statusNow().state !== 'listening'; i++) pump();
    const bad = client(path);
    assert.match(JSON.stringify(bad.handshake(pump, 1, 'two')), /Incorrect secret/);
    assert.equal(d1.statusNow().badMessages, 1, 'counted on the vif the client asked for');
    d0.close();
    assert.ok(existsSync(path), 'the socket stays while id 1 is configured');
    const again = client(path);
    assert.equal((again.handshake(pump, 1, 'one') as { type: string }).type, 'connected', 'id 1 alone still serves the socket');
  } finally {
    d0.close();
    d1.close();
  }
  assert.equal(existsSync(path), false, 'the last driver removed the socket');
});
