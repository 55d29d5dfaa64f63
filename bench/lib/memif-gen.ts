/**
 * A paced memif packet generator for the memif benchmark: a memif client (the test client of
 * test/support/memif-client.ts, which speaks the protocol as DPDK's net_memif does in copy
 * mode) that sends one UDP frame over and over at a fixed rate, in bursts, as a DPDK
 * application's transmit loop would. dpdk-testpmd's txonly mode cannot be paced for memif
 * (it sends as fast as the ring takes frames), so comparing memif pods with veth pods at one
 * offered rate needs this. Like bench/lib/pktgen.ts it sleeps (never spins) whenever it is
 * ahead of the rate, and kicks the ring's eventfd after a burst only when the vRouter has not
 * set MASK_INT on the ring (DPDK's rule). Run it as a process:
 *
 *   node memif-gen.js SOCKET DST_MAC SRC_MAC SRC_IP DST_IP SECONDS RATE_PPS [BURST] [FRAME_LEN]
 *
 * Prints "sent N pps P full F late L kicks K" once a second and when done (full: frames not
 * sent because the vRouter had not yet given back the ring's buffers; late: frames given up
 * when the sender, descheduled, fell more than 2 ms behind its schedule: it does not rush a
 * backlog, whose large batches would flatter the vRouter's cost per frame).
 *
 *   node memif-gen.js --sink SOCKET SECONDS
 *
 * is the receiving pod: a memif client in interrupt mode (DPDK's rx interrupt mode, as an
 * application that sleeps when idle): it leaves MASK_INT clear on its receive ring so the
 * vRouter kicks its eventfd after a burst, sleeps in poll() on that eventfd, counts the frames
 * and posts the buffers back. Prints "received N". A polling receiver (testpmd rxonly) spins
 * a whole CPU, which on a 2-core machine is the paced sender's CPU.
 */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { MemifTestClient } from '../../test/support/memif-client.js';
import { drainWakeFd, libc, pollReadable } from '../../src/sys/libc.js';
import { parseIpv4, parseMac } from '../../src/lib/addr.js';
import { DESC_FLAGS, DESC_LENGTH, DESC_OFFSET, DESC_SIZE, MEMIF_RING_FLAG_MASK_INT, RING_FLAGS, RING_HEAD, RING_HEADER_SIZE, RING_TAIL } from '../../src/wire/memif.js';
import { buildUdpFrame } from './pktgen.js';

export interface MemifGenResult {
  sent: number;
  full: number;
  kicks: number;
  /** frames the schedule gave up on after the sender fell more than MAX_BEHIND_MS behind it */
  late: number;
  seconds: number;
}

/** how far behind its schedule the sender may fall before it gives up the backlog instead of rushing it */
const MAX_BEHIND_MS = 2;

/**
 * 4096 descriptors per ring (DPDK's default is 1024, its `rsize=12` gives this): as many frames
 * as the vRouter's AF_PACKET receive ring holds, so that on a loaded machine, where a woken
 * worker may wait tens of ms for its CPU, both kinds of pod have the same slack.
 */
const RING_LOG2 = 12;

const nap = new Int32Array(new SharedArrayBuffer(4));
const sleepMs = (ms: number): void => void Atomics.wait(nap, 0, 0, ms);

/** Connect to `socket` as interface `id`, then send `frame` for `seconds` at `rate` packets/s (0: as fast as the ring allows). */
export function memifBlast(socket: string, frame: Uint8Array, seconds: number, rate: number, burst = 32, id = 0, report?: (r: MemifGenResult) => void): MemifGenResult {
  const client = new MemifTestClient(socket, { log2: RING_LOG2, bufSize: 2048 });
  try {
    const answer = client.handshake(() => sleepMs(20), id);
    if (answer === 'closed' || answer.type !== 'connected') throw new Error(`memif-gen: not connected: ${JSON.stringify(answer)}`);
    const v = client.view!;
    const bytes = client.bytes!;
    const ring = client.c2s;
    const slots = 1 << client.layout.log2;
    // the frame sits in every buffer once; a burst then only writes lengths and the head
    for (let j = 0; j < slots; j++) {
      const d = ring + RING_HEADER_SIZE + j * DESC_SIZE;
      bytes.set(frame, v.getUint32(d + DESC_OFFSET, true));
      v.setUint32(d + DESC_LENGTH, frame.length, true);
      v.setUint16(d + DESC_FLAGS, 0, true);
    }
    const kick = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
    let head = 0;
    let sent = 0;
    let full = 0;
    let kicks = 0;
    let bursts = 0;
    let skippedMs = 0;
    let late = 0;
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    let nextReport = t0 + 1000;
    for (;;) {
      const tail = v.getUint16(ring + RING_TAIL, true);
      const room = slots - ((head - tail) & 0xffff);
      const n = Math.min(burst, room);
      full += burst - n;
      if (n > 0) {
        head = (head + n) & 0xffff;
        v.setUint16(ring + RING_HEAD, head, true);
        sent += n;
        if ((v.getUint16(ring + RING_FLAGS, true) & MEMIF_RING_FLAG_MASK_INT) === 0) {
          libc().write(client.c2sEvent, kick, 8);
          kicks++;
        }
      }
      const now = performance.now();
      if (now >= end) break;
      if (now >= nextReport) {
        // a running tally once a second: a caller that stops the sender early keeps the last one
        nextReport += 1000;
        report?.({ sent, full, kicks, late, seconds: (now - t0) / 1000 });
      }
      if ((++bursts & 63) === 0 && client.recv() === 'closed') throw new Error('memif-gen: the vRouter closed the control socket');
      if (rate > 0) {
        // ahead of the schedule (bursts offered, sent or not): sleep until it catches up
        const ahead = ((bursts * burst) / rate) * 1000 - (now - t0 - skippedMs);
        if (ahead > 0) sleepMs(Math.max(0.05, ahead));
        else if (ahead < -MAX_BEHIND_MS) {
          // descheduled for a while (a loaded machine): do not make up for it in one rush,
          // whose large batches would cost the vRouter less per frame than the steady rate
          skippedMs += -ahead - MAX_BEHIND_MS;
          late += Math.round(((-ahead - MAX_BEHIND_MS) / 1000) * rate);
        }
      }
    }
    return { sent, full, kicks, late, seconds: (performance.now() - t0) / 1000 };
  } finally {
    client.close();
  }
}

/** Connect to `socket` as interface `id` and take every frame the vRouter sends for `seconds`, sleeping between kicks; returns the frames received. */
export function memifSink(socket: string, seconds: number, id = 0): number {
  const client = new MemifTestClient(socket, { log2: RING_LOG2, bufSize: 2048 });
  try {
    const answer = client.handshake(() => sleepMs(20), id);
    if (answer === 'closed' || answer.type !== 'connected') throw new Error(`memif-gen: not connected: ${JSON.stringify(answer)}`);
    const v = client.view!;
    const ring = client.s2c;
    const slots = 1 << client.layout.log2;
    // every buffer posted (their lengths are the buffer size, as makeRegion wrote them)
    v.setUint16(ring + RING_HEAD, slots, true);
    let seen = 0;
    let received = 0;
    let turns = 0;
    const scratch = new Uint8Array(8);
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      const tail = v.getUint16(ring + RING_TAIL, true);
      const n = (tail - seen) & 0xffff;
      if (n > 0) {
        received += n;
        seen = tail;
        // give them back: each descriptor's length back to the whole buffer, then the head
        for (let k = 0; k < n; k++) v.setUint32(ring + RING_HEADER_SIZE + ((tail - n + k) & (slots - 1)) * DESC_SIZE + DESC_LENGTH, client.layout.bufSize, true);
        v.setUint16(ring + RING_HEAD, (tail + slots) & 0xffff, true);
        continue;
      }
      if (pollReadable([client.s2cEvent], 100, scratch) > 0) drainWakeFd(client.s2cEvent);
      if ((++turns & 63) === 0 && client.recv() === 'closed') throw new Error('memif-gen: the vRouter closed the control socket');
    }
    return received;
  } finally {
    client.close();
  }
}

function main(): void {
  if (process.argv[2] === '--sink') {
    const [socket, seconds] = process.argv.slice(3);
    if (!socket || !seconds) {
      console.error('usage: memif-gen --sink SOCKET SECONDS');
      process.exit(2);
    }
    console.log(`received ${memifSink(socket, Number(seconds))}`);
    return;
  }
  const [socket, dmac, smac, srcIp, dstIp, seconds, rate, burst, frameLen] = process.argv.slice(2);
  if (!socket || !dmac || !smac || !srcIp || !dstIp || !seconds || rate === undefined) {
    console.error('usage: memif-gen SOCKET DST_MAC SRC_MAC SRC_IP DST_IP SECONDS RATE_PPS [BURST] [FRAME_LEN]');
    process.exit(2);
  }
  const frame = buildUdpFrame(parseMac(dmac), parseMac(smac), parseIpv4(srcIp), parseIpv4(dstIp), Number(frameLen ?? 60));
  const line = (r: MemifGenResult): void => console.log(`sent ${r.sent} pps ${Math.round(r.sent / r.seconds)} full ${r.full} late ${r.late} kicks ${r.kicks}`);
  line(memifBlast(socket, frame, Number(seconds), Number(rate), Number(burst ?? 32), 0, line));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main();
