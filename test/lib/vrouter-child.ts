/**
 * The real data plane as a child process for system tests and the forwarding benchmark:
 * run inside the router's namespace as `node vrouter-child.js CONFIG_JSON`, it creates the
 * data plane, programs it from the config, starts introspect, prints "ready PORT" and runs
 * until SIGTERM (then prints "dropstats {...}" and exits 0).
 *
 * Config: next hops are named so routes and labels can refer to them:
 *   { "workers": 1, "vrfs": ["blue"], "vifs": [VifConfig...],
 *     "nexthops": { "to-h2": { "type": "neighbor", "vif": "r2", "ip": "10.2.0.2" } },
 *     "routes": [{ "vrf": "default", "prefix": "10.2.0.0/24", "nh": "to-h2" }],
 *     "labels": [{ "label": 100, "action": { "action": "pop-lookup", "vrf": "blue" } }] }
 */
import { createInterface } from 'node:readline';
import { createDataplane } from '../../src/dataplane/dataplane.js';
import { startIntrospect } from '../../src/dataplane/introspect.js';
import type { AclRule, BridgeDomainConfig, BridgePortConfig, LabelAction, NexthopSpec, VifConfig } from '../../src/dataplane/api.js';

export interface VrouterConfig {
  workers?: number;
  vrfs?: string[];
  vifs: VifConfig[];
  /** specs may name other next hops in `members` (composite) */
  nexthops?: Record<string, NexthopSpec | { type: 'composite'; members: string[] }>;
  routes?: { vrf?: string; prefix: string; nh: string }[];
  /** swap/php actions name their next hop */
  labels?: { label: number; action: LabelAction | { action: 'swap'; outLabels: number[]; nh: string } | { action: 'php'; nh: string } }[];
  introspectPort?: number;
  /** the largest IP MTU of the vifs (DataplaneOptions.maxMtu: sizes packet slots and ring frames) */
  maxMtu?: number;
  /** L2 switching (docs/l2.md): bridge ports by vif, bridge domains (after the vifs, their IRBs among them), MAC aging */
  bridgePorts?: Record<string, BridgePortConfig>;
  bridgeDomains?: BridgeDomainConfig[];
  macAging?: number;
  /** IP filters set after the vifs (DataplaneOptions.setAcl) */
  acls?: { vif: string; direction?: 'input' | 'output'; rules: AclRule[] }[];
  /** DataplaneOptions.kernelFastPath */
  kernelFastPath?: boolean;
}

/**
 * Changes while running, one JSON object per line on stdin (RunningVrouter.command); each is
 * answered with `done N RESULT` on stdout, N counting from 1 (`failed N MESSAGE` when refused).
 */
export type VrouterCommand =
  | { op: 'addRoute'; vrf?: string; prefix: string; nh: string }
  | { op: 'delRoute'; vrf?: string; prefix: string }
  | { op: 'setAcl'; vif: string; direction?: 'input' | 'output'; rules: AclRule[] }
  | { op: 'stats' }
  | { op: 'kernelFast' };

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as VrouterConfig;
  // the data plane's worker does not hold the event loop open: keep the process alive until SIGTERM
  const keepAlive = setInterval(() => {}, 1 << 30);
  const dp = createDataplane({ workers: cfg.workers ?? 1, ...(cfg.maxMtu ? { maxMtu: cfg.maxMtu } : {}), ...(cfg.kernelFastPath !== undefined ? { kernelFastPath: cfg.kernelFastPath } : {}) });
  for (const v of cfg.vrfs ?? []) dp.addVrf(v);
  for (const v of cfg.vifs) await dp.addVif(v);
  for (const [vif, port] of Object.entries(cfg.bridgePorts ?? {})) dp.setBridgePort(vif, port);
  for (const a of cfg.acls ?? []) dp.setAcl(a.vif, a.rules, a.direction);
  for (const d of cfg.bridgeDomains ?? []) dp.setBridgeDomain(d);
  if (cfg.macAging) dp.setMacAging(cfg.macAging);
  const nh = new Map<string, number>();
  const id = (name: string): number => {
    const n = nh.get(name);
    if (n === undefined) throw new Error(`unknown next hop '${name}'`);
    return n;
  };
  for (const [name, spec] of Object.entries(cfg.nexthops ?? {})) {
    nh.set(name, dp.addNexthop(spec.type === 'composite' ? { type: 'composite', members: spec.members.map((m) => (typeof m === 'string' ? id(m) : m)) } : spec));
  }
  for (const r of cfg.routes ?? []) dp.addRoute(r.vrf ?? 'default', r.prefix, id(r.nh));
  for (const l of cfg.labels ?? []) {
    const a = l.action;
    dp.addLabel(l.label, 'nh' in a && typeof a.nh === 'string' ? ({ ...a, nh: id(a.nh) } as LabelAction) : (a as LabelAction));
  }
  await dp.start();
  const intro = await startIntrospect(dp, { port: cfg.introspectPort ?? 0 });
  console.log(`ready ${intro.port}`);
  let seq = 0;
  createInterface({ input: process.stdin }).on('line', (line) => {
    const n = ++seq;
    try {
      const m = JSON.parse(line) as VrouterCommand;
      let r: unknown = null;
      if (m.op === 'addRoute') dp.addRoute(m.vrf ?? 'default', m.prefix, id(m.nh));
      else if (m.op === 'delRoute') dp.delRoute(m.vrf ?? 'default', m.prefix);
      else if (m.op === 'setAcl') dp.setAcl(m.vif, m.rules, m.direction);
      else if (m.op === 'stats') r = dp.stats();
      else if (m.op === 'kernelFast') r = dp.kernelFastCounters() ?? null;
      else throw new Error(`unknown op ${(m as { op: string }).op}`);
      console.log(`done ${n} ${JSON.stringify(r)}`);
    } catch (e) {
      console.log(`failed ${n} ${(e as Error).message.replace(/\n/g, ' ')}`);
    }
  });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`dropstats ${JSON.stringify(dp.dropStats())}`);
    await intro.close();
    await dp.stop();
    clearInterval(keepAlive);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
