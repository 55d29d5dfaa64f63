/**
 * The forwarding benchmark's vRouter: the real data plane (createDataplane, as `cnr vrouter`
 * builds it) in a child process inside the router's namespace, with the benchmark's 1M-route
 * FIB: randomPrefixes4(N, SEED), the set the kernel reference gets through route-loader.ts and
 * the generator draws its destinations from, every route toward the sink's next hop. The
 * routes go straight into the IPv4 LPM table (route programming has its own benchmark); the
 * config travels as one JSON argument, the routes are generated here (1M routes do not fit
 * in an argument). Prints "ready" when forwarding, and on SIGTERM "dropstats {...}" and
 * "counters {...}", then exits 0.
 *
 *   node fwd-vrouter.js '{"workers":1,"driver":"af-packet","in":"r1","out":"r2","inMac":..,"outMac":..,"sinkMac":..,"routes":1000000,"seed":1}'
 */
import { createDataplane } from '../../src/dataplane/dataplane.js';
import { randomPrefixes4 } from '../../test/support/random.js';
import { exitOnSigterm } from './vrouter-exit.js';

export interface FwdVrouterConfig {
  workers: number;
  driver: 'af-packet' | 'af-xdp';
  in: string;
  out: string;
  inMac: string;
  outMac: string;
  sinkMac: string;
  routes: number;
  seed: number;
  maxMtu?: number;
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as FwdVrouterConfig;
  const keepAlive = setInterval(() => {}, 1 << 30);
  const dp = createDataplane({ workers: cfg.workers, ...(cfg.maxMtu ? { maxMtu: cfg.maxMtu } : {}) });
  await dp.addVif({ name: cfg.in, driver: cfg.driver, mac: cfg.inMac, addresses: ['10.1.0.1/24'] });
  await dp.addVif({ name: cfg.out, driver: cfg.driver, mac: cfg.outMac, addresses: ['10.2.0.1/24'] });
  const nh = dp.addNexthop({ type: 'encap', vif: cfg.out, dmac: cfg.sinkMac });
  const routes = randomPrefixes4(cfg.routes, cfg.seed);
  const w = new Uint32Array(1);
  for (let k = 0; k < routes.addr.length; k++) {
    w[0] = routes.addr[k]!;
    dp.tables.lpm4.insert(0, w, routes.len[k]!, nh);
  }
  await dp.start();
  console.log(`ready ${dp.tables.lpm4.routeCount(0)}`);
  exitOnSigterm(dp, keepAlive);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
