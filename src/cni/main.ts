/**
 * cnr-cni: the CNI plugin that gives pods an interface on the vRouter (bin/cnr-cni).
 *
 * A container runtime runs it once per operation with CNI_COMMAND and friends in the
 * environment and the network configuration on stdin; the result or the error goes to
 * stdout as JSON. The parts: config.ts (config and environment), plugin.ts (the commands),
 * link.ts (veth and the pod's namespace), ipam.ts (delegation to IPAM plugins),
 * controller.ts (the attachment's configuration group), state.ts (records and lock),
 * result.ts (result versions), errors.ts (the spec's error codes).
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
