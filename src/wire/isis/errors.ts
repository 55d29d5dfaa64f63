/**
 * IS-IS decode errors as values. ISO 10589 has no error messages on the wire: a PDU that does
 * not parse is dropped and counted. So an error names what the counter and the log need — the
 * PDU kind, the TLV (and sub-TLV) code where decoding stopped, the reason and the byte offset.
 * Its reasons are WireError's plus one of IS-IS's own (authentication), so it is a class of
 * its own with the same shape rather than a WireError.
 */
import type { WireErrorReason } from '../errors.js';

export type IsisErrorReason =
  | WireErrorReason
  /** HMAC-MD5 (RFC 5304) or cleartext authentication did not match the configured key */
  | 'bad_authentication';

export class IsisError {
  readonly protocol = 'isis';
  constructor(
    /** 'header', 'frame', or the PDU kind ('l2-lsp', 'p2p-hello', ...) */
    readonly pdu: string,
    readonly reason: IsisErrorReason,
    readonly message: string,
    readonly offset = 0,
    /** the TLV code being decoded, if any */
    readonly tlv?: number,
    /** the sub-TLV code being decoded, if any */
    readonly subTlv?: number,
  ) {}
  toString(): string {
    const where = this.tlv === undefined ? '' : ` TLV ${this.tlv}${this.subTlv === undefined ? '' : ` sub-TLV ${this.subTlv}`}`;
    return `isis ${this.pdu}${where}: ${this.reason}: ${this.message} (at byte ${this.offset})`;
  }
}

/** A TLV-level failure before the PDU kind is attached (see pdu.ts, which fills it in). */
export class TlvFault {
  constructor(
    readonly reason: WireErrorReason,
    readonly message: string,
    readonly offset: number,
    readonly tlv: number,
    readonly subTlv?: number,
  ) {}
}

export function tlvFault(tlv: number, message: string, offset: number, reason: WireErrorReason = 'malformed', subTlv?: number): TlvFault {
  return new TlvFault(reason, message, offset, tlv, subTlv);
}

export function isTlvFault(v: unknown): v is TlvFault {
  return v instanceof TlvFault;
}
