/**
 * Secrets in the configuration (leaves the schema marks `secret`: `encrypted-password`,
 * BGP `authentication-key`) are shown only to users whose class has the secret
 * permission (super-user, as on Junos); everyone else reads `/* SECRET-DATA *\/` in their
 * place, in every notation and over every adapter.
 */
import type { ConfigTree, ConfigValue } from '../types.js';
import { schema, type ContainerNode, type ListNode } from '../config/schema/index.js';
import { isTree } from '../config/tree.js';
import type { LoginClass } from './login.js';

export const SECRET_DATA = '/* SECRET-DATA */';

/** Whether a login class may read secrets (Junos: the `secret` permission). */
export function maySeeSecrets(cls: LoginClass | string): boolean {
  return cls === 'super-user';
}

/** A copy of `tree` with every secret leaf's value replaced; subtrees without secrets are shared. */
export function hideSecrets(tree: ConfigTree, node: ContainerNode | ListNode = schema): ConfigTree {
  let out: ConfigTree | undefined;
  for (const [k, v] of Object.entries(tree)) {
    const sn = node.children[k];
    let nv: ConfigValue = v;
    if (!sn) continue;
    if (sn.kind === 'leaf' && sn.secret) nv = SECRET_DATA;
    else if (sn.kind === 'container' && isTree(v)) nv = hideSecrets(v, sn);
    else if (sn.kind === 'list' && isTree(v)) {
      let entries: ConfigTree | undefined;
      for (const [key, e] of Object.entries(v)) {
        if (!isTree(e)) continue;
        const he = hideSecrets(e, sn);
        if (he !== e) (entries ??= { ...v })[key] = he;
      }
      nv = entries ?? v;
    }
    if (nv !== v) (out ??= { ...tree })[k] = nv;
  }
  return out ?? tree;
}

