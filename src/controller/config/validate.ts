/**
 * Whole-tree checks that a single statement cannot make: references between statements
 * (policies, prefix lists, filters, groups), exclusive choices, address families. The
 * schema already checked every keyword and value; consumers check their own semantics.
 * Each message starts with the configuration path it is about.
 */
import type { ConfigTree } from '../types.js';
import { missingGroups } from './inheritance.js';
import { stringList, subtree } from './tree.js';

/** Values in the tree are canonical already (the schema checked them): a colon means IPv6. */
function family(addr: string): 4 | 6 {
  return addr.includes(':') ? 6 : 4;
}

function checkStatic(errors: string[], where: string, routes: ConfigTree, fam: 4 | 6): void {
  for (const [dest, r0] of Object.entries(routes)) {
    const r = subtree(r0);
    const at = `${where} route ${dest}`;
    if (family(dest) !== fam) errors.push(`${at}: an IPv${fam === 4 ? 6 : 4} route does not belong in this IPv${fam} table`);
    const actions = ['discard', 'reject', 'receive'].filter((k) => r[k] === true);
    const hops = [...stringList(r['next-hop']), ...Object.keys(subtree(r['qualified-next-hop']))];
    if (actions.length > 1) errors.push(`${at}: ${actions.join(' and ')} exclude each other`);
    if (actions.length && hops.length) errors.push(`${at}: ${actions[0]} excludes next hops`);
    if (!actions.length && !hops.length) errors.push(`${at}: needs next-hop, qualified-next-hop, discard, reject or receive`);
    for (const h of hops) if (family(h) !== fam) errors.push(`${at}: next hop ${h} is not IPv${fam}`);
  }
}

function checkRoutingOptions(errors: string[], where: string, ro: ConfigTree, instance?: string): void {
  checkStatic(errors, `${where} static`, subtree(subtree(ro.static).route), 4);
  for (const [rib, body] of Object.entries(subtree(ro.rib))) {
    const want4 = instance ? `${instance}.inet.0` : 'inet.0';
    const want6 = instance ? `${instance}.inet6.0` : 'inet6.0';
    if (rib !== want4 && rib !== want6) {
      errors.push(`${where} rib ${rib}: unknown table here (use ${want4} or ${want6})`);
      continue;
    }
    checkStatic(errors, `${where} rib ${rib} static`, subtree(subtree(subtree(body).static).route), rib === want6 ? 6 : 4);
  }
}

function checkBgpPolicies(where: string, bgp: ConfigTree, policy: (at: string, names: string[]) => void): void {
  const level = (at: string, t: ConfigTree) => {
    policy(`${at} import`, stringList(t.import));
    policy(`${at} export`, stringList(t.export));
  };
  level(where, bgp);
  for (const [g, gb] of Object.entries(subtree(bgp.group))) {
    level(`${where} group ${g}`, subtree(gb));
    for (const [n, nb] of Object.entries(subtree(subtree(gb).neighbor))) level(`${where} group ${g} neighbor ${n}`, subtree(nb));
  }
}

/** Checks over the written tree (with groups) and the effective one (groups applied). */
export function validateTree(written: ConfigTree, effective: ConfigTree): string[] {
  const errors: string[] = [];
  for (const g of missingGroups(written)) errors.push(`apply-groups: group '${g}' is not defined`);

  const po = subtree(effective['policy-options']);
  const policies = subtree(po['policy-statement']);
  const policy = (at: string, names: string[]) => {
    for (const p of names) if (!Object.hasOwn(policies, p)) errors.push(`${at}: policy-statement '${p}' is not defined`);
  };
  const defined = (at: string, kind: string, names: string[]) => {
    const set = subtree(po[kind]);
    for (const n of names) if (!Object.hasOwn(set, n)) errors.push(`${at}: ${kind} '${n}' is not defined`);
  };
  for (const [pname, pb] of Object.entries(policies)) {
    const terms: Array<[string, ConfigTree]> = Object.entries(subtree(subtree(pb).term)).map(([t, b]) => [`policy-options policy-statement ${pname} term ${t}`, subtree(b)]);
    terms.push([`policy-options policy-statement ${pname}`, subtree(pb)]);
    for (const [at, t] of terms) {
      const from = subtree(t.from);
      const then = subtree(t.then);
      defined(`${at} from`, 'prefix-list', stringList(from['prefix-list']));
      defined(`${at} from`, 'prefix-list', Object.keys(subtree(from['prefix-list-filter'])));
      defined(`${at} from`, 'community', stringList(from.community));
      defined(`${at} from`, 'as-path', stringList(from['as-path']));
      const comm = subtree(then.community);
      for (const op of ['add', 'delete', 'set']) defined(`${at} then community ${op}`, 'community', stringList(comm[op]));
      for (const [p, rf] of Object.entries(subtree(from['route-filter']))) {
        const kinds = ['exact', 'orlonger', 'longer', 'upto', 'prefix-length-range'].filter((k) => subtree(rf)[k] !== undefined);
        if (kinds.length !== 1) errors.push(`${at} from route-filter ${p}: needs exactly one of exact, orlonger, longer, upto, prefix-length-range`);
        const len = Number(p.slice(p.indexOf('/') + 1));
        const upto = subtree(rf).upto;
        if (typeof upto === 'string' && Number(upto.slice(1)) < len) errors.push(`${at} from route-filter ${p}: upto ${upto} is shorter than the prefix`);
      }
      if (then.accept === true && then.reject === true) errors.push(`${at} then: accept and reject exclude each other`);
    }
  }

  const ro = subtree(effective['routing-options']);
  checkRoutingOptions(errors, 'routing-options', ro);
  policy('routing-options forwarding-table export', stringList(subtree(ro['forwarding-table']).export));
  checkBgpPolicies('protocols bgp', subtree(subtree(effective.protocols).bgp), policy);

  const fw = subtree(subtree(effective.firewall).family);
  for (const fam of ['inet', 'inet6']) {
    for (const [f, fb] of Object.entries(subtree(subtree(fw[fam]).filter))) {
      for (const [t, tb] of Object.entries(subtree(subtree(fb).term))) {
        const then = subtree(subtree(tb).then);
        const acts = ['accept', 'discard', 'reject'].filter((k) => then[k] === true);
        if (acts.length > 1) errors.push(`firewall family ${fam} filter ${f} term ${t} then: ${acts.join(' and ')} exclude each other`);
      }
    }
  }
  for (const [ifn, ib] of Object.entries(subtree(effective.interfaces))) {
    for (const [u, ub] of Object.entries(subtree(subtree(ib).unit))) {
      for (const fam of ['inet', 'inet6']) {
        const filt = subtree(subtree(subtree(subtree(ub).family)[fam]).filter);
        for (const dir of ['input', 'output']) {
          const name = filt[dir];
          if (typeof name === 'string' && !Object.hasOwn(subtree(subtree(fw[fam]).filter), name)) {
            errors.push(`interfaces ${ifn} unit ${u} family ${fam} filter ${dir}: firewall family ${fam} filter '${name}' is not defined`);
          }
        }
      }
    }
  }

  const owner = new Map<string, string>();
  for (const [ri, rb0] of Object.entries(subtree(effective['routing-instances']))) {
    const rb = subtree(rb0);
    for (const ifn of stringList(rb.interface)) {
      const prev = owner.get(ifn);
      if (prev) errors.push(`routing-instances ${ri} interface ${ifn}: already in routing instance ${prev}`);
      else owner.set(ifn, ri);
    }
    checkRoutingOptions(errors, `routing-instances ${ri} routing-options`, subtree(rb['routing-options']), ri);
    policy(`routing-instances ${ri} vrf-import`, stringList(rb['vrf-import']));
    policy(`routing-instances ${ri} vrf-export`, stringList(rb['vrf-export']));
    policy(`routing-instances ${ri} routing-options forwarding-table export`, stringList(subtree(subtree(rb['routing-options'])['forwarding-table']).export));
    checkBgpPolicies(`routing-instances ${ri} protocols bgp`, subtree(subtree(rb.protocols).bgp), policy);
  }
  return errors;
}
