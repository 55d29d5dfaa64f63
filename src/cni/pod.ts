/**
 * Attaching a pod — or a demo host of `cnr lab` — from cnr's own code, the way a container
 * runtime does it: the cnr-cni executable is run with the CNI environment and a network
 * configuration on stdin, here with static IPAM. `hostNetns` names the namespace that plays
 * the node's host namespace (where cnr runs and the veth's host end goes); without it the
 * caller's own.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CniError, ErrorCode } from './errors.js';

const CNI_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'cnr-cni');

export interface PodAttachment {
  containerId: string;
  /** path of the pod's network namespace, e.g. /var/run/netns/h1 */
  netns: string;
  ifname?: string;
  /** routing instance, or "default" for the main tables */
  instanceName: string;
  /** the pod's addresses with prefix length, each with the gateway the vRouter answers for */
  addresses: { address: string; gateway: string }[];
  /** the controller's state directory */
  stateDir: string;
  dataDir?: string;
  network?: string;
  mtu?: number;
  /** veth (default) or tap: the vRouter creates the pod's interface as a TAP */
  interfaceType?: 'veth' | 'tap';
  hostNetns?: string;
  cniPath?: string;
}

function netConf(p: PodAttachment): Record<string, unknown> {
  const conf: Record<string, unknown> = {
    cniVersion: '1.0.0',
    name: p.network ?? 'cnr-pods',
    type: 'cnr-cni',
    instanceName: p.instanceName,
    stateDir: p.stateDir,
    ipam: { type: 'static', addresses: p.addresses },
  };
  if (p.dataDir) conf.dataDir = p.dataDir;
  if (p.mtu) conf.mtu = p.mtu;
  if (p.interfaceType) conf.interfaceType = p.interfaceType;
  return conf;
}

async function runPlugin(command: string, p: PodAttachment): Promise<Record<string, unknown> | undefined> {
  const env = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: p.containerId,
    CNI_NETNS: p.netns,
    CNI_IFNAME: p.ifname ?? 'eth0',
    CNI_PATH: p.cniPath ?? '/opt/cni/bin:/usr/lib/cni',
  };
  const r = await runCniBin(env, JSON.stringify(netConf(p)), p.hostNetns);
  let json: Record<string, unknown> | undefined;
  try {
    json = r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  if (r.status === 0) return json;
  if (json && typeof json.code === 'number') throw new CniError(json.code, String(json.msg), typeof json.details === 'string' ? json.details : '');
  throw new CniError(ErrorCode.Internal, `cnr-cni ${command} exited ${r.status}: ${(r.stderr || r.stdout).trim()}`);
}

/**
 * Runs bin/cnr-cni once as a runtime does: `vars` as its whole environment, `input` on
 * stdin, in the namespace `hostNetns` if given; bounded by `timeoutMs` (then killed).
 */
export function runCniBin(vars: NodeJS.ProcessEnv, input: string, hostNetns?: string, timeoutMs = 60_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const [cmd, args] = hostNetns ? ['ip', ['netns', 'exec', hostNetns, CNI_BIN]] : [CNI_BIN, []];
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args as string[], { env: vars, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    c.stdin.on('error', () => {});
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    c.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    c.stdin.end(input);
  });
}

/** ADD: the CNI result (1.0.0). */
export async function addPod(p: PodAttachment): Promise<Record<string, unknown>> {
  return (await runPlugin('ADD', p)) ?? {};
}

/** DEL: idempotent, like the plugin's. */
export async function delPod(p: PodAttachment): Promise<void> {
  await runPlugin('DEL', p);
}
