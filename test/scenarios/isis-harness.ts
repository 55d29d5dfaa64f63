/**
 * IS-IS scenarios: cnr's real IS-IS instance (src/controller/protocols/isis) with simulated
 * neighbours and a simulated clock, feeding a real RIB. The harness only plays the
 * neighbours — their hellos, LSPs and SNPs built from an event's fields and encoded by the
 * wire codec, or raw bytes — and moves time in 100 ms steps; the state after a step is plain
 * JSON: what cnr sent (decoded and summarised; hellos counted), its adjacencies, its LSDB, the
 * routes it put in the RIB, and its dropped-PDU counters. Formats: test/scenarios/README.md.
 */
import {
  ALL_ISS,
  ALL_L1_ISS,
  ALL_L2_ISS,
  AdjacencyState,
  decodeIsisFrame,
  decodePdu,
  encodeIsisFrameHeader,
  encodePduBytes,
  formatLspId,
  formatNodeId,
  ISIS_FRAME_HEADER_LEN,
  IsisError,
  Nlpid,
  parseAreaAddress,
  parseSystemId,
  type Level,
  type LspEntry,
  type Pdu,
  type Tlv,
} from '../../src/wire/isis/index.js';
import { formatIpv4, formatPrefix, parsePrefix, tryParseIpv4, tryParseIpv6, type Ipv6, type Label, type Mac } from '../../src/lib/addr.js';
import { parseConfig } from '../../src/controller/config/notation.js';
import { resolveIsis } from '../../src/controller/protocols/isis/config.js';
import { IsisInstance } from '../../src/controller/protocols/isis/instance.js';
import { srLabels } from '../../src/controller/protocols/isis/sr.js';
import { remainingLifetime } from '../../src/controller/protocols/isis/rib.js';
import { Rib } from '../../src/controller/rib/rib.js';
import type { RibApi, RibRoute } from '../../src/controller/rib/types.js';
import { hex } from '../support/wire.js';
import type { ScenarioEvent } from './runner.js';

/** config.json: cnr's configuration as set lines, and the neighbours the harness plays. */
export interface IsisScenarioConfig {
  readonly config: readonly string[];
  readonly neighbors: Record<string, { readonly interface: string; readonly 'system-id': string; readonly mac: string; readonly ipv4?: string; readonly ipv6?: string; readonly area?: string }>;
  /** interfaces and their MACs (cnr's side) */
  readonly interfaces: Record<string, string>;
}

const FIELDS: Record<string, readonly string[]> = {
  'p2p-hello': ['neighbor', 'state', 'three-way', 'neighbor-system-id', 'neighbor-circuit-id', 'holding-time', 'circuit-type', 'area'],
  'lan-hello': ['neighbor', 'level', 'priority', 'lists-us', 'lan-id', 'holding-time', 'area'],
  lsp: ['neighbor', 'lsp-id', 'sequence', 'lifetime', 'is-neighbors', 'prefixes', 'srgb', 'overload', 'hostname', 'corrupt-checksum'],
  csnp: ['neighbor', 'entries'],
  psnp: ['neighbor', 'entries'],
  'ack-all': ['neighbor'],
  raw: ['neighbor', 'hex'],
  'time-passes': ['ms'],
  link: ['interface', 'up'],
  'rib-route': ['table', 'prefix', 'protocol', 'next-hop', 'withdraw'],
};

function macOf(s: string): Mac {
  return Uint8Array.from(s.split(':').map((x) => parseInt(x, 16))) as Mac;
}

/** The RIB the instance feeds, remembering every table and prefix it touched (to list them). */
class ListedRib extends Rib {
  readonly touched = new Map<string, Set<string>>();
  override announce(table: string, source: string, route: RibRoute): void {
    super.announce(table, source, route);
    let s = this.touched.get(table);
    if (!s) this.touched.set(table, (s = new Set()));
    s.add(route.prefix);
  }
}

interface SentLine {
  key: string;
  summary: Record<string, unknown>;
  at: number[];
}

export class IsisScenario {
  private readonly inst: IsisInstance;
  private readonly rib = new ListedRib();
  private now = 0;
  private sent: SentLine[] = [];
  private log: string[] = [];
  private spfSeen = 0;
  private readonly linkUp = new Map<string, boolean>();
  /** LSPs cnr sent per neighbour, for ack-all */
  private readonly unacked = new Map<string, Map<string, LspEntry>>();

  constructor(private readonly sc: IsisScenarioConfig) {
    const tree = parseConfig(sc.config.join('\n') + '\n', 'set');
    const cfg = resolveIsis(tree);
    if (!cfg) throw new Error('config.json: no IS-IS configuration (a NET on lo0 and protocols isis)');
    for (const i of Object.keys(sc.interfaces)) this.linkUp.set(i, true);
    this.inst = new IsisInstance(cfg, this.rib as RibApi, {
      send: (ifname, frame) => {
        if (!this.linkUp.get(ifname)) return false;
        this.record(ifname, frame);
        return true;
      },
      macOf: (ifname) => (this.sc.interfaces[ifname] && this.linkUp.get(ifname) ? macOf(this.sc.interfaces[ifname]) : undefined),
      log: (m) => this.log.push(`${this.now} ms: ${m.replace(/^isis: /, '')}`),
      random: () => 1,
    }, 0);
  }

  private nb(name: unknown) {
    const n = this.sc.neighbors[String(name)];
    if (!n) throw new Error(`no neighbor ${String(name)} in config.json`);
    return n;
  }

  run(e: ScenarioEvent): void {
    const allowed = FIELDS[e.event];
    if (!allowed) throw new Error(`unknown event ${e.event}`);
    for (const f of Object.keys(e)) if (f !== 'event' && f !== 'comment' && !allowed.includes(f)) throw new Error(`event ${e.event}: unknown field ${f}`);
    switch (e.event) {
      case 'time-passes': {
        const end = this.now + Number(e['ms']);
        while (this.now < end) {
          this.now = Math.min(end, this.now + 100);
          this.inst.tick(this.now);
        }
        return;
      }
      case 'link':
        this.linkUp.set(String(e['interface']), e['up'] === true);
        this.inst.linkChanged(String(e['interface']), e['up'] === true, this.now);
        return;
      case 'rib-route': {
        // another protocol's route (static, direct, ...) in the RIB, as the export policy sees it
        const table = String(e['table'] ?? 'inet.0');
        // (protocol isis: a route of ours for the prefix, preference 18, as the RIB's listener tells it)
        const protocol = String(e['protocol'] ?? 'static') as RibRoute['protocol'];
        const previous = this.rib.get(table, String(e['prefix']))?.protocol;
        if (e['withdraw'] === true) this.rib.withdraw(table, protocol, String(e['prefix']));
        else this.rib.announce(table, protocol, { prefix: String(e['prefix']), protocol, preference: protocol === 'isis' ? 18 : 5, nexthops: [{ gateway: String(e['next-hop'] ?? '10.0.0.2'), interface: Object.keys(this.sc.interfaces)[0]! }] });
        this.inst.ribChanged(table, this.rib.get(table, String(e['prefix'])) ?? { protocol }, this.now, previous);
        return;
      }
      case 'raw': {
        const n = this.nb(e['neighbor']);
        this.inst.frameReceived(n.interface, hex(String(e['hex'])), this.now);
        return;
      }
      case 'ack-all': {
        const n = this.nb(e['neighbor']);
        const m = this.unacked.get(n.interface) ?? new Map();
        this.deliver(String(e['neighbor']), { kind: 'psnp', level: 2, maxAreaAddresses: 0, sourceId: { systemId: parseSystemId(n['system-id']), pseudonode: 0 }, tlvs: m.size ? [{ type: 'lsp-entries', entries: [...m.values()] }] : [] });
        m.clear();
        return;
      }
      default:
        this.deliver(String(e['neighbor']), this.pdu(e), e['corrupt-checksum'] === true);
    }
  }

  private pdu(e: ScenarioEvent): Pdu {
    const n = this.nb(e['neighbor']);
    const sys = parseSystemId(n['system-id']);
    const area = parseAreaAddress(String(e['area'] ?? n.area ?? '49.0001'));
    const addrTlvs: Tlv[] = [];
    const v4 = n.ipv4 ? tryParseIpv4(n.ipv4) : undefined;
    if (v4 !== undefined) addrTlvs.push({ type: 'ipv4-interface-addresses', addresses: [v4] });
    const v6 = n.ipv6 ? tryParseIpv6(n.ipv6) : undefined;
    if (v6) addrTlvs.push({ type: 'ipv6-interface-addresses', addresses: [v6 as Ipv6] });
    switch (e.event) {
      case 'p2p-hello': {
        const tlvs: Tlv[] = [{ type: 'area-addresses', areas: [area] }, { type: 'protocols-supported', nlpids: [Nlpid.Ipv4, Nlpid.Ipv6] }, ...addrTlvs];
        if (e['three-way'] !== false) {
          const state = String(e['state'] ?? 'up');
          const s = state === 'up' ? AdjacencyState.Up : state === 'initializing' ? AdjacencyState.Initializing : AdjacencyState.Down;
          const circuit = this.inst.cx.circuits.get(n.interface);
          const nsys = e['neighbor-system-id'] ?? (s === AdjacencyState.Down ? undefined : this.inst.cx.cfg.systemId);
          const ncirc = e['neighbor-circuit-id'] ?? (s === AdjacencyState.Down ? undefined : circuit?.extendedId);
          tlvs.push({ type: 'p2p-adjacency', adjacency: { state: s, extLocalCircuitId: 7, ...(nsys !== undefined ? { neighborSystemId: parseSystemId(String(nsys)), ...(ncirc !== undefined ? { neighborExtCircuitId: Number(ncirc) } : {}) } : {}) } });
        }
        return { kind: 'p2p-hello', maxAreaAddresses: 0, circuitType: Number(e['circuit-type'] ?? 2), sourceId: sys, holdingTime: Number(e['holding-time'] ?? 30), localCircuitId: 7, tlvs };
      }
      case 'lan-hello': {
        const tlvs: Tlv[] = [{ type: 'area-addresses', areas: [area] }, { type: 'protocols-supported', nlpids: [Nlpid.Ipv4, Nlpid.Ipv6] }, ...addrTlvs];
        // the neighbour lists the MACs it hears: cnr's, once it has heard cnr
        if (e['lists-us'] !== false) tlvs.push({ type: 'is-neighbors', neighbors: [macOf(this.sc.interfaces[n.interface]!)] });
        const lanId = String(e['lan-id'] ?? `${n['system-id']}.01`);
        return {
          kind: 'lan-hello',
          level: Number(e['level'] ?? 2) as Level,
          maxAreaAddresses: 0,
          circuitType: 2,
          sourceId: sys,
          holdingTime: Number(e['holding-time'] ?? 30),
          priority: Number(e['priority'] ?? 64),
          lanId: { systemId: parseSystemId(lanId.slice(0, 14)), pseudonode: parseInt(lanId.slice(15, 17), 16) },
          tlvs,
        };
      }
      case 'lsp': {
        const tlvs: Tlv[] = [{ type: 'area-addresses', areas: [area] }, { type: 'protocols-supported', nlpids: [Nlpid.Ipv4, Nlpid.Ipv6] }];
        const id = String(e['lsp-id'] ?? `${n['system-id']}.00-00`);
        const origin = id.slice(0, 14);
        if (e['hostname'] !== undefined) tlvs.push({ type: 'hostname', hostname: String(e['hostname']) });
        const srgb = e['srgb'] as [number, number] | undefined;
        if (srgb) tlvs.push({ type: 'router-capability', routerId: tryParseIpv4('192.0.2.1')!, flags: { s: false, d: false }, subTlvs: [{ type: 'sr-capabilities', flags: { i: true, v: true }, ranges: [{ range: srgb[1], first: { label: srgb[0] as Label } }] }, { type: 'sr-algorithms', algorithms: [0] }] });
        const isn = (e['is-neighbors'] ?? []) as { id: string; metric: number }[];
        if (isn.length) tlvs.push({ type: 'extended-is-reachability', neighbors: isn.map((x) => ({ neighbor: { systemId: parseSystemId(x.id.slice(0, 14)), pseudonode: x.id.length > 14 ? parseInt(x.id.slice(15), 16) : 0 }, metric: x.metric, subTlvs: [] })) });
        const prefixes = (e['prefixes'] ?? []) as { prefix: string; metric: number; sid?: number; 'no-php'?: boolean }[];
        const sids = (p: { sid?: number; 'no-php'?: boolean }) => (p.sid === undefined ? [] : [{ type: 'prefix-sid' as const, flags: { r: false, n: true, p: p['no-php'] === true, e: false, v: false, l: false }, algorithm: 0, sid: { index: p.sid } }]);
        const p4 = prefixes.filter((p) => !p.prefix.includes(':'));
        const p6 = prefixes.filter((p) => p.prefix.includes(':'));
        if (p4.length) tlvs.push({ type: 'extended-ipv4-reachability', prefixes: p4.map((p) => ({ prefix: parsePrefix(p.prefix), metric: p.metric, down: false, subTlvs: sids(p) })) });
        if (p6.length) tlvs.push({ type: 'ipv6-reachability', prefixes: p6.map((p) => ({ prefix: parsePrefix(p.prefix), metric: p.metric, down: false, external: false, subTlvs: sids(p) })) });
        const lifetime = Number(e['lifetime'] ?? 1200);
        return {
          kind: 'lsp',
          level: 2,
          maxAreaAddresses: 0,
          remainingLifetime: lifetime,
          lspId: { systemId: parseSystemId(origin), pseudonode: parseInt(id.slice(15, 17), 16), fragment: parseInt(id.slice(18, 20), 16) },
          sequence: Number(e['sequence'] ?? 1),
          checksum: 0,
          partitionRepair: false,
          attached: 0,
          overload: e['overload'] === true,
          isType: 3,
          tlvs: lifetime === 0 ? [] : tlvs,
        };
      }
      case 'csnp':
      case 'psnp': {
        const entries = ((e['entries'] ?? []) as { id: string; sequence: number; lifetime?: number; checksum?: number }[]).map((x) => ({
          remainingLifetime: x.lifetime ?? 1200,
          lspId: { systemId: parseSystemId(x.id.slice(0, 14)), pseudonode: parseInt(x.id.slice(15, 17), 16), fragment: parseInt(x.id.slice(18, 20), 16) },
          sequence: x.sequence,
          checksum: x.checksum ?? 0,
        }));
        const tlvs: Tlv[] = entries.length ? [{ type: 'lsp-entries', entries }] : [];
        const sourceId = { systemId: sys, pseudonode: 0 };
        if (e.event === 'psnp') return { kind: 'psnp', level: 2, maxAreaAddresses: 0, sourceId, tlvs };
        return {
          kind: 'csnp',
          level: 2,
          maxAreaAddresses: 0,
          sourceId,
          startLspId: { systemId: parseSystemId('0000.0000.0000'), pseudonode: 0, fragment: 0 },
          endLspId: { systemId: parseSystemId('ffff.ffff.ffff'), pseudonode: 255, fragment: 255 },
          tlvs,
        };
      }
    }
    throw new Error(`event ${e.event}`);
  }

  private deliver(neighbor: string, pdu: Pdu, corrupt = false): void {
    const n = this.nb(neighbor);
    const bytes = encodePduBytes(pdu);
    if (corrupt) bytes[bytes.length - 1]! ^= 0xff;
    const frame = new Uint8Array(ISIS_FRAME_HEADER_LEN + bytes.length);
    const dst = pdu.kind === 'p2p-hello' || this.p2p(n.interface) ? ALL_ISS : pdu.level === 1 ? ALL_L1_ISS : ALL_L2_ISS;
    encodeIsisFrameHeader(dst, macOf(n.mac), bytes.length, frame, 0);
    frame.set(bytes, ISIS_FRAME_HEADER_LEN);
    this.inst.frameReceived(n.interface, frame, this.now);
  }

  private p2p(ifname: string): boolean {
    return this.inst.cx.circuits.get(ifname)?.cfg.pointToPoint ?? true;
  }

  private record(ifname: string, frame: Uint8Array): void {
    const f = decodeIsisFrame(frame);
    if (f instanceof IsisError) throw new Error(`cnr sent a bad frame: ${f.toString()}`);
    const p = decodePdu(f.pdu);
    if (p instanceof IsisError) throw new Error(`cnr sent a bad PDU: ${p.toString()}`);
    const summary: Record<string, unknown> = { interface: ifname, pdu: p.kind === 'p2p-hello' ? 'p2p-hello' : `l${p.level}-${p.kind}` };
    switch (p.kind) {
      case 'p2p-hello': {
        const t = p.tlvs.find((x) => x.type === 'p2p-adjacency');
        if (t?.type === 'p2p-adjacency') {
          summary['three-way'] = ['up', 'initializing', 'down'][t.adjacency.state];
          if (t.adjacency.neighborSystemId) summary['neighbor'] = t.adjacency.neighborSystemId;
        }
        summary['holding-time'] = p.holdingTime;
        summary['circuit-type'] = p.circuitType;
        break;
      }
      case 'lan-hello':
        summary['lan-id'] = formatNodeId(p.lanId);
        summary['priority'] = p.priority;
        summary['is-neighbors'] = p.tlvs.flatMap((t) => (t.type === 'is-neighbors' ? t.neighbors.map((m) => [...m].map((b) => b.toString(16).padStart(2, '0')).join(':')) : []));
        break;
      case 'lsp': {
        summary['lsp-id'] = formatLspId(p.lspId);
        summary['sequence'] = p.sequence;
        summary['lifetime'] = p.remainingLifetime;
        if (p.overload) summary['overload'] = true;
        summary['tlvs'] = describeTlvs(p.tlvs);
        let m = this.unacked.get(ifname);
        if (!m) this.unacked.set(ifname, (m = new Map()));
        m.set(formatLspId(p.lspId), { remainingLifetime: p.remainingLifetime, lspId: p.lspId, sequence: p.sequence, checksum: p.checksum });
        break;
      }
      case 'csnp':
      case 'psnp':
        summary['entries'] = p.tlvs.flatMap((t) => (t.type === 'lsp-entries' ? t.entries.map((x) => x.sequence === 0 ? `${formatLspId(x.lspId)} seq 0 (request)` : `${formatLspId(x.lspId)} seq ${x.sequence}${x.remainingLifetime === 0 ? ' purged' : ''}`) : []));
        break;
      default:
        break;
    }
    const key = JSON.stringify(summary);
    const last = this.sent.find((s) => s.key === key);
    if (last && (p.kind === 'p2p-hello' || p.kind === 'lan-hello')) last.at.push(this.now);
    else this.sent.push({ key, summary, at: [this.now] });
  }

  snapshot(): Record<string, unknown> {
    const cx = this.inst.cx;
    const adjacencies = [];
    for (const c of cx.circuits.values()) {
      for (const a of [...(c.p2p ? [c.p2p] : []), ...c.lan.values()]) adjacencies.push({ interface: c.name, system: a.systemId, state: a.state, levels: a.levels, ...(a.adjSid !== undefined ? { 'adj-sid': a.adjSid } : {}) });
    }
    const lsdb: Record<string, string[]> = {};
    for (const level of cx.cfg.levels) {
      lsdb[`level-${level as Level}`] = cx.lsdb.get(level)!.sorted().map((r) => `${r.key} seq ${r.lsp.sequence} lifetime ${remainingLifetime(r, this.now)}${r.own ? ' own' : ''}`);
    }
    const routes: Record<string, string[]> = {};
    for (const [table, prefixes] of [...this.rib.touched].sort()) {
      const lines: string[] = [];
      for (const p of [...prefixes].sort()) {
        const r = this.rib.get(table, p);
        if (!r) continue;
        lines.push(`${p} ${r.protocol}/${r.preference} metric ${r.metric ?? 0} via ${r.nexthops.map((h) => `${h.gateway ?? ''}%${h.interface ?? ''}${h.labels ? ` labels [${h.labels.join(' ')}]` : ''}`).join(', ')}`);
      }
      if (lines.length) routes[table] = lines;
    }
    // mpls.0: the label operations IS-IS put in the RIB's label table
    const labels = this.rib.mpls.entries().map((e) =>
      `${e.label} ${e.action.action === 'pop-lookup' ? `pop, lookup in ${e.action.vrf}` : e.action.nexthops.map((h) => `${h.outLabels.length ? `swap [${h.outLabels.join(' ')}]` : 'pop'} ${h.gateway}%${h.interface}`).join(', ')}`,
    );
    if (labels.length) routes['mpls.0'] = labels;
    const sr: string[] = [];
    for (const level of cx.cfg.levels) {
      const spf = cx.spf.get(level);
      if (spf) for (const s of srLabels(cx, level, spf, this.now)) sr.push(`${s.prefix} index ${s.index} in ${s.inLabel} out ${s.nexthops.map((h) => `${h.outLabel}%${h.interface}`).join(', ')}`);
    }
    // SPF runs since the last step: full (Dijkstra) or partial (prefixes only)
    const spfRuns = cx.spfLog.slice(this.spfSeen).map((r) => `${r.at} ms: level ${r.level} ${r.partial ? 'partial' : 'full'} (${r.reason}): ${r.nodes} nodes, ${r.routes} prefixes`);
    this.spfSeen = cx.spfLog.length;
    const out = {
      sent: this.sent.map((s) => ({ ...s.summary, 'at-ms': s.at.length === 1 ? s.at[0] : s.at })),
      log: this.log,
      adjacencies,
      lsdb,
      routes,
      ...(sr.length ? { sr } : {}),
      spf: spfRuns,
      drops: Object.fromEntries([...cx.stats.drops].sort()),
    };
    this.sent = [];
    this.log = [];
    return out;
  }
}

function describeTlvs(tlvs: readonly Tlv[]): string[] {
  const out: string[] = [];
  for (const t of tlvs) {
    switch (t.type) {
      case 'extended-is-reachability':
        for (const n of t.neighbors) out.push(`is ${formatNodeId(n.neighbor)} metric ${n.metric}${n.subTlvs.map((s) => (s.type === 'adj-sid' && 'label' in s.sid ? ` adj-sid ${s.sid.label}` : '')).join('')}`);
        break;
      case 'extended-ipv4-reachability':
      case 'ipv6-reachability':
        for (const p of t.prefixes) out.push(`prefix ${formatPrefix(p.prefix)} metric ${p.metric}${'external' in p && p.external ? ' external' : ''}${p.subTlvs.map((s) => (s.type === 'prefix-sid' && 'index' in s.sid ? ` sid ${s.sid.index}${s.flags.n ? ' N' : ''}${s.flags.p ? ' P' : ''}` : '')).join('')}`);
        break;
      case 'hostname':
        out.push(`hostname ${t.hostname}`);
        break;
      case 'router-capability':
        out.push(`router-capability ${formatIpv4(t.routerId)} ${t.subTlvs.map((s) => (s.type === 'sr-capabilities' ? `srgb ${s.ranges.map((r) => `${'label' in r.first ? r.first.label : r.first.index}+${r.range}`).join(',')}` : s.type === 'srlb' ? `srlb ${s.ranges.map((r) => `${'label' in r.first ? r.first.label : r.first.index}+${r.range}`).join(',')}` : s.type === 'sr-algorithms' ? `algorithms ${s.algorithms.join(',')}` : '')).join(' ')}`);
        break;
      default:
        break;
    }
  }
  return out;
}
