/**
 * The controller side of the agent tests as a child process, so that it can run inside a
 * lab namespace and be killed like a real controller: `node agent-controller-child.js
 * AGENT_ADDRESS CONFIG_SET_TEXT_FILE`. It builds the RIB from the configuration, exports it
 * to the agent, prints "synced N" each time a (re)sync with the agent completes (N counts
 * reconnects), and runs until killed.
 */
import { readFileSync } from 'node:fs';
import { loadSet } from '../../src/controller/config/notation-set.js';
import { Rib } from '../../src/controller/rib/rib.js';
import { FibExport } from '../../src/controller/rib/fib-export.js';
import { RibService } from '../../src/controller/rib/service.js';

async function main(): Promise<void> {
  const [address, file] = process.argv.slice(2);
  if (!address || !file) throw new Error('usage: agent-controller-child AGENT_ADDRESS CONFIG_FILE');
  const rib = new Rib();
  const fib = new FibExport(rib, { address, backoffMinMs: 20, backoffMaxMs: 200, log: (l) => console.error(l) });
  const svc = new RibService(rib, { fib });
  const cfg = loadSet(readFileSync(file, 'utf8'));
  const errors = svc.validate(cfg);
  if (errors.length) throw new Error(errors.join('\n'));
  await svc.apply(cfg);
  fib.start();
  let synced = false;
  setInterval(() => {
    const s = fib.status();
    if (s.synced && !synced && s.pending === 0 && s.inflight === 0) console.log(`synced ${s.reconnects}`);
    synced = s.synced && s.pending === 0 && s.inflight === 0 ? true : s.synced ? synced : false;
  }, 10);
  process.on('SIGTERM', () => {
    void fib.stop().then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
