/**
 * A minimal Dataplane that only keeps tables and counts calls, for the agent's unit tests
 * (the real one is src/dataplane/dataplane.ts, used by the integration tests). It checks
 * what the real one promises to check: unknown VRFs, vifs and next hops, next hops still
 * referenced.
 */
import { DataplaneError, type Dataplane, type LabelAction, type LabelInfo, type NexthopInfo, type NexthopSpec, type RouteInfo, type VifConfig, type VifInfo } from '../../src/dataplane/api.js';
import { canonicalPrefix, formatPrefix, makePrefix, type Prefix } from '../../src/lib/addr.js';

export class RecordingDataplane implements Dataplane {
  readonly vrfs = new Set<string>(['default']);
  readonly vifs = new Map<string, VifConfig>();
  readonly nexthops = new Map<number, { spec: NexthopSpec; refs: number }>();
  readonly routes = new Map<string, Map<string, number>>([['default', new Map()]]);
  readonly labels = new Map<number, LabelAction>();
  readonly calls: Record<string, number> = {};
  private nextNh = 1;

  private count(name: string): void {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
  }

  addVrf(name: string): number {
    this.count('addVrf');
    this.vrfs.add(name);
    if (!this.routes.has(name)) this.routes.set(name, new Map());
    return [...this.vrfs].indexOf(name);
  }
  delVrf(name: string): void {
    this.count('delVrf');
    for (const a of this.labels.values()) if (a.action === 'pop-lookup' && a.vrf === name) throw new DataplaneError(`VRF ${name} still has labels`);
    if ((this.routes.get(name)?.size ?? 0) > 0) throw new DataplaneError(`VRF ${name} still has routes`);
    this.vrfs.delete(name);
    this.routes.delete(name);
  }
  async addVif(cfg: VifConfig): Promise<number> {
    this.count('addVif');
    if (this.vifs.has(cfg.name)) throw new DataplaneError(`vif ${cfg.name} exists`);
    if (!this.vrfs.has(cfg.vrf ?? 'default')) throw new DataplaneError(`unknown VRF ${cfg.vrf}`);
    this.vifs.set(cfg.name, { ...cfg });
    return this.vifs.size;
  }
  async delVif(name: string): Promise<void> {
    this.count('delVif');
    if (!this.vifs.delete(name)) throw new DataplaneError(`unknown vif ${name}`);
  }
  /** loopback addresses (lo0) by name */
  readonly loopbacks = new Map<string, string[]>();
  setLoopback(name: string, addresses: string[]): void {
    this.count('setLoopback');
    if (addresses.length === 0) this.loopbacks.delete(name);
    else this.loopbacks.set(name, [...addresses]);
  }

  setVifAddresses(name: string, addresses: string[]): void {
    this.count('setVifAddresses');
    const v = this.vifs.get(name);
    if (!v) throw new DataplaneError(`unknown vif ${name}`);
    v.addresses = [...addresses];
  }
  addNexthop(spec: NexthopSpec): number {
    this.count('addNexthop');
    if ('vif' in spec && !this.vifs.has(spec.vif)) throw new DataplaneError(`unknown vif ${spec.vif}`);
    if (spec.type === 'composite') {
      for (const m of spec.members) {
        const n = this.nexthops.get(m);
        if (!n) throw new DataplaneError(`unknown next hop ${m}`);
        n.refs++;
      }
    }
    const id = this.nextNh++;
    this.nexthops.set(id, { spec, refs: 0 });
    return id;
  }
  delNexthop(id: number): void {
    this.count('delNexthop');
    const n = this.nexthops.get(id);
    if (!n) throw new DataplaneError(`unknown next hop ${id}`);
    if (n.refs > 0) throw new DataplaneError(`next hop ${id} is still used by ${n.refs}`);
    if (n.spec.type === 'composite') for (const m of n.spec.members) this.nexthops.get(m)!.refs--;
    this.nexthops.delete(id);
  }
  addRoute(vrf: string, prefix: Prefix | string, nh: number): void {
    this.count('addRoute');
    const t = this.routes.get(vrf);
    if (!t) throw new DataplaneError(`unknown VRF ${vrf}`);
    const n = this.nexthops.get(nh);
    if (!n) throw new DataplaneError(`unknown next hop ${nh}`);
    const p = textOf(prefix);
    const old = t.get(p);
    if (old !== undefined) this.nexthops.get(old)!.refs--;
    n.refs++;
    t.set(p, nh);
  }
  delRoute(vrf: string, prefix: Prefix | string): void {
    this.count('delRoute');
    const t = this.routes.get(vrf);
    const p = textOf(prefix);
    const old = t?.get(p);
    if (old === undefined) throw new DataplaneError(`no route ${p} in ${vrf}`);
    this.nexthops.get(old)!.refs--;
    t!.delete(p);
  }
  addLabel(label: number, action: LabelAction): void {
    this.count('addLabel');
    if (action.action === 'pop-lookup' && !this.vrfs.has(action.vrf)) throw new DataplaneError(`unknown VRF ${action.vrf}`);
    this.labels.set(label, action);
  }
  delLabel(label: number): void {
    this.count('delLabel');
    if (!this.labels.delete(label)) throw new DataplaneError(`no label ${label}`);
  }
  listVifs(): VifInfo[] {
    return [...this.vifs.values()].map((v, i) => ({ id: i + 1, name: v.name, driver: v.driver, vrf: v.vrf ?? 'default', mac: v.mac ?? '', mtu: v.mtu ?? 1500, addresses: v.addresses ?? [], rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, drops: 0 }));
  }
  listNexthops(): NexthopInfo[] {
    return [...this.nexthops].map(([id, { spec, refs }]) => {
      const info: NexthopInfo = { id, type: spec.type, refs };
      if ('vif' in spec) info.vif = spec.vif;
      if (spec.type === 'neighbor') info.ip = spec.ip;
      if ('labels' in spec && spec.labels) info.labels = spec.labels;
      if (spec.type === 'composite') info.members = spec.members;
      return info;
    });
  }
  listRoutes(vrf: string, family: 4 | 6): RouteInfo[] {
    return [...(this.routes.get(vrf) ?? [])].filter(([p]) => p.includes(':') === (family === 6)).map(([prefix, nh]) => ({ prefix, nh }));
  }
  listLabels(): LabelInfo[] {
    return [...this.labels].map(([label, a]) => (a.action === 'pop-lookup' ? { label, action: a.action, vrf: a.vrf } : { label, action: a.action }));
  }
  dropStats(): Record<string, number> {
    return {};
  }
  stats() {
    return { vifs: {}, vrfs: {} };
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

/** routes are kept by canonical text, whichever form they came in (checked as the real data plane does) */
function textOf(prefix: Prefix | string): string {
  return typeof prefix === 'string' ? canonicalPrefix(prefix) : formatPrefix(makePrefix(prefix.addr, prefix.len));
}
