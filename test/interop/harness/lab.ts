/**
 * A lab is the set of things one test file (or one benchmark) creates on the machine: network
 * namespaces, veth pairs between them, a temp directory for every daemon's config and run
 * files, and the daemons themselves. Everything is named after a tag unique to the process
 * (`cnrbi<pid>`), registered for cleanup the moment it exists, and torn down in reverse order
 * by `close()` — which tests call from `after()` so that a failing assertion still cleans up.
 * A signal or crash runs the same removal from an exit hook; and a lab whose process died
 * without any hook (SIGKILL) is swept by the next lab created on the machine: its directory
 * names its owner (PID and start time), its namespaces, and — in their command lines — the
 * daemons it started.
 */
import { appendFileSync, chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { must, onExitSync, run, startDaemon, type Daemon } from './proc.js';

export interface LinkAddresses {
  /** IPv4 address with prefix length on side A, e.g. '10.0.0.1/30' */
  a4?: string;
  b4?: string;
  /** IPv6 address with prefix length on side A, e.g. 'fd00::1/64' */
  a6?: string;
  b6?: string;
}

export interface Link {
  ifA: string;
  ifB: string;
}

/** True when this process may build namespaces (CI runs as root). */
export function canBuildLabs(): boolean {
  return process.getuid?.() === 0;
}

export class Lab {
  readonly dir: string;
  readonly tag: string;
  private readonly cleanups: { what: string; fn: () => Promise<void> | void }[] = [];
  private linkCount = 0;
  private readonly namespaces: string[] = [];
  private readonly cancelExitStep: () => void;
  private closed = false;

  /** `short` (max 4 characters) distinguishes labs of different files in names. */
  constructor(short: string) {
    if (short.length > 4) throw new Error('lab tag too long');
    sweepOrphanLabs();
    this.tag = `${short}${process.pid}`;
    this.dir = mkdtempSync(join(tmpdir(), `cnr-${this.tag}-`));
    writeFileSync(join(this.dir, OWNER_FILE), `${process.pid} ${startTime(process.pid)}\n`);
    // daemons that drop privileges (FRR runs as user frr) must reach their files
    chmodSync(this.dir, 0o755);
    this.defer(`remove ${this.dir}`, () => rmSync(this.dir, { recursive: true, force: true }));
    const dir = this.dir;
    this.cancelExitStep = onExitSync(() => {
      for (const ns of this.namespaces) run('ip', ['netns', 'del', ns]);
      rmSync(dir, { recursive: true, force: true });
    });
  }

  /** Register a cleanup step; steps run in reverse order of registration. */
  defer(what: string, fn: () => Promise<void> | void): void {
    this.cleanups.push({ what, fn });
  }

  /** Create a network namespace `<tag>-<name>` with its loopback up and forwarding on. */
  ns(name: string): string {
    const ns = `cnrbi-${this.tag}-${name}`;
    run('ip', ['netns', 'del', ns]);
    must('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    appendFileSync(join(this.dir, OWNER_FILE), `ns ${ns}\n`);
    this.defer(`netns ${ns}`, () => void run('ip', ['netns', 'del', ns]));
    must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    this.exec(ns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    return ns;
  }

  /** Connect two namespaces with a veth pair and give each side its addresses. */
  link(nsA: string, nsB: string, addrs: LinkAddresses): Link {
    const n = this.linkCount++;
    const ifA = `${this.tag}${n}a`;
    const ifB = `${this.tag}${n}b`;
    if (ifA.length > 15) throw new Error(`interface name too long: ${ifA}`);
    must('ip', ['link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
    this.defer(`veth ${ifA}`, () => void run('ip', ['-n', nsA, 'link', 'del', ifA]));
    const side = (ns: string, ifname: string, a4?: string, a6?: string) => {
      // no duplicate address detection: the link-local address (FRR with zebra needs one for
      // IPv6 sessions) and the global ones are usable the moment the link is up
      this.exec(ns, 'sysctl', ['-qw', `net.ipv6.conf.${ifname}.accept_dad=0`]);
      if (a4) must('ip', ['-n', ns, 'addr', 'add', a4, 'dev', ifname]);
      if (a6) must('ip', ['-n', ns, '-6', 'addr', 'add', a6, 'dev', ifname, 'nodad']);
      must('ip', ['-n', ns, 'link', 'set', ifname, 'up']);
    };
    side(nsA, ifA, addrs.a4, addrs.a6);
    side(nsB, ifB, addrs.b4, addrs.b6);
    return { ifA, ifB };
  }

  /** Run a command inside a namespace, bounded. */
  exec(ns: string, cmd: string, args: string[], timeoutMs = 10_000) {
    return run('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs);
  }

  /** Start a daemon in the foreground inside a namespace; it is stopped by close(). */
  daemon(name: string, ns: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv, stdin: 'ignore' | 'pipe' = 'ignore'): Daemon {
    // `ip netns exec` execs the command, so the PID we get is the daemon's own.
    const d = startDaemon(name, 'ip', ['netns', 'exec', ns, cmd, ...args], env, stdin);
    this.defer(`stop ${name} (${d.pid})`, () => d.stop());
    return d;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const step of this.cleanups.reverse()) {
      try {
        await step.fn();
      } catch (err) {
        console.error(`lab ${this.tag}: cleanup "${step.what}" failed: ${String(err)}`);
      }
    }
    this.cancelExitStep();
  }
}

const OWNER_FILE = 'lab-owner';

/** A process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or undefined. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

let swept = false;

/** Remove labs whose owning process is gone: their daemons (found by the lab dir in their command line), namespaces and directory. */
export function sweepOrphanLabs(): void {
  if (swept) return;
  swept = true;
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((e) => /^cnr-[a-z]+\d+-/.test(e));
  } catch {
    return;
  }
  for (const e of entries) {
    const dir = join(tmpdir(), e);
    let owner: string;
    try {
      owner = readFileSync(join(dir, OWNER_FILE), 'utf8');
    } catch {
      continue; // not a lab of this harness, or one being created
    }
    const [first, ...rest] = owner.trim().split('\n');
    const [pid, start] = first!.split(' ');
    if (startTime(Number(pid)) === start) continue; // its owner is alive
    for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir)) process.kill(Number(p), 'SIGKILL');
      } catch {
        // gone meanwhile, or not ours to read
      }
    }
    for (const line of rest) if (line.startsWith('ns ')) run('ip', ['netns', 'del', line.slice(3)]);
    rmSync(dir, { recursive: true, force: true });
    console.error(`lab: swept orphaned ${dir} (owner ${pid} is gone)`);
  }
}
