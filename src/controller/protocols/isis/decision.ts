/**
 * SPF and its routes (ISO 10589 annex C.2 through spf.ts): the LSDB of a level becomes SPF's
 * graph (spf-lsdb.ts); each prefix reached becomes a RIB route in inet.0 or inet6.0 under the
 * source `isis-l1` / `isis-l2` (protocol isis, preference 15 or 18 by default, the SPF
 * distance as metric), with one next hop per adjacency toward each equal-cost first hop: the
 * neighbour's interface address from its hellos (IPv4, TLV 132; IPv6 link-local, TLV 232)
 * and the interface. Runs are batched (scheduleSpf marks a level, the pump runs it once) and
 * logged for `show isis spf log`; only routes that changed are announced again.
 */
import { jsonEqual } from '../../../lib/json-equal.js';
import type { Level } from '../../../wire/isis/index.js';
import type { RibNexthop, RibRoute } from '../../rib/types.js';
import type { Adjacency, IsisContext } from './instance.js';
import { computePrefixes, computeSpf, nearestAttached, type NextHop, type SpfResult } from './spf.js';
import { srRoutes } from './sr.js';
import { mayLeak } from './policy.js';
import { SPF_DELAY_MS, SPF_HOLD_FACTOR, SPF_MAX_HOLD_MS } from './origination.js';

export function sourceOf(level: Level): string {
  return `isis-l${level}`;
}

/** The adjacencies of a level behind one SPF next hop (several parallel point-to-point links give several). */
export function adjacenciesFor(cx: IsisContext, level: Level, hop: NextHop): Adjacency[] {
  const sys = hop.neighbor.slice(0, 14);
  const out: Adjacency[] = [];
  for (const c of cx.circuits.values()) {
    if (!c.up) continue;
    if (hop.via === hop.neighbor) {
      const a = c.p2p;
      if (a && a.state === 'up' && a.levels.includes(level) && a.systemId === sys) out.push(a);
    } else if (c.dis.get(level) === hop.via) {
      for (const a of c.lan.values()) if (a.state === 'up' && a.levels.includes(level) && a.systemId === sys) out.push(a);
    }
  }
  return out;
}

export function nexthopsFor(cx: IsisContext, level: Level, hops: readonly NextHop[], family: 4 | 6): RibNexthop[] {
  const out: RibNexthop[] = [];
  const seen = new Set<string>();
  for (const h of hops) {
    for (const a of adjacenciesFor(cx, level, h)) {
      const gw = family === 4 ? a.ipv4[0] : a.ipv6[0];
      if (gw === undefined) continue;
      const k = `${gw}%${a.circuit.name}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ gateway: gw, interface: a.circuit.name });
    }
  }
  return out.sort((x, y) => (x.interface! < y.interface! ? -1 : x.interface! > y.interface! ? 1 : x.gateway! < y.gateway! ? -1 : 1));
}

/** Whether announcing `b` over `a` would change what the RIB holds (preference, metric, next hops). */
function sameRoute(a: RibRoute | undefined, b: RibRoute): boolean {
  return a === b || (a !== undefined && a.preference === b.preference && a.metric === b.metric && jsonEqual(a.nexthops, b.nexthops));
}

/** Announce `routes` (table -> prefix -> route) for a source, withdrawing what it announced before and no longer has. */
export function syncRoutes(cx: IsisContext, source: string, routes: Map<string, Map<string, RibRoute>>): void {
  for (const [table, byPrefix] of routes) {
    if (cx.refusedTables.has(table)) continue;
    const key = `${table}|${source}`;
    // what the RIB holds from us; its keys are what to withdraw (no second set of the same prefixes)
    const texts = cx.announcedText.get(key) ?? new Map<string, RibRoute>();
    for (const [prefix, r] of byPrefix) {
      if (sameRoute(texts.get(prefix), r)) continue;
      try {
        cx.rib.announce(table, source, r);
        texts.set(prefix, r);
      } catch (err) {
        // a RIB that cannot hold this table (mpls.0 keyed by label): said once, not per SPF
        cx.out.log(`isis: ${table} is not announced to this RIB: ${(err as Error).message}`);
        cx.refusedTables.add(table);
        break;
      }
    }
    // (deleting the entry being visited is safe in a Map's iteration)
    for (const p of texts.keys()) {
      if (byPrefix.has(p)) continue;
      cx.rib.withdraw(table, source, p);
      texts.delete(p);
    }
    cx.announcedText.set(key, texts);
  }
  for (const [key, texts] of cx.announcedText) {
    const [table, src] = key.split('|') as [string, string];
    if (src !== source || routes.has(table)) continue;
    for (const p of texts.keys()) cx.rib.withdraw(table, source, p);
    cx.announcedText.delete(key);
  }
}

export function runSpf(cx: IsisContext, level: Level, now: number, reason: string): void {
  const started = performance.now();
  const routes = new Map<string, Map<string, RibRoute>>([
    ['inet.0', new Map()],
    ['inet6.0', new Map()],
  ]);
  let result: SpfResult = { vertices: new Map(), prefixes: new Map() };
  let partial = false;
  if (cx.cfg.levels.includes(level)) {
    const db = cx.lsdb.get(level)!;
    const graph = db.spfGraph.graph(db.records, now);
    const root = `${cx.cfg.systemId}.00`;
    // partial route calculation: when only prefixes changed, the vertices' routes still hold
    const topology = db.spfGraph.topology;
    const before = cx.spf.get(level);
    if (before && cx.spfTopology.get(level) === topology) {
      result = { vertices: before.vertices, prefixes: computePrefixes(graph, root, before.vertices) };
      partial = true;
    } else result = computeSpf(graph, root);
    cx.spfTopology.set(level, topology);
    const pref = cx.cfg.preference.get(level)!.internal;
    // SPF shares one next-hop list among every prefix behind the same first hops: their RIB
    // next hops are made once per list, and a route that did not change is the one announced
    // before (a 10k-system flood made 20k next-hop sets and routes per run, nearly all garbage)
    const memo = { 4: new Map<readonly NextHop[], RibNexthop[]>(), 6: new Map<readonly NextHop[], RibNexthop[]>() };
    const attributes = { level };
    const announced = { 4: cx.announcedText.get(`inet.0|${sourceOf(level)}`), 6: cx.announcedText.get(`inet6.0|${sourceOf(level)}`) };
    for (const [prefix, pr] of result.prefixes) {
      const family = prefix.includes(':') ? 6 : 4;
      let nexthops = memo[family].get(pr.nextHops);
      if (!nexthops) memo[family].set(pr.nextHops, (nexthops = nexthopsFor(cx, level, pr.nextHops, family)));
      if (nexthops.length === 0) continue;
      const prev = announced[family]?.get(prefix);
      const same = prev !== undefined && prev.metric === pr.distance && prev.preference === pref && jsonEqual(prev.nexthops, nexthops);
      routes.get(family === 4 ? 'inet.0' : 'inet6.0')!.set(prefix, same ? prev : { prefix, protocol: 'isis', preference: pref, metric: pr.distance, nexthops, attributes });
    }
    // a level 1 only system: a default route toward the nearest attached level 1/2 systems
    // (ISO 10589 7.2.9.2; Junos and FRR install it), unless a default is advertised outright
    const toL2 = level === 1 && !cx.cfg.levels.includes(2) ? nearestAttached(graph, root, result.vertices) : undefined;
    if (toL2) {
      for (const [family, prefix] of [[4, '0.0.0.0/0'], [6, '::/0']] as const) {
        if (result.prefixes.has(prefix)) continue;
        const nexthops = nexthopsFor(cx, level, toL2.nextHops, family);
        if (nexthops.length) routes.get(family === 4 ? 'inet.0' : 'inet6.0')!.set(prefix, { prefix, protocol: 'isis', preference: pref, metric: toL2.distance, nexthops, attributes: { level, attached: true } });
      }
    }
    for (const [table, m] of srRoutes(cx, level, result, now)) routes.set(table, m);
  }
  syncRoutes(cx, sourceOf(level), routes);
  if (!cx.cfg.levels.includes(level)) {
    // the level was turned off: its routes are withdrawn, and it runs no more
    cx.spf.delete(level);
    cx.spfTopology.delete(level);
    return;
  }
  cx.spf.set(level, result);
  // level 1 prefixes into level 2, level 2 leaked into level 1 (policy.ts): the other level's
  // LSP is made again, and bumped only if what it carries changed
  if (mayLeak(cx, level)) cx.originateDue ??= now;
  cx.stats.spfRuns++;
  const durationMs = performance.now() - started;
  // runs shorter than the delay itself need no hold (and a small topology's timing, as the
  // scenarios replay it, stays as it was)
  if (durationMs * SPF_HOLD_FACTOR > SPF_DELAY_MS) cx.spfHold.set(level, now + Math.ceil(durationMs + Math.min(SPF_MAX_HOLD_MS, durationMs * SPF_HOLD_FACTOR)));
  else cx.spfHold.delete(level);
  cx.spfLog.push({ at: now, level, durationMs, nodes: result.vertices.size, routes: result.prefixes.size, reason, partial });
  if (cx.spfLog.length > 50) cx.spfLog.shift();
}

/** Every route withdrawn (the instance stops). */
export function withdrawAll(cx: IsisContext): void {
  for (const [key, texts] of cx.announcedText) {
    const [table, src] = key.split('|') as [string, string];
    for (const p of texts.keys()) cx.rib.withdraw(table, src, p);
  }
  cx.announcedText.clear();
}
