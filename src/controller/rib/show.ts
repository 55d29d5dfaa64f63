/**
 * Junos-like text for `show route`, `show route summary`, `show route forwarding-table` and
 * `show interfaces terse`. Pure functions from plain data to text, so the structured `data`
 * the APIs return and the text the CLI prints come from the same values.
 */
import type { FibNexthop, ShownCandidate, ShownEntry, TableInfo } from './rib.js';
import type { RibRoute } from './types.js';

const PROTOCOL_NAME: Record<string, string> = { direct: 'Direct', local: 'Local', static: 'Static', bgp: 'BGP', isis: 'IS-IS', aggregate: 'Aggregate' };
const PROTOCOL_LETTER: Record<string, string> = { direct: 'D', local: 'L', static: 'S', bgp: 'B', isis: 'I', aggregate: 'A' };

export type RouteDetail = 'brief' | 'detail' | 'extensive' | 'terse';

export function protocolName(p: string): string {
  return PROTOCOL_NAME[p] ?? p;
}

/** Junos-style age: 00:01:02, 3d 04:05:06, 2w1d 03:04:05 */
export function formatAge(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const w = Math.floor(s / 604800);
  s -= w * 604800;
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const hms = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60].map((n) => String(n).padStart(2, '0')).join(':');
  return (w ? `${w}w` : '') + (d || w ? `${d}d ` : '') + hms;
}

export function tableHeader(t: TableInfo): string {
  return `${t.name}: ${t.destinations} destinations, ${t.routes} routes (${t.active} active, 0 holddown, ${t.hidden} hidden)`;
}

function nexthopText(nh: FibNexthop): string {
  const labels = nh.labels?.length ? `, Push ${nh.labels.join(', ')}` : '';
  if (nh.udpSource !== undefined) return `to ${nh.gateway ?? '?'} via MPLSoUDP from ${nh.udpSource}${labels}`;
  if (nh.gateway) return `to ${nh.gateway}${nh.interface ? ` via ${nh.interface}` : ''}${labels}`;
  return `via ${nh.interface ?? '?'}${labels}`;
}

/** The lines under a route in brief output. */
function nexthopLines(c: ShownCandidate): string[] {
  const action = c.route.action ?? 'forward';
  if (action === 'discard') return ['Discard'];
  if (action === 'reject') return ['Reject'];
  if (action === 'receive') return [`Local via ${c.route.nexthops[0]?.interface ?? 'router'}`];
  const fwd = c.forwarding;
  if (fwd?.length) return fwd.map((nh, i) => `${i === 0 && c.active ? '> ' : '  '}${nexthopText(nh)}`);
  return c.route.nexthops.map((nh) => `  ${nexthopText(nh)}${nh.recursive ? ' (unresolved)' : ' (unusable)'}`);
}

export function formatRoutes(tables: { info: TableInfo; entries: ShownEntry[] }[], detail: RouteDetail, now = Date.now()): string {
  const out: string[] = [];
  for (const { info, entries } of tables) {
    if (out.length) out.push('');
    out.push(tableHeader(info));
    if (detail === 'terse') {
      out.push('+ = Active Route, - = Last Active, * = Both', '');
      out.push('A V Destination        P Prf   Metric 1   Next hop');
      for (const e of entries) {
        for (const c of e.candidates) {
          const first = nexthopLines(c)[0]?.trim().replace(/^> /, '>') ?? '';
          out.push(`${c.active ? '*' : ' '} ? ${(c === e.candidates[0] ? e.prefix : '').padEnd(18)} ${PROTOCOL_LETTER[c.route.protocol] ?? '?'} ${String(c.route.preference).padStart(3)} ${String(c.route.metric ?? '').padStart(10)}   ${first}`);
        }
      }
      continue;
    }
    if (detail === 'brief') {
      out.push('+ = Active Route, - = Last Active, * = Both', '');
      for (const e of entries) {
        e.candidates.forEach((c, i) => {
          const head = `${(i === 0 ? e.prefix : '').padEnd(18)} ${c.active ? '*' : ' '}[${protocolName(c.route.protocol)}/${c.route.preference}${c.route.metric ? `/${c.route.metric}` : ''}] ${formatAge(now - c.since)}`;
          out.push(head);
          for (const l of nexthopLines(c)) out.push(`${' '.repeat(20)}${l}`);
        });
      }
      continue;
    }
    for (const e of entries) {
      out.push('', `${e.prefix} (${e.candidates.length} ${e.candidates.length === 1 ? 'entry' : 'entries'}, ${e.candidates.some((c) => c.active) ? 1 : 0} announced)`);
      for (const c of e.candidates) {
        out.push(`        ${c.active ? '*' : ''}${protocolName(c.route.protocol)}   Preference: ${c.route.preference}`);
        const pad = ' '.repeat(16);
        const action = c.route.action ?? 'forward';
        out.push(`${pad}Next hop type: ${action === 'forward' ? (c.route.nexthops.some((n) => n.gateway) ? 'Router' : 'Interface') : action[0]!.toUpperCase() + action.slice(1)}`);
        if (action === 'forward') {
          for (const [i, nh] of (c.forwarding ?? []).entries()) out.push(`${pad}Next hop: ${nexthopText(nh)}${i === 0 && c.active ? ', selected' : ''}`);
          for (const nh of c.route.nexthops) {
            if (nh.recursive) out.push(`${pad}Protocol next hop: ${nh.gateway}${c.forwarding ? '' : ' (unresolved)'}`);
            else if (!c.forwarding) out.push(`${pad}Next hop: ${nexthopText(nh)} (unusable)`);
          }
        }
        out.push(`${pad}State: <${c.active ? 'Active' : 'NotBest'}${c.forwarding === null ? ' Hidden' : ''}>`);
        if (!c.active) out.push(`${pad}Inactive reason: ${c.reason === 'Unusable' ? 'Unusable path' : c.reason}`);
        else if (e.candidates.length > 1) out.push(`${pad}Selected by: ${e.candidates[1]!.reason}`);
        out.push(`${pad}Age: ${formatAge(now - c.since)}${c.route.metric !== undefined ? `  Metric: ${c.route.metric}` : ''}`);
        out.push(`${pad}Source: ${c.source}`);
        if (detail === 'extensive' && c.route.attributes && Object.keys(c.route.attributes).length) {
          for (const [k, v] of Object.entries(c.route.attributes)) out.push(`${pad}${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
        }
      }
    }
  }
  return out.join('\n');
}

export function formatSummary(routerId: string | undefined, tables: TableInfo[]): string {
  const out: string[] = [];
  if (routerId) out.push(`Router ID: ${routerId}`, '');
  for (const t of tables) {
    out.push(tableHeader(t));
    for (const [p, c] of Object.entries(t.byProtocol).sort()) {
      out.push(`${protocolName(p).padStart(20)}: ${String(c.routes).padStart(8)} routes, ${String(c.active).padStart(8)} active`);
    }
    out.push('');
  }
  return out.join('\n').trimEnd();
}

export interface ForwardingTable {
  vrf: string;
  family: 4 | 6;
  routes: { prefix: string; nexthop: string; index: number }[];
  /** routes the agent holds beyond those listed */
  more?: number;
  error?: string;
}

export function formatForwardingTables(tables: ForwardingTable[]): string {
  const out: string[] = [];
  for (const t of tables) {
    if (out.length) out.push('');
    out.push(`Routing table: ${t.vrf}.${t.family === 4 ? 'inet' : 'inet6'}`, t.family === 4 ? 'Internet:' : 'Internet6:');
    if (t.error) {
      out.push(`  (agent unreachable: ${t.error})`);
      continue;
    }
    out.push(`${'Destination'.padEnd(32)} ${'Index'.padStart(6)}  Next hop`);
    for (const r of t.routes) out.push(`${r.prefix.padEnd(32)} ${String(r.index).padStart(6)}  ${r.nexthop}`);
    if (t.more) out.push(`... and ${t.more} more routes`);
  }
  return out.join('\n');
}

export interface TerseInterface {
  name: string;
  admin: 'up' | 'down';
  /** absent: the vRouter found no netdev of this name when it tried to attach it */
  link: 'up' | 'down' | 'absent';
  /** [family, address] pairs */
  addresses: [string, string][];
  instance?: string;
  /** why the vRouter does not have it: its last refusal of the interface */
  reason?: string;
}

export function formatInterfacesTerse(list: TerseInterface[]): string {
  const out = [`${'Interface'.padEnd(24)}${'Admin'.padEnd(6)}${'Link'.padEnd(7)}${'Proto'.padEnd(9)}Local`];
  for (const i of list) {
    out.push(`${i.name.padEnd(24)}${i.admin.padEnd(6)}${i.link}`);
    if (!i.addresses.length) continue;
    i.addresses.forEach(([fam, a], n) => {
      out.push(n === 0 ? `${(i.name + '.0').padEnd(24)}${i.admin.padEnd(6)}${i.link.padEnd(7)}${fam.padEnd(9)}${a}` : `${''.padEnd(37)}${fam.padEnd(9)}${a}`);
    });
  }
  return out.join('\n');
}

/** Plain data of a route for `| display json`. */
export function routeData(c: ShownCandidate): Record<string, unknown> {
  const r: RibRoute = c.route;
  return {
    source: c.source,
    protocol: r.protocol,
    preference: r.preference,
    metric: r.metric,
    action: r.action ?? 'forward',
    active: c.active,
    nexthops: r.nexthops,
    forwarding: c.forwarding ?? null,
    reason: c.reason,
    age: Math.floor((Date.now() - c.since) / 1000),
    attributes: r.attributes,
  };
}
