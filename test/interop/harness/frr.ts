/**
 * FRR in a namespace: bgpd (with `-Z`, no zebra) or zebra + bgpd, each with its own config,
 * pid files and vty sockets in a run directory owned by user frr, queried with
 * `vtysh --vty_socket RUN ... json`. Daemons run in the foreground so that their PIDs are
 * ours; `restartBgpd()` kills bgpd hard and starts it again, as a graceful-restart test needs.
 */
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './lab.js';
import { run, runAsync, waitFor, WaitAborted, type Daemon } from './proc.js';

const FRR_BIN = '/usr/lib/frr';

export interface FrrNeighbor {
  address: string;
  asn: number;
  /** address families to activate (default: the transport's own family) */
  families?: ('ipv4' | 'ipv6')[];
  /** extra lines inside `neighbor` per address family, e.g. 'route-map IN in' */
  afLines?: string[];
  /** extra lines at router level, e.g. 'neighbor X timers 3 9' */
  lines?: string[];
}

export interface FrrBgpConfig {
  asn: number;
  routerId: string;
  neighbors: FrrNeighbor[];
  /** prefixes announced with `network` (IPv4 and IPv6 mixed), with an optional route-map */
  networks?: { prefix: string; routeMap?: string }[];
  /** text appended verbatim (route-maps, prefix-lists, ...) */
  extra?: string;
  /** lines inside `router bgp` before the neighbors (e.g. 'bgp graceful-restart') */
  routerLines?: string[];
}

/** Render a bgpd.conf for the common cases the tests and benchmarks need. */
export function frrBgpConfig(c: FrrBgpConfig): string {
  const lines = [
    'hostname cnr-interop-frr',
    'log stdout informational',
    `router bgp ${c.asn}`,
    ` bgp router-id ${c.routerId}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp network import-check',
    ' no bgp default ipv4-unicast',
    ...(c.routerLines ?? []).map((l) => ` ${l}`),
  ];
  for (const n of c.neighbors) {
    lines.push(` neighbor ${n.address} remote-as ${n.asn}`);
    for (const l of n.lines ?? []) lines.push(` ${l}`);
  }
  for (const fam of ['ipv4', 'ipv6'] as const) {
    const active = c.neighbors.filter((n) => (n.families ?? [n.address.includes(':') ? 'ipv6' : 'ipv4']).includes(fam));
    const nets = (c.networks ?? []).filter((n) => n.prefix.includes(':') === (fam === 'ipv6'));
    if (active.length === 0 && nets.length === 0) continue;
    lines.push(` address-family ${fam} unicast`);
    for (const n of nets) lines.push(`  network ${n.prefix}${n.routeMap ? ` route-map ${n.routeMap}` : ''}`);
    for (const n of active) {
      lines.push(`  neighbor ${n.address} activate`);
      for (const l of n.afLines ?? []) lines.push(`  neighbor ${n.address} ${l}`);
    }
    lines.push(' exit-address-family');
  }
  lines.push('exit');
  if (c.extra) lines.push(c.extra);
  return lines.join('\n') + '\n';
}

export interface FrrOptions {
  /** bgpd.conf text */
  bgpd: string;
  /** start zebra too (routes reach the namespace's kernel FIB); default: bgpd -Z */
  zebra?: boolean;
}

export class Frr {
  readonly runDir: string;
  bgpd!: Daemon;
  zebra?: Daemon;
  private readonly confPath: string;

  private constructor(
    private readonly lab: Lab,
    readonly ns: string,
    readonly name: string,
    private readonly opts: FrrOptions,
  ) {
    const dir = join(lab.dir, `frr-${name}`);
    this.runDir = join(dir, 'run');
    mkdirSync(this.runDir, { recursive: true });
    this.confPath = join(dir, 'bgpd.conf');
    const frr = frrIds();
    for (const p of [dir, this.runDir]) chownSync(p, frr.uid, frr.gid);
    this.writeConfig(opts.bgpd);
  }

  static async start(lab: Lab, ns: string, name: string, opts: FrrOptions, timeoutMs = 20_000): Promise<Frr> {
    const f = new Frr(lab, ns, name, opts);
    if (opts.zebra) {
      const zconf = join(lab.dir, `frr-${name}`, 'zebra.conf');
      writeFileSync(zconf, 'hostname cnr-interop-zebra\n');
      const ids = frrIds();
      chownSync(zconf, ids.uid, ids.gid);
      f.zebra = lab.daemon(`zebra-${name}`, ns, `${FRR_BIN}/zebra`, [
        '-u', 'frr', '-g', 'frr', '-f', zconf,
        '-i', join(f.runDir, 'zebra.pid'), '-z', join(f.runDir, 'zserv.api'), '--vty_socket', f.runDir,
      ]);
      await waitFor('zebra vty', () => f.vtyshOk('zebra'), timeoutMs);
    }
    await f.startBgpd(timeoutMs);
    return f;
  }

  writeConfig(text: string): void {
    writeFileSync(this.confPath, text);
    const ids = frrIds();
    chownSync(this.confPath, ids.uid, ids.gid);
  }

  private async startBgpd(timeoutMs: number): Promise<void> {
    const args = [
      '-u', 'frr', '-g', 'frr', '-f', this.confPath,
      '-i', join(this.runDir, 'bgpd.pid'), '-z', join(this.runDir, 'zserv.api'), '--vty_socket', this.runDir,
    ];
    if (!this.opts.zebra) args.push('-Z');
    this.bgpd = this.lab.daemon(`bgpd-${this.name}`, this.ns, `${FRR_BIN}/bgpd`, args);
    const bgpd = this.bgpd;
    await waitFor(`bgpd ${this.name} vty`, () => {
      if (bgpd.child.exitCode !== null) throw new WaitAborted(`bgpd exited: ${bgpd.output().slice(-2000)}`);
      return this.vtyshOk('bgpd');
    }, timeoutMs);
  }

  private vtyshOk(daemon: string): boolean {
    return run('vtysh', ['--vty_socket', this.runDir, '-d', daemon, '-c', 'show version'], 5000).code === 0;
  }

  /** Kill bgpd without notice (as a crash would) and start it again from the same config. */
  async restartBgpd(timeoutMs = 20_000): Promise<void> {
    await this.bgpd.kill();
    await this.startBgpd(timeoutMs);
  }

  /** Run vtysh commands (each a separate -c) and return the text. */
  vtysh(...cmds: string[]): string {
    const args = ['--vty_socket', this.runDir];
    for (const c of cmds) args.push('-c', c);
    const r = run('vtysh', args, 15_000);
    if (r.code !== 0) throw new Error(`vtysh ${cmds.join(' ; ')}: ${r.stderr || r.stdout}`);
    return r.stdout;
  }

  /** Run one show command ending in `json` and parse it. */
  json<T = any>(cmd: string): T {
    return JSON.parse(this.vtysh(cmd)) as T;
  }

  /** The same, without blocking the event loop (for polling during a benchmark). */
  async jsonAsync<T = any>(cmd: string): Promise<T> {
    const r = await runAsync('vtysh', ['--vty_socket', this.runDir, '-c', cmd], 15_000);
    if (r.code !== 0) throw new Error(`vtysh ${cmd}: ${r.stderr || r.stdout}`);
    return JSON.parse(r.stdout) as T;
  }

  /** Configuration commands in `router bgp ASN` (address family given or none). */
  configureBgp(asn: number, family: 'ipv4' | 'ipv6' | undefined, lines: string[]): void {
    const cmds = ['configure terminal', `router bgp ${asn}`];
    if (family) cmds.push(`address-family ${family} unicast`);
    this.vtysh(...cmds, ...lines);
  }

  /** Session state of a neighbor as FRR names it ('Established', 'Active', ...). */
  neighborState(address: string): string | undefined {
    const j = this.json<Record<string, any>>(`show bgp neighbors ${address} json`);
    return j[address]?.bgpState as string | undefined;
  }

  /** Prefixes (with attributes) in FRR's BGP table for a family, keyed by prefix. */
  routes(family: 'ipv4' | 'ipv6'): Record<string, any[]> {
    const j = this.json<{ routes?: Record<string, any[]> }>(`show bgp ${family} unicast json`);
    return j.routes ?? {};
  }

  /** Accepted prefix count from one neighbor, for polling during a benchmark. */
  async prefixCount(address: string, family: 'ipv4' | 'ipv6' = 'ipv4'): Promise<number> {
    const j = await this.jsonAsync<any>(`show bgp ${family} unicast summary json`);
    return Number(j?.peers?.[address]?.pfxRcd ?? 0);
  }
}

let ids: { uid: number; gid: number } | undefined;
function frrIds(): { uid: number; gid: number } {
  if (!ids) {
    const uid = Number(run('id', ['-u', 'frr']).stdout.trim());
    const gid = Number(run('id', ['-g', 'frr']).stdout.trim());
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('user frr not found (is frr installed?)');
    ids = { uid, gid };
  }
  return ids;
}
