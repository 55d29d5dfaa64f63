/**
 * Who may log in over SSH (NETCONF): the users of `system login user NAME`, by password
 * (`authentication encrypted-password`, a crypt(3) hash checked with libcrypt through
 * koffi, src/sys/libc.ts) or by public key (`ssh-ed25519` / `ssh-rsa`, unless `no-public-keys`). No user
 * configured means nobody logs in. Passwords and hashes never reach a log line.
 */
import { timingSafeEqual } from 'node:crypto';
import ssh2, { type ParsedKey } from 'ssh2';
import type { ConfigTree } from '../types.js';
import { leafString, subtree, subtreeAt } from '../config/tree.js';
import { crypt } from '../../sys/libc.js';

export { crypt };

export type LoginClass = 'super-user' | 'operator' | 'read-only';

export interface LoginUser {
  name: string;
  class: LoginClass;
  passwordHash?: string;
  keys: ParsedKey[];
}

/** The login users of a configuration (keys that do not parse are left out). */
export function loginUsers(config: ConfigTree): Map<string, LoginUser> {
  const out = new Map<string, LoginUser>();
  const users = subtree(subtreeAt(config, 'system', 'login', 'user'));
  for (const [name, v] of Object.entries(users)) {
    const u = subtree(v);
    const auth = subtree(u.authentication);
    const user: LoginUser = { name, class: (leafString(u.class) ?? 'super-user') as LoginClass, keys: [] };
    if (typeof auth['encrypted-password'] === 'string') user.passwordHash = auth['encrypted-password'];
    if (auth['no-public-keys'] !== true) {
      for (const text of [auth['ssh-ed25519'], auth['ssh-rsa']].flat()) {
        if (typeof text !== 'string') continue;
        const k = ssh2.utils.parseKey(text);
        if (!(k instanceof Error)) user.keys.push(Array.isArray(k) ? k[0]! : k);
      }
    }
    out.set(name, user);
  }
  return out;
}

export function checkPassword(user: LoginUser, password: string): boolean {
  const hash = user.passwordHash;
  if (!hash?.startsWith('$')) return false; // no password, or a locked/disabled one
  const got = crypt(password, hash);
  if (!got || got.startsWith('*')) return false;
  const a = Buffer.from(got);
  const b = Buffer.from(hash);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The configured key matching the one offered, if any. */
export function matchingKey(user: LoginUser, algo: string, data: Buffer): ParsedKey | undefined {
  return user.keys.find((k) => k.type === algo && k.getPublicSSH().equals(data));
}
