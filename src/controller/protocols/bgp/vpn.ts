/**
 * BGP/MPLS IP VPNs (RFC 4364) in the master BGP instance: how bgp.l3vpn.0 meets the VRFs.
 *
 *  - Import: every VPN route (bgp.l3vpn.0 / bgp.l3vpn-inet6.0, keyed `RD:prefix`) whose
 *    best path carries a route target a VRF imports becomes a candidate for `prefix` in
 *    that VRF's table; the best candidate per prefix (the BGP decision chain across RDs) is
 *    announced to the RIB in NAME.inet.0 / NAME.inet6.0 under the source `bgp-vpn`. Its
 *    next hop is not recursive: it is built here from the inet.0 route that reaches the
 *    remote PE (its interface and gateway, its transport labels) with the VPN label pushed
 *    last, because the VRF table cannot resolve addresses of inet.0 itself.
 *  - Export: the active routes of a VRF with a route distinguisher (direct, static, routes
 *    put there by cnr-cni; not the ones imported here, not local /32s) are advertised as
 *    `RD:prefix` with the VRF's export targets and one label per VRF (vrf-table-label
 *    semantics), allocated in mpls.0 as pop-and-look-up in the VRF.
 */
import type { RibNexthop, RibRoute } from '../../rib/types.js';
import type { RibApi } from '../../rib/types.js';
import { MplsTable } from '../../rib/mpls.js';
import { formatExtCommunity } from '../../../wire/bgp/attributes.js';
import { DEFAULT_PREFERENCE } from '../../rib/types.js';
import { selectBest } from './best-path.js';
import { isVpnTable, mappedIpv4, splitVpnKey, VPN_TABLE4, VPN_TABLE6, type VrfConfig } from './config.js';
import type { Path } from './rib.js';

/** The RIB source of the routes imported into VRFs. */
export const VPN_SOURCE = 'bgp-vpn';
/** Attribute marking a VRF route as imported from a VPN table (Junos shows the primary table too). */
const PRIMARY = 'Primary table';

export function vrfTableOf(vrf: string, vpnTable: string): string {
  return vpnTable === VPN_TABLE6 ? `${vrf}.inet6.0` : `${vrf}.inet.0`;
}

function vpnTableOf(vrfTable: string): string {
  return vrfTable.endsWith('.inet6.0') ? VPN_TABLE6 : VPN_TABLE4;
}

/** Does an extended-community block carry one of the targets (formatExtCommunity text)? */
export function matchesTargets(ext: Uint8Array | undefined, targets: readonly string[]): boolean {
  if (!ext || targets.length === 0) return false;
  for (let i = 0; i + 8 <= ext.length; i += 8) if (targets.includes(formatExtCommunity(ext, i))) return true;
  return false;
}

const NOTHING_DIRTY: ReadonlyMap<string, Set<string>> = new Map();

/** A VRF route exported as a VPN route. */
export interface LocalVpnRoute {
  readonly vrf: VrfConfig;
  readonly prefix: string;
  /** the protocol of the VRF route (for vrf-export policies) */
  readonly protocol: string;
}

export class VpnState {
  private vrfs: VrfConfig[] = [];
  private readonly byTable = new Map<string, VrfConfig>();
  /** per VRF table: prefix -> (VPN key -> best path of that key) importable there */
  private readonly imported = new Map<string, Map<string, Map<string, Path>>>();
  private importDirty = new Map<string, Set<string>>();
  /** per VPN table: key -> the VRF route exported under it */
  readonly local = new Map<string, Map<string, LocalVpnRoute>>([
    [VPN_TABLE4, new Map()],
    [VPN_TABLE6, new Map()],
  ]);
  private exportDirty = new Map<string, Set<string>>();
  readonly mpls: MplsTable;

  constructor(
    private readonly rib: RibApi,
    /** whether a VRF imports a path (its vrf-import policies when it has any, else its targets) */
    private readonly imports: (v: VrfConfig, prefix: string, best: Path) => boolean = (v, _p, best) => matchesTargets(best.attrs.extCommunities, v.importTargets),
  ) {
    this.mpls = rib.mpls ?? new MplsTable();
  }

  get active(): boolean {
    return this.vrfs.length > 0;
  }

  /** The VRF whose table this is (only VRFs taking part in L3VPN). */
  vrfOfTable(table: string): VrfConfig | undefined {
    // asked per RIB change (the speaker's listener): no lookup while no VRF takes part
    return this.byTable.size === 0 ? undefined : this.byTable.get(table);
  }

  /** The label of a VRF (vrf-table-label). */
  labelOf(vrf: string): number | undefined {
    return this.mpls.labelOf(`vrf ${vrf}`);
  }

  /**
   * New VRF configuration. `entries` lists every VPN Loc-RIB entry (to import again),
   * `routes` the active routes of a table (to export again). Unchanged VRFs keep their
   * VrfConfig object (export caches key on its `base` attributes).
   */
  configure(
    next: readonly VrfConfig[],
    policyChanged: boolean,
    entries: () => Iterable<{ table: string; key: string; best: Path | undefined }>,
    routes: (table: string) => Iterable<RibRoute>,
  ): readonly VrfConfig[] {
    const same = (a: VrfConfig, b: VrfConfig) =>
      a.rd === b.rd && a.importTargets.join() === b.importTargets.join() && a.exportTargets.join() === b.exportTargets.join() &&
      a.importPolicies.join() === b.importPolicies.join() && a.exportPolicies.join() === b.exportPolicies.join();
    const kept = next.map((v) => {
      const old = this.vrfs.find((o) => o.name === v.name);
      // policies changed: import again wherever a VRF imports by policy
      return old && same(old, v) && !(policyChanged && old.importPolicies.length) ? old : v;
    });
    for (const old of this.vrfs) {
      if (kept.includes(old)) continue;
      // removed or changed: its imports and exports go, its label goes unless it stays a VRF
      for (const vt of [vrfTableOf(old.name, VPN_TABLE4), vrfTableOf(old.name, VPN_TABLE6)]) {
        const m = this.imported.get(vt);
        if (m) for (const prefix of m.keys()) this.markImport(vt, prefix);
        m?.clear();
        this.byTable.delete(vt);
      }
      for (const [vpnTable, local] of this.local) {
        for (const [key, r] of local) {
          if (r.vrf !== old) continue;
          local.delete(key);
          this.markExport(vpnTable, key);
        }
      }
      if (!kept.some((v) => v.name === old.name && v.rd)) this.mpls.release(`vrf ${old.name}`);
    }
    const added = kept.filter((v) => !this.vrfs.includes(v));
    this.vrfs = kept;
    for (const v of kept) {
      this.byTable.set(vrfTableOf(v.name, VPN_TABLE4), v);
      this.byTable.set(vrfTableOf(v.name, VPN_TABLE6), v);
      if (v.rd) this.mpls.allocate(`vrf ${v.name}`, { action: 'pop-lookup', vrf: v.name });
    }
    if (added.length) {
      for (const e of entries()) this.importEntry(e.table, e.key, e.best, added);
      for (const v of added) {
        if (!v.rd) continue;
        for (const vpnTable of [VPN_TABLE4, VPN_TABLE6]) {
          const vt = vrfTableOf(v.name, vpnTable);
          for (const r of routes(vt)) this.localChanged(vt, r.prefix, r);
        }
      }
    }
    return kept;
  }

  /** A VPN Loc-RIB entry's best path changed (or may have): update its VRF candidates. */
  importEntry(vpnTable: string, key: string, best: Path | undefined, only: readonly VrfConfig[] = this.vrfs): void {
    if (!isVpnTable(vpnTable) || only.length === 0) return;
    const { prefix } = splitVpnKey(key);
    for (const v of only) {
      const vt = vrfTableOf(v.name, vpnTable);
      const want = best !== undefined && best.labels !== undefined && this.imports(v, prefix, best);
      let m = this.imported.get(vt);
      const cands = m?.get(prefix);
      if (want) {
        if (!m) this.imported.set(vt, (m = new Map()));
        let c = cands;
        if (!c) m.set(prefix, (c = new Map()));
        c.set(key, best);
        this.markImport(vt, prefix);
      } else if (cands?.delete(key)) {
        if (cands.size === 0) m!.delete(prefix);
        this.markImport(vt, prefix);
      }
    }
  }

  /** Announce or withdraw the VRF routes whose candidates changed. */
  flushImports(): void {
    if (this.importDirty.size === 0) return;
    const dirty = this.importDirty;
    this.importDirty = new Map();
    for (const [vt, prefixes] of dirty) {
      const m = this.imported.get(vt);
      for (const prefix of prefixes) {
        const cands = m?.get(prefix);
        const route = cands?.size ? this.vrfRoute(vt, prefix, [...cands.values()], [...cands.keys()]) : undefined;
        if (route) this.rib.announce(vt, VPN_SOURCE, route);
        else this.rib.withdraw(vt, VPN_SOURCE, prefix);
      }
    }
  }

  private vrfRoute(vt: string, prefix: string, paths: Path[], keys: string[]): RibRoute | undefined {
    const best = paths.length === 1 ? paths[0]! : selectBest(paths).best ?? paths[0]!;
    const key = keys[paths.indexOf(best)]!;
    const nexthops = this.vpnNexthops(best);
    if (nexthops.length === 0) return undefined;
    const shown = best.attrs;
    const attributes: Record<string, unknown> = {
      [PRIMARY]: vpnTableOf(vt),
      'Route distinguisher': splitVpnKey(key).rd,
      'VPN label': best.labels!.join(' '),
      'Protocol next hop': best.nh?.address ?? shown.nextHop,
      Peer: `${best.peer.cfg.address} (AS ${best.peer.cfg.peerAs})`,
    };
    if (shown.extCommunities?.length) attributes.Communities = Array.from({ length: shown.extCommunities.length / 8 }, (_, i) => formatExtCommunity(shown.extCommunities!, i * 8)).join(' ');
    const r: RibRoute = { prefix, protocol: 'bgp', preference: best.preference ?? DEFAULT_PREFERENCE.bgp, nexthops, attributes };
    if (shown.med !== undefined) r.metric = shown.med;
    return r;
  }

  /**
   * The next hops toward the remote PE with the VPN label pushed: from the inet.0 route that
   * resolves it (a direct route: the PE itself on that interface; a route via a gateway: the
   * gateway, looked up once more when the route names no interface), its labels first.
   */
  private vpnNexthops(p: Path): RibNexthop[] {
    const via = p.nh?.route;
    const service = p.labels;
    if (!via || !service || !p.nh || (via.action ?? 'forward') !== 'forward') return [];
    const pe = mappedIpv4(p.nh.address) ?? p.nh.address;
    if (p.peer.cfg.vpnEncapsulation === 'mpls-over-udp') {
      // the data plane routes the outer IPv4/UDP packet itself (default VRF)
      const src = p.peer.localAddress ?? p.peer.cfg.localAddress;
      return src && !src.includes(':') && !pe.includes(':') ? [{ gateway: pe, udpSource: src, labels: [...service] }] : [];
    }
    const out: RibNexthop[] = [];
    for (const n of via.nexthops) {
      let iface = n.interface;
      if (iface === undefined && n.gateway !== undefined) {
        const under = this.rib.lookup(n.gateway.includes(':') ? 'inet6.0' : 'inet.0', n.gateway);
        iface = under?.nexthops.find((x) => x.interface !== undefined && x.gateway === undefined)?.interface;
      }
      if (iface === undefined) continue;
      out.push({ gateway: n.gateway ?? pe, interface: iface, labels: [...(n.labels ?? []), ...service] });
    }
    return out;
  }

  /** A route of a VRF table changed in the RIB (`route`: its active route now, when known). */
  localChanged(vrfTable: string, prefix: string, route?: RibRoute): void {
    const v = this.byTable.get(vrfTable);
    if (!v?.rd) return;
    const r = route ?? this.rib.get(vrfTable, prefix);
    const vpnTable = vpnTableOf(vrfTable);
    const key = `${v.rd}:${prefix}`;
    const local = this.local.get(vpnTable)!;
    const exportable = r !== undefined && r.protocol !== 'local' && r.attributes?.[PRIMARY] === undefined;
    if (exportable) {
      const had = local.get(key);
      if (had?.vrf === v && had.protocol === r.protocol) return;
      local.set(key, { vrf: v, prefix, protocol: r.protocol });
    } else if (!local.delete(key)) return;
    this.markExport(vpnTable, key);
  }

  /** The label a VPN key is advertised with when it is one of our VRF routes. */
  localLabel(vpnTable: string, key: string): number | undefined {
    const r = this.local.get(vpnTable)?.get(key);
    return r ? this.labelOf(r.vrf.name) : undefined;
  }

  /** VPN keys whose export may have changed since the last call. */
  takeExportDirty(): ReadonlyMap<string, Set<string>> {
    if (this.exportDirty.size === 0) return NOTHING_DIRTY;
    const d = this.exportDirty;
    this.exportDirty = new Map();
    return d;
  }

  /** Everything out: imported routes withdrawn, labels released. */
  stop(): void {
    for (const [vt, m] of this.imported) for (const prefix of m.keys()) this.rib.withdraw(vt, VPN_SOURCE, prefix);
    this.imported.clear();
    for (const v of this.vrfs) this.mpls.release(`vrf ${v.name}`);
    this.vrfs = [];
    this.byTable.clear();
  }

  private markImport(vt: string, prefix: string): void {
    let s = this.importDirty.get(vt);
    if (!s) this.importDirty.set(vt, (s = new Set()));
    s.add(prefix);
  }

  private markExport(vpnTable: string, key: string): void {
    let s = this.exportDirty.get(vpnTable);
    if (!s) this.exportDirty.set(vpnTable, (s = new Set()));
    s.add(key);
  }
}
