/** `policy-options`: routing policies and the named sets (prefix lists, communities, AS paths) they match. */
import { container, flag, leaf, leafList, list, type Children } from './dsl.js';
import { asPathText, communityMember, enumOf, ifname, ip, name, policyNextHop, prefix, prefixLength, prefixLengthRange, regex, uint } from './types.js';

const PROTOCOLS = ['bgp', 'static', 'direct', 'local', 'aggregate', 'isis', 'ospf', 'access-internal'];

function from() {
  return container('Match conditions (all must match)', {
    protocol: leafList('Protocol that produced the route', enumOf(...PROTOCOLS)),
    'route-filter': list('Match the destination against a prefix', 'prefix', prefix, {
      exact: flag('Only this prefix'),
      orlonger: flag('This prefix or any more specific'),
      longer: flag('Any more specific, not the prefix itself'),
      upto: leaf('This prefix and more specifics up to this length', prefixLength),
      'prefix-length-range': leaf('More specifics with a length in this range', prefixLengthRange),
    }),
    'prefix-list': leafList('Destination in this prefix list (exact)', name),
    'prefix-list-filter': list('Destination in this prefix list, with a match type', 'list-name', name, {
      exact: flag('Exact match'),
      orlonger: flag('The prefix or longer'),
      longer: flag('Longer only'),
    }),
    community: leafList('Route carries a community matching this named community', name),
    'as-path': leafList('AS path matches this named regex', name),
    neighbor: leafList('Route learnt from this neighbor', ip),
    'next-hop': leafList('Route has this next hop', ip),
    interface: leafList('Route points out of this interface', ifname),
    family: leaf('Address family of the route', enumOf('inet', 'inet6', 'inet-vpn', 'inet6-vpn', 'inet-labeled-unicast', 'inet6-labeled-unicast')),
    'local-preference': leaf('LOCAL_PREF equals', uint(0, 4294967295)),
    metric: leaf('MED equals', uint(0, 4294967295)),
    tag: leaf('Route tag equals', uint(0, 4294967295)),
    'route-type': leaf('Internal or external route', enumOf('internal', 'external')),
    instance: leaf('Route is in this routing instance', name),
    level: leaf('IS-IS level the route was learned at (route leaking)', uint(1, 2)),
  });
}

function then() {
  return container('Actions', {
    accept: flag('Accept the route and stop evaluating'),
    reject: flag('Reject the route and stop evaluating'),
    next: leaf('Go on to the next term or the next policy', enumOf('term', 'policy')),
    'local-preference': leaf('Set LOCAL_PREF', uint(0, 4294967295)),
    metric: leaf('Set MED', uint(0, 4294967295)),
    preference: leaf('Set the route preference', uint(0, 4294967295)),
    tag: leaf('Set the route tag', uint(0, 4294967295)),
    origin: leaf('Set ORIGIN', enumOf('igp', 'egp', 'incomplete')),
    community: container('Change communities', {
      add: leafList('Add the members of this named community', name),
      delete: leafList('Remove the members of this named community', name),
      set: leafList('Replace all communities with the members of this named community', name),
    }),
    'as-path-prepend': leaf('Prepend these AS numbers, e.g. "65001 65001"', asPathText),
    'next-hop': leaf('Set the next hop', policyNextHop),
    'load-balance': leaf('Forwarding-table export: install all equal next hops', enumOf('per-packet', 'per-flow', 'consistent-hash')),
  });
}

function termBody(): Children {
  return { from: from(), to: container('Where the route is going', { level: leaf('IS-IS level the route is exported into (route leaking)', uint(1, 2)) }), then: then() };
}

export const policyOptions = container('Routing policy', {
  'prefix-list': list('Named list of prefixes', 'list-name', name, {
    prefixes: leafList('Prefixes in the list', prefix),
  }, { positional: 'prefixes' }),
  community: list('Named community', 'community-name', name, {
    members: leafList('Community values or regular expressions', communityMember),
    invert: flag('Match routes without these communities'),
  }),
  'as-path': list('Named AS-path regular expression', 'path-name', name, {
    path: leaf('Regular expression over AS numbers, e.g. "65001 .*"', regex),
  }, { positional: 'path' }),
  'policy-statement': list('Routing policy', 'policy-name', name, {
    term: list('Policy term, evaluated in order', 'term-name', name, termBody()),
    ...termBody(),
  }),
});
