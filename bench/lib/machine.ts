/**
 * The machine a benchmark ran on, named in every results file and in docs/benchmarks.md: a
 * per-core figure means nothing beside published ones without the CPU it ran on (issue 16).
 * CPU model and clock come from /proc/cpuinfo (a VM may show only the family, and no cpufreq:
 * the clock is then the one cpuinfo reports, "if known"), cores from the kernel's online CPUs,
 * the kernel release, Node's version, memory; and the load average, because this machine is
 * shared: each benchmark records it at its start and end. parseCpuinfo is pure and tested in
 * test/bench/machine.test.ts.
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';

export interface Machine {
  cpuModel: string;
  /** MHz as /proc/cpuinfo reports it (the current clock of the first CPU), if it does */
  mhz?: number;
  cores: number;
  kernel: string;
  node: string;
  memGiB: number;
  /** the hypervisor, when cpuinfo's flags say there is one */
  virtualised: boolean;
}

/** Model, clock and CPU count from the text of /proc/cpuinfo (x86 and arm64 layouts). */
export function parseCpuinfo(text: string): { model?: string; mhz?: number; processors: number; hypervisor: boolean } {
  let model: string | undefined;
  let mhz: number | undefined;
  let processors = 0;
  let hypervisor = false;
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const key = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    if (key === 'processor') processors++;
    else if ((key === 'model name' || key === 'Model' || key === 'Hardware') && model === undefined && value) model = value;
    else if (key === 'cpu MHz' && mhz === undefined) mhz = Number(value) || undefined;
    else if (key === 'flags' && /(^|\s)hypervisor(\s|$)/.test(value)) hypervisor = true;
  }
  return { model, mhz, processors, hypervisor };
}

let cached: Machine | undefined;

export function describeMachine(): Machine {
  if (cached) return cached;
  let info: ReturnType<typeof parseCpuinfo> = { processors: 0, hypervisor: false };
  try {
    info = parseCpuinfo(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    // not Linux: fall back on what Node knows
  }
  cached = {
    cpuModel: info.model ?? cpus()[0]?.model ?? 'unknown',
    ...(info.mhz !== undefined ? { mhz: Math.round(info.mhz) } : {}),
    cores: cpus().length || info.processors,
    kernel: `Linux ${release()}`,
    node: process.version,
    memGiB: Math.round(totalmem() / 2 ** 30),
    virtualised: info.hypervisor,
  };
  return cached;
}

/** One line: "AMD EPYC, 2445 MHz (cpuinfo), 2 cores, 24 GiB, Linux 6.18, Node v20.20.2, virtual machine". */
export function machineLine(m: Machine = describeMachine()): string {
  return [
    m.cpuModel,
    m.mhz !== undefined ? `${m.mhz} MHz (as /proc/cpuinfo reports it)` : 'clock unknown',
    `${m.cores} cores`,
    `${m.memGiB} GiB`,
    m.kernel,
    `Node ${m.node}`,
    m.virtualised ? 'virtual machine (cpuinfo hypervisor flag)' : undefined,
  ].filter(Boolean).join(', ');
}

/** The 1-, 5- and 15-minute load averages, two decimals. */
export function loadNow(): [number, number, number] {
  const [a, b, c] = loadavg();
  return [Number(a!.toFixed(2)), Number(b!.toFixed(2)), Number(c!.toFixed(2))];
}

/**
 * Writes a benchmark's results file, bench/results/<prefix><time>.json, with the machine named
 * in it; returns its path.
 */
export function writeResultsFile(repo: string, prefix: string, body: Record<string, unknown>): string {
  const dir = join(repo, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const date = new Date().toISOString();
  const file = join(dir, `${prefix}${date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ date, machine: describeMachine(), machineLine: machineLine(), ...body }, null, 2));
  return file;
}
