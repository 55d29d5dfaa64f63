/**
 * The Junos-like shell both terminals share: `cnr cli` (over the management API's unix
 * socket) and the SSH CLI (`system services ssh`, in the controller). It is a thin client
 * of the one management operation (ShellBackend.exec runs a short script in a fresh
 * CommandSession): a `configure private` session lives here as the list of its edits,
 * replayed in front of each line, so the controller keeps no per-shell state; `configure`
 * and `configure exclusive` edit the controller's shared candidate (exclusive: locked by the
 * terminal's session, which the backend names). Completion and `?` come from the schema and
 * the controller's list of operational commands. Terminal settings (`set cli screen-length
 * 0`, what netmiko and people send first) are the terminal's and are only acknowledged.
 */
import { hostname, userInfo } from 'node:os';
import { configChoices, formatChoices, type Choice } from '../config/complete.js';
import { schema } from '../config/schema/index.js';
import type { ConfigTree } from '../types.js';
import { quote, splitWords } from '../config/tokens.js';
import type { ExecResult } from './command-session.js';

/** The management operations a shell needs (MgmtClient over the socket, or in-process). */
export interface ShellBackend {
  exec(commands: string[]): Promise<ExecResult[]>;
  config(format: 'json'): Promise<unknown>;
  commands(): Promise<Array<{ path: string[]; help: string }>>;
}

export function printResult(r: ExecResult, out: NodeJS.WritableStream, err: NodeJS.WritableStream): void {
  if (r.text) out.write(r.text.endsWith('\n') ? r.text : `${r.text}\n`);
  if (r.error !== undefined) {
    const e = r.error.startsWith('error:') ? r.error : `error: ${r.error}`;
    err.write(`${e}\n`);
  }
}

/** The user's name and the host's, for the `user@host>` prompt. */
function localIdentity(): { user: string; host: string } {
  let user = 'cnr';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry
  }
  return { user, host: hostname().split('.')[0] ?? 'cnr' };
}

/** `set cli ...` in operational mode: the terminal's settings, acknowledged as Junos does. */
function cliSetting(words: string[]): string | undefined {
  if (words[0] !== 'set' || words[1] !== 'cli') return undefined;
  const [what, value] = [words[2], words[3]];
  if (what === 'screen-length') return `Screen length set to ${value ?? 0}\n`;
  if (what === 'screen-width') return `Screen width set to ${value ?? 0}\n`;
  if (what === 'complete-on-space') return value === 'off' ? 'Disabling complete-on-space\n' : 'Enabling complete-on-space\n';
  if (what === 'terminal') return '';
  if (what === 'idle-timeout' || what === 'timestamp' || what === 'prompt' || what === 'directory') return '';
  return `error: set cli: unknown setting '${what ?? ''}'\n`;
}

const CONFIG_VERBS: Choice[] = [
  { word: 'set', help: 'Set a parameter' },
  { word: 'delete', help: 'Delete a statement' },
  { word: 'edit', help: 'Move into a hierarchy level' },
  { word: 'up', help: 'Go up one level' },
  { word: 'top', help: 'Go to the top level' },
  { word: 'show', help: 'Show the candidate (| compare, | display set|json)' },
  { word: 'commit', help: 'Commit the candidate [check] [confirmed N] [comment "text"] [and-quit]' },
  { word: 'rollback', help: 'Load commit N into the candidate' },
  { word: 'load', help: 'load merge|override set|text|json|yaml "TEXT"' },
  { word: 'run', help: 'Run an operational command' },
  { word: 'status', help: 'Is the candidate modified?' },
  { word: 'exit', help: 'Leave this level or configuration mode' },
];

export class Shell {
  mode: 'op' | 'config' = 'op';
  private priv = false;
  /** the shared candidate is locked by this terminal's session (`configure exclusive`) */
  exclusive = false;
  private transcript: string[] = [];
  private editPath: string[] = [];
  private opCommands: Array<{ path: string[]; help: string }> = [];
  /** the running configuration, for completing the names of existing entries */
  private running: ConfigTree = {};

  constructor(
    private readonly client: ShellBackend,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
    private readonly identity: () => { user: string; host: string } = localIdentity,
  ) {}

  async init(): Promise<void> {
    this.opCommands = await this.client.commands();
    await this.refresh();
  }

  private async refresh(): Promise<void> {
    this.running = (await this.client.config('json').catch(() => ({}))) as ConfigTree;
  }

  prompt(): string {
    const { user, host } = this.identity();
    return `${user}@${host}${this.mode === 'op' ? '>' : '#'} `;
  }

  /** The `[edit PATH]` line Junos prints above each configuration-mode prompt. */
  banner(): string {
    if (this.mode === 'op') return '';
    return `\n${this.editPath.length ? `[edit ${this.editPath.join(' ')}]` : '[edit]'}\n`;
  }

  private opChoices(words: string[]): Choice[] {
    if (words[0] === 'show' && words[1] === 'configuration') return configChoices(words.slice(2), schema, this.running);
    if (words[0] === 'configure' && words.length === 1) return [{ word: 'private', help: 'Edit a private candidate' }, { word: 'exclusive', help: 'Edit the shared candidate, locked against other users' }];
    const seen = new Map<string, string>();
    for (const c of [...this.opCommands, { path: ['configure'], help: 'Enter configuration mode' }, { path: ['exit'], help: 'Leave the CLI' }]) {
      if (c.path.length > words.length && words.every((w, i) => c.path[i] === w)) {
        const next = c.path[words.length]!;
        const help = c.path.length === words.length + 1 ? c.help : `${c.path.slice(words.length).join(' ')}`;
        const prev = seen.get(next);
        if (prev === undefined) seen.set(next, help);
        else if (c.path.length > words.length + 1 && !prev.includes(help)) seen.set(next, `${prev}, ${help}`);
      }
    }
    return [...seen].map(([word, help]) => ({ word, help }));
  }

  /** What may follow `words` in the current mode. */
  choices(words: string[]): Choice[] {
    if (this.mode === 'op') return this.opChoices(words);
    if (words.length === 0) return CONFIG_VERBS;
    const [verb, ...rest] = words;
    if (verb === 'set' || verb === 'delete' || verb === 'edit' || verb === 'show') return configChoices([...this.editPath.flatMap((w) => splitWords(w).flat()), ...rest], schema, this.running);
    if (verb === 'run') return this.opChoices(rest);
    if (verb === 'commit') return ['check', 'confirmed', 'comment', 'and-quit'].map((w) => ({ word: w, help: '' }));
    return [];
  }

  complete(line: string): [string[], string] {
    let words: string[];
    try {
      words = splitWords(line).map((w) => (Array.isArray(w) ? '' : w));
    } catch {
      return [[], line];
    }
    const partial = /\s$/.test(line) || line === '' ? '' : (words.pop() ?? '');
    const hits = this.choices(words).filter((c) => !c.placeholder && c.word.startsWith(partial)).map((c) => c.word);
    return [hits.length === 1 ? [`${hits[0]} `] : hits, partial];
  }

  help(line: string): string {
    const before = line.replace(/\?\s*$/, '');
    const words = splitWords(before).map((w) => (Array.isArray(w) ? '' : w));
    const partial = /\s$/.test(before) || before === '' ? '' : (words.pop() ?? '');
    return formatChoices(this.choices(words).filter((c) => c.word.startsWith(partial) || c.placeholder));
  }

  private leaveConfig(): void {
    this.mode = 'op';
    this.exclusive = false;
    this.transcript = [];
    this.editPath = [];
  }

  /** Run one line; returns false when the shell should end. */
  async line(raw: string): Promise<boolean> {
    const line = raw.trim();
    if (!line) return true;
    if (line.endsWith('?') && !/"[^"]*\?$/.test(line)) {
      this.out.write(this.help(line));
      return true;
    }
    const words = splitWords(line).map((w) => (Array.isArray(w) ? '' : w));
    const verb = words[0];
    if (this.mode === 'op') {
      if (verb === 'exit' || verb === 'quit') return false;
      const setting = cliSetting(words);
      if (setting !== undefined) {
        this.out.write(setting);
        return true;
      }
      const [r] = await this.client.exec([line]);
      printResult(r!, this.out, this.err);
      if (verb === 'configure' && r && r.error === undefined) {
        this.mode = 'config';
        this.priv = words[1] === 'private';
        this.exclusive = words[1] === 'exclusive';
        this.transcript = [];
        this.editPath = [];
      }
      return true;
    }
    const prefix = this.priv ? ['configure private', ...this.transcript] : ['configure'];
    const edit = this.editPath.length ? [`edit ${this.editPath.join(' ')}`] : [];
    const results = await this.client.exec([...prefix, ...edit, line]);
    const last = results.at(-1)!;
    if (results.length < prefix.length + edit.length + 1) {
      this.err.write(`error: your private changes no longer apply to the running configuration: ${last.error ?? ''}\n`);
      return true;
    }
    printResult(last, this.out, this.err);
    if (last.error !== undefined) return true;
    const data = last.data as { edit?: unknown } | undefined;
    if (data && Array.isArray(data.edit)) this.editPath = (data.edit as unknown[]).map((w) => quote(String(w)));
    if (verb === 'set' || verb === 'delete' || verb === 'rollback' || verb === 'load') {
      if (this.priv) this.transcript.push(...edit, line, ...(edit.length ? ['top'] : []));
    } else if (verb === 'commit') {
      if (!words.includes('check')) {
        this.transcript = [];
        await this.refresh();
      }
      if (words.includes('and-quit')) this.leaveConfig();
    } else if ((verb === 'exit' || verb === 'quit') && /Exiting configuration mode/.test(last.text)) {
      this.leaveConfig();
    }
    return true;
  }
}
