/**
 * `cnr lab up | down | status`: the built-in demo. It builds a small network out of
 * network namespaces on this machine and runs cnr as its router:
 *
 *      cnrlab-h1 (10.1.0.2, 2001:db8:1::2)          cnrlab-peer (BIRD, AS 65002)
 *            eth0                                       eth0  10.0.0.2, 2001:db8:ff::2
 *             |                                          |    announces 203.0.113.0/24
 *         cnr…(veth) ──┐                       ┌── lab-peer
 *                     cnrlab-r: cnr start (AS 65001) — vRouter on AF_PACKET, vhost0 to its host stack
 *         cnr…(veth) ──┘
 *            eth0
 *      cnrlab-h2 (10.2.0.2, 2001:db8:2::2)
 *
 * The two hosts are attached as Kubernetes pods would be: through the cnr-cni plugin, run
 * exactly as a container runtime runs it, which records each in a configuration group of
 * its own (`show configuration groups`).
 * The router's veth ends carry no kernel address: cnr's data plane owns them, and BGP runs
 * over vhost0. `up` shows traffic crossing the router (pings both families, a prefix learned
 * by BGP); `down` removes every namespace, link, process and file that `up` made.
 * `up --topology sr` builds the segment-routing fabric of lab-sr.ts instead (PE1 — P — PE2).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { addPod } from '../cni/pod.js';
import { CLI, CLI_FLAGS, inNs, nsExists, pidAlive, pingChecks, readPid, RUN_DIR, sh, waitFor } from './lab-util.js';
import { downSr, srLabPresent, statusSr, upSr } from './lab-sr.js';

const NS = { router: 'cnrlab-r', h1: 'cnrlab-h1', h2: 'cnrlab-h2', peer: 'cnrlab-peer' } as const;

export const LAB_CONFIG = `# The cnr lab's router (cnr lab up)
set system host-name lab-router
set interfaces lab-peer description "BGP peer (BIRD)"
set interfaces lab-peer unit 0 family inet address 10.0.0.1/30
set interfaces lab-peer unit 0 family inet6 address 2001:db8:ff::1/64
set routing-options router-id 10.255.0.1
set routing-options autonomous-system 65001
set policy-options policy-statement lab-export term connected from protocol direct
set policy-options policy-statement lab-export term connected then accept
set policy-options policy-statement lab-export term pods from protocol static
set policy-options policy-statement lab-export term pods then accept
set protocols bgp group peer type external
set protocols bgp group peer peer-as 65002
set protocols bgp group peer export lab-export
set protocols bgp group peer neighbor 10.0.0.2
`;

const BIRD_CONFIG = `# the lab's BGP peer
router id 10.255.0.2;
log stderr all;
protocol device { }
protocol direct { ipv4; interface "lo"; }
protocol kernel { ipv4 { export where source = RTS_BGP; }; }
protocol static { ipv4; route 203.0.113.0/24 blackhole; }
protocol bgp cnr {
  local 10.0.0.2 as 65002;
  neighbor 10.0.0.1 as 65001;
  ipv4 { import all; export where source = RTS_STATIC; };
}
`;

function stateDir(args: string[]): string {
  const i = args.indexOf('--state-dir');
  return i >= 0 && args[i + 1] ? args[i + 1]! : (process.env['CNR_STATE_DIR'] ?? '/var/lib/cnr');
}

function buildTopology(): void {
  for (const ns of Object.values(NS)) {
    sh(['ip', 'netns', 'add', ns]);
    inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
  }
  // the hosts are wired by the CNI plugin (attachHosts); the BGP peer by hand
  const wired: [string, string, string, string][] = [[NS.peer, 'lab-peer', '10.0.0.2/30', '2001:db8:ff::2/64']];
  for (const [ns, rif, v4, v6] of wired) {
    sh(['ip', 'link', 'add', rif, 'netns', NS.router, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    // The peer keeps the kernel's default offloads, as a real neighbour does: the vRouter
    // segments its TCP super-frames and completes its checksums (docs/design.md, Packet I/O).
    // The router side gets no kernel address; IPv6 off there so the kernel sends no NDP of its own.
    inNs(NS.router, ['sysctl', '-qw', `net.ipv6.conf.${rif}.disable_ipv6=1`], true);
    inNs(NS.router, ['ip', 'link', 'set', rif, 'up']);
    inNs(ns, ['sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=0'], true);
    inNs(ns, ['ip', 'addr', 'add', v4, 'dev', 'eth0']);
    inNs(ns, ['ip', '-6', 'addr', 'add', v6, 'dev', 'eth0', 'nodad']);
    inNs(ns, ['ip', 'link', 'set', 'eth0', 'up']);
  }
  inNs(NS.peer, ['ip', 'addr', 'add', '203.0.113.1/32', 'dev', 'lo']);
}

/** Attach host1 and host2 to the router's main instance through cnr-cni, as pods. */
async function attachHosts(state: string): Promise<void> {
  const hosts: [string, string, string][] = [
    [NS.h1, '10.1.0', '2001:db8:1'],
    [NS.h2, '10.2.0', '2001:db8:2'],
  ];
  for (const [ns, v4, v6] of hosts) {
    await addPod({
      containerId: ns,
      netns: `/var/run/netns/${ns}`,
      instanceName: 'default',
      addresses: [
        { address: `${v4}.2/24`, gateway: `${v4}.1` },
        { address: `${v6}::2/64`, gateway: `${v6}::1` },
      ],
      stateDir: state,
      dataDir: join(RUN_DIR, 'cni'),
      network: 'cnr-lab',
      hostNetns: NS.router,
      cniPath: '/usr/lib/cni',
    });
  }
}

/** `--topology router` (the default, the README's lab) or `sr` (lab-sr.ts). */
function topology(args: string[]): 'router' | 'sr' {
  const i = args.indexOf('--topology');
  if (i < 0) return 'router';
  const t = args[i + 1];
  if (t === 'router' || t === 'sr') return t;
  throw new Error(`--topology ${t ?? ''}: expected router or sr\n${USAGE}`);
}

const USAGE = 'usage: cnr lab up [--topology router|sr] [--state-dir DIR] | down | status';

async function up(args: string[]): Promise<number> {
  const topo = topology(args);
  if (process.getuid?.() !== 0) throw new Error('the lab builds network namespaces: run it as root');
  if (Object.values(NS).some(nsExists) || srLabPresent()) {
    console.log('A lab is already there; removing it first.');
    await down(args);
  }
  if (topo === 'sr') return upSr();
  const state = stateDir(args);
  mkdirSync(RUN_DIR, { recursive: true });
  // The lab is a demo: it always starts from its own configuration.
  rmSync(join(state, 'config'), { recursive: true, force: true });
  mkdirSync(state, { recursive: true, mode: 0o700 });
  console.log('Building namespaces: host1, host2, a BGP peer, and the router ...');
  buildTopology();

  const configFile = join(RUN_DIR, 'router.set');
  writeFileSync(configFile, LAB_CONFIG);
  const log = openSync(join(RUN_DIR, 'cnr.log'), 'a');
  const child = spawn('ip', ['netns', 'exec', NS.router, process.execPath, ...CLI_FLAGS, CLI, 'start', '--config', configFile, '--state-dir', state], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  writeFileSync(join(RUN_DIR, 'cnr.pid'), String(child.pid));
  console.log(`Starting cnr in ${NS.router} (pid ${child.pid}, log ${RUN_DIR}/cnr.log) ...`);
  await waitFor('the controller to answer', 30000, () => {
    if (child.exitCode !== null || !pidAlive(child.pid!)) throw new Error(`cnr exited; see ${RUN_DIR}/cnr.log:\n${readFileSync(join(RUN_DIR, 'cnr.log'), 'utf8').slice(-2000)}`);
    return sh([process.execPath, CLI, 'cli', '--state-dir', state, '-c', 'show route summary'], true).length > 0;
  });

  // The router's namespace has no other way out: everything its host stack sends (BGP,
  // replies to pings of the router) goes through the vRouter's FIB via vhost0.
  await waitFor('vhost0', 10000, () => inNs(NS.router, ['ip', 'link', 'show', 'vhost0'], true).includes('vhost0'));
  inNs(NS.router, ['ip', 'route', 'replace', 'default', 'dev', 'vhost0']);
  inNs(NS.router, ['ip', '-6', 'route', 'replace', 'default', 'dev', 'vhost0'], true);
  console.log('Attaching host1 and host2 as pods through cnr-cni ...');
  await attachHosts(state);

  const birdDir = join(RUN_DIR, 'bird');
  mkdirSync(birdDir, { recursive: true });
  writeFileSync(join(birdDir, 'bird.conf'), BIRD_CONFIG);
  chmodSync(birdDir, 0o755);
  const birdLog = openSync(join(RUN_DIR, 'bird.log'), 'a');
  const bird = spawn('ip', ['netns', 'exec', NS.peer, 'bird', '-f', '-c', join(birdDir, 'bird.conf'), '-s', join(birdDir, 'bird.ctl'), '-P', join(birdDir, 'bird.pid')], {
    detached: true,
    stdio: ['ignore', birdLog, birdLog],
  });
  bird.unref();
  writeFileSync(join(RUN_DIR, 'bird-launcher.pid'), String(bird.pid));
  console.log(`Starting BIRD in ${NS.peer} (AS 65002) ...`);

  console.log('Waiting for the BGP session and the peer\'s prefix 203.0.113.0/24 ...');
  let learned = true;
  try {
    await waitFor('203.0.113.0/24 from BGP', 30000, () => sh([process.execPath, CLI, 'cli', '--state-dir', state, '-c', 'show route 203.0.113.0/24'], true).includes('203.0.113.0/24'));
  } catch {
    learned = false;
  }
  const ok = await status(args);
  if (!learned) console.log('\nThe BGP route did not arrive in time; see `cnr cli -c "show bgp summary"` and the logs in /run/cnr-lab.');
  console.log(`
Try:
  bin/cnr cli${state === '/var/lib/cnr' ? '' : ` --state-dir ${state}`} -c "show route"          # the RIB (also: show bgp summary, show interfaces terse)
  bin/cnr cli${state === '/var/lib/cnr' ? '' : ` --state-dir ${state}`}                            # interactive: configure, set ..., commit
  ip netns exec ${NS.router} bin/cnr vif --list           # the vRouter (also: nh --list, rt --dump default, dropstats)
  ip netns exec ${NS.h1} ping 10.2.0.2                   # traffic through the vRouter
  bin/cnr lab down                                        # remove everything the lab made`);
  return ok ? 0 : 1;
}

async function status(args: string[]): Promise<boolean> {
  const state = stateDir(args);
  const present = Object.values(NS).filter(nsExists);
  const pid = readPid(join(RUN_DIR, 'cnr.pid'));
  const running = pid !== undefined && pidAlive(pid);
  console.log(`\nnamespaces: ${present.length ? present.join(' ') : 'none'}`);
  console.log(`cnr: ${running ? `running (pid ${pid})` : 'not running'}`);
  if (present.length < 4 || !running) return false;
  const checks: [string, string, string][] = [
    ['host1 -> router (10.1.0.1)', NS.h1, '10.1.0.1'],
    ['host1 -> host2 (IPv4)', NS.h1, '10.2.0.2'],
    ['host2 -> host1 (IPv4)', NS.h2, '10.1.0.2'],
    ['host1 -> host2 (IPv6)', NS.h1, '2001:db8:2::2'],
    ['host2 -> host1 (IPv6)', NS.h2, '2001:db8:1::2'],
    ['host1 -> 203.0.113.1 (learned by BGP)', NS.h1, '203.0.113.1'],
  ];
  const ok = pingChecks(checks);
  const bgp = sh([process.execPath, CLI, 'cli', '--state-dir', state, '-c', 'show bgp summary'], true);
  if (bgp) console.log(`\n${bgp.trimEnd()}`);
  return ok;
}

async function down(_args: string[]): Promise<number> {
  // Stop only what the lab started, by the PIDs it recorded (either topology).
  await downSr();
  for (const file of ['cnr.pid', 'bird-launcher.pid', 'bird/bird.pid']) {
    const pid = readPid(join(RUN_DIR, file));
    if (pid !== undefined && pidAlive(pid)) process.kill(pid, 'SIGTERM');
  }
  const pid = readPid(join(RUN_DIR, 'cnr.pid'));
  if (pid !== undefined) {
    await waitFor('cnr to stop', 10000, () => !pidAlive(pid)).catch(() => {
      if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    });
  }
  for (const ns of Object.values(NS)) if (nsExists(ns)) sh(['ip', 'netns', 'del', ns], true);
  if (existsSync(RUN_DIR)) rmSync(RUN_DIR, { recursive: true, force: true });
  console.log('lab removed (namespaces, links, processes, run files)');
  return 0;
}

export async function run(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  switch (verb) {
    case 'up':
      return up(rest);
    case 'down':
      return down(rest);
    case 'status':
      return (await (srLabPresent() ? statusSr() : status(rest))) ? 0 : 1;
    default:
      console.error(USAGE);
      return 2;
  }
}
