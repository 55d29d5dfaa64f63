/**
 * The router's MAC on an attached netdev when none is configured. It must differ from the
 * netdev's own MAC (so the host kernel sees the router's frames as PACKET_OTHERHOST and does
 * not route them too) and stay a locally administered unicast address: a universal netdev
 * MAC gets the locally administered bit set; an already local one (every veth's, a pod's)
 * keeps that bit and flips the next one instead — flipping the local bit there would give an
 * address in some vendor's OUI space.
 */
export function routerMacFor(hw: Uint8Array): Uint8Array {
  const mac = Uint8Array.from(hw);
  const b = mac[0]! & 0xfe; // unicast
  mac[0] = b & 0x02 ? b ^ 0x04 : b | 0x02;
  return mac;
}
