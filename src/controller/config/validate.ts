/**
 * Whole-tree checks that a single statement cannot make: references between statements
 * (policies, prefix lists, communities, as-paths, filters, groups), exclusive choices,
 * address families, static routes and the tables they are in, an interface claimed by two
 * routing instances. This is the one place each of these rules is checked: the schema
 * already checked every keyword and value, and a consumer's own `validate` only adds what
 * that subsystem alone cannot take (the RIB: units other than 0, ...). Each message starts
 * with the configuration path it is about.
 */
import type { ConfigTree } from '../types.js';
import { missingGroups } from './inheritance.js';
import { parseIp, parsePrefix } from '../../lib/addr.js';
import { memoByString } from '../../lib/memo.js';
import { isFlagSet, netdevOf, stringList, subtree } from './tree.js';
import { bridgeFilterErrors } from '../l2/bridge-filter.js';
import { ipFilterErrors } from '../filters/config.js';

// every commit checks every static route: each text's family remembered (lib/memo.ts)
const prefixFamily = memoByString((s) => parsePrefix(s).family);
const ipFamily = memoByString((s) => parseIp(s).family);

/** Family of an address or prefix, or its parse error (a stored tree did not come through the schema). */
function familyOf(family: (s: string) => 4 | 6, s: string): 4 | 6 | Error {
  try {
    return family(s);
  } catch (err) {
    return err as Error;
  }
}

/**
 * The static routes of one table: the only place their rules are checked (the static
 * protocol applies what passed). `v6table` is where an IPv6 route of this instance belongs.
 */
function checkStatic(errors: string[], where: string, table: string, fam: 4 | 6, v6table: string, routes: ConfigTree): void {
  for (const [dest, r0] of Object.entries(routes)) {
    const r = subtree(r0);
    const at = `${where} route ${dest}`;
    const pf = familyOf(prefixFamily, dest);
    if (pf instanceof Error) {
      errors.push(`${at}: ${pf.message}`);
      continue;
    }
    if (pf !== fam) errors.push(`${at}: an IPv${pf} prefix does not belong in ${table}${fam === 4 ? ` (put it under rib ${v6table})` : ''}`);
    const actions = ['discard', 'reject', 'receive'].filter((k) => isFlagSet(r[k]));
    const hops = [...stringList(r['next-hop']), ...Object.keys(subtree(r['qualified-next-hop']))];
    if (actions.length > 1) errors.push(`${at}: ${actions.join(' and ')} exclude each other`);
    if (actions.length && hops.length) errors.push(`${at}: ${actions[0]} and next hops exclude each other`);
    if (!actions.length && !hops.length) errors.push(`${at}: needs next-hop, qualified-next-hop, discard, reject or receive`);
    for (const h of hops) {
      const hf = familyOf(ipFamily, h);
      if (hf instanceof Error) errors.push(`${at}: ${hf.message}`);
      else if (hf !== fam) errors.push(`${at}: next hop ${h} is not IPv${fam}`);
    }
  }
}

/**
 * `routing-options` of the default instance (`instance` undefined) or of a routing instance:
 * its tables and their static routes. A routing instance's IPv4 routes go under `static`,
 * so its only `rib` is NAME.inet6.0; the default instance also accepts `rib inet.0`.
 */
function checkRoutingOptions(errors: string[], where: string, ro: ConfigTree, instance?: string): void {
  const v4table = instance ? `${instance}.inet.0` : 'inet.0';
  const v6table = instance ? `${instance}.inet6.0` : 'inet6.0';
  const tables = instance ? [v6table] : [v4table, v6table];
  checkStatic(errors, `${where} static`, v4table, 4, v6table, subtree(subtree(ro.static).route));
  for (const [rib, body] of Object.entries(subtree(ro.rib))) {
    if (!tables.includes(rib)) {
      errors.push(`${where} rib ${rib}: unknown table here (use ${tables.join(' or ')})`);
      continue;
    }
    const routes = subtree(subtree(subtree(body).static).route);
    checkStatic(errors, `${where} rib ${rib} static`, rib, rib === v6table ? 6 : 4, v6table, routes);
    if (rib !== v4table) continue;
    // inet.0's static routes may sit in either container, but one route in one place only
    const direct = subtree(subtree(ro.static).route);
    for (const p of Object.keys(routes)) {
      if (p in direct) errors.push(`${where} rib ${rib} static route ${p}: already configured under ${where} static route ${p}`);
    }
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

/**
 * `protocols isis`: a NET on lo0 names the system (one system ID for all NETs), every IS-IS
 * interface has `family iso`, one level at least stays enabled, the SRGB/SRLB are whole and
 * apart, node SIDs fit the SRGB, and export policies exist.
 */
function checkIsis(errors: string[], cfg: ConfigTree, policy: (at: string, names: string[]) => void): void {
  const isis = subtree(cfg.protocols).isis;
  if (isis === undefined) return;
  const t = subtree(isis);
  const at = 'protocols isis';
  const ifs = subtree(cfg.interfaces);
  const isoOf = (netdev: string) => subtree(subtree(subtree(subtree(subtree(ifs[netdev]).unit)['0']).family)).iso;
  const nets = Object.keys(subtree(subtree(isoOf('lo0')).address));
  if (nets.length === 0) errors.push(`${at}: needs a NET: set interfaces lo0 unit 0 family iso address <area.system-id.00>`);
  const systems = new Set(nets.map((n) => n.split('.').slice(-4, -1).join('.')));
  if (systems.size > 1) errors.push(`interfaces lo0 unit 0 family iso address: NETs with different system IDs (${[...systems].join(', ')})`);
  for (const n of Object.keys(subtree(t.interface))) {
    const netdev = netdevOf(n);
    if (ifs[netdev] === undefined) errors.push(`${at} interface ${n}: interface ${netdev} is not configured`);
    else if (isoOf(netdev) === undefined && netdev !== 'lo0') errors.push(`${at} interface ${n}: needs family iso (set interfaces ${netdev} unit 0 family iso)`);
  }
  const levels = subtree(t.level);
  if (isFlagSet(subtree(levels['1']).disable) && isFlagSet(subtree(levels['2']).disable)) errors.push(`${at} level: levels 1 and 2 are both disabled`);
  policy(`${at} export`, stringList(t.export));
  const spr = subtree(t['source-packet-routing']);
  const block = (nm: string): [number, number] | undefined => {
    const b = subtree(spr[nm]);
    const start = b['start-label'];
    const range = b['index-range'];
    if (start === undefined && range === undefined) return undefined;
    if (typeof start !== 'number' || typeof range !== 'number') {
      errors.push(`${at} source-packet-routing ${nm}: needs both start-label and index-range`);
      return undefined;
    }
    if (start + range - 1 > 1048575) errors.push(`${at} source-packet-routing ${nm}: ${start} + ${range} labels go past label 1048575`);
    return [start, start + range - 1];
  };
  const srgb = block('srgb');
  const srlb = block('srlb');
  if (srgb && srlb && srgb[0] <= srlb[1] && srlb[0] <= srgb[1]) errors.push(`${at} source-packet-routing: the SRGB and SRLB overlap`);
  const node = subtree(spr['node-segment']);
  for (const k of ['ipv4-index', 'ipv6-index']) {
    const idx = node[k];
    if (typeof idx !== 'number') continue;
    if (!srgb) errors.push(`${at} source-packet-routing node-segment ${k}: needs an srgb`);
    else if (idx > srgb[1] - srgb[0]) errors.push(`${at} source-packet-routing node-segment ${k}: index ${idx} is outside the SRGB (${srgb[1] - srgb[0] + 1} labels)`);
  }
  if (typeof node['ipv4-index'] === 'number' && node['ipv4-index'] === node['ipv6-index']) errors.push(`${at} source-packet-routing node-segment: ipv4-index and ipv6-index are the same SID`);
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
  checkIsis(errors, effective, policy);

  // IP firewall filters and where they are applied (controller/filters/config.ts)
  errors.push(...ipFilterErrors(effective));

  // an interface belongs to one routing instance at most; `pod1.0` and `pod1` are the same one
  const owner = new Map<string, string>();
  for (const [ri, rb0] of Object.entries(subtree(effective['routing-instances']))) {
    const rb = subtree(rb0);
    for (const ifn of stringList(rb.interface)) {
      const netdev = netdevOf(ifn);
      const prev = owner.get(netdev);
      if (prev) errors.push(`routing-instances ${ri} interface ${ifn}: already in routing instance ${prev}`);
      else owner.set(netdev, ri);
    }
    checkRoutingOptions(errors, `routing-instances ${ri} routing-options`, subtree(rb['routing-options']), ri);
    policy(`routing-instances ${ri} vrf-import`, stringList(rb['vrf-import']));
    policy(`routing-instances ${ri} vrf-export`, stringList(rb['vrf-export']));
    policy(`routing-instances ${ri} routing-options forwarding-table export`, stringList(subtree(subtree(rb['routing-options'])['forwarding-table']).export));
    checkBgpPolicies(`routing-instances ${ri} protocols bgp`, subtree(subtree(rb.protocols).bgp), policy);
  }
  checkBridging(errors, effective);
  return errors;
}

/**
 * L2 switching (docs/l2.md): bridge ports (`family bridge`) and their modes, bridge domains,
 * their VLANs and IRB units, storm-control profiles.
 */
function checkBridging(errors: string[], cfg: ConfigTree): void {
  const ifs = subtree(cfg.interfaces);
  const profiles = subtree(subtree(cfg['forwarding-options'])['storm-control-profiles']);
  const irbUnits = subtree(subtree(ifs.irb).unit);
  const bridgeFilters = subtree(subtree(subtree(subtree(cfg.firewall).family).bridge).filter);
  errors.push(...bridgeFilterErrors(cfg));
  for (const [ifn, ib0] of Object.entries(ifs)) {
    const ib = subtree(ib0);
    let trunk = false;
    for (const [u, ub] of Object.entries(subtree(ib.unit))) {
      const fam = subtree(subtree(ub).family);
      if (fam.bridge === undefined) continue;
      const br = subtree(fam.bridge);
      const at = `interfaces ${ifn} unit ${u} family bridge`;
      if (ifn === 'irb') { errors.push(`${at}: an IRB routes for a bridge domain and is no bridge port`); continue; }
      const others = ['inet', 'inet6', 'mpls'].filter((f) => fam[f] !== undefined);
      if (others.length) errors.push(`${at}: a bridge port carries no family ${others.join(' or ')} (route through an IRB)`);
      if (ib['vlan-id'] !== undefined) errors.push(`${at}: a bridge port takes no interface vlan-id (use family bridge vlan-id or vlan-id-list)`);
      const mode = br['interface-mode'];
      const list = stringList(br['vlan-id-list']);
      if (mode === 'access') {
        if (br['vlan-id'] === undefined) errors.push(`${at}: an access port needs vlan-id`);
        if (list.length) errors.push(`${at}: an access port has one vlan-id, no vlan-id-list`);
      } else if (mode === 'trunk') {
        trunk = true;
        if (br['vlan-id'] !== undefined) errors.push(`${at}: a trunk carries vlan-id-list, not vlan-id`);
        if (!list.length && ib['native-vlan-id'] === undefined) errors.push(`${at}: a trunk needs vlan-id-list (or native-vlan-id)`);
      } else {
        errors.push(`${at}: needs interface-mode access or trunk`);
      }
      // QinQ (docs/l2.md): the TPID is a trunk's, tunnelling an access port's
      if (br['ether-type'] !== undefined && mode !== 'trunk') errors.push(`${at} ether-type: only a trunk tags, so only a trunk has a TPID (a QinQ tunnel port is an access port with dot1q-tunneling)`);
      if (br['dot1q-tunneling'] !== undefined && mode !== 'access') errors.push(`${at} dot1q-tunneling: only an access port tunnels (its vlan-id is the S-VLAN; the provider trunk takes ether-type 0x88a8)`);
      for (const dir of ['input', 'output']) {
        const fname = subtree(br.filter)[dir];
        if (typeof fname === 'string' && !Object.hasOwn(bridgeFilters, fname)) errors.push(`${at} filter ${dir}: firewall family bridge filter '${fname}' is not defined`);
      }
      const sc = br['storm-control'];
      if (typeof sc === 'string' && !Object.hasOwn(profiles, sc)) errors.push(`${at} storm-control: forwarding-options storm-control-profiles '${sc}' is not defined`);
    }
    if (ib['native-vlan-id'] !== undefined && !trunk) errors.push(`interfaces ${ifn} native-vlan-id: only a trunk (family bridge interface-mode trunk) has a native VLAN`);
  }
  for (const [name, p] of Object.entries(profiles)) {
    if (subtree(subtree(p).all)['bandwidth-level'] === undefined) errors.push(`forwarding-options storm-control-profiles ${name}: needs all bandwidth-level`);
  }
  const vlanOwner = new Map<number, string>();
  const irbOwner = new Map<string, string>();
  for (const [bd, b0] of Object.entries(subtree(cfg['bridge-domains']))) {
    const b = subtree(b0);
    const at = `bridge-domains ${bd}`;
    const vlan = b['vlan-id'];
    if (typeof vlan !== 'number') errors.push(`${at}: needs vlan-id`);
    else if (vlanOwner.has(vlan)) errors.push(`${at} vlan-id ${vlan}: already the VLAN of bridge domain ${vlanOwner.get(vlan)}`);
    else vlanOwner.set(vlan, bd);
    const irb = b['routing-interface'];
    if (typeof irb === 'string') {
      if (!Object.hasOwn(irbUnits, irb.slice(4))) errors.push(`${at} routing-interface ${irb}: no interfaces irb unit ${irb.slice(4)}`);
      if (irbOwner.has(irb)) errors.push(`${at} routing-interface ${irb}: already the routing interface of bridge domain ${irbOwner.get(irb)}`);
      else irbOwner.set(irb, bd);
    }
    const iml = subtree(subtree(b['bridge-options'])['interface-mac-limit']);
    if (iml['packet-action'] !== undefined && typeof iml['limit'] !== 'number') errors.push(`${at} bridge-options interface-mac-limit packet-action: needs the limit (interface-mac-limit N)`);
    const mts = subtree(subtree(b['bridge-options'])['mac-table-size']);
    if (mts['packet-action'] !== undefined && typeof mts['limit'] !== 'number') errors.push(`${at} bridge-options mac-table-size packet-action: needs the limit (mac-table-size N)`);
  }
  for (const u of Object.keys(irbUnits)) {
    if (!irbOwner.has(`irb.${u}`)) errors.push(`interfaces irb unit ${u}: no bridge domain has routing-interface irb.${u}`);
  }
}
