/**
 * The REST adapter: HTTP/1.1 on the unix socket `<stateDir>/mgmt.sock` (mode 0600) and, when
 * `system services rest` is configured, on TCP. Both require the bearer token, except for
 * `GET /health`, the liveness probe a kubelet or load balancer sends without credentials
 * (it says only that the API answers). It only translates HTTP to the management
 * operations; it has no logic of its own.
 *
 *   POST /api/v1/cli      {"commands": [...], "user"?: "name"} → {"results": [...]} (200 even if a command failed)
 *   GET  /api/v1/config?format=json|set|text|yaml
 *   GET  /api/v1/commands  the operational commands (for completion and help)
 *   GET  /api/v1/health   (authenticated: with the running commit)
 *   GET  /health          (unauthenticated: {"status":"ok"})
 */
import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecResult } from './command-session.js';
import { authorized } from './token.js';

export interface MgmtOperations {
  exec(commands: string[], user: string, via: string): Promise<ExecResult[]>;
  config(format: string): string;
  commands(): Array<{ path: string[]; help: string }>;
  health(): unknown;
}

const MAX_BODY = 8 << 20;

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? `${JSON.stringify(body)}\n` : String(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export class MgmtHttpServer {
  private unix: Server | undefined;
  private tcp: Server | undefined;
  private tcpWant = '';

  constructor(
    private readonly ops: MgmtOperations,
    private readonly token: string,
  ) {}

  private handler(via: string) {
    return (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res, via).catch((e: unknown) => {
        if (!res.headersSent) send(res, 500, { error: (e as Error).message });
        else res.destroy();
      });
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse, via: string): Promise<void> {
    if ((req.method === 'GET' || req.method === 'HEAD') && req.url?.split('?')[0] === '/health') {
      send(res, 200, { status: 'ok' });
      return;
    }
    if (!authorized(req.headers.authorization, this.token)) {
      res.setHeader('www-authenticate', 'Bearer');
      send(res, 401, { error: 'missing or wrong bearer token' });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://cnr');
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'POST /api/v1/cli': {
        let body: { commands?: unknown; user?: unknown };
        try {
          body = JSON.parse(await readBody(req)) as typeof body;
        } catch (e) {
          send(res, 400, { error: `body must be JSON: ${(e as Error).message}` });
          return;
        }
        const cmds = body.commands;
        if (!Array.isArray(cmds) || !cmds.every((c) => typeof c === 'string')) {
          send(res, 400, { error: 'body must be {"commands": ["...", ...]}' });
          return;
        }
        const user = typeof body.user === 'string' && /^[\w.@-]{1,64}$/.test(body.user) ? body.user : via;
        send(res, 200, { results: await this.ops.exec(cmds, user, via) });
        return;
      }
      case 'GET /api/v1/config': {
        const format = url.searchParams.get('format') ?? 'json';
        try {
          const text = this.ops.config(format);
          if (format === 'json') send(res, 200, JSON.parse(text));
          else send(res, 200, text, 'text/plain; charset=utf-8');
        } catch (e) {
          send(res, 400, { error: (e as Error).message });
        }
        return;
      }
      case 'GET /api/v1/commands':
        send(res, 200, { commands: this.ops.commands() });
        return;
      case 'GET /api/v1/health':
        send(res, 200, this.ops.health());
        return;
      default:
        send(res, url.pathname.startsWith('/api/v1/') ? 405 : 404, { error: `no such endpoint: ${route}` });
    }
  }

  async listenUnix(path: string): Promise<void> {
    try {
      unlinkSync(path);
    } catch {
      // no stale socket
    }
    const srv = createServer(this.handler('cli'));
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(path, () => resolve());
    });
    chmodSync(path, 0o600);
    this.unix = srv;
  }

  /** Start, move or stop (`want === undefined`) the TCP listener. */
  async setTcp(want: { port: number; address: string } | undefined): Promise<void> {
    const key = want ? `${want.address}:${want.port}` : '';
    if (key === this.tcpWant) return;
    if (this.tcp) await closeServer(this.tcp);
    this.tcp = undefined;
    this.tcpWant = '';
    if (want) {
      const srv = createServer(this.handler('rest'));
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(want.port, want.address, () => resolve());
      });
      this.tcp = srv;
    }
    this.tcpWant = key;
  }

  tcpAddress(): AddressInfo | undefined {
    const a = this.tcp?.address();
    return a && typeof a === 'object' ? a : undefined;
  }

  async close(): Promise<void> {
    if (this.tcp) await closeServer(this.tcp);
    if (this.unix) await closeServer(this.unix);
    this.tcp = this.unix = undefined;
    this.tcpWant = '';
  }
}

function closeServer(s: Server): Promise<void> {
  return new Promise((resolve) => {
    s.close(() => resolve());
    s.closeAllConnections();
  });
}
