/**
 * How protocols meet the RIB. A protocol instance (static, direct, BGP, IS-IS) announces
 * and withdraws routes in named tables (inet.0, inet6.0, <instance>.inet.0, <instance>.inet6.0,
 * mpls.0, bgp.l3vpn.0) under its own `source` name; the RIB keeps every source's route per
 * prefix, picks the active one by preference (then the protocol's own order), programs the
 * FIB through the agent, and tells watchers when the route toward an address changes, for
 * recursive next-hop resolution.
 */

import type { PrefixKey } from '../../lib/addr.js';
import type { MplsTable } from './mpls.js';

export type RouteProtocol = 'direct' | 'local' | 'static' | 'bgp' | 'isis' | 'aggregate';

/** Default preferences, as Junos has them. */
export const DEFAULT_PREFERENCE: Record<RouteProtocol, number> = {
  direct: 0,
  local: 0,
  static: 5,
  isis: 15,
  aggregate: 130,
  bgp: 170,
};

export interface RibNexthop {
  /** next-hop address; absent for direct routes and discard/reject */
  gateway?: string;
  /** outgoing interface (netdev name), when known or required (link-local IPv6) */
  interface?: string;
  /** MPLS labels to push, outermost first (transport labels, then the service label last) */
  labels?: number[];
  /** true when the gateway is not on a connected subnet and must be resolved through the table */
  recursive?: boolean;
  /**
   * MPLS over UDP (RFC 7510) from this local address to `gateway`, the labels inside: the
   * outer packet is routed by the default table, so the next hop needs no resolution here
   */
  udpSource?: string;
}

export interface RibRoute {
  /** canonical prefix text (lib/addr canonicalPrefix) */
  prefix: string;
  protocol: RouteProtocol;
  preference: number;
  /** tie-breaker inside one preference (lower wins), e.g. IS-IS metric; BGP picks its own best first */
  metric?: number;
  /** forward (the default) via nexthops; or discard, reject, or receive (local addresses) */
  action?: 'forward' | 'discard' | 'reject' | 'receive';
  /** one entry, or several for ECMP */
  nexthops: RibNexthop[];
  /** protocol details shown by `show route extensive` (AS path, communities, why it won, ...) */
  attributes?: Record<string, unknown>;
  /** when the route was last changed (ms since epoch), for `show route` ages */
  age?: number;
}

/** A RIB entry's handle (RibApi.attach, entryRef): opaque to its holder but for the prefix it tells. */
export interface RibEntryRef {
  /** the entry's prefix as a value (lib/addr PrefixKey) */
  readonly pkey: PrefixKey;
}

/** called with the active route covering the address (or undefined) whenever it changes */
export type ResolutionWatcher = (route: RibRoute | undefined) => void;

export interface RibApi {
  announce(table: string, source: string, route: RibRoute): void;
  /**
   * Optional, for protocols with many routes alike: announce `route` for `prefix`, ignoring
   * `route.prefix`. The same route object may be announced for many prefixes (and must not
   * change afterwards); the RIB keeps it once, and whatever it hands out carries the right
   * prefix. A protocol without it calls `announce` with a route per prefix.
   */
  announceShared?(table: string, source: string, prefix: string, route: RibRoute): void;
  /**
   * Optional, the value-taking forms (lib/addr PrefixKey: an IPv4 prefix as its
   * ipv4PrefixCode, anything else its canonical text): announceShared, withdraw and get
   * without the prefix being formatted by the protocol or parsed by the RIB. A protocol
   * falls back to the text forms when a RIB lacks them.
   */
  announceSharedKey?(table: string, source: string, prefix: PrefixKey, route: RibRoute): void;
  withdrawKey?(table: string, source: string, prefix: PrefixKey): void;
  getKey?(table: string, prefix: PrefixKey): RibRoute | undefined;
  /** the protocol of the active route for an exact prefix, without building the route */
  activeProtocol?(table: string, prefix: PrefixKey): RouteProtocol | undefined;
  /**
   * Optional, for a protocol that keeps a record per prefix (BGP's Loc-RIB): the record
   * rides on the RIB's own entry for the prefix instead of in a second map, and the entry
   * handle skips the lookup when the protocol announces, withdraws or asks which protocol
   * is active. `attach` throws for a key the table cannot hold.
   */
  attach?(table: string, key: PrefixKey, value: object): RibEntryRef;
  /** find-or-add in one lookup: the entry (made if need be), what is attached to it, attach to it */
  entryRef?(table: string, key: PrefixKey): RibEntryRef;
  attachedAt?(ref: RibEntryRef): object | undefined;
  attachAt?(ref: RibEntryRef, value: object): void;
  attachedValue?(table: string, key: PrefixKey): object | undefined;
  detach?(ref: RibEntryRef): void;
  attachedValues?(table: string): Iterable<object>;
  /** the entry of a prefix that has something attached, without making one */
  attachedRef?(table: string, key: PrefixKey): RibEntryRef | undefined;
  /** the entries of a table that have something attached, with it */
  attachedEntries?(table: string): Iterable<[RibEntryRef, object]>;
  /**
   * Optional, for a run of new prefixes of one route (an UPDATE's): from `keys[from]` on,
   * each prefix the table does not hold yet gets an entry with `value` attached and the
   * shared `route` announced by `source`, in one call, as long as each can be installed
   * as the RIB's last install of the same route went (its resolution known, nothing to
   * propagate). Returns the index of the first key it did not take (keys.length when it
   * took all): a prefix held already, of a form the table keeps elsewhere, or whose install
   * needs the full evaluation; the caller takes that one its usual way (entryRef, announceAt).
   */
  announceFreshRun?(table: string, keys: readonly PrefixKey[], from: number, source: string, route: RibRoute, value: object): number;
  /** returns whether `source`'s route is now the active one */
  announceAt?(ref: RibEntryRef, source: string, route: RibRoute): boolean;
  withdrawAt?(ref: RibEntryRef, source: string): void;
  activeProtocolAt?(ref: RibEntryRef): RouteProtocol | undefined;
  withdraw(table: string, source: string, prefix: string): void;
  /** remove every route of a source in a table (a protocol instance going down) */
  flush(table: string, source: string): void;
  /** the active route for an exact prefix */
  get(table: string, prefix: string): RibRoute | undefined;
  /** longest-match active route covering an address */
  lookup(table: string, address: string): RibRoute | undefined;
  /** watch the longest-match route for an address; returns an unsubscribe function */
  watch(table: string, address: string, cb: ResolutionWatcher): () => void;
  /** optional: mpls.0, where protocols allocate labels (L3VPN table labels) */
  readonly mpls?: MplsTable;
}
