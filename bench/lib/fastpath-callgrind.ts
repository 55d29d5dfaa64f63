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
import { ipv4Rig } from './ipv4-rig.js';

const PACKETS = 1_024_000;
const BURST = 256;

async function main(): Promise<void> {
  const dp = await ipv4Rig(Number(process.env.PREFIXES ?? 100_000));
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
