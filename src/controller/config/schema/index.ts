/**
 * The whole configuration schema: one file per top-level area. The tree the store keeps,
 * the commit hands to consumers, and every notation prints follows this description.
 */
import { container, type Children, type ContainerNode } from './dsl.js';
import { firewall } from './firewall.js';
import { applyGroups, groupsNode } from './groups.js';
import { interfaces } from './interfaces.js';
import { policyOptions } from './policy-options.js';
import { protocolsBgp } from './protocols-bgp.js';
import { protocolsIsis } from './protocols-isis.js';
import { routingInstances } from './routing-instances.js';
import { routingOptions } from './routing-options.js';
import { security } from './security.js';
import { system } from './system.js';
import { bridgeDomains, l2Learning, stormControlProfiles } from './bridge-domains.js';

export * from './dsl.js';

const areas: Children = {
  system,
  interfaces,
  'routing-options': routingOptions(false),
  protocols: container('Routing protocols', {
    bgp: protocolsBgp,
    isis: protocolsIsis,
    'l2-learning': l2Learning,
  }),
  'policy-options': policyOptions,
  firewall,
  'routing-instances': routingInstances,
  'bridge-domains': bridgeDomains,
  security,
  'forwarding-options': container('Forwarding options', {
    'storm-control-profiles': stormControlProfiles,
  }),
};

/** The root of the configuration tree. */
export const schema: ContainerNode = container('Configuration', {
  ...areas,
  groups: groupsNode({ ...areas }),
  'apply-groups': applyGroups,
});
