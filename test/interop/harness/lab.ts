/**
 * A lab is the set of things one test file (or one benchmark) creates on the machine: network
 * namespaces, veth pairs between them, a temp directory for every daemon's config and run
 * files, and the daemons themselves. Everything is named after a tag unique to the process
 * (`cnrbi<pid>`), registered for cleanup the moment it exists, and torn down in reverse order
 * by `close()` — which tests call from `after()` so that a failing assertion still cleans up.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
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
    this.tag = `${short}${process.pid % 100_000}`;
    this.dir = mkdtempSync(join(tmpdir(), `cnr-${this.tag}-`));
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
    this.defer(`netns ${ns}`, () => void run('ip', ['netns', 'del', ns]));
    must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    this.exec(ns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    return ns;
  }

  /** Connect two namespaces with a veth pair and give each side its addresses. */
  link(nsA: string, nsB: string, addrs: LinkAddresses): Link {
    const n = this.linkCount++;
    const ifA = `${this.tag}l${n}a`;
    const ifB = `${this.tag}l${n}b`;
    if (ifA.length > 15) throw new Error(`interface name too long: ${ifA}`);
    must('ip', ['link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
    this.defer(`veth ${ifA}`, () => void run('ip', ['-n', nsA, 'link', 'del', ifA]));
    const side = (ns: string, ifname: string, a4?: string, a6?: string) => {
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
