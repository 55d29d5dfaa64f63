/**
 * `firewall family bridge filter` on the controller's side (docs/l2.md): a filter's terms in
 * the wire's form for the bridge port that applies it, and the commit rules about them
 * (config/validate.ts calls `bridgeFilterErrors`). Every match takes a list, as in Junos; a
 * term goes to the data plane as one wire term per combination of its values (the cross
 * product, as an IP filter's terms become one rule per combination, api/filter-rules.ts), all
 * with the term's name and counter. A term's IP fields are IPv4's or IPv6's: the `ipv6-*`
 * statements make it IPv6, the `ip-*` ones IPv4, and the fields both versions have (ports,
 * icmp-type) follow the term's `ether-type`: with `ether-type [ ipv4 ipv6 ]` they make one
 * combination of each version. What the vRouter cannot match is refused with the statement
 * and the reason, never left out.
 */
import type { ConfigTree } from '../types.js';
import { stringList, subtree } from '../config/tree.js';
import { etherTypeValue, expandVlans, MAX_BRIDGE_FILTER_TERMS, NEXT_HEADERS } from '../config/schema/bridge-domains.js';
import type { PbBridgeFilterTerm, PbPortRange } from '../../api/proto.js';
import { PROTOCOLS, portRange } from '../filters/config.js';

const V4_ONLY = ['ip-source-address', 'ip-destination-address', 'ip-protocol'] as const;
const V6_ONLY = ['ipv6-source-address', 'ipv6-destination-address', 'ipv6-next-header', 'ipv6-payload-protocol'] as const;
const EITHER = ['source-port', 'destination-port', 'icmp-type'] as const;
const ETHER_IPV4 = 0x0800;
const ETHER_IPV6 = 0x86dd;
const L4_PORTS = [6, 17, 132];

const protocolNumber = (v: string): number => PROTOCOLS[v] ?? Number(v);
const icmpRange = (v: string): PbPortRange => {
  const [lo, hi] = v.split('-').map(Number);
  return { low: lo!, high: hi ?? lo! };
};

/** The IP version a term's own IP statements fix (4, 6, both when they contradict), or 0 when it has none of them. */
function fixedVersion(from: ConfigTree): 0 | 4 | 6 | 10 {
  const v4 = V4_ONLY.some((k) => from[k] !== undefined);
  const v6 = V6_ONLY.some((k) => from[k] !== undefined);
  return v4 && v6 ? 10 : v6 ? 6 : v4 ? 4 : 0;
}

/** Every combination of the lists (an empty list: the field unset, one combination). */
function product<T>(lists: readonly (readonly T[])[]): (T | undefined)[][] {
  let out: (T | undefined)[][] = [[]];
  for (const l of lists) {
    const vals: (T | undefined)[] = l.length ? [...l] : [undefined];
    out = out.flatMap((c) => vals.map((v) => [...c, v]));
  }
  return out;
}

/** How many wire terms (data-plane rules) a term becomes. */
function combinations(from: ConfigTree): number {
  let n = 1;
  for (const k of ['source-mac-address', 'destination-mac-address', 'ether-type', ...V4_ONLY, ...V6_ONLY, ...EITHER]) n *= Math.max(stringList(from[k]).length, 1);
  return n * Math.max(expandVlans(stringList(from['vlan-id'])).length, 1);
}

/** One term's wire terms, in order. */
function termOf(name: string, tb: unknown): PbBridgeFilterTerm[] {
  const from = subtree(subtree(tb)['from']);
  const then = subtree(subtree(tb)['then']);
  const fixed = fixedVersion(from);
  const hasIp = fixed !== 0 || EITHER.some((k) => from[k] !== undefined);
  const ets = stringList(from['ether-type']).map(etherTypeValue);
  const vlans = expandVlans(stringList(from['vlan-id']));
  const out: PbBridgeFilterTerm[] = [];
  for (const [smac, dmac, vlan, et] of product<string | number>([stringList(from['source-mac-address']), stringList(from['destination-mac-address']), vlans, ets])) {
    // IPv6 fields, or ether-type ipv6 with only the fields both versions have
    const v6 = fixed === 6 || (fixed === 0 && et === ETHER_IPV6);
    const base: PbBridgeFilterTerm = { name, discard: then['discard'] === true };
    if (smac !== undefined) base.sourceMac = String(smac);
    if (dmac !== undefined) base.destinationMac = String(dmac);
    if (vlan !== undefined) base.vlanId = Number(vlan);
    if (et !== undefined) base.etherType = Number(et);
    if (typeof then['count'] === 'string') base.count = then['count'];
    if (!hasIp) {
      out.push(base);
      continue;
    }
    if (v6) base.ipVersion = 6;
    const src = stringList(from[v6 ? 'ipv6-source-address' : 'ip-source-address']);
    const dst = stringList(from[v6 ? 'ipv6-destination-address' : 'ip-destination-address']);
    const protos = stringList(from[v6 ? 'ipv6-payload-protocol' : 'ip-protocol']).map(protocolNumber);
    const nhs = v6 ? stringList(from['ipv6-next-header']).map((h) => NEXT_HEADERS[h] ?? Number(h)) : [];
    const sps = stringList(from['source-port']).map(portRange);
    const dps = stringList(from['destination-port']).map(portRange);
    const its = stringList(from['icmp-type']).map(icmpRange);
    for (const [s, d, p, nh, sp, dp, it] of product<unknown>([src, dst, protos, nhs, sps, dps, its])) {
      const t: PbBridgeFilterTerm = { ...base };
      if (s !== undefined) t.ipSource = s as string;
      if (d !== undefined) t.ipDestination = d as string;
      if (p !== undefined) t.ipProtocol = p as number;
      if (nh !== undefined) t.ipv6NextHeader = 256 + (nh as number);
      if (sp !== undefined) t.sourcePort = sp as PbPortRange;
      if (dp !== undefined) t.destinationPort = dp as PbPortRange;
      if (it !== undefined) t.icmpType = it as PbPortRange;
      out.push(t);
    }
  }
  return out;
}

/** `firewall family bridge filter NAME`'s terms, in order, each expanded, in the wire's form. */
export function bridgeFilterOf(cfg: ConfigTree, filterName: string): PbBridgeFilterTerm[] {
  const filter = subtree(subtree(subtree(subtree(subtree(cfg['firewall'])['family'])['bridge'])['filter'])[filterName]);
  return Object.entries(subtree(filter['term'])).flatMap(([name, tb]) => termOf(name, tb));
}

/** The commit rules of bridge filters, each message starting with the statement it is about. */
export function bridgeFilterErrors(cfg: ConfigTree): string[] {
  const errors: string[] = [];
  for (const [f, fb] of Object.entries(subtree(subtree(subtree(subtree(cfg['firewall'])['family'])['bridge'])['filter']))) {
    let rules = 0;
    for (const [t, tb] of Object.entries(subtree(subtree(fb)['term']))) {
      const at = `firewall family bridge filter ${f} term ${t}`;
      const from = subtree(subtree(tb)['from']);
      const then = subtree(subtree(tb)['then']);
      if (then['accept'] === true && then['discard'] === true) errors.push(`${at} then: accept and discard exclude each other`);
      rules += combinations(from);
      const fixed = fixedVersion(from);
      if (fixed === 0 && !EITHER.some((k) => from[k] !== undefined)) continue;
      if (fixed === 10) {
        errors.push(`${at} from: IPv4 fields (${V4_ONLY.filter((k) => from[k] !== undefined).join(', ')}) and IPv6 fields (${V6_ONLY.filter((k) => from[k] !== undefined).join(', ')}) in one term: a frame carries one IP version (make a term of each)`);
        continue;
      }
      const ets = stringList(from['ether-type']);
      const fits = (et: string): boolean => (fixed === 4 ? etherTypeValue(et) === ETHER_IPV4 : fixed === 6 ? etherTypeValue(et) === ETHER_IPV6 : etherTypeValue(et) === ETHER_IPV4 || etherTypeValue(et) === ETHER_IPV6);
      for (const et of ets.filter((e) => !fits(e))) errors.push(`${at} from: ${fixed === 6 ? 'IPv6 fields match IPv6' : fixed === 4 ? 'IPv4 fields match IPv4' : 'IP fields match IPv4 or IPv6'} frames only, not ether-type ${et}`);
      // the versions the term's IP fields are checked for: its own, or those its ether-types name
      const versions = fixed !== 0 ? [fixed] : ets.length ? [...new Set(ets.map((e) => (etherTypeValue(e) === ETHER_IPV6 ? 6 : 4)))] : [4];
      for (const v of versions) {
        const key = v === 6 ? 'ipv6-payload-protocol' : 'ip-protocol';
        const protos = stringList(from[key]);
        const nums = protos.map(protocolNumber);
        if (nums.includes(0)) errors.push(`${at} from ${key} 0: not supported: 0 means any protocol in the vRouter's bridge rules (leave ${key} out)`);
        const ports = from['source-port'] !== undefined || from['destination-port'] !== undefined;
        if (ports && nums.some((p) => !L4_PORTS.includes(p))) errors.push(`${at} from: source-port and destination-port need ${key} tcp, udp or sctp (or none), not ${protos.join(', ')}`);
        if (from['icmp-type'] !== undefined) {
          const icmp = v === 6 ? 58 : 1;
          if (ports) errors.push(`${at} from icmp-type: ICMP has no ports (source-port, destination-port)`);
          if (nums.some((p) => p !== icmp)) errors.push(`${at} from icmp-type: needs ${key} ${v === 6 ? 'icmp6' : 'icmp'} (or none), not ${protos.join(', ')}`);
        }
      }
    }
    if (rules > MAX_BRIDGE_FILTER_TERMS) errors.push(`firewall family bridge filter ${f}: needs ${rules} data-plane rules (a term takes one per combination of its values), at most ${MAX_BRIDGE_FILTER_TERMS}`);
  }
  return errors;
}
