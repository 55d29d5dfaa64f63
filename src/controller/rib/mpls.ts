/**
 * mpls.0: the labels this controller allocated and what the data plane does with a packet
 * that arrives with one on top. Labels come from one dynamic range, lowest free first
 * (16..1048575: 0-15 are reserved by RFC 3032; configured SRGB/SRLB blocks are passed in as
 * `reserved` so that IS-IS segment routing and VPN labels never meet). An owner key (e.g.
 * `vrf blue`) gets the same label back while it holds one, and since owners allocate in
 * configuration order a restarted controller hands out the same labels again.
 *
 * Labels a protocol chooses itself (segment routing: SRGB base + SID index, Adj-SIDs from the
 * SRLB) are put in with `set` and taken out with `unset`; they live in the reserved blocks,
 * where the dynamic allocation never goes.
 *
 * The FIB export subscribes and sends each entry to the agent (LabelUpdate in
 * proto/agent.proto); `show route table mpls.0` lists them.
 */

/**
 * One next hop of a forwarded label: the neighbour's address on `interface`, and the labels
 * that replace the incoming one, outermost first. Empty `outLabels` pops: penultimate-hop
 * popping toward the node that owns a node SID, or an Adj-SID's pop-and-forward. A transit
 * node SID swaps for the next hop's own SRGB base + the SID's index.
 */
export interface LabelNexthop {
  readonly gateway: string;
  readonly interface: string;
  readonly outLabels: readonly number[];
}

/**
 * What the data plane does with a packet arriving with the label on top:
 *  - pop-lookup: pop and look the rest up in `vrf` (an L3VPN table label; our own node SID,
 *    in `default`);
 *  - forward: pop, then push each next hop's out-labels toward it; several next hops share
 *    the packets by flow (ECMP over equal SR paths).
 */
export type MplsAction = { readonly action: 'pop-lookup'; readonly vrf: string } | { readonly action: 'forward'; readonly nexthops: readonly LabelNexthop[] };

export function sameMplsAction(a: MplsAction, b: MplsAction): boolean {
  if (a.action === 'pop-lookup' || b.action === 'pop-lookup') return a.action === b.action && (a as { vrf: string }).vrf === (b as { vrf: string }).vrf;
  if (a.nexthops.length !== b.nexthops.length) return false;
  return a.nexthops.every((x, i) => {
    const y = b.nexthops[i]!;
    return x.gateway === y.gateway && x.interface === y.interface && x.outLabels.length === y.outLabels.length && x.outLabels.every((l, k) => l === y.outLabels[k]);
  });
}

export interface MplsRoute {
  readonly label: number;
  readonly owner: string;
  readonly action: MplsAction;
}

export type MplsListener = (label: number, route: MplsRoute | undefined) => void;

/** The RIB table name under which protocols announce label routes (RibApi.announce('mpls.0', ...)). */
export const MPLS_TABLE = 'mpls.0';
/** RFC 3032's implicit null: as an out-label it means "pop" */
const IMPLICIT_NULL = 3;

export const MPLS_DYNAMIC_FIRST = 16;
export const MPLS_DYNAMIC_LAST = 1048575;

export class MplsTable {
  private readonly byLabel = new Map<number, MplsRoute>();
  private readonly byOwner = new Map<string, MplsRoute>();
  private readonly listeners: MplsListener[] = [];
  /** inclusive ranges nobody may allocate from */
  private reserved: [number, number][] = [];
  private next = MPLS_DYNAMIC_FIRST;

  /** Keep these ranges (SRGB, SRLB) out of the dynamic range; held labels stay. */
  setReserved(ranges: [number, number][]): void {
    this.reserved = ranges.map(([a, b]) => [a, b]);
    this.next = MPLS_DYNAMIC_FIRST;
  }

  /** The label of `owner`, allocated on first use; the action is (re)programmed when it changed. */
  allocate(owner: string, action: MplsAction): number {
    const have = this.byOwner.get(owner);
    if (have) {
      if (!sameMplsAction(have.action, action)) this.put({ label: have.label, owner, action });
      return have.label;
    }
    const label = this.free();
    this.put({ label, owner, action });
    return label;
  }

  /**
   * Put a label the protocol chose (segment routing) in mpls.0, or change its action. Refused
   * (an Error) when another owner holds the label: two SIDs on one label are a configuration
   * conflict the protocol reports. An owner holds one label: setting another moves it.
   */
  set(label: number, owner: string, action: MplsAction): void {
    if (!Number.isInteger(label) || label < MPLS_DYNAMIC_FIRST || label > MPLS_DYNAMIC_LAST) throw new Error(`mpls.0: label ${label} is outside ${MPLS_DYNAMIC_FIRST}..${MPLS_DYNAMIC_LAST}`);
    const holder = this.byLabel.get(label);
    if (holder && holder.owner !== owner) throw new Error(`mpls.0: label ${label} is held by ${holder.owner}`);
    const mine = this.byOwner.get(owner);
    if (mine && mine.label !== label) this.release(owner);
    if (holder && sameMplsAction(holder.action, action)) return;
    this.put({ label, owner, action });
  }

  /** Take a label `set` put in out again (nothing if `owner` does not hold it). */
  unset(label: number, owner: string): void {
    if (this.byLabel.get(label)?.owner === owner) this.release(owner);
  }

  /**
   * A protocol's label route as the RIB takes it (`announce('mpls.0', source, route)`, the
   * form IS-IS announces its SR results in): `route.prefix` is the in-label as text; next hops
   * with a gateway and an interface forward it, their `labels` the out-labels (none, or
   * implicit null: pop); no next hop with a gateway (or action `receive`) pops it and looks
   * the packet up in the default table (our own node SID). The entry's owner is
   * `SOURCE LABEL`. A label another owner holds stays theirs (counted in `conflicts`).
   */
  announceRoute(source: string, route: { prefix: string; action?: string; nexthops: readonly { gateway?: string; interface?: string; labels?: readonly number[] }[] }): void {
    const label = labelOfKey(route.prefix);
    if (label === undefined) throw new Error(`mpls.0: '${route.prefix}' is not a label`);
    const hops = route.nexthops.filter((n) => n.gateway !== undefined);
    let action: MplsAction;
    if (route.action === 'receive' || hops.length === 0) action = { action: 'pop-lookup', vrf: 'default' };
    else {
      const nexthops: LabelNexthop[] = [];
      for (const n of hops) {
        if (n.interface === undefined) throw new Error(`mpls.0: label ${label} next hop ${n.gateway} names no interface`);
        nexthops.push({ gateway: n.gateway!, interface: n.interface, outLabels: (n.labels ?? []).filter((l) => l !== IMPLICIT_NULL) });
      }
      action = { action: 'forward', nexthops };
    }
    const owner = `${source} ${label}`;
    const holder = this.byLabel.get(label);
    if (holder && holder.owner !== owner) {
      this.conflicts++;
      return;
    }
    this.set(label, owner, action);
  }

  /** The route `announceRoute` put in for `key` (a label as text), taken out. */
  withdrawRoute(source: string, key: string): void {
    const label = labelOfKey(key);
    if (label !== undefined) this.unset(label, `${source} ${label}`);
  }

  /** Every label route a source announced, taken out. */
  flushSource(source: string): void {
    for (const r of this.entries()) if (r.owner === `${source} ${r.label}`) this.release(r.owner);
  }

  /** label routes refused because another owner held their label */
  conflicts = 0;

  /** Give an owner's label back (nothing if it holds none). */
  release(owner: string): void {
    const r = this.byOwner.get(owner);
    if (!r) return;
    this.byOwner.delete(owner);
    this.byLabel.delete(r.label);
    if (r.label < this.next) this.next = r.label;
    for (const l of this.listeners) l(r.label, undefined);
  }

  labelOf(owner: string): number | undefined {
    return this.byOwner.get(owner)?.label;
  }

  get(label: number): MplsRoute | undefined {
    return this.byLabel.get(label);
  }

  /** Every entry, by label. */
  entries(): MplsRoute[] {
    return [...this.byLabel.values()].sort((a, b) => a.label - b.label);
  }

  get size(): number {
    return this.byLabel.size;
  }

  subscribe(l: MplsListener): () => void {
    this.listeners.push(l);
    return () => {
      const i = this.listeners.indexOf(l);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  private put(r: MplsRoute): void {
    this.byLabel.set(r.label, r);
    this.byOwner.set(r.owner, r);
    for (const l of this.listeners) l(r.label, r);
  }

  private free(): number {
    let l = this.next;
    for (;;) {
      if (l > MPLS_DYNAMIC_LAST) throw new Error('mpls.0: the dynamic label range is exhausted');
      const block = this.reserved.find(([a, b]) => l >= a && l <= b);
      if (block) l = block[1] + 1;
      else if (this.byLabel.has(l)) l++;
      else break;
    }
    this.next = l + 1;
    return l;
  }
}

/** A label written as mpls.0's key ("400002"), or undefined. */
function labelOfKey(key: string): number | undefined {
  if (!/^\d{1,7}$/.test(key)) return undefined;
  const l = Number(key);
  return l >= MPLS_DYNAMIC_FIRST && l <= MPLS_DYNAMIC_LAST ? l : undefined;
}
