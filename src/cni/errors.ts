/**
 * CNI error codes (CNI spec 1.1.0, "Error"). A CniError is what every failing command
 * ends in; main.ts writes it to stdout as the spec's error object and exits non-zero.
 * 1..99 are the spec's; 999 is the generic code the reference plugins' skel uses for
 * errors without a more precise code.
 */

export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  /** STATUS: the plugin cannot serve ADDs at the moment */
  NotAvailable: 50,
  /** STATUS: limited connectivity */
  LimitedConnectivity: 51,
  Internal: 999,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class CniError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details = '',
  ) {
    super(message);
    this.name = 'CniError';
  }

  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    const out: { cniVersion: string; code: number; msg: string; details?: string } = {
      cniVersion,
      code: this.code,
      msg: this.message,
    };
    if (this.details) out.details = this.details;
    return out;
  }
}

/** Any thrown value as a CniError (unexpected failures become code 999 with their message). */
export function asCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new CniError(ErrorCode.Internal, msg);
}
