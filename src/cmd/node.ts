/**
 * The composition of a cnr node, shared by `cnr start` (controller and vRouter in one
 * process) and `cnr controller` (the controller alone, reaching a `cnr vrouter` by address):
 * the RIB with direct and static routes, BGP, the FIB export toward the agent, and the
 * Controller that owns the configuration and the management API. Nothing here has logic of
 * its own beyond wiring and option parsing.
 */
import { onOff } from './on-off.js';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import type { Vrouter } from '../agent/vrouter.js';
import { Controller } from '../controller/controller.js';
import { CniService } from '../cni/server.js';
import { createBgp } from '../controller/protocols/bgp/index.js';
import { createIsis } from '../controller/protocols/isis/index.js';
import { afterBgpInitialSync, SELECTION_DEFERRAL_SECONDS } from '../controller/protocols/bgp/initial-sync.js';
import { FibExport, type LocalAgentLink } from '../controller/rib/fib-export.js';
import { HostRoutes } from '../controller/rib/host-routes.js';
import { VrouterFramePort } from '../controller/link/vrouter-frame-port.js';
import { BfdManager } from '../controller/protocols/bfd/manager.js';
import { bfdCommands } from '../controller/protocols/bfd/commands.js';
import { Rib } from '../controller/rib/rib.js';
import { RibService } from '../controller/rib/service.js';
import type { ConfigConsumer, OperationalCommand } from '../controller/types.js';
import { consoleLogger, logLine as log } from '../telemetry/log.js';
import { configuredMaxMtu, parseMaxMtu } from './configured-mtu.js';
import { ConfigFileWatch } from './config-watch.js';
import { startRouteTrace } from './route-trace.js';
import { hasYoungGenerationFloor } from '../lib/launch-flags.js';
import { keepYoungGenerationSmall } from '../lib/young-generation.js';
import { startVrouterThread, vrouterThreadWanted, type VrouterThread } from './vrouter-thread.js';

export const DEFAULT_STATE_DIR = process.env['CNR_STATE_DIR'] ?? '/var/lib/cnr';

export interface NodeOptions {
  stateDir: string;
  config?: string;
  /** damaged commit files: start from the newest valid commit instead of refusing (--recover-config) */
  recoverConfig?: boolean;
  /** where the agent listens (in-process for `cnr start`) or is found (`cnr controller`) */
  agentAddress: string;
  agentToken?: string;
  /** run the vRouter in this process */
  vrouter: boolean;
  vhost: boolean;
  introspect: string | false;
  health: string | false;
  /** Prometheus exposition, HOST:PORT */
  metrics: string | false;
  /** the largest IP MTU the in-process vRouter's interfaces may have (`cnr start --max-mtu`) */
  maxMtu?: number;
  /** `cnr start --kernel-fast-path on|off` (dataplane/kfast); unset: CNR_KERNEL_FAST_PATH */
  kernelFastPath?: boolean;
  /** V8's young generation kept at its starting size (lib/young-generation.ts) */
  smallYoungGeneration?: boolean;
  /**
   * `cnr start`: the vRouter in a worker thread (vrouter-thread.ts) or on the main thread with the
   * controller; unset: CNR_VROUTER_THREAD, else the thread
   */
  vrouterThread?: boolean;
}

export interface RunningNode {
  controller: Controller;
  rib: Rib;
  fib: FibExport;
  /** link-layer frames (IS-IS) through the vRouter, over the agent's Frames stream in both layouts */
  framePort: VrouterFramePort;
  vrouter?: Vrouter;
  /** the vRouter when it runs in a worker thread of this process (the default of `cnr start`) */
  vrouterThread?: VrouterThread;
  stop(): Promise<void>;
}

function hasCommitHistory(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).some((f) => /^commit-\d+\.json$/.test(f));
}

export async function startNode(o: NodeOptions): Promise<RunningNode> {
  let vrouter: Vrouter | undefined;
  let vrouterThread: VrouterThread | undefined;
  let agentAddress = o.agentAddress;
  const token = o.agentToken ?? (o.vrouter ? randomBytes(24).toString('base64url') : undefined);
  // the IGP's and static routes into the host kernel via vhost0, for the node's own traffic;
  // a previous run's are removed first, before the vRouter makes this process large
  const hostRoutes = o.vhost ? new HostRoutes({ log: (l) => log(`controller: ${l}`) }) : undefined;
  await hostRoutes?.removeAll();
  if (o.vrouter) {
    const maxMtu = o.maxMtu ?? mtuFromConfig(o);
    const dataplaneOptions = { ...(maxMtu ? { maxMtu } : {}), ...(o.kernelFastPath !== undefined ? { kernelFastPath: o.kernelFastPath } : {}) };
    const vopts = { agentAddress, token, vhost: o.vhost, introspect: o.introspect, health: o.health, ...(Object.keys(dataplaneOptions).length ? { dataplaneOptions } : {}) };
    // by default the vRouter on a thread of its own, its programming beside BGP and the RIB (vrouter-thread.ts)
    // (the thread dying ends the process, as an uncaught error of an in-thread vRouter would: a supervisor restarts it)
    if (o.vrouterThread ?? vrouterThreadWanted(undefined, process.env['CNR_VROUTER_THREAD'])) {
      vrouterThread = await startVrouterThread(vopts, (l) => log(`vrouter: ${l}`), (code) => {
        log(`cnr start: the vRouter thread ended (code ${code}): exiting`);
        process.exit(70);
      });
    } else {
      // the agent and data plane code loaded only where they run (`cnr start`): `cnr controller`
      // never uses them, and they cost it ~4 MB of RSS
      const { startVrouter } = await import('../agent/vrouter.js');
      vrouter = await startVrouter({ ...vopts, log: (l) => log(`vrouter: ${l}`) });
    }
    agentAddress = `${agentAddress.replace(/:\d+$/, '')}:${(vrouter ?? vrouterThread)!.agentPort}`;
  }
  const rib = new Rib();
  // the agent sweeps what a resync did not replay: the resync ends only once this controller's
  // state is complete (configuration committed, BGP's initial tables in), see fib.ready() below
  // in `cnr start` the Program stream is calls into the agent of this process, not gRPC
  // (CNR_FIB_PATH=grpc keeps gRPC, to compare the two); the unary reads use gRPC in both layouts
  const inProcess = vrouter;
  const local: LocalAgentLink | undefined = process.env['CNR_FIB_PATH'] === 'grpc' ? undefined : inProcess ? { openProgram: (onMessage, onClose) => inProcess.agent.openLocal(onMessage, onClose) } : vrouterThread;
  const fib = new FibExport(rib, { address: agentAddress, token, holdResyncEnd: true, ...(local ? { local } : {}), log: (l) => log(`controller: ${l}`) });
  const framePort = new VrouterFramePort({ address: agentAddress, token, log: (l) => log(`controller: ${l}`) });
  // the vRouter's link state, logged (and so sent to syslog as SNMP_TRAP_LINK_UP/DOWN)
  framePort.onLinkChange((ifname, up) => log(`controller: interface ${ifname}: link ${up ? 'up' : 'down'}`));
  const ribService = new RibService(rib, { fib });
  // BFD sessions run in the vRouter; clients (BGP, static routes) ask through the FIB export's stream
  const bfd = new BfdManager(fib, (l) => log(`controller: ${l}`));
  ribService.statics.useBfd(bfd);
  // BFD's consumer first: it holds the key chains the clients' sessions are sent with
  const consumers: ConfigConsumer[] = [bfd.consumer, ribService];
  const commands: OperationalCommand[] = [...ribService.commands(), ...bfdCommands(bfd)];
  const stoppers: (() => Promise<void>)[] = [];
  // BGP joins as one more consumer with its own commands.
  // a commit history at boot means a restart: BGP restarts gracefully where configured (RFC 4724)
  // (forwarding is preserved only when the vRouter is another process)
  const bgp = createBgp(rib, { log, restarting: hasCommitHistory(join(o.stateDir, 'config')), forwardingPreserved: !o.vrouter, deferralSeconds: SELECTION_DEFERRAL_SECONDS, bfd });
  consumers.push(bgp.consumer);
  commands.push(...bgp.commands);
  stoppers.push(() => bgp.stop());
  // IS-IS PDUs are not IP: they come and go through the vRouter's Frames stream (framePort)
  const isis = createIsis(rib, framePort, { log });
  consumers.push(isis.consumer);
  commands.push(...isis.commands);
  stoppers.push(() => isis.stop());
  fib.start();
  const stopTrace = startRouteTrace({ fib: () => fib.status(), ...(vrouter ? { programmed: () => vrouter.agent.counts().routes } : vrouterThread ? { programmed: () => vrouterThread.programmedRoutes() } : {}), log: (l) => log(`controller: ${l}`) });
  const controller = new Controller({
    stateDir: o.stateDir,
    consumers,
    commands,
    ...(o.config ? { initialConfig: o.config } : {}),
    ...(o.recoverConfig ? { recoverConfig: true } : {}),
    log: (m) => log(`controller: ${m}`),
  });
  // cnr-cni's commands run here, reached by the bin/cnr-cni shim over <stateDir>/cni.sock;
  // ADD answers once the vRouter's agent has acknowledged the pod's attachment
  const cni = new CniService({ stateDir: o.stateDir, exec: (c, u, via) => controller.exec(c, u, via), programmed: (ms) => fib.flushed(ms), onApplied: (l) => controller.store.onApplied(l), log: (l) => log(l) });
  let cancelGate = () => {};
  // the file is the operator's intent: loaded again whenever it changes (config-watch.ts)
  const fileWatch = o.config ? new ConfigFileWatch({ store: controller.store, path: o.config, stateDir: o.stateDir, log: (m) => log(`controller: ${m}`) }) : undefined;
  const stopAll = async () => {
    stopTrace();
    cancelGate();
    fileWatch?.stop();
    await cni.stop().catch((e: unknown) => log(`cni service stop: ${String(e)}`));
    await controller.stop().catch((e: unknown) => log(`controller stop: ${String(e)}`));
    for (const s of stoppers) await s().catch(() => {});
    await hostRoutes?.stop();
    await fib.stop().catch(() => {});
    framePort.close();
    await vrouter?.stop().catch(() => {});
    await vrouterThread?.stop().catch(() => {});
  };
  try {
    hostRoutes?.start((l, wants) => rib.subscribe(l, wants));
    await controller.start();
    await fileWatch?.start();
    cancelGate = afterBgpInitialSync(bgp.speaker, SELECTION_DEFERRAL_SECONDS * 1000, log, (why) => fib.ready(why));
    await cni.start();
    if (o.metrics) {
      // prom-client loaded only when the exposition is on (--metrics none leaves it out)
      const { buildRegistry, startMetrics } = await import('../telemetry/metrics.js');
      const reg = buildRegistry({ ...(vrouter ? { dataplane: vrouter.dataplane } : vrouterThread ? { dataplane: () => vrouterThread!.counters() } : {}), ribSummary: () => rib.summary(), fibStatus: () => fib.status(), bfd: () => bfd.list() });
      const port = Number(/:(\d+)$/.exec(o.metrics)?.[1] ?? 8070);
      const metrics = await startMetrics(reg, o.metrics.replace(/:\d+$/, ''), port);
      stoppers.push(() => metrics.close());
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  return { controller, rib, fib, framePort, ...(vrouter ? { vrouter } : {}), ...(vrouterThread ? { vrouterThread } : {}), stop: stopAll };
}

/** Without --max-mtu, the packet buffers follow the largest MTU the configuration asks for (above 1500). */
function mtuFromConfig(o: NodeOptions): number | undefined {
  const m = configuredMaxMtu(o.config, o.stateDir);
  if (!m || m.mtu <= 1500) return undefined;
  log(`vrouter: packet buffers sized for an MTU of ${m.mtu} (${m.from}); --max-mtu overrides`);
  return m.mtu;
}

const USAGE = (cmd: string) =>
  `usage: cnr ${cmd} [--config FILE] [--recover-config] [--state-dir DIR] [--agent-address HOST:PORT] [--agent-token-file FILE]` +
  ' [--metrics HOST:PORT|none] [--no-vhost] [--small-young-generation]' +
  (cmd === 'start' ? ' [--introspect HOST:PORT|none] [--health HOST:PORT|none] [--max-mtu MTU] [--vrouter-thread on|off] [--kernel-fast-path on|off]' : '');

/** --max-mtu sizes the in-process data plane: only `cnr start` has one */
function maxMtuFor(v: string, cmd: 'start' | 'controller'): number {
  if (cmd !== 'start') throw new Error(`--max-mtu: cnr ${cmd} runs no data plane\n${USAGE(cmd)}`);
  return parseMaxMtu(v);
}

/** `execArgv`: the process's Node flags (process.execArgv; tests pass their own). */
export function parseNodeArgs(args: string[], cmd: 'start' | 'controller', execArgv: readonly string[] = process.execArgv): NodeOptions {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      'recover-config': { type: 'boolean' },
      'state-dir': { type: 'string' },
      'agent-address': { type: 'string' },
      'agent-token-file': { type: 'string' },
      introspect: { type: 'string' },
      health: { type: 'string' },
      metrics: { type: 'string' },
      'no-vhost': { type: 'boolean' },
      'small-young-generation': { type: 'boolean' },
      'max-mtu': { type: 'string' },
      'vrouter-thread': { type: 'string' },
      'kernel-fast-path': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) throw new Error(USAGE(cmd));
  // the floor is set when node starts (bin/cnr's first line): nothing at run time can lower it
  if (values['small-young-generation'] && hasYoungGenerationFloor(execArgv)) {
    throw new Error(
      `--small-young-generation: this process was started with V8's young-generation floor (${execArgv.filter((a) => hasYoungGenerationFloor([a])).join(' ')}, bin/cnr's first line), which it cannot go below; start it as \`node bin/cnr ${cmd} --small-young-generation ...\` (docs/cli.md)`,
    );
  }
  if (values['vrouter-thread'] !== undefined && cmd !== 'start') throw new Error(`--vrouter-thread: cnr ${cmd} runs no vRouter\n${USAGE(cmd)}`);
  if (values['kernel-fast-path'] !== undefined && cmd !== 'start') throw new Error(`--kernel-fast-path: cnr ${cmd} runs no vRouter\n${USAGE(cmd)}`);
  const token = values['agent-token-file'] ? readFileSync(values['agent-token-file'], 'utf8').trim() : undefined;
  const addr = (v: string | undefined, d: string): string | false => (v === 'none' ? false : (v ?? d));
  return {
    stateDir: values['state-dir'] ?? DEFAULT_STATE_DIR,
    ...(values.config ? { config: values.config } : {}),
    ...(values['recover-config'] ? { recoverConfig: true } : {}),
    agentAddress: values['agent-address'] ?? '127.0.0.1:50052',
    ...(token ? { agentToken: token } : {}),
    vrouter: cmd === 'start',
    vhost: !values['no-vhost'],
    ...(values['small-young-generation'] ? { smallYoungGeneration: true } : {}),
    introspect: addr(values.introspect, '127.0.0.1:8085'),
    health: addr(values.health, '127.0.0.1:9091'),
    metrics: addr(values.metrics, '127.0.0.1:8070'),
    ...(values['max-mtu'] !== undefined ? { maxMtu: maxMtuFor(values['max-mtu'], cmd) } : {}),
    ...(values['kernel-fast-path'] !== undefined ? { kernelFastPath: onOff('--kernel-fast-path', values['kernel-fast-path']) } : {}),
    // read here too so that a bad value (option or environment) refuses the start before anything runs
    ...(cmd === 'start' ? { vrouterThread: vrouterThreadWanted(values['vrouter-thread'], process.env['CNR_VROUTER_THREAD']) } : {}),
  };
}

/**
 * Run until SIGINT/SIGTERM, then stop everything cleanly. A failed start throws (startNode
 * has stopped what it started) and leaves nothing behind that holds the process alive:
 * cnr.ts prints the reason and the process exits non-zero, so a supervisor restarts it.
 */
export async function runNode(args: string[], cmd: 'start' | 'controller'): Promise<number> {
  const opts = parseNodeArgs(args, cmd);
  grpc.setLogger(consoleLogger('grpc'));
  // A daemon holds its own process alive: start-up waits on worker threads that do not.
  const keepAlive = setInterval(() => {}, 1 << 30);
  // a signal during start-up ends the process at once, as the default action would (the
  // history's writes are atomic); once running, it stops everything cleanly
  let started = false;
  let stopRequested!: () => void;
  const stopSignal = new Promise<void>((resolve) => (stopRequested = resolve));
  const onSignal = (sig: NodeJS.Signals): void => {
    if (started) {
      stopRequested();
      return;
    }
    log(`cnr ${cmd}: ${sig} during start-up: exiting`);
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let stopYoungGeneration: (() => void) | undefined;
  try {
    const node = await startNode(opts);
    started = true;
    stopYoungGeneration = opts.smallYoungGeneration ? keepYoungGenerationSmall() : undefined;
    const agentPort = (node.vrouter ?? node.vrouterThread)?.agentPort;
    log(`cnr ${cmd}: running (state ${opts.stateDir}${agentPort !== undefined ? `, agent port ${agentPort}${node.vrouterThread ? ' (vRouter thread)' : ' (vRouter on the main thread)'}` : `, agent ${opts.agentAddress}`})`);
    await stopSignal;
    log(`cnr ${cmd}: stopping`);
    await node.stop();
    return 0;
  } finally {
    stopYoungGeneration?.();
    clearInterval(keepAlive);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
