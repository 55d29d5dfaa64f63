/**
 * NETCONF over SSH (RFC 6241, RFC 6242): the `netconf` subsystem on port 830 when
 * `system services netconf ssh` is configured (127.0.0.1 unless an address is given),
 * users and keys from `system login`. The datastores are the running configuration and the
 * shared candidate (the one `configure` edits in the CLI), in the XML of notation-xml.ts.
 *
 * Operations: get-config and get (subtree filters), edit-config on the candidate
 * (merge/replace/none, operation attributes, test-option, all-or-nothing), validate,
 * commit (confirmed, with confirm-timeout), discard-changes, lock/unlock (running and
 * candidate), close-session, kill-session; and two Junos RPCs a network engineer reaches
 * for: `<command format="text|json">show ...</command>` and
 * `<load-configuration action="merge|override" format="text|set|json|yaml">`.
 * Errors are `rpc-error`s with the RFC's error-tag, the element path and the reason.
 */
import type { ServerChannel } from 'ssh2';
import { SshServer } from './ssh-server.js';
import type { ConfigTree, OperationalCommand } from '../types.js';
import { CommitError, type CandidateSession, type ConfigStore } from '../config/store.js';
import { CommandSession } from './command-session.js';
import { FramingError, NetconfFramer } from './netconf-framing.js';
import type { LoginUser } from './login.js';
import { child, escapeXml, parseXml, XmlError, type XmlElement } from '../../lib/xml.js';
import { CONFIG_NS, printXml, XmlConfigError, xmlEdits, type XmlEdit } from '../config/notation-xml.js';
import { cloneTree } from '../config/edit.js';
import { applyEdit, BASE_NS, checkErrors, checkNamespaces, RpcError, subtree, unknownNamespace } from './netconf-data.js';
export { BASE_NS, RpcError } from './netconf-data.js';
import { LockedError, type Datastore, type DatastoreLocks, type LockHolder } from '../config/locks.js';
import { hideSecrets, maySeeSecrets } from './secrets.js';
import { isJunosRpc, junosRpc, type JunosSession } from './junos-rpc.js';
import { JUNOS_NS, renderXml, viewForCommand } from './junos-xml.js';
import { YANG_MODULE, YANG_REVISION, yangModule } from '../config/yang.js';
import { cnrVersion } from './system-info.js';

/** RFC 6022: the schemas a client may fetch with get-schema, listed in netconf-state */
const MONITORING_NS = 'urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring';

const BASE10 = 'urn:ietf:params:netconf:base:1.0';
const BASE11 = 'urn:ietf:params:netconf:base:1.1';
export const CAPABILITIES = [
  BASE10,
  BASE11,
  'urn:ietf:params:netconf:capability:candidate:1.0',
  'urn:ietf:params:netconf:capability:confirmed-commit:1.0',
  'urn:ietf:params:netconf:capability:confirmed-commit:1.1',
  'urn:ietf:params:netconf:capability:validate:1.0',
  'urn:ietf:params:netconf:capability:validate:1.1',
  'urn:ietf:params:netconf:capability:rollback-on-error:1.0',
  `${CONFIG_NS}?module=${YANG_MODULE}&revision=${YANG_REVISION}`,
  `${MONITORING_NS}?module=ietf-netconf-monitoring&revision=2010-10-04`,
];

export interface NetconfBackend {
  store: ConfigStore;
  commands: readonly OperationalCommand[];
  log(msg: string): void;
}

/** What the sessions of one server share: the confirmed commit one of them left pending. */
class Shared {
  /** the pending confirmed commit made over NETCONF: its session, and its persist-id if any */
  confirm: { seq: number; sessionId: number; persist?: string } | undefined;
}

let nextSessionId = 1;

/** One NETCONF session: framing, hello, then RPCs in order. */
export class NetconfSession implements LockHolder {
  readonly id = nextSessionId++;
  private readonly framer = new NetconfFramer();
  private helloSeen = false;
  private closed = false;
  private queue: Promise<void> = Promise.resolve();
  private sharedCandidate: CandidateSession;
  /** this session's candidate: the shared one, or its own after Junos open-configuration private */
  candidate: CandidateSession;
  private configSession: CommandSession | undefined;

  constructor(
    private readonly backend: NetconfBackend,
    private readonly shared: Shared,
    readonly user: LoginUser,
    private readonly send: (b: Buffer) => void,
    private readonly end: () => void,
    private readonly sessions: Map<number, NetconfSession>,
  ) {
    this.candidate = this.sharedCandidate = backend.store.session(false);
    sessions.set(this.id, this);
    const caps = CAPABILITIES.map((c) => `<capability>${escapeXml(c)}</capability>`).join('');
    this.send(this.framer.encode(`<?xml version="1.0" encoding="UTF-8"?>\n<hello xmlns="${BASE_NS}"><capabilities>${caps}</capabilities><session-id>${this.id}</session-id></hello>`));
  }

  get lockName(): string {
    return `NETCONF session ${this.id} (${this.user.name})`;
  }

  get lockSessionId(): number {
    return this.id;
  }

  private get locks(): DatastoreLocks {
    return this.backend.store.locks;
  }

  /** Bytes from the client. */
  input(data: Buffer): void {
    if (this.closed) return;
    let msgs: string[];
    try {
      msgs = this.framer.feed(data);
      while (msgs.length) {
        const m = msgs.shift()!;
        if (!this.helloSeen) {
          this.hello(m);
          msgs.push(...this.framer.drain());
        } else this.enqueue(m);
      }
    } catch (e) {
      this.backend.log(`netconf session ${this.id} (${this.user.name}): ${(e as Error).message}; closing`);
      this.close();
    }
  }

  private hello(text: string): void {
    let el: XmlElement;
    try {
      el = parseXml(text);
    } catch (e) {
      throw new FramingError(`unreadable hello: ${(e as Error).message}`);
    }
    if (el.name !== 'hello') throw new FramingError(`expected <hello>, got <${el.name}>`);
    if (child(el, 'session-id')) throw new FramingError('a client hello must not carry a session-id');
    const caps = (child(el, 'capabilities')?.children ?? []).filter((c) => c.name === 'capability').map((c) => c.text.trim());
    if (!caps.includes(BASE10) && !caps.includes(BASE11)) throw new FramingError('the client speaks no NETCONF base version we do');
    this.helloSeen = true;
    this.framer.helloDone(caps.includes(BASE11));
  }

  private enqueue(text: string): void {
    this.queue = this.queue.then(() => this.rpc(text)).catch((e) => this.backend.log(`netconf session ${this.id}: ${(e as Error).message}`));
  }

  private reply(attrs: string, body: string): void {
    if (this.closed) return;
    // Junos's namespace for the junos:style and junos:seconds attributes of its RPC replies
    this.send(this.framer.encode(`<rpc-reply xmlns="${BASE_NS}" xmlns:junos="${JUNOS_NS}"${attrs}>${body}</rpc-reply>`));
  }

  private async rpc(text: string): Promise<void> {
    let el: XmlElement;
    try {
      el = parseXml(text);
    } catch (e) {
      const msg = e instanceof XmlError ? e.message : String(e);
      this.reply('', new RpcError('rpc', 'malformed-message', `not well-formed XML: ${msg}`).toXml());
      return;
    }
    // every attribute of <rpc> comes back on <rpc-reply> (RFC 6241 section 4.2)
    const attrs = Object.entries(el.attrs)
      .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
      .join('');
    try {
      if (el.name !== 'rpc') throw new RpcError('rpc', 'unknown-element', `expected <rpc>, got <${el.name}>`);
      if (el.attrs['message-id'] === undefined) throw new RpcError('rpc', 'missing-attribute', '<rpc> needs a message-id', undefined, '<bad-attribute>message-id</bad-attribute><bad-element>rpc</bad-element>');
      const op = el.children[0];
      if (!op || el.children.length > 1) throw new RpcError('rpc', 'bad-element', '<rpc> holds exactly one operation');
      this.reply(attrs, await this.operation(op));
    } catch (e) {
      if (e instanceof RpcError) this.reply(attrs, e.toXml());
      else this.reply(attrs, new RpcError('application', 'operation-failed', (e as Error).message).toXml());
    }
    if (el.children[0]?.name === 'close-session') this.close();
  }

  private async operation(op: XmlElement): Promise<string> {
    switch (op.name) {
      case 'get-config':
        return this.getConfig(this.datastore(op, 'source'), child(op, 'filter'));
      case 'get':
        return this.get(child(op, 'filter'));
      case 'edit-config':
        return this.editConfig(op);
      case 'validate':
        return this.validate(op);
      case 'commit':
        return this.commit(op);
      case 'cancel-commit':
        return this.cancelCommit(op);
      case 'discard-changes':
        this.mayWrite();
        this.checkLock('candidate');
        this.candidate.reset();
        return '<ok/>';
      case 'lock':
        return this.lock(this.datastore(op, 'target'));
      case 'unlock':
        return this.unlock(this.datastore(op, 'target'));
      case 'close-session':
        return '<ok/>';
      case 'kill-session':
        return this.kill(op);
      case 'command':
        return this.command(op);
      case 'get-schema':
        return this.getSchema(op);
      default:
        if (isJunosRpc(op.name)) return junosRpc(op, this.junos());
        throw new RpcError('protocol', 'operation-not-supported', `operation <${op.name}> is not supported`);
    }
  }

  /** `<validate>` of a datastore, or of an inline `<config>` (a whole configuration). */
  private validate(op: XmlElement): string {
    const inline = child(child(op, 'source') ?? op, 'config');
    if (!inline) {
      const src = this.datastore(op, 'source');
      this.checkTree(src === 'running' ? this.backend.store.running : this.candidate.candidate);
      return '<ok/>';
    }
    const next: ConfigTree = {};
    for (const ed of this.configEdits(inline, 'merge')) applyEdit(next, ed);
    this.checkTree(next);
    return '<ok/>';
  }

  /** The edits of a `<config>` holding one `<configuration>` in cnr's namespace (or none, as Junos tools send). */
  private configEdits(config: XmlElement, dflt: 'merge' | 'replace' | 'none'): XmlEdit[] {
    const confs = config.children.filter((c) => c.name === 'configuration');
    if (confs.length !== 1 || config.children.length !== 1) {
      const other = config.children.find((c) => c.name !== 'configuration');
      if (other?.ns && other.ns !== CONFIG_NS) throw unknownNamespace(other, '/config');
      throw new RpcError('application', 'unknown-element', `<config> holds one <configuration xmlns="${CONFIG_NS}">`, '/config');
    }
    checkNamespaces(confs[0]!, '/configuration');
    try {
      return xmlEdits(confs[0]!, dflt);
    } catch (e) {
      if (e instanceof XmlConfigError) throw new RpcError('application', e.tag, e.reason, e.path);
      throw e;
    }
  }

  private datastore(op: XmlElement, role: 'source' | 'target'): 'running' | 'candidate' {
    const holder = child(op, role);
    const ds = holder?.children[0]?.name;
    if (!holder || !ds) throw new RpcError('protocol', 'missing-element', `<${op.name}> needs <${role}>`, undefined, `<bad-element>${role}</bad-element>`);
    if (ds === 'running' || ds === 'candidate') return ds;
    throw new RpcError('protocol', 'invalid-value', `datastore <${ds}> is not available here (running, candidate)`);
  }

  /** What the Junos RPCs use of this session. */
  private junos(): JunosSession {
    return {
      store: this.backend.store,
      user: this.user,
      candidate: this.candidate,
      config: () => {
        this.configSession ??= new CommandSession(this.backend.store, this.backend.commands, this.user.name, 'netconf', { secrets: maySeeSecrets(this.user.class), holder: this });
        this.configSession.attach(this.candidate);
        return this.configSession;
      },
      operational: () => this.operational(),
      mayWrite: () => this.mayWrite(),
      checkLock: (...stores) => this.checkLock(...stores),
      lock: (ds) => this.lock(ds),
      unlock: (ds) => this.unlock(ds),
      openPrivate: () => {
        if (this.candidate.isPrivate) throw new RpcError('protocol', 'invalid-value', 'this session already has a private candidate');
        this.candidate = this.backend.store.session(true);
      },
      closePrivate: () => {
        this.candidate = this.sharedCandidate;
      },
    };
  }

  private operational(): CommandSession {
    return new CommandSession(this.backend.store, this.backend.commands, this.user.name, 'netconf', { secrets: maySeeSecrets(this.user.class) });
  }

  /**
   * `<get>`: the running configuration and the router's state (interfaces, route summary)
   * as Junos shows them; a subtree filter picks among `<configuration>`,
   * `<interface-information>` and `<route-summary-information>`.
   */
  private async get(filter: XmlElement | undefined): Promise<string> {
    const config = this.getConfig('running', filter).replace(/^<data>\n?|\n?<\/data>$|^<data\/>$/g, '');
    const parts = config ? [config] : [];
    if (!filter || filter.children.some((c) => c.name === 'netconf-state')) parts.push(netconfState());
    for (const [root, rpc] of [
      ['interface-information', 'get-interface-information'],
      ['route-summary-information', 'get-route-summary-information'],
    ] as const) {
      if (filter && !filter.children.some((c) => c.name === root)) continue;
      try {
        parts.push(await junosRpc({ name: rpc, ns: '', attrs: {}, children: [], text: '' }, this.junos()));
      } catch {
        // a controller without a RIB has no such state to show
      }
    }
    return parts.length ? `<data>\n${parts.join('\n')}\n</data>` : '<data/>';
  }

  /** RFC 6022 section 3.1: the YANG module of the configuration, by identifier (and version). */
  private getSchema(op: XmlElement): string {
    const id = child(op, 'identifier')?.text.trim();
    const version = child(op, 'version')?.text.trim();
    const format = child(op, 'format')?.text.trim().replace(/^\w+:/, '');
    if (!id) throw new RpcError('protocol', 'missing-element', '<get-schema> needs <identifier>', undefined, '<bad-element>identifier</bad-element>');
    if (id !== YANG_MODULE || (version && version !== YANG_REVISION)) throw new RpcError('application', 'invalid-value', `no schema ${id}${version ? ` revision ${version}` : ''} here (${YANG_MODULE} ${YANG_REVISION})`);
    if (format && format !== 'yang') throw new RpcError('application', 'invalid-value', `schema format ${format} is not available (yang)`);
    return `<data xmlns="${MONITORING_NS}">${escapeXml(yangModule(undefined, cnrVersion()))}</data>`;
  }

  private mayWrite(): void {
    if (this.user.class !== 'super-user') throw new RpcError('application', 'access-denied', `user ${this.user.name} (class ${this.user.class}) may not change the configuration`);
  }

  /** Another session (NETCONF or CLI) holds a lock that this change would break. */
  private checkLock(...stores: Datastore[]): void {
    try {
      this.locks.mayChange(this, ...stores);
    } catch (e) {
      if (e instanceof LockedError) throw new RpcError('protocol', 'in-use', e.message, undefined, `<session-id>${e.holder.lockSessionId}</session-id>`);
      throw e;
    }
  }

  private getConfig(ds: 'running' | 'candidate', filter: XmlElement | undefined): string {
    let tree = ds === 'running' ? this.backend.store.running : this.candidate.candidate;
    if (!maySeeSecrets(this.user.class)) tree = hideSecrets(tree);
    if (filter) {
      const type = filter.attrs.type ?? 'subtree';
      if (type !== 'subtree') throw new RpcError('protocol', 'bad-attribute', `filter type "${type}" is not supported (subtree)`, undefined, '<bad-attribute>type</bad-attribute><bad-element>filter</bad-element>');
      const conf = filter.children.find((c) => c.name === 'configuration');
      if (filter.children.length === 0) tree = {};
      else if (!conf) return '<data/>'; // selects nothing of ours
      else if (conf.children.length) tree = subtree(tree, conf);
    }
    return `<data>\n${printXml(tree, '  ')}\n</data>`;
  }

  private editConfig(op: XmlElement): string {
    this.mayWrite();
    if (this.datastore(op, 'target') !== 'candidate') throw new RpcError('protocol', 'operation-not-supported', 'edit the candidate and commit it (no :writable-running)');
    this.checkLock('candidate');
    const dflt = child(op, 'default-operation')?.text.trim() ?? 'merge';
    if (dflt !== 'merge' && dflt !== 'replace' && dflt !== 'none') throw new RpcError('protocol', 'invalid-value', `default-operation "${dflt}" is not merge, replace or none`);
    const test = child(op, 'test-option')?.text.trim() ?? 'test-then-set';
    if (!['test-then-set', 'set', 'test-only'].includes(test)) throw new RpcError('protocol', 'invalid-value', `test-option "${test}" is not test-then-set, set or test-only`);
    const config = child(op, 'config');
    if (!config) throw new RpcError('protocol', 'missing-element', '<edit-config> needs <config>', undefined, '<bad-element>config</bad-element>');
    const edits = this.configEdits(config, dflt);
    // all or nothing: every edit on a copy first (rollback-on-error is the only error-option)
    const base = dflt === 'replace' ? {} : this.candidate.candidate;
    const next = cloneTree(base);
    for (const ed of edits) applyEdit(next, ed);
    if (test !== 'set') this.checkTree(next);
    if (test === 'test-only') return '<ok/>';
    if (dflt === 'replace') this.candidate.replace(next);
    else for (const ed of edits) applyEdit(this.candidate.candidate, ed, this.candidate);
    return '<ok/>';
  }

  private checkTree(tree: ConfigTree): void {
    const errors = this.backend.store.validate(tree);
    if (errors.length) throw checkErrors(errors);
  }

  /**
   * commit, and RFC 6241's confirmed commit (8.4, :confirmed-commit:1.1): `<confirmed/>`
   * with `<confirm-timeout>` in seconds (600 by default) rolls back unless confirmed; the
   * confirming commit comes from the same session, or from any session that names the
   * `<persist>` token as `<persist-id>`. Without `<persist>`, the end of the session that
   * made it rolls it back at once.
   */
  private async commit(op: XmlElement): Promise<string> {
    this.mayWrite();
    this.checkLock('running', 'candidate');
    const confirmed = child(op, 'confirmed') !== undefined;
    const persist = child(op, 'persist')?.text.trim();
    const persistId = child(op, 'persist-id')?.text.trim();
    const pending = this.pendingConfirm();
    if (pending) {
      if (pending.persist !== undefined ? persistId !== pending.persist : pending.sessionId !== this.id) {
        const why = pending.persist !== undefined ? 'give its <persist-id>' : `only session ${pending.sessionId} may confirm it`;
        throw new RpcError('protocol', 'invalid-value', `a confirmed commit is pending: ${why}`, undefined, `<session-id>${pending.sessionId}</session-id>`);
      }
    } else if (persistId !== undefined) throw new RpcError('protocol', 'invalid-value', `no confirmed commit is pending for persist-id "${persistId}"`);
    let seconds: number | undefined;
    if (confirmed) {
      const text = child(op, 'confirm-timeout')?.text.trim();
      seconds = text === undefined ? 600 : Number(text);
      if (!/^\d+$/.test(text ?? '600') || seconds < 1 || seconds > 0xffffffff) throw new RpcError('protocol', 'invalid-value', `confirm-timeout "${text}" is not a number of seconds (1..4294967295)`, undefined, '<bad-element>confirm-timeout</bad-element>');
    }
    let seq: number | undefined;
    try {
      const r = await this.backend.store.commit(this.candidate, { user: this.user.name, via: 'netconf', ...(seconds ? { confirmSeconds: seconds } : {}) });
      seq = r.seq;
    } catch (e) {
      // a refused check: one rpc-error per reason, each naming its node
      if (e instanceof CommitError) throw checkErrors(e.errors);
      throw new RpcError('application', 'operation-failed', (e as Error).message.replace(/\n/g, '; '));
    }
    this.shared.confirm = seconds && seq !== undefined ? { seq, sessionId: this.id, ...(persist !== undefined ? { persist } : {}) } : undefined;
    return '<ok/>';
  }

  /** The confirmed commit a NETCONF session left pending, while it is still what runs. */
  private pendingConfirm(): Shared['confirm'] {
    const c = this.shared.confirm;
    if (c && this.backend.store.pendingConfirm()?.seq === c.seq) return c;
    this.shared.confirm = undefined;
    return undefined;
  }

  private async cancelCommit(op: XmlElement): Promise<string> {
    this.mayWrite();
    const persistId = child(op, 'persist-id')?.text.trim();
    const pending = this.pendingConfirm();
    if (!pending) throw new RpcError('application', 'operation-failed', 'no confirmed commit is pending');
    if (pending.persist !== undefined ? persistId !== pending.persist : pending.sessionId !== this.id || persistId !== undefined) {
      throw new RpcError('protocol', 'invalid-value', pending.persist !== undefined ? 'cancel-commit needs the <persist-id> of the pending commit' : `only session ${pending.sessionId} may cancel the pending commit`);
    }
    this.shared.confirm = undefined;
    await this.backend.store.rollbackConfirmed(pending.seq, 'was cancelled (cancel-commit)');
    return '<ok/>';
  }

  /** Read-only users may not lock: a lock is the first step of a change. */
  private lock(ds: Datastore): string {
    this.mayWrite();
    const owner = this.locks.holder(ds);
    if (owner) throw new RpcError('protocol', 'lock-denied', `the ${ds} configuration is already locked by ${owner.lockName}`, undefined, `<session-id>${owner.lockSessionId}</session-id>`);
    if (ds === 'candidate' && this.candidate.modified) {
      throw new RpcError('protocol', 'lock-denied', 'the candidate has changes not committed; commit or discard them first', undefined, '<session-id>0</session-id>');
    }
    this.locks.lock(ds, this);
    return '<ok/>';
  }

  private unlock(ds: Datastore): string {
    if (this.locks.holder(ds) !== this) throw new RpcError('protocol', 'operation-failed', `this session holds no lock on the ${ds} configuration`);
    this.release(ds);
    return '<ok/>';
  }

  /** A candidate lock released without a commit discards the changes made under it (RFC 6241 8.3.5.2). */
  private release(ds: Datastore): void {
    this.locks.unlock(ds, this);
    if (ds === 'candidate') this.candidate.reset();
  }

  private kill(op: XmlElement): string {
    const id = Number(child(op, 'session-id')?.text.trim());
    if (!Number.isInteger(id)) throw new RpcError('protocol', 'missing-element', '<kill-session> needs <session-id>', undefined, '<bad-element>session-id</bad-element>');
    if (id === this.id) throw new RpcError('protocol', 'invalid-value', 'a session cannot kill itself (use close-session)');
    const s = this.sessions.get(id);
    if (!s) throw new RpcError('protocol', 'invalid-value', `no session ${id}`);
    this.mayWrite();
    s.close();
    return '<ok/>';
  }

  private async command(op: XmlElement): Promise<string> {
    const line = op.text.trim();
    const format = op.attrs.format ?? 'xml';
    if (format !== 'text' && format !== 'json' && format !== 'xml') throw new RpcError('protocol', 'bad-attribute', `format "${format}" is not text, xml or json`, undefined, '<bad-attribute>format</bad-attribute><bad-element>command</bad-element>');
    if (!/^show(\s|$)/.test(line) && this.user.class === 'read-only') throw new RpcError('application', 'access-denied', `user ${this.user.name} (class read-only) may only run show commands`);
    if (/^(configure|set|delete|commit|rollback|load)(\s|$)/.test(line)) throw new RpcError('application', 'invalid-value', 'configuration commands go through edit-config/commit or load-configuration');
    const s = this.operational();
    if (/\|\s*display\s+xml\s+rpc\s*$/.test(line)) {
      // which RPC a command is: Junos answers with the <rpc> itself
      const r = await s.run(line);
      if (r.error !== undefined) throw new RpcError('application', 'invalid-value', r.error);
      return `<rpc><${(r.data as { rpc: string }).rpc}/></rpc>`;
    }
    const r = await s.run(format === 'json' ? `${line} | display json` : line);
    if (r.error !== undefined) throw new RpcError('application', 'invalid-value', r.error);
    if (format === 'xml') {
      // as Junos: the command's RPC reply when it has one, else its text in <output>
      const view = /\|/.test(line) ? undefined : viewForCommand(line.split(/\s+/));
      if (view) return renderXml(view.render(r.data));
      return `<output>${escapeXml(r.text)}</output>`;
    }
    // JSON is the reply's own text, as Junos sends it (Ansible reads it there)
    if (format === 'json') return escapeXml(JSON.stringify(r.data ?? r.text));
    return `<output>${escapeXml(r.text)}</output>`;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ds of ['running', 'candidate'] as const) if (this.locks.holder(ds) === this) this.release(ds);
    // RFC 6241 8.4.1: the end of the session that made a confirmed commit without <persist> rolls it back
    const pending = this.pendingConfirm();
    if (pending && pending.sessionId === this.id && pending.persist === undefined) {
      this.shared.confirm = undefined;
      this.backend.log(`netconf session ${this.id} (${this.user.name}) ended with its confirmed commit ${pending.seq} unconfirmed`);
      void this.backend.store.rollbackConfirmed(pending.seq, 'was not confirmed before its NETCONF session ended');
    }
    this.sessions.delete(this.id);
    this.end();
  }
}

/** The SSH server offering the netconf subsystem. */
/** ietf-netconf-monitoring's `schemas`: the one module a client can fetch. */
function netconfState(): string {
  return `<netconf-state xmlns="${MONITORING_NS}"><schemas><schema><identifier>${YANG_MODULE}</identifier><version>${YANG_REVISION}</version><format>yang</format><namespace>${CONFIG_NS}</namespace><location>NETCONF</location></schema></schemas></netconf-state>`;
}

export class NetconfServer {
  private readonly ssh: SshServer;
  private readonly shared = new Shared();
  readonly sessions = new Map<number, NetconfSession>();

  constructor(
    private readonly backend: NetconfBackend,
    hostKeyPath: string,
  ) {
    this.ssh = new SshServer({
      name: 'netconf',
      hostKeyPath,
      running: () => backend.store.running,
      log: backend.log,
      channels: {
        subsystem: (name, accept, user) => {
          if (name !== 'netconf') return false;
          this.subsystem(accept(), user);
          return true;
        },
      },
    });
  }

  /** Listen on (address, port), or stop when `want` is undefined; rebinds when it changed. */
  async set(want: { address: string; port: number } | undefined): Promise<void> {
    if (!want) for (const s of [...this.sessions.values()]) s.close();
    await this.ssh.set(want);
  }

  address(): { address: string; port: number } | undefined {
    return this.ssh.address();
  }

  private subsystem(ch: ServerChannel, user: LoginUser): void {
    const s = new NetconfSession(
      this.backend,
      this.shared,
      user,
      (b) => ch.write(b),
      () => {
        ch.exit(0);
        ch.end();
      },
      this.sessions,
    );
    ch.on('data', (d: Buffer) => s.input(d));
    ch.on('close', () => s.close());
    ch.on('error', () => s.close());
  }

  async close(): Promise<void> {
    for (const s of [...this.sessions.values()]) s.close();
    await this.ssh.close();
  }
}
