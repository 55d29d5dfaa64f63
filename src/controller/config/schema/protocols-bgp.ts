/**
 * `protocols bgp`: the statements valid at the bgp, group and neighbor levels. A neighbor
 * inherits from its group, a group from bgp (the BGP consumer resolves that); the schema
 * only says what may be written where. bgp-core extends this file.
 */
import { container, flag, leaf, leafList, list, type Children } from './dsl.js';
import { asn, enumOf, ip, ipv4, name, str, uint } from './types.js';
import { bfdLivenessDetection } from './bfd.js';

function afiSafi(help: string, extra: Children = {}) {
  return container(help, {
    ...extra,
    'prefix-limit': container('Limit on prefixes received', {
      maximum: leaf('Most prefixes accepted', uint(1, 4294967295)),
      teardown: flag('Close the session when the limit is exceeded'),
    }),
    'add-path': container('BGP add-path (RFC 7911) for this family', {
      receive: flag('Accept several paths per prefix'),
      send: container('Send several paths per prefix', { 'path-count': leaf('Paths sent per prefix', uint(2, 64)) }),
    }),
  });
}

function families() {
  return container('Address families (AFI/SAFI) negotiated with the peer', {
    inet: container('IPv4', {
      unicast: afiSafi('IPv4 unicast'),
      'labeled-unicast': afiSafi('IPv4 labelled unicast (RFC 8277)', {
        'explicit-null': flag('Advertise routes whose next hop is this router with label 0 (explicit null) instead of 3 (implicit null)'),
      }),
    }),
    inet6: container('IPv6', {
      unicast: afiSafi('IPv6 unicast'),
      'labeled-unicast': afiSafi('IPv6 labelled unicast (RFC 8277)'),
    }),
    'inet-vpn': container('IPv4 L3VPN', { unicast: afiSafi('IPv4 VPN unicast (RFC 4364)') }),
    'inet6-vpn': container('IPv6 L3VPN', { unicast: afiSafi('IPv6 VPN unicast (RFC 4659)') }),
  }, { inline: true });
}

/** Statements accepted at all three levels. */
function common(): Children {
  return {
    description: leaf('Text description', str),
    'peer-as': leaf('Autonomous system of the peer', asn),
    'local-as': leaf('Local autonomous system used with this peer', asn),
    'local-address': leaf('Source address of the TCP session', ip),
    'local-preference': leaf('LOCAL_PREF sent to internal peers', uint(0, 4294967295)),
    import: leafList('Import policies, evaluated in order', name),
    export: leafList('Export policies, evaluated in order', name),
    'hold-time': leaf('Hold time in seconds (0, or 3..65535)', {
      name: 'seconds 0 | 3..65535',
      parse(w: string) {
        const n = uint(0, 65535).parse(w) as number;
        if (n === 1 || n === 2) throw new Error('hold time must be 0 or 3..65535');
        return n;
      },
    }, { default: 90 }),
    passive: flag('Do not open connections; wait for the peer'),
    'vpn-encapsulation': leaf('How traffic toward PEs whose VPN routes come from this peer is carried: mpls (MPLS over Ethernet, the default) or mpls-over-udp (RFC 7510, UDP port 6635)', enumOf('mpls', 'mpls-over-udp')),
    'authentication-key': leaf('TCP MD5 key (RFC 2385)', str, { secret: true }),
    multihop: container('Peer is more than one hop away', {
      ttl: leaf('TTL of outgoing packets', uint(1, 255), { default: 64 }),
    }),
    family: families(),
    cluster: leaf('Route-reflector cluster identifier (makes this a route reflector)', ipv4),
    multipath: container('Use several equal paths', {
      'multiple-as': flag('Paths from different neighbouring AS are equal'),
    }),
    'graceful-restart': container('Graceful restart (RFC 4724)', {
      'restart-time': leaf('Restart time announced, seconds', uint(1, 4095), { default: 120 }),
      'stale-routes-time': leaf('How long stale routes are kept, seconds', uint(1, 600), { default: 300 }),
      disable: flag('Turn graceful restart off'),
    }),
    'add-path': container('BGP add-path (RFC 7911) for all families', {
      receive: flag('Accept several paths per prefix'),
      send: container('Send several paths per prefix', { 'path-count': leaf('Paths sent per prefix', uint(2, 64)) }),
    }),
    'log-updown': flag('Log session state changes'),
    'remove-private': flag('Remove private AS numbers from AS paths sent'),
    'as-override': flag('Replace the peer AS in AS paths sent with our own'),
    'advertise-inactive': flag('Advertise the best BGP route even if it is not active'),
    'keep': leaf('Which received routes to keep', enumOf('all', 'none')),
    shutdown: flag('Administratively stop the session(s)'),
    'bfd-liveness-detection': bfdLivenessDetection(),
  };
}

export const protocolsBgp = container('Border Gateway Protocol', {
  ...common(),
  group: list('Group of peers sharing options', 'group-name', name, {
    ...common(),
    type: leaf('Internal (same AS) or external peers', enumOf('internal', 'external')),
    neighbor: list('A BGP peer', 'address', ip, common()),
  }),
});
