/**
 * The SSH listener both SSH services share: NETCONF (`system services netconf ssh`, the
 * `netconf` subsystem) and the CLI (`system services ssh`, a shell or an exec request).
 * It binds and rebinds to the configured address and port, authenticates the users of
 * `system login` (password or key, login.ts) against the running configuration at each
 * login, and hands each channel a service asks for to that service with the user. The host
 * key is an Ed25519 key made on first use and kept in the state directory, so clients see
 * the same key across restarts; both services use the one key.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import ssh2, { type AuthenticationType, type Connection, type PseudoTtyInfo, type ServerChannel } from 'ssh2';
import type { ConfigTree } from '../types.js';
import { checkPassword, loginUsers, matchingKey, type LoginUser } from './login.js';

/** A terminal the client asked for (`pty-req`), and its size as `window-change` updates it. */
export interface Terminal {
  columns: number;
  rows: number;
}

/** What a service does with the channels of a logged-in user. */
export interface SshChannels {
  /** a subsystem by name (`netconf`); false refuses it */
  subsystem?(name: string, accept: () => ServerChannel, user: LoginUser): boolean;
  /** an interactive shell; `terminal` when the client asked for a pty */
  shell?(ch: ServerChannel, user: LoginUser, terminal: Terminal | undefined): void;
  /** `ssh host COMMAND` */
  exec?(ch: ServerChannel, user: LoginUser, command: string): void;
}

export interface SshServerOptions {
  /** e.g. "netconf" or "ssh": the prefix of its log lines */
  name: string;
  hostKeyPath: string;
  running: () => ConfigTree;
  log: (msg: string) => void;
  channels: SshChannels;
}

export class SshServer {
  private server: ssh2.Server | undefined;
  private readonly connections = new Set<Connection>();
  private bound: { address: string; port: number } | undefined;

  constructor(private readonly opts: SshServerOptions) {}

  /** Listen on (address, port), or stop when `want` is undefined; rebinds when it changed. */
  async set(want: { address: string; port: number } | undefined): Promise<void> {
    if (want && this.bound && want.address === this.bound.address && (want.port === this.bound.port || want.port === 0)) return;
    await this.close();
    if (!want) return;
    const server = new ssh2.Server({ hostKeys: [hostKey(this.opts.hostKeyPath)] }, (conn, info) => this.connection(conn, info.ip));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(want.port, want.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e: Error) => this.opts.log(`${this.opts.name}: ${e.message}`));
    this.server = server;
    const a = server.address() as AddressInfo;
    this.bound = { address: a.address, port: a.port };
    this.opts.log(`${this.opts.name}: listening on ${a.address}:${a.port}`);
  }

  address(): { address: string; port: number } | undefined {
    return this.bound;
  }

  private connection(conn: Connection, ip: string): void {
    const { name, log, channels } = this.opts;
    this.connections.add(conn);
    let user: LoginUser | undefined;
    conn.on('error', () => {});
    conn.on('close', () => this.connections.delete(conn));
    conn.on('authentication', (ctx) => {
      const u = loginUsers(this.opts.running()).get(ctx.username);
      const methods: AuthenticationType[] = ['publickey', 'password'];
      if (!u) return ctx.reject(methods);
      if (ctx.method === 'password') {
        if (checkPassword(u, ctx.password)) {
          user = u;
          log(`${name}: ${u.name} logged in from ${ip} (password)`);
          return ctx.accept();
        }
        log(`${name}: password refused for ${u.name} from ${ip}`);
        return ctx.reject(methods);
      }
      if (ctx.method === 'publickey') {
        const key = matchingKey(u, ctx.key.algo, ctx.key.data);
        if (!key) return ctx.reject(methods);
        if (!ctx.signature || !ctx.blob) return ctx.accept(); // the client asks whether the key would do
        if (key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(methods);
        user = u;
        log(`${name}: ${u.name} logged in from ${ip} (publickey ${key.type})`);
        return ctx.accept();
      }
      return ctx.reject(methods);
    });
    conn.on('ready', () => {
      conn.on('session', (accept) => {
        const session = accept();
        let terminal: Terminal | undefined;
        session.on('pty', (acceptPty, _reject, info: PseudoTtyInfo) => {
          terminal = { columns: info.cols || 80, rows: info.rows || 24 };
          acceptPty?.();
        });
        session.on('window-change', (acceptWc, _reject, info) => {
          if (terminal) {
            terminal.columns = info.cols || terminal.columns;
            terminal.rows = info.rows || terminal.rows;
          }
          acceptWc?.();
        });
        // the client's environment (LANG and the like) changes nothing here
        session.on('env', (acceptEnv) => acceptEnv?.());
        session.on('subsystem', (acceptSub, reject, info) => {
          if (!user || !channels.subsystem?.(info.name, acceptSub, user)) reject();
        });
        session.on('shell', (acceptShell, reject) => {
          if (!user || !channels.shell) return reject();
          channels.shell(acceptShell(), user, terminal);
        });
        session.on('exec', (acceptExec, reject, info) => {
          if (!user || !channels.exec) return reject();
          channels.exec(acceptExec(), user, info.command);
        });
      });
    });
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.end();
    this.connections.clear();
    const srv = this.server;
    this.server = undefined;
    this.bound = undefined;
    if (srv) await new Promise<void>((r) => srv.close(() => r()));
  }
}

/**
 * A new Ed25519 key pair in OpenSSH format that ssh2 itself can load. ssh2 1.17's
 * generateKeyPairSync strips every leading zero byte of the DER bit string, meant for the
 * unused-bits octet but also eating a public key that starts with 0x00: one key in 256 comes
 * out 31 bytes long and its own parser refuses it ("Malformed OpenSSH private key"). Such a
 * key is drawn again; 16 failures in a row (2^-128) would mean the generator is broken.
 */
export function generateEd25519KeyPair(): { private: string; public: string } {
  for (let attempt = 0; attempt < 16; attempt++) {
    const k = ssh2.utils.generateKeyPairSync('ed25519');
    if (!(ssh2.utils.parseKey(k.private) instanceof Error)) return k;
  }
  throw new Error('ssh2 made 16 Ed25519 keys in a row that it cannot parse');
}

/**
 * The server's Ed25519 host key, made on first use (0600). The files are written under
 * temporary names and renamed into place, so no reader (a second service, a restart after a
 * crash) ever sees half a key. A key file that does not parse is refused with its path.
 */
function hostKey(path: string): string {
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8');
    const parsed = ssh2.utils.parseKey(text);
    if (parsed instanceof Error) throw new Error(`SSH host key ${path}: ${parsed.message}`);
    return text;
  }
  const k = generateEd25519KeyPair();
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(`${tmp}.pub`, `${k.public}\n`, { mode: 0o644 });
  renameSync(`${tmp}.pub`, `${path}.pub`);
  writeFileSync(tmp, k.private, { mode: 0o600 });
  renameSync(tmp, path);
  return k.private;
}
