/**
 * Decode errors are values, not exceptions: a data plane feeding millions of hostile frames
 * through these decoders must not pay for (or crash on) a throw per bad frame. Each error
 * carries a reason that maps onto a drop counter, and the byte offset where decoding stopped.
 */

export type WireErrorReason =
  /** fewer bytes than the header or a length field needs */
  | 'truncated'
  /** a field holds a value the protocol forbids (bad version, IHL, length, option) */
  | 'malformed'
  /** a checksum the protocol defines over the bytes themselves does not match */
  | 'bad_checksum'
  /** well formed but outside what this codec handles (other hardware type, too many headers) */
  | 'unsupported';

export class WireError {
  constructor(
    readonly protocol: string,
    readonly reason: WireErrorReason,
    readonly message: string,
    readonly offset = 0,
  ) {}
  toString(): string {
    return `${this.protocol}: ${this.reason}: ${this.message} (at byte ${this.offset})`;
  }
}

export function isWireError(v: unknown): v is WireError {
  return v instanceof WireError;
}

export function truncated(protocol: string, need: number, have: number, offset = 0): WireError {
  return new WireError(protocol, 'truncated', `need ${need} bytes, have ${have}`, offset);
}

export function malformed(protocol: string, message: string, offset = 0): WireError {
  return new WireError(protocol, 'malformed', message, offset);
}

/** A caller buffer too small for an encoder is a programming error: encoders throw this. */
export class EncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncodeError';
  }
}

export function needRoom(protocol: string, buf: Uint8Array, off: number, n: number): void {
  if (off < 0 || off + n > buf.length) throw new EncodeError(`${protocol}: buffer too small: need ${n} bytes at ${off}, have ${buf.length - off}`);
}

/** A DataView over exactly `bytes`, whatever larger buffer it is a view of. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
