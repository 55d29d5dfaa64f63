/**
 * Frames of the L2 switching benchmark (bench/l2-switching.bench.ts), sent with pktgen's ring
 * sender (blast, `cycle`). Two kinds, run inside a namespace:
 *
 *   node l2-traffic.js IFNAME switch SECONDS [RATE_PPS]   64-byte frames from 64 sources to the
 *       sink's MACS MACs in a shuffled order (the destination changes every packet), each
 *       tagged with its MAC's VLAN (the first half VLAN 10, the second VLAN 20)
 *   node l2-traffic.js IFNAME learn SECONDS [RATE_PPS]    one broadcast from each of the sink's
 *       MACs in turn, tagged alike: what a switch learns them from
 *
 * Prints "sent N pps P" when done. The MACs and frames are exported for the benchmark.
 */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import * as F from '../../test/support/frames.js';
import { rng } from '../../test/support/random.js';
import { blast } from './pktgen.js';

/** MACs behind the sink's port, half on each VLAN */
export const MACS = Number(process.env.L2_MACS ?? 10_000);
export const VLANS = [10, 20] as const;
/** sources behind the generator's port */
const SOURCES = 64;
/** 60 bytes written: 64 on the wire with the FCS */
const FRAME_LEN = 60;

/** The n-th MAC behind the sink (02:b2:...) or the generator (02:a1:...). */
export const sinkMac = (n: number): Uint8Array => Uint8Array.of(0x02, 0xb2, 0, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
const genMac = (n: number): Uint8Array => Uint8Array.of(0x02, 0xa1, 0, 0, 0, n & 255);
export const vlanOf = (n: number): number => (n < MACS / 2 ? VLANS[0] : VLANS[1]);

function frame(dst: Uint8Array, src: Uint8Array, vlan: number): Uint8Array {
  const f = F.eth(dst, src, 0x0800, F.ipv4({ src: '10.0.1.10', dst: '10.0.2.10', payload: F.udp(1000, 9, new Uint8Array(18)) }), vlan);
  const out = new Uint8Array(FRAME_LEN);
  out.set(f.subarray(0, FRAME_LEN));
  return out;
}

/** Every sink MAC once, in a shuffled order (fixed seed), from the generator's sources. */
export function switchFrames(): Uint8Array[] {
  const order = Array.from({ length: MACS }, (_, i) => i);
  const r = rng(14);
  for (let i = order.length - 1; i > 0; i--) {
    const j = r() % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.map((n, k) => frame(sinkMac(n), genMac(k % SOURCES), vlanOf(n)));
}

/** One broadcast from each sink MAC. */
export function learnFrames(): Uint8Array[] {
  const bcast = Uint8Array.of(255, 255, 255, 255, 255, 255);
  return Array.from({ length: MACS }, (_, n) => frame(bcast, sinkMac(n), vlanOf(n)));
}

function main(): void {
  const [ifname, kind, seconds, rate] = process.argv.slice(2);
  if (!ifname || (kind !== 'switch' && kind !== 'learn') || !seconds) {
    console.error('usage: l2-traffic IFNAME switch|learn SECONDS [RATE_PPS]');
    process.exit(2);
  }
  const cycle = kind === 'switch' ? switchFrames() : learnFrames();
  const t0 = process.hrtime.bigint();
  const sent = blast(ifname, cycle[0]!, Number(seconds), { rate: Number(rate ?? 0), cycle });
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`sent ${sent} pps ${Math.round(sent / dt)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main();
