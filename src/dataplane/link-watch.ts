/**
 * The carrier of the netdevs the vRouter attaches (issue 13): a link whose carrier goes (a
 * cable pulled, a veth whose peer went down or away) is reported at once, so that IS-IS drops
 * its adjacency there as Junos does instead of waiting out the hold time, `show interfaces
 * terse` says the link is down, and syslog gets SNMP_TRAP_LINK_DOWN.
 *
 * One rtnetlink socket subscribed to link changes (sys/netlink.ts LinkNotifications), read
 * every POLL_MS without blocking: Node has no readiness callback for a raw fd, and one
 * recv() that finds nothing costs a microsecond. A link is up when it is administratively
 * up and operationally running (IFF_UP and IFF_RUNNING: the kernel's oper state, which
 * follows the carrier). The state when watching starts comes from SIOCGIFFLAGS; when the
 * kernel dropped notifications (socket buffer overrun) every watched link is read again.
 */
import { IFF_RUNNING, IFF_UP } from '../sys/constants.js';
import { interfaceFlags } from '../sys/libc.js';
import { LinkNotifications, netlinkAvailable, type LinkNotice } from '../sys/netlink.js';

/** How often pending link notifications are read. */
export const LINK_POLL_MS = 100;

function isUp(flags: number | undefined): boolean {
  return flags !== undefined && (flags & IFF_UP) !== 0 && (flags & IFF_RUNNING) !== 0;
}

export class CarrierWatch {
  private sock: LinkNotifications | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** watched netdevs and their last known state */
  private readonly links = new Map<string, boolean>();
  private failed = false;

  constructor(
    private readonly onChange: (ifname: string, up: boolean) => void,
    private readonly log: (line: string) => void,
  ) {}

  /** Watch `ifname` from now on; returns whether its link is up now. */
  add(ifname: string): boolean {
    this.start();
    const up = isUp(interfaceFlags(ifname));
    this.links.set(ifname, up);
    return up;
  }

  remove(ifname: string): void {
    this.links.delete(ifname);
    if (this.links.size === 0) this.close();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sock?.close();
    this.sock = undefined;
  }

  private start(): void {
    if (this.sock || this.failed) return;
    if (!netlinkAvailable()) {
      this.failed = true;
      return;
    }
    try {
      this.sock = LinkNotifications.open();
    } catch (e) {
      // without it links are as attached (up) until detached, as before
      this.failed = true;
      this.log(`vrouter: link state not watched: ${(e as Error).message}`);
      return;
    }
    this.timer = setInterval(() => this.poll(), LINK_POLL_MS);
    this.timer.unref();
  }

  /** Read what the kernel said since the last time (exported for tests that cannot wait). */
  poll(): void {
    const sock = this.sock;
    if (!sock) return;
    let notices: LinkNotice[];
    try {
      notices = sock.read();
    } catch (e) {
      this.log(`vrouter: link state: ${(e as Error).message}`);
      return;
    }
    const now = new Map<string, boolean>();
    for (const n of notices) if (this.links.has(n.ifname)) now.set(n.ifname, !n.deleted && isUp(n.flags));
    if (sock.overrun) {
      sock.overrun = false;
      for (const name of this.links.keys()) now.set(name, isUp(interfaceFlags(name)));
    }
    // the last word on each link counts (a flap within one poll is no change)
    for (const [name, up] of now) {
      if (!this.links.has(name) || this.links.get(name) === up) continue;
      this.links.set(name, up);
      this.onChange(name, up);
    }
  }
}
