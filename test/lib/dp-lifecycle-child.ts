/**
 * A bare data-plane script for the lifecycle tests, run inside a namespace:
 * `node dp-lifecycle-child.js WORKERS IFNAME [start]`. It creates the data plane, adds IFNAME
 * as an af-packet vif, optionally starts it, prints "started" and then does nothing else: a
 * running data plane must hold the process alive on its own. On SIGTERM it stops the data
 * plane, prints "stats {counters}" and returns, so the process must then exit by itself.
 */
import { createDataplane } from '../../src/dataplane/dataplane.js';

const [workers, ifname, start] = process.argv.slice(2);
const dp = createDataplane({ workers: Number(workers) });
try {
  await dp.addVif({ name: ifname!, driver: 'af-packet', addresses: ['10.77.0.1/24'] });
} catch (e) {
  console.log(`error ${(e as Error).message}`);
  process.exitCode = 2;
  await dp.stop();
}
if (process.exitCode !== 2) {
  process.once('SIGTERM', () => {
    void dp.stop().then(() => console.log(`stats ${JSON.stringify(dp.counters())}`));
  });
  if (start === 'start') await dp.start();
  console.log('started');
}
