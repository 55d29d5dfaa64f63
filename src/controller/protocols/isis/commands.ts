/**
 * `show isis ...` over the instance's state, in Junos's text layout, with the same facts as
 * JSON in `data`: interfaces, adjacencies, the database (summary, detail, extensive), the routes SPF
 * computed (with their SR labels), the SPF log, and the counters (PDUs sent and received,
 * dropped PDUs by reason).
 */
import type { CommandResult, OperationalCommand } from '../../types.js';
import { formatIpv4, formatIpv6, formatMac, formatPrefix } from '../../../lib/addr.js';
import { formatNodeId, type Level, type Tlv } from '../../../wire/isis/index.js';
import type { IsisInstance } from './instance.js';
import { lspOf, remainingLifetime } from './rib.js';
import { nexthopsFor } from './decision.js';
import { srLabels } from './sr.js';

type Get = () => IsisInstance | undefined;

function need(get: Get): IsisInstance {
  const i = get();
  if (!i) throw new Error('IS-IS is not running');
  return i;
}

/** A system ID shown by its hostname (TLV 137) when its LSP carries one, as Junos does. */
function nameOf(inst: IsisInstance, systemId: string): string {
  for (const db of inst.cx.lsdb.values()) {
    const h = db.get(`${systemId}.00-00`)?.view.hostname;
    if (h !== undefined) return h;
  }
  return systemId;
}

export function adjacency(inst: IsisInstance): CommandResult {
  const now = Date.now();
  const rows = [];
  for (const c of inst.cx.circuits.values()) {
    for (const a of [...(c.p2p ? [c.p2p] : []), ...c.lan.values()]) {
      rows.push({
        interface: c.name,
        system: nameOf(inst, a.systemId),
        systemId: a.systemId,
        level: a.levels.length === 2 ? 3 : a.levels[0] ?? 0,
        state: a.state === 'up' ? 'Up' : a.state === 'initializing' ? 'Initializing' : 'Down',
        hold: Math.max(0, Math.round((a.expiresAt - now) / 1000)),
        snpa: c.cfg.pointToPoint ? '' : formatMac(a.mac),
        ipv4: a.ipv4,
        ipv6: a.ipv6,
        ...(a.adjSid !== undefined ? { adjSid: a.adjSid } : {}),
        ...(a.adjSid6 !== undefined ? { adjSid6: a.adjSid6 } : {}),
        ...(a.upSince !== undefined ? { upSeconds: Math.round((now - a.upSince) / 1000) } : {}),
      });
    }
  }
  const lines = ['Interface             System         L State        Hold (secs) SNPA'];
  for (const r of rows) lines.push(`${r.interface.padEnd(21)} ${r.system.padEnd(14)} ${r.level} ${r.state.padEnd(12)} ${String(r.hold).padStart(11)}  ${r.snpa}`);
  return { text: lines.join('\n'), data: { adjacencies: rows } };
}

/**
 * `show isis interface`, Junos's columns: the interface (unit 0), the levels it runs (L: 1, 2,
 * or 3 for both), its circuit ID, per level its designated router (the DIS's LAN ID by name on
 * a LAN, "Point to Point", "Passive" or "Disabled") and the metrics of both levels.
 */
export function interfaces(inst: IsisInstance): CommandResult {
  const cx = inst.cx;
  const rows = [...cx.cfg.interfaces.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((cfg) => {
    const c = cx.circuits.get(cfg.name);
    const levels = ([1, 2] as Level[]).filter((l) => cx.cfg.levels.includes(l) && cfg.levels.has(l));
    const dr = (l: Level): string => {
      const lc = cfg.levels.get(l);
      if (!levels.includes(l) || !lc) return 'Disabled';
      if (cfg.passive || lc.passive) return 'Passive';
      if (cfg.pointToPoint) return 'Point to Point';
      const lanId = c?.dis.get(l);
      return lanId ? `${nameOf(inst, lanId.slice(0, 14))}.${lanId.slice(15)}` : '';
    };
    return {
      interface: `${cfg.name}.0`,
      level: levels.reduce((m, l) => m | l, 0),
      circuitId: c ? `0x${c.localId.toString(16)}` : '',
      up: c?.up ?? false,
      pointToPoint: cfg.pointToPoint,
      passive: cfg.passive,
      level1: { dr: dr(1), metric: cfg.levels.get(1)?.metric ?? 0 },
      level2: { dr: dr(2), metric: cfg.levels.get(2)?.metric ?? 0 },
    };
  });
  const lines = ['IS-IS interface database:', `${'Interface'.padEnd(21)} L CirID ${'Level 1 DR'.padEnd(17)} ${'Level 2 DR'.padEnd(17)} L1/L2 Metric`];
  for (const r of rows) lines.push(`${r.interface.padEnd(21)} ${r.level} ${r.circuitId.padStart(5)} ${r.level1.dr.padEnd(17)} ${r.level2.dr.padEnd(17)} ${`${r.level1.metric}/${r.level2.metric}`.padStart(12)}`);
  return { text: lines.join('\n'), data: { interfaces: rows } };
}

function tlvLines(t: Tlv): string[] {
  switch (t.type) {
    case 'area-addresses':
      return t.areas.map((a) => `  Area address: ${a}`);
    case 'protocols-supported':
      return [`  Protocols: ${t.nlpids.map((n) => (n === 0xcc ? 'IP' : n === 0x8e ? 'IPv6' : `0x${n.toString(16)}`)).join(', ')}`];
    case 'hostname':
      return [`  Hostname: ${t.hostname}`];
    case 'te-router-id':
      return [`  Router ID: ${formatIpv4(t.routerId)}`];
    case 'ipv4-interface-addresses':
      return t.addresses.map((a) => `  IP address: ${formatIpv4(a)}`);
    case 'ipv6-interface-addresses':
      return t.addresses.map((a) => `  IPv6 address: ${formatIpv6(a)}`);
    case 'extended-is-reachability':
      return t.neighbors.map((n) => `  IS extended neighbor: ${formatNodeId(n.neighbor)}, Metric: default ${n.metric}${n.subTlvs.map((s) => (s.type === 'adj-sid' ? `, Adj-SID ${'label' in s.sid ? s.sid.label : s.sid.index}` : s.type === 'lan-adj-sid' ? `, LAN Adj-SID ${'label' in s.sid ? s.sid.label : s.sid.index} to ${s.neighborSystemId}` : '')).join('')}`);
    case 'extended-ipv4-reachability':
    case 'ipv6-reachability':
      return t.prefixes.map((p) => `  ${t.type === 'ipv6-reachability' ? 'IPv6' : 'IP'} prefix: ${formatPrefix(p.prefix)} Metric ${p.metric}${p.down ? ' Down' : ' Up'}${p.subTlvs.map((s) => (s.type === 'prefix-sid' ? `, Prefix-SID ${'index' in s.sid ? `index ${s.sid.index}` : `label ${s.sid.label}`}${s.flags.n ? ' N' : ''}${s.flags.p ? ' P' : ''}${s.flags.e ? ' E' : ''}` : '')).join('')}`);
    case 'router-capability':
      return [`  Router capability: ${formatIpv4(t.routerId)}`, ...t.subTlvs.map((s) => (s.type === 'sr-capabilities' || s.type === 'srlb' ? `    ${s.type === 'srlb' ? 'SRLB' : 'SRGB'}: ${s.ranges.map((r) => `${'label' in r.first ? r.first.label : r.first.index} range ${r.range}`).join(', ')}` : s.type === 'sr-algorithms' ? `    SR algorithms: ${s.algorithms.join(', ')}` : `    sub-TLV ${s.code}`))];
    case 'authentication':
      return [`  Authentication: ${t.auth.kind}`];
    default:
      return [];
  }
}

export function database(inst: IsisInstance, detail: 'brief' | 'detail' | 'extensive'): CommandResult {
  const now = Date.now();
  const lines: string[] = [];
  const data: Record<string, unknown[]> = {};
  for (const level of inst.cx.cfg.levels) {
    const db = inst.cx.lsdb.get(level)!;
    const rows = db.sorted().map((r) => {
      const [sys, rest] = [r.lsp.lspId.systemId, r.key.slice(15)];
      return { lspId: `${nameOf(inst, sys)}.${rest}`, rawLspId: r.key, sequence: r.lsp.sequence, checksum: r.lsp.checksum, lifetime: remainingLifetime(r, now), overload: r.lsp.overload, own: r.own, record: r };
    });
    lines.push(`IS-IS level ${level} link-state database:`, 'LSP ID                      Sequence Checksum Lifetime Attributes');
    for (const r of rows) {
      lines.push(`${r.lspId.padEnd(24)} ${('0x' + r.sequence.toString(16)).padStart(12)} ${('0x' + r.checksum.toString(16)).padStart(8)} ${String(r.lifetime).padStart(8)} L1 L2${r.overload ? ' Overload' : ''}`);
      if (detail !== 'brief') for (const t of lspOf(r.record).tlvs) lines.push(...tlvLines(t));
      if (detail === 'extensive') lines.push(`  Length: ${r.record.bytes.length} bytes, ${r.own ? 'originated here' : 'received'}`);
    }
    lines.push(`  ${rows.length} LSPs`, '');
    data[`level${level}`] = rows.map(({ record, ...rest }) => (detail === 'brief' ? rest : { ...rest, tlvs: lspOf(record).tlvs.flatMap((t) => tlvLines(t).map((l) => l.trim())) }));
  }
  return { text: lines.join('\n'), data };
}

export function routes(inst: IsisInstance): CommandResult {
  const rows = [];
  const now = Date.now();
  for (const level of inst.cx.cfg.levels) {
    const spf = inst.cx.spf.get(level);
    if (!spf) continue;
    const labels = new Map(srLabels(inst.cx, level, spf, now).map((s) => [s.prefix, s]));
    for (const [prefix, r] of [...spf.prefixes].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const hops = nexthopsFor(inst.cx, level, r.nextHops, prefix.includes(':') ? 6 : 4);
      const sr = labels.get(prefix);
      rows.push({ prefix, level, metric: r.distance, nexthops: hops.map((h) => ({ interface: h.interface, gateway: h.gateway })), via: r.nextHops.map((h) => nameOf(inst, h.neighbor.slice(0, 14))), ...(sr ? { inLabel: sr.inLabel, outLabels: sr.nexthops.map((h) => h.outLabel) } : {}) });
    }
  }
  const lines = ['Prefix             L Version   Metric Type Interface       NH   Via'];
  for (const r of rows) {
    const first = r.nexthops[0];
    lines.push(`${r.prefix.padEnd(18)} ${r.level} ${String(inst.cx.stats.spfRuns).padStart(7)} ${String(r.metric).padStart(8)} int  ${(first?.interface ?? '').padEnd(15)} IPV${r.prefix.includes(':') ? 6 : 4} ${r.via.join(', ')}`);
    for (const h of r.nexthops.slice(1)) lines.push(`${''.padEnd(45)}${(h.interface ?? '').padEnd(15)}`);
  }
  return { text: lines.join('\n'), data: { routes: rows } };
}

export function spfLog(inst: IsisInstance): CommandResult {
  const lines = ['Node        Count  Duration(ms) Time                      Level Type    Reason'];
  for (const e of inst.cx.spfLog) lines.push(`${String(e.nodes).padStart(4)} ${String(e.routes).padStart(12)} ${e.durationMs.toFixed(2).padStart(13)} ${new Date(e.at).toISOString().padEnd(25)} ${e.level}     ${(e.partial ? 'PRC' : 'SPF').padEnd(7)} ${e.reason}`);
  return { text: lines.join('\n'), data: { log: inst.cx.spfLog } };
}

export function statistics(inst: IsisInstance): CommandResult {
  const s = inst.cx.stats;
  const kinds = [...new Set([...s.rx.keys(), ...s.tx.keys()])].sort();
  const lines = ['PDU type       Received    Processed        Drops         Sent'];
  for (const k of kinds) lines.push(`${k.padEnd(14)} ${String(s.rx.get(k) ?? 0).padStart(8)} ${String(s.rx.get(k) ?? 0).padStart(12)} ${'0'.padStart(12)} ${String(s.tx.get(k) ?? 0).padStart(12)}`);
  let dropped = 0;
  for (const v of s.drops.values()) dropped += v;
  lines.push('', `Dropped PDUs: ${dropped}`);
  for (const [k, v] of [...s.drops].sort()) lines.push(`  ${k}: ${v}`);
  lines.push(`LSPs originated: ${s.lspsOriginated}`, `SPF runs: ${s.spfRuns}`);
  return { text: lines.join('\n'), data: { received: Object.fromEntries(s.rx), sent: Object.fromEntries(s.tx), dropped, drops: Object.fromEntries(s.drops), lspsOriginated: s.lspsOriginated, spfRuns: s.spfRuns } };
}

export function isisCommands(get: Get): OperationalCommand[] {
  return [
    { path: ['show', 'isis', 'adjacency'], help: 'IS-IS adjacencies', run: async () => adjacency(need(get)) },
    { path: ['show', 'isis', 'interface'], help: 'IS-IS interfaces: levels, circuit ID, designated router per level, metrics', run: async () => interfaces(need(get)) },
    {
      path: ['show', 'isis', 'database'],
      help: 'IS-IS link-state database [detail | extensive]',
      run: async (args) => {
        const d = args[0] ?? 'brief';
        if (d !== 'brief' && d !== 'detail' && d !== 'extensive') throw new Error(`show isis database: unknown argument '${d}' (detail, extensive)`);
        return database(need(get), d);
      },
    },
    { path: ['show', 'isis', 'route'], help: 'Routes computed by IS-IS SPF', run: async () => routes(need(get)) },
    { path: ['show', 'isis', 'spf', 'log'], help: 'IS-IS SPF runs', run: async () => spfLog(need(get)) },
    { path: ['show', 'isis', 'statistics'], help: 'IS-IS PDU counters and dropped PDUs by reason', run: async () => statistics(need(get)) },
  ];
}

export type { Level };
