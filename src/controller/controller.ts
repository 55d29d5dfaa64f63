/**
 * The controller: the configuration store, the subsystems that consume the configuration
 * (RIB, protocols, FIB export — passed in as ConfigConsumers), their operational commands,
 * and the management API that adapters (cnr cli, REST, gRPC; NETCONF over SSH on the store) call.
 *
 *   const c = new Controller({ stateDir, consumers, commands, initialConfig });
 *   await c.start();                       // last commit, or the initial file on first start
 *   await c.exec(['configure private', 'set ...', 'commit'], 'alice');
 *   await c.stop();
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandSession, type ExecResult } from './mgmt/command-session.js';
import { MgmtHttpServer } from './mgmt/http-server.js';
// NETCONF, the SSH CLI and the gRPC API are loaded when configured (below): ssh2 and the
// NETCONF/YANG layers cost a controller that never serves them ~10 MB of RSS
import type { NetconfServer } from './mgmt/netconf.js';
import type { MgmtGrpcServer } from './mgmt/grpc-server.js';
import type { SshCliServer } from './mgmt/ssh-cli.js';
import { ensureToken, socketPath } from './mgmt/token.js';
import { detectNotation, NOTATIONS, parseConfig, printConfig, type Notation } from './config/notation.js';
import { ConfigStore } from './config/store.js';
import type { WriteStep } from './config/history.js';
import { leafString, subtreeAt } from './config/tree.js';
import type { ConfigConsumer, ConfigTree, OperationalCommand } from './types.js';
import { logger, onLogLine } from '../telemetry/log.js';
import { Syslog, type SyslogConfig, type SyslogFilter } from '../telemetry/syslog.js';
import { hostname } from 'node:os';

export interface ControllerOptions {
  /** holds config/ (the commit history), mgmt.sock and mgmt.token */
  stateDir: string;
  consumers?: ConfigConsumer[];
  commands?: OperationalCommand[];
  /** used when no commit exists yet: a file in any notation, or a tree */
  initialConfig?: string | ConfigTree;
  /** serve the management API on <stateDir>/mgmt.sock (default true) */
  serve?: boolean;
  /** start from the newest valid commit when commit files are damaged (moved aside, logged) */
  recoverConfig?: boolean;
  /** tests: length of a `commit confirmed` minute */
  confirmUnitMs?: number;
  /** crash tests: hook between the steps of each history write */
  onWriteStep?: (step: WriteStep) => void;
  log?: (msg: string) => void;
}

type Listen = { address: string; port: number } | undefined;

/** `system syslog` as the destinations of telemetry/syslog.ts. */
function syslogConfig(tree: ConfigTree): SyslogConfig {
  const sys = subtreeAt(tree, 'system', 'syslog');
  const filter = (e: ConfigTree): SyslogFilter => Object.fromEntries(Object.entries(e).filter(([k, v]) => k !== 'port' && typeof v === 'string')) as SyslogFilter;
  const hosts = Object.entries(subtreeAt(sys, 'host') ?? {}).map(([address, e]) => {
    const entry = e as ConfigTree;
    return { address, port: typeof entry.port === 'number' ? entry.port : 514, filter: filter(entry) };
  });
  const files = Object.entries(subtreeAt(sys, 'file') ?? {}).map(([name, e]) => ({ name, filter: filter(e as ConfigTree) }));
  return { hosts, files };
}

/** A consumer that (re)binds one management listener to `system services PATH` (port, address). */
function listenerConsumer(name: string, path: string[], defaultPort: number, set: (want: Listen) => Promise<void>): ConfigConsumer {
  return {
    name: `mgmt-${name}`,
    validate: () => [],
    apply: async (next) => {
      const v = subtreeAt(next, 'system', 'services', ...path);
      await set(v ? { port: typeof v.port === 'number' ? v.port : defaultPort, address: leafString(v.address) ?? '127.0.0.1' } : undefined);
    },
  };
}

export class Controller {
  readonly store: ConfigStore;
  private server: MgmtHttpServer | undefined;
  private netconf: NetconfServer | undefined;
  private sshCli: SshCliServer | undefined;
  private grpc: MgmtGrpcServer | undefined;
  private readonly commands: OperationalCommand[];
  private readonly log: (msg: string) => void;
  private readonly syslog: Syslog;
  private stopSyslog: (() => void) | undefined;

  constructor(private readonly opts: ControllerOptions) {
    this.syslog = new Syslog({
      logDir: join(opts.stateDir, 'log'),
      hostName: () => leafString(subtreeAt(this.store.running, 'system')?.['host-name']) ?? hostname().split('.')[0] ?? 'cnr',
    });
    this.log = opts.log ?? logger('cnr controller');
    this.commands = [...(opts.commands ?? []), this.showLog()];
    // The management listeners follow `system services rest|netconf ssh|ssh|grpc`; they go
    // last so that a port one cannot bind undoes the whole commit.
    const rest = listenerConsumer('rest', ['rest'], 8080, async (want) => {
      await this.server?.setTcp(want);
    });
    const netconf = listenerConsumer('netconf', ['netconf', 'ssh'], 830, async (want) => {
      if (!want && !this.netconf) return;
      const { NetconfServer } = await import('./mgmt/netconf.js');
      this.netconf ??= new NetconfServer({ store: this.store, commands: this.commands, log: this.log }, join(opts.stateDir, 'ssh_host_ed25519_key'));
      await this.netconf.set(want);
    });
    const sshCli = listenerConsumer('ssh', ['ssh'], 22, async (want) => {
      if (!want && !this.sshCli) return;
      const { SshCliServer } = await import('./mgmt/ssh-cli.js');
      this.sshCli ??= new SshCliServer({ store: this.store, commands: this.commands, log: this.log }, join(opts.stateDir, 'ssh_host_ed25519_key'));
      await this.sshCli.set(want);
    });
    const grpcApi = listenerConsumer('grpc', ['grpc'], 50051, async (want) => {
      if (!want && !this.grpc) return;
      const { MgmtGrpcServer } = await import('./mgmt/grpc-server.js');
      this.grpc ??= new MgmtGrpcServer({ exec: (c, u, via) => this.exec(c, u, via), store: this.store, log: this.log }, ensureToken(opts.stateDir));
      await this.grpc.set(want);
    });
    const syslog: ConfigConsumer = {
      name: 'syslog',
      validate: () => [],
      apply: async (next) => this.syslog.configure(syslogConfig(next)),
    };
    const storeOpts: ConstructorParameters<typeof ConfigStore>[0] = {
      dir: join(opts.stateDir, 'config'),
      consumers: [syslog, ...(opts.consumers ?? []), rest, netconf, sshCli, grpcApi],
      log: this.log,
    };
    if (opts.recoverConfig) storeOpts.recover = true;
    if (opts.confirmUnitMs !== undefined) storeOpts.confirmUnitMs = opts.confirmUnitMs;
    if (opts.onWriteStep) storeOpts.onWriteStep = opts.onWriteStep;
    this.store = new ConfigStore(storeOpts);
  }

  /** `show log NAME`: a file of `system syslog file` (the newest lines last). */
  private showLog(): OperationalCommand {
    return {
      path: ['show', 'log'],
      help: 'Show a log file of system syslog file NAME',
      run: async (args) => {
        const name = args[0];
        const files = syslogConfig(this.store.running).files.map((f) => f.name);
        if (name === undefined) return { text: files.length ? `${files.join('\n')}\n` : 'no log files configured (set system syslog file NAME any info)\n' };
        if (typeof name !== 'string' || !files.includes(name)) throw new Error(`show log: no log file '${String(name)}' (configured: ${files.join(', ') || 'none'})`);
        const path = this.syslog.filePath(name);
        return { text: existsSync(path) ? readFileSync(path, 'utf8') : '' };
      },
    };
  }

  async start(): Promise<void> {
    mkdirSync(this.opts.stateDir, { recursive: true, mode: 0o700 });
    // syslog's source: every line the process logs through telemetry/log.ts (a caller's own
    // log function that does not write through it reaches no collector)
    this.stopSyslog = onLogLine((l, t) => this.syslog.line(l, t));
    if (this.opts.serve !== false) {
      this.server = new MgmtHttpServer(
        {
          exec: (c, u, via) => this.exec(c, u, via),
          config: (f) => this.configText(f),
          commands: () => this.commandList(),
          health: () => ({ status: 'ok', commit: this.store.runningSeq }),
        },
        ensureToken(this.opts.stateDir),
      );
    }
    let initial: ConfigTree | undefined;
    const ic = this.opts.initialConfig;
    if (typeof ic === 'string') {
      const text = readFileSync(ic, 'utf8');
      try {
        initial = parseConfig(text, detectNotation(text, ic));
      } catch (e) {
        throw new Error(`${ic}: ${(e as Error).message}`);
      }
    } else if (ic) initial = ic;
    await this.store.open(initial);
    if (this.server) await this.server.listenUnix(socketPath(this.opts.stateDir));
  }

  async stop(): Promise<void> {
    this.store.close();
    this.stopSyslog?.();
    this.stopSyslog = undefined;
    await this.syslog.close();
    await this.server?.close();
    this.server = undefined;
    await this.netconf?.set(undefined);
    await this.sshCli?.set(undefined);
    await this.grpc?.set(undefined);
  }

  /** Run CLI commands as one session; stops at the first error (which carries `error`). */
  async exec(commands: string[], user = 'root', via = 'api'): Promise<ExecResult[]> {
    const s = new CommandSession(this.store, this.commands, user, via);
    const out: ExecResult[] = [];
    for (const c of commands) {
      const r = await s.run(c);
      out.push(r);
      if (r.error !== undefined) break;
    }
    return out;
  }

  configText(format: string): string {
    if (!NOTATIONS.includes(format as Notation)) throw new Error(`format must be one of ${NOTATIONS.join(', ')}`);
    return printConfig(this.store.running, format as Notation);
  }

  commandList(): Array<{ path: string[]; help: string }> {
    return [...CommandSession.builtins(this.store), ...this.commands].map((c) => ({ path: c.path, help: c.help }));
  }

  /** Where NETCONF over SSH listens, when `system services netconf ssh` is configured. */
  netconfAddress(): { address: string; port: number } | undefined {
    return this.netconf?.address();
  }

  /** Where the CLI over SSH listens, when `system services ssh` is configured. */
  sshAddress(): { address: string; port: number } | undefined {
    return this.sshCli?.address();
  }

  /** Where the gRPC management API listens, when `system services grpc` is configured. */
  grpcAddress(): { address: string; port: number } | undefined {
    return this.grpc?.address();
  }

  /** Where the REST API listens over TCP, when `system services rest` is configured. */
  restAddress(): { address: string; port: number } | undefined {
    const a = this.server?.tcpAddress();
    return a ? { address: a.address, port: a.port } : undefined;
  }
}
