/**
 * `cnr cli [--state-dir DIR] [-c "cmd; cmd"]`: the Junos-like shell. It is a thin client of
 * the management API (MgmtClient over <stateDir>/mgmt.sock): every line is sent to the
 * controller as a short script. A `configure private` session lives here as the list of
 * its edits, replayed in front of each line, so the controller keeps no per-shell state;
 * `configure` edits the controller's shared candidate. Completion and `?` come from the
 * schema and the controller's list of operational commands.
 */
import { createInterface, type Interface } from 'node:readline';
import { hostname, userInfo } from 'node:os';
import { configChoices, formatChoices, type Choice } from '../controller/config/complete.js';
import { schema } from '../controller/config/schema/index.js';
import type { ConfigTree } from '../controller/types.js';
import { quote, splitUnquoted, splitWords } from '../controller/config/tokens.js';
import { MgmtClient, type ExecResult } from '../controller/mgmt/client.js';

const USAGE = `usage: cnr cli [--state-dir DIR] [-c "command; command ..."]
  --state-dir DIR   where the controller keeps mgmt.sock and mgmt.token
                    (default: $CNR_STATE_DIR or /var/lib/cnr)
  -c COMMANDS       run commands separated by ';' and exit (non-zero on error)`;

/** Split a `-c` script at unquoted semicolons. */
export function splitScript(s: string): string[] {
  return splitUnquoted(s, ';').filter((c) => c !== '');
}

function printResult(r: ExecResult, out: NodeJS.WritableStream, err: NodeJS.WritableStream): void {
  if (r.text) out.write(r.text.endsWith('\n') ? r.text : `${r.text}\n`);
  if (r.error !== undefined) {
    const e = r.error.startsWith('error:') ? r.error : `error: ${r.error}`;
    err.write(`${e}\n`);
  }
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
  private transcript: string[] = [];
  private editPath: string[] = [];
  private opCommands: Array<{ path: string[]; help: string }> = [];
  /** the running configuration, for completing the names of existing entries */
  private running: ConfigTree = {};

  constructor(
    private readonly client: MgmtClient,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
  ) {}

  async init(): Promise<void> {
    this.opCommands = await this.client.commands();
    await this.refresh();
  }

  private async refresh(): Promise<void> {
    this.running = (await this.client.config('json').catch(() => ({}))) as ConfigTree;
  }

  prompt(): string {
    let user = 'cnr';
    try {
      user = userInfo().username;
    } catch {
      // no passwd entry
    }
    const host = hostname().split('.')[0];
    return `${user}@${host}${this.mode === 'op' ? '>' : '#'} `;
  }

  /** The `[edit PATH]` line Junos prints above each configuration-mode prompt. */
  banner(): string {
    if (this.mode === 'op') return '';
    return `\n${this.editPath.length ? `[edit ${this.editPath.join(' ')}]` : '[edit]'}\n`;
  }

  private opChoices(words: string[]): Choice[] {
    if (words[0] === 'show' && words[1] === 'configuration') return configChoices(words.slice(2), schema, this.running);
    if (words[0] === 'configure' && words.length === 1) return [{ word: 'private', help: 'Edit a private candidate' }, { word: 'exclusive', help: 'Edit the shared candidate' }];
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
      const [r] = await this.client.exec([line]);
      printResult(r!, this.out, this.err);
      if (verb === 'configure' && r && r.error === undefined) {
        this.mode = 'config';
        this.priv = words[1] === 'private';
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
      if (words.includes('and-quit')) this.mode = 'op';
    } else if ((verb === 'exit' || verb === 'quit') && /Exiting configuration mode/.test(last.text)) {
      this.mode = 'op';
      this.transcript = [];
      this.editPath = [];
    }
    return true;
  }
}

async function interactive(shell: Shell): Promise<number> {
  const tty = Boolean(process.stdin.isTTY);
  const rl: Interface = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: tty,
    completer: (l: string) => shell.complete(l),
  });
  if (tty) {
    // `?` shows help at once, as in Junos, without waiting for Enter
    process.stdin.on('keypress', (ch: string | undefined) => {
      if (ch !== '?') return;
      const cur = rl.line;
      const before = cur.slice(0, -1);
      (rl as unknown as { line: string; cursor: number }).line = before;
      (rl as unknown as { line: string; cursor: number }).cursor = before.length;
      process.stdout.write(`\n${shell.help(`${before}?`)}${shell.banner()}`);
      rl.setPrompt(shell.prompt());
      rl.prompt(true);
    });
  }
  const ask = () => {
    if (tty) {
      process.stdout.write(shell.banner());
      rl.setPrompt(shell.prompt());
      rl.prompt();
    }
  };
  ask();
  for await (const l of rl) {
    try {
      if (!(await shell.line(l))) break;
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
    }
    ask();
  }
  rl.close();
  return 0;
}

export async function run(args: string[]): Promise<number> {
  let stateDir = process.env.CNR_STATE_DIR || '/var/lib/cnr';
  let script: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--state-dir' && args[i + 1] !== undefined) stateDir = args[++i]!;
    else if (a.startsWith('--state-dir=')) stateDir = a.slice('--state-dir='.length);
    else if (a === '-c' && args[i + 1] !== undefined) script = args[++i]!;
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      return 0;
    } else {
      console.error(`cnr cli: unexpected argument '${a}'\n${USAGE}`);
      return 2;
    }
  }
  let client: MgmtClient;
  try {
    client = MgmtClient.fromStateDir(stateDir);
  } catch (e) {
    console.error(`cnr cli: cannot read the management token in ${stateDir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): is the controller running, and may you read its state directory?`);
    return 1;
  }
  if (script !== undefined) {
    const results = await client.exec(splitScript(script));
    for (const r of results) printResult(r, process.stdout, process.stderr);
    return results.some((r) => r.error !== undefined) ? 1 : 0;
  }
  const shell = new Shell(client);
  await shell.init();
  return interactive(shell);
}
