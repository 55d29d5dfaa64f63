/**
 * A forwarding worker thread. It attaches the shared tables, opens the drivers of the vifs
 * the main thread hands it (drivers hold rings and file descriptors that cannot cross
 * threads), and runs the engine in a loop until the stop flag is set. Control messages
 * arrive on a dedicated port read synchronously between bursts, so the loop never has to
 * yield to the event loop; the port is only read when the wake counter the main thread bumps
 * with every message has moved (an empty read still costs a native call per turn). When idle
 * it keeps polling its drivers for a short spin (engine.ts idleSpinMs), then sleeps in poll()
 * on its drivers' sockets and a wake-up eventfd the main thread signals with every control message and at stop(), for
 * at most IDLE_POLL_MS (1 ms when other workers may hand it frames, which do not signal); a
 * vif without a descriptor (memory driver) makes it fall back to 1 ms Atomics.wait naps.
 * With wake-up coalescing on (engine.ts rxCoalesceMs), a turn that received a partial burst
 * is followed by a nap of that length, so that the next turn takes a fuller burst.
 */
import type { KernelFastShared } from '../kfast/kfast.js';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { Tables, type TablesShared } from '../tables/tables.js';
import { BURST, Engine, WORKER_TIMER_SLACK_NS, driverModules, openDriver, setThreadTimerSlack, type DriverKind } from './engine.js';
import type { MemoryDriverShared } from '../io/memory.js';
import type { MemifOptions } from '../io/memif.js';
import { HandoffRing, type HandoffShared } from './handoff.js';
import { drainWakeFd, pollReadable } from '../../sys/libc.js';
import { nameThisThread } from '../../sys/thread-name.js';
import { C_IDLE_SLEEPS, D_POOL_EMPTY, STATS_DROP_BASE } from '../graph/graph-constants.js';

export interface WorkerInit {
  tables: TablesShared;
  /** the kernel fast path (kfast/kfast.ts), when the data plane has one */
  kfast?: KernelFastShared;
  stats: SharedArrayBuffer;
  /** Int32Array: [0] stop flag, [1] wake counter */
  control: SharedArrayBuffer;
  poolSize: number;
  /** bytes per packet slot (pool.ts slotSizeFor) */
  slotSize: number;
  port: MessagePort;
  /** this worker's index and the handoff rings: rings[from][to] (null on the diagonal) */
  index: number;
  rings: (HandoffShared | null)[][];
  /** eventfd the main thread writes to wake this worker (-1: none) */
  wakeFd: number;
  /** how long to keep polling after the last frame before sleeping (engine.ts idleSpinMs) */
  idleSpinMs: number;
  /** how long to sleep after a turn that received a partial burst, 0 for never (engine.ts rxCoalesceMs); absent: 0 */
  rxCoalesceMs?: number;
}

export type ToWorker =
  | { t: 'attach'; vif: number; kind: DriverKind; name: string; memory?: MemoryDriverShared; memif?: MemifOptions; prepared?: number }
  | { t: 'detach'; vif: number }
  | { t: 'request'; vif: number; family: number; w: number[] }
  | { t: 'inject'; vif: number; frame: Uint8Array };

export type FromWorker =
  | { t: 'ready' }
  | { t: 'attached'; vif: number; hwaddr: Uint8Array }
  | { t: 'detached'; vif: number }
  | { t: 'error'; vif: number; message: string }
  /** an fd for the main thread to close (a packet socket's close waits for RCU grace periods: io/af-packet.ts) */
  | { t: 'close'; fd: number }
  | { t: 'learn'; events: Uint32Array }
  /** punted link-layer control frames: [vif, offset, length] per frame into data */
  | { t: 'frames'; meta: Uint32Array; data: Uint8Array }
  | { t: 'stopped' };

export const CTL_STOP = 0;
export const CTL_WAKE = 1;
const IDLE_POLL_MS = 20;

async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  const post = (m: FromWorker) => parentPort!.postMessage(m);
  const tables = Tables.attach(init.tables);
  const stats = new Float64Array(init.stats);
  const engine = new Engine(tables, stats, init.poolSize, init.slotSize, undefined, init.kfast);
  const me = init.index;
  engine.graph.workerIndex = me;
  // "cnr-fwd-N" in top -H, perf and /proc/PID/task/TID/comm (Node names every thread "node")
  nameThisThread(`cnr-fwd-${me}`);
  setThreadTimerSlack(WORKER_TIMER_SLACK_NS);
  engine.connect(
    init.rings[me]!.map((r) => (r ? new HandoffRing(r) : null)),
    init.rings.map((row) => row[me]).filter((r): r is HandoffShared => r !== null && r !== undefined).map((r) => new HandoffRing(r)),
  );
  const mods = await driverModules();
  // closing a packet socket blocks for RCU grace periods: the main thread does it (io/af-packet.ts)
  await import('../io/af-packet.js').then((m) => m.setFdCloser((fd) => post({ t: 'close', fd })), () => {});
  const control = new Int32Array(init.control);
  const spinMs = init.idleSpinMs;
  const coalesceMs = init.rxCoalesceMs ?? 0;
  post({ t: 'ready' });
  /** when the last turn that received something ran (engine.graph.now, ms) */
  let busyAt = 0;
  // what to sleep on when idle: the drivers' fds and the wake fd, rebuilt on attach/detach
  let sleepFds = null as number[] | null;
  const scratch = new Uint8Array(8 * 64);
  const rebuild = () => {
    const fds = init.wakeFd >= 0 ? engine.pollFds() : null;
    sleepFds = fds && fds.length < 63 ? [...fds, init.wakeFd] : null;
  };
  /** the wake counter when the port was last drained (-1: read it on the first turn) */
  let wakeSeen = -1;
  while (Atomics.load(control, CTL_STOP) === 0) {
    // the main thread posts first and bumps the counter after, so a moved counter means a
    // message is queued; read the counter before draining so a later post is not missed
    const wakes = Atomics.load(control, CTL_WAKE);
    for (; wakes !== wakeSeen; ) {
      const r = receiveMessageOnPort(init.port);
      if (!r) {
        wakeSeen = wakes;
        break;
      }
      const m = r.message as ToWorker;
      if (m.t === 'attach') {
        try {
          const drv = openDriver(mods, m.kind, m.name, m.memory, engine.pool.slotSize, m.memif, m.prepared);
          engine.attach(m.vif, drv);
          rebuild();
          post({ t: 'attached', vif: m.vif, hwaddr: drv.hwaddr });
        } catch (e) {
          post({ t: 'error', vif: m.vif, message: (e as Error).message });
        }
      } else if (m.t === 'detach') {
        engine.detach(m.vif);
        rebuild();
        post({ t: 'detached', vif: m.vif });
      } else if (m.t === 'request') {
        engine.request(m.vif, m.family, m.w);
      } else if (m.t === 'inject') {
        if (!engine.inject(m.vif, m.frame)) stats[STATS_DROP_BASE + D_POOL_EMPTY]!++;
      }
    }
    const n = engine.runOnce();
    const ev = engine.takeEvents();
    if (ev) post({ t: 'learn', events: ev });
    const fr = engine.takeFrames();
    if (fr) parentPort!.postMessage({ t: 'frames', meta: fr.meta, data: fr.data } satisfies FromWorker, [fr.meta.buffer as ArrayBuffer, fr.data.buffer as ArrayBuffer]);
    const err = engine.takeError();
    if (err !== undefined) post({ t: 'error', vif: -1, message: `graph: ${(err as Error).stack ?? String(err)}` });
    if (n > 0) {
      busyAt = engine.graph.now;
      // a partial burst: let the next one gather (engine.ts rxCoalesceMs); a control message ends the nap
      if (coalesceMs > 0 && n < BURST) {
        engine.flushAll();
        Atomics.wait(control, CTL_WAKE, Atomics.load(control, CTL_WAKE), coalesceMs);
      }
    } else if (engine.graph.now - busyAt > spinMs) {
      stats[C_IDLE_SLEEPS]!++;
      if (sleepFds) {
        if (pollReadable(sleepFds, engine.hasIncoming ? 1 : IDLE_POLL_MS, scratch) > 0) {
          // the drivers' fds come first, in the engine's order: those that woke us clear their wake-up
          engine.woke(scratch);
          // the wake fd is last: read it only when poll() says it was signalled (revents)
          const revents = (sleepFds.length - 1) * 8 + 6;
          if ((scratch[revents]! | scratch[revents + 1]!) !== 0) drainWakeFd(init.wakeFd);
        }
      } else {
        Atomics.wait(control, CTL_WAKE, Atomics.load(control, CTL_WAKE), 1);
      }
    }
  }
  engine.close();
  post({ t: 'stopped' });
}

main().catch((e: unknown) => {
  parentPort?.postMessage({ t: 'error', vif: -1, message: (e as Error).stack ?? String(e) });
});
