/**
 * From the committed configuration tree to what each BGP instance and peer runs with. A
 * neighbor inherits every statement from its group, and the group from `protocols bgp`
 * (Junos inheritance: the most specific level that sets a statement wins). Routing
 * instances (`routing-instances NAME protocols bgp`) get their own BGP instance whose routes
 * live in NAME.inet.0 / NAME.inet6.0.
 */
import { tryParseIpv4 } from '../../../lib/addr.js';
import { Afi, Safi, familyKey } from '../../../wire/bgp/options.js';
import type { ConfigTree, ConfigValue } from '../../types.js';

export interface FamilyConfig {
  readonly afi: number;
  readonly safi: number;
  /** familyKey, e.g. '1/1' */
  readonly key: string;
  /** RIB table the family's routes go to */
  readonly table: string;
  readonly prefixLimit?: { readonly maximum: number; readonly teardown: boolean };
  readonly addPathReceive: boolean;
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
}

export interface InstanceConfig {
  /** 'master' for the main instance, else the routing-instance name */
  readonly name: string;
  readonly routerId: string;
  readonly localAs: number;
  readonly peers: Map<string, PeerConfig>;
  readonly groups: string[];
  readonly multipath?: { readonly multipleAs: boolean };
}

const tree = (v: ConfigValue | undefined): ConfigTree => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});
const list = (v: ConfigValue | undefined): string[] => (Array.isArray(v) ? v : typeof v === 'string' ? [v] : []);

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
  const make = (afi: number, f: ConfigTree): FamilyConfig => {
    const limit = tree(f['prefix-limit']);
    return {
      afi,
      safi: Safi.Unicast,
      key: familyKey(afi, Safi.Unicast),
      table: tableName(instance, afi),
      prefixLimit: typeof limit.maximum === 'number' ? { maximum: limit.maximum, teardown: limit.teardown === true } : undefined,
      addPathReceive: tree(f['add-path']).receive === true || addPathAll.receive === true,
    };
  };
  if (fam === undefined) {
    // Junos default: IPv4 unicast; an IPv6 transport gets IPv6 unicast
    out.push(make(tryParseIpv4(address) !== undefined ? Afi.Ipv4 : Afi.Ipv6, {}));
    return out;
  }
  const t = tree(fam);
  if (tree(t.inet).unicast !== undefined) out.push(make(Afi.Ipv4, tree(tree(t.inet).unicast)));
  if (tree(t.inet6).unicast !== undefined) out.push(make(Afi.Ipv6, tree(tree(t.inet6).unicast)));
  return out;
}

function bool(v: ConfigValue | undefined): boolean {
  return v === true;
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
      });
    }
  }
  const mp = bgp.multipath;
  return { name, routerId, localAs, peers, groups, multipath: mp !== undefined ? { multipleAs: bool(tree(mp)['multiple-as']) } : undefined };
}

function instanceBgp(t: ConfigTree, name: string): ConfigTree | undefined {
  const p = name === 'master' ? tree(t.protocols) : tree(tree(tree(t['routing-instances'])[name]).protocols);
  return p.bgp as ConfigTree | undefined;
}

/** Every BGP instance in the tree: master first, then routing instances. */
export function resolveAll(t: ConfigTree): InstanceConfig[] {
  const out: InstanceConfig[] = [];
  const master = resolveInstance('master', tree(t.protocols).bgp as ConfigTree | undefined, tree(t['routing-options']));
  if (master) out.push(master);
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
    p.families.map((f) => [f.key, f.addPathReceive]), p.gracefulRestart, p.shutdown, inst.routerId, inst.localAs,
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
    }
  }
  return errors;
}
