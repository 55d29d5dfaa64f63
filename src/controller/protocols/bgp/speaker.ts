/**
 * The BGP speaker: every BGP instance of the configuration (master and routing instances),
 * the TCP listener they share, and the configuration consumer that turns each commit into
 * the smallest change: peers added or removed one by one, a session reset only when a
 * setting it negotiated changed, policy changes applied by soft reconfiguration. It also
 * knows the router's interface addresses, from which each session's source address is
 * chosen (source-address.ts).
 */
import * as net from 'node:net';
import type { ConfigTree, ConfigConsumer } from '../../types.js';
import { subtree as tree } from '../../config/tree.js';
import type { RibApi, RibRoute } from '../../rib/types.js';
import type { PrefixKey } from '../../../lib/addr.js';
import { PolicyEngine } from '../../policy/index.js';
import { CeaseSubcode } from '../../../wire/bgp/errors.js';
import { resolveAll, resolveVrfs, sessionKey, tableName, validateBgp, type InstanceConfig } from './config.js';
import { Afi } from '../../../wire/bgp/options.js';
import { BgpInstance } from './instance.js';
import { normalize } from './connection.js';
import { configuredInterfaces, type ConfiguredInterface } from '../../rib/service.js';
import { chooseSourceAddress } from './source-address.js';
import { setMd5Key, socketFd } from './socket-options.js';
import type { TransportOptions } from './neighbor.js';
import type { BfdClients } from '../bfd/manager.js';
import { BgpBfdHook } from './bfd.js';

export interface BgpOptions {
  log?: (msg: string) => void;
  /** TCP port to listen on (179); 0 picks a free one (tests); false: no listener (active only) */
  port?: number | false;
  /** address to listen on ('::' accepts IPv4 and IPv6) */
  listenAddress?: string;
  /** port of a peer (179 unless a test says otherwise) */
  peerPort?: (address: string) => number;
  /**
   * seconds: the ceiling of the retry back-off after failed connections (1, 1, 2, 4 ... s; see
   * fsm.ts). RFC 4271 suggests 120; 30 keeps a peer that was down for long reached sooner.
   */
  connectRetryTime?: number;
  /** seconds before a session restarts itself after an error (doubled per consecutive failure) */
  idleHoldTime?: number;
  /**
   * This controller restarted while the data plane kept forwarding: instances with
   * `graceful-restart` configured act as the restarting speaker of RFC 4724 (R and F bits
   * in OPEN; route selection and advertisement deferred until every peer sent End-of-RIB,
   * or `deferralSeconds` passed). `cnr start`/`cnr controller` set it when a commit
   * history exists at boot.
   */
  restarting?: boolean;
  /**
   * Whether the data plane kept forwarding through the restart (a separate `cnr vrouter`
   * did; the vRouter of `cnr start` restarted with the controller): the F bits. Default true.
   */
  forwardingPreserved?: boolean;
  /** longest deferral after a restart (default 120 s) */
  deferralSeconds?: number;
  /** BFD for neighbors with bfd-liveness-detection (bfd.ts); without it the statement is ignored */
  bfd?: BfdClients;
}

interface RibExtras {
  subscribe?(
    l: (c: { table: string; prefix: string; route: RibRoute | undefined; key?: PrefixKey; protocol?: string }) => void,
    wants?: (table: string, protocol: string | undefined) => boolean,
  ): (() => void) & { refilter?(): void };
  fibRoutes?(): Iterable<{ table: string; prefix: string; key?: PrefixKey }>;
}

/**
 * Tells BGP instances of a RIB change their export may depend on: a non-BGP route changed,
 * or a BGP route became active where another protocol's route had won (BGP's own changes
 * are exported by BGP itself). A prefix left with no route matters only where something
 * went out for it (or a VRF's routes are exported): a withdrawn BGP route, a million of
 * them when a session drops, is not handed back to BGP's export once per prefix.
 */
export function forwardRibChange(instances: Iterable<BgpInstance>, c: { table: string; prefix: string; route: RibRoute | undefined; key?: PrefixKey; protocol?: string }): void {
  // the RIB's change gives the prefix as a value and the protocol without building the route
  const protocol = 'protocol' in c ? c.protocol : c.route?.protocol;
  const key = c.key ?? c.prefix;
  for (const inst of instances) {
    if (inst.watchesTable(c.table)) inst.ribChanged(c.table, key);
    else if (protocol === 'bgp' || protocol === undefined) {
      if (inst.isShadowed(c.table, key) || (protocol === undefined && inst.advertises(c.table, key))) inst.ribChanged(c.table, key);
    } else inst.ribChanged(c.table, key);
  }
}

/**
 * The RIB's changes forwardRibChange acts on (the RIB's subscribe filter): every protocol's
 * but BGP's own, and BGP's too in a table an instance watches (a VRF exported as VPN routes)
 * or where it has had a shadowed prefix (a BGP route becoming active there may have to go
 * out). Elsewhere a BGP route's change, a full table's million in an ingest, is BGP's own
 * export's business and not told at all. Its answer changes with the instances, their VRFs
 * and their shadowed tables: the speaker refilters then.
 */
export function forwardRibWants(instances: readonly BgpInstance[], table: string, protocol: string | undefined): boolean {
  if (protocol !== 'bgp') return true;
  for (const inst of instances) if (inst.watchesTable(table) || inst.cx.shadowed.has(table)) return true;
  return false;
}

/** `interface|address` for every `interfaces IF unit 0 family inet|inet6 address A primary`. */
function primaryAddresses(cfg: ConfigTree): Set<string> {
  const out = new Set<string>();
  for (const [name, body] of Object.entries(tree(cfg['interfaces']))) {
    const fam = tree(tree(tree(tree(body)['unit'])['0'])['family']);
    for (const f of ['inet', 'inet6']) {
      for (const [a, opts] of Object.entries(tree(tree(fam[f])['address']))) if (tree(opts)['primary'] === true) out.add(`${name}|${a}`);
    }
  }
  return out;
}

export class BgpSpeaker {
  readonly instances = new Map<string, BgpInstance>();
  /** the instances as a list, for the RIB's listener (a change per route: no iterator made per change) */
  private instanceList: BgpInstance[] = [];
  private server: net.Server | undefined;
  private listening: Promise<void> | undefined;
  private readonly md5Keys = new Map<string, string>();
  private restartHandled = false;
  private unsubscribe: (() => void) | undefined;
  /** ask the RIB's filter (forwardRibWants) again: the instances, their VRFs or shadowed tables changed */
  private refilterRib = (): void => {};
  private readonly transport: TransportOptions;
  private readonly log: (msg: string) => void;
  /** the committed interfaces, for source addresses */
  private interfaces: ConfiguredInterface[] = [];
  /** `interface|address` of the addresses marked `primary` (preferred as a source) */
  private primaries = new Set<string>();
  private readonly bfdHook: BgpBfdHook | undefined;

  constructor(
    private readonly rib: RibApi,
    private readonly opts: BgpOptions = {},
  ) {
    this.log = opts.log ?? (() => {});
    this.transport = {
      peerPort: opts.peerPort ?? (() => 179),
      connectRetryTime: opts.connectRetryTime ?? 30,
      idleHoldTime: opts.idleHoldTime ?? 1,
    };
    if (opts.bfd) this.bfdHook = new BgpBfdHook(opts.bfd, this.log);
    const x = rib as RibApi & RibExtras;
    if (typeof x.subscribe === 'function') {
      const sub = x.subscribe((c) => forwardRibChange(this.instanceList, c), (table, protocol) => forwardRibWants(this.instanceList, table, protocol));
      this.unsubscribe = sub;
      this.refilterRib = () => sub.refilter?.();
    }
  }

  /** Active non-BGP routes of a table, when the RIB can list them. */
  private ribRoutes(table: string): RibRoute[] {
    const x = this.rib as RibApi & RibExtras;
    if (typeof x.fibRoutes !== 'function') return [];
    const out: RibRoute[] = [];
    for (const r of x.fibRoutes()) {
      if (r.table !== table) continue;
      // by value where the RIB gives one: BGP's own routes (most of a full table) are passed
      // over without their route object or text being made
      const key = r.key;
      if (key !== undefined && this.rib.activeProtocol?.(table, key) === 'bgp') continue;
      const route = key !== undefined && this.rib.getKey ? this.rib.getKey(table, key) : this.rib.get(table, r.prefix);
      if (route && route.protocol !== 'bgp') out.push(route);
    }
    return out;
  }

  /** One instance's transport: the shared settings plus its own source addresses. */
  private transportFor(instance: string): TransportOptions {
    return { ...this.transport, sourceAddress: (peer) => this.sourceAddress(instance, peer) };
  }

  /** The router's address facing `peer` in a BGP instance (master: the default tables). */
  sourceAddress(instance: string, peer: string): string | undefined {
    const vrf = instance === 'master' ? 'default' : instance;
    // an address marked `primary` goes first among its interface's (Junos: the source of locally originated packets)
    const first = (i: ConfiguredInterface, a: string) => (this.primaries.has(`${i.name}|${a}`) ? 0 : 1);
    const own = this.interfaces
      .filter((i) => !i.disabled && i.instance === vrf)
      .map((i) => ({ name: i.name, addresses: [...i.inet, ...i.inet6].sort((a, b) => first(i, a) - first(i, b)) }));
    const table = tableName(instance, peer.includes(':') ? Afi.Ipv6 : Afi.Ipv4);
    let hop: { interface?: string; gateway?: string } | undefined;
    try {
      hop = this.rib.lookup(table, peer)?.nexthops[0];
    } catch {
      hop = undefined; // no such table yet
    }
    return chooseSourceAddress(peer, own, hop);
  }

  /** The port the listener got (tests listen on port 0). */
  get port(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  /** Resolves once the listener is up (or failed and was given up). */
  ready(): Promise<void> {
    return this.listening ?? Promise.resolve();
  }

  private listen(): void {
    if (this.server || this.opts.port === false) return;
    const server = net.createServer((sock) => this.accept(sock));
    this.server = server;
    this.listening = new Promise<void>((resolve) => {
      server.once('error', (err) => {
        this.log(`bgp: cannot listen on port ${this.opts.port ?? 179}: ${err.message}; peers must be reached actively`);
        this.server = undefined;
        resolve();
      });
      server.listen({ port: this.opts.port ?? 179, host: this.opts.listenAddress ?? '::' }, () => {
        this.applyMd5Keys();
        resolve();
      });
    });
  }

  private accept(sock: net.Socket): void {
    const remote = normalize(sock.remoteAddress ?? '');
    for (const inst of this.instances.values()) {
      const nb = inst.neighbors.get(remote);
      if (nb) {
        nb.incoming(sock);
        return;
      }
    }
    sock.destroy(); // not a configured peer
  }

  private applyMd5Keys(): void {
    const want = new Map<string, string>();
    for (const inst of this.instances.values()) for (const nb of inst.neighbors.values()) if (nb.cfg.authenticationKey) want.set(nb.cfg.address, nb.cfg.authenticationKey);
    const fd = this.server ? socketFd(this.server) : undefined;
    if (fd === undefined) return;
    for (const [addr] of this.md5Keys) if (!want.has(addr)) setMd5Key(fd, addr, '');
    for (const [addr, key] of want) {
      if (this.md5Keys.get(addr) === key) continue;
      if (!setMd5Key(fd, addr, key)) this.log(`bgp neighbor ${addr}: TCP MD5 could not be set on the listener`);
    }
    this.md5Keys.clear();
    for (const [a, k] of want) this.md5Keys.set(a, k);
  }

  validate(next: ConfigTree): string[] {
    const errors = validateBgp(next);
    const policy = new PolicyEngine(tree(next['policy-options']));
    errors.push(...policy.errors);
    for (const inst of resolveAll(next)) {
      const where = inst.name === 'master' ? 'protocols bgp' : `routing-instances ${inst.name} protocols bgp`;
      for (const p of inst.peers.values()) {
        errors.push(...policy.checkChain(`${where} group ${p.group} neighbor ${p.address} import`, p.import));
        errors.push(...policy.checkChain(`${where} group ${p.group} neighbor ${p.address} export`, p.export));
      }
    }
    for (const v of resolveVrfs(next)) {
      errors.push(...policy.checkChain(`routing-instances ${v.name} vrf-import`, v.importPolicies));
      errors.push(...policy.checkChain(`routing-instances ${v.name} vrf-export`, v.exportPolicies));
    }
    return [...new Set(errors)];
  }

  async apply(next: ConfigTree, prev: ConfigTree): Promise<void> {
    try {
      await this.applyConfig(next, prev);
    } finally {
      // only the configuration present at start-up belongs to the restart
      this.restartHandled = true;
    }
  }

  private async applyConfig(next: ConfigTree, prev: ConfigTree): Promise<void> {
    const policy = new PolicyEngine(tree(next['policy-options']));
    const policyChanged = JSON.stringify(next['policy-options'] ?? null) !== JSON.stringify(prev['policy-options'] ?? null);
    const configs = new Map<string, InstanceConfig>(resolveAll(next).map((c) => [c.name, c]));
    this.interfaces = configuredInterfaces(next);
    this.primaries = primaryAddresses(next);
    for (const [name, inst] of this.instances) {
      if (!configs.has(name)) {
        inst.stop();
        this.instances.delete(name);
        this.instanceList = [...this.instances.values()];
        this.refilterRib();
        this.log(`bgp: instance ${name} removed`);
      }
    }
    for (const [name, cfg] of configs) {
      let inst = this.instances.get(name);
      if (!inst) {
        inst = new BgpInstance(cfg, policy, this.rib, this.log, this.transportFor(name), (t) => this.ribRoutes(t));
        this.instances.set(name, inst);
        this.instanceList = [...this.instances.values()];
        inst.cx.shadowed.onNewTable = this.refilterRib;
        this.refilterRib();
        // a restarted controller is the restarting speaker where graceful restart is configured
        if (this.opts.restarting && !this.restartHandled && [...cfg.peers.values()].some((p) => p.gracefulRestart?.configured)) inst.deferRouting(this.opts.deferralSeconds ?? 120, this.opts.forwardingPreserved ?? true);
        if (cfg.peers.size) this.listen();
        for (const p of cfg.peers.values()) inst.addNeighbor(p);
        continue;
      }
      const old = inst.cfg;
      inst.cfg = cfg;
      inst.policy = policy;
      let soft = policyChanged || JSON.stringify(old.multipath) !== JSON.stringify(cfg.multipath);
      for (const addr of [...inst.neighbors.keys()]) if (!cfg.peers.has(addr)) inst.removeNeighbor(addr);
      for (const p of cfg.peers.values()) {
        const nb = inst.neighbors.get(p.address);
        if (!nb) {
          this.listen();
          inst.addNeighbor(p);
          continue;
        }
        const before = old.peers.get(p.address)!;
        if (sessionKey(before, old) !== sessionKey(p, cfg)) {
          nb.cfg = p;
          if (p.shutdown) nb.stop(CeaseSubcode.AdministrativeShutdown);
          else if (before.shutdown) nb.start();
          else nb.stop(CeaseSubcode.OtherConfigurationChange, true);
        } else {
          if (JSON.stringify([before.import, before.export, before.cluster, before.multipath, before.localPreference, before.removePrivate, before.asOverride]) !==
            JSON.stringify([p.import, p.export, p.cluster, p.multipath, p.localPreference, p.removePrivate, p.asOverride])) soft = true;
          nb.reconfigure(p);
        }
      }
      inst.reconfigureVrfs();
      this.refilterRib();
      if (soft) inst.softReconfigure();
    }
    this.bfdHook?.sync(this.instances.values(), this.interfaces);
    await this.ready();
    this.applyMd5Keys();
  }

  consumer(): ConfigConsumer {
    return {
      name: 'bgp',
      validate: (next) => this.validate(next),
      apply: (next, prev) => this.apply(next, prev),
    };
  }

  /** `clear bgp neighbor ADDR [soft|soft-inbound]` */
  clear(address: string, mode: 'hard' | 'soft' | 'soft-inbound'): string {
    for (const inst of this.instances.values()) {
      const nb = inst.neighbors.get(address);
      if (!nb) continue;
      if (mode === 'hard') {
        nb.stop(CeaseSubcode.AdministrativeReset, true);
        return `Cleared BGP neighbor ${address}`;
      }
      if (mode === 'soft') {
        inst.softOutbound(nb);
        return `Soft-cleared (outbound) BGP neighbor ${address}`;
      }
      inst.softInbound(nb);
      const asked = inst.requestRefresh(nb);
      return `Soft-cleared (inbound) BGP neighbor ${address}${asked ? ', route refresh sent' : ''}`;
    }
    throw new Error(`no BGP neighbor ${address}`);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    for (const inst of this.instances.values()) inst.stop();
    this.instances.clear();
    this.instanceList = [];
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
