/**
 * The programmer's per-VRF record of the routes it programmed, and the set of routes a resync
 * replayed. A million IPv4 routes in a JavaScript Map cost a hash-table resize and ~30 bytes
 * of garbage-collected heap per entry and a third of the agent's time per route; IPv4 routes
 * live here in an Ipv4PrefixMap (typed arrays) holding the next hop's id, which leads back to
 * its entry through a small map of the next hops alive (a handful for a BGP table). IPv6
 * routes, few, stay in Maps keyed by their 17-character string.
 */
import { ipv4OfPrefixCode, ipv4PrefixCode, prefixCodeLength } from '../lib/addr.js';
import { Ipv4PrefixMap } from '../dataplane/tables/ipv4-prefix-map.js';

/**
 * How the agent keys a route: an IPv4 prefix is its ipv4PrefixCode (a small integer up to /30:
 * no string kept per route, cheap to hash); an IPv6 prefix a 17-character string, its 16
 * address bytes (host bits clear) and its length.
 */
export type RouteKey = number | string;

/** What a route points at, as the programmer shares it (its id is the data plane's next-hop id, or CONNECTED_ID). */
export interface RouteTarget {
  id: number;
}

/** The id of the entry of a connected subnet (no data-plane next hop); data-plane ids are >= 0. */
export const CONNECTED_ID = -1;
const MISSING = -2;

export class RouteTable<T extends RouteTarget> {
  private readonly v4 = new Ipv4PrefixMap();
  private readonly v6 = new Map<string, T>();

  /** `byId`: every entry a route may point at, by id (kept by the owner as they come and go) */
  constructor(private readonly byId: ReadonlyMap<number, T>) {}

  get size(): number {
    return this.v4.size + this.v6.size;
  }

  get(key: RouteKey): T | undefined {
    if (typeof key === 'string') return this.v6.get(key);
    const id = this.v4.get(ipv4OfPrefixCode(key), prefixCodeLength(key), MISSING);
    return id === MISSING ? undefined : this.byId.get(id);
  }

  set(key: RouteKey, target: T): void {
    if (typeof key === 'string') this.v6.set(key, target);
    else this.v4.set(ipv4OfPrefixCode(key), prefixCodeLength(key), target.id);
  }

  delete(key: RouteKey): void {
    if (typeof key === 'string') this.v6.delete(key);
    else this.v4.delete(ipv4OfPrefixCode(key), prefixCodeLength(key));
  }

  /** A snapshot of the entries: the table may change while the caller walks it (sweeps remove as they go). */
  entries(): [RouteKey, T][] {
    const out: [RouteKey, T][] = [];
    this.v4.each((addr, len, id) => {
      out.push([ipv4PrefixCode(addr, len), this.byId.get(id)!]);
    });
    for (const e of this.v6) out.push(e);
    return out;
  }
}

/** The routes a resync has replayed so far, in one VRF. */
export class RouteKeySet {
  private readonly v4 = new Ipv4PrefixMap();
  private readonly v6 = new Set<string>();

  get size(): number {
    return this.v4.size + this.v6.size;
  }

  has(key: RouteKey): boolean {
    return typeof key === 'string' ? this.v6.has(key) : this.v4.has(ipv4OfPrefixCode(key), prefixCodeLength(key));
  }

  add(key: RouteKey): void {
    if (typeof key === 'string') this.v6.add(key);
    else this.v4.set(ipv4OfPrefixCode(key), prefixCodeLength(key), 1);
  }

  delete(key: RouteKey): void {
    if (typeof key === 'string') this.v6.delete(key);
    else this.v4.delete(ipv4OfPrefixCode(key), prefixCodeLength(key));
  }
}
