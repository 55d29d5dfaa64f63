/**
 * The vRouter (data plane, agent, introspect, health, BFD host) in a worker thread of `cnr
 * start` (the default, see vrouter-thread.ts): on a 2-core machine the agent's
 * programming then runs beside BGP and the RIB instead of between their turns. The
 * controller's Program stream arrives as messages on the parent port (the in-process link's
 * calls, structured-cloned); replies, log lines and the agent's route count go back.
 */
import { format } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import { startVrouter, type Vrouter } from '../agent/vrouter.js';
import type { LocalProgramStream } from '../agent/server.js';
import { nameThisThread } from '../sys/thread-name.js';
import type { FromVrouterThread, ToVrouterThread, VrouterThreadInit } from './vrouter-thread.js';

/** How often the agent's route count is copied into the shared counter (the route trace reads it). */
const COUNT_EVERY_MS = 50;

async function main(init: VrouterThreadInit): Promise<void> {
  // `top -H` and perf tell the agent's thread from the controller's (and from cnr-fwd-N, cnr-bfd)
  nameThisThread('cnr-vrouter');
  const port = parentPort!;
  const post = (m: FromVrouterThread) => port.postMessage(m);
  const log = (line: string) => post({ t: 'log', line });
  // this thread's grpc-js is a module of its own: its messages go to the main thread's log too (timestamped there)
  const grpcLine = (message?: unknown, ...params: unknown[]) => log(`grpc: ${format(message, ...params)}`);
  grpc.setLogger({ error: grpcLine, info: grpcLine, debug: grpcLine });
  const streams = new Map<number, LocalProgramStream>();
  let vrouter: Vrouter;
  try {
    vrouter = await startVrouter({ ...init.options, log });
  } catch (err) {
    post({ t: 'failed', error: err instanceof Error ? err.message : String(err) });
    return;
  }
  const routes = new Int32Array(init.routeCount);
  const counter = setInterval(() => Atomics.store(routes, 0, vrouter.agent.counts().routes), COUNT_EVERY_MS);
  counter.unref();
  port.on('message', (m: ToVrouterThread) => {
    switch (m.t) {
      case 'open':
        try {
          streams.set(m.stream, vrouter.agent.openLocal((reply) => post({ t: 'reply', stream: m.stream, m: reply }), (why) => {
            streams.delete(m.stream);
            post({ t: 'closed', stream: m.stream, why });
          }));
        } catch (err) {
          post({ t: 'closed', stream: m.stream, why: err instanceof Error ? err.message : String(err) });
        }
        return;
      case 'write':
        streams.get(m.stream)?.write(m.m);
        return;
      case 'close':
        streams.get(m.stream)?.close();
        streams.delete(m.stream);
        return;
      case 'counters': {
        const dp = vrouter.dataplane;
        post({ t: 'counters', snapshot: { drops: dp.dropStats(), stats: dp.stats(), vifs: dp.listVifs() } });
        return;
      }
      case 'stop':
        clearInterval(counter);
        void vrouter
          .stop()
          .catch((err: unknown) => log(`stop: ${String(err)}`))
          .finally(() => {
            post({ t: 'stopped' });
            port.close();
          });
        return;
    }
  });
  post({ t: 'ready', agentPort: vrouter.agentPort, ...(vrouter.introspectPort !== undefined ? { introspectPort: vrouter.introspectPort } : {}), ...(vrouter.healthPort !== undefined ? { healthPort: vrouter.healthPort } : {}) });
}

void main(workerData as VrouterThreadInit);
