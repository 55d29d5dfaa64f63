/**
 * The vRouter as a switch for the L2 switching benchmark (bench/l2-switching.bench.ts): its own
 * process in the switch's namespace, one worker, two trunk ports carrying VLANs 10 and 20 (a
 * bridge domain each), learning from real frames like any switch. Prints "ready" when
 * switching; a line "macs" on stdin answers "macs N" (MACs learned, all domains); on SIGTERM
 * prints "dropstats {...}" and "counters {...}", then exits 0.
 *
 *   node l2-vrouter.js '{"driver":"af-packet","ports":["p1","p2"],"vlans":[10,20]}'
 */
import { createInterface } from 'node:readline';
import { createDataplane } from '../../src/dataplane/dataplane.js';
import { exitOnSigterm } from './vrouter-exit.js';

export interface L2VrouterConfig {
  driver: 'af-packet' | 'af-xdp';
  ports: string[];
  vlans: number[];
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as L2VrouterConfig;
  const keepAlive = setInterval(() => {}, 1 << 30);
  const dp = createDataplane({ workers: 1 });
  for (const [i, name] of cfg.ports.entries()) await dp.addVif({ name, driver: cfg.driver, mac: `02:cc:12:00:00:${(i + 1).toString(16).padStart(2, '0')}` });
  for (const vlan of cfg.vlans) dp.setBridgeDomain({ name: `bd${vlan}`, vlan });
  for (const name of cfg.ports) dp.setBridgePort(name, { mode: 'trunk', vlans: cfg.vlans });
  await dp.start();
  console.log('ready');
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() === 'macs') console.log(`macs ${dp.listMacs().length}`);
  });
  exitOnSigterm(dp, keepAlive);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
