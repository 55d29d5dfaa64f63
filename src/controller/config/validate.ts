/**
 * Whole-tree checks that a single statement cannot make: references between statements
 * (policies, prefix lists, filters, groups), exclusive choices, address families. The
 * schema already checked every keyword and value; consumers check their own semantics.
 * Each message starts with the configuration path it is about.
 */
import type { ConfigTree, ConfigValue } from '../types.js';
import { missingGroups } from './inheritance.js';

function obj(v: ConfigValue | undefined): ConfigTree {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {};
}
function arr(v: ConfigValue | undefined): string[] {
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}
/** Values in the tree are canonical already (the schema checked them): a colon means IPv6. */
function family(addr: string): 4 | 6 {
  return addr.includes(':') ? 6 : 4;
}

function checkStatic(errors: string[], where: string, routes: ConfigTree, fam: 4 | 6): void {
  for (const [dest, r0] of Object.entries(routes)) {
    const r = obj(r0);
    const at = `${where} route ${dest}`;
    if (family(dest) !== fam) errors.push(`${at}: an IPv${fam === 4 ? 6 : 4} route does not belong in this IPv${fam} table`);
    const actions = ['discard', 'reject', 'receive'].filter((k) => r[k] === true);
    const hops = [...arr(r['next-hop']), ...Object.keys(obj(r['qualified-next-hop']))];
    if (actions.length > 1) errors.push(`${at}: ${actions.join(' and ')} exclude each other`);
    if (actions.length && hops.length) errors.push(`${at}: ${actions[0]} excludes next hops`);
    if (!actions.length && !hops.length) errors.push(`${at}: needs next-hop, qualified-next-hop, discard, reject or receive`);
    for (const h of hops) if (family(h) !== fam) errors.push(`${at}: next hop ${h} is not IPv${fam}`);
  }
}

function checkRoutingOptions(errors: string[], where: string, ro: ConfigTree, instance?: string): void {
  checkStatic(errors, `${where} static`, obj(obj(ro.static).route), 4);
  for (const [rib, body] of Object.entries(obj(ro.rib))) {
    const want4 = instance ? `${instance}.inet.0` : 'inet.0';
    const want6 = instance ? `${instance}.inet6.0` : 'inet6.0';
    if (rib !== want4 && rib !== want6) {
      errors.push(`${where} rib ${rib}: unknown table here (use ${want4} or ${want6})`);
      continue;
    }
    checkStatic(errors, `${where} rib ${rib} static`, obj(obj(obj(body).static).route), rib === want6 ? 6 : 4);
  }
}

function checkBgpPolicies(where: string, bgp: ConfigTree, policy: (at: string, names: string[]) => void): void {
  const level = (at: string, t: ConfigTree) => {
    policy(`${at} import`, arr(t.import));
    policy(`${at} export`, arr(t.export));
  };
  level(where, bgp);
  for (const [g, gb] of Object.entries(obj(bgp.group))) {
    level(`${where} group ${g}`, obj(gb));
    for (const [n, nb] of Object.entries(obj(obj(gb).neighbor))) level(`${where} group ${g} neighbor ${n}`, obj(nb));
  }
}

/** Checks over the written tree (with groups) and the effective one (groups applied). */
export function validateTree(written: ConfigTree, effective: ConfigTree): string[] {
  const errors: string[] = [];
  for (const g of missingGroups(written)) errors.push(`apply-groups: group '${g}' is not defined`);

  const po = obj(effective['policy-options']);
  const policies = obj(po['policy-statement']);
  const policy = (at: string, names: string[]) => {
    for (const p of names) if (!Object.hasOwn(policies, p)) errors.push(`${at}: policy-statement '${p}' is not defined`);
  };
  const defined = (at: string, kind: string, names: string[]) => {
    const set = obj(po[kind]);
    for (const n of names) if (!Object.hasOwn(set, n)) errors.push(`${at}: ${kind} '${n}' is not defined`);
  };
  for (const [pname, pb] of Object.entries(policies)) {
    const terms: Array<[string, ConfigTree]> = Object.entries(obj(obj(pb).term)).map(([t, b]) => [`policy-options policy-statement ${pname} term ${t}`, obj(b)]);
    terms.push([`policy-options policy-statement ${pname}`, obj(pb)]);
    for (const [at, t] of terms) {
      const from = obj(t.from);
      const then = obj(t.then);
      defined(`${at} from`, 'prefix-list', arr(from['prefix-list']));
      defined(`${at} from`, 'prefix-list', Object.keys(obj(from['prefix-list-filter'])));
      defined(`${at} from`, 'community', arr(from.community));
      defined(`${at} from`, 'as-path', arr(from['as-path']));
      const comm = obj(then.community);
      for (const op of ['add', 'delete', 'set']) defined(`${at} then community ${op}`, 'community', arr(comm[op]));
      for (const [p, rf] of Object.entries(obj(from['route-filter']))) {
        const kinds = ['exact', 'orlonger', 'longer', 'upto', 'prefix-length-range'].filter((k) => obj(rf)[k] !== undefined);
        if (kinds.length !== 1) errors.push(`${at} from route-filter ${p}: needs exactly one of exact, orlonger, longer, upto, prefix-length-range`);
        const len = Number(p.slice(p.indexOf('/') + 1));
        const upto = obj(rf).upto;
        if (typeof upto === 'string' && Number(upto.slice(1)) < len) errors.push(`${at} from route-filter ${p}: upto ${upto} is shorter than the prefix`);
      }
      if (then.accept === true && then.reject === true) errors.push(`${at} then: accept and reject exclude each other`);
    }
  }

  const ro = obj(effective['routing-options']);
  checkRoutingOptions(errors, 'routing-options', ro);
  policy('routing-options forwarding-table export', arr(obj(ro['forwarding-table']).export));
  checkBgpPolicies('protocols bgp', obj(obj(effective.protocols).bgp), policy);

  const fw = obj(obj(effective.firewall).family);
  for (const fam of ['inet', 'inet6']) {
    for (const [f, fb] of Object.entries(obj(obj(fw[fam]).filter))) {
      for (const [t, tb] of Object.entries(obj(obj(fb).term))) {
        const then = obj(obj(tb).then);
        const acts = ['accept', 'discard', 'reject'].filter((k) => then[k] === true);
        if (acts.length > 1) errors.push(`firewall family ${fam} filter ${f} term ${t} then: ${acts.join(' and ')} exclude each other`);
      }
    }
  }
  for (const [ifn, ib] of Object.entries(obj(effective.interfaces))) {
    for (const [u, ub] of Object.entries(obj(obj(ib).unit))) {
      for (const fam of ['inet', 'inet6']) {
        const filt = obj(obj(obj(obj(ub).family)[fam]).filter);
        for (const dir of ['input', 'output']) {
          const name = filt[dir];
          if (typeof name === 'string' && !Object.hasOwn(obj(obj(fw[fam]).filter), name)) {
            errors.push(`interfaces ${ifn} unit ${u} family ${fam} filter ${dir}: firewall family ${fam} filter '${name}' is not defined`);
          }
        }
      }
    }
  }

  const owner = new Map<string, string>();
  for (const [ri, rb0] of Object.entries(obj(effective['routing-instances']))) {
    const rb = obj(rb0);
    for (const ifn of arr(rb.interface)) {
      const prev = owner.get(ifn);
      if (prev) errors.push(`routing-instances ${ri} interface ${ifn}: already in routing instance ${prev}`);
      else owner.set(ifn, ri);
    }
    checkRoutingOptions(errors, `routing-instances ${ri} routing-options`, obj(rb['routing-options']), ri);
    policy(`routing-instances ${ri} vrf-import`, arr(rb['vrf-import']));
    policy(`routing-instances ${ri} vrf-export`, arr(rb['vrf-export']));
    policy(`routing-instances ${ri} routing-options forwarding-table export`, arr(obj(obj(rb['routing-options'])['forwarding-table']).export));
    checkBgpPolicies(`routing-instances ${ri} protocols bgp`, obj(obj(rb.protocols).bgp), policy);
  }
  return errors;
}
