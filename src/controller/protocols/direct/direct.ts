/**
 * Direct and local routes: every address on an interface gives the route to its subnet
 * (protocol direct, out of that interface) and the route to the address itself (protocol
 * local, received by the router). A /32 or /128 address gives only the local route. Each
 * interface is its own source (`direct:IF`, `local:IF`), so the same address on many
 * interfaces (the CNI's gateway address on every pod interface) stays one candidate per
 * interface, and removing an interface flushes exactly its routes.
 */
import { parseCidr, formatPrefix, parsePrefix } from '../../../lib/addr.js';
import type { RibApi, RibRoute } from '../../rib/types.js';
import { DEFAULT_PREFERENCE } from '../../rib/types.js';
import { tableName } from '../../rib/rib.js';

export interface DirectInterface {
  /** netdev name */
  name: string;
  /** routing instance ('default' for the global tables) */
  instance: string;
  /** CIDR text, host bits kept: 10.0.0.1/24, 2001:db8::1/64 */
  addresses: string[];
}

interface Announced {
  table: string;
  source: string;
  prefix: string;
}

export class DirectProtocol {
  /** per interface, what it announced, keyed by table|source|prefix */
  private readonly announced = new Map<string, Map<string, Announced>>();

  constructor(private readonly rib: RibApi) {}

  /** Make the RIB hold exactly the direct and local routes of `interfaces`. */
  apply(interfaces: DirectInterface[]): void {
    const seen = new Set<string>();
    for (const ifc of interfaces) {
      seen.add(ifc.name);
      const want = new Map<string, { a: Announced; route: RibRoute }>();
      for (const addr of ifc.addresses) {
        for (const r of routesOf(ifc, addr)) want.set(`${r.a.table}|${r.a.source}|${r.a.prefix}`, r);
      }
      const have = this.announced.get(ifc.name) ?? new Map<string, Announced>();
      for (const [k, a] of have) if (!want.has(k)) this.rib.withdraw(a.table, a.source, a.prefix);
      const next = new Map<string, Announced>();
      for (const [k, { a, route }] of want) {
        if (!have.has(k)) this.rib.announce(a.table, a.source, route);
        next.set(k, a);
      }
      this.announced.set(ifc.name, next);
    }
    for (const [name, have] of this.announced) {
      if (seen.has(name)) continue;
      for (const a of have.values()) this.rib.withdraw(a.table, a.source, a.prefix);
      this.announced.delete(name);
    }
  }
}

function routesOf(ifc: DirectInterface, cidr: string): { a: Announced; route: RibRoute }[] {
  const c = parseCidr(cidr);
  const table = tableName(ifc.instance, c.family);
  const host = c.family === 4 ? 32 : 128;
  const out: { a: Announced; route: RibRoute }[] = [];
  const local = formatPrefix({ family: c.family, addr: c.addr, len: host });
  out.push({
    a: { table, source: `local:${ifc.name}`, prefix: local },
    route: { prefix: local, protocol: 'local', preference: DEFAULT_PREFERENCE.local, action: 'receive', nexthops: [{ interface: ifc.name }] },
  });
  if (c.len < host) {
    const subnet = formatPrefix(parsePrefix(cidr));
    out.push({
      a: { table, source: `direct:${ifc.name}`, prefix: subnet },
      route: { prefix: subnet, protocol: 'direct', preference: DEFAULT_PREFERENCE.direct, nexthops: [{ interface: ifc.name }] },
    });
  }
  return out;
}
