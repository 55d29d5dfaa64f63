/**
 * Numbered UDP datagrams at a fixed rate and their receivers, for the failover benchmark
 * (bench/bfd-failover.bench.ts). Numbers, not ping: a lost datagram is a number nobody
 * received, whichever way the traffic went, and the sender keeps its rate whatever happens to
 * the path (ping slows down while its probes go unanswered, so its loss count does not measure
 * an outage).
 *
 *   node seq-udp.js send DEST PORT RATE   datagram k (its number in the first 4 bytes) leaves at
 *                                         start + k / RATE s; a late event loop catches up in a
 *                                         burst, so k / RATE stays its due time. When stdin
 *                                         closes it prints {"sent":N,"startMs":EPOCH_MS}.
 *   node seq-udp.js recv ADDR PORT        when stdin closes it prints {"ranges":[[a,b],...]},
 *                                         the numbers received as inclusive runs.
 *
 * `analyseFailover` reads one cut from the sender's and the two receivers' reports.
 */
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';

export type Ranges = [number, number][];

/** Sorted, merged inclusive runs from runs in arrival order (datagrams may be reordered or duplicated). */
export function normalise(ranges: Ranges): Ranges {
  const s = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const [a, b] of s) {
    const last = out.at(-1);
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

export interface FailoverCut {
  /** datagrams the sender sent (numbers 0 .. sent-1) */
  sent: number;
  /**
   * the numbers due when the command taking the port down started and when it had returned
   * (on a busy machine starting `ip` can take a while: the port went down in between)
   */
  cutSeq: number;
  cutDoneSeq?: number;
  /** runs received by the peer in use before the cut, and by the other one */
  before: Ranges;
  after: Ranges;
}

export interface FailoverResult {
  /** datagrams nobody received */
  lost: number;
  /** the longest run of consecutive lost numbers (= ms at 1,000 pps) */
  longestOutage: number;
  /** where that run starts, relative to the cut (numbers, so ms at 1,000 pps) */
  outageStartFromCut: number;
  /** first number the other peer received at or after the cut, relative to the cut */
  firstAfterFromCut: number;
  /** checks that make the loss a failover: why not, if it is not one */
  invalid?: string;
}

/**
 * One cut read from the datagrams' numbers. Valid only when the loss is the failover itself:
 * everything due more than `slack` before the cut reached the first peer and none the other,
 * everything from `slack` after the first datagram seen at the other peer went there, and all
 * the loss is one run starting within `slack` of the cut (so ARP, a bridge or anything else did
 * not lose packets elsewhere in the window).
 */
export function analyseFailover(c: FailoverCut, slack = 50): FailoverResult {
  const seen = new Uint8Array(c.sent);
  for (const [a, b] of normalise(c.before)) for (let k = a; k <= b && k < c.sent; k++) seen[k]! |= 1;
  for (const [a, b] of normalise(c.after)) for (let k = a; k <= b && k < c.sent; k++) seen[k]! |= 2;
  let lost = 0;
  let longest = 0;
  let longestStart = -1;
  let run = 0;
  let firstAfter = -1;
  let lateBefore = -1;
  let earlyAfter = -1;
  let lostBefore = 0;
  for (let k = 0; k < c.sent; k++) {
    const v = seen[k]!;
    if (v === 0) {
      lost++;
      run++;
      if (run > longest) {
        longest = run;
        longestStart = k - run + 1;
      }
      if (k < c.cutSeq - slack) lostBefore++;
    } else run = 0;
    if (v & 2 && k < c.cutSeq - slack && earlyAfter < 0) earlyAfter = k;
    if (v & 2 && k >= c.cutSeq - slack && firstAfter < 0) firstAfter = k;
    if (v & 1 && firstAfter >= 0 && k > firstAfter + slack) lateBefore = k;
  }
  const r: FailoverResult = {
    lost,
    longestOutage: longest,
    outageStartFromCut: longestStart < 0 ? 0 : longestStart - c.cutSeq,
    firstAfterFromCut: firstAfter < 0 ? -1 : firstAfter - c.cutSeq,
  };
  const why: string[] = [];
  if (lostBefore > 0) why.push(`${lostBefore} lost before the cut`);
  if (earlyAfter >= 0) why.push(`the other peer already had number ${earlyAfter} before the cut (${c.cutSeq})`);
  if (firstAfter < 0) why.push('no datagram reached the other peer after the cut');
  if (lateBefore >= 0) why.push(`the cut peer still received number ${lateBefore} after the failover`);
  const cutDone = Math.max(c.cutSeq, c.cutDoneSeq ?? c.cutSeq);
  if (longest > 0 && (longestStart < c.cutSeq - slack || longestStart > cutDone + slack)) why.push(`the outage starts ${longestStart - c.cutSeq} from the cut (its command took ${cutDone - c.cutSeq})`);
  if (lost !== longest) why.push(`${lost - longest} lost outside the outage`);
  if (why.length) r.invalid = why.join('; ');
  return r;
}

function send(dest: string, port: number, rate: number): void {
  const sock = createSocket(dest.includes(':') ? 'udp6' : 'udp4');
  const payload = Buffer.alloc(32);
  const start = performance.now();
  const startMs = performance.timeOrigin + start;
  let sent = 0;
  const tick = () => {
    const due = Math.floor(((performance.now() - start) * rate) / 1000) + 1;
    while (sent < due) {
      const b = Buffer.from(payload);
      b.writeUInt32BE(sent, 0);
      // a send error (no route for a moment) is a lost datagram like any other
      sock.send(b, port, dest, () => undefined);
      sent++;
    }
  };
  const timer = setInterval(tick, 1);
  tick();
  process.stdin.resume();
  process.stdin.on('end', () => {
    clearInterval(timer);
    process.stdout.write(`${JSON.stringify({ sent, startMs })}\n`);
    sock.close();
  });
}

function receive(addr: string, port: number): void {
  const sock = createSocket(addr.includes(':') ? 'udp6' : 'udp4');
  const ranges: Ranges = [];
  sock.on('message', (m) => {
    if (m.length < 4) return;
    const k = m.readUInt32BE(0);
    const last = ranges.at(-1);
    if (last && k === last[1] + 1) last[1] = k;
    else ranges.push([k, k]);
  });
  sock.bind(port, addr, () => process.stdout.write('ready\n'));
  process.stdin.resume();
  process.stdin.on('end', () => {
    process.stdout.write(`${JSON.stringify({ ranges: normalise(ranges) })}\n`);
    sock.close();
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, addr, port, rate] = process.argv.slice(2);
  if (mode === 'send' && addr && port && rate) send(addr, Number(port), Number(rate));
  else if (mode === 'recv' && addr && port) receive(addr, Number(port));
  else {
    console.error('usage: seq-udp.js send DEST PORT RATE | recv ADDR PORT');
    process.exit(2);
  }
}
