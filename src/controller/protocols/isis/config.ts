/**
 * The `protocols isis` tree resolved into what the instance runs, with Junos's defaults:
 * both levels unless one is disabled, wide metrics (metric 10 per interface, 0 on lo0),
 * preference 15 (level 1) and 18 (level 2) for internal routes, 160/165 for external, hello
 * every 9 s and a hold time of 27 s, LSP lifetime 1200 s. The NET on lo0 gives the system ID
 * and the area addresses. Statement-level and cross-statement rules are checked by the schema
 * and config/validate.ts; this file only reads a tree that passed them.
 */
import type { ConfigTree } from '../../types.js';
import { isFlagSet, leafNumber, leafString, netdevOf, stringList, subtree } from '../../config/tree.js';
import { parseAreaAddress, parseSystemId, type AreaAddress, type Level, type SystemId } from '../../../wire/isis/index.js';

export interface IsisLevelInterface {
  readonly metric: number;
  readonly passive: boolean;
  readonly priority: number;
  readonly helloInterval: number;
  readonly holdTime: number;
}

export interface IsisInterfaceConfig {
  /** the netdev (`lo0.0` in the configuration is `lo0`) */
  readonly name: string;
  readonly pointToPoint: boolean;
  /** advertised, no hellos (lo0 always is) */
  readonly passive: boolean;
  /** the levels the interface runs, with their settings */
  readonly levels: ReadonlyMap<Level, IsisLevelInterface>;
  /** interface addresses with their lengths, as configured under family inet / inet6 */
  readonly inet: readonly string[];
  readonly inet6: readonly string[];
  readonly mtu: number;
}

export interface SrConfig {
  readonly srgb: { readonly start: number; readonly size: number };
  readonly srlb?: { readonly start: number; readonly size: number };
  readonly ipv4Index?: number;
  readonly ipv6Index?: number;
  readonly explicitNull: boolean;
}

export interface IsisConfig {
  readonly systemId: SystemId;
  readonly areas: readonly AreaAddress[];
  readonly hostname: string;
  /** TE router ID / Router Capability router ID: routing-options router-id, else lo0's first IPv4 */
  readonly routerId?: string;
  readonly levels: readonly Level[];
  readonly overload: boolean;
  readonly exportPolicies: readonly string[];
  readonly lspLifetime: number;
  readonly authKey: ReadonlyMap<Level, string>;
  readonly preference: ReadonlyMap<Level, { readonly internal: number; readonly external: number }>;
  readonly interfaces: ReadonlyMap<string, IsisInterfaceConfig>;
  readonly sr?: SrConfig;
  /** `policy-options`, for the export chain */
  readonly policyOptions: ConfigTree;
}

export const DEFAULT_HELLO_INTERVAL = 9;
/** the hold time, in hello intervals, when none is configured (Junos) */
export const HOLD_HELLOS = 3;
export const DEFAULT_METRIC = 10;
export const DEFAULT_PRIORITY = 64;
export const DEFAULT_LSP_LIFETIME = 1200;
const PREFERENCE: Record<Level, { internal: number; external: number }> = { 1: { internal: 15, external: 160 }, 2: { internal: 18, external: 165 } };

/** Split a NET ("49.0001.0102.5500.0001.00") into its area and system ID. */
export function splitNet(net: string): { area: AreaAddress; systemId: SystemId } {
  const parts = net.split('.');
  return { area: parseAreaAddress(parts.slice(0, -4).join('.')), systemId: parseSystemId(parts.slice(-4, -1).join('.')) };
}

/** The instance's configuration, or undefined when IS-IS is not configured (or has no NET). */
export function resolveIsis(cfg: ConfigTree): IsisConfig | undefined {
  const isisNode = subtree(cfg['protocols'])['isis'];
  if (isisNode === undefined) return undefined;
  const t = subtree(isisNode);
  const ifs = subtree(cfg['interfaces']);
  const unit0 = (netdev: string) => subtree(subtree(subtree(ifs[netdev])['unit'])['0']);
  const family = (netdev: string) => subtree(unit0(netdev)['family']);
  const nets = Object.keys(subtree(subtree(family('lo0')['iso'])['address']));
  if (nets.length === 0) return undefined;
  const split = nets.map(splitNet);
  const systemId = split[0]!.systemId;
  const areas = [...new Set(split.map((s) => s.area))];

  const levelCfg = subtree(t['level']);
  const levels = ([1, 2] as Level[]).filter((l) => !isFlagSet(subtree(levelCfg[String(l)])['disable']));
  const authKey = new Map<Level, string>();
  const preference = new Map<Level, { internal: number; external: number }>();
  for (const l of [1, 2] as Level[]) {
    const lc = subtree(levelCfg[String(l)]);
    const key = leafString(lc['authentication-key']);
    if (key !== undefined) authKey.set(l, key);
    preference.set(l, { internal: leafNumber(lc['preference']) ?? PREFERENCE[l].internal, external: leafNumber(lc['external-preference']) ?? PREFERENCE[l].external });
  }

  const interfaces = new Map<string, IsisInterfaceConfig>();
  for (const [written, body0] of Object.entries(subtree(t['interface']))) {
    const body = subtree(body0);
    const name = netdevOf(written);
    if (isFlagSet(body['disable']) || ifs[name] === undefined) continue;
    if (isFlagSet(subtree(ifs[name])['disable']) || isFlagSet(unit0(name)['disable'])) continue;
    const loopback = name === 'lo0';
    const hello = leafNumber(body['hello-interval']) ?? DEFAULT_HELLO_INTERVAL;
    const perLevel = new Map<Level, IsisLevelInterface>();
    for (const l of levels) {
      const lc = subtree(subtree(body['level'])[String(l)]);
      if (isFlagSet(lc['disable'])) continue;
      const lh = leafNumber(lc['hello-interval']) ?? hello;
      perLevel.set(l, {
        metric: leafNumber(lc['metric']) ?? (loopback ? 0 : DEFAULT_METRIC),
        passive: isFlagSet(lc['passive']),
        priority: leafNumber(lc['priority']) ?? DEFAULT_PRIORITY,
        helloInterval: lh,
        // Junos: three hello intervals unless set (27 s with the default 9 s hellos)
        holdTime: leafNumber(lc['hold-time']) ?? leafNumber(body['hold-time']) ?? lh * HOLD_HELLOS,
      });
    }
    if (perLevel.size === 0) continue;
    const fam = family(name);
    interfaces.set(name, {
      name,
      pointToPoint: isFlagSet(body['point-to-point']),
      passive: loopback || isFlagSet(body['passive']),
      levels: perLevel,
      inet: Object.keys(subtree(subtree(fam['inet'])['address'])),
      inet6: Object.keys(subtree(subtree(fam['inet6'])['address'])),
      mtu: leafNumber(subtree(ifs[name])['mtu']) ?? 1500,
    });
  }

  const ro = subtree(cfg['routing-options']);
  const lo4 = Object.keys(subtree(subtree(family('lo0')['inet'])['address']))[0];
  const routerId = leafString(ro['router-id']) ?? lo4?.slice(0, lo4.indexOf('/'));
  const hostname = leafString(subtree(cfg['system'])['host-name']) ?? 'cnr';

  const spr = subtree(t['source-packet-routing']);
  const block = (n: string) => {
    const b = subtree(spr[n]);
    const start = leafNumber(b['start-label']);
    const size = leafNumber(b['index-range']);
    return start !== undefined && size !== undefined ? { start, size } : undefined;
  };
  const srgb = block('srgb');
  let sr: SrConfig | undefined;
  if (srgb) {
    const node = subtree(spr['node-segment']);
    const srlb = block('srlb');
    const v4 = leafNumber(node['ipv4-index']);
    const v6 = leafNumber(node['ipv6-index']);
    sr = { srgb, ...(srlb ? { srlb } : {}), ...(v4 !== undefined ? { ipv4Index: v4 } : {}), ...(v6 !== undefined ? { ipv6Index: v6 } : {}), explicitNull: isFlagSet(spr['explicit-null']) };
  }
  return {
    systemId,
    areas,
    hostname,
    ...(routerId ? { routerId } : {}),
    levels,
    overload: isFlagSet(t['overload']),
    exportPolicies: stringList(t['export']),
    lspLifetime: leafNumber(t['lsp-lifetime']) ?? DEFAULT_LSP_LIFETIME,
    authKey,
    preference,
    interfaces,
    ...(sr ? { sr } : {}),
    policyOptions: subtree(cfg['policy-options']),
  };
}
