/**
 * mpls.0: the labels this controller allocated and what the data plane does with a packet
 * that arrives with one on top. Labels come from one dynamic range, lowest free first
 * (16..1048575: 0-15 are reserved by RFC 3032; configured SRGB/SRLB blocks are passed in as
 * `reserved` so that IS-IS segment routing and VPN labels never meet). An owner key (e.g.
 * `vrf blue`) gets the same label back while it holds one, and since owners allocate in
 * configuration order a restarted controller hands out the same labels again.
 *
 * The FIB export subscribes and sends each entry to the agent (LabelUpdate in
 * proto/agent.proto); `show route table mpls.0` lists them.
 */

export type MplsAction = { readonly action: 'pop-lookup'; readonly vrf: string };

export interface MplsRoute {
  readonly label: number;
  readonly owner: string;
  readonly action: MplsAction;
}

export type MplsListener = (label: number, route: MplsRoute | undefined) => void;

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
      if (have.action.action !== action.action || have.action.vrf !== action.vrf) this.put({ label: have.label, owner, action });
      return have.label;
    }
    const label = this.free();
    this.put({ label, owner, action });
    return label;
  }

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
