/**
 * Introspect: a small read-only HTTP/JSON view of the running vRouter (the `cnr vif`,
 * `cnr nh`, `cnr rt`, `cnr mpls`, `cnr dropstats` and `cnr acl` commands read it). Every answer comes
 * straight from the Dataplane listing calls; this file only maps URLs onto them.
 *
 *   GET /vif                      interfaces with counters
 *   GET /nh                       next hops
 *   GET /rt?vrf=NAME&family=inet|inet6[&limit=N]   routes of one VRF
 *   GET /rt/count[?vrf=NAME]      how many routes per VRF and family (counters, no walk)
 *   GET /mpls                     incoming label table
 *   GET /dropstats                drop counters by reason
 *   GET /stats                    packet and byte counters per vif and VRF
 *   GET /acl                      ingress filters per vif, with hits per rule
 *   GET /mac[?bd=NAME]            the MAC table (L2), of one bridge domain or all
 *   GET /bd                       bridge domains (L2)
 *
 * Bound to 127.0.0.1 unless the caller asks otherwise: it is a local debugging door.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dataplane, RouteInfo } from './api.js';

export const DEFAULT_INTROSPECT_PORT = 8085;

export interface IntrospectOptions {
  host?: string;
  /** 0 picks a free port (tests) */
  port?: number;
}

export interface IntrospectHandle {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function family(v: string | null): 4 | 6 {
  if (v === null || v === 'inet' || v === '4' || v === 'ipv4') return 4;
  if (v === 'inet6' || v === '6' || v === 'ipv6') return 6;
  throw new HttpError(400, `family must be inet or inet6, not '${v}'`);
}

/** The JSON body for one GET, or an HttpError. */
export function answer(dp: Dataplane, url: URL): unknown {
  switch (url.pathname) {
    case '/vif':
      return dp.listVifs();
    case '/nh':
      return dp.listNexthops();
    case '/rt': {
      const vrf = url.searchParams.get('vrf') ?? 'default';
      const fam = family(url.searchParams.get('family'));
      const limitText = url.searchParams.get('limit');
      const limit = limitText === null ? Infinity : Number(limitText);
      if (!Number.isInteger(limit) && limit !== Infinity) throw new HttpError(400, `limit must be an integer, not '${limitText}'`);
      let routes: RouteInfo[];
      try {
        routes = dp.listRoutes(vrf, fam);
      } catch (e) {
        throw new HttpError(404, e instanceof Error ? e.message : String(e));
      }
      return limit < routes.length ? routes.slice(0, limit) : routes;
    }
    case '/rt/count': {
      // counters, not a walk: cheap at any table size (a million-route listing takes seconds)
      const vrf = url.searchParams.get('vrf') ?? undefined;
      if (!dp.routeCounts) throw new HttpError(404, 'this data plane keeps no route counts');
      try {
        return dp.routeCounts(vrf);
      } catch (e) {
        throw new HttpError(404, e instanceof Error ? e.message : String(e));
      }
    }
    case '/mpls':
      return dp.listLabels();
    case '/dropstats':
      return dp.dropStats();
    case '/stats':
      return dp.stats();
    case '/acl':
      return dp.listAcls?.() ?? [];
    case '/mac': {
      const bd = url.searchParams.get('bd') ?? undefined;
      try {
        return dp.listMacs?.(bd) ?? [];
      } catch (e) {
        throw new HttpError(404, e instanceof Error ? e.message : String(e));
      }
    }
    case '/bd':
      return dp.listBridgeDomains?.() ?? [];
    case '/nbr':
      return dp.listNeighbors?.() ?? [];
    case '/':
      return { endpoints: ['/vif', '/nh', '/rt?vrf=NAME&family=inet|inet6', '/rt/count[?vrf=NAME]', '/mpls', '/dropstats', '/stats', '/acl', '/mac?bd=NAME', '/bd', '/nbr'] };
    default:
      throw new HttpError(404, `no such endpoint: ${url.pathname}`);
  }
}

function handle(dp: Dataplane, req: IncomingMessage, res: ServerResponse): void {
  let status = 200;
  let body: unknown;
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `method ${req.method} not allowed: introspect is read-only`);
    body = answer(dp, new URL(req.url ?? '/', 'http://introspect'));
  } catch (e) {
    status = e instanceof HttpError ? e.status : 500;
    body = { error: e instanceof Error ? e.message : String(e) };
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(req.method === 'HEAD' ? undefined : text);
}

export function startIntrospect(dp: Dataplane, opts: IntrospectOptions = {}): Promise<IntrospectHandle> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer((req, res) => handle(dp, req, res));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_INTROSPECT_PORT, host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      resolve({
        host,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
