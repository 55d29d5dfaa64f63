/**
 * FIB programming: 1M IPv4 routes from the controller's RIB through FIB export, gRPC and
 * the agent into the data plane, each batch ACKed; routes per second from the first
 * announce to the last ACK. Reference in the same run: the kernel's own route insertion,
 * `ip -batch` of the same 1M routes into a table of a network namespace made for the run
 * (root only). Ratio = cnr / kernel (higher is better).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dataplane } from '../src/dataplane/api.js';
import { AgentServer } from '../src/agent/server.js';
import { createDefaultDataplane } from '../src/agent/vrouter.js';
import { FibExport } from '../src/controller/rib/fib-export.js';
import { Rib } from '../src/controller/rib/rib.js';
import type { BenchResult } from './types.js';

const GATEWAYS = ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'];

function prefixOf(k: number): string {
  return `${16 + (k >>> 16)}.${(k >>> 8) & 255}.${k & 255}.0/24`;
}

export async function measureCnr(n: number, dataplane?: Dataplane): Promise<{ seconds: number; acked: number; ribSeconds: number; rssMb: number }> {
  const dp = dataplane ?? (await createDefaultDataplane({ vhost: false, workers: 1, sizes: { maxNexthops: 1 << 16 } }));
  if (!dataplane) await dp.start();
  const agent = new AgentServer(dp, { address: '127.0.0.1:0' });
  const port = await agent.start();
  const rib = new Rib();
  const exp = new FibExport(rib, { address: `127.0.0.1:${port}` });
  try {
    exp.setInterface('fib0', { name: 'fib0', driver: 'memory', addresses: ['10.0.0.1/24'] });
    rib.announce('inet.0', 'direct:fib0', { prefix: '10.0.0.0/24', protocol: 'direct', preference: 0, nexthops: [{ interface: 'fib0' }] });
    exp.start();
    await exp.whenIdle(30_000);
    const before = exp.status().routesAcked;
    const t0 = performance.now();
    // announce in slices so that export and agent run while the RIB fills, as with BGP
    const slice = 20_000;
    for (let k = 0; k < n; k += slice) {
      const end = Math.min(n, k + slice);
      for (let i = k; i < end; i++) {
        rib.announce('inet.0', 'bgp', { prefix: prefixOf(i), protocol: 'bgp', preference: 170, nexthops: [{ gateway: GATEWAYS[i & 3]! }] });
      }
      await new Promise((r) => setImmediate(r));
    }
    const ribSeconds = (performance.now() - t0) / 1000;
    await exp.whenIdle(600_000);
    const seconds = (performance.now() - t0) / 1000;
    const acked = exp.status().routesAcked - before;
    const routes = dp.listRoutes('default', 4).length;
    if (routes < n) throw new Error(`data plane holds ${routes} routes, expected at least ${n}`);
    return { seconds, acked, ribSeconds, rssMb: Math.round(process.memoryUsage().rss / 1e6) };
  } finally {
    await exp.stop();
    await agent.stop();
    if (!dataplane) await dp.stop();
  }
}

export function measureKernel(n: number): { seconds: number } | { skipped: string } {
  if (process.getuid?.() !== 0) return { skipped: 'not root: no namespace for the kernel reference' };
  const ns = `cnrfib-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'cnrfib-'));
  try {
    execFileSync('ip', ['netns', 'add', ns]);
    const ipn = (...a: string[]) => execFileSync('ip', ['-n', ns, ...a]);
    ipn('link', 'add', 'fib0', 'type', 'veth', 'peer', 'name', 'fib1');
    ipn('addr', 'add', '10.0.0.1/24', 'dev', 'fib0');
    ipn('link', 'set', 'fib0', 'up');
    ipn('link', 'set', 'fib1', 'up');
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(`route add ${prefixOf(i)} via ${GATEWAYS[i & 3]} dev fib0 table 100`);
    const file = join(dir, 'routes.batch');
    writeFileSync(file, lines.join('\n') + '\n');
    const t0 = performance.now();
    const r = spawnSync('ip', ['-n', ns, '-batch', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`ip -batch failed: ${r.stderr.toString().slice(0, 300)}`);
    const count = execFileSync('ip', ['-n', ns, 'route', 'show', 'table', '100'], { maxBuffer: 1 << 30 }).toString().split('\n').filter(Boolean).length;
    if (count < n) throw new Error(`kernel table holds ${count} routes, expected ${n}`);
    return { seconds };
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchResult[]> {
  const n = Number(process.env['CNR_FIB_ROUTES'] ?? 1_000_000);
  const cnr = await measureCnr(n);
  const rate = cnr.acked / cnr.seconds;
  console.log(`fib: cnr ${n} routes RIB -> gRPC -> agent -> data plane, ACKed: ${cnr.seconds.toFixed(2)} s, ${Math.round(rate)} routes/s (RIB announce loop ${cnr.ribSeconds.toFixed(2)} s, RSS ${cnr.rssMb} MB)`);
  const kernel = measureKernel(n);
  const result: BenchResult = { name: `FIB programming, ${n} IPv4 routes with ACKs`, value: Math.round(rate), unit: 'routes/s', notes: `end to end ${cnr.seconds.toFixed(2)} s; target >= 200k routes/s` };
  if ('seconds' in kernel) {
    const kr = n / kernel.seconds;
    console.log(`fib: kernel ip -batch ${n} routes into a namespace table: ${kernel.seconds.toFixed(2)} s, ${Math.round(kr)} routes/s; ratio ${(rate / kr).toFixed(2)}`);
    result.reference = { name: 'kernel ip -batch route add into a netns table', value: Math.round(kr) };
    result.ratio = rate / kr;
  } else {
    console.log(`fib: kernel reference skipped (${kernel.skipped})`);
    result.notes += `; kernel reference skipped: ${kernel.skipped}`;
  }
  return [result];
}
