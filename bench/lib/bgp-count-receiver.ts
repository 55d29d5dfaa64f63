/**
 * Counting BGP receivers, the injector in reverse (bench/bgp-out.bench.ts): one process opens
 * N eBGP sessions to the router under test, each from its own local address and AS, accepts
 * whatever UPDATEs come, and counts per session how many distinct prefixes of the expected
 * range it holds (a bitmap over the range: re-announcements are not counted twice, withdrawals
 * uncount). It keeps nothing else, so the router's outbound path is what gets measured. The
 * session handling (OPEN, KEEPALIVEs, no hold timer enforced) is bgp-injector.ts' BgpInjector.
 *
 * Run as a program inside the receivers' namespace it prints one JSON line per event
 * ({"event":"established"|"complete"|"progress"|"closed"|"error", t: epoch ms, peer, ...}):
 *   node dist/bench/lib/bgp-count-receiver.js --dut 100.65.0.1 --locals 100.65.0.2,100.65.0.3 \
 *     --first-as 65100 --base 10.0.0.0 --prefix-len 28 --count 1000000
 * "complete" is printed once per session, when it holds every expected prefix.
 */
import { pathToFileURL } from 'node:url';
import { BgpInjector, ipv4ToInt, nowMs, parseArgs } from './bgp-injector.js';

/** Distinct prefixes of one length in [base, base + count * 2^(32-len)) held by one session. */
export class PrefixCounter {
  private readonly bits: Uint8Array;
  private readonly step: number;
  held = 0;
  /** NLRI announced / withdrawn in total (including repeats and prefixes outside the range) */
  announced = 0;
  withdrawn = 0;
  outside = 0;

  constructor(readonly base: number, readonly prefixLen: number, readonly count: number) {
    this.bits = new Uint8Array(Math.ceil(count / 8));
    this.step = 2 ** (32 - prefixLen);
  }

  /** Apply one UPDATE body (RFC 4271 section 4.3: withdrawn routes, path attributes, NLRI). */
  update(body: Uint8Array): void {
    if (body.length < 4) return;
    const wlen = (body[0]! << 8) | body[1]!;
    const wEnd = 2 + wlen;
    if (wEnd + 2 > body.length) return;
    const alen = (body[wEnd]! << 8) | body[wEnd + 1]!;
    const nStart = wEnd + 2 + alen;
    if (nStart > body.length) return;
    this.prefixes(body, 2, wEnd, false);
    this.prefixes(body, nStart, body.length, true);
  }

  private prefixes(b: Uint8Array, from: number, to: number, add: boolean): void {
    let p = from;
    while (p < to) {
      const len = b[p]!;
      const n = (len + 7) >> 3;
      if (len > 32 || p + 1 + n > to) return; // malformed: stop counting this field
      let addr = 0;
      for (let i = 0; i < 4; i++) addr = addr * 256 + (i < n ? b[p + 1 + i]! : 0);
      p += 1 + n;
      if (add) this.announced++;
      else this.withdrawn++;
      const off = addr - this.base;
      const idx = off / this.step;
      if (len !== this.prefixLen || off < 0 || idx >= this.count || idx !== Math.floor(idx)) {
        if (add) this.outside++;
        continue;
      }
      const byte = idx >> 3;
      const mask = 1 << (idx & 7);
      const had = (this.bits[byte]! & mask) !== 0;
      if (add && !had) {
        this.bits[byte] = this.bits[byte]! | mask;
        this.held++;
      } else if (!add && had) {
        this.bits[byte] = this.bits[byte]! & ~mask;
        this.held--;
      }
    }
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const emit = (event: string, extra: Record<string, unknown> = {}) => process.stdout.write(JSON.stringify({ event, t: nowMs(), ...extra }) + '\n');
  const locals = (a['locals'] ?? '').split(',').filter(Boolean);
  if (!a['dut'] || locals.length === 0) throw new Error('--dut and --locals are required');
  const firstAs = Number(a['first-as'] ?? 65100);
  const count = Number(a['count'] ?? 1_000_000);
  const base = ipv4ToInt(a['base'] ?? '10.0.0.0');
  const prefixLen = Number(a['prefix-len'] ?? 28);
  const connectTimeout = Number(a['connect-timeout'] ?? 120_000);
  const peers = locals.map((local, i) => ({ i, local, counter: new PrefixCounter(base, prefixLen, count), s: undefined as unknown as BgpInjector }));
  await Promise.all(
    peers.map(async (p) => {
      let done = false;
      const onUpdate = (body: Buffer) => {
        p.counter.update(body);
        if (!done && p.counter.held >= count) {
          done = true;
          emit('complete', { peer: p.i, local: p.local, announced: p.counter.announced, withdrawn: p.counter.withdrawn });
        }
      };
      // the router may not listen yet: retry a refused connection until the deadline
      const deadline = Date.now() + connectTimeout;
      for (;;) {
        const s = new BgpInjector({ peer: a['dut']!, localAs: firstAs + p.i, routerId: p.local, localAddress: p.local });
        s.onUpdate = onUpdate;
        try {
          await s.connect(Math.max(1000, deadline - Date.now()));
          p.s = s;
          break;
        } catch (err) {
          s.close();
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      emit('established', { peer: p.i, local: p.local, peerAs: p.s.peerOpen?.asn, holdTime: p.s.peerOpen?.holdTime });
    }),
  );
  const progress = setInterval(() => emit('progress', { held: peers.map((p) => p.counter.held) }), 1000);
  progress.unref();
  const stop = () => {
    emit('closed', { held: peers.map((p) => p.counter.held), announced: peers.map((p) => p.counter.announced) });
    for (const p of peers) p.s.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  // a session the router closed is reported and the others carry on
  await Promise.all(
    peers.map(async (p) => {
      await p.s.until('session end', () => p.s.closed, 2 ** 31 - 1).catch(() => undefined);
      emit('peer-closed', { peer: p.i, notification: p.s.notification });
    }),
  );
  stop();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stdout.write(JSON.stringify({ event: 'error', t: nowMs(), message: String(err) }) + '\n');
    process.exit(1);
  });
}
