/**
 * How many of the packet-I/O system calls a forwarder's process makes in a window, counted by the
 * kernel's syscall tracepoints through `perf stat -p PID` (software events: they work in this VM,
 * which has no hardware counters). Per forwarded packet, sendto/sendmmsg are the transmit kicks
 * and poll/ppoll/futex the sleeps, the two per-batch costs that decide a paced forwarder's CPU
 * per packet on veths; recvmmsg/recvfrom are OVS's receive. Each counted call costs the tracepoint
 * (well under a microsecond), the same for every forwarder counted. Resolves to {} when perf is
 * missing or refuses.
 */
import { spawn } from 'node:child_process';

export const COUNTED_SYSCALLS = ['sendto', 'sendmsg', 'sendmmsg', 'recvfrom', 'recvmmsg', 'poll', 'ppoll', 'futex'] as const;

/** Count COUNTED_SYSCALLS made by every thread of `pid` over the next `seconds`. */
export function countSyscalls(pid: number, seconds: number): Promise<Record<string, number>> {
  return new Promise((resolve) => {
    const events = COUNTED_SYSCALLS.map((s) => `syscalls:sys_enter_${s}`).join(',');
    let err = '';
    // a missing perf binary is an 'error' event, not a throw
    const child = spawn('perf', ['stat', '-x', ',', '-e', events, '-p', String(pid), '--', 'sleep', String(seconds)], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', () => resolve({}));
    child.on('close', () => resolve(parsePerfStatCsv(err)));
  });
}

/** The syscall counts in `perf stat -x ,` output (value,unit,event,...); uncounted events ("<not counted>") are left out. */
export function parsePerfStatCsv(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const f = line.split(',');
    const m = /^syscalls:sys_enter_(\w+)$/.exec(f[2] ?? '');
    if (m && /^\d+$/.test(f[0] ?? '')) out[m[1]!] = Number(f[0]);
  }
  return out;
}

/** "sendto 0.031, poll 0.012" per packet, the calls that were made at all. */
export function perPacket(counts: Record<string, number>, packets: number): string {
  const parts = Object.entries(counts).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${(n / packets).toFixed(3)}`);
  return parts.length ? parts.join(', ') : 'none counted';
}
