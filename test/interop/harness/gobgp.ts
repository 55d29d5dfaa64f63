/**
 * GoBGP in a namespace: gobgpd with a TOML config and its gRPC API on 127.0.0.1 inside the
 * namespace (each namespace has its own loopback, so every instance can use the same port),
 * driven and queried with the `gobgp` client run in the same namespace, `-j` for JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './lab.js';
import { runAsync, waitFor, type Daemon, WaitAborted } from './proc.js';

const API_PORT = '50051';

export interface GobgpNeighbor {
  address: string;
  asn: number;
  families?: ('ipv4-unicast' | 'ipv6-unicast')[];
  /** extra TOML lines under [neighbors.config] */
  configLines?: string[];
  /** extra TOML appended after this neighbor (e.g. its apply-policy or graceful-restart tables) */
  tail?: string;
}

export interface GobgpConfig {
  asn: number;
  routerId: string;
  neighbors: GobgpNeighbor[];
  /** 'accept-route' (default) or 'reject-route' for everything sent to peers */
  defaultExport?: 'accept-route' | 'reject-route';
  defaultImport?: 'accept-route' | 'reject-route';
  /** TOML appended verbatim (defined-sets, policy-definitions, ...) */
  extra?: string;
  /** names of policies applied to import / export at global level */
  importPolicies?: string[];
  exportPolicies?: string[];
}

export function gobgpConfig(c: GobgpConfig): string {
  const q = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  const lines = [
    '[global.config]',
    `  as = ${c.asn}`,
    `  router-id = "${c.routerId}"`,
    '[global.apply-policy.config]',
    `  default-import-policy = "${c.defaultImport ?? 'accept-route'}"`,
    `  default-export-policy = "${c.defaultExport ?? 'accept-route'}"`,
  ];
  if (c.importPolicies?.length) lines.push(`  import-policy-list = ${q(c.importPolicies)}`);
  if (c.exportPolicies?.length) lines.push(`  export-policy-list = ${q(c.exportPolicies)}`);
  for (const n of c.neighbors) {
    const fams = n.families ?? [n.address.includes(':') ? 'ipv6-unicast' : 'ipv4-unicast'];
    lines.push('[[neighbors]]', '  [neighbors.config]', `    neighbor-address = "${n.address}"`, `    peer-as = ${n.asn}`);
    for (const l of n.configLines ?? []) lines.push(`    ${l}`);
    for (const f of fams) lines.push('  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = "${f}"`);
    if (n.tail) lines.push(n.tail);
  }
  if (c.extra) lines.push(c.extra);
  return lines.join('\n') + '\n';
}

export class Gobgp {
  daemon!: Daemon;

  private constructor(readonly ns: string, readonly name: string) {}

  static async start(lab: Lab, ns: string, name: string, config: string, timeoutMs = 20_000): Promise<Gobgp> {
    const g = new Gobgp(ns, name);
    const dir = join(lab.dir, `gobgp-${name}`);
    mkdirSync(dir, { recursive: true });
    const conf = join(dir, 'gobgpd.toml');
    writeFileSync(conf, config);
    g.daemon = lab.daemon(`gobgpd-${name}`, ns, 'gobgpd', [
      '-f', conf, '-p', '-l', 'warn', '--pprof-disable', '--api-hosts', `127.0.0.1:${API_PORT}`,
    ]);
    await waitFor(`gobgpd ${name} API`, async () => {
      if (g.daemon.child.exitCode !== null) throw new WaitAborted(`gobgpd exited: ${g.daemon.output()}`);
      return (await g.gobgpRaw('global')).code === 0;
    }, timeoutMs, 300);
    return g;
  }

  private gobgpRaw(...args: string[]) {
    return runAsync('ip', ['netns', 'exec', this.ns, 'gobgp', '-u', '127.0.0.1', '-p', API_PORT, ...args], 20_000);
  }

  /** Run a gobgp client command; throws on failure. */
  async gobgp(...args: string[]): Promise<string> {
    const r = await this.gobgpRaw(...args);
    if (r.code !== 0) throw new Error(`gobgp ${args.join(' ')}: ${r.stderr || r.stdout}`);
    return r.stdout;
  }

  async json<T = any>(...args: string[]): Promise<T> {
    return JSON.parse(await this.gobgp(...args, '-j')) as T;
  }

  /** Session state of a neighbor ('established', 'active', ...). */
  async neighborState(address: string): Promise<string | undefined> {
    const j = await this.json<any>('neighbor', address);
    const s = j?.state?.session_state;
    // the JSON gives the enum as a number in some versions and a name in others
    if (typeof s === 'number') return ['unknown', 'idle', 'connect', 'active', 'opensent', 'openconfirm', 'established'][s];
    return typeof s === 'string' ? s.toLowerCase() : undefined;
  }

  /** Accepted routes from a neighbor, for polling during a benchmark. */
  async acceptedCount(address: string): Promise<number> {
    const j = await this.json<any>('neighbor', address);
    const tables: any[] = j?.afi_safis ?? [];
    let n = 0;
    for (const t of tables) n += Number(t?.state?.accepted ?? t?.state?.received ?? 0);
    return n;
  }

  /** Add or delete a route in the global RIB (one client process per route: keep it few). */
  async addRoute(prefix: string, attrs: string[] = []): Promise<void> {
    await this.gobgp('global', 'rib', 'add', prefix, ...attrs, '-a', prefix.includes(':') ? 'ipv6' : 'ipv4');
  }

  async delRoute(prefix: string): Promise<void> {
    await this.gobgp('global', 'rib', 'del', prefix, '-a', prefix.includes(':') ? 'ipv6' : 'ipv4');
  }

  /** The global RIB of a family as gobgp -j shows it: prefix → paths. */
  async rib(family: 'ipv4' | 'ipv6'): Promise<Record<string, any[]>> {
    return this.json<Record<string, any[]>>('global', 'rib', '-a', family);
  }
}
