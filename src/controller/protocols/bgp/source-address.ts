/**
 * The source address of cnr's own BGP connections. The router's addresses all live on one
 * host interface (vhost0, as /32 and /128 with the connected subnets routed beside them),
 * so the kernel's own choice for IPv4 is simply the first address there, which a peer on
 * another subnet does not know and refuses. The session therefore binds its source
 * explicitly, as Junos does: `local-address` when configured, otherwise the router's
 * address on the interface facing the peer — the interface whose subnet holds the peer, or
 * for a peer further away, the interface of the route toward it (the address on the
 * next hop's subnet first). Pure: interfaces and the route are handed in.
 */
import { formatIp, parseCidr, parseIp, parsePrefix, prefixContains, type Prefix } from '../../../lib/addr.js';

export interface SourceInterface {
  readonly name: string;
  /** CIDR text with host bits: 10.0.0.1/30, 2001:db8::1/64 */
  readonly addresses: readonly string[];
}

export interface RouteTowardPeer {
  readonly interface?: string;
  readonly gateway?: string;
}

/** An interface address: `addr` with its host bits, `subnet` masked (what prefixContains compares). */
interface Cidr extends Prefix {
  readonly subnet: Prefix;
}

function cidrs(ifc: SourceInterface, family: 4 | 6): Cidr[] {
  const out: Cidr[] = [];
  for (const a of ifc.addresses) {
    try {
      const p = parseCidr(a);
      if (p.family === family) out.push({ ...p, subnet: parsePrefix(a) });
    } catch {
      // the configuration refuses bad addresses; nothing to choose from here
    }
  }
  return out;
}

/** The address whose subnet (not a host route) holds `target` most specifically. */
function longestHolding(candidates: readonly Cidr[], target: Uint8Array, host: number): Cidr | undefined {
  let best: Cidr | undefined;
  for (const p of candidates) if (p.len < host && prefixContains(p.subnet, target) && (!best || p.len > best.len)) best = p;
  return best;
}

/** The router's address for a session to `peer`, or undefined to let the kernel choose. */
export function chooseSourceAddress(peer: string, interfaces: readonly SourceInterface[], route?: RouteTowardPeer): string | undefined {
  let target: { family: 4 | 6; bytes: Uint8Array };
  try {
    target = parseIp(peer);
  } catch {
    return undefined;
  }
  const { family, bytes } = target;
  const host = family === 4 ? 32 : 128;
  // the peer on a connected subnet: the longest such subnet's address
  const best = longestHolding(interfaces.flatMap((ifc) => cidrs(ifc, family)), bytes, host);
  if (best) return formatIp(best.addr);
  // further away: an address of the interface the route leaves by
  const out = route?.interface ? interfaces.find((i) => i.name === route.interface) : undefined;
  if (!out) return undefined;
  // IPv6 link-local addresses are no source for a session to a global address
  const own = cidrs(out, family).filter((p) => family === 4 || !(p.addr[0] === 0xfe && (p.addr[1]! & 0xc0) === 0x80));
  if (route?.gateway) {
    try {
      const onLink = longestHolding(own, parseIp(route.gateway).bytes, host);
      if (onLink) return formatIp(onLink.addr);
    } catch {
      // a gateway we cannot parse: take the interface's first address below
    }
  }
  return own[0] ? formatIp(own[0].addr) : undefined;
}
