/**
 * A segment-routing fabric of cnr nodes for the system tests (sr-e2e, sr-square-e2e): the
 * configuration of each node (lo0 with its NET and node SID, IS-IS point-to-point on the core
 * links with 1 s hellos and a 3 s hold time, its own SRGB; on the PEs iBGP inet-vpn/inet6-vpn between loopbacks
 * and VRF blue), `cnr start` in each node's namespace (its controller routes the node's own
 * traffic into vhost0), and a bounded tshark capture of what crosses a link.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { needsRoot, type NetnsLab } from './netns.js';
import { CnrNode, eventually } from './cnr-node.js';

/** Why an SR system test cannot run here (not root, or no IS-IS protocol in the tree), printed; false when it can. */
export function srSkip(test: string): string | false {
  // the source, not dist/ (a build of another branch may have left compiled files there)
  const hasIsis = existsSync(fileURLToPath(new URL('../../../src/controller/protocols/isis/index.ts', import.meta.url)));
  const skip = needsRoot() || (hasIsis ? false : 'needs the IS-IS protocol (src/controller/protocols/isis), not in this tree');
  if (skip) console.log(`# ${test} skipped: ${skip}`);
  return skip;
}

/** Stop the nodes (their logs first with CNR_E2E_DEBUG), the lab's namespaces, the files. */
export async function stopSrNodes(nodes: Map<string, CnrNode>, lab: NetnsLab, dir: string): Promise<void> {
  if (process.env['CNR_E2E_DEBUG']) for (const [name, n] of nodes) console.log(`--- ${name}\n${n.logTail(6000)}`);
  for (const n of nodes.values()) await n.stop();
  await lab.cleanup();
  rmSync(dir, { recursive: true, force: true });
}

export interface SrNodePlan {
  name: string;
  /** 10.255.0.n is its loopback, n its node SID index and system ID */
  n: number;
  srgb: number;
  ifs: [ifname: string, address: string, isis: 'p2p' | 'passive'][];
  /** more configuration (the VPN, see srVpn) */
  extra?: string[];
}

export function srConfig(p: SrNodePlan): string {
  const lines = [
    ...(p.extra ?? []),
    `set system host-name ${p.name}`,
    `set routing-options router-id 10.255.0.${p.n}`,
    `set interfaces lo0 unit 0 family inet address 10.255.0.${p.n}/32`,
    `set interfaces lo0 unit 0 family iso address 49.0001.0000.0000.000${p.n}.00`,
    'set protocols isis interface lo0.0 passive',
    'set protocols isis level 1 disable',
    `set protocols isis source-packet-routing srgb start-label ${p.srgb}`,
    'set protocols isis source-packet-routing srgb index-range 4096',
    `set protocols isis source-packet-routing node-segment ipv4-index ${p.n}`,
  ];
  for (const [ifname, address, kind] of p.ifs) {
    lines.push(`set interfaces ${ifname} unit 0 family inet address ${address}`);
    lines.push(`set interfaces ${ifname} unit 0 family iso`);
    if (kind === 'passive') lines.push(`set protocols isis interface ${ifname} passive`);
    else {
      lines.push(`set protocols isis interface ${ifname} point-to-point`);
      lines.push(`set protocols isis interface ${ifname} hello-interval 1`);
      lines.push(`set protocols isis interface ${ifname} hold-time 3`);
      lines.push(`set protocols isis interface ${ifname} level 2 metric 10`);
    }
  }
  return lines.join('\n') + '\n';
}

/** A PE's L3VPN: iBGP inet-vpn and inet6-vpn from its loopback to the other PE's, VRF blue on `blueIf`. */
export function srVpn(n: number, peer: number, blueIf: string, blueNet: string, blueNet6: string): string[] {
  return [
    'set routing-options autonomous-system 65000',
    'set protocols bgp group core type internal',
    `set protocols bgp group core local-address 10.255.0.${n}`,
    'set protocols bgp group core family inet-vpn unicast',
    'set protocols bgp group core family inet6-vpn unicast',
    `set protocols bgp group core neighbor 10.255.0.${peer}`,
    `set interfaces ${blueIf} unit 0 family inet address ${blueNet}`,
    `set interfaces ${blueIf} unit 0 family inet6 address ${blueNet6}`,
    'set routing-instances blue instance-type vrf',
    `set routing-instances blue interface ${blueIf}`,
    `set routing-instances blue route-distinguisher 10.255.0.${n}:1`,
    'set routing-instances blue vrf-target target:65000:1',
  ];
}

/**
 * Start `cnr start` on every node (their namespaces in `ns`, files under `dir`), each put in
 * `nodes` as it starts (so that the caller stops what started even when a later one fails):
 * once the loopback is on vhost0 (the vRouter puts it there). The node's own traffic (BGP
 * between loopbacks) reaches the remote loopbacks through the kernel routes the controller
 * installs for its IS-IS routes (`dev vhost0 proto 250`, controller/rib/host-routes.ts).
 */
export async function startSrNodes(lab: NetnsLab, dir: string, plans: SrNodePlan[], ns: Record<string, string>, nodes: Map<string, CnrNode>): Promise<void> {
  for (const p of plans) {
    for (const [ifname] of p.ifs) lab.run(ns[p.name]!, ['sysctl', '-qw', `net.ipv6.conf.${ifname}.disable_ipv6=1`], { allowFail: true });
    const d = join(dir, p.name);
    mkdirSync(d, { recursive: true });
    const cfg = join(d, 'router.set');
    writeFileSync(cfg, srConfig(p));
    const node = new CnrNode(ns[p.name]!, join(d, 'state'), cfg, d);
    nodes.set(p.name, node);
    await node.start();
    await eventually(`vhost0 in ${p.name}`, 15_000, () => lab.run(ns[p.name]!, ['ip', 'link', 'show', 'vhost0'], { allowFail: true }).includes('vhost0'));
    // the loopback (lo0) reaches the kernel as an address of vhost0, from its receive route
    await eventually(`10.255.0.${p.n} on vhost0 in ${p.name}`, 15_000, () => lab.run(ns[p.name]!, ['ip', '-4', 'addr', 'show', 'dev', 'vhost0']).includes(`10.255.0.${p.n}/32`));
  }
}

/** A running tshark capture: `ready` once it captures, `stop()` ends it, `lines` its fields. */
export interface Capture {
  ready: Promise<void>;
  stop(): void;
  lines: Promise<string[]>;
}

/**
 * Capture MPLS labels (comma-separated, outermost first) and the IPv4 destination of frames
 * arriving on an interface, at most `count` of them. Bounded by a generous `timeout` from spawn
 * (tshark itself can take seconds to start on a loaded machine); callers end it with stop().
 */
export function startCapture(ns: string, ifname: string, filter: string, count: number): Capture {
  const t = spawn('ip', ['netns', 'exec', ns, 'timeout', '60', 'tshark', '-l', '-n', '-i', ifname, '-c', String(count), '-f', filter, '-T', 'fields', '-e', 'mpls.label', '-e', 'ip.dst'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  t.stdout.on('data', (d: Buffer) => (out += d.toString()));
  t.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => (t.exitCode !== null ? r() : t.once('exit', () => r())));
  return {
    ready: eventually('tshark to start capturing', 30_000, () => /Capturing on|Capture started/.test(err) || t.exitCode !== null).then(() => undefined),
    // `ip netns exec` execs `timeout`, which passes SIGTERM on to tshark (our own child, by PID)
    stop: () => void (t.exitCode === null && t.kill('SIGTERM')),
    lines: exited.then(() => out.split('\n').filter(Boolean)),
  };
}

/**
 * What startCapture sees while `during` runs: at most `count` frames, the capture ending
 * `seconds` after it began (so a slow tshark start does not eat the window).
 * (Captured where frames arrive: a frame the vRouter sends bypasses the qdisc, and with it
 * the sender's taps.)
 */
export async function seenOn(ns: string, ifname: string, filter: string, during: () => void, count = 2, seconds = 10): Promise<string[]> {
  const c = startCapture(ns, ifname, filter, count);
  await c.ready;
  await new Promise((r) => setTimeout(r, 500));
  during();
  const timer = setTimeout(() => c.stop(), seconds * 1000);
  try {
    return await c.lines;
  } finally {
    clearTimeout(timer);
  }
}
