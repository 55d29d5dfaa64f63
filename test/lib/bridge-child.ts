/**
 * A two-port frame bridge over the packet drivers, run as a child process inside a namespace
 * by the driver tests: `node bridge-child.js [--worker] af:veth0 tap:tap0`. Every frame read on
 * one port is written to the other, so two hosts on either side talk through our rings.
 * Prints "ready" once both ports are open, and on SIGTERM prints the driver counters as JSON
 * ("stats {...}") and exits 0. With --worker the loop runs in a worker_thread, proving the
 * drivers load koffi per thread.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { PacketPool } from '../../src/dataplane/pool.js';
import type { IoDriver } from '../../src/dataplane/io/driver.js';
import { openAfPacket } from '../../src/dataplane/io/af-packet.js';
import { openTap } from '../../src/dataplane/io/tap.js';
import { openAfXdp } from '../../src/dataplane/io/af-xdp.js';
import { pollReadable } from '../../src/sys/libc.js';

interface Shared {
  ports: string[];
  stop: Int32Array;
}

function open(spec: string, vif: number): IoDriver & { stats(): object } {
  const [kind, name] = spec.split(':') as [string, string];
  if (kind === 'af') return openAfPacket(name, { vif, rxFrames: 1024, txFrames: 1024 });
  if (kind === 'tap') return openTap(name, { vif });
  if (kind === 'xdp') return openAfXdp(name, { vif });
  throw new Error(`bad port '${spec}' (af:IF, xdp:IF or tap:IF)`);
}

const pool = new PacketPool(4096);
const burst = new Uint32Array(256);
const scratch = new Uint8Array(16);

/** Move frames both ways until stop[0] is set (returns false) or `budgetMs` has passed (returns true: call again). */
function bridgeLoop(ports: (IoDriver & { stats(): object })[], stop: Int32Array, budgetMs: number): boolean {
  const fds = ports.map((p) => p.fd);
  const until = Date.now() + budgetMs;
  let idle = 0;
  for (let spins = 0; Atomics.load(stop, 0) === 0; spins++) {
    let moved = 0;
    for (let i = 0; i < 2; i++) {
      const n = ports[i]!.rxBurst(pool, burst, 256);
      if (n > 0) {
        ports[1 - i]!.txBurst(pool, burst, 0, n);
        moved += n;
      }
    }
    ports[0]!.flush();
    ports[1]!.flush();
    if ((spins & 63) === 0 && Date.now() > until) return true;
    // spin a little before sleeping in poll(): a sleep and wake-up per frame costs more than the frame
    if (moved > 0) idle = 0;
    else if (++idle > 512) {
      pollReadable(fds, 10, scratch);
      idle = 0;
    }
  }
  return false;
}

function main(): void {
  const args = process.argv.slice(2);
  const inWorker = args[0] === '--worker';
  const ports = inWorker ? args.slice(1) : args;
  if (ports.length !== 2) throw new Error('usage: bridge-child [--worker] PORT PORT');
  const stop = new Int32Array(new SharedArrayBuffer(4));
  if (inWorker) {
    const w = new Worker(new URL(import.meta.url), { workerData: { ports, stop } satisfies Shared });
    w.on('message', (m: string) => console.log(m));
    w.on('error', (e) => {
      console.error(e);
      process.exitCode = 1;
    });
    process.on('SIGTERM', () => Atomics.store(stop, 0, 1));
    return;
  }
  const drivers = ports.map((p, i) => open(p, i));
  console.log('ready');
  const finish = (): void => {
    console.log(`stats ${JSON.stringify(drivers.map((d) => ({ name: d.name, ...d.stats() })))}`);
    for (const d of drivers) d.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => Atomics.store(stop, 0, 1));
  const tick = (): void => {
    if (bridgeLoop(drivers, stop, 20)) setImmediate(tick);
    else finish();
  };
  tick();
}

if (isMainThread) main();
else {
  const { ports, stop } = workerData as Shared;
  const drivers = ports.map((p, i) => open(p, i));
  parentPort!.postMessage('ready');
  while (bridgeLoop(drivers, stop, 1000));
  parentPort!.postMessage(`stats ${JSON.stringify(drivers.map((d) => ({ name: d.name, ...d.stats() })))}`);
  for (const d of drivers) d.close();
}
