/**
 * The management API client used by `cnr cli` and the CNI plugin: HTTP over the unix
 * socket (or TCP), bearer token from `<stateDir>/mgmt.token`.
 */
import { request } from 'node:http';
import { userInfo } from 'node:os';
import type { ExecResult } from './command-session.js';
import { readToken, socketPath } from './token.js';

export type { ExecResult } from './command-session.js';

export class MgmtError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

type Target = { socketPath: string } | { host: string; port: number };

export class MgmtClient {
  constructor(
    private readonly target: Target,
    private readonly token: string,
    private readonly timeoutMs = 120_000,
  ) {}

  static fromStateDir(stateDir: string): MgmtClient {
    return new MgmtClient({ socketPath: socketPath(stateDir) }, readToken(stateDir));
  }

  static tcp(host: string, port: number, token: string): MgmtClient {
    return new MgmtClient({ host, port }, token);
  }

  /** Run commands in one session; results stop at the first failing command. */
  async exec(commands: string[], user = defaultUser()): Promise<ExecResult[]> {
    const r = (await this.call('POST', '/api/v1/cli', { commands, user })) as { results: ExecResult[] };
    return r.results;
  }

  async config(format: 'json' | 'set' | 'text' | 'yaml' = 'json'): Promise<unknown> {
    return this.call('GET', `/api/v1/config?format=${format}`);
  }

  async commands(): Promise<Array<{ path: string[]; help: string }>> {
    return ((await this.call('GET', '/api/v1/commands')) as { commands: Array<{ path: string[]; help: string }> }).commands;
  }

  async health(): Promise<unknown> {
    return this.call('GET', '/api/v1/health');
  }

  private call(method: string, path: string, body?: unknown): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          ...this.target,
          // A new connection per call, never a kept-alive one: the server closes a connection 5 s
          // after its last answer (keepAliveTimeout), and when the controller's event loop has been
          // busy longer than that (a large BGP ingest on a loaded machine) the timer fires before
          // the server reads the request already waiting on the connection, which it then resets:
          // "read ECONNRESET" (bgp-production-path's GoBGP case, 9 of ~50 runs under load). A POST
          // may commit configuration, so it is not retried; a unix-socket connection costs tens of
          // microseconds.
          agent: false,
          method,
          path,
          headers: {
            authorization: `Bearer ${this.token}`,
            ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const isJson = (res.headers['content-type'] ?? '').startsWith('application/json');
            let parsed: unknown = text;
            if (isJson) {
              try {
                parsed = JSON.parse(text);
              } catch {
                // leave as text
              }
            }
            if ((res.statusCode ?? 500) >= 400) {
              const msg = (parsed as { error?: string })?.error ?? text;
              reject(new MgmtError(`management API: ${res.statusCode}: ${msg}`, res.statusCode));
            } else resolve(parsed);
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new MgmtError(`management API: no answer within ${this.timeoutMs} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e instanceof MgmtError) reject(e);
        else if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') reject(new MgmtError(`cannot reach the controller (${e.code}): is cnr running?`));
        else reject(e);
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }
}

function defaultUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'cli';
  }
}
