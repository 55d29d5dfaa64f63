/**
 * A TPACKET_V3 (block) receive ring, for measuring block receive in the forwarding benchmark's
 * floor (bench/lib/fwd-floor.ts, driver `af-packet-v3`) before cnr's af-packet driver takes it.
 * With TPACKET_V2 (cnr's driver) the kernel hands over every frame on its own (a status word per
 * 2 KiB ring frame, and a wake-up check per frame); with V3 it packs frames into blocks and hands
 * over a whole block when it is full or when the block's retire timer (FLOOR_V3_TOV_MS, default 1
 * ms) expires, one wake-up per block. The trade: at low rates a frame waits in its block up to that
 * timeout, which is the latency bound a product would have to state.
 *
 * Only what the floor needs: plain frames (no PACKET_VNET_HDR, no GSO super-frames, no VLAN tag
 * reinsertion), copied into pool slots as cnr's driver copies them.
 */
import type { IoDriver } from '../../src/dataplane/io/driver.js';
import { HEADROOM, type PacketPool } from '../../src/dataplane/pool.js';
import { copyWords, fitsWords } from '../../src/dataplane/io/copy.js';
import {
  AF_PACKET, MAP_POPULATE, MAP_SHARED, PACKET_IGNORE_OUTGOING, PACKET_RX_RING, PACKET_VERSION, PROT_READ, PROT_WRITE, SOCK_CLOEXEC, SOCK_NONBLOCK,
  SOCK_RAW, SOL_PACKET, SOL_SOCKET, SO_RCVBUFFORCE,
} from '../../src/sys/constants.js';
import { closeFd, disableKernelArp, disableOffloads, interfaceIndex, interfaceMac, libc, mapFailed, setIntOption, setInterfaceUp, sockaddrLl, sysError, viewMemory } from '../../src/sys/libc.js';

const TPACKET_V3 = 2;
const TP_STATUS_KERNEL = 0;
const TP_STATUS_USER = 1;
/** struct tpacket_block_desc: version, offset_to_priv, then tpacket_hdr_v1: block_status, num_pkts, offset_to_first_pkt */
const B_STATUS = 8;
const B_NUM_PKTS = 12;
const B_FIRST = 16;
/** struct tpacket3_hdr: tp_next_offset (0), tp_snaplen (12), tp_mac (24, u16) */
const P_NEXT = 0;
const P_SNAPLEN = 12;
const P_MAC = 24;

export interface V3Options {
  blockSize?: number;
  blocks?: number;
  /** the block retire timeout in ms (tp_retire_blk_tov) */
  retireMs?: number;
  vif?: number;
}

export function openTpacketV3Rx(ifname: string, opts: V3Options = {}): IoDriver {
  const c = libc();
  const blockSize = opts.blockSize ?? 1 << 16;
  const blocks = opts.blocks ?? 128;
  const retireMs = opts.retireMs ?? Number(process.env['FLOOR_V3_TOV_MS'] ?? 1);
  const ifindex = interfaceIndex(ifname);
  setInterfaceUp(ifname);
  disableOffloads(ifname);
  disableKernelArp(ifname);
  const fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sysError('socket(AF_PACKET)');
  const len = blockSize * blocks;
  let ptr: unknown = null;
  try {
    setIntOption(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V3, 'PACKET_VERSION');
    setIntOption(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, 'PACKET_IGNORE_OUTGOING');
    setIntOption(fd, SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20, 'SO_RCVBUFFORCE');
    // struct tpacket_req3: block size, block count, frame size, frame count, retire timeout (ms), priv size, feature word
    const req = new Uint8Array(28);
    const dv = new DataView(req.buffer);
    dv.setUint32(0, blockSize, true);
    dv.setUint32(4, blocks, true);
    dv.setUint32(8, 2048, true);
    dv.setUint32(12, (blockSize / 2048) * blocks, true);
    dv.setUint32(16, retireMs, true);
    if (c.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, req, 28) < 0) throw sysError('PACKET_RX_RING (TPACKET_V3)');
    ptr = c.mmap(null, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (mapFailed(ptr)) {
      ptr = null;
      throw sysError('mmap(V3 ring)');
    }
    if (c.bind(fd, sockaddrLl(ifindex), 20) < 0) throw sysError(`bind(AF_PACKET, ${ifname})`);
  } catch (e) {
    if (ptr !== null) c.munmap(ptr, len);
    closeFd(fd);
    throw e;
  }
  const ab = viewMemory(ptr, len);
  const ring = new Uint8Array(ab);
  const words = new Uint32Array(ab);
  const rv = new DataView(ab);
  const vif = opts.vif ?? 0;
  let block = 0;
  /** inside the current block: frames left, and the next frame's offset (0: the block not started) */
  let left = 0;
  let at = 0;
  const mapped = ptr;
  return {
    name: ifname,
    hwaddr: interfaceMac(ifname),
    fd,
    rxBurst(pool: PacketPool, out: Uint32Array, max: number): number {
      let n = 0;
      const slotSize = pool.slotSize;
      const pv = pool.view;
      while (n < max) {
        const b = block * blockSize;
        if (at === 0) {
          if ((words[(b + B_STATUS) >>> 2]! & TP_STATUS_USER) === 0) break;
          left = words[(b + B_NUM_PKTS) >>> 2]!;
          at = b + words[(b + B_FIRST) >>> 2]!;
        }
        while (left > 0 && n < max) {
          const flen = words[(at + P_SNAPLEN) >>> 2]!;
          const mac = at + (ring[at + P_MAC]! | (ring[at + P_MAC + 1]! << 8));
          const slot = flen >= 14 && flen <= pool.maxFrame ? pool.alloc() : -1;
          if (slot >= 0) {
            const dst = slot * slotSize + HEADROOM;
            if (fitsWords(HEADROOM, flen, slotSize) && fitsWords(mac - b, flen, blockSize)) copyWords(rv, mac, pv, dst, flen);
            else pool.data.set(ring.subarray(mac, mac + flen), dst);
            pool.len[slot] = flen;
            pool.rxVif[slot] = vif;
            out[n++] = slot;
          }
          left--;
          at += words[(at + P_NEXT) >>> 2]!;
        }
        if (left > 0) break;
        // the block is done: back to the kernel, on to the next
        words[(b + B_STATUS) >>> 2] = TP_STATUS_KERNEL;
        at = 0;
        block = block + 1 === blocks ? 0 : block + 1;
      }
      return n;
    },
    txBurst(pool: PacketPool, idx: Uint32Array, start: number, count: number): number {
      pool.freeBurst(idx, start, count);
      return 0;
    },
    flush(): void {},
    close(): void {
      c.munmap(mapped, len);
      closeFd(fd);
    },
  };
}
