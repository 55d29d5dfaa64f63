/**
 * The fast path's instructions per forwarded IPv4 packet, as docs/design.md measures them
 * ("How a change is held to that cost"): the pipeline benchmark's IPv4 scenario (same seeds;
 * 100k routes by default, PREFIXES=N to change it), 1,024,000 packets of warm-up, then
 * 1,024,000 forwarded inside a JSON.parse reviver so that callgrind counts only those:
 *
 *   valgrind --tool=callgrind --collect-atstart=no \
 *     --toggle-collect='v8::internal::JsonParseInternalizer::Internalize(*' \
 *     node --single-threaded dist/bench/lib/fastpath-callgrind.js
 *
 * then the total Ir / 1,024,000 (callgrind_annotate per function for the optimised code's share).
 */
import { createDataplane } from '../../src/dataplane/dataplane.js';
import { formatIpv4 } from '../../src/lib/addr.js';
import * as F from '../../test/support/frames.js';
import { mask4, randomPrefixes4, rng } from '../../test/support/random.js';

const RIN = '02:aa:00:00:00:01';
const ROUT = '02:aa:00:00:00:02';
const HOST = '02:00:00:00:00:01';
const PACKETS = 1_024_000;
const BURST = 256;

async function main(): Promise<void> {
  const routes = randomPrefixes4(Number(process.env.PREFIXES ?? 100_000), 1);
  const r = rng(7);
  const frames: Uint8Array[] = [];
  for (let k = 0; k < 65536; k++) {
    const i = r() % routes.addr.length;
    const dst = (routes.addr[i]! | (r() & ~mask4(routes.len[i]!))) >>> 0;
    if (dst >>> 28 >= 14 || dst >>> 24 === 0) { k--; continue; }
    const f = F.eth(RIN, HOST, 0x0800, F.ipv4({ src: '10.0.1.10', dst: formatIpv4(dst), payload: F.udp(1000 + (k & 1023), 53, new Uint8Array(18)) }));
    const padded = new Uint8Array(Math.max(60, f.length));
    padded.set(f);
    frames.push(padded);
  }
  const dp = createDataplane({ workers: 0, poolSize: 4096 });
  await dp.addVif({ name: 'in', driver: 'memory', mac: RIN, addresses: ['10.0.1.1/24'], memory: { replay: frames } });
  await dp.addVif({ name: 'out', driver: 'memory', mac: ROUT, addresses: ['10.0.2.1/24'], memory: { sink: true } });
  const nhs = [0, 1, 2, 3].map((k) => dp.addNexthop({ type: 'encap', vif: 'out', dmac: `02:00:00:00:02:0${k}` }));
  const w = new Uint32Array(1);
  for (let k = 0; k < routes.addr.length; k++) {
    w[0] = routes.addr[k]!;
    dp.tables.lpm4.insert(0, w, routes.len[k]!, nhs[k & 3]!);
  }
  const run = (): void => {
    for (let n = 0; n < PACKETS / BURST; n++) dp.poll();
  };
  run();
  const tx0 = dp.counters().tx!;
  // the measured part: callgrind collects inside the reviver's caller only
  JSON.parse('[0]', (_k, v: unknown) => {
    if (Array.isArray(v)) run();
    return v;
  });
  const tx = dp.counters().tx! - tx0;
  console.log(`forwarded ${tx} packets in the measured part (of ${PACKETS})`);
  await dp.stop();
}

void main();
