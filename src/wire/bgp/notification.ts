/** NOTIFICATION (RFC 4271 section 4.5), with the Cease communication of RFC 9003 when present. */
import { ErrorCode, HeaderSubcode, errorName, notifyError, type NotifyError } from './errors.js';
import { HEADER_LENGTH, MessageType, writeHeader } from './header.js';

export interface Notification {
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
}

export function encodeNotification(n: Notification): Uint8Array {
  const length = HEADER_LENGTH + 2 + n.data.length;
  const out = new Uint8Array(length);
  writeHeader(out, 0, length, MessageType.Notification);
  out[19] = n.code;
  out[20] = n.subcode;
  out.set(n.data, 21);
  return out;
}

export function decodeNotification(body: Uint8Array): Notification | NotifyError {
  if (body.length < 2) {
    return notifyError(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, 'short NOTIFICATION', Uint8Array.of(0, HEADER_LENGTH + body.length));
  }
  return { code: body[0]!, subcode: body[1]!, data: body.subarray(2) };
}

/** Human text for a NOTIFICATION, including an RFC 9003 shutdown communication. */
export function describeNotification(n: Notification): string {
  let s = errorName(n.code, n.subcode);
  if (n.code === ErrorCode.Cease && (n.subcode === 2 || n.subcode === 4) && n.data.length > 0) {
    const len = n.data[0]!;
    if (len > 0 && len + 1 <= n.data.length) s += `: "${new TextDecoder().decode(n.data.subarray(1, 1 + len))}"`;
  }
  return s;
}
