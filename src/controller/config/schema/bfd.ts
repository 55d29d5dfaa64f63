/**
 * `bfd-liveness-detection`: the BFD statement a client protocol carries (BGP at the bgp,
 * group and neighbor levels; a static route and its qualified next hops; IS-IS interfaces
 * once IS-IS has them), in Junos's form: `bfd-liveness-detection minimum-interval 100
 * multiplier 3`, with `authentication key-chain K algorithm keyed-sha-1` naming a key chain of
 * `security authentication-key-chains` (security.ts). docs/bfd.md says what each leaf does.
 */
import { container, leaf, type ContainerNode } from './dsl.js';
import { enumOf, ip, name, uint } from './types.js';

export function bfdLivenessDetection(opts: { localAddress?: boolean } = {}): ContainerNode {
  return container('Bidirectional Forwarding Detection (RFC 5880) of this peer or next hop', {
    'minimum-interval': leaf('Transmit and receive interval, milliseconds', uint(1, 255000)),
    'minimum-receive-interval': leaf('Receive interval, milliseconds (default: minimum-interval)', uint(1, 255000)),
    'transmit-interval': container('Transmit interval', {
      'minimum-interval': leaf('Transmit interval, milliseconds (default: minimum-interval)', uint(1, 255000)),
    }),
    multiplier: leaf('Packets missed before the session is declared down', uint(1, 255), { default: 3 }),
    'session-mode': leaf('Single hop (RFC 5881, UDP 3784), multihop (RFC 5883, UDP 4784), or automatic (multihop for BGP multihop and internal peers not on a shared subnet)', enumOf('automatic', 'single-hop', 'multihop'), { default: 'automatic' }),
    ...(opts.localAddress ? { 'local-address': leaf('Source address of the BFD session (multihop)', ip) } : {}),
    'minimum-ttl': leaf('Multihop: drop packets that arrive with a lower TTL / hop limit (RFC 5883 section 5; cnr\'s statement, FRR\'s name): 255 - N routers away at most', uint(1, 255)),
    authentication: container('Authentication of the session\'s packets (RFC 5880 section 6.7)', {
      'key-chain': leaf('Key chain (security authentication-key-chains key-chain NAME)', name),
      algorithm: leaf('keyed-sha-1, or meticulous-keyed-sha-1 (the sequence number rises with every packet)', enumOf('keyed-sha-1', 'meticulous-keyed-sha-1'), { default: 'keyed-sha-1' }),
    }),
  });
}
