/**
 * The `cnr` command. Each subcommand lives in its own module under src/cmd/, loaded only
 * when used, so `cnr dropstats` does not pay for BGP and `cnr cli` starts fast.
 * A module exports `run(args: string[]): Promise<number>` (the exit code).
 */

interface Subcommand {
  module: string;
  help: string;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  start: { module: './start.js', help: 'run controller and vRouter in one process' },
  controller: { module: './controller.js', help: 'run the controller alone' },
  vrouter: { module: './vrouter.js', help: 'run the vRouter (agent and data plane) alone' },
  cli: { module: './cli.js', help: 'Junos-style CLI (cnr cli -c "show route" for scripts)' },
  lab: { module: './lab.js', help: 'built-in demo topology: lab up | down | status' },
  vif: { module: './inspect.js', help: 'vRouter interfaces: vif --list' },
  nh: { module: './inspect.js', help: 'vRouter next hops: nh --list' },
  rt: { module: './inspect.js', help: 'vRouter routes: rt --dump VRF [--family inet6]' },
  mpls: { module: './inspect.js', help: 'vRouter label table: mpls --dump' },
  dropstats: { module: './inspect.js', help: 'vRouter drop counters by reason' },
  acl: { module: './inspect.js', help: 'vRouter ingress filters, hits per rule: acl --list' },
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
    console.error(`cnr ${name}: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
