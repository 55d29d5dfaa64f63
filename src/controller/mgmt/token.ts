/**
 * The management API's bearer token: 32 random bytes in `<stateDir>/mgmt.token`, mode 0600,
 * made at the first start. Whoever can read it (root, or the pod's own containers) may
 * manage the router. It is compared in constant time and never logged.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function tokenPath(stateDir: string): string {
  return join(stateDir, 'mgmt.token');
}

export function socketPath(stateDir: string): string {
  return join(stateDir, 'mgmt.sock');
}

/** Read the token, creating it on first use (race-safe: `wx` then read). */
export function ensureToken(stateDir: string): string {
  const p = tokenPath(stateDir);
  try {
    writeFileSync(p, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  chmodSync(p, 0o600);
  return readToken(stateDir);
}

export function readToken(stateDir: string): string {
  const t = readFileSync(tokenPath(stateDir), 'utf8').trim();
  if (!t) throw new Error(`${tokenPath(stateDir)} is empty`);
  return t;
}

/** Does an `Authorization` header carry this token? Constant time in the token. */
export function authorized(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const a = createHash('sha256').update(m[1]!).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}
