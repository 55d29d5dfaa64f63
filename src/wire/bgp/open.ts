/**
 * OPEN (RFC 4271 section 4.2) and the capabilities it carries (RFC 5492): multiprotocol
 * (4760), route refresh (2918), enhanced route refresh (7313), graceful restart (4724),
 * 4-octet AS (6793), add-path (7911), extended message (8654), FQDN (draft). Unknown
 * capabilities are kept as bytes so `show bgp neighbor` can list them.
 */
import { ByteWriter } from '../../lib/bytes.js';
import { ErrorCode, OpenSubcode, notifyError, type NotifyError } from './errors.js';
import { HEADER_LENGTH, MessageType, writeHeader } from './header.js';

export const CapabilityCode = {
  Multiprotocol: 1,
  RouteRefresh: 2,
  ExtendedMessage: 6,
  GracefulRestart: 64,
  As4: 65,
  AddPath: 69,
  EnhancedRouteRefresh: 70,
  Fqdn: 73,
} as const;

export const AS_TRANS = 23456;

export interface AfiSafi {
  readonly afi: number;
  readonly safi: number;
}

/** add-path mode bits: 1 = can receive, 2 = can send, 3 = both */
export interface AddPathFamily extends AfiSafi {
  readonly mode: 1 | 2 | 3;
}

export interface GracefulRestartCapability {
  /** R bit: the sender has restarted */
  readonly restarting: boolean;
  /** N bit (RFC 8538) */
  readonly notification: boolean;
  /** restart time in seconds (12 bits) */
  readonly time: number;
  readonly families: ReadonlyArray<AfiSafi & { readonly forwardingPreserved: boolean }>;
}

export interface Capabilities {
  readonly multiprotocol: readonly AfiSafi[];
  readonly routeRefresh: boolean;
  readonly enhancedRouteRefresh: boolean;
  /** the real AS number, when 4-octet AS is supported */
  readonly as4?: number;
  readonly gracefulRestart?: GracefulRestartCapability;
  readonly addPath: readonly AddPathFamily[];
  readonly extendedMessage: boolean;
  readonly fqdn?: { readonly hostname: string; readonly domain: string };
  readonly unknown: ReadonlyArray<{ readonly code: number; readonly value: Uint8Array }>;
}

export interface Open {
  readonly version: number;
  /** the 2-octet My Autonomous System field (AS_TRANS when the real AS needs 4 octets) */
  readonly myAs: number;
  readonly holdTime: number;
  /** BGP identifier as an unsigned 32-bit number */
  readonly bgpId: number;
  readonly capabilities: Capabilities;
}

export function emptyCapabilities(): Capabilities {
  return { multiprotocol: [], routeRefresh: false, enhancedRouteRefresh: false, addPath: [], extendedMessage: false, unknown: [] };
}

/** The AS a peer says it is: the 4-octet capability wins over the 2-octet field. */
export function openAs(o: Open): number {
  return o.capabilities.as4 ?? o.myAs;
}

function writeCapability(w: ByteWriter, code: number, body: (w: ByteWriter) => void): void {
  // each capability in its own optional parameter is what most speakers send; one
  // parameter holding all of them is also legal and is what we do (shorter)
  w.u8(code);
  const fill = w.reserveLength(1);
  body(w);
  fill();
}

export function encodeOpen(o: Open): Uint8Array {
  const w = new ByteWriter(128);
  w.bytes(new Uint8Array(HEADER_LENGTH));
  w.u8(o.version).u16(o.myAs).u16(o.holdTime).u32(o.bgpId);
  const fillParams = w.reserveLength(1);
  const c = o.capabilities;
  const anyCap =
    c.multiprotocol.length || c.routeRefresh || c.enhancedRouteRefresh || c.as4 !== undefined || c.gracefulRestart ||
    c.addPath.length || c.extendedMessage || c.fqdn || c.unknown.length;
  if (anyCap) {
    w.u8(2); // parameter type: capabilities
    const fillCaps = w.reserveLength(1);
    for (const f of c.multiprotocol) writeCapability(w, CapabilityCode.Multiprotocol, (w) => w.u16(f.afi).u8(0).u8(f.safi));
    if (c.routeRefresh) writeCapability(w, CapabilityCode.RouteRefresh, () => {});
    if (c.enhancedRouteRefresh) writeCapability(w, CapabilityCode.EnhancedRouteRefresh, () => {});
    if (c.extendedMessage) writeCapability(w, CapabilityCode.ExtendedMessage, () => {});
    if (c.as4 !== undefined) writeCapability(w, CapabilityCode.As4, (w) => w.u32(c.as4!));
    const gr = c.gracefulRestart;
    if (gr) {
      writeCapability(w, CapabilityCode.GracefulRestart, (w) => {
        w.u16((gr.restarting ? 0x8000 : 0) | (gr.notification ? 0x4000 : 0) | (gr.time & 0xfff));
        for (const f of gr.families) w.u16(f.afi).u8(f.safi).u8(f.forwardingPreserved ? 0x80 : 0);
      });
    }
    if (c.addPath.length) writeCapability(w, CapabilityCode.AddPath, (w) => {
      for (const f of c.addPath) w.u16(f.afi).u8(f.safi).u8(f.mode);
    });
    if (c.fqdn) {
      const te = new TextEncoder();
      const h = te.encode(c.fqdn.hostname).subarray(0, 255);
      const d = te.encode(c.fqdn.domain).subarray(0, 255);
      writeCapability(w, CapabilityCode.Fqdn, (w) => w.u8(h.length).bytes(h).u8(d.length).bytes(d));
    }
    for (const u of c.unknown) writeCapability(w, u.code, (w) => w.bytes(u.value));
    fillCaps();
  }
  fillParams();
  const out = w.finish();
  writeHeader(out, 0, out.length, MessageType.Open);
  return out.slice();
}

function openError(subcode: number, reason: string, data?: Uint8Array): NotifyError {
  return notifyError(ErrorCode.OpenMessage, subcode, reason, data);
}

function parseCapabilities(b: Uint8Array): Capabilities | NotifyError {
  const mp: AfiSafi[] = [];
  const addPath: AddPathFamily[] = [];
  const unknown: { code: number; value: Uint8Array }[] = [];
  let routeRefresh = false;
  let enhancedRouteRefresh = false;
  let extendedMessage = false;
  let as4: number | undefined;
  let gracefulRestart: GracefulRestartCapability | undefined;
  let fqdn: { hostname: string; domain: string } | undefined;
  let i = 0;
  while (i < b.length) {
    if (i + 2 > b.length) return openError(0, 'truncated capability header');
    const code = b[i]!;
    const len = b[i + 1]!;
    if (i + 2 + len > b.length) return openError(0, `capability ${code} overruns its parameter`);
    const v = b.subarray(i + 2, i + 2 + len);
    i += 2 + len;
    // a known capability with a malformed value is kept as unknown rather than failing the
    // session: RFC 5492 leaves the treatment open and being liberal keeps peers up
    switch (code) {
      case CapabilityCode.Multiprotocol:
        if (len === 4) mp.push({ afi: (v[0]! << 8) | v[1]!, safi: v[3]! });
        else unknown.push({ code, value: v });
        break;
      case CapabilityCode.RouteRefresh:
        routeRefresh = true;
        break;
      case CapabilityCode.EnhancedRouteRefresh:
        enhancedRouteRefresh = true;
        break;
      case CapabilityCode.ExtendedMessage:
        extendedMessage = true;
        break;
      case CapabilityCode.As4:
        if (len === 4) as4 = ((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0;
        else unknown.push({ code, value: v });
        break;
      case CapabilityCode.GracefulRestart: {
        if (len < 2 || (len - 2) % 4 !== 0) {
          unknown.push({ code, value: v });
          break;
        }
        const head = (v[0]! << 8) | v[1]!;
        const families: (AfiSafi & { forwardingPreserved: boolean })[] = [];
        for (let j = 2; j < len; j += 4) families.push({ afi: (v[j]! << 8) | v[j + 1]!, safi: v[j + 2]!, forwardingPreserved: (v[j + 3]! & 0x80) !== 0 });
        gracefulRestart = { restarting: (head & 0x8000) !== 0, notification: (head & 0x4000) !== 0, time: head & 0xfff, families };
        break;
      }
      case CapabilityCode.AddPath:
        if (len % 4 !== 0) {
          unknown.push({ code, value: v });
          break;
        }
        for (let j = 0; j < len; j += 4) {
          const mode = v[j + 3]!;
          if (mode >= 1 && mode <= 3) addPath.push({ afi: (v[j]! << 8) | v[j + 1]!, safi: v[j + 2]!, mode: mode as 1 | 2 | 3 });
        }
        break;
      case CapabilityCode.Fqdn: {
        const hl = v[0];
        if (hl === undefined || 1 + hl >= len || 2 + hl + v[1 + hl]! > len) {
          unknown.push({ code, value: v });
          break;
        }
        const td = new TextDecoder();
        fqdn = { hostname: td.decode(v.subarray(1, 1 + hl)), domain: td.decode(v.subarray(2 + hl, 2 + hl + v[1 + hl]!)) };
        break;
      }
      default:
        unknown.push({ code, value: v });
    }
  }
  return { multiprotocol: mp, routeRefresh, enhancedRouteRefresh, as4, gracefulRestart, addPath, extendedMessage, fqdn, unknown };
}

/** Decode an OPEN body (after the header). Semantic checks against config (peer AS) are the session's. */
export function decodeOpen(body: Uint8Array): Open | NotifyError {
  if (body.length < 10) return notifyError(ErrorCode.MessageHeader, 2, 'short OPEN', Uint8Array.of(0, HEADER_LENGTH + body.length));
  const version = body[0]!;
  if (version !== 4) return openError(OpenSubcode.UnsupportedVersion, `version ${version}`, Uint8Array.of(0, 4));
  const myAs = (body[1]! << 8) | body[2]!;
  const holdTime = (body[3]! << 8) | body[4]!;
  const bgpId = ((body[5]! << 24) | (body[6]! << 16) | (body[7]! << 8) | body[8]!) >>> 0;
  const optLen = body[9]!;
  if (10 + optLen !== body.length) return openError(0, `optional parameters length ${optLen} does not match the message`);
  if (holdTime === 1 || holdTime === 2) return openError(OpenSubcode.UnacceptableHoldTime, `hold time ${holdTime}`);
  if (bgpId === 0) return openError(OpenSubcode.BadBgpIdentifier, 'BGP identifier 0');
  let caps: Capabilities = emptyCapabilities();
  const capBytes: Uint8Array[] = [];
  let i = 10;
  while (i < body.length) {
    if (i + 2 > body.length) return openError(0, 'truncated optional parameter');
    const type = body[i]!;
    const len = body[i + 1]!;
    if (i + 2 + len > body.length) return openError(0, 'optional parameter overruns the message');
    if (type !== 2) return openError(OpenSubcode.UnsupportedOptionalParameter, `optional parameter type ${type}`);
    capBytes.push(body.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  if (capBytes.length) {
    const all = new Uint8Array(capBytes.reduce((n, b) => n + b.length, 0));
    let o = 0;
    for (const b of capBytes) {
      all.set(b, o);
      o += b.length;
    }
    const parsed = parseCapabilities(all);
    if ('kind' in parsed) return parsed;
    caps = parsed;
  }
  return { version, myAs, holdTime, bgpId, capabilities: caps };
}
