/**
 * The CNI service: cnr-cni's commands run inside the controller process, reached by the
 * bin/cnr-cni shim over `<stateDir>/cni.sock` (framing in frame.ts). A runtime's call then
 * costs a bash start and one `nc` instead of a Node start (about 100 ms here), and the
 * commit goes straight to the in-process Controller instead of through mgmt.sock.
 *
 * The code is the plugin's own (plugin.ts runCommand); only the controller dependency
 * differs. Whoever can connect to the socket can attach and detach pods, so it is made
 * mode 0600 in the controller's 0700 state directory: root only, as a containerd socket.
 * The file locks of state.ts work the same whether the holder is this process or a Node
 * plugin started by the shim's fallback, so both never interleave on one commit.
 */
import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { connectController, resultTexts, type ControllerConfig } from './controller.js';
import { CniError, ErrorCode } from './errors.js';
import { decodeRequest, encodeReply, FrameError, MAX_REQUEST } from './frame.js';
import { outputText, runCommand, type Deps } from './plugin.js';
import { LATEST_VERSION } from './result.js';
import { netlinkAvailable } from './netlink.js';
import type { ExecResult } from '../controller/mgmt/command-session.js';

export function cniSocketPath(stateDir: string): string {
  return join(stateDir, 'cni.sock');
}

export interface CniServiceOptions {
  /** the controller's state directory: the socket goes there */
  stateDir: string;
  /** the in-process controller's command execution (Controller.exec) */
  exec(commands: string[], user: string, via: string): Promise<ExecResult[]>;
  log?: (msg: string) => void;
}

/** How long one connection may take to send its request. */
const REQUEST_TIMEOUT_MS = 30_000;
/** How long stop() waits for requests still running (an ADD half done is worse than a slow stop). */
const DRAIN_MS = 20_000;

export class CniService {
  private server: Server | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private readonly sockets = new Set<Socket>();
  private readonly deps: Deps;
  private readonly log: (msg: string) => void;
  readonly path: string;

  constructor(opts: CniServiceOptions) {
    this.path = cniSocketPath(opts.stateDir);
    this.log = opts.log ?? (() => {});
    const mine = resolve(opts.stateDir);
    const local: ControllerConfig = {
      exec: async (commands) => {
        let results: ExecResult[];
        try {
          results = await opts.exec(commands, 'cnr-cni', 'cni');
        } catch (err) {
          throw new CniError(ErrorCode.TryAgainLater, `controller: ${(err as Error).message}`);
        }
        return resultTexts(results);
      },
    };
    // A config naming another controller's state directory is served through that one's
    // management socket, as the plugin process would.
    this.deps = { controller: async (dir) => (resolve(dir) === mine ? local : connectController(dir)) };
  }

  async start(): Promise<void> {
    netlinkAvailable(); // loads libc through koffi now rather than in the first ADD
    try {
      unlinkSync(this.path);
    } catch {
      // no stale socket
    }
    // half-open: the shim closes its side after the request and still reads the reply
    const srv = createServer({ allowHalfOpen: true }, (s) => this.accept(s));
    await new Promise<void>((res, rej) => {
      srv.once('error', rej);
      srv.listen(this.path, () => res());
    });
    chmodSync(this.path, 0o600);
    this.server = srv;
  }

  /** Stops accepting, lets running requests finish (bounded), removes the socket. */
  async stop(): Promise<void> {
    const srv = this.server;
    if (!srv) return;
    this.server = undefined;
    const closed = new Promise<void>((res) => srv.close(() => res()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise<void>((r) => (timer = setTimeout(r, DRAIN_MS)))]);
    clearTimeout(timer);
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private accept(s: Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => {});
    s.setTimeout(REQUEST_TIMEOUT_MS, () => s.destroy());
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    s.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_REQUEST) tooBig = true;
      else chunks.push(b);
    });
    s.on('end', () => {
      s.setTimeout(0);
      const job = this.serve(Buffer.concat(chunks), tooBig).then(
        (reply) => {
          s.end(reply);
        },
        (err: unknown) => {
          this.log(`cni service: ${(err as Error).message}`);
          s.destroy();
        },
      );
      this.inflight.add(job);
      void job.finally(() => this.inflight.delete(job));
    });
  }

  private async serve(buf: Buffer, tooBig: boolean): Promise<Buffer> {
    let req;
    try {
      if (tooBig) throw new FrameError(`request larger than ${MAX_REQUEST} bytes`);
      req = decodeRequest(buf);
    } catch (err) {
      const e = new CniError(ErrorCode.DecodeFailure, `cnr-cni service: malformed request: ${(err as Error).message}`);
      return encodeReply(1, JSON.stringify(e.toJSON(LATEST_VERSION)) + '\n');
    }
    const out = await runCommand(req.vars, req.stdin, this.deps);
    return encodeReply(out.exitCode, outputText(out));
  }
}
