/**
 * cnr-cni: the CNI plugin that gives pods an interface on the vRouter.
 *
 * A container runtime runs bin/cnr-cni once per operation with CNI_COMMAND and friends in
 * the environment and the network configuration on stdin; the result or the error goes to
 * stdout as JSON. bin/cnr-cni is a bash shim that hands the call to the CNI service in the
 * controller (server.ts, framing in frame.ts); this file is the plugin in a Node process of
 * its own, which the shim runs when the service cannot be reached (bin/cnr-cni-node).
 * The parts: config.ts (config and environment), plugin.ts (the commands), link.ts and
 * netlink.ts (veth and the pod's namespace, rtnetlink from the process), ipam.ts
 * (delegation to IPAM plugins, started by spawn.ts), controller.ts (the attachment's
 * configuration group), state.ts (records and lock), result.ts (result versions),
 * errors.ts (the spec's error codes).
 */
import { readFileSync } from 'node:fs';
import { outputText, runCommand } from './plugin.js';

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return ''; // no stdin (a closed or terminal descriptor): VERSION needs none
  }
}

export async function main(): Promise<void> {
  const stdin = process.env.CNI_COMMAND === 'VERSION' && process.stdin.isTTY ? '' : readStdin();
  const out = await runCommand(process.env, stdin);
  const text = outputText(out);
  if (text) process.stdout.write(text);
  if (process.env.CNR_CNI_TRACE === '1') process.stderr.write(`cnr-cni ${performance.now().toFixed(1)} ms done\n`);
  // Exit now: stdout to a pipe is written synchronously, and a management connection
  // still closing must not keep the runtime waiting.
  process.exit(out.exitCode);
}
