/**
 * The CNI service: cnr-cni's commands run inside the controller process, reached by the
 * bin/cnr-cni shim (framing in frame.ts). A runtime's call then costs a bash start instead
 * of a Node start (about 100 ms here), and the commit goes straight to the in-process
 * Controller instead of through mgmt.sock: ADD and DEL make the attachment's intent durable
 * in a journal and the service's Committer commits it, concurrent requests' intents in one
 * commit, reconciling at start what a crash left undone (committer.ts). ADD answers once
 * the commit is in the data plane (`programmed`: the FIB export's flushed()), DEL once its
 * intent is durable.
 *
 * Two ways in, both root only:
 * - TCP on 127.0.0.1, an ephemeral port: bash reaches it through its own /dev/tcp, with no
 *   child process at all (a call costs 2.7 ms against 5.7 ms through nc). The port and a
 *   random token are in `<stateDir>/cni.port` (mode 0600, made anew at each start, removed
 *   at stop); a request must carry the token, compared in constant time.
 * - the unix socket `<stateDir>/cni.sock`, mode 0600 (file mode is the authentication, as
 *   for a containerd socket), through OpenBSD nc: for a shim that cannot use the loopback
 *   (another network namespace than the controller's) or cannot read cni.port.
 *
 * The code is the plugin's own (plugin.ts runCommand); only the controller dependency
 * differs. The file locks of state.ts work the same whether the holder is this process or
 * a Node plugin started by the shim's fallback, so both never interleave on one commit.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { Committer } from './committer.js';
import { connectController, resultTexts, type ControllerConfig } from './controller.js';
import { CniError, ErrorCode } from './errors.js';
import { decodeRequest, encodeReply, FrameError, MAX_REQUEST, TruncatedFrame, type Request } from './frame.js';
import { outputText, runCommand, type Deps } from './plugin.js';
import { LATEST_VERSION } from './result.js';
import { netlinkAvailable } from './netlink.js';
import type { ExecResult } from '../controller/mgmt/command-session.js';
import { mark } from '../lib/timeline.js';

export function cniSocketPath(stateDir: string): string {
  return join(stateDir, 'cni.sock');
}

/** `PORT TOKEN\n` of the loopback listener. */
export function cniPortPath(stateDir: string): string {
  return join(stateDir, 'cni.port');
}

function sameToken(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** Inode numbers are reused at once: the change time in nanoseconds tells two files apart. */
function fileId(path: string): string {
  const st = statSync(path, { bigint: true });
  return `${st.ino}:${st.ctimeNs}`;
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

export interface CniServiceOptions {
  /** the controller's state directory: the socket goes there */
  stateDir: string;
  /** the in-process controller's command execution (Controller.exec) */
  exec(commands: string[], user: string, via: string): Promise<ExecResult[]>;
  log?: (msg: string) => void;
  /**
   * Resolves once what the controller has queued for the vRouter so far is acknowledged by
   * its agent (FibExport.flushed), rejecting after `timeoutMs`: ADD answers only then.
   * Without it (a controller with no FIB export) ADD answers once committed.
   */
  programmed?: (timeoutMs: number) => Promise<void>;
  /**
   * The controller's ConfigStore.onApplied: ADD then answers once its commit is applied and
   * programmed, not waiting for the commit record's fsyncs (the committer's journal holds
   * the intent durably meanwhile). Without it, ADD waits for the complete commit.
   */
  onApplied?: (listener: (o: { user: string; via?: string; comment?: string }) => void) => () => void;
  /**
   * Test hook: the committer queues ADDs' and DELs' intents but commits nothing until
   * `committer.resume()`. Defaults to CNR_CNI_PAUSE_COMMITS=1 in the environment (documented
   * in docs/cni.md; for crash tests of a controller process).
   */
  pauseCommits?: boolean;
}

/** Who the service's commands run as, and how they came (the commit record's user and via). */
const CNI_USER = 'cnr-cni';
const CNI_VIA = 'cni';

/** How long one connection may take to send its request. */
const REQUEST_TIMEOUT_MS = 30_000;
/**
 * How long a commit nobody waits for (DELs') waits after the last answer: the runtime is
 * still reading it and the shim exiting, and the commit's CPU would delay them; a runtime
 * tearing pods down one after another sends its next DEL within this, and the commit waits
 * for that one too (up to the committer's MAX_DEFER_UNWAITED_MS).
 */
const COMMIT_IDLE_MS = 30;
/**
 * How long ADD waits for the vRouter to acknowledge its commit: beyond it ADD answers anyway
 * (logged): the configuration is committed, and the FIB export programs it once the agent
 * is back (a vRouter restarting must not make every pod's ADD fail and be torn down).
 */
const PROGRAMMED_WAIT_MS = 10_000;
/** How long stop() waits for requests still running (an ADD half done is worse than a slow stop). */
const DRAIN_MS = 20_000;

export class CniService {
  private server: Server | undefined;
  private tcp: Server | undefined;
  private readonly token = randomBytes(16).toString('hex');
  /** identity (inode and change time) of the socket this service made: stop() removes only that one */
  private socketId = '';
  readonly portPath: string;
  private readonly inflight = new Set<Promise<void>>();
  private readonly sockets = new Set<Socket>();
  private readonly deps: Deps;
  private readonly log: (msg: string) => void;
  readonly path: string;
  /** applies ADDs' and DELs' intents to the controller in the background (committer.ts) */
  readonly committer: Committer;
  private reconciled: Promise<void> = Promise.resolve();
  /** when the last request was answered (performance.now()) */
  private lastReply = 0;

  constructor(opts: CniServiceOptions) {
    this.path = cniSocketPath(opts.stateDir);
    this.portPath = cniPortPath(opts.stateDir);
    this.log = opts.log ?? (() => {});
    const mine = resolve(opts.stateDir);
    const local: ControllerConfig = {
      exec: async (commands) => {
        let results: ExecResult[];
        try {
          results = await opts.exec(commands, CNI_USER, CNI_VIA);
        } catch (err) {
          throw new CniError(ErrorCode.TryAgainLater, `controller: ${(err as Error).message}`);
        }
        return resultTexts(results);
      },
    };
    this.committer = new Committer({
      stateDir: opts.stateDir,
      exec: local.exec,
      log: this.log,
      paused: opts.pauseCommits ?? process.env.CNR_CNI_PAUSE_COMMITS === '1',
      // Wait while a request runs that may still submit (it is not yet blocked on the
      // committer): concurrent ADDs then share a commit. With every request in flight blocked
      // on it, commit at once; with none, a moment after the last answer (DEL).
      deferFor: () => {
        const blocked = this.committer.blockedRequests;
        if (this.inflight.size > blocked) return Infinity;
        return blocked > 0 ? 0 : this.lastReply + COMMIT_IDLE_MS - performance.now();
      },
      ...(opts.programmed ? { programmed: () => opts.programmed!(PROGRAMMED_WAIT_MS) } : {}),
      // only the commits this service's exec makes (user and via as given there)
      ...(opts.onApplied ? { onApplied: (l: (comment: string | undefined) => void) => opts.onApplied!((o) => (o.user === CNI_USER && o.via === CNI_VIA ? l(o.comment) : undefined)) } : {}),
    });
    // A config naming another controller's state directory is served through that one's
    // management socket, as the plugin process would (and commits synchronously).
    this.deps = {
      controller: async (dir) => (resolve(dir) === mine ? local : connectController(dir)),
      committer: (dir) => (resolve(dir) === mine ? this.committer : undefined),
    };
  }

  /** Resolves when the start's reconcile is done and nothing is queued or committing. */
  async settled(): Promise<void> {
    await this.reconciled;
    await this.committer.settled();
  }

  async start(): Promise<void> {
    netlinkAvailable(); // loads libc through koffi now rather than in the first ADD
    // what a crash left uncommitted (or a DEL left behind) is put right in the background
    this.reconciled = this.committer.reconcile().catch((err: unknown) => this.log(`cnr-cni: reconcile at start failed: ${(err as Error).message}`));
    removeFile(this.portPath);
    // half-open: nc closes its side after the request and still reads the reply
    const srv = createServer({ allowHalfOpen: true }, (s) => this.accept(s, false));
    // Bound under a name of its own, then renamed into place: libuv unlinks the bound name
    // when the server closes, which must not take away the socket of a controller started
    // after this one; and the rename replaces a stale socket atomically.
    const bound = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await new Promise<void>((res, rej) => {
      srv.once('error', rej);
      srv.listen(bound, () => res());
    });
    chmodSync(bound, 0o600);
    renameSync(bound, this.path);
    this.socketId = fileId(this.path);
    this.server = srv;
    const tcp = createServer((s) => this.accept(s, true));
    try {
      await new Promise<void>((res, rej) => {
        tcp.once('error', rej);
        tcp.listen(0, '127.0.0.1', () => res());
      });
      const tmp = `${this.portPath}.${process.pid}.tmp`;
      writeFileSync(tmp, `${(tcp.address() as AddressInfo).port} ${this.token}\n`, { mode: 0o600 });
      renameSync(tmp, this.portPath);
      this.tcp = tcp;
    } catch (err) {
      // no loopback here (a namespace whose lo is down): the unix socket still serves
      this.log(`cni service: no loopback listener (${(err as Error).message}); serving ${this.path} only`);
      tcp.close();
    }
  }

  /** Stops accepting, lets running requests finish (bounded), removes the socket and port file. */
  async stop(): Promise<void> {
    const servers = [this.server, this.tcp].filter((x): x is Server => x !== undefined);
    if (servers.length === 0) return;
    this.server = this.tcp = undefined;
    const closed = Promise.all(servers.map((srv) => new Promise<void>((res) => srv.close(() => res()))));
    // A controller started meanwhile on the same state directory keeps its own files.
    try {
      if (readFileSync(this.portPath, 'utf8').includes(this.token)) removeFile(this.portPath);
    } catch {
      // none
    }
    try {
      if (fileId(this.path) === this.socketId) removeFile(this.path);
    } catch {
      // none
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise<void>((r) => (timer = setTimeout(r, DRAIN_MS)))]);
    clearTimeout(timer);
    for (const s of this.sockets) s.destroy();
    await closed;
    await this.reconciled;
    // what is queued is committed now rather than at the next start (bounded)
    await Promise.race([this.committer.settled(), new Promise<void>((r) => (timer = setTimeout(r, DRAIN_MS)))]);
    clearTimeout(timer);
    await this.committer.stop();
  }

  /**
   * One connection, one request. On TCP the request is answered as soon as it is complete
   * (its lengths say when); on the unix socket at the latest when nc half-closes.
   */
  private accept(s: Socket, tcp: boolean): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => {});
    s.setTimeout(REQUEST_TIMEOUT_MS, () => s.destroy());
    const chunks: Buffer[] = [];
    let size = 0;
    let answered = false;
    const answer = (final: boolean) => {
      if (answered) return;
      let req: Request | FrameError;
      if (size > MAX_REQUEST) req = new FrameError(`request larger than ${MAX_REQUEST} bytes`);
      else {
        try {
          req = decodeRequest(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
        } catch (err) {
          if (err instanceof TruncatedFrame && !final) return; // more to come
          req = err instanceof FrameError ? err : new FrameError(String(err));
        }
      }
      if (tcp && !(req instanceof FrameError) && (req.token === undefined || !sameToken(req.token, this.token))) {
        req = new FrameError('the token is missing or wrong');
      }
      answered = true;
      s.setTimeout(0);
      // counted in flight before its first step runs: a DEL submits its intent before its
      // first await, and the committer asks deferFor() right then (it would commit at once,
      // its CPU in the middle of the DEL, taking the DEL for a request no longer running)
      const job = Promise.resolve(req).then((r) => this.serve(r)).then(
        (reply) => {
          mark('cni service: reply written');
          s.end(reply);
        },
        (err: unknown) => {
          this.log(`cni service: ${(err as Error).message}`);
          s.destroy();
        },
      );
      this.inflight.add(job);
      void job.finally(() => {
        this.inflight.delete(job);
        this.lastReply = performance.now();
        this.committer.poke();
      });
    };
    s.on('data', (b: Buffer) => {
      if (size === 0) mark('cni service: request arrives');
      size += b.length;
      if (size <= MAX_REQUEST) chunks.push(b);
      answer(size > MAX_REQUEST);
    });
    s.on('end', () => answer(true));
  }

  private async serve(req: Request | FrameError): Promise<Buffer> {
    if (req instanceof FrameError) {
      const e = new CniError(ErrorCode.DecodeFailure, `cnr-cni service: malformed request: ${req.message}`);
      return encodeReply(1, JSON.stringify(e.toJSON(LATEST_VERSION)) + '\n');
    }
    const out = await runCommand(req.vars, req.stdin, this.deps);
    return encodeReply(out.exitCode, outputText(out));
  }
}
