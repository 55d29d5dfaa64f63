/**
 * The one management operation: run CLI commands as a script. Every adapter (the `cnr cli`
 * shell, REST, gRPC, NETCONF's <command>) calls Controller.exec or runs a CommandSession:
 * operational mode (`show ...` and the commands subsystems registered), `configure
 * [private|exclusive]` (exclusive: for a terminal session that lasts, SessionAccess.terminal),
 * then configuration mode (`set`, `delete`, `edit`, `show`, `show | compare`,
 * `commit ...`, `rollback N`, `load`, `run`, `exit`). Output filters after `|`:
 * `display set|json|inheritance`, `compare [rollback N]`, `match RE`, `except RE`, `count`.
 * The first failing command ends the script.
 */
import type { CommandResult, ConfigTree, ConfigValue, OperationalCommand } from '../types.js';
import { getAt, resolve } from '../config/edit.js';
import { expandGroups } from '../config/inheritance.js';
import { block, curlyLines, printCurly } from '../config/notation-curly.js';
import { printSet } from '../config/notation-set.js';
import { NOTATIONS, type Notation } from '../config/notation.js';
import { schema, type ContainerNode, type ListNode } from '../config/schema/index.js';
import type { CandidateSession, ConfigStore } from '../config/store.js';
import { compareTrees } from '../config/compare.js';
import { quote, splitPipes, splitWords, type Word } from '../config/tokens.js';
import { isTree, subtree } from '../config/tree.js';
import type { LockHolder } from '../config/locks.js';
import { hideSecrets } from './secrets.js';
import { systemCommands } from './system-info.js';
import { displayXml, JUNOS_NS, renderXml, viewForCommand } from './junos-xml.js';
import { printXml } from '../config/notation-xml.js';
import { escapeXml } from '../../lib/xml.js';

export interface ExecResult {
  command: string;
  text: string;
  data?: unknown;
  error?: string;
}

/** Raised for a command the user got wrong; the message is shown as is. */
export class CommandError extends Error {}

function words(text: string): Word[] {
  return splitWords(text);
}

function strWords(ws: Word[], what: string): string[] {
  return ws.map((w) => {
    if (Array.isArray(w)) throw new CommandError(`${what}: unexpected list`);
    return w;
  });
}

/** A copy of `tree` holding only the branch at `path`. */
function branch(tree: ConfigTree, path: string[]): ConfigTree {
  const out: ConfigTree = {};
  let src: ConfigValue | undefined = tree;
  let dst = out;
  for (let i = 0; i < path.length; i++) {
    const k = path[i]!;
    if (!isTree(src) || !Object.hasOwn(src, k)) return {};
    src = src[k];
    if (i === path.length - 1) dst[k] = structuredClone(src!);
    else {
      const next: ConfigTree = {};
      dst[k] = next;
      dst = next;
    }
  }
  return out;
}

export interface Display {
  format: 'text' | 'set' | 'json' | 'xml' | 'xml-rpc';
  inheritance: boolean;
  compare?: number;
}

/** Print (part of) a configuration tree in the requested display form. */
export function showTree(tree: ConfigTree, path: Word[], d: Display): { text: string; data?: unknown } {
  const shown = d.inheritance ? expandGroups(tree) : tree;
  if (d.format === 'xml' || d.format === 'xml-rpc') {
    const part = path.length ? branch(shown, resolve(path, true).path) : shown;
    return { text: displayXml(printXml(part, '    ')) };
  }
  if (path.length === 0) {
    if (d.format === 'json') return { text: `${JSON.stringify(shown, null, 2)}\n`, data: shown };
    return { text: d.format === 'set' ? printSet(shown) : printCurly(shown) };
  }
  const r = resolve(path, true);
  const sub = getAt(shown, r.path);
  if (d.format === 'json') return { text: `${JSON.stringify(sub ?? {}, null, 2)}\n`, data: sub ?? {} };
  const atBlock = !r.wholeList && (r.node.kind === 'container' || r.node.kind === 'list');
  if (atBlock && isTree(sub)) {
    const node = r.node as ContainerNode | ListNode;
    return { text: d.format === 'set' ? printSet(sub, node, r.path) : printCurly(sub, node) };
  }
  const pruned = branch(shown, r.path);
  if (d.format === 'set' || sub === undefined) return { text: d.format === 'set' ? printSet(pruned) : '' };
  // a leaf or a whole list: print it as its parent would, without the parent's braces
  const last = r.path[r.path.length - 1]!;
  const parent = resolve(r.path.slice(0, -1), true);
  const pnode = (parent.path.length === 0 ? schema : parent.node) as ContainerNode | ListNode;
  if (r.node.kind === 'list' && r.node.flat && isTree(sub)) {
    const list = r.node;
    const lines = Object.entries(sub).flatMap(([k, e]) => block(quote(k), subtree(e), list, 0));
    return { text: lines.length ? `${lines.join('\n')}\n` : '' };
  }
  const lines = curlyLines({ [last]: sub }, pnode);
  return { text: lines.length ? `${lines.join('\n')}\n` : '' };
}

interface Filters {
  display: Display;
  post: Array<(text: string) => string>;
}

function parseFilters(parts: string[]): Filters {
  const f: Filters = { display: { format: 'text', inheritance: false }, post: [] };
  for (const p of parts) {
    const [verb, ...rest] = strWords(words(p), '|');
    if (verb === 'display') {
      const what = rest[0];
      if (what === 'set') f.display.format = 'set';
      else if (what === 'json') f.display.format = 'json';
      else if (what === 'xml') f.display.format = rest[1] === 'rpc' ? 'xml-rpc' : 'xml';
      else if (what === 'inheritance') f.display.inheritance = true;
      else throw new CommandError(`| display: expecting set, json, xml or inheritance, not '${what ?? ''}'`);
    } else if (verb === 'compare') {
      if (rest.length === 0) f.display.compare = 0;
      else if (rest[0] === 'rollback' && /^\d+$/.test(rest[1] ?? '')) f.display.compare = Number(rest[1]);
      else throw new CommandError('| compare [rollback N]');
    } else if (verb === 'match' || verb === 'except') {
      let re: RegExp;
      try {
        re = new RegExp(rest.join(' '));
      } catch {
        throw new CommandError(`| ${verb}: invalid regular expression`);
      }
      const keep = verb === 'match';
      f.post.push((t) => t.split('\n').filter((l) => l !== '' && re.test(l) === keep).map((l) => `${l}\n`).join(''));
    } else if (verb === 'count') {
      f.post.push((t) => `Count: ${t.split('\n').filter((l) => l !== '').length} lines\n`);
    } else if (verb === 'no-more' || verb === 'display-xml-ignore') {
      // paging is the terminal's business
    } else {
      throw new CommandError(`unknown output filter '| ${p}' (display set|json|xml|inheritance, compare, match, except, count)`);
    }
  }
  return f;
}

/** The option words of `commit`. */
function parseCommit(ws: string[]): { check: boolean; confirmMinutes?: number; comment?: string; andQuit: boolean } {
  const o: { check: boolean; confirmMinutes?: number; comment?: string; andQuit: boolean } = { check: false, andQuit: false };
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    if (w === 'check') o.check = true;
    else if (w === 'and-quit') o.andQuit = true;
    else if (w === 'confirmed') {
      const n = ws[i + 1];
      if (n !== undefined && /^\d+$/.test(n)) {
        o.confirmMinutes = Number(n);
        i++;
      } else o.confirmMinutes = 10;
      if (o.confirmMinutes < 1 || o.confirmMinutes > 65535) throw new CommandError('commit confirmed: minutes 1..65535');
    } else if (w === 'comment') {
      if (ws[i + 1] === undefined) throw new CommandError('commit comment: missing text');
      o.comment = ws[++i]!;
    } else throw new CommandError(`commit: unexpected '${w}' (check, confirmed [N], comment "text", and-quit)`);
  }
  return o;
}

export interface SessionAccess {
  /** may read secret leaves (the secret permission); others see SECRET-DATA */
  secrets: boolean;
  /** whose locks this session's changes count as (a NETCONF session running its edits here) */
  holder?: LockHolder;
  /** may enter configuration mode (false for the login classes that may not change it) */
  configure?: boolean;
  /**
   * `holder` is a terminal's session that outlives this script (the SSH CLI): `configure
   * exclusive` locks the candidate for it, and leaving configuration mode releases the lock
   */
  terminal?: boolean;
}

export class CommandSession implements LockHolder {
  private cand: CandidateSession | undefined;
  private editPath: Word[] = [];

  constructor(
    private readonly store: ConfigStore,
    private readonly commands: readonly OperationalCommand[],
    readonly user: string,
    readonly via: string,
    private readonly access: SessionAccess = { secrets: true },
  ) {}

  get lockName(): string {
    return `the ${this.via} session of ${this.user}`;
  }

  readonly lockSessionId = 0;

  /** A lock another session holds binds this one too (the shared candidate, and commits). */
  private mayChange(commit = false): void {
    const cand = this.cand!;
    const who = this.access.holder ?? this;
    if (commit) this.store.locks.mayChange(who, 'candidate', 'running');
    else if (!cand.isPrivate) this.store.locks.mayChange(who, 'candidate');
  }

  /** Configuration mode on a candidate the caller already holds (a NETCONF session's). */
  attach(cand: CandidateSession): void {
    this.cand = cand;
    this.editPath = [];
  }

  private shown(tree: ConfigTree): ConfigTree {
    return this.access.secrets ? tree : hideSecrets(tree);
  }

  get configuring(): boolean {
    return this.cand !== undefined;
  }

  async run(line: string): Promise<ExecResult> {
    const command = line.trim();
    try {
      const [base, ...pipes] = splitPipes(command);
      const filters = parseFilters(pipes);
      const out = this.cand ? await this.configCommand(base!, filters) : await this.operational(base!, filters);
      let text = out.text;
      for (const f of filters.post) text = f(text);
      const res: ExecResult = { command, text };
      if (out.data !== undefined) res.data = out.data;
      return res;
    } catch (e) {
      return { command, text: '', error: e instanceof Error ? e.message : String(e) };
    }
  }

  /** The operational commands, built-in and registered, for help and completion. */
  static builtins(store: ConfigStore): OperationalCommand[] {
    return [
      {
        path: ['show', 'configuration'],
        help: 'Show the running configuration [PATH] (| display set|json|xml|inheritance)',
        run: async (args) => ({ text: showTree(store.running, args, { format: 'text', inheritance: false }).text }),
      },
      {
        path: ['show', 'system', 'commit'],
        help: 'Show the commit history',
        run: async () => {
          const recs = [...store.records()].reverse();
          const lines = recs.map((r, i) => {
            const t = r.time.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
            const c = r.comment ? `\n    ${r.comment}` : '';
            const pending = i === 0 && r.confirmMinutes ? ' commit confirmed, rollback pending' : '';
            return `${i}   ${t} by ${r.user} via ${r.via ?? 'cli'}${pending}${c}`;
          });
          return {
            text: lines.length ? `${lines.join('\n')}\n` : 'no commits yet\n',
            data: recs.map((r, i) => ({ rollback: i, seq: r.seq, user: r.user, time: r.time, comment: r.comment, via: r.via ?? 'cli' })),
          };
        },
      },
      ...systemCommands(store),
    ];
  }

  private async operational(base: string, f: Filters): Promise<CommandResult> {
    const ws = strWords(words(base), 'command');
    if (ws.length === 0) return { text: '' };
    if (ws[0] === 'configure') {
      const mode = ws[1];
      if (mode !== undefined && mode !== 'private' && mode !== 'exclusive') throw new CommandError(`configure: expecting private or exclusive, not '${mode}'`);
      if (this.access.configure === false) throw new CommandError(`permission denied: user ${this.user} may not enter configuration mode`);
      if (mode === 'exclusive') this.lockExclusive();
      this.cand = this.store.session(mode === 'private');
      this.editPath = [];
      const note = !this.cand.isPrivate && this.cand.modified ? '\nThe configuration has been changed but not committed' : '';
      return { text: `Entering configuration mode${note}\n` };
    }
    if (ws[0] === 'exit' || ws[0] === 'quit') return { text: '' };
    if (ws[0] === 'show' && ws[1] === 'configuration') {
      // `show configuration | compare rollback N`: what changed since commit N
      if (f.display.compare !== undefined) return { text: compareTrees(this.shown(this.store.rollbackTree(f.display.compare)), this.shown(this.store.running)) };
      const r = showTree(this.shown(this.store.running), words(base).slice(2), f.display);
      return r;
    }
    if (ws[0] === 'help' || ws[0] === '?') {
      const all = [...CommandSession.builtins(this.store), ...this.commands];
      return { text: `${all.map((c) => `${c.path.join(' ').padEnd(34)} ${c.help}`).join('\n')}\nconfigure [private|exclusive]       Enter configuration mode\n` };
    }
    const all = [...CommandSession.builtins(this.store), ...this.commands];
    let best: OperationalCommand | undefined;
    for (const c of all) {
      if (c.path.length <= ws.length && c.path.every((p, i) => p === ws[i]) && (!best || c.path.length > best.path.length)) best = c;
    }
    if (!best) {
      const near = all.filter((c) => c.path[0] === ws[0]).map((c) => c.path.join(' '));
      throw new CommandError(`syntax error: unknown command '${base}'${near.length ? `; possible: ${near.join(', ')}` : ''}`);
    }
    if (f.display.format === 'xml-rpc') {
      // Junos tools ask which RPC a command is (PyEZ's cli() warns with it)
      const view = viewForCommand(ws);
      if (!view) throw new CommandError(`'${base}' has no XML RPC equivalent`);
      return { text: `<rpc-reply xmlns:junos="${JUNOS_NS}">\n    <rpc>\n        <${view.rpc}/>\n    </rpc>\n</rpc-reply>\n`, data: { rpc: view.rpc } };
    }
    const res = await best.run(ws.slice(best.path.length));
    if (f.display.format === 'xml') {
      const view = viewForCommand(best.path);
      const body = view ? renderXml(view.render(res.data), '    ') : `    <output>${escapeXml(res.text)}</output>`;
      return { text: displayXml(body), data: res.data };
    }
    if (f.display.format === 'json') return { text: `${JSON.stringify(res.data ?? res.text, null, 2)}\n`, data: res.data ?? res.text };
    return res;
  }

  /**
   * `configure exclusive`: the shared candidate locked for this terminal's session until it
   * leaves configuration mode; refused while someone else's changes sit uncommitted in it.
   */
  private lockExclusive(): void {
    const holder = this.access.holder;
    if (!this.access.terminal || !holder) throw new CommandError('configure exclusive needs a terminal session that lasts (the SSH CLI); use configure private, or lock-configuration over NETCONF');
    this.store.locks.mayChange(holder, 'candidate');
    if (this.store.session(false).modified) throw new CommandError('configuration database modified: others have uncommitted changes (configure private, or commit or discard them first)');
    this.store.locks.lock('candidate', holder);
  }

  /** Leaving configuration mode ends `configure exclusive`: uncommitted changes go, the lock goes. */
  private leaveExclusive(): boolean {
    const holder = this.access.holder;
    if (!this.access.terminal || !holder || this.store.locks.holder('candidate') !== holder) return false;
    const dropped = this.store.session(false).modified;
    this.store.session(false).reset();
    this.store.locks.unlock('candidate', holder);
    return dropped;
  }

  private editHeader(): string {
    return this.editPath.length ? `[edit ${this.editPath.map((w) => (Array.isArray(w) ? `[ ${w.join(' ')} ]` : quote(w))).join(' ')}]` : '[edit]';
  }

  private async configCommand(base: string, f: Filters): Promise<CommandResult> {
    const cand = this.cand!;
    const all = words(base);
    const verb = all[0];
    const rest = all.slice(1);
    switch (verb) {
      case undefined:
        return { text: '' };
      case 'set':
        if (rest.length === 0) throw new CommandError('set: missing statement');
        this.mayChange();
        cand.set([...this.editPath, ...rest]);
        return { text: '' };
      case 'delete': {
        this.mayChange();
        const found = cand.delete([...this.editPath, ...rest]);
        return { text: found ? '' : 'warning: statement not found\n' };
      }
      case 'edit': {
        const path = [...this.editPath, ...rest];
        const r = resolve(path, true);
        if (r.wholeList || !(r.node.kind === 'container' || r.node.kind === 'list')) throw new CommandError(`edit: '${path.join(' ')}' is not a container or list entry`);
        this.editPath = path;
        return { text: `${this.editHeader()}\n`, data: { edit: this.editPath } };
      }
      case 'top':
        this.editPath = [];
        return { text: '[edit]\n', data: { edit: [] } };
      case 'up': {
        // drop one level: a list entry is two words (list name and key)
        const r = this.editPath.length ? resolve(this.editPath.slice(0, -1), true) : undefined;
        this.editPath = r?.wholeList ? this.editPath.slice(0, -2) : this.editPath.slice(0, -1);
        return { text: `${this.editHeader()}\n`, data: { edit: this.editPath } };
      }
      case 'show': {
        if (f.display.compare !== undefined) {
          const text = compareTrees(this.shown(this.store.rollbackTree(f.display.compare)), this.shown(cand.candidate));
          return { text };
        }
        return showTree(this.shown(cand.candidate), [...this.editPath, ...rest], f.display);
      }
      case 'commit': {
        const o = parseCommit(strWords(rest, 'commit'));
        if (!o.check) this.mayChange(true);
        const opts: Parameters<ConfigStore['commit']>[1] = { user: this.user, check: o.check, via: this.via };
        if (o.confirmMinutes !== undefined) opts.confirmMinutes = o.confirmMinutes;
        if (o.comment !== undefined) opts.comment = o.comment;
        const r = await this.store.commit(cand, opts);
        if (o.andQuit) {
          this.cand = undefined;
          this.leaveExclusive();
        }
        return { text: `${r.text}\n`, data: r.seq !== undefined ? { seq: r.seq } : undefined };
      }
      case 'rollback': {
        const n = rest.length ? Number(rest[0]) : 0;
        if (!Number.isInteger(n) || n < 0 || rest.length > 1) throw new CommandError('rollback [N]');
        this.mayChange();
        cand.replace(this.store.rollbackTree(n));
        return { text: 'load complete\n' };
      }
      case 'load': {
        const [mode, notation, text] = rest;
        if ((mode !== 'merge' && mode !== 'override') || !NOTATIONS.includes(notation as Notation) || typeof text !== 'string' || rest.length !== 3) {
          throw new CommandError('load merge|override set|text|json|yaml "CONFIGURATION"');
        }
        this.mayChange();
        cand.load(text, notation as Notation, mode === 'override');
        return { text: 'load complete\n' };
      }
      case 'run':
        return this.operational(base.replace(/^\s*run\s+/, ''), f);
      case 'exit':
      case 'quit': {
        if (this.editPath.length && rest[0] !== 'configuration-mode') {
          this.editPath = [];
          return { text: '[edit]\n', data: { edit: [] } };
        }
        const dropped = (cand.isPrivate && cand.modified) || this.leaveExclusive();
        this.cand = undefined;
        return { text: dropped ? 'warning: uncommitted changes discarded (configure private or exclusive)\nExiting configuration mode\n' : 'Exiting configuration mode\n' };
      }
      case 'status':
        return { text: cand.modified ? 'candidate modified\n' : 'candidate unmodified\n' };
      default:
        throw new CommandError(`syntax error: '${String(verb)}' (set, delete, edit, up, top, show, commit, rollback, load, run, exit)`);
    }
  }
}
