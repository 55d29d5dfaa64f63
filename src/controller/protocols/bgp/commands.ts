/**
 * Operational commands over the speaker's state, in Junos's text layout, each with the
 * same facts as JSON in `data` (what `| display json`, REST and gRPC return). Benchmarks
 * read per-peer accepted counts from `show bgp summary` data to know when every route is in.
 */
import type { CommandResult, OperationalCommand } from '../../types.js';
import { formatAsPath, formatCommunity, formatExtCommunity, formatLargeCommunity, formatOrigin, type PathAttributes } from '../../../wire/bgp/attributes.js';
import { formatIpv4, prefixKeyText } from '../../../lib/addr.js';
import type { BgpSpeaker } from './speaker.js';
import type { BgpInstance } from './instance.js';
import { Neighbor } from './neighbor.js';
import { splitVpnKey, VPN_TABLE4, VPN_TABLE6 } from './config.js';
import { memberRoutes } from './update-group.js';

/** Junos-style elapsed time: 45, 4:01, 1:02:03, 2d 3:04:05. */
export function formatElapsed(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (d) return `${d}d ${h}:${pad(m)}:${pad(s)}`;
  if (h) return `${h}:${pad(m)}:${pad(s)}`;
  if (m) return `${m}:${pad(s)}`;
  return String(s);
}

function shortState(state: string): string {
  return state === 'Established' ? 'Establ' : state;
}

function allNeighbors(sp: BgpSpeaker): { inst: BgpInstance; nb: Neighbor }[] {
  const out: { inst: BgpInstance; nb: Neighbor }[] = [];
  for (const inst of sp.instances.values()) for (const nb of inst.neighbors.values()) out.push({ inst, nb });
  return out;
}

function find(sp: BgpSpeaker, address: string | undefined): { inst: BgpInstance; nb: Neighbor } {
  if (!address) throw new Error('missing neighbor address');
  const hit = allNeighbors(sp).find((x) => x.nb.cfg.address === address);
  if (!hit) throw new Error(`no BGP neighbor ${address}`);
  return hit;
}

export function summary(sp: BgpSpeaker): CommandResult {
  const rows = allNeighbors(sp);
  const groups = new Set<string>();
  for (const inst of sp.instances.values()) for (const g of inst.cfg.groups) groups.add(`${inst.cfg.name}/${g}`);
  const down = rows.filter((r) => !r.nb.established).length;
  const tables = [...sp.instances.values()].flatMap((i) => i.tableCounts());
  const lines = [`Groups: ${groups.size} Peers: ${rows.length} Down peers: ${down}`];
  lines.push('Table          Tot Paths  Act Paths Suppressed    History Damp State    Pending');
  for (const t of tables) lines.push(`${t.table.padEnd(14)} ${String(t.paths).padStart(9)} ${String(t.active).padStart(10)} ${'0'.padStart(10)} ${'0'.padStart(10)} ${'0'.padStart(10)} ${'0'.padStart(10)}`);
  lines.push('Peer                     AS      InPkt     OutPkt    OutQ   Flaps Last Up/Dwn State|#Active/Received/Accepted/Damped...');
  const now = Date.now();
  const peers = rows.map(({ inst, nb }) => {
    const counts = inst.peerCounts(nb);
    const s = nb.stats;
    lines.push(
      `${nb.cfg.address.padEnd(20)} ${String(nb.cfg.peerAs).padStart(10)} ${String(s.inMessages).padStart(10)} ${String(s.outMessages).padStart(10)} ${'0'.padStart(7)} ${String(s.flaps).padStart(7)} ${formatElapsed(now - s.lastChange).padStart(11)} ${nb.established ? '' : shortState(nb.state)}`,
    );
    if (nb.established) for (const c of counts) lines.push(`  ${c.table}: ${c.active}/${c.received}/${c.accepted}/0`);
    return {
      address: nb.cfg.address,
      instance: inst.cfg.name,
      group: nb.cfg.group,
      'peer-as': nb.cfg.peerAs,
      state: nb.state,
      'input-messages': s.inMessages,
      'output-messages': s.outMessages,
      flaps: s.flaps,
      'elapsed-seconds': Math.floor((now - s.lastChange) / 1000),
      tables: counts.map((c) => ({ name: c.table, active: c.active, received: c.received, accepted: c.accepted, advertised: c.advertised })),
    };
  });
  return { text: lines.join('\n') + '\n', data: { groups: groups.size, peers, 'down-peers': down, tables } };
}

export function neighborDetail(sp: BgpSpeaker, address?: string): CommandResult {
  const rows = address ? [find(sp, address)] : allNeighbors(sp);
  const text: string[] = [];
  const data = rows.map(({ inst, nb }) => {
    const s = nb.stats;
    const c = nb.conn;
    const peerCaps = nb.peerOpen?.capabilities;
    const counts = inst.peerCounts(nb);
    const fam = (l: { afi: number; safi: number }[] | undefined) => (l ?? []).map((f) => Neighbor.familyName(f.afi, f.safi)).join(' ');
    const d = {
      address: nb.cfg.address,
      'remote-port': c?.remotePort,
      'local-address': c?.localAddress ?? nb.cfg.localAddress,
      'local-port': c?.localPort,
      'peer-as': nb.cfg.peerAs,
      'local-as': nb.cfg.localAs,
      group: nb.cfg.group,
      instance: inst.cfg.name,
      type: nb.ebgp ? 'External' : 'Internal',
      state: nb.state,
      'last-state': s.lastState,
      'last-event': s.lastEvent,
      'last-error': s.lastError,
      import: nb.cfg.import,
      export: nb.cfg.export,
      'hold-time': nb.cfg.holdTime,
      'active-hold-time': nb.established ? nb.fsm.holdTime : undefined,
      'keepalive-interval': nb.established ? Math.floor(nb.fsm.holdTime / 3) : undefined,
      flaps: s.flaps,
      'peer-id': nb.peerRouterId ? formatIpv4(nb.peerRouterId) : undefined,
      'local-id': inst.cfg.routerId,
      'nlri-advertised-by-peer': fam(peerCaps?.multiprotocol.length ? [...peerCaps.multiprotocol] : peerCaps ? [{ afi: 1, safi: 1 }] : []),
      'nlri-session': fam(nb.established ? nb.families : []),
      'peer-capabilities': peerCaps
        ? {
            'route-refresh': peerCaps.routeRefresh,
            'enhanced-route-refresh': peerCaps.enhancedRouteRefresh,
            '4-byte-as': peerCaps.as4 !== undefined,
            'graceful-restart': peerCaps.gracefulRestart ? { time: peerCaps.gracefulRestart.time, families: fam([...peerCaps.gracefulRestart.families]) } : undefined,
            'add-path': peerCaps.addPath.map((a) => `${Neighbor.familyName(a.afi, a.safi)}:${a.mode === 1 ? 'receive' : a.mode === 2 ? 'send' : 'send-receive'}`),
            'extended-message': peerCaps.extendedMessage,
            fqdn: peerCaps.fqdn ? `${peerCaps.fqdn.hostname}${peerCaps.fqdn.domain ? '.' + peerCaps.fqdn.domain : ''}` : undefined,
          }
        : undefined,
      tables: counts,
      'input-messages': { total: s.inMessages, updates: s.inUpdates, refreshes: s.inRefreshes, octets: c?.inOctets ?? 0 },
      'output-messages': { total: s.outMessages, updates: s.outUpdates, refreshes: s.outRefreshes, octets: c?.outOctets ?? 0 },
      'last-received-seconds': s.lastReceived ? Math.floor((Date.now() - s.lastReceived) / 1000) : undefined,
      'last-sent-seconds': s.lastSent ? Math.floor((Date.now() - s.lastSent) / 1000) : undefined,
      'second-connections': s.secondConnections,
      'last-second-connection': s.lastSecondConnection,
    };
    text.push(`Peer: ${d.address}${d['remote-port'] ? '+' + d['remote-port'] : ''} AS ${d['peer-as']}   Local: ${d['local-address'] ?? 'unspecified'}${d['local-port'] ? '+' + d['local-port'] : ''} AS ${d['local-as']}`);
    if (nb.cfg.description) text.push(`  Description: ${nb.cfg.description}`);
    text.push(`  Group: ${d.group}   Routing-Instance: ${d.instance}`);
    text.push(`  Type: ${d.type}    State: ${d.state}`);
    text.push(`  Last State: ${d['last-state']}   Last Event: ${d['last-event']}`);
    text.push(`  Last Error: ${d['last-error']}`);
    text.push(`  Export: [ ${d.export.join(' ')} ] Import: [ ${d.import.join(' ')} ]`);
    text.push(`  Holdtime: ${d['hold-time']} Preference: 170`);
    text.push(`  Number of flaps: ${d.flaps}`);
    if (d['second-connections']) text.push(`  Second connections: ${d['second-connections']}   Last: ${d['last-second-connection']}`);
    if (d['peer-id']) text.push(`  Peer ID: ${d['peer-id']}   Local ID: ${d['local-id']}   Active Holdtime: ${d['active-hold-time'] ?? '-'}`);
    if (d['keepalive-interval'] !== undefined) text.push(`  Keepalive Interval: ${d['keepalive-interval']}`);
    if (peerCaps) {
      text.push(`  NLRI advertised by peer: ${d['nlri-advertised-by-peer']}`);
      text.push(`  NLRI for this session: ${d['nlri-session']}`);
      if (peerCaps.routeRefresh) text.push('  Peer supports Refresh capability (2)');
      if (peerCaps.enhancedRouteRefresh) text.push('  Peer supports Enhanced Route Refresh capability (70)');
      if (peerCaps.gracefulRestart) text.push(`  Peer supports graceful restart, restart time ${peerCaps.gracefulRestart.time} s, NLRI: ${fam([...peerCaps.gracefulRestart.families])}`);
      if (peerCaps.as4 !== undefined) text.push(`  Peer supports 4 byte AS extension (peer-as ${peerCaps.as4})`);
      if (peerCaps.addPath.length) text.push(`  Peer supports add-path: ${d['peer-capabilities']!['add-path'].join(' ')}`);
      if (peerCaps.extendedMessage) text.push('  Peer supports extended messages (RFC 8654)');
    }
    for (const t of counts) {
      text.push(`  Table ${t.table}`);
      text.push(`    Active prefixes:              ${t.active}`);
      text.push(`    Received prefixes:            ${t.received}`);
      text.push(`    Accepted prefixes:            ${t.accepted}`);
      text.push(`    Advertised prefixes:          ${t.advertised}`);
    }
    const im = d['input-messages'];
    const om = d['output-messages'];
    text.push(`  Last traffic (seconds): Received ${d['last-received-seconds'] ?? '-'}   Sent ${d['last-sent-seconds'] ?? '-'}`);
    text.push(`  Input messages:  Total ${im.total}\tUpdates ${im.updates}\tRefreshes ${im.refreshes}\tOctets ${im.octets}`);
    text.push(`  Output messages: Total ${om.total}\tUpdates ${om.updates}\tRefreshes ${om.refreshes}\tOctets ${om.octets}`);
    text.push('');
    return d;
  });
  return { text: text.join('\n'), data: address ? data[0] : data };
}

interface RouteRow {
  prefix: string;
  active: boolean;
  nextHop: string;
  med?: number;
  localPref?: number;
  asPath: string;
  origin: string;
  communities: string[];
  hidden?: string;
  pathId?: number;
}

function communitiesText(a: PathAttributes): string[] {
  const out: string[] = [];
  for (const c of a.communities ?? []) out.push(formatCommunity(c));
  const e = a.extCommunities;
  if (e) for (let i = 0; i + 8 <= e.length; i += 8) out.push(formatExtCommunity(e, i));
  const l = a.largeCommunities;
  if (l) for (let i = 0; i + 3 <= l.length; i += 3) out.push(`large:${formatLargeCommunity(l, i)}`);
  return out;
}

function routeTable(rows: Map<string, RouteRow[]>, detail: boolean): string {
  const lines: string[] = [];
  for (const [table, list] of rows) {
    lines.push(`${table}: ${list.length} routes`);
    if (!detail) lines.push('  Prefix                  Nexthop              MED     Lclpref    AS path');
    for (const r of list) {
      if (detail) {
        lines.push(`${r.active ? '* ' : '  '}${r.prefix}${r.pathId ? ` (path id ${r.pathId})` : ''}${r.hidden ? ` (hidden: ${r.hidden})` : ''}`);
        lines.push(`     Nexthop: ${r.nextHop}`);
        if (r.med !== undefined) lines.push(`     MED: ${r.med}`);
        if (r.localPref !== undefined) lines.push(`     Localpref: ${r.localPref}`);
        lines.push(`     AS path: ${r.asPath ? r.asPath + ' ' : ''}${r.origin}`);
        if (r.communities.length) lines.push(`     Communities: ${r.communities.join(' ')}`);
      } else {
        lines.push(
          `${r.active ? '* ' : '  '}${r.prefix.padEnd(23)} ${r.nextHop.padEnd(20)} ${(r.med ?? '').toString().padStart(3)} ${(r.localPref ?? '').toString().padStart(11)}    ${r.asPath ? r.asPath + ' ' : ''}${r.origin}`,
        );
      }
    }
  }
  return lines.join('\n') + '\n';
}

function parseRouteArgs(args: string[]): { address: string; table?: string; detail: boolean } {
  const address = args[0];
  if (!address) throw new Error('missing neighbor address');
  let table: string | undefined;
  let detail = false;
  for (let i = 1; i < args.length; i++) {
    if (args[i] === 'table') table = args[++i];
    else if (args[i] === 'detail' || args[i] === 'extensive') detail = true;
  }
  return { address, table, detail };
}

export function receiveProtocol(sp: BgpSpeaker, args: string[]): CommandResult {
  const { address, table, detail } = parseRouteArgs(args);
  const { inst, nb } = find(sp, address);
  const rows = new Map<string, RouteRow[]>();
  for (const t of inst.tables) {
    if (table && t !== table) continue;
    if (!nb.cfg.families.some((f) => f.table === t)) continue;
    const lt = inst.locTable(t);
    const list: RouteRow[] = [];
    for (const { prefix, key, path: p } of inst.adjRibIn(nb, t)) {
      const a = p.inAttrs;
      list.push({
        prefix,
        active: p.accepted && lt?.get(key)?.best === p,
        nextHop: a.nextHop ?? '',
        med: a.med,
        localPref: a.localPref,
        asPath: formatAsPath(a.asPath),
        origin: formatOrigin(a.origin),
        communities: communitiesText(a),
        hidden: p.accepted ? undefined : p.hidden,
        pathId: nb.options.addPathRx.size ? p.pathId : undefined,
      });
    }
    rows.set(t, list);
  }
  return { text: routeTable(rows, detail), data: Object.fromEntries(rows) };
}

export function advertisingProtocol(sp: BgpSpeaker, args: string[]): CommandResult {
  const { address, table, detail } = parseRouteArgs(args);
  const { inst, nb } = find(sp, address);
  const st = inst.ribs.get(nb)!;
  const rows = new Map<string, RouteRow[]>();
  for (const t of nb.families.map((f) => f.table)) {
    if (table && t !== table) continue;
    const list: RouteRow[] = [];
    for (const [key, a] of memberRoutes(inst.cx, st, t)) {
      list.push({
        prefix: prefixKeyText(key),
        active: true,
        nextHop: a.nextHop === nb.localAddress ? 'Self' : a.nextHop ?? '',
        med: a.med,
        localPref: a.localPref,
        asPath: formatAsPath(a.asPath),
        origin: formatOrigin(a.origin),
        communities: communitiesText(a),
      });
    }
    rows.set(t, list);
  }
  return { text: routeTable(rows, detail), data: Object.fromEntries(rows) };
}

/**
 * `show route table bgp.l3vpn.0` (or bgp.l3vpn-inet6.0): the VPN routes received, by
 * RD:prefix, with their labels and targets, and the VRF routes this router advertises.
 */
export function vpnTable(sp: BgpSpeaker, table: string, args: string[]): CommandResult {
  const want = args.find((a) => a !== 'detail' && a !== 'extensive' && a !== 'brief');
  const rows: { key: string; rd: string; prefix: string; paths: Record<string, unknown>[] }[] = [];
  const inst = sp.instances.get('master');
  const byKey = new Map<string, (typeof rows)[number]>();
  const row = (key: string) => {
    let r = byKey.get(key);
    if (!r) {
      const { rd, prefix } = splitVpnKey(key);
      byKey.set(key, (r = { key, rd, prefix, paths: [] }));
      rows.push(r);
    }
    return r;
  };
  for (const l of inst?.localVpnRoutes(table) ?? []) row(l.key).paths.push({ protocol: 'local', vrf: l.vrf, labels: l.label === undefined ? [] : [l.label], active: true });
  for (const e of inst?.locTable(table)?.values() ?? []) {
    for (const p of e.paths) {
      const a = p.attrs;
      row(e.prefix).paths.push({
        protocol: 'bgp',
        active: e.best === p,
        peer: p.peer.cfg.address,
        'next-hop': a.nextHop ?? '',
        labels: [...(p.labels ?? [])],
        'local-preference': a.localPref,
        'as-path': `${formatAsPath(a.asPath)}${a.asPath?.length ? ' ' : ''}${formatOrigin(a.origin)}`,
        communities: communitiesText(a),
        hidden: p.accepted ? (p.resolvable ? undefined : 'next hop unresolved') : p.hidden,
      });
    }
  }
  const shown = want ? rows.filter((r) => r.key === want || r.prefix === want) : rows;
  shown.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  const routes = shown.reduce((n, r) => n + r.paths.length, 0);
  const active = shown.reduce((n, r) => n + r.paths.filter((p) => p.active).length, 0);
  const lines = [`${table}: ${shown.length} destinations, ${routes} routes (${active} active, 0 holddown, ${routes - active} hidden)`, '+ = Active Route, - = Last Active, * = Both', ''];
  for (const r of shown) {
    lines.push(r.key);
    for (const p of r.paths) {
      const labels = (p.labels as number[]).length ? `, Push ${(p.labels as number[]).join(', ')}` : '';
      if (p.protocol === 'local') {
        lines.push(`                   *[VRF ${p.vrf}] advertised with label ${(p.labels as number[]).join(', ') || '-'}`);
        continue;
      }
      lines.push(`                   ${p.active ? '*' : ' '}[BGP/170] from ${p.peer}${p['local-preference'] !== undefined ? `, localpref ${p['local-preference']}` : ''}${p.hidden ? ` (hidden: ${p.hidden})` : ''}`);
      lines.push(`                      AS path: ${p['as-path']}`);
      if ((p.communities as string[]).length) lines.push(`                      Communities: ${(p.communities as string[]).join(' ')}`);
      lines.push(`                    ${p.active ? '>' : ' '} to ${p['next-hop']}${labels}`);
    }
  }
  return { text: lines.join('\n') + '\n', data: { table, destinations: shown.length, routes: shown } };
}

export function bgpCommands(sp: BgpSpeaker): OperationalCommand[] {
  return [
    { path: ['show', 'bgp', 'summary'], help: 'BGP peers and their route counts', run: async () => summary(sp) },
    { path: ['show', 'bgp', 'neighbor'], help: 'BGP peer details: state, capabilities, counters', run: async (args) => neighborDetail(sp, args[0]) },
    { path: ['show', 'route', 'receive-protocol', 'bgp'], help: 'Routes received from a BGP peer (ADDR [table T] [detail])', run: async (args) => receiveProtocol(sp, args) },
    { path: ['show', 'route', 'advertising-protocol', 'bgp'], help: 'Routes advertised to a BGP peer (ADDR [table T] [detail])', run: async (args) => advertisingProtocol(sp, args) },
    { path: ['show', 'route', 'table', VPN_TABLE4], help: 'IPv4 VPN routes by RD:prefix, with labels and route targets [RD:PREFIX|PREFIX]', run: async (args) => vpnTable(sp, VPN_TABLE4, args) },
    { path: ['show', 'route', 'table', VPN_TABLE6], help: 'IPv6 VPN routes by RD:prefix, with labels and route targets [RD:PREFIX|PREFIX]', run: async (args) => vpnTable(sp, VPN_TABLE6, args) },
    {
      path: ['clear', 'bgp', 'neighbor'],
      help: 'Reset a BGP session (ADDR), or re-apply policy: soft (outbound), soft-inbound',
      run: async (args) => {
        const mode = args[1] === 'soft' ? 'soft' : args[1] === 'soft-inbound' ? 'soft-inbound' : 'hard';
        const text = sp.clear(args[0] ?? '', mode);
        return { text: text + '\n', data: { neighbor: args[0], mode } };
      },
    },
  ];
}
