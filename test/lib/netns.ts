/**
 * Network namespace labs for system tests: create namespaces and veth pairs with names unique
 * to the test process, run commands inside them, start long-lived processes there, and tear
 * everything down (children killed by PID, namespaces deleted) even when a test fails.
 *
 *   const lab = new NetnsLab('dpio');            // namespaces cnr-dpio-<pid>-NAME
 *   const h1 = lab.netns('h1');
 *   lab.veth(h1, 'eth0', r, 'r1');
 *   lab.run(h1, ['ip', 'addr', 'add', '10.0.0.1/24', 'dev', 'eth0']);
 *   after(() => lab.cleanup());
 *
 * Most system tests want the same shape, a router namespace with host namespaces on veths,
 * addressed and routed through it; topology() builds it in one call:
 *
 *   const { router: r, hosts: [h1, h2] } = lab.topology({
 *     router: 'r',
 *     hosts: [
 *       { name: 'h1', routerIf: 'r1', addrs: ['10.1.0.2/24', '2001:db8:1::2/64'], gw: ['10.1.0.1', '2001:db8:1::1'] },
 *       numberedHost(2, { mtu: 9000 }),     // the same plan for h2 on r2, as a one-liner
 *     ],
 *   });
 *
 * The hosts' interfaces keep the kernel's default offloads (TSO/GSO on), as a real neighbour's
 * would; only what cnr attaches on the router side may be set differently, by the test.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export const isRoot = process.getuid?.() === 0;

/** The reason to give `test(..., { skip })` when the test needs root, or false. */
export function needsRoot(): string | false {
  return isRoot ? false : 'needs root (network namespaces); skipped';
}

export interface RunOptions {
  /** milliseconds, default 20 s */
  timeout?: number;
  input?: string;
  /** return stdout even when the command exits non-zero */
  allowFail?: boolean;
}

/** Run a command and return its stdout; throws with stderr on failure unless allowFail. */
export function sh(args: string[], opts: RunOptions = {}): string {
  try {
    return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: opts.timeout ?? 20000, input: opts.input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    if (opts.allowFail) return (err.stdout ?? '') + (err.stderr ?? '');
    throw new Error(`${args.join(' ')}: ${err.stderr?.trim() || err.message}`);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A host namespace on a router: one veth pair, the host's addresses and default routes. */
export interface HostSpec {
  /** namespace suffix, e.g. 'h1' */
  name: string;
  /** the veth end in the router's namespace, e.g. 'r1' (at most 15 characters) */
  routerIf: string;
  /** the veth end in the host, default 'eth0' */
  ifname?: string;
  /** MAC address of the host's end */
  mac?: string;
  /** MTU of both ends */
  mtu?: number;
  /** addresses with prefix length on the host's end; IPv6 ones are added without DAD */
  addrs?: string[];
  /** default route via each of these (IPv4 or IPv6, by the address) */
  gw?: string[];
  /** addresses on the host's loopback (e.g. a /32 to route to) */
  loopback?: string[];
}

/**
 * The lab's usual address plan: host n is namespace 'h<n>' on router port 'r<n>', with
 * 10.<n>.0.2/24 and 2001:db8:<n>::2/64 and default routes via 10.<n>.0.1 and 2001:db8:<n>::1.
 * `more` adds to or replaces any of it.
 */
export function numberedHost(n: number, more: Partial<HostSpec> = {}): HostSpec {
  return { name: `h${n}`, routerIf: `r${n}`, addrs: [`10.${n}.0.2/24`, `2001:db8:${n}::2/64`], gw: [`10.${n}.0.1`, `2001:db8:${n}::1`], ...more };
}

export interface TopologySpec {
  /** namespace suffix of the router, e.g. 'r' */
  router: string;
  hosts: HostSpec[];
}

export class NetnsLab {
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];

  constructor(tag: string) {
    this.prefix = `cnr-${tag}-${process.pid}`;
    NetnsLab.sweepOrphans(tag);
  }

  /**
   * Remove namespaces of this tag left by a run that was killed before its cleanup (its PID is
   * gone): the processes still inside them, which that run started, then the namespaces.
   */
  static sweepOrphans(tag: string): void {
    const re = new RegExp(`^cnr-${tag}-(\\d+)-`);
    for (const line of sh(['ip', 'netns', 'list'], { allowFail: true }).split('\n')) {
      const ns = line.split(' ')[0] ?? '';
      const m = re.exec(ns);
      if (!m || pidAlive(Number(m[1]))) continue;
      for (const pid of sh(['ip', 'netns', 'pids', ns], { allowFail: true }).split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      sh(['ip', 'netns', 'del', ns], { allowFail: true });
      console.error(`netns: swept ${ns} (its run, pid ${m[1]}, is gone)`);
    }
  }

  /** The full name netns(name) gives, for tests that must know it before creating it. */
  name(name: string): string {
    return `${this.prefix}-${name}`;
  }

  /**
   * Create namespace PREFIX-name, its loopback up unless `loopbackUp` is false (a pod's
   * namespace as a container runtime hands it to a CNI plugin); returns its full name.
   */
  netns(name: string, opts: { loopbackUp?: boolean } = {}): string {
    const ns = this.name(name);
    sh(['ip', 'netns', 'add', ns]);
    this.namespaces.push(ns);
    if (opts.loopbackUp !== false) sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A veth pair with one end in each namespace, both up. Interface names must be at most 15 characters. */
  veth(nsA: string, ifA: string, nsB: string, ifB: string): void {
    sh(['ip', '-n', nsA, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
    sh(['ip', '-n', nsA, 'link', 'set', ifA, 'up']);
    sh(['ip', '-n', nsB, 'link', 'set', ifB, 'up']);
  }

  /** Create a host namespace attached to namespace `router` as `spec` says; returns its full name. */
  host(router: string, spec: HostSpec): string {
    const ns = this.netns(spec.name);
    const ifname = spec.ifname ?? 'eth0';
    this.veth(ns, ifname, router, spec.routerIf);
    if (spec.mac) this.run(ns, ['ip', 'link', 'set', ifname, 'address', spec.mac]);
    if (spec.mtu) {
      this.run(ns, ['ip', 'link', 'set', ifname, 'mtu', String(spec.mtu)]);
      this.run(router, ['ip', 'link', 'set', spec.routerIf, 'mtu', String(spec.mtu)]);
    }
    for (const a of spec.addrs ?? []) this.run(ns, ['ip', 'addr', 'add', a, 'dev', ifname, ...(a.includes(':') ? ['nodad'] : [])]);
    for (const a of spec.loopback ?? []) this.run(ns, ['ip', 'addr', 'add', a, 'dev', 'lo']);
    for (const gw of spec.gw ?? []) this.run(ns, ['ip', ...(gw.includes(':') ? ['-6'] : []), 'route', 'add', 'default', 'via', gw]);
    return ns;
  }

  /** A router namespace and its hosts (see host()); returns the full names, hosts in spec order. */
  topology(spec: TopologySpec): { router: string; hosts: string[] } {
    const router = this.netns(spec.router);
    return { router, hosts: spec.hosts.map((h) => this.host(router, h)) };
  }

  /** Run a command inside a namespace; returns stdout. */
  run(ns: string, args: string[], opts: RunOptions = {}): string {
    return sh(['ip', 'netns', 'exec', ns, ...args], opts);
  }

  /** Start a long-lived process inside a namespace; it is killed by cleanup(). */
  spawn(ns: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.children.push(child);
    return child;
  }

  /** Stop every child (SIGTERM, then SIGKILL after 3 s) and delete the namespaces. */
  async cleanup(): Promise<void> {
    await Promise.all(this.children.map((c) => stopChild(c, 3000)));
    for (const ns of this.namespaces.reverse()) sh(['ip', 'netns', 'del', ns], { allowFail: true });
    this.namespaces.length = 0;
  }
}

/** SIGTERM a child we started, SIGKILL it if it has not exited after `graceMs`. */
export function stopChild(c: ChildProcess, graceMs = 3000): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      try {
        process.kill(c.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, graceMs);
    c.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    try {
      process.kill(c.pid!, 'SIGTERM');
    } catch {
      clearTimeout(t);
      resolve();
    }
  });
}

/** Resolve with the first stdout line matching `re` (and the lines so far), or reject after `timeoutMs`. */
export function waitForLine(c: ChildProcess, re: RegExp, timeoutMs = 15000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      for (const line of buf.split('\n')) {
        if (re.test(line)) {
          done(null, line);
          return;
        }
      }
    };
    const onErr = (d: Buffer): void => {
      err += d.toString();
    };
    // 'close', not 'exit': stdout may still hold the line when the process has exited
    const onExit = (code: number | null): void => done(new Error(`process exited (${code}) before printing ${re}: ${err.trim() || buf.trim()}`));
    const t = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${re}; stdout: ${buf.trim()} stderr: ${err.trim()}`)), timeoutMs);
    function done(e: Error | null, line?: string): void {
      clearTimeout(t);
      c.stdout?.off('data', onData);
      c.stderr?.off('data', onErr);
      c.off('close', onExit);
      if (e) reject(e);
      else resolve(line!);
    }
    c.stdout?.on('data', onData);
    c.stderr?.on('data', onErr);
    c.on('close', onExit);
  });
}

export interface PingResult {
  ok: boolean;
  received: number;
  output: string;
}

/** ping (or ping -6) from a namespace: `count` probes, bounded by `deadlineS` seconds. */
export function ping(lab: NetnsLab, ns: string, addr: string, opts: { count?: number; deadlineS?: number; interval?: number } = {}): PingResult {
  const count = opts.count ?? 3;
  const args = ['ping', addr.includes(':') ? '-6' : '-4', '-n', '-c', String(count), '-i', String(opts.interval ?? 0.2), '-w', String(opts.deadlineS ?? 5), addr];
  const output = lab.run(ns, args, { allowFail: true, timeout: ((opts.deadlineS ?? 5) + 5) * 1000 });
  const m = /(\d+) (?:packets )?received/.exec(output);
  const received = m ? Number(m[1]) : 0;
  return { ok: received > 0, received, output };
}

/**
 * A namespace's protocol counters as its own processes see them: /proc/net/snmp as
 * "Group.Name" ("Tcp.InSegs", "Tcp.InCsumErrors", "Icmp.InDestUnreachs") and /proc/net/snmp6
 * by its own names ("Icmp6InPktTooBigs"); for deltas around a transfer.
 */
export function snmp(lab: NetnsLab, ns: string): Record<string, number> {
  const out: Record<string, number> = {};
  const lines = lab.run(ns, ['cat', '/proc/net/snmp']).trim().split('\n');
  for (let k = 0; k + 1 < lines.length; k += 2) {
    const names = lines[k]!.split(/\s+/);
    const values = lines[k + 1]!.split(/\s+/);
    const group = names[0]!.replace(':', '');
    for (let q = 1; q < names.length; q++) out[`${group}.${names[q]}`] = Number(values[q]);
  }
  for (const line of lab.run(ns, ['cat', '/proc/net/snmp6']).trim().split('\n')) {
    const [name, value] = line.split(/\s+/);
    if (name && value !== undefined) out[name] = Number(value);
  }
  return out;
}
