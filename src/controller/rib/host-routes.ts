/**
 * The node's IGP routes in the host kernel, as FRR's zebra installs its IGP's: the active
 * default-VRF routes of protocol `isis` and `static` (inet.0, inet6.0) become kernel routes
 * `PREFIX dev vhost0 proto 250`, so that the controller's own traffic (iBGP between
 * loopbacks, SSH to a remote loopback) leaves through vhost0 into the vRouter, which forwards
 * it with its FIB. No gateway: the vRouter answers ARP and NDP on vhost0 for every address
 * (graph/arp.ts, ip6-local.ts). BGP routes never go in (a full table must not reach the
 * kernel); connected subnets and the node's addresses are the agent's (dataplane/vhost-sync.ts).
 *
 * The controller does this, not the agent: only the RIB knows a route's protocol, and the
 * controller shares the host network namespace with vhost0 in both layouts (`cnr start`, and
 * `cnr controller` beside a host-networked `cnr vrouter`). Changes are collected per prefix and
 * applied in batches through one `ip -force -batch -` child per batch (IS-IS may move
 * hundreds of routes at once; nothing waits on the kernel in the event loop); a failed line
 * is logged (at most once a minute) and retried. Everything of protocol 250 is flushed at
 * start (a previous run's, before the vRouter starts) and at stop. The device is looked up every second (RTM_GETLINK):
 * when vhost0 appears or is created anew (a restarted vRouter), every route is put back.
 */
import { spawn } from 'node:child_process';
import type { PrefixKey } from '../../lib/addr.js';
import { ENODEV, IFLA_IFNAME, RTM_GETLINK } from '../../sys/constants.js';
import { NetlinkError, NetlinkMessage, NetlinkSocket, netlinkAvailable } from '../../sys/netlink.js';
import type { RibChange, RibChangeFilter, RibListener, RibSubscription } from './rib.js';

/** The kernel route protocol number of cnr's routes (`ip route show proto 250`). */
export const HOST_ROUTE_PROTO = 250;

/** Runs `ip` with these arguments (and `input` on its standard input); resolves with its standard error. */
export type IpRunner = (args: readonly string[], input?: string) => Promise<string>;

export interface HostRoutesOptions {
  /** the TAP the vRouter owns (vhost0) */
  device?: string;
  log: (line: string) => void;
  /** how often the device is looked up, ms (1000) */
  pollMs?: number;
  /** delay before a failed line is tried again, ms (5000) */
  retryMs?: number;
}

function runIp(args: readonly string[], input = ''): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('ip', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 65536) err += d.toString();
    });
    child.on('error', (e) => resolve(`${err}${e.message}\n`));
    child.on('close', () => resolve(err));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** The interface index of `name` in this network namespace, or undefined when there is none. */
function linkIndex(sock: NetlinkSocket, name: string): number | undefined {
  try {
    const [r] = sock.request(new NetlinkMessage(RTM_GETLINK, 0).ifinfo(0, 0, 0, 0).attrStr(IFLA_IFNAME, name), `RTM_GETLINK ${name}`);
    return r ? r.getInt32(16 + 4, true) : undefined;
  } catch (err) {
    if (err instanceof NetlinkError && err.errno === ENODEV) return undefined;
    throw err;
  }
}

/** Which RIB changes concern the kernel: a listener on the Rib (Rib.subscribe). */
export class HostRoutes {
  readonly device: string;
  /** per table, the prefixes whose active route is IGP (installed or to be): key → text */
  private readonly wanted = new Map<string, Map<PrefixKey, string>>([
    ['inet.0', new Map()],
    ['inet6.0', new Map()],
  ]);
  /** the same prefixes' texts, both tables */
  private readonly wantedText = new Set<string>();
  /** prefix text → true: replace, false: delete; applied by the next batch */
  private dirty = new Map<string, boolean>();
  private scheduled = false;
  private busy = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle = () => {};
  private ifindex: number | undefined;
  private sock: NetlinkSocket | undefined;
  private poller: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private lastLog = 0;
  private stopped = false;
  /** lines applied and lines the kernel refused, since start */
  readonly counts = { applied: 0, failed: 0 };

  constructor(
    private readonly opts: HostRoutesOptions,
    private readonly ip: IpRunner = runIp,
  ) {
    this.device = opts.device ?? 'vhost0';
  }

  /**
   * Follow the RIB from `subscribe` on. A previous run's routes are removed before, with
   * removeAll(), best before the vRouter starts in this process (cmd/node.ts): each `ip` is a
   * fork, cheap in a small process and slower beside a running data plane.
   */
  start(subscribe: (l: RibListener, wants: RibChangeFilter) => (() => void) | RibSubscription): void {
    if (netlinkAvailable()) {
      try {
        this.sock = NetlinkSocket.open();
      } catch (err) {
        this.opts.log(`host routes: no rtnetlink socket (${String(err)}): routes are tried without waiting for ${this.device}`);
      }
    }
    this.unsubscribe = subscribe(this.onChange, this.wants);
    this.poll();
    this.poller = setInterval(() => this.poll(), this.opts.pollMs ?? 1000);
    this.poller.unref();
  }

  private unsubscribe = () => {};

  /**
   * The RIB's changes onChange needs: those of the default VRF's tables to or from an IS-IS
   * or static route (one of ours coming, changing, or losing to another protocol's route or
   * going). BGP's full table (none or BGP to BGP) is not told, IS-IS routes in the table or not.
   */
  private readonly wants = (table: string, protocol: string | undefined, previous: string | undefined): boolean =>
    this.wanted.has(table) && (protocol === 'isis' || protocol === 'static' || previous === 'isis' || previous === 'static');

  /** Stop following the RIB, wait for the batch under way, remove every route of ours. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe();
    clearInterval(this.poller);
    clearTimeout(this.retry);
    await this.idle;
    this.sock?.close();
    await this.removeAll();
  }

  /** Resolves once nothing is queued or under way (tests). */
  async settled(): Promise<void> {
    while (this.busy || this.scheduled) await this.idle.then(() => new Promise((r) => setImmediate(r)));
  }

  private readonly onChange = (c: RibChange): void => {
    const t = this.wanted.get(c.table);
    if (!t) return;
    const p = c.protocol;
    const had = t.get(c.key);
    if (p === 'isis' || p === 'static') {
      if (had !== undefined) return; // another next hop: the kernel route (dev vhost0) is the same
      const text = c.prefix;
      t.set(c.key, text);
      this.wantedText.add(text);
      this.mark(text, true);
    } else if (had !== undefined) {
      t.delete(c.key);
      this.wantedText.delete(had);
      this.mark(had, false);
    }
  };

  private mark(prefix: string, install: boolean): void {
    this.dirty.set(prefix, install);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    // after the current turn: a SPF run's hundreds of changes go in one batch
    setImmediate(() => {
      this.scheduled = false;
      void this.apply();
    });
  }

  private poll(): void {
    if (!this.sock || this.stopped) return;
    let now: number | undefined;
    try {
      now = linkIndex(this.sock, this.device);
    } catch (err) {
      this.note(`host routes: RTM_GETLINK ${this.device}: ${String(err)}`);
      return;
    }
    if (now === this.ifindex) return;
    this.ifindex = now;
    if (now === undefined) return; // gone: the kernel removed its routes with it
    // appeared, or created anew: every wanted route goes (back) in
    for (const text of this.wantedText) this.dirty.set(text, true);
    this.schedule();
  }

  private async apply(): Promise<void> {
    if (this.busy || this.stopped || this.dirty.size === 0) return;
    // without the device, wait for poll() to see it (it puts everything in then)
    if (this.sock && this.ifindex === undefined) {
      for (const [k, v] of this.dirty) if (!v) this.dirty.delete(k);
      return;
    }
    const batch = this.dirty;
    this.dirty = new Map();
    const lines: string[] = [];
    const prefixes: string[] = [];
    for (const [prefix, install] of batch) {
      lines.push(`route ${install ? 'replace' : 'del'} ${prefix} dev ${this.device} proto ${HOST_ROUTE_PROTO}`);
      prefixes.push(prefix);
    }
    this.busy = true;
    this.idle = new Promise((r) => (this.markIdle = r));
    try {
      const err = await this.ip(['-force', '-batch', '-'], `${lines.join('\n')}\n`);
      const failed = failedLines(err);
      this.counts.applied += lines.length - failed.length;
      this.counts.failed += failed.length;
      let retry = false;
      for (const n of failed) {
        const prefix = prefixes[n - 1];
        if (prefix === undefined) continue;
        // a delete of a route already gone needs nothing; a refused install is tried again
        if (batch.get(prefix) && !this.dirty.has(prefix) && this.isWanted(prefix)) {
          retry = true;
          this.retryLater(prefix);
        }
      }
      if (failed.some((n) => batch.get(prefixes[n - 1]!)) || (!failed.length && err.trim())) {
        this.note(`host routes: ${failed.length} of ${lines.length} kernel route changes on ${this.device} failed${retry ? ' (tried again)' : ''}: ${err.trim().split('\n').slice(0, 4).join('; ')}`);
      }
    } finally {
      this.busy = false;
      this.markIdle();
    }
    if (this.dirty.size) this.schedule();
  }

  private readonly retrying = new Set<string>();

  private retryLater(prefix: string): void {
    this.retrying.add(prefix);
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      for (const p of this.retrying) if (!this.dirty.has(p) && this.isWanted(p)) this.dirty.set(p, true);
      this.retrying.clear();
      this.schedule();
    }, this.opts.retryMs ?? 5000);
    this.retry.unref();
  }

  private isWanted(prefix: string): boolean {
    return this.wantedText.has(prefix);
  }

  /** A log line, at most one a minute (a persistent refusal must not flood the log). */
  private note(line: string): void {
    const now = Date.now();
    if (now - this.lastLog < 60_000) return;
    this.lastLog = now;
    this.opts.log(line);
  }

  /** Remove every route of protocol 250 in this namespace, both families. */
  async removeAll(): Promise<void> {
    // (an empty table answers with an error: nothing to flush)
    for (const fam of ['-4', '-6']) await this.ip([fam, 'route', 'flush', 'proto', String(HOST_ROUTE_PROTO)]);
  }
}

/** The 1-based line numbers `ip -force -batch` reports as failed ("Command failed -:N"). */
export function failedLines(stderr: string): number[] {
  const out: number[] = [];
  for (const m of stderr.matchAll(/Command failed -:(\d+)/g)) out.push(Number(m[1]));
  return out;
}
