/**
 * `firewall family inet|inet6|bridge filter NAME term T ...`: stateless packet filters (ACLs;
 * bridge: bridge-domains.ts). What the vRouter cannot do (tcp-flags, log, next term) stays in
 * the schema, so that it is refused at commit with a reason (controller/filters/config.ts)
 * rather than as an unknown word; docs/filters.md.
 */
import { container, flag, leaf, leafList, list } from './dsl.js';
import { ipProtocol, name, portMatch, prefix4, prefix6, uint, enumOf } from './types.js';
import type { LeafType } from './dsl.js';
import { bridgeFilters } from './bridge-domains.js';

function filters(family: 'IPv4' | 'IPv6', pfx: LeafType) {
  return container(`${family} filters`, {
    filter: list(`${family} firewall filter`, 'filter-name', name, {
      term: list('Filter term, evaluated in order', 'term-name', name, {
        from: container('Match conditions (all must match)', {
          'source-address': list('Source address in this prefix (the longest listed prefix holding the address decides)', 'prefix', pfx, { except: flag('Exclude this prefix') }),
          'destination-address': list('Destination address in this prefix (the longest listed prefix holding the address decides)', 'prefix', pfx, { except: flag('Exclude this prefix') }),
          protocol: leafList(family === 'IPv4' ? 'IP protocol (any of them)' : 'Next header (IPv6; any of them)', ipProtocol),
          'source-port': leafList('TCP/UDP/SCTP source port or range (without protocol: TCP and UDP)', portMatch),
          'destination-port': leafList('TCP/UDP/SCTP destination port or range (without protocol: TCP and UDP)', portMatch),
          'icmp-type': leafList(family === 'IPv4' ? 'ICMP type number (implies protocol icmp)' : 'ICMPv6 type number (implies next header icmp6)', uint(0, 255)),
          'tcp-flags': leaf('TCP flags expression (refused at commit: the vRouter matches no TCP flags)', enumOf('syn', 'ack', 'fin', 'rst', 'established', 'initial')),
        }),
        then: container('Actions', {
          accept: flag('Let the packet through (also a term with no discard or reject)'),
          discard: flag('Drop the packet silently'),
          reject: flag('Drop the packet and send ICMP unreachable, administratively prohibited'),
          count: leaf('Count matching packets in this named counter (show firewall)', name),
          log: flag('Log matching packets (refused at commit: the vRouter logs no packets)'),
          next: leaf('Continue with the next term (refused at commit: the first matching term decides)', enumOf('term')),
        }),
      }),
    }),
  });
}

export const firewall = container('Packet filters', {
  family: container('Address family', {
    inet: filters('IPv4', prefix4),
    inet6: filters('IPv6', prefix6),
    bridge: bridgeFilters,
  }, { inline: true }),
});
