/**
 * CPU time of the whole machine, all cores, from the kernel's per-CPU counters in /proc/stat:
 * what the forwarding benchmark charges to a forwarder, so that work the kernel does on some
 * other core (a veth's receive on the sender's CPU, softirqs, the generator's own cost) is
 * counted wherever it runs. Busy = user + nice + system + irq + softirq (guest time is already
 * inside user); idle, iowait and steal (time the hypervisor gave to someone else) are not busy.
 * The counters tick in USER_HZ (100 per second on every Linux ABI), so a 3 s window on two cores
 * resolves to 1/600 of its length. parseProcStat and busySeconds are pure and tested in
 * test/bench/cpu-stat.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of /proc/stat (sysconf(_SC_CLK_TCK), 100 on Linux). */
export const USER_HZ = 100;

export interface CpuTicks {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

/** Per-CPU counters keyed by name ("cpu0", "cpu1", ...), plus "cpu" for the total line. */
export function parseProcStat(text: string): Map<string, CpuTicks> {
  const out = new Map<string, CpuTicks>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) continue;
    const f = line.trim().split(/\s+/);
    const n = (i: number): number => Number(f[i] ?? 0) || 0;
    out.set(f[0]!, { user: n(1), nice: n(2), system: n(3), idle: n(4), iowait: n(5), irq: n(6), softirq: n(7), steal: n(8) });
  }
  return out;
}

export function readProcStat(): Map<string, CpuTicks> {
  return parseProcStat(readFileSync('/proc/stat', 'utf8'));
}

const busyTicks = (t: CpuTicks): number => t.user + t.nice + t.system + t.irq + t.softirq;

/**
 * Busy CPU seconds summed over every per-CPU line between two snapshots (the per-CPU lines,
 * not the total line, so that a CPU that went offline in between is simply left out).
 */
export function busySeconds(before: Map<string, CpuTicks>, after: Map<string, CpuTicks>): { busy: number; steal: number; perCpu: Record<string, number> } {
  let busy = 0;
  let steal = 0;
  const perCpu: Record<string, number> = {};
  for (const [name, b] of after) {
    if (name === 'cpu') continue;
    const a = before.get(name);
    if (!a) continue;
    const s = (busyTicks(b) - busyTicks(a)) / USER_HZ;
    perCpu[name] = s;
    busy += s;
    steal += (b.steal - a.steal) / USER_HZ;
  }
  return { busy, steal, perCpu };
}

/**
 * user + system ticks of a process (all its threads) from the text of /proc/PID/stat. The
 * kernel here charges a softirq that a tick catches to the task it interrupted as system time
 * too (no CONFIG_IRQ_TIME_ACCOUNTING), so the veth receive and forwarding work done in a
 * sender's context is in that sender's figure.
 */
export function parsePidStat(text: string): { utime: number; stime: number } {
  // the command name (field 2) may hold spaces and parentheses: fields restart after the last ')'
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { utime: Number(f[11]) || 0, stime: Number(f[12]) || 0 };
}

/** CPU seconds of the given processes so far (a process that is gone counts 0). */
export function processSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const t = parsePidStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      ticks += t.utime + t.stime;
    } catch {
      // exited
    }
  }
  return ticks / USER_HZ;
}

/** User and system CPU seconds of one process so far (all its threads; 0 and 0 if it is gone). */
export function processUserSystem(pid: number): { user: number; system: number } {
  try {
    const t = parsePidStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return { user: t.utime / USER_HZ, system: t.stime / USER_HZ };
  } catch {
    return { user: 0, system: 0 };
  }
}

/** PIDs of the per-CPU softirq threads (ksoftirqd/N), which take over softirq work under load. */
export function ksoftirqdPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').startsWith('ksoftirqd/')) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}
