/**
 * `cnr vrouter [--agent-address 127.0.0.1:50052] [--introspect 127.0.0.1:8085]
 *  [--health 127.0.0.1:9091] [--no-vhost] [--token-file FILE] [--max-mtu 1500]
 *  [--kernel-fast-path on|off]`: the data
 * plane with its agent, alone (the Kubernetes layout); the controller finds it by the agent
 * address. --max-mtu is the largest IP MTU any attached interface may have (9000 on a jumbo
 * fabric): it sizes the packet buffers and ring frames, fixed for the process's life.
 * SIGINT/SIGTERM stop it cleanly; SIGHUP restarts the agent's gRPC server while the data
 * plane keeps forwarding (the controller reconnects and resyncs).
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { startVrouter, type VrouterOptions } from '../agent/vrouter.js';
import { consoleLogger, logger, logLine } from '../telemetry/log.js';
import { parseMaxMtu } from './configured-mtu.js';
import { onOff } from './on-off.js';

// where it lived before `cnr controller` stopped loading this module (pool.test.ts reads it here)
export { parseMaxMtu };

const log = logger('cnr vrouter');

const USAGE = `usage: cnr vrouter [--agent-address HOST:PORT] [--introspect HOST:PORT|none] [--health HOST:PORT|none]
                   [--no-vhost] [--token-file FILE] [--max-mtu MTU] [--kernel-fast-path on|off]`;

export function parseVrouterArgs(args: string[]): VrouterOptions {
  const o: VrouterOptions = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const val = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    switch (a) {
      case '--agent-address':
        o.agentAddress = val();
        break;
      case '--introspect': {
        const v = val();
        o.introspect = v === 'none' ? false : v;
        break;
      }
      case '--health': {
        const v = val();
        o.health = v === 'none' ? false : v;
        break;
      }
      case '--no-vhost':
        o.vhost = false;
        break;
      case '--token-file':
        o.token = readFileSync(val(), 'utf8').trim();
        break;
      case '--max-mtu':
        o.dataplaneOptions = { ...o.dataplaneOptions, maxMtu: parseMaxMtu(val()) };
        break;
      case '--kernel-fast-path':
        o.dataplaneOptions = { ...o.dataplaneOptions, kernelFastPath: onOff(a, val(), USAGE) };
        break;
      case '-h':
      case '--help':
        throw new Error(USAGE);
      default:
        throw new Error(`unknown option '${a}'\n${USAGE}`);
    }
  }
  return o;
}

export async function run(args: string[]): Promise<number> {
  const opts = parseVrouterArgs(args);
  grpc.setLogger(consoleLogger('grpc'));
  const v = await startVrouter({ log, ...opts });
  // the ready line goes to stdout, where scripts and tests wait for it
  logLine(`cnr vrouter: agent on port ${v.agentPort}${v.introspectPort ? `, introspect on ${v.introspectPort}` : ''}${v.healthPort ? `, health on ${v.healthPort}` : ''}`, process.stdout);
  const hup = () => {
    v.restartAgent().then(
      () => log(`agent restarted on port ${v.agentPort}`),
      (err: unknown) => log(`agent restart failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  };
  process.on('SIGHUP', hup);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.off('SIGHUP', hup);
  await v.stop();
  return 0;
}
