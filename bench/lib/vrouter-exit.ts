/**
 * How a benchmark's vRouter child (fwd-vrouter.ts, l2-vrouter.ts) ends: on SIGTERM it prints
 * "dropstats {...}" and "counters {...}" for the benchmark to read, stops the data plane and
 * exits 0.
 */
import type { VRouterDataplane } from '../../src/dataplane/dataplane.js';

export function exitOnSigterm(dp: VRouterDataplane, keepAlive: NodeJS.Timeout): void {
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    console.log(`dropstats ${JSON.stringify(dp.dropStats())}`);
    console.log(`counters ${JSON.stringify(dp.counters())}`);
    void dp.stop().then(() => {
      clearInterval(keepAlive);
      process.exit(0);
    });
  });
}
