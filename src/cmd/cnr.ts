/**
 * The `cnr` command. Each subcommand lives in its own module under src/cmd/, loaded only
 * when used, so `cnr dropstats` does not pay for BGP and `cnr cli` starts fast.
 * A module exports `run(args: string[]): Promise<number>` (the exit code).
 *
 * A daemon (start, controller, vrouter) that fails to start logs its reason (timestamped,
 * like its other lines) and exits 1, also when something it started failed to let go of
 * the event loop: a router that cannot start must exit so that its supervisor notices.
 */
import { logLine } from '../telemetry/log.js';

interface Subcommand {
  module: string;
  help: string;
  /** a long-running process: timestamped failure line, exit forced after a failed start */
  daemon?: boolean;
}

/** how long a failed daemon may take to close what it opened before it is made to exit */
const FAILED_START_EXIT_MS = 2000;

const SUBCOMMANDS: Record<string, Subcommand> = {
  start: { module: './start.js', help: 'run controller and vRouter in one process', daemon: true },
  controller: { module: './controller.js', help: 'run the controller alone', daemon: true },
  vrouter: { module: './vrouter.js', help: 'run the vRouter (agent and data plane) alone', daemon: true },
  cli: { module: './cli.js', help: 'Junos-style CLI (cnr cli -c "show route" for scripts)' },
  lab: { module: './lab.js', help: 'built-in demo topology: lab up | down | status' },
  vif: { module: './inspect.js', help: 'vRouter interfaces: vif --list' },
  nh: { module: './inspect.js', help: 'vRouter next hops: nh --list' },
  rt: { module: './inspect.js', help: 'vRouter routes: rt --dump VRF [--family inet6]' },
  mpls: { module: './inspect.js', help: 'vRouter label table: mpls --dump' },
  dropstats: { module: './inspect.js', help: 'vRouter drop counters by reason' },
  acl: { module: './inspect.js', help: 'vRouter ingress filters, hits per rule: acl --list' },
  mac: { module: './inspect.js', help: 'vRouter MAC table (L2): mac --dump [BRIDGE-DOMAIN]' },
};

function usage(): string {
  const lines = ['usage: cnr <command> [options]', '', 'commands:'];
  for (const [name, s] of Object.entries(SUBCOMMANDS)) lines.push(`  ${name.padEnd(12)} ${s.help}`);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    console.log(usage());
    process.exitCode = name ? 0 : 1;
    return;
  }
  const sub = SUBCOMMANDS[name];
  if (!sub) {
    console.error(`cnr: unknown command '${name}'\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  try {
    const mod = (await import(sub.module)) as { run(args: string[], name: string): Promise<number> };
    const code = await mod.run(rest, name);
    if (code !== undefined) process.exitCode = code;
  } catch (err) {
    const reason = `cnr ${name}: ${err instanceof Error ? err.message : String(err)}`;
    process.exitCode = 1;
    if (!sub.daemon) {
      console.error(reason);
      return;
    }
    logLine(reason);
    // unref'd: exits at once when nothing is left open, after the bound when something is
    setTimeout(() => process.exit(1), FAILED_START_EXIT_MS).unref();
  }
}
