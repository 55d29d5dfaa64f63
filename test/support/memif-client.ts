/**
 * A memif client written for the tests, playing what DPDK's net_memif does in role=client
 * (copy mode): one memfd region holding the two rings and their buffers, one eventfd per
 * ring, the init / add-region / add-ring / connect handshake, then frames through the rings.
 * Every step is a separate call, so a test can replace any of them with a lie (a region
 * bigger than its file, a ring past its region, a descriptor outside it, a hang-up mid-burst).
 * The real client is DPDK itself: test/integration/memif-dpdk.test.ts.
 */
import { closeFd, libc, mapFailed, viewMemory } from '../../src/sys/libc.js';
import { EFD_CLOEXEC, EFD_NONBLOCK, MAP_SHARED, PROT_RW } from '../../src/sys/constants.js';
import { connectSeqpacket, createMemfd, recvSeqpacket, sendSeqpacket } from '../../src/sys/unix.js';
import {
  DESC_FLAGS, DESC_LENGTH, DESC_OFFSET, DESC_REGION, DESC_SIZE, MEMIF_ADD_RING_FLAG_C2S, MEMIF_COOKIE, MEMIF_MSG_SIZE, MEMIF_VERSION, RING_COOKIE,
  RING_HEAD, RING_HEADER_SIZE, RING_TAIL, decodeMemifMsg, encodeMemifMsg, ringBytes, type MemifMsg,
} from '../../src/wire/memif.js';
import { isWireError } from '../../src/wire/errors.js';

export interface ClientLayout {
  log2: number;
  bufSize: number;
}

export class MemifTestClient {
  readonly fd: number;
  regionFd = -1;
  regionSize = 0;
  private mapped = 0;
  private ptr: unknown = null;
  view: DataView | null = null;
  bytes: Uint8Array | null = null;
  c2sEvent = -1;
  s2cEvent = -1;
  readonly c2s = 0;
  s2c = 0;
  buffers = 0;
  private c2sHead = 0;
  private s2cLastTail = 0;
  private readonly buf = new Uint8Array(MEMIF_MSG_SIZE + 1);
  readonly layout: ClientLayout;

  constructor(path: string, layout: Partial<ClientLayout> = {}) {
    this.fd = connectSeqpacket(path, true);
    this.layout = { log2: layout.log2 ?? 8, bufSize: layout.bufSize ?? 2048 };
  }

  /** The next control message, or null when none waits ('closed' when the server hung up). */
  recv(): MemifMsg | null | 'closed' {
    const r = recvSeqpacket(this.fd, this.buf);
    for (const f of r.fds) closeFd(f);
    if (r.bytes < 0) return null;
    if (r.bytes === 0) return 'closed';
    const m = decodeMemifMsg(this.buf.subarray(0, r.bytes));
    if (isWireError(m)) throw new Error(`client: bad message from server: ${m.message}`);
    return m;
  }

  send(m: MemifMsg, fds: number[] = []): void {
    const b = new Uint8Array(MEMIF_MSG_SIZE);
    encodeMemifMsg(m, b, 0);
    if (sendSeqpacket(this.fd, b, fds) !== MEMIF_MSG_SIZE) throw new Error('client: send failed');
  }

  sendRaw(b: Uint8Array, fds: number[] = []): void {
    sendSeqpacket(this.fd, b, fds);
  }

  /** Call `pump` (the server's turn) until a message arrives; throws after `turns`. */
  expect(pump: () => void, turns = 100): MemifMsg | 'closed' {
    for (let i = 0; i < turns; i++) {
      pump();
      const m = this.recv();
      if (m !== null) return m;
    }
    throw new Error('client: no answer from the server');
  }

  /** Make the region (rings then buffers, DPDK's layout), sealed unless told otherwise. */
  makeRegion(seal = true, fileSize?: number): void {
    const { log2, bufSize } = this.layout;
    const slots = 1 << log2;
    const rb = ringBytes(log2);
    this.s2c = rb;
    this.buffers = 2 * rb;
    this.regionSize = 2 * rb + 2 * slots * bufSize;
    this.regionFd = createMemfd('memif-test', fileSize ?? this.regionSize, seal);
    const p = libc().mmap(null, fileSize ?? this.regionSize, PROT_RW, MAP_SHARED, this.regionFd, 0);
    if (mapFailed(p)) throw new Error('client: mmap failed');
    this.ptr = p;
    this.mapped = fileSize ?? this.regionSize;
    const ab = viewMemory(p, fileSize ?? this.regionSize);
    this.view = new DataView(ab);
    this.bytes = new Uint8Array(ab);
    for (const [ring, first] of [[this.c2s, 0], [this.s2c, slots]] as const) {
      this.view.setUint32(ring + RING_COOKIE, MEMIF_COOKIE, true);
      for (let j = 0; j < slots; j++) {
        const d = ring + RING_HEADER_SIZE + j * DESC_SIZE;
        this.view.setUint16(d + DESC_REGION, 0, true);
        this.view.setUint32(d + DESC_OFFSET, this.buffers + (first + j) * bufSize, true);
        this.view.setUint32(d + DESC_LENGTH, bufSize, true);
      }
    }
    this.c2sEvent = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    this.s2cEvent = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }

  /** The whole handshake, honestly; returns the server's last answer (connected, or its disconnect). */
  handshake(pump: () => void, id = 0, secret = ''): MemifMsg | 'closed' {
    const hello = this.expect(pump);
    if (hello === 'closed' || hello.type !== 'hello') return hello;
    this.makeRegion();
    const steps: [MemifMsg, number[]][] = [
      [{ type: 'init', version: MEMIF_VERSION, id, mode: 0, secret, name: 'memif-test-client' }, []],
      [{ type: 'add-region', index: 0, size: this.regionSize }, [this.regionFd]],
      [{ type: 'add-ring', flags: MEMIF_ADD_RING_FLAG_C2S, index: 0, region: 0, offset: this.c2s, log2RingSize: this.layout.log2, privateHdrSize: 0 }, [this.c2sEvent]],
      [{ type: 'add-ring', flags: 0, index: 0, region: 0, offset: this.s2c, log2RingSize: this.layout.log2, privateHdrSize: 0 }, [this.s2cEvent]],
    ];
    for (const [m, fds] of steps) {
      this.send(m, fds);
      const a = this.expect(pump);
      if (a === 'closed' || a.type !== 'ack') return a;
    }
    this.send({ type: 'connect', ifName: 'test0' });
    return this.expect(pump);
  }

  /** Queue frames on the client-to-server ring; returns how many fitted. */
  sendFrames(frames: Uint8Array[]): number {
    const v = this.view!;
    const slots = 1 << this.layout.log2;
    const tail = v.getUint16(this.c2s + RING_TAIL, true);
    let n = 0;
    for (const f of frames) {
      if (((this.c2sHead - tail) & 0xffff) >= slots) break;
      const d = this.c2s + RING_HEADER_SIZE + (this.c2sHead & (slots - 1)) * DESC_SIZE;
      const off = v.getUint32(d + DESC_OFFSET, true);
      this.bytes!.set(f, off);
      v.setUint32(d + DESC_LENGTH, f.length, true);
      v.setUint16(d + DESC_FLAGS, 0, true);
      this.c2sHead = (this.c2sHead + 1) & 0xffff;
      n++;
    }
    v.setUint16(this.c2s + RING_HEAD, this.c2sHead, true);
    return n;
  }

  /** Write a descriptor as it is (lies included) at the next C2S slot and publish it. */
  sendDescriptor(region: number, offset: number, length: number): void {
    const v = this.view!;
    const d = this.c2s + RING_HEADER_SIZE + (this.c2sHead & ((1 << this.layout.log2) - 1)) * DESC_SIZE;
    v.setUint16(d + DESC_REGION, region, true);
    v.setUint32(d + DESC_OFFSET, offset, true);
    v.setUint32(d + DESC_LENGTH, length, true);
    v.setUint16(d + DESC_FLAGS, 0, true);
    this.c2sHead = (this.c2sHead + 1) & 0xffff;
    v.setUint16(this.c2s + RING_HEAD, this.c2sHead, true);
  }

  /** Post every free buffer of the server-to-client ring (as DPDK's refill does). */
  postBuffers(): void {
    const v = this.view!;
    const slots = 1 << this.layout.log2;
    let head = v.getUint16(this.s2c + RING_HEAD, true);
    const n = (slots - ((head - this.s2cLastTail) & 0xffff)) & 0xffff;
    for (let k = 0; k < n; k++) {
      const d = this.s2c + RING_HEADER_SIZE + (head & (slots - 1)) * DESC_SIZE;
      v.setUint32(d + DESC_LENGTH, this.layout.bufSize, true);
      head = (head + 1) & 0xffff;
    }
    v.setUint16(this.s2c + RING_HEAD, head, true);
  }

  /** Frames the server put on the server-to-client ring since the last call (chains joined). */
  receiveFrames(): Uint8Array[] {
    const v = this.view!;
    const slots = 1 << this.layout.log2;
    const tail = v.getUint16(this.s2c + RING_TAIL, true);
    const out: Uint8Array[] = [];
    let parts: Uint8Array[] = [];
    while (this.s2cLastTail !== tail) {
      const d = this.s2c + RING_HEADER_SIZE + (this.s2cLastTail & (slots - 1)) * DESC_SIZE;
      const off = v.getUint32(d + DESC_OFFSET, true);
      const len = v.getUint32(d + DESC_LENGTH, true);
      parts.push(this.bytes!.slice(off, off + len));
      if ((v.getUint16(d + DESC_FLAGS, true) & 1) === 0) {
        out.push(Buffer.concat(parts));
        parts = [];
      }
      this.s2cLastTail = (this.s2cLastTail + 1) & 0xffff;
    }
    return out;
  }

  /** The server-to-client ring's flags word (MASK_INT), and the client-to-server one. */
  ringFlags(): { c2s: number; s2c: number } {
    return { c2s: this.view!.getUint16(this.c2s + 4, true), s2c: this.view!.getUint16(this.s2c + 4, true) };
  }

  close(): void {
    if (this.ptr !== null) libc().munmap(this.ptr, this.mapped);
    this.ptr = null;
    this.view = null;
    this.bytes = null;
    for (const f of [this.fd, this.regionFd, this.c2sEvent, this.s2cEvent]) closeFd(f);
  }
}

/**
 * The least a host on a memif interface must do to be reachable (what a DPDK application
 * with an IP stack does): answer ARP requests for `ip` and ICMP echo requests to it, from
 * `mac`. Frames are read from and written to `client`'s rings; returns the frames answered.
 */
export function answerArpAndPing(client: MemifTestClient, mac: Uint8Array, ip: Uint8Array): number {
  client.postBuffers();
  const replies: Uint8Array[] = [];
  for (const f of client.receiveFrames()) {
    const type = (f[12]! << 8) | f[13]!;
    if (type === 0x0806 && f.length >= 42 && f[21] === 1 && Buffer.compare(f.subarray(38, 42), ip) === 0) {
      const r = new Uint8Array(42);
      r.set(f.subarray(6, 12), 0);
      r.set(mac, 6);
      r.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2], 12);
      r.set(mac, 22);
      r.set(ip, 28);
      r.set(f.subarray(22, 32), 32); // the asker's MAC and address
      replies.push(r);
    } else if (type === 0x0800 && f.length >= 42 && f[23] === 1 && Buffer.compare(f.subarray(30, 34), ip) === 0) {
      const ihl = (f[14]! & 15) * 4;
      if (f[14 + ihl] !== 8) continue; // echo request only
      const r = Uint8Array.from(f);
      r.set(f.subarray(6, 12), 0);
      r.set(mac, 6);
      r.set(f.subarray(30, 34), 26);
      r.set(f.subarray(26, 30), 30);
      r[14 + ihl] = 0; // echo reply: the checksum drops by 8 << 8
      let sum = ((r[16 + ihl]! << 8) | r[17 + ihl]!) + 0x0800;
      sum = (sum & 0xffff) + (sum >>> 16);
      r[16 + ihl] = sum >> 8;
      r[17 + ihl] = sum & 255;
      replies.push(r);
    }
  }
  if (replies.length > 0) client.sendFrames(replies);
  return replies.length;
}
