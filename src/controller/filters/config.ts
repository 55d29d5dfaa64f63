/**
 * The controller's side of IP firewall filters (docs/filters.md): the committed tree's
 * `firewall family inet|inet6 filter` statements applied by `interfaces IF unit N family
 * inet|inet6 filter input|output`, in the wire's form (InterfaceUpdate.filters) for the FIB
 * export, and the commit rules about them (config/validate.ts calls `ipFilterErrors`): what
 * the vRouter cannot match or do is refused there, with the statement and the reason, never
 * silently left out.
 */
import type { ConfigTree } from '../types.js';
import { subtree } from '../config/tree.js';
import { filterRules } from '../../api/filter-rules.js';
import type { PbFilterPrefix, PbIpFilter, PbIpFilterTerm, PbPortRange } from '../../api/proto.js';

/** The data plane's rules per interface and direction (MAX_ACL_RULES): both families' filters share them. */
export const MAX_FILTER_RULES = 64;

export const PROTOCOLS: Record<string, number> = { icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmp6: 58, ospf: 89, pim: 103, vrrp: 112, sctp: 132 };
const PORTS: Record<string, number> = { ftp: 21, ssh: 22, telnet: 23, smtp: 25, domain: 53, http: 80, ntp: 123, snmp: 161, bgp: 179, https: 443, ldp: 646, netconf: 830, bfd: 3784 };

const FAMILIES = ['inet', 'inet6'] as const;

function filterBody(cfg: ConfigTree, fam: 'inet' | 'inet6', name: string): ConfigTree | undefined {
  const all = subtree(subtree(subtree(subtree(cfg['firewall'])['family'])[fam])['filter']);
  return Object.hasOwn(all, name) ? subtree(all[name]) : undefined;
}

/** A port match (N, N-M or a service name) as a range. */
export function portRange(v: string): PbPortRange {
  const named = PORTS[v];
  if (named !== undefined) return { low: named, high: named };
  const [lo, hi] = v.split('-').map(Number);
  return { low: lo!, high: hi ?? lo! };
}

function prefixes(list: unknown): PbFilterPrefix[] {
  return Object.entries(subtree(list)).map(([prefix, b]) => ({ prefix, ...(subtree(b)['except'] === true ? { except: true } : {}) }));
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);

/** One filter's terms in the wire's form. */
function filterOf(cfg: ConfigTree, fam: 'inet' | 'inet6', name: string, output: boolean): PbIpFilter {
  const body = filterBody(cfg, fam, name) ?? {};
  const terms = Object.entries(subtree(body['term'])).map(([tn, tb]): PbIpFilterTerm => {
    const from = subtree(subtree(tb)['from']);
    const then = subtree(subtree(tb)['then']);
    const t: PbIpFilterTerm = { name: tn, action: then['discard'] === true ? 'FILTER_DISCARD' : then['reject'] === true ? 'FILTER_REJECT' : 'FILTER_ACCEPT' };
    const src = prefixes(from['source-address']);
    const dst = prefixes(from['destination-address']);
    if (src.length) t.source = src;
    if (dst.length) t.destination = dst;
    const protos = strings(from['protocol']).map((p) => PROTOCOLS[p] ?? Number(p));
    if (protos.length) t.protocols = protos;
    const sp = strings(from['source-port']).map(portRange);
    const dp = strings(from['destination-port']).map(portRange);
    if (sp.length) t.sourcePorts = sp;
    if (dp.length) t.destinationPorts = dp;
    const it = strings(from['icmp-type']).map((v) => ({ low: Number(v), high: Number(v) }));
    if (it.length) t.icmpTypes = it;
    if (typeof then['count'] === 'string') t.count = then['count'];
    return t;
  });
  return { name, family: fam === 'inet' ? 4 : 6, output, terms };
}

/** The filters a unit's `family inet|inet6 filter input|output` apply, in the wire's form (none: an empty list). */
export function ipFiltersOf(cfg: ConfigTree, unit: ConfigTree): PbIpFilter[] {
  const out: PbIpFilter[] = [];
  for (const fam of FAMILIES) {
    const f = subtree(subtree(subtree(unit['family'])[fam])['filter']);
    for (const dir of ['input', 'output'] as const) {
      const name = f[dir];
      if (typeof name === 'string' && filterBody(cfg, fam, name)) out.push(filterOf(cfg, fam, name, dir === 'output'));
    }
  }
  return out;
}

/** The commit rules of IP filters, each message starting with the statement it is about. */
export function ipFilterErrors(cfg: ConfigTree): string[] {
  const errors: string[] = [];
  const fw = subtree(subtree(cfg['firewall'])['family']);
  for (const fam of FAMILIES) {
    for (const [f, fb] of Object.entries(subtree(subtree(fw[fam])['filter']))) {
      for (const [t, tb] of Object.entries(subtree(subtree(fb)['term']))) {
        const at = `firewall family ${fam} filter ${f} term ${t}`;
        const from = subtree(subtree(tb)['from']);
        const then = subtree(subtree(tb)['then']);
        const acts = ['accept', 'discard', 'reject'].filter((k) => then[k] === true);
        if (acts.length > 1) errors.push(`${at} then: ${acts.join(' and ')} exclude each other`);
        // what the vRouter cannot match or do: refused, never left out
        if (from['tcp-flags'] !== undefined) errors.push(`${at} from tcp-flags ${String(from['tcp-flags'])}: not supported: the vRouter's filters match no TCP flags (docs/filters.md)`);
        if (then['log'] === true) errors.push(`${at} then log: not supported: the vRouter's filters log no packets; count them (then count NAME)`);
        if (then['next'] !== undefined) errors.push(`${at} then next term: not supported: in the vRouter's filters the first matching term decides`);
        const protos = strings(from['protocol']);
        const nums = protos.map((p) => PROTOCOLS[p] ?? Number(p));
        const ports = from['source-port'] !== undefined || from['destination-port'] !== undefined;
        if (ports && nums.length && !nums.some((p) => p === 6 || p === 17 || p === 132)) errors.push(`${at} from: source-port and destination-port need protocol tcp, udp or sctp (or no protocol: tcp and udp), not ${protos.join(', ')}`);
        const icmp = fam === 'inet' ? 1 : 58;
        if (from['icmp-type'] !== undefined) {
          if (nums.length && !nums.includes(icmp)) errors.push(`${at} from icmp-type: needs protocol ${fam === 'inet' ? 'icmp' : 'icmp6'} (or no protocol), not ${protos.join(', ')}`);
          if (ports) errors.push(`${at} from icmp-type: ICMP has no ports (source-port, destination-port)`);
        }
      }
    }
  }
  for (const [ifn, ib] of Object.entries(subtree(cfg['interfaces']))) {
    for (const [u, ub] of Object.entries(subtree(subtree(ib)['unit']))) {
      const at = `interfaces ${ifn} unit ${u}`;
      let applied = false;
      for (const fam of FAMILIES) {
        const filt = subtree(subtree(subtree(subtree(ub)['family'])[fam])['filter']);
        for (const dir of ['input', 'output']) {
          const name = filt[dir];
          if (typeof name !== 'string') continue;
          applied = true;
          if (!filterBody(cfg, fam, name)) errors.push(`${at} family ${fam} filter ${dir}: firewall family ${fam} filter '${name}' is not defined`);
        }
      }
      if (!applied) continue;
      if (ifn === 'lo0') {
        errors.push(`${at} family filter: not supported: lo0 has no vRouter interface, and filters apply to forwarded packets only (docs/filters.md)`);
        continue;
      }
      // both families' filters of one direction share the data plane's rules
      const filters = ipFiltersOf(cfg, subtree(ub));
      for (const output of [false, true]) {
        const n = filterRules(filters, output).rules.length;
        if (n > MAX_FILTER_RULES) {
          const names = filters.filter((f) => (f.output ?? false) === output).map((f) => f.name).join(' and ');
          errors.push(`${at} family filter ${output ? 'output' : 'input'}: ${names} need ${n} data-plane rules (a term takes one per combination of its addresses, protocols and ports, plus one per family), at most ${MAX_FILTER_RULES}`);
        }
      }
    }
  }
  return errors;
}
