/**
 * Spare AF_PACKET sockets (af-packet-spares.ts): how many are made and when, with a counting
 * stand-in for the kernel's preparation; then, as root, real prepared sockets opened on a veth
 * pair in a namespace of the test's own, carrying frames both ways.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { AfPacketSpares, afPacketSparesFromEnv, BURST_GAP_MS, BURST_IDLE_MS, BURST_SPARES_MAX, DEFAULT_AF_PACKET_SPARES } from './af-packet-spares.js';
import { NetnsLab, needsRoot } from '../../../test/lib/netns.js';

/** A preparation the test completes by hand (stands in for the kernel's ring set-up: the logic under test is when it is asked for). */
function manualPrepare() {
  const pending: { resolve: (fd: number) => void; reject: (e: Error) => void }[] = [];
  let next = 100;
  return {
    pending,
    prepare: () => new Promise<number>((resolve, reject) => pending.push({ resolve, reject })),
    finishOne: () => pending.shift()!.resolve(next++),
    failOne: () => pending.shift()!.reject(new Error('EPERM')),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

test('nothing is prepared before the first take; then the spares are kept ready', async () => {
  const m = manualPrepare();
  // (fake fds: closing them must not close the test's own)
  const s = new AfPacketSpares(2048, 2, m.prepare, { close: () => {} });
  assert.equal(m.pending.length, 0, 'no socket before an af-packet attach asks');
  const first = s.take();
  // the taker's socket plus two spares, all at once (concurrent preparations share grace periods)
  assert.equal(m.pending.length, 3);
  m.finishOne();
  assert.equal(await first, 100);
  m.finishOne();
  m.finishOne();
  await tick();
  assert.equal(s.available, 2);
  // a take from the spares is immediate and asks for one more
  assert.equal(await s.take(), 101);
  assert.equal(m.pending.length, 1);
  assert.equal(s.available, 1);
  s.close();
});

test('a burst beyond the spares waits for preparations started together, in order', async () => {
  const m = manualPrepare();
  const s = new AfPacketSpares(2048, 1, m.prepare, { close: () => {} });
  const takes = Array.from({ length: 4 }, () => s.take());
  // the burst ran short: from now on its four are kept ready (next test)
  assert.equal(m.pending.length, 8, 'four takers and four spares');
  for (let i = 0; i < 8; i++) m.finishOne();
  assert.deepEqual(await Promise.all(takes), [100, 101, 102, 103]);
  await tick();
  assert.equal(s.available, 4);
  s.close();
});

test('a failed preparation gives the taker undefined (it opens the slow way) and is not retried in a loop', async () => {
  const m = manualPrepare();
  const s = new AfPacketSpares(2048, 0, m.prepare);
  const t = s.take();
  assert.equal(m.pending.length, 1, 'no spares: one preparation per take');
  m.failOne();
  assert.equal(await t, undefined);
  await tick();
  assert.equal(m.pending.length, 0);
  assert.equal(s.failures, 1);
  s.close();
  assert.equal(await s.take(), undefined, 'closed: nothing more is prepared');
  assert.equal(m.pending.length, 0);
});

test('a burst that ran short keeps its size ready for the next burst, and falls back once the takes stop', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const m = manualPrepare();
  let clock = 0;
  const closed: number[] = [];
  const s = new AfPacketSpares(2048, 2, m.prepare, { now: () => clock, close: (fd) => closed.push(fd) });
  const finishAll = async () => {
    while (m.pending.length) m.finishOne();
    await tick();
  };
  // warm: two spares ready
  await Promise.all([s.take(), finishAll()]);
  assert.equal(s.available, 2);
  assert.equal(s.keeping, 2);
  // ten attaches at once (ten pods of one commit), a second apart from the warm-up
  clock += BURST_GAP_MS + 1;
  const burst = Array.from({ length: 10 }, () => s.take());
  assert.equal(s.keeping, 10, 'the burst ran short after two: its ten are kept ready from now on');
  await finishAll();
  assert.equal((await Promise.all(burst)).filter((fd) => fd !== undefined).length, 10);
  assert.equal(s.available, 10, 'ten ready for the next burst');
  // the next burst of ten finds every socket ready: nothing waits for a preparation
  clock += BURST_GAP_MS + 1;
  const asked = m.pending.length;
  const next = Array.from({ length: 10 }, () => s.take());
  assert.equal(s.available, 0);
  assert.equal(m.pending.length - asked, 10, 'and they are made again behind it');
  assert.equal(s.keeping, 10, 'a burst that did not run short does not raise the count');
  await finishAll();
  await Promise.all(next);
  assert.equal(s.available, 10);
  // no take for BURST_IDLE_MS: back to the configured two, the surplus closed
  t.mock.timers.tick(BURST_IDLE_MS);
  assert.equal(s.keeping, 2);
  assert.equal(s.available, 2);
  assert.equal(closed.length, 8);
  s.close();
  assert.equal(closed.length, 10, 'close() releases the rest');
});

test('a burst raises the count to at most BURST_SPARES_MAX, and none with 0 configured', async () => {
  const m = manualPrepare();
  const s = new AfPacketSpares(2048, 1, m.prepare, { now: () => 0, close: () => {} });
  for (let i = 0; i < BURST_SPARES_MAX + 10; i++) void s.take();
  assert.equal(s.keeping, BURST_SPARES_MAX);
  s.close();
  const z = new AfPacketSpares(2048, 0, manualPrepare().prepare, { now: () => 0, close: () => {} });
  for (let i = 0; i < 10; i++) void z.take();
  assert.equal(z.keeping, 0, 'CNR_AF_PACKET_SPARES=0 keeps none, burst or not');
  z.close();
});

test('CNR_AF_PACKET_SPARES is a count from 0 to 64', () => {
  assert.equal(afPacketSparesFromEnv({}), DEFAULT_AF_PACKET_SPARES);
  assert.equal(afPacketSparesFromEnv({ CNR_AF_PACKET_SPARES: '0' }), 0);
  assert.equal(afPacketSparesFromEnv({ CNR_AF_PACKET_SPARES: '5' }), 5);
  assert.throws(() => afPacketSparesFromEnv({ CNR_AF_PACKET_SPARES: '-1' }), /not a count from 0 to 64/);
  assert.throws(() => afPacketSparesFromEnv({ CNR_AF_PACKET_SPARES: 'many' }), /CNR_AF_PACKET_SPARES=many/);
});

const lab = new NetnsLab('afsp');
after(() => lab.cleanup());

test('a prepared socket opened on a veth carries frames both ways, bound only at open', { skip: needsRoot(), timeout: 30000 }, async () => {
  const ns = lab.netns('n');
  lab.veth(ns, 'a0', ns, 'a1');
  // the drivers run in a child inside the namespace; it reports what each side received
  const url = (p: string) => new URL(p, import.meta.url).href;
  const code = `
    import { AfPacketSpares } from ${JSON.stringify(url('./af-packet-spares.js'))};
    import { openAfPacket } from ${JSON.stringify(url('./af-packet.js'))};
    import { PacketPool } from ${JSON.stringify(url('../pool.js'))};
    const spares = new AfPacketSpares(2048, 1);
    const fd = await spares.take();
    if (fd === undefined) throw new Error('no prepared socket: ' + spares.failures);
    await new Promise((r) => setTimeout(r, 200));
    const a0 = openAfPacket('a0', { prepared: fd, vif: 0 });
    const a1 = openAfPacket('a1', { vif: 1 });
    const pool = new PacketPool(64);
    const send = (drv, n, tag) => {
      const idx = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        const s = pool.alloc();
        const f = new Uint8Array(60);
        f.set([0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a, 0x88, 0xb5, tag, i]);
        pool.data.set(f, s * pool.slotSize + pool.start[s]);
        pool.len[s] = 60;
        idx[i] = s;
      }
      drv.txBurst(pool, idx, 0, n);
      drv.flush();
      drv.flush();
    };
    const recv = async (drv, tag) => {
      const out = new Uint32Array(64);
      let got = 0;
      for (let t = 0; t < 200 && got < 5; t++) {
        const n = drv.rxBurst(pool, out, 64);
        for (let i = 0; i < n; i++) {
          const s = out[i];
          if (pool.data[s * pool.slotSize + pool.start[s] + 14] === tag) got++;
          pool.free(s);
        }
        if (got < 5) await new Promise((r) => setTimeout(r, 10));
      }
      return got;
    };
    send(a0, 5, 0xa0);
    const atA1 = await recv(a1, 0xa0);
    send(a1, 5, 0xa1);
    const atA0 = await recv(a0, 0xa1);
    console.log(JSON.stringify({ atA1, atA0, spareReady: spares.available }));
    a0.close(); a1.close(); spares.close();
  `;
  const out = lab.run(ns, [process.execPath, '--input-type=module', '-e', code], { timeout: 20000 });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { atA1: number; atA0: number; spareReady: number };
  assert.equal(r.atA1, 5, `frames sent through the prepared socket on a0, received on a1: ${out}`);
  assert.equal(r.atA0, 5, `frames sent from a1, received by the prepared socket on a0: ${out}`);
  assert.equal(r.spareReady, 1, 'a spare was made ready for the next attach');
});

test('a worker hands its fds to the main thread to close, past koffi’s 256 async calls (a worker never runs their callbacks)', { timeout: 30000 }, async () => {
  // the worker opens 300 sockets and closes each through closeInBackground, as detaches do
  const code = `
    import { parentPort } from 'node:worker_threads';
    import { readdirSync } from 'node:fs';
    const { closeInBackground, setFdCloser } = await import(${JSON.stringify(new URL('./af-packet.js', import.meta.url).href)});
    const { libc } = await import(${JSON.stringify(new URL('../../sys/libc.js', import.meta.url).href)});
    setFdCloser((fd) => parentPort.postMessage({ close: fd }));
    let failed = '';
    for (let i = 0; i < 300; i++) {
      const fd = libc().socket(2, 2, 0);
      try { closeInBackground(fd); } catch (e) { failed ||= 'close ' + i + ': ' + e.message; }
    }
    parentPort.postMessage({ done: true, failed });
  `;
  const { Worker } = await import('node:worker_threads');
  const { closeAfPacketFd } = await import('./af-packet-spares.js');
  const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`));
  let handed = 0;
  const result = await new Promise<{ failed: string }>((resolve, reject) => {
    w.on('message', (m: { close?: number; done?: boolean; failed: string }) => {
      if (m.close !== undefined) {
        handed++;
        closeAfPacketFd(m.close);
      } else if (m.done) resolve(m);
    });
    w.on('error', reject);
  });
  await w.terminate();
  assert.equal(result.failed, '', 'no close refused');
  assert.equal(handed, 300, 'every fd went to the main thread');
});
