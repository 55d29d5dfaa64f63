/**
 * UDP to a sample of routed prefixes, for the convergence benchmark (bench/bgp-convergence.bench.ts):
 * what still gets forwarded to prefixes after their withdrawal began. Each datagram carries
 * its send time (epoch ms, float64) and the index of its destination, so the receiver can tell
 * which datagrams were sent after a given moment and still arrived.
 *
 *   node sample-udp.js send PORT RATE DEST,DEST,...   round robin over the destinations at RATE
 *                                                     datagrams/s (a late event loop catches up
 *                                                     in a burst); when stdin closes it prints
 *                                                     {"sent":N}
 *   node sample-udp.js recv PORT                      every 500 ms prints {"received":N}; stdin
 *                                                     takes a moment (epoch ms); when it closes,
 *                                                     {"received":N,"since":T,"forwardedAfter":N,
 *                                                     "lastMs":MS}: the datagrams sent at or
 *                                                     after T that arrived
 */
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const nowMs = () => performance.timeOrigin + performance.now();

/** Datagrams sent at or after `since` (epoch ms) that arrived, and how long after `since` the last of them was sent. */
export function forwardedSince(sendTimes: readonly number[], since: number): { count: number; lastMs: number } {
  let count = 0;
  let last = Number.NaN;
  for (const t of sendTimes) {
    if (t < since) continue;
    count++;
    if (!(t - since <= last)) last = t - since;
  }
  return { count, lastMs: last };
}

function send(port: number, rate: number, dests: string[]): void {
  const sock = createSocket('udp4');
  const start = nowMs();
  let k = 0;
  const buf = Buffer.alloc(64);
  const tick = () => {
    const due = Math.floor(((nowMs() - start) * rate) / 1000);
    for (; k < due; k++) {
      buf.writeDoubleBE(nowMs(), 0);
      buf.writeUInt32BE(k % dests.length, 8);
      sock.send(buf, port, dests[k % dests.length]!);
    }
  };
  const timer = setInterval(tick, 1);
  process.stdin.resume();
  process.stdin.on('end', () => {
    clearInterval(timer);
    process.stdout.write(JSON.stringify({ sent: k }) + '\n');
    sock.close();
    process.exit(0);
  });
}

function recv(port: number): void {
  const sock = createSocket('udp4');
  const times: number[] = [];
  sock.on('message', (m) => {
    if (m.length >= 12) times.push(m.readDoubleBE(0));
  });
  // every address: the sampled destinations are the sink's local 10/8; the bench runs this only
  // inside the sink namespace it built
  sock.bind(port, '0.0.0.0');
  const timer = setInterval(() => process.stdout.write(JSON.stringify({ received: times.length }) + '\n'), 500);
  let input = '';
  process.stdin.setEncoding('utf8').on('data', (d: string) => {
    input += d;
  });
  process.stdin.on('end', () => {
    clearInterval(timer);
    const since = Number(input.trim());
    const after = Number.isFinite(since) && input.trim() !== '' ? forwardedSince(times, since) : undefined;
    process.stdout.write(JSON.stringify({ received: times.length, since, forwardedAfter: after?.count, lastMs: after?.lastMs }) + '\n');
    sock.close();
    process.exit(0);
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, port, rate, dests] = process.argv.slice(2);
  if (mode === 'send') send(Number(port), Number(rate), (dests ?? '').split(',').filter(Boolean));
  else if (mode === 'recv') recv(Number(port));
  else {
    console.error('usage: sample-udp.js send PORT RATE DESTS | recv PORT');
    process.exit(2);
  }
}
