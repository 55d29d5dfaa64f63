/**
 * vhost0 host configuration: keeps the host kernel's view of vhost0 in step with the router,
 * so that the host's BGP and SSH run over the data plane. The router's addresses in the
 * default VRF go on vhost0 as /32 and /128 host addresses, with kernel routes for their
 * connected subnets; each sync applies the difference from the last one with `ip` (failures
 * are logged, not thrown: the data plane works without them). The TAP itself and the
 * router's MAC on it belong to the vif (dataplane.ts addVif, io/tap.ts); nothing here touches
 * the host side's MAC or MTU. vhost0 gets accept_local: an ICMP "fragmentation needed" the
 * vRouter answers the host's own too-big packet with comes from the router address of the vif
 * it did not fit, which is also the host's (see graph/icmp-error.ts), and the kernel would
 * otherwise drop it as a martian source, blackholing the host's TCP on a smaller MTU.
 *
 * VRouterDataplane (dataplane.ts) owns one VhostSync and calls sync() whenever a default-VRF
 * vif or its addresses change, and when vhost0 appears.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { formatIp, formatPrefix, makePrefix, type Prefix } from '../lib/addr.js';
import { logLine } from '../telemetry/log.js';

/** What the sync reads of a vif. */
export interface HostVif {
  readonly vrf: number;
  readonly vhost: boolean;
  readonly addresses: readonly Prefix[];
}

/** Whether the data plane puts addresses and routes on vhost0: asked for, or by default unless vhost0 is a memory vif (tests). */
export function configuresHost(opts: { configureHost?: boolean; vhostDriver?: 'tap' | 'memory' }): boolean {
  return !(opts.configureHost === false || (opts.configureHost === undefined && opts.vhostDriver === 'memory'));
}

export class VhostSync {
  private pending: Promise<void> = Promise.resolve();
  /** addresses and routes put on vhost0 so far: 'family kind prefix' (kind: addr or route) */
  private installed = new Set<string>();

  /** the device accept_local was set on */
  private acceptLocalOn = '';

  /** Put the default-VRF addresses and connected subnets of `vifs` on the host interface `dev` (idempotent). */
  sync(dev: string, vifs: Iterable<HostVif>): void {
    if (this.acceptLocalOn !== dev) {
      this.acceptLocalOn = dev;
      const path = `/proc/sys/net/ipv4/conf/${dev}/accept_local`;
      this.pending = this.pending.then(() => writeFile(path, '1').catch((e: unknown) => logLine(`vrouter: vhost0: ${path}: ${e instanceof Error ? e.message : String(e)}`)));
    }
    // what the kernel should hold: 'family kind prefix' (kind: addr or route)
    const want = new Set<string>();
    for (const v of vifs) {
      if (v.vrf !== 0 || v.vhost) continue;
      for (const p of v.addresses) {
        want.add(`${p.family} addr ${formatIp(p.addr)}/${p.family === 4 ? 32 : 128}`);
        if (p.len < (p.family === 4 ? 32 : 128)) want.add(`${p.family} route ${formatPrefix(makePrefix(p.addr, p.len))}`);
      }
    }
    const cmds: string[][] = [];
    for (const k of this.installed) {
      if (want.has(k)) continue;
      const [fam, kind, prefix] = k.split(' ');
      // a route only as this sync made it (`ip` gives protocol boot): the controller's
      // routes on vhost0 (protocol 250, controller/rib/host-routes.ts) may hold the same prefix
      cmds.push([`-${fam}`, kind!, 'del', prefix!, 'dev', dev, ...(kind === 'route' ? ['proto', 'boot'] : [])]);
    }
    for (const k of want) {
      if (this.installed.has(k)) continue;
      const [fam, kind, prefix] = k.split(' ');
      cmds.push([`-${fam}`, kind!, 'replace', prefix!, 'dev', dev, ...(fam === '6' && kind === 'addr' ? ['nodad'] : [])]);
    }
    this.installed = want;
    this.pending = this.pending.then(async () => {
      for (const c of cmds) {
        await new Promise<void>((res) => execFile('ip', c, (err) => {
          if (err) logLine(`vrouter: vhost0: ip ${c.join(' ')}: ${err.message.trim()}`);
          res();
        }));
      }
    });
  }

  /** Resolves when every `ip` command issued so far has run. */
  settled(): Promise<void> {
    return this.pending;
  }
}
