/**
 * Pod-to-pod forwarding through the vRouter: memif pods (bench/lib/memif-gen.ts: a paced memif
 * sender, and a receiver in interrupt mode; MEMIF_SINK=testpmd receives with a real
 * dpdk-testpmd in rxonly mode instead; no kernel on the packet path) against veth pods (a
 * paced AF_PACKET generator namespace and a sink namespace on veths the vRouter reads with
 * AF_PACKET), in the same run, alternating, 3 rounds (MEMIF_ROUNDS). Both senders offer the
 * same rate (MEMIF_RATE packets/s, default 50,000; 0 = as fast as they can) of 64-byte UDP in
 * bursts of 64 (pktgen's kick size; memif-gen sends the same bursts); the vRouter (one
 * worker) runs on CPU 1, senders and receivers on CPU 0.
 *
 * Why paced, and why not testpmd: testpmd's txonly cannot be paced, and unpaced it offered
 * frames faster than the receiving testpmd (sharing CPU 0 with it) took them, so most frames
 * the vRouter received and forwarded were dropped at the receiver's full ring (tx_full): the
 * old figure divided the vRouter's CPU by the few that got through (2026-12-06 21:43: 163k
 * received, 40k delivered a second). A polling testpmd receiver spins CPU 0 at 100%, where it
 * starves the paced sender. At one offered rate both pods cost what the vRouter spends per
 * delivered packet.
 *
 * Figures, each min / median / max over the rounds, ratios the median of per-round ratios:
 * - forwarded packets per second: what the vRouter transmitted on the egress vif in the
 *   measured window (into pod B's ring, or onto the sink's veth), and the share of what it
 *   received that it did not transmit (notes);
 * - vRouter CPU per forwarded packet: the vRouter process's own CPU time (user + system,
 *   /proc/PID/stat) over the window divided by the packets it forwarded; the worker thread's
 *   share is shown apart (the busiest thread), the rest is the main thread's agent, timers, GC;
 * - all-core CPU per forwarded packet: busy time of every CPU (/proc/stat) over the window,
 *   minus the same setup idle measured just before (a receiving testpmd spins at 100% with
 *   or without traffic, so its share cancels out), divided by the packets forwarded. This is
 *   where veth's kernel work shows (the AF_PACKET copy runs in the sender's context, the veth
 *   transmit in the vRouter's system time); not measurable on a busy machine.
 */
import { fileURLToPath } from 'node:url';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { NetnsLab, isRoot, stopChild } from '../test/lib/netns.js';
import { startVrouter, type RunningVrouter } from '../test/lib/vrouter.js';
import { parsePidStat, processSeconds, USER_HZ } from './lib/cpu-stat.js';
import { figure } from './lib/stats.js';
import type { BenchResult } from './types.js';

const pktgen = fileURLToPath(new URL('./lib/pktgen.js', import.meta.url));
const memifGen = fileURLToPath(new URL('./lib/memif-gen.js', import.meta.url));
const TESTPMD = '/usr/bin/dpdk-testpmd';
const WARMUP_S = 1;
const MEASURE_S = 3;
const BURST = 64;
const R1_MAC = '02:cc:1f:00:00:01';
const R2_MAC = '02:cc:1f:00:00:02';
const A_MAC = '02:dd:1f:00:00:0a';
const B_MAC = '02:dd:1f:00:00:0b';
const SINK_MAC = '02:cc:1f:00:00:99';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Busy and total ticks of all CPUs (/proc/stat's first line). */
function allCpu(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + f[4]!; // idle + iowait
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal (guest time is inside user)
  return { busy: total - idle, total };
}

/** user and system ticks of each thread of a process, by thread id. */
function threadTicks(pid: number): Map<string, { utime: number; stime: number }> {
  const out = new Map<string, { utime: number; stime: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(tid, parsePidStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
    } catch {
      // the thread ended
    }
  }
  return out;
}

interface Sample {
  pps: number;
  /** received on the ingress vif but not transmitted on the egress one, as a share of received */
  lost: number;
  vrouterNs: number;
  /** the busiest thread's share (the forwarding worker), and of that the kernel's (system time) */
  workerNs: number;
  workerSysNs: number;
  /** the vRouter plus the pods' own processes (sender, receiver): user + system */
  podsNs: number;
  allNs: number;
  /** share of all CPUs busy in the idle window before the traffic (others' load on a shared machine) */
  idleBusy: number;
}

function vifCounts(vr: RunningVrouter, ingress: string, egress: string): { rx: number; tx: number } {
  const vifs = JSON.parse(vr.cnr('vif', '--list', '--json')) as { name: string; rxPackets: number; txPackets: number }[];
  return { rx: vifs.find((x) => x.name === ingress)?.rxPackets ?? 0, tx: vifs.find((x) => x.name === egress)?.txPackets ?? 0 };
}

/** Measure a window with traffic flowing, against an idle window of the same setup taken first. */
async function window(vr: RunningVrouter, ingress: string, egress: string, startTraffic: () => Promise<number[]>): Promise<Sample> {
  const i0 = allCpu();
  await sleep(1000);
  const i1 = allCpu();
  const idleBusyPerS = (i1.busy - i0.busy) / ((i1.total - i0.total) / cpus().length / USER_HZ);
  const idleBusy = (i1.busy - i0.busy) / Math.max(1, i1.total - i0.total);
  const pods = await startTraffic();
  await sleep(WARMUP_S * 1000);
  const pid = vr.proc.pid!;
  const a = vifCounts(vr, ingress, egress);
  const c0 = allCpu();
  const th0 = threadTicks(pid);
  const pods0 = processSeconds(pods);
  const t0 = process.hrtime.bigint();
  await sleep(MEASURE_S * 1000);
  const th1 = threadTicks(pid);
  const pods1 = processSeconds(pods);
  const c1 = allCpu();
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const b = vifCounts(vr, ingress, egress);
  const pkts = Math.max(1, b.tx - a.tx);
  let proc = 0;
  let worker = 0;
  let workerSys = 0;
  for (const [tid, t] of th1) {
    const t0 = th0.get(tid) ?? t;
    const d = t.utime + t.stime - t0.utime - t0.stime;
    proc += d;
    if (d > worker) {
      worker = d;
      workerSys = t.stime - t0.stime;
    }
  }
  const allBusy = Math.max(0, c1.busy - c0.busy - idleBusyPerS * dt);
  const ns = (ticks: number): number => ((ticks / USER_HZ) * 1e9) / pkts;
  return {
    pps: pkts / dt, lost: Math.max(0, 1 - pkts / Math.max(1, b.rx - a.rx)), vrouterNs: ns(proc), workerNs: ns(worker), workerSysNs: ns(workerSys),
    podsNs: ns(proc + (pods1 - pods0) * USER_HZ), allNs: ns(allBusy), idleBusy,
  };
}

function testpmd(prefix: string, socket: string, mac: string, args: string[]): ChildProcess {
  // forwarding lcore on CPU 0, the (sleeping) main lcore on CPU 1
  return spawn(TESTPMD, [
    '--no-huge', '-m', '256', '--no-pci', `--file-prefix=${prefix}`, '-l', '0-1', '--main-lcore=1', '--log-level=*:warning',
    `--vdev=net_memif0,role=client,socket=${socket},socket-abstract=no,mac=${mac}`, '--', '--no-mlockall', '--total-num-mbufs=8192', ...args,
  ], { stdio: ['pipe', 'ignore', 'ignore'] });
}

async function waitConnected(vr: RunningVrouter, names: string[]): Promise<void> {
  const end = Date.now() + 30000;
  for (;;) {
    const vifs = JSON.parse(vr.cnr('vif', '--list', '--json')) as { name: string; memif?: { state: string } }[];
    if (names.every((n) => vifs.find((v) => v.name === n)?.memif?.state === 'connected')) return;
    if (Date.now() > end) throw new Error(`memif clients did not connect: ${JSON.stringify(vifs.map((v) => [v.name, v.memif?.state]))}`);
    await sleep(200);
  }
}

export async function run(): Promise<BenchResult[]> {
  if (!isRoot) {
    console.log('memif: skipped (needs root for network namespaces)');
    return [];
  }
  const lab = new NetnsLab('mifb');
  const dir = `/tmp/cnr-memif-bench-${process.pid}`;
  const prefixes: string[] = [];
  mkdirSync(dir, { recursive: true });
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const rate = Math.max(0, Number(process.env.MEMIF_RATE ?? 50000) || 0);
  // the senders run until stopped after the window (the inspection commands in it take
  // seconds on a loaded machine: a sender timed to the window ran out inside it)
  const sendS = String(WARMUP_S + MEASURE_S + 60);
  const sinkKind = process.env.MEMIF_SINK === 'testpmd' ? 'testpmd' : 'memif-gen';
  try {
    const r = lab.netns('r');
    const gen = lab.netns('gen');
    const sink = lab.netns('sink');
    lab.veth(gen, 'eth0', r, 'r1');
    lab.veth(sink, 'eth0', r, 'r2');
    for (const ifname of ['r1', 'r2']) lab.run(r, ['ethtool', '-K', ifname, 'tx', 'off', 'tso', 'off', 'gso', 'off'], { allowFail: true });
    const cfg = {
      workers: 1,
      vifs: [
        { name: 'r1', driver: 'af-packet' as const, mac: R1_MAC, addresses: ['10.1.0.1/24'] },
        { name: 'r2', driver: 'af-packet' as const, mac: R2_MAC, addresses: ['10.2.0.1/24'] },
        { name: 'mif-a', driver: 'memif' as const, mac: R1_MAC, addresses: ['10.9.0.1/24'], memif: { socket: `${dir}/a.sock` } },
        { name: 'mif-b', driver: 'memif' as const, mac: R2_MAC, addresses: ['10.8.0.1/24'], memif: { socket: `${dir}/b.sock` } },
      ],
      // fixed rewrites: the sink veth's next hop is nobody's MAC (its kernel counts and drops), pod B's is its MAC
      nexthops: { sink: { type: 'encap' as const, vif: 'r2', dmac: SINK_MAC }, b: { type: 'encap' as const, vif: 'mif-b', dmac: B_MAC } },
      routes: [{ prefix: '10.2.0.99/32', nh: 'sink' }, { prefix: '10.8.0.2/32', nh: 'b' }],
    };
    const rounds = Math.max(1, Number(process.env.MEMIF_ROUNDS ?? 3));
    const memif: Sample[] = [];
    const veth: Sample[] = [];
    if (sinkKind === 'testpmd' && !existsSync(TESTPMD)) throw new Error('MEMIF_SINK=testpmd: dpdk-testpmd not installed (Debian package dpdk-dev)');
    const show = (kind: string, k: number, s: Sample): void =>
      console.log(`  round ${k + 1} ${kind} pods: ${fmt(s.pps)} packets/s (${(s.lost * 100).toFixed(1)}% lost), vRouter ${fmt(s.vrouterNs)} ns/packet (worker ${fmt(s.workerNs)}, of which system ${fmt(s.workerSysNs)}), with the pods' processes ${fmt(s.podsNs)}, all cores ${fmt(s.allNs)} ns/packet`);
    for (let k = 0; k < rounds; k++) {
      // memif pods: A is the paced memif sender, B the receiver (memif-gen --sink, or testpmd rxonly)
      {
        const vr = await startVrouter(lab, r, cfg, { cpu: 1 });
        const pb = `cnrmifb${process.pid}b${k}`;
        prefixes.push(pb);
        const b = sinkKind === 'testpmd'
          ? testpmd(pb, `${dir}/b.sock`, B_MAC, ['--forward-mode=rxonly'])
          : spawn('taskset', ['-c', '0', process.execPath, memifGen, '--sink', `${dir}/b.sock`, String(WARMUP_S + MEASURE_S + 90)], { stdio: ['pipe', 'ignore', 'inherit'] });
        let a: ChildProcess | undefined;
        let tally = 'no tally';
        try {
          await waitConnected(vr, ['mif-b']);
          const s = await window(vr, 'mif-a', 'mif-b', async () => {
            a = spawn('taskset', ['-c', '0', process.execPath, memifGen, `${dir}/a.sock`, R1_MAC, A_MAC, '10.9.0.2', '10.8.0.2', sendS, String(rate), String(BURST)], { stdio: ['ignore', 'pipe', 'inherit'] });
            a.stdout!.on('data', (d: Buffer) => {
              const last = d.toString().trim().split('\n').pop();
              if (last) tally = last;
            });
            await waitConnected(vr, ['mif-a']);
            return [a.pid!, b.pid!];
          });
          memif.push(s);
          show('memif', k, s);
          console.log(`    memif-gen (last tally): ${tally}`);
        } finally {
          if (sinkKind === 'testpmd') b.stdin!.end('\n');
          await Promise.all([a ? stopChild(a, 3000) : undefined, stopChild(b, 3000)]);
          await vr.stop();
        }
      }
      // veth pods: the generator namespace sends to the sink's address through the vRouter
      {
        const vr = await startVrouter(lab, r, cfg, { cpu: 1 });
        let g: ChildProcess | undefined;
        try {
          const s = await window(vr, 'r1', 'r2', async () => {
            g = lab.spawn(gen, ['taskset', '-c', '0', process.execPath, pktgen, 'eth0', R1_MAC, '10.1.0.2', '10.2.0.99', sendS, '60', String(rate)]);
            await sleep(300); // node start-up
            return [g.pid!];
          });
          veth.push(s);
          show('veth', k, s);
        } finally {
          if (g) await stopChild(g, 2000);
          await vr.stop();
        }
      }
    }
    const load = loadavg()[0]!.toFixed(1);
    const busyBefore = [...memif, ...veth].map((s) => s.idleBusy).sort((x, y) => x - y)[Math.floor((memif.length + veth.length) / 2)]!;
    // with the CPUs already busy before the traffic, the all-core difference measures the others' load, not ours
    const allMeasurable = busyBefore < 0.5;
    const offered = rate > 0 ? `both senders paced at ${fmt(rate)} packets/s in bursts of ${BURST}` : 'both senders unpaced (saturation)';
    const lost = (xs: Sample[]): string => xs.map((s) => `${(s.lost * 100).toFixed(1)}%`).join(', ');
    const note = `${offered}; ${rounds} alternating rounds of ${MEASURE_S} s after ${WARMUP_S} s warm-up, vRouter (1 worker) on CPU 1, senders and receivers on CPU 0; 1-min load average ${load} on ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`;
    const veths = 'veth pods (AF_PACKET generator -> sink), same run';
    return [
      figure({
        name: `pod-to-pod forwarding, 64-byte UDP, memif pods (memif-gen -> ${sinkKind === 'testpmd' ? 'testpmd rxonly' : 'memif-gen --sink'})`,
        unit: 'packets/s',
        values: memif.map((s) => s.pps),
        reference: { name: veths, values: veth.map((s) => s.pps) },
        notes: `received but not forwarded, per round: memif ${lost(memif)}, veth ${lost(veth)}; ${note}`,
      }),
      figure({
        name: 'vRouter CPU per forwarded packet, memif pods',
        unit: 'ns/packet',
        values: memif.map((s) => s.vrouterNs),
        reference: { name: veths, values: veth.map((s) => s.vrouterNs) },
        direction: 'ref/value',
        notes: `the vRouter process's user+system time, all threads; goal: memif at least 2x cheaper; ${note}`,
      }),
      figure({
        name: 'vRouter worker thread CPU per forwarded packet, memif pods',
        unit: 'ns/packet',
        values: memif.map((s) => s.workerNs),
        reference: { name: veths, values: veth.map((s) => s.workerNs) },
        direction: 'ref/value',
        notes: `the busiest thread of the vRouter (the forwarding worker; the rest is the main thread); of it system time, per round: memif ${memif.map((s) => fmt(s.workerSysNs)).join(', ')}, veth ${veth.map((s) => fmt(s.workerSysNs)).join(', ')}; ${note}`,
      }),
      figure({
        name: 'vRouter + pod processes CPU per forwarded packet, memif pods',
        unit: 'ns/packet',
        values: memif.map((s) => s.podsNs),
        reference: { name: veths, values: veth.map((s) => s.podsNs) },
        direction: 'ref/value',
        notes: `user+system time of the vRouter and of the pods' processes (memif: memif-gen sender and interrupt-mode receiver; veth: pktgen; the veth sink is only its kernel, whose receive runs in the vRouter's transmit); the kernel charges softirq work to the task it interrupts, so this holds on a machine others keep busy, where the all-core figure does not; ${note}`,
      }),
      figure({
        name: 'all-core CPU per forwarded packet (minus the idle setup), memif pods',
        unit: 'ns/packet',
        values: memif.map((s) => s.allNs),
        ...(allMeasurable ? { reference: { name: veths, values: veth.map((s) => s.allNs) } } : {}),
        direction: 'ref/value',
        notes: `${allMeasurable ? '' : `NOT MEASURABLE in this run: the CPUs were ${(busyBefore * 100).toFixed(0)}% busy before the traffic started (median), so no ratio; `}memif ${memif.map((s) => fmt(s.allNs)).join(', ')}, veth ${veth.map((s) => fmt(s.allNs)).join(', ')}; /proc/stat busy time of all CPUs minus the same setup idle (a receiving testpmd would spin either way); ${note}`,
      }),
    ];
  } finally {
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
    for (const p of prefixes) rmSync(`/var/run/dpdk/${p}`, { recursive: true, force: true });
  }
}
