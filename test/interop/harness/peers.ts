/**
 * One face for the three full BGP implementations a cnr interop suite runs against, so that
 * the same assertions (session up, routes both ways, withdrawals, route refresh, communities,
 * policy) run unchanged against FRR, BIRD and GoBGP. Each adapter starts its daemon with
 * two sessions toward cnr — IPv4 unicast over IPv4 transport and IPv6 unicast over IPv6
 * transport — and answers questions in the same terms: prefixes, AS paths as text
 * ("65000 65001"), and communities as "ASN:value" strings.
 */
import type { Lab } from './lab.js';
import { Bird, birdConfig } from './bird.js';
import { Frr, frrBgpConfig } from './frr.js';
import { Gobgp, gobgpConfig } from './gobgp.js';

export interface Topology {
  cnrAs: number;
  cnr4: string;
  cnr6: string;
  peer4: string;
  peer6: string;
}

export interface PeerRoute {
  asPath: string;
  communities: string[];
}

export interface PeerUnderTest {
  readonly kind: 'frr' | 'bird' | 'gobgp';
  readonly asn: number;
  /** the community every route this peer announces carries */
  readonly community: string;
  /** routes in the daemon's own config, announced from its start and again after a restart */
  readonly configured: string[];
  start(lab: Lab, ns: string, t: Topology): Promise<void>;
  pid(): number;
  established(cnrAddr: string): Promise<boolean>;
  announce(prefix: string): Promise<void>;
  withdraw(prefix: string): Promise<void>;
  /** the route the peer holds for a prefix (learned from cnr), if any */
  route(prefix: string): Promise<PeerRoute | undefined>;
  /** UPDATE messages received from cnr so far */
  updatesIn(cnrAddr: string): Promise<number>;
  /** ROUTE-REFRESH messages received from cnr so far, where the daemon counts them */
  refreshIn(cnrAddr: string): Promise<number | undefined>;
  /** ask cnr to send its routes again (ROUTE-REFRESH); absent where the daemon cannot be made to */
  requestRefresh?(cnrAddr: string): Promise<void>;
}

const fam = (p: string) => (p.includes(':') ? 'ipv6' : 'ipv4');
const commText = (n: number) => `${n >>> 16}:${n & 0xffff}`;

export class FrrPeer implements PeerUnderTest {
  readonly kind = 'frr' as const;
  readonly community: string;
  readonly configured = ['203.0.113.0/24', '2001:db8:ff::/48'];
  frr!: Frr;
  constructor(readonly asn = 65001, private readonly gracefulRestart = true) {
    this.community = `${asn}:100`;
  }
  async start(lab: Lab, ns: string, t: Topology): Promise<void> {
    const conf = frrBgpConfig({
      asn: this.asn,
      routerId: t.peer4,
      routerLines: this.gracefulRestart ? ['bgp graceful-restart', 'bgp graceful-restart restart-time 60', 'bgp graceful-restart preserve-fw-state'] : [],
      neighbors: [
        { address: t.cnr4, asn: t.cnrAs, lines: [`neighbor ${t.cnr4} timers connect 1`] },
        { address: t.cnr6, asn: t.cnrAs, lines: [`neighbor ${t.cnr6} timers connect 1`] },
      ],
      networks: this.configured.map((prefix) => ({ prefix, routeMap: 'COMM' })),
      extra: `route-map COMM permit 10\n set community ${this.community}\nexit`,
    });
    this.frr = await Frr.start(lab, ns, 'peer', { bgpd: conf });
  }
  pid(): number {
    return this.frr.bgpd.pid;
  }
  async established(a: string): Promise<boolean> {
    return this.frr.neighborState(a) === 'Established';
  }
  async announce(p: string): Promise<void> {
    this.frr.configureBgp(this.asn, fam(p), [`network ${p} route-map COMM`]);
  }
  async withdraw(p: string): Promise<void> {
    this.frr.configureBgp(this.asn, fam(p), [`no network ${p} route-map COMM`]);
  }
  async route(p: string): Promise<PeerRoute | undefined> {
    let j: any;
    try {
      j = this.frr.json(`show bgp ${fam(p)} unicast ${p} json`);
    } catch {
      return undefined;
    }
    const path = (j?.paths as any[] | undefined)?.find((x) => x?.bestpath?.overall || x?.valid) ?? j?.paths?.[0];
    if (!path || j.prefix !== p) return undefined;
    const c = path.community?.string as string | undefined;
    return { asPath: String(path.aspath?.string ?? ''), communities: c ? c.split(' ') : [] };
  }
  private stats(a: string): any {
    return this.frr.json<Record<string, any>>(`show bgp neighbors ${a} json`)[a]?.messageStats ?? {};
  }
  async updatesIn(a: string): Promise<number> {
    return Number(this.stats(a).updatesRecv ?? 0);
  }
  async refreshIn(a: string): Promise<number | undefined> {
    return Number(this.stats(a).routeRefreshRecv ?? 0);
  }
  async requestRefresh(a: string): Promise<void> {
    this.frr.vtysh(`clear bgp ${fam(a)} unicast ${a} soft in`);
  }
}

export class BirdPeer implements PeerUnderTest {
  readonly kind = 'bird' as const;
  readonly community: string;
  readonly configured = ['203.0.113.0/24', '2001:db8:ff::/48'];
  bird!: Bird;
  private t!: Topology;
  private readonly statics = new Set<string>();
  constructor(readonly asn = 65002) {
    this.community = `${asn}:100`;
    for (const p of this.configured) this.statics.add(p);
  }
  private protoName(a: string): string {
    return a.includes(':') ? 'cnr6' : 'cnr4';
  }
  private config(): string {
    const [hi, lo] = this.community.split(':');
    const attrs = `bgp_community.add((${hi},${lo}));`;
    const routes = [...this.statics];
    return birdConfig({
      asn: this.asn,
      routerId: this.t.peer4,
      static4: routes.filter((p) => !p.includes(':')).map((prefix) => ({ prefix, attrs })),
      static6: routes.filter((p) => p.includes(':')).map((prefix) => ({ prefix, attrs })),
      neighbors: [
        { name: 'cnr4', address: this.t.cnr4, asn: this.t.cnrAs, channels: 'ipv4 { import all; export where source = RTS_STATIC; };', lines: ['connect retry time 1;'] },
        { name: 'cnr6', address: this.t.cnr6, asn: this.t.cnrAs, channels: 'ipv6 { import all; export where source = RTS_STATIC; };', lines: ['connect retry time 1;'] },
      ],
    });
  }
  async start(lab: Lab, ns: string, t: Topology): Promise<void> {
    this.t = t;
    this.bird = await Bird.start(lab, ns, 'peer', this.config());
  }
  pid(): number {
    return this.bird.daemon.pid;
  }
  async established(a: string): Promise<boolean> {
    return this.bird.protocolState(this.protoName(a)) === 'Established';
  }
  async announce(p: string): Promise<void> {
    this.statics.add(p);
    this.bird.reconfigure(this.config());
  }
  async withdraw(p: string): Promise<void> {
    this.statics.delete(p);
    this.bird.reconfigure(this.config());
  }
  async route(p: string): Promise<PeerRoute | undefined> {
    const out = this.bird.showRouteAll(p, 'where', 'source = RTS_BGP');
    if (!out.includes(p)) return undefined;
    const asPath = /BGP\.as_path:\s*(.*)/.exec(out)?.[1]?.trim() ?? '';
    const comm = /BGP\.community:\s*(.*)/.exec(out)?.[1] ?? '';
    const communities = [...comm.matchAll(/\((\d+),(\d+)\)/g)].map((m) => `${m[1]}:${m[2]}`);
    return { asPath, communities };
  }
  private counters(a: string): { importUpdates: number; exportUpdates: number } {
    const out = this.bird.birdc('show', 'protocols', 'all', this.protoName(a));
    const imp = /Import updates:\s+(\d+)/.exec(out);
    const exp = /Export updates:\s+(\d+)/.exec(out);
    return { importUpdates: Number(imp?.[1] ?? 0), exportUpdates: Number(exp?.[1] ?? 0) };
  }
  async updatesIn(a: string): Promise<number> {
    return this.counters(a).importUpdates;
  }
  /** BIRD does not count ROUTE-REFRESH; a refresh makes it feed its exports again, which it counts */
  async refreshIn(a: string): Promise<number | undefined> {
    return this.counters(a).exportUpdates;
  }
  async requestRefresh(a: string): Promise<void> {
    this.bird.birdc('reload', 'in', this.protoName(a));
  }
}

export class GobgpPeer implements PeerUnderTest {
  readonly kind = 'gobgp' as const;
  readonly community: string;
  readonly configured: string[] = [];
  gobgp!: Gobgp;
  constructor(readonly asn = 65003) {
    this.community = `${asn}:100`;
  }
  async start(lab: Lab, ns: string, t: Topology): Promise<void> {
    const conf = gobgpConfig({
      asn: this.asn,
      routerId: t.peer4,
      neighbors: [
        { address: t.cnr4, asn: t.cnrAs, tail: '  [neighbors.timers.config]\n    connect-retry = 1' },
        { address: t.cnr6, asn: t.cnrAs, tail: '  [neighbors.timers.config]\n    connect-retry = 1' },
      ],
    });
    this.gobgp = await Gobgp.start(lab, ns, 'peer', conf);
  }
  pid(): number {
    return this.gobgp.daemon.pid;
  }
  async established(a: string): Promise<boolean> {
    return (await this.gobgp.neighborState(a)) === 'established';
  }
  async announce(p: string): Promise<void> {
    await this.gobgp.addRoute(p, ['community', this.community]);
  }
  async withdraw(p: string): Promise<void> {
    await this.gobgp.delRoute(p);
  }
  async route(p: string): Promise<PeerRoute | undefined> {
    let j: Record<string, any[]>;
    try {
      j = await this.gobgp.json('global', 'rib', '-a', fam(p), p);
    } catch {
      return undefined;
    }
    const paths = j[p];
    const path = paths?.find((x) => x?.best) ?? paths?.[0];
    if (!path) return undefined;
    const attrs: any[] = path.attrs ?? [];
    const asAttr = attrs.find((a) => a.type === 2);
    const asPath = (asAttr?.as_paths ?? [])
      .map((s: any) => (s.segment_type === 1 ? `{${(s.asns ?? []).join(' ')}}` : (s.asns ?? []).join(' ')))
      .join(' ');
    const comm = attrs.find((a) => a.type === 8);
    return { asPath, communities: (comm?.communities ?? []).map((n: number) => commText(n)) };
  }
  private async messages(a: string): Promise<any> {
    const j = await this.gobgp.json<any>('neighbor', a);
    return j?.state?.messages?.received ?? {};
  }
  async updatesIn(a: string): Promise<number> {
    return Number((await this.messages(a)).update ?? 0);
  }
  async refreshIn(a: string): Promise<number | undefined> {
    return Number((await this.messages(a)).refresh ?? 0);
  }
  // no requestRefresh: `gobgp neighbor ADDR softresetin` re-filters GoBGP's own Adj-RIB-In and
  // sends no ROUTE-REFRESH (its sent-message counters stay put), so GoBGP cannot ask cnr
}
