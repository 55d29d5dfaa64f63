/** `routing-instances NAME`: VRFs and virtual routers, each with its own tables. */
import { container, flag, leaf, leafList, list } from './dsl.js';
import { protocolsBgp } from './protocols-bgp.js';
import { routingOptions } from './routing-options.js';
import { enumOf, ifname, name, routeDistinguisher, routeTarget, str } from './types.js';

export const routingInstances = list('Routing instances (VRFs and virtual routers)', 'instance-name', name, {
  description: leaf('Text description of the instance', str),
  'instance-type': leaf('Kind of instance', enumOf('vrf', 'virtual-router', 'forwarding')),
  interface: leafList('Interface that belongs to this instance', ifname),
  'route-distinguisher': leaf('Route distinguisher for VPN routes of this instance', routeDistinguisher),
  'vrf-target': container('Route target for import and export (target:ASN:n)', {
    community: leaf('Route target used for both import and export', routeTarget),
    import: leaf('Route target accepted on import', routeTarget),
    export: leaf('Route target attached on export', routeTarget),
  }, { positional: 'community' }),
  'vrf-import': leafList('Import policies for VPN routes', name),
  'vrf-export': leafList('Export policies for VPN routes', name),
  'vrf-table-label': flag('Allocate one label for the whole table (lookup in the VRF on arrival)'),
  'routing-options': routingOptions(true),
  protocols: container('Routing protocols in this instance', {
    bgp: protocolsBgp,
  }),
}, { flat: true });
