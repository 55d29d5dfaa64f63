/**
 * The 19-octet BGP header (marker, length, type) and framing of a TCP byte stream into
 * messages. `frameMessage` looks at the head of a receive buffer and says: need more bytes,
 * here is one whole message, or the header is bad (with the NOTIFICATION to send).
 */
import { HeaderSubcode, ErrorCode, notifyError, type NotifyError } from './errors.js';

export const HEADER_LENGTH = 19;
export const MessageType = { Open: 1, Update: 2, Notification: 3, Keepalive: 4, RouteRefresh: 5 } as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

const MIN_LENGTH: Record<number, number> = { 1: 29, 2: 23, 3: 21, 4: 19, 5: 23 };

export type Frame =
  | { readonly kind: 'need'; readonly bytes: number }
  | { readonly kind: 'message'; readonly type: MessageTypeCode; readonly body: Uint8Array; readonly length: number }
  | NotifyError;

/** Write the marker, length and type at `off`. */
export function writeHeader(out: Uint8Array, off: number, length: number, type: number): void {
  out.fill(0xff, off, off + 16);
  out[off + 16] = length >>> 8;
  out[off + 17] = length & 0xff;
  out[off + 18] = type;
}

/**
 * Frame one message at `off` in `buf` (default its start). `maxLength` is 4096, or 65535 once
 * extended messages are negotiated (OPEN and KEEPALIVE stay limited to 4096 — RFC 8654
 * section 4). A session frames a chunk of many messages by offset: the body is the one view
 * made per message (a view of the rest of the chunk per message was another).
 */
export function frameMessage(buf: Uint8Array, maxLength: number, off = 0): Frame {
  const have = buf.length - off;
  if (have < HEADER_LENGTH) return { kind: 'need', bytes: HEADER_LENGTH - have };
  for (let i = 0; i < 16; i++) {
    if (buf[off + i] !== 0xff) return notifyError(ErrorCode.MessageHeader, HeaderSubcode.ConnectionNotSynchronized, 'marker is not all ones');
  }
  const length = (buf[off + 16]! << 8) | buf[off + 17]!;
  const type = buf[off + 18]!;
  if (type < 1 || type > 5) {
    return notifyError(ErrorCode.MessageHeader, HeaderSubcode.BadMessageType, `unknown message type ${type}`, Uint8Array.of(type));
  }
  const limit = type === MessageType.Open || type === MessageType.Keepalive ? 4096 : maxLength;
  if (length < MIN_LENGTH[type]! || length > limit || (type === MessageType.Keepalive && length !== 19)) {
    return notifyError(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, `bad length ${length} for type ${type}`, new Uint8Array(buf.subarray(off + 16, off + 18)));
  }
  if (have < length) return { kind: 'need', bytes: length - have };
  return { kind: 'message', type: type as MessageTypeCode, body: buf.subarray(off + HEADER_LENGTH, off + length), length };
}

/**
 * frameMessage without its result object, for a session's read loop (one per message was
 * garbage at 200,000 UPDATEs a table): the length of the whole, valid message at `off`; 0
 * when more bytes are needed; -1 when the header is bad (frameMessage then says how).
 */
export function frameLength(buf: Uint8Array, maxLength: number, off: number): number {
  if (buf.length - off < HEADER_LENGTH) return 0;
  for (let i = 0; i < 16; i++) if (buf[off + i] !== 0xff) return -1;
  const length = (buf[off + 16]! << 8) | buf[off + 17]!;
  const type = buf[off + 18]!;
  if (type < 1 || type > 5) return -1;
  const limit = type === MessageType.Open || type === MessageType.Keepalive ? 4096 : maxLength;
  if (length < MIN_LENGTH[type]! || length > limit || (type === MessageType.Keepalive && length !== 19)) return -1;
  return buf.length - off < length ? 0 : length;
}

export function encodeKeepalive(): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH);
  writeHeader(out, 0, HEADER_LENGTH, MessageType.Keepalive);
  return out;
}
