/**
 * BFD control packets (RFC 5880 section 4): the 24-byte mandatory section and the optional
 * authentication section, decoded into a value and encoded into a caller's buffer.
 *
 * Decoding applies the reception checks of RFC 5880 section 6.8.6 that a packet can fail on
 * its own (version, length, detect multiplier, multipoint bit, discriminators, a consistent
 * authentication section); each failure is a `BfdDecodeError` value naming the check, which
 * is also the drop counter's name. The checks that need a session (no session for Your
 * Discriminator, A bit against the session's authentication, a wrong digest or sequence) are
 * the session's: src/bfd/. Keyed MD5 and SHA1 digests (sections 6.7.3, 6.7.4) are computed
 * here on a packet's bytes, since only the bytes say what was signed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { EncodeError, WireError, needRoom } from './errors.js';

/** UDP destination ports: RFC 5881 single hop (control, echo), RFC 5883 multihop. */
export const BFD_PORT_SINGLE_HOP = 3784;
export const BFD_PORT_ECHO = 3785;
export const BFD_PORT_MULTIHOP = 4784;
/** RFC 5881 section 4: single-hop source ports come from this range. */
export const BFD_SOURCE_PORT_MIN = 49152;
export const BFD_SOURCE_PORT_MAX = 65535;

export const BFD_VERSION = 1;
/** the mandatory section */
export const BFD_HEADER_LEN = 24;

/** RFC 5880 section 4.1 State (Sta) values, by the RFC's names. */
export type BfdState = 'AdminDown' | 'Down' | 'Init' | 'Up';
export const BFD_STATES: readonly BfdState[] = ['AdminDown', 'Down', 'Init', 'Up'];

/** RFC 5880 section 4.1 Diagnostic (Diag) codes. */
export const BfdDiag = {
  NoDiagnostic: 0,
  ControlDetectionTimeExpired: 1,
  EchoFunctionFailed: 2,
  NeighborSignaledSessionDown: 3,
  ForwardingPlaneReset: 4,
  PathDown: 5,
  ConcatenatedPathDown: 6,
  AdministrativelyDown: 7,
  ReverseConcatenatedPathDown: 8,
} as const;
export type BfdDiagCode = number;

const DIAG_NAMES = [
  'No Diagnostic',
  'Control Detection Time Expired',
  'Echo Function Failed',
  'Neighbor Signaled Session Down',
  'Forwarding Plane Reset',
  'Path Down',
  'Concatenated Path Down',
  'Administratively Down',
  'Reverse Concatenated Path Down',
];

/** The RFC's wording for a diagnostic code (logs, show commands). */
export function bfdDiagName(diag: number): string {
  return DIAG_NAMES[diag] ?? `Reserved (${diag})`;
}

/** RFC 5880 section 4.1 Auth Type values. */
export const BfdAuthType = {
  SimplePassword: 1,
  KeyedMd5: 2,
  MeticulousKeyedMd5: 3,
  KeyedSha1: 4,
  MeticulousKeyedSha1: 5,
} as const;

/** Sections 4.2-4.4: a password, or a key ID, sequence number and digest. */
export type BfdAuth =
  | { readonly type: 1; readonly keyId: number; readonly password: Uint8Array }
  | { readonly type: 2 | 3 | 4 | 5; readonly keyId: number; readonly sequence: number; readonly digest: Uint8Array };

export interface BfdControl {
  /** 0..31; the RFC defines 0..8 */
  readonly diag: number;
  readonly state: BfdState;
  /** P: the sender asks for a Final (a poll sequence, section 6.5) */
  readonly poll: boolean;
  /** F: the answer to a Poll */
  readonly final: boolean;
  /** C: the sender's BFD does not share fate with its control plane */
  readonly controlPlaneIndependent: boolean;
  /** D: demand mode */
  readonly demand: boolean;
  /** 1..255 (0 is refused on decode) */
  readonly detectMult: number;
  readonly myDiscriminator: number;
  readonly yourDiscriminator: number;
  /** microseconds */
  readonly desiredMinTxUs: number;
  readonly requiredMinRxUs: number;
  readonly requiredMinEchoRxUs: number;
  /** present exactly when the A bit is set */
  readonly auth?: BfdAuth;
}

/**
 * The RFC 5880 section 6.8.6 reception check a packet failed, as a drop counter name.
 * `truncated`: fewer bytes than the Length field says (or than 24).
 */
export type BfdReceptionCheck =
  | 'truncated'
  | 'bad_version'
  | 'bad_length'
  | 'detect_mult_zero'
  | 'multipoint'
  | 'my_discriminator_zero'
  | 'your_discriminator_zero'
  | 'bad_auth_section';

export class BfdDecodeError extends WireError {
  constructor(
    readonly check: BfdReceptionCheck,
    message: string,
    offset = 0,
  ) {
    super('bfd', check === 'truncated' ? 'truncated' : 'malformed', message, offset);
  }
}

function fail(check: BfdReceptionCheck, message: string, offset = 0): BfdDecodeError {
  return new BfdDecodeError(check, message, offset);
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** The Auth Len each digest type must have (section 4.3: 24 for MD5, 4.4: 28 for SHA1). */
function digestAuthLen(type: number): number {
  return type === 2 || type === 3 ? 24 : 28;
}

/** Decode one control packet: the UDP payload. Bytes past the Length field are ignored. */
export function decodeBfdControl(bytes: Uint8Array): BfdControl | BfdDecodeError {
  if (bytes.length < BFD_HEADER_LEN) return fail('truncated', `need 24 bytes, have ${bytes.length}`);
  const version = bytes[0]! >>> 5;
  if (version !== BFD_VERSION) return fail('bad_version', `version ${version}, not 1`);
  const flags = bytes[1]!;
  const authPresent = (flags & 0x04) !== 0;
  const length = bytes[3]!;
  const minLength = authPresent ? 26 : 24;
  if (length < minLength) return fail('bad_length', `Length ${length} below ${minLength}${authPresent ? ' with the A bit set' : ''}`, 3);
  if (length > bytes.length) return fail('truncated', `Length ${length} beyond the ${bytes.length}-byte payload`, 3);
  const detectMult = bytes[2]!;
  if (detectMult === 0) return fail('detect_mult_zero', 'Detect Mult is 0', 2);
  if (flags & 0x01) return fail('multipoint', 'Multipoint (M) bit set', 1);
  const myDiscriminator = u32(bytes, 4);
  if (myDiscriminator === 0) return fail('my_discriminator_zero', 'My Discriminator is 0', 4);
  const yourDiscriminator = u32(bytes, 8);
  const state = BFD_STATES[flags >>> 6]!;
  if (yourDiscriminator === 0 && state !== 'Down' && state !== 'AdminDown') return fail('your_discriminator_zero', `Your Discriminator is 0 in state ${state}`, 8);
  let auth: BfdAuth | undefined;
  if (authPresent) {
    const a = decodeAuth(bytes.subarray(BFD_HEADER_LEN, length));
    if (a instanceof BfdDecodeError) return a;
    auth = a;
  }
  // without the A bit, bytes between 24 and Length are ignored, as FRR's bfdd does: the RFC
  // refuses only a Length below the minimum
  const pkt: BfdControl = {
    diag: bytes[0]! & 0x1f,
    state,
    poll: (flags & 0x20) !== 0,
    final: (flags & 0x10) !== 0,
    controlPlaneIndependent: (flags & 0x08) !== 0,
    demand: (flags & 0x02) !== 0,
    detectMult,
    myDiscriminator,
    yourDiscriminator,
    desiredMinTxUs: u32(bytes, 12),
    requiredMinRxUs: u32(bytes, 16),
    requiredMinEchoRxUs: u32(bytes, 20),
  };
  return auth ? { ...pkt, auth } : pkt;
}

/** The authentication section: exactly the bytes after the mandatory section up to Length. */
function decodeAuth(b: Uint8Array): BfdAuth | BfdDecodeError {
  const at = BFD_HEADER_LEN;
  const type = b[0]!;
  const authLen = b[1]!;
  if (authLen !== b.length) return fail('bad_auth_section', `Auth Len ${authLen}, but ${b.length} bytes follow the mandatory section`, at + 1);
  if (type === 1) {
    // section 4.2: Auth Len = 3 + a password of 1 to 16 bytes
    if (authLen < 4 || authLen > 19) return fail('bad_auth_section', `simple password Auth Len ${authLen} outside 4..19`, at + 1);
    return { type: 1, keyId: b[2]!, password: b.subarray(3, authLen) };
  }
  if (type >= 2 && type <= 5) {
    const want = digestAuthLen(type);
    if (authLen !== want) return fail('bad_auth_section', `Auth Type ${type} needs Auth Len ${want}, has ${authLen}`, at + 1);
    return { type: type as 2 | 3 | 4 | 5, keyId: b[2]!, sequence: u32(b, 4), digest: b.subarray(8, authLen) };
  }
  return fail('bad_auth_section', `Auth Type ${type} is reserved`, at);
}

/** Bytes `p` takes on the wire. */
export function bfdControlLength(p: BfdControl): number {
  if (!p.auth) return BFD_HEADER_LEN;
  return BFD_HEADER_LEN + (p.auth.type === 1 ? 3 + p.auth.password.length : digestAuthLen(p.auth.type));
}

/** Encode into `buf` at `off`; returns the end offset. Throws on values the wire cannot hold. */
export function encodeBfdControl(p: BfdControl, buf: Uint8Array, off = 0): number {
  const len = bfdControlLength(p);
  needRoom('bfd', buf, off, len);
  if (p.detectMult < 1 || p.detectMult > 255) throw new EncodeError(`bfd: Detect Mult ${p.detectMult} outside 1..255`);
  if (p.diag < 0 || p.diag > 31) throw new EncodeError(`bfd: Diag ${p.diag} outside 0..31`);
  buf[off] = (BFD_VERSION << 5) | p.diag;
  buf[off + 1] =
    (BFD_STATES.indexOf(p.state) << 6) |
    (p.poll ? 0x20 : 0) |
    (p.final ? 0x10 : 0) |
    (p.controlPlaneIndependent ? 0x08 : 0) |
    (p.auth ? 0x04 : 0) |
    (p.demand ? 0x02 : 0);
  buf[off + 2] = p.detectMult;
  buf[off + 3] = len;
  put32(buf, off + 4, p.myDiscriminator);
  put32(buf, off + 8, p.yourDiscriminator);
  put32(buf, off + 12, p.desiredMinTxUs);
  put32(buf, off + 16, p.requiredMinRxUs);
  put32(buf, off + 20, p.requiredMinEchoRxUs);
  const a = p.auth;
  if (a) {
    const at = off + BFD_HEADER_LEN;
    buf[at] = a.type;
    buf[at + 1] = len - BFD_HEADER_LEN;
    buf[at + 2] = a.keyId;
    if (a.type === 1) {
      if (a.password.length < 1 || a.password.length > 16) throw new EncodeError(`bfd: password of ${a.password.length} bytes outside 1..16`);
      buf.set(a.password, at + 3);
    } else {
      const dlen = digestAuthLen(a.type) - 8;
      if (a.digest.length !== dlen) throw new EncodeError(`bfd: Auth Type ${a.type} digest of ${a.digest.length} bytes, must be ${dlen}`);
      buf[at + 3] = 0;
      put32(buf, at + 4, a.sequence);
      buf.set(a.digest, at + 8);
    }
  }
  return off + len;
}

/**
 * Sections 6.7.3 and 6.7.4: the digest of a packet whose authentication section is keyed MD5
 * or SHA1 (type 2-5), computed with the key in place of the digest (zero-padded to 16 or 20
 * bytes). `packet` is the whole control packet as encoded; it is not changed.
 */
export function bfdDigest(packet: Uint8Array, key: Uint8Array): Uint8Array {
  const type = packet[BFD_HEADER_LEN]!;
  const sha1 = type === 4 || type === 5;
  const dlen = sha1 ? 20 : 16;
  if (key.length > dlen) throw new RangeError(`bfd: ${sha1 ? 'SHA1' : 'MD5'} key of ${key.length} bytes above ${dlen}`);
  // a copy, never a view: a Node Buffer's slice() shares the received bytes
  const copy = new Uint8Array(packet[3]!);
  copy.set(packet.subarray(0, copy.length));
  const at = BFD_HEADER_LEN + 8;
  copy.fill(0, at, at + dlen);
  copy.set(key, at);
  return new Uint8Array(createHash(sha1 ? 'sha1' : 'md5').update(copy).digest());
}

/** Fill in the digest of an encoded keyed MD5/SHA1 packet (its digest field is overwritten). */
export function signBfdControl(packet: Uint8Array, key: Uint8Array): void {
  packet.set(bfdDigest(packet, key), BFD_HEADER_LEN + 8);
}

/** Whether an encoded keyed MD5/SHA1 packet carries the right digest for `key`. */
export function verifyBfdDigest(packet: Uint8Array, key: Uint8Array): boolean {
  const type = packet[BFD_HEADER_LEN];
  if (packet.length < BFD_HEADER_LEN + 8 || type === undefined || type < 2 || type > 5) return false;
  const want = bfdDigest(packet, key);
  const have = packet.subarray(BFD_HEADER_LEN + 8, BFD_HEADER_LEN + 8 + want.length);
  return have.length === want.length && timingSafeEqual(have, want);
}
