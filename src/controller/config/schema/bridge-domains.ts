/**
 * L2 switching (docs/l2.md): `bridge-domains BD ...`, the `family bridge` of an interface
 * unit (a bridge port), `protocols l2-learning` and `forwarding-options
 * storm-control-profiles`, in Junos form. interfaces.ts and index.ts only hang these nodes
 * into the tree; the rules over several statements are in config/validate.ts
 * (validateBridging), the consumer in controller/l2/.
 */
import { container, flag, leaf, leafList, list, type LeafType } from './dsl.js';
import { enumOf, ipProtocol, name, portMatch, prefix4, prefix6, str, uint } from './types.js';

/** A number min..max or an inclusive range N-M of them (canonical: N, or N-M when M > N); `what` names it in errors. */
function numberRange(name: string, what: string, min: number, max: number): LeafType {
  return {
    name,
    parse(w: string): string {
      const m = /^(\d+)(?:-(\d+))?$/.exec(w);
      const lo = m ? Number(m[1]) : NaN;
      const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
      if (!m || lo < min || hi > max || lo > hi) throw new Error(`'${w}' is not ${what} (${min}..${max}, N-M with N <= M)`);
      return lo === hi ? String(lo) : `${lo}-${hi}`;
    },
  };
}

/** A VLAN or an inclusive range of them: 100, 200-210. */
export const vlanRange = numberRange('vlan-id or range (1..4094, N-M)', 'a VLAN id or range', 1, 4094);

/** An ICMP type or an inclusive range of them: 8, 1-4. */
export const icmpTypeRange = numberRange('icmp-type (0..255 or N-M)', 'an ICMP type or range', 0, 255);

/** The routing interface of a bridge domain: irb.N (a unit of `interfaces irb`). */
export const irbUnit: LeafType = {
  name: 'irb.N',
  parse(w: string): string {
    const m = /^irb\.(\d+)$/.exec(w);
    if (!m || Number(m[1]) > 16385) throw new Error(`'${w}' is not an IRB unit (irb.N, N a unit of interfaces irb)`);
    return `irb.${Number(m[1])}`;
  },
};

/** A MAC address, optionally with a prefix length: 02:00:00:00:00:01/48 (canonical: lower case, with /len). */
export const macMatch: LeafType = {
  name: 'MAC[/0..48]',
  parse(w: string): string {
    const m = /^((?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2})(?:\/(\d{1,2}))?$/.exec(w);
    const len = m?.[2] !== undefined ? Number(m[2]) : 48;
    if (!m || len > 48) throw new Error(`'${w}' is not a MAC address match (xx:xx:xx:xx:xx:xx or xx:xx:xx:xx:xx:xx/0..48)`);
    return `${m[1]!.toLowerCase()}/${len}`;
  },
};

/** EtherType names Junos takes, and their numbers. */
export const ETHER_TYPES: Record<string, number> = { ipv4: 0x0800, arp: 0x0806, ipv6: 0x86dd, 'mpls-unicast': 0x8847, 'mpls-multicast': 0x8848, vlan: 0x8100, lldp: 0x88cc };

/** An EtherType: a name (ipv4, arp, ipv6, ...) or a number 0x0600..0xffff (decimal or 0x hex). */
export const etherType: LeafType = {
  name: `ether-type (${Object.keys(ETHER_TYPES).join(', ')} or 0x0600..0xffff)`,
  parse(w: string): string {
    if (Object.hasOwn(ETHER_TYPES, w)) return w;
    const v = /^0x[0-9a-fA-F]{1,4}$/.test(w) ? parseInt(w, 16) : /^\d+$/.test(w) ? Number(w) : NaN;
    if (!(v >= 0x600 && v <= 0xffff)) throw new Error(`'${w}' is not an EtherType (${Object.keys(ETHER_TYPES).join(', ')} or 0x0600..0xffff)`);
    return `0x${v.toString(16).padStart(4, '0')}`;
  },
};

/** An etherType leaf's value as a number. */
export function etherTypeValue(v: string): number {
  return ETHER_TYPES[v] ?? parseInt(v, 16);
}

/** Terms a bridge filter has at most: the data plane's rules per interface (MAX_ACL_RULES). */
export const MAX_BRIDGE_FILTER_TERMS = 64;

/** IPv6 Next Header values by name (the extension headers and the upper layers a filter names). */
export const NEXT_HEADERS: Record<string, number> = { 'hop-by-hop': 0, icmp: 1, tcp: 6, udp: 17, routing: 43, fragment: 44, gre: 47, esp: 50, ah: 51, icmp6: 58, 'no-next-header': 59, 'dest-options': 60, ospf: 89, pim: 103, vrrp: 112, sctp: 132 };

/** An IPv6 Next Header: 0..255 or a name (hop-by-hop, routing, fragment, dest-options, tcp, ...). */
export const nextHeader: LeafType = {
  name: `next-header (0..255 or ${Object.keys(NEXT_HEADERS).join(', ')})`,
  parse(w: string): string {
    if (Object.hasOwn(NEXT_HEADERS, w) || (/^\d+$/.test(w) && Number(w) <= 255)) return w;
    throw new Error(`'${w}' is not an IPv6 next header (0..255 or ${Object.keys(NEXT_HEADERS).join(', ')})`);
  },
};

/**
 * `firewall family bridge filter F term T`: L2 filters of bridge ports. Every match takes a
 * list, as in Junos (`source-mac-address [ A B ]`): a frame matches a term when each match has
 * a value it fits; the controller sends one data-plane rule per combination
 * (controller/l2/bridge-filter.ts), and refuses a filter that needs more than the 64 rules
 * a port holds.
 */
export const bridgeFilters = container('Bridge (L2) filters', {
  filter: list('Bridge firewall filter', 'filter-name', name, {
    term: list('Filter term, evaluated in order (a frame no term matches is discarded)', 'term-name', name, {
      from: container('Match conditions (all must match; within a list, any value)', {
        'source-mac-address': leafList('Source MAC (MAC/length: its first bits)', macMatch),
        'destination-mac-address': leafList('Destination MAC (MAC/length: its first bits)', macMatch),
        'vlan-id': leafList("The frame's VLAN (N or N-M)", vlanRange),
        'ether-type': leafList('EtherType (after any 802.1Q tag)', etherType),
        // IP payload fields (docs/l2.md): a term with any matches frames of that IP version only
        'ip-source-address': leafList('IPv4 payload: source address in this prefix', prefix4),
        'ip-destination-address': leafList('IPv4 payload: destination address in this prefix', prefix4),
        'ip-protocol': leafList('IPv4 payload: IP protocol', ipProtocol),
        'ipv6-source-address': leafList('IPv6 payload: source address in this prefix', prefix6),
        'ipv6-destination-address': leafList('IPv6 payload: destination address in this prefix', prefix6),
        'ipv6-next-header': leafList("IPv6 payload: the fixed header's Next Header (an extension header or the upper layer)", nextHeader),
        'ipv6-payload-protocol': leafList('IPv6 payload: the upper-layer protocol, after any extension headers', ipProtocol),
        'source-port': leafList('IPv4 (or, with ether-type ipv6 or an IPv6 field, IPv6) payload: TCP/UDP/SCTP source port or range (first fragments)', portMatch),
        'destination-port': leafList('IPv4 (or IPv6, as source-port) payload: TCP/UDP/SCTP destination port or range (first fragments)', portMatch),
        'icmp-type': leafList('ICMP type (IPv4), or ICMPv6 type (with ether-type ipv6 or an IPv6 field): N or N-M (first fragments)', icmpTypeRange),
      }),
      then: container('Actions (a term with neither accept nor discard accepts)', {
        accept: flag('Let the frame through'),
        discard: flag('Drop the frame (counted as l2_filter_discard, on output l2_filter_out_discard)'),
        count: leaf("Name of the term's counter (cnr acl --list shows each term's hits)", name),
      }),
    }),
  }),
});

/** The VLANs of a vlan-id-list, expanded. */
export function expandVlans(list: readonly string[]): number[] {
  const out = new Set<number>();
  for (const r of list) {
    const [lo, hi] = r.split('-').map(Number) as [number, number | undefined];
    for (let v = lo; v <= (hi ?? lo); v++) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

export const bridgeDomains = list('Bridge domains: VLANs switched between bridge ports (L2 mode)', 'bridge-domain-name', name, {
  description: leaf('Text description of the bridge domain', str),
  'vlan-id': leaf('The VLAN the domain switches', uint(1, 4094)),
  'routing-interface': leaf('IRB unit routing for the domain (irb.N, with addresses under interfaces irb unit N)', irbUnit),
  'bridge-options': container('MAC learning limits of the domain', {
    'interface-mac-limit': container('MACs each interface of the domain learns at most, and what happens beyond', {
      limit: leaf('MACs each interface learns at most', uint(1, 1048576)),
      'packet-action': leaf('Frames from a new source beyond the limit: drop (the default: dropped and counted) or none (forwarded, the source not learned)', enumOf('drop', 'none')),
    }, { positional: 'limit' }),
    'mac-table-size': container('MACs the domain learns at most, and what happens beyond', {
      limit: leaf('MACs the domain learns at most', uint(1, 1048576)),
      'packet-action': leaf('Frames from a new source beyond the limit: drop (the default: dropped and counted) or none (forwarded, the source not learned)', enumOf('drop', 'none')),
    }, { positional: 'limit' }),
  }),
});

/** `interfaces IF unit 0 family bridge`: the unit is a bridge port. */
export const familyBridge = container('L2: the unit is a bridge port', {
  'interface-mode': leaf('access: untagged frames of one VLAN; trunk: 802.1Q tagged frames of a VLAN list', enumOf('access', 'trunk')),
  'vlan-id': leaf('access: the VLAN of the port', uint(1, 4094)),
  'vlan-id-list': leafList('trunk: the VLANs carried (N or N-M)', vlanRange),
  'storm-control': leaf('Storm-control profile (forwarding-options storm-control-profiles)', name),
  'no-local-switching': flag('Frames are not switched between ports that both have this'),
  // QinQ (802.1ad, docs/l2.md): EX's dot1q-tunneling and its ether-type, per port
  'ether-type': leaf('trunk: the TPID of its VLAN tags: 0x8100 (802.1Q, the default), 0x88a8 (802.1ad: a QinQ provider trunk, which drops 802.1Q-tagged frames) or 0x9100', enumOf('0x8100', '0x88a8', '0x9100')),
  'dot1q-tunneling': flag('access: a QinQ tunnel port: untagged and 802.1Q-tagged frames alike go into its vlan-id (the S-VLAN), the customer tag kept as payload'),
  filter: container('Bridge filter applied to the port', {
    input: leaf('Filter of frames received (firewall family bridge filter)', name),
    output: leaf('Filter of frames the port sends (firewall family bridge filter)', name),
  }),
});

export const l2Learning = container('L2 learning', {
  'global-mac-table-aging-time': leaf('Seconds after which a MAC not seen is forgotten (default 300)', uint(10, 1000000)),
});

export const stormControlProfiles = list('Storm-control profiles (limits on broadcast, multicast and unknown unicast received)', 'profile-name', name, {
  all: container('Broadcast, multicast and unknown unicast together', {
    'bandwidth-level': leaf('kbit/s allowed', uint(1, 100000000)),
    'burst-size': leaf('Bytes allowed in a burst (default: 100 ms of the rate, at least 16 full frames)', uint(64, 100000000)),
  }),
});
