/**
 * The management API over gRPC (proto/mgmt.proto, package cnr.mgmt.v1): Exec (CLI
 * commands as one session), GetConfig, and Commit (a configuration text loaded into a
 * private candidate and committed in one step), plus the standard health service. Off
 * unless `system services grpc` is configured; 127.0.0.1 unless an address is given;
 * every management call needs the management token as bearer metadata; health checks
 * (grpc.health.v1) answer without it, as orchestrators' probes expect.
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS, protoDir } from '../../api/proto.js';
import { authorized } from './token.js';
import type { ExecResult } from './command-session.js';
import type { ConfigStore } from '../config/store.js';
import { detectNotation, NOTATIONS, parseConfig, printConfig, type Notation } from '../config/notation.js';
import { loadXml, printXml } from '../config/notation-xml.js';
import { CommitError } from '../config/store.js';
import type { ConfigTree } from '../types.js';

export interface GrpcMgmtOps {
  exec(commands: string[], user: string, via: string): Promise<ExecResult[]>;
  store: ConfigStore;
  log(msg: string): void;
}

const FORMATS = [...NOTATIONS, 'xml'] as const;
/** what grpc.health.v1 answers for: the server as a whole ('') and the management service */
const HEALTH_SERVICES = ['', 'cnr.mgmt.v1.Management'];

/** A configuration text in any notation, XML included, as a tree (merged onto `base`). */
export function parseAny(text: string, format: string, base: ConfigTree): ConfigTree {
  return format === 'xml' ? loadXml(text, base) : parseConfig(text, format as Notation, base);
}

function fail(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

export class MgmtGrpcServer {
  private server: grpc.Server | undefined;
  private bound: { address: string; port: number } | undefined;

  constructor(
    private readonly ops: GrpcMgmtOps,
    private readonly token: string,
  ) {}

  address(): { address: string; port: number } | undefined {
    return this.bound;
  }

  /** Serve on (address, port), or stop when `want` is undefined. */
  async set(want: { address: string; port: number } | undefined): Promise<void> {
    if (want && this.bound && want.address === this.bound.address && (want.port === this.bound.port || want.port === 0)) return;
    await this.close();
    if (!want) return;
    const dir = protoDir();
    const mgmt = grpc.loadPackageDefinition(protoLoader.loadSync(join(dir, 'mgmt.proto'), LOADER_OPTIONS)) as unknown as {
      cnr: { mgmt: { v1: { Management: grpc.ServiceClientConstructor } } };
    };
    const health = grpc.loadPackageDefinition(protoLoader.loadSync(join(dir, 'health.proto'), LOADER_OPTIONS)) as unknown as {
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    };
    const server = new grpc.Server();
    server.addService(mgmt.cnr.mgmt.v1.Management.service, {
      Exec: this.unary(async (req: { commands: string[]; user: string }) => {
        const results = await this.ops.exec(req.commands, req.user || 'grpc', 'grpc');
        return {
          results: results.map((r) => ({ command: r.command, text: r.text, json: r.data === undefined ? '' : JSON.stringify(r.data), error: r.error ?? '' })),
        };
      }),
      GetConfig: this.unary(async (req: { format: string }) => {
        const format = req.format || 'text';
        if (!(FORMATS as readonly string[]).includes(format)) throw fail(grpc.status.INVALID_ARGUMENT, `format must be one of ${FORMATS.join(', ')}`);
        const tree = this.ops.store.running;
        return { config: format === 'xml' ? printXml(tree) : printConfig(tree, format as Notation), commit: this.ops.store.runningSeq };
      }),
      Commit: this.unary(async (req: { config: string; format: string; replace: boolean; comment: string; check: boolean; confirmMinutes: number; user: string }) => {
        const format = req.format || (req.config.trimStart().startsWith('<') ? 'xml' : detectNotation(req.config));
        if (!(FORMATS as readonly string[]).includes(format)) throw fail(grpc.status.INVALID_ARGUMENT, `format must be one of ${FORMATS.join(', ')}`);
        const session = this.ops.store.session(true);
        let next: ConfigTree;
        try {
          next = parseAny(req.config, format, req.replace ? {} : session.candidate);
        } catch (e) {
          throw fail(grpc.status.INVALID_ARGUMENT, (e as Error).message);
        }
        session.replace(next);
        try {
          const r = await this.ops.store.commit(session, {
            user: req.user || 'grpc',
            via: 'grpc',
            ...(req.comment ? { comment: req.comment } : {}),
            ...(req.check ? { check: true } : {}),
            ...(req.confirmMinutes ? { confirmMinutes: req.confirmMinutes } : {}),
          });
          return { commit: r.seq ?? this.ops.store.runningSeq, text: r.text };
        } catch (e) {
          throw fail(e instanceof CommitError ? grpc.status.FAILED_PRECONDITION : grpc.status.INTERNAL, (e as Error).message);
        }
      }),
    });
    // health answers anyone (a kubelet's or a load balancer's probe carries no token): it
    // tells only whether the service runs
    server.addService(health.grpc.health.v1.Health.service, {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (!HEALTH_SERVICES.includes(call.request.service)) return cb(fail(grpc.status.NOT_FOUND, `unknown service '${call.request.service}'`));
        cb(null, { status: 'SERVING' });
      },
      Watch: (call: grpc.ServerWritableStream<{ service: string }, unknown>) => {
        // the stream stays open: a status change would follow (the service stops with the server)
        call.write({ status: HEALTH_SERVICES.includes(call.request.service) ? 'SERVING' : 'SERVICE_UNKNOWN' });
      },
    });
    const port = await new Promise<number>((resolve, reject) => {
      const host = want.address.includes(':') ? `[${want.address}]` : want.address;
      server.bindAsync(`${host}:${want.port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    this.server = server;
    this.bound = { address: want.address, port };
    this.ops.log(`grpc management: listening on ${want.address}:${port}`);
  }

  private allowed(md: grpc.Metadata): boolean {
    const v = md.get('authorization')[0];
    return authorized(typeof v === 'string' ? v : v?.toString(), this.token);
  }

  private unary<Req, Res>(f: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, cb) => {
      if (!this.allowed(call.metadata)) return cb(fail(grpc.status.UNAUTHENTICATED, 'missing or wrong bearer token'));
      f(call.request).then(
        (res) => cb(null, res),
        (e: unknown) => cb(e && typeof e === 'object' && 'code' in e ? (e as grpc.ServiceError) : fail(grpc.status.INTERNAL, (e as Error).message)),
      );
    };
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    this.bound = undefined;
    if (s) await new Promise<void>((r) => s.tryShutdown(() => r()));
  }
}
