/**
 * `cnr start` with its vRouter in a worker thread (the default; `--vrouter-thread off` or
 * CNR_VROUTER_THREAD=0 keeps it on the main thread): the controller keeps
 * the main thread (BGP, RIB, decision, FIB export, management), the vRouter's agent programs
 * the data plane on a thread of its own, so that on a machine with two cores the two halves
 * of a full table's load overlap instead of taking turns on one event loop. The Program
 * stream is the in-process link (FibExport's LocalAgentLink) carried over the worker's port:
 * the same messages in the same order (structured-cloned: a packed batch is a copy of its
 * few kilobytes), the same replies, ACKs, replay, resync and stream replacement as calls into
 * an agent on the main thread. The agent's unary rpcs and the Frames stream stay on gRPC (its
 * port, as in both other layouts); introspect and health are served by the thread. The main
 * thread holds no Dataplane object: the route trace reads the agent's route count from a
 * shared int32, the Prometheus exposition asks the thread for the data plane's counters per scrape.
 */
import { Worker } from 'node:worker_threads';
import type { PbAgentMessage, PbControllerMessage } from '../api/proto.js';
import type { LocalAgentLink } from '../controller/rib/fib-export.js';
import type { VrouterOptions } from '../agent/vrouter.js';
import type { Dataplane } from '../dataplane/api.js';
import type { DataplaneCounters } from '../telemetry/metrics.js';

/** What the thread starts its vRouter with (structured-cloned: no functions, no data plane object). */
export type VrouterThreadOptions = Omit<VrouterOptions, 'dataplane' | 'log'>;

export interface VrouterThreadInit {
  options: VrouterThreadOptions;
  /** one int32: the routes the agent's programmer holds, refreshed by the thread */
  routeCount: SharedArrayBuffer;
}

export type ToVrouterThread = { t: 'open'; stream: number } | { t: 'write'; stream: number; m: PbControllerMessage } | { t: 'close'; stream: number } | { t: 'counters' } | { t: 'stop' };

/** The data plane's counters as the metrics read them (DataplaneCounters' answers). */
export interface CounterSnapshot {
  drops: ReturnType<Dataplane['dropStats']>;
  stats: ReturnType<Dataplane['stats']>;
  vifs: ReturnType<Dataplane['listVifs']>;
}

export type FromVrouterThread =
  | { t: 'ready'; agentPort: number; introspectPort?: number; healthPort?: number }
  | { t: 'failed'; error: string }
  | { t: 'log'; line: string }
  | { t: 'reply'; stream: number; m: PbAgentMessage }
  | { t: 'closed'; stream: number; why: string }
  | { t: 'counters'; snapshot: CounterSnapshot }
  | { t: 'stopped' };

export interface VrouterThread extends LocalAgentLink {
  readonly agentPort: number;
  readonly introspectPort: number | undefined;
  readonly healthPort: number | undefined;
  /** the routes the agent holds (at most ~50 ms old) */
  programmedRoutes(): number;
  /** the data plane's counters, for the Prometheus exposition (one request however many ask at once) */
  counters(): Promise<DataplaneCounters>;
  stop(): Promise<void>;
}

/**
 * Whether `cnr start` runs its vRouter in a worker thread: the option `--vrouter-thread on|off`
 * if given, else the environment's CNR_VROUTER_THREAD (1 or 0), else yes. The main-thread
 * layout stays for a machine with one core (two event loops there only take turns) and for
 * comparison. A value that is neither is refused, naming where it came from.
 */
export function vrouterThreadWanted(option: string | undefined, env: string | undefined): boolean {
  if (option !== undefined) {
    if (option === 'on') return true;
    if (option === 'off') return false;
    throw new Error(`--vrouter-thread: '${option}' is not on or off`);
  }
  if (env === undefined || env === '') return true;
  if (env === '1') return true;
  if (env === '0') return false;
  throw new Error(`CNR_VROUTER_THREAD: '${env}' is not 1 (the vRouter in a worker thread) or 0 (on the main thread)`);
}

/** How long a stop waits for the thread to stop its vRouter before it is terminated. */
const STOP_TIMEOUT_MS = 10_000;

/**
 * Starts the vRouter in a worker thread; resolves once its agent serves (rejects if it cannot
 * start). `onDied`: the thread ended without being stopped (an uncaught error in the vRouter,
 * which in the main thread would have ended the process).
 */
export async function startVrouterThread(options: VrouterThreadOptions, log: (line: string) => void, onDied?: (code: number) => void): Promise<VrouterThread> {
  const routeCount = new SharedArrayBuffer(4);
  const routes = new Int32Array(routeCount);
  const init: VrouterThreadInit = { options, routeCount };
  const worker = new Worker(new URL('./vrouter-thread-worker.js', import.meta.url), { workerData: init });
  const post = (m: ToVrouterThread) => worker.postMessage(m);
  /** open streams: their reply and close handlers */
  const streams = new Map<number, { onMessage: (m: PbAgentMessage) => void; onClose: (why: string) => void }>();
  let nextStream = 1;
  let exited = false;
  let stopped: (() => void) | undefined;
  let stopping = false;
  /** the counters request in flight, and who waits for it (answers come in order) */
  let countersAsked: Promise<DataplaneCounters> | undefined;
  let countersAnswer: ((s: CounterSnapshot) => void) | undefined;
  const closeAll = (why: string) => {
    for (const [, s] of streams) s.onClose(why);
    streams.clear();
  };
  const ready = new Promise<Extract<FromVrouterThread, { t: 'ready' }>>((resolve, reject) => {
    worker.on('message', (m: FromVrouterThread) => {
      switch (m.t) {
        case 'ready':
          resolve(m);
          return;
        case 'failed':
          reject(new Error(m.error));
          return;
        case 'log':
          log(m.line);
          return;
        case 'reply':
          streams.get(m.stream)?.onMessage(m.m);
          return;
        case 'closed': {
          const s = streams.get(m.stream);
          streams.delete(m.stream);
          s?.onClose(m.why);
          return;
        }
        case 'counters':
          countersAnswer?.(m.snapshot);
          return;
        case 'stopped':
          stopped?.();
          return;
      }
    });
    worker.on('error', (err) => {
      log(`vRouter thread failed: ${err.stack ?? err.message}`);
      reject(err);
    });
    worker.on('exit', (code) => {
      exited = true;
      if (!stopping) log(`vRouter thread exited (code ${code})`);
      closeAll('the vRouter thread exited');
      // a scrape waiting for counters gets none rather than never an answer
      countersAnswer?.({ drops: {}, stats: { vifs: {}, vrfs: {} }, vifs: [] });
      stopped?.();
      reject(new Error(`vRouter thread exited (code ${code}) before it served`));
    });
  });
  let r: Extract<FromVrouterThread, { t: 'ready' }>;
  try {
    r = await ready;
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  worker.on('exit', (code) => {
    if (!stopping) onDied?.(code);
  });
  return {
    agentPort: r.agentPort,
    introspectPort: r.introspectPort,
    healthPort: r.healthPort,
    programmedRoutes: () => Atomics.load(routes, 0),
    counters() {
      if (exited) return Promise.reject(new Error('the vRouter thread exited'));
      countersAsked ??= new Promise<CounterSnapshot>((resolve) => {
        countersAnswer = resolve;
        post({ t: 'counters' });
      }).then((s) => {
        countersAsked = undefined;
        return { dropStats: () => s.drops, stats: () => s.stats, listVifs: () => s.vifs };
      });
      return countersAsked;
    },
    openProgram(onMessage, onClose) {
      if (exited) throw new Error('the vRouter thread exited');
      const stream = nextStream++;
      // a refusal (the agent not serving) comes back as `closed`, and the export retries
      streams.set(stream, { onMessage, onClose });
      post({ t: 'open', stream });
      return {
        write: (m) => {
          if (streams.has(stream)) post({ t: 'write', stream, m });
        },
        close: () => {
          if (!streams.delete(stream)) return;
          post({ t: 'close', stream });
        },
      };
    },
    async stop() {
      stopping = true;
      if (exited) return;
      const done = new Promise<void>((resolve) => (stopped = resolve));
      post({ t: 'stop' });
      const timer = setTimeout(() => {
        log('vRouter thread did not stop in time: terminated');
        void worker.terminate();
      }, STOP_TIMEOUT_MS);
      await done;
      clearTimeout(timer);
      closeAll('the vRouter stopped');
      if (!exited) await worker.terminate();
    },
  };
}
