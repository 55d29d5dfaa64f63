/**
 * Forwarding between veths, cnr's data plane against the kernel's own IPv4 forwarding on the
 * same topology in the same run (issue 16). Topology, three namespaces:
 *
 *   gen:eth0 ── r1 [r: the kernel, or the vRouter] r2 ── sink:eth0
 *   gen:eth1 ──────────────────────────────────────────── sink:eth1   (the baseline: no forwarder)
 *
 * Traffic that defeats caches: the same 1M-route FIB in both forwarders (randomPrefixes4(1M, 1),
 * BGP-like lengths; the kernel's loaded through rtnetlink by bench/lib/route-loader.ts, cnr's
 * into its LPM table by bench/lib/fwd-vrouter.ts), every route toward one next hop whose MAC is
 * nobody's, so the sink's kernel counts each frame and drops it (no ICMP back); 65,536 flows
 * (FWD_FLOWS), the destination changing every packet (bench/lib/pktgen.ts flows:...); 64- and
 * 1518-byte frames on the wire (60 and 1514 bytes written, FCS excluded).
 *
 * Two figures per frame size and forwarder, each over >= 3 rounds (bench/lib/stats.ts):
 *
 * 1. Saturation: the generator unpaced; the forwarded rate is the sink's rx_packets over a 3 s
 *    window after 1 s of warm-up, printed beside the generator's offered rate. A forwarder
 *    that forwarded >= 97% of what was offered was not saturated: the generator was the limit,
 *    the round says so and gives no ratio. On veths the receive work of a forwarder runs on the
 *    sending CPU (the generator's), so the offered rate depends on the forwarder too.
 * 2. CPU cost per forwarded packet, all cores: the generator paced at one rate below every
 *    forwarder's saturation (half the lowest median saturation, or FWD_RATE_64 / FWD_RATE_1518),
 *    busy CPU time of every core from /proc/stat (bench/lib/cpu-stat.ts; `perf stat` has no
 *    hardware counters in this VM) minus that of a baseline window in the same round at the same
 *    rate with the generator sending straight to the sink; divided by the packets forwarded.
 *    Ratio = kernel / cnr (above 1: cnr spends less CPU per packet). The machine is shared:
 *    other tenants' CPU lands in every window; the baseline of the same round and the medians
 *    are what keep it out, and the load average is printed. Each cnr round also prints the
 *    vRouter process's user and system time per packet (/proc/PID/stat): user is the graph,
 *    the ring copies and the loop; system is mostly the kernel's transmit inside the sendto
 *    kicks (an skb and a copy per frame), which is where a veth forwarder's CPU goes. The
 *    kernel samples that split with its 100 Hz tick, so it is a direction, not a measurement.
 *
 * References beside the kernel in the same rounds (FWD_REFS, all by default):
 * - `ovs`: Open vSwitch's userspace datapath (bench/lib/ovs.ts; ovs-vswitchd on CPU 1, reading and
 *   writing the same veths through packet sockets) routing the same destinations with OpenFlow
 *   rules (match nw_dst, dec_ttl, set both MACs, output) for the destinations' /12s
 *   (FWD_OVS_PREFIX): not the 1M-route FIB, which OVS cannot hold cheaply, and not a rule per
 *   destination, whose megaflows OVS's datapath flow limit (10,000 at start) would not take in a
 *   window. OVS saturates far below the others here, so its cost is measured beside cnr and the
 *   kernel in rounds of its own at half its saturation (FWD_OVS_RATE_64 / FWD_OVS_RATE_1518).
 * - `floor-af-packet-v3` (not by default): the floor with a TPACKET_V3 block receive ring, a lever
 *   measured before cnr's driver would take it (bench/lib/tpacket-v3-rx.ts).
 * - `floor-af-packet`, `floor-af-xdp`: cnr's own drivers moving frames port to port with no lookup
 *   and no rewrite (bench/lib/fwd-floor.ts): what any userspace forwarder pays on this I/O path,
 *   to tell it from what cnr's code adds. The floor's CPU per packet is in every cnr figure's notes.
 * Each userspace forwarder's packet-I/O syscalls per packet are counted by the kernel's syscall
 * tracepoints (perf stat, bench/lib/syscall-count.ts; FWD_SYSCALLS=0 turns it off): the transmit
 * kicks and the sleeps are the per-batch costs that decide a paced forwarder's CPU per packet.
 * For a shorter run: FWD_SIZES=60 (one frame size), FWD_SATURATION=0 with the rates given,
 * FWD_ROUTES, FWD_MEASURE_S.
 *
 * Pinning: generator on CPU 0, vRouter on CPU 1 (CNR_BENCH_VROUTER_CPU=any leaves it free);
 * the kernel forwards in softirq wherever the packet arrives. cnr runs on af-packet and af-xdp
 * (FWD_DRIVERS). An entry of FWD_DRIVERS may carry settings for that vRouter's environment,
 * `af-packet+CNR_RX_COALESCE_US=150` (each `+NAME=VALUE` a CNR_ variable), so that two settings of
 * the same driver are compared in the same rounds, beside the kernel (e.g.
 * `FWD_DRIVERS=af-packet,af-packet+CNR_IDLE_SPIN_US=0`). Each cnr round also prints its forwarding
 * worker thread's own CPU per packet, exact (/proc/PID/task/TID/schedstat: the scheduler's run
 * time, not ticks), and how often it went to sleep (its voluntary context switches) per packet:
 * a sleep and its wake-up cost ~15 us of CPU on this VM, so sleeps per packet is the figure that
 * tells a worker spinning through a partial load from one sleeping between frames.
 * Namespaces and processes are removed by the lab (by PID) even on failure.
 */
import { fileURLToPath } from 'node:url';
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { NetnsLab, isRoot, stopChild, waitForLine } from '../test/lib/netns.js';
import { genDutSink } from './lib/gen-dut-sink.js';
import { missingOvs, startOvs, type Ovs } from './lib/ovs.js';
import { flowDestinations } from './lib/pktgen.js';
import { formatIpv4 } from '../src/lib/addr.js';
import { countSyscalls, perPacket } from './lib/syscall-count.js';
import { mask4 } from '../test/support/random.js';
import { busySeconds, ksoftirqdPids, processSeconds, processUserSystem, readProcStat } from './lib/cpu-stat.js';
import { figure, median, ROUNDS } from './lib/stats.js';
import type { BenchResult } from './types.js';

const pktgen = fileURLToPath(new URL('./lib/pktgen.js', import.meta.url));
const vrouterChild = fileURLToPath(new URL('./lib/fwd-vrouter.js', import.meta.url));
const floorChild = fileURLToPath(new URL('./lib/fwd-floor.js', import.meta.url));
const routeLoader = fileURLToPath(new URL('./lib/route-loader.js', import.meta.url));
const WARMUP_S = 1;
const MEASURE_S = Number(process.env.FWD_MEASURE_S ?? 3);
const ROUTES = Number(process.env.FWD_ROUTES ?? 1_000_000);
const SEED = 1;
const FLOWS = Number(process.env.FWD_FLOWS ?? 65536);
const R1_MAC = '02:cc:0f:00:00:01';
const R2_MAC = '02:cc:0f:00:00:02';
const SINK_NEXT_HOP_MAC = '02:cc:0f:00:00:99';
/** frame lengths written (FCS excluded): 64- and 1518-byte frames on the wire (FWD_SIZES=60 or 1514 for one) */
const ALL_SIZES = [60, 1514] as const;
type Size = (typeof ALL_SIZES)[number];
const SIZES: readonly Size[] = ALL_SIZES.filter((s) => (process.env.FWD_SIZES ?? '60,1514').split(',').map(Number).includes(s));
const wire = (s: Size): number => s + 4;
/** A cnr forwarder under test: its driver and the settings of its vRouter's environment, named by the FWD_DRIVERS entry. */
interface CnrVariant {
  label: string;
  driver: 'af-packet' | 'af-xdp';
  env: Record<string, string>;
}

/** FWD_DRIVERS entries: `af-packet`, `af-xdp`, each optionally followed by `+CNR_NAME=value` settings. */
export function parseDrivers(spec: string): CnrVariant[] {
  return spec.split(',').filter(Boolean).map((label) => {
    const [driver, ...settings] = label.split('+');
    if (driver !== 'af-packet' && driver !== 'af-xdp') throw new Error(`FWD_DRIVERS: ${label}: the driver must be af-packet or af-xdp`);
    const env: Record<string, string> = {};
    for (const kv of settings) {
      const m = /^(CNR_[A-Z0-9_]+)=(.*)$/.exec(kv);
      if (!m) throw new Error(`FWD_DRIVERS: ${label}: "${kv}" is not CNR_NAME=value`);
      env[m[1]!] = m[2]!;
    }
    return { label, driver, env };
  });
}
const VARIANTS = parseDrivers(process.env.FWD_DRIVERS ?? 'af-packet,af-xdp');
const DRIVERS = VARIANTS.map((v) => v.label);
/**
 * The references beside the kernel (FWD_REFS, any of): `ovs`, Open vSwitch's userspace datapath
 * routing with OpenFlow rules; `floor-af-packet` and `floor-af-xdp`, cnr's own I/O moving frames
 * port to port with no lookup (bench/lib/fwd-floor.ts).
 */
const REFS = (process.env.FWD_REFS ?? 'ovs,floor-af-packet,floor-af-xdp').split(',').filter(Boolean);
for (const r of REFS) if (r !== 'ovs' && r !== 'floor-af-packet' && r !== 'floor-af-xdp' && r !== 'floor-af-packet-v3') throw new Error(`FWD_REFS: ${r}: ovs, floor-af-packet, floor-af-xdp or floor-af-packet-v3`);
/** the floor of a cnr variant: its driver's floor, when that runs */
const floorOf = (label: string): string | undefined => {
  const f = `floor-${VARIANTS.find((v) => v.label === label)!.driver}`;
  return REFS.includes(f) ? f : undefined;
};
/**
 * OVS's rules: the destinations sent, each covered by a rule for its /FWD_OVS_PREFIX (default
 * 12). OVS cannot hold the 1M-route FIB cheaply, and one rule (hence one datapath megaflow) per
 * destination does not settle within a window: its datapath flow limit starts at 10,000 and grows
 * by 1,000 per revalidation, so most of 65,536 destinations would go through upcalls. With its
 * default prefix tracking on nw_dst the megaflows are as wide as the rules.
 */
const OVS_PREFIX = Number(process.env.FWD_OVS_PREFIX ?? 12);
const ovsRules = (): string[] => {
  const nets = new Set<number>();
  for (const d of flowDestinations(SEED, FLOWS)) nets.add((d & mask4(OVS_PREFIX)) >>> 0);
  return [...nets].map((n) => `priority=100,ip,in_port=1,dl_dst=${R1_MAC},nw_dst=${formatIpv4(n)}/${OVS_PREFIX},actions=dec_ttl,mod_dl_src:${R2_MAC},mod_dl_dst:${SINK_NEXT_HOP_MAC},output:2`);
};
let ovsRuleCount = 0;
const refName = (f: string): string =>
  f === 'ovs'
    ? `Open vSwitch 3.1 userspace datapath (ovs-vswitchd, datapath_type=netdev, on one core) routing the same ${FLOWS} destinations with ${fmt(ovsRuleCount)} OpenFlow rules, the destinations' /${OVS_PREFIX}s (not the ${ROUTES / 1e6}M-route FIB, which it cannot hold cheaply): match in_port, dl_dst, nw_dst, then dec_ttl, set both MACs, output; same rate and round`
    : f === 'floor-af-packet-v3'
      ? `the floor with block receive: a TPACKET_V3 ring on the in port (bench/lib/tpacket-v3-rx.ts, blocks handed over when full or after ${process.env.FLOOR_V3_TOV_MS ?? 1} ms) and cnr's af-packet transmit, port to port, no lookup and no rewrite, same rate and round`
      : `the floor: cnr's ${f.slice(6)} I/O alone moving each frame port to port, no lookup and no rewrite (bench/lib/fwd-floor.ts), same rate and round`;
/** count the forwarder process's packet-I/O syscalls in each window (FWD_SYSCALLS=0: not) */
const COUNT_SYSCALLS = process.env.FWD_SYSCALLS !== '0';
/** forwarded >= this share of the offered rate: the forwarder kept up, the generator was the limit */
const KEPT_UP = 0.97;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

interface Window {
  /** packets per second counted at the sink */
  pps: number;
  /** the generator's own rate over its whole run */
  offered: number;
  /** busy CPU seconds per second, all cores */
  busyPerS: number;
  stealPerS: number;
  /** CPU seconds per second of our own processes: generator, vRouter (when running), ksoftirqd threads */
  ownPerS: number;
  /** the vRouter process alone (0 for the kernel and the baseline): user time (the graph, ring copies, the loop) and system time (syscalls: the transmit kicks with the kernel's transmit work, poll) per second */
  vrUserPerS: number;
  vrSystemPerS: number;
  /** the vRouter's forwarding worker thread (0 for the kernel and the baseline): run time per second (schedstat, exact) and sleeps per second (voluntary context switches) */
  workerPerS: number;
  workerSleepsPerS: number;
  /** packet-I/O syscalls of the forwarder's process over the window (bench/lib/syscall-count.ts; {} for the kernel and the baseline) */
  syscalls: Record<string, number>;
}

/** Run time (s) and voluntary context switches of the vRouter's forwarding worker thread (cnr-fwd-0), zeros when not found. */
function workerThread(pid: number): { seconds: number; sleeps: number } {
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const dir = `/proc/${pid}/task/${tid}`;
      if (!readFileSync(`${dir}/comm`, 'utf8').startsWith('cnr-fwd')) continue;
      const seconds = Number(readFileSync(`${dir}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
      const sleeps = Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`${dir}/status`, 'utf8'))?.[1] ?? 0);
      return { seconds, sleeps };
    }
  } catch {
    // gone
  }
  return { seconds: 0, sleeps: 0 };
}

/** 'kernel', or a FWD_DRIVERS label */
type Forwarder = string;

export async function run(): Promise<BenchResult[]> {
  if (!isRoot) {
    console.log('forwarding: skipped (needs root for network namespaces)');
    return [];
  }
  const lab = new NetnsLab('fwdb');
  let ovs: Ovs | undefined;
  try {
    // offloads off on the router's own ports only (the kernel reference forwards on them too); the
    // generator writes finished raw frames
    const { gen, dut: r, sink } = genDutSink(lab, 'r', ['r1', 'r2']);
    const r1Mac = lab.run(r, ['cat', '/sys/class/net/r1/address']).trim();
    // an address that stays on r2 whatever the windows do: removing an interface's last address
    // takes every route through it away, and the 1M kernel routes take seconds to load
    lab.run(r, ['ip', 'addr', 'add', '192.0.2.2/32', 'dev', 'r2']);
    const kernelForwarding = (on: boolean): void => {
      lab.run(r, ['sysctl', '-qw', `net.ipv4.ip_forward=${on ? 1 : 0}`]);
      for (const [dev, a] of [['r1', '10.1.0.1/24'], ['r2', '10.2.0.1/24']] as const) {
        if (on) lab.run(r, ['ip', 'addr', 'replace', a, 'dev', dev]);
        else lab.run(r, ['ip', 'addr', 'del', a, 'dev', dev], { allowFail: true });
      }
      if (on) lab.run(r, ['ip', 'neigh', 'replace', '10.2.0.99', 'lladdr', SINK_NEXT_HOP_MAC, 'dev', 'r2', 'nud', 'permanent']);
    };
    const kernelRoutes = (): number => Number(/Main:[\s\S]*?Prefixes:\s+(\d+)/.exec(lab.run(r, ['cat', '/proc/net/fib_triestat']))?.[1] ?? 0);
    const loadKernelRoutes = (): void => {
      const out = lab.run(r, [process.execPath, routeLoader, JSON.stringify({ routes: 'random', n: ROUTES, seed: SEED, gateways: ['10.2.0.99'], dev: 'r2', onlink: true })], { timeout: 300_000 });
      const res = JSON.parse(out) as { loaded: number; errors: number; seconds: number };
      console.log(`  kernel FIB: ${res.loaded} routes loaded in ${res.seconds.toFixed(1)} s (${res.errors} refused); ${kernelRoutes()} prefixes in the main table`);
    };
    kernelForwarding(true);
    loadKernelRoutes();

    /** One window: the generator toward `dmac` on `ifname`; the sink counts on `sinkIf`. */
    const softirqThreads = ksoftirqdPids();
    /** `dut`: the forwarder's processes (CPU) and the one whose user/system split and cnr-fwd thread are printed */
    const measure = async (ifname: string, dmac: string, sinkIf: string, size: Size, rate: number, dut?: { pids: number[]; main: number }): Promise<Window> => {
      const vrouterPid = dut?.main;
      const secs = WARMUP_S + MEASURE_S + 0.5;
      const g = lab.spawn(gen, ['taskset', '-c', '0', process.execPath, pktgen, ifname, dmac, '10.1.0.2', `flows:${SEED}:${FLOWS}`, String(secs), String(size), String(rate)]);
      let out = '';
      g.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const done = waitForLine(g, /^sent \d+/, (secs + 30) * 1000);
      const rx = (): number => Number(lab.run(sink, ['cat', `/sys/class/net/${sinkIf}/statistics/rx_packets`]).trim());
      try {
        // the generator builds its flows (about a second for 1M routes), then warms up
        const started = Date.now();
        let a = rx();
        while (Date.now() - started < 20_000) {
          await sleep(200);
          const b = rx();
          if (b > a) break;
          a = b;
        }
        await sleep(WARMUP_S * 1000);
        const pids = [g.pid!, ...(dut?.pids ?? []), ...softirqThreads];
        const own0 = processSeconds(pids);
        const vr0 = vrouterPid ? processUserSystem(vrouterPid) : { user: 0, system: 0 };
        const w0 = vrouterPid ? workerThread(vrouterPid) : { seconds: 0, sleeps: 0 };
        const s0 = readProcStat();
        const p0 = rx();
        const t0 = process.hrtime.bigint();
        const calls = vrouterPid && COUNT_SYSCALLS ? countSyscalls(vrouterPid, MEASURE_S) : Promise.resolve({});
        await sleep(MEASURE_S * 1000);
        const p1 = rx();
        const s1 = readProcStat();
        const own1 = processSeconds(pids);
        const vr1 = vrouterPid ? processUserSystem(vrouterPid) : { user: 0, system: 0 };
        const w1 = vrouterPid ? workerThread(vrouterPid) : { seconds: 0, sleeps: 0 };
        const dt = Number(process.hrtime.bigint() - t0) / 1e9;
        await done;
        const cpu = busySeconds(s0, s1);
        const syscalls = await calls;
        return { syscalls, pps: (p1 - p0) / dt, offered: Number(/pps (\d+)/.exec(out)?.[1] ?? 0), busyPerS: cpu.busy / dt, stealPerS: cpu.steal / dt, ownPerS: (own1 - own0) / dt, vrUserPerS: (vr1.user - vr0.user) / dt, vrSystemPerS: (vr1.system - vr0.system) / dt, workerPerS: (w1.seconds - w0.seconds) / dt, workerSleepsPerS: (w1.sleeps - w0.sleeps) / dt };
      } finally {
        await stopChild(g, 2000);
      }
    };
    const baseline = (size: Size, rate: number): Promise<Window> => measure('eth1', SINK_NEXT_HOP_MAC, 'eth1', size, rate);
    const kernelWindows = async (rates: Record<Size, number>): Promise<Record<Size, Window>> => {
      kernelForwarding(true);
      const out = {} as Record<Size, Window>;
      for (const s of SIZES) out[s] = await measure('eth0', r1Mac, 'eth0', s, rates[s]);
      return out;
    };
    const drops: Record<string, string> = {};
    const xdpModes: Record<string, string> = {};
    const cnrWindows = async (label: string, rates: Record<Size, number>): Promise<Record<Size, Window>> => {
      kernelForwarding(false);
      const variant = VARIANTS.find((v) => v.label === label)!;
      const cfg = { workers: 1, driver: variant.driver, in: 'r1', out: 'r2', inMac: R1_MAC, outMac: R2_MAC, sinkMac: SINK_NEXT_HOP_MAC, routes: ROUTES, seed: SEED };
      const cmd = [process.execPath, vrouterChild, JSON.stringify(cfg)];
      const vr = lab.spawn(r, process.env.CNR_BENCH_VROUTER_CPU === 'any' ? cmd : ['taskset', '-c', '1', ...cmd], { ...process.env, ...variant.env });
      let vout = '';
      vr.stdout!.on('data', (d: Buffer) => (vout += d.toString()));
      const out = {} as Record<Size, Window>;
      try {
        await waitForLine(vr, /^ready \d+/, 120_000);
        // where the XDP program runs: `ip link` says xdp (native, in the veth driver) or xdpgeneric
        if (variant.driver === 'af-xdp') xdpModes[label] = /\b(xdpgeneric|xdpoffload|xdpmulti|xdp)\b/.exec(lab.run(r, ['ip', 'link', 'show', 'r1']))?.[1] ?? 'none';
        for (const s of SIZES) out[s] = await measure('eth0', R1_MAC, 'eth0', s, rates[s], { pids: [vr.pid!], main: vr.pid! });
      } finally {
        await stopChild(vr, 5000);
        const d = JSON.parse(/dropstats (.*)/.exec(vout)?.[1] ?? '{}') as Record<string, number>;
        drops[label] = Object.entries(d).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(' ') || 'none';
      }
      return out;
    };
    /** the floor: cnr's driver alone forwarding port to port, pinned as the vRouter */
    const floorWindows = async (f: string, rates: Record<Size, number>): Promise<Record<Size, Window>> => {
      kernelForwarding(false);
      const cmd = [process.execPath, floorChild, JSON.stringify({ driver: f.slice(6), in: 'r1', out: 'r2' })];
      const fl = lab.spawn(r, process.env.CNR_BENCH_VROUTER_CPU === 'any' ? cmd : ['taskset', '-c', '1', ...cmd]);
      let fout = '';
      fl.stdout!.on('data', (d: Buffer) => (fout += d.toString()));
      const out = {} as Record<Size, Window>;
      try {
        await waitForLine(fl, /^ready/, 30_000);
        for (const s of SIZES) out[s] = await measure('eth0', R1_MAC, 'eth0', s, rates[s], { pids: [fl.pid!], main: fl.pid! });
      } finally {
        await stopChild(fl, 5000);
        const c = JSON.parse(/floor (.*)/.exec(fout)?.[1] ?? '{}') as { txRefused?: number };
        if (c.txRefused) drops[f] = `${drops[f] ? `${drops[f]}; ` : ''}tx refused ${c.txRefused}`;
      }
      return out;
    };
    // Open vSwitch: its database for the whole run, ovs-vswitchd and its rules per forwarder turn
    const missing = REFS.includes('ovs') ? missingOvs() : [];
    if (missing.length) console.log(`  no OVS reference (needs Debian's openvswitch-switch: ${missing.join(', ')} missing)`);
    else if (REFS.includes('ovs')) ovs = await startOvs(lab, r, ['r1', 'r2']);
    const ovsFlows = ovs ? [...ovsRules(), 'priority=0,actions=drop'] : [];
    ovsRuleCount = ovsFlows.length - 1;
    /** OVS's datapath flows after each of its windows (megaflows: one per destination with /32 rules) */
    const ovsDatapathFlows: number[] = [];
    const ovsWindows = async (rates: Record<Size, number>): Promise<Record<Size, Window>> => {
      kernelForwarding(false);
      const o = ovs!;
      const vsw = await o.startSwitchd(process.env.CNR_BENCH_VROUTER_CPU === 'any' ? '0-1' : '1');
      const out = {} as Record<Size, Window>;
      try {
        o.addFlows(ovsFlows);
        for (const s of SIZES) {
          out[s] = await measure('eth0', R1_MAC, 'eth0', s, rates[s], { pids: [vsw.pid, o.dbPid], main: vsw.pid });
          ovsDatapathFlows.push(Number(/flows\s*:\s*(\d+)/.exec(o.appctl(['dpctl/show']))?.[1] ?? -1));
        }
      } finally {
        await vsw.stop();
      }
      return out;
    };
    const refs = REFS.filter((f) => f !== 'ovs' || ovs);
    const forwarders: Forwarder[] = ['kernel', ...DRIVERS, ...refs];
    const runForwarder = (f: Forwarder, rates: Record<Size, number>): Promise<Record<Size, Window>> =>
      f === 'kernel' ? kernelWindows(rates) : f === 'ovs' ? ovsWindows(rates) : f.startsWith('floor-') ? floorWindows(f, rates) : cnrWindows(f, rates);

    const work = (s: Size): string => `${wire(s)}-byte frames, ${ROUTES / 1e6}M routes, ${FLOWS} flows (destination changes every packet)`;

    // 1. saturation, generator unpaced; the generator alone (straight to the sink) shows its own ceiling
    const sat: Record<string, Record<Size, Window>[]> = { generator: [] };
    for (const f of forwarders) sat[f] = [];
    const unpaced = { 60: 0, 1514: 0 } as Record<Size, number>;
    // FWD_SATURATION=0 skips this part (the cost rates then come from FWD_RATE_64 / FWD_RATE_1518)
    const saturation = process.env.FWD_SATURATION !== '0';
    for (let round = 0; saturation && round < ROUNDS; round++) {
      const g = {} as Record<Size, Window>;
      for (const s of SIZES) g[s] = await baseline(s, 0);
      sat['generator']!.push(g);
      for (const f of forwarders) sat[f]!.push(await runForwarder(f, unpaced));
      for (const s of SIZES) {
        console.log(`  saturation round ${round + 1}, ${wire(s)} B: generator alone ${fmt(g[s].pps)} pps; ${forwarders.map((f) => `${f} ${fmt(sat[f]![round]![s].pps)} of ${fmt(sat[f]![round]![s].offered)} offered`).join('; ')}`);
      }
    }
    // 2. CPU per packet at one paced rate below the saturation of the kernel, cnr and the floors;
    // OVS saturates far lower on these veths: it is compared with cnr and the kernel at a rate of
    // its own (half its median saturation, or FWD_OVS_RATE_64 / FWD_OVS_RATE_1518), in rounds of its own
    const mainForwarders = forwarders.filter((f) => f !== 'ovs');
    const rateFor = (s: Size, prefix: string, fwds: Forwarder[]): number => {
      const env = Number(process.env[`${prefix}_${wire(s) === 64 ? 64 : 1518}`] ?? 0);
      if (env > 0) return env;
      if (!saturation) throw new Error(`FWD_SATURATION=0 needs ${prefix}_${wire(s) === 64 ? 64 : 1518}`);
      const lowest = Math.min(...fwds.map((f) => median(sat[f]!.map((w) => w[s].pps))));
      return Math.max(1000, Math.floor(lowest / 2 / 1000) * 1000);
    };
    const rates = {} as Record<Size, number>;
    const ovsRates = {} as Record<Size, number>;
    for (const s of SIZES) {
      rates[s] = rateFor(s, 'FWD_RATE', mainForwarders);
      if (ovs) ovsRates[s] = Math.min(rates[s], rateFor(s, 'FWD_OVS_RATE', ['ovs']));
      console.log(`  CPU cost at ${fmt(rates[s])} pps for ${wire(s)}-byte frames${ovs ? `, OVS beside cnr and the kernel at ${fmt(ovsRates[s])} pps` : ''} (FWD_RATE_*, FWD_OVS_RATE_*, or half the lowest median saturation)`);
    }
    const oneRate = ovs !== undefined && SIZES.every((s) => ovsRates[s] === rates[s]);
    const costRounds = async (fwds: Forwarder[], at: Record<Size, number>, what: string): Promise<Record<string, Record<Size, Window>[]>> => {
      const cost: Record<string, Record<Size, Window>[]> = { baseline: [] };
      for (const f of fwds) cost[f] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const b = {} as Record<Size, Window>;
        for (const s of SIZES) b[s] = await baseline(s, at[s]);
        cost['baseline']!.push(b);
        for (const f of fwds) cost[f]!.push(await runForwarder(f, at));
        for (const s of SIZES) {
        const per = (f: Forwarder): string => {
          const w = cost[f]![round]![s];
          const split = f === 'kernel' ? '' : `, of which the ${f === 'ovs' ? 'ovs-vswitchd' : f.startsWith('floor-') ? 'floor' : 'vRouter'} process's user ${((w.vrUserPerS / w.pps) * 1e9).toFixed(0)} / system ${((w.vrSystemPerS / w.pps) * 1e9).toFixed(0)}, its worker thread ${((w.workerPerS / w.pps) * 1e9).toFixed(0)} ns (${(w.workerSleepsPerS / w.pps).toFixed(3)} sleeps) per packet, syscalls per packet: ${perPacket(w.syscalls, w.pps * MEASURE_S)}`;
          return `${f} ${(((w.busyPerS - b[s].busyPerS) / w.pps) * 1e9).toFixed(0)} all-core / ${(((w.ownPerS - b[s].ownPerS) / w.pps) * 1e9).toFixed(0)} own ns/packet${split} (${fmt(w.pps)} of ${fmt(w.offered)} pps)`;
        };
        console.log(`  ${what} round ${round + 1}, ${wire(s)} B: baseline ${b[s].busyPerS.toFixed(3)} all-core / ${b[s].ownPerS.toFixed(3)} own CPU-s/s at ${fmt(b[s].pps)} pps; ${fwds.map(per).join('; ')}`);
        }
      }
      return cost;
    };
    const cost = await costRounds(oneRate ? forwarders : mainForwarders, rates, 'cost');
    const ovsCost = !ovs ? undefined : oneRate ? cost : await costRounds(['kernel', ...DRIVERS, 'ovs'], ovsRates, 'OVS cost');
    console.log(`  kernel FIB after the run: ${kernelRoutes()} prefixes; cnr drops: ${DRIVERS.map((d) => `${d}: ${drops[d]}${xdpModes[d] ? ` (XDP mode on r1: ${xdpModes[d]})` : ''}`).join('; ')}${ovs ? `; OVS datapath flows after its windows: ${ovsDatapathFlows.join(', ')}` : ''}`);

    const results: BenchResult[] = [];
    const load = loadavg().map((x) => x.toFixed(2)).join(' ');
    for (const s of SIZES) {
      for (const how of ['all', 'own'] as const) {
        const nsPerPacket = (f: Forwarder, from = cost): number[] =>
          from[f]!.map((w, i) => {
            const base = from['baseline']![i]![s];
            const x = w[s];
            // a window that lost packets ran above saturation: its cost is not comparable
            if (x.pps < KEPT_UP * x.offered) return Number.NaN;
            return (((how === 'all' ? x.busyPerS - base.busyPerS : x.ownPerS - base.ownPerS) / x.pps) * 1e9);
          });
        const kernelNs = nsPerPacket('kernel');
        const perRound = (xs: number[]): string => xs.map((x) => (Number.isFinite(x) ? x.toFixed(0) : 'lost')).join(' / ');
        const baseNote = `baseline (generator straight to the sink, same rate, same round) ${cost['baseline']!.map((b) => (how === 'all' ? b[s].busyPerS : b[s].ownPerS).toFixed(3)).join(' / ')} CPU-s per s; steal ${cost['baseline']!.map((b) => b[s].stealPerS.toFixed(3)).join(' / ')}`;
        const what = how === 'all'
          ? 'busy CPU of all cores (/proc/stat: user+nice+system+irq+softirq) minus the baseline, per forwarded packet; counts every tenant of the machine: meaningful only when the machine is not saturated'
          : 'CPU of our own processes (generator, vRouter process with its worker, ksoftirqd threads; /proc/PID/stat, where the kernel also charges softirq work done in their context) minus the baseline, per forwarded packet; other tenants left out, so it holds on a busy machine';
        /** the floor of the same driver in the same rounds, and cnr's cost above it */
        const floorNote = (d: string): string => {
          const fl = floorOf(d);
          if (!fl) return '';
          const floorNs = nsPerPacket(fl);
          const cnrNs = nsPerPacket(d);
          return `; the floor (${fl}, same rounds) ${perRound(floorNs)} ns/packet, cnr above it by round ${perRound(cnrNs.map((x, i) => x - floorNs[i]!))}`;
        };
        const costFigure = (name: string, values: number[], reference: { name: string; values: number[] }, notes: string): BenchResult => {
          if (!values.some(Number.isFinite)) return { name, value: Number.NaN, unit: 'ns/packet', notes: `every round lost packets at ${fmt(rates[s])} pps: no cost figure` };
          return figure({ name, unit: 'ns/packet', values, reference, direction: 'ref/value', notes });
        };
        for (const d of DRIVERS) {
          const values = nsPerPacket(d);
          const name = `IPv4 forwarding CPU per packet (${how === 'all' ? 'all cores' : 'own processes'}), ${work(s)}, ${fmt(rates[s])} pps offered (cnr ${d})`;
          if (!values.some(Number.isFinite)) {
            results.push({ name, value: Number.NaN, unit: 'ns/packet', notes: `every round lost packets at ${fmt(rates[s])} pps: no cost figure` });
            continue;
          }
          results.push(
            figure({
              name,
              unit: 'ns/packet',
              values,
              reference: { name: 'Linux kernel IPv4 forwarding, same FIB, rate and round', values: kernelNs },
              direction: 'ref/value',
              notes: `${what}; ${baseNote}; the vRouter process's own user / system ns per packet by round ${cost[d]!.map((w) => `${((w[s].vrUserPerS / w[s].pps) * 1e9).toFixed(0)} / ${((w[s].vrSystemPerS / w[s].pps) * 1e9).toFixed(0)}`).join(', ')} (system: mostly the kernel's transmit inside the sendto kicks); its forwarding worker thread's own CPU (schedstat, exact) / sleeps per packet by round ${cost[d]!.map((w) => `${((w[s].workerPerS / w[s].pps) * 1e9).toFixed(0)} ns / ${(w[s].workerSleepsPerS / w[s].pps).toFixed(3)}`).join(', ')}${floorNote(d)}; a round that lost more than ${((1 - KEPT_UP) * 100).toFixed(0)}% is left out; cnr drops ${drops[d]}${xdpModes[d] ? `; XDP attached as \`${xdpModes[d]}\` (ip link)` : ''}; load average ${load} at the end`,
            }),
          );
        }
        const own = (f: Forwarder): string => `${f === 'ovs' ? 'ovs-vswitchd' : 'its'} process's user / system ns per packet by round ${cost[f]!.map((w) => `${((w[s].vrUserPerS / w[s].pps) * 1e9).toFixed(0)} / ${((w[s].vrSystemPerS / w[s].pps) * 1e9).toFixed(0)}`).join(', ')}`;
        if (ovsCost) {
          const ovsNs = nsPerPacket('ovs', ovsCost);
          const kernelAtOvs = nsPerPacket('kernel', ovsCost);
          const ovsOwn = `ovs-vswitchd's user / system ns per packet by round ${ovsCost['ovs']!.map((w) => `${((w[s].vrUserPerS / w[s].pps) * 1e9).toFixed(0)} / ${((w[s].vrSystemPerS / w[s].pps) * 1e9).toFixed(0)}`).join(', ')}, syscalls per packet by round ${ovsCost['ovs']!.map((w) => perPacket(w[s].syscalls, w[s].pps * MEASURE_S)).join(' | ')}`;
          const ovsBase = `baseline (generator straight to the sink, same rate, same round) ${ovsCost['baseline']!.map((b) => (how === 'all' ? b[s].busyPerS : b[s].ownPerS).toFixed(3)).join(' / ')} CPU-s per s`;
          for (const d of DRIVERS) {
            results.push(costFigure(
              `IPv4 forwarding CPU per packet (${how === 'all' ? 'all cores' : 'own processes'}), ${work(s)}, ${fmt(ovsRates[s])} pps offered (cnr ${d} vs OVS userspace)`,
              nsPerPacket(d, ovsCost),
              { name: refName('ovs'), values: ovsNs },
              `${what} (OVS's processes: ovs-vswitchd and ovsdb-server); ${oneRate ? 'the same rounds as the kernel figure' : `rounds of their own at OVS's rate ${sat['ovs']?.length ? ` (OVS saturates at ${fmt(median(sat['ovs'].map((w) => w[s].pps)))} pps median on one core here)` : ''}`}; ${ovsBase}; ${ovsOwn}; the kernel in the same rounds ${perRound(kernelAtOvs)} ns/packet, OVS / kernel CPU per packet by round ${perRound(ovsNs.map((x, i) => (x / kernelAtOvs[i]!) * 100))} %; OVS datapath flows after its windows ${ovsDatapathFlows.join(', ')}; a round that lost more than ${((1 - KEPT_UP) * 100).toFixed(0)}% is left out (OVS by round: ${ovsCost['ovs']!.map((w) => `${fmt(w[s].pps)} of ${fmt(w[s].offered)}`).join(', ')} pps); load average ${load} at the end`,
            ));
          }
        }
        for (const fl of refs.filter((f) => f.startsWith('floor-'))) {
          const values = nsPerPacket(fl);
          const f = costFigure(
            `IPv4 forwarding CPU per packet (${how === 'all' ? 'all cores' : 'own processes'}), ${work(s)}, ${fmt(rates[s])} pps offered (${fl}: ${fl === 'floor-af-packet-v3' ? "TPACKET_V3 block receive and cnr's af-packet transmit" : `cnr's ${fl.slice(6)} I/O`} alone, port to port, no lookup or rewrite)`,
            values,
            { name: 'Linux kernel IPv4 forwarding, same FIB, rate and round', values: kernelNs },
            `${refName(fl)}; ${what}; ${baseNote}; ${own(fl)}; its thread's own CPU (schedstat) / sleeps per packet by round ${cost[fl]!.map((w) => `${((w[s].workerPerS / w[s].pps) * 1e9).toFixed(0)} ns / ${(w[s].workerSleepsPerS / w[s].pps).toFixed(3)}`).join(', ')}; ${drops[fl] ? `refused by a full TX ring: ${drops[fl]}; ` : ''}load average ${load} at the end`,
          );
          // the floor, not cnr, is in the value column: say so in the ratio's note
          f.notes = f.notes?.replace('ratio = reference / cnr within each round (above 1 = cnr better)', 'ratio = kernel / floor within each round (above 1 = the floor cheaper than the kernel: the best any forwarder on this I/O path could reach against it)');
          results.push(f);
        }
      }
      if (!saturation) continue;
      // saturation: the ratio only over rounds where neither side forwarded all it was offered
      const satPps = (f: Forwarder): number[] => sat[f]!.map((w) => w[s].pps);
      const limited = (f: Forwarder, i: number): boolean => sat[f]![i]![s].pps >= KEPT_UP * sat[f]![i]![s].offered;
      const gbit = (pps: number): string => ((pps * wire(s) * 8) / 1e9).toFixed(2);
      for (const d of DRIVERS) {
        const both = satPps(d).map((_, i) => (limited(d, i) || limited('kernel', i) ? Number.NaN : 1));
        const f = figure({
          name: `IPv4 forwarding saturation, ${work(s)} (cnr ${d}, vRouter on one core)`,
          unit: 'packets/s',
          values: satPps(d),
          reference: { name: 'Linux kernel IPv4 forwarding, same FIB, same round', values: satPps('kernel').map((v, i) => v * both[i]!) },
          notes: `offered by the generator (cnr / kernel windows, per round): ${sat[d]!.map((w) => fmt(w[s].offered)).join(', ')} / ${sat['kernel']!.map((w) => fmt(w[s].offered)).join(', ')}; the generator alone ${sat['generator']!.map((w) => fmt(w[s].pps)).join(', ')} pps; ${gbit(median(satPps(d)))} Gbit/s (cnr) and ${gbit(median(satPps('kernel')))} Gbit/s (kernel) at the median, FCS counted${refs.map((x) => `; ${x === 'ovs' ? 'OVS userspace' : x} ${sat[x]!.map((w) => `${fmt(w[s].pps)} of ${fmt(w[s].offered)}`).join(', ')} pps`).join('')}`,
        });
        const lim = satPps(d).map((_, i) => (limited(d, i) ? `cnr round ${i + 1}` : limited('kernel', i) ? `kernel round ${i + 1}` : '')).filter(Boolean);
        if (lim.length) f.notes += `; GENERATOR-LIMITED (forwarded >= ${KEPT_UP * 100}% of offered, no ratio from those rounds): ${lim.join(', ')}`;
        if (both.every((x) => Number.isNaN(x))) {
          delete f.ratio;
          delete f.ratioSpread;
          f.reference = { name: 'Linux kernel IPv4 forwarding (generator-limited in every round: no ratio)', value: median(satPps('kernel')) };
        }
        results.push(f);
      }
    }
    return results;
  } finally {
    await ovs?.close();
    await lab.cleanup();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  run().then((r) => console.log(JSON.stringify(r, null, 2)), (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
