/**
 * cnr's side of an interop test or benchmark: `node bin/cnr controller --config FILE
 * --state-dir DIR` inside a namespace (the controller's BGP runs on the namespace's kernel
 * TCP stack), configured with Junos `set` commands rendered from a small spec, and queried
 * through the management API on the state dir's unix socket — `cnr cli --state-dir DIR -c ...`
 * for readiness and the commands a user types, the same API's client for frequent polling
 * (a benchmark cannot afford a Node start per poll).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab } from './lab.js';
import { runAsync, waitFor, type Daemon, WaitAborted } from './proc.js';
import { MgmtClient } from '../../../src/controller/mgmt/client.js';
import { launchFlagsOf } from '../../../src/lib/launch-flags.js';

const here = dirname(fileURLToPath(import.meta.url));
/** the repository root, from dist/test/interop/harness/ */
export const repoRoot = resolve(here, '..', '..', '..', '..');
const cnrBin = join(repoRoot, 'bin', 'cnr');

/** Whether `cnr controller` with BGP is built (the interop suite skips cnr's part otherwise). */
export function cnrAvailable(): boolean {
  return (
    existsSync(join(repoRoot, 'dist', 'src', 'cmd', 'controller.js')) &&
    existsSync(join(repoRoot, 'dist', 'src', 'controller', 'protocols', 'bgp', 'index.js'))
  );
}

export interface CnrNeighbor {
  address: string;
  asn: number;
  /** families to negotiate (default: both IPv4 and IPv6 unicast) */
  families?: ('inet' | 'inet6')[];
  /** import / export policy names */
  import?: string[];
  export?: string[];
  /** shortcut: export nothing to this neighbor (benchmarks) */
  exportNothing?: boolean;
  /** extra `set protocols bgp group G neighbor ADDR ...` tails */
  extra?: string[];
}

export interface CnrSpec {
  asn: number;
  routerId: string;
  neighbors: CnrNeighbor[];
  /** static routes originated (discard), announced to peers by the `originate` policy */
  statics?: string[];
  /** interfaces with their addresses, so that connected next hops resolve */
  interfaces?: { name: string; addresses: string[] }[];
  /** further set commands verbatim (policies, communities, ...) */
  extra?: string[];
}

/** Render the spec as Junos `set` commands. */
export function cnrConfig(s: CnrSpec): string {
  const out = [
    'set system host-name cnr-interop',
    `set routing-options router-id ${s.routerId}`,
    `set routing-options autonomous-system ${s.asn}`,
    'set policy-options policy-statement NOTHING then reject',
    'set policy-options policy-statement originate term statics from protocol static',
    'set policy-options policy-statement originate term statics then accept',
    'set policy-options policy-statement originate term bgp from protocol bgp',
    'set policy-options policy-statement originate term bgp then accept',
  ];
  for (const i of s.interfaces ?? []) {
    for (const a of i.addresses) out.push(`set interfaces ${i.name} unit 0 family ${a.includes(':') ? 'inet6' : 'inet'} address ${a}`);
  }
  for (const p of s.statics ?? []) {
    out.push(p.includes(':') ? `set routing-options rib inet6.0 static route ${p} discard` : `set routing-options static route ${p} discard`);
  }
  for (const n of s.neighbors) {
    const g = `set protocols bgp group ${n.asn === s.asn ? 'ibgp' : `as${n.asn}`}`;
    out.push(`${g} type ${n.asn === s.asn ? 'internal' : 'external'}`);
    const nb = `${g} neighbor ${n.address}`;
    out.push(`${nb} peer-as ${n.asn}`);
    for (const f of n.families ?? ['inet', 'inet6']) out.push(`${nb} family ${f} unicast`);
    for (const p of n.import ?? []) out.push(`${nb} import ${p}`);
    const exp = n.exportNothing ? ['NOTHING'] : (n.export ?? ['originate']);
    for (const p of exp) out.push(`${nb} export ${p}`);
    for (const e of n.extra ?? []) out.push(`${nb} ${e}`);
  }
  out.push(...(s.extra ?? []));
  return out.join('\n') + '\n';
}

/**
 * `vrouter`: run `cnr start --no-vhost` (controller and vRouter in one process, the vRouter
 * attached to the configured interfaces, its introspect API at `introspect`); with `vhost`
 * too, `cnr start` as deployed: the node's own traffic (BGP) goes through vhost0 and the
 * vRouter. Otherwise `cnr controller`, toward a `cnr vrouter` the test runs at `agent`
 * (host:port) if given.
 */
export interface CnrMode {
  vrouter?: boolean;
  vhost?: boolean;
  introspect?: string;
  agent?: string;
  /** another build's bin/cnr (benchmarks comparing builds in one run) */
  bin?: string;
  /** extra environment for cnr's process */
  env?: NodeJS.ProcessEnv;
}

export class Cnr {
  daemon!: Daemon;
  readonly stateDir: string;
  readonly configPath: string;

  private constructor(private readonly lab: Lab, readonly ns: string, readonly name: string) {
    const dir = join(lab.dir, `cnr-${name}`);
    this.stateDir = join(dir, 'state');
    mkdirSync(this.stateDir, { recursive: true });
    this.configPath = join(dir, 'cnr.set');
  }

  static async start(lab: Lab, ns: string, name: string, spec: CnrSpec, timeoutMs = 30_000, opts: CnrMode = {}): Promise<Cnr> {
    const c = new Cnr(lab, ns, name);
    c.mode = opts;
    writeFileSync(c.configPath, cnrConfig(spec));
    await c.launch(timeoutMs);
    return c;
  }

  private mode: CnrMode = {};

  private async launch(timeoutMs: number): Promise<void> {
    const args = this.mode.vrouter
      ? ['start', ...(this.mode.vhost ? [] : ['--no-vhost']), '--introspect', this.mode.introspect ?? '127.0.0.1:8085', '--health', 'none']
      : // no vRouter unless the test runs a `cnr vrouter` (opts.agent): the FIB export finds no agent here and keeps retrying
        ['controller', '--agent-address', this.mode.agent ?? '127.0.0.1:1'];
    // the flags of the bin's first line (cnr as it runs when executed; another build with its own),
    // then CNR_NODE_FLAGS: V8/Node flags for cnr's process (benchmarks measure heap settings with it)
    const nodeFlags = [...launchFlagsOf(this.mode.bin ?? cnrBin), ...(process.env['CNR_NODE_FLAGS'] ?? '').split(' ').filter(Boolean)];
    this.daemon = this.lab.daemon(`cnr-${this.name}`, this.ns, process.execPath, [
      ...nodeFlags, this.mode.bin ?? cnrBin, ...args, '--config', this.configPath, '--state-dir', this.stateDir,
    ], this.mode.env ? { ...process.env, ...this.mode.env } : undefined);
    await waitFor(`cnr ${this.name} CLI`, async () => {
      if (this.daemon.child.exitCode !== null) throw new WaitAborted(`cnr controller exited: ${this.daemon.output().slice(-2000)}`);
      return (await this.cliRaw('show bgp summary | display json')).code === 0;
    }, timeoutMs, 300);
  }

  /** Kill the controller hard and start it again with the same config and state. */
  async restart(timeoutMs = 30_000): Promise<void> {
    await this.daemon.kill();
    await this.launch(timeoutMs);
  }

  async stop(): Promise<void> {
    await this.daemon.stop(5000);
    // CNR_DUMP_OUTPUT=PATH: keep the process's output (e.g. --trace-gc through CNR_NODE_FLAGS) in PATH.PID
    const dump = process.env['CNR_DUMP_OUTPUT'];
    if (dump) writeFileSync(`${dump}.${this.daemon.pid}`, this.daemon.output());
  }

  private client?: MgmtClient;

  /** Run commands in one management session; throws on the first failing one. */
  async exec(commands: string[]): Promise<{ text: string; data?: unknown }[]> {
    this.client ??= MgmtClient.fromStateDir(this.stateDir);
    const res = await this.client.exec(commands, 'interop');
    const bad = res.find((r) => r.error);
    if (bad) throw new Error(`cnr: ${bad.command}: ${bad.error}`);
    return res;
  }

  private cliRaw(command: string) {
    // the management API is a unix socket in the state dir: no need to enter the namespace
    return runAsync(process.execPath, [cnrBin, 'cli', '--state-dir', this.stateDir, '-c', command], 20_000);
  }

  /** Run a CLI command and return its text. */
  async cli(command: string): Promise<string> {
    const r = await this.cliRaw(command);
    if (r.code !== 0) throw new Error(`cnr cli -c "${command}": ${r.stderr || r.stdout}`);
    return r.stdout;
  }

  /** Run a CLI command with `| display json` and parse the answer. */
  async json<T = any>(command: string): Promise<T> {
    const [r] = await this.exec([command]);
    return r!.data as T;
  }

  /** `show bgp neighbor ADDR` as JSON: the neighbor's own record. */
  async neighbor(address: string): Promise<any> {
    const j = await this.json<any>(`show bgp neighbor ${address}`);
    return findNeighbor(j, address) ?? j;
  }

  /** Session state as cnr names it (RFC 4271 names: 'Established', 'Active', ...). */
  async neighborState(address: string): Promise<string | undefined> {
    const j = await this.json<any>('show bgp summary');
    const n = findNeighbor(j, address);
    const s = n?.state ?? n?.['peer-state'] ?? n?.peerState;
    return typeof s === 'string' ? s : undefined;
  }

  /** Routes received (accepted) from a neighbor, from `show bgp summary`. */
  async receivedCount(address: string): Promise<number> {
    const j = await this.json<any>('show bgp summary');
    const n = findNeighbor(j, address);
    if (!n) return 0;
    if (Array.isArray(n.tables)) return (n.tables as any[]).reduce((a, t) => a + Number(t.accepted ?? 0), 0);
    for (const k of ['accepted', 'received', 'prefixesReceived', 'accepted-prefixes', 'received-prefixes', 'pfxRcd']) {
      const v = n[k];
      if (typeof v === 'number') return v;
      if (v && typeof v === 'object') return Object.values(v as Record<string, number>).reduce((a, b) => a + Number(b || 0), 0);
    }
    return 0;
  }

  /** Routes from a neighbor that are active in the RIB, from `show bgp summary`. */
  async activeCount(address: string): Promise<number> {
    const n = findNeighbor(await this.json<any>('show bgp summary'), address);
    return ((n?.tables ?? []) as any[]).reduce((a, t) => a + Number(t.active ?? 0), 0);
  }

  /** Apply configuration statements in one commit. */
  async configure(statements: string[]): Promise<void> {
    await this.exec(['configure private', ...statements, 'commit and-quit']);
  }

  /** The BGP route cnr holds for an exact prefix (active or not), if any. */
  async bgpRoute(prefix: string): Promise<CnrRoute | undefined> {
    let j: any;
    try {
      j = await this.json<any>(`show route ${prefix} exact protocol bgp`);
    } catch {
      return undefined;
    }
    for (const t of j?.tables ?? []) {
      for (const e of t.entries ?? []) {
        if (e.prefix !== prefix) continue;
        const r = (e.routes as any[]).find((x) => x.protocol === 'bgp');
        if (r) return cnrRoute(r);
      }
    }
    return undefined;
  }
}

export interface CnrRoute {
  active: boolean;
  /** AS path as text, AS_SETs in braces: "65004 {65010 65011}" */
  asPath: string;
  communities: string[];
  raw: any;
}

/** Read the BGP facts `show route ... | display json` gives (the `show route extensive` attributes). */
function cnrRoute(r: any): CnrRoute {
  const at = (r.attributes ?? {}) as Record<string, unknown>;
  const asPath = String(at['AS path'] ?? '').replace(/\s*[IE?]$/, '').trim();
  const comm = at['Communities'];
  const communities = Array.isArray(comm) ? comm.map(String) : typeof comm === 'string' && comm ? comm.split(/\s+/) : [];
  return { active: r.active !== false, asPath, communities, raw: r };
}

/** Find a neighbor's record in a summary or neighbor JSON, whatever its exact shape. */
export function findNeighbor(j: any, address: string): any {
  if (!j || typeof j !== 'object') return undefined;
  const list: any[] = Array.isArray(j) ? j : (j.neighbors ?? j.peers ?? j.neighbor ?? []);
  if (Array.isArray(list)) {
    const hit = list.find((n) => n && (n.address === address || n.peer === address || n['peer-address'] === address || n.neighbor === address));
    if (hit) return hit;
  } else if (list && typeof list === 'object' && (list as Record<string, unknown>)[address]) {
    return (list as Record<string, unknown>)[address];
  }
  return undefined;
}
