/**
 * An interface's IP firewall filters (InterfaceUpdate.filters, docs/filters.md) as the data
 * plane's ordered rule list for one direction: the agent programs it (Dataplane.setAcl) and
 * reads per-term packets back from its rule hits; the controller counts the rules at commit
 * (a filter that does not fit is refused there). Part of the contract, so both sides expand
 * a filter the same way, and importing neither side: the rules are plain values of the
 * shape Dataplane's AclRule takes.
 *
 * A term's lists are a cross product: one rule per (source, destination, protocol, source
 * port, destination port or ICMP type). Junos `except` prefixes: the entries of a list are
 * taken longest first; an except entry is a skip rule (its packet leaves the term, the scan
 * goes on at the next term), an ordinary one carries the rest of the term. A packet whose
 * longest matching entry is an except one so never matches the term; a list of only except
 * entries matches nothing, as on Junos. A term with ports and no protocol matches TCP and
 * UDP; ICMP types with no protocol mean ICMP (ICMPv6 in an inet6 filter). After each
 * filter's terms, a deny of its family counts what no term matched (the implicit discard);
 * a family without a filter in this direction is permitted by a last rule of its own.
 */
import type { PbFilterPrefix, PbIpFilter, PbPortRange } from './proto.js';

/** One data-plane rule (the shape of the data plane's AclRule). */
export interface FilterRule {
  action: 'permit' | 'deny' | 'reject' | 'skip';
  skip?: number;
  family: 'inet' | 'inet6';
  src?: string;
  dst?: string;
  protocol?: number;
  srcPort?: [number, number];
  dstPort?: [number, number];
  icmpType?: [number, number];
}

/** Where each filter's terms went in the rule list, to read their packets back from the rules' hits. */
export interface FilterLayout {
  name: string;
  family: 4 | 6;
  terms: { name: string; count: string; rules: number[] }[];
  /** the rule counting what no term matched */
  implicit: number;
}

export interface DirectionRules {
  rules: FilterRule[];
  filters: FilterLayout[];
}

/** The rules of the filters of one direction (output or input) of `filters`; none when no filter of that direction. Throws on a filter it cannot express. */
export function filterRules(filters: readonly PbIpFilter[], output: boolean): DirectionRules {
  const mine = filters.filter((f) => (f.output ?? false) === output);
  const out: DirectionRules = { rules: [], filters: [] };
  if (mine.length === 0) return out;
  for (const fam of [4, 6] as const) {
    const family = fam === 4 ? 'inet' : 'inet6';
    const same = mine.filter((f) => f.family === fam);
    if (same.length > 1) throw new Error(`two ${family} ${output ? 'output' : 'input'} filters (${same.map((f) => f.name).join(', ')})`);
    const f = same[0];
    if (!f) {
      out.rules.push({ action: 'permit', family });
      continue;
    }
    const layout: FilterLayout = { name: f.name ?? '', family: fam, terms: [], implicit: -1 };
    for (const t of f.terms ?? []) {
      const start = out.rules.length;
      termRules(t, family, out.rules);
      // a skip rule resumes at the next term
      const end = out.rules.length;
      for (let k = start; k < end; k++) if (out.rules[k]!.action === 'skip') out.rules[k]!.skip = end - k - 1;
      layout.terms.push({ name: t.name ?? '', count: t.count ?? '', rules: Array.from({ length: end - start }, (_, k) => start + k) });
    }
    layout.implicit = out.rules.length;
    out.rules.push({ action: 'deny', family });
    out.filters.push(layout);
  }
  return out;
}

/** The rules of one term, appended to `rules` (skip counts filled in by the caller). */
function termRules(t: NonNullable<PbIpFilter['terms']>[number], family: 'inet' | 'inet6', rules: FilterRule[]): void {
  const action = t.action === 'FILTER_DISCARD' ? 'deny' : t.action === 'FILTER_REJECT' ? 'reject' : 'permit';
  const sports = ranges(t.sourcePorts);
  const dports = ranges(t.destinationPorts);
  const icmps = ranges(t.icmpTypes);
  const hasPorts = (t.sourcePorts?.length ?? 0) > 0 || (t.destinationPorts?.length ?? 0) > 0;
  const hasIcmp = (t.icmpTypes?.length ?? 0) > 0;
  let protos: (number | undefined)[] = t.protocols?.length ? [...t.protocols] : [undefined];
  if (!t.protocols?.length && hasPorts) protos = [6, 17];
  else if (!t.protocols?.length && hasIcmp) protos = [family === 'inet' ? 1 : 58];
  for (const s of longestFirst(t.source)) {
    if (s?.except) {
      rules.push({ action: 'skip', family, src: s.prefix! });
      continue;
    }
    for (const d of longestFirst(t.destination)) {
      const base: FilterRule = { action, family };
      if (s) base.src = s.prefix!;
      if (d) base.dst = d.prefix!;
      if (d?.except) {
        rules.push({ ...base, action: 'skip' });
        continue;
      }
      for (const p of protos) {
        const ported = p === 6 || p === 17 || p === 132;
        const icmp = p === 1 || p === 58;
        // a port or ICMP type match on a protocol that has none never matches: no rule
        if ((hasPorts && !ported) || (hasIcmp && !icmp)) continue;
        const r: FilterRule = p === undefined ? base : { ...base, protocol: p };
        if (ported && hasPorts) {
          for (const sp of sports) for (const dp of dports) rules.push({ ...r, ...(sp ? { srcPort: sp } : {}), ...(dp ? { dstPort: dp } : {}) });
        } else if (icmp && hasIcmp) {
          for (const it of icmps) rules.push({ ...r, icmpType: it! });
        } else rules.push({ ...r });
      }
    }
  }
}

/** A list's entries longest prefix first (undefined: no list, one entry that matches anything). */
function longestFirst(list: PbFilterPrefix[] | undefined): (PbFilterPrefix | undefined)[] {
  if (!list?.length) return [undefined];
  const len = (p: PbFilterPrefix) => Number((p.prefix ?? '').split('/')[1] ?? 128);
  return [...list].sort((a, b) => len(b) - len(a));
}

function ranges(list: PbPortRange[] | undefined): ([number, number] | undefined)[] {
  if (!list?.length) return [undefined];
  return list.map((r) => [r.low ?? 0, r.high ?? r.low ?? 0]);
}
