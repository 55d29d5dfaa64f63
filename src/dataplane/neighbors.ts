/**
 * Neighbor resolution (ARP and NDP) on the main thread, the only writer of the neighbor table
 * (tables/neighbor-table.ts). The graph sends requests and answers on the wire; what ARP
 * replies and NAs teach a worker comes back as events (EVENT_WORDS words each, graph.ts),
 * which applyEvents writes into the table. A next hop's neighbor is resolved actively:
 * 3 tries a second apart, then the entry is failed and retried every 10 s (traffic to it waits
 * in the worker's small hold, graph.ts, for at most 3 s, then is dropped, and triggers
 * rate-limited requests from the worker).
 * Neighbors no next hop refers to (learned unsolicited, for hosts on a connected subnet, or
 * released) age out after 15 minutes and are the first evicted when the table is full.
 * Static neighbors (setStatic: configured `arp`/`ndp` entries, a CNI pod's address and MAC)
 * are written resolved and stay so: never requested, aged, evicted or changed by what ARP/NDP
 * say, until the vif goes or its static list no longer has them.
 *
 * VRouterDataplane (dataplane.ts) owns one NeighborResolver: it calls start/stop as neighbor
 * next hops come and go, forgetVif when a vif goes, applyEvents with the workers' events and
 * tick from its poll loop or timer; the resolver sees the rest of the router only through
 * NeighborContext.
 */
import { formatIp, formatMac, type Prefix } from '../lib/addr.js';
import { maskWords } from './tables/lpm.js';
import { NBR_FAILED, NBR_INCOMPLETE, NBR_REACHABLE, NBR_STATE_NAMES, type NeighborTable } from './tables/neighbor-table.js';
import { EVENT_WORDS } from './graph/graph.js';
import { padWords } from './prefix-words.js';

/** What the resolver needs of the data plane around it. */
export interface NeighborContext {
  readonly table: NeighborTable;
  /** the ms clock (performance.now) */
  now(): number;
  /** the vif's own addresses, or undefined when there is no such vif */
  vifAddresses(vif: number): readonly Prefix[] | undefined;
  /** whether the vif exists and is up (requests go out only then) */
  vifUp(vif: number): boolean;
  /** send one ARP request or neighbor solicitation for `w` (address words) out of the vif */
  request(vif: number, family: number, w: number[]): void;
}

interface ResolveState {
  vif: number;
  family: number;
  w: number[];
  tries: number;
  nextAt: number;
  refs: number;
}

const RESOLVE_TRIES = 3;
const RESOLVE_INTERVAL_MS = 1000;
const RESOLVE_FAILED_RETRY_MS = 10000;
/** a learned neighbor no next hop refers to is forgotten when nothing refreshed it for this long */
const NEIGHBOR_AGE_MS = 15 * 60 * 1000;

export class NeighborResolver {
  /** entries next hops refer to, by neighbor index */
  private readonly resolving = new Map<number, ResolveState>();
  /** neighbor entries no next hop refers to (learned from ARP/NDP, or released): index -> last refresh */
  private readonly learned = new Map<number, number>();
  private lastAging = 0;
  /** static entries, by vif */
  private readonly statics = new Map<number, Set<number>>();
  /** every static entry's index (what applyEvents and stop() check) */
  private readonly permanent = new Set<number>();

  constructor(private readonly cx: NeighborContext) {}

  /**
   * Make `entries` the vif's static neighbors: each written resolved to its MAC for good.
   * Static entries of the vif not listed any more become ordinary ones (resolved again while a
   * next hop refers to them, else forgotten). Returns the entries the table had no room for.
   */
  setStatic(vif: number, entries: readonly { family: number; w: number[]; mac: Uint8Array }[]): number {
    const nb = this.cx.table;
    const next = new Set<number>();
    let full = 0;
    for (const n of entries) {
      let e = nb.ensure(vif, n.family, n.w);
      if (e < 0 && this.evictOldest()) e = nb.ensure(vif, n.family, n.w);
      if (e < 0) { full++; continue; }
      nb.resolve(e, n.mac);
      this.learned.delete(e);
      this.permanent.add(e);
      next.add(e);
    }
    for (const e of this.statics.get(vif) ?? []) {
      if (next.has(e)) continue;
      this.permanent.delete(e);
      const r = this.resolving.get(e);
      if (r) {
        // a next hop still needs it: resolve it as any other
        nb.setState(e, NBR_INCOMPLETE);
        r.tries = 0;
        r.nextAt = 0;
      } else nb.remove(e);
    }
    if (next.size) this.statics.set(vif, next);
    else this.statics.delete(vif);
    if (this.resolving.size) this.tick(this.cx.now());
    return full;
  }

  /** Write what the workers learned (EVENT_WORDS per event: vif, family, address, MAC). */
  applyEvents(ev: Uint32Array): void {
    const nb = this.cx.table;
    const mac = new Uint8Array(6);
    for (let b = 0; b + EVENT_WORDS <= ev.length; b += EVENT_WORDS) {
      const vif = ev[b]!;
      const family = ev[b + 1]!;
      // (MAC learn events of L2 switching travel the same way: l2.ts applies them)
      if (family !== 4 && family !== 6) continue;
      const w = [ev[b + 2]!, ev[b + 3]!, ev[b + 4]!, ev[b + 5]!];
      mac[0] = ev[b + 6]! >>> 8; mac[1] = ev[b + 6]! & 255;
      mac[2] = ev[b + 7]! >>> 24; mac[3] = (ev[b + 7]! >>> 16) & 255; mac[4] = (ev[b + 7]! >>> 8) & 255; mac[5] = ev[b + 7]! & 255;
      let e = nb.find(vif, w[0]!, w[1]!, w[2]!, w[3]!);
      if (e >= 0 && this.permanent.has(e)) continue; // configured: ARP/NDP do not change it
      if (e < 0) {
        // learn unsolicited only for hosts on a connected subnet of the vif
        const addresses = this.cx.vifAddresses(vif);
        if (!addresses || !onSubnet(addresses, family, w)) continue;
        e = nb.ensure(vif, family, w);
        if (e < 0 && this.evictOldest()) e = nb.ensure(vif, family, w);
        if (e < 0) continue;
      }
      nb.resolve(e, mac);
      if (!this.resolving.has(e)) this.learned.set(e, this.cx.now());
    }
  }

  /** Whether entry `i` is a static neighbor (setStatic). */
  isStatic(i: number): boolean {
    return this.permanent.has(i);
  }

  /** A next hop refers to neighbor entry `nbr`: resolve it (and keep it) while one does. */
  start(nbr: number, vif: number, family: number, w: number[]): void {
    const r = this.resolving.get(nbr);
    if (r) { r.refs++; return; }
    this.learned.delete(nbr);
    // (a static entry is REACHABLE: tick() sends nothing for it)
    this.resolving.set(nbr, { vif, family, w, tries: 0, nextAt: 0, refs: 1 });
    this.tick(this.cx.now());
  }

  /** A next hop referring to `nbr` went. */
  stop(nbr: number): void {
    const r = this.resolving.get(nbr);
    if (r && --r.refs <= 0) {
      this.resolving.delete(nbr);
      if (!this.permanent.has(nbr)) this.learned.set(nbr, this.cx.now()); // ages out like a learned one
    }
  }

  /** Make room in a full neighbor table: forget the least recently refreshed unreferenced entry. */
  private evictOldest(): boolean {
    let oldest = -1;
    let at = Infinity;
    for (const [e, t] of this.learned) if (t < at) { at = t; oldest = e; }
    if (oldest < 0) return false;
    this.learned.delete(oldest);
    this.cx.table.remove(oldest);
    return true;
  }

  /** Forget every neighbor of a vif (it is going away). */
  forgetVif(vif: number): void {
    const nb = this.cx.table;
    for (let i = 0; i < nb.capacity; i++) {
      const s = nb.state[i]!;
      if (s !== 0 && s !== 4 && nb.vif[i] === vif) {
        nb.remove(i);
        this.learned.delete(i);
        this.resolving.delete(i);
        this.permanent.delete(i);
      }
    }
    this.statics.delete(vif);
  }

  /** Age out learned entries; retry unanswered neighbor requests; give up (failed) after RESOLVE_TRIES. */
  tick(now: number): void {
    const nb = this.cx.table;
    if (now - this.lastAging >= 10000) {
      this.lastAging = now;
      for (const [e, t] of this.learned) {
        if (now - t < NEIGHBOR_AGE_MS) continue;
        this.learned.delete(e);
        nb.remove(e);
      }
    }
    for (const [e, r] of this.resolving) {
      const s = nb.state[e]!;
      if (s === NBR_REACHABLE) { r.tries = 0; continue; }
      if (now < r.nextAt) continue;
      if (r.tries >= RESOLVE_TRIES) {
        if (s === NBR_INCOMPLETE) nb.setState(e, NBR_FAILED);
        r.tries = 0;
        r.nextAt = now + RESOLVE_FAILED_RETRY_MS;
        continue;
      }
      if (!this.cx.vifUp(r.vif)) continue;
      r.tries++;
      r.nextAt = now + RESOLVE_INTERVAL_MS;
      this.cx.request(r.vif, r.family, r.w);
    }
  }
}

/** The neighbor cache entries (ARP/NDP) as introspection shows them; `vifName` names a vif index; static entries show as `permanent`. */
export function listNeighbors(nb: NeighborTable, vifName: (vif: number) => string, isStatic: (i: number) => boolean = () => false): { vif: string; ip: string; mac?: string; state: string }[] {
  const out: { vif: string; ip: string; mac?: string; state: string }[] = [];
  for (let i = 0; i < nb.capacity; i++) {
    const s = nb.state[i]!;
    if (s === 0 || s === 4) continue;
    const fam = nb.family[i]!;
    const bytes = new Uint8Array(16);
    for (let k = 0; k < 4; k++) { const w = nb.ip[i * 4 + k]!; bytes[k * 4] = w >>> 24; bytes[k * 4 + 1] = (w >>> 16) & 255; bytes[k * 4 + 2] = (w >>> 8) & 255; bytes[k * 4 + 3] = w & 255; }
    out.push({
      vif: vifName(nb.vif[i]!),
      ip: formatIp(fam === 4 ? bytes.subarray(0, 4) : bytes),
      state: s === NBR_REACHABLE && isStatic(i) ? 'permanent' : NBR_STATE_NAMES[s]!,
      ...(s === NBR_REACHABLE ? { mac: formatMac(nb.mac, i * 6) } : {}),
    });
  }
  return out;
}

/** Whether `w` is on one of the vif's subnets (or IPv6 link-local). */
function onSubnet(addresses: readonly Prefix[], family: number, w: number[]): boolean {
  const mine = padWords(new Uint8Array(16));
  for (const p of addresses) {
    if (p.family !== family) continue;
    const a = maskWords(padWords(p.addr), p.len, new Uint32Array(4));
    const b = maskWords(w, p.len, mine);
    if (a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3]) return true;
  }
  if (family === 6 && (w[0]! >>> 22) === (0xfe80 >>> 6)) return true; // link-local neighbors
  return false;
}
