/**
 * Stage breakdown of FIB programming, all in one process and one thread (no gRPC), each stage's
 * CPU time measured on its own: the RIB filling, FIB export's batching and encoding, the agent's
 * decoding, the programmer over a real data plane (workers: 0; CNR_FIB_STAGES_RESYNC=1: inside a
 * resync, as `cnr start` loads its first table). Run after a build:
 * `node dist/bench/lib/fib-stages.js [routes]`. A development tool, not a benchmark figure.
 */
import { decodeControllerMessage, encodeRoutesPacked } from '../../src/api/codec.js';
import { ipv4PrefixCode } from '../../src/lib/addr.js';
import { Programmer } from '../../src/agent/programmer.js';
import { FibExport } from '../../src/controller/rib/fib-export.js';
import { Rib } from '../../src/controller/rib/rib.js';
import type { RibRoute } from '../../src/controller/rib/types.js';
import { createDataplane } from '../../src/dataplane/dataplane.js';

const GATEWAYS = ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'];
const n = Number(process.argv[2] ?? 1_000_000);

function cpu<T>(what: string, fn: () => T): T {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = fn();
  const c = process.cpuUsage(c0);
  console.log(`${what.padEnd(40)} ${((c.user + c.system) / 1e6).toFixed(3)} CPU-s  ${((performance.now() - t0) / 1000).toFixed(3)} s`);
  return r;
}

// CNR_FIB_STAGES=agent: the agent's stages alone, over batches encoded here (no RIB in the heap, as in the vRouter process)
const agentOnly = process.env['CNR_FIB_STAGES'] === 'agent';
const bufs = agentOnly ? encodeDirect() : controllerStages();

function encodeDirect(): Buffer[] {
  const sets = GATEWAYS.map((ip) => ({ action: 'FORWARD' as const, nexthops: [{ ip, interface: 'fib0' }] }));
  const out: Buffer[] = [];
  for (let k = 0; k < n; k += 2000) {
    const codes: number[] = [];
    const refs: number[] = [];
    for (let i = k; i < Math.min(n, k + 2000); i++) {
      codes.push(ipv4PrefixCode((((16 + (i >>> 16)) << 24) | (((i >>> 8) & 255) << 16) | ((i & 255) << 8)) >>> 0, 24));
      refs.push(1 + (i & 3));
    }
    out.push(encodeRoutesPacked(out.length + 1, '', sets, codes, refs));
  }
  return out;
}

function controllerStages(): Buffer[] {
  // as BGP's decision process hands routes to the RIB: prefix values, one shared route per next hop
  const prefixes = Array.from({ length: n }, (_, i) => ipv4PrefixCode((((16 + (i >>> 16)) << 24) | (((i >>> 8) & 255) << 16) | ((i & 255) << 8)) >>> 0, 24));
  const shared = GATEWAYS.map((gateway): RibRoute => ({ prefix: '', protocol: 'bgp', preference: 170, nexthops: [{ gateway }] }));
  const rib = new Rib();
  const queue = rib.fibQueue(() => {});
  rib.announce('inet.0', 'direct:fib0', { prefix: '10.0.0.0/24', protocol: 'direct', preference: 0, nexthops: [{ interface: 'fib0' }] });
  cpu('RIB announceSharedKey', () => {
    for (let i = 0; i < n; i++) rib.announceSharedKey('inet.0', 'bgp', prefixes[i]!, shared[i & 3]!);
  });
  // the export's batching and encoding, through its private nextChange (the same code the stream runs)
  const exp = new FibExport(rib, { address: '127.0.0.1:1', batchSize: Number(process.env['CNR_FIB_BATCH'] ?? 2000) });
  const e = exp as unknown as { routes: unknown; prefixForm: string; nextChange(): { encode(seq: number, form: string): Buffer } | undefined };
  e.routes = queue;
  e.prefixForm = process.env['CNR_FIB_FORM'] ?? 'packed';
  const bufs = cpu('export: drain + batch + encode', () => {
    const out: Buffer[] = [];
    let seq = 0;
    for (let m = e.nextChange(); m; m = e.nextChange()) out.push(m.encode(++seq, e.prefixForm));
    return out;
  });
  console.log(`  ${bufs.length} messages, ${(bufs.reduce((s, b) => s + b.length, 0) / n).toFixed(1)} bytes per route`);
  return bufs;
}
// (the RIB's garbage collected first, when node runs with --expose-gc: the agent's stages alone)
(globalThis as { gc?: () => void }).gc?.();
const msgs = cpu('agent: decode', () => bufs.map((b) => decodeControllerMessage(b)));
const dp = createDataplane({ workers: 0 });
const p = new Programmer(dp);
await p.applyInterface({ name: 'fib0', driver: 'MEMORY', addresses: ['10.0.0.1/24'] });
// CNR_FIB_STAGES_RESYNC=1: the routes applied inside a resync, as `cnr start` loads its first table (BGP's initial sync holds the end)
const inResync = process.env['CNR_FIB_STAGES_RESYNC'] === '1';
if (inResync) p.beginResync();
cpu(`agent: programmer + data plane${inResync ? ' (in a resync)' : ''}`, () => {
  for (const m of msgs) {
    const r = p.applyRoutes(m.routes!);
    if (r.failures.length) throw new Error(JSON.stringify(r.failures.slice(0, 2)));
  }
});
console.log(`  data plane holds ${dp.routeCounts!('default')[0]!.inet} IPv4 routes`);
process.exit(0);
