/**
 * The CLI over SSH (`system services ssh`, port 22 on 127.0.0.1 unless configured): a user
 * of `system login` logs in (password or key, ssh-server.ts) and lands in the same shell as
 * `cnr cli` (cli-shell.ts), prompt `user@host>` with the configured host-name. With a pty
 * the line editor (line-editor.ts) echoes, completes and answers `?`; without one, lines are
 * read as a script reads them; `ssh host COMMAND` runs COMMAND (`;` separates several) and
 * exits non-zero when one fails. Each line runs as a short script in a CommandSession of
 * this user (secrets hidden unless the class may see them; configuration mode only for
 * super-users); the terminal's session is the lock holder of `configure exclusive`, and
 * leaving, or the connection dropping, releases its lock and its uncommitted changes.
 */
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import type { ServerChannel } from 'ssh2';
import type { ConfigStore } from '../config/store.js';
import type { LockHolder } from '../config/locks.js';
import { leafString, subtreeAt } from '../config/tree.js';
import type { OperationalCommand } from '../types.js';
import { Shell, type ShellBackend } from './cli-shell.js';
import { CommandSession, type ExecResult } from './command-session.js';
import { LineEditor } from './line-editor.js';
import type { LoginUser } from './login.js';
import { hideSecrets, maySeeSecrets } from './secrets.js';
import { SshServer, type Terminal } from './ssh-server.js';
import { splitUnquoted } from '../config/tokens.js';

export interface SshCliBackend {
  store: ConfigStore;
  commands: readonly OperationalCommand[];
  log(msg: string): void;
}

let nextTerminal = 1;

/** A stream that writes to the channel; on a pty, each LF goes out as CR LF. */
function channelWriter(write: (s: string) => void, pty: boolean, onWrite?: () => void): Writable {
  return new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      onWrite?.();
      const s = chunk.toString();
      write(pty ? s.replace(/\r?\n/g, '\r\n') : s);
      cb();
    },
  });
}

export class SshCliServer {
  private readonly ssh: SshServer;

  constructor(
    private readonly backend: SshCliBackend,
    hostKeyPath: string,
  ) {
    this.ssh = new SshServer({
      name: 'ssh',
      hostKeyPath,
      running: () => backend.store.running,
      log: backend.log,
      channels: {
        shell: (ch, user, terminal) => this.shell(ch, user, terminal),
        exec: (ch, user, command) => void this.exec(ch, user, command),
      },
    });
  }

  async set(want: { address: string; port: number } | undefined): Promise<void> {
    await this.ssh.set(want);
  }

  address(): { address: string; port: number } | undefined {
    return this.ssh.address();
  }

  async close(): Promise<void> {
    await this.ssh.close();
  }

  /** The shell of one terminal session: its lock holder, and the backend its lines run on. */
  private session(user: LoginUser): { shellBackend: ShellBackend; holder: LockHolder; identity: () => { user: string; host: string } } {
    const { store, commands } = this.backend;
    const holder: LockHolder = { lockName: `the SSH CLI session ${nextTerminal++} of ${user.name}`, lockSessionId: 0 };
    const secrets = maySeeSecrets(user.class);
    const shellBackend: ShellBackend = {
      exec: async (lines) => {
        const s = new CommandSession(store, commands, user.name, 'ssh', { secrets, holder, configure: user.class === 'super-user', terminal: true });
        const out: ExecResult[] = [];
        for (const l of lines) {
          const r = await s.run(l);
          out.push(r);
          if (r.error !== undefined) break;
        }
        return out;
      },
      config: async () => (secrets ? store.running : hideSecrets(store.running)),
      commands: async () => [...CommandSession.builtins(store), ...commands].map((c) => ({ path: c.path, help: c.help })),
    };
    const identity = () => ({ user: user.name, host: leafString(subtreeAt(store.running, 'system')?.['host-name']) ?? hostname().split('.')[0] ?? 'cnr' });
    return { shellBackend, holder, identity };
  }

  /** The terminal's lock and its uncommitted changes go with it (Junos's configure exclusive). */
  private release(holder: LockHolder): void {
    const { store } = this.backend;
    if (store.locks.holder('candidate') !== holder) return;
    store.session(false).reset();
    store.locks.unlock('candidate', holder);
    this.backend.log(`ssh: ${holder.lockName} ended in configure exclusive; its uncommitted changes are discarded`);
  }

  private shell(ch: ServerChannel, user: LoginUser, terminal: Terminal | undefined): void {
    const { shellBackend, holder, identity } = this.session(user);
    const write = (s: string) => {
      if (ch.writable) ch.write(s);
    };
    const out = channelWriter(write, terminal !== undefined);
    const shell = new Shell(shellBackend, out, out, identity);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.release(holder);
      if (ch.writable) {
        ch.exit(0);
        ch.end();
      }
    };
    ch.on('close', finish);
    ch.on('error', finish);
    const run = async (text: string): Promise<boolean> => {
      try {
        const go = await shell.line(text);
        if (!go) finish();
        return go;
      } catch (e) {
        out.write(`error: ${(e as Error).message}\n`);
        return true;
      }
    };
    void shell.init().then(
      () => {
        if (terminal) {
          const editor = new LineEditor(write, {
            complete: (l) => shell.complete(l),
            // the help text and the [edit] banner come with LF only: a pty needs CR LF
            help: (l) => shell.help(l).replace(/\r?\n/g, '\r\n'),
            prompt: () => shell.banner().replace(/\r?\n/g, '\r\n') + shell.prompt(),
            line: run,
            eof: finish,
          });
          ch.on('data', (d: Buffer) => editor.feed(d.toString('utf8')));
          editor.start();
          return;
        }
        // no pty: lines as a script sends them, no echo
        let pending = '';
        let chain = Promise.resolve(true);
        write(shell.banner() + shell.prompt());
        ch.on('data', (d: Buffer) => {
          pending += d.toString('utf8');
          const lines = pending.split(/\r?\n/);
          pending = lines.pop()!;
          for (const l of lines) {
            chain = chain.then(async (go) => {
              if (!go) return false;
              const more = await run(l);
              if (more) write(shell.banner() + shell.prompt());
              return more;
            });
          }
        });
        ch.on('end', () => void chain.then(finish));
      },
      (e: Error) => {
        write(`error: ${e.message}\n`);
        finish();
      },
    );
  }

  /** `ssh user@host 'show route; show bgp summary'`: each command, then the exit status. */
  private async exec(ch: ServerChannel, user: LoginUser, command: string): Promise<void> {
    const { shellBackend, holder, identity } = this.session(user);
    let failed = false;
    const out = channelWriter((s) => ch.writable && ch.write(s), false);
    const err = channelWriter((s) => ch.stderr.write(s), false, () => (failed = true));
    const shell = new Shell(shellBackend, out, err, identity);
    try {
      await shell.init();
      for (const c of splitUnquoted(command, ';').map((x) => x.trim()).filter((x) => x !== '')) {
        if (!(await shell.line(c)) || failed) break;
      }
    } catch (e) {
      failed = true;
      ch.stderr.write(`error: ${(e as Error).message}\n`);
    }
    this.release(holder);
    ch.exit(failed ? 1 : 0);
    ch.end();
  }
}
