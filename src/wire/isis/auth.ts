/**
 * PDU authentication (TLV 10): ISO 10589 cleartext passwords and HMAC-MD5 (RFC 5304). The
 * digest covers the whole PDU with the digest field zeroed — and, for an LSP, with the
 * checksum and Remaining Lifetime zeroed too, since both change without the LSP changing
 * (RFC 5304 section 2). Checking needs the configured key, so it is a separate step after
 * decoding, on the PDU's bytes.
 */
import { createRequire } from 'node:module';
import { IsisError } from './errors.js';
import { AuthType, HMAC_MD5_LEN, TlvCode } from './tlv.js';

/**
 * node:crypto loaded on the first digest, not at start: only an authenticated level needs it,
 * and loading it costs an IS-IS process ~2 MB of RSS (OpenSSL's initialisation).
 */
let cryptoModule: typeof import('node:crypto') | undefined;
const nodeCrypto = (): typeof import('node:crypto') => (cryptoModule ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto'));

/** LSP PDU types: their digest also leaves out the checksum and lifetime. */
const L1_LSP = 18;
const L2_LSP = 20;

export type AuthKey = { readonly kind: 'cleartext'; readonly password: Uint8Array | string } | { readonly kind: 'hmac-md5'; readonly key: Uint8Array | string };

/** HMAC-MD5 of a PDU whose 16-byte digest sits at `digestAt`. */
export function hmacMd5(pdu: Uint8Array, digestAt: number, isLsp: boolean, key: Uint8Array | string): Uint8Array {
  const copy = pdu.slice();
  copy.fill(0, digestAt, digestAt + HMAC_MD5_LEN);
  if (isLsp) {
    copy[10] = copy[11] = 0;
    copy[24] = copy[25] = 0;
  }
  return new Uint8Array(nodeCrypto().createHmac('md5', key).update(copy).digest());
}

/** Where the first authentication TLV's value starts (its type byte), or -1. */
export function findAuthTlv(pdu: Uint8Array): number {
  if (pdu.length < 8) return -1;
  let p = pdu[1]!;
  while (p + 2 <= pdu.length) {
    const code = pdu[p]!;
    const len = pdu[p + 1]!;
    if (p + 2 + len > pdu.length) return -1;
    if (code === TlvCode.Authentication && len >= 1) return p + 2;
    p += 2 + len;
  }
  return -1;
}

function bytesOf(k: Uint8Array | string): Uint8Array {
  return typeof k === 'string' ? new TextEncoder().encode(k) : k;
}

/**
 * Check a decoded PDU's bytes (exactly PDU Length long) against the configured key; true, or
 * an IsisError saying why not (missing TLV, other type, wrong password or digest).
 */
export function checkAuthentication(pdu: Uint8Array, key: AuthKey, pduName = 'pdu'): true | IsisError {
  const at = findAuthTlv(pdu);
  if (at < 0) return new IsisError(pduName, 'bad_authentication', 'no authentication TLV', 0, TlvCode.Authentication);
  const len = pdu[at - 1]!;
  const type = pdu[at]!;
  if (key.kind === 'cleartext') {
    if (type !== AuthType.Cleartext) return new IsisError(pduName, 'bad_authentication', `authentication type ${type}, want cleartext`, at, TlvCode.Authentication);
    const want = bytesOf(key.password);
    const got = pdu.subarray(at + 1, at + len);
    if (got.length !== want.length || !nodeCrypto().timingSafeEqual(got, want)) return new IsisError(pduName, 'bad_authentication', 'password does not match', at, TlvCode.Authentication);
    return true;
  }
  if (type !== AuthType.HmacMd5 || len !== 1 + HMAC_MD5_LEN) return new IsisError(pduName, 'bad_authentication', `authentication type ${type}, want HMAC-MD5`, at, TlvCode.Authentication);
  const pduType = pdu[4]! & 0x1f;
  const digest = hmacMd5(pdu, at + 1, pduType === L1_LSP || pduType === L2_LSP, key.key);
  if (!nodeCrypto().timingSafeEqual(digest, pdu.subarray(at + 1, at + 1 + HMAC_MD5_LEN))) return new IsisError(pduName, 'bad_authentication', 'HMAC-MD5 digest does not match', at + 1, TlvCode.Authentication);
  return true;
}
