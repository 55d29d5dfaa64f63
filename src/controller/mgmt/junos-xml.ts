/**
 * Junos-shaped XML for operational commands: one table maps each Junos RPC PyEZ and
 * Ansible send (`get-route-information`, `get-interface-information`, ...) to the cnr
 * command that answers it and to a view that renders that command's data in the
 * elements Junos uses (PyEZ tables/views and Ansible parse these). The NETCONF server
 * and the CLI's `| display xml` both render through this table, so they print the same
 * XML; the data itself always comes from the command, i.e. from the management API.
 */
import { escapeXml, type XmlElement } from '../../lib/xml.js';
import { formatDuration, junosVersion, type ChassisData, type MemoryData, type RoutingEngineData, type StorageData, type UptimeData, type VersionData } from './system-info.js';
import { isRecord } from '../config/tree.js';

export const JUNOS_NS = `http://xml.juniper.net/junos/${junosVersion()}/junos`;

/** An element to print: attributes, then text or children. */
export interface XNode {
  name: string;
  attrs?: Record<string, string>;
  text?: string | number;
  children?: (XNode | undefined)[];
}

/** x('name', [children]) or x('name', text), with optional attributes first. */
export function x(name: string, content?: string | number | (XNode | undefined)[], attrs?: Record<string, string>): XNode {
  const n: XNode = { name };
  if (attrs) n.attrs = attrs;
  if (Array.isArray(content)) n.children = content;
  else if (content !== undefined) n.text = content;
  return n;
}

export function renderXml(n: XNode, indent = ''): string {
  const attrs = Object.entries(n.attrs ?? {})
    .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
    .join('');
  const kids = (n.children ?? []).filter((c): c is XNode => c !== undefined);
  if (kids.length) return `${indent}<${n.name}${attrs}>\n${kids.map((c) => renderXml(c, `${indent}  `)).join('\n')}\n${indent}</${n.name}>`;
  if (n.text === undefined || n.text === '') return `${indent}<${n.name}${attrs}/>`;
  return `${indent}<${n.name}${attrs}>${escapeXml(String(n.text))}</${n.name}>`;
}

/** The reply the CLI's `| display xml` prints, as Junos does. */
export function displayXml(body: string): string {
  return `<rpc-reply xmlns:junos="${JUNOS_NS}">\n${body}\n    <cli>\n        <banner></banner>\n    </cli>\n</rpc-reply>\n`;
}

type Data = Record<string, unknown>;
const rec = (v: unknown): Data => (isRecord(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));
const seconds = (s: number) => ({ 'junos:seconds': String(Math.floor(s)) });
const utc = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

export interface JunosView {
  /** the Junos RPC */
  rpc: string;
  /** the cnr command that answers it */
  command: string[];
  /** the RPC's arguments as the command's words */
  args?: (el: XmlElement) => string[];
  /** narrows the command's data by RPC arguments the command does not take */
  filter?: (data: unknown, el: XmlElement) => unknown;
  render: (data: unknown) => XNode;
}

const argText = (el: XmlElement, name: string) => el.children.find((c) => c.name === name)?.text.trim();
const hasArg = (el: XmlElement, name: string) => el.children.some((c) => c.name === name);

/** Junos's protocol names (`Direct`, `Static`, `BGP`). */
function protocolName(p: string): string {
  const known: Record<string, string> = { direct: 'Direct', local: 'Local', static: 'Static', bgp: 'BGP', isis: 'IS-IS', aggregate: 'Aggregate', ospf: 'OSPF' };
  return known[p] ?? p;
}

function routeEntry(r: Data): XNode {
  const hops = arr(r.nexthops).map(rec);
  const fwd = rec(r.forwarding);
  const action = str(r.action) ?? 'forward';
  const attrs = rec(r.attributes);
  const asPath = str(attrs.asPath ?? attrs['as-path']);
  return x('rt-entry', [
    x('active-tag', r.active ? '*' : ' '),
    r.active ? x('current-active') : undefined,
    r.active ? x('last-active') : undefined,
    x('protocol-name', protocolName(str(r.protocol) ?? '')),
    x('preference', str(r.preference) ?? 0),
    r.metric !== undefined ? x('metric', str(r.metric)) : undefined,
    x('age', formatDuration(Number(r.age ?? 0)), seconds(Number(r.age ?? 0))),
    asPath !== undefined ? x('as-path', asPath) : undefined,
    ...(action !== 'forward' ? [x('nh-type', action === 'discard' ? 'Discard' : action === 'reject' ? 'Reject' : 'Receive')] : []),
    ...hops.map((h, i) =>
      x('nh', [
        i === 0 && fwd && Object.keys(fwd).length ? x('selected-next-hop') : undefined,
        h.gateway !== undefined ? x('to', str(h.gateway)) : undefined,
        h.interface !== undefined ? x(h.gateway !== undefined ? 'via' : 'nh-local-interface', str(h.interface)) : undefined,
      ]),
    ),
  ]);
}

/** A route table's name and counts, as both route RPCs open each table. */
function tableCounts(t: Data): XNode[] {
  return [
    x('table-name', str(t.name)),
    x('destination-count', str(t.destinations) ?? 0),
    x('total-route-count', str(t.routes) ?? 0),
    x('active-route-count', str(t.active) ?? 0),
    x('holddown-route-count', 0),
    x('hidden-route-count', str(t.hidden) ?? 0),
  ];
}

function routeInformation(data: unknown): XNode {
  return x(
    'route-information',
    arr(rec(data).tables).map((tv) => {
      const t = rec(tv);
      return x('route-table', [
        ...tableCounts(t),
        ...arr(t.entries).map((ev) => {
          const e = rec(ev);
          return x('rt', [x('rt-destination', str(e.prefix)), ...arr(e.routes).map((r) => routeEntry(rec(r)))], { 'junos:style': 'brief' });
        }),
      ]);
    }),
    { xmlns: `http://xml.juniper.net/junos/${junosVersion()}/junos-routing` },
  );
}

function routeSummary(data: unknown): XNode {
  const d = rec(data);
  return x(
    'route-summary-information',
    [
      x('router-id', str(d.routerId)),
      ...arr(d.tables).map((tv) => {
        const t = rec(tv);
        return x('route-table', [
          ...tableCounts(t),
          ...Object.entries(rec(t.byProtocol)).map(([p, cv]) =>
            x('protocols', [x('protocol-name', protocolName(p)), x('protocol-route-count', str(rec(cv).routes) ?? 0), x('active-route-count', str(rec(cv).active) ?? 0)]),
          ),
        ]);
      }),
    ],
    { xmlns: `http://xml.juniper.net/junos/${junosVersion()}/junos-routing` },
  );
}

function interfaceInformation(data: unknown): XNode {
  return x(
    'interface-information',
    arr(rec(data).interfaces).map((iv) => {
      const i = rec(iv);
      const name = str(i.name) ?? '';
      const oper = str(i.link) === 'up' ? 'up' : 'down';
      const byFamily = new Map<string, string[]>();
      for (const pair of arr(i.addresses)) {
        const [fam, a] = arr(pair).map(String);
        if (fam && a) byFamily.set(fam, [...(byFamily.get(fam) ?? []), a]);
      }
      return x('physical-interface', [
        x('name', name),
        x('admin-status', str(i.admin)),
        x('oper-status', oper),
        byFamily.size
          ? x('logical-interface', [
              x('name', `${name}.0`),
              x('admin-status', str(i.admin)),
              x('oper-status', oper),
              x('filter-information'),
              ...[...byFamily].map(([fam, list]) => x('address-family', [x('address-family-name', fam), ...list.map((a) => x('interface-address', [x('ifa-local', a)]))])),
            ])
          : undefined,
      ]);
    }),
    { xmlns: `http://xml.juniper.net/junos/${junosVersion()}/junos-interface`, 'junos:style': 'terse' },
  );
}

/** `interface-name` of get-interface-information is a shell glob (`ge-*`, `[efgx][mx]p0`). */
function globMatch(glob: string, name: string): boolean {
  const re = glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(name) || new RegExp(`^${re}$`).test(name.replace(/\.\d+$/, ''));
}

function bgpRibs(tables: unknown[], style: string, counts: (t: Data) => (XNode | undefined)[]): XNode[] {
  return tables.map((tv) => {
    const t = rec(tv);
    return x('bgp-rib', [x('name', str(t.name ?? t.table)), ...counts(t)], { 'junos:style': style });
  });
}

function bgpSummary(data: unknown): XNode {
  const d = rec(data);
  const peers = arr(d.peers).map(rec);
  return x('bgp-information', [
    x('group-count', str(d.groups) ?? 0),
    x('peer-count', peers.length),
    x('down-peer-count', str(d['down-peers']) ?? 0),
    ...arr(d.tables).map((tv) => {
      const t = rec(tv);
      return x('bgp-rib', [
        x('name', str(t.table)),
        x('total-prefix-count', str(t.paths) ?? 0),
        x('received-prefix-count', str(t.paths) ?? 0),
        x('accepted-prefix-count', str(t.paths) ?? 0),
        x('active-prefix-count', str(t.active) ?? 0),
        x('suppressed-prefix-count', 0),
        x('history-prefix-count', 0),
        x('damped-prefix-count', 0),
        x('pending-prefix-count', 0),
      ]);
    }),
    ...peers.map((p) =>
      x(
        'bgp-peer',
        [
          x('peer-address', str(p.address)),
          x('peer-as', str(p['peer-as'])),
          x('input-messages', str(p['input-messages']) ?? 0),
          x('output-messages', str(p['output-messages']) ?? 0),
          x('route-queue-count', 0),
          x('flap-count', str(p.flaps) ?? 0),
          x('elapsed-time', formatDuration(Number(p['elapsed-seconds'] ?? 0)), seconds(Number(p['elapsed-seconds'] ?? 0))),
          x('peer-state', str(p.state)),
          ...bgpRibs(arr(p.tables), 'terse', (t) => [
            x('active-prefix-count', str(t.active) ?? 0),
            x('received-prefix-count', str(t.received) ?? 0),
            x('accepted-prefix-count', str(t.accepted) ?? 0),
            x('suppressed-prefix-count', 0),
          ]),
        ],
        { 'junos:style': 'terse' },
      ),
    ),
  ]);
}

function bgpNeighbors(data: unknown): XNode {
  const list = Array.isArray(data) ? data.map(rec) : [rec(data)];
  return x(
    'bgp-information',
    list.map((p) => {
      const withPort = (a: unknown, port: unknown) => (a === undefined ? undefined : port ? `${String(a)}+${String(port)}` : String(a));
      const im = rec(p['input-messages']);
      const om = rec(p['output-messages']);
      return x(
        'bgp-peer',
        [
          x('peer-address', withPort(p.address, p['remote-port'])),
          x('peer-as', str(p['peer-as'])),
          x('local-address', withPort(p['local-address'], p['local-port'])),
          x('local-as', str(p['local-as'])),
          x('peer-group', str(p.group)),
          x('peer-type', str(p.type)),
          x('peer-state', str(p.state)),
          x('last-state', str(p['last-state'])),
          x('last-event', str(p['last-event'])),
          x('last-error', str(p['last-error'])),
          x('bgp-option-information', [
            x('export-policy', arr(p.export).join(' ')),
            x('import-policy', arr(p.import).join(' ')),
            x('holdtime', str(p['hold-time'])),
            x('preference', 170),
          ]),
          x('flap-count', str(p.flaps) ?? 0),
          x('peer-id', str(p['peer-id'])),
          x('local-id', str(p['local-id'])),
          x('active-holdtime', str(p['active-hold-time'])),
          x('keepalive-interval', str(p['keepalive-interval'])),
          x('nlri-type-peer', str(p['nlri-advertised-by-peer'])),
          x('nlri-type-session', str(p['nlri-session'])),
          ...bgpRibs(arr(p.tables), 'detail', (t) => [
            x('active-prefix-count', str(t.active) ?? 0),
            x('received-prefix-count', str(t.received) ?? 0),
            x('accepted-prefix-count', str(t.accepted) ?? 0),
            x('advertised-prefix-count', str(t.advertised) ?? 0),
          ]),
          x('last-received', str(p['last-received-seconds'])),
          x('last-sent', str(p['last-sent-seconds'])),
          x('input-messages', str(im.total) ?? 0),
          x('input-updates', str(im.updates) ?? 0),
          x('input-refreshes', str(im.refreshes) ?? 0),
          x('input-octets', str(im.octets) ?? 0),
          x('output-messages', str(om.total) ?? 0),
          x('output-updates', str(om.updates) ?? 0),
          x('output-refreshes', str(om.refreshes) ?? 0),
          x('output-octets', str(om.octets) ?? 0),
        ],
        { 'junos:style': 'detail' },
      );
    }),
  );
}

function dateTime(ms: number, now: number, extra: (XNode | undefined)[] = []): XNode[] {
  return [x('date-time', utc(ms), seconds(ms / 1000)), x('time-length', formatDuration((now - ms) / 1000), seconds((now - ms) / 1000)), ...extra].filter((n): n is XNode => n !== undefined);
}

function uptimeInformation(data: unknown): XNode {
  const d = rec(data) as unknown as UptimeData;
  const now = d['current-time'];
  const load = d['load-average'] ?? [];
  return x('system-uptime-information', [
    x('current-time', [x('date-time', utc(now), seconds(now / 1000))]),
    x('system-booted-time', dateTime(d['system-booted-time'], now)),
    x('protocols-started-time', dateTime(d['protocols-started-time'], now)),
    d['last-configured-time'] !== undefined ? x('last-configured-time', dateTime(d['last-configured-time'], now, [x('user', d['last-configured-user'])])) : undefined,
    x('uptime-information', [
      x('date-time', utc(now), seconds(now / 1000)),
      x('up-time', formatDuration((now - d['system-booted-time']) / 1000), seconds((now - d['system-booted-time']) / 1000)),
      x('active-user-count', 0),
      x('load-average-1', load[0]?.toFixed(2)),
      x('load-average-5', load[1]?.toFixed(2)),
      x('load-average-15', load[2]?.toFixed(2)),
    ]),
  ]);
}

function softwareInformation(data: unknown): XNode {
  const d = rec(data) as unknown as VersionData;
  return x('software-information', [
    x('host-name', d['host-name']),
    x('product-model', d['product-model']),
    x('product-name', d['product-name']),
    x('junos-version', d['junos-version']),
    x('package-information', [x('name', 'cnr'), x('comment', `cnr cloud-native router [${d['junos-version']}] (${d['cnr-version']})`)]),
  ]);
}

function routeEngineInformation(data: unknown): XNode {
  const d = rec(data) as unknown as RoutingEngineData;
  const load = d['load-average'] ?? [];
  return x('route-engine-information', [
    x('route-engine', [
      x('slot', d.slot),
      x('mastership-state', d['mastership-state']),
      x('status', d.status),
      x('memory-dram-size', `${d['memory-total-mb']} MB`),
      x('memory-installed-size', `(${d['memory-total-mb']} MB installed)`),
      x('memory-buffer-utilization', d['memory-used-percent']),
      x('model', d.model),
      x('start-time', utc(d['start-time']), seconds(d['start-time'] / 1000)),
      x('up-time', formatDuration(d['up-time-seconds']), seconds(d['up-time-seconds'])),
      x('last-reboot-reason', 'none recorded (a software router restarts with its host)'),
      x('load-average-one', load[0]?.toFixed(2)),
      x('load-average-five', load[1]?.toFixed(2)),
      x('load-average-fifteen', load[2]?.toFixed(2)),
    ]),
  ]);
}

function chassisInventory(data: unknown): XNode {
  const d = rec(data) as unknown as ChassisData;
  return x('chassis-inventory', [x('chassis', [x('name', d.name), x('serial-number', d['serial-number']), x('description', d.description)], { 'junos:style': 'inventory' })]);
}

function memoryInformation(data: unknown): XNode {
  const d = rec(data) as unknown as MemoryData;
  return x('system-memory-information', [
    x('system-memory-summary-information', [x('system-memory-total', d['total-mb']), x('system-memory-free', d['free-mb']), x('system-memory-total-percent', 100), x('system-memory-free-percent', d['total-mb'] ? Math.round((d['free-mb'] / d['total-mb']) * 100) : 0)]),
  ]);
}

function storageInformation(data: unknown): XNode {
  const d = rec(data) as unknown as StorageData;
  return x(
    'system-storage-information',
    (d.filesystems ?? []).map((f) =>
      x('filesystem', [
        x('filesystem-name', f.name),
        x('total-blocks', f['total-kb'] * 2, { 'junos:format': `${Math.round(f['total-kb'] / 1024)}M` }),
        x('used-blocks', f['used-kb'] * 2),
        x('available-blocks', f['available-kb'] * 2),
        x('used-percent', f['used-percent']),
        x('mounted-on', f['mounted-on']),
      ]),
    ),
  );
}

export const JUNOS_VIEWS: readonly JunosView[] = [
  { rpc: 'get-system-memory-information', command: ['show', 'system', 'memory'], render: memoryInformation },
  { rpc: 'get-system-storage', command: ['show', 'system', 'storage'], render: storageInformation },
  {
    rpc: 'get-route-information',
    command: ['show', 'route'],
    args: (el) => {
      const w: string[] = [];
      const table = argText(el, 'table');
      if (table) w.push('table', table);
      const dest = argText(el, 'destination');
      if (dest) w.push(dest);
      if (hasArg(el, 'exact')) w.push('exact');
      const proto = argText(el, 'protocol');
      if (proto) w.push('protocol', proto);
      if (hasArg(el, 'hidden')) w.push('hidden');
      for (const d of ['detail', 'extensive', 'terse', 'brief']) if (hasArg(el, d)) w.push(d);
      return w;
    },
    render: routeInformation,
  },
  { rpc: 'get-route-summary-information', command: ['show', 'route', 'summary'], render: routeSummary },
  {
    rpc: 'get-interface-information',
    command: ['show', 'interfaces', 'terse'],
    filter: (data, el) => {
      const name = argText(el, 'interface-name');
      if (!name) return data;
      return { ...rec(data), interfaces: arr(rec(data).interfaces).filter((i) => globMatch(name, String(rec(i).name))) };
    },
    render: interfaceInformation,
  },
  { rpc: 'get-bgp-summary-information', command: ['show', 'bgp', 'summary'], render: bgpSummary },
  {
    rpc: 'get-bgp-neighbor-information',
    command: ['show', 'bgp', 'neighbor'],
    args: (el) => {
      const a = argText(el, 'neighbor-address');
      return a ? [a] : [];
    },
    render: bgpNeighbors,
  },
  { rpc: 'get-system-uptime-information', command: ['show', 'system', 'uptime'], render: uptimeInformation },
  { rpc: 'get-software-information', command: ['show', 'version'], render: softwareInformation },
  { rpc: 'get-route-engine-information', command: ['show', 'chassis', 'routing-engine'], render: routeEngineInformation },
  { rpc: 'get-chassis-inventory', command: ['show', 'chassis', 'hardware'], render: chassisInventory },
];

export function viewForRpc(name: string): JunosView | undefined {
  return JUNOS_VIEWS.find((v) => v.rpc === name);
}

/** The view of the longest command `words` starts with (`show route summary` before `show route`). */
export function viewForCommand(words: readonly string[]): JunosView | undefined {
  let best: JunosView | undefined;
  for (const v of JUNOS_VIEWS) {
    if (v.command.length <= words.length && v.command.every((w, i) => w === words[i]) && (!best || v.command.length > best.command.length)) best = v;
  }
  return best;
}
