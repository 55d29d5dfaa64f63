/**
 * Junos routing policy: `policy-options policy-statement` compiled once per commit, then
 * evaluated per route. A chain of policies is tried in order; in each, terms in order; a
 * term whose `from` conditions all hold applies its `then` actions: modifiers (local
 * preference, metric, communities, AS-path prepend, next hop, ...) accumulate, `accept` or
 * `reject` ends the whole chain, `next policy` skips to the next policy. When no policy
 * decides, the protocol's default policy does (the caller passes it). Later terms see the
 * changes of earlier ones, as in Junos.
 *
 * The subject is protocol-neutral (any protocol's export or import can use this); BGP
 * attributes are optional fields of it.
 */
import { formatPrefix, parsePrefix, prefixKeyFamily, prefixOfKey, type Prefix, type PrefixKey } from '../../lib/addr.js';
import type { ConfigTree } from '../types.js';
import { stringList, subtree } from '../config/tree.js';
import {
  addMember,
  asPathText,
  compileAsPathRegex,
  deleteMember,
  matchRouteFilter,
  matchRouteFilterCode,
  memberPresent,
  parseCommunityMember,
  routeFilter,
  type CommunityMember,
  type CommunitySet,
  type RouteFilter,
} from './match.js';

export interface PolicySubject {
  /**
   * the prefix: canonical text, or a value (lib/addr PrefixKey: an IPv4 prefix as its
   * ipv4PrefixCode, matched against route filters as numbers)
   */
  prefix: PrefixKey;
  /** the protocol that produced the route: bgp, static, direct, local, isis, aggregate */
  protocol: string;
  /** the peer a BGP route came from */
  neighbor?: string;
  nextHops: string[];
  interfaces?: string[];
  localPref?: number;
  metric?: number;
  tag?: number;
  routeType?: 'internal' | 'external';
  instance?: string;
  /** IS-IS: the level the route was learned at (`from level`) and the level it is exported into (`to level`) */
  level?: number;
  toLevel?: number;
  asPath?: ReadonlyArray<{ type: number; asns: readonly number[] }>;
  communities?: number[];
  extCommunities?: Uint8Array;
  largeCommunities?: number[];
}

/** What the chain decided, and the changes to make to the route. */
export interface PolicyResult {
  accept: boolean;
  localPref?: number;
  metric?: number;
  preference?: number;
  tag?: number;
  origin?: number;
  /** 'self', 'peer-address', 'discard', 'reject' or an address */
  nextHop?: string;
  asPathPrepend?: number[];
  /** present when any community action ran: the route's full new sets */
  communities?: CommunitySet;
  loadBalance?: string;
  /** `policy/term` that decided, or 'default' */
  decidedBy: string;
}

interface Term {
  readonly name: string;
  readonly from: (s: PolicySubject, c: CommunitySet, parsed: () => Prefix) => boolean;
  readonly then: ConfigTree;
  readonly empty: boolean;
  /** its match looks at the prefix (route filters, prefix lists, family) */
  readonly usesPrefix: boolean;
}

interface Compiled {
  readonly terms: Term[];
}

export class PolicyEngine {
  private readonly policies = new Map<string, Compiled>();
  private readonly communities = new Map<string, { members: CommunityMember[]; invert: boolean }>();
  readonly errors: string[] = [];

  /** Compile `policy-options` (the subtree, possibly absent). Problems go to `errors`. */
  constructor(policyOptions: ConfigTree | undefined) {
    const po = subtree(policyOptions);
    const prefixLists = new Map<string, Prefix[]>();
    for (const [name, e] of Object.entries(subtree(po['prefix-list']))) {
      try {
        prefixLists.set(name, stringList(subtree(e).prefixes).map((p) => parsePrefix(p)));
      } catch (err) {
        this.errors.push(`policy-options prefix-list ${name}: ${(err as Error).message}`);
      }
    }
    for (const [name, e] of Object.entries(subtree(po.community))) {
      const members: CommunityMember[] = [];
      for (const m of stringList(subtree(e).members)) {
        const c = parseCommunityMember(m);
        if (typeof c === 'string') this.errors.push(`policy-options community ${name}: ${c}`);
        else members.push(c);
      }
      this.communities.set(name, { members, invert: subtree(e).invert === true });
    }
    const asPaths = new Map<string, RegExp>();
    for (const [name, e] of Object.entries(subtree(po['as-path']))) {
      const re = compileAsPathRegex(String(subtree(e).path ?? ''));
      if (typeof re === 'string') this.errors.push(`policy-options as-path ${name}: ${re}`);
      else asPaths.set(name, re);
    }
    for (const [name, e] of Object.entries(subtree(po['policy-statement']))) {
      const ps = subtree(e);
      const terms: Term[] = [];
      for (const [tname, t] of Object.entries(subtree(ps.term))) terms.push(this.compileTerm(`${name} term ${tname}`, tname, subtree(t), prefixLists, asPaths));
      // from/then written directly under the policy form one last, unnamed term
      if (ps.from !== undefined || ps.then !== undefined) terms.push(this.compileTerm(name, '', ps, prefixLists, asPaths));
      this.policies.set(name, { terms });
    }
  }

  private readonly prefixUse = new WeakMap<readonly string[], boolean>();

  /**
   * Whether a chain's result may depend on the route's prefix. When it does not, a
   * protocol may evaluate once for a run of routes that differ only in their prefix (the
   * prefixes of one BGP UPDATE).
   */
  dependsOnPrefix(chain: readonly string[]): boolean {
    let v = this.prefixUse.get(chain);
    if (v === undefined) {
      v = chain.some((name) => this.policies.get(name)?.terms.some((t) => t.usesPrefix) ?? false);
      this.prefixUse.set(chain, v);
    }
    return v;
  }

  private readonly rejectAll = new WeakMap<readonly string[], boolean>();

  /**
   * Whether a chain rejects every route whatever it is: the first term it reaches matches
   * everything and rejects (`then reject` with no `from`, as an "export nothing" policy).
   * A protocol can then skip evaluating it per route (BGP's export to a peer that is sent
   * nothing). Policies with no terms are passed over, as evaluate passes them.
   */
  rejectsAll(chain: readonly string[]): boolean {
    let v = this.rejectAll.get(chain);
    if (v === undefined) {
      v = false;
      for (const name of chain) {
        const first = this.policies.get(name)?.terms[0];
        if (!first) continue;
        v = first.empty && first.then.reject === true && first.then.accept !== true;
        break;
      }
      this.rejectAll.set(chain, v);
    }
    return v;
  }

  has(policy: string): boolean {
    return this.policies.has(policy);
  }

  /** Errors for a chain that names policies which do not exist. */
  checkChain(where: string, chain: readonly string[]): string[] {
    return chain.filter((p) => !this.policies.has(p)).map((p) => `${where}: policy-statement '${p}' is not defined`);
  }

  private compileTerm(where: string, name: string, t: ConfigTree, prefixLists: Map<string, Prefix[]>, asPaths: Map<string, RegExp>): Term {
    const from = subtree(t.from);
    const then = subtree(t.then);
    const checks: ((s: PolicySubject, c: CommunitySet, parsed: () => Prefix) => boolean)[] = [];
    const protocols = stringList(from.protocol);
    if (protocols.length) checks.push((s) => protocols.includes(s.protocol));
    const filters: RouteFilter[] = [];
    for (const [p, e] of Object.entries(subtree(from['route-filter']))) {
      try {
        filters.push(routeFilter(p, subtree(e)));
      } catch (err) {
        this.errors.push(`policy-options policy-statement ${where} from route-filter ${p}: ${(err as Error).message}`);
      }
    }
    // route-filter, prefix-list and prefix-list-filter together: any one matching is enough (Junos).
    // A reference to a list, community or as-path that is not defined is refused once, by
    // config/validate.ts, before a tree reaches a protocol; here it would match nothing.
    const lists = stringList(from['prefix-list']);
    for (const l of lists) for (const p of prefixLists.get(l) ?? []) filters.push({ prefix: p, min: p.len, max: p.len });
    for (const [l, e] of Object.entries(subtree(from['prefix-list-filter']))) {
      for (const p of prefixLists.get(l) ?? []) filters.push(routeFilter(formatPrefix(p), subtree(e)));
    }
    if (filters.length || lists.length || from['prefix-list-filter'] !== undefined) {
      checks.push((s, _c, parsed) => {
        const code = s.prefix;
        if (typeof code === 'number') return filters.some((f) => matchRouteFilterCode(f, code));
        const r = parsed();
        return filters.some((f) => matchRouteFilter(f, r));
      });
    }
    const comms = stringList(from.community);
    if (comms.length) {
      checks.push((_s, set) =>
        comms.some((name) => {
          const c = this.communities.get(name);
          if (!c) return false;
          const all = c.members.length > 0 && c.members.every((m) => memberPresent(m, set));
          return c.invert ? !all : all;
        }),
      );
    }
    const paths = stringList(from['as-path']);
    if (paths.length) checks.push((s) => paths.some((p) => asPaths.get(p)?.test(asPathText(s.asPath)) ?? false));
    const neighbors = stringList(from.neighbor);
    if (neighbors.length) checks.push((s) => s.neighbor !== undefined && neighbors.includes(s.neighbor));
    const nhs = stringList(from['next-hop']);
    if (nhs.length) checks.push((s) => s.nextHops.some((n) => nhs.includes(n)));
    const ifs = stringList(from.interface);
    if (ifs.length) checks.push((s) => (s.interfaces ?? []).some((i) => ifs.includes(i)));
    if (typeof from.family === 'string') {
      const fam = from.family;
      checks.push((s) => (prefixKeyFamily(s.prefix) === 6 ? fam === 'inet6' : fam === 'inet'));
    }
    const eq = (key: 'local-preference' | 'metric' | 'tag', get: (s: PolicySubject) => number | undefined) => {
      if (typeof from[key] === 'number') checks.push((s) => get(s) === from[key]);
    };
    eq('local-preference', (s) => s.localPref);
    eq('metric', (s) => s.metric);
    eq('tag', (s) => s.tag);
    if (typeof from['route-type'] === 'string') checks.push((s) => s.routeType === from['route-type']);
    if (typeof from.instance === 'string') checks.push((s) => (s.instance ?? 'master') === from.instance);
    if (typeof from.level === 'number') checks.push((s) => s.level === from.level);
    const to = subtree(t.to);
    if (typeof to.level === 'number') checks.push((s) => s.toLevel === to.level);
    const usesPrefix = filters.length > 0 || lists.length > 0 || from['prefix-list-filter'] !== undefined || typeof from.family === 'string';
    return { name, from: (s, c, p) => checks.every((f) => f(s, c, p)), then, empty: checks.length === 0, usesPrefix };
  }

  /**
   * Run a chain over a route. `defaultAccept` is the protocol's default policy, used when
   * no term accepts or rejects.
   */
  evaluate(chain: readonly string[], subject: PolicySubject, defaultAccept: boolean): PolicyResult {
    const set: CommunitySet = {
      communities: subject.communities ?? [],
      extCommunities: subject.extCommunities ?? new Uint8Array(0),
      largeCommunities: subject.largeCommunities ?? [],
    };
    const s: PolicySubject = { ...subject };
    let parsed: Prefix | undefined;
    const getParsed = () => (parsed ??= prefixOfKey(s.prefix));
    const r: PolicyResult = { accept: defaultAccept, decidedBy: 'default' };
    let communitiesChanged = false;
    for (const name of chain) {
      const p = this.policies.get(name);
      if (!p) continue;
      let nextPolicy = false;
      for (const t of p.terms) {
        if (!t.from(s, set, getParsed)) continue;
        const th = t.then;
        if (typeof th['local-preference'] === 'number') s.localPref = r.localPref = th['local-preference'];
        if (typeof th.metric === 'number') s.metric = r.metric = th.metric;
        if (typeof th.preference === 'number') r.preference = th.preference;
        if (typeof th.tag === 'number') s.tag = r.tag = th.tag;
        if (typeof th.origin === 'string') r.origin = th.origin === 'igp' ? 0 : th.origin === 'egp' ? 1 : 2;
        if (typeof th['next-hop'] === 'string') r.nextHop = th['next-hop'];
        if (typeof th['load-balance'] === 'string') r.loadBalance = th['load-balance'];
        if (typeof th['as-path-prepend'] === 'string') {
          r.asPathPrepend = [...(r.asPathPrepend ?? []), ...th['as-path-prepend'].trim().split(/\s+/).map(Number)];
        }
        const c = subtree(th.community);
        if (c.set !== undefined || c.add !== undefined || c.delete !== undefined) {
          communitiesChanged = true;
          if (c.set !== undefined) {
            set.communities = [];
            set.extCommunities = new Uint8Array(0);
            set.largeCommunities = [];
            for (const n of stringList(c.set)) for (const m of this.communities.get(n)?.members ?? []) addMember(m, set);
          }
          for (const n of stringList(c.delete)) for (const m of this.communities.get(n)?.members ?? []) deleteMember(m, set);
          for (const n of stringList(c.add)) for (const m of this.communities.get(n)?.members ?? []) addMember(m, set);
        }
        const where = t.name ? `${name}/${t.name}` : name;
        if (th.accept === true || th.reject === true) {
          r.accept = th.accept === true;
          r.decidedBy = where;
          if (communitiesChanged) r.communities = set;
          return r;
        }
        if (th.next === 'policy') {
          nextPolicy = true;
          break;
        }
      }
      if (nextPolicy) continue;
    }
    if (communitiesChanged) r.communities = set;
    return r;
  }
}

