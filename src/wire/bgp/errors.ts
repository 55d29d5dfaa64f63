/**
 * BGP errors as values. A decoder never throws on bad input: it returns a NotifyError that
 * carries the NOTIFICATION code, subcode and data RFC 4271 (and its updates) prescribe, so
 * the session can send exactly that NOTIFICATION and close.
 */

export const ErrorCode = {
  MessageHeader: 1,
  OpenMessage: 2,
  UpdateMessage: 3,
  HoldTimerExpired: 4,
  FsmError: 5,
  Cease: 6,
  RouteRefresh: 7,
} as const;

export const HeaderSubcode = { ConnectionNotSynchronized: 1, BadMessageLength: 2, BadMessageType: 3 } as const;

export const OpenSubcode = {
  UnsupportedVersion: 1,
  BadPeerAs: 2,
  BadBgpIdentifier: 3,
  UnsupportedOptionalParameter: 4,
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
  RoleMismatch: 11,
} as const;

export const UpdateSubcode = {
  MalformedAttributeList: 1,
  UnrecognizedWellKnownAttribute: 2,
  MissingWellKnownAttribute: 3,
  AttributeFlagsError: 4,
  AttributeLengthError: 5,
  InvalidOriginAttribute: 6,
  InvalidNextHopAttribute: 8,
  OptionalAttributeError: 9,
  InvalidNetworkField: 10,
  MalformedAsPath: 11,
} as const;

export const CeaseSubcode = {
  MaximumPrefixesReached: 1,
  AdministrativeShutdown: 2,
  PeerDeconfigured: 3,
  AdministrativeReset: 4,
  ConnectionRejected: 5,
  OtherConfigurationChange: 6,
  ConnectionCollisionResolution: 7,
  OutOfResources: 8,
  HardReset: 9,
} as const;

export const RouteRefreshSubcode = { InvalidMessageLength: 1 } as const;

export interface NotifyError {
  readonly kind: 'error';
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
  /** for logs and `show bgp neighbor` */
  readonly reason: string;
}

const EMPTY = new Uint8Array(0);

export function notifyError(code: number, subcode: number, reason: string, data: Uint8Array = EMPTY): NotifyError {
  return { kind: 'error', code, subcode, data, reason };
}

export function isNotifyError(v: unknown): v is NotifyError {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'error';
}

const CODE_NAMES: Record<number, string> = {
  1: 'Message Header Error',
  2: 'OPEN Message Error',
  3: 'UPDATE Message Error',
  4: 'Hold Timer Expired',
  5: 'Finite State Machine Error',
  6: 'Cease',
  7: 'ROUTE-REFRESH Message Error',
};

export function errorName(code: number, subcode: number): string {
  return `${CODE_NAMES[code] ?? `code ${code}`} (subcode ${subcode})`;
}
