/**
 * The vRouter as one unit: the data plane, the agent's gRPC server in front of it, the
 * introspect HTTP view and the HTTP health endpoint. `cnr vrouter` runs it alone; `cnr
 * start` calls `startVrouter` inside the controller's process. Stopping the agent leaves
 * the data plane forwarding (see `restartAgent`), which is what a controller or agent
 * restart relies on.
 */
import type { Dataplane } from '../dataplane/api.js';
import { createDataplane, type DataplaneOptions } from '../dataplane/dataplane.js';
import { startIntrospect, type IntrospectHandle } from '../dataplane/introspect.js';
import { DEFAULT_HEALTH_ADDRESS, splitHostPort, startHealthServer, type HealthServer } from './health-http.js';
import { AgentServer, DEFAULT_AGENT_ADDRESS } from './server.js';
import { BfdHost } from './bfd-host.js';
import { watchDrops } from './drop-watch.js';
import { logger } from '../telemetry/log.js';

export interface VrouterOptions {
  /** an existing data plane (tests); otherwise one is created with `createDataplane` */
  dataplane?: Dataplane;
  /** options for createDataplane (src/dataplane/dataplane.ts) */
  dataplaneOptions?: DataplaneOptions;
  /** create vhost0 toward the host stack (default true) */
  vhost?: boolean;
  /** gRPC listen address, default 127.0.0.1:50052 (port 0 picks one) */
  agentAddress?: string;
  token?: string;
  /** introspect HTTP address, default 127.0.0.1:8085; false: none */
  introspect?: string | false;
  /** health HTTP address, default 127.0.0.1:9091; false: none */
  health?: string | false;
  log?: (line: string) => void;
  /** run BFD sessions for the controller in a worker thread (default true; docs/bfd.md) */
  bfd?: boolean;
}

export interface Vrouter {
  readonly dataplane: Dataplane;
  readonly agentPort: number;
  readonly agent: AgentServer;
  readonly introspectPort: number | undefined;
  readonly healthPort: number | undefined;
  /** the BFD sessions this vRouter runs (undefined when started without BFD) */
  readonly bfd: BfdHost | undefined;
  /** stop the gRPC server and start a new one on the same port and data plane */
  restartAgent(): Promise<void>;
  stop(): Promise<void>;
}

/** The data plane `cnr vrouter` runs: one forwarding worker, vhost0 unless told otherwise. */
export async function createDefaultDataplane(opts: DataplaneOptions): Promise<Dataplane> {
  return createDataplane({ workers: 1, ...opts });
}

export async function startVrouter(opts: VrouterOptions = {}): Promise<Vrouter> {
  const log = opts.log ?? logger('cnr vrouter');
  const own = !opts.dataplane;
  const dp = opts.dataplane ?? (await createDefaultDataplane({ vhost: opts.vhost !== false, ...(opts.dataplaneOptions ?? {}) }));
  if (own) await dp.start();
  const cleanup: (() => Promise<void>)[] = [];
  try {
    let bfd: BfdHost | undefined;
    if (opts.bfd !== false) {
      // the sessions' packets come and go through vhost0, where the vRouter punts the node's own traffic
      bfd = new BfdHost({ log, ...(opts.vhost !== false && !opts.dataplane ? { device: opts.dataplaneOptions?.vhostName ?? 'vhost0' } : {}) });
      await bfd.start();
      cleanup.push(() => bfd!.stop());
    }
    let agent = new AgentServer(dp, { address: opts.agentAddress ?? DEFAULT_AGENT_ADDRESS, token: opts.token, log, bfd });
    await agent.start();
    cleanup.push(() => agent.stop());
    const host = (opts.agentAddress ?? DEFAULT_AGENT_ADDRESS).replace(/:\d+$/, '');
    let introspect: IntrospectHandle | undefined;
    if (opts.introspect !== false) {
      const { host: ih, port } = splitHostPort(opts.introspect ?? '127.0.0.1:8085');
      introspect = await startIntrospect(dp, { host: ih, port });
      cleanup.push(() => introspect!.close());
    }
    let health: HealthServer | undefined;
    if (opts.health !== false) {
      health = await startHealthServer(opts.health ?? DEFAULT_HEALTH_ADDRESS, () => ({
        ok: agent.port > 0,
        agent: { port: agent.port, ...agent.stats },
        programmed: agent.counts(),
        removed: agent.removed(),
        vifs: dp.listVifs().length,
      }));
      cleanup.push(() => health!.close());
    }
    // drops over a rate go to the log (and syslog): an operator sees a storm without polling
    const stopDropWatch = watchDrops(dp, log);
    cleanup.push(async () => stopDropWatch());
    const v: Vrouter = {
      dataplane: dp,
      get agentPort() {
        return agent.port;
      },
      get agent() {
        return agent;
      },
      introspectPort: introspect?.port,
      healthPort: health?.port,
      bfd,
      async restartAgent() {
        const port = agent.port;
        await agent.stop();
        agent = new AgentServer(dp, { address: `${host}:${port}`, token: opts.token, log, bfd });
        await agent.start();
      },
      async stop() {
        for (const c of cleanup.reverse()) await c().catch(() => {});
        if (own) await dp.stop();
      },
    };
    return v;
  } catch (err) {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    if (own) await dp.stop();
    throw err;
  }
}
