/**
 * NETCONF's side of the configuration, shared by the RFC 6241 operations (netconf.ts) and
 * the Junos RPCs (junos-rpc.ts): the `rpc-error` with its tag, path and info; check
 * errors with the offending node's path; namespaces checked; XML edits applied all or
 * nothing; subtree filters (RFC 6241 section 6).
 */
import type { ConfigTree } from '../types.js';
import type { CandidateSession } from '../config/store.js';
import { child, escapeXml, type XmlElement } from '../../lib/xml.js';
import { CONFIG_NS, KEY_ELEMENT, type XmlEdit } from '../config/notation-xml.js';
import { applyDelete, applySet, cloneTree, getAt } from '../config/edit.js';
import { schema, type ContainerNode, type ListNode, type SchemaNode } from '../config/schema/index.js';

export const BASE_NS = 'urn:ietf:params:xml:ns:netconf:base:1.0';

type ErrorType = 'transport' | 'rpc' | 'protocol' | 'application';

/** One `rpc-error`. */
export class RpcError extends Error {
  constructor(
    readonly type: ErrorType,
    readonly tag: string,
    message: string,
    readonly path?: string,
    readonly info?: string,
    /** further errors of the same reply (a commit refused for several reasons) */
    readonly more: RpcError[] = [],
  ) {
    super(message);
  }

  toXml(): string {
    return [this, ...this.more].map((e) => e.oneXml()).join('');
  }

  private oneXml(): string {
    const parts = [`<error-type>${this.type}</error-type>`, `<error-tag>${this.tag}</error-tag>`, '<error-severity>error</error-severity>'];
    if (this.path) parts.push(`<error-path>${escapeXml(this.path)}</error-path>`);
    parts.push(`<error-message xml:lang="en">${escapeXml(this.message)}</error-message>`);
    if (this.info) parts.push(`<error-info>${this.info}</error-info>`);
    return `<rpc-error>${parts.join('')}</rpc-error>`;
  }
}


/**
 * The errors of a configuration check, one `rpc-error` each, with the offending node in
 * `error-path` when the message starts with its statement path (`routing-options static
 * route 10.0.0.0/8: ...`, or a consumer's `bgp: protocols bgp group g: ...`).
 */
export function checkErrors(errors: string[]): RpcError {
  const all = errors.map((msg) => {
    const m = /^(?:[\w-]+: )?(.+?): /.exec(msg);
    const path = m ? xpathOf(m[1]!.trim().split(/\s+/)) : undefined;
    return new RpcError('application', 'operation-failed', msg, path);
  });
  return new RpcError(all[0]!.type, all[0]!.tag, all[0]!.message, all[0]!.path, undefined, all.slice(1));
}

/** `interfaces eth1 unit 0` → /configuration/interfaces[name='eth1']/unit[name='0'], or undefined. */
export function xpathOf(words: string[]): string | undefined {
  let node: ContainerNode | ListNode = schema;
  let path = '/configuration';
  for (let i = 0; i < words.length; i++) {
    const sn: SchemaNode | undefined = node.children[words[i]!];
    if (!sn) return undefined;
    if (sn.kind === 'list') {
      const key = words[i + 1];
      path += key === undefined ? `/${words[i]}` : `/${words[i]}[${KEY_ELEMENT}='${key.replace(/'/g, '')}']`;
      i++;
      node = sn;
    } else if (sn.kind === 'container') {
      path += `/${words[i]}`;
      node = sn;
    } else return i >= words.length - 2 ? `${path}/${words[i]}` : undefined;
  }
  return path;
}

/** RFC 6241 `unknown-namespace`: an element in a namespace this server does not know. */
export function unknownNamespace(el: XmlElement, path: string): RpcError {
  return new RpcError('application', 'unknown-namespace', `<${el.name}> is in namespace "${el.ns}", not ${CONFIG_NS}`, path, `<bad-element>${escapeXml(el.name)}</bad-element><bad-namespace>${escapeXml(el.ns)}</bad-namespace>`);
}

/**
 * Every element of a configuration is in cnr's namespace, or in none of its own (Junos tools
 * send `<configuration>` without one); anything else is refused, not silently taken as ours.
 */
export function checkNamespaces(el: XmlElement, path: string): void {
  if (el.ns !== '' && el.ns !== CONFIG_NS && el.ns !== BASE_NS) throw unknownNamespace(el, path);
  for (const c of el.children) checkNamespaces(c, `${path}/${c.name}`);
}

/** One edit on a tree, or through a candidate session, with NETCONF's error for what it refuses. */
export function applyEdit(tree: ConfigTree, ed: XmlEdit, session?: CandidateSession): void {
  try {
    if (ed.kind === 'absent') {
      if (getAt(tree, ed.words) !== undefined) throw new RpcError('application', 'data-exists', `${ed.words.join(' ')} already exists`, ed.path);
    } else if (ed.kind === 'delete') {
      const found = session ? session.delete(ed.words) : applyDelete(tree, ed.words);
      if (!found && !ed.missingOk) throw new RpcError('application', 'data-missing', `${ed.words.join(' ')} is not configured`, ed.path);
    } else if (session) session.set(ed.words);
    else applySet(tree, ed.words);
  } catch (e) {
    if (e instanceof RpcError) throw e;
    throw new RpcError('application', 'invalid-value', (e as Error).message, ed.path);
  }
}

/**
 * Subtree filtering (RFC 6241 section 6) over the schema: an empty element selects its
 * whole subtree, an element with children narrows further, a list element's `<name>`
 * picks one entry, a leaf with a value matches content.
 */
export function subtree(tree: ConfigTree, filter: XmlElement, node: ContainerNode | ListNode = schema): ConfigTree {
  const out: ConfigTree = {};
  for (const f of filter.children) {
    const sn = node.children[f.name];
    const v = tree[f.name];
    if (!sn || v === undefined) continue;
    if (sn.kind === 'container') {
      if (f.children.length === 0 || typeof v !== 'object' || Array.isArray(v)) out[f.name] = cloneTree(v);
      else {
        const sub = subtree(v, f, sn);
        if (Object.keys(sub).length) out[f.name] = sub;
      }
    } else if (sn.kind === 'list') {
      if (typeof v !== 'object' || Array.isArray(v)) continue;
      const key = child(f, KEY_ELEMENT)?.text.trim();
      const rest = { ...f, children: f.children.filter((c) => c.name !== KEY_ELEMENT) };
      const entries: ConfigTree = (out[f.name] as ConfigTree | undefined) ?? {};
      for (const [k, e] of Object.entries(v)) {
        if (key !== undefined && key !== k) continue;
        if (rest.children.length === 0 || typeof e !== 'object' || Array.isArray(e) || e === null) entries[k] = cloneTree(e);
        else {
          const sub = subtree(e, rest, sn);
          if (Object.keys(sub).length) entries[k] = sub;
        }
      }
      if (Object.keys(entries).length) out[f.name] = entries;
    } else {
      const want = f.text.trim();
      if (want === '' || (Array.isArray(v) ? v.includes(want) : String(v) === want)) out[f.name] = cloneTree(v);
    }
  }
  return out;
}
