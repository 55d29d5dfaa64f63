/**
 * BIRD 2 in a namespace, in the foreground with its own control socket (-s) and pid file
 * (-P), queried with birdc. Config changes are made by rewriting the file and asking BIRD
 * to `configure`, which is how BIRD applies them in place.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './lab.js';
import { run, runAsync, waitFor, type Daemon, WaitAborted } from './proc.js';

export interface BirdNeighbor {
  /** protocol name in BIRD */
  name: string;
  address: string;
  asn: number;
  /** BIRD channel block(s) body; default imports and exports all for the transport family */
  channels?: string;
  /** extra lines in the protocol block (e.g. 'graceful restart on;') */
  lines?: string[];
}

export interface BirdConfig {
  asn: number;
  routerId: string;
  neighbors: BirdNeighbor[];
  /** static routes announced: prefix and optional BIRD statements for its attributes */
  static4?: { prefix: string; attrs?: string }[];
  static6?: { prefix: string; attrs?: string }[];
  /** text appended verbatim (filters, ...) */
  extra?: string;
  /** install routes into the kernel FIB (a `kernel` protocol per family) */
  kernel?: boolean;
}

function staticBlock(name: string, fam: 'ipv4' | 'ipv6', routes: { prefix: string; attrs?: string }[]): string {
  const body = routes
    .map((r) => (r.attrs ? `  route ${r.prefix} blackhole { ${r.attrs} };` : `  route ${r.prefix} blackhole;`))
    .join('\n');
  return `protocol static ${name} {\n  ${fam};\n${body}\n}\n`;
}

export function birdConfig(c: BirdConfig): string {
  const parts = [`router id ${c.routerId};`, 'protocol device {}', ''];
  if (c.kernel) parts.push('protocol kernel { ipv4 { export all; }; }', 'protocol kernel { ipv6 { export all; }; }');
  if (c.static4?.length) parts.push(staticBlock('st4', 'ipv4', c.static4));
  if (c.static6?.length) parts.push(staticBlock('st6', 'ipv6', c.static6));
  for (const n of c.neighbors) {
    const fam = n.address.includes(':') ? 'ipv6' : 'ipv4';
    const channels = n.channels ?? `${fam} { import all; export all; };`;
    parts.push(
      `protocol bgp ${n.name} {`,
      `  local as ${c.asn};`,
      `  neighbor ${n.address} as ${n.asn};`,
      ...(n.lines ?? []).map((l) => `  ${l}`),
      `  ${channels}`,
      '}',
    );
  }
  if (c.extra) parts.push(c.extra);
  return parts.join('\n') + '\n';
}

export class Bird {
  readonly sock: string;
  daemon!: Daemon;
  private readonly confPath: string;

  private constructor(lab: Lab, readonly ns: string, readonly name: string, config: string) {
    const dir = join(lab.dir, `bird-${name}`);
    mkdirSync(dir, { recursive: true });
    this.sock = join(dir, 'bird.ctl');
    this.confPath = join(dir, 'bird.conf');
    writeFileSync(this.confPath, config);
  }

  /** `extraArgs`: more of bird's options, e.g. ['-R'] to start in graceful-restart recovery */
  static async start(lab: Lab, ns: string, name: string, config: string, timeoutMs = 15_000, extraArgs: string[] = []): Promise<Bird> {
    const b = new Bird(lab, ns, name, config);
    b.daemon = lab.daemon(`bird-${name}`, ns, 'bird', ['-f', ...extraArgs, '-c', b.confPath, '-s', b.sock, '-P', join(lab.dir, `bird-${name}`, 'bird.pid')]);
    await waitFor(`bird ${name} control socket`, () => {
      if (b.daemon.child.exitCode !== null) throw new WaitAborted(`bird exited: ${b.daemon.output()}`);
      return run('birdc', ['-s', b.sock, 'show', 'status'], 5000).code === 0;
    }, timeoutMs);
    return b;
  }

  birdc(...words: string[]): string {
    const r = run('birdc', ['-s', this.sock, ...words], 15_000);
    if (r.code !== 0) throw new Error(`birdc ${words.join(' ')}: ${r.stderr || r.stdout}`);
    return r.stdout;
  }

  /** Replace the configuration and apply it. */
  reconfigure(config: string): void {
    writeFileSync(this.confPath, config);
    const out = this.birdc('configure');
    if (!/Reconfigured|Reconfiguration in progress/.test(out)) throw new Error(`bird configure: ${out}`);
  }

  /** BGP state of a protocol ('Established', 'Active', 'Connect', ...). */
  protocolState(name: string): string | undefined {
    const out = this.birdc('show', 'protocols', 'all', name);
    return /BGP state:\s+(\S+)/.exec(out)?.[1];
  }

  /** `show route all ...` text for a prefix or for a whole protocol. */
  showRouteAll(...filter: string[]): string {
    // birdc exits non-zero with "Network not found": that is an answer, not a failure
    const r = run('birdc', ['-s', this.sock, 'show', 'route', 'all', ...filter], 15_000);
    if (/Network not found/.test(r.stdout)) return '';
    if (r.code !== 0) throw new Error(`birdc show route all ${filter.join(' ')}: ${r.stderr || r.stdout}`);
    return r.stdout;
  }

  /** Prefixes BIRD holds from a protocol (both families). */
  prefixesFrom(protocol: string): string[] {
    const out = this.birdc('show', 'route', 'protocol', protocol);
    const seen: string[] = [];
    for (const line of out.split('\n')) {
      const m = /^([0-9a-f.:]+\/\d+)\s/i.exec(line);
      if (m) seen.push(m[1]!);
    }
    return seen;
  }

  /** Total routes in BIRD's tables, for polling during a benchmark. */
  async routeCount(): Promise<number> {
    const r = await runAsync('birdc', ['-s', this.sock, 'show', 'route', 'count'], 15_000);
    if (r.code !== 0) throw new Error(`birdc: ${r.stderr}`);
    let total = 0;
    // one line per table ("N of M routes for K networks in table master4"), then a Total line
    for (const m of r.stdout.matchAll(/^(\d+) of \d+ routes for \d+ networks in table/gm)) total += Number(m[1]);
    return total;
  }
}
