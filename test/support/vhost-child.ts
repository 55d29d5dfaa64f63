/**
 * Child process of src/dataplane/vhost.test.ts, which spawns it by its path in dist/ and runs
 * it inside the router's namespace: a data plane with one AF_PACKET vif and vhost0 toward the
 * namespace's own kernel, one forwarding worker. Prints "ready", then on SIGTERM prints
 * "counters {...}", "dropstats {...}" and "vifs [...]" and exits 0. `mtu`: the vif's MTU.
 * Lines on stdin: {"acl": {"vif", "direction", "rules"}} sets a filter (answers "acl-set"),
 * {"stats": true} prints "stats {counters, vifs, acls}".
 */
import { createInterface } from 'node:readline';
import { createDataplane } from '../../src/dataplane/dataplane.js';
import type { AclRule } from '../../src/dataplane/api.js';

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as { vif: string; mac: string; addresses: string[]; mtu?: number };
  const dp = createDataplane({ workers: 1, vhost: true });
  await dp.addVif({ name: cfg.vif, driver: 'af-packet', mac: cfg.mac, addresses: cfg.addresses, ...(cfg.mtu !== undefined ? { mtu: cfg.mtu } : {}) });
  await dp.start();
  await dp.hostSettled();
  console.log('ready');
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`counters ${JSON.stringify(dp.counters())}`);
    console.log(`dropstats ${JSON.stringify(Object.fromEntries(Object.entries(dp.dropStats()).filter(([, v]) => v > 0)))}`);
    console.log(`vifs ${JSON.stringify(dp.listVifs())}`);
    await dp.stop();
    process.exit(0);
  };
  createInterface({ input: process.stdin }).on('line', (line) => {
    const m = JSON.parse(line) as { acl?: { vif: string; direction: 'input' | 'output'; rules: AclRule[] }; stats?: boolean };
    if (m.acl) {
      dp.setAcl(m.acl.vif, m.acl.rules, m.acl.direction);
      console.log('acl-set');
    }
    if (m.stats) console.log(`stats ${JSON.stringify({ counters: dp.counters(), vifs: dp.listVifs(), acls: dp.listAcls() })}`);
  });
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
