/**
 * The memif driver, server (master) role: a packet interface over memory shared with a
 * DPDK application (net_memif, role=client) or any libmemif client, with no kernel on the
 * packet path. The driver listens on a SOCK_SEQPACKET unix socket; a client connects and runs
 * the control protocol (wire/memif.ts): it allocates the memory regions (memfds passed with
 * SCM_RIGHTS), lays out 1 to 4 rings per direction (queues) in them, and hands over one
 * eventfd per ring. One socket may serve several interfaces, each its own id and vif
 * (MemifSocket). Everything runs in the thread that owns the vif, inside rxBurst and woke():
 * the control socket is read without blocking when the worker's poll() says it has something
 * (and every 256 bursts when busy, and as a safety net while idle), and the driver's fd for
 * poll() is an epoll set of the listening socket, the control socket and the receive rings'
 * eventfds, so an idle worker wakes for a client, a control message or a kick. Receive polls
 * every ring; transmit picks a ring per flow (flowHash).
 *
 * Rings (copy mode). Client to server (C2S, our receive side): the client fills descriptors
 * and advances head; we copy each frame into a pool slot and give the buffers back by
 * advancing tail. Server to client (S2C, our transmit side): the client posts empty buffers
 * by advancing head; we copy frames into them, set each descriptor's length and advance tail.
 * Zero copy is not possible in this role: the buffers are the client's memory and the graph
 * works on its own packet pool (a pool slot cannot live in the client's region, and a frame
 * leaving on another vif would pin the client's buffer); only the client side of memif can
 * offer its own buffers to the peer.
 *
 * Interrupts, as DPDK's client expects: the client sets MASK_INT on its receive ring when it
 * polls (testpmd does), else we write its eventfd once per transmitted burst (flush). On our
 * receive ring we set MASK_INT while frames keep coming and clear it when a poll finds the
 * ring empty, so a busy client does not pay a syscall per burst and an idle worker sleeps
 * until the client's kick.
 *
 * A client is untrusted. Every size, index and offset it sends is checked before use: a
 * region must be a memfd sealed against shrinking (else truncating it would fault our
 * mapping) at least as large as it claims; a ring must lie inside its region; each
 * descriptor is read once into locals and checked against its region before a byte is
 * copied; head and tail may not run ahead of the ring. A violation is counted, answered with
 * a disconnect message naming it, and the client is dropped: regions unmapped, descriptors
 * closed, the vif back to listening for the next client. The graph never sees its frames.
 */
import { createHash } from 'node:crypto';
import type { IoCounters, IoDriver } from './driver.js';
import type { PacketPool } from '../pool.js';
import { copyWords, fitsWords } from './copy.js';
import { MAP_SHARED, PROT_RW } from '../../sys/constants.js';
import { closeFd, errno, libc, mapFailed, pollReadable, viewMemory } from '../../sys/libc.js';
import { acceptPending, createEpoll, epollAdd, epollDel, fileSize, isEventfd, listenSeqpacket, recvSeqpacket, sealedAgainstShrink, sendSeqpacket } from '../../sys/unix.js';
import { performance } from 'node:perf_hooks';
import {
  DESC_FLAGS, DESC_LENGTH, DESC_OFFSET, DESC_REGION, DESC_SIZE, MEMIF_ADD_RING_FLAG_C2S, MEMIF_COOKIE, MEMIF_DESC_FLAG_NEXT, MEMIF_MODE_ETHERNET,
  MEMIF_MSG_SIZE, MEMIF_RING_FLAG_MASK_INT, MEMIF_VERSION, RING_COOKIE, RING_FLAGS, RING_HEAD, RING_HEADER_SIZE, RING_TAIL, decodeMemifMsg,
  encodeMemifMsg, ringBytes, type MemifMsg,
} from '../../wire/memif.js';
import { isWireError } from '../../wire/errors.js';

export interface MemifOptions {
  /** the control socket's path */
  socket: string;
  /** the interface id a client must ask for in init (default 0) */
  id?: number;
  /** a secret the client must present in init (default: none asked) */
  secret?: string;
  /** vif id written to pool.rxVif for received frames; default 0 */
  vif?: number;
  /** where the driver publishes its state for the main thread (memifStatusBuffer) */
  status?: SharedArrayBuffer;
  /** the name sent in hello and connected (default 'cnr') */
  name?: string;
  /** how long a client may take from accept to connect before it is dropped (default 5000 ms) */
  handshakeTimeoutMs?: number;
}

/** Limits announced in hello and enforced after: up to 4 rings each way, 4 regions, rings up to 2^14. */
const MAX_QUEUES = 4;
const MAX_REGIONS = 4;
const MAX_LOG2_RING = 14;
/** a region larger than this is refused (descriptor offsets are 32-bit anyway) */
const MAX_REGION_BYTES = 2 ** 32;
/** control messages handled per service() call, so a chatty client cannot starve forwarding */
const MAX_MSGS_PER_SERVICE = 16;
/** bursts between looks at the control socket while frames flow */
const SERVICE_EVERY = 256;
/** the shortest interval between looks at the control socket while idle, in ms */
const IDLE_SERVICE_MS = 1;
/** the same in a worker that reports its wake-ups to the driver (woke()): a safety net only */
const IDLE_LOOK_MS = 100;

export type MemifPeerState = 'listening' | 'handshake' | 'connected';
const STATES: MemifPeerState[] = ['listening', 'handshake', 'connected'];

// status words (Int32Array over the shared buffer), then the peer's name and the last disconnect reason
const S_STATE = 0;
const S_CONNECTS = 1;
const S_DISCONNECTS = 2;
const S_BAD_MESSAGES = 3;
const S_BAD_DESCRIPTORS = 4;
const S_REFUSED = 5;
const S_LOG2_C2S = 6;
const S_LOG2_S2C = 7;
const S_C2S_WAITING = 8;
const S_S2C_POSTED = 9;
const S_REGIONS = 10;
const S_KICKS = 11;
const S_RX_INTERRUPT = 12;
const S_QUEUES = 13;
const S_WORDS = 16;
const S_NAME = S_WORDS * 4;
const S_REASON = S_NAME + 32;
const STATUS_BYTES = S_REASON + 96;

/** What `cnr vif --list` and the introspect show about a memif vif (readMemifStatus). */
export interface MemifStatus {
  state: MemifPeerState;
  /** the client's name from init (DPDK sends its version) */
  peer: string;
  connects: number;
  disconnects: number;
  /** control messages refused (malformed, out of order, lying sizes or offsets) */
  badMessages: number;
  /** descriptors that pointed outside the client's regions, or ring indices ahead of the ring */
  badDescriptors: number;
  /** clients turned away: a second client while one is connected */
  refused: number;
  /** ring sizes in descriptors (0 when not connected) */
  rxRingSize: number;
  txRingSize: number;
  /** frames waiting in the receive ring at the last poll, and empty buffers the client has posted for us */
  rxRingWaiting: number;
  txRingPosted: number;
  regions: number;
  /** eventfd kicks written to the client */
  kicks: number;
  /** whether the receive ring asks the client for kicks (idle) or not (polling) */
  rxInterrupt: boolean;
  /** rings (queues) the client added each way (0 when not connected); sizes and counts above are queue 0's, waiting is all queues' */
  rxQueues: number;
  txQueues: number;
  /** why the last client left */
  lastDisconnect: string;
}

export function memifStatusBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(STATUS_BYTES);
}

function readText(b: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = 0; i < len && b[off + i] !== 0; i++) s += String.fromCharCode(b[off + i]!);
  return s;
}

function writeText(b: Uint8Array, off: number, len: number, s: string): void {
  b.fill(0, off, off + len);
  for (let i = 0; i < Math.min(s.length, len - 1); i++) b[off + i] = s.charCodeAt(i) & 0x7f;
}

export function readMemifStatus(buf: SharedArrayBuffer): MemifStatus {
  const w = new Int32Array(buf, 0, S_WORDS);
  const b = new Uint8Array(buf);
  const l = (k: number) => (w[k]! > 0 ? 1 << w[k]! : 0);
  return {
    state: STATES[w[S_STATE]!] ?? 'listening',
    peer: readText(b, S_NAME, 32),
    connects: w[S_CONNECTS]!,
    disconnects: w[S_DISCONNECTS]!,
    badMessages: w[S_BAD_MESSAGES]!,
    badDescriptors: w[S_BAD_DESCRIPTORS]!,
    refused: w[S_REFUSED]!,
    rxRingSize: l(S_LOG2_C2S),
    txRingSize: l(S_LOG2_S2C),
    rxRingWaiting: w[S_C2S_WAITING]!,
    txRingPosted: w[S_S2C_POSTED]!,
    regions: w[S_REGIONS]!,
    kicks: w[S_KICKS]!,
    rxInterrupt: w[S_RX_INTERRUPT]! !== 0,
    rxQueues: w[S_QUEUES]! & 0xff,
    txQueues: w[S_QUEUES]! >>> 8,
    lastDisconnect: readText(b, S_REASON, 96),
  };
}

/** A locally administered MAC for the memif vif, stable for its socket and id (there is no netdev to ask). */
export function memifMac(socket: string, id: number): Uint8Array {
  const h = createHash('sha256').update(`${socket}#${id}`).digest();
  return Uint8Array.from([0x02, 0xfe, h[0]!, h[1]!, h[2]!, h[3]!]);
}

interface Region {
  fd: number;
  size: number;
  ptr: unknown;
  view: DataView | null;
  bytes: Uint8Array | null;
}

interface Ring {
  region: number;
  offset: number;
  log2: number;
  /** the client's eventfd for this ring */
  fd: number;
}

/** A connected ring and its hot-path state, resolved at connect (the data path reads only these). */
class Queue {
  readonly size: number;
  readonly mask: number;
  /** receive: the next descriptor to take (our tail); transmit: the next buffer to fill (our tail) */
  pos = 0;
  /** receive: MASK_INT set (frames keep coming, no kicks); transmit: frames written since the last kick */
  masked = false;
  pending = false;
  /** transmit, within one txBurst: buffers the client has posted beyond pos (-1: head not read yet) */
  room = -1;
  constructor(readonly view: DataView, readonly base: number, log2: number, readonly fd: number) {
    this.size = 1 << log2;
    this.mask = this.size - 1;
  }
}

/** A client violated the protocol: the reason goes back in a disconnect message and into the count. */
class PeerError extends Error {
  constructor(message: string, readonly descriptor = false) {
    super(message);
  }
}

/**
 * A frame's flow, for picking one of several transmit queues: IPv4 or IPv6 addresses, and
 * the ports of TCP and UDP (an untagged frame; anything else is flow 0). Reads only bytes
 * inside the frame's `len`.
 */
export function flowHash(v: DataView, at: number, len: number): number {
  if (len < 34) return 0;
  const type = v.getUint16(at + 12);
  let h: number;
  let l4: number;
  let proto: number;
  if (type === 0x0800) {
    h = v.getUint32(at + 26) ^ v.getUint32(at + 30);
    proto = v.getUint8(at + 23);
    l4 = at + 14 + (v.getUint8(at + 14) & 15) * 4;
  } else if (type === 0x86dd && len >= 54) {
    h = v.getUint32(at + 34) ^ v.getUint32(at + 50); // the addresses' last words
    proto = v.getUint8(at + 20);
    l4 = at + 54;
  } else {
    return 0;
  }
  if ((proto === 6 || proto === 17) && l4 + 4 <= at + len) h ^= v.getUint32(l4);
  h ^= h >>> 16;
  h ^= h >>> 8;
  return h & 0xff;
}

/**
 * One control socket and the interfaces (ids) it serves, per thread: several memif vifs may
 * name one socket with different ids (a pod's application with several interfaces). Every
 * driver on it has the listening socket in its epoll set and may accept; the accepting driver
 * runs the handshake until init names the id, and hands the connection to the driver with that
 * id (before any region or ring exists). The socket file goes with its last driver.
 */
class MemifSocket {
  private static readonly open = new Map<string, MemifSocket>();
  readonly drivers = new Map<number, MemifDriver>();
  private constructor(readonly path: string, readonly listenFd: number) {}

  static join(path: string, id: number, d: MemifDriver): MemifSocket {
    let sock = MemifSocket.open.get(path);
    if (!sock) {
      sock = new MemifSocket(path, listenSeqpacket(path));
      MemifSocket.open.set(path, sock);
    } else if (sock.drivers.has(id)) {
      throw new Error(`memif ${d.name}: socket ${path} already serves id ${id} (vif ${sock.drivers.get(id)!.name})`);
    }
    sock.drivers.set(id, d);
    return sock;
  }

  leave(id: number): void {
    this.drivers.delete(id);
    if (this.drivers.size > 0) return;
    MemifSocket.open.delete(this.path);
    closeFd(this.listenFd);
    libc().unlink(this.path);
  }
}

export function openMemif(name: string, opts: MemifOptions): MemifDriver {
  return new MemifDriver(name, opts);
}

export class MemifDriver implements IoDriver {
  readonly hwaddr: Uint8Array;
  private readonly listenFd: number;
  private readonly sock: MemifSocket;
  private readonly epollFd: number;
  private ctl = -1;
  private state: MemifPeerState = 'listening';
  private readonly id: number;
  private readonly secret: string;
  private readonly vif: number;
  private readonly localName: string;
  private readonly handshakeTimeoutMs: number;
  private readonly status: Int32Array;
  private readonly statusBytes: Uint8Array;
  private readonly msg = new Uint8Array(MEMIF_MSG_SIZE + 1);
  private readonly out = new Uint8Array(MEMIF_MSG_SIZE);
  private regions: Region[] = [];
  /** the rings the client added, client-to-server (our receive side) and server-to-client, in index order */
  private rxRings: Ring[] = [];
  private txRings: Ring[] = [];
  /** while connected: the rings' hot state (empty otherwise) */
  private rxq: Queue[] = [];
  private txq: Queue[] = [];
  /** the receive queue the next burst starts with (fairness between queues) */
  private rxNext = 0;
  private calls = 0;
  private readonly kick = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);
  private readonly sink8 = new Uint8Array(8);
  private readonly counters: IoCounters = {
    kernelDrops: 0, rxTooBig: 0, rxNoBuffer: 0, gsoUnsupported: 0, invalidDescs: 0, txRingFull: 0,
    gsoFrames: 0, gsoSegments: 0, csumCompleted: 0, poolEmpty: 0, fillRingEmpty: 0, txRingEmpty: 0, txGsoFrames: 0, txGsoSegments: 0,
  };
  /** frames received and sent since the driver opened (tests) */
  rxFrames = 0;
  txFrames = 0;
  private closed = false;

  constructor(readonly name: string, opts: MemifOptions) {
    this.id = opts.id ?? 0;
    if (!Number.isInteger(this.id) || this.id < 0 || this.id > 0xffffffff) throw new Error(`memif ${name}: invalid interface id ${opts.id}`);
    this.secret = opts.secret ?? '';
    if (this.secret.length > 23) throw new Error(`memif ${name}: secret longer than 23 characters`);
    this.vif = opts.vif ?? 0;
    this.localName = (opts.name ?? 'cnr').slice(0, 31);
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 5000;
    const sb = opts.status ?? memifStatusBuffer();
    this.status = new Int32Array(sb, 0, S_WORDS);
    this.statusBytes = new Uint8Array(sb);
    this.hwaddr = memifMac(opts.socket, this.id);
    this.sock = MemifSocket.join(opts.socket, this.id, this);
    this.listenFd = this.sock.listenFd;
    try {
      this.epollFd = createEpoll();
      epollAdd(this.epollFd, this.listenFd);
    } catch (e) {
      this.sock.leave(this.id);
      throw e;
    }
    this.publishState();
  }

  get fd(): number {
    return this.epollFd;
  }

  get peerState(): MemifPeerState {
    return this.state;
  }

  statusNow(): MemifStatus {
    return readMemifStatus(this.statusBytes.buffer as SharedArrayBuffer);
  }

  // ---- the data path ----

  rxBurst(pool: PacketPool, out: Uint32Array, max: number): number {
    const qs = this.rxq;
    if (qs.length === 0) {
      // no client yet: look for one at most once a millisecond (an accept() per loop turn was
      // two syscalls a turn for a vRouter with two listening memif vifs, whatever else it
      // forwarded), or every IDLE_LOOK_MS in a worker that reports wake-ups (a connecting client
      // wakes it through the epoll set: woke()); during the handshake every turn looks, so the
      // handshake is not paced by this
      const now = performance.now();
      if (this.state !== 'listening' || now - this.servicedAt >= this.idleEveryMs) {
        this.servicedAt = now;
        this.service();
      }
      return 0;
    }
    let n = 0;
    let waiting = 0;
    const nq = qs.length;
    const first = this.rxNext;
    this.rxNext = first + 1 < nq ? first + 1 : 0;
    for (let k = 0; k < nq && n < max; k++) {
      const q = qs[first + k < nq ? first + k : first + k - nq]!;
      let got = this.receive(q, pool, out, n, max);
      if (this.violation !== null) {
        n += got;
        break;
      }
      if (got === 0) {
        // going idle: ask for kicks, then look once more (a frame queued before the flag was
        // seen sends none). Only on the way from busy to idle. A kick already counted in the
        // eventfd is not read here (a syscall per wake-up, nearly always finding nothing): if
        // one is left, the worker's next poll() returns at once and woke() reads it
        if (q.masked) {
          this.setRxMask(q, false);
          got = this.receive(q, pool, out, n, max);
        }
      } else if (!q.masked) {
        this.setRxMask(q, true);
      }
      n += got;
      waiting += this.lastWaiting;
    }
    this.status[S_C2S_WAITING] = waiting;
    if (this.violation !== null) {
      // the frames before the bad descriptor were whole and checked: they go on; the client goes
      this.refuse(this.violation);
      this.violation = null;
      return n;
    }
    // the control socket: every SERVICE_EVERY bursts while frames flow, at most once a
    // millisecond while idle (an idle worker spins through here before it sleeps)
    if (n > 0) {
      if (++this.calls % SERVICE_EVERY === 0) this.service();
    } else {
      const now = performance.now();
      if (now - this.servicedAt >= this.idleEveryMs) {
        this.servicedAt = now;
        this.idleLook();
      }
    }
    return n;
  }

  /**
   * The idle look, every idleEveryMs: which of the listening socket, the control socket and
   * the receive rings' eventfds have something, in one poll() with no wait; then only those
   * are read (reading them all blindly, accept, recvmsg, read, nearly always EAGAIN, was three
   * syscalls per look).
   */
  private idleLook(): void {
    const fds = this.lookFds;
    fds[0] = this.listenFd;
    fds[1] = this.ctl;
    for (let k = 0; k < MAX_QUEUES; k++) fds[2 + k] = this.rxq[k]?.fd ?? -1;
    if (pollReadable(fds, 0, this.lookScratch) === 0) {
      if (this.state === 'handshake') this.service(); // its timeout
      return;
    }
    const sc = this.lookScratch;
    // revents of the eventfds: a kick that came while the ring was unmasked and found nothing
    // new (it raced the frames it announced, or the client kicks for nothing) would keep
    // poll() returning
    for (let k = 2; k < fds.length; k++) if ((sc[k * 8 + 6]! | sc[k * 8 + 7]!) !== 0) libc().read(fds[k]!, this.sink8, 8);
    if ((sc[6]! | sc[7]! | sc[14]! | sc[15]!) !== 0 || this.state === 'handshake') this.service();
  }

  /**
   * The worker's poll() returned with our epoll set readable: a kick on the receive ring, a
   * client connecting, or a control message. Read the kick (one syscall, the usual case: a
   * paced client kicks once per burst that finds the worker asleep); if there was none, it was
   * the control side: serve it. A kick that raced the frames it announced is read here too,
   * on the wake-up it causes.
   */
  woke(): void {
    this.idleEveryMs = IDLE_LOOK_MS;
    let kicked = false;
    for (const q of this.rxq) if (libc().read(q.fd, this.sink8, 8) === 8) kicked = true;
    if (kicked) return;
    this.servicedAt = performance.now();
    this.service();
  }

  /**
   * How often the idle driver looks at its sockets and eventfd itself: every millisecond
   * until a worker reports wake-ups (woke()); then only as a safety net, every IDLE_LOOK_MS,
   * because every wake-up the epoll set causes is reported (on a worker woken by each burst of
   * a paced client, the 1 ms look was one or two syscalls per wake-up and memif vif).
   */
  private idleEveryMs = IDLE_SERVICE_MS;

  /** poll() set of idleLook (a negative fd is skipped by the kernel) and its pollfd array */
  private readonly lookFds: number[] = new Array<number>(2 + MAX_QUEUES).fill(-1);
  private readonly lookScratch = new Uint8Array((2 + MAX_QUEUES) * 8);

  /** when the idle path last looked at the control socket (performance.now()) */
  private servicedAt = 0;

  /** set by receive() when the client broke the ring's rules (it stops there) */
  private violation: PeerError | null = null;

  private setRxMask(q: Queue, masked: boolean): void {
    q.masked = masked;
    q.view.setUint16(q.base + RING_FLAGS, masked ? MEMIF_RING_FLAG_MASK_INT : 0, true);
    if (q === this.rxq[0]) this.status[S_RX_INTERRUPT] = masked ? 0 : 1;
  }

  /** frames waiting in the ring receive() last looked at */
  private lastWaiting = 0;

  /**
   * Copy the frames the client queued on ring q into pool slots, out[n0..max); give their
   * buffers back (tail). Returns how many it took.
   */
  private receive(q: Queue, pool: PacketPool, out: Uint32Array, n0: number, max: number): number {
    const rv = q.view;
    const base = q.base;
    const head = rv.getUint16(base + RING_HEAD, true);
    const waiting = (head - q.pos) & 0xffff;
    this.lastWaiting = 0;
    if (waiting > q.size) {
      this.violation = new PeerError(`receive ring head ${head} runs ${waiting} slots ahead of a ${q.size}-slot ring`, true);
      return 0;
    }
    this.lastWaiting = waiting;
    if (waiting === 0) return 0;
    const regions = this.regions;
    const data = pool.view;
    const mask = q.mask;
    const maxFrame = pool.maxFrame;
    let cur = q.pos;
    const end = (q.pos + waiting) & 0xffff;
    let n = n0;
    while (cur !== end && n < max) {
      const slot = pool.alloc();
      if (slot < 0) {
        this.counters.poolEmpty++; // left in the ring: the client sees it full and holds back
        break;
      }
      const dst0 = pool.offset(slot);
      const slotEnd = (slot + 1) * pool.slotSize;
      const frameStart = cur;
      let len = 0;
      let tooBig = false;
      // one frame: a descriptor, or a chain of them flagged NEXT (all inside [cur, end))
      for (;;) {
        if (cur === end) {
          pool.free(slot); // a chain not yet complete: leave it for the next poll
          return this.finishRx(q, frameStart, n - n0);
        }
        const d = base + RING_HEADER_SIZE + (cur & mask) * DESC_SIZE;
        const flags = rv.getUint16(d + DESC_FLAGS, true);
        const region = rv.getUint16(d + DESC_REGION, true);
        const dlen = rv.getUint32(d + DESC_LENGTH, true);
        const doff = rv.getUint32(d + DESC_OFFSET, true);
        const r = regions[region];
        if (r === undefined || doff + dlen > r.size) {
          pool.free(slot);
          this.violation = new PeerError(`descriptor ${cur & mask} points outside the regions (region ${region}, offset ${doff}, length ${dlen})`, true);
          return this.finishRx(q, frameStart, n - n0);
        }
        cur = (cur + 1) & 0xffff;
        if (!tooBig && len + dlen <= maxFrame) {
          const at = dst0 + len;
          // 8-byte moves may run up to 7 bytes past the segment: inside the region and inside the slot only
          if (fitsWords(doff, dlen, r.size) && fitsWords(at, dlen, slotEnd)) copyWords(r.view!, doff, data, at, dlen);
          else pool.data.set(r.bytes!.subarray(doff, doff + dlen), at);
          len += dlen;
        } else {
          tooBig = true;
        }
        if ((flags & MEMIF_DESC_FLAG_NEXT) === 0) break;
      }
      if (tooBig || len < 14) {
        pool.free(slot);
        if (tooBig) this.counters.rxTooBig++;
        else this.counters.rxNoBuffer++; // a runt: not an Ethernet frame
        continue;
      }
      pool.len[slot] = len;
      pool.rxVif[slot] = this.vif;
      out[n++] = slot;
    }
    return this.finishRx(q, cur, n - n0);
  }

  /** Give the client back its buffers up to `cur` (tail); returns taken. */
  private finishRx(q: Queue, cur: number, taken: number): number {
    q.pos = cur;
    q.view.setUint16(q.base + RING_TAIL, cur, true);
    this.rxFrames += taken;
    return taken;
  }

  txBurst(pool: PacketPool, idx: Uint32Array, start: number, count: number): number {
    const qs = this.txq;
    const nq = qs.length;
    if (nq === 0) {
      pool.freeBurst(idx, start, count);
      return 0;
    }
    const regions = this.regions;
    const data = pool.view;
    let sent = 0;
    for (let k = start; k < start + count; k++) {
      const slot = idx[k]!;
      const len = pool.len[slot]!;
      const src0 = pool.offset(slot);
      // several queues: a flow always takes the same one (its order kept), as a NIC's RSS
      // spreads flows over an application's queues
      const q = nq === 1 ? qs[0]! : qs[flowHash(data, src0, len) % nq]!;
      const tv = q.view;
      const base = q.base;
      if (q.room < 0) {
        // the first frame of this burst for q: how many buffers has the client posted?
        const head = tv.getUint16(base + RING_HEAD, true);
        const room = (head - q.pos) & 0xffff;
        if (room > q.size) {
          pool.freeBurst(idx, k, start + count - k);
          this.endTxBurst();
          this.refuse(new PeerError(`transmit ring head ${head} runs ${room} slots ahead of tail ${q.pos} in a ${q.size}-slot ring`, true));
          return sent;
        }
        q.room = room;
      }
      const mask = q.mask;
      // a frame takes as many of the client's buffers as it needs (NEXT-chained): all or nothing
      let done = 0;
      let t = q.pos;
      let left = q.room;
      let bad: PeerError | null = null;
      while (done < len && left > 0) {
        const d = base + RING_HEADER_SIZE + (t & mask) * DESC_SIZE;
        const region = tv.getUint16(d + DESC_REGION, true);
        const blen = tv.getUint32(d + DESC_LENGTH, true);
        const boff = tv.getUint32(d + DESC_OFFSET, true);
        const r = regions[region];
        if (r === undefined || boff + blen > r.size || blen === 0) {
          bad = new PeerError(`posted buffer ${t & mask} lies outside the regions (region ${region}, offset ${boff}, length ${blen})`, true);
          break;
        }
        const c = Math.min(blen, len - done);
        // never past the client's buffer: the bytes after it may be another buffer it owns
        if (fitsWords(boff, c, boff + blen)) copyWords(data, src0 + done, r.view!, boff, c);
        else r.bytes!.set(pool.data.subarray(src0 + done, src0 + done + c), boff);
        done += c;
        tv.setUint32(d + DESC_LENGTH, c, true);
        tv.setUint16(d + DESC_FLAGS, done < len ? MEMIF_DESC_FLAG_NEXT : 0, true);
        t = (t + 1) & 0xffff;
        left--;
      }
      pool.free(slot);
      if (bad) {
        pool.freeBurst(idx, k + 1, start + count - k - 1);
        this.endTxBurst();
        this.refuse(bad);
        return sent;
      }
      if (done < len) {
        this.counters.txRingFull++; // the client has not posted enough buffers
        q.room = 0;
        continue;
      }
      q.pos = t;
      q.room = left;
      q.pending = true;
      sent++;
    }
    this.endTxBurst();
    this.txFrames += sent;
    return sent;
  }

  /** Publish each transmit ring's tail after a burst (the frames before a violation too) and forget the burst's room. */
  private endTxBurst(): void {
    const qs = this.txq;
    for (let k = 0; k < qs.length; k++) {
      const q = qs[k]!;
      if (q.room < 0) continue;
      q.view.setUint16(q.base + RING_TAIL, q.pos, true);
      if (k === 0) this.status[S_S2C_POSTED] = q.room;
      q.room = -1;
    }
  }

  flush(): void {
    const qs = this.txq;
    for (let k = 0; k < qs.length; k++) {
      const q = qs[k]!;
      if (!q.pending) continue;
      q.pending = false;
      // the client polls its receive ring unless it cleared MASK_INT there (rx interrupt mode)
      if ((q.view.getUint16(q.base + RING_FLAGS, true) & MEMIF_RING_FLAG_MASK_INT) === 0) {
        libc().write(q.fd, this.kick, 8);
        this.status[S_KICKS]!++;
      }
    }
  }

  ioCounters(): IoCounters {
    return { ...this.counters };
  }

  // ---- the control channel ----

  /** Accept a client, read what it sent on the control socket; never blocks, never throws. */
  service(): void {
    if (this.closed) return;
    try {
      this.serviceControl();
    } catch (e) {
      // nothing a client does may stop the worker: an unexpected failure (a descriptor the
      // kernel refuses, out of file descriptors) drops the client like a violation
      this.refuse(e instanceof PeerError ? e : new PeerError(`internal error: ${(e as Error).message}`));
    }
  }

  private serviceControl(): void {
    if (this.state === 'handshake' && performance.now() - this.handshakeAt > this.handshakeTimeoutMs) {
      throw new PeerError(`handshake not finished within ${this.handshakeTimeoutMs} ms`);
    }
    for (;;) {
      const fd = acceptPending(this.listenFd);
      if (fd < 0) break;
      // busy: a free interface of the same socket runs this handshake (the client may want its id)
      const taker = this.ctl < 0 ? this : [...this.sock.drivers.values()].find((d) => d.ctl < 0 && !d.closed);
      if (!taker) {
        this.sendMsg(fd, { type: 'disconnect', code: 0, reason: 'Already connected' });
        closeFd(fd);
        this.status[S_REFUSED]!++;
        continue;
      }
      taker.take(fd, performance.now());
      taker.sendMsg(fd, {
        type: 'hello', name: this.localName, minVersion: MEMIF_VERSION, maxVersion: MEMIF_VERSION,
        maxRegion: MAX_REGIONS - 1, maxS2cRing: MAX_QUEUES - 1, maxC2sRing: MAX_QUEUES - 1, maxLog2RingSize: MAX_LOG2_RING,
      });
    }
    for (let k = 0; k < MAX_MSGS_PER_SERVICE && this.ctl >= 0; k++) {
      const r = recvSeqpacket(this.ctl, this.msg);
      if (r.bytes < 0) break;
      if (r.bytes === 0) {
        for (const f of r.fds) closeFd(f);
        this.drop('the client closed the control socket');
        break;
      }
      try {
        if (r.truncated || r.bytes !== MEMIF_MSG_SIZE) throw new PeerError(`control message of ${r.bytes} bytes (not ${MEMIF_MSG_SIZE})`);
        const m = decodeMemifMsg(this.msg.subarray(0, MEMIF_MSG_SIZE));
        if (isWireError(m)) throw new PeerError(m.message);
        this.handle(m, r.fds);
      } catch (e) {
        for (const f of r.fds) if (!this.owns(f)) closeFd(f);
        if (!(e instanceof PeerError)) throw e;
        this.refuse(e);
        break;
      }
    }
  }

  private handshakeAt = 0;

  /** Become the driver of a control connection (accepted, or handed over at init by the accepting driver of our socket). */
  private take(fd: number, since: number): void {
    this.ctl = fd;
    this.handshakeAt = since;
    epollAdd(this.epollFd, fd);
    this.setState('handshake');
  }

  /**
   * Init named another id of our socket: hand the connection to its driver, which answers the
   * init itself. Only before init is done here, so nothing but the socket moves. False if that
   * id is unknown or busy.
   */
  private handOver(m: MemifMsg & { type: 'init' }): boolean {
    const to = this.sock.drivers.get(m.id);
    if (!to || to === this || to.ctl >= 0 || to.closed) return false;
    const fd = this.ctl;
    epollDel(this.epollFd, fd);
    this.ctl = -1;
    this.setState('listening');
    to.take(fd, this.handshakeAt);
    try {
      to.handle(m, []);
    } catch (e) {
      // the init is refused by its own interface (a wrong secret): counted there, the client dropped there
      to.refuse(e instanceof PeerError ? e : new PeerError(`internal error: ${(e as Error).message}`));
    }
    return true;
  }

  private owns(fd: number): boolean {
    return this.regions.some((r) => r.fd === fd) || this.rxRings.some((r) => r.fd === fd) || this.txRings.some((r) => r.fd === fd);
  }

  private handle(m: MemifMsg, fds: number[]): void {
    const expectFds = m.type === 'add-region' || m.type === 'add-ring' ? 1 : 0;
    if (fds.length !== expectFds) throw new PeerError(`${m.type} came with ${fds.length} file descriptors (expected ${expectFds})`);
    if (this.state === 'connected' && m.type !== 'disconnect') throw new PeerError(`unexpected ${m.type} on a connected interface`);
    switch (m.type) {
      case 'init': {
        if (this.initDone) throw new PeerError('second init');
        if (m.version !== MEMIF_VERSION) throw new PeerError(`Incompatible memif version ${m.version >> 8}.${m.version & 255}`);
        if (m.id !== this.id) {
          if (this.handOver(m)) return;
          throw new PeerError(this.sock.drivers.has(m.id) ? `Already connected (id ${m.id})` : `ID not found (${m.id})`);
        }
        if (m.mode !== MEMIF_MODE_ETHERNET) throw new PeerError('Only ethernet mode supported');
        if (this.secret !== '' && m.secret !== this.secret) throw new PeerError(m.secret === '' ? 'Secret required' : 'Incorrect secret');
        this.initDone = true;
        writeText(this.statusBytes, S_NAME, 32, m.name);
        this.sendMsg(this.ctl, { type: 'ack' });
        return;
      }
      case 'add-region': {
        if (!this.initDone) throw new PeerError('add-region before init');
        const fd = fds[0]!;
        if (m.index !== this.regions.length || m.index >= MAX_REGIONS) throw new PeerError(`Invalid region index ${m.index}`);
        if (m.size <= 0 || m.size > MAX_REGION_BYTES) throw new PeerError(`region ${m.index} size ${m.size} out of range`);
        // the region must exist at the size claimed and stay so: a shorter or shrinkable file would fault our mapping
        const actual = fileSize(fd);
        if (actual < m.size) throw new PeerError(`region ${m.index} claims ${m.size} bytes, its file has ${actual}`);
        if (!sealedAgainstShrink(fd)) throw new PeerError(`region ${m.index} is not a memfd sealed against shrinking`);
        this.regions.push({ fd, size: m.size, ptr: null, view: null, bytes: null });
        this.status[S_REGIONS] = this.regions.length;
        this.sendMsg(this.ctl, { type: 'ack' });
        return;
      }
      case 'add-ring': {
        if (!this.initDone) throw new PeerError('add-ring before init');
        const fd = fds[0]!;
        const c2s = (m.flags & MEMIF_ADD_RING_FLAG_C2S) !== 0;
        // we read and write it from the forwarding loop: anything but a (non-blocking) eventfd could block or fail there
        if (!isEventfd(fd)) throw new PeerError(`the interrupt descriptor of ring ${m.index} is not an eventfd`);
        // rings come in index order each way (DPDK and libmemif add them so), up to MAX_QUEUES
        const rings = c2s ? this.rxRings : this.txRings;
        if (m.index !== rings.length || m.index >= MAX_QUEUES) throw new PeerError(`Invalid ring index ${m.index}`);
        if (m.log2RingSize < 1 || m.log2RingSize > MAX_LOG2_RING) throw new PeerError(`ring size 2^${m.log2RingSize} out of range (2^1..2^${MAX_LOG2_RING})`);
        const r = this.regions[m.region];
        if (r === undefined) throw new PeerError(`ring in unknown region ${m.region}`);
        if (m.offset + ringBytes(m.log2RingSize) > r.size) throw new PeerError(`ring at offset ${m.offset} (${ringBytes(m.log2RingSize)} bytes) runs past region ${m.region} (${r.size} bytes)`);
        rings.push({ region: m.region, offset: m.offset, log2: m.log2RingSize, fd });
        this.sendMsg(this.ctl, { type: 'ack' });
        return;
      }
      case 'connect':
        if (!this.initDone || this.regions.length === 0 || this.rxRings.length === 0 || this.txRings.length === 0) throw new PeerError('connect before regions and a ring each way were added');
        this.connect();
        return;
      case 'disconnect':
        this.drop(`the client disconnected: ${m.reason || 'no reason given'}`);
        return;
      default:
        throw new PeerError(`unexpected ${m.type} from a client`);
    }
  }

  private initDone = false;

  private connect(): void {
    for (const r of this.regions) {
      const p = libc().mmap(null, r.size, PROT_RW, MAP_SHARED, r.fd, 0);
      if (mapFailed(p)) throw new PeerError(`cannot map a region of ${r.size} bytes (errno ${errno()})`);
      r.ptr = p;
      const ab = viewMemory(p, r.size);
      r.view = new DataView(ab);
      r.bytes = new Uint8Array(ab);
    }
    const queue = (r: Ring): Queue => {
      const v = this.regions[r.region]!.view!;
      if (v.getUint32(r.offset + RING_COOKIE, true) !== MEMIF_COOKIE) throw new PeerError('Wrong ring: bad cookie');
      return new Queue(v, r.offset, r.log2, r.fd);
    };
    const rxq = this.rxRings.map(queue);
    const txq = this.txRings.map(queue);
    // both ends start from zero (DPDK's server and client both reset head and tail at connect)
    for (const q of [...rxq, ...txq]) {
      q.view.setUint16(q.base + RING_HEAD, 0, true);
      q.view.setUint16(q.base + RING_TAIL, 0, true);
    }
    this.rxq = rxq;
    this.txq = txq;
    this.rxNext = 0;
    for (const q of rxq) {
      this.setRxMask(q, false);
      epollAdd(this.epollFd, q.fd);
    }
    this.status[S_LOG2_C2S] = this.rxRings[0]!.log2;
    this.status[S_LOG2_S2C] = this.txRings[0]!.log2;
    this.status[S_QUEUES] = rxq.length | (txq.length << 8);
    this.sendMsg(this.ctl, { type: 'connected', ifName: this.name });
    this.status[S_CONNECTS]!++;
    this.setState('connected');
  }

  /** A protocol violation: count it, tell the client why, drop it. */
  private refuse(e: PeerError): void {
    this.status[e.descriptor ? S_BAD_DESCRIPTORS : S_BAD_MESSAGES]!++;
    if (e.descriptor) this.counters.invalidDescs++;
    if (this.ctl >= 0) this.sendMsg(this.ctl, { type: 'disconnect', code: 0, reason: e.message });
    this.drop(e.message);
  }

  /** Forget the client: unmap, close its descriptors, back to listening. */
  private drop(reason: string): void {
    writeText(this.statusBytes, S_REASON, 96, reason);
    if (this.state === 'connected') this.status[S_DISCONNECTS]!++;
    // the hot path first: after this no ring is read or written
    const polled = this.rxq.length > 0;
    this.rxq = [];
    this.txq = [];
    for (const r of this.regions) {
      r.view = null;
      r.bytes = null;
      if (r.ptr !== null) libc().munmap(r.ptr, r.size);
      closeFd(r.fd);
    }
    this.regions = [];
    for (const ring of [...this.rxRings, ...this.txRings]) {
      if (polled) epollDel(this.epollFd, ring.fd); // a receive ring's, once connected; harmless for the others
      closeFd(ring.fd);
    }
    this.rxRings = [];
    this.txRings = [];
    if (this.ctl >= 0) {
      epollDel(this.epollFd, this.ctl);
      closeFd(this.ctl);
      this.ctl = -1;
    }
    this.initDone = false;
    for (const k of [S_LOG2_C2S, S_LOG2_S2C, S_C2S_WAITING, S_S2C_POSTED, S_REGIONS, S_RX_INTERRUPT, S_QUEUES]) this.status[k] = 0;
    this.setState('listening');
  }

  private sendMsg(fd: number, m: MemifMsg): void {
    encodeMemifMsg(m, this.out, 0);
    sendSeqpacket(fd, this.out); // a client that stopped reading loses the message, not us
  }

  private setState(s: MemifPeerState): void {
    this.state = s;
    Atomics.store(this.status, S_STATE, STATES.indexOf(s));
  }

  private publishState(): void {
    Atomics.store(this.status, S_STATE, 0);
  }

  close(): void {
    if (this.closed) return;
    if (this.ctl >= 0) this.sendMsg(this.ctl, { type: 'disconnect', code: 0, reason: 'interface deleted' });
    this.drop('interface deleted');
    this.closed = true;
    closeFd(this.epollFd);
    this.sock.leave(this.id);
  }
}
