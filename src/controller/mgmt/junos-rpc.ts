/**
 * The Junos RPCs that PyEZ, Ansible's junipernetworks.junos and other Junos tools send
 * over NETCONF: get-configuration, load-configuration, commit-configuration,
 * lock/unlock-configuration, open/close-configuration, get-rollback-information, and the
 * operational RPCs of junos-xml.ts (get-route-information, get-software-information, ...).
 *
 * They are a translation, not a second implementation: configuration changes run as the
 * CLI's commands (`commit confirmed N comment "..."`, `rollback N`, `show | compare`) in a
 * CommandSession attached to the NETCONF session's candidate, loads go through the
 * candidate's own `load`, and operational RPCs run the cnr command the view table names
 * and render its data. Locks, secrets and permissions are therefore the CLI's.
 */
import type { ConfigStore, CandidateSession } from '../config/store.js';
import type { ConfigTree } from '../types.js';
import type { Datastore } from '../config/locks.js';
import type { LoginUser } from './login.js';
import type { CommandSession } from './command-session.js';
import { showTree } from './command-session.js';
import { child, escapeXml, type XmlElement } from '../../lib/xml.js';
import { printXml, XmlConfigError, xmlEdits, type XmlEdit } from '../config/notation-xml.js';
import { applyDelete, cloneTree } from '../config/edit.js';
import { parseConfig, type Notation } from '../config/notation.js';
import { quote } from '../config/tokens.js';
import { compareTrees } from '../config/compare.js';
import { applyEdit, checkErrors, checkNamespaces, RpcError, subtree } from './netconf-data.js';
import { hideSecrets, maySeeSecrets } from './secrets.js';
import { renderXml, viewForRpc } from './junos-xml.js';

/** What a Junos RPC needs of the NETCONF session that received it. */
export interface JunosSession {
  readonly store: ConfigStore;
  readonly user: LoginUser;
  /** the session's candidate: the shared one, or its own after open-configuration private */
  readonly candidate: CandidateSession;
  /** configuration mode on that candidate, its changes counted under the session's locks */
  config(): CommandSession;
  /** an operational-mode session with the user's permissions */
  operational(): CommandSession;
  mayWrite(): void;
  checkLock(...stores: Datastore[]): void;
  lock(ds: Datastore): string;
  unlock(ds: Datastore): string;
  openPrivate(): void;
  closePrivate(): void;
}

const JUNOS_CONFIG_RPCS = new Set([
  'file-list',
  'file-show',
  'get-configuration',
  'load-configuration',
  'commit-configuration',
  'lock-configuration',
  'unlock-configuration',
  'open-configuration',
  'close-configuration',
  'get-rollback-information',
]);

/** Whether `name` is a Junos RPC this module answers. */
export function isJunosRpc(name: string): boolean {
  return JUNOS_CONFIG_RPCS.has(name) || viewForRpc(name) !== undefined;
}

export async function junosRpc(op: XmlElement, s: JunosSession): Promise<string> {
  switch (op.name) {
    case 'get-configuration':
      return getConfiguration(op, s);
    case 'load-configuration':
      return loadConfiguration(op, s);
    case 'commit-configuration':
      return commitConfiguration(op, s);
    case 'lock-configuration':
      return s.lock('candidate');
    case 'unlock-configuration':
      return s.unlock('candidate');
    case 'open-configuration':
      if (!child(op, 'private')) throw new RpcError('protocol', 'bad-element', 'open-configuration: only <private/> is supported (the shared candidate needs no opening)', undefined, '<bad-element>open-configuration</bad-element>');
      s.openPrivate();
      return '<ok/>';
    case 'close-configuration':
      s.closePrivate();
      return '<ok/>';
    case 'get-rollback-information':
      return rollbackInformation(op, s);
    case 'file-list':
    case 'file-show':
      // the truth for a software router: no user file system behind the management API
      // (PyEZ's fact gathering carries on without HOME)
      throw new RpcError('application', 'operation-not-supported', `${op.name}: cnr keeps no user files to list or show over NETCONF`);
    default:
      return operationalRpc(op, s);
  }
}

/** A command's failure as NETCONF reports it: a lock is `in-use`, a refused check names its nodes. */
function commandError(error: string): RpcError {
  if (/ is locked by /.test(error)) return new RpcError('protocol', 'in-use', error);
  const lines = error
    .split('\n')
    .map((l) => l.replace(/^error: /, ''))
    .filter((l) => l !== '' && !/^(configuration check-out failed|commit failed)/.test(l));
  return lines.length ? checkErrors(lines) : new RpcError('application', 'operation-failed', error);
}

async function run(cs: CommandSession, line: string): Promise<{ text: string; data?: unknown }> {
  const r = await cs.run(line);
  if (r.error !== undefined) throw commandError(r.error);
  return r;
}

function shown(s: JunosSession, tree: ConfigTree): ConfigTree {
  return maySeeSecrets(s.user.class) ? tree : hideSecrets(tree);
}

const configOutput = (text: string) => `<configuration-information><configuration-output>${escapeXml(`\n${text}`.replace(/^\n\n/, '\n'))}</configuration-output></configuration-information>`;

function rollbackNumber(v: string | undefined, what: string): number {
  const n = Number(v ?? '0');
  if (!/^\d+$/.test(v ?? '0')) throw new RpcError('protocol', 'invalid-value', `${what} "${v}" is not a rollback number`);
  return n;
}

/** A configuration in the format a Junos RPC asked for. */
function formatted(tree: ConfigTree, format: string, textElement: string): string {
  switch (format) {
    case 'xml':
      return printXml(tree);
    case 'text':
      return `<${textElement}>${escapeXml(showTree(tree, [], { format: 'text', inheritance: false }).text)}</${textElement}>`;
    case 'set':
      return `<configuration-set>${escapeXml(showTree(tree, [], { format: 'set', inheritance: false }).text)}</configuration-set>`;
    case 'json':
      return escapeXml(JSON.stringify({ configuration: tree }, null, 2));
    default:
      throw new RpcError('protocol', 'bad-attribute', `format "${format}" is not xml, text, set or json`, undefined, '<bad-attribute>format</bad-attribute>');
  }
}

/** `<get-configuration database="committed|candidate" format="xml|text|set|json" compare="rollback" rollback="N">` */
async function getConfiguration(op: XmlElement, s: JunosSession): Promise<string> {
  if (op.attrs.compare !== undefined) {
    if (op.attrs.compare !== 'rollback') throw new RpcError('protocol', 'bad-attribute', `compare "${op.attrs.compare}" is not rollback`, undefined, '<bad-attribute>compare</bad-attribute>');
    const n = rollbackNumber(op.attrs.rollback, 'rollback');
    return configOutput((await run(s.config(), `show | compare rollback ${n}`)).text);
  }
  const db = op.attrs.database ?? 'candidate';
  if (db !== 'candidate' && db !== 'committed') throw new RpcError('protocol', 'bad-attribute', `database "${db}" is not candidate or committed`, undefined, '<bad-attribute>database</bad-attribute>');
  let tree = shown(s, db === 'committed' ? s.store.running : s.candidate.candidate);
  const filter = child(op, 'configuration');
  if (filter?.children.length) tree = subtree(tree, filter);
  return formatted(tree, op.attrs.format ?? 'xml', 'configuration-text');
}

/**
 * Junos `replace:` tags in curly text: the tagged statements replace what the candidate
 * holds at their place instead of merging into it. Returns the text without the tags and
 * the statement paths to clear first.
 */
export function replaceTags(text: string): { text: string; replaced: string[][] } {
  const path: string[][] = [];
  const replaced: string[][] = [];
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const tagged = /^\s*replace:\s*/.exec(raw);
    const line = tagged ? raw.replace(/replace:\s*/, '') : raw;
    out.push(line);
    const code = line.replace(/#.*$|\/\*.*?\*\//g, '').trim();
    const words = code.replace(/[{};]/g, ' ').trim().split(/\s+/).filter(Boolean);
    if (tagged && words.length) replaced.push([...path.flat(), ...words]);
    if (code.endsWith('{')) path.push(words);
    for (const _ of code.match(/}/g) ?? []) path.pop();
  }
  return { text: out.join('\n'), replaced };
}

/** Junos's XML attributes `replace="replace"` and `delete="delete"` as NETCONF operations. */
function junosAttributes(el: XmlElement): XmlElement {
  const attrs = { ...el.attrs };
  if (attrs.replace === 'replace') attrs.operation = 'replace';
  if (attrs.delete === 'delete') attrs.operation = 'delete';
  delete attrs.replace;
  delete attrs.delete;
  return { ...el, attrs, children: el.children.map(junosAttributes) };
}

const ACTIONS = ['merge', 'replace', 'override', 'update', 'set'];

/**
 * `<load-configuration action="merge|replace|override|update|set" format="text|set|xml|json">`
 * with `<configuration-text>`, `<configuration-set>`, `<configuration-json>` or
 * `<configuration>`; or `rollback="N"`. All or nothing: a bad line leaves the candidate as it was.
 */
async function loadConfiguration(op: XmlElement, s: JunosSession): Promise<string> {
  s.mayWrite();
  s.checkLock('candidate');
  const ok = '<load-configuration-results><load-success/><ok/></load-configuration-results>';
  if (op.attrs.rollback !== undefined) {
    await run(s.config(), `rollback ${rollbackNumber(op.attrs.rollback, 'rollback')}`);
    return ok;
  }
  if (op.attrs.url !== undefined) throw new RpcError('protocol', 'bad-attribute', 'load-configuration url: cnr loads only what the RPC carries', undefined, '<bad-attribute>url</bad-attribute>');
  const action = op.attrs.action ?? 'merge';
  if (!ACTIONS.includes(action)) throw new RpcError('protocol', 'bad-attribute', `action "${action}" is not ${ACTIONS.join(', ')}`, undefined, '<bad-attribute>action</bad-attribute><bad-element>load-configuration</bad-element>');
  const override = action === 'override' || action === 'update';
  const base = override ? {} : cloneTree(s.candidate.candidate);
  let next: ConfigTree;
  const xml = child(op, 'configuration');
  if (xml) {
    checkNamespaces(xml, '/configuration');
    let edits: XmlEdit[];
    try {
      edits = xmlEdits(action === 'replace' ? junosAttributes(xml) : xml);
    } catch (e) {
      if (e instanceof XmlConfigError) throw new RpcError('application', e.tag, e.reason, e.path);
      throw e;
    }
    for (const ed of edits) applyEdit(base, ed);
    next = base;
  } else {
    const setText = child(op, 'configuration-set');
    const jsonText = child(op, 'configuration-json');
    const curly = child(op, 'configuration-text');
    const holder = setText ?? jsonText ?? curly;
    if (!holder) throw new RpcError('protocol', 'missing-element', 'load-configuration needs <configuration>, <configuration-text>, <configuration-set> or <configuration-json>', undefined, '<bad-element>load-configuration</bad-element>');
    // the element says what it holds (PyEZ sends set lines as format="text" in <configuration-set>)
    const notation: Notation = setText || action === 'set' ? 'set' : jsonText || op.attrs.format === 'json' ? 'json' : 'text';
    let text = holder.text;
    try {
      if (notation === 'json') {
        const parsed = JSON.parse(text) as { configuration?: unknown };
        // Junos JSON wraps the tree in {"configuration": ...}
        if (parsed && typeof parsed === 'object' && 'configuration' in parsed && Object.keys(parsed).length === 1) text = JSON.stringify(parsed.configuration);
      } else if (notation === 'text' && action === 'replace') {
        const tags = replaceTags(text);
        text = tags.text;
        for (const words of tags.replaced) applyDelete(base, words);
      }
      next = parseConfig(text, notation, base);
    } catch (e) {
      throw new RpcError('application', 'invalid-value', (e as Error).message);
    }
  }
  s.candidate.replace(next);
  return ok;
}

/** `<commit-configuration>`: check, confirmed with confirm-timeout (minutes, as Junos), log; synchronize has one routing engine to reach. */
async function commitConfiguration(op: XmlElement, s: JunosSession): Promise<string> {
  s.mayWrite();
  const words = ['commit'];
  const check = child(op, 'check') !== undefined;
  if (check) words.push('check');
  if (child(op, 'confirmed')) {
    words.push('confirmed');
    const t = child(op, 'confirm-timeout')?.text.trim();
    if (t !== undefined) {
      if (!/^\d+$/.test(t)) throw new RpcError('protocol', 'invalid-value', `confirm-timeout "${t}" is not a number of minutes`, undefined, '<bad-element>confirm-timeout</bad-element>');
      words.push(t);
    }
  }
  const log = child(op, 'log')?.text;
  if (log !== undefined && log.trim() !== '') words.push('comment', quote(log));
  await run(s.config(), words.join(' '));
  const result = check ? '<commit-check-success/>' : '<commit-success/>';
  return `<commit-results><routing-engine junos:style="normal"><name>re0</name>${result}</routing-engine></commit-results>`;
}

/** `<get-rollback-information><rollback>N</rollback>[<compare>M</compare>][<format>]`: commit N, or the changes from N to M. */
async function rollbackInformation(op: XmlElement, s: JunosSession): Promise<string> {
  const n = rollbackNumber(child(op, 'rollback')?.text.trim(), 'rollback');
  const cmp = child(op, 'compare')?.text.trim();
  const tree = (k: number) => {
    try {
      return shown(s, s.store.rollbackTree(k));
    } catch (e) {
      throw new RpcError('application', 'invalid-value', (e as Error).message);
    }
  };
  if (cmp !== undefined) {
    const m = rollbackNumber(cmp, 'compare');
    return `<rollback-information>${configOutput(compareTrees(tree(n), tree(m)))}</rollback-information>`;
  }
  const format = child(op, 'format')?.text.trim() ?? 'text';
  const body = format === 'xml' ? printXml(tree(n)) : format === 'text' || format === 'set' ? configOutput(showTree(tree(n), [], { format, inheritance: false }).text) : formatted(tree(n), format, 'configuration-text');
  return `<rollback-information><load-success/>${body}</rollback-information>`;
}

/** An operational RPC: the command its view names, its data rendered as Junos does. */
async function operationalRpc(op: XmlElement, s: JunosSession): Promise<string> {
  const view = viewForRpc(op.name);
  if (!view) throw new RpcError('protocol', 'operation-not-supported', `operation <${op.name}> is not supported`);
  const words = [...view.command, ...(view.args?.(op) ?? [])];
  const r = await s.operational().run(words.map((w) => quote(w)).join(' '));
  if (r.error !== undefined) throw new RpcError('application', 'invalid-value', r.error);
  const data = view.filter ? view.filter(r.data, op) : r.data;
  return renderXml(view.render(data));
}
