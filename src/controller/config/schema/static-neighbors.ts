/**
 * `interfaces IF unit 0 family inet address A arp IP mac MAC` and `family inet6 address A ndp
 * IP mac MAC`: static (permanent) neighbours, as in Junos. The vRouter installs them with the
 * interface, never resolves nor ages them, and what ARP or NDP says does not change them. The
 * CNI plugin gives each pod's address and MAC this way (docs/cni.md): the vRouter can answer
 * the pod's first packet without resolving it first.
 */
import { leaf, list } from './dsl.js';
import type { LeafType } from './dsl.js';
import { ipv4, ipv6 } from './types.js';

/** A unicast MAC address, stored in lower case with colons. */
export const unicastMac: LeafType = {
  name: 'mac-address',
  parse: (w: string) => {
    if (!/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(w)) throw new Error(`invalid MAC address '${w}' (six hex bytes with colons)`);
    if ((parseInt(w.slice(0, 2), 16) & 1) !== 0) throw new Error(`MAC address ${w} is multicast`);
    return w.toLowerCase();
  },
};

export const arpEntries = list('Static ARP entry: a neighbour on this interface with a known MAC (never resolved nor aged out)', 'address', ipv4, {
  mac: leaf('MAC address of the neighbour', unicastMac),
});

export const ndpEntries = list('Static NDP entry: a neighbour on this interface with a known MAC (never resolved nor aged out)', 'address', ipv6, {
  mac: leaf('MAC address of the neighbour', unicastMac),
});
