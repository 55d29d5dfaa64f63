/**
 * Open vSwitch's userspace datapath as a benchmark reference (l2-switching, forwarding): Debian's
 * ovsdb-server and ovs-vswitchd started by hand inside the device-under-test's namespace with
 * their own database, sockets, pid and log files in a temporary directory (no system service, no
 * kernel module), one bridge with `datapath_type=netdev` over two veth ports. ovs-vswitchd then
 * reads and writes those veths through packet sockets, as cnr's af-packet driver does.
 *
 * The database runs for the whole benchmark (idle between windows); ovs-vswitchd is started per
 * window (startSwitchd) so that its CPU is counted only in the windows it forwards, and OpenFlow
 * rules, which live only in ovs-vswitchd's memory, are loaded after each start (addFlows).
 * Every process is the lab's child and is killed by PID; close() removes the directory.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { sh, stopChild, type NetnsLab } from '../../test/lib/netns.js';

const OVS_TOOLS = ['/usr/sbin/ovsdb-server', '/usr/sbin/ovs-vswitchd', '/usr/bin/ovs-vsctl', '/usr/bin/ovs-appctl', '/usr/bin/ovsdb-tool', '/usr/bin/ovs-ofctl'];
const OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
/** how long ovs-vswitchd may take to have every port in its datapath */
const READY_MS = 90_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What is missing for an OVS reference (Debian's openvswitch-switch), empty when it can run. */
export function missingOvs(): string[] {
  return [...OVS_TOOLS, OVS_SCHEMA].filter((f) => !existsSync(f));
}

/** A running ovs-vswitchd: its PID (for CPU accounting) and how to stop it. */
export interface Switchd {
  pid: number;
  stop(): Promise<void>;
}

export interface Ovs {
  /** ovsdb-server's PID (its CPU belongs to OVS's windows too) */
  readonly dbPid: number;
  /** ovs-appctl against the running ovs-vswitchd */
  appctl(args: string[]): string;
  /** Start ovs-vswitchd pinned to `cpu`; resolves once every port of the bridge is in its datapath. */
  startSwitchd(cpu: string): Promise<Switchd>;
  /** Load OpenFlow rules (ovs-ofctl add-flows syntax, one a line) into the running bridge, replacing none. */
  addFlows(lines: readonly string[]): void;
  /** Stop the database and remove the directory (ovs-vswitchd must be stopped first). */
  close(): Promise<void>;
}

/**
 * The database with bridge `br0` (datapath_type=netdev) over `ports`, OpenFlow port numbers
 * 1, 2, ... in that order, and `bridgeConfig` extra `ovs-vsctl set bridge br0` assignments
 * (e.g. `other_config:mac-table-size=100000`).
 */
export async function startOvs(lab: NetnsLab, ns: string, ports: readonly string[], bridgeConfig: readonly string[] = []): Promise<Ovs> {
  const dir = mkdtempSync(join(tmpdir(), 'cnr-bench-ovs-'));
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVS_SYSCONFDIR: dir };
  const db = `unix:${join(dir, 'db.sock')}`;
  const ctl = join(dir, 'vswitchd.ctl');
  let ovsdb: ChildProcess | undefined;
  try {
    sh(['ovsdb-tool', 'create', join(dir, 'conf.db'), OVS_SCHEMA]);
    ovsdb = lab.spawn(ns, ['ovsdb-server', join(dir, 'conf.db'), `--remote=punix:${join(dir, 'db.sock')}`, `--pidfile=${join(dir, 'ovsdb.pid')}`, `--unixctl=${join(dir, 'ovsdb.ctl')}`, `--log-file=${join(dir, 'ovsdb.log')}`], env);
    for (let i = 0; i < 50 && !existsSync(join(dir, 'db.sock')); i++) await sleep(100);
    sh(['ovs-vsctl', `--db=${db}`, '--no-wait', 'init']);
    const addPorts = ports.flatMap((p, i) => ['--', 'add-port', 'br0', p, '--', 'set', 'interface', p, `ofport_request=${i + 1}`]);
    sh(['ovs-vsctl', `--db=${db}`, '--no-wait', 'add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev', ...bridgeConfig, ...addPorts]);
  } catch (e) {
    if (ovsdb) await stopChild(ovsdb, 5000);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const server = ovsdb;
  const appctl = (args: string[]): string => sh(['ovs-appctl', '-t', ctl, ...args], { allowFail: true });
  return {
    dbPid: server.pid!,
    appctl,
    startSwitchd: async (cpu) => {
      // --disable-system-route: the namespace's kernel routes (the forwarding bench's 1M) stay out of
      // ovs-vswitchd's own table for tunnels; it still reads them all over netlink at start (~14 s
      // for 1M here, before it is ready, so outside every measured window)
      const vsw = lab.spawn(ns, ['taskset', '-c', cpu, 'ovs-vswitchd', '--disable-system-route', db, `--pidfile=${join(dir, 'vswitchd.pid')}`, `--unixctl=${ctl}`, `--log-file=${join(dir, 'vswitchd.log')}`], env);
      const t0 = Date.now();
      for (;;) {
        const show = appctl(['dpif/show']);
        if (ports.every((p) => new RegExp(`\\b${p} `).test(show))) break;
        if (Date.now() - t0 > READY_MS) {
          await stopChild(vsw, 5000);
          throw new Error(`ovs-vswitchd not ready after ${READY_MS / 1000} s: ${show}`);
        }
        await sleep(200);
      }
      return { pid: vsw.pid!, stop: () => stopChild(vsw, 5000) };
    },
    addFlows: (lines) => {
      const file = join(dir, 'flows.txt');
      writeFileSync(file, `${lines.join('\n')}\n`);
      sh(['ovs-ofctl', 'add-flows', `unix:${join(dir, 'br0.mgmt')}`, file], { timeout: 120_000 });
    },
    close: async () => {
      await stopChild(server, 5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
