/**
 * ROUTE-REFRESH (RFC 2918) and its enhanced subtypes (RFC 7313): 0 is a normal request,
 * 1 begins a refresh (BoRR), 2 ends it (EoRR).
 */
import { ErrorCode, RouteRefreshSubcode, notifyError, type NotifyError } from './errors.js';
import { HEADER_LENGTH, MessageType, writeHeader } from './header.js';

export const RefreshSubtype = { Request: 0, BoRR: 1, EoRR: 2 } as const;

export interface RouteRefresh {
  readonly afi: number;
  readonly safi: number;
  readonly subtype: number;
}

export function encodeRouteRefresh(r: RouteRefresh): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + 4);
  writeHeader(out, 0, out.length, MessageType.RouteRefresh);
  out[19] = r.afi >>> 8;
  out[20] = r.afi & 0xff;
  out[21] = r.subtype;
  out[22] = r.safi;
  return out;
}

export function decodeRouteRefresh(body: Uint8Array): RouteRefresh | NotifyError {
  if (body.length !== 4) {
    // RFC 7313 section 5: a bad length is answered with this code, the message as data
    return notifyError(ErrorCode.RouteRefresh, RouteRefreshSubcode.InvalidMessageLength, `ROUTE-REFRESH length ${body.length + HEADER_LENGTH}`, new Uint8Array(body));
  }
  return { afi: (body[0]! << 8) | body[1]!, subtype: body[2]!, safi: body[3]! };
}
