/** `firewall family inet|inet6|bridge filter NAME term T ...`: stateless packet filters (ACLs; bridge: bridge-domains.ts). */
import { container, flag, leaf, leafList, list } from './dsl.js';
import { ipProtocol, name, portMatch, prefix4, prefix6, uint, enumOf } from './types.js';
import type { LeafType } from './dsl.js';
import { bridgeFilters } from './bridge-domains.js';

function filters(family: 'IPv4' | 'IPv6', pfx: LeafType) {
  return container(`${family} filters`, {
    filter: list(`${family} firewall filter`, 'filter-name', name, {
      term: list('Filter term, evaluated in order', 'term-name', name, {
        from: container('Match conditions (all must match)', {
          'source-address': list('Source address in this prefix', 'prefix', pfx, { except: flag('Exclude this prefix') }),
          'destination-address': list('Destination address in this prefix', 'prefix', pfx, { except: flag('Exclude this prefix') }),
          protocol: leafList(family === 'IPv4' ? 'IP protocol' : 'Next header (IPv6)', ipProtocol),
          'source-port': leafList('TCP/UDP source port or range', portMatch),
          'destination-port': leafList('TCP/UDP destination port or range', portMatch),
          'icmp-type': leafList('ICMP type number', uint(0, 255)),
          'tcp-flags': leaf('TCP flags expression', enumOf('syn', 'ack', 'fin', 'rst', 'established', 'initial')),
        }),
        then: container('Actions', {
          accept: flag('Let the packet through'),
          discard: flag('Drop the packet silently'),
          reject: flag('Drop the packet and send ICMP unreachable'),
          count: leaf('Count matching packets in this named counter', name),
          log: flag('Log matching packets'),
          next: leaf('Continue with the next term', enumOf('term')),
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
