/**
 * The agent's programming logic, apart from gRPC: turns ControllerMessages into Dataplane
 * calls and remembers what it programmed, so that
 *  - next hops are shared by key with reference counts (a composite for ECMP over member
 *    next hops; a `neighbor` next hop, with labels pushed when the route carries any, for
 *    every gateway: the data plane resolves it with ARP/NDP);
 *  - a route that is sent again unchanged costs a map lookup and no data-plane call;
 *  - a route's prefix arrives as a value (Route.destination) and goes to the data plane as
 *    one (a Prefix), keyed here by a number (IPv4) or a short binary string (IPv6): it is
 *    formatted only for messages; the text form of older controllers is parsed once;
 *  - a resync (ResyncBegin ... ResyncEnd) marks everything with a new generation and the
 *    end sweeps what was not replayed; replayed objects are never removed, so forwarding
 *    does not stop while the controller or the agent restarts.
 * One Programmer lives per Dataplane (see `programmerFor`), so an agent whose gRPC server
 * restarts finds the state the data plane holds.
 */
import { DataplaneError, type AclInfo, type BridgeDomainConfig, type BridgeFilterTerm, type BridgePortConfig, type Dataplane, type NexthopSpec, type VifConfig, type VifDriver } from '../dataplane/api.js';
import { bytesToIpv4, formatIp, formatIpv4, formatPrefix, ipv4OfPrefixCode, ipv4PrefixCode, makePrefix, prefixCodeLength, parseCidr, parseIp, parsePrefix, prefixContains, prefixOfIpv4Code, prefixOfText, type Prefix } from '../lib/addr.js';
import { PACKED_IPV4_RECORD, PACKED_IPV6_RECORD } from '../api/codec.js';
import { filterRules, type FilterLayout } from '../api/filter-rules.js';
import { CONNECTED_ID, RouteKeySet, RouteTable, type RouteKey } from './route-table.js';
import type { PbBridgeDomainUpdate, PbBridgeFilterTerm, PbBridgePort, PbFailure, PbFilterState, PbInterfaceUpdate, PbPortRange, PbL2Settings, PbLabelUpdate, PbNexthop, PbNexthopSet, PbRoute, PbRouteBatch, PbVrfUpdate, RouteActionName } from '../api/proto.js';
import { mark } from '../lib/timeline.js';

export const DEFAULT_VRF = 'default';
/** The longest a resync's sweep walks the routes before it lets the event loop turn. */
const SWEEP_SLICE_MS = 10;
const MAX_TRANSPORT_LABELS = 4;
const MAX_LABEL = 0xfffff;

interface NhEntry {
  key: string;
  id: number;
  refs: number;
  /** member keys of a composite */
  members?: string[];
}

/** What a connected subnet points at: nothing to program, the data plane derives it from the interface addresses. */
const CONNECTED: NhEntry = { key: '', id: CONNECTED_ID, refs: 0 };

interface IfEntry {
  cfg: VifConfig;
  gen: number;
  /** L2 mode: its bridge port settings (docs/l2.md) */
  port?: BridgePortConfig;
  /** its IP filters as last programmed (InterfaceUpdate.filters as JSON), and where their terms went per direction */
  filters?: string;
  layouts?: { input: FilterLayout[]; output: FilterLayout[] };
  /** its bridge filters' names (`show firewall`), as the controller sent them */
  bridgeFilterNames?: { input: string; output: string };
}

/** What a next-hop set becomes: a key and the spec to build it, or why it cannot be. */
interface NhPlan {
  key: string;
  build: () => NexthopSpec;
  members?: NhPlan[];
}
type Plan = NhPlan | { error: string };

/**
 * An incoming label as programmed: popped into a VRF (`vrf`; VPN labels, our own node SID),
 * or forwarded (segment routing) through the next hop it holds. `key` says what it does, so a
 * label sent again unchanged costs no data-plane call.
 */
interface LabelEntry {
  key: string;
  /** the VRF it pops into, when it does */
  vrf?: string;
  nh?: NhEntry;
  gen: number;
}

export interface ApplyResult {
  failures: PbFailure[];
  swept?: number;
  /** the first few objects a resync removed, for the agent's log */
  sweptSample?: string[];
}

export class Programmer {
  private readonly vrfs = new Map<string, number>();
  private readonly ifs = new Map<string, IfEntry>();
  /** loopbacks (lo0) programmed, with the generation that last sent them */
  private readonly loopbacks = new Map<string, number>();
  /** per VRF, route key (see routeKey) -> the next hop it holds: no per-route object (route-table.ts) */
  private readonly routes = new Map<string, RouteTable<NhEntry>>();
  /** during a resync: the routes replayed so far, per VRF */
  private replayed: Map<string, RouteKeySet> | undefined;
  private readonly nhs = new Map<string, NhEntry>();
  /** the same next hops by data-plane id (and the connected subnets' entry): how route tables name them */
  private readonly nhById = new Map<number, NhEntry>([[CONNECTED_ID, CONNECTED]]);
  /** incoming labels, with the generation that last sent them (see LabelEntry) */
  private readonly labels = new Map<number, LabelEntry>();
  /** bridge domains (L2), with the generation that last sent them */
  private readonly domains = new Map<string, { cfg: BridgeDomainConfig; gen: number }>();
  private gen = 0;
  private resyncing = false;
  /**
   * Data-plane objects removed since the start, by kind (sweeps, deletes, and the removal
   * half of a re-creation): a controller restart that changed nothing must leave them as
   * they were (shown by the health endpoint; the restart tests compare them).
   */
  readonly removed = { routes: 0, nexthops: 0, interfaces: 0, vrfs: 0, labels: 0, bridgeDomains: 0 };

  constructor(readonly dp: Dataplane) {}

  /**
   * ResyncBegin: from now on, what is (re)sent is kept; at `endResync` the rest goes. Only a
   * VRF that holds routes now can have any to sweep, so only its replayed routes are noted: a
   * fresh vRouter (`cnr start`) loads its whole table with no second index of it.
   */
  beginResync(): void {
    this.gen++;
    this.resyncing = true;
    this.replayed = new Map();
    for (const [vrf, table] of this.routes) if (table.size > 0) this.replayed.set(vrf, new RouteKeySet());
  }

  /** ResyncEnd: remove routes, then interfaces, then VRFs that were not replayed. */
  async endResync(): Promise<ApplyResult> {
    const failures: PbFailure[] = [];
    let swept = 0;
    const sweptSample: string[] = [];
    const gone = (object: string) => {
      swept++;
      if (sweptSample.length < 5) sweptSample.push(object);
    };
    if (!this.resyncing) return { failures: [{ object: 'resync', reason: 'ResyncEnd without ResyncBegin' }], swept };
    this.resyncing = false;
    const replayed = this.replayed ?? new Map<string, RouteKeySet>();
    this.replayed = undefined;
    // the walk gives the event loop back now and then: in `cnr start` it shares the thread
    // with BGP and BFD, and a full table's walk takes a second or more
    let sliceStart = performance.now();
    for (const [vrf, table] of this.routes) {
      const seen = replayed.get(vrf);
      // a VRF without routes at ResyncBegin: all it holds came since; every route was
      // replayed (the replayed keys are a subset of the table's): nothing to walk, the usual
      // case after a controller restart
      if (!seen || seen.size === table.size) continue;
      let k = 0;
      for (const [key, r] of table.entries()) {
        if ((++k & 1023) === 0 && performance.now() - sliceStart >= SWEEP_SLICE_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
        }
        if (seen?.has(key)) continue;
        try {
          this.removeRoute(vrf, key, table, r);
          gone(`route ${vrf} ${formatPrefix(prefixOfKey(key))}`);
        } catch (err) {
          failures.push({ object: `route ${vrf} ${formatPrefix(prefixOfKey(key))}`, reason: reason(err) });
        }
      }
    }
    for (const [label, e] of this.labels) {
      if (e.gen === this.gen) continue;
      try {
        this.removeLabel(label, e);
        gone(`label ${label}`);
      } catch (err) {
        failures.push({ object: `label ${label}`, reason: reason(err) });
      }
    }
    for (const [name, e] of this.domains) {
      if (e.gen === this.gen) continue;
      try {
        this.dp.delBridgeDomain?.(name);
        this.removed.bridgeDomains++;
        this.domains.delete(name);
        gone(`bridge domain ${name}`);
      } catch (err) {
        failures.push({ object: `bridge domain ${name}`, reason: reason(err) });
      }
    }
    for (const [name, e] of this.ifs) {
      if (e.gen === this.gen) continue;
      try {
        await this.dp.delVif(name);
        this.removed.interfaces++;
        this.ifs.delete(name);
        gone(`interface ${name}`);
      } catch (err) {
        failures.push({ object: `interface ${name}`, reason: reason(err) });
      }
    }
    for (const [name, g] of this.loopbacks) {
      if (g === this.gen) continue;
      this.dp.setLoopback?.(name, []);
      this.loopbacks.delete(name);
      gone(`interface ${name}`);
    }
    for (const [name, g] of this.vrfs) {
      if (g === this.gen) continue;
      try {
        this.dp.delVrf(name);
        this.removed.vrfs++;
        this.vrfs.delete(name);
        gone(`vrf ${name}`);
      } catch (err) {
        failures.push({ object: `vrf ${name}`, reason: reason(err) });
      }
    }
    return { failures, swept, sweptSample };
  }

  applyVrf(m: PbVrfUpdate): ApplyResult {
    const name = m.name;
    if (!name || name === DEFAULT_VRF) {
      return m.delete ? { failures: [{ object: `vrf ${name || DEFAULT_VRF}`, reason: 'the default VRF cannot be deleted' }] } : { failures: [] };
    }
    try {
      if (m.delete) {
        if (this.vrfs.has(name)) {
          // routes normally go first (the controller orders them so); remove any left over
          const table = this.routes.get(name);
          for (const [key, nh] of table?.entries() ?? []) this.removeRoute(name, key, table!, nh);
          for (const [label, e] of this.labels) if (e.vrf === name) this.removeLabel(label, e);
          this.dp.delVrf(name);
          this.removed.vrfs++;
          this.vrfs.delete(name);
          this.routes.delete(name);
          // (a resync's replayed keys of the VRF went with its routes)
          this.replayed?.delete(name);
        }
      } else {
        if (!this.vrfs.has(name)) this.dp.addVrf(name);
        this.vrfs.set(name, this.gen);
      }
      return { failures: [] };
    } catch (err) {
      return { failures: [{ object: `vrf ${name}`, reason: reason(err) }] };
    }
  }

  /**
   * An incoming label: pop it and look the packet up in a VRF (an L3VPN table label, our own
   * node SID), or, with next hops, forward it (segment routing). Forwarding: one next hop
   * with out-labels is a swap (the fast path's case: a transit node SID); otherwise the label
   * is popped and each next hop pushes its own out-labels (ECMP toward neighbours whose SRGBs
   * differ, penultimate-hop popping, an Adj-SID's pop-and-forward).
   */
  applyLabel(m: PbLabelUpdate): ApplyResult {
    const object = `label ${m.label}`;
    try {
      if (!Number.isInteger(m.label) || m.label < 16 || m.label > MAX_LABEL) throw new DataplaneError(`invalid label ${m.label} (16..${MAX_LABEL})`);
      const old = this.labels.get(m.label);
      if (m.delete) {
        if (old) this.removeLabel(m.label, old);
        return { failures: [] };
      }
      const hops = m.nexthops ?? [];
      if (hops.length === 0) {
        const vrf = m.vrf || DEFAULT_VRF;
        const key = `pop ${vrf}`;
        if (old?.key !== key) {
          this.dp.addLabel(m.label, { action: 'pop-lookup', vrf });
          if (old?.nh) this.release(old.nh);
        }
        this.labels.set(m.label, { key, vrf, gen: this.gen });
        return { failures: [] };
      }
      const swap = hops.length === 1 && (hops[0]!.transportLabels?.length ?? 0) > 0 ? hops[0]!.transportLabels! : undefined;
      const plan = this.plan(DEFAULT_VRF, { action: 'FORWARD', nexthops: swap ? [{ ...hops[0]!, transportLabels: [] }] : hops });
      if ('error' in plan) throw new DataplaneError(plan.error);
      if (plan.key === '') throw new DataplaneError('a forwarded label needs next-hop addresses');
      const key = swap ? `swap ${swap.join('/')} ${plan.key}` : `php ${plan.key}`;
      if (old?.key === key) {
        old.gen = this.gen;
        return { failures: [] };
      }
      const nh = this.acquire(plan);
      try {
        this.dp.addLabel(m.label, swap ? { action: 'swap', outLabels: [...swap], nh: nh.id } : { action: 'php', nh: nh.id });
      } catch (err) {
        this.release(nh);
        throw err;
      }
      if (old?.nh) this.release(old.nh);
      this.labels.set(m.label, { key, nh, gen: this.gen });
      return { failures: [] };
    } catch (err) {
      return { failures: [{ object, reason: reason(err) }] };
    }
  }

  private removeLabel(label: number, e: LabelEntry): void {
    this.dp.delLabel(label);
    this.removed.labels++;
    this.labels.delete(label);
    if (e.nh) this.release(e.nh);
  }

  async applyInterface(m: PbInterfaceUpdate): Promise<ApplyResult> {
    const object = `interface ${m.name}`;
    try {
      if (!m.name) throw new DataplaneError('interface without a name');
      if (m.driver === 'LOOPBACK' || (m.delete && this.loopbacks.has(m.name))) return await this.applyLoopback(m);
      const old = this.ifs.get(m.name);
      if (m.delete) {
        if (old) {
          await this.dp.delVif(m.name);
          this.removed.interfaces++;
          this.ifs.delete(m.name);
        }
        return { failures: [] };
      }
      const cfg = vifConfig(m);
      const port = m.bridge ? bridgePortConfig(m.bridge) : undefined;
      let created = false;
      if (old && sameVifExceptAddresses(old.cfg, cfg) && (this.dp.setVifNeighbors || sameNeighbors(old.cfg, cfg))) {
        if (!sameList(old.cfg.addresses, cfg.addresses)) this.dp.setVifAddresses(m.name, cfg.addresses ?? []);
        if (!sameNeighbors(old.cfg, cfg)) this.dp.setVifNeighbors!(m.name, cfg.neighbors ?? []);
      } else {
        if (old) {
          await this.dp.delVif(m.name);
          this.removed.interfaces++;
        }
        this.ifs.delete(m.name);
        mark(`agent: attach ${m.name} starts`);
        await this.dp.addVif(cfg);
        mark(`agent: attach ${m.name} done`);
        created = true;
      }
      this.ifs.set(m.name, { cfg, gen: this.gen, ...(old?.port && !created ? { port: old.port } : {}), ...(old?.filters && !created ? { filters: old.filters, layouts: old.layouts! } : {}) });
      if (created || JSON.stringify(port) !== JSON.stringify(old?.port)) {
        if (port || !created) this.needL2().setBridgePort!(m.name, port ?? null);
        this.ifs.get(m.name)!.port = port;
      }
      this.applyFilters(m, this.ifs.get(m.name)!, created);
      if (m.bridge) this.ifs.get(m.name)!.bridgeFilterNames = { input: m.bridge.inputFilterName ?? '', output: m.bridge.outputFilterName ?? '' };
      // a re-created IRB: the domain that routes through it takes it again
      if (created && cfg.driver === 'irb') for (const d of this.domains.values()) if (d.cfg.irb === m.name) this.needL2().setBridgeDomain!(d.cfg);
      return { failures: [] };
    } catch (err) {
      return { failures: [{ object, reason: reason(err) }] };
    }
  }

  /**
   * An interface's IP filters (docs/filters.md): each direction's rule list (api/filter-rules.ts)
   * set when the filters changed or the vif is new; an empty list removes a direction's filter.
   */
  private applyFilters(m: PbInterfaceUpdate, e: IfEntry, created: boolean): void {
    const filters = m.filters ?? [];
    const key = JSON.stringify(filters);
    if (!created && key === (e.filters ?? '[]')) return;
    if (created && filters.length === 0) {
      delete e.filters;
      delete e.layouts;
      return;
    }
    if (!this.dp.setAcl) throw new DataplaneError('this data plane does not filter');
    const input = filterRules(filters, false);
    const output = filterRules(filters, true);
    // the filter as a whole or not at all: a refused direction leaves the interface unfiltered
    try {
      this.dp.setAcl(m.name, input.rules, 'input');
      this.dp.setAcl(m.name, output.rules, 'output');
    } catch (err) {
      this.dp.setAcl(m.name, [], 'input');
      this.dp.setAcl(m.name, [], 'output');
      delete e.filters;
      delete e.layouts;
      throw new DataplaneError(`filters: ${reason(err)}`);
    }
    e.filters = key;
    e.layouts = { input: input.filters, output: output.filters };
  }

  /** Every interface's IP filters with packets per term (ListFilters): the data plane's rule hits summed per term. */
  listFilters(): PbFilterState[] {
    const hits = new Map<string, { packets: number; bytes: number }[]>();
    const bridgeAcls = new Map<string, AclInfo>();
    for (const a of this.dp.listAcls?.() ?? []) {
      if (a.bridge) bridgeAcls.set(`${a.direction ?? 'input'} ${a.vif}`, a);
      else hits.set(`${a.direction ?? 'input'} ${a.vif}`, a.rules.map((r) => ({ packets: r.hits, bytes: r.bytes ?? 0 })));
    }
    const out: PbFilterState[] = [];
    for (const [name, e] of [...this.ifs].sort((a, b) => a[0].localeCompare(b[0]))) {
      for (const dir of ['input', 'output'] as const) {
        const b = bridgeAcls.get(`${dir} ${name}`);
        if (b) out.push(bridgeFilterState(name, dir, e.bridgeFilterNames?.[dir] ?? '', b));
        const h = hits.get(`${dir} ${name}`) ?? [];
        for (const f of e.layouts?.[dir] ?? []) {
          out.push({
            interface: name,
            filter: f.name,
            family: f.family,
            output: dir === 'output',
            terms: f.terms.map((t) => ({ name: t.name, count: t.count, packets: t.rules.reduce((n, k) => n + (h[k]?.packets ?? 0), 0), bytes: t.rules.reduce((n, k) => n + (h[k]?.bytes ?? 0), 0) })),
            unmatched: h[f.implicit]?.packets ?? 0,
            unmatchedBytes: h[f.implicit]?.bytes ?? 0,
          });
        }
      }
    }
    return out;
  }

  /** A loopback (lo0): the router's own addresses, no vif (Dataplane.setLoopback). */
  private async applyLoopback(m: PbInterfaceUpdate): Promise<ApplyResult> {
    if (!this.dp.setLoopback) throw new DataplaneError('this data plane keeps no loopback addresses');
    if (m.delete) {
      this.dp.setLoopback(m.name, []);
      this.loopbacks.delete(m.name);
      return { failures: [] };
    }
    const addresses = [...(m.addresses ?? [])];
    for (const a of addresses) parseCidr(a);
    if (this.ifs.has(m.name)) {
      // it was attached as a vif before
      await this.dp.delVif(m.name);
      this.ifs.delete(m.name);
    }
    this.dp.setLoopback(m.name, addresses);
    this.loopbacks.set(m.name, this.gen);
    return { failures: [] };
  }

  /** A bridge domain (L2): add, replace or delete. */
  applyBridgeDomain(m: PbBridgeDomainUpdate): ApplyResult {
    const object = `bridge domain ${m.name}`;
    try {
      if (!m.name) throw new DataplaneError('bridge domain without a name');
      if (m.delete) {
        if (this.domains.delete(m.name)) {
          this.needL2().delBridgeDomain!(m.name);
          this.removed.bridgeDomains++;
        }
        return { failures: [] };
      }
      const cfg: BridgeDomainConfig = { name: m.name, vlan: m.vlanId ?? 0 };
      if (m.irb) cfg.irb = m.irb;
      if (m.macTableSize) cfg.macTableSize = m.macTableSize;
      if (m.interfaceMacLimit) cfg.interfaceMacLimit = m.interfaceMacLimit;
      // (the data plane refuses anything but drop and none)
      if (m.interfaceMacLimitAction) cfg.interfaceMacLimitAction = m.interfaceMacLimitAction as 'drop' | 'none';
      if (m.macTableSizeAction) cfg.macTableSizeAction = m.macTableSizeAction as 'drop' | 'none';
      const old = this.domains.get(m.name);
      if (!old || JSON.stringify(old.cfg) !== JSON.stringify(cfg)) this.needL2().setBridgeDomain!(cfg);
      this.domains.set(m.name, { cfg, gen: this.gen });
      return { failures: [] };
    } catch (err) {
      return { failures: [{ object, reason: reason(err) }] };
    }
  }

  /** Settings of L2 switching as a whole (MAC aging). */
  applyL2Settings(m: PbL2Settings): ApplyResult {
    try {
      this.needL2().setMacAging!(m.macAgingSeconds || 300);
      return { failures: [] };
    } catch (err) {
      return { failures: [{ object: 'l2 settings', reason: reason(err) }] };
    }
  }

  private needL2(): Dataplane {
    if (!this.dp.setBridgeDomain || !this.dp.setBridgePort || !this.dp.delBridgeDomain || !this.dp.setMacAging) throw new DataplaneError('this data plane does not switch (no L2 support)');
    return this.dp;
  }

  /** Program a batch; each route succeeds or fails on its own. */
  applyRoutes(b: PbRouteBatch): ApplyResult {
    const vrf = b.vrf || DEFAULT_VRF;
    const failures: PbFailure[] = [];
    if (vrf !== DEFAULT_VRF && !this.vrfs.has(vrf)) {
      // keep going: the data plane may know the VRF (created before this agent); it refuses otherwise
    }
    let table = this.routes.get(vrf);
    if (!table) {
      table = new RouteTable(this.nhById);
      this.routes.set(vrf, table);
    }
    // (noted only in a VRF that held routes when the resync began: see beginResync)
    const seen = this.replayed?.get(vrf);
    const sets: Plan[] = (b.nexthopSets ?? []).map((s) => this.plan(vrf, s));
    for (const r of b.routes) {
      try {
        const prefix = routePrefix(r);
        const key = routeKey(prefix);
        if (r.delete) {
          const old = table.get(key);
          if (old) this.removeRoute(vrf, key, table, old);
          seen?.delete(key);
          continue;
        }
        let plan: Plan;
        if (r.nexthopSet) {
          const s = sets[r.nexthopSet - 1];
          if (!s) throw new DataplaneError(`nexthop_set ${r.nexthopSet} is not in the batch (${sets.length} sets)`);
          plan = s;
        } else {
          plan = this.plan(vrf, { action: r.action ?? 'FORWARD', nexthops: r.nexthops ?? [] });
        }
        if ('error' in plan) throw new DataplaneError(plan.error);
        this.installRoute(vrf, key, prefix, table, plan);
        seen?.add(key);
      } catch (err) {
        failures.push({ object: `route ${vrf} ${routeText(r)}`, reason: reason(err) });
      }
    }
    if (b.packedIpv4?.length) this.applyPacked(vrf, table, seen, sets, b.packedIpv4, 4, failures);
    if (b.packedIpv6?.length) this.applyPacked(vrf, table, seen, sets, b.packedIpv6, 6, failures);
    return { failures };
  }

  /**
   * Packed route records (RouteBatch.packed_ipv4/6): read in place, an IPv4 route keyed and
   * handed to the data plane as numbers (no object per route); each record succeeds or
   * fails on its own, a truncated tail is refused.
   */
  private applyPacked(vrf: string, table: RouteTable<NhEntry>, seen: RouteKeySet | undefined, sets: Plan[], bytes: Uint8Array, family: 4 | 6, failures: PbFailure[]): void {
    const size = family === 4 ? PACKED_IPV4_RECORD : PACKED_IPV6_RECORD;
    if (bytes.length % size !== 0) failures.push({ object: `route batch ${vrf}`, reason: `packed_ipv${family} of ${bytes.length} bytes is not a whole number of ${size}-byte records (the last ${bytes.length % size} ignored)` });
    const end = bytes.length - (bytes.length % size);
    for (let p = 0; p < end; p += size) {
      let key: RouteKey;
      let prefix: Prefix | undefined;
      if (family === 4) {
        const addr = ((bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!) >>> 0;
        const len = bytes[p + 4]!;
        if (len > 32) {
          failures.push({ object: `route ${vrf} ${formatIpv4(addr)}/${len}`, reason: `invalid prefix length ${len} (0..32)` });
          continue;
        }
        key = ipv4PrefixCode(addr, len); // host bits dropped
      } else {
        const len = bytes[p + 16]!;
        const addr = bytes.slice(p, p + 16);
        if (len > 128) {
          failures.push({ object: `route ${vrf} ${formatIp(addr)}/${len}`, reason: `invalid prefix length ${len} (0..128)` });
          continue;
        }
        prefix = makePrefix(addr, len);
        key = routeKey(prefix);
      }
      const ref = (bytes[p + size - 3]! << 16) | (bytes[p + size - 2]! << 8) | bytes[p + size - 1]!;
      try {
        if (ref === 0) {
          const old = table.get(key);
          if (old) this.removeRoute(vrf, key, table, old);
          seen?.delete(key);
          continue;
        }
        const plan = sets[ref - 1];
        if (!plan) throw new DataplaneError(`nexthop_set ${ref} is not in the batch (${sets.length} sets)`);
        if ('error' in plan) throw new DataplaneError(plan.error);
        this.installRoute(vrf, key, prefix, table, plan);
        seen?.add(key);
      } catch (err) {
        failures.push({ object: `route ${vrf} ${formatPrefix(prefix ?? prefixOfKey(key))}`, reason: reason(err) });
      }
    }
  }

  /** Counts for health and tests. */
  counts(): { vrfs: number; interfaces: number; routes: number; nexthops: number; labels: number } {
    let routes = 0;
    for (const t of this.routes.values()) routes += t.size;
    return { vrfs: this.vrfs.size, interfaces: this.ifs.size, routes, nexthops: this.nhs.size, labels: this.labels.size };
  }

  // ---- internals

  /** `key` is routeKey(prefix); without `prefix`, an IPv4 key goes to the data plane as numbers */
  private installRoute(vrf: string, key: RouteKey, prefix: Prefix | undefined, table: RouteTable<NhEntry>, plan: NhPlan): void {
    const old = table.get(key);
    if (old && old.key === plan.key) return;
    if (plan.key === '') {
      // a connected subnet: the data plane already routes it from the interface's addresses
      if (old && old !== CONNECTED) {
        this.dpDelRoute(vrf, key);
        this.removed.routes++;
        this.release(old);
      }
      table.set(key, CONNECTED);
      return;
    }
    const nh = this.acquire(plan);
    try {
      if (typeof key === 'number' && this.dp.addRoute4) this.dp.addRoute4(vrf, ipv4OfPrefixCode(key), prefixCodeLength(key), nh.id);
      else this.dp.addRoute(vrf, prefix ?? prefixOfKey(key), nh.id);
    } catch (err) {
      this.release(nh);
      throw err;
    }
    if (old && old !== CONNECTED) this.release(old);
    table.set(key, nh);
  }

  /** The data plane's route for a key removed (numbers for IPv4 where the data plane takes them). */
  private dpDelRoute(vrf: string, key: RouteKey): void {
    if (typeof key === 'number' && this.dp.delRoute4) this.dp.delRoute4(vrf, ipv4OfPrefixCode(key), prefixCodeLength(key));
    else this.dp.delRoute(vrf, prefixOfKey(key));
  }

  private removeRoute(vrf: string, key: RouteKey, table: RouteTable<NhEntry>, nh: NhEntry): void {
    if (nh !== CONNECTED) {
      this.dpDelRoute(vrf, key);
      this.removed.routes++;
      this.release(nh);
    }
    table.delete(key);
  }

  private acquire(plan: NhPlan): NhEntry {
    const have = this.nhs.get(plan.key);
    if (have) {
      have.refs++;
      return have;
    }
    const members = plan.members?.map((m) => {
      this.acquire(m);
      return m.key;
    });
    let id: number;
    try {
      id = this.dp.addNexthop(plan.build());
    } catch (err) {
      for (const k of members ?? []) this.release(this.nhs.get(k)!);
      throw err;
    }
    const e: NhEntry = { key: plan.key, id, refs: 1 };
    if (members) e.members = members;
    this.nhs.set(plan.key, e);
    this.nhById.set(id, e);
    return e;
  }

  private release(e: NhEntry): void {
    if (--e.refs > 0) return;
    this.nhs.delete(e.key);
    this.nhById.delete(e.id);
    this.dp.delNexthop(e.id);
    this.removed.nexthops++;
    for (const m of e.members ?? []) {
      const me = this.nhs.get(m);
      if (me) this.release(me);
    }
  }

  /** Decide what next hop a set needs, without touching the data plane. */
  private plan(vrf: string, s: PbNexthopSet): Plan {
    const action: RouteActionName = s.action ?? 'FORWARD';
    switch (action) {
      case 'DISCARD':
        return { key: 'discard', build: () => ({ type: 'discard' }) };
      case 'REJECT':
        return { key: 'reject', build: () => ({ type: 'reject' }) };
      case 'RECEIVE':
        return { key: 'receive', build: () => ({ type: 'receive' }) };
      case 'FORWARD':
        break;
      default:
        return { error: `unknown route action '${String(action)}'` };
    }
    const list = s.nexthops ?? [];
    if (list.length === 0) return { error: 'a forwarding route needs at least one next hop' };
    const members: NhPlan[] = [];
    for (const nh of list) {
      const p = this.planOne(vrf, nh);
      if ('error' in p) return p;
      if (!members.some((m) => m.key === p.key)) members.push(p);
    }
    if (members.length === 1) return members[0]!;
    if (members.some((m) => m.key === '')) return { error: 'a connected subnet cannot be part of an ECMP set' };
    const keys = members.map((m) => m.key).sort();
    const sorted = keys.map((k) => members.find((m) => m.key === k)!);
    return {
      key: `ecmp(${keys.join(',')})`,
      members: sorted,
      build: () => ({ type: 'composite', members: keys.map((k) => this.nhs.get(k)!.id) }),
    };
  }

  private planOne(vrf: string, nh: PbNexthop): Plan {
    const labels = [...(nh.transportLabels ?? [])];
    if (labels.length > MAX_TRANSPORT_LABELS) return { error: `${labels.length} transport labels (at most ${MAX_TRANSPORT_LABELS})` };
    if (nh.serviceLabel !== undefined && nh.serviceLabel !== null) labels.push(nh.serviceLabel);
    for (const l of labels) if (!Number.isInteger(l) || l < 0 || l > MAX_LABEL) return { error: `invalid MPLS label ${l}` };
    let vif = nh.interface ?? '';
    const ip = nh.ip ?? '';
    if (nh.tunnelSource) {
      const src = nh.tunnelSource;
      if (!ip) return { error: 'an MPLS-over-UDP next hop needs a tunnel destination (ip)' };
      if (labels.length === 0) return { error: 'an MPLS-over-UDP next hop needs labels' };
      return { key: `udp|${src}|${ip}|${labels.join('/')}`, build: () => ({ type: 'mpls-udp', src, dst: ip, labels }) };
    }
    if (ip) {
      try {
        parseIp(ip);
      } catch (err) {
        return { error: reason(err) };
      }
    }
    if (!vif) {
      if (!ip) return { error: 'next hop has neither address nor interface' };
      const found = this.connectedVif(vrf, ip);
      if (!found) return { error: `next hop ${ip} is on no connected subnet of VRF ${vrf}; give its interface` };
      vif = found;
    }
    if (!ip) {
      if (labels.length) return { error: `labels need a next-hop address (interface ${vif})` };
      return { key: '', build: () => ({ type: 'discard' }) };
    }
    const lk = labels.length ? `|${labels.join('/')}` : '';
    return {
      key: `nbr|${vif}|${ip}${lk}`,
      build: () => (labels.length ? { type: 'neighbor', vif, ip, labels } : { type: 'neighbor', vif, ip }),
    };
  }

  private connectedVif(vrf: string, ip: string): string | undefined {
    const addr = parseIp(ip).bytes;
    for (const [name, e] of this.ifs) {
      if ((e.cfg.vrf ?? DEFAULT_VRF) !== vrf) continue;
      for (const a of e.cfg.addresses ?? []) {
        if (prefixContains(parsePrefix(a), addr)) return name;
      }
    }
    return undefined;
  }
}

const programmers = new WeakMap<Dataplane, Programmer>();

/** The one Programmer of a data plane (created on first use). */
export function programmerFor(dp: Dataplane): Programmer {
  let p = programmers.get(dp);
  if (!p) {
    p = new Programmer(dp);
    programmers.set(dp, p);
  }
  return p;
}

const DRIVERS: Record<string, VifDriver> = { AF_PACKET: 'af-packet', AF_XDP: 'af-xdp', TAP: 'tap', MEMORY: 'memory', MEMIF: 'memif', DRIVER_UNSPECIFIED: 'af-packet' };

/**
 * A bridge port's filter as `show firewall` reads it: the controller expands a term's match
 * lists into one data-plane term per combination (controller/l2/bridge-filter.ts), all under
 * the term's name; their frames are summed back per name, in the filter's order.
 */
function bridgeFilterState(vif: string, dir: 'input' | 'output', filter: string, acl: AclInfo): PbFilterState {
  const terms = new Map<string, { name: string; count: string; packets: number; bytes: number }>();
  for (const t of acl.bridge ?? []) {
    const name = t.name ?? '';
    const e = terms.get(name) ?? { name, count: t.count ?? '', packets: 0, bytes: 0 };
    e.packets += t.hits;
    terms.set(name, e);
  }
  return { interface: vif, filter, family: 0, output: dir === 'output', terms: [...terms.values()], unmatched: acl.unmatched, unmatchedBytes: 0, bridge: true };
}

function bridgePortConfig(b: PbBridgePort): BridgePortConfig {
  const c: BridgePortConfig = b.mode === 'TRUNK' ? { mode: 'trunk', vlans: [...(b.vlanIds ?? [])] } : { mode: 'access', vlan: b.vlanId ?? 0 };
  if (b.mode === 'TRUNK' && b.nativeVlanId) c.nativeVlan = b.nativeVlanId;
  if (b.noLocalSwitching) c.noLocalSwitching = true;
  // as sent: the data plane refuses a TPID on an access port or tunnelling on a trunk, with the reason
  if (b.tpid) c.tpid = b.tpid;
  if (b.dot1qTunneling) c.dot1qTunneling = true;
  if (b.stormControlKbps) c.stormControl = { bitsPerSecond: b.stormControlKbps * 1000, ...(b.stormControlBurst ? { burstBytes: b.stormControlBurst } : {}) };
  if (b.inputFilter?.length) c.inputFilter = b.inputFilter.map(bridgeFilterTerm);
  if (b.outputFilter?.length) c.outputFilter = b.outputFilter.map(bridgeFilterTerm);
  return c;
}

function bridgeFilterTerm(t: PbBridgeFilterTerm): BridgeFilterTerm {
  const f: BridgeFilterTerm = { action: t.discard ? 'discard' : 'accept' };
  if (t.name) f.name = t.name;
  if (t.sourceMac) f.srcMac = t.sourceMac;
  if (t.destinationMac) f.dstMac = t.destinationMac;
  if (t.vlanId) f.vlan = t.vlanId;
  if (t.etherType) f.etherType = t.etherType;
  // as sent: the data plane refuses what it cannot match (an IPv4 prefix in an IPv6 term...), with the reason
  if (t.ipVersion) f.ipVersion = t.ipVersion as 4 | 6;
  if (t.ipSource) f.srcIp = t.ipSource;
  if (t.ipDestination) f.dstIp = t.ipDestination;
  if (t.ipProtocol) f.ipProtocol = t.ipProtocol;
  if (t.ipv6NextHeader) f.nextHeader = t.ipv6NextHeader - 256;
  const range = (r: PbPortRange): [number, number] => [r.low ?? 0, r.high ?? r.low ?? 0];
  if (t.sourcePort) f.srcPort = range(t.sourcePort);
  if (t.destinationPort) f.dstPort = range(t.destinationPort);
  if (t.icmpType) f.icmpType = range(t.icmpType);
  if (t.count) f.count = t.count;
  return f;
}

function vifConfig(m: PbInterfaceUpdate): VifConfig {
  const driver = m.irb ? 'irb' : DRIVERS[m.driver ?? 'DRIVER_UNSPECIFIED'];
  if (!driver) throw new DataplaneError(`unknown interface driver '${String(m.driver)}'`);
  const cfg: VifConfig = { name: m.name, driver, vrf: m.vrf || DEFAULT_VRF, addresses: [...(m.addresses ?? [])] };
  for (const a of cfg.addresses!) parseCidr(a);
  if (m.mtu) cfg.mtu = m.mtu;
  if (m.vlan) cfg.vlan = m.vlan;
  if (m.mac) cfg.mac = m.mac;
  if (driver === 'memif') cfg.memif = { socket: m.memifSocket ?? '', id: m.memifId ?? 0, ...(m.memifSecret ? { secret: m.memifSecret } : {}) };
  if (m.staticNeighbors?.length) {
    cfg.neighbors = m.staticNeighbors.map((t) => {
      const [ip, mac, more] = t.split(' ');
      if (!ip || !mac || more !== undefined) throw new DataplaneError(`static neighbor '${t}': expected "IP MAC"`);
      return { ip, mac };
    });
  }
  return cfg;
}

function sameNeighbors(a: VifConfig, b: VifConfig): boolean {
  return JSON.stringify(a.neighbors ?? []) === JSON.stringify(b.neighbors ?? []);
}

function sameVifExceptAddresses(a: VifConfig, b: VifConfig): boolean {
  return a.driver === b.driver && a.vrf === b.vrf && a.mtu === b.mtu && a.vlan === b.vlan && a.mac === b.mac && JSON.stringify(a.memif) === JSON.stringify(b.memif);
}

function sameList(a: string[] | undefined, b: string[] | undefined): boolean {
  const x = a ?? [], y = b ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** A route's prefix: its destination (checked, host bits cleared), or else its text (older controllers) parsed once. */
function routePrefix(r: PbRoute): Prefix {
  const d = r.destination;
  if (d) return makePrefix(d.addr, d.len);
  return prefixOfText(r.prefix ?? '');
}

/** A route's prefix as text, for a failure message (it may be invalid). */
function routeText(r: PbRoute): string {
  const d = r.destination;
  if (!d) return r.prefix ?? '';
  return d.addr.length === 4 || d.addr.length === 16 ? formatPrefix(d) : `<${d.addr.length}-byte address>/${d.len}`;
}


function routeKey(p: Prefix): RouteKey {
  if (p.family === 4) return ipv4PrefixCode(bytesToIpv4(p.addr), p.len);
  return String.fromCharCode(...p.addr, p.len);
}

function prefixOfKey(key: RouteKey): Prefix {
  if (typeof key === 'number') return prefixOfIpv4Code(key);
  const addr = new Uint8Array(16);
  for (let i = 0; i < 16; i++) addr[i] = key.charCodeAt(i);
  return { family: 6, addr, len: key.charCodeAt(16) };
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
