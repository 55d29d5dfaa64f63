/**
 * A small AF_PACKET packet generator for the forwarding benchmark (trafgen stalls here, see
 * LAB.md). One frame is written into every slot of a TPACKET_V2 TX ring once; the send loop
 * then only flips slot status words to SEND_REQUEST and kicks the kernel with one sendto() per
 * 64 frames, with PACKET_QDISC_BYPASS. Run inside the generator's namespace:
 *
 *   node pktgen.js IFNAME DST_MAC SRC_IP DST_IP SECONDS [FRAME_LEN]
 *
 * prints "sent N pps P" when done. buildUdpFrame is exported for tests.
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

/** Send `frame` as fast as the ring allows for `seconds`; returns frames handed to the kernel. */
export function blast(ifname: string, frame: Uint8Array, seconds: number): number {
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
    let sent = 0;
    let head = 0;
    let sinceKick = 0;
    let kicks = 0;
    const end = Date.now() + seconds * 1000;
    for (;;) {
      const w = (head * FRAME_SIZE) >>> 2;
      if (words[w] === 0) {
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
      if ((++kicks & 15) === 0 && Date.now() >= end) break;
    }
    return sent;
  } finally {
    if (ptr !== null) c.munmap(ptr, len);
    c.close(fd);
  }
}

function main(): void {
  const [ifname, dmac, srcIp, dstIp, seconds, frameLen] = process.argv.slice(2);
  if (!ifname || !dmac || !srcIp || !dstIp || !seconds) {
    console.error('usage: pktgen IFNAME DST_MAC SRC_IP DST_IP SECONDS [FRAME_LEN]');
    process.exit(2);
  }
  const frame = buildUdpFrame(parseMac(dmac), interfaceMac(ifname), parseIpv4(srcIp), parseIpv4(dstIp), Number(frameLen ?? 60));
  const t0 = process.hrtime.bigint();
  const sent = blast(ifname, frame, Number(seconds));
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`sent ${sent} pps ${Math.round(sent / dt)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main();
