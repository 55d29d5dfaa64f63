/**
 * The vRouter inspection commands, thin clients of the introspect API (src/dataplane/introspect.ts):
 *
 *   cnr vif --list                     interfaces and counters
 *   cnr nh --list                      next hops
 *   cnr rt --dump VRF [--family inet6] routes of one VRF
 *   cnr rt --count [VRF]               how many routes per VRF and family (counters: cheap at 1M)
 *   cnr mpls --dump                    incoming label table
 *   cnr dropstats                      drop counters by reason
 *   cnr acl --list                     filters per interface (output ones as 'IF out'), hits per rule
 *   cnr mac --dump [BD]                the MAC table (L2), of one bridge domain or all
 *
 * Common options: --introspect HOST:PORT (default 127.0.0.1:8085), --json for scripts.
 */
import type { AclInfo, AclRule, LabelInfo, MacEntryInfo, NexthopInfo, RouteCountInfo, RouteInfo, VifInfo } from '../dataplane/api.js';

const DEFAULT_ENDPOINT = '127.0.0.1:8085';

interface Options {
  endpoint: string;
  json: boolean;
  list: boolean;
  dump: string | undefined;
  dumpGiven: boolean;
  /** rt --count [VRF] */
  count: boolean;
  family: 'inet' | 'inet6';
  help: boolean;
}

const USAGE: Record<string, string> = {
  vif: 'cnr vif --list [--json] [--introspect HOST:PORT]',
  nh: 'cnr nh --list [--json] [--introspect HOST:PORT]',
  rt: 'cnr rt --dump VRF [--family inet|inet6] [--json] [--introspect HOST:PORT]  |  cnr rt --count [VRF] [--json]',
  mpls: 'cnr mpls --dump [--json] [--introspect HOST:PORT]',
  dropstats: 'cnr dropstats [--json] [--introspect HOST:PORT]',
  acl: 'cnr acl --list [--json] [--introspect HOST:PORT]',
  mac: 'cnr mac --dump [BRIDGE-DOMAIN] [--json] [--introspect HOST:PORT]',
};

class UsageError extends Error {}

function parse(args: string[]): Options {
  const o: Options = { endpoint: DEFAULT_ENDPOINT, json: false, list: false, dump: undefined, dumpGiven: false, count: false, family: 'inet', help: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = (): string => {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--json') o.json = true;
    else if (a === '--list' || a === '-l') o.list = true;
    else if (a === '--dump' || a === '-d') {
      o.dumpGiven = true;
      if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('-')) o.dump = args[++i];
    } else if (a === '--count' || a === '-c') {
      o.count = true;
      if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('-')) o.dump = args[++i];
    } else if (a === '--family' || a === '-f') {
      const f = value();
      if (f === 'inet' || f === 'ipv4' || f === '4') o.family = 'inet';
      else if (f === 'inet6' || f === 'ipv6' || f === '6') o.family = 'inet6';
      else throw new UsageError(`--family must be inet or inet6, not '${f}'`);
    } else if (a === '--introspect') o.endpoint = value();
    else if (a === '-h' || a === '--help') o.help = true;
    else throw new UsageError(`unknown argument '${a}'`);
  }
  return o;
}

export class IntrospectUnreachable extends Error {}

async function get(endpoint: string, path: string): Promise<unknown> {
  const url = `http://${endpoint}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e instanceof Error ? e.message : String(e));
    throw new IntrospectUnreachable(`cannot reach the vRouter introspect API at ${endpoint} (${cause}): is the vRouter running? (start it with 'cnr vrouter' or 'cnr start', or point --introspect at it)`);
  }
  const body = (await res.json()) as unknown;
  if (!res.ok) throw new Error((body as { error?: string }).error ?? `HTTP ${res.status} from ${url}`);
  return body;
}

/** Columns padded to their widest cell; numeric columns aligned right. */
export function formatTable(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const line = (r: string[]): string =>
    r.map((c, i) => (i === r.length - 1 && !numeric[i] ? c : numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

function nhVia(n: NexthopInfo): string {
  const parts: string[] = [];
  if (n.ip) parts.push(n.ip);
  if (n.dmac) parts.push(n.dmac);
  if (n.vif) parts.push(`dev ${n.vif}`);
  if (n.labels && n.labels.length > 0) parts.push(`push ${n.labels.join('/')}`);
  if (n.members && n.members.length > 0) parts.push(`ecmp ${n.members.join(',')}`);
  if (n.vrf) parts.push(`vrf ${n.vrf}`);
  return parts.join(' ') || '-';
}

function vifTable(vifs: VifInfo[]): string {
  return vifRows(vifs) + memifLines(vifs);
}

/** memif vifs: the client's state and the rings' occupancy under the table (io/memif.ts) */
function memifLines(vifs: VifInfo[]): string {
  const lines = vifs.filter((v) => v.memif).map((v) => {
    const m = v.memif!;
    const peer = m.state === 'connected' ? `connected to ${m.peer || '?'}` : m.state;
    // queue pairs as negotiated (up to 4); rx waiting is summed over the receive rings, tx posted is queue 0's
    const queues = m.state === 'connected' && m.rxQueues !== undefined ? `, ${m.rxQueues} rx ${m.txQueues ?? m.rxQueues} tx queues` : '';
    const rings = m.state === 'connected' ? `${queues}, rx ring ${m.rxRingWaiting}/${m.rxRingSize} waiting, tx ring ${m.txRingPosted}/${m.txRingSize} buffers posted` : '';
    const bad = m.badMessages + m.badDescriptors > 0 ? `, refused ${m.badMessages} bad messages ${m.badDescriptors} bad descriptors` : '';
    const last = m.lastDisconnect ? `, last disconnect: ${m.lastDisconnect}` : '';
    return `memif ${v.name}: ${m.socket} id ${m.id}, ${peer}${rings}, ${m.connects} connects ${m.disconnects} disconnects${bad}${last}`;
  });
  return lines.length > 0 ? '\n\n' + lines.join('\n') : '';
}

function vifRows(vifs: VifInfo[]): string {
  return formatTable(
    // RING-DROPS: frames the kernel dropped before the vRouter saw them (a receive ring that overflowed), part of DROPS
    ['ID', 'NAME', 'DRIVER', 'VRF', 'MAC', 'MTU', 'ADDRESSES', 'RX-PKTS', 'RX-BYTES', 'TX-PKTS', 'TX-BYTES', 'DROPS', 'RING-DROPS'],
    vifs.map((v) => [v.id, v.name, v.driver, v.vrf, v.mac, v.mtu, v.addresses.join(',') || '-', v.rxPackets, v.rxBytes, v.txPackets, v.txBytes, v.drops, v.io?.kernelDrops ?? 0]),
  );
}

function nhTable(nhs: NexthopInfo[]): string {
  return formatTable(
    ['ID', 'TYPE', 'STATE', 'REFS', 'VIA'],
    nhs.map((n) => [n.id, n.type, n.state ?? '-', n.refs, nhVia(n)]),
  );
}

function rtTable(routes: RouteInfo[], nhs: NexthopInfo[]): string {
  const byId = new Map(nhs.map((n) => [n.id, n]));
  return formatTable(
    ['PREFIX', 'NH', 'TYPE', 'VIA'],
    routes.map((r) => {
      const n = byId.get(r.nh);
      // next hops the data plane creates itself (receive, connected subnets) are not in /nh
      return [r.prefix, r.nh, n?.type ?? 'internal', n ? nhVia(n) : '-'];
    }),
  );
}

function mplsTable(labels: LabelInfo[]): string {
  return formatTable(
    ['LABEL', 'ACTION', 'VRF', 'OUT-LABELS', 'NH'],
    labels.map((l) => [l.label, l.action, l.vrf ?? '-', l.outLabels && l.outLabels.length > 0 ? l.outLabels.join('/') : '-', l.nh ?? '-']),
  );
}

function ports(p: AclRule['srcPort']): string {
  return p === undefined ? 'any' : Array.isArray(p) ? `${p[0]}-${p[1]}` : String(p);
}

/** Every filtered interface's rules in order, then what no rule matched (denied). */
function aclTable(acls: AclInfo[]): string {
  if (acls.length === 0) return 'no interface has an ACL';
  const rows: (string | number)[][] = [];
  for (const a of acls) {
    const vif = a.direction === 'output' ? `${a.vif} out` : a.vif;
    if (a.bridge) {
      // a bridge port's filter (firewall family bridge): its terms in the same columns
      a.bridge.forEach((t, k) => {
        const what = [t.etherType !== undefined ? `0x${t.etherType.toString(16).padStart(4, '0')}` : 'any', t.vlan !== undefined ? `vlan ${t.vlan}` : 'any'];
        // the IP fields beside the MACs (one row per rule: a term with lists has several)
        const ipProto = t.ipProtocol !== undefined ? ` ${t.ipVersion === 6 ? 'ipv6' : 'ip'} ${t.ipProtocol}` : t.ipVersion === 6 || t.nextHeader !== undefined ? ' ipv6' : '';
        const side = (mac?: string, ip?: string, port?: AclRule['srcPort'], extra?: string) => [mac, ip, port !== undefined ? `port ${ports(port)}` : undefined, extra].filter((x) => x !== undefined).join(' ') || 'any';
        const extra = [t.icmpType !== undefined ? `type ${ports(t.icmpType)}` : undefined, t.nextHeader !== undefined ? `next-header ${t.nextHeader}` : undefined].filter((x) => x !== undefined).join(' ') || undefined;
        rows.push([vif, t.name ?? k + 1, t.action, 'bridge', what[0]! + ipProto, side(t.srcMac, t.srcIp, t.srcPort, extra), what[1]!, side(t.dstMac, t.dstIp, t.dstPort), t.count ?? '-', t.hits]);
      });
      rows.push([vif, '-', 'discard', 'bridge', 'any', 'any', 'any', 'any', '-', a.unmatched]);
      continue;
    }
    a.rules.forEach((r, k) => {
      // an ICMP rule's type in the SPORT column; a skip rule (a Junos except) with how far it skips
      const sport = r.icmpType !== undefined ? `type ${ports(r.icmpType)}` : ports(r.srcPort);
      rows.push([vif, k + 1, r.action === 'skip' ? `skip ${r.skip ?? 0}` : r.action, r.family ?? 'any', String(r.protocol ?? 'any'), r.src ?? 'any', sport, r.dst ?? 'any', ports(r.dstPort), r.hits]);
    });
    rows.push([vif, '-', 'deny', 'any', 'any', 'any', 'any', 'any', 'any', a.unmatched]);
  }
  // bridge rows: PROTO is the EtherType (and IP protocol), SRC and DST the MACs with the IP fields, SPORT the VLAN, DPORT the term's counter name
  return formatTable(['VIF', 'RULE', 'ACTION', 'FAMILY', 'PROTO', 'SRC', 'SPORT', 'DST', 'DPORT', 'HITS'], rows);
}

function dropTable(drops: Record<string, number>): string {
  const entries = Object.entries(drops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const nonzero = entries.filter(([, n]) => n > 0);
  const total = nonzero.reduce((s, [, n]) => s + n, 0);
  const table = formatTable(['REASON', 'PACKETS'], [...nonzero.map(([r, n]) => [r, n]), ['total', total]]);
  const zero = entries.length - nonzero.length;
  return zero > 0 ? `${table}\n(${zero} other reason${zero === 1 ? '' : 's'} at 0: ${entries.filter(([, n]) => n === 0).map(([r]) => r).join(', ')})` : table;
}

export async function run(args: string[], name: string): Promise<number> {
  const usage = USAGE[name];
  if (!usage) {
    console.error(`cnr inspect: unknown command '${name}'`);
    return 2;
  }
  let o: Options;
  try {
    o = parse(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`cnr ${name}: ${e.message}\nusage: ${usage}`);
    return 2;
  }
  if (o.help) {
    console.log(`usage: ${usage}`);
    return 0;
  }
  if ((name === 'vif' || name === 'nh' || name === 'acl') && !o.list) {
    console.error(`usage: ${usage}`);
    return 2;
  }
  if ((name === 'rt' && !o.count && (!o.dumpGiven || !o.dump)) || ((name === 'mpls' || name === 'mac') && !o.dumpGiven)) {
    console.error(`usage: ${usage}`);
    return 2;
  }
  try {
    let data: unknown;
    let text: () => string;
    switch (name) {
      case 'vif':
        data = await get(o.endpoint, '/vif');
        text = () => vifTable(data as VifInfo[]);
        break;
      case 'nh':
        data = await get(o.endpoint, '/nh');
        text = () => nhTable(data as NexthopInfo[]);
        break;
      case 'rt': {
        if (o.count) {
          data = await get(o.endpoint, `/rt/count${o.dump ? `?vrf=${encodeURIComponent(o.dump)}` : ''}`);
          text = () => formatTable(['VRF', 'INET', 'INET6'], (data as RouteCountInfo[]).map((c) => [c.vrf, c.inet, c.inet6]));
          break;
        }
        const routes = await get(o.endpoint, `/rt?vrf=${encodeURIComponent(o.dump!)}&family=${o.family}`);
        data = routes;
        if (!o.json) {
          const nhs = (await get(o.endpoint, '/nh')) as NexthopInfo[];
          text = () => `VRF ${o.dump}, ${o.family}: ${(routes as RouteInfo[]).length} routes\n${rtTable(routes as RouteInfo[], nhs)}`;
        } else text = () => '';
        break;
      }
      case 'mpls':
        data = await get(o.endpoint, '/mpls');
        text = () => mplsTable(data as LabelInfo[]);
        break;
      case 'acl':
        data = await get(o.endpoint, '/acl');
        text = () => aclTable(data as AclInfo[]);
        break;
      case 'mac': {
        data = await get(o.endpoint, o.dump ? `/mac?bd=${encodeURIComponent(o.dump)}` : '/mac');
        const macs = data as MacEntryInfo[];
        text = () => `${macs.length} MAC entries\n${formatTable(['BRIDGE-DOMAIN', 'VLAN', 'MAC', 'INTERFACE', 'TYPE', 'AGE'], macs.map((m) => [m.bridgeDomain, m.vlan, m.mac, m.interface, m.static ? 'static' : 'learned', m.static ? '-' : m.age]))}`;
        break;
      }
      default:
        data = await get(o.endpoint, '/dropstats');
        text = () => dropTable(data as Record<string, number>);
    }
    console.log(o.json ? JSON.stringify(data, null, 2) : text());
    return 0;
  } catch (e) {
    console.error(`cnr ${name}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
