/** `interfaces IF ...`: the Linux netdevs the vRouter attaches to, their units and addresses. */
import { container, flag, leaf, list } from './dsl.js';
import { cidr4, cidr6, enumOf, ifname, name, str, uint } from './types.js';
import { familyIso } from './protocols-isis.js';
import { familyBridge } from './bridge-domains.js';
import { arpEntries, ndpEntries } from './static-neighbors.js';

function familyFilters() {
  return container('Firewall filters applied to this family', {
    input: leaf('Filter for packets received on this interface and forwarded (docs/filters.md)', name),
    output: leaf('Filter for packets forwarded out of this interface (docs/filters.md)', name),
  });
}

export const interfaces = list('Network interfaces (Linux netdevs attached to the vRouter)', 'interface-name', ifname, {
  description: leaf('Text description of the interface', str),
  disable: flag('Administratively disable the interface'),
  mtu: leaf('Maximum transmission unit (bytes of IP packet)', uint(68, 16000)),
  'vlan-id': leaf('802.1Q VLAN identifier (the interface is a VLAN sub-interface)', uint(1, 4094)),
  'mac-address': leaf('MAC address the vRouter uses on this interface', str),
  'native-vlan-id': leaf('L2 trunk: the VLAN of untagged frames, both ways', uint(1, 4094)),
  vrouter: container('How the vRouter attaches the netdev', {
    driver: leaf('af-packet: attach to an existing netdev (default); af-xdp: attach to an existing netdev through an XDP program and an AF_XDP socket; tap: the vRouter creates the netdev as a TAP it owns; memif: the vRouter serves a memif socket for a DPDK application (no netdev)', enumOf('af-packet', 'af-xdp', 'tap', 'memif')),
    memif: container('driver memif: the control socket a DPDK (net_memif, role=client) or libmemif application connects to (docs/memif.md)', {
      socket: leaf('Absolute path of the control socket (the vRouter creates it; its directory must exist)', str),
      id: leaf('Interface id the client asks for (default 0)', uint(0, 4294967295)),
      secret: leaf('Secret the client must present (up to 23 characters)', str, { secret: true }),
    }),
  }),
  unit: list('Logical unit', 'unit-number', uint(0, 16385) /* key stored as text */, {
    description: leaf('Text description of the unit', str),
    disable: flag('Administratively disable the unit'),
    family: container('Protocol family', {
      inet: container('IPv4', {
        address: list('IPv4 address of the interface, with prefix length (at most 8 per unit: the size of the vRouter interface table)', 'address', cidr4, {
          primary: flag('Source address for locally originated packets'),
          arp: arpEntries,
        }),
        mtu: leaf('IPv4 MTU', uint(68, 16000)),
        filter: familyFilters(),
      }),
      inet6: container('IPv6', {
        address: list('IPv6 address of the interface, with prefix length (at most 7 per unit besides the link-local)', 'address', cidr6, {
          primary: flag('Source address for locally originated packets'),
          ndp: ndpEntries,
        }),
        mtu: leaf('IPv6 MTU', uint(1280, 16000)),
        filter: familyFilters(),
      }),
      mpls: container('MPLS: accept labelled packets on this unit', {}),
      iso: familyIso,
      bridge: familyBridge,
    }, { inline: true }),
  }),
}, { flat: true });
