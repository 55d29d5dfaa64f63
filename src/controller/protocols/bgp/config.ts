/**
 * From the committed configuration tree to what each BGP instance and peer runs with. A
 * neighbor inherits every statement from its group, and the group from `protocols bgp`
 * (Junos inheritance: the most specific level that sets a statement wins). Routing
 * instances (`routing-instances NAME protocols bgp`) get their own BGP instance whose routes
 * live in NAME.inet.0 / NAME.inet6.0.
 */
import { formatIpv4, tryParseIpv4, tryParseIpv6 } from '../../../lib/addr.js';
import { Afi, Safi, familyKey } from '../../../wire/bgp/options.js';
import { formatExtCommunity, parseExtCommunity, type PathAttributes } from '../../../wire/bgp/attributes.js';
import type { ConfigTree, ConfigValue } from '../../types.js';
import { isFlagSet as bool, stringList as list, subtree as tree } from '../../config/tree.js';
import { bfdTimersOf } from '../bfd/manager.js';

export interface FamilyConfig {
  readonly afi: number;
  readonly safi: number;
  /** familyKey, e.g. '1/1' */
  readonly key: string;
  /** RIB table the family's routes go to */
  readonly table: string;
  readonly prefixLimit?: { readonly maximum: number; readonly teardown: boolean };
  readonly addPathReceive: boolean;
  /** labeled unicast: label 0 instead of 3 for routes with next hop self */
  readonly explicitNull?: boolean;
}

/**
 * A VRF as the master BGP instance sees it (routing-instances NAME instance-type vrf): its
 * route distinguisher and route targets, packed as 8-byte extended communities (hex text,
 * to compare without parsing), and the base attributes its routes are exported with.
 */
export interface VrfConfig {
  readonly name: string;
  readonly rd?: string;
  /** route targets, as formatExtCommunity prints them */
  readonly importTargets: readonly string[];
  readonly exportTargets: readonly string[];
  /** vrf-import / vrf-export policy chains: when set, they decide instead of the targets */
  readonly importPolicies: readonly string[];
  readonly exportPolicies: readonly string[];
  /**
   * Attributes of the VRF's own routes before the per-peer rules (origin IGP, export
   * targets), one object per family: export caches key on them, and the next hop differs.
   */
  readonly base4: PathAttributes;
  readonly base6: PathAttributes;
}

export interface PeerConfig {
  readonly address: string;
  readonly group: string;
  readonly type: 'internal' | 'external';
  readonly peerAs: number;
  readonly localAs: number;
  readonly localAddress?: string;
  readonly holdTime: number;
  readonly passive: boolean;
  readonly authenticationKey?: string;
  /** TTL for multihop eBGP; undefined: single hop (TTL 1 for eBGP) */
  readonly multihopTtl?: number;
  readonly import: string[];
  readonly export: string[];
  readonly families: FamilyConfig[];
  /** route reflector cluster ID when this peer's group is a cluster (the peer is a client) */
  readonly cluster?: string;
  readonly multipath?: { readonly multipleAs: boolean };
  /** on unless disabled (helper); `configured`: named in the configuration, which also makes a restarted controller the restarting speaker */
  readonly gracefulRestart?: { readonly restartTime: number; readonly staleRoutesTime: number; readonly configured: boolean };
  readonly localPreference?: number;
  readonly removePrivate: boolean;
  readonly asOverride: boolean;
  readonly shutdown: boolean;
  readonly description?: string;
  readonly logUpdown: boolean;
  /** how VPN traffic toward the PEs of this peer's VPN routes is carried */
  readonly vpnEncapsulation: 'mpls' | 'mpls-over-udp';
  /** `bfd-liveness-detection` (the most specific level's): see bfd.ts */
  readonly bfd?: ReturnType<typeof bfdTimersOf>;
}

export interface InstanceConfig {
  /** 'master' for the main instance, else the routing-instance name */
  readonly name: string;
  readonly routerId: string;
  readonly localAs: number;
  readonly peers: Map<string, PeerConfig>;
  readonly groups: string[];
  readonly multipath?: { readonly multipleAs: boolean };
  /** VRFs with a route distinguisher or route targets (master instance only) */
  readonly vrfs: readonly VrfConfig[];
}

/** The Loc-RIB tables of VPN routes, keyed by `RD:prefix`. */
export const VPN_TABLE4 = 'bgp.l3vpn.0';
export const VPN_TABLE6 = 'bgp.l3vpn-inet6.0';

export function isVpnTable(table: string): boolean {
  return table === VPN_TABLE4 || table === VPN_TABLE6;
}

/** `RD:prefix` split at the RD's own colon (an RD has exactly one; an IPv6 prefix has several). */
export function splitVpnKey(key: string): { rd: string; prefix: string } {
  const i = key.indexOf(':', key.indexOf(':') + 1);
  return { rd: key.slice(0, i), prefix: key.slice(i + 1) };
}

/** The IPv4 address inside an IPv4-mapped IPv6 one (`::ffff:10.0.0.1`, `::ffff:a00:1`), the usual inet6-vpn next hop over IPv4. */
export function mappedIpv4(address: string): string | undefined {
  if (!address.includes(':')) return undefined;
  const b = tryParseIpv6(address);
  if (b?.[10] !== 0xff || b[11] !== 0xff) return undefined;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return undefined;
  return formatIpv4(((b[12]! << 24) | (b[13]! << 16) | (b[14]! << 8) | b[15]!) >>> 0);
}

/** The effective value of a statement for a neighbor: neighbor, then group, then bgp. */
function pick(levels: ConfigTree[], key: string): ConfigValue | undefined {
  for (const l of levels) if (l[key] !== undefined) return l[key];
  return undefined;
}

export function tableName(instance: string, afi: number): string {
  const base = afi === Afi.Ipv6 ? 'inet6.0' : 'inet.0';
  return instance === 'master' ? base : `${instance}.${base}`;
}

function families(instance: string, levels: ConfigTree[], address: string): FamilyConfig[] {
  const fam = pick(levels, 'family');
  const out: FamilyConfig[] = [];
  const addPathAll = tree(pick(levels, 'add-path'));
  const make = (afi: number, f: ConfigTree, safi: number = Safi.Unicast): FamilyConfig => {
    const limit = tree(f['prefix-limit']);
    return {
      afi,
      safi,
      key: familyKey(afi, safi),
      table: safi === Safi.MplsVpn ? (afi === Afi.Ipv6 ? VPN_TABLE6 : VPN_TABLE4) : tableName(instance, afi),
      prefixLimit: typeof limit.maximum === 'number' ? { maximum: limit.maximum, teardown: limit.teardown === true } : undefined,
      addPathReceive: tree(f['add-path']).receive === true || addPathAll.receive === true,
      ...(f['explicit-null'] === true ? { explicitNull: true } : {}),
    };
  };
  if (fam === undefined) {
    // Junos default: IPv4 unicast; an IPv6 transport gets IPv6 unicast
    out.push(make(tryParseIpv4(address) !== undefined ? Afi.Ipv4 : Afi.Ipv6, {}));
    return out;
  }
  const t = tree(fam);
  // labeled unicast first: with both configured, inet.0 is advertised with labels
  if (tree(t.inet)['labeled-unicast'] !== undefined) out.push(make(Afi.Ipv4, tree(tree(t.inet)['labeled-unicast']), Safi.LabeledUnicast));
  if (tree(t.inet).unicast !== undefined) out.push(make(Afi.Ipv4, tree(tree(t.inet).unicast)));
  if (tree(t.inet6).unicast !== undefined) out.push(make(Afi.Ipv6, tree(tree(t.inet6).unicast)));
  if (tree(t['inet-vpn']).unicast !== undefined) out.push(make(Afi.Ipv4, tree(tree(t['inet-vpn']).unicast), Safi.MplsVpn));
  if (tree(t['inet6-vpn']).unicast !== undefined) out.push(make(Afi.Ipv6, tree(tree(t['inet6-vpn']).unicast), Safi.MplsVpn));
  return out;
}

/** Resolve one instance's `protocols bgp` subtree (undefined when BGP is not configured there). */
export function resolveInstance(name: string, bgp: ConfigTree | undefined, routingOptions: ConfigTree | undefined, master?: ConfigTree): InstanceConfig | undefined {
  if (!bgp) return undefined;
  const ro = tree(routingOptions);
  const mro = tree(master);
  const routerId = String(ro['router-id'] ?? mro['router-id'] ?? '0.0.0.0');
  const localAs = Number(ro['autonomous-system'] ?? mro['autonomous-system'] ?? 0);
  const peers = new Map<string, PeerConfig>();
  const groups = Object.keys(tree(bgp.group));
  for (const [gname, gv] of Object.entries(tree(bgp.group))) {
    const g = tree(gv);
    for (const [addr, nv] of Object.entries(tree(g.neighbor))) {
      const levels = [tree(nv), g, bgp];
      const type = g.type === 'internal' ? 'internal' : g.type === 'external' ? 'external' : pick(levels, 'peer-as') === localAs ? 'internal' : 'external';
      const peerLocalAs = Number(pick(levels, 'local-as') ?? localAs);
      const peerAs = Number(pick(levels, 'peer-as') ?? (type === 'internal' ? peerLocalAs : 0));
      const gr = tree(pick(levels, 'graceful-restart'));
      const mh = pick(levels, 'multihop');
      const mp = pick(levels, 'multipath');
      peers.set(addr, {
        address: addr,
        group: gname,
        type,
        peerAs,
        localAs: peerLocalAs,
        localAddress: pick(levels, 'local-address') as string | undefined,
        holdTime: Number(pick(levels, 'hold-time') ?? 90),
        passive: bool(pick(levels, 'passive')),
        authenticationKey: pick(levels, 'authentication-key') as string | undefined,
        multihopTtl: mh !== undefined ? Number(tree(mh).ttl ?? 64) : type === 'internal' ? 64 : undefined,
        import: list(pick(levels, 'import')),
        export: list(pick(levels, 'export')),
        families: families(name, levels, addr),
        cluster: pick([g, bgp], 'cluster') as string | undefined,
        multipath: mp !== undefined ? { multipleAs: bool(tree(mp)['multiple-as']) } : undefined,
        gracefulRestart: bool(gr.disable) ? undefined : { restartTime: Number(gr['restart-time'] ?? 120), staleRoutesTime: Number(gr['stale-routes-time'] ?? 300), configured: pick(levels, 'graceful-restart') !== undefined },
        localPreference: pick(levels, 'local-preference') as number | undefined,
        removePrivate: bool(pick(levels, 'remove-private')),
        asOverride: bool(pick(levels, 'as-override')),
        shutdown: bool(pick(levels, 'shutdown')),
        description: pick(levels, 'description') as string | undefined,
        logUpdown: bool(pick(levels, 'log-updown')),
        vpnEncapsulation: pick(levels, 'vpn-encapsulation') === 'mpls-over-udp' ? 'mpls-over-udp' : 'mpls',
        bfd: bfdTimersOf(pick(levels, 'bfd-liveness-detection')),
      });
    }
  }
  const mp = bgp.multipath;
  return { name, routerId, localAs, peers, groups, multipath: mp !== undefined ? { multipleAs: bool(tree(mp)['multiple-as']) } : undefined, vrfs: [] };
}

/** Route targets of `vrf-target` (community: both ways; import/export: one way each). */
function targets(ri: ConfigTree): { imp: string[]; exp: string[] } {
  const vt = ri['vrf-target'];
  const t = typeof vt === 'string' ? { community: vt } : tree(vt);
  const norm = (v: ConfigValue | undefined): string[] => {
    const out: string[] = [];
    for (const s of list(v)) {
      const b = parseExtCommunity(s.startsWith('target:') ? s : `target:${s}`);
      if (b) out.push(formatExtCommunity(b, 0));
    }
    return out;
  };
  const both = norm(t.community);
  return { imp: [...both, ...norm(t.import)], exp: [...both, ...norm(t.export)] };
}

/** The VRFs that take part in L3VPN: instance-type vrf with a route distinguisher or targets. */
export function resolveVrfs(t: ConfigTree): VrfConfig[] {
  const out: VrfConfig[] = [];
  for (const [name, v] of Object.entries(tree(t['routing-instances']))) {
    const ri = tree(v);
    if (ri['instance-type'] !== 'vrf') continue;
    const { imp, exp } = targets(ri);
    const rd = typeof ri['route-distinguisher'] === 'string' ? ri['route-distinguisher'] : undefined;
    const importPolicies = list(ri['vrf-import']);
    const exportPolicies = list(ri['vrf-export']);
    if (!rd && imp.length === 0 && exp.length === 0 && importPolicies.length === 0) continue;
    const ext = new Uint8Array(exp.length * 8);
    for (const [i, x] of exp.entries()) ext.set(parseExtCommunity(x)!, i * 8);
    const base = (): PathAttributes => (exp.length ? { origin: 0, asPath: [], extCommunities: ext } : { origin: 0, asPath: [] });
    out.push({ name, rd, importTargets: imp, exportTargets: exp, importPolicies, exportPolicies, base4: base(), base6: base() });
  }
  return out;
}

function instanceBgp(t: ConfigTree, name: string): ConfigTree | undefined {
  const p = name === 'master' ? tree(t.protocols) : tree(tree(tree(t['routing-instances'])[name]).protocols);
  return p.bgp as ConfigTree | undefined;
}

/** Every BGP instance in the tree: master first, then routing instances. */
export function resolveAll(t: ConfigTree): InstanceConfig[] {
  const out: InstanceConfig[] = [];
  const master = resolveInstance('master', tree(t.protocols).bgp as ConfigTree | undefined, tree(t['routing-options']));
  if (master) out.push({ ...master, vrfs: resolveVrfs(t) });
  for (const [name, ri] of Object.entries(tree(t['routing-instances']))) {
    const r = tree(ri);
    const inst = resolveInstance(name, tree(r.protocols).bgp as ConfigTree | undefined, tree(r['routing-options']), tree(t['routing-options']));
    if (inst) out.push(inst);
  }
  return out;
}

/** Session-level settings: when any of these differ the session must be reset. */
export function sessionKey(p: PeerConfig, inst: InstanceConfig): string {
  return JSON.stringify([
    p.type, p.peerAs, p.localAs, p.localAddress, p.holdTime, p.passive, p.authenticationKey, p.multihopTtl,
    p.families.map((f) => [f.key, f.addPathReceive]), p.gracefulRestart, p.shutdown, inst.routerId, inst.localAs, p.vpnEncapsulation,
  ]);
}

/** Check what the schema cannot: peer AS known, router ID and AS present. */
export function validateBgp(t: ConfigTree): string[] {
  const errors: string[] = [];
  for (const inst of resolveAll(t)) {
    const where = inst.name === 'master' ? 'protocols bgp' : `routing-instances ${inst.name} protocols bgp`;
    if (inst.peers.size > 0 && !inst.localAs) errors.push(`${where}: routing-options autonomous-system is required`);
    if (inst.peers.size > 0 && (inst.routerId === '0.0.0.0' || tryParseIpv4(inst.routerId) === undefined)) errors.push(`${where}: routing-options router-id is required`);
    const seen = new Map<string, string>();
    for (const [gname, g] of Object.entries(tree(instanceBgp(t, inst.name)?.group))) {
      for (const addr of Object.keys(tree(tree(g).neighbor))) {
        const other = seen.get(addr);
        if (other !== undefined) errors.push(`${where} group ${gname} neighbor ${addr}: already configured in group ${other}`);
        else seen.set(addr, gname);
      }
    }
    for (const p of inst.peers.values()) {
      if (!p.peerAs) errors.push(`${where} group ${p.group} neighbor ${p.address}: peer-as is required for an external peer`);
      if (p.type === 'internal' && p.peerAs !== p.localAs) errors.push(`${where} group ${p.group} neighbor ${p.address}: an internal peer must have peer-as ${p.localAs}`);
      if (p.type === 'external' && p.peerAs === p.localAs && p.peerAs) errors.push(`${where} group ${p.group} neighbor ${p.address}: an external peer must have a different AS (peer-as ${p.peerAs})`);
      if (p.families.length === 0) errors.push(`${where} group ${p.group} neighbor ${p.address}: no address family (family inet unicast or inet6 unicast)`);
      if (inst.name !== 'master' && p.families.some((f) => f.safi === Safi.MplsVpn)) errors.push(`${where} group ${p.group} neighbor ${p.address}: VPN families belong in the master instance`);
    }
  }
  return errors;
}
