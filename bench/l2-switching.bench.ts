/**
 * L2 switching between veths (issue 14): cnr's vRouter as a switch beside Open vSwitch's
 * userspace datapath (ovs-vswitchd, `datapath_type=netdev`, no kernel module) and the Linux
 * bridge, on the same topology in the same run. Three namespaces:
 *
 *   gen:eth0 ── p1 [sw: cnr, OVS or the Linux bridge] p2 ── sink:eth0
 *   gen:eth1 ──────────────────────────────────────────────── sink:eth1   (the baseline: no switch)
 *
 * 10k MACs (L2_MACS) live behind p2, half on VLAN 10 and half on VLAN 20; before every window the
 * sink sends a broadcast from each of them (bench/lib/l2-traffic.ts learn) and each switch learns
 * them as switches do (again, up to three times, while the switch holds fewer than 10k MACs: a
 * busy machine loses broadcasts), and the learned count is printed. The generator then sends 64-byte frames
 * from 64 sources to those MACs in a shuffled order (the destination changes every packet), each
 * 802.1Q-tagged with its MAC's VLAN: every frame a known unicast, switched out of p2 and counted
 * by the sink's kernel, which drops it (not its MAC). cnr: both ports trunks of VLANs 10 and 20, a
 * bridge domain each; OVS: both ports trunks of every VLAN (OVS's default), NORMAL action, its MAC
 * table raised from 2048 to 100k entries; the Linux bridge: not VLAN-aware (this kernel has no
 * VLAN filtering, LAB.md), it switches the same frames by MAC alone ("untagged" in the issue).
 * Frames that came back to gen:eth0 during a window (flooded, not switched) are counted and printed.
 *
 * Figures, as bench/forwarding.bench.ts makes them (>= 3 rounds, min/median/max, ratios within
 * each round): 1. saturation, generator unpaced, the sink's rx rate over 3 s after 1 s of
 * warm-up; 2. CPU per switched packet at one paced rate below every switch's saturation (half the
 * lowest median saturation, or L2_RATE): busy CPU of all cores (/proc/stat), and CPU of our own
 * processes (generator, the switch's processes: vRouter, or ovs-vswitchd and ovsdb-server; the
 * ksoftirqd threads, where the Linux bridge's work also lands), each minus a baseline window of the
 * same round at the same rate with the generator sending straight to the sink; divided by the
 * packets switched. Ratio = reference / cnr (above 1: cnr spends less per packet).
 *
 * Pinning: generator on CPU 0, the vRouter and ovs-vswitchd on CPU 1; the Linux bridge switches in
 * softirq on the sender's CPU. Needs root and Debian's openvswitch-switch (ovsdb-server,
 * ovs-vswitchd, ovs-vsctl, ovs-appctl); skips with a printed reason without them. OVS runs with its
 * own db, sockets, pid and log files in a temporary directory; every process is killed by PID and
 * the namespaces removed, even on failure.
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { NetnsLab, isRoot, stopChild, waitForLine } from '../test/lib/netns.js';
import { missingOvs, startOvs, type Ovs } from './lib/ovs.js';
import { genDutSink } from './lib/gen-dut-sink.js';
import { busySeconds, ksoftirqdPids, processSeconds, readProcStat } from './lib/cpu-stat.js';
import { figure, median, ROUNDS } from './lib/stats.js';
import { MACS, VLANS } from './lib/l2-traffic.js';
import type { BenchResult } from './types.js';

const traffic = fileURLToPath(new URL('./lib/l2-traffic.js', import.meta.url));
const vrouterChild = fileURLToPath(new URL('./lib/l2-vrouter.js', import.meta.url));
const WARMUP_S = 1;
const MEASURE_S = Number(process.env.L2_MEASURE_S ?? 3);
/** learning: every MAC twice, in about a second */
const LEARN_RATE = 2 * MACS;
const LEARN_PASSES = 3;
const DRIVERS = (process.env.L2_DRIVERS ?? 'af-packet').split(',').filter(Boolean) as ('af-packet' | 'af-xdp')[];
/** switched >= this share of the offered rate: the switch kept up, the generator was the limit */
const KEPT_UP = 0.97;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

type Switch = 'linux-bridge' | 'ovs' | 'af-packet' | 'af-xdp';
const label = (s: Switch): string => (s === 'linux-bridge' ? 'Linux bridge' : s === 'ovs' ? 'OVS userspace' : `cnr ${s}`);

interface Window {
  /** frames per second counted at the sink */
  pps: number;
  offered: number;
  busyPerS: number;
  stealPerS: number;
  ownPerS: number;
  /** frames per second that came back to the generator (flooded) */
  backPps: number;
  /** MACs the switch had learned before the window (-1: the baseline, no switch) */
  learned: number;
}

/** A running switch: its processes (for CPU), its learned-MAC count, and how to stop it. */
interface Running {
  pids: number[];
  macs(): Promise<number>;
  stop(): Promise<void>;
}

export async function run(): Promise<BenchResult[]> {
  if (!isRoot) {
    console.log('l2-switching: skipped (needs root for network namespaces)');
    return [];
  }
  const missing = missingOvs();
  if (missing.length) {
    console.log(`l2-switching: skipped (needs Debian's openvswitch-switch for the OVS reference: ${missing.join(', ')} missing)`);
    return [];
  }
  const lab = new NetnsLab('l2sw');
  let ovs: Ovs | undefined;
  try {
    const { gen, dut: sw, sink } = genDutSink(lab, 'sw', ['p1', 'p2']);

    // OVS's database, once for the run (idle between windows; its CPU is counted in OVS's windows)
    ovs = await startOvs(lab, sw, ['p1', 'p2'], ['other_config:mac-table-size=100000']);
    const ovsRef = ovs;

    const softirqThreads = ksoftirqdPids();
    /** cnr's non-zero drop counters per driver, from the vRouter's last words */
    const drops: Record<string, string> = {};
    const startSwitch = async (s: Switch): Promise<Running> => {
      if (s === 'linux-bridge') {
        lab.run(sw, ['ip', 'link', 'add', 'lbr0', 'type', 'bridge']);
        for (const p of ['p1', 'p2']) lab.run(sw, ['ip', 'link', 'set', p, 'master', 'lbr0']);
        lab.run(sw, ['ip', 'link', 'set', 'lbr0', 'up']);
        return {
          pids: [],
          macs: async () => lab.run(sw, ['bridge', 'fdb', 'show', 'br', 'lbr0']).split('\n').filter((l) => l.startsWith('02:b2:')).length,
          stop: async () => {
            lab.run(sw, ['ip', 'link', 'del', 'lbr0'], { allowFail: true });
          },
        };
      }
      if (s === 'ovs') {
        const vsw = await ovsRef.startSwitchd('1');
        return {
          pids: [vsw.pid, ovsRef.dbPid],
          macs: async () => Number(/Current\/maximum MAC entries in the table: (\d+)/.exec(ovsRef.appctl(['fdb/stats-show', 'br0']))?.[1] ?? -1),
          stop: vsw.stop,
        };
      }
      const cfg = { driver: s, ports: ['p1', 'p2'], vlans: [...VLANS] };
      const vr = lab.spawn(sw, ['taskset', '-c', '1', process.execPath, vrouterChild, JSON.stringify(cfg)]);
      let vout = '';
      vr.stdout!.on('data', (d: Buffer) => (vout += d.toString()));
      await waitForLine(vr, /^ready/, 60_000);
      return {
        pids: [vr.pid!],
        macs: async () => {
          const answer = waitForLine(vr, /^macs \d+/, 5000);
          vr.stdin!.write('macs\n');
          return Number((await answer).split(' ')[1]);
        },
        stop: async () => {
          await stopChild(vr, 5000);
          const d = JSON.parse(/dropstats (.*)/.exec(vout)?.[1] ?? '{}') as Record<string, number>;
          const nonzero = Object.entries(d).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(' ');
          if (nonzero) drops[s] = `${drops[s] ? `${drops[s]}; ` : ''}${nonzero}`;
        },
      };
    };

    const spawnTraffic = (ns: string, ifname: string, kind: 'switch' | 'learn', secs: number, rate: number): { child: ChildProcess; done: Promise<string>; out: () => string } => {
      const child = lab.spawn(ns, ['taskset', '-c', '0', process.execPath, traffic, ifname, kind, String(secs), String(rate)]);
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      return { child, done: waitForLine(child, /^sent \d+/, (secs + 30) * 1000), out: () => out };
    };
    const counter = (ns: string, ifname: string, which: 'rx_packets'): number => Number(lab.run(ns, ['cat', `/sys/class/net/${ifname}/statistics/${which}`]).trim());

    /** One window through `running` (or, without it, the baseline: generator straight to the sink on eth1). */
    const measure = async (rate: number, running?: Running): Promise<Window> => {
      let learned = -1;
      // learning: again (at most LEARN_PASSES times) while broadcasts were lost on a busy machine
      for (let pass = 0; running && pass < LEARN_PASSES && learned < MACS; pass++) {
        const l = spawnTraffic(sink, 'eth0', 'learn', 1, LEARN_RATE);
        try {
          await l.done;
        } finally {
          await stopChild(l.child, 2000);
        }
        await sleep(300);
        learned = await running.macs();
      }
      const genIf = running ? 'eth0' : 'eth1';
      const sinkIf = running ? 'eth0' : 'eth1';
      const secs = WARMUP_S + MEASURE_S + 0.5;
      const g = spawnTraffic(gen, genIf, 'switch', secs, rate);
      try {
        const started = Date.now();
        let a = counter(sink, sinkIf, 'rx_packets');
        while (Date.now() - started < 20_000) {
          await sleep(100);
          const b = counter(sink, sinkIf, 'rx_packets');
          if (b > a) break;
          a = b;
        }
        await sleep(WARMUP_S * 1000);
        const pids = [g.child.pid!, ...(running?.pids ?? []), ...softirqThreads];
        const own0 = processSeconds(pids);
        const s0 = readProcStat();
        const p0 = counter(sink, sinkIf, 'rx_packets');
        const back0 = counter(gen, genIf, 'rx_packets');
        const t0 = process.hrtime.bigint();
        await sleep(MEASURE_S * 1000);
        const p1 = counter(sink, sinkIf, 'rx_packets');
        const back1 = counter(gen, genIf, 'rx_packets');
        const s1 = readProcStat();
        const own1 = processSeconds(pids);
        const dt = Number(process.hrtime.bigint() - t0) / 1e9;
        await g.done;
        const cpu = busySeconds(s0, s1);
        return { pps: (p1 - p0) / dt, offered: Number(/pps (\d+)/.exec(g.out())?.[1] ?? 0), busyPerS: cpu.busy / dt, stealPerS: cpu.steal / dt, ownPerS: (own1 - own0) / dt, backPps: (back1 - back0) / dt, learned };
      } finally {
        await stopChild(g.child, 2000);
      }
    };
    const windowOf = async (s: Switch, rate: number): Promise<Window> => {
      const running = await startSwitch(s);
      try {
        return await measure(rate, running);
      } finally {
        await running.stop();
      }
    };
    const switches: Switch[] = ['linux-bridge', 'ovs', ...DRIVERS];
    const describe = (w: Window): string => `${fmt(w.pps)} of ${fmt(w.offered)} pps (${w.learned} MACs learned${w.backPps > 1 ? `, ${fmt(w.backPps)} pps flooded back` : ''})`;

    // 1. saturation, generator unpaced
    const sat: Record<string, Window[]> = { generator: [] };
    for (const s of switches) sat[s] = [];
    for (let round = 0; round < ROUNDS; round++) {
      sat['generator']!.push(await measure(0));
      for (const s of switches) sat[s]!.push(await windowOf(s, 0));
      console.log(`  saturation round ${round + 1}: generator alone ${fmt(sat['generator']![round]!.pps)} pps; ${switches.map((s) => `${label(s)} ${describe(sat[s]![round]!)}`).join('; ')}`);
    }
    // 2. CPU per packet at one paced rate below every switch's saturation
    const lowest = Math.min(...switches.map((s) => median(sat[s]!.map((w) => w.pps))));
    const envRate = Number(process.env.L2_RATE ?? 0);
    const rate = envRate > 0 ? envRate : Math.max(1000, Math.floor(lowest / 2 / 1000) * 1000);
    console.log(`  CPU cost at ${fmt(rate)} pps (${envRate > 0 ? 'L2_RATE' : `half the lowest median saturation, ${fmt(lowest)} pps`})`);
    const cost: Record<string, Window[]> = { baseline: [] };
    for (const s of switches) cost[s] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const b = await measure(rate);
      cost['baseline']!.push(b);
      for (const s of switches) cost[s]!.push(await windowOf(s, rate));
      const per = (s: Switch): string => {
        const w = cost[s]![round]!;
        return `${label(s)} ${(((w.busyPerS - b.busyPerS) / w.pps) * 1e9).toFixed(0)} all-core / ${(((w.ownPerS - b.ownPerS) / w.pps) * 1e9).toFixed(0)} own ns/packet, ${describe(w)}`;
      };
      console.log(`  cost round ${round + 1}: baseline ${b.busyPerS.toFixed(3)} all-core / ${b.ownPerS.toFixed(3)} own CPU-s/s at ${fmt(b.pps)} pps; ${switches.map(per).join('; ')}`);
    }
    if (Object.keys(drops).length) console.log(`  cnr drops: ${Object.entries(drops).map(([k, v]) => `${k}: ${v}`).join('; ')}`);

    const results: BenchResult[] = [];
    const load = loadavg().map((x) => x.toFixed(2)).join(' ');
    const work = `64-byte frames, ${MACS / 1000}k learned MACs on two VLANs, destination changes every packet`;
    // every window counts, also one that lost frames (its CPU per frame switched, the lost ones'
    // work included): the rate is far below every switch's saturation, so a loss is the switch's
    // own behaviour at that rate (OVS misses its flow cache and learns slowly on a busy machine),
    // and the notes name every such round
    const nsPerPacket = (s: Switch, how: 'all' | 'own'): number[] =>
      cost[s]!.map((w, i) => {
        const base = cost['baseline']![i]!;
        return ((how === 'all' ? w.busyPerS - base.busyPerS : w.ownPerS - base.ownPerS) / w.pps) * 1e9;
      });
    const losses = (s: Switch): string => {
      const lossy = cost[s]!.map((w, i) => (w.pps < KEPT_UP * w.offered ? `round ${i + 1} ${fmt(w.pps)} of ${fmt(w.offered)}` : '')).filter(Boolean);
      return lossy.length ? `${label(s)} switched less than ${KEPT_UP * 100}% of what it was offered in ${lossy.join(', ')}` : `${label(s)} switched what it was offered`;
    };
    for (const how of ['all', 'own'] as const) {
      const what = how === 'all'
        ? 'busy CPU of all cores (/proc/stat) minus the same-round baseline, per switched frame; counts every tenant of the machine'
        : 'CPU of our own processes (generator, the switch\'s processes, ksoftirqd threads; /proc/PID/stat) minus the same-round baseline, per switched frame';
      for (const d of DRIVERS) {
        for (const ref of ['ovs', 'linux-bridge'] as const) {
          const values = nsPerPacket(d, how);
          const name = `L2 switching CPU per packet (${how === 'all' ? 'all cores' : 'own processes'}), ${work}, ${fmt(rate)} pps offered (cnr ${d} vs ${label(ref)})`;
          results.push(figure({
            name,
            unit: 'ns/packet',
            values,
            reference: { name: `${label(ref)}, same topology, frames, rate and round`, values: nsPerPacket(ref, how) },
            direction: 'ref/value',
            notes: `${what}; ${losses(d)}; ${losses(ref)}; MACs learned before each window (cnr / reference): ${cost[d]!.map((w) => w.learned).join(', ')} / ${cost[ref]!.map((w) => w.learned).join(', ')}; cnr drops ${drops[d] ?? 'none'}; load average ${load} at the end`,
          }));
        }
      }
    }
    for (const d of DRIVERS) {
      const satPps = (s: Switch): number[] => sat[s]!.map((w) => w.pps);
      // a round where cnr switched what it was offered measured the generator, not cnr: its ratio is a lower bound
      const limited = sat[d]!.map((w, i) => (w.pps >= KEPT_UP * w.offered ? i + 1 : 0)).filter(Boolean);
      results.push(figure({
        name: `L2 switching saturation, ${work} (cnr ${d}, vRouter on one core)`,
        unit: 'packets/s',
        values: satPps(d),
        reference: { name: 'OVS userspace datapath (ovs-vswitchd on one core), same round', values: satPps('ovs') },
        notes: `${limited.length ? `GENERATOR-LIMITED for cnr in round ${limited.join(', ')} (it switched >= ${KEPT_UP * 100}% of what was offered: the ratio of those rounds is a lower bound); ` : ''}Linux bridge ${sat['linux-bridge']!.map((w) => fmt(w.pps)).join(', ')} pps; generator alone ${sat['generator']!.map((w) => fmt(w.pps)).join(', ')} pps; offered (cnr / OVS) ${sat[d]!.map((w) => fmt(w.offered)).join(', ')} / ${sat['ovs']!.map((w) => fmt(w.offered)).join(', ')}`,
      }));
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
