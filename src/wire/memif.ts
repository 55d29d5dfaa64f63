/**
 * The memif control protocol and shared ring layout (FD.io's shared-memory packet interface,
 * version 2.0, as DPDK's net_memif and libmemif speak it). Every control message is one
 * 128-byte SOCK_SEQPACKET datagram: a 16-bit type, then the packed body of that type;
 * memory regions and interrupt eventfds travel beside add-region and add-ring as SCM_RIGHTS
 * file descriptors (the socket code's business, not this codec's).
 *
 * The handshake, server (cnr) side: on accept the server sends hello; the client answers
 * init (version, interface id, mode, secret), add-region per region, add-ring per ring,
 * then connect; the server acks each of the first three kinds and answers connect with
 * connected. Either side may send disconnect (a code and a reason) at any time.
 *
 * Rings live in the client's regions: a 128-byte header (cookie, flags, head on the first
 * cache line, tail on the second) and 2^log2 descriptors of 16 bytes (flags, region,
 * length, offset, metadata). All integers are little-endian, as both ends share the host.
 */
import { malformed, needRoom, truncated, viewOf, type WireError } from './errors.js';

export const MEMIF_COOKIE = 0x3e31f20;
export const MEMIF_VERSION_MAJOR = 2;
export const MEMIF_VERSION_MINOR = 0;
export const MEMIF_VERSION = (MEMIF_VERSION_MAJOR << 8) | MEMIF_VERSION_MINOR;
/** every control message, whatever its type */
export const MEMIF_MSG_SIZE = 128;
export const MEMIF_NAME_SIZE = 32;
export const MEMIF_SECRET_SIZE = 24;
export const MEMIF_REASON_SIZE = 96;

export const MemifMsgType = {
  None: 0,
  Ack: 1,
  Hello: 2,
  Init: 3,
  AddRegion: 4,
  AddRing: 5,
  Connect: 6,
  Connected: 7,
  Disconnect: 8,
} as const;

/** interface modes of init; cnr serves Ethernet only */
export const MEMIF_MODE_ETHERNET = 0;
export const MEMIF_MODE_IP = 1;
export const MEMIF_MODE_PUNT_INJECT = 2;

/** add-ring flag: the ring carries client-to-server frames (what the server receives) */
export const MEMIF_ADD_RING_FLAG_C2S = 1;
/** ring flag the receiver sets: do not kick my eventfd, I am polling */
export const MEMIF_RING_FLAG_MASK_INT = 1;
/** descriptor flag: the frame continues in the next descriptor */
export const MEMIF_DESC_FLAG_NEXT = 1;

/** ring header: cookie u32 @0, flags u16 @4, head u16 @6 (cache line 0), tail u16 @64 (line 1), descriptors @128 */
export const RING_COOKIE = 0;
export const RING_FLAGS = 4;
export const RING_HEAD = 6;
export const RING_TAIL = 64;
export const RING_HEADER_SIZE = 128;
/** descriptor: flags u16 @0, region u16 @2, length u32 @4, offset u32 @8, metadata u32 @12 */
export const DESC_SIZE = 16;
export const DESC_FLAGS = 0;
export const DESC_REGION = 2;
export const DESC_LENGTH = 4;
export const DESC_OFFSET = 8;

/** Bytes of a ring of 2^log2 descriptors, header included. */
export function ringBytes(log2: number): number {
  return RING_HEADER_SIZE + DESC_SIZE * (1 << log2);
}

export interface MemifHello {
  type: 'hello';
  name: string;
  minVersion: number;
  maxVersion: number;
  /** the highest region index, ring indices and ring size the server accepts (counts minus one, log2) */
  maxRegion: number;
  maxS2cRing: number;
  maxC2sRing: number;
  maxLog2RingSize: number;
}

export interface MemifInit {
  type: 'init';
  version: number;
  id: number;
  mode: number;
  secret: string;
  name: string;
}

export interface MemifAddRegion {
  type: 'add-region';
  index: number;
  /** bytes (a u64 on the wire; a number here, refused above 2^53) */
  size: number;
}

export interface MemifAddRing {
  type: 'add-ring';
  flags: number;
  index: number;
  region: number;
  offset: number;
  log2RingSize: number;
  privateHdrSize: number;
}

export interface MemifConnect {
  type: 'connect' | 'connected';
  ifName: string;
}

export interface MemifDisconnect {
  type: 'disconnect';
  code: number;
  reason: string;
}

export interface MemifAck {
  type: 'ack';
}

export type MemifMsg = MemifAck | MemifHello | MemifInit | MemifAddRegion | MemifAddRing | MemifConnect | MemifDisconnect;

const P = 'memif';

/** A NUL-terminated name field: printable ASCII up to the first NUL, anything else refused. */
function readName(b: Uint8Array, off: number, size: number): string | WireError {
  let s = '';
  for (let i = 0; i < size; i++) {
    const c = b[off + i]!;
    if (c === 0) return s;
    if (c < 0x20 || c > 0x7e) return malformed(P, `non-printable byte 0x${c.toString(16)} in a name`, off + i);
    s += String.fromCharCode(c);
  }
  return s; // exactly full, no terminator: libmemif does the same with strncpy
}

function writeName(b: Uint8Array, off: number, size: number, s: string): void {
  if (s.length > size) throw new RangeError(`memif: name '${s}' longer than ${size} bytes`);
  for (let i = 0; i < size; i++) b[off + i] = i < s.length ? s.charCodeAt(i) & 0x7f : 0;
}

/** Decode one control message (exactly MEMIF_MSG_SIZE bytes). */
export function decodeMemifMsg(b: Uint8Array): MemifMsg | WireError {
  if (b.length !== MEMIF_MSG_SIZE) return b.length < MEMIF_MSG_SIZE ? truncated(P, MEMIF_MSG_SIZE, b.length) : malformed(P, `message of ${b.length} bytes (not ${MEMIF_MSG_SIZE})`);
  const v = viewOf(b);
  const type = v.getUint16(0, true);
  switch (type) {
    case MemifMsgType.Ack:
      return { type: 'ack' };
    case MemifMsgType.Hello: {
      const name = readName(b, 2, MEMIF_NAME_SIZE);
      if (typeof name !== 'string') return name;
      return {
        type: 'hello', name, minVersion: v.getUint16(34, true), maxVersion: v.getUint16(36, true), maxRegion: v.getUint16(38, true),
        maxS2cRing: v.getUint16(40, true), maxC2sRing: v.getUint16(42, true), maxLog2RingSize: b[44]!,
      };
    }
    case MemifMsgType.Init: {
      const secret = readName(b, 9, MEMIF_SECRET_SIZE);
      if (typeof secret !== 'string') return secret;
      const name = readName(b, 33, MEMIF_NAME_SIZE);
      if (typeof name !== 'string') return name;
      return { type: 'init', version: v.getUint16(2, true), id: v.getUint32(4, true), mode: b[8]!, secret, name };
    }
    case MemifMsgType.AddRegion: {
      const size = v.getBigUint64(4, true);
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) return malformed(P, `region size ${size} too large`, 4);
      return { type: 'add-region', index: v.getUint16(2, true), size: Number(size) };
    }
    case MemifMsgType.AddRing:
      return {
        type: 'add-ring', flags: v.getUint16(2, true), index: v.getUint16(4, true), region: v.getUint16(6, true), offset: v.getUint32(8, true),
        log2RingSize: b[12]!, privateHdrSize: v.getUint16(13, true),
      };
    case MemifMsgType.Connect:
    case MemifMsgType.Connected: {
      const ifName = readName(b, 2, MEMIF_NAME_SIZE);
      if (typeof ifName !== 'string') return ifName;
      return { type: type === MemifMsgType.Connect ? 'connect' : 'connected', ifName };
    }
    case MemifMsgType.Disconnect: {
      // a reason is for logs: keep what is printable rather than refuse the goodbye
      let reason = '';
      for (let i = 0; i < MEMIF_REASON_SIZE - 1; i++) {
        const c = b[6 + i]!;
        if (c === 0) break;
        reason += c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : '?';
      }
      return { type: 'disconnect', code: v.getUint32(2, true), reason };
    }
    default:
      return malformed(P, `unknown message type ${type}`, 0);
  }
}

const TYPE_OF: Record<MemifMsg['type'], number> = {
  ack: MemifMsgType.Ack, hello: MemifMsgType.Hello, init: MemifMsgType.Init, 'add-region': MemifMsgType.AddRegion,
  'add-ring': MemifMsgType.AddRing, connect: MemifMsgType.Connect, connected: MemifMsgType.Connected, disconnect: MemifMsgType.Disconnect,
};

/** Encode `m` into buf[off..off+128) (unused bytes zeroed); returns the end offset. */
export function encodeMemifMsg(m: MemifMsg, buf: Uint8Array, off = 0): number {
  needRoom(P, buf, off, MEMIF_MSG_SIZE);
  const b = buf.subarray(off, off + MEMIF_MSG_SIZE);
  b.fill(0);
  const v = viewOf(b);
  v.setUint16(0, TYPE_OF[m.type], true);
  switch (m.type) {
    case 'ack':
      break;
    case 'hello':
      writeName(b, 2, MEMIF_NAME_SIZE, m.name);
      v.setUint16(34, m.minVersion, true);
      v.setUint16(36, m.maxVersion, true);
      v.setUint16(38, m.maxRegion, true);
      v.setUint16(40, m.maxS2cRing, true);
      v.setUint16(42, m.maxC2sRing, true);
      b[44] = m.maxLog2RingSize;
      break;
    case 'init':
      v.setUint16(2, m.version, true);
      v.setUint32(4, m.id, true);
      b[8] = m.mode;
      writeName(b, 9, MEMIF_SECRET_SIZE, m.secret);
      writeName(b, 33, MEMIF_NAME_SIZE, m.name);
      break;
    case 'add-region':
      v.setUint16(2, m.index, true);
      v.setBigUint64(4, BigInt(m.size), true);
      break;
    case 'add-ring':
      v.setUint16(2, m.flags, true);
      v.setUint16(4, m.index, true);
      v.setUint16(6, m.region, true);
      v.setUint32(8, m.offset, true);
      b[12] = m.log2RingSize;
      v.setUint16(13, m.privateHdrSize, true);
      break;
    case 'connect':
    case 'connected':
      writeName(b, 2, MEMIF_NAME_SIZE, m.ifName);
      break;
    case 'disconnect':
      v.setUint32(2, m.code, true);
      writeName(b, 6, MEMIF_REASON_SIZE, m.reason.slice(0, MEMIF_REASON_SIZE - 1));
      break;
  }
  return off + MEMIF_MSG_SIZE;
}
