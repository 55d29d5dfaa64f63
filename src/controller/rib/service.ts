/**
 * RibService: the RIB's place in the controller. As a ConfigConsumer it turns the committed
 * `interfaces`, `routing-instances` and `routing-options` into tables, direct and local
 * routes, static routes, and the interfaces and VRFs the vRouter attaches to (handed to the
 * FIB export); as the owner of that state it provides `show route ...`,
 * `show route summary`, `show route forwarding-table` (read back from the agent) and
 * `show interfaces terse`.
 *
 * Wiring (what `cnr start` and `cnr controller` do; see `createRibStack`):
 *   const stack = createRibStack({ agentAddress: '127.0.0.1:50052' });
 *   const ctl = new Controller({ stateDir, consumers: [stack.service], commands: stack.service.commands() });
 *   await ctl.start(); stack.start();          // BGP announces into stack.rib
 */
import type { CommandResult, ConfigConsumer, ConfigTree, OperationalCommand } from '../types.js';
import { parseCidr } from '../../lib/addr.js';
import { memoByString } from '../../lib/memo.js';
import { leafString, netdevOf, stringList, subtree } from '../config/tree.js';
import { DirectProtocol, type DirectInterface } from '../protocols/direct/direct.js';
import { StaticProtocol, type StaticTableConfig } from '../protocols/static/static.js';
import { Rib, prefixSortKey, tableFamily, tableName, tableOrder, tableVrf } from './rib.js';
import { FibExport, type FibBridgePort, type FibInterface } from './fib-export.js';
import { bridgeDomainsOf, bridgePortOf, macAgingOf } from '../l2/config.js';
import { l2Commands } from '../l2/commands.js';
import { ipFiltersOf } from '../filters/config.js';
import { filterCommands } from '../filters/commands.js';
import type { PbIpFilter } from '../../api/proto.js';
import { formatForwardingTables, formatInterfacesTerse, formatRoutes, formatSummary, routeData, type ForwardingTable, type RouteDetail, type TerseInterface } from './show.js';

/** The router's loopback interface (Junos `lo0`): addresses only, no vif */
const LOOPBACK = 'lo0';

/**
 * Addresses a vif holds in the vRouter's interface table (src/dataplane/tables/vif-table.ts,
 * MAX_ADDR slots per family; IPv6 keeps one for the link-local address). A unit with more is
 * refused at commit rather than failing in the vRouter after the commit.
 */
export const VIF_ADDRESSES = { inet: 8, inet6: 7 } as const;

/** An address's family, remembered per text (lib/memo.ts): every commit checks every interface's addresses. */
const cidrFamily = memoByString((a: string) => parseCidr(a).family);

function addressCountErrors(at: string, family: ConfigTree): string[] {
  const errors: string[] = [];
  for (const fam of ['inet', 'inet6'] as const) {
    const n = Object.keys(subtree(subtree(family[fam])['address'])).length;
    if (n > VIF_ADDRESSES[fam]) errors.push(`${at} family ${fam} address: ${n} addresses, the vRouter holds at most ${VIF_ADDRESSES[fam]} per interface`);
  }
  return errors;
}

/** how the vRouter says that the netdev to attach does not exist (sys/libc.ts interfaceIndex, ENODEV) */
const NO_SUCH_NETDEV = /interface '[^']*' not found|No such device/;

/** `show route forwarding-table` lists at most this many routes per table (and counts the rest) */
const FORWARDING_TABLE_LIMIT = 100_000;

export interface RibServiceOptions {
  /** where the FIB goes; without it the RIB is computed but not forwarded */
  fib?: FibExport;
  /** the vRouter driver of a netdev (default af-packet) */
  driverFor?: (ifname: string) => FibInterface['driver'];
}

/** An interface of the configuration, as the RIB and the vRouter see it. */
export interface ConfiguredInterface {
  name: string;
  instance: string;
  disabled: boolean;
  inet: string[];
  inet6: string[];
  mtu?: number;
  vlan?: number;
  mac?: string;
  /** `vrouter driver`: how the vRouter attaches the netdev (default: RibServiceOptions.driverFor, else af-packet); lo0 is a loopback, no netdev; irb: an IRB unit (irb.N) */
  driver?: 'af-packet' | 'af-xdp' | 'tap' | 'memif' | 'loopback' | 'irb';
  /** `vrouter memif socket PATH id N secret S` (driver memif) */
  memif?: { socket: string; id?: number; secret?: string };
  /** L2 mode: `unit 0 family bridge` (docs/l2.md) */
  bridge?: FibBridgePort;
  /** IP firewall filters of the unit (docs/filters.md) */
  filters?: PbIpFilter[];
  /** static neighbours of unit 0 (`address A arp|ndp IP mac MAC`), as "IP MAC" */
  neighbors?: string[];
}

export class RibService implements ConfigConsumer {
  readonly name = 'rib';
  readonly direct: DirectProtocol;
  readonly statics: StaticProtocol;
  private interfaces: ConfiguredInterface[] = [];
  private instances = new Map<string, string>();
  private routerId: string | undefined;

  constructor(
    readonly rib: Rib,
    private readonly opts: RibServiceOptions = {},
  ) {
    this.direct = new DirectProtocol(rib);
    this.statics = new StaticProtocol(rib);
    rib.ensureTable('inet.0');
    rib.ensureTable('inet6.0');
  }

  /**
   * What the RIB and the vRouter cannot take: an instance's interface that is not configured,
   * a unit other than 0, an address of the wrong family. The rules of the tree itself (static
   * routes, tables, an interface in two instances) are checked once, in config/validate.ts.
   */
  validate(next: ConfigTree): string[] {
    const errors: string[] = [];
    const ifs = subtree(next['interfaces']);
    for (const [inst, body] of Object.entries(subtree(next['routing-instances']))) {
      for (const raw of stringList(subtree(body)['interface'])) {
        const irb = /^irb\.(\d+)$/.exec(raw);
        if (irb ? !Object.hasOwn(subtree(subtree(ifs['irb'])['unit']), irb[1]!) : !Object.hasOwn(ifs, netdevOf(raw))) errors.push(`routing-instances ${inst} interface ${raw}: no such interface under [interfaces]`);
      }
    }
    for (const [name, body] of Object.entries(ifs)) {
      errors.push(...memifErrors(name, subtree(subtree(body)['vrouter'])));
      for (const [unit, u] of Object.entries(subtree(subtree(body)['unit']))) {
        if (unit !== '0' && name !== 'irb') errors.push(`interfaces ${name} unit ${unit}: only unit 0 is supported (use vlan-id on a netdev for a VLAN sub-interface)`);
        if (name !== LOOPBACK) errors.push(...addressCountErrors(`interfaces ${name} unit ${unit}`, subtree(subtree(u)['family'])));
        for (const fam of ['inet', 'inet6']) {
          for (const [a, ab] of Object.entries(subtree(subtree(subtree(subtree(u)['family'])[fam])['address']))) {
            try {
              if ((cidrFamily(a) === 4) !== (fam === 'inet')) errors.push(`interfaces ${name} unit ${unit} family ${fam} address ${a}: wrong family`);
              else errors.push(...staticNeighborErrors(`interfaces ${name} unit ${unit} family ${fam} address ${a}`, fam === 'inet' ? 'arp' : 'ndp', subtree(subtree(ab)[fam === 'inet' ? 'arp' : 'ndp'])));
            } catch (err) {
              errors.push(`interfaces ${name} unit ${unit} family ${fam} address ${a}: ${(err as Error).message}`);
            }
          }
        }
      }
    }
    return errors;
  }

  async apply(next: ConfigTree): Promise<void> {
    const instances = new Map<string, string>();
    for (const [inst, body] of Object.entries(subtree(next['routing-instances']))) {
      const type = subtree(body)['instance-type'];
      if (type === undefined || type === 'vrf' || type === 'virtual-router') instances.set(inst, String(type ?? 'virtual-router'));
    }
    const interfaces = configuredInterfaces(next);
    const fib = this.opts.fib;
    for (const inst of instances.keys()) {
      this.rib.ensureTable(tableName(inst, 4));
      this.rib.ensureTable(tableName(inst, 6));
      fib?.setVrf(inst, true);
    }
    const live = interfaces.filter((i) => !i.disabled);
    this.rib.setInterfaces(live.map((i) => i.name));
    // lo0 goes as a LOOPBACK interface (no vif: its addresses go on vhost0), its addresses are
    // local routes announced below like any interface's
    if (fib) for (const i of live) fib.setInterface(i.name, this.fibInterface(i));
    this.direct.apply(live.map((i): DirectInterface => ({ name: i.name, instance: i.instance, addresses: [...i.inet, ...i.inet6] })));
    this.statics.apply(staticTables(next).filter((s) => s.instance === 'default' || instances.has(s.instance)));
    if (fib) {
      // L2: bridge domains after the interfaces (their IRBs), removed ones before the interfaces go
      const domains = bridgeDomainsOf(next);
      const keepBd = new Set(domains.map((d) => d.name));
      for (const name of fib.bridgeDomainNames()) if (!keepBd.has(name)) fib.setBridgeDomain(name, undefined);
      for (const d of domains) fib.setBridgeDomain(d.name, d);
      fib.setMacAging(macAgingOf(next));
      const keep = new Set(live.map((i) => i.name));
      for (const i of this.interfaces) if (!keep.has(i.name)) fib.setInterface(i.name, undefined);
    }
    for (const inst of this.instances.keys()) {
      if (instances.has(inst)) continue;
      fib?.setVrf(inst, false);
      this.rib.dropTable(tableName(inst, 4));
      this.rib.dropTable(tableName(inst, 6));
    }
    this.interfaces = interfaces;
    this.instances = instances;
    const ro = subtree(next['routing-options']);
    this.routerId = leafString(ro['router-id']);
  }

  private fibInterface(i: ConfiguredInterface): FibInterface {
    const f: FibInterface = { name: i.name, driver: i.driver ?? this.opts.driverFor?.(i.name) ?? 'af-packet', vrf: i.instance, addresses: [...i.inet, ...i.inet6] };
    if (i.mtu) f.mtu = i.mtu;
    if (i.vlan) f.vlan = i.vlan;
    if (i.mac) f.mac = i.mac;
    if (i.memif) f.memif = i.memif;
    if (i.bridge) f.bridge = i.bridge;
    if (i.filters?.length) f.filters = i.filters;
    if (i.neighbors?.length) f.neighbors = i.neighbors;
    return f;
  }

  /** `show route table mpls.0`: the incoming label table (VPN labels pop into their VRF; segment-routing labels are forwarded). */
  showMpls(): CommandResult {
    const entries = this.rib.mpls.entries();
    const lines = [`mpls.0: ${entries.length} destinations, ${entries.length} routes (${entries.length} active, 0 holddown, 0 hidden)`, '+ = Active Route, - = Last Active, * = Both', ''];
    for (const e of entries) {
      const a = e.action;
      if (a.action === 'pop-lookup') {
        lines.push(`${String(e.label).padEnd(19)}*[VPN/0]`);
        lines.push(`                    > to table ${a.vrf}.inet.0, Pop`);
        continue;
      }
      // Junos names IS-IS's label routes L-ISIS
      const proto = e.owner.startsWith('isis') ? 'L-ISIS' : e.owner.split(' ')[0]!.toUpperCase();
      lines.push(`${String(e.label).padEnd(19)}*[${proto}]`);
      for (const [k, n] of a.nexthops.entries()) {
        const op = n.outLabels.length === 0 ? 'Pop' : `Swap ${n.outLabels.join(', Push ')}`;
        lines.push(`                    ${k === 0 ? '>' : ' '} to ${n.gateway} via ${n.interface}, ${op}`);
      }
    }
    const data = entries.map((e) =>
      e.action.action === 'pop-lookup'
        ? { label: e.label, action: 'pop', table: `${e.action.vrf}.inet.0`, owner: e.owner }
        : { label: e.label, action: 'forward', owner: e.owner, nexthops: e.action.nexthops.map((n) => ({ gateway: n.gateway, interface: n.interface, outLabels: [...n.outLabels] })) },
    );
    return { text: lines.join('\n') + '\n', data: { table: 'mpls.0', routes: data } };
  }

  commands(): OperationalCommand[] {
    return [
      { path: ['show', 'route', 'summary'], help: 'Route counts per table and protocol, and in the vRouter', run: () => this.showSummaryWithForwarding() },
      { path: ['show', 'route', 'table', 'mpls.0'], help: 'Labels this router allocated and what it does with them', run: async () => this.showMpls() },
      { path: ['show', 'route', 'forwarding-table'], help: 'What the vRouter forwards with, read back from the agent: [table T]', run: (a) => this.showForwarding(a) },
      { path: ['show', 'route'], help: 'Routes: [table T] [PREFIX|ADDRESS] [exact] [protocol P] [hidden] [brief|detail|extensive|terse]', run: async (a) => this.showRoute(a) },
      { path: ['show', 'interfaces', 'terse'], help: 'Interfaces, their state and addresses', run: () => this.showInterfacesTerse() },
      ...l2Commands(this.opts.fib),
      ...filterCommands(this.opts.fib),
    ];
  }

  showRoute(args: string[]): CommandResult {
    if (args[0] === 'summary') return this.showSummary();
    let table: string | undefined;
    let prefix: string | undefined;
    let exact = false;
    let protocol: string | undefined;
    let detail: RouteDetail = 'brief';
    let hidden = false;
    for (let i = 0; i < args.length; i++) {
      const w = args[i]!;
      if (w === 'table') table = args[++i];
      else if (w === 'hidden') hidden = true;
      else if (w === 'protocol') protocol = args[++i];
      else if (w === 'exact') exact = true;
      else if (w === 'extensive' || w === 'detail' || w === 'terse' || w === 'brief') detail = w;
      else if (/^[0-9a-fA-F:.]+(\/\d+)?$/.test(w) && /[.:]/.test(w)) prefix = w;
      else throw new Error(`show route: unexpected '${w}'`);
    }
    const summaries = new Map(this.rib.summary().map((s) => [s.name, s]));
    let names = table ? (this.rib.tableNames().includes(table) ? [table] : []) : this.rib.tableNames();
    if (table && names.length === 0) throw new Error(`show route: no table '${table}'`);
    if (prefix) {
      const v6 = prefix.includes(':');
      names = names.filter((n) => (tableFamily(n) === 6) === v6);
    }
    const out: { info: NonNullable<ReturnType<typeof summaries.get>>; entries: ReturnType<Rib['show']> }[] = [];
    for (const n of names) {
      let entries = this.rib.show(n, prefix ? { prefix, exact } : undefined);
      // as Junos: routes whose next hops do not resolve are hidden, `hidden` shows only them
      entries = entries
        .map((e) => ({ ...e, candidates: e.candidates.filter((c) => (c.forwarding === null) === hidden) }))
        .filter((e) => e.candidates.length > 0);
      if (protocol) entries = entries.filter((e) => e.candidates.some((c) => c.route.protocol === protocol));
      if (!entries.length && (prefix || protocol)) continue;
      entries.sort((a, b) => (prefixSortKey(a.prefix) < prefixSortKey(b.prefix) ? -1 : 1));
      out.push({ info: summaries.get(n)!, entries });
    }
    const text = formatRoutes(out, detail);
    const data = {
      tables: out.map(({ info, entries }) => ({
        name: info.name,
        destinations: info.destinations,
        routes: info.routes,
        active: info.active,
        hidden: info.hidden,
        entries: entries.map((e) => ({ prefix: e.prefix, routes: e.candidates.map(routeData) })),
      })),
    };
    return { text, data };
  }

  showSummary(): CommandResult {
    const tables = this.rib.summary();
    const fib = this.opts.fib?.status();
    let text = formatSummary(this.routerId, tables);
    if (fib) {
      // a held resync: the agent keeps what was not replayed until the controller's state is complete
      const state = fib.synced ? 'in sync' : !fib.connected ? 'not connected' : !fib.ready ? "resynchronizing (stale entries kept until the configuration and BGP's initial tables are in)" : 'resynchronizing';
      text += `\n\nForwarding: agent ${fib.address} ${state}, ${fib.pending} changes pending, ${fib.inflight} messages unacknowledged, ${fib.routesAcked} routes acknowledged, ${fib.nacks} refusals`;
      const last = fib.recentFailures.at(-1);
      if (last) text += `\n  last refusal: ${last.object}: ${last.reason}`;
    }
    return { text, data: { routerId: this.routerId, tables, forwarding: fib } };
  }

  /**
   * `show route summary`: the RIB's counts, then how many routes the vRouter's FIB holds per
   * VRF and family (the agent's counters, cheap at any size; its own system routes included).
   */
  async showSummaryWithForwarding(): Promise<CommandResult> {
    const base = this.showSummary();
    const fib = this.opts.fib;
    if (!fib) return base;
    let text = base.text;
    const data = { ...(base.data as Record<string, unknown>) };
    try {
      const counts = await fib.routeCounts(undefined, 5000);
      text += `\n\nvRouter FIB:${counts.map((c) => `\n  ${c.vrf}: ${c.inet} inet, ${c.inet6} inet6 routes`).join('')}`;
      data['vrouterRoutes'] = counts;
    } catch (err) {
      text += `\n\nvRouter FIB: not read (${(err as Error).message})`;
    }
    return { text, data };
  }

  async showForwarding(args: string[]): Promise<CommandResult> {
    const fib = this.opts.fib;
    if (!fib) throw new Error('show route forwarding-table: this controller has no vRouter agent');
    let tables = this.rib.tableNames().filter((n) => tableVrf(n) !== undefined);
    const ti = args.indexOf('table');
    if (ti >= 0) {
      const want = args[ti + 1];
      tables = tables.filter((n) => n === want || tableVrf(n) === want);
      if (!tables.length) throw new Error(`show route forwarding-table: no table '${want}'`);
    }
    const result: ForwardingTable[] = [];
    for (const n of tables.sort(tableOrder)) {
      const vrf = tableVrf(n)!;
      const family = tableFamily(n);
      try {
        const { routes, total } = await fib.listSomeRoutes(vrf, family, FORWARDING_TABLE_LIMIT, 30_000);
        routes.sort((a, b) => (prefixSortKey(a.prefix) < prefixSortKey(b.prefix) ? -1 : 1));
        const t: ForwardingTable = { vrf, family, routes: routes.map((r) => ({ prefix: r.prefix, nexthop: r.nexthop, index: r.nexthopId })) };
        if (total > routes.length) t.more = total - routes.length;
        result.push(t);
      } catch (err) {
        result.push({ vrf, family, routes: [], error: (err as Error).message });
      }
    }
    return { text: formatForwardingTables(result), data: { tables: result } };
  }

  async showInterfacesTerse(): Promise<CommandResult> {
    let agentView: Map<string, { addresses: string[]; linkDown?: boolean }> | undefined;
    try {
      if (this.opts.fib) agentView = new Map((await this.opts.fib.listInterfaces(10_000)).map((i) => [i.name, i]));
    } catch {
      agentView = undefined;
    }
    // the vRouter's last word on an interface it does not have (a commit naming a netdev that
    // does not exist is accepted, as Junos accepts configuration for absent hardware)
    const refused = new Map<string, string>();
    for (const f of this.opts.fib?.status().recentFailures ?? []) {
      const m = /^interface (\S+)$/.exec(f.object);
      if (m) refused.set(m[1]!, f.reason);
    }
    const list: TerseInterface[] = this.interfaces.map((i) => {
      const t: TerseInterface = {
        name: i.name,
        admin: i.disabled ? 'down' : 'up',
        // attached in the vRouter with its link up (an attached netdev without carrier is down)
        link: agentView?.has(i.name) && !agentView.get(i.name)!.linkDown ? 'up' : 'down',
        addresses: [...i.inet.map((a): [string, string] => ['inet', a]), ...i.inet6.map((a): [string, string] => ['inet6', a])],
        instance: i.instance,
      };
      const reason = refused.get(i.name);
      if (t.link === 'down' && !i.disabled && reason !== undefined) {
        t.reason = reason;
        if (NO_SUCH_NETDEV.test(reason)) t.link = 'absent';
      }
      return t;
    });
    for (const [name, v] of agentView ?? []) {
      if (list.some((l) => l.name === name)) continue;
      list.push({ name, admin: 'up', link: v.linkDown ? 'down' : 'up', addresses: v.addresses.map((a): [string, string] => [a.includes(':') ? 'inet6' : 'inet', a]) });
    }
    list.sort((a, b) => (a.name < b.name ? -1 : 1));
    return { text: formatInterfacesTerse(list), data: { interfaces: list } };
  }
}

export function configuredInterfaces(cfg: ConfigTree): ConfiguredInterface[] {
  const owner = new Map<string, string>();
  for (const [inst, body] of Object.entries(subtree(cfg['routing-instances']))) {
    for (const raw of stringList(subtree(body)['interface'])) owner.set(netdevOf(raw), inst);
  }
  const out: ConfiguredInterface[] = [];
  for (const [name, body] of Object.entries(subtree(cfg['interfaces']))) {
    const b = subtree(body);
    if (name === 'irb') {
      // each unit is the routing interface of a bridge domain: a vif irb.N without a netdev
      for (const [unit, ub] of Object.entries(subtree(b['unit']))) {
        const u = subtree(ub);
        const fam = subtree(u['family']);
        const n = `irb.${unit}`;
        const irb: ConfiguredInterface = { name: n, instance: owner.get(n) ?? 'default', disabled: b['disable'] === true || u['disable'] === true, inet: Object.keys(subtree(subtree(fam['inet'])['address'])), inet6: Object.keys(subtree(subtree(fam['inet6'])['address'])), driver: 'irb' };
        const irbFilters = ipFiltersOf(cfg, u);
        if (irbFilters.length) irb.filters = irbFilters;
        out.push(irb);
      }
      continue;
    }
    const u = subtree(subtree(b['unit'])['0']);
    const fam = subtree(u['family']);
    const i: ConfiguredInterface = {
      name,
      instance: owner.get(name) ?? 'default',
      disabled: b['disable'] === true || u['disable'] === true,
      inet: Object.keys(subtree(subtree(fam['inet'])['address'])),
      inet6: Object.keys(subtree(subtree(fam['inet6'])['address'])),
    };
    if (typeof b['mtu'] === 'number') i.mtu = b['mtu'];
    if (typeof b['vlan-id'] === 'number') i.vlan = b['vlan-id'];
    if (typeof b['mac-address'] === 'string') i.mac = b['mac-address'];
    const driver = subtree(b['vrouter'])['driver'];
    if (driver === 'tap' || driver === 'af-packet' || driver === 'af-xdp' || driver === 'memif') i.driver = driver;
    const mif = subtree(subtree(b['vrouter'])['memif']);
    if (i.driver === 'memif' && typeof mif['socket'] === 'string') {
      i.memif = { socket: mif['socket'], ...(typeof mif['id'] === 'number' ? { id: mif['id'] } : {}), ...(typeof mif['secret'] === 'string' ? { secret: mif['secret'] } : {}) };
    }
    // lo0 holds the node's own addresses (router ID, BGP local-address, IS-IS's loopback
    // prefixes): no netdev to attach, its /32 and /128 addresses are local routes
    if (name === LOOPBACK) i.driver = 'loopback';
    const port = bridgePortOf(cfg, b);
    if (port) i.bridge = port;
    const filters = ipFiltersOf(cfg, u);
    if (filters.length) i.filters = filters;
    const neighbors = staticNeighborsOf(fam);
    if (neighbors.length) i.neighbors = neighbors;
    out.push(i);
  }
  return out;
}

/**
 * Static neighbours of one address each need their MAC (an entry without one was left out
 * silently). They need not be on the address's subnet: a pod's gateway is a /32 with the pod
 * behind it (docs/cni.md).
 */
function staticNeighborErrors(at: string, kind: 'arp' | 'ndp', entries: ConfigTree): string[] {
  return Object.entries(entries)
    .filter(([, n]) => typeof subtree(n)['mac'] !== 'string')
    .map(([ip]) => `${at} ${kind} ${ip}: needs mac MAC`);
}

/** A unit's static neighbours (schema/static-neighbors.ts) under all its addresses, as "IP MAC". */
function staticNeighborsOf(fam: ConfigTree): string[] {
  const out: string[] = [];
  for (const [family, key] of [['inet', 'arp'], ['inet6', 'ndp']] as const) {
    for (const a of Object.values(subtree(subtree(fam[family])['address']))) {
      for (const [ip, n] of Object.entries(subtree(subtree(a)[key]))) {
        const mac = subtree(n)['mac'];
        if (typeof mac === 'string') out.push(`${ip} ${mac}`);
      }
    }
  }
  return out;
}

/** `vrouter driver memif` needs `vrouter memif socket` (an absolute path a unix socket can have); `vrouter memif` needs that driver. */
function memifErrors(name: string, vr: ConfigTree): string[] {
  const mif = vr['memif'];
  const at = `interfaces ${name} vrouter`;
  if (vr['driver'] !== 'memif') return mif === undefined ? [] : [`${at} memif: needs vrouter driver memif`];
  const socket = subtree(mif)['socket'];
  if (typeof socket !== 'string') return [`${at} driver memif: needs vrouter memif socket PATH`];
  if (!socket.startsWith('/') || Buffer.byteLength(socket) > 107) return [`${at} memif socket ${socket}: must be an absolute path of at most 107 bytes`];
  const secret = subtree(mif)['secret'];
  if (typeof secret === 'string' && secret.length > 23) return [`${at} memif secret: at most 23 characters`];
  return [];
}

/** Every `static` container of the tree with its table and routing instance. */
export function staticTables(cfg: ConfigTree): (StaticTableConfig & { instance: string })[] {
  const out: (StaticTableConfig & { instance: string })[] = [];
  const fromOptions = (instance: string, ro: ConfigTree) => {
    const s = subtree(ro['static']);
    out.push({ table: tableName(instance, 4), config: s, instance });
    for (const [tbl, body] of Object.entries(subtree(ro['rib']))) {
      out.push({ table: tbl, config: subtree(subtree(body)['static']), instance });
    }
  };
  fromOptions('default', subtree(cfg['routing-options']));
  for (const [inst, body] of Object.entries(subtree(cfg['routing-instances']))) {
    fromOptions(inst, subtree(subtree(body)['routing-options']));
  }
  return out;
}

export interface RibStackOptions {
  /** the vRouter agent, host:port (default 127.0.0.1:50052) */
  agentAddress?: string;
  token?: string;
  driverFor?: (ifname: string) => FibInterface['driver'];
  log?: (line: string) => void;
}

/** The RIB, its FIB export to the agent and its configuration consumer, wired together. */
export function createRibStack(opts: RibStackOptions = {}): { rib: Rib; fib: FibExport; service: RibService; start(): void; stop(): Promise<void> } {
  const rib = new Rib();
  const fibOpts: ConstructorParameters<typeof FibExport>[1] = { address: opts.agentAddress ?? '127.0.0.1:50052' };
  if (opts.token) fibOpts.token = opts.token;
  if (opts.log) fibOpts.log = opts.log;
  const fib = new FibExport(rib, fibOpts);
  const svcOpts: RibServiceOptions = { fib };
  if (opts.driverFor) svcOpts.driverFor = opts.driverFor;
  const service = new RibService(rib, svcOpts);
  return { rib, fib, service, start: () => fib.start(), stop: () => fib.stop() };
}
