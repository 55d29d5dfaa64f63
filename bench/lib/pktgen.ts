/**
 * A small AF_PACKET packet generator for the forwarding benchmark (trafgen stalls here, see
 * LAB.md). One frame is written into every slot of a TPACKET_V2 TX ring once; the send loop
 * then only flips slot status words to SEND_REQUEST and kicks the kernel with one sendto() per
 * 64 frames, with PACKET_QDISC_BYPASS. Run inside the generator's namespace:
 *
 *   node pktgen.js IFNAME DST_MAC SRC_IP DST SECONDS [FRAME_LEN] [RATE_PPS]
 *
 * DST is one IPv4 address, or `flows:SEED:N`: N distinct destinations drawn inside the
 * 1M-route set randomPrefixes4(1M, SEED) that the forwarding benchmark installs, one after
 * the other in every slot sent (the destination changes every packet; the address and the IPv4
 * header checksum are rewritten in the slot before it is handed over; the UDP checksum is 0,
 * "none", as IPv4 allows). blast() also takes a list of frames to send in turn (`cycle`, used by
 * bench/lib/l2-traffic.ts). RATE_PPS paces the sender: it sleeps (never spins, so that all-core
 * CPU accounting sees the work the kernel does on its CPU) whenever it is ahead of the rate.
 * Prints "sent N pps P" when done. buildUdpFrame and flowDestinations are exported for tests.
 */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { encodeEthernet, ETHERTYPE_IPV4 } from '../../src/wire/ethernet.js';
import { encodeIpv4, IPPROTO_UDP } from '../../src/wire/ipv4.js';
import { encodeUdp, fillUdpChecksum } from '../../src/wire/udp.js';
import { parseIpv4, parseMac } from '../../src/lib/addr.js';
import {
  AF_PACKET, MAP_SHARED, MSG_DONTWAIT, PACKET_QDISC_BYPASS, PACKET_TX_RING, PACKET_VERSION, PROT_READ, PROT_WRITE,
  SOCK_CLOEXEC, SOCK_RAW, SOL_PACKET, TPACKET_V2,
} from '../../src/sys/constants.js';
import { mask4, randomPrefixes4 } from '../../test/support/random.js';
import { interfaceIndex, interfaceMac, libc, mapFailed, requestPacketRing, setIntOption, sockaddrLl, sysError, viewMemory } from '../../src/sys/libc.js';

const FRAME_SIZE = 2048;
const BLOCK_SIZE = 1 << 16;
const FRAMES = 2048;
const TX_DATA = 32;
const KICK_EVERY = 64;

/** An Ethernet/IPv4/UDP frame of `frameLen` bytes (60 = a 64-byte frame on the wire with FCS). */
export function buildUdpFrame(dst: Uint8Array, src: Uint8Array, srcIp: number, dstIp: number, frameLen = 60): Uint8Array {
  const payload = new Uint8Array(Math.max(0, frameLen - 14 - 20 - 8));
  const udp = new Uint8Array(8 + payload.length);
  encodeUdp({ srcPort: 4000, dstPort: 9, checksum: 0, payload }, udp);
  fillUdpChecksum(udp, 0, udp.length, srcIp, dstIp);
  const ip = new Uint8Array(20 + udp.length);
  encodeIpv4({ tos: 0, id: 0, df: false, mf: false, fragOffset: 0, ttl: 64, protocol: IPPROTO_UDP, src: srcIp, dst: dstIp, options: new Uint8Array(0), payload: udp }, ip);
  const frame = new Uint8Array(14 + ip.length);
  encodeEthernet({ dst, src, vlans: [], etherType: ETHERTYPE_IPV4, payload: ip }, frame);
  return frame;
}

/**
 * `n` distinct unicast destinations inside the route set randomPrefixes4(1M, seed), avoiding
 * 0/8, 10/8 (the benchmark's own links), 127/8 and multicast and above.
 */
export function flowDestinations(seed: number, n: number, routes = randomPrefixes4(1_000_000, seed)): Uint32Array {
  const out = new Uint32Array(n);
  const seen = new Set<number>();
  let x = (seed * 2654435761) >>> 0 || 1;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  for (let k = 0; k < n; ) {
    const i = next() % routes.addr.length;
    const d = (routes.addr[i]! | (next() & ~mask4(routes.len[i]!))) >>> 0;
    const top = d >>> 24;
    if (top === 0 || top === 10 || top === 127 || top >= 224 || seen.has(d)) continue;
    seen.add(d);
    out[k++] = d;
  }
  return out;
}

/** The IPv4 header checksum of `frame` (header at 14) with its destination replaced by `dst`. */
function checksumWith(frame: Uint8Array, dst: number): number {
  let sum = 0;
  for (let o = 14; o < 34; o += 2) {
    if (o === 24) continue;
    const word = o === 30 ? dst >>> 16 : o === 32 ? dst & 0xffff : (frame[o]! << 8) | frame[o + 1]!;
    sum += word;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Send `frame` for `seconds`, as fast as the ring allows or paced at `rate` packets/s; with
 * `flows`, each packet to the next destination of the list. Returns frames handed to the kernel.
 */
export function blast(ifname: string, frame: Uint8Array, seconds: number, opts: { rate?: number; flows?: Uint32Array; cycle?: readonly Uint8Array[] } = {}): number {
  const c = libc();
  const ifindex = interfaceIndex(ifname);
  const fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sysError('socket(AF_PACKET)');
  const len = FRAMES * FRAME_SIZE;
  let ptr: unknown = null;
  try {
    setIntOption(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2, 'PACKET_VERSION');
    setIntOption(fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1, 'PACKET_QDISC_BYPASS');
    requestPacketRing(fd, PACKET_TX_RING, FRAMES, FRAME_SIZE, BLOCK_SIZE);
    ptr = c.mmap(null, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mapFailed(ptr)) {
      ptr = null;
      throw sysError('mmap');
    }
    if (c.bind(fd, sockaddrLl(ifindex), 20) < 0) throw sysError('bind');
    const ab = viewMemory(ptr, len);
    const ring = new Uint8Array(ab);
    const words = new Uint32Array(ab);
    for (let i = 0; i < FRAMES; i++) {
      ring.set(frame, i * FRAME_SIZE + TX_DATA);
      words[(i * FRAME_SIZE + 4) >>> 2] = frame.length;
    }
    const flows = opts.flows;
    const sums = flows ? Uint16Array.from(flows, (d) => checksumWith(frame, d)) : undefined;
    let flow = 0;
    // `cycle`: whole frames of frame.length bytes, each packet the next one (the L2 benchmark's MACs and VLANs)
    const cycle = opts.cycle;
    let next = 0;
    if (flows) {
      for (let i = 0; i < FRAMES; i++) {
        const o = i * FRAME_SIZE + TX_DATA;
        ring[o + 40] = 0; // UDP checksum: none
        ring[o + 41] = 0;
      }
    }
    const rate = opts.rate ?? 0;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    let sent = 0;
    let head = 0;
    let sinceKick = 0;
    let kicks = 0;
    const t0 = performance.now();
    const end = Date.now() + seconds * 1000;
    for (;;) {
      const w = (head * FRAME_SIZE) >>> 2;
      if (words[w] === 0) {
        if (flows) {
          const o = head * FRAME_SIZE + TX_DATA;
          const d = flows[flow]!;
          const cs = sums![flow]!;
          flow = flow + 1 === flows.length ? 0 : flow + 1;
          ring[o + 24] = cs >>> 8;
          ring[o + 25] = cs & 255;
          ring[o + 30] = d >>> 24;
          ring[o + 31] = (d >>> 16) & 255;
          ring[o + 32] = (d >>> 8) & 255;
          ring[o + 33] = d & 255;
        } else if (cycle) {
          ring.set(cycle[next]!, head * FRAME_SIZE + TX_DATA);
          next = next + 1 === cycle.length ? 0 : next + 1;
        }
        words[w] = 1; // TP_STATUS_SEND_REQUEST
        head = head + 1 === FRAMES ? 0 : head + 1;
        sent++;
        if (++sinceKick < KICK_EVERY) continue;
      } else if (words[w] === 4) {
        words[w] = 0; // TP_STATUS_WRONG_FORMAT: give the slot back
        continue;
      }
      sinceKick = 0;
      c.sendto(fd, null, 0, MSG_DONTWAIT, null, 0);
      if (rate > 0) {
        // ahead of the rate: sleep until the schedule catches up (at least 0.2 ms per nap)
        const ahead = sent / rate - (performance.now() - t0) / 1000;
        if (ahead > 0) Atomics.wait(nap, 0, 0, Math.max(0.2, ahead * 1000));
        if (Date.now() >= end) break;
      } else if ((++kicks & 15) === 0 && Date.now() >= end) break;
    }
    return sent;
  } finally {
    if (ptr !== null) c.munmap(ptr, len);
    c.close(fd);
  }
}

function main(): void {
  const [ifname, dmac, srcIp, dst, seconds, frameLen, rate] = process.argv.slice(2);
  if (!ifname || !dmac || !srcIp || !dst || !seconds) {
    console.error('usage: pktgen IFNAME DST_MAC SRC_IP DST|flows:SEED:N SECONDS [FRAME_LEN] [RATE_PPS]');
    process.exit(2);
  }
  const m = /^flows:(\d+):(\d+)$/.exec(dst);
  const flows = m ? flowDestinations(Number(m[1]), Number(m[2])) : undefined;
  const frame = buildUdpFrame(parseMac(dmac), interfaceMac(ifname), parseIpv4(srcIp), flows ? flows[0]! : parseIpv4(dst), Number(frameLen ?? 60));
  const t0 = process.hrtime.bigint();
  const sent = blast(ifname, frame, Number(seconds), { rate: Number(rate ?? 0), ...(flows ? { flows } : {}) });
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`sent ${sent} pps ${Math.round(sent / dt)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main();
