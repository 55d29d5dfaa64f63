/**
 * `routing-options`: router identity, static routes and the forwarding-table export policy.
 * The same statements appear inside routing instances (`routingOptions(true)`), where the
 * IPv6 table is `NAME.inet6.0`.
 */
import { container, flag, leaf, leafList, list, type Children } from './dsl.js';
import { asn, ifname, ip, ipv4, name, prefix, uint } from './types.js';
import type { LeafType } from './dsl.js';
import { bfdLivenessDetection } from './bfd.js';

function staticRoutes(): Children {
  return {
    route: list('Static route', 'destination-prefix', prefix, {
      'next-hop': leafList('Next-hop address; several give equal-cost multipath', ip),
      'qualified-next-hop': list('Next hop with its own interface and preference', 'address', ip, {
        interface: leaf('Outgoing interface', ifname),
        preference: leaf('Preference of this next hop (lower wins)', uint(0, 4294967295)),
        metric: leaf('Metric of this next hop', uint(0, 4294967295)),
        'bfd-liveness-detection': bfdLivenessDetection({ localAddress: true }),
      }),
      discard: flag('Drop packets to this destination silently'),
      reject: flag('Drop packets to this destination and send ICMP unreachable'),
      receive: flag('Deliver packets to this destination to the router itself'),
      preference: leaf('Route preference (lower wins)', uint(0, 4294967295), { default: 5 }),
      metric: leaf('Route metric', uint(0, 4294967295)),
      tag: leaf('Route tag', uint(0, 4294967295)),
      resolve: flag('Resolve the next hop recursively through other routes'),
      'no-readvertise': flag('Do not export this route to routing protocols'),
      'bfd-liveness-detection': bfdLivenessDetection({ localAddress: true }),
    }),
    defaults: container('Defaults for all static routes of this table', {
      preference: leaf('Route preference (lower wins)', uint(0, 4294967295), { default: 5 }),
      resolve: flag('Resolve next hops recursively'),
    }),
  };
}

const ribName: LeafType = {
  name: 'rib-name (inet6.0 or INSTANCE.inet6.0, inet.0)',
  parse(w: string) {
    if (!/^([A-Za-z0-9_][A-Za-z0-9_.-]*\.)?inet6?\.0$/.test(w)) throw new Error(`invalid routing table name '${w}' (inet.0, inet6.0, NAME.inet6.0)`);
    return w;
  },
};

export function routingOptions(inInstance: boolean) {
  const children: Children = {
    'router-id': leaf('Router identifier (an IPv4 address)', ipv4),
    'autonomous-system': leaf('Autonomous system number', asn),
    static: container('Static routes of the IPv4 table', staticRoutes()),
    rib: list(inInstance ? 'Routing table of this instance (NAME.inet6.0)' : 'Routing table (inet6.0)', 'table-name', ribName, {
      static: container('Static routes of this table', staticRoutes()),
    }),
    'forwarding-table': container('What goes from the RIB into the data plane', {
      export: leafList('Policies applied to routes exported to the forwarding table', name),
    }),
  };
  if (!inInstance) {
    children['maximum-paths'] = leaf('Most equal-cost next hops per route in the forwarding table', uint(1, 64), { default: 16 });
  }
  return container(inInstance ? 'Routing options of this instance' : 'Protocol-independent routing options', children);
}
