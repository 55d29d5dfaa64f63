/**
 * `cnr start` with its vRouter in a worker thread (CNR_VROUTER_THREAD=1): the controller keeps
 * the main thread (BGP, RIB, decision, FIB export, management), the vRouter's agent programs
 * the data plane on a thread of its own, so that on a machine with two cores the two halves
 * of a full table's load overlap instead of taking turns on one event loop. The Program
 * stream is the in-process link (FibExport's LocalAgentLink) carried over the worker's port:
 * the same messages in the same order (structured-cloned: a packed batch is a copy of its
 * few kilobytes), the same replies, ACKs, replay, resync and stream replacement as calls into
 * an agent on the main thread. The agent's unary rpcs and the Frames stream stay on gRPC (its
 * port, as in both other layouts); introspect and health are served by the thread.
 * What the main thread cannot reach in this mode: the Dataplane object (the Prometheus
 * exposition has no data-plane series; `cnr vrouter` serves them in the two-process layout).
 */
import { Worker } from 'node:worker_threads';
import type { PbAgentMessage, PbControllerMessage } from '../api/proto.js';
import type { LocalAgentLink } from '../controller/rib/fib-export.js';
import type { VrouterOptions } from '../agent/vrouter.js';

/** What the thread starts its vRouter with (structured-cloned: no functions, no data plane object). */
export type VrouterThreadOptions = Omit<VrouterOptions, 'dataplane' | 'log'>;

export interface VrouterThreadInit {
  options: VrouterThreadOptions;
  /** one int32: the routes the agent's programmer holds, refreshed by the thread */
  routeCount: SharedArrayBuffer;
}

export type ToVrouterThread = { t: 'open'; stream: number } | { t: 'write'; stream: number; m: PbControllerMessage } | { t: 'close'; stream: number } | { t: 'stop' };

export type FromVrouterThread =
  | { t: 'ready'; agentPort: number; introspectPort?: number; healthPort?: number }
  | { t: 'failed'; error: string }
  | { t: 'log'; line: string }
  | { t: 'reply'; stream: number; m: PbAgentMessage }
  | { t: 'closed'; stream: number; why: string }
  | { t: 'stopped' };

export interface VrouterThread extends LocalAgentLink {
  readonly agentPort: number;
  readonly introspectPort: number | undefined;
  readonly healthPort: number | undefined;
  /** the routes the agent holds (at most ~50 ms old) */
  programmedRoutes(): number;
  stop(): Promise<void>;
}

/** How long a stop waits for the thread to stop its vRouter before it is terminated. */
const STOP_TIMEOUT_MS = 10_000;

/** Starts the vRouter in a worker thread; resolves once its agent serves (rejects if it cannot start). */
export async function startVrouterThread(options: VrouterThreadOptions, log: (line: string) => void): Promise<VrouterThread> {
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
      if (!stopped) log(`vRouter thread exited (code ${code})`);
      closeAll('the vRouter thread exited');
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
  return {
    agentPort: r.agentPort,
    introspectPort: r.introspectPort,
    healthPort: r.healthPort,
    programmedRoutes: () => Atomics.load(routes, 0),
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
