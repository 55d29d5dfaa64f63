/**
 * The floor of the forwarding benchmark: the cheapest userspace forwarder cnr's own I/O makes on
 * these veths. cnr's af-packet or af-xdp driver (src/dataplane/io, opened as the data plane opens
 * them: offloads off on its ports, the same rings, pool and slot size) moves every frame received
 * on one port to the other, with no parse, no lookup and no rewrite, in a worker thread that
 * polls and sleeps as the data plane's forwarding worker does (worker/worker.ts: keep polling for
 * CNR_IDLE_SPIN_US after the last frame, then poll() on the sockets). What the benchmark measures
 * on it is what any userspace forwarder pays for the packet-socket (or XDP-socket) path of a
 * veth; the difference to cnr's full data plane is cnr's own code (graph, FIB lookup, rewrite).
 * A benchmark program, not a mode of the product. Frames arriving on the out port are dropped.
 *
 *   node fwd-floor.js '{"driver":"af-packet","in":"r1","out":"r2"}'
 *
 * Prints "ready" once forwarding; on SIGTERM stops the thread and prints
 * "floor {rx, tx, txRefused}" (frames taken, queued for transmit, refused by a full ring).
 * The thread names itself cnr-fwd-floor, so the benchmark reads its CPU as it reads cnr's worker's.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { PacketPool, SLOT_SIZE } from '../../src/dataplane/pool.js';
import { BURST, DEFAULT_IDLE_SPIN_US, idleSpinMs, setThreadTimerSlack, WORKER_TIMER_SLACK_NS } from '../../src/dataplane/worker/engine.js';
import type { IoDriver } from '../../src/dataplane/io/driver.js';
import { pollReadable } from '../../src/sys/libc.js';
import { nameThisThread } from '../../src/sys/thread-name.js';

export interface FwdFloorConfig {
  /** af-packet-v3: a TPACKET_V3 block receive ring on `in` (bench/lib/tpacket-v3-rx.ts), cnr's af-packet on `out` */
  driver: 'af-packet' | 'af-xdp' | 'af-packet-v3';
  in: string;
  out: string;
}

/** as the data plane's default pool (dataplane.ts) */
const POOL_SIZE = 4096;
/** poll()'s timeout when idle, as worker.ts */
const IDLE_POLL_MS = 20;

async function open(driver: 'af-packet' | 'af-xdp', ifname: string): Promise<IoDriver> {
  if (driver === 'af-packet') return (await import('../../src/dataplane/io/af-packet.js')).openAfPacket(ifname, { frameSize: SLOT_SIZE });
  return (await import('../../src/dataplane/io/af-xdp.js')).openAfXdp(ifname);
}

async function forwardLoop(): Promise<void> {
  const { cfg, control, spinMs } = workerData as { cfg: FwdFloorConfig; control: SharedArrayBuffer; spinMs: number };
  nameThisThread('cnr-fwd-floor');
  setThreadTimerSlack(WORKER_TIMER_SLACK_NS);
  const stop = new Int32Array(control);
  const pool = new PacketPool(POOL_SIZE, SLOT_SIZE);
  const rx = cfg.driver === 'af-packet-v3' ? (await import('./tpacket-v3-rx.js')).openTpacketV3Rx(cfg.in) : await open(cfg.driver, cfg.in);
  const tx = await open(cfg.driver === 'af-packet-v3' ? 'af-packet' : cfg.driver, cfg.out);
  const vec = new Uint32Array(BURST);
  const fds = [rx.fd, tx.fd];
  const scratch = new Uint8Array(8 * fds.length);
  let taken = 0;
  let queued = 0;
  let busyAt = performance.now();
  parentPort!.postMessage('ready');
  while (Atomics.load(stop, 0) === 0) {
    const n = rx.rxBurst(pool, vec, BURST);
    if (n > 0) {
      taken += n;
      queued += tx.txBurst(pool, vec, 0, n);
    }
    // the out port's own arrivals (none in the benchmark): taken and dropped, as the graph would drop what it does not route
    const back = tx.rxBurst(pool, vec, BURST);
    if (back > 0) pool.freeBurst(vec, 0, back);
    rx.flush();
    tx.flush();
    const now = performance.now();
    if (n > 0 || back > 0) busyAt = now;
    else if (now - busyAt > spinMs) pollReadable(fds, IDLE_POLL_MS, scratch);
  }
  rx.close();
  tx.close();
  parentPort!.postMessage({ rx: taken, tx: queued, txRefused: taken - queued });
}

function main(): void {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as FwdFloorConfig;
  if (cfg.driver !== 'af-packet' && cfg.driver !== 'af-xdp' && cfg.driver !== 'af-packet-v3') throw new Error(`fwd-floor: driver ${String(cfg.driver)}: af-packet, af-xdp or af-packet-v3`);
  const control = new SharedArrayBuffer(4);
  const w = new Worker(fileURLToPath(import.meta.url), { workerData: { cfg, control, spinMs: idleSpinMs() } });
  w.on('message', (m: unknown) => {
    if (m === 'ready') console.log(`ready (idle spin ${process.env['CNR_IDLE_SPIN_US'] ?? DEFAULT_IDLE_SPIN_US} us)`);
    else {
      console.log(`floor ${JSON.stringify(m)}`);
      process.exit(0);
    }
  });
  w.on('error', (e) => {
    console.error(e.stack ?? e.message);
    process.exit(1);
  });
  process.on('SIGTERM', () => Atomics.store(new Int32Array(control), 0, 1));
}

if (isMainThread) main();
else {
  forwardLoop().catch((e: unknown) => {
    throw e;
  });
}
