/**
 * Pod-to-pod forwarding through the vRouter: memif pods (two dpdk-testpmd applications on
 * memif vifs, no kernel on the packet path) against veth pods (a generator namespace and a
 * sink namespace on veths the vRouter reads with AF_PACKET), in the same run, alternating,
 * 3 rounds (MEMIF_ROUNDS). Both send 64-byte UDP as fast as their sender can; the vRouter
 * (one worker) runs on CPU 1, the senders on CPU 0.
 *
 * Figures, each min / median / max over the rounds, the median quoted:
 * - forwarded packets per second: what the vRouter transmitted on the egress vif in the
 *   measured window (into pod B's ring, or onto the sink's veth);
 * - vRouter CPU per forwarded packet: the vRouter process's own CPU time (user + system,
 *   /proc/PID/stat) over the window divided by the packets it forwarded;
 * - all-core CPU per forwarded packet: busy time of every CPU (/proc/stat) over the window,
 *   minus the same setup idle measured just before (for memif the two testpmd pollers spin
 *   at 100% with or without traffic, so their share cancels out; for veth nothing runs idle),
 *   divided by the packets forwarded. This is where veth's kernel work shows (the AF_PACKET
 *   copy runs in the sender's context, the veth transmit in the vRouter's system time).
 *
 * The offered rates differ (testpmd versus the AF_PACKET generator) and both forwarders
 * saturate, so the pps ratio compares saturation throughput; the CPU-per-packet ratios
 * (veth / memif, above 1 means memif is cheaper) are the issue's goal (at least 2x).
 */
import { fileURLToPath } from 'node:url';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { NetnsLab, isRoot, stopChild, waitForLine } from '../test/lib/netns.js';
import { startVrouter, type RunningVrouter } from '../test/lib/vrouter.js';
import type { BenchResult } from './types.js';

const pktgen = fileURLToPath(new URL('./lib/pktgen.js', import.meta.url));
const TESTPMD = '/usr/bin/dpdk-testpmd';
const WARMUP_S = 1;
const MEASURE_S = 3;
const R1_MAC = '02:cc:1f:00:00:01';
const R2_MAC = '02:cc:1f:00:00:02';
const A_MAC = '02:dd:1f:00:00:0a';
const B_MAC = '02:dd:1f:00:00:0b';
const SINK_MAC = '02:cc:1f:00:00:99';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Busy and total jiffies of all CPUs (/proc/stat's first line). */
function allCpu(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + f[4]!; // idle + iowait
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal (guest time is inside user)
  return { busy: total - idle, total };
}

/** User + system jiffies of one process. */
function procCpu(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
}

const HZ = 100; // USER_HZ on Linux

interface Sample {
  pps: number;
  vrouterNs: number;
  allNs: number;
  /** share of all CPUs busy in the idle window before the traffic (others' load on a shared machine) */
  idleBusy: number;
}

function egressTx(vr: RunningVrouter, name: string): number {
  const v = (JSON.parse(vr.cnr('vif', '--list', '--json')) as { name: string; txPackets: number }[]).find((x) => x.name === name);
  return v?.txPackets ?? 0;
}

/** Measure a window with traffic flowing, against an idle window of the same setup taken by `idle` first. */
async function window(vr: RunningVrouter, egress: string, startTraffic: () => Promise<void>): Promise<Sample> {
  const i0 = allCpu();
  await sleep(1000);
  const i1 = allCpu();
  const idleBusyPerS = (i1.busy - i0.busy) / ((i1.total - i0.total) / cpus().length / HZ);
  const idleBusy = (i1.busy - i0.busy) / Math.max(1, i1.total - i0.total);
  await startTraffic();
  await sleep(WARMUP_S * 1000);
  const a = egressTx(vr, egress);
  const c0 = allCpu();
  const p0 = procCpu(vr.proc.pid!);
  const t0 = process.hrtime.bigint();
  await sleep(MEASURE_S * 1000);
  const b = egressTx(vr, egress);
  const c1 = allCpu();
  const p1 = procCpu(vr.proc.pid!);
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const pkts = Math.max(1, b - a);
  const allBusy = Math.max(0, (c1.busy - c0.busy) - idleBusyPerS * dt);
  return { pps: pkts / dt, vrouterNs: (((p1 - p0) / HZ) * 1e9) / pkts, allNs: ((allBusy / HZ) * 1e9) / pkts, idleBusy };
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

const stats = (xs: number[]): { min: number; median: number; max: number } => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s[s.length - 1]! };
};

export async function run(): Promise<BenchResult[]> {
  if (!isRoot) {
    console.log('memif: skipped (needs root for network namespaces)');
    return [];
  }
  if (!existsSync(TESTPMD)) {
    console.log('memif: skipped (dpdk-testpmd not installed: Debian package dpdk-dev)');
    return [];
  }
  const lab = new NetnsLab('mifb');
  const dir = `/tmp/cnr-memif-bench-${process.pid}`;
  const prefixes: string[] = [];
  mkdirSync(dir, { recursive: true });
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
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
    for (let k = 0; k < rounds; k++) {
      // memif pods: B receives (rxonly), A generates (txonly) once told to start
      {
        const vr = await startVrouter(lab, r, cfg, { cpu: 1 });
        const pa = `cnrmifb${process.pid}a${k}`;
        const pb = `cnrmifb${process.pid}b${k}`;
        prefixes.push(pa, pb);
        const b = testpmd(pb, `${dir}/b.sock`, B_MAC, ['--forward-mode=rxonly']);
        const a = testpmd(pa, `${dir}/a.sock`, A_MAC, ['-i', '--forward-mode=txonly', '--tx-ip=10.9.0.2,10.8.0.2', `--eth-peer=0,${R1_MAC}`]);
        try {
          await waitConnected(vr, ['mif-a', 'mif-b']);
          const s = await window(vr, 'mif-b', async () => {
            a.stdin!.write('start\n');
          });
          memif.push(s);
          console.log(`  round ${k + 1} memif pods: ${fmt(s.pps)} packets/s, vRouter ${fmt(s.vrouterNs)} ns/packet, all cores ${fmt(s.allNs)} ns/packet`);
        } finally {
          a.stdin!.end('stop\nquit\n');
          b.stdin!.end('\n');
          await Promise.all([stopChild(a, 3000), stopChild(b, 3000)]);
          await vr.stop();
        }
      }
      // veth pods: the generator namespace sends to the sink's address through the vRouter
      {
        const vr = await startVrouter(lab, r, cfg, { cpu: 1 });
        let g: ChildProcess | undefined;
        try {
          const s = await window(vr, 'r2', async () => {
            g = lab.spawn(gen, ['taskset', '-c', '0', process.execPath, pktgen, 'eth0', R1_MAC, '10.1.0.2', '10.2.0.99', String(WARMUP_S + MEASURE_S + 1)]);
            await sleep(300); // node start-up
          });
          veth.push(s);
          console.log(`  round ${k + 1} veth pods: ${fmt(s.pps)} packets/s, vRouter ${fmt(s.vrouterNs)} ns/packet, all cores ${fmt(s.allNs)} ns/packet`);
          if (g) await waitForLine(g, /^sent \d+/, 20000).catch(() => '');
        } finally {
          if (g) await stopChild(g, 2000);
          await vr.stop();
        }
      }
    }
    const load = loadavg()[0]!.toFixed(1);
    const spread = (xs: number[]) => { const t = stats(xs); return `min ${fmt(t.min)} / median ${fmt(t.median)} / max ${fmt(t.max)}`; };
    const mp = stats(memif.map((s) => s.pps));
    const vp = stats(veth.map((s) => s.pps));
    const mv = stats(memif.map((s) => s.vrouterNs));
    const vv = stats(veth.map((s) => s.vrouterNs));
    const ma = stats(memif.map((s) => s.allNs));
    const va = stats(veth.map((s) => s.allNs));
    const busyBefore = stats([...memif, ...veth].map((s) => s.idleBusy)).median;
    // with the CPUs already busy before the traffic, the all-core difference measures the others' load, not ours
    const allMeasurable = busyBefore < 0.5 && ma.median > 0 && va.median > 0;
    const note = `${rounds} alternating rounds of ${MEASURE_S} s after ${WARMUP_S} s warm-up, vRouter (1 worker) on CPU 1, senders on CPU 0; 1-min load average ${load} on ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`;
    console.log(`  memif pps ${spread(memif.map((s) => s.pps))}; veth pps ${spread(veth.map((s) => s.pps))}`);
    console.log(`  vRouter ns/packet memif ${spread(memif.map((s) => s.vrouterNs))}; veth ${spread(veth.map((s) => s.vrouterNs))}`);
    console.log(`  all cores ns/packet memif ${spread(memif.map((s) => s.allNs))}; veth ${spread(veth.map((s) => s.allNs))}`);
    return [
      {
        name: 'pod-to-pod forwarding, 64-byte UDP, memif pods (testpmd txonly -> rxonly), median',
        value: Math.round(mp.median),
        unit: 'packets/s',
        reference: { name: 'veth pods (AF_PACKET generator -> sink), same run, median', value: Math.round(vp.median) },
        ratio: mp.median / vp.median,
        notes: `memif ${spread(memif.map((s) => s.pps))}, veth ${spread(veth.map((s) => s.pps))}; saturation rates (both forwarders at their limit): ${note}`,
      },
      {
        name: 'vRouter CPU per forwarded packet, memif pods, median',
        value: Math.round(mv.median),
        unit: 'ns/packet',
        reference: { name: 'veth pods, same run, median', value: Math.round(vv.median) },
        ratio: vv.median / mv.median,
        notes: `ratio = veth / memif (above 1: memif cheaper); memif ${spread(memif.map((s) => s.vrouterNs))}, veth ${spread(veth.map((s) => s.vrouterNs))}; the vRouter process's user+system time; ${note}`,
      },
      {
        name: 'all-core CPU per forwarded packet (minus the idle setup), memif pods, median',
        value: Math.round(ma.median),
        unit: 'ns/packet',
        reference: { name: 'veth pods, same run, median', value: Math.round(va.median) },
        ...(allMeasurable ? { ratio: va.median / ma.median } : {}),
        notes: `${allMeasurable ? '' : `NOT MEASURABLE in this run: the CPUs were ${(busyBefore * 100).toFixed(0)}% busy before the traffic started (median), so no ratio; `}ratio = veth / memif (above 1: memif cheaper; goal 2x); memif ${spread(memif.map((s) => s.allNs))}, veth ${spread(veth.map((s) => s.allNs))}; /proc/stat busy time of all CPUs minus the same setup idle (testpmd's pollers spin either way); ${note}`,
      },
    ];
  } finally {
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
    for (const p of prefixes) rmSync(`/var/run/dpdk/${p}`, { recursive: true, force: true });
  }
}
