/**
 * The vRouter's HTTP health endpoint (default 127.0.0.1:9091): GET /healthz answers 200
 * with a JSON body while the agent serves, 503 otherwise. Kubernetes probes and `cnr lab
 * status` read it.
 */
import { createServer, type Server } from 'node:http';

export const DEFAULT_HEALTH_ADDRESS = '127.0.0.1:9091';

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(address);
  if (!m) throw new Error(`invalid address '${address}' (HOST:PORT)`);
  return { host: m[1]!, port: Number(m[2]) };
}

export async function startHealthServer(address: string, status: () => { ok: boolean } & Record<string, unknown>): Promise<HealthServer> {
  const { host, port } = splitHostPort(address);
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/healthz' && req.url !== '/health')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'not found' }));
      return;
    }
    let body: { ok: boolean } & Record<string, unknown>;
    try {
      body = status();
    } catch (err) {
      body = { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    res.writeHead(body.ok ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: body.ok ? 'ok' : 'unhealthy', ...body }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
