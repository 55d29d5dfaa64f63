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
import { memoByString } from '../../../lib/memo.js';

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

/**
 * An address's family, its own prefix and its subnet's (none for a host address), remembered
 * per text (lib/memo.ts): every commit goes through every interface's addresses.
 */
const prefixesOf = memoByString((cidr: string): { family: 4 | 6; local: string; subnet?: string } => {
  const c = parseCidr(cidr);
  const host = c.family === 4 ? 32 : 128;
  const local = formatPrefix({ family: c.family, addr: c.addr, len: host });
  return c.len < host ? { family: c.family, local, subnet: formatPrefix(parsePrefix(cidr)) } : { family: c.family, local };
});

function routesOf(ifc: DirectInterface, cidr: string): { a: Announced; route: RibRoute }[] {
  const { family, local, subnet } = prefixesOf(cidr);
  const table = tableName(ifc.instance, family);
  const out: { a: Announced; route: RibRoute }[] = [];
  out.push({
    a: { table, source: `local:${ifc.name}`, prefix: local },
    route: { prefix: local, protocol: 'local', preference: DEFAULT_PREFERENCE.local, action: 'receive', nexthops: [{ interface: ifc.name }] },
  });
  if (subnet !== undefined) {
    out.push({
      a: { table, source: `direct:${ifc.name}`, prefix: subnet },
      route: { prefix: subnet, protocol: 'direct', preference: DEFAULT_PREFERENCE.direct, nexthops: [{ interface: ifc.name }] },
    });
  }
  return out;
}
