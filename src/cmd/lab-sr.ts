/**
 * `cnr lab up --topology sr`: the product's overlay in one command. Three cnr nodes in
 * namespaces run IS-IS with segment routing between them and iBGP L3VPN between the PEs'
 * loopbacks; a pod on each PE, attached by cnr-cni into VRF blue, pings the other across P:
 *
 *   cnrlab-pod1 (10.11.0.2, fd00:11::2)                        cnrlab-pod2 (10.12.0.2, fd00:12::2)
 *        eth0 ── VRF blue                                            VRF blue ── eth0
 *            cnrlab-pe1 ── core-p ═══ core-pe1  cnrlab-p  core-pe2 ═══ core-p ── cnrlab-pe2
 *            lo0 10.255.0.1   10.0.1.1/30    10.0.1.2/30   10.0.2.1/30    10.0.2.2/30   lo0 10.255.0.3
 *            SRGB 400000                     SRGB 500000                     SRGB 600000
 *
 * PE1 pushes P's label for PE2 (500000 + PE2's index 3) over PE2's VPN label for blue; P pops
 * it (PHP); PE2 pops the VPN label into blue. `up` prints the pings and the label stacks a
 * capture (tshark) sees on the core links. Each node's files (configuration, state, log) live
 * under /run/cnr-lab/sr/<node>; `cnr lab down` removes them with everything else.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addPod } from '../cni/pod.js';
import { CLI, CLI_FLAGS, inNs, nsExists, pidAlive, ping, pingChecks, readPid, RUN_DIR, sh, waitFor } from './lab-util.js';

const NS = { pe1: 'cnrlab-pe1', p: 'cnrlab-p', pe2: 'cnrlab-pe2', pod1: 'cnrlab-pod1', pod2: 'cnrlab-pod2' } as const;
export const SR_NAMESPACES: readonly string[] = Object.values(NS);
const SR_DIR = join(RUN_DIR, 'sr');

type NodeName = 'pe1' | 'p' | 'pe2';

interface SrNode {
  name: NodeName;
  /** 10.255.0.n is its loopback; n its node SID index and system ID */
  n: number;
  srgb: number;
  /** core interfaces and their addresses */
  ifs: [string, string][];
  /** the other PE's n, for a PE */
  peer?: number;
}

const NODES: SrNode[] = [
  { name: 'pe1', n: 1, srgb: 400000, ifs: [['core-p', '10.0.1.1/30']], peer: 3 },
  { name: 'p', n: 2, srgb: 500000, ifs: [['core-pe1', '10.0.1.2/30'], ['core-pe2', '10.0.2.1/30']] },
  { name: 'pe2', n: 3, srgb: 600000, ifs: [['core-p', '10.0.2.2/30']], peer: 1 },
];

const PODS: { ns: string; pe: NodeName; v4: string; v6: string }[] = [
  { ns: NS.pod1, pe: 'pe1', v4: '10.11.0', v6: 'fd00:11:' },
  { ns: NS.pod2, pe: 'pe2', v4: '10.12.0', v6: 'fd00:12:' },
];

/** A node's configuration: lo0 with its NET and node SID, IS-IS point-to-point on the core; on a PE iBGP VPN and VRF blue. */
export function srLabConfig(node: SrNode): string {
  const lines = [
    `# cnr lab --topology sr: ${node.name}`,
    `set system host-name ${node.name}`,
    `set routing-options router-id 10.255.0.${node.n}`,
    `set interfaces lo0 unit 0 family inet address 10.255.0.${node.n}/32`,
    `set interfaces lo0 unit 0 family iso address 49.0001.0000.0000.000${node.n}.00`,
    'set protocols isis interface lo0.0 passive',
    'set protocols isis level 1 disable',
    `set protocols isis source-packet-routing srgb start-label ${node.srgb}`,
    'set protocols isis source-packet-routing srgb index-range 4096',
    `set protocols isis source-packet-routing node-segment ipv4-index ${node.n}`,
  ];
  for (const [ifname, address] of node.ifs) {
    lines.push(
      `set interfaces ${ifname} unit 0 family inet address ${address}`,
      `set interfaces ${ifname} unit 0 family iso`,
      `set protocols isis interface ${ifname} point-to-point`,
      `set protocols isis interface ${ifname} level 2 metric 10`,
    );
  }
  if (node.peer !== undefined) {
    lines.push(
      'set routing-options autonomous-system 65000',
      'set protocols bgp group core type internal',
      `set protocols bgp group core local-address 10.255.0.${node.n}`,
      'set protocols bgp group core family inet-vpn unicast',
      'set protocols bgp group core family inet6-vpn unicast',
      `set protocols bgp group core neighbor 10.255.0.${node.peer}`,
      // the pods join blue through cnr-cni (their interfaces and routes in a group each)
      'set routing-instances blue instance-type vrf',
      `set routing-instances blue route-distinguisher 10.255.0.${node.n}:1`,
      'set routing-instances blue vrf-target target:65000:1',
    );
  }
  return `${lines.join('\n')}\n`;
}

const stateOf = (name: NodeName) => join(SR_DIR, name, 'state');
const cli = (name: NodeName, command: string) => sh([process.execPath, CLI, 'cli', '--state-dir', stateOf(name), '-c', command], true);

/** Whether an SR lab is (partly) there. */
export function srLabPresent(): boolean {
  return SR_NAMESPACES.some(nsExists) || existsSync(SR_DIR);
}

function buildTopology(): void {
  for (const ns of SR_NAMESPACES) {
    sh(['ip', 'netns', 'add', ns]);
    inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
  }
  const links: [string, string, string, string][] = [
    [NS.pe1, 'core-p', NS.p, 'core-pe1'],
    [NS.p, 'core-pe2', NS.pe2, 'core-p'],
  ];
  for (const [a, ifA, b, ifB] of links) {
    sh(['ip', 'link', 'add', ifA, 'netns', a, 'type', 'veth', 'peer', 'name', ifB, 'netns', b]);
    // the vRouters own both ends: no kernel address, no kernel IPv6 (it would send NDP of its own)
    for (const [ns, ifname] of [[a, ifA], [b, ifB]] as const) {
      inNs(ns, ['sysctl', '-qw', `net.ipv6.conf.${ifname}.disable_ipv6=1`], true);
      inNs(ns, ['ip', 'link', 'set', ifname, 'up']);
    }
  }
}

function startNode(node: SrNode): number {
  const dir = join(SR_DIR, node.name);
  mkdirSync(stateOf(node.name), { recursive: true, mode: 0o700 });
  const configFile = join(dir, 'router.set');
  writeFileSync(configFile, srLabConfig(node));
  const log = openSync(join(dir, 'cnr.log'), 'a');
  const child = spawn('ip', ['netns', 'exec', NS[node.name], process.execPath, ...CLI_FLAGS, CLI, 'start', '--config', configFile, '--state-dir', stateOf(node.name)], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  writeFileSync(join(dir, 'cnr.pid'), String(child.pid));
  return child.pid!;
}

export async function upSr(): Promise<number> {
  mkdirSync(SR_DIR, { recursive: true });
  console.log('Building namespaces: PE1, P, PE2 and a pod on each PE ...');
  buildTopology();
  for (const node of NODES) {
    const pid = startNode(node);
    console.log(`Starting cnr in ${NS[node.name]} (pid ${pid}, log ${SR_DIR}/${node.name}/cnr.log) ...`);
  }
  for (const node of NODES) {
    const pid = readPid(join(SR_DIR, node.name, 'cnr.pid'))!;
    await waitFor(`${node.name}'s controller to answer`, 30000, () => {
      if (!pidAlive(pid)) throw new Error(`cnr on ${node.name} exited; see ${SR_DIR}/${node.name}/cnr.log:\n${readFileSync(join(SR_DIR, node.name, 'cnr.log'), 'utf8').slice(-2000)}`);
      return cli(node.name, 'show route summary').length > 0;
    });
  }
  console.log('Attaching pod1 to PE1 and pod2 to PE2 in VRF blue, through cnr-cni ...');
  for (const pod of PODS) {
    await addPod({
      containerId: pod.ns,
      netns: `/var/run/netns/${pod.ns}`,
      instanceName: 'blue',
      addresses: [
        { address: `${pod.v4}.2/24`, gateway: `${pod.v4}.1` },
        { address: `${pod.v6}:2/64`, gateway: `${pod.v6}:1` },
      ],
      stateDir: stateOf(pod.pe),
      dataDir: join(SR_DIR, pod.pe, 'cni'),
      network: 'cnr-lab-sr',
      hostNetns: NS[pod.pe],
      cniPath: '/usr/lib/cni',
    });
    inNs(pod.ns, ['sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=0'], true);
  }
  console.log('Waiting for IS-IS, the SR tunnels and the VPN routes (pod2 in PE1\'s blue) ...');
  let learned = true;
  try {
    await waitFor('10.12.0.2 in PE1\'s blue.inet.0', 90000, () => cli('pe1', 'show route table blue.inet.0').includes('10.12.0.2/32'));
  } catch {
    learned = false;
  }
  const ok = await statusSr();
  if (!learned) console.log(`\nThe VPN route did not arrive in time; see "show isis adjacency", "show bgp summary" and the logs in ${SR_DIR}.`);
  const c = (n: NodeName) => `bin/cnr cli --state-dir ${stateOf(n)}`;
  console.log(`
Try:
  ${c('pe1')} -c "show route table inet.3"     # the SR tunnels IS-IS computed
  ${c('p')} -c "show route table mpls.0"       # P's label operations (swap, pop)
  ${c('pe1')} -c "show route table blue.inet.0 extensive"
  ip netns exec ${NS.pod1} ping 10.12.0.2                 # pod to pod across the fabric
  bin/cnr lab down                                        # remove everything the lab made`);
  return ok ? 0 : 1;
}

/** MPLS label stacks (outermost first) and IPv4 destinations tshark sees arriving on `ifname` while `during` runs. */
async function labelsSeen(ns: string, ifname: string, during: () => void): Promise<string[]> {
  const t = spawn('ip', ['netns', 'exec', ns, 'timeout', '8', 'tshark', '-l', '-n', '-i', ifname, '-c', '2', '-f', 'mpls', '-T', 'fields', '-e', 'mpls.label', '-e', 'ip.dst'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  t.stdout.on('data', (d: Buffer) => (out += d.toString()));
  t.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => {
    t.once('exit', () => r());
    t.once('error', () => r());
  });
  await waitFor('tshark to capture', 5000, () => /Capturing on|Capture started/.test(err) || t.exitCode !== null).catch(() => {});
  during();
  await exited;
  return out.split('\n').filter(Boolean);
}

export async function statusSr(): Promise<boolean> {
  const present = SR_NAMESPACES.filter(nsExists);
  const running = NODES.filter((n) => {
    const pid = readPid(join(SR_DIR, n.name, 'cnr.pid'));
    return pid !== undefined && pidAlive(pid);
  });
  console.log(`\nnamespaces: ${present.length ? present.join(' ') : 'none'}`);
  console.log(`cnr: running on ${running.length ? running.map((n) => n.name).join(', ') : 'no node'}`);
  if (present.length < SR_NAMESPACES.length || running.length < NODES.length) return false;
  const checks: [string, string, string][] = [
    ['pod1 -> pod2 (IPv4)', NS.pod1, '10.12.0.2'],
    ['pod2 -> pod1 (IPv4)', NS.pod2, '10.11.0.2'],
    ['pod1 -> pod2 (IPv6)', NS.pod1, 'fd00:12::2'],
    ['pod2 -> pod1 (IPv6)', NS.pod2, 'fd00:11::2'],
  ];
  const ok = pingChecks(checks);
  // what the core carries: captured where the frames arrive (a frame the vRouter sends bypasses the sender's taps)
  const blue = (JSON.parse(cli('pe2', 'show route table mpls.0 | display json') || '{"routes":[]}') as { routes: { label: number; table?: string }[] }).routes.find((r) => r.table === 'blue.inet.0')?.label;
  console.log(`\nLabel stacks on the core, pod1 -> pod2 (outermost first; P's label for PE2 is 500003, PE2's VPN label for blue ${blue ?? '?'}):`);
  const hasTshark = sh(['sh', '-c', 'command -v tshark'], true).trim() !== '';
  if (!hasTshark) console.log('  (tshark is not installed: no capture)');
  else {
    for (const [link, ns, ifname] of [['PE1 -> P  ', NS.p, 'core-pe1'], ['P   -> PE2', NS.pe2, 'core-p']] as const) {
      const seen = await labelsSeen(ns, ifname, () => void ping(NS.pod1, '10.12.0.2'));
      const stacks = [...new Set(seen.map((l) => l.split('\t')[0]!))];
      console.log(`  ${link}  ${stacks.length ? stacks.map((s) => `[${s.split(',').join(', ')}]`).join(' ') : 'nothing captured'}`);
    }
  }
  return ok;
}

/** Stop the SR lab's cnr processes (by the PIDs it recorded) and remove its namespaces. */
export async function downSr(): Promise<void> {
  const pids = NODES.map((n) => readPid(join(SR_DIR, n.name, 'cnr.pid'))).filter((p): p is number => p !== undefined && pidAlive(p));
  for (const pid of pids) process.kill(pid, 'SIGTERM');
  for (const pid of pids) {
    await waitFor('cnr to stop', 10000, () => !pidAlive(pid)).catch(() => {
      if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    });
  }
  for (const ns of SR_NAMESPACES) if (nsExists(ns)) sh(['ip', 'netns', 'del', ns], true);
}
